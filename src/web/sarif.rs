//! SARIF 2.1.0 of findings, the one builder: `shadowtap findings --format sarif`,
//! `shadowtap export --format sarif` and the dashboard's `/findings.sarif`. It lives with the
//! web edge because the rules carry the dashboard's explanations of each kind
//! ([`crate::web::explain`]).

use crate::analyze::posture::{KINDS, Severity};
use crate::store::{FindingListing, TriageState};
use serde_json::json;

/// The SARIF schema URI of version 2.1.0 (OASIS Standard, errata 01).
pub const SARIF_SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// SARIF 2.1.0, in the subset GitHub code scanning reads: one rule per finding kind (with
/// its title, meaning, what to do and `security-severity`), one result per finding. A finding
/// is about an endpoint, not a line of code, so each result's physical location is the
/// endpoint as an artifact URI (`http://host/path/%7Bid%7D`, `https://` for findings on TLS
/// services), region line 1, with the endpoint also as a logical location; and it carries a
/// stable fingerprint (`partialFingerprints`: a SHA-256 of the finding's identity: kind,
/// host, method, template, client), so that uploading the same inventory again, or a later
/// one where the finding persists, matches the earlier alert instead of opening a new one.
/// A finding triaged `false_positive` (listed only when asked for) is a suppressed result
/// (`suppressions`: kind `external`, status `accepted`, the triage reason as justification);
/// every result says its triage state in its properties.
pub fn sarif(findings: &[FindingListing]) -> serde_json::Value {
    let level = |s: &str| match s {
        "critical" | "high" => "error",
        "medium" => "warning",
        _ => "note",
    };
    let rules: Vec<serde_json::Value> = KINDS
        .iter()
        .map(|(k, s)| {
            let x = crate::web::explain::explain(k);
            json!({
                "id": k,
                "name": k,
                "shortDescription": {"text": x.title},
                "fullDescription": {"text": x.meaning},
                "help": {"text": x.action},
                "defaultConfiguration": {"level": level(s.name())},
                "properties": {
                    "security-severity": match s { Severity::Critical => "9.5", Severity::High => "8.0", Severity::Medium => "5.5", Severity::Low => "3.0", Severity::Info => "1.0" },
                    "tags": ["security", "api"],
                    "precision": "high",
                },
            })
        })
        .collect();
    let results: Vec<serde_json::Value> = findings
        .iter()
        .map(|f| {
            let host = f.host.as_deref().unwrap_or_default();
            let method = f.method.as_deref().unwrap_or_default();
            let path = f.path_template.as_deref().unwrap_or_default();
            let client = f.client.as_deref().unwrap_or_default();
            let name = format!("{method} {host}{path}");
            let mut location = json!({
                "physicalLocation": {
                    "artifactLocation": {"uri": artifact_uri(&f.kind, host, path)},
                    "region": {"startLine": 1},
                },
            });
            if !host.is_empty() {
                location["logicalLocations"] = json!([{
                    "name": name.trim(),
                    "kind": "resource",
                    "fullyQualifiedName": name.trim(),
                }]);
            }
            let mut result = json!({
                "ruleId": f.kind,
                "ruleIndex": KINDS.iter().position(|(k, _)| *k == f.kind).unwrap_or(0),
                "level": level(&f.severity),
                "message": {"text": f.detail},
                "locations": [location],
                "partialFingerprints": {"shadowtapFinding/v1": fingerprint(&f.kind, host, method, path, client)},
                "properties": {"severity": f.severity, "count": f.count, "client": f.client, "evidence": f.evidence, "first_seen": f.first_seen, "last_seen": f.last_seen, "triage_state": f.triage_state},
            });
            if f.triage_state == TriageState::FalsePositive.name() {
                let mut s = json!({"kind": "external", "status": "accepted"});
                match f.triage_reason.as_deref().filter(|r| !r.is_empty()) {
                    Some(r) => s["justification"] = json!(r),
                    None => s["justification"] = json!("triaged as a false positive"),
                }
                result["suppressions"] = json!([s]);
            }
            result
        })
        .collect();
    json!({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "shadowtap", "version": env!("CARGO_PKG_VERSION"), "semanticVersion": env!("CARGO_PKG_VERSION"), "informationUri": "https://github.com/shadowtap/shadowtap", "rules": rules}},
            "automationDetails": {"id": "shadowtap/"},
            "results": results,
        }],
    })
}

/// The artifact URI of a finding: its endpoint's URL, with everything outside the URI
/// grammar's unreserved and path characters percent-encoded (`{id}` as `%7Bid%7D`); a
/// finding without a host (none so far) is about the inventory as a whole.
fn artifact_uri(kind: &str, host: &str, path: &str) -> String {
    if host.is_empty() {
        return "inventory".into();
    }
    let scheme = if kind.starts_with("tls_") || kind == "cleartext_and_tls" {
        "https"
    } else {
        "http"
    };
    let keep = |b: u8, in_host: bool| {
        b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'.' | b'_' | b'~')
            || (in_host && b == b':')
            || (!in_host
                && matches!(
                    b,
                    b'/' | b':'
                        | b'@'
                        | b'!'
                        | b'$'
                        | b'&'
                        | b'\''
                        | b'('
                        | b')'
                        | b'*'
                        | b'+'
                        | b','
                        | b';'
                        | b'='
                ))
    };
    let enc = |s: &str, in_host: bool| {
        let mut out = String::with_capacity(s.len());
        for b in s.bytes() {
            if keep(b, in_host) {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    };
    let path = if path.starts_with('/') {
        enc(path, false)
    } else {
        format!("/{}", enc(path, false))
    };
    format!("{scheme}://{}{path}", enc(host, true))
}

/// A finding's stable identity (kind, host, method, template, client) as a SHA-256, hex: the
/// same finding gets the same fingerprint in every run.
fn fingerprint(kind: &str, host: &str, method: &str, path: &str, client: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for part in [kind, host, method, path, client] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}
