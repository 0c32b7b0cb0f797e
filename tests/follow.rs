//! The daemon following access logs as they grow (`shadowtap run --follow`), end to end
//! through the real binary, without any capture interface (no privilege needed): the nginx
//! log of `captures/forge.pcap`'s traffic (`captures/forge.access.log`, written by the real
//! nginx of that scenario) is appended line by line in bursts while the daemon runs, rotated
//! on the way by renaming (logrotate's default) and by truncation (`copytruncate`), with a
//! line cut in two between writes. The inventory the daemon builds must be the one
//! `shadowtap ingest --source nginx` builds from the whole file: same endpoints, same
//! request counts, source `access_log` (parameter names aside, see the end of the test).

use sqlx::sqlite::SqlitePool;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_shadowtap");

fn captures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("captures")
}

fn append(path: &Path, bytes: &[u8]) {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .unwrap();
    f.write_all(bytes).unwrap();
}

fn rows(db: &Path, sql: &str) -> Vec<String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let pool = SqlitePool::connect(&format!("sqlite://{}?mode=ro", db.display()))
            .await
            .unwrap();
        let out: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql.to_string()))
            .fetch_all(&pool)
            .await
            .unwrap();
        pool.close().await;
        out.into_iter().map(|r| r.0).collect()
    })
}

const ENDPOINTS: &str = "SELECT e.method || ' ' || e.host || e.path_template || ' ' || e.request_count || ' ' || s.source
     FROM endpoints e JOIN endpoint_sources s ON s.endpoint_id = e.id ORDER BY 1";

struct Daemon(Child, PathBuf);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
    }
}

fn metric(url: &str, name: &str) -> f64 {
    let addr = url.trim_start_matches("http://").trim_end_matches('/');
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut s, &mut text).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
        .unwrap_or_else(|| panic!("no {name} in {text}"))
}

#[test]
fn a_followed_log_rotated_twice_gives_the_inventory_of_the_whole_file() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let sample = std::fs::read(captures().join("forge.access.log")).unwrap();
    let lines: Vec<&[u8]> = sample.split_inclusive(|b| *b == b'\n').collect();
    assert!(lines.len() > 200, "{}", lines.len());
    // The file exists (empty) before the daemon starts: it is read from its end.
    append(&log, b"");

    let db = dir.path().join("followed.db");
    let ready = dir.path().join("ready");
    let child = Command::new(BIN)
        .arg("run")
        .arg("--db")
        .arg(&db)
        .arg("--follow")
        .arg(format!("nginx:{}", log.display()))
        .args([
            "--follow-host",
            "api.forge.test",
            "--listen",
            "127.0.0.1:0",
            "--flush-interval",
            "1s",
            "--workers",
            "1",
        ])
        .arg("--ready-file")
        .arg(&ready)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("run.log")).unwrap())
        .spawn()
        .unwrap();
    let mut daemon = Daemon(child, dir.path().join("run.log"));
    let start = Instant::now();
    while !ready.exists() {
        assert!(
            daemon.0.try_wait().unwrap().is_none(),
            "exited: {}",
            std::fs::read_to_string(&daemon.1).unwrap_or_default()
        );
        assert!(start.elapsed() < Duration::from_secs(20), "not ready");
        std::thread::sleep(Duration::from_millis(20));
    }
    let url = std::fs::read_to_string(&ready).unwrap().trim().to_string();

    let third = lines.len() / 3;
    let write_burst = |path: &Path, part: &[&[u8]]| {
        for chunk in part.chunks(17) {
            append(path, &chunk.concat());
            std::thread::sleep(Duration::from_millis(30));
        }
    };
    // First third; its last line is written in two pieces.
    write_burst(&log, &lines[..third - 1]);
    let cut = lines[third - 1];
    append(&log, &cut[..cut.len() / 2]);
    std::thread::sleep(Duration::from_millis(600));
    append(&log, &cut[cut.len() / 2..]);
    // Rotation by renaming: the old file gets one more line after the rename (nginx writes
    // to its open file until it reopens), then the new file takes the rest of the second
    // third.
    let rotated = dir.path().join("access.log.1");
    std::fs::rename(&log, &rotated).unwrap();
    append(&rotated, lines[third]);
    std::thread::sleep(Duration::from_millis(600));
    write_burst(&log, &lines[third + 1..2 * third]);
    // Rotation by truncation: once the follower has read the file, it is emptied in place
    // and written again.
    let wait_for = |what: &str, lines_read: f64| {
        let start = Instant::now();
        while metric(
            &url,
            &format!("shadowtap_follow_lines_total{{path=\"{}\"}}", log.display()),
        ) < lines_read
        {
            assert!(start.elapsed() < Duration::from_secs(20), "{what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    wait_for("the second third read", (2 * third) as f64);
    std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&log)
        .unwrap();
    std::thread::sleep(Duration::from_millis(600));
    write_burst(&log, &lines[2 * third..]);
    wait_for("every line read", lines.len() as f64);
    let path_label = format!("{{path=\"{}\"}}", log.display());
    assert_eq!(
        metric(
            &url,
            &format!("shadowtap_follow_rotations_total{path_label}")
        ),
        1.0
    );
    assert_eq!(
        metric(
            &url,
            &format!("shadowtap_follow_truncations_total{path_label}")
        ),
        1.0
    );
    assert_eq!(
        metric(
            &url,
            &format!("shadowtap_follow_skipped_lines_total{path_label}")
        ),
        0.0
    );

    // SIGTERM: the last report is merged, the daemon exits 0.
    assert!(
        Command::new("kill")
            .args(["-TERM", &daemon.0.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let start = Instant::now();
    let status = loop {
        if let Some(s) = daemon.0.try_wait().unwrap() {
            break s;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "did not stop");
        std::thread::sleep(Duration::from_millis(20));
    };
    let run_log = std::fs::read_to_string(&daemon.1).unwrap();
    assert!(status.success(), "{run_log}");
    assert!(run_log.contains("rotations=1 truncations=1"), "{run_log}");

    // The same file, ingested whole.
    let whole = dir.path().join("ingested.db");
    let out = Command::new(BIN)
        .args([
            "ingest",
            "--source",
            "nginx",
            "--host",
            "api.forge.test",
            "--db",
        ])
        .arg(&whole)
        .arg(captures().join("forge.access.log"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Parameter names aside: a name is picked from the values seen when the template is
    // first learned, and the daemon learns from the first bursts where the ingest saw the
    // whole file (`/users/{user}` there, `/users/{user_id}` here); the templates' shapes,
    // methods and counts are the same.
    let want = unnamed(rows(&whole, ENDPOINTS));
    assert!(want.len() > 20, "{want:?}");
    assert_eq!(unnamed(rows(&db, ENDPOINTS)), want);
}

/// The rows with every `{name}` as `{}`.
fn unnamed(rows: Vec<String>) -> Vec<String> {
    rows.into_iter()
        .map(|r| {
            let mut out = String::with_capacity(r.len());
            let mut inside = false;
            for c in r.chars() {
                match c {
                    '{' => {
                        inside = true;
                        out.push(c);
                    }
                    '}' => {
                        inside = false;
                        out.push(c);
                    }
                    _ if inside => {}
                    _ => out.push(c),
                }
            }
            out
        })
        .collect()
}
