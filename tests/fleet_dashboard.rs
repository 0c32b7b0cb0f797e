//! The dashboard over a fleet's centre on PostgreSQL (issue 18, docs/fleet.md "The dashboard
//! on the centre"): two sensors ship their deltas, the centre applies them, and `serve --db
//! postgres://...`'s router answers every page and API route from the centre, with the same
//! inventory as a sensor's own dashboard over one ingest of all the traffic, as the centre's
//! reader role (which sees views only).
//!
//! Starts a throwaway PostgreSQL server (tests/support/postgres.rs); skips without server
//! binaries unless `SHADOWTAP_REQUIRE_PG=1` (CI).

#[path = "support/postgres.rs"]
mod postgres;
mod support;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::Value;
use shadowtap::fleet::{central, ship};
use shadowtap::ingest::{IngestOptions, ingest_files};
use shadowtap::store::Store;
use shadowtap::store::pg::PgInventory;
use shadowtap::web::{self, AppState, AuthConfig};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use support::dashboard::{Resp, send};

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

async fn get(app: &Router, path: &str) -> Resp {
    send(
        app,
        Request::get(path)
            .header(header::HOST, "127.0.0.1:8080")
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

async fn get_ok(app: &Router, path: &str) -> Resp {
    let r = get(app, path).await;
    assert_eq!(r.status, StatusCode::OK, "GET {path}: {}", r.body);
    r
}

/// Every endpoint of `/api/endpoints` (all scopes), keyed by host, method and template: the
/// request count, the error count and the client count.
async fn listing(app: &Router) -> BTreeMap<(String, String, String), (i64, Value)> {
    let mut out = BTreeMap::new();
    let mut page = 1;
    loop {
        let j = get_ok(
            app,
            &format!("/api/endpoints?scope=all&per=500&page={page}&sort=path"),
        )
        .await
        .json();
        let rows = j["endpoints"].as_array().unwrap().clone();
        for e in &rows {
            let key = (
                e["host"].as_str().unwrap().to_string(),
                e["method"].as_str().unwrap().to_string(),
                e["path_template"].as_str().unwrap().to_string(),
            );
            let id = e["id"].as_i64().unwrap();
            let figures = serde_json::json!({
                "requests": e["request_count"],
                "errors": e["error_count"],
                "clients": e["client_count"],
                "first_seen": e["first_seen"],
                "last_seen": e["last_seen"],
                "p50": e["p50_ms"],
                "auth": e["auth_schemes"],
                "sensitive": e["sensitive_data"],
                "scope": e["scope"],
                "scope_reason": e["scope_reason"],
                "risk": e["risk_score"],
                "max_severity": e["max_severity"],
            });
            out.insert(key, (id, figures));
        }
        if rows.len() < 500 {
            break;
        }
        page += 1;
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_reads_the_centre() {
    // A failing page's database error is logged (the page says only that it failed).
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    let Some(db) = postgres::database("fleet_dashboard").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let all = captures();

    // The reference: one sensor's own file over all the traffic.
    let single_path = dir.path().join("single.db");
    let single = Store::open(&single_path).await.unwrap();
    ingest_files(&single, &all, &IngestOptions::default(), |_| {})
        .await
        .unwrap();
    single.close().await;
    let key = shadowtap::store::key_path(&single_path);
    let fingerprint =
        shadowtap::fleet::wire::key_fingerprint(&shadowtap::store::hash_key(&single_path).unwrap());

    // Two sensors, half the files each, ship to the centre, which applies everything.
    let centre = central::open(&db.url).await.unwrap();
    for i in 0..2 {
        let path = dir.path().join(format!("s{i}.db"));
        let to = shadowtap::store::key_path(&path);
        std::fs::copy(&key, &to).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o600)).unwrap();
        let store = Store::open(&path).await.unwrap();
        let name = store
            .enable_outbox(Some(&format!("tap-{i}")))
            .await
            .unwrap();
        let files: Vec<PathBuf> = all.iter().skip(i).step_by(2).cloned().collect();
        ingest_files(&store, &files, &IngestOptions::default(), |_| {})
            .await
            .unwrap();
        let stats = ship::ShipStats::default();
        assert!(ship::ship_round(&store, &db.url, &name, &stats).await);
        store.close().await;
    }
    let report = central::apply_pending(&centre, &fingerprint).await.unwrap();
    assert_eq!(report.parked, 0, "{report:?}");
    central::assess(&centre).await.unwrap();

    // The reader role: views only (docs/fleet-roles.sql).
    let roles =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/fleet-roles.sql"))
            .unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(roles))
        .execute(&centre)
        .await
        .unwrap();
    sqlx::raw_sql("CREATE ROLE analyst LOGIN IN ROLE shadowtap_reader")
        .execute(&centre)
        .await
        .unwrap();
    let reader_url = db.url.replacen("postgres@", "analyst@", 1);
    // The reader is denied the tables themselves.
    let reader = sqlx::postgres::PgPool::connect(&reader_url).await.unwrap();
    let denied = sqlx::query("SELECT COUNT(*) FROM public.endpoints")
        .fetch_one(&reader)
        .await
        .unwrap_err();
    assert!(denied.to_string().contains("permission denied"), "{denied}");
    reader.close().await;

    let local = web::app(
        AppState::new(
            Store::open_read_only(&single_path).await.unwrap(),
            AuthConfig::default(),
        )
        .unwrap(),
    );
    let inventory = PgInventory::open(&reader_url).await.unwrap();
    let app = web::app(
        AppState::central(
            inventory,
            PgInventory::label(&reader_url),
            AuthConfig::default(),
        )
        .unwrap(),
    );

    // Every page and API route answers from the centre.
    let mut paths: Vec<String> = [
        "/",
        "/?range=24h",
        "/endpoints",
        "/endpoints?scope=all",
        "/endpoints?scope=all&sort=requests&dir=desc",
        "/endpoints?q=users&min_severity=low",
        "/endpoints?findings=1&sort=findings",
        "/endpoints?source=wire",
        "/endpoints?auth=none",
        "/hosts",
        "/hosts?sort=findings",
        "/changes",
        "/findings",
        "/findings?state=all&q=token",
        "/findings.sarif",
        "/sequences",
        "/tls",
        "/spec",
        "/export",
        "/export/json",
        "/export/csv/api_endpoints",
        "/export/csv/api_sensors",
        "/fleet",
        "/api/overview",
        "/api/hosts",
        "/api/changes",
        "/api/findings",
        "/api/sequences",
        "/api/tls",
        "/api/spec",
        "/api/fleet",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let theirs = listing(&app).await;
    let hosts: std::collections::BTreeSet<&String> = theirs.keys().map(|k| &k.0).collect();
    for h in hosts {
        let h = shadowtap::web::fmt::qs(h);
        paths.push(format!("/hosts/{h}"));
        paths.push(format!("/api/hosts/{h}"));
        paths.push(format!("/endpoints?host={h}"));
        paths.push(format!("/sequences?host={h}"));
    }
    for (id, _) in theirs.values() {
        paths.push(format!("/endpoints/{id}"));
        paths.push(format!("/api/endpoints/{id}"));
    }
    let mut failed = Vec::new();
    for p in &paths {
        let r = get(&app, p).await;
        if r.status != StatusCode::OK {
            failed.push(format!(
                "{p}: {} {}",
                r.status,
                r.body.chars().take(200).collect::<String>()
            ));
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} routes failed on the centre:\n{}",
        failed.len(),
        paths.len(),
        failed.join("\n")
    );

    // The same endpoints with the same figures.
    let mine = listing(&local).await;
    let theirs = listing(&app).await;
    let keys_mine: Vec<_> = mine.keys().collect();
    let keys_theirs: Vec<_> = theirs.keys().collect();
    assert_eq!(keys_mine, keys_theirs);
    for (k, (_, f)) in &mine {
        assert_eq!(f, &theirs[k].1, "{k:?}");
    }

    // The overview's counts (scopes, severities, classification, the fix-first list) and the
    // findings: the centre's assessment judged the fleet as the sensor judged its own.
    let (a, b) = (
        get_ok(&local, "/api/overview").await.json(),
        get_ok(&app, "/api/overview").await.json(),
    );
    for field in ["scopes", "severity", "classification"] {
        assert_eq!(a[field], b[field], "overview {field}");
    }
    // Captures are each sensor's own (the centre lists sensors, on the Fleet page).
    let totals = |v: &Value| {
        let mut t = v["totals"].clone();
        t.as_object_mut().unwrap().remove("captures");
        t
    };
    assert_eq!(totals(&a), totals(&b), "overview totals");
    let titles = |v: &Value| {
        let mut t: Vec<String> = v["fix_first"]["groups"]
            .as_array()
            .unwrap_or_else(|| panic!("no fix-first list: {v}"))
            .iter()
            .map(|e| {
                format!(
                    "{} {} {} {} {}",
                    e["host"], e["method"], e["path_template"], e["risk_score"], e["kinds"]
                )
            })
            .collect();
        t.sort();
        t
    };
    assert!(!titles(&a).is_empty());
    assert_eq!(titles(&a), titles(&b), "fix first");
    let kinds = |v: Value| {
        let mut k: Vec<String> = v["groups"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| g["findings"].as_array().unwrap().clone())
            .map(|f| {
                format!(
                    "{} {} {} {} {}",
                    f["kind"], f["severity"], f["host"], f["path_template"], f["client"]
                )
            })
            .collect();
        assert!(!k.is_empty(), "{v}");
        k.sort();
        k
    };
    assert_eq!(
        kinds(
            get_ok(&local, "/api/findings?state=all&per=500")
                .await
                .json()
        ),
        kinds(get_ok(&app, "/api/findings?state=all&per=500").await.json()),
        "findings"
    );

    // An endpoint's page gives the same details as the sensor's own.
    for (k, (id, _)) in mine.iter().filter(|(k, _)| k.2.contains('{')).take(20) {
        let a = get_ok(&local, &format!("/api/endpoints/{id}")).await.json();
        let b = get_ok(&app, &format!("/api/endpoints/{}", theirs[k].0))
            .await
            .json();
        for field in ["status", "params", "auth", "sensitive", "bodies", "clients"] {
            assert_eq!(a[field], b[field], "{k:?} {field}");
        }
    }

    // The sensor filter and the Fleet page.
    let fleet = get_ok(&app, "/api/fleet").await.json();
    let names: Vec<&str> = fleet["sensors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["sensor"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["tap-0", "tap-1"]);
    let page = get_ok(&app, "/fleet").await.body;
    assert!(page.contains("tap-0") && page.contains("tap-1"), "{page}");
    let mut by_sensor = 0;
    for s in ["tap-0", "tap-1"] {
        let j = get_ok(
            &app,
            &format!("/api/endpoints?scope=all&per=500&sensor={s}"),
        )
        .await
        .json();
        let n = j["total"].as_i64().unwrap();
        assert!(n > 0 && (n as usize) < theirs.len(), "{s}: {n}");
        by_sensor += n;
    }
    assert!(by_sensor as usize >= theirs.len());

    // The centre's /metrics: each sensor's health and the apply backlog, as the reader.
    let m = get_ok(&app, "/metrics").await.body;
    for line in [
        "shadowtap_centre_sensors 2",
        "shadowtap_centre_deltas_pending 0",
        "shadowtap_centre_sensor_parked_total{sensor=\"tap-0\"} 0",
        "shadowtap_centre_sensor_late{sensor=\"tap-1\"}",
    ] {
        assert!(m.contains(line), "{line} in:\n{m}");
    }
    let applied: i64 = fleet["sensors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["deltas"].as_i64().unwrap())
        .sum();
    assert_eq!(applied as u64, report.applied);

    // The command-line listings run as the reader too (through the same read views).
    let cli = PgInventory::open(&reader_url).await.unwrap();
    let rows = cli
        .endpoints(&shadowtap::store::ListFilter::default())
        .await
        .unwrap();
    assert_eq!(rows.len(), theirs.len());
    let findings = cli
        .findings_listing_matching(&Default::default())
        .await
        .unwrap();
    assert!(!findings.is_empty());
    cli.close().await;

    // A centre's Sensor page is its Fleet page.
    let r = get(&app, "/sensor").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers[header::LOCATION], "/fleet");

    // What the centre does not do, it says, and changes nothing.
    let r = send(
        &app,
        Request::builder()
            .method(Method::POST)
            .uri(format!("/api/findings/{}/triage", 1))
            .header(header::HOST, "127.0.0.1:8080")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(r#"{"state":"resolved"}"#))
            .unwrap(),
    )
    .await;
    assert_ne!(r.status, StatusCode::OK, "{}", r.body);
    for p in ["/export/sql", "/export/openapi.json"] {
        let r = get(&app, p).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{p}: {}", r.body);
        assert!(r.body.contains("central inventory"), "{}", r.body);
    }
}
