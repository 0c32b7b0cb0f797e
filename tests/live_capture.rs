//! Live capture: real server and client traffic on loopback, captured through `--interface`,
//! gives the same transactions as the same traffic recorded to a file and read back.
//!
//! Needs CAP_NET_RAW (CI runs as root). Without it the test says so and passes, unless
//! `SHADOWTAP_REQUIRE_LIVE=1` is set (as `.ci/run` does), in which case it fails.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[path = "support/live.rs"]
mod live;
use live::{BIN, free_port, live_or_skip, python_server};

fn interrupt(child: &Child) {
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
}

fn wait_for(path: &Path, limit: Duration) {
    let start = Instant::now();
    while !path.exists() {
        assert!(start.elapsed() < limit, "{} did not appear", path.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The columns that must agree (ids and times included: both come from the same kernel stamps).
fn rows(tsv: &str) -> Vec<String> {
    tsv.lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn live_capture_matches_the_recorded_file() {
    if !live_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let www = dir.path().join("www");
    std::fs::create_dir(&www).unwrap();
    std::fs::write(www.join("index.html"), "<html>hello</html>\n".repeat(20)).unwrap();
    std::fs::write(www.join("data.json"), r#"{"id": 42, "name": "shadowtap"}"#).unwrap();
    let port = free_port();
    let filter = format!("tcp port {port}");

    // A real HTTP server: Python's http.server.
    let mut server = python_server(port, &www);

    // The live log and a recording of the same traffic.
    let ready = dir.path().join("ready");
    let pcap = dir.path().join("live.pcap");
    let mut recorder = Command::new(BIN)
        .args(["record", "--interface", "lo", "--bpf", &filter, "--write"])
        .arg(&pcap)
        .arg("--ready-file")
        .arg(&ready)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut live = Command::new(BIN)
        .args(["log", "--interface", "lo", "--bpf", &filter, "--stats=json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut live_err = BufReader::new(live.stderr.take().unwrap());
    let mut line = String::new();
    live_err.read_line(&mut line).unwrap();
    assert!(line.contains("capturing on lo"), "{line}");
    wait_for(&ready, Duration::from_secs(10));

    // Wait for the server to accept connections, then real clients: curl, keep-alive and not.
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let base = format!("http://127.0.0.1:{port}");
    let curl = |args: &[&str]| {
        let ok = Command::new("curl")
            .args(["-s", "-o", "/dev/null"])
            .args(args)
            .status()
            .expect("curl is needed");
        assert!(ok.success());
    };
    curl(&[
        &format!("{base}/index.html"),
        &format!("{base}/data.json"),
        &format!("{base}/missing"),
    ]);
    curl(&["-I", &format!("{base}/index.html")]);
    curl(&["--http1.0", &format!("{base}/data.json?x=1")]);
    curl(&["-H", "User-Agent: shadowtap-live-test", &format!("{base}/")]);
    std::thread::sleep(Duration::from_millis(500));

    interrupt(&live);
    interrupt(&recorder);
    let mut live_out = String::new();
    live.stdout
        .take()
        .unwrap()
        .read_to_string(&mut live_out)
        .unwrap();
    let mut live_stats = String::new();
    live_err.read_to_string(&mut live_stats).unwrap();
    assert!(live.wait().unwrap().success());
    assert!(recorder.wait().unwrap().success());
    let _ = server.kill();
    let _ = server.wait();

    let from_file = Command::new(BIN).arg("log").arg(&pcap).output().unwrap();
    assert!(from_file.status.success());
    let file_rows = rows(&String::from_utf8_lossy(&from_file.stdout));
    let live_rows = rows(&live_out);

    assert_eq!(live_rows.len(), 6, "{live_out}");
    // Two capture sockets may stamp the same packet a microsecond apart: the time, the id
    // derived from it and the latency get a tolerance, every other column must be equal.
    let strip = |rows: &[String]| {
        let mut v: Vec<(Vec<String>, f64, f64)> = rows
            .iter()
            .map(|r| {
                let c: Vec<&str> = r.split('\t').collect();
                let rest: Vec<String> = c
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| ![0, 1, 16].contains(i))
                    .map(|(_, x)| x.to_string())
                    .collect();
                (
                    rest,
                    c[0].parse::<f64>().unwrap(),
                    c[16].parse::<f64>().unwrap_or(0.0),
                )
            })
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    let (a, b) = (strip(&live_rows), strip(&file_rows));
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.0, y.0, "live and file transactions differ");
        assert!((x.1 - y.1).abs() < 0.001, "timestamps {} vs {}", x.1, y.1);
        assert!((x.2 - y.2).abs() < 0.1, "latency {} vs {}", x.2, y.2);
    }
    let uris: Vec<String> = live_rows
        .iter()
        .map(|r| r.split('\t').nth(9).unwrap().to_string())
        .collect();
    for want in [
        "/index.html",
        "/data.json",
        "/missing",
        "/data.json?x=1",
        "/",
    ] {
        assert!(
            uris.iter().any(|u| u == want),
            "{want} missing from {uris:?}"
        );
    }
    let statuses: Vec<&str> = live_rows
        .iter()
        .map(|r| r.split('\t').nth(14).unwrap())
        .collect();
    assert_eq!(statuses.iter().filter(|s| **s == "404").count(), 1);
    assert!(
        live_stats.contains("\"capture\""),
        "kernel counters are reported: {live_stats}"
    );
}
