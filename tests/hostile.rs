//! Hostile files, end to end (issue 12, items 3, 4 and 6): API descriptions built to stall the
//! parser, a key file planted or tampered with next to the database, and a database of another
//! application given as the inventory. Every input is generated here.

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use shadowtap::store::Store;
use shadowtap::web::{self, AppState, AuthConfig};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};
use tower::ServiceExt;

const BIN: &str = env!("CARGO_BIN_EXE_shadowtap");
const TOKEN: &str = "hostile-test-token-0123456789";

fn shadowtap(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn capture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("captures")
        .join(name)
        .display()
        .to_string()
}

fn petstore() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/specs/petstore-3.0.yaml")
}

/// About 200 KB nested 100,000 levels deep, as JSON and as YAML (flow and block style).
fn deep_documents(dir: &Path) -> Vec<PathBuf> {
    let n = 100_000;
    let json = format!(
        "{{\"openapi\":\"3.0.0\",\"paths\":{}{}}}",
        "[".repeat(n),
        "]".repeat(n)
    );
    let flow = format!(
        "openapi: 3.0.0\npaths: {}{}\n",
        "[".repeat(n),
        "]".repeat(n)
    );
    let mut block = String::from("openapi: 3.0.0\npaths:\n");
    for i in 0..3_000 {
        block.push_str(&" ".repeat(i + 1));
        block.push_str("a:\n");
    }
    let mut out = Vec::new();
    for (name, text) in [
        ("deep.json", json),
        ("deep-flow.yaml", flow),
        ("deep-block.yaml", block),
    ] {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        out.push(p);
    }
    out
}

