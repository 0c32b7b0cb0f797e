//! `findings --format sarif` is valid SARIF 2.1.0 (checked against the official schema,
//! vendored in tests/fixtures/sarif-schema-2.1.0.json: the OASIS file, minified, its
//! `description` texts left out) and has what GitHub code scanning requires of an upload:
//! a physical location (artifact URI and region) for every result, rules with descriptions,
//! and a stable fingerprint per result, so that uploading again deduplicates.

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn shadowtap() -> Command {
    Command::new(env!("CARGO_BIN_EXE_shadowtap"))
}

fn capture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("captures")
        .join(name)
}

fn sarif(db: &Path) -> Value {
    let out = shadowtap()
        .args([
            "findings",
            "--db",
            db.to_str().unwrap(),
            "--format",
            "sarif",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn validate(doc: &Value) {
    let schema: Value =
        serde_json::from_str(include_str!("fixtures/sarif-schema-2.1.0.json")).unwrap();
    let id = schema["$id"].as_str().unwrap().to_string();
    let mut compiler = boon::Compiler::new();
    compiler.enable_format_assertions();
    compiler.add_resource(&id, schema).unwrap();
    let mut schemas = boon::Schemas::new();
    let index = compiler.compile(&id, &mut schemas).unwrap();
    if let Err(e) = schemas.validate(doc, index) {
        panic!("not valid SARIF 2.1.0: {e:#}");
    }
}

#[test]
fn the_schema_rejects_what_it_should() {
    // The validator is not vacuous: a result without a message is refused.
    let doc = serde_json::json!({
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"ruleId": "a"}]}],
    });
    let r = std::panic::catch_unwind(|| validate(&doc));
    assert!(r.is_err());
}

#[test]
fn sarif_is_valid_and_has_what_code_scanning_needs() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("inv.db");
    let out = shadowtap()
        .args(["ingest", "--db", db.to_str().unwrap()])
        .args([
            capture("posture.pcap"),
            capture("rest_api.pcap"),
            capture("hostile.pcap"),
            capture("tls_weak.pcap"),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = shadowtap()
        .args(["spec", "import", "--db", db.to_str().unwrap()])
        .arg(capture("rest_api.openapi.yaml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let doc = sarif(&db);
    validate(&doc);
    assert_eq!(doc["version"], "2.1.0");
    let run = &doc["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "shadowtap");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    for r in rules {
        for field in ["shortDescription", "fullDescription", "help"] {
            assert!(
                !r[field]["text"].as_str().unwrap_or_default().is_empty(),
                "{field}: {r}"
            );
        }
        let sev: f64 = r["properties"]["security-severity"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((0.0..=10.0).contains(&sev));
    }
    let results = run["results"].as_array().unwrap();
    assert!(results.len() > 20, "{}", results.len());
    let kinds: BTreeSet<&str> = results
        .iter()
        .map(|r| r["ruleId"].as_str().unwrap())
        .collect();
    for k in [
        "shadow_api",
        "jwt_alg_none_accepted",
        "tls_weak_cipher",
        "uncovered_host",
    ] {
        assert!(kinds.contains(k), "{k}: {kinds:?}");
    }
    let mut prints = BTreeSet::new();
    for r in results {
        // The rule it names is the rule at its index.
        let i = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[i]["id"], r["ruleId"]);
        let loc = &r["locations"][0]["physicalLocation"];
        let uri = loc["artifactLocation"]["uri"].as_str().unwrap();
        assert!(
            uri.starts_with("http://") || uri.starts_with("https://"),
            "{uri}"
        );
        assert!(
            uri.is_ascii() && !uri.contains(['{', '}', '<', '>', '"', ' ']),
            "{uri}"
        );
        assert_eq!(loc["region"]["startLine"], 1);
        let fp = r["partialFingerprints"]["shadowtapFinding/v1"]
            .as_str()
            .unwrap();
        assert_eq!(fp.len(), 64);
        assert!(prints.insert(fp.to_string()), "two results share {fp}");
    }
    // A templated path is percent-encoded.
    assert!(
        results.iter().any(
            |r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
                .contains("/%7Buser_id%7D")
        ),
        "no templated endpoint"
    );
    // Another run over the same inventory: the same fingerprints (GitHub matches them).
    let again: BTreeSet<String> = sarif(&db)["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["partialFingerprints"]["shadowtapFinding/v1"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(again, prints);
    // And after more traffic was ingested, the findings that remain keep theirs.
    let out = shadowtap()
        .args(["ingest", "--db", db.to_str().unwrap()])
        .arg(capture("sequences.pcap"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let later: BTreeSet<String> = sarif(&db)["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["ruleId"] == "jwt_alg_none_accepted")
        .map(|r| {
            r["partialFingerprints"]["shadowtapFinding/v1"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(!later.is_empty() && later.is_subset(&prints));
}
