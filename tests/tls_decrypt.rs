//! Decryption with a key log, end to end over the real TLS captures (`captures/tls13.pcap`,
//! `tls12.pcap`, `tls_weak.pcap` and their NSS key logs `<name>.keys`, made by
//! `captures/make.sh tls`): the decrypted request lines are exactly those tshark decrypts with
//! the same key log (`<name>.expected-decrypted.tsv`, written by `tls_client.py decrypted`),
//! however the TCP stream is cut or reordered; a wrong key, a missing key or no key log gives
//! no transaction from TLS and counts why; a key that arrives late (a followed file) still
//! decrypts the records held for it; and no secret of the key log is ever printed or stored.

mod support;

use shadowtap::capture::{FileSource, LinkType, Next, PacketSource};
use shadowtap::engine::{Engine, EngineConfig, EngineStats};
use shadowtap::http::{HttpTransaction, Tags};
use shadowtap::time::Timestamp;
use shadowtap::tls::KeyStore;
use shadowtap::tls::keylog::KeyLog;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

const NAMES: [&str; 4] = ["tls13", "tls12", "tls_weak", "tls_h2"];

fn captures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("captures")
}

fn keys(name: &str) -> PathBuf {
    captures().join(format!("{name}.keys"))
}

fn config(store: Option<KeyStore>) -> EngineConfig {
    let mut cfg = EngineConfig::default();
    cfg.tls.keys = store.map(Arc::new);
    cfg
}

fn store(name: &str) -> KeyStore {
    KeyStore::read(&keys(name), KeyLog::DEFAULT_MAX_ENTRIES).unwrap()
}

/// The capture's frames as (time, link-layer bytes).
fn frames(name: &str) -> (LinkType, Vec<(Timestamp, Vec<u8>)>) {
    let mut src = FileSource::open(&captures().join(format!("{name}.pcap")), None).unwrap();
    let link = src.link_type();
    let mut out = Vec::new();
    while let Next::Packet(p) = src.next_packet().unwrap() {
        out.push((p.ts, p.data.to_vec()));
    }
    (link, out)
}

fn run(
    link: LinkType,
    frames: &[(Timestamp, Vec<u8>)],
    cfg: EngineConfig,
) -> (Vec<HttpTransaction>, EngineStats) {
    let (mut txs, stats) = support::run_link(link, frames, cfg);
    txs.sort_by_key(|t| (t.ts(), t.depth));
    (txs, stats)
}

fn lines(txs: &[HttpTransaction]) -> Vec<String> {
    txs.iter()
        .filter_map(|t| {
            let r = t.request.as_ref()?;
            Some(format!(
                "{}\t{}",
                String::from_utf8_lossy(r.head.method()),
                String::from_utf8_lossy(r.head.target())
            ))
        })
        .collect()
}

fn expected(name: &str) -> Vec<String> {
    let text =
        std::fs::read_to_string(captures().join(format!("{name}.expected-decrypted.tsv"))).unwrap();
    let mut it = text.lines();
    assert_eq!(it.next(), Some("method\turi"));
    it.filter(|l| !l.is_empty()).map(str::to_string).collect()
}

/// TCP connections to a TLS port (8443-8445, 443) in the capture: transactions on them come from
/// decryption.
fn is_tls_port(t: &HttpTransaction) -> bool {
    matches!(t.resp.port, 443 | 8443..=8446)
}

#[test]
fn decrypted_request_lines_equal_tsharks() {
    for name in NAMES {
        let (link, fr) = frames(name);
        let (txs, stats) = run(link, &fr, config(Some(store(name))));
        let want = expected(name);
        let got = lines(&txs);
        // Recall against tshark: every line it decrypts is found (and nothing else).
        let found = want.iter().filter(|w| got.contains(w)).count();
        assert_eq!(found, want.len(), "{name}: recall {found}/{}", want.len());
        assert_eq!(got, want, "{name}");
        let d = stats.tls.decrypt;
        assert_eq!(
            (d.bad_record, d.no_key, d.unsupported_suite, d.gap),
            (0, 0, 0, 0),
            "{name}: {d:?}"
        );
        assert!(d.records > 0 && d.bytes > 0 && d.connections > 0);
        for t in &txs {
            assert_eq!(t.tags.contains(Tags::TLS), is_tls_port(t), "{name}");
            if is_tls_port(t) {
                let tag = t.tls.as_ref().unwrap();
                assert!(tag.ja4.as_deref().is_some_and(|j| j.starts_with('t')));
                // The TLS captures' clients all ask for api.tls.test by name (or nothing).
                assert!(tag.sni.as_deref().is_none_or(|s| s.ends_with(".tls.test")));
            } else {
                assert!(t.tls.is_none());
            }
        }
    }
}

