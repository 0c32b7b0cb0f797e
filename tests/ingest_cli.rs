//! `shadowtap ingest` and the printing commands, end to end through the real binary on
//! captures the tests build themselves: an ingest killed part-way is finished by the next one
//! (the counts equal one clean ingest), `--force` counts again, a file that is not a capture
//! fails every time, caps that drop something are reported, captured bidi and control
//! characters are shown escaped, and a pipe closed early ends a command quietly.

mod support;

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::{Conv, api_traffic, write_pcap};

fn shadowtap() -> Command {
    Command::new(env!("CARGO_BIN_EXE_shadowtap"))
}

fn run(args: &[&str]) -> Output {
    shadowtap().args(args).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Rows of `sql` on the database at `db`, every column as text.
fn query(db: &Path, sql: &str) -> Vec<Vec<String>> {
    try_query(db, sql).unwrap()
}

fn try_query(db: &Path, sql: &str) -> Result<Vec<Vec<String>>, sqlx::Error> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use sqlx::Row;
        let opts = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(db)
            .read_only(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(opts)
            .await?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
            .fetch_all(&pool)
            .await?;
        let out = rows
            .iter()
            .map(|r| {
                (0..r.len())
                    .map(|i| {
                        r.try_get::<Option<String>, _>(i)
                            .map(|v| v.unwrap_or_else(|| "NULL".into()))
                            .or_else(|_| r.try_get::<i64, _>(i).map(|v| v.to_string()))
                            .unwrap_or_else(|e| format!("?{e}"))
                    })
                    .collect()
            })
            .collect();
        pool.close().await;
        Ok::<_, sqlx::Error>(out)
    })
}

const ENDPOINTS: &str = "SELECT host, method, path_template, request_count FROM api_endpoints
                         ORDER BY host, method, path_template";

fn ingest(db: &Path, extra: &[&str], files: &[&Path]) -> Output {
    let mut args = vec!["ingest", "--db", p(db)];
    args.extend_from_slice(extra);
    args.extend(files.iter().map(|f| p(f)));
    run(&args)
}

#[test]
fn a_killed_ingest_is_resumed_and_counts_equal_one_clean_ingest() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("big.pcap");
    // 30,000 transactions on 300 connections.
    write_pcap(&pcap, &api_traffic(300, 100));

    // One clean ingest: the reference.
    let clean = dir.path().join("clean.db");
    let out = ingest(&clean, &["--flush-every", "500"], &[&pcap]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let reference = query(&clean, ENDPOINTS);
    let total: i64 = reference.iter().map(|r| r[3].parse::<i64>().unwrap()).sum();
    assert_eq!(total, 30_000, "{reference:?}");

    // The same file, killed (SIGKILL) once some flushes are committed.
    let killed = dir.path().join("killed.db");
    let mut child = shadowtap()
        .args([
            "ingest",
            "--db",
            p(&killed),
            "--flush-every",
            "200",
            p(&pcap),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let committed = loop {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no flush committed in time"
        );
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "the ingest ended before it could be killed ({status}): make the capture larger"
            );
        }
        let seen = try_query(&killed, "SELECT committed_packets, complete FROM captures")
            .ok()
            .and_then(|rows| rows.into_iter().next());
        // Some flushes in (a tenth of the file or so), most of the file still to come.
        if let Some(row) = seen.filter(|r| r[0].parse::<u64>().unwrap_or(0) >= 20_000) {
            child.kill().unwrap();
            child.wait().unwrap();
            break row;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    assert_eq!(committed[1], "0", "already complete when killed");
    // The kill may have come after later flushes than the one seen.
    let rows = query(&killed, "SELECT committed_packets, complete FROM captures");
    let after: u64 = rows[0][0].parse().unwrap();
    assert_eq!(rows[0][1], "0", "the interrupted capture is not complete");
    assert!(after > 0);
    let partial: i64 = query(
        &killed,
        "SELECT coalesce(sum(request_count), 0) FROM api_endpoints",
    )[0][0]
        .parse()
        .unwrap();
    assert!(
        partial > 0 && partial < 30_000,
        "{partial} requests before the kill"
    );

    // The next ingest finishes it and says so.
    let out = ingest(&killed, &["--flush-every", "200"], &[&pcap]);
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "{}: resumed after packet {after} (an earlier ingest was interrupted)",
            p(&pcap)
        )),
        "{err}"
    );
    assert_eq!(query(&killed, ENDPOINTS), reference);
    assert_eq!(
        query(
            &killed,
            "SELECT packets, transactions, complete FROM api_captures"
        ),
        query(
            &clean,
            "SELECT packets, transactions, complete FROM api_captures"
        ),
    );

    // Once complete, it is skipped ...
    let out = ingest(&killed, &[], &[&pcap]);
    assert!(out.status.success());
    assert!(
        text(&out.stderr).contains("already ingested"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(query(&killed, ENDPOINTS), reference);

    // ... unless forced: counted again from the start.
    let out = ingest(&killed, &["--force"], &[&pcap]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let doubled: Vec<Vec<String>> = reference
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r[3] = (r[3].parse::<i64>().unwrap() * 2).to_string();
            r
        })
        .collect();
    assert_eq!(query(&killed, ENDPOINTS), doubled);
    assert_eq!(
        query(&killed, "SELECT count(*), sum(complete) FROM captures"),
        [["1", "1"]]
    );
}

