//! Access logs and HAR files as sources (`shadowtap ingest --source ...`), end to end through the
//! real binary:
//!
//! - `captures/forge.access.log` (nginx `combined`) and `captures/forge.access.json.log` (nginx
//!   JSON `log_format`) were written by the nginx of `captures/forge.pcap` for the same requests
//!   (`captures/make.sh forge`): each gives exactly the endpoints and request counts the capture
//!   gives, and the views record which source saw what.
//! - `captures/forge.haproxy.log` and `captures/forge.caddy.log` were written by a real HAProxy
//!   and a real Caddy in front of the forge server, driven by the clients of forge.pcap
//!   (`captures/tools/proxy_logs.sh`); the Traefik, ALB, Envoy JSON and Kong samples are Caddy's
//!   log converted to each documented layout (`captures/tools/convert_logs.py`). Each gives the
//!   capture's endpoints and counts, with `--source NAME` and with `--source auto`.
//! - `captures/dashboard.har` was saved by headless Chromium browsing shadowtap's own dashboard
//!   (`captures/tools/dashboard_har.js`): it gives the dashboard's routes, with latency and body
//!   shapes, and without the browser's cache hits.
//! - A log of hostile lines is counted by reason and skipped, never fatal; without `--source` a
//!   log is refused as before, and `--source auto` says when it cannot tell.

use sqlx::sqlite::SqlitePool;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn captures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("captures")
}

fn ingest(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shadowtap"))
        .arg("ingest")
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .unwrap()
}

fn ok(out: Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "ingest failed: {err}");
    err
}

fn query<T>(db: &Path, sql: &str) -> Vec<T>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> + Send + Unpin,
{
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let pool = SqlitePool::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        let rows = sqlx::query_as::<_, T>(sqlx::AssertSqlSafe(sql))
            .fetch_all(&pool)
            .await
            .unwrap();
        pool.close().await;
        rows
    })
}

type EndpointCount = (String, String, String, i64);

fn endpoints(db: &Path) -> Vec<EndpointCount> {
    query(
        db,
        "SELECT host, method, path_template, request_count FROM api_endpoints ORDER BY 1, 2, 3",
    )
}

#[test]
fn forge_access_logs_agree_with_the_capture() {
    let dir = tempfile::tempdir().unwrap();
    let (wire, combined, json, all) = (
        dir.path().join("wire.db"),
        dir.path().join("combined.db"),
        dir.path().join("json.db"),
        dir.path().join("all.db"),
    );
    let pcap = captures().join("forge.pcap");
    let log = captures().join("forge.access.log");
    let json_log = captures().join("forge.access.json.log");
    ok(ingest(&wire, &[pcap.to_str().unwrap()]));
    let report = ok(ingest(
        &combined,
        &[
            "--source",
            "nginx",
            "--host",
            "api.forge.test",
            log.to_str().unwrap(),
        ],
    ));
    assert!(
        report.contains("combined, 274 lines, 274 transactions, none skipped"),
        "{report}"
    );
    ok(ingest(
        &json,
        &["--source", "auto", json_log.to_str().unwrap()],
    ));

    let want = endpoints(&wire);
    assert_eq!(want.len(), 26, "{want:?}");
    assert_eq!(want.iter().map(|e| e.3).sum::<i64>(), 274);
    assert_eq!(endpoints(&combined), want, "combined log vs capture");
    assert_eq!(endpoints(&json), want, "JSON log vs capture");

    // The combined format has no timing: no latency, never an invented one. The JSON log has
    // $request_time.
    let p50: Vec<(Option<f64>,)> = query(&combined, "SELECT p50_ms FROM api_endpoints");
    assert!(p50.iter().all(|(p,)| p.is_none()), "{p50:?}");
    let p50: Vec<(Option<f64>,)> = query(&json, "SELECT p50_ms FROM api_endpoints");
    assert!(p50.iter().all(|(p,)| p.is_some()), "{p50:?}");

    // Capture and log in one inventory: every endpoint of the capture is also known to the log,
    // and each source counts every request once. (The second ingest's learner, seeded with the
    // first one's templates, keeps `.../contents/{content}.json` apart for 3 requests: the same
    // happens when the capture itself is ingested again with --force.)
    ok(ingest(&all, &[pcap.to_str().unwrap()]));
    ok(ingest(
        &all,
        &[
            "--source",
            "auto",
            "--host",
            "api.forge.test",
            log.to_str().unwrap(),
        ],
    ));
    let sources: Vec<(String, i64)> = query(
        &all,
        "SELECT source, SUM(count) FROM api_endpoint_sources GROUP BY source ORDER BY source",
    );
    assert_eq!(
        sources,
        [("access_log".to_string(), 274), ("wire".to_string(), 274)]
    );
    let wire_only: Vec<(i64,)> = query(
        &all,
        "SELECT COUNT(*) FROM api_endpoint_sources w WHERE w.source = 'wire' AND NOT EXISTS (
             SELECT 1 FROM api_endpoint_sources a
             WHERE a.endpoint_id = w.endpoint_id AND a.source = 'access_log')",
    );
    assert_eq!(wire_only, [(0,)]);
    let kinds: Vec<(String, i64, i64)> = query(
        &all,
        "SELECT source, packets, transactions FROM api_captures ORDER BY id",
    );
    assert_eq!(
        kinds,
        [
            ("file".to_string(), 682, 274),
            ("access_log".to_string(), 274, 274)
        ]
    );
    // Ingested once: the same log again is skipped.
    let again = ok(ingest(
        &all,
        &[
            "--source",
            "nginx",
            "--host",
            "api.forge.test",
            log.to_str().unwrap(),
        ],
    ));
    assert!(again.contains("already ingested"), "{again}");
}