#[test]
fn without_a_key_log_nothing_is_read_from_tls() {
    for name in NAMES {
        let (link, fr) = frames(name);
        let (txs, stats) = run(link, &fr, config(None));
        assert!(txs.iter().all(|t| !is_tls_port(t)), "{name}");
        assert_eq!(stats.tls.decrypt, Default::default());
    }
}

#[test]
fn a_missing_key_is_counted() {
    for name in NAMES {
        let (link, fr) = frames(name);
        let (txs, stats) = run(link, &fr, config(Some(KeyStore::fixed(KeyLog::default()))));
        assert!(txs.iter().all(|t| !is_tls_port(t)), "{name}");
        let d = stats.tls.decrypt;
        assert!(d.no_key > 0, "{name}: {d:?}");
        assert_eq!((d.records, d.bad_record), (0, 0));
    }
}

/// Every secret of the key log with one bit flipped: records do not authenticate.
#[test]
fn a_wrong_key_is_a_bad_record() {
    for name in NAMES {
        let text = std::fs::read_to_string(keys(name)).unwrap();
        let mut log = KeyLog::default();
        for line in text.lines() {
            let mut f: Vec<String> = line.split(' ').map(str::to_string).collect();
            if let Some(secret) = f.get_mut(2) {
                let flipped = if secret.starts_with('0') { "1" } else { "0" };
                secret.replace_range(0..1, flipped);
            }
            log.add_line(f.join(" ").as_bytes());
        }
        let (link, fr) = frames(name);
        let (txs, stats) = run(link, &fr, config(Some(KeyStore::fixed(log))));
        assert!(txs.iter().all(|t| !is_tls_port(t)), "{name}");
        let d = stats.tls.decrypt;
        assert!(d.bad_record > 0, "{name}: {d:?}");
        assert_eq!(d.bytes, 0, "{name}");
    }
}

/// Re-cuts every TCP segment of a capture into pieces of 1 to `max` bytes, and with `swap`
/// sends every second pair of pieces in reverse order (the reassembly puts them back).
fn recut(
    link: LinkType,
    frames: &[(Timestamp, Vec<u8>)],
    max: usize,
    swap: bool,
) -> Vec<(Timestamp, Vec<u8>)> {
    use etherparse::{NetSlice, SlicedPacket, TransportSlice};
    assert_eq!(link, LinkType::ETHERNET);
    let mut out = Vec::new();
    let mut n = 0usize;
    for (ts, data) in frames {
        let p = SlicedPacket::from_ethernet(data).unwrap();
        let (Some(NetSlice::Ipv4(ip)), Some(TransportSlice::Tcp(tcp))) = (&p.net, &p.transport)
        else {
            continue;
        };
        let src = SocketAddr::new(ip.header().source_addr().into(), tcp.source_port());
        let dst = SocketAddr::new(
            ip.header().destination_addr().into(),
            tcp.destination_port(),
        );
        let mut flags = 0;
        for (on, bit) in [
            (tcp.fin(), support::FIN),
            (tcp.syn(), support::SYN),
            (tcp.rst(), support::RST),
            (tcp.psh(), support::PSH),
            (tcp.ack(), support::ACK),
        ] {
            if on {
                flags |= bit;
            }
        }
        let payload = tcp.payload();
        let (seq, ack) = (tcp.sequence_number(), tcp.acknowledgment_number());
        if payload.is_empty() {
            out.push((*ts, support::build_tcp(src, dst, seq, ack, flags, b"")));
            continue;
        }
        let mut pieces = Vec::new();
        let mut off = 0;
        while off < payload.len() {
            n += 1;
            let len = (1 + n * 7 % max).min(payload.len() - off);
            let last = off + len == payload.len();
            let f = if last {
                flags
            } else {
                flags & !(support::FIN | support::PSH)
            };
            pieces.push(support::build_tcp(
                src,
                dst,
                seq.wrapping_add(off as u32),
                ack,
                f,
                &payload[off..off + len],
            ));
            off += len;
        }
        if swap {
            for pair in pieces.chunks_mut(2).step_by(2) {
                pair.reverse();
            }
        }
        out.extend(pieces.into_iter().map(|p| (*ts, p)));
    }
    out
}

