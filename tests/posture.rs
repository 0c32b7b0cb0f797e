//! Zero Trust posture end to end: the posture scenario (`captures/posture.pcap`, a real server
//! that really accepts the bad tokens, real clients, and its published OpenAPI document) must
//! raise exactly the expected findings, no more, whichever comes first: the spec or the traffic.

mod support;

use shadowtap::ingest::{IngestOptions, ingest_files};
use shadowtap::store::Store;
use sqlx::Row;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn captures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("captures")
}

/// The posture kinds (issue 5); the behavioural kinds of the sequence analysis are checked by
/// their own scenario.
const SEQUENCE_KINDS: [&str; 4] = [
    "enumeration",
    "novel_transition",
    "rate_anomaly",
    "fingerprint_change",
];

type Row4 = (String, String, String, String);

fn expected() -> BTreeSet<Row4> {
    std::fs::read_to_string(captures().join("posture.expected-findings.tsv"))
        .unwrap()
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            (c[0].into(), c[1].into(), c[2].into(), c[3].into())
        })
        .collect()
}

async fn import_spec(store: &Store) {
    let yaml = std::fs::read(captures().join("posture.openapi.yaml")).unwrap();
    shadowtap::store::spec::import(store, "posture.openapi.yaml", &yaml)
        .await
        .unwrap();
}

async fn ingest(store: &Store) {
    ingest_files(
        store,
        &[captures().join("posture.pcap")],
        &IngestOptions::default(),
        |_| {},
    )
    .await
    .unwrap();
}

async fn findings(store: &Store) -> (BTreeSet<Row4>, Vec<(String, String)>) {
    let rows = sqlx::query(
        "SELECT kind, method, path_template, coalesce(client, '-'), detail, evidence FROM api_findings",
    )
    .fetch_all(&support::sql(store).await)
    .await
    .unwrap();
    let mut set = BTreeSet::new();
    let mut texts = Vec::new();
    for r in rows {
        let kind: String = r.get(0);
        if SEQUENCE_KINDS.contains(&kind.as_str()) {
            continue;
        }
        let client: String = r.get(3);
        // Per-principal kinds name the principal; the others are about the endpoint.
        let client = if kind == "no_rate_limiting" {
            client
        } else {
            "-".into()
        };
        set.insert((kind, r.get(1), r.get(2), client));
        texts.push((r.get(4), r.get(5)));
    }
    (set, texts)
}

fn assert_exact(got: &BTreeSet<Row4>) {
    let want = expected();
    let missing: Vec<_> = want.difference(got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:#?}\nextra {extra:#?}"
    );
}

/// Secrets the scenario's clients sent (tools/posture_fixtures.json): none may be stored.
fn assert_no_secrets(texts: &[(String, String)]) {
    let fixtures: serde_json::Value = serde_json::from_slice(
        &std::fs::read(captures().join("tools/posture_fixtures.json")).unwrap(),
    )
    .unwrap();
    let mut secrets = Vec::new();
    fn walk(v: &serde_json::Value, key: &str, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => m.iter().for_each(|(k, v)| walk(v, k, out)),
            serde_json::Value::Array(a) => a.iter().for_each(|v| walk(v, key, out)),
            serde_json::Value::String(s)
                if s.len() >= 8
                    && ["key", "secret", "password", "token"]
                        .iter()
                        .any(|w| key.to_ascii_lowercase().contains(w)) =>
            {
                out.push(s.clone())
            }
            _ => {}
        }
    }
    walk(&fixtures, "", &mut secrets);
    assert!(!secrets.is_empty());
    for (detail, evidence) in texts {
        for s in &secrets {
            assert!(
                !detail.contains(s.as_str()) && !evidence.contains(s.as_str()),
                "a finding carries a secret: {detail} / {evidence}"
            );
        }
    }
}

#[tokio::test]
async fn spec_first_then_traffic_gives_exactly_the_expected_findings() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("inv.db")).await.unwrap();
    import_spec(&store).await;
    ingest(&store).await;
    let (got, texts) = findings(&store).await;
    assert_exact(&got);
    assert_no_secrets(&texts);
}

#[tokio::test]
async fn traffic_first_then_spec_gives_the_same_findings() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("inv.db")).await.unwrap();
    ingest(&store).await;
    import_spec(&store).await;
    let (got, _) = findings(&store).await;
    assert_exact(&got);
    // The learned parameter names gave way to the spec's.
    let templates: Vec<String> = sqlx::query_scalar(
        "SELECT path_template FROM api_endpoints WHERE path_template LIKE '/api/v2/orders/%' ORDER BY 1",
    )
    .fetch_all(&support::sql(&store).await)
    .await
    .unwrap();
    assert_eq!(templates, ["/api/v2/orders/{order_id}"]);
}