/// `captures/FILE`, a log of forge.pcap's requests, read with `--source NAME` and with
/// `--source auto` (plus `extra` arguments): each gives exactly the endpoints and request counts
/// of the capture, every line read; `timed` says whether the format has a latency (then every
/// endpoint has one, else none).
fn log_agrees_with_the_capture(file: &str, name: &str, extra: &[&str], timed: bool) {
    let dir = tempfile::tempdir().unwrap();
    let (wire, named, auto) = (
        dir.path().join("wire.db"),
        dir.path().join("named.db"),
        dir.path().join("auto.db"),
    );
    ok(ingest(
        &wire,
        &[captures().join("forge.pcap").to_str().unwrap()],
    ));
    let log = captures().join(file);
    for (db, source) in [(&named, name), (&auto, "auto")] {
        let mut args = vec!["--source", source];
        args.extend_from_slice(extra);
        args.push(log.to_str().unwrap());
        let report = ok(ingest(db, &args));
        assert!(
            report.contains(&format!(
                "{name}, 274 lines, 274 transactions, none skipped"
            )),
            "{source}: {report}"
        );
    }
    let want = endpoints(&wire);
    assert_eq!(want.len(), 26, "{want:?}");
    assert_eq!(
        endpoints(&named),
        want,
        "{file} (--source {name}) vs capture"
    );
    assert_eq!(endpoints(&auto), want, "{file} (--source auto) vs capture");
    let p50: Vec<(Option<f64>,)> = query(&named, "SELECT p50_ms FROM api_endpoints");
    assert!(p50.iter().all(|(p,)| p.is_some() == timed), "{p50:?}");
    let sources: Vec<(String, i64)> = query(
        &named,
        "SELECT source, SUM(count) FROM api_endpoint_sources GROUP BY source",
    );
    assert_eq!(sources, [("access_log".to_string(), 274)]);
}

/// A real HAProxy 2.6 (`option httplog`, syslog lines) in front of the forge server, driven by
/// the clients of forge.pcap (`captures/tools/proxy_logs.sh`). The format has no Host.
#[test]
fn forge_haproxy_log_agrees_with_the_capture() {
    log_agrees_with_the_capture(
        "forge.haproxy.log",
        "haproxy",
        &["--host", "api.forge.test"],
        true,
    );
}

/// A real Caddy 2.6 (JSON access log) in front of the forge server, as for HAProxy.
#[test]
fn forge_caddy_log_agrees_with_the_capture() {
    log_agrees_with_the_capture("forge.caddy.log", "caddy", &[], true);
}

/// Traefik, AWS ALB, Envoy JSON and Kong are not installable here: their samples are Caddy's
/// log of the same requests written in each format's documented layout
/// (`captures/tools/convert_logs.py`), so these check the parsers against the documentation and
/// the capture, not against the software.
#[test]
fn forge_traefik_log_agrees_with_the_capture() {
    log_agrees_with_the_capture("forge.traefik.log", "traefik", &[], true);
}

#[test]
fn forge_alb_log_agrees_with_the_capture() {
    log_agrees_with_the_capture("forge.alb.log", "alb", &[], true);
}

#[test]
fn forge_envoy_json_log_agrees_with_the_capture() {
    log_agrees_with_the_capture("forge.envoy-json.log", "envoy-json", &[], true);
}

#[test]
fn forge_kong_log_agrees_with_the_capture() {
    log_agrees_with_the_capture("forge.kong.log", "kong", &[], true);
}