#[test]
fn records_cut_across_segments_and_reordered() {
    for name in NAMES {
        let (link, fr) = frames(name);
        let (whole, _) = run(link, &fr, config(Some(store(name))));
        for (max, swap) in [(3, false), (200, true), (1500, true)] {
            let cut = recut(link, &fr, max, swap);
            let (txs, stats) = run(LinkType::RAW, &cut, config(Some(store(name))));
            assert_eq!(
                lines(&txs),
                lines(&whole),
                "{name}: pieces of at most {max}, swap {swap}"
            );
            assert_eq!(stats.tls.decrypt.bad_record, 0);
            assert!(
                txs.iter()
                    .filter(|t| is_tls_port(t))
                    .all(|t| t.tags.contains(Tags::TLS))
            );
        }
    }
}

/// The daemon's case: the key log is followed, and a connection's keys are written only after
/// some of its encrypted records went by. They are held, and decrypted when the keys appear.
#[test]
fn records_wait_for_a_key_that_comes_late() {
    let name = "tls13";
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.log");
    std::fs::write(&path, "").unwrap();
    let store = KeyStore::follow(&path, 1000, Duration::ZERO).unwrap();
    let mut cfg = config(Some(store));
    cfg.tls.hold_for_keys = true;
    let (link, fr) = frames(name);
    let mut e = Engine::new(cfg);
    let mut txs = Vec::new();
    // Packets since records were first held; the keys come 4 packets later.
    let mut holding = None;
    for (ts, data) in &fr {
        e.packet(&shadowtap::capture::RawPacket {
            ts: *ts,
            link,
            orig_len: data.len() as u32,
            data,
        });
        txs.extend(e.drain());
        if holding.is_none() && e.stats().tls_bytes_now > 0 {
            holding = Some(0);
        }
        if let Some(n) = holding.as_mut() {
            *n += 1;
            if *n == 4 {
                assert!(txs.iter().all(|t: &HttpTransaction| !is_tls_port(t)));
                assert!(e.stats().tls_bytes_now > 0, "records are held");
                std::fs::copy(keys(name), &path).unwrap();
            }
        }
    }
    e.finish();
    txs.extend(e.drain());
    txs.sort_by_key(|t| (t.ts(), t.depth));
    assert!(holding.is_some_and(|n| n > 4));
    assert_eq!(lines(&txs), expected(name));
    let d = e.stats().tls.decrypt;
    assert_eq!(
        (d.no_key, d.hold_expired, d.hold_cap_drops),
        (0, 0, 0),
        "{d:?}"
    );
    assert_eq!(e.stats().tls_bytes_now, 0, "nothing is left held");
}

/// Keys that never come: the held records are dropped at the timeout (capture time) or at
/// close, and counted.
#[test]
fn held_records_expire() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.log");
    std::fs::write(&path, "# nothing yet\n").unwrap();
    let (link, fr) = frames("tls12");
    let mut cfg = config(Some(KeyStore::follow(&path, 1000, Duration::ZERO).unwrap()));
    cfg.tls.hold_for_keys = true;
    // 1 ms of capture time: the captures' connections last longer than that.
    cfg.tls.decrypt.hold_timeout_ns = 1_000_000;
    let (txs, stats) = run(link, &fr, cfg);
    assert!(txs.iter().all(|t| !is_tls_port(t)));
    let d = stats.tls.decrypt;
    assert!(d.no_key > 0 && d.hold_expired > 0, "{d:?}");
    assert_eq!(stats.tls_bytes_now, 0, "nothing is left held");
}

/// The secrets of a key log, as hex: none may appear in any output.
fn secrets(name: &str) -> Vec<String> {
    std::fs::read_to_string(keys(name))
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2))
        .map(str::to_ascii_lowercase)
        .collect()
}

fn assert_no_secret(what: &str, text: &[u8], secrets: &[String]) {
    let lower = String::from_utf8_lossy(text).to_ascii_lowercase();
    for s in secrets {
        // Any 16 hex digits of a secret (a half printed, or a prefix) count.
        for part in s.as_bytes().chunks(16).filter(|c| c.len() == 16) {
            let part = std::str::from_utf8(part).unwrap();
            assert!(!lower.contains(part), "{what} shows a secret");
        }
    }
}

