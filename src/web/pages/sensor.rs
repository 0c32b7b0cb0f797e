//! The Sensor page (`GET /sensor`, `templates/sensor.html`): the captures ingested, their
//! summed counters ([`sensor_data`], typed: [`RunStats`]), key figures and diagnostics
//! ([`sensor_summary`]), counters by section and, under `shadowtap run`, live numbers.

use super::{Chrome, chrome, render};
use crate::counters::{Counters, Entry};
use crate::ingest::RunStats;
use crate::web::fmt;
use crate::web::live::SensorSnapshot;
use crate::web::{AppError, AppState, Session};
use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

/// A key sensor figure.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Figure {
    /// Name.
    pub label: &'static str,
    /// Value.
    pub value: u64,
    /// What it counts.
    pub help: &'static str,
    /// Worth attention when non-zero.
    pub bad_if_nonzero: bool,
}

/// A diagnostic: why the inventory may be empty or incomplete.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Hint {
    /// `ok`, `info`, `warn` or `bad`.
    pub level: &'static str,
    /// Words.
    pub text: String,
}

/// The sensor's figures and diagnostics over summed counters.
pub fn sensor_summary(captures: usize, t: &RunStats) -> (Vec<Figure>, Vec<Hint>) {
    let parse_errors = t.engine.http.bad_heads
        + t.engine.http.malformed_request_lines
        + t.engine.http.bad_chunked
        + t.engine.http.bad_content_length
        + t.engine.http.heads_too_large
        + t.engine.http.too_many_headers;
    let drops = t.engine.capture.map_or(0, |c| c.dropped + c.if_dropped);
    let decode_errors = t.engine.packets.decode_errors.values().sum::<u64>();
    let figures = vec![
        Figure {
            label: "Packets",
            value: t.engine.packets.packets,
            help: "frames read from captures or the interface",
            bad_if_nonzero: false,
        },
        Figure {
            label: "Bytes",
            value: t.engine.packets.bytes,
            help: "bytes of those frames",
            bad_if_nonzero: false,
        },
        Figure {
            label: "Kernel drops",
            value: drops,
            help: "frames the kernel or interface dropped (live capture)",
            bad_if_nonzero: true,
        },
        Figure {
            label: "TCP gaps",
            value: t.engine.tcp.gaps,
            help: "holes in TCP streams (missed segments)",
            bad_if_nonzero: true,
        },
        Figure {
            label: "Flows",
            value: t.engine.tcp.flows_opened,
            help: "TCP connections tracked",
            bad_if_nonzero: false,
        },
        Figure {
            label: "Evictions",
            value: t.engine.tcp.flows_evicted,
            help: "connections dropped to stay within --max-flows",
            bad_if_nonzero: true,
        },
        Figure {
            label: "Parse errors",
            value: parse_errors + decode_errors,
            help: "malformed packets and HTTP messages",
            bad_if_nonzero: true,
        },
        Figure {
            label: "HTTP transactions",
            value: t.engine.http.transactions,
            help: "request/response pairs found",
            bad_if_nonzero: false,
        },
    ];
    let mut hints = Vec::new();
    let packets = t.engine.packets.packets;
    let tcp_payload = t.engine.tcp.payload_bytes;
    let tx = t.engine.http.transactions;
    if captures == 0 {
        hints.push(Hint {
            level: "bad",
            text: "Nothing has been ingested yet. Run `shadowtap ingest --db <this file> capture.pcap`, or record one with `shadowtap record -i <iface> -w capture.pcap`.".into(),
        });
        return (figures, hints);
    }
    if packets == 0 {
        hints.push(Hint {
            level: "bad",
            text: "The captures hold no packets. Check the interface and the BPF filter used to record them.".into(),
        });
    } else if t.engine.packets.tcp == 0 {
        hints.push(Hint {
            level: "bad",
            text: "No TCP in the captures: the filter or the mirror port does not carry the API traffic.".into(),
        });
    } else if tcp_payload > 0 && tx == 0 {
        hints.push(Hint {
            level: "bad",
            text: "TCP data but no HTTP/1.x transactions. The traffic is probably encrypted (TLS) or HTTP/2: shadowtap reads cleartext HTTP/1.x, so tap where TLS is already terminated (between the load balancer and the backends).".into(),
        });
    }
    if t.engine.http.not_http_flows > 0 && tx > 0 {
        hints.push(Hint {
            level: "info",
            text: format!(
                "{} connections did not carry HTTP/1.x (TLS, HTTP/2 or other protocols) and were skipped.",
                fmt::num(&(t.engine.http.not_http_flows as i64))
            ),
        });
    }
    if drops > 0 {
        hints.push(Hint {
            level: "bad",
            text: format!(
                "The kernel dropped {} frames: raise --buffer-size or filter more narrowly with --bpf.",
                fmt::num(&(drops as i64))
            ),
        });
    }
    if t.engine.tcp.gaps > 0 {
        hints.push(Hint {
            level: "warn",
            text: format!(
                "{} gaps in TCP streams ({} bytes missed): transactions around them may be lost. On a mirror port this is usually oversubscription.",
                fmt::num(&(t.engine.tcp.gaps as i64)),
                fmt::num(&(t.engine.tcp.gap_bytes as i64))
            ),
        });
    }
    if t.engine.tcp.flows_midstream > 0 {
        hints.push(Hint {
            level: "info",
            text: format!(
                "{} connections were already open when capture started (joined mid-stream).",
                fmt::num(&(t.engine.tcp.flows_midstream as i64))
            ),
        });
    }
    if t.engine.tcp.flows_evicted > 0 {
        hints.push(Hint {
            level: "warn",
            text: "Connections were evicted to respect --max-flows: raise it if memory allows."
                .into(),
        });
    }
    let over = t.inventory.endpoints_over_cap + t.inventory.hosts_over_cap;
    if over > 0 {
        hints.push(Hint {
            level: "warn",
            text: format!(
                "{} transactions were not added because the inventory reached its host or endpoint cap.",
                fmt::num(&(over as i64))
            ),
        });
    }
    if hints.is_empty() {
        hints.push(Hint {
            level: "ok",
            text: format!(
                "Healthy: {} HTTP transactions from {} packets with no drops, gaps or parse errors.",
                fmt::num(&(tx as i64)),
                fmt::num(&(packets as i64))
            ),
        });
    }
    (figures, hints)
}

