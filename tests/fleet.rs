//! The fleet's delta path end to end (issue 18, step 2, docs/fleet.md): sensors merge into
//! their SQLite inventories with the outbox on, ship the outbox to a central PostgreSQL, and the
//! centre applies the deltas; the centre's public views must then give what one SQLite ingest
//! of all the traffic gives.
//!
//! The tests start a throwaway PostgreSQL server (tests/support/postgres.rs); without server
//! binaries they skip, unless `SHADOWTAP_REQUIRE_PG=1` (CI).

#[path = "support/postgres.rs"]
mod postgres;
mod support;

use shadowtap::fleet::{central, ship, wire};
use shadowtap::ingest::{IngestOptions, ingest_files};
use shadowtap::store::Store;
use sqlx::postgres::PgPool;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};
use sqlx::{Column, Row};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

/// The bundled packet captures, sorted.
fn captures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    v.sort();
    v
}

/// A store at `path` whose hash key is a copy of `key` (every sensor of a fleet shares it).
async fn store_with_key(path: &Path, key: Option<&Path>) -> Store {
    if let Some(key) = key {
        let to = shadowtap::store::key_path(path);
        std::fs::copy(key, &to).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    Store::open(path).await.unwrap()
}

async fn ingest(store: &Store, files: &[PathBuf]) {
    ingest_files(store, files, &IngestOptions::default(), |_| {})
        .await
        .unwrap();
}

/// Columns not compared: row ids, which each database assigns (rows are keyed by their
/// endpoint's host, method and template instead, see [`KEYED`]).
const IDS: &[&str] = &[
    "id",
    "endpoint_id",
    "from_endpoint_id",
    "to_endpoint_id",
    "finding_id",
    "service_id",
];

/// The views compared, each with the join that names its endpoint.
const KEYED: &[(&str, &str)] = &[
    ("api_endpoints", "SELECT * FROM api_endpoints"),
    // Every finding: the merge's, and the assessment's (`central::assess`, as at the end of
    // an ingest): scanner probes, TLS, cleartext beside TLS, auth consistency, scope.
    ("api_findings", "SELECT * FROM api_findings"),
    ("api_endpoint_status", "BY_ENDPOINT"),
    ("api_endpoint_clients", "BY_ENDPOINT"),
    ("api_endpoint_sources", "BY_ENDPOINT"),
    ("api_parameters", "BY_ENDPOINT"),
    ("api_auth", "BY_ENDPOINT"),
    // gRPC-Web bodies (127.0.0.1:8098) are decoded with the descriptors the single ingest
    // learned from grpc.pcap's reflection; the sensor without grpc.pcap numbers the fields.
    ("api_bodies", "BY_ENDPOINT_NOT_GRPC_WEB"),
    ("api_sensitive_data", "BY_ENDPOINT_NOT_GRPC_WEB"),
    ("api_websockets", "BY_ENDPOINT"),
    ("api_grpc", "BY_ENDPOINT"),
    // Encrypted services and their clients (each named by its service's host and address).
    ("api_tls_services", "SELECT * FROM api_tls_services"),
    ("api_tls_clients", "SELECT * FROM api_tls_clients"),
];

/// Transitions and paths by their endpoints: the centre's must be among the single ingest's,
/// with no more calls. Not equal: all the captures' clients are 127.0.0.1, so one ingest of
/// every file links the last call of one capture to the first of the next, which sensors
/// given different files cannot see.
const SEQUENCES: &[&str] = &[
    "SELECT host, from_method, from_path_template, to_method, to_path_template, count FROM api_transitions",
    "SELECT host, step1_method, step1_path_template, step2_method, step2_path_template,
            step3_method, step3_path_template, count FROM api_sequence_paths",
];

fn sql_of(view: &str, sql: &str) -> String {
    let by_endpoint = format!(
        "SELECT e.host AS k_host, e.method AS k_method, e.path_template AS k_template, v.*
         FROM {view} v JOIN endpoints e ON e.id = v.endpoint_id"
    );
    if sql == "BY_ENDPOINT" {
        by_endpoint
    } else if sql == "BY_ENDPOINT_NOT_GRPC_WEB" {
        format!("{by_endpoint} WHERE e.host <> '127.0.0.1:8098'")
    } else {
        sql.to_string()
    }
}
/// Rows as sorted lines, id columns left out.
fn lines<R: Row>(rows: &[R], value: impl Fn(&R, usize) -> String) -> Vec<String> {
    let mut out: Vec<String> = rows
        .iter()
        .map(|r| {
            r.columns()
                .iter()
                .enumerate()
                .filter(|(_, c)| !IDS.contains(&c.name()))
                .map(|(i, c)| format!("{}={}", c.name(), value(r, i)))
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .collect();
    out.sort();
    out
}

async fn sqlite_view(pool: &SqlitePool, sql: &str) -> Vec<String> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_all(pool)
        .await
        .unwrap_or_else(|e| panic!("SQLite {sql}: {e}"));
    lines(&rows, postgres::sqlite_value)
}

async fn pg_view(pool: &PgPool, sql: &str) -> Vec<String> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_all(pool)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL {sql}: {e}"));
    lines(&rows, postgres::pg_value)
}

/// Differences between the single inventory and the centre, per view: (view, rows only in
/// the single one, rows only on the centre). Also checks that every view has rows.
async fn differences(
    single: &SqlitePool,
    centre: &PgPool,
) -> Vec<(String, Vec<String>, Vec<String>)> {
    differences_of(single, centre, true).await
}

/// [`differences`]; `every_view` asks that every view has rows (the bundled captures have
/// traffic of every kind, a few of them need not) and compares the sequences (sensors given
/// whole files see whole client sessions; sensors given a share of the connections see a
/// client's calls with gaps, so their transitions are not the single ingest's).
async fn differences_of(
    single: &SqlitePool,
    centre: &PgPool,
    every_view: bool,
) -> Vec<(String, Vec<String>, Vec<String>)> {
    let mut out = Vec::new();
    for (view, sql) in KEYED {
        let sql = sql_of(view, sql);
        let a = sqlite_view(single, &sql).await;
        let b = pg_view(centre, &sql).await;
        assert!(
            !every_view || !a.is_empty(),
            "{view} is empty in the single inventory"
        );
        let only_a: Vec<String> = a.iter().filter(|r| !b.contains(r)).cloned().collect();
        let only_b: Vec<String> = b.iter().filter(|r| !a.contains(r)).cloned().collect();
        if !only_a.is_empty() || !only_b.is_empty() {
            out.push((view.to_string(), only_a, only_b));
        }
    }
    for sql in SEQUENCES.iter().filter(|_| every_view) {
        let a = sqlite_view(single, sql).await;
        let b = pg_view(centre, sql).await;
        assert!(!a.is_empty() && !b.is_empty(), "{sql}");
        let key = |r: &str| {
            r.rsplit_once(" | count=").map(|(k, n)| {
                (
                    k.to_string(),
                    n.trim_start_matches("int:").parse::<i64>().unwrap(),
                )
            })
        };
        let single: std::collections::HashMap<String, i64> =
            a.iter().filter_map(|r| key(r)).collect();
        for r in &b {
            let (k, n) = key(r).unwrap();
            assert!(
                single.get(&k).is_some_and(|m| *m >= n),
                "centre {r} not in the single ingest"
            );
        }
    }
    out
}

fn show(diff: &[(String, Vec<String>, Vec<String>)]) -> String {
    let mut s = String::new();
    for (view, a, b) in diff {
        s += &format!(
            "== {view}: {} only in the single ingest, {} only on the centre\n",
            a.len(),
            b.len()
        );
        // Rows paired by their first three fields, with the fields that differ.
        for r in a {
            let fa: Vec<&str> = r.split(" | ").collect();
            match b
                .iter()
                .find(|x| x.split(" | ").take(3).eq(fa.iter().take(3).copied()))
            {
                Some(x) => {
                    let fb: Vec<&str> = x.split(" | ").collect();
                    let d: Vec<String> = fa
                        .iter()
                        .zip(&fb)
                        .filter(|(p, q)| p != q)
                        .map(|(p, q)| format!("{p} / centre {q}"))
                        .collect();
                    s += &format!("  {}: {}\n", fa[..3].join(" "), d.join("; "));
                }
                None => s += &format!("  single only: {r}\n"),
            }
        }
        for r in b {
            let fb: Vec<&str> = r.split(" | ").collect();
            if !a
                .iter()
                .any(|x| x.split(" | ").take(3).eq(fb.iter().take(3).copied()))
            {
                s += &format!("  centre only: {r}\n");
            }
        }
    }
    s
}

/// Runs the shadowtap binary with `args`; its stdout and stderr, once it succeeded.
fn shadowtap_ok(args: &[&str]) -> (String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_shadowtap"))
        .args(args)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "shadowtap {args:?}: {err}");
    (String::from_utf8_lossy(&out.stdout).into_owned(), err)
}

