//! Secrets stay out of every output: `shadowtap log` redacts them in every format unless
//! `--unredacted` (which warns), and user information in a `Host` header never reaches the
//! database, its exports or the dashboard (it is reported as `credentials_in_url`).
//!
//! The capture is built here, request by request, each carrying one kind of secret.

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine as _;
use http_body_util::BodyExt;
use shadowtap::store::Store;
use shadowtap::web::{self, AppState, AuthConfig};
use std::path::Path;
use std::process::Command;
use support::{Conv, Frame, write_pcap};
use tower::ServiceExt;

const BIN: &str = env!("CARGO_BIN_EXE_shadowtap");

fn b64url(s: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

/// A well-formed JWT (HS256) whose payload and signature are unique to this test.
fn jwt() -> String {
    format!(
        "{}.{}.{}",
        b64url(r#"{"alg":"HS256","typ":"JWT"}"#),
        b64url(r#"{"sub":"redaction-test-subject","exp":1900000000}"#),
        b64url("signature-of-the-redaction-test-token")
    )
}

/// What must never be printed or stored, and the requests that carry it.
struct Secrets {
    /// Every secret, whole.
    all: Vec<String>,
    /// The requests (head only).
    requests: Vec<String>,
}

const HOST_PASSWORD: &str = "Pa55w0rdInTheHost";

fn secrets() -> Secrets {
    let jwt = jwt();
    let payload = jwt.split('.').nth(1).unwrap().to_string();
    let signature = jwt.split('.').nth(2).unwrap().to_string();
    let password = "Hunter2QueryPassword";
    let api_key = "K3yS3cr3tValue9931";
    let opaque = "opaque-session-token-55aa77";
    let card = "4111111111111111";
    let aws = "AKIAIOSFODNN7EXAMPLE";
    let url_password = "Sup3rS3cretUrlPw";
    let email = "jane.doe.secret@example.com";
    let requests = vec![
        // Credentials in the query string.
        format!(
            "GET /v1/login?user=alice&password={password}&api_key={api_key}&page=2 HTTP/1.1\r\nHost: api.example\r\nUser-Agent: test/1.0\r\n\r\n"
        ),
        format!(
            "GET /v1/feed?access_token={jwt}&token={opaque} HTTP/1.1\r\nHost: api.example\r\nUser-Agent: test/1.0\r\n\r\n"
        ),
        // A card number and an AWS key in the path, a bare JWT as a path segment.
        format!(
            "POST /v1/cards/{card}/charge HTTP/1.1\r\nHost: api.example\r\nContent-Length: 0\r\n\r\n"
        ),
        format!("GET /v1/keys/{aws}/{jwt} HTTP/1.1\r\nHost: api.example\r\n\r\n"),
        // User information in an absolute-form target.
        format!(
            "GET http://bob:{url_password}@api.example/v1/me HTTP/1.1\r\nHost: api.example\r\n\r\n"
        ),
        // User information in the Host header.
        format!("GET /v1/profile HTTP/1.1\r\nHost: alice:{HOST_PASSWORD}@api.example\r\n\r\n"),
        // An e-mail address in the User-Agent.
        format!(
            "GET /v1/status HTTP/1.1\r\nHost: api.example\r\nUser-Agent: monitor ({email})\r\n\r\n"
        ),
    ];
    Secrets {
        all: vec![
            password.into(),
            api_key.into(),
            jwt.clone(),
            payload,
            signature,
            opaque.into(),
            card.into(),
            aws.into(),
            url_password.into(),
            HOST_PASSWORD.into(),
            email.into(),
        ],
        requests,
    }
}

fn capture(path: &Path) -> Secrets {
    let s = secrets();
    let mut frames: Vec<Frame> = Vec::new();
    for (i, req) in s.requests.iter().enumerate() {
        let mut c = Conv::new(&format!("10.9.0.{}:4200{i}", i + 1), "10.9.0.100:80");
        c.clock += i as i64 * 1_000_000_000;
        c.handshake();
        c.exchange(
            req.as_bytes(),
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
            1400,
        );
        c.close();
        frames.extend(c.frames);
    }
    write_pcap(path, &frames);
    s
}

fn log(pcap: &Path, args: &[&str]) -> (String, String) {
    let out = Command::new(BIN)
        .arg("log")
        .args(args)
        .arg(pcap)
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}: {out:?}");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn log_redacts_secrets_in_every_format_unless_unredacted() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("secrets.pcap");
    let s = capture(&pcap);
    let formats: [&[&str]; 3] = [&[], &["--format", "tsv"], &["--format", "jsonl"]];
    for fmt in formats {
        let mut args = fmt.to_vec();
        args.push("--stats");
        let (out, err) = log(&pcap, &args);
        assert_eq!(
            out.lines().filter(|l| l.contains("api.example")).count(),
            s.requests.len(),
            "{fmt:?}: one row per request\n{out}"
        );
        for secret in &s.all {
            assert!(
                !out.contains(secret.as_str()),
                "{fmt:?}: {secret} in\n{out}"
            );
            assert!(
                !err.contains(secret.as_str()),
                "{fmt:?}: {secret} in\n{err}"
            );
        }
        // What is left says what was there.
        for shown in [
            "password=[redacted]",
            "api_key=[redacted]",
            "access_token=eyJ…(alg=HS256)",
            "token=[redacted]",
            "/v1/cards/4111********1111/charge",
            "/v1/keys/AKIA************MPLE/eyJ…(alg=HS256)",
            "http://[redacted]@api.example/v1/me",
            "[redacted]@api.example",
            "j***@example.com",
            "page=2",
        ] {
            assert!(out.contains(shown), "{fmt:?}: no {shown} in\n{out}");
        }
        assert!(!err.contains("warning"), "{err}");
        if fmt.contains(&"jsonl") {
            for line in out.lines() {
                serde_json::from_str::<serde_json::Value>(line)
                    .unwrap_or_else(|e| panic!("{e}: {line}"));
            }
        }
    }
    // --unredacted prints them as captured, and says so on stderr.
    for fmt in formats {
        let mut args = fmt.to_vec();
        args.push("--unredacted");
        let (out, err) = log(&pcap, &args);
        for secret in &s.all {
            assert!(
                out.contains(secret.as_str()),
                "{fmt:?}: {secret} missing in\n{out}"
            );
        }
        assert!(
            err.contains("warning") && err.contains("--unredacted"),
            "{fmt:?}: {err}"
        );
    }
}

/// Every table and column of the SQLite file holding `needle`, as `table.column`.
async fn tables_holding(store: &Store, needle: &str) -> Vec<String> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    )
    .fetch_all(&support::sql(store).await)
    .await
    .unwrap();
    assert!(tables.len() > 10, "{tables:?}");
    let mut hits = Vec::new();
    for t in tables {
        let cols: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info(?)")
            .bind(&t)
            .fetch_all(&support::sql(store).await)
            .await
            .unwrap();
        for c in cols {
            // Names from the database's own schema.
            let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT count(*) FROM \"{t}\" WHERE instr(CAST(\"{c}\" AS BLOB), CAST(?1 AS BLOB)) > 0 OR instr(lower(CAST(\"{c}\" AS TEXT)), lower(?1)) > 0"
            )))
            .bind(needle)
            .fetch_one(&support::sql(store).await)
            .await
            .unwrap();
            if n > 0 {
                hits.push(format!("{t}.{c}"));
            }
        }
    }
    hits
}

