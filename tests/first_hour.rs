//! The first hour with shadowtap (issue 17), through the real binary: every error names its
//! file once and says what to do (messages asserted exactly), a failed command prints nothing
//! else and leaves nothing behind, `serve --hash-password` needs no inventory, and `demo`
//! takes its port before it does any work and keeps one directory.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use support::{Conv, Frame, write_pcap};

fn shadowtap() -> Command {
    Command::new(env!("CARGO_BIN_EXE_shadowtap"))
}

fn run_in(dir: &Path, args: &[&str]) -> Output {
    shadowtap().current_dir(dir).args(args).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A failure: exit status 1, nothing on standard output, exactly `stderr` on standard error.
#[track_caller]
fn fails_with(out: &Output, stderr: &str) {
    assert_eq!(text(&out.stderr), stderr);
    assert_eq!(text(&out.stdout), "");
    assert_eq!(out.status.code(), Some(1));
}

/// Files in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A few requests to two hosts.
fn small_traffic() -> Vec<Frame> {
    let mut conv = Conv::new("10.1.0.1:40000", "10.0.0.1:80");
    conv.handshake();
    for (host, path) in [
        ("api.shop.test", "/users/1"),
        ("api.shop.test", "/users/2"),
        ("cdn.shop.test", "/app.js"),
    ] {
        let req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n");
        conv.exchange(
            req.as_bytes(),
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
            1400,
        );
    }
    conv.close();
    conv.frames
}

const CAPTURE_HINT: &str = "give the path of a pcap or pcapng capture file";

#[test]
fn missing_capture_files_are_named_once_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let expected = format!("shadowtap: nope.pcap: no such file; {CAPTURE_HINT}\n");
    // `log`: no header, no statistics, no "no packets were read".
    fails_with(&run_in(d, &["log", "nope.pcap"]), &expected);
    fails_with(&run_in(d, &["log", "--stats", "nope.pcap"]), &expected);
    fails_with(&run_in(d, &["log", "--stats=json", "nope.pcap"]), &expected);
    // `ingest`: the same words, and no inventory, write-ahead log or key left behind.
    fails_with(
        &run_in(d, &["ingest", "--db", "e.db", "nope.pcap"]),
        &expected,
    );
    assert_eq!(listing(d), Vec::<String>::new());
    // A directory instead of a file.
    std::fs::create_dir(d.join("caps")).unwrap();
    fails_with(
        &run_in(d, &["log", "caps"]),
        &format!("shadowtap: caps: is a directory; {CAPTURE_HINT}\n"),
    );
}