async fn sqlite_pool(path: &Path) -> SqlitePool {
    SqlitePool::connect_with(SqliteConnectOptions::new().filename(path).read_only(true))
        .await
        .unwrap()
}

/// Three sensors, each with a third of the bundled captures (round robin), feeding one centre
/// that is down at first: the first shipping round fails and keeps every delta in the outbox;
/// once the centre is up everything arrives, and the centre's views equal one SQLite ingest
/// of all the captures. Then every delta sent again changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_sensors_give_the_inventory_of_one_ingest() {
    let Some(db) = postgres::database("three_sensors").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let all = captures();
    assert!(all.len() >= 9, "bundled captures: {all:?}");

    // One ingest of everything: the reference.
    let single_path = dir.path().join("single.db");
    let single = store_with_key(&single_path, None).await;
    ingest(&single, &all).await;
    single.close().await;
    let key = shadowtap::store::key_path(&single_path);
    let fingerprint = wire::key_fingerprint(&shadowtap::store::hash_key(&single_path).unwrap());

    // Three sensors, the centre down: nothing ships, everything waits in the outboxes.
    let down = "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=2";
    let mut sensors = Vec::new();
    for i in 0..3 {
        let files: Vec<PathBuf> = all.iter().skip(i).step_by(3).cloned().collect();
        let store = store_with_key(&dir.path().join(format!("s{i}.db")), Some(&key)).await;
        let name = store
            .enable_outbox(Some(&format!("sensor-{i}")))
            .await
            .unwrap();
        assert_eq!(name, format!("sensor-{i}"));
        ingest(&store, &files).await;
        let stats = ship::ShipStats::default();
        assert!(!ship::ship_round(&store, down, &name, &stats).await);
        assert_eq!(stats.failures.load(Ordering::Relaxed), 1);
        let (pending, _) = store.outbox_pending().await.unwrap();
        assert!(pending > 0, "sensor {i} has deltas waiting");
        assert_eq!(stats.pending.load(Ordering::Relaxed), pending);
        sensors.push((store, name, pending));
    }

    // The centre comes up; every sensor ships everything it kept.
    let centre = central::open(&db.url).await.unwrap();
    let mut kept = Vec::new();
    let mut total = 0;
    for (store, name, pending) in &sensors {
        kept.push(store.outbox_batch(1 << 20, i64::MAX).await.unwrap());
        let stats = ship::ShipStats::default();
        assert!(ship::ship_round(store, &db.url, name, &stats).await);
        assert_eq!(stats.shipped.load(Ordering::Relaxed), *pending);
        assert_eq!(store.outbox_pending().await.unwrap().0, 0);
        total += pending;
    }
    let report = central::apply_pending(&centre, &fingerprint).await.unwrap();
    assert_eq!(report.applied, total, "{report:?}");
    assert_eq!(report.parked, 0, "{report:?}");
    // The centre judges the fleet's inventory as the single ingest's end judged its own.
    let assessed = central::assess(&centre).await.unwrap();
    assert!(assessed.tls_findings > 0, "{assessed:?}");
    assert!(assessed.probing_clients > 0, "{assessed:?}");

    let single = sqlite_pool(&single_path).await;
    let diff = differences(&single, &centre).await;
    assert!(
        diff.is_empty(),
        "centre differs from one ingest:\n{}",
        show(&diff)
    );

    // Attribution: each endpoint's requests, sensor by sensor, add up to its count; every
    // sensor saw some; a sensor's own file names itself for each endpoint it saw.
    let (endpoints, unbalanced, named_sensors): (i64, i64, i64) = sqlx::query_as(
        "SELECT COUNT(*),
                SUM(CASE WHEN e.request_count <> (SELECT SUM(s.count) FROM api_endpoint_sensors s
                                                  WHERE s.endpoint_id = e.id) THEN 1 ELSE 0 END),
                (SELECT COUNT(DISTINCT sensor) FROM api_endpoint_sensors)
         FROM api_endpoints e WHERE e.request_count > 0",
    )
    .fetch_one(&centre)
    .await
    .unwrap();
    assert!(endpoints > 0);
    assert_eq!((unbalanced, named_sensors), (0, 3));
    let own = sqlite_pool(&dir.path().join("s0.db")).await;
    let (rows, named): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM api_endpoints WHERE request_count > 0),
                (SELECT COUNT(*) FROM api_endpoint_sensors WHERE sensor = 'sensor-0')",
    )
    .fetch_one(&own)
    .await
    .unwrap();
    assert!(rows > 0);
    assert_eq!(rows, named);
    own.close().await;

    // The sensors' health: each sensor's deltas counted, its files and packets as of its
    // latest delta, no drops.
    let health: Vec<(String, i64, i64, String, i64, i64)> = sqlx::query_as(
        "SELECT sensor, deltas, parked, interfaces, packets, cap_drops FROM api_sensors ORDER BY sensor",
    )
    .fetch_all(&centre)
    .await
    .unwrap();
    assert_eq!(health.len(), 3, "{health:?}");
    let applied: i64 = health.iter().map(|h| h.1).sum();
    assert_eq!(applied as u64, total, "{health:?}");
    for (i, (sensor, deltas, parked, interfaces, packets, _)) in health.iter().enumerate() {
        assert!(*deltas > 0 && *parked == 0, "{sensor}: {health:?}");
        assert!(interfaces.ends_with(".pcap"), "{sensor}: {interfaces}");
        // As of its last delta, the packets of every file it read (its own captures list).
        let own = sqlite_pool(&dir.path().join(format!("s{i}.db"))).await;
        let read: i64 = sqlx::query_scalar("SELECT SUM(packets) FROM api_captures")
            .fetch_one(&own)
            .await
            .unwrap();
        own.close().await;
        assert_eq!(*packets, read, "{sensor}: {health:?}");
    }

    // The listings and exports read the centre as they read a file: `endpoints`, `findings`
    // and `export --format json|csv` give what they give on the single ingest.
    let file = Store::open_read_only(&single_path).await.unwrap();
    let pg = shadowtap::store::pg::PgInventory::open(&db.url)
        .await
        .unwrap();
    let no_ids = |mut v: serde_json::Value| {
        fn strip(v: &mut serde_json::Value) {
            match v {
                serde_json::Value::Object(m) => {
                    // Ids are each database's; a template's explanation is the evidence of the
                    // sensor that last explained it (each learner sees its own share).
                    for k in [
                        "id",
                        "endpoint_id",
                        "from_endpoint",
                        "to_endpoint",
                        "generator",
                        "template_explain",
                        "template_confidence",
                        "template_rule",
                    ] {
                        m.remove(k);
                    }
                    m.values_mut().for_each(strip);
                }
                serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
                _ => {}
            }
        }
        strip(&mut v);
        v
    };
    // The first difference between two JSON documents (the path and both values).
    fn first_difference(a: &serde_json::Value, b: &serde_json::Value, at: &str) -> Option<String> {
        use serde_json::Value::{Array, Object};
        match (a, b) {
            (Object(x), Object(y)) => x.keys().chain(y.keys()).find_map(|k| {
                let n = serde_json::Value::Null;
                first_difference(
                    x.get(k).unwrap_or(&n),
                    y.get(k).unwrap_or(&n),
                    &format!("{at}.{k}"),
                )
            }),
            (Array(x), Array(y)) if x.len() == y.len() => x
                .iter()
                .zip(y)
                .enumerate()
                .find_map(|(i, (p, q))| first_difference(p, q, &format!("{at}[{i}]"))),
            _ if a == b => None,
            _ => Some(format!("{at}: {} vs {}", clip(a), clip(b))),
        }
    }
    fn clip(v: &serde_json::Value) -> String {
        v.to_string().chars().take(300).collect()
    }
    let same = |a: serde_json::Value, b: serde_json::Value, what: &str| {
        if let Some(d) = first_difference(&a, &b, what) {
            panic!("centre (left) and file (right) differ: {d}");
        }
    };
    let filter = shadowtap::store::ListFilter::default();
    same(
        no_ids(serde_json::to_value(pg.endpoints(&filter).await.unwrap()).unwrap()),
        no_ids(serde_json::to_value(file.endpoints(&filter).await.unwrap()).unwrap()),
        "endpoints",
    );
    let all = shadowtap::store::dashboard::FindingQuery {
        state: shadowtap::store::dashboard::StateFilter::All,
        limit: i64::MAX,
        ..Default::default()
    };
    // Findings as sets (ties in the listing's order fall to ids, each database's own): all
    // of them, the merge's and the assessment's.
    let merged = |v: serde_json::Value| {
        let mut rows: Vec<serde_json::Value> = v.as_array().unwrap().clone();
        rows.sort_by_key(|r| r.to_string());
        serde_json::Value::Array(rows)
    };
    same(
        merged(no_ids(
            serde_json::to_value(pg.findings_listing_matching(&all).await.unwrap()).unwrap(),
        )),
        merged(no_ids(
            serde_json::to_value(file.findings_listing_matching(&all).await.unwrap()).unwrap(),
        )),
        "findings",
    );
    let (a, b) = (
        no_ids(pg.export_json_with(None, true).await.unwrap()),
        no_ids(file.export_json_with(None, true).await.unwrap()),
    );
    // gRPC-Web bodies are decoded with descriptors only the single ingest learned (as in
    // `KEYED`).
    let not_grpc_web = |v: &serde_json::Value| {
        serde_json::Value::Array(
            v.as_array()
                .unwrap()
                .iter()
                .filter(|e| e["host"] != "127.0.0.1:8098")
                .cloned()
                .collect(),
        )
    };
    same(
        not_grpc_web(&a["endpoints"]),
        not_grpc_web(&b["endpoints"]),
        "export endpoints",
    );
    same(
        merged(a["findings"].clone()),
        merged(b["findings"].clone()),
        "export findings",
    );
    let csv_dir = dir.path().join("csv");
    let files = pg.export_csv_with(&csv_dir, false).await.unwrap();
    assert_eq!(files.len(), shadowtap::store::export::PUBLIC_VIEWS.len());
    let csv = std::fs::read_to_string(csv_dir.join("api_endpoints.csv")).unwrap();
    assert_eq!(csv.lines().count() as i64, endpoints + 1, "{csv}");
    pg.close().await;
    file.close().await;
    // And the command line, with the URL as --db.
    let (out, _) = shadowtap_ok(&["findings", "--db", &db.url, "--format", "json"]);
    let listed: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(listed.as_array().is_some_and(|a| !a.is_empty()));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_shadowtap"))
        .args(["sensors", "--db", &db.url])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && table.ends_with("3 sensors\n"),
        "{table}"
    );

    // Every delta sent again (a lost acknowledgement, a restarted sensor): stored once,
    // applied once, the views unchanged.
    for ((_, name, _), rows) in sensors.iter().zip(&kept) {
        ship::send_rows(&centre, name, rows).await.unwrap();
    }
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM deltas")
        .fetch_one(&centre)
        .await
        .unwrap();
    assert_eq!(n as u64, total);
    let again = central::apply_pending(&centre, &fingerprint).await.unwrap();
    assert_eq!(again, central::ApplyReport::default());
    let diff = differences(&single, &centre).await;
    assert!(diff.is_empty(), "after sending twice:\n{}", show(&diff));

    // API descriptions imported on the centre (`spec import --db postgres://...`, the real
    // binary) judge the fleet's endpoints as the same imports judge the single file's:
    // documented, shadow, zombie and dormant, drift, and their findings.
    let file = Store::open(&single_path).await.unwrap();
    for doc in ["posture.openapi.yaml", "rest_api.openapi.yaml"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("captures")
            .join(doc);
        shadowtap::store::spec::import(&file, doc, &std::fs::read(&path).unwrap())
            .await
            .unwrap();
        let (said, _) = shadowtap_ok(&["spec", "import", "--db", &db.url, path.to_str().unwrap()]);
        assert!(said.contains("inventory:"), "{said}");
    }
    file.close().await;
    let shadow: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM api_endpoints WHERE classification IN ('shadow', 'zombie', 'dormant')",
    )
    .fetch_one(&centre)
    .await
    .unwrap();
    assert!(shadow > 0);
    let diff = differences(&single, &centre).await;
    assert!(diff.is_empty(), "after the imports:\n{}", show(&diff));
    let drift = "SELECT host, method, path_template, kind, item, detail FROM api_drift";
    let (a, b) = (
        sqlite_view(&single, drift).await,
        pg_view(&centre, drift).await,
    );
    assert!(!a.is_empty());
    assert_eq!(a, b, "api_drift");

    // The scenario's source code scanned into both (`code scan --db postgres://...`): the
    // declared routes join every sensor's endpoints as they join the single file's.
    let app = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/tools/code_app");
    for inventory in [single_path.to_str().unwrap(), db.url.as_str()] {
        let (express, fastapi) = (app.join("express"), app.join("fastapi"));
        let (_, err) = shadowtap_ok(&[
            "code",
            "scan",
            "--format",
            "tsv",
            "--db",
            inventory,
            express.to_str().unwrap(),
            fastapi.to_str().unwrap(),
        ]);
        assert!(
            err.contains("13 routes declared, 10 observed, 3 never observed"),
            "{err}"
        );
    }
    let diff = differences(&single, &centre).await;
    assert!(diff.is_empty(), "after the code scans:\n{}", show(&diff));
    for sql in [
        "SELECT method, path_template, framework, line, handler, declared_auth, host, status, endpoints, requests FROM api_declared_routes",
        "SELECT host, method, path_template, sources, code_status, auth_check FROM api_endpoint_coverage",
    ] {
        let (a, b) = (sqlite_view(&single, sql).await, pg_view(&centre, sql).await);
        assert!(!a.is_empty(), "{sql}");
        assert_eq!(a, b, "{sql}");
    }
}