fn raw(hex: &str) -> Vec<u8> {
    (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

#[test]
fn secrets_are_never_printed_or_stored() {
    let bin = env!("CARGO_BIN_EXE_shadowtap");
    let dir = tempfile::tempdir().unwrap();
    for name in NAMES {
        let secrets = secrets(name);
        let pcap = captures().join(format!("{name}.pcap"));
        for args in [
            vec!["log", "--stats=json"],
            vec!["log", "--stats", "--format", "jsonl", "--unredacted"],
        ] {
            let out = std::process::Command::new(bin)
                .args(&args)
                .arg("--keylog")
                .arg(keys(name))
                .arg(&pcap)
                .output()
                .unwrap();
            assert!(out.status.success());
            assert!(
                String::from_utf8_lossy(&out.stdout).contains("\ttls") || args.contains(&"jsonl")
            );
            assert_no_secret("log stdout", &out.stdout, &secrets);
            assert_no_secret("log stderr", &out.stderr, &secrets);
        }
        let db = dir.path().join(format!("{name}.db"));
        let out = std::process::Command::new(bin)
            .args(["ingest", "--stats=json", "--db"])
            .arg(&db)
            .arg("--keylog")
            .arg(keys(name))
            .arg(&pcap)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_no_secret("ingest stdout", &out.stdout, &secrets);
        assert_no_secret("ingest stderr", &out.stderr, &secrets);
        // The database and its side files, as text and as raw bytes.
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            assert_no_secret("the database", &bytes, &secrets);
            for s in &secrets {
                let r = raw(s);
                assert!(
                    !bytes.windows(r.len()).any(|w| w == r),
                    "the database holds a secret"
                );
            }
        }
    }
    // A key log line that is not one is never echoed either.
    let bad = dir.path().join("bad.keys");
    std::fs::write(&bad, "CLIENT_RANDOM zz 00112233445566778899aabbccddeeff\n").unwrap();
    let out = std::process::Command::new(bin)
        .args(["log", "--stats", "--keylog"])
        .arg(&bad)
        .arg(captures().join("tls13.pcap"))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("00112233445566778899"));
}

/// The inventory reads decrypted transactions like cleartext ones: endpoints under the Host
/// header's host, templated the same way.
#[test]
fn decrypted_transactions_reach_the_inventory() {
    use shadowtap::ingest::{IngestOptions, ingest_files};
    use shadowtap::store::{ListFilter, Store};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let db = Store::open(&dir.path().join("inv.db")).await.unwrap();
        let opts = IngestOptions {
            engine: config(Some(store("tls12"))),
            ..IngestOptions::default()
        };
        let pcap = captures().join("tls12.pcap");
        let (reports, _, _) = ingest_files(&db, &[pcap], &opts, |_| {}).await.unwrap();
        assert_eq!(reports[0].transactions, 19);
        let rows = db.endpoints(&ListFilter::default()).await.unwrap();
        let mut eps: Vec<String> = rows
            .iter()
            .map(|r| format!("{} {} {}", r.host, r.method, r.path_template))
            .collect();
        eps.sort();
        eps.dedup();
        assert!(
            eps.iter()
                .any(|e| e.starts_with("api.tls.test:8443 GET /v1/")),
            "{eps:?}"
        );
        assert!(rows.iter().all(|r| r.host.contains("tls.test")), "{eps:?}");
    });
}

#[test]
fn decrypted_http2_goes_to_the_http2_layer() {
    // tls_h2: curl with ALPN h2 over TLS 1.3 (six streams on one connection) and TLS 1.2 (two),
    // then one HTTP/1.1 request: the h2 streams are HTTP/2 transactions, tagged like the rest.
    let (link, fr) = frames("tls_h2");
    let (txs, stats) = run(link, &fr, config(Some(store("tls_h2"))));
    let versions: Vec<u8> = txs
        .iter()
        .map(|t| t.request.as_ref().unwrap().head.version().major)
        .collect();
    assert_eq!(versions, [2, 2, 2, 2, 2, 2, 2, 2, 1], "{:?}", lines(&txs));
    assert_eq!(stats.tls.decrypt.inner_h2, 2);
    assert_eq!(stats.http2.connections, 2);
    assert_eq!(stats.http2.hpack_tables_lost, 0);
    for t in &txs {
        assert!(t.tags.contains(Tags::TLS));
        let status = t.response.as_ref().unwrap().head.status();
        assert!((200..500).contains(&status), "{status}");
    }
    // The :authority is the Host: the endpoints are api.tls.test's.
    let hosts: std::collections::BTreeSet<&[u8]> = txs
        .iter()
        .filter_map(|t| t.request.as_ref().unwrap().head.header("host"))
        .collect();
    assert_eq!(hosts.len(), 1, "{hosts:?}");
}
