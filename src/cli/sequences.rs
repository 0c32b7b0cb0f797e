//! `shadowtap sequences`: the main call flows of an inventory, per host: the busiest
//! transitions between endpoints, the busiest three-call paths, and the behavioural findings.

use super::{SequencesArgs, clean, runtime};
use crate::store::{HostFlows, Store};
use serde_json::json;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Runs `shadowtap sequences`.
pub fn run(args: &SequencesArgs) -> anyhow::Result<()> {
    let hosts = runtime()?.block_on(async {
        let store = Store::open_read_only(&args.db).await?;
        let r = store.flows(args.host.as_deref(), args.top).await;
        store.close().await;
        r
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&json!(hosts))?);
    } else if hosts.is_empty() {
        println!(
            "No call sequences{}: transitions need two calls of one client within a session.",
            args.host
                .as_deref()
                .map(|h| format!(" for host {h}"))
                .unwrap_or_default()
        );
    } else {
        print!("{}", render(&hosts));
    }
    Ok(())
}

fn render(hosts: &BTreeMap<String, HostFlows>) -> String {
    let mut out = String::new();
    for (host, f) in hosts {
        let _ = writeln!(out, "{} — {} transitions", clean(host), f.transitions_total);
        let _ = writeln!(out, "\n  Top transitions");
        let width = f
            .transitions
            .iter()
            .map(|t| clean(&t.from).chars().count())
            .max()
            .unwrap_or(0)
            .min(60);
        for t in &f.transitions {
            let gap = t
                .avg_gap_ms
                .map(|g| format!(", avg {:.0} ms apart", g))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {:>7}  {:<width$}  →  {}   ({} principal{}{gap})",
                t.count,
                clean(&t.from),
                clean(&t.to),
                t.clients,
                if t.clients == 1 { "" } else { "s" },
            );
        }
        if !f.paths.is_empty() {
            let _ = writeln!(out, "\n  Top paths (three consecutive calls)");
            for p in &f.paths {
                let _ = writeln!(
                    out,
                    "  {:>7}  {}  →  {}  →  {}   ({} principal{})",
                    p.count,
                    clean(&p.steps[0]),
                    clean(&p.steps[1]),
                    clean(&p.steps[2]),
                    p.clients,
                    if p.clients == 1 { "" } else { "s" },
                );
            }
        }
        if !f.findings.is_empty() {
            let _ = writeln!(out, "\n  Unusual sequences");
            for x in &f.findings {
                let _ = writeln!(
                    out,
                    "  {:<18} {:<14} {}\n  {:18} {:14} {}",
                    x.kind,
                    clean(&x.principal),
                    clean(&x.endpoint),
                    "",
                    "",
                    clean(&x.detail)
                );
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{PathRow, TransitionRow};

    #[test]
    fn renders_flows_with_control_characters_escaped() {
        let mut hosts = BTreeMap::new();
        hosts.insert(
            "shop\x1b[31m.test".to_string(),
            HostFlows {
                transitions_total: 3,
                transitions: vec![TransitionRow {
                    from: "GET /a".into(),
                    to: "POST /b".into(),
                    count: 3,
                    clients: 1,
                    avg_gap_ms: Some(12.4),
                }],
                paths: vec![PathRow {
                    steps: ["GET /a".into(), "POST /b".into(), "GET /c".into()],
                    count: 2,
                    clients: 2,
                }],
                findings: vec![],
            },
        );
        let text = render(&hosts);
        assert!(!text.contains('\x1b'), "{text}");
        assert!(
            text.contains("shop\\u{1b}[31m.test — 3 transitions"),
            "{text}"
        );
        assert!(
            text.contains("3  GET /a  →  POST /b   (1 principal, avg 12 ms apart)"),
            "{text}"
        );
        assert!(
            text.contains("2  GET /a  →  POST /b  →  GET /c   (2 principals)"),
            "{text}"
        );
    }
}
