//! The `--stats` report: every counter of every stage, and a hint when nothing came out.

use crate::counters::{CapDrop, Counters, Entry};
use crate::engine::EngineStats;
use crate::ingest::RunStats;
use crate::store::FlushReport;
use std::io::{self, Write};

/// Writes the readable report.
pub fn write_text(out: &mut impl Write, s: &EngineStats) -> io::Result<()> {
    write_engine_sections(out, s)?;
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

/// Writes the engine's sections of a report ([`EngineStats`], or a sum of them).
fn write_engine_sections(out: &mut impl Write, s: &EngineStats) -> io::Result<()> {
    let title = |name: &str| match name {
        "packets" => Some("packets and decoding"),
        "defrag" => Some("IP fragments"),
        "tcp" => Some("TCP reassembly"),
        "http" => Some("HTTP"),
        "http2" => Some("HTTP/2"),
        "tls" => Some("TLS (handshakes, and decryption with --keylog)"),
        "capture" => Some("live capture (kernel)"),
        _ => None,
    };
    for section in s.entries() {
        // The gauges ("now") have their own section; an absent `capture` has no entry.
        let (Entry::Group(name, fields), Some(title)) = (&section, title(section.name())) else {
            continue;
        };
        debug_assert!(!name.is_empty());
        writeln!(out, "== {title} ==")?;
        write_entries(out, fields, 0)?;
    }
    Ok(())
}

/// The caps of an ingest that dropped something: the sources', the engine's and the
/// inventory's (`stats`, summed over the files read) and the store's merges (`flush`).
pub fn cap_drops(stats: &RunStats, flush: &FlushReport) -> Vec<CapDrop> {
    stats
        .source_cap_drops()
        .into_iter()
        .chain(stats.cap_drops())
        .chain(flush.cap_drops())
        .filter(|c| c.count > 0)
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
/// read; `None` when every file was skipped), the inventory's, the store's merges, and the
/// caps that dropped something.
pub fn write_ingest_text(
    out: &mut impl Write,
    stats: Option<&RunStats>,
    flush: &FlushReport,
) -> io::Result<()> {
    let Some(stats) = stats else {
        return writeln!(
            out,
            "no capture was read: every file was ingested before (--force reads them again)"
        );
    };
    let from_sources = stats.source.lines > 0;
    if stats.engine.packets.packets > 0 || !from_sources {
        write_engine_sections(out, &stats.engine)?;
    }
    if from_sources {
        writeln!(out, "== access logs and HAR files ==")?;
        write_entries(out, &stats.source.entries(), 0)?;
    }
    writeln!(out, "== inventory ==")?;
    write_entries(out, &stats.inventory.entries(), 0)?;
    writeln!(out, "== store ==")?;
    write_entries(out, &flush.entries(), 0)?;
    writeln!(out, "== caps that dropped something ==")?;
    let caps = cap_drops(stats, flush);
    if caps.is_empty() {
        writeln!(out, "  none")?;
    }
    for c in &caps {
        writeln!(out, "  {:<28} {:>14}  {}", c.cap, group(c.count), c.what)?;
    }
    if stats.engine.http.transactions == 0 && stats.source.transactions == 0 {
        writeln!(out, "note: no HTTP transaction was found (see above)")?;
    }
    Ok(())
}

/// One line per counter; a group of counters only (a map by kind) on one line; a group of
/// groups under a heading, indented.
fn write_entries(out: &mut impl Write, entries: &[Entry<'_>], depth: usize) -> io::Result<()> {
    let pad = "  ".repeat(depth + 1);
    let width = 34usize.saturating_sub(depth * 2);
    for e in entries {
        let label = e.name().replace('_', " ");
        match e {
            Entry::Count(_, n) => writeln!(out, "{pad}{label:<width$} {:>14}", group(*n))?,
            Entry::Group(_, items) => {
                let counts: Vec<String> = items
                    .iter()
                    .filter_map(|x| match x {
                        Entry::Count(k, n) => Some(format!("{k} {}", group(*n))),
                        Entry::Group(..) => None,
                    })
                    .collect();
                if items.is_empty() {
                    // A map by kind with no entry counts nothing: 0, like every counter.
                    writeln!(out, "{pad}{label:<width$} {:>14}", 0)?;
                } else if counts.len() == items.len() {
                    writeln!(out, "{pad}{label}: {}", counts.join(", "))?;
                } else {
                    writeln!(out, "{pad}{label}:")?;
                    write_entries(out, items, depth + 1)?;
                }
            }
        }
    }
    Ok(())
}

/// `1234567` as `1,234,567`.
pub fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
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
    } else if s.tls.connections > 0 && s.http.requests + s.http.responses == 0 {
        format!(
            "{} connection(s) were TLS: encrypted, so no HTTP transaction can be read without the session keys (--keylog FILE, an NSS key log: see 'decrypt' above); their handshakes (versions, suites, certificates, JA4) are in the inventory (`shadowtap tls` after an ingest)",
            s.tls.connections
        )
    } else if s.http.not_http_flows > 0 && s.http.requests + s.http.responses == 0 {
        format!(
            "{} connection(s) carried data but none of it was HTTP/1.x (TLS? another protocol?)",
            s.http.not_http_flows
        )
    } else {
        "TCP data was seen but no complete HTTP message: check gaps and resyncs above".into()
    })
}
