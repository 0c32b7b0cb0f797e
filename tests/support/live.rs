//! Shared by the tests that capture live on loopback (`live_capture.rs`, `daemon.rs`).
//!
//! They need CAP_NET_RAW (CI runs as root). Without it a test says so and passes, unless
//! `SHADOWTAP_REQUIRE_LIVE=1` is set (as `.ci/run` does), in which case it fails.
#![allow(dead_code)]

use std::net::TcpListener;
use std::process::{Command, Stdio};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_shadowtap");

/// Whether this process may open `lo` for capture (asks the binary itself).
pub fn can_capture() -> bool {
    Command::new(BIN)
        .args([
            "record",
            "--interface",
            "lo",
            "--write",
            "/dev/null",
            "--count",
            "0",
        ])
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Returns false (and says why) when live capture is not permitted and not required; fails
/// the test when it is required.
pub fn live_or_skip() -> bool {
    if can_capture() {
        return true;
    }
    assert!(
        std::env::var("SHADOWTAP_REQUIRE_LIVE").as_deref() != Ok("1"),
        "live capture on lo is required here but not permitted (needs CAP_NET_RAW)"
    );
    eprintln!("skipped: no permission to capture on lo (needs CAP_NET_RAW)");
    false
}

/// A TCP port free on 127.0.0.1 right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A real HTTP server, Python's `http.server`, serving `dir` on 127.0.0.1:`port`.
pub fn python_server(port: u16, dir: &std::path::Path) -> std::process::Child {
    Command::new("python3")
        .args([
            "-m",
            "http.server",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--directory",
        ])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 is needed for the live test")
}
