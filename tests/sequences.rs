//! Call sequences end to end: the sequence scenario (`captures/sequences.pcap`, real clients of a
//! real server on loopback) against its ground truth: every transition with its count and
//! principals, and findings that name exactly the misbehaving principals.

use shadowtap::ingest::{IngestOptions, ingest_files};
use shadowtap::store::Store;
use sqlx::Row;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn captures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("captures")
}

/// The scenario's configuration (captures/sequences.md): a 19 s baseline, defaults otherwise.
fn options() -> IngestOptions {
    let mut o = IngestOptions::default();
    o.inventory.sequence.baseline_secs = 19;
    o
}

fn expected(name: &str) -> Vec<Vec<String>> {
    std::fs::read_to_string(captures().join(name))
        .unwrap()
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| l.split('\t').map(String::from).collect())
        .collect()
}

async fn ingested(opts: &IngestOptions) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("inv.db")).await.unwrap();
    ingest_files(&store, &[captures().join("sequences.pcap")], opts, |_| {})
        .await
        .unwrap();
    (dir, store)
}

#[tokio::test]
async fn transitions_match_the_ground_truth() {
    let (_dir, store) = ingested(&options()).await;
    let rows = sqlx::query(
        "SELECT from_method, from_path_template, to_method, to_path_template, count, clients, host
         FROM api_transitions ORDER BY 1, 2, 3, 4",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    let got: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            assert_eq!(r.get::<String, _>(6), "shop.seq.test");
            vec![
                r.get::<String, _>(0),
                r.get(1),
                r.get(2),
                r.get(3),
                r.get::<i64, _>(4).to_string(),
                r.get::<i64, _>(5).to_string(),
            ]
        })
        .collect();
    let mut want = expected("sequences.expected-transitions.tsv");
    want.sort();
    assert_eq!(got, want);
    let total: i64 = sqlx::query_scalar("SELECT SUM(count) FROM api_transitions")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(total, 380, "404 requests in 24 sessions");
    let paths: i64 = sqlx::query_scalar("SELECT SUM(count) FROM api_sequence_paths")
        .fetch_one(store.pool())
        .await
        .unwrap();
    // A session of n calls has n - 2 three-call paths; ten principals made a single call (a
    // login without a token): 404 - 2 × 24 + 10.
    assert_eq!(paths, 366);
}

#[tokio::test]
async fn findings_name_exactly_the_misbehaving_principals() {
    let (_dir, store) = ingested(&options()).await;
    let rows = sqlx::query(
        "SELECT kind, client, method, path_template, detail FROM api_findings
         WHERE kind IN ('enumeration', 'novel_transition', 'rate_anomaly', 'fingerprint_change')
         ORDER BY kind, client",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    let got: BTreeSet<(String, String)> = rows
        .iter()
        .map(|r| (r.get::<String, _>(0), r.get::<String, _>(1)))
        .collect();
    let want: BTreeSet<(String, String)> = expected("sequences.expected-findings.tsv")
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    assert_eq!(got, want);
    assert_eq!(rows.len(), want.len(), "one finding each");
    for r in &rows {
        let (kind, detail): (String, String) = (r.get(0), r.get(4));
        let endpoint = format!("{} {}", r.get::<String, _>(2), r.get::<String, _>(3));
        match kind.as_str() {
            "enumeration" => {
                assert_eq!(endpoint, "GET /api/users/{user_id}");
                assert!(detail.contains("1000..1099 (100 values)"), "{detail}");
            }
            "novel_transition" => {
                assert_eq!(endpoint, "POST /api/checkout");
                assert!(
                    detail.contains("right after GET /api/products/{product_id}"),
                    "{detail}"
                );
            }
            "rate_anomaly" => {
                assert_eq!(endpoint, "GET /api/products/{product_id}");
                assert!(detail.contains("150 requests within 10 s"), "{detail}");
            }
            "fingerprint_change" => assert!(detail.contains("127.0.0.60"), "{detail}"),
            _ => unreachable!(),
        }
    }
}

#[tokio::test]
async fn the_default_baseline_of_an_hour_raises_no_novel_transition() {
    // The whole capture lasts 46 s: with the default baseline every transition is baseline.
    let (_dir, store) = ingested(&IngestOptions::default()).await;
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM api_findings WHERE kind = 'novel_transition'")
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!(n, 0);
}

#[tokio::test]
async fn a_later_ingest_continues_the_baseline_of_earlier_ones() {
    // Flushing after every transaction re-templates and merges many times: the counts must not
    // change.
    let mut opts = options();
    opts.flush_every = 7;
    let (_dir, store) = ingested(&opts).await;
    let total: i64 = sqlx::query_scalar("SELECT SUM(count) FROM api_transitions")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(total, 380);
    let clients: i64 = sqlx::query_scalar(
        "SELECT clients FROM api_transitions WHERE from_path_template = '/api/products' AND to_path_template = '/api/products/{product_id}'",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(clients, 12, "principal sketches merge across flushes");
    let kinds: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT kind FROM api_findings WHERE kind IN ('enumeration', 'novel_transition', 'rate_anomaly', 'fingerprint_change') ORDER BY 1",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    assert_eq!(
        kinds,
        [
            "enumeration",
            "fingerprint_change",
            "novel_transition",
            "rate_anomaly"
        ]
    );
}