#[test]
fn force_is_explained_in_help() {
    let out = run(&["ingest", "--help"]);
    let help = text(&out.stdout);
    assert!(help.contains("--force"), "{help}");
    assert!(help.contains("counted again"), "{help}");
    assert!(help.contains("--stats"), "{help}");
}

#[test]
fn a_file_that_is_not_a_capture_fails_every_time_and_leaves_no_trace() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("inv.db");
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "GET /users/1 HTTP/1.1\nthis is not a capture\n").unwrap();
    let empty = dir.path().join("empty.pcap");
    std::fs::write(&empty, b"").unwrap();
    // A pcap signature and then nothing: libpcap refuses the header.
    let cut = dir.path().join("cut.pcap");
    std::fs::write(&cut, [0xd4, 0xc3, 0xb2, 0xa1, 2, 0]).unwrap();
    for bad in [&notes, &empty, &cut] {
        for attempt in 0..3 {
            let out = ingest(&db, &[], &[bad]);
            let err = text(&out.stderr);
            assert!(
                !out.status.success(),
                "{} attempt {attempt}: {err}",
                bad.display()
            );
            assert!(err.contains(p(bad)), "{err}");
            if bad != &cut {
                assert!(err.contains("not a pcap or pcapng capture file"), "{err}");
            }
            assert!(!err.contains("interrupted"), "{err}");
        }
    }
    // A good file next to a bad one: nothing is ingested, and no inventory is created.
    let good = dir.path().join("good.pcap");
    write_pcap(&good, &api_traffic(1, 3));
    let out = ingest(&db, &[], &[&good, &notes]);
    assert!(!out.status.success());
    assert!(!db.exists());
    let out = ingest(&db, &[], &[&good]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        query(&db, "SELECT count(*), sum(complete) FROM captures"),
        [["1", "1"]]
    );
}

