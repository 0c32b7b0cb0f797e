//! The `--stats` report: every counter of every stage, and a hint when nothing came out.

use crate::engine::EngineStats;
use std::io::{self, Write};

/// Writes the readable report.
pub fn write_text(out: &mut impl Write, s: &EngineStats) -> io::Result<()> {
    let v = serde_json::to_value(s).map_err(io::Error::other)?;
    write_engine_sections(out, &v)?;
    writeln!(out, "== now ==")?;
    writeln!(out, "  {:<34} {:>14}", "flows tracked", group(s.flows_now))?;
    writeln!(
        out,
        "  {:<34} {:>14}",
        "reassembly bytes held",
        group(s.reassembly_bytes_now)
    )?;
    writeln!(
        out,
        "  {:<34} {:>14}",
        "http bytes held",
        group(s.http_bytes_now)
    )?;
    if let Some(hint) = hint(s) {
        writeln!(out, "note: {hint}")?;
    }
    Ok(())
}

/// Writes the engine's sections of a report (the JSON of [`EngineStats`], or a sum of them).
fn write_engine_sections(out: &mut impl Write, v: &serde_json::Value) -> io::Result<()> {
    let sections = [
        ("packets", "packets and decoding"),
        ("defrag", "IP fragments"),
        ("tcp", "TCP reassembly"),
        ("http", "HTTP"),
        ("capture", "live capture (kernel)"),
    ];
    for (key, title) in sections {
        let Some(section) = v.get(key).filter(|x| !x.is_null()) else {
            continue;
        };
        writeln!(out, "== {title} ==")?;
        write_object(out, section, 0)?;
    }
    Ok(())
}

/// A cap that dropped something.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CapDrop {
    /// The cap, named as in the daemon's `shadowtap_cap_drops_total{cap}`.
    pub cap: &'static str,
    /// What it dropped.
    pub what: &'static str,
    /// How many.
    pub count: u64,
}

/// The caps of an ingest that dropped something: `engine` and `inventory` are the JSON of
/// [`EngineStats`] and [`crate::analyze::inventory::InventoryStats`] (or sums of them),
/// `flush` what the store's merges did.
pub fn cap_drops(
    engine: &serde_json::Value,
    inventory: &serde_json::Value,
    flush: &crate::store::FlushReport,
) -> Vec<CapDrop> {
    let e = |p: &str| engine.pointer(p).and_then(|v| v.as_u64()).unwrap_or(0);
    let i = |p: &str| inventory.pointer(p).and_then(|v| v.as_u64()).unwrap_or(0);
    let all = [
        ("max_flows", "connections evicted", e("/tcp/flows_evicted")),
        (
            "reassembly_buffer",
            "holes given up on (--max-buffered-per-dir, --max-reassembly-memory)",
            e("/tcp/gaps_buffer_cap"),
        ),
        (
            "http_memory_bytes",
            "bytes not kept (--max-http-memory)",
            e("/http/memory_cap_bytes"),
        ),
        (
            "http_head_size",
            "message heads too large (--max-head-bytes)",
            e("/http/heads_too_large"),
        ),
        (
            "http_headers",
            "heads with too many fields (--max-headers)",
            e("/http/too_many_headers"),
        ),
        (
            "http_pending",
            "transactions flushed early (too many pending on a connection)",
            e("/http/pending_overflow"),
        ),
        (
            "fragments",
            "fragmented datagrams dropped (--max-fragmented-datagrams)",
            e("/defrag/evicted"),
        ),
        (
            "inventory_hosts",
            "transactions of hosts without a template learner, and learners evicted",
            i("/hosts_over_cap") + i("/hosts_evicted"),
        ),
        (
            "inventory_endpoints",
            "transactions dropped at the endpoints held per flush",
            i("/endpoints_over_cap"),
        ),
        (
            "inventory_endpoints_evicted",
            "endpoints of no evidence evicted from a flush",
            i("/endpoints_evicted"),
        ),
        (
            "inventory_detail",
            "body shapes, sensitive entries or clients not recorded",
            i("/detail_over_cap"),
        ),
        (
            "sequence_principals",
            "principals evicted",
            i("/sequences/principals_evicted"),
        ),
        (
            "sequence_tracker",
            "transitions, paths, sketches or logins not recorded",
            i("/sequences/over_cap")
                + i("/sequences/enum_sketches_over_cap")
                + i("/sequences/logins_evicted"),
        ),
        (
            "template_nodes",
            "template learner nodes refused at max_nodes or positions collapsed at max_children",
            i("/template_node_cap"),
        ),
        (
            "template_truncated",
            "paths cut at max_segments or segments longer than max_segment_len",
            i("/template_truncated"),
        ),
        (
            "rate_tracker",
            "requests of (host, client) pairs not rate-tracked, or idle pairs forgotten",
            i("/rates_evicted"),
        ),
        (
            "store_endpoints",
            "new endpoints not stored (endpoint cap or size budget)",
            flush.dropped,
        ),
        (
            "store_endpoints_evicted",
            "stored endpoints of no evidence evicted",
            flush.evicted,
        ),
        (
            "store_sequences",
            "transitions and paths trimmed",
            flush.sequences_trimmed,
        ),
        (
            "store_clients",
            "client rows not stored at the per-endpoint cap (the sketch counts them)",
            flush.clients_dropped,
        ),
        (
            "store_clients_evicted",
            "one-time clients evicted for busier ones",
            flush.clients_evicted,
        ),
    ];
    all.into_iter()
        .filter(|(_, _, n)| *n > 0)
        .map(|(cap, what, count)| CapDrop { cap, what, count })
        .collect()
}