#[test]
fn a_failed_ingest_into_a_new_inventory_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A pcap signature, then nothing libpcap can read: refused once the store is open.
    std::fs::write(d.join("bad.pcap"), [0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0]).unwrap();
    let out = run_in(d, &["ingest", "--db", "e.db", "bad.pcap"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr),
        "shadowtap: bad.pcap: libpcap cannot read it as a capture (libpcap error: truncated dump \
         file; tried to read 24 file header bytes, only got 4); give the path of a pcap or pcapng \
         capture file\n"
    );
    assert_eq!(listing(d), ["bad.pcap"]);
    // A file that was there before (here a key planted as a symbolic link, refused) is
    // never removed.
    std::os::unix::fs::symlink("elsewhere", d.join("k.db.key")).unwrap();
    let out = run_in(d, &["ingest", "--db", "k.db", "bad.pcap"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(listing(d), ["bad.pcap", "k.db.key"]);
    std::fs::remove_file(d.join("k.db.key")).unwrap();
    // An inventory that existed before is kept as it was.
    write_pcap(&d.join("ok.pcap"), &small_traffic());
    assert!(
        run_in(d, &["ingest", "--db", "e.db", "ok.pcap"])
            .status
            .success()
    );
    let out = run_in(d, &["ingest", "--db", "e.db", "bad.pcap"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(d.join("e.db").exists() && d.join("e.db.key").exists());
}

#[test]
fn bad_database_paths_are_named_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_pcap(&d.join("ok.pcap"), &small_traffic());
    fails_with(
        &run_in(d, &["ingest", "--db", "missing/x.db", "ok.pcap"]),
        "shadowtap: missing/x.db: cannot create the inventory: directory missing does not exist; \
         create it, or give --db a file in an existing directory\n",
    );
    fails_with(
        &run_in(d, &["endpoints", "--db", "x.db"]),
        "shadowtap: x.db: no such inventory; make one with `shadowtap ingest --db x.db CAPTURE.pcap`, \
         or give --db an existing inventory\n",
    );
    std::fs::create_dir(d.join("dir.db")).unwrap();
    fails_with(
        &run_in(d, &["endpoints", "--db", "dir.db"]),
        "shadowtap: dir.db: is a directory; give --db the inventory file\n",
    );
    fails_with(
        &run_in(d, &["ingest", "--db", "dir.db", "ok.pcap"]),
        "shadowtap: dir.db: is not a regular file; give --db the path of an inventory file\n",
    );
    fails_with(
        &run_in(d, &["spec", "import", "--db", "s.db", "nope.yaml"]),
        "shadowtap: nope.yaml: no such file; give the path of an OpenAPI 3.x or Swagger 2.0 \
         document (JSON or YAML)\n",
    );
    fails_with(
        &run_in(
            d,
            &["ingest", "--db", "c.db", "--config", "nope.toml", "ok.pcap"],
        ),
        "shadowtap: nope.toml: no such file; give --config the path of a TOML configuration file\n",
    );
    // A document that is not one is refused without leaving a new inventory behind.
    std::fs::write(d.join("notes.txt"), "hello\n").unwrap();
    fails_with(
        &run_in(d, &["spec", "import", "--db", "s.db", "notes.txt"]),
        "shadowtap: notes.txt: not an OpenAPI 3.x or Swagger 2.0 document (no `openapi: 3.x` or \
         `swagger: \"2.0\"`)\n",
    );
    std::fs::remove_file(d.join("notes.txt")).unwrap();
    // None of them created anything.
    assert_eq!(listing(d), ["dir.db", "ok.pcap"]);
}

#[test]
fn hash_password_needs_no_inventory() {
    let mut child = shadowtap()
        .args(["serve", "--hash-password"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"correct horse battery\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("$argon2id$"),
        "{}",
        text(&out.stdout)
    );
    // Serving still needs one.
    let out = shadowtap().args(["serve"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--db <PATH>"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn demo_takes_its_port_before_ingesting() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let started = std::time::Instant::now();
    let out = shadowtap()
        .args(["demo", "--listen", &addr, "--db", p(&db)])
        .output()
        .unwrap();
    fails_with(
        &out,
        &format!(
            "shadowtap: cannot listen on {addr}: Address already in use (os error 98) \
             (give --listen a free address)\n"
        ),
    );
    assert!(!db.exists(), "nothing was ingested");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

/// The demo over every bundled capture (key logs, descriptor sets, spec and configuration
/// beside them) succeeds, and the sums the dashboard reads (kept by triggers, migration 0015)
/// equal what a scan of the inventory finds.
#[test]
fn demo_ingests_every_bundled_capture() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("demo.db");
    let out = shadowtap()
        .args(["demo", "--no-serve", "--db", p(&db)])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    for (kept, fresh) in [
        (
            "SELECT endpoints, observed, requests, errors, last_seen FROM inventory_totals",
            "SELECT COUNT(*), COUNT(first_seen), SUM(request_count), SUM(error_count), MAX(last_seen) FROM endpoints",
        ),
        (
            "SELECT minute, count, errors FROM inventory_minutes ORDER BY minute",
            "SELECT minute, SUM(count), SUM(errors) FROM endpoint_minutes GROUP BY minute ORDER BY minute",
        ),
        (
            "SELECT client, endpoints FROM inventory_clients ORDER BY client",
            "SELECT client, COUNT(*) FROM endpoint_clients GROUP BY client ORDER BY client",
        ),
        (
            "SELECT id, client_rows FROM endpoints ORDER BY id",
            "SELECT e.id, (SELECT COUNT(*) FROM endpoint_clients c WHERE c.endpoint_id = e.id) FROM endpoints e ORDER BY id",
        ),
    ] {
        let (a, b) = (sql(&db, kept), sql(&db, fresh));
        assert!(a.len() > 1 || kept.contains("totals"), "{kept}: {a:?}");
        assert_eq!(a, b, "{kept}");
    }
}

#[test]
fn demo_reuses_one_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let captures = tempfile::tempdir().unwrap();
    write_pcap(&captures.path().join("a.pcap"), &small_traffic());
    let demo = || {
        let out = shadowtap()
            .env("TMPDIR", tmp.path())
            .args(["demo", "--no-serve", "--captures", p(captures.path())])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        PathBuf::from(text(&out.stdout).trim())
    };
    let first = demo();
    let second = demo();
    assert_eq!(first, second);
    assert_eq!(
        first,
        tmp.path().join("shadowtap-demo").join("inventory.db")
    );
    assert_eq!(listing(tmp.path()), ["shadowtap-demo"]);
    // Each run starts afresh: the second ingested the capture again instead of skipping it.
    let out = shadowtap()
        .args(["endpoints", "--db", p(&second), "--format", "tsv"])
        .output()
        .unwrap();
    assert_eq!(
        text(&out.stdout).lines().count(),
        3,
        "{}",
        text(&out.stdout)
    );
}

fn capture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("captures")
        .join(name)
}

fn sql(db: &Path, query: &str) -> Vec<Vec<String>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use sqlx::{Row, TypeInfo, ValueRef};
        let opts = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(db)
            .read_only(true);
        let pool = sqlx::SqlitePool::connect_with(opts).await.unwrap();
        let rows = sqlx::query(sqlx::AssertSqlSafe(query.to_string()))
            .fetch_all(&pool)
            .await
            .unwrap();
        let out = rows
            .iter()
            .map(|r| {
                (0..r.columns().len())
                    .map(|i| {
                        let v = r.try_get_raw(i).unwrap();
                        if v.is_null() {
                            return "NULL".to_string();
                        }
                        match v.type_info().name() {
                            "INTEGER" => r.get::<i64, _>(i).to_string(),
                            "REAL" => r.get::<f64, _>(i).to_string(),
                            _ => r.get::<String, _>(i),
                        }
                    })
                    .collect()
            })
            .collect();
        pool.close().await;
        out
    })
}