/// Counters of one section, flattened (`tcp.gaps` ...).
pub struct Section {
    /// Section name.
    pub name: String,
    /// (counter, value).
    pub rows: Vec<(String, u64)>,
}

fn sections(totals: &RunStats) -> Vec<Section> {
    let mut out = Vec::new();
    let mut push = |name: &str, entry: Option<&Entry<'_>>| {
        let mut rows = Vec::new();
        if let Some(Entry::Group(_, fields)) = entry {
            for f in fields {
                f.flatten("", &mut rows);
            }
        }
        if !rows.is_empty() {
            out.push(Section {
                name: name.to_string(),
                rows,
            });
        }
    };
    let engine = totals.engine.entries();
    let find = |key: &str| engine.iter().find(|e| e.name() == key);
    for (name, key) in [
        ("Packets", "packets"),
        ("TCP", "tcp"),
        ("HTTP", "http"),
        ("IP fragments", "defrag"),
        ("Live capture", "capture"),
    ] {
        push(name, find(key));
    }
    let inventory = Entry::Group("inventory", totals.inventory.entries());
    push("Inventory", Some(&inventory));
    out
}

#[derive(Template)]
#[template(path = "sensor.html")]
struct SensorPage {
    chrome: Chrome,
    captures: Vec<crate::store::dashboard::CaptureRow>,
    figures: Vec<Figure>,
    hints: Vec<Hint>,
    sections: Vec<Section>,
    /// Live numbers of a sensor running in this process: (label, value).
    live: Vec<(&'static str, String)>,
}

/// The live numbers shown on the Sensor page when `shadowtap run` serves it.
pub fn live_rows(v: &SensorSnapshot) -> Vec<(&'static str, String)> {
    let n = |x: u64| fmt::num(&(x as i64));
    let secs = |x: f64, count: u64| {
        if count == 0 {
            "-".to_string()
        } else {
            format!("{:.0} ms", x * 1000.0)
        }
    };
    let ifaces: Vec<String> = v
        .interfaces
        .iter()
        .map(|i| {
            format!(
                "{}: {} packets, kernel drops {}",
                i.name,
                n(i.packets),
                n(i.kernel_dropped + i.if_dropped)
            )
        })
        .collect();
    let workers: Vec<String> = v.workers.iter().map(|w| n(w.packets)).collect();
    let uptime = v.uptime_seconds as u64;
    let alert = |t: &str| n(v.alerts.get(t).copied().unwrap_or(0));
    let s = &v.alerts_suppressed;
    vec![
        (
            "Uptime",
            format!(
                "{}h {:02}m {:02}s",
                uptime / 3600,
                uptime / 60 % 60,
                uptime % 60
            ),
        ),
        ("Interfaces", ifaces.join("; ")),
        ("Packets per worker", workers.join(" / ")),
        ("Queue drops", n(v.queue_dropped)),
        ("Connections tracked now", n(v.flows_active)),
        ("Connections evicted", n(v.flows_evicted)),
        ("TCP gaps", n(v.tcp_gaps)),
        ("HTTP transactions", n(v.transactions)),
        ("Endpoints", fmt::num(&v.endpoints)),
        ("Endpoints created since start", n(v.endpoints_created)),
        ("Flushes", n(v.flushes)),
        ("Flush errors", n(v.flush_errors)),
        (
            "Last flush took",
            secs(v.flush_duration.last_seconds, v.flush_duration.count),
        ),
        (
            "Slowest flush",
            secs(v.flush_duration.max_seconds, v.flush_duration.count),
        ),
        (
            "Alerts (new endpoint, shadow, zombie, finding)",
            format!(
                "{} / {} / {} / {}",
                alert("new_endpoint"),
                alert("shadow_api"),
                alert("zombie_api"),
                alert("finding")
            ),
        ),
        (
            "Alerts suppressed (rate limit, duplicate, queue full)",
            format!(
                "{} / {} / {}",
                n(s.rate_limit),
                n(s.duplicate),
                n(s.queue_full)
            ),
        ),
        (
            "Webhook posts (ok, failed)",
            format!("{} / {}", n(v.webhook.ok), n(v.webhook.failed)),
        ),
        ("Database in use", fmt::bytes(&(v.db.used_bytes as i64))),
        (
            "Resident memory / budget",
            format!(
                "{} / {}",
                fmt::bytes(&(v.rss_bytes.unwrap_or(0) as i64)),
                fmt::bytes(&(v.memory_budget_bytes as i64))
            ),
        ),
    ]
}

/// Captures and the sum of their counters (a capture row whose counters do not read as
/// [`RunStats`] adds nothing).
pub async fn sensor_data(
    state: &AppState,
) -> Result<(Vec<crate::store::dashboard::CaptureRow>, RunStats), AppError> {
    let captures = state.dash().dashboard_captures().await?;
    let mut totals = RunStats::default();
    for c in &captures {
        if let Ok(s) = RunStats::deserialize(&c.stats) {
            totals += &s;
        }
    }
    Ok((captures, totals))
}

/// `GET /sensor`.
pub async fn sensor(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> Result<Response, AppError> {
    // A centre has no captures of its own: its sensors are on the Fleet page.
    if state.dash().is_central() {
        return Ok(axum::response::Redirect::to("/fleet").into_response());
    }
    let (captures, totals) = sensor_data(&state).await?;
    let (figures, hints) = sensor_summary(captures.len(), &totals);
    let page = SensorPage {
        chrome: chrome(&state, &session, "/sensor"),
        live: state
            .sensor()
            .map(|s| live_rows(&s.snapshot()))
            .unwrap_or_default(),
        sections: sections(&totals),
        captures,
        figures,
        hints,
    };
    render(&page)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn stored_counters_sum_by_type() {
        // A file ingest and a live capture as their rows store them (older rows may lack
        // fields: they count as zero).
        let file: Value = serde_json::json!({
            "engine": {"packets": {"packets": 10, "decode_errors": {"ipv4": 2}},
                       "http": {"transactions": 4, "bad_heads": 1}, "capture": null},
            "inventory": {"transactions": 4, "endpoints_over_cap": 1}
        });
        let live: Value = serde_json::json!({
            "engine": {"packets": {"packets": 5, "decode_errors": {"ipv4": 1, "tcp": 3}},
                       "http": {"transactions": 2},
                       "capture": {"received": 7, "dropped": 1, "if_dropped": 0, "queue_dropped": 2}},
            "inventory": {"transactions": 2}
        });
        let mut t = RunStats::default();
        for v in [&file, &live] {
            t += &RunStats::deserialize(v).unwrap();
        }
        assert_eq!(t.engine.packets.packets, 15);
        assert_eq!(t.engine.http.transactions, 6);
        assert_eq!(t.engine.packets.decode_errors.values().sum::<u64>(), 6);
        assert_eq!(t.engine.capture.map(|c| c.queue_dropped), Some(2));
        let (figures, hints) = sensor_summary(2, &t);
        let fig = |l: &str| {
            figures
                .iter()
                .find(|f| f.label.contains(l))
                .map(|f| f.value)
        };
        assert_eq!(fig("HTTP transactions"), Some(6));
        assert!(hints.iter().any(|h| h.text.contains("cap")), "{hints:?}");
    }
}