/// The one-line warning of caps that dropped something (`None` when none did).
pub fn cap_warning(caps: &[CapDrop]) -> Option<String> {
    (!caps.is_empty()).then(|| {
        format!(
            "warning: caps dropped data: {} (--stats tells more)",
            caps.iter()
                .map(|c| format!("{} {}", c.cap, group(c.count)))
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

/// Writes the readable report of an ingest: the engine's counters (summed over the files
/// read), the inventory's, the store's merges, and the caps that dropped something.
pub fn write_ingest_text(
    out: &mut impl Write,
    engine: &serde_json::Value,
    inventory: &serde_json::Value,
    flush: &crate::store::FlushReport,
) -> io::Result<()> {
    if engine.is_null() {
        return writeln!(
            out,
            "no capture was read: every file was ingested before (--force reads them again)"
        );
    }
    write_engine_sections(out, engine)?;
    writeln!(out, "== inventory ==")?;
    write_object(out, inventory, 0)?;
    writeln!(out, "== store ==")?;
    write_object(
        out,
        &serde_json::to_value(flush).map_err(io::Error::other)?,
        0,
    )?;
    writeln!(out, "== caps that dropped something ==")?;
    let caps = cap_drops(engine, inventory, flush);
    if caps.is_empty() {
        writeln!(out, "  none")?;
    }
    for c in &caps {
        writeln!(out, "  {:<28} {:>14}  {}", c.cap, group(c.count), c.what)?;
    }
    if engine
        .pointer("/http/transactions")
        .and_then(|v| v.as_u64())
        == Some(0)
        && engine.pointer("/packets/packets").is_some()
    {
        writeln!(out, "note: no HTTP transaction was found (see above)")?;
    }
    Ok(())
}

fn write_object(out: &mut impl Write, v: &serde_json::Value, depth: usize) -> io::Result<()> {
    let Some(obj) = v.as_object() else {
        return Ok(());
    };
    let pad = "  ".repeat(depth + 1);
    for (k, val) in obj {
        let label = k.replace('_', " ");
        match val {
            serde_json::Value::Number(n) => {
                let text = n.as_u64().map(group).unwrap_or_else(|| n.to_string());
                writeln!(
                    out,
                    "{pad}{label:<width$} {text:>14}",
                    width = 34usize.saturating_sub(depth * 2)
                )?;
            }
            serde_json::Value::Object(m) if m.is_empty() => {
                writeln!(
                    out,
                    "{pad}{label:<width$} {:>14}",
                    "none",
                    width = 34usize.saturating_sub(depth * 2)
                )?;
            }
            serde_json::Value::Object(m) if m.values().all(|x| x.is_number()) => {
                let items: Vec<String> = m
                    .iter()
                    .map(|(k, n)| format!("{k} {}", n.as_u64().map(group).unwrap_or_default()))
                    .collect();
                writeln!(out, "{pad}{label}: {}", items.join(", "))?;
            }
            serde_json::Value::Object(_) => {
                writeln!(out, "{pad}{label}:")?;
                write_object(out, val, depth + 1)?;
            }
            other => writeln!(out, "{pad}{label:<34} {other}")?,
        }
    }
    Ok(())
}

/// `1234567` as `1,234,567`.
pub fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Why no transaction came out, when that is the case.
pub fn hint(s: &EngineStats) -> Option<String> {
    if s.http.transactions > 0 {
        return None;
    }
    let p = &s.packets;
    Some(if p.packets == 0 {
        "no packets were read (empty file, or the capture filter matched nothing)".into()
    } else if p.ipv4 + p.ipv6 == 0 {
        "no IP packets: see 'by link' and 'decode errors' above".into()
    } else if p.tcp == 0 {
        "no TCP segments: the traffic is all other protocols (see 'not tcp')".into()
    } else if s.tcp.payload_bytes == 0 {
        "TCP segments carried no payload (handshakes only, or a snap length that cut all data)"
            .into()
    } else if s.http.not_http_flows > 0 && s.http.requests + s.http.responses == 0 {
        format!(
            "{} connection(s) carried data but none of it was HTTP/1.x (TLS? another protocol?)",
            s.http.not_http_flows
        )
    } else {
        "TCP data was seen but no complete HTTP message: check gaps and resyncs above".into()
    })
}