#[test]
fn caps_that_drop_are_reported_with_and_without_stats() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("in.pcap");
    // 20 connections at once: a flow table of 4 evicts some of them.
    let frames = api_traffic(20, 4);
    write_pcap(&pcap, &frames);

    // Without --stats: one warning line naming the cap and its count.
    let out = ingest(&dir.path().join("a.db"), &["--max-flows", "4"], &[&pcap]);
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    let warning: Vec<&str> = err.lines().filter(|l| l.contains("warning")).collect();
    assert_eq!(warning.len(), 1, "{err}");
    assert!(
        warning[0].starts_with("shadowtap: warning: caps dropped data: max_flows "),
        "{err}"
    );

    // Nothing dropped: no warning.
    let out = ingest(&dir.path().join("b.db"), &[], &[&pcap]);
    assert!(out.status.success());
    assert!(
        !text(&out.stderr).contains("warning"),
        "{}",
        text(&out.stderr)
    );

    // --stats: every stage's counters, the inventory's, the store's, and the caps.
    let out = ingest(
        &dir.path().join("c.db"),
        &["--stats", "--max-flows", "4"],
        &[&pcap],
    );
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    for section in [
        "== packets and decoding ==",
        "== TCP reassembly ==",
        "== HTTP ==",
        "== inventory ==",
        "== store ==",
        "== caps that dropped something ==",
    ] {
        assert!(err.contains(section), "{section} missing: {err}");
    }
    assert!(
        err.lines()
            .any(|l| l.trim_start().starts_with("max_flows ")),
        "{err}"
    );
    assert!(!err.contains("warning"), "{err}");

    // --stats=json (with --json, stdout holds the report, stderr only the statistics).
    let out = ingest(
        &dir.path().join("d.db"),
        &["--json", "--stats=json", "--max-flows", "4"],
        &[&pcap],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stats: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(stats["engine"]["packets"]["packets"], frames.len() as u64);
    let caps = stats["caps"].as_array().unwrap();
    assert!(
        caps.iter()
            .any(|c| c["cap"] == "max_flows" && c["count"].as_u64().unwrap() > 0),
        "{stats}"
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["files"][0]["outcome"], "ingested");

    // Skipped files: --stats says nothing was read.
    let out = ingest(&dir.path().join("d.db"), &["--stats"], &[&pcap]);
    assert!(
        text(&out.stderr).contains("no capture was read"),
        "{}",
        text(&out.stderr)
    );
}

/// Bidi overrides, isolates, marks and controls, as a hostile client sends them (in the
/// Host header: paths are stored percent-encoded).
const SNEAKY: [char; 8] = [
    '\u{202e}', '\u{200e}', '\u{200f}', '\u{2066}', '\u{2069}', '\u{202a}', '\u{202d}', '\u{85}',
];

fn hostile_capture(path: &Path) {
    let mut conv = Conv::new("10.2.0.1:40000", "10.0.0.1:80");
    conv.handshake();
    for (i, c) in SNEAKY.iter().enumerate() {
        let req = format!(
            "GET /v1/status HTTP/1.1\r\nHost: h{i}{c}.sneaky.test\r\nContent-Length: 0\r\n\r\n"
        );
        let resp = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        conv.exchange(req.as_bytes(), resp.as_bytes(), 1400);
    }
    conv.close();
    write_pcap(path, &conv.frames);
}

fn assert_clean(what: &str, out: &str) {
    for c in SNEAKY {
        assert!(!out.contains(c), "{what} prints {c:?} raw:\n{out}");
    }
    assert!(
        !out.chars()
            .any(|c| c.is_control() && c != '\n' && !(c == '\t' && what.contains("tsv"))),
        "{what}: {out:?}"
    );
}