async fn get(app: &axum::Router, path: &str) -> (StatusCode, String) {
    let resp = app
        .clone()
        .oneshot(
            Request::get(path)
                .header(header::HOST, "127.0.0.1:8080")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn host_userinfo_never_reaches_the_database_or_the_dashboard() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("secrets.pcap");
    let s = capture(&pcap);
    let db = dir.path().join("inventory.db");
    let out = Command::new(BIN)
        .args(["ingest", "--db"])
        .arg(&db)
        .arg(&pcap)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let store = Store::open_read_only(&db).await.unwrap();
    // No table holds any of the secrets; the host is stored without its user information.
    for secret in &s.all {
        let hits = tables_holding(&store, secret).await;
        assert!(hits.is_empty(), "{secret} stored in {hits:?}");
    }
    assert!(tables_holding(&store, "alice:").await.is_empty());
    let hosts: Vec<String> = sqlx::query_scalar("SELECT DISTINCT host FROM api_endpoints")
        .fetch_all(&support::sql(&store).await)
        .await
        .unwrap();
    assert_eq!(hosts, ["api.example"]);
    let profile: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM api_endpoints WHERE host = 'api.example' AND path_template = '/v1/profile'",
    )
    .fetch_one(&support::sql(&store).await)
    .await
    .unwrap();
    assert_eq!(profile, 1);
    // Credentials in the URL, the user information among them, are a finding (redacted).
    let findings: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT path_template, detail, evidence FROM api_findings WHERE kind = 'credentials_in_url' ORDER BY 1",
    )
    .fetch_all(&support::sql(&store).await)
    .await
    .unwrap();
    let paths: Vec<&str> = findings.iter().map(|f| f.0.as_str()).collect();
    assert!(paths.contains(&"/v1/profile"), "{findings:?}");
    assert!(paths.contains(&"/v1/me"), "{findings:?}");
    for (path, detail, evidence) in &findings {
        if path == "/v1/profile" || path == "/v1/me" {
            assert!(detail.contains("user:password@host"), "{detail}");
            assert!(evidence.contains("userinfo [redacted]@"), "{evidence}");
        }
    }
    // The raw file (database and its write-ahead log) does not hold the Host password either.
    for ext in ["", "-wal"] {
        let mut p = db.as_os_str().to_owned();
        p.push(ext);
        if let Ok(bytes) = std::fs::read(&p) {
            assert!(
                memchr::memmem::find(
                    &bytes.to_ascii_lowercase(),
                    HOST_PASSWORD.to_ascii_lowercase().as_bytes()
                )
                .is_none(),
                "{HOST_PASSWORD} in {}",
                Path::new(&p).display()
            );
        }
    }
    // Nor does any page, API answer or export of the dashboard.
    let app = web::app(AppState::new(store.clone(), AuthConfig::default()).unwrap());
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM api_endpoints")
        .fetch_all(&support::sql(&store).await)
        .await
        .unwrap();
    let mut paths: Vec<String> = [
        "/",
        "/endpoints",
        "/endpoints?host=api.example",
        "/findings",
        "/sequences?host=api.example",
        "/spec",
        "/sensor",
        "/api/overview",
        "/api/endpoints",
        "/api/findings",
        "/api/sequences?host=api.example",
        "/api/export/sql",
        "/api/export/json",
        "/api/export/openapi",
        "/api/export/csv-api_endpoints",
        "/api/export/csv-api_findings",
        "/export/sql",
        "/export/json",
        "/export/openapi.json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for id in ids {
        paths.push(format!("/endpoints/{id}"));
        paths.push(format!("/api/endpoints/{id}"));
    }
    let mut saw_host = false;
    for path in &paths {
        let (status, body) = get(&app, path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        saw_host |= body.contains("api.example");
        for secret in &s.all {
            assert!(!body.contains(secret.as_str()), "{secret} in {path}");
        }
        assert!(!body.contains("alice:"), "Host user information in {path}");
    }
    assert!(saw_host);
}