/// An inventory of three captures: the Acme API (`api.acme.test`, described by
/// rest_api.openapi.yaml), the call sequences of `shop.seq.test` (no description) and the
/// hostile hosts.
fn three_hosts(dir: &Path) -> PathBuf {
    let db = dir.join("inv.db");
    let out = shadowtap()
        .args(["ingest", "--db", p(&db)])
        .args([
            capture("rest_api.pcap"),
            capture("sequences.pcap"),
            capture("hostile.pcap"),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    db
}

#[test]
fn a_description_judges_only_the_hosts_it_covers() {
    let dir = tempfile::tempdir().unwrap();
    let db = three_hosts(dir.path());
    let spec = capture("rest_api.openapi.yaml");
    let out = shadowtap()
        .args(["spec", "import", "--db", p(&db), p(&spec)])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Shadow and zombie endpoints are the Acme API's only.
    let judged = sql(
        &db,
        "SELECT DISTINCT host FROM api_endpoints WHERE classification IN ('shadow', 'zombie', 'documented')",
    );
    assert_eq!(judged, [["api.acme.test"]]);
    let shadow = sql(
        &db,
        "SELECT COUNT(*) FROM api_endpoints WHERE classification = 'shadow'",
    );
    assert_eq!(shadow, [["4"]], "the four undocumented Acme routes");
    // Every other host is not covered: its endpoints are apart, one finding per host.
    let hosts = sql(
        &db,
        "SELECT host FROM api_endpoints WHERE host <> 'api.acme.test' AND request_count > 0
         GROUP BY host HAVING SUM(classification NOT IN ('uncovered', 'probe')) > 0",
    );
    assert!(hosts.is_empty(), "{hosts:?}");
    let per_host = sql(
        &db,
        "SELECT host, COUNT(*) FROM api_findings WHERE kind = 'uncovered_host' GROUP BY host HAVING COUNT(*) > 1",
    );
    assert!(per_host.is_empty(), "{per_host:?}");
    assert_eq!(
        sql(
            &db,
            "SELECT severity, count, evidence FROM api_findings WHERE kind = 'uncovered_host' AND host = 'shop.seq.test'"
        ),
        [["low", "404", "9 endpoints, 404 requests"]]
    );
    assert_eq!(
        sql(
            &db,
            "SELECT COUNT(*) FROM api_findings WHERE kind = 'shadow_api' AND host <> 'api.acme.test'"
        ),
        [["0"]]
    );
    // `spec diff` lists the uncovered hosts apart.
    let diff = text(
        &shadowtap()
            .args(["spec", "diff", "--db", p(&db)])
            .output()
            .unwrap()
            .stdout,
    );
    assert!(
        diff.lines().any(|l| l
            == "uncovered shop.seq.test  (9 endpoints, 404 requests): no imported description covers this host"),
        "{diff}"
    );
    // Mapped to the described server, the host is judged against the description.
    let out = shadowtap()
        .args(["spec", "import", "--db", p(&db), "--map-host"])
        .arg("shop.seq.test=api.acme.test")
        .arg(&spec)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        sql(
            &db,
            "SELECT COUNT(*) FROM api_endpoints WHERE host = 'shop.seq.test' AND classification = 'uncovered'"
        ),
        [["0"]]
    );
    assert_eq!(
        sql(
            &db,
            "SELECT COUNT(*) FROM api_findings WHERE kind = 'uncovered_host' AND host = 'shop.seq.test'"
        ),
        [["0"]]
    );
}

#[test]
fn one_count_of_findings_in_the_cli_and_the_dashboard() {
    let dir = tempfile::tempdir().unwrap();
    let db = three_hosts(dir.path());
    let mut lines = Vec::new();
    for spec in ["rest_api.openapi.yaml", "posture.openapi.yaml"] {
        let out = shadowtap()
            .args(["spec", "import", "--db", p(&db)])
            .arg(capture(spec))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        let line = stdout.lines().nth(1).unwrap().to_string();
        let total = sql(&db, "SELECT COUNT(*) FROM api_findings")[0][0].clone();
        assert!(
            line.starts_with("inventory: ") && line.ends_with(&format!("; {total} findings")),
            "{line} (api_findings: {total})"
        );
        lines.push(line);
    }
    // The second document covers no observed host: only its operations are added (dormant).
    assert_eq!(
        lines,
        [
            "inventory: 28 documented, 4 shadow, 3 zombie, 4 dormant operations, 4 scanner probes, \
             12 endpoints on 3 hosts no description covers; 1 drift item; 38 findings",
            "inventory: 28 documented, 4 shadow, 3 zombie, 20 dormant operations, 4 scanner probes, \
             12 endpoints on 3 hosts no description covers; 1 drift item; 38 findings",
        ]
    );
    // `findings` and the dashboard count the same rows.
    let listed = text(
        &shadowtap()
            .args(["findings", "--db", p(&db)])
            .output()
            .unwrap()
            .stdout,
    );
    let total = sql(&db, "SELECT COUNT(*) FROM api_findings")[0][0].clone();
    assert_eq!(listed.lines().last().unwrap(), format!("{total} findings"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let overview = rt.block_on(async {
        let store = shadowtap::store::Store::open_read_only(&db).await.unwrap();
        store
            .dashboard()
            .dashboard_overview(&shadowtap::store::dashboard::Window::ALL)
            .await
            .unwrap()
    });
    assert_eq!(overview.totals.findings.to_string(), total);
}

#[test]
fn a_truncated_capture_is_recorded_as_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let whole = std::fs::read(capture("chunked.pcap")).unwrap();
    std::fs::write(d.join("cut.pcap"), &whole[..3000]).unwrap();
    let out = run_in(d, &["ingest", "--db", "t.db", "cut.pcap"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains(
            "cut.pcap: the file ends in damage (libpcap error: truncated dump file; tried to read 93 captured bytes, only got 0): \
             what came before it was ingested; it is recorded as truncated, not complete"
        ),
        "{err}"
    );
    assert_eq!(
        sql(
            &d.join("t.db"),
            "SELECT complete, packets, truncated FROM api_captures"
        ),
        [[
            "0",
            "21",
            "libpcap error: truncated dump file; tried to read 93 captured bytes, only got 0"
        ]]
    );
    // `log` says the same of it.
    let out = run_in(d, &["log", "cut.pcap"]);
    assert!(out.status.success());
    assert_eq!(
        text(&out.stderr),
        "shadowtap: cut.pcap: the file ends in damage (libpcap error: truncated dump file; tried \
         to read 93 captured bytes, only got 0); the transactions before it are listed\n"
    );
    // Nothing more to read: the next ingest skips it, it does not "resume" it.
    let out = run_in(d, &["ingest", "--db", "t.db", "cut.pcap"]);
    assert_eq!(
        text(&out.stderr),
        "cut.pcap: already ingested (same content), skipped (--force ingests it again)\n"
    );
}

#[test]
fn counts_read_as_english_and_stats_say_0() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut conv = Conv::new("10.1.0.1:40000", "10.0.0.1:80");
    conv.handshake();
    conv.exchange(
        b"GET /one HTTP/1.1\r\nHost: a.test\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        1400,
    );
    conv.close();
    write_pcap(&d.join("one.pcap"), &conv.frames);
    let out = run_in(d, &["ingest", "--db", "o.db", "--stats", "one.pcap"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    let first = err.lines().next().unwrap();
    assert!(
        first.starts_with("one.pcap: 8 packets, 1 transaction, 1 endpoint new, 0 updated ("),
        "{first}"
    );
    // --stats: a counter with nothing counted says 0, never "none" (which is left for the
    // list of caps that dropped something).
    let before_caps = err
        .split("== caps that dropped something ==")
        .next()
        .unwrap();
    assert!(!before_caps.contains("none"), "{before_caps}");
    assert!(before_caps.contains("== store =="), "{err}");
    // ingest --help says what --config is for.
    let help = text(&run_in(d, &["ingest", "--help"]).stdout);
    for word in ["[[templates]]", "[spec.hosts]", "[sequences]", "--stats"] {
        assert!(help.contains(word), "{word}: {help}");
    }
}

#[test]
fn demo_decrypts_the_tls_captures_with_their_key_logs() {
    // A captures directory with one TLS capture and its key log: the demo decrypts it, as
    // `ingest --keylog` would; without the key log, nothing is read from it.
    let tmp = tempfile::tempdir().unwrap();
    let captures = tempfile::tempdir().unwrap();
    std::fs::copy(capture("tls13.pcap"), captures.path().join("tls13.pcap")).unwrap();
    let demo = |db: &Path| {
        let out = shadowtap()
            .args([
                "demo",
                "--no-serve",
                "--captures",
                p(captures.path()),
                "--db",
                p(db),
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stderr)
    };
    let without = tmp.path().join("without.db");
    demo(&without);
    let count = |db: &Path| {
        sql(
            db,
            "SELECT COALESCE(SUM(request_count), 0) FROM api_endpoints",
        )[0][0]
            .clone()
    };
    assert_eq!(count(&without), "0");
    std::fs::copy(capture("tls13.keys"), captures.path().join("tls13.keys")).unwrap();
    let with = tmp.path().join("with.db");
    let err = demo(&with);
    assert!(
        err.contains("decrypting TLS with the 1 key log beside them"),
        "{err}"
    );
    // tls13.expected-decrypted.tsv: the request lines tshark decrypts with the same key log.
    let want = std::fs::read_to_string(capture("tls13.expected-decrypted.tsv"))
        .unwrap()
        .lines()
        .skip(1)
        .count();
    assert_eq!(count(&with), want.to_string());
    // The key log's secrets are nowhere in the inventory.
    let keys = std::fs::read_to_string(capture("tls13.keys")).unwrap();
    let db = std::fs::read(&with).unwrap();
    for secret in keys.split_whitespace().filter(|w| w.len() >= 64) {
        let hex = secret.to_ascii_lowercase();
        assert!(
            !db.windows(hex.len())
                .any(|w| w.eq_ignore_ascii_case(hex.as_bytes())),
            "a key-log secret in the database"
        );
    }
}