/// `spec import` refuses documents nested too deeply, and an endless device, in a moment and
/// with a reason; the same database then imports a real description.
#[test]
fn spec_import_refuses_deep_and_endless_documents_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("inv.db");
    let db = db.to_str().unwrap();
    for doc in deep_documents(dir.path()) {
        let t = Instant::now();
        let o = shadowtap(&["spec", "import", "--db", db, doc.to_str().unwrap()]);
        let took = t.elapsed();
        let err = stderr(&o);
        assert!(!o.status.success(), "{}: accepted", doc.display());
        assert!(
            err.contains("nest") || err.contains("deep"),
            "{}: {err}",
            doc.display()
        );
        assert!(!err.contains("panicked"), "{err}");
        assert!(took < Duration::from_secs(5), "{}: {took:?}", doc.display());
    }
    // An endless input is refused after the size limit, not read into memory.
    let t = Instant::now();
    let o = shadowtap(&["spec", "import", "--db", db, "/dev/zero"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("too large"), "{}", stderr(&o));
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    // The database is intact and takes a real description.
    let o = shadowtap(&["spec", "import", "--db", db, petstore().to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
}

async fn send(app: &axum::Router, req: Request<Body>) -> (StatusCode, String) {
    let r = app.clone().oneshot(req).await.unwrap();
    let status = r.status();
    let body = r.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn get(path: &str) -> Request<Body> {
    Request::get(path)
        .header(header::HOST, "dashboard.example")
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .unwrap()
}

fn upload(name: &str, doc: Vec<u8>) -> Request<Body> {
    Request::post(format!("/api/spec?name={name}"))
        .header(header::HOST, "dashboard.example")
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .body(Body::from(doc))
        .unwrap()
}

/// Deep documents uploaded through the dashboard, several at once, are refused while the
/// dashboard keeps answering; a real description is accepted after them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_uploads_neither_stall_the_dashboard_nor_get_in() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("inv.db");
    Store::open(&db).await.unwrap().close().await;
    let store = Store::open_read_only(&db).await.unwrap();
    let app = web::app(
        AppState::new(
            store,
            AuthConfig {
                token: Some(TOKEN.into()),
                allow_spec_upload: true,
                ..AuthConfig::default()
            },
        )
        .unwrap(),
    );
    let docs: Vec<Vec<u8>> = deep_documents(dir.path())
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    let t = Instant::now();
    let uploads: Vec<_> = docs
        .iter()
        .chain(docs.iter())
        .enumerate()
        .map(|(i, d)| {
            let app = app.clone();
            let d = d.clone();
            tokio::spawn(async move { send(&app, upload(&format!("deep{i}.json"), d)).await })
        })
        .collect();
    // Meanwhile the dashboard answers at once.
    for _ in 0..5 {
        let q = Instant::now();
        let (status, _) = send(&app, get("/api/overview")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(q.elapsed() < Duration::from_secs(1), "{:?}", q.elapsed());
    }
    for u in uploads {
        let (status, body) = u.await.unwrap();
        assert!(status.is_client_error(), "{status}: {body}");
        assert!(body.contains("nest") || body.contains("deep"), "{body}");
    }
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    let (status, body) = send(
        &app,
        upload("petstore.yaml", std::fs::read(petstore()).unwrap()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// `<db>.key` planted as a symbolic link, open to others, or corrupt is refused with a reason,
/// never followed, loosened or silently replaced; ingest goes on once it is a private key.
#[test]
fn key_file_that_is_planted_open_or_corrupt_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("inv.db");
    let key = dir.path().join("inv.db.key");
    let dbs = db.to_str().unwrap();
    let pcap = capture("rest_api.pcap");
    let ingest = || shadowtap(&["ingest", "--db", dbs, &pcap]);

    // A symbolic link to a file the attacker wants overwritten.
    let victim = dir.path().join("victim.conf");
    std::fs::write(&victim, "keep me\n").unwrap();
    std::os::unix::fs::symlink(&victim, &key).unwrap();
    let o = ingest();
    assert!(!o.status.success());
    assert!(stderr(&o).contains("symbolic link"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me\n");
    std::fs::remove_file(&key).unwrap();

    // Created private on first use, and kept.
    let o = ingest();
    assert!(o.status.success(), "{}", stderr(&o));
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let original = std::fs::read(&key).unwrap();

    // Open to the group and others: refused, and left as it is.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let o = ingest();
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("0644") || err.contains("others"), "{err}");
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o644
    );
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();

    // Corrupt: refused, not regenerated (old keyed hashes would stop linking).
    std::fs::write(&key, "not a key\n").unwrap();
    let o = ingest();
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("corrupt") || stderr(&o).contains("key"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read_to_string(&key).unwrap(), "not a key\n");

    // Restored: works again.
    std::fs::write(&key, &original).unwrap();
    let o = shadowtap(&["ingest", "--db", dbs, &capture("chunked.pcap")]);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// Another application's SQLite database given as `--db` is refused and left untouched; an
/// inventory is marked with shadowtap's application id.
#[tokio::test]
async fn another_applications_database_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("app.db");
    {
        use sqlx::ConnectOptions;
        let mut c = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&other)
            .create_if_missing(true)
            .connect()
            .await
            .unwrap();
        for q in [
            "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)",
            "INSERT INTO users (name) VALUES ('alice'), ('bob')",
        ] {
            sqlx::query(q).execute(&mut c).await.unwrap();
        }
        sqlx::Connection::close(c).await.unwrap();
    }
    let before = std::fs::read(&other).unwrap();
    let o = shadowtap(&[
        "ingest",
        "--db",
        other.to_str().unwrap(),
        &capture("rest_api.pcap"),
    ]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("another application"), "{err}");
    assert!(err.contains("users"), "{err}");
    assert_eq!(std::fs::read(&other).unwrap(), before, "not modified");
    let mut wal = other.as_os_str().to_owned();
    wal.push("-wal");
    assert!(!Path::new(&wal).exists(), "no WAL created");
    // The dashboard refuses it too.
    let o = shadowtap(&["endpoints", "--db", other.to_str().unwrap()]);
    assert!(!o.status.success());

    // A new inventory carries the mark.
    let ours = dir.path().join("inv.db");
    let o = shadowtap(&[
        "ingest",
        "--db",
        ours.to_str().unwrap(),
        &capture("rest_api.pcap"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let store = Store::open_read_only(&ours).await.unwrap();
    let id: i32 = sqlx::query_scalar("PRAGMA application_id")
        .fetch_one(&support::sql(&store).await)
        .await
        .unwrap();
    assert_eq!(id, shadowtap::store::marker::APPLICATION_ID);
    store.close().await;
}