#[test]
fn a_chromium_har_of_the_dashboard_gives_its_routes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("har.db");
    let har = captures().join("dashboard.har");
    let report = ok(ingest(&db, &["--source", "har", har.to_str().unwrap()]));
    assert!(
        report.contains("har, 23 entries, 11 transactions, 12 skipped (from_cache 12)"),
        "{report}"
    );
    let got: Vec<(String, String, i64)> = query(
        &db,
        "SELECT method, path_template, request_count FROM api_endpoints ORDER BY path_template",
    );
    let want = [
        ("GET", "/", 1),
        ("GET", "/api/endpoints", 1),
        ("GET", "/api/findings", 1),
        ("GET", "/api/hosts", 1),
        ("GET", "/endpoints", 1),
        ("GET", "/endpoints/{endpoint_id}", 2),
        ("GET", "/hosts", 1),
        ("GET", "/static/{param}", 3),
    ]
    .map(|(m, t, n)| (m.to_string(), t.to_string(), n));
    assert_eq!(got, want);
    let hosts: Vec<(String,)> = query(&db, "SELECT DISTINCT host FROM api_endpoints");
    assert_eq!(hosts, [("127.0.0.1:8197".to_string(),)]);
    // The browser timed each request: latency is known.
    let timed: Vec<(i64,)> = query(
        &db,
        "SELECT COUNT(*) FROM api_endpoints WHERE p50_ms IS NOT NULL",
    );
    assert_eq!(timed, [(8,)]);
    // Bodies were kept: the JSON API's responses have shapes.
    let shapes: Vec<(String,)> = query(
        &db,
        "SELECT e.path_template FROM api_bodies b JOIN api_endpoints e ON e.id = b.endpoint_id
         WHERE b.content_type = 'application/json' AND b.direction = 'response' ORDER BY 1",
    );
    assert_eq!(
        shapes,
        ["/api/endpoints", "/api/findings", "/api/hosts"].map(|p| (p.to_string(),))
    );
    let sources: Vec<(String, i64)> = query(
        &db,
        "SELECT source, SUM(count) FROM api_endpoint_sources GROUP BY source",
    );
    assert_eq!(sources, [("har".to_string(), 11)]);
}

#[test]
fn hostile_log_lines_are_counted_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let good =
        r#"10.0.0.1 - - [07/Dec/2026:01:15:27 +0000] "GET /users/1 HTTP/1.1" 200 12 "-" "t/1""#;
    let mut log = Vec::new();
    for line in [
        good,
        r#"10.0.0.1 - - [07/Dec/2026:01:15:27 +0000] "GET /users/2 HTTP/1.1 200 12 "-" "t/1""#,
        r#"10.0.0.1 - - [32/Dec/2026:01:15:27 +0000] "GET /users/3 HTTP/1.1" 200 12 "-" "t/1""#,
        r#"10.0.0.1 - - [07/Dec/2026:01:15:27 +0000] "GET /users/4 HTTP/1.1" 200 99999999999999999999999 "-" "t/1""#,
        r#"10.0.0.1 - - [07/Dec/2026:01:15:27 +0000] "\x16\x03\x01\x02" 400 157 "-" "-""#,
        r#"10.0.0.1 - - [07/Dec/2026:01:15:27 +0000] "GET /users/5 HTTP/1.1" 999x 1 "-" "t/1""#,
        "",
    ] {
        log.extend_from_slice(line.as_bytes());
        log.push(b'\n');
    }
    log.extend_from_slice(&vec![b'x'; 1 << 20]);
    log.extend_from_slice(
        b"\n10.0.0.1 - - [07/Dec/2026:01:15:27 +0000] \"GET /\xc3\x28 HTTP/1.1\" 200 1\n",
    );
    log.extend_from_slice(good.replace("/users/1", "/users/6").as_bytes());
    let path = dir.path().join("hostile.log");
    std::fs::write(&path, &log).unwrap();
    let db = dir.path().join("h.db");
    let out = ingest(
        &db,
        &[
            "--source",
            "apache",
            "--json",
            "--stats=json",
            path.to_str().unwrap(),
        ],
    );
    let err = ok(out.clone());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = &report["files"][0]["stats"]["source"];
    let n = |k: &str| s[k].as_u64().unwrap();
    assert_eq!(n("lines"), 10);
    assert_eq!(n("blank_lines"), 1);
    assert_eq!(n("transactions"), 2);
    assert_eq!(n("bad_syntax"), 1);
    assert_eq!(n("bad_time"), 1);
    assert_eq!(n("bad_number"), 1);
    assert_eq!(n("bad_request"), 1);
    assert_eq!(n("bad_status"), 1);
    assert_eq!(n("line_too_long"), 1);
    assert_eq!(n("invalid_utf8"), 1);
    // The cap that dropped a line is named in the report's caps.
    assert!(err.contains("source_line_length"), "{err}");
    // Lines 1 and 10, the same endpoint, under the placeholder host (the log names none).
    let got = endpoints(&db);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(
        (got[0].0.as_str(), got[0].1.as_str(), got[0].3),
        ("unknown-host.invalid", "GET", 2)
    );
}

#[test]
fn logs_need_source_and_auto_says_when_unsure() {
    let dir = tempfile::tempdir().unwrap();
    let log = captures().join("forge.access.log");
    let out = ingest(&dir.path().join("a.db"), &[log.to_str().unwrap()]);
    assert!(
        !out.status.success(),
        "a log without --source is not a capture"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a pcap or pcapng capture"));

    let odd = dir.path().join("odd.log");
    std::fs::write(&odd, "hello world\nthis is not a log\n").unwrap();
    let out = ingest(
        &dir.path().join("b.db"),
        &["--source", "auto", odd.to_str().unwrap()],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot tell the format"), "{err}");
    assert!(
        !dir.path().join("b.db").exists(),
        "nothing written on refusal"
    );
}