/// `diff` less what a folded delta is allowed to change: the first and last seen of parameter
/// and auth rows, which a delta dates by its endpoint's span (a summary's span is wider).
fn beyond_folded_times(
    diff: Vec<(String, Vec<String>, Vec<String>)>,
) -> Vec<(String, Vec<String>, Vec<String>)> {
    let strip = |r: &String| {
        r.split(" | ")
            .filter(|f| !f.starts_with("first_seen=") && !f.starts_with("last_seen="))
            .collect::<Vec<_>>()
            .join(" | ")
    };
    diff.into_iter()
        .filter(|(view, a, b)| {
            if view != "api_parameters" && view != "api_auth" {
                return true;
            }
            let mut a: Vec<String> = a.iter().map(strip).collect();
            let mut b: Vec<String> = b.iter().map(strip).collect();
            a.sort();
            b.sort();
            a != b
        })
        .collect()
}

/// A sensor whose centre is away keeps its outbox within `[store] spool_bytes`: the oldest
/// deltas are folded into one, counted, and a row whose send was attempted is never folded.
/// Once the centre is back, the folded deltas give the centre what one ingest gives (the times
/// of parameter and auth rows aside, which a summary dates by its whole span).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_spool_is_folded_and_loses_nothing() {
    let Some(db) = postgres::database("full_spool").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let all = captures();
    let single_path = dir.path().join("single.db");
    let single = store_with_key(&single_path, None).await;
    ingest(&single, &all).await;
    single.close().await;
    let key = shadowtap::store::key_path(&single_path);
    let fingerprint = wire::key_fingerprint(&shadowtap::store::hash_key(&single_path).unwrap());

    // A bound of one byte: no spool can keep it, so everything that may be folded is.
    let store = store_with_key(&dir.path().join("s.db"), Some(&key))
        .await
        .with_limits(shadowtap::store::StoreLimits {
            spool_bytes: 1,
            ..Default::default()
        });
    let name = store.enable_outbox(Some("folding")).await.unwrap();
    ingest(&store, &all).await;
    let (rows, bytes) = store.outbox_pending().await.unwrap();
    assert!(rows >= 3, "{rows} deltas");
    // The oldest row was sent once over a live connection whose answer was lost: it may be
    // on the centre already, so it keeps its seq and is never folded.
    let oldest = store.outbox_batch(1, i64::MAX).await.unwrap();
    store.outbox_mark_sent(oldest[0].seq).await.unwrap();

    let down = "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=2";
    let stats = ship::ShipStats::default();
    assert!(!ship::ship_round(&store, down, &name, &stats).await);
    assert_eq!(stats.summarised.load(Ordering::Relaxed), rows - 2);
    assert_eq!(stats.over_bound.load(Ordering::Relaxed), 1);
    let (left, left_bytes) = store.outbox_pending().await.unwrap();
    assert_eq!(left, 2, "the sent row and one summary of the others");
    assert!(left_bytes < bytes, "{left_bytes} of {bytes} bytes");
    assert_eq!(store.outbox_summarised().await.unwrap(), (rows - 2, 1));
    let kept = store.outbox_batch(16, i64::MAX).await.unwrap();
    assert_eq!(kept[0].seq, oldest[0].seq);
    assert_eq!(kept[0].payload, oldest[0].payload);

    // The centre returns; the sent row is sent again and the summary after it.
    let centre = central::open(&db.url).await.unwrap();
    ship::send_rows(&centre, &name, &oldest).await.unwrap();
    assert!(ship::ship_round(&store, &db.url, &name, &stats).await);
    assert_eq!(store.outbox_pending().await.unwrap().0, 0);
    let report = central::apply_pending(&centre, &fingerprint).await.unwrap();
    assert_eq!((report.applied, report.parked), (2, 0), "{report:?}");
    central::assess(&centre).await.unwrap();
    let single = sqlite_pool(&single_path).await;
    let diff = beyond_folded_times(differences(&single, &centre).await);
    assert!(
        diff.is_empty(),
        "centre differs from one ingest:\n{}",
        show(&diff)
    );
}

