//! The `--stats` report: every counter of every stage, and a hint when nothing came out.

use crate::engine::EngineStats;
use std::io::{self, Write};

/// Writes the readable report.
pub fn write_text(out: &mut impl Write, s: &EngineStats) -> io::Result<()> {
    let v = serde_json::to_value(s).map_err(io::Error::other)?;
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
