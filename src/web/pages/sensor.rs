//! The Sensor page (`GET /sensor`, `templates/sensor.html`): the captures ingested, their
//! summed counters ([`sensor_data`], typed: [`RunStats`]), key figures and diagnostics
//! ([`sensor_summary`]), counters by section and, under `shadowtap run`, live numbers.

use super::{Chrome, chrome, render};
use crate::ingest::RunStats;
use crate::web::fmt;
use crate::web::{AppError, AppState, Session};
use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;

fn get(v: &Value, path: &str) -> u64 {
    v.pointer(path).and_then(Value::as_u64).unwrap_or(0)
}

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

fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, u64)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, x, out);
            }
        }
        Value::Number(n) => out.push((prefix.to_string(), n.as_u64().unwrap_or(0))),
        _ => {}
    }
}

fn sections(totals: &Value) -> Vec<Section> {
    let mut out = Vec::new();
    let mut push = |name: &str, v: Option<&Value>| {
        if let Some(v) = v {
            let mut rows = Vec::new();
            flatten("", v, &mut rows);
            if !rows.is_empty() {
                out.push(Section {
                    name: name.to_string(),
                    rows,
                });
            }
        }
    };
    for (name, key) in [
        ("Packets", "packets"),
        ("TCP", "tcp"),
        ("HTTP", "http"),
        ("IP fragments", "defrag"),
        ("Live capture", "capture"),
    ] {
        push(name, totals.pointer(&format!("/engine/{key}")));
    }
    push("Inventory", totals.get("inventory"));
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
pub fn live_rows(v: &Value) -> Vec<(&'static str, String)> {
    let n = |p: &str| fmt::num(&(get(v, p) as i64));
    let secs = |p: &str| {
        v.pointer(p)
            .and_then(Value::as_f64)
            .map_or("-".to_string(), |x| format!("{:.0} ms", x * 1000.0))
    };
    let ifaces: Vec<String> = v
        .get("interfaces")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|i| {
            format!(
                "{}: {} packets, kernel drops {}",
                i.get("name").and_then(Value::as_str).unwrap_or("?"),
                fmt::num(&(get(i, "/packets") as i64)),
                fmt::num(&((get(i, "/kernel_dropped") + get(i, "/if_dropped")) as i64))
            )
        })
        .collect();
    let workers: Vec<String> = v
        .get("workers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|w| fmt::num(&(get(w, "/packets") as i64)))
        .collect();
    let uptime = v
        .get("uptime_seconds")
        .and_then(Value::as_f64)
        .unwrap_or(0.0) as u64;
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
        ("Queue drops", n("/queue_dropped")),
        ("Connections tracked now", n("/flows_active")),
        ("Connections evicted", n("/flows_evicted")),
        ("TCP gaps", n("/tcp_gaps")),
        ("HTTP transactions", n("/transactions")),
        ("Endpoints", n("/endpoints")),
        ("Endpoints created since start", n("/endpoints_created")),
        ("Flushes", n("/flushes")),
        ("Flush errors", n("/flush_errors")),
        ("Last flush took", secs("/flush_duration/last_seconds")),
        ("Slowest flush", secs("/flush_duration/max_seconds")),
        (
            "Alerts (new endpoint, shadow, zombie, finding)",
            format!(
                "{} / {} / {} / {}",
                n("/alerts/new_endpoint"),
                n("/alerts/shadow_api"),
                n("/alerts/zombie_api"),
                n("/alerts/finding")
            ),
        ),
        (
            "Alerts suppressed (rate limit, duplicate, queue full)",
            format!(
                "{} / {} / {}",
                n("/alerts_suppressed/rate_limit"),
                n("/alerts_suppressed/duplicate"),
                n("/alerts_suppressed/queue_full")
            ),
        ),
        (
            "Webhook posts (ok, failed)",
            format!("{} / {}", n("/webhook/ok"), n("/webhook/failed")),
        ),
        (
            "Database in use",
            fmt::bytes(&(get(v, "/db/used_bytes") as i64)),
        ),
        (
            "Resident memory / budget",
            format!(
                "{} / {}",
                fmt::bytes(&(get(v, "/rss_bytes") as i64)),
                fmt::bytes(&(get(v, "/memory_budget_bytes") as i64))
            ),
        ),
    ]
}

/// Captures and the sum of their counters (a capture row whose counters do not read as
/// [`RunStats`] adds nothing).
pub async fn sensor_data(
    state: &AppState,
) -> Result<(Vec<crate::store::dashboard::CaptureRow>, RunStats), AppError> {
    let captures = state.store().dashboard_captures().await?;
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
    let (captures, totals) = sensor_data(&state).await?;
    let (figures, hints) = sensor_summary(captures.len(), &totals);
    let page = SensorPage {
        chrome: chrome(&state, &session, "/sensor"),
        live: state
            .sensor()
            .map(|s| live_rows(&s.snapshot()))
            .unwrap_or_default(),
        sections: sections(&serde_json::to_value(&totals).unwrap_or(Value::Null)),
        captures,
        figures,
        hints,
    };
    render(&page)
}

#[cfg(test)]
mod tests {
    use super::*;

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