/// Rows of a few views, compared between a single ingest and the centre after kills.
const AFTER_KILLS: &[&str] = &[
    "SELECT * FROM api_endpoints",
    "SELECT e.host AS k_host, e.method AS k_method, e.path_template AS k_template, v.*
     FROM api_endpoint_status v JOIN endpoints e ON e.id = v.endpoint_id",
    "SELECT e.host AS k_host, e.method AS k_method, e.path_template AS k_template, v.*
     FROM api_endpoint_clients v JOIN endpoints e ON e.id = v.endpoint_id",
    "SELECT e.host AS k_host, e.method AS k_method, e.path_template AS k_template, v.*
     FROM api_parameters v JOIN endpoints e ON e.id = v.endpoint_id",
    "SELECT e.host AS k_host, e.method AS k_method, e.path_template AS k_template, v.*
     FROM api_bodies v JOIN endpoints e ON e.id = v.endpoint_id",
    "SELECT host, from_method, from_path_template, to_method, to_path_template, count FROM api_transitions",
];

/// Polls `probe` every 5 ms until it holds, failing after `secs`; panics if `child` ends first.
async fn until(
    child: &mut std::process::Child,
    secs: u64,
    what: &str,
    probe: impl AsyncFn() -> bool,
) {
    let started = std::time::Instant::now();
    loop {
        assert!(
            started.elapsed().as_secs() < secs,
            "{what}: not in {secs} s"
        );
        if let Some(status) = child.try_wait().unwrap() {
            panic!("{what}: the process ended first ({status}); make the capture larger");
        }
        if probe().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// `kill -9` on both sides of the delta path: a sensor killed part-way through an ingest and
/// started again resumes where its last commit left it, and a centre killed part-way through
/// applying resumes at the first delta it had not applied. The centre then holds exactly what
/// one clean ingest of the traffic holds: no delta lost, none counted twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sensor_and_centre_killed_with_sigkill_lose_and_double_nothing() {
    let Some(db) = postgres::database("sigkill").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("api.pcap");
    // 30,000 transactions on 300 connections: about 150 deltas at one per 200 packets.
    support::write_pcap(&pcap, &support::api_traffic(300, 100));
    let bin = env!("CARGO_BIN_EXE_shadowtap");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let run = |args: &[String]| {
        let out = std::process::Command::new(bin).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };

    // The reference: one clean ingest.
    let single_path = dir.path().join("single.db");
    run(&[
        "ingest".into(),
        "--db".into(),
        s(&single_path),
        "--flush-every".into(),
        "200".into(),
        s(&pcap),
    ]);
    let key = shadowtap::store::key_path(&single_path);

    // The centre's schema, before any sensor ships.
    let centre = central::open(&db.url).await.unwrap();

    // The sensor, killed once two thirds of the file are committed (its deltas wait in the outbox:
    // an ingest ships at its end), then run again to the end.
    let sensor_path = dir.path().join("sensor.db");
    store_with_key(&sensor_path, Some(&key)).await.close().await;
    let args: Vec<String> = [
        "ingest",
        "--db",
        &s(&sensor_path),
        "--central",
        &db.url,
        "--sensor",
        "killed",
        "--flush-every",
        "200",
        &s(&pcap),
    ]
    .iter()
    .map(|a| a.to_string())
    .collect();
    let mut child = std::process::Command::new(bin)
        .args(&args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let committed = async || {
        let Ok(pool) = SqlitePool::connect_with(
            SqliteConnectOptions::new()
                .filename(&sensor_path)
                .read_only(true),
        )
        .await
        else {
            return false;
        };
        let n: Option<i64> = sqlx::query_scalar("SELECT MAX(committed_packets) FROM captures")
            .fetch_one(&pool)
            .await
            .unwrap_or(None);
        pool.close().await;
        n.unwrap_or(0) >= 20_000
    };
    until(&mut child, 120, "sensor flushes", committed).await;
    child.kill().unwrap();
    child.wait().unwrap();
    let sensor = sqlite_pool(&sensor_path).await;
    let waiting: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox")
        .fetch_one(&sensor)
        .await
        .unwrap();
    sensor.close().await;
    assert!(waiting > 0, "deltas of the killed run wait in the outbox");
    run(&args);

    // The centre, killed after it applied some deltas, then run again to the end.
    let shipped: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM deltas")
        .fetch_one(&centre)
        .await
        .unwrap();
    assert!(shipped > 20, "{shipped} deltas");
    let mut child = std::process::Command::new(bin)
        .args([
            "central",
            "--db",
            &db.url,
            "--key-file",
            &s(&key),
            "--every",
            "1",
            // The traffic is dated 2023: the default 30 days would age its detail out.
            "--retention-days",
            "0",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let applied = async || {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM delta_applied")
            .fetch_one(&centre)
            .await
            .unwrap_or(0)
            >= 10
    };
    until(&mut child, 120, "centre applies", applied).await;
    child.kill().unwrap();
    child.wait().unwrap();
    let at_kill: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM delta_applied")
        .fetch_one(&centre)
        .await
        .unwrap();
    assert!(
        at_kill < shipped,
        "the centre was killed before it applied every delta"
    );
    run(&[
        "central".into(),
        "--db".into(),
        db.url.clone(),
        "--key-file".into(),
        s(&key),
        "--once".into(),
        "--retention-days".into(),
        "0".into(),
    ]);

    // Every delta stored once and applied once; the inventory is the clean ingest's.
    let (n, distinct, applied): (i64, i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COUNT(DISTINCT (sensor, seq)), (SELECT COUNT(*) FROM delta_applied) FROM deltas",
    )
    .fetch_one(&centre)
    .await
    .unwrap();
    assert_eq!((n, distinct, applied), (shipped, shipped, shipped));
    // The centre holds what the sensor's own inventory holds, and both what the clean ingest
    // holds, but for transitions: a sequence's last call lives in the sensor's memory, so the
    // calls of a client just before the kill and just after it are not linked (fewer calls,
    // never more).
    let single = sqlite_pool(&single_path).await;
    let sensor = sqlite_pool(&sensor_path).await;
    for sql in AFTER_KILLS {
        let a = sqlite_view(&single, sql).await;
        let b = pg_view(&centre, sql).await;
        assert!(!a.is_empty(), "{sql}");
        assert_eq!(sqlite_view(&sensor, sql).await, b, "{sql}");
        if sql.contains("api_transitions") {
            assert_eq!(a.len(), b.len());
            for (x, y) in a.iter().zip(&b) {
                let count = |r: &str| {
                    let (k, n) = r.rsplit_once(" | count=int:").unwrap();
                    (k.to_string(), n.parse::<i64>().unwrap())
                };
                let ((kx, nx), (ky, ny)) = (count(x), count(y));
                assert!(kx == ky && ny <= nx && ny * 10 >= nx * 9, "{x} / {y}");
            }
        } else {
            assert_eq!(a, b, "{sql}");
        }
    }
    let total: i64 = sqlx::query_scalar("SELECT SUM(request_count)::bigint FROM api_endpoints")
        .fetch_one(&centre)
        .await
        .unwrap();
    assert_eq!(total, 30_000);
}

/// The centre's roles (docs/fleet-roles.sql, migration 0010): a sensor's role ships its own
/// deltas and nothing else (not another sensor's, no read of any table or view); a reader's
/// role reads the public views and nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sensor_and_reader_roles_are_confined() {
    let Some(db) = postgres::database("roles").await else {
        return;
    };
    let centre = central::open(&db.url).await.unwrap();
    let roles =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/fleet-roles.sql"))
            .unwrap();
    // Twice: it is idempotent.
    for _ in 0..2 {
        sqlx::raw_sql(sqlx::AssertSqlSafe(roles.clone()))
            .execute(&centre)
            .await
            .unwrap();
    }
    sqlx::raw_sql(
        "CREATE ROLE \"tap-east\" LOGIN IN ROLE shadowtap_sensor;
         CREATE ROLE analyst LOGIN IN ROLE shadowtap_reader;",
    )
    .execute(&centre)
    .await
    .unwrap();
    let as_role = |role: &str| db.url.replacen("postgres@", &format!("{role}@"), 1);

    // The sensor ships under its own name.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("east.db");
    let store = Store::open(&path).await.unwrap();
    let name = store.enable_outbox(Some("tap-east")).await.unwrap();
    ingest(&store, &captures()[..2]).await;
    let rows = store.outbox_batch(16, i64::MAX).await.unwrap();
    assert!(!rows.is_empty());
    let stats = ship::ShipStats::default();
    assert!(ship::ship_round(&store, &as_role("tap-east"), &name, &stats).await);
    assert_eq!(stats.shipped.load(Ordering::Relaxed), rows.len() as u64);

    // Not under another sensor's name, and it reads nothing else.
    sqlx::query(
        "INSERT INTO deltas (sensor, seq, payload, bytes, received_at) VALUES ('tap-west', 1000000, '', 0, 0)",
    )
    .execute(&centre)
    .await
    .unwrap();
    let sensor = ship::connect(&as_role("tap-east")).await.unwrap();
    let forged = ship::send_rows(&sensor, "tap-west", &rows).await;
    assert!(
        forged
            .as_ref()
            .is_err_and(|e| e.to_string().contains("row-level security")),
        "{forged:?}"
    );
    // Row-level security shows it its own rows of `deltas`, and of them only (sensor, seq).
    let visible: Vec<(String, i64)> = sqlx::query_as("SELECT sensor, seq FROM deltas")
        .fetch_all(&sensor)
        .await
        .unwrap();
    assert_eq!(visible.len(), rows.len());
    assert!(visible.iter().all(|(s, _)| s == "tap-east"));
    for sql in [
        "SELECT payload FROM deltas",
        "SELECT COUNT(*) FROM endpoints",
        "SELECT COUNT(*) FROM api_endpoints",
        "UPDATE endpoints SET request_count = 0",
    ] {
        let r = sqlx::query(sql).execute(&sensor).await;
        assert!(
            r.as_ref()
                .is_err_and(|e| e.to_string().contains("permission denied")),
            "sensor: {sql}: {r:?}"
        );
    }
    sensor.close().await;

    // The centre (the owner) applies them; a reader sees the views and nothing else.
    let key = shadowtap::store::hash_key(&path).unwrap();
    let report = central::apply_pending(&centre, &wire::key_fingerprint(&key))
        .await
        .unwrap();
    assert_eq!(report.applied, rows.len() as u64, "{report:?}");
    let reader = ship::connect(&as_role("analyst")).await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_endpoints")
        .fetch_one(&reader)
        .await
        .unwrap();
    assert!(n > 0);
    for sql in [
        "SELECT COUNT(*) FROM endpoints",
        "SELECT COUNT(*) FROM deltas",
        "INSERT INTO deltas (sensor, seq, payload, bytes, received_at) VALUES ('analyst', 1, '', 0, 0)",
    ] {
        let r = sqlx::query(sql).execute(&reader).await;
        assert!(
            r.as_ref()
                .is_err_and(|e| e.to_string().contains("permission denied")),
            "reader: {sql}: {r:?}"
        );
    }
    reader.close().await;
}

/// Shipping over TLS with the centre verified (`sslmode=verify-full`, `sslrootcert=`): the
/// connection is encrypted, and a centre whose certificate the sensor's CA file did not issue
/// is refused (the deltas wait in the outbox).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shipping_over_tls_verifies_the_centre() {
    let Some(db) = postgres::database("tls").await else {
        return;
    };
    let centre = central::open(&db.url).await.unwrap();
    let with_ca = |ca: &Path| {
        db.url.replace(
            "sslmode=disable",
            &format!("sslmode=verify-full&sslrootcert={}", ca.display()),
        )
    };
    let url = with_ca(&db.ca_pem());
    let pool = ship::connect(&url).await.unwrap();
    let ssl: bool = sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(ssl, "the connection is encrypted");
    pool.close().await;

    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.db")).await.unwrap();
    let name = store.enable_outbox(Some("tls-tap")).await.unwrap();
    ingest(&store, &captures()[..1]).await;
    let (pending, _) = store.outbox_pending().await.unwrap();
    assert!(pending > 0);

    // Another CA: the centre's certificate does not verify; nothing leaves the outbox.
    let mut params = rcgen::CertificateParams::default();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let other =
        rcgen::CertifiedIssuer::self_signed(params, rcgen::KeyPair::generate().unwrap()).unwrap();
    let other_pem = dir.path().join("other-ca.pem");
    std::fs::write(&other_pem, other.pem()).unwrap();
    let stats = ship::ShipStats::default();
    assert!(!ship::ship_round(&store, &with_ca(&other_pem), &name, &stats).await);
    assert_eq!(store.outbox_pending().await.unwrap().0, pending);

    // The right CA: shipped.
    assert!(ship::ship_round(&store, &url, &name, &stats).await);
    assert_eq!(stats.shipped.load(Ordering::Relaxed), pending);
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM deltas")
        .fetch_one(&centre)
        .await
        .unwrap();
    assert_eq!(n as u64, pending);
}

/// Deltas the centre must not merge are parked and counted, never applied, never a panic:
/// garbage, an unknown version, a delta hashed with another key, a NUL byte in a text, and a
/// latency histogram whose header claims 2 GiB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_deltas_are_parked() {
    let Some(db) = postgres::database("bad_deltas").await else {
        return;
    };
    let centre = central::open(&db.url).await.unwrap();
    let good = wire::Delta {
        key_fingerprint: "aaaa".into(),
        endpoints: vec![wire::Endpoint {
            host: "h".into(),
            method: "GET".into(),
            template: "/x".into(),
            requests: 1,
            status: vec![(200, 1)],
            protocol: "http/1.1".into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    let other_key = wire::Delta {
        key_fingerprint: "bbbb".into(),
        ..good.clone()
    };
    let nul = wire::Delta {
        endpoints: vec![wire::Endpoint {
            host: "h\0".into(),
            ..good.endpoints[0].clone()
        }],
        ..good.clone()
    };
    // An hdrhistogram header that claims a 2 GiB payload.
    let mut lying = vec![0x1c, 0x84, 0x93, 0x13, 0x7f, 0xff, 0xff, 0xff];
    lying.resize(48, 0);
    let huge_histogram = wire::Delta {
        endpoints: vec![wire::Endpoint {
            latency: lying,
            ..good.endpoints[0].clone()
        }],
        ..good.clone()
    };
    let rows = vec![
        shadowtap::store::outbox::OutboxRow {
            seq: 1,
            payload: b"garbage".to_vec(),
        },
        shadowtap::store::outbox::OutboxRow {
            seq: 2,
            payload: b"STD\x07xxxx".to_vec(),
        },
        shadowtap::store::outbox::OutboxRow {
            seq: 3,
            payload: other_key.encode().unwrap(),
        },
        shadowtap::store::outbox::OutboxRow {
            seq: 4,
            payload: nul.encode().unwrap(),
        },
        shadowtap::store::outbox::OutboxRow {
            seq: 5,
            payload: huge_histogram.encode().unwrap(),
        },
        shadowtap::store::outbox::OutboxRow {
            seq: 6,
            payload: good.encode().unwrap(),
        },
    ];
    ship::send_rows(&centre, "evil", &rows).await.unwrap();
    let r = central::apply_pending(&centre, "aaaa").await.unwrap();
    assert_eq!((r.applied, r.parked, r.wrong_key), (1, 5, 1), "{r:?}");
    let outcomes: Vec<String> =
        sqlx::query_scalar("SELECT outcome FROM delta_applied ORDER BY seq")
            .fetch_all(&centre)
            .await
            .unwrap();
    assert!(
        outcomes[..5].iter().all(|o| o.starts_with("parked: ")),
        "{outcomes:?}"
    );
    assert_eq!(outcomes[5], "applied");
    let n: i64 = sqlx::query_scalar("SELECT request_count FROM api_endpoints WHERE host = 'h'")
        .fetch_one(&centre)
        .await
        .unwrap();
    assert_eq!(n, 1);
}

/// The centre merges a delta's endpoints a statement per table for all of them at once; a
/// delta that lists one endpoint twice (no sensor writes one, a hostile one may) and repeats a
/// transition must give what the same entries give shipped as two deltas, entry after entry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delta_repeating_an_endpoint_merges_as_two_deltas() {
    let (Some(one), Some(two)) = (
        postgres::database("repeat_one").await,
        postgres::database("repeat_two").await,
    ) else {
        return;
    };
    let endpoint =
        |requests: u64, status: u16, client: &str, first: i64, last: i64| wire::Endpoint {
            host: "api.test".into(),
            method: "GET".into(),
            template: "/items/{id}".into(),
            first_seen: first,
            last_seen: last,
            requests,
            responses: requests,
            status: vec![(status, requests)],
            clients: vec![wire::Client {
                ip: client.into(),
                count: requests,
                first_seen: first,
                last_seen: last,
            }],
            minutes: vec![(first / 60_000_000_000, requests, 0)],
            protocol: "http/1.1".into(),
            ..Default::default()
        };
    let other = wire::Endpoint {
        template: "/items".into(),
        ..endpoint(1, 200, "10.0.0.1", 1_000, 2_000)
    };
    let key = |e: &wire::Endpoint| wire::Key {
        host: e.host.clone(),
        method: e.method.clone(),
        template: e.template.clone(),
    };
    let a = endpoint(3, 200, "10.0.0.1", 5_000_000_000, 6_000_000_000);
    let b = endpoint(2, 404, "10.0.0.2", 1_000_000_000, 90_000_000_000);
    let (from, to) = (key(&other), key(&a));
    let transition = |n: u64| wire::Transition {
        from: from.clone(),
        to: to.clone(),
        count: n,
        first_seen: 1_000,
        last_seen: 2_000 * n as i64,
        gap_sum_ms: 10 * n,
        ..Default::default()
    };
    let delta = |endpoints: Vec<wire::Endpoint>, transitions: Vec<wire::Transition>| wire::Delta {
        key_fingerprint: "aaaa".into(),
        endpoints,
        transitions,
        ..Default::default()
    };
    let row = |seq: i64, d: wire::Delta| shadowtap::store::outbox::OutboxRow {
        seq,
        payload: d.encode().unwrap(),
    };
    let c1 = central::open(&one.url).await.unwrap();
    ship::send_rows(
        &c1,
        "s",
        &[row(
            1,
            delta(
                vec![other.clone(), a.clone(), b.clone()],
                vec![transition(1), transition(4)],
            ),
        )],
    )
    .await
    .unwrap();
    let r = central::apply_pending(&c1, "aaaa").await.unwrap();
    assert_eq!((r.applied, r.parked), (1, 0), "{r:?}");
    let c2 = central::open(&two.url).await.unwrap();
    ship::send_rows(
        &c2,
        "s",
        &[
            row(1, delta(vec![other, a], vec![transition(1)])),
            row(2, delta(vec![b], vec![transition(4)])),
        ],
    )
    .await
    .unwrap();
    let r = central::apply_pending(&c2, "aaaa").await.unwrap();
    assert_eq!((r.applied, r.parked), (2, 0), "{r:?}");
    for q in [
        "SELECT host, method, path_template, first_seen, last_seen, request_count, client_count FROM api_endpoints ORDER BY 3",
        "SELECT e.path_template, s.status, s.count FROM endpoint_status s JOIN endpoints e ON e.id = s.endpoint_id ORDER BY 1, 2",
        "SELECT e.path_template, c.client, c.count, c.first_seen, c.last_seen FROM endpoint_clients c JOIN endpoints e ON e.id = c.endpoint_id ORDER BY 1, 2",
        "SELECT e.path_template, m.minute, m.count FROM endpoint_minutes m JOIN endpoints e ON e.id = m.endpoint_id ORDER BY 1, 2",
        "SELECT * FROM api_transitions",
        "SELECT sensor, count, first_seen, last_seen FROM api_endpoint_sensors ORDER BY 2",
    ] {
        let got = |pool: &PgPool| {
            let pool = pool.clone();
            async move {
                sqlx::query(q)
                    .fetch_all(&pool)
                    .await
                    .unwrap()
                    .iter()
                    .map(|r| {
                        (0..r.columns().len())
                            .map(|i| {
                                r.try_get::<Option<i64>, _>(i)
                                    .map(|v| format!("{v:?}"))
                                    .or_else(|_| {
                                        r.try_get::<Option<String>, _>(i).map(|v| format!("{v:?}"))
                                    })
                                    .or_else(|_| {
                                        r.try_get::<Option<f64>, _>(i).map(|v| format!("{v:?}"))
                                    })
                                    .unwrap_or_else(|_| "?".into())
                            })
                            .collect::<Vec<_>>()
                    })
                    .collect::<Vec<_>>()
            }
        };
        let (x, y) = (got(&c1).await, got(&c2).await);
        assert!(!x.is_empty(), "{q}: no rows");
        assert_eq!(x, y, "{q}");
    }
    let n: i64 = sqlx::query_scalar(
        "SELECT request_count FROM api_endpoints WHERE path_template = '/items/{id}'",
    )
    .fetch_one(&c1)
    .await
    .unwrap();
    assert_eq!(n, 5);
}

/// Splits a classic pcap (Ethernet) `n` ways by TCP/UDP connection (both directions of a
/// connection go to the same file, as an ECMP or per-zone tap would send them): record bytes
/// are copied verbatim.
fn split_by_connection(src: &Path, n: usize, out: &Path) -> Vec<PathBuf> {
    use std::hash::Hash;
    let data = std::fs::read(src).unwrap();
    let (header, mut rest) = data.split_at(24);
    let le = header[..4] == [0xd4, 0xc3, 0xb2, 0xa1] || header[..4] == [0x4d, 0x3c, 0xb2, 0xa1];
    let u32_at = |b: &[u8]| {
        let a = [b[0], b[1], b[2], b[3]];
        if le {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        }
    };
    assert_eq!(u32_at(&header[20..24]), 1, "Ethernet captures only");
    let mut files: Vec<Vec<u8>> = (0..n).map(|_| header.to_vec()).collect();
    while rest.len() >= 16 {
        let len = u32_at(&rest[8..12]) as usize;
        let (record, tail) = rest.split_at(16 + len);
        let frame = &record[16..];
        let key = match etherparse::SlicedPacket::from_ethernet(frame) {
            Ok(p) => {
                let (a, b) = match &p.net {
                    Some(etherparse::NetSlice::Ipv4(v4)) => (
                        v4.header().source().to_vec(),
                        v4.header().destination().to_vec(),
                    ),
                    Some(etherparse::NetSlice::Ipv6(v6)) => (
                        v6.header().source().to_vec(),
                        v6.header().destination().to_vec(),
                    ),
                    _ => (Vec::new(), Vec::new()),
                };
                let (sp, dp) = match &p.transport {
                    Some(etherparse::TransportSlice::Tcp(t)) => {
                        (t.source_port(), t.destination_port())
                    }
                    Some(etherparse::TransportSlice::Udp(u)) => {
                        (u.source_port(), u.destination_port())
                    }
                    _ => (0, 0),
                };
                let mut ends = [(a, sp), (b, dp)];
                ends.sort();
                ends
            }
            Err(_) => [(Vec::new(), 0), (Vec::new(), 0)],
        };
        // `DefaultHasher::new()` has fixed keys: the split is the same on every run.
        let mut h = std::hash::DefaultHasher::new();
        key.hash(&mut h);
        let k = (std::hash::Hasher::finish(&h) % n as u64) as usize;
        files[k].extend_from_slice(record);
        rest = tail;
    }
    let stem = src.file_stem().unwrap().to_str().unwrap();
    files
        .into_iter()
        .enumerate()
        .map(|(i, bytes)| {
            let p = out.join(format!("{stem}.part{i}.pcap"));
            std::fs::write(&p, bytes).unwrap();
            p
        })
        .collect()
}

/// One API's traffic split three ways by connection: each sensor sees a third of every
/// host's requests, so each learns its templates from a share of the evidence (one may
/// generalise `/users/{username}` where another still has literal paths). The centre
/// re-templates the hosts across sensors: the inventory it holds is the single ingest's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_split_across_sensors_is_templated_as_one() {
    let Some(db) = postgres::database("split_hosts").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures");
    let sources: Vec<PathBuf> = ["forge.pcap", "rest_api.pcap", "sequences.pcap"]
        .iter()
        .map(|f| root.join(f))
        .collect();
    let single_path = dir.path().join("single.db");
    let single = store_with_key(&single_path, None).await;
    ingest(&single, &sources).await;
    single.close().await;
    let key = shadowtap::store::key_path(&single_path);
    let fingerprint = wire::key_fingerprint(&shadowtap::store::hash_key(&single_path).unwrap());

    let mut parts: Vec<Vec<PathBuf>> = vec![Vec::new(); 3];
    for src in &sources {
        for (i, p) in split_by_connection(src, 3, dir.path())
            .into_iter()
            .enumerate()
        {
            parts[i].push(p);
        }
    }
    let centre = central::open(&db.url).await.unwrap();
    for (i, files) in parts.iter().enumerate() {
        let store = store_with_key(&dir.path().join(format!("s{i}.db")), Some(&key)).await;
        let name = store
            .enable_outbox(Some(&format!("sensor-{i}")))
            .await
            .unwrap();
        ingest(&store, files).await;
        let stats = ship::ShipStats::default();
        assert!(ship::ship_round(&store, &db.url, &name, &stats).await);
    }
    let report = central::apply_pending(&centre, &fingerprint).await.unwrap();
    assert_eq!(report.parked, 0, "{report:?}");
    central::assess(&centre).await.unwrap();

    let single = sqlite_pool(&single_path).await;
    let diff = beyond_folded_times(differences_of(&single, &centre, false).await);
    // What each sensor judges from its own share of a client's session or of the bodies is
    // its own: body samples (a sampling cap per sensor), the sensitive data found in them
    // (counts and examples), and findings about a client's behaviour over time (a credential
    // seen with another fingerprint, request rates against the host's other clients), hence
    // the risk scores. Everything else is the single ingest's.
    let sampled: &[(&str, &[&str])] = &[
        ("api_endpoints", &["risk_score=", "max_severity="]),
        ("api_bodies", &["samples="]),
        ("api_sensitive_data", &["count=", "example=", "last_seen="]),
    ];
    let strip = |view: &str, r: &String| {
        let fields = sampled
            .iter()
            .find(|(v, _)| *v == view)
            .map_or(&[][..], |(_, f)| *f);
        r.split(" | ")
            .filter(|f| !fields.iter().any(|p| f.starts_with(p)))
            .collect::<Vec<_>>()
            .join(" | ")
    };
    let finding = |r: &String| r.split(" | ").take(6).collect::<Vec<_>>().join(" | ");
    let left: Vec<_> = diff
        .into_iter()
        .filter(|(view, a, b)| {
            if view == "api_findings" {
                // The centre's findings are the single ingest's (kind, endpoint, client).
                let single: Vec<String> = a.iter().map(finding).collect();
                return b.iter().any(|r| !single.contains(&finding(r)));
            }
            let mut a: Vec<String> = a.iter().map(|r| strip(view, r)).collect();
            let mut b: Vec<String> = b.iter().map(|r| strip(view, r)).collect();
            a.sort();
            b.sort();
            a != b
        })
        .collect();
    assert!(
        left.is_empty(),
        "centre differs from one ingest:\n{}",
        show(&left)
    );
    // Each sensor learned its own names for the split hosts; the centre made one endpoint
    // of each and remembers the moves.
    assert!(report.retemplated > 0, "{report:?}");
    let moves: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM template_moves")
        .fetch_one(&centre)
        .await
        .unwrap();
    assert!(moves > 0);
}

/// Triage and retention run on the centre as on a sensor: `findings triage --db postgres://`
/// sets a finding's state (the listing's `--state` filter sees it, the history keeps who and
/// why), and `central::age_out` deletes exactly the detail a sensor's retention deletes from
/// the same inventory at the same cutoff, nothing of the endpoints themselves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn triage_and_retention_run_on_the_centre() {
    let Some(db) = postgres::database("triage_retention").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures");
    let files: Vec<PathBuf> = ["posture.pcap", "sequences.pcap", "rest_api.pcap"]
        .iter()
        .map(|f| root.join(f))
        .collect();
    let path = dir.path().join("sensor.db");
    let store = store_with_key(&path, None).await;
    let name = store.enable_outbox(Some("sensor-a")).await.unwrap();
    ingest(&store, &files).await;
    let fingerprint = wire::key_fingerprint(&shadowtap::store::hash_key(&path).unwrap());
    let centre = central::open(&db.url).await.unwrap();
    let stats = ship::ShipStats::default();
    assert!(ship::ship_round(&store, &db.url, &name, &stats).await);
    central::apply_pending(&centre, &fingerprint).await.unwrap();
    central::assess(&centre).await.unwrap();

    // Triage through the binary, on the centre.
    let key: String = sqlx::query_scalar(
        "SELECT dedup_key FROM findings WHERE client IS NULL ORDER BY dedup_key LIMIT 1",
    )
    .fetch_one(&centre)
    .await
    .unwrap();
    let id: i64 = sqlx::query_scalar("SELECT id FROM findings WHERE dedup_key = $1")
        .bind(&key)
        .fetch_one(&centre)
        .await
        .unwrap();
    let (said, _) = shadowtap_ok(&[
        "findings",
        "triage",
        "--db",
        &db.url,
        &id.to_string(),
        "--state",
        "acknowledged",
        "--reason",
        "owned by the payments team",
        "--by",
        "alice",
    ]);
    assert!(said.contains("open -> acknowledged by alice"), "{said}");
    let (listed, _) = shadowtap_ok(&[
        "findings",
        "--db",
        &db.url,
        "--state",
        "acknowledged",
        "--format",
        "json",
    ]);
    let listed: serde_json::Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    let (state, actor, reason): (String, String, String) = sqlx::query_as(
        "SELECT h.to_state, h.actor, h.reason FROM finding_triage_history h WHERE h.dedup_key = $1",
    )
    .bind(&key)
    .fetch_one(&centre)
    .await
    .unwrap();
    assert_eq!(
        (state.as_str(), actor.as_str(), reason.as_str()),
        ("acknowledged", "alice", "owned by the payments team")
    );

    // Retention at a cutoff inside the traffic: the centre deletes what the sensor deletes.
    let (lo, hi): (i64, i64) =
        sqlx::query_as("SELECT MIN(last_seen), MAX(last_seen) FROM endpoint_clients")
            .fetch_one(&centre)
            .await
            .unwrap();
    let cutoff = lo + (hi - lo) / 2;
    let days = 3;
    let now = cutoff + days * 86_400_000_000_000;
    let on_sensor = shadowtap::store::retention::age_out(&store, cutoff)
        .await
        .unwrap();
    let on_centre = central::age_out(&centre, days as u32, now).await.unwrap();
    assert_eq!(on_sensor, on_centre);
    assert!(on_centre[0] > 0 && on_centre[1] > 0, "{on_centre:?}");
    store.close().await;
    let sensor = sqlite_pool(&path).await;
    for sql in [
        "SELECT host, method, path_template, request_count FROM api_endpoints",
        "SELECT e.host, e.method, e.path_template, c.client, c.count FROM api_endpoint_clients c JOIN endpoints e ON e.id = c.endpoint_id",
        "SELECT e.host, e.method, e.path_template, m.minute, m.count FROM endpoint_minutes m JOIN endpoints e ON e.id = m.endpoint_id",
        "SELECT kind, host, method, path_template, client FROM findings",
    ] {
        assert_eq!(
            sqlite_view(&sensor, sql).await,
            pg_view(&centre, sql).await,
            "{sql}"
        );
    }
}