#[test]
fn bidi_and_control_characters_are_escaped_in_text_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("hostile.pcap");
    hostile_capture(&pcap);
    let db = dir.path().join("inv.db");
    let out = ingest(&db, &[], &[&pcap]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // The characters are stored as captured (JSON carries them as they are) ...
    let json = text(&run(&["endpoints", "--db", p(&db), "--format", "json"]).stdout);
    assert!(json.contains('\u{202e}'), "{json}");
    // ... and every text output shows them escaped.
    let table = text(&run(&["endpoints", "--db", p(&db)]).stdout);
    assert_clean("endpoints", &table);
    assert!(table.contains("h0\\u{202e}.sneaky.test"), "{table}");
    let tsv = text(&run(&["endpoints", "--db", p(&db), "--format", "tsv"]).stdout);
    assert_clean("endpoints tsv", &tsv);
    assert!(tsv.lines().all(|l| l.split('\t').count() == 17), "{tsv}");

    let spec = dir.path().join("api.json");
    std::fs::write(
        &spec,
        r#"{"openapi": "3.0.3", "info": {"title": "Sneaky \u202e API", "version": "1"},
            "servers": [{"url": "http://h0\u202e.sneaky.test"}],
            "paths": {"/admin\u202e/{id}": {"get": {"responses": {"200": {"description": "ok"}}}}}}"#,
    )
    .unwrap();
    let out = run(&["spec", "import", "--db", p(&db), p(&spec)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_clean("spec import", &text(&out.stdout));
    let diff = text(&run(&["spec", "diff", "--db", p(&db)]).stdout);
    assert!(diff.contains("shadow"), "{diff}");
    assert_clean("spec diff", &diff);
    assert!(diff.contains("\\u{202e}"), "{diff}");
    for args in [
        &["findings", "--db", p(&db)][..],
        &["sequences", "--db", p(&db)][..],
        &["template", "list", "--db", p(&db), "--learned"][..],
    ] {
        let out = run(args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        assert_clean(&args.join(" "), &text(&out.stdout));
    }
    // `log` shows them escaped too.
    let log = text(&run(&["log", p(&pcap)]).stdout);
    assert_clean("log tsv", &log);
    assert!(log.contains("h0\\u{202e}.sneaky.test"), "{log}");
}

/// Runs `args` with its standard output a pipe whose reader is gone before the command starts
/// (closed before the spawn, so that a command with little to print cannot finish writing
/// into the pipe's buffer first).
fn with_closed_pipe(args: &[&str]) -> (std::process::ExitStatus, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let child = shadowtap()
        .args(args)
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status, text(&out.stderr))
}

#[test]
fn a_pipe_closed_early_ends_commands_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("inv.db");
    let pcap = dir.path().join("in.pcap");
    write_pcap(&pcap, &api_traffic(3, 10));
    assert!(ingest(&db, &[], &[&pcap]).status.success());
    // An API description of 3,000 operations never called: `spec diff` prints far more
    // than a pipe holds.
    let paths: Vec<String> = (0..3000)
        .map(|i| format!(r#""/catalog/item{i}/detail": {{"get": {{"responses": {{"200": {{"description": "ok"}}}}}}}}"#))
        .collect();
    let spec: PathBuf = dir.path().join("big.json");
    std::fs::write(
        &spec,
        format!(
            r#"{{"openapi": "3.0.3", "info": {{"title": "t", "version": "1"}},
                "servers": [{{"url": "http://api.shop.test"}}], "paths": {{{}}}}}"#,
            paths.join(",")
        ),
    )
    .unwrap();
    let out = run(&["spec", "import", "--db", p(&db), p(&spec)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let full = run(&["spec", "diff", "--db", p(&db)]);
    assert!(full.stdout.len() > 128 * 1024, "{}", full.stdout.len());

    for args in [
        &["spec", "diff", "--db", p(&db)][..],
        &["spec", "diff", "--db", p(&db), "--json"][..],
        &["endpoints", "--db", p(&db)][..],
        &["findings", "--db", p(&db)][..],
        &["sequences", "--db", p(&db)][..],
        &["template", "list", "--db", p(&db), "--learned"][..],
        &["export", "--db", p(&db), "--format", "sql"][..],
        &["log", p(&pcap)][..],
    ] {
        // Every command ends the same way: quietly, killed by SIGPIPE (as `cat` and `grep`).
        let (status, err) = with_closed_pipe(args);
        assert_eq!(err, "", "{args:?}");
        assert_eq!(status.signal(), Some(13), "{args:?}: {status}");
    }
    // `log --stats` still counts every packet after the reader went away.
    let (status, err) = with_closed_pipe(&["log", "--stats", p(&pcap)]);
    assert_eq!(status.signal(), Some(13), "{status}");
    assert!(err.contains("transactions"), "{err}");
}
