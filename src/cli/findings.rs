//! `shadowtap findings`: posture findings as a table, JSON or SARIF.

use super::{FindingsArgs, FindingsFormat, clean, runtime};
use crate::analyze::posture::{KINDS, Severity};
use crate::store::{FindingListing, Store};
use serde_json::json;

/// Runs `shadowtap findings`.
pub fn run(args: &FindingsArgs) -> anyhow::Result<()> {
    let min = Severity::parse(&args.min_severity).ok_or_else(|| {
        anyhow::anyhow!("--min-severity takes info, low, medium, high or critical")
    })?;
    let rows = runtime()?.block_on(async {
        let store = Store::open_read_only(&args.db).await?;
        let rows = store.findings_listing().await?;
        store.close().await;
        anyhow::Ok(rows)
    })?;
    let mut findings: Vec<FindingListing> = rows
        .into_iter()
        .filter(|f| Severity::parse(&f.severity).unwrap_or(Severity::Info) >= min)
        .collect();
    findings.sort_by(|a, b| {
        let sa = Severity::parse(&a.severity).unwrap_or(Severity::Info);
        let sb = Severity::parse(&b.severity).unwrap_or(Severity::Info);
        sb.cmp(&sa)
            .then(a.kind.cmp(&b.kind))
            .then(a.host.cmp(&b.host))
            .then(a.path_template.cmp(&b.path_template))
    });
    match args.format {
        FindingsFormat::Json => println!("{}", serde_json::to_string_pretty(&findings)?),
        FindingsFormat::Sarif => println!("{}", serde_json::to_string_pretty(&sarif(&findings))?),
        FindingsFormat::Table => {
            for f in &findings {
                let what = match (&f.method, &f.path_template) {
                    (Some(m), Some(p)) => format!("{m} {}{p}", f.host.clone().unwrap_or_default()),
                    _ => f.host.clone().unwrap_or_default(),
                };
                println!(
                    "{:<8} {:<30} {}{}  ×{}",
                    f.severity.to_uppercase(),
                    f.kind,
                    clean(&what),
                    f.client
                        .as_ref()
                        .map(|c| format!(" (client {})", clean(c)))
                        .unwrap_or_default(),
                    f.count
                );
                println!("         {}", clean(&f.detail));
            }
            println!("{} findings", findings.len());
        }
    }
    Ok(())
}

/// SARIF 2.1.0: one rule per finding kind, one result per finding, the endpoint as a logical
/// location.
pub fn sarif(findings: &[FindingListing]) -> serde_json::Value {
    let level = |s: &str| match s {
        "critical" | "high" => "error",
        "medium" => "warning",
        _ => "note",
    };
    let rules: Vec<serde_json::Value> = KINDS
        .iter()
        .map(|(k, s)| {
            json!({
                "id": k,
                "name": k,
                "shortDescription": {"text": k.replace('_', " ")},
                "defaultConfiguration": {"level": level(s.name())},
                "properties": {"security-severity": match s { Severity::Critical => "9.5", Severity::High => "8.0", Severity::Medium => "5.5", Severity::Low => "3.0", Severity::Info => "1.0" }},
            })
        })
        .collect();
    let results: Vec<serde_json::Value> = findings
        .iter()
        .map(|f| {
            let name = format!(
                "{} {}{}",
                f.method.clone().unwrap_or_default(),
                f.host.clone().unwrap_or_default(),
                f.path_template.clone().unwrap_or_default()
            );
            json!({
                "ruleId": f.kind,
                "ruleIndex": KINDS.iter().position(|(k, _)| *k == f.kind).unwrap_or(0),
                "level": level(&f.severity),
                "message": {"text": f.detail},
                "locations": [{"logicalLocations": [{"name": name.trim(), "kind": "resource", "fullyQualifiedName": format!("http://{}{}", f.host.clone().unwrap_or_default(), f.path_template.clone().unwrap_or_default())}]}],
                "partialFingerprints": {"shadowtap/v1": format!("{}|{}|{}|{}", f.kind, f.host.clone().unwrap_or_default(), name, f.client.clone().unwrap_or_default())},
                "properties": {"severity": f.severity, "count": f.count, "client": f.client, "evidence": f.evidence, "first_seen": f.first_seen, "last_seen": f.last_seen},
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "shadowtap", "version": env!("CARGO_PKG_VERSION"), "informationUri": "https://github.com/shadowtap/shadowtap", "rules": rules}},
            "results": results,
        }],
    })
}
