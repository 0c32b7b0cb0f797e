//! WebSocket end to end.
//!
//! Over `captures/websocket.pcap` (made by `captures/make.sh websocket`: the Python
//! `websockets` package on both sides, one connection without and one with
//! permessage-deflate): shadowtap's figures of each connection agree exactly with tshark's
//! websocket dissector (`websocket.expected-frames.tsv`: every frame's direction, FIN, RSV,
//! opcode, mask and payload length, and the close codes); the upgrade is the endpoint
//! `GET /echo`, its figures in the view `api_websockets`, the sensitive data of its messages
//! found (redacted: nothing in clear in the database).
//!
//! Hand-built connections through the whole engine: a stream cut at every byte boundary gives
//! the same figures, a 2^63 length header stops one direction, masked server frames are read,
//! a gap inside a frame is skipped, 10^5 tiny frames stay within the caps, a wrong
//! `Sec-WebSocket-Accept` is counted, an upgrade without a key stays a tunnel.
//!
//! Over `captures/websocket_tls.pcap` (`make.sh websocket_tls`: `wss://`, TLS 1.3) with its key
//! log: the messages each side sent, as the client counted them and tshark decrypts them
//! (`websocket_tls.expected-messages.tsv`), the endpoint `GET /echo` of protocol `websocket`,
//! and neither the upgrade's bearer token nor the key log's secrets in the database.
//!
//! `[websocket]` in the configuration file: a small frame cap is hit and counted.

mod support;

use shadowtap::capture::{FileSource, Next, PacketSource};
use shadowtap::engine::{Engine, EngineConfig, EngineStats};
use shadowtap::http::{HttpTransaction, Tags};
use shadowtap::ingest::{IngestOptions, ingest_files};
use shadowtap::store::Store;
use shadowtap::websocket::{WsConfig, WsDirection, WsSummary};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use support::{Conv, run, run_cfg, summaries};

fn captures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("captures")
}

fn read(name: &str) -> (Vec<HttpTransaction>, EngineStats) {
    let mut src = FileSource::open(&captures().join(format!("{name}.pcap")), None).unwrap();
    let mut e = Engine::new(EngineConfig::default());
    let mut out = Vec::new();
    while let Next::Packet(p) = src.next_packet().unwrap() {
        e.packet(&p);
        out.extend(e.drain());
    }
    e.finish();
    out.extend(e.drain());
    out.sort_by_key(|t| (t.ts(), t.depth));
    (out, e.stats())
}

/// One frame of the oracle.
struct OracleFrame {
    stream: usize,
    client: bool,
    fin: bool,
    rsv: u8,
    opcode: u8,
    masked: bool,
    len: u64,
    close_code: Option<u16>,
}

fn oracle() -> Vec<OracleFrame> {
    std::fs::read_to_string(captures().join("websocket.expected-frames.tsv"))
        .unwrap()
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            OracleFrame {
                stream: f[0].parse().unwrap(),
                client: f[1] == "client",
                fin: f[2] == "1",
                rsv: f[3].parse().unwrap(),
                opcode: f[4].parse().unwrap(),
                masked: f[5] == "1",
                len: f[6].parse().unwrap(),
                close_code: f.get(7).and_then(|c| c.parse().ok()),
            }
        })
        .collect()
}

/// What one direction of a connection should show, computed from tshark's frames.
fn expected_direction(frames: &[&OracleFrame]) -> WsDirection {
    let mut d = WsDirection::default();
    let mut msg: Option<(u8, u64)> = None;
    for f in frames {
        d.frames += 1;
        d.frames_by_opcode[usize::from(f.opcode)] += 1;
        d.payload_by_opcode[usize::from(f.opcode)] += f.len;
        match f.opcode {
            8 => {
                d.closes += 1;
                d.close_code = d.close_code.or(f.close_code);
            }
            9 => d.pings += 1,
            10 => d.pongs += 1,
            0..=2 => {
                let (op, len) = match (f.opcode, msg) {
                    (0, Some((op, n))) => (op, n + f.len),
                    (op, _) => (op, f.len),
                };
                if f.fin {
                    if op == 1 {
                        d.text_messages += 1;
                    } else {
                        d.binary_messages += 1;
                    }
                    d.bytes += len;
                    d.max_message_bytes = d.max_message_bytes.max(len);
                    d.sizes.record(len);
                    msg = None;
                } else {
                    msg = Some((op, len));
                }
            }
            _ => {}
        }
    }
    d
}

#[test]
fn figures_agree_with_tshark_frame_for_frame() {
    let (txs, stats) = read("websocket");
    // The transactions the client performed: the two upgrades.
    assert_eq!(
        summaries(&txs),
        [
            "GET /echo -> 101 [upgrade,websocket]",
            "GET /echo -> 101 [upgrade,websocket]"
        ]
    );
    assert_eq!(stats.tcp.gaps, 0);
    assert_eq!((stats.flows_now, stats.websocket_bytes_now), (0, 0));
    let ws = &stats.websocket;
    assert_eq!((ws.connections, ws.deflate_connections), (2, 1));
    assert_eq!(ws.accept_mismatches, 0);
    assert_eq!(
        (
            ws.bad_frames,
            ws.masked_server_frames,
            ws.unmasked_client_frames
        ),
        (0, 0, 0),
        "{ws:?}"
    );
    assert_eq!(ws.unparsed_bytes, 0);
    assert_eq!(stats.http.tunnel_bytes, 0);

    let frames = oracle();
    let mut matched = 0;
    for (stream, t) in txs.iter().enumerate() {
        let s: &WsSummary = t.websocket.as_deref().expect("the figures are attached");
        assert_eq!(s.subprotocol.as_deref(), Some("chat.v1"));
        assert_eq!(s.deflate, stream == 1);
        assert!(s.accept_ok);
        let mine: Vec<&OracleFrame> = frames.iter().filter(|f| f.stream == stream).collect();
        assert!(
            mine.iter().all(|f| f.masked == f.client),
            "clients mask, servers do not"
        );
        assert_eq!(
            mine.iter().any(|f| f.rsv == 4),
            s.deflate,
            "RSV1 only with permessage-deflate"
        );
        for (client, got) in [(true, &s.client), (false, &s.server)] {
            let side: Vec<&OracleFrame> = mine
                .iter()
                .copied()
                .filter(|f| f.client == client)
                .collect();
            let want = expected_direction(&side);
            assert_eq!(got, &want, "connection {stream}, client {client}");
            matched += side.len();
        }
        assert_eq!(s.close_code(), Some(1000));
        assert!(s.duration_ms() < 60_000);
    }
    assert_eq!(
        matched,
        frames.len(),
        "every frame of tshark's is accounted for"
    );
    assert_eq!(ws.frames, frames.len() as u64);
    let messages = frames.iter().filter(|f| f.fin && f.opcode <= 2).count() as u64;
    assert_eq!(ws.messages, messages);
    // The sampled text messages: read (inflated on the second connection) as they were sent.
    for t in &txs {
        let s = t.websocket.as_deref().unwrap();
        let texts: Vec<String> = s
            .samples
            .iter()
            .map(|m| String::from_utf8_lossy(&m.text).into_owned())
            .collect();
        assert!(
            texts.iter().any(|m| m.contains(r#""action": "login""#)),
            "{texts:?}"
        );
        assert!(
            texts.contains(&"frag-one frag-two frag-three".to_string()),
            "{texts:?}"
        );
        assert_eq!(s.not_decoded, 0);
    }
    assert_eq!(ws.messages_not_decoded, 0);
    assert!(ws.messages_inflated > 0);
}

#[test]
fn the_log_line_of_an_upgrade_counts_its_messages() {
    use shadowtap::cli::log::{COLUMNS, values};
    let (txs, _) = read("websocket");
    let col = |name: &str| COLUMNS.iter().position(|c| *c == name).unwrap();
    let frames = oracle();
    for (stream, t) in txs.iter().enumerate() {
        let v = values(t);
        let count = |client: bool| {
            frames
                .iter()
                .filter(|f| f.stream == stream && f.client == client && f.fin && f.opcode <= 2)
                .count()
                .to_string()
        };
        assert_eq!(
            v[col("ws_msgs_orig")].as_deref(),
            Some(count(true).as_str())
        );
        assert_eq!(
            v[col("ws_msgs_resp")].as_deref(),
            Some(count(false).as_str())
        );
        assert_eq!(v[col("tags")].as_deref(), Some("upgrade,websocket"));
    }
}

#[tokio::test]
async fn the_upgrade_is_the_endpoint_and_the_view_holds_its_figures() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("inv.db");
    let store = Store::open(&db).await.unwrap();
    ingest_files(
        &store,
        &[captures().join("websocket.pcap")],
        &IngestOptions::default(),
        |_| {},
    )
    .await
    .unwrap();
    let sql = support::sql(&store).await;
    let endpoints: Vec<(i64, String, String, i64)> =
        sqlx::query_as("SELECT id, method, path_template, request_count FROM api_endpoints")
            .fetch_all(&sql)
            .await
            .unwrap();
    assert_eq!(endpoints.len(), 1, "{endpoints:?}");
    let (id, method, template, requests) = endpoints[0].clone();
    assert_eq!(
        (method.as_str(), template.as_str(), requests),
        ("GET", "/echo", 2)
    );
    let protocol: String = sqlx::query_scalar("SELECT protocol FROM api_endpoints WHERE id = ?")
        .bind(id)
        .fetch_one(&sql)
        .await
        .unwrap();
    assert_eq!(protocol, "websocket");

    let frames = oracle();
    let count = |client: bool| {
        frames
            .iter()
            .filter(|f| f.client == client && f.fin && f.opcode <= 2)
            .count() as i64
    };
    type Row = (i64, String, i64, i64, i64, String, String, i64, i64);
    let row: Row = sqlx::query_as(
        "SELECT endpoint_id, path_template, connections, messages_client, messages_server,
            subprotocols, close_codes, deflate, max_message_bytes
         FROM api_websockets",
    )
    .fetch_one(&sql)
    .await
    .unwrap();
    assert_eq!(row.0, id);
    assert_eq!(row.1, "/echo");
    assert_eq!(row.2, 2);
    assert_eq!((row.3, row.4), (count(true), count(false)));
    assert_eq!(row.5, r#"{"chat.v1":2}"#);
    assert_eq!(row.6, r#"{"1000":2}"#);
    assert_eq!(row.7, 1);
    assert_eq!(row.8, 2000);
    let bytes: (i64, i64) = sqlx::query_as("SELECT bytes_client, bytes_server FROM api_websockets")
        .fetch_one(&sql)
        .await
        .unwrap();
    let sum = |client: bool| -> i64 {
        frames
            .iter()
            .filter(|f| f.client == client && f.opcode <= 2)
            .map(|f| f.len as i64)
            .sum()
    };
    assert_eq!(bytes, (sum(true), sum(false)));
    // The typed read the pages and the JSON API use.
    let w = store.endpoint_websocket(id).await.unwrap().unwrap();
    assert_eq!(w.connections, 2);
    assert_eq!(w.close_codes, BTreeMap::from([(1000, 2)]));

    // Sensitive data in the messages, found where it travelled, and stored redacted.
    let found: Vec<(String, String)> = sqlx::query_as(
        "SELECT class, location FROM api_sensitive_data WHERE endpoint_id = ? ORDER BY 1, 2",
    )
    .bind(id)
    .fetch_all(&sql)
    .await
    .unwrap();
    for want in [
        ("credit_card", "request_websocket"),
        ("email", "response_websocket"),
        ("password", "request_websocket"),
    ] {
        assert!(
            found.iter().any(|(c, l)| (c.as_str(), l.as_str()) == want),
            "{want:?} in {found:?}"
        );
    }
    // The JSON shapes of the messages (status 101 body rows).
    let shapes: Vec<(String, i64)> = sqlx::query_as(
        "SELECT direction, count FROM api_bodies WHERE endpoint_id = ? AND status = 101 ORDER BY 1",
    )
    .bind(id)
    .fetch_all(&sql)
    .await
    .unwrap();
    assert_eq!(shapes.len(), 2, "{shapes:?}");

    // The endpoint page shows the figures, the JSON API carries them (an added key).
    let app = shadowtap::web::app(
        shadowtap::web::AppState::new(store.clone(), shadowtap::web::AuthConfig::default())
            .unwrap(),
    );
    let get = |path: String| {
        let app = app.clone();
        async move {
            use http_body_util::BodyExt;
            use tower::ServiceExt;
            let req = axum::http::Request::get(path)
                .header(axum::http::header::HOST, "127.0.0.1:8080")
                .body(axum::body::Body::empty())
                .unwrap();
            let resp = app.oneshot(req).await.unwrap();
            assert_eq!(resp.status(), axum::http::StatusCode::OK);
            let b = resp.into_body().collect().await.unwrap().to_bytes();
            String::from_utf8_lossy(&b).into_owned()
        }
    };
    let page = get(format!("/endpoints/{id}")).await;
    assert!(page.contains(r#"id="websocket""#), "{page}");
    assert!(page.contains("<code>chat.v1</code>"));
    assert!(page.contains("<code>1000</code>"));
    let json: serde_json::Value =
        serde_json::from_str(&get(format!("/api/endpoints/{id}")).await).unwrap();
    assert_eq!(json["websocket"]["connections"], 2);
    assert_eq!(json["websocket"]["messages_client"], count(true));
    assert_eq!(json["websocket"]["close_codes"]["1000"], 2);
    drop(app);
    store.close().await;
    sql.close().await;
    let raw = std::fs::read(&db).unwrap();
    for secret in [
        &b"hunter2-Secret!"[..],
        b"4111 1111 1111 1111",
        b"carol.jones@example.org",
    ] {
        assert!(
            !raw.windows(secret.len()).any(|w| w == secret),
            "{} stored in clear",
            String::from_utf8_lossy(secret)
        );
    }
}

// --- Hand-built connections -----------------------------------------------------------------

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

fn upgrade_request() -> Vec<u8> {
    format!(
        "GET /chat HTTP/1.1\r\nHost: ws.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .into_bytes()
}

fn switching(accept: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\n\r\n"
    )
    .into_bytes()
}

fn frame(fin: bool, op: u8, mask: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![u8::from(fin) << 7 | op];
    let m = if mask.is_some() { 0x80 } else { 0 };
    let n = payload.len();
    if n < 126 {
        out.push(m | n as u8);
    } else if n < 65536 {
        out.push(m | 126);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(m | 127);
        out.extend_from_slice(&(n as u64).to_be_bytes());
    }
    match mask {
        Some(k) => {
            out.extend_from_slice(&k);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ k[i % 4]));
        }
        None => out.extend_from_slice(payload),
    }
    out
}

const K: Option<[u8; 4]> = Some([0xa1, 0xb2, 0xc3, 0xd4]);

fn client_frames() -> Vec<u8> {
    [
        frame(true, 1, K, br#"{"email":"bob@example.com"}"#),
        frame(false, 2, K, &[1, 2, 3]),
        frame(true, 9, K, b"p"),
        frame(true, 0, K, &[4, 5]),
        frame(true, 8, K, &[0x03, 0xe9]),
    ]
    .concat()
}

fn server_frames() -> Vec<u8> {
    [
        frame(true, 1, None, b"welcome"),
        frame(true, 10, None, b"p"),
        frame(true, 8, None, &[0x03, 0xe9]),
    ]
    .concat()
}

/// The summary of one hand-built connection whose client frames are sent in `pieces`.
fn connection(
    pieces: &[&[u8]],
    server: &[u8],
    accept: &str,
) -> (Vec<HttpTransaction>, EngineStats) {
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:80");
    c.handshake();
    c.client_send(&upgrade_request(), 1460);
    c.server_send(&switching(accept), 1460);
    for p in pieces {
        c.client_send(p, 1460);
    }
    c.server_send(server, 1460);
    c.close();
    run(&c.frames)
}

#[test]
fn a_stream_cut_at_every_byte_boundary_gives_the_same_messages() {
    let s = client_frames();
    let (whole, stats) = connection(&[&s], &server_frames(), ACCEPT);
    assert_eq!(summaries(&whole), ["GET /chat -> 101 [upgrade,websocket]"]);
    assert_eq!(stats.websocket.bad_frames, 0);
    let w = whole[0].websocket.as_deref().unwrap();
    assert_eq!((w.client.text_messages, w.client.binary_messages), (1, 1));
    assert_eq!((w.client.pings, w.server.pongs), (1, 1));
    assert_eq!(w.close_code(), Some(1001));
    assert_eq!(w.client.max_message_bytes, 27);
    for i in 1..s.len() {
        let (cut, _) = connection(&[&s[..i], &s[i..]], &server_frames(), ACCEPT);
        let mut cut = cut[0].websocket.clone().unwrap();
        // One more segment: the connection ends a little later; nothing else differs.
        assert!(cut.last_ts > w.last_ts);
        cut.last_ts = w.last_ts;
        assert_eq!(&*cut, w, "cut at {i}");
    }
}

#[test]
fn a_wrong_accept_is_counted_and_the_frames_are_read_anyway() {
    let (txs, stats) = connection(&[&client_frames()], &server_frames(), "d3Jvbmc=");
    assert_eq!(stats.websocket.accept_mismatches, 1);
    let w = txs[0].websocket.as_deref().unwrap();
    assert!(!w.accept_ok);
    assert_eq!(w.client.messages(), 2);
}

#[test]
fn without_a_key_the_switch_stays_a_tunnel() {
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:80");
    c.handshake();
    c.client_send(
        b"GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
        1460,
    );
    c.server_send(&switching(ACCEPT), 1460);
    c.client_send(&client_frames(), 1460);
    c.close();
    let (txs, stats) = run(&c.frames);
    assert_eq!(summaries(&txs), ["GET /chat -> 101 [upgrade]"]);
    assert!(txs[0].websocket.is_none());
    assert_eq!(stats.websocket.connections, 0);
    assert!(stats.http.tunnel_bytes > 0);
}

#[test]
fn a_length_of_2_pow_63_stops_that_direction_only() {
    let mut bad = vec![0x82, 0xff];
    bad.extend_from_slice(&(1u64 << 63).to_be_bytes());
    bad.extend_from_slice(&[1, 2, 3, 4]);
    bad.extend_from_slice(&[0u8; 100]);
    let (txs, stats) = connection(&[&bad], &server_frames(), ACCEPT);
    let w = txs[0].websocket.as_deref().unwrap();
    assert!(w.client.stopped);
    assert_eq!(w.client.frames, 0);
    assert_eq!(w.server.text_messages, 1);
    assert_eq!(stats.websocket.length_overflows, 1);
    assert_eq!(stats.websocket.unparsed_bytes, bad.len() as u64);
}

#[test]
fn masked_server_frames_are_counted_and_read() {
    let server = frame(true, 1, K, b"masked by mistake");
    let (txs, stats) = connection(&[&client_frames()], &server, ACCEPT);
    assert_eq!(stats.websocket.masked_server_frames, 1);
    let w = txs[0].websocket.as_deref().unwrap();
    assert_eq!(w.server.text_messages, 1);
    assert!(
        w.samples
            .iter()
            .any(|s| !s.from_client && s.text == b"masked by mistake")
    );
}

#[test]
fn a_gap_inside_a_frame_is_skipped() {
    let big = frame(true, 2, K, &[9u8; 3000]);
    let after = frame(true, 1, K, b"after the hole");
    let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:80");
    c.handshake();
    c.client_send(&upgrade_request(), 1460);
    c.server_send(&switching(ACCEPT), 1460);
    let pieces = c.pieces(true, &[big.clone(), after].concat(), 1000);
    for (i, p) in pieces.into_iter().enumerate() {
        // The second segment (payload bytes 1000..2000 of the 3000-byte frame) is lost.
        if i != 1 {
            c.push(p);
        }
    }
    c.close();
    let (txs, stats) = run(&c.frames);
    assert!(stats.tcp.gaps > 0);
    let w = txs[0].websocket.as_deref().unwrap();
    assert_eq!((w.client.binary_messages, w.client.text_messages), (1, 1));
    assert_eq!(w.client.gaps, 1);
    assert!(!w.client.stopped);
    assert_eq!(stats.websocket.gaps_skipped, 1);
    assert!(w.samples.iter().any(|s| s.text == b"after the hole"));
}

#[test]
fn a_hundred_thousand_tiny_frames_stay_within_the_caps() {
    let mut s = Vec::with_capacity(100_000 * 7);
    for i in 0..100_000u32 {
        s.extend(frame(true, 1, K, &[b'a' + (i % 26) as u8]));
    }
    let build = || {
        let mut c = Conv::new("10.0.0.1:40000", "10.0.0.2:80");
        c.handshake();
        c.client_send(&upgrade_request(), 1460);
        c.server_send(&switching(ACCEPT), 1460);
        c.client_send(&s, 1460);
        c.close();
        c.frames
    };
    let frames = build();
    let (txs, stats) = run(&frames);
    let w = txs[0].websocket.as_deref().unwrap();
    assert_eq!(w.client.text_messages, 100_000);
    assert_eq!(w.samples.len(), WsConfig::default().max_samples);
    assert_eq!(stats.websocket_bytes_now, 0);
    // With a frame cap: counted, and the rest of the connection is not parsed.
    let cfg = EngineConfig {
        websocket: Some(WsConfig {
            max_frames: 10_000,
            ..WsConfig::default()
        }),
        ..EngineConfig::default()
    };
    let (txs, stats) = run_cfg(&frames, cfg);
    let w = txs[0].websocket.as_deref().unwrap();
    assert_eq!(w.client.frames, 10_000);
    assert_eq!(stats.websocket.frames_over_cap, 1);
    assert_eq!(stats.websocket.unparsed_bytes, (100_000 - 10_000) * 7);
}

#[test]
fn the_upgrade_tag_is_named() {
    assert_eq!(Tags::WEBSOCKET.to_string(), "websocket");
}

#[test]
fn a_small_frame_cap_from_the_configuration_file_is_hit_and_counted() {
    // `[websocket] max_frames` through `shadowtap ingest --config`: both connections of the
    // capture (20 frames each) stop at 5 frames, each counted once, and the cap is reported.
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("ws.toml");
    std::fs::write(&conf, "[websocket]\nmax_frames = 5\nmax_samples = 1\n").unwrap();
    let ingest = |extra: &[&str], db: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_shadowtap"))
            .args(["ingest", "--json", "--stats=json", "--db"])
            .arg(dir.path().join(db))
            .args(extra)
            .arg(captures().join("websocket.pcap"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stderr).unwrap()
    };
    let capped = ingest(&["--config", conf.to_str().unwrap()], "capped.db");
    let ws = &capped["engine"]["websocket"];
    assert_eq!(ws["connections"], 2, "{ws}");
    assert_eq!(ws["frames_over_cap"], 2, "{ws}");
    assert_eq!(ws["frames"], 10, "{ws}");
    assert!(ws["unparsed_bytes"].as_u64().unwrap() > 0, "{ws}");
    assert!(ws["samples"].as_u64().unwrap() <= 2, "{ws}");
    let caps = capped["caps"].as_array().unwrap();
    assert!(
        caps.iter()
            .any(|c| c["cap"] == "websocket_frames" && c["count"] == 2),
        "{capped}"
    );
    // Without the file: the defaults, no cap hit.
    let plain = ingest(&[], "plain.db");
    let ws = &plain["engine"]["websocket"];
    assert_eq!(ws["frames_over_cap"], 0, "{ws}");
    assert_eq!(ws["frames"], 40, "{ws}");
    // A refused value names its key.
    std::fs::write(&conf, "[websocket]\nmax_frames = 0\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_shadowtap"))
        .args(["ingest", "--db"])
        .arg(dir.path().join("bad.db"))
        .args(["--config", conf.to_str().unwrap()])
        .arg(captures().join("websocket.pcap"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("[websocket] max_frames"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// --- WebSocket inside decrypted TLS ----------------------------------------------------------

/// `websocket_tls.expected-messages.tsv`: data messages each side sent (`from text binary`),
/// from the client's own view, checked against tshark by make.sh.
fn tls_expected_messages() -> BTreeMap<String, (u64, u64)> {
    std::fs::read_to_string(captures().join("websocket_tls.expected-messages.tsv"))
        .unwrap()
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (
                f[0].to_string(),
                (f[1].parse().unwrap(), f[2].parse().unwrap()),
            )
        })
        .collect()
}

fn tls_engine_config() -> EngineConfig {
    let mut cfg = EngineConfig::default();
    cfg.tls.keys = Some(std::sync::Arc::new(
        shadowtap::tls::KeyStore::read(
            &captures().join("websocket_tls.keys"),
            shadowtap::tls::keylog::KeyLog::DEFAULT_MAX_ENTRIES,
        )
        .unwrap(),
    ));
    cfg
}

#[test]
fn websocket_inside_decrypted_tls_counts_every_message() {
    // `captures/websocket_tls.pcap` (make.sh websocket_tls): wss:// with TLS 1.3, decrypted
    // with the client's key log; the upgrade goes from TLS to HTTP/1 to the WebSocket layer.
    let mut src = FileSource::open(&captures().join("websocket_tls.pcap"), None).unwrap();
    let mut e = Engine::new(tls_engine_config());
    let mut txs = Vec::new();
    while let Next::Packet(p) = src.next_packet().unwrap() {
        e.packet(&p);
        txs.extend(e.drain());
    }
    e.finish();
    txs.extend(e.drain());
    let stats = e.stats();
    assert_eq!(txs.len(), 1, "{txs:?}");
    let t = &txs[0];
    assert_eq!(t.status(), Some(101));
    assert!(t.tags.contains(Tags::TLS) && t.tags.contains(Tags::WEBSOCKET));
    assert_eq!(
        t.tls.as_ref().and_then(|x| x.sni.as_deref()),
        Some("ws.tls.test")
    );
    let w = t.websocket.as_deref().unwrap();
    let want = tls_expected_messages();
    assert_eq!(
        (w.client.text_messages, w.client.binary_messages),
        want["client"]
    );
    assert_eq!(
        (w.server.text_messages, w.server.binary_messages),
        want["server"]
    );
    assert_eq!(w.close_code(), Some(1000));
    assert_eq!(w.subprotocol.as_deref(), Some("chat.v1"));
    assert!(w.accept_ok && !w.deflate);
    assert_eq!(stats.websocket.bad_frames, 0);
    assert_eq!(stats.websocket.unparsed_bytes, 0);
    // Without the key log nothing is read.
    let (txs, _) = read("websocket_tls");
    assert!(txs.is_empty(), "{txs:?}");
}

#[tokio::test]
async fn websocket_inside_decrypted_tls_is_an_endpoint_and_no_secret_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("inv.db");
    let store = Store::open(&db).await.unwrap();
    let opts = IngestOptions {
        engine: tls_engine_config(),
        ..IngestOptions::default()
    };
    ingest_files(
        &store,
        &[captures().join("websocket_tls.pcap")],
        &opts,
        |_| {},
    )
    .await
    .unwrap();
    let sql = support::sql(&store).await;
    let endpoints: Vec<(String, String, String)> =
        sqlx::query_as("SELECT method, path_template, protocol FROM api_endpoints")
            .fetch_all(&sql)
            .await
            .unwrap();
    assert_eq!(
        endpoints,
        [(
            "GET".to_string(),
            "/echo".to_string(),
            "websocket".to_string()
        )]
    );
    let want = tls_expected_messages();
    let row: (i64, i64, i64, String) = sqlx::query_as(
        "SELECT connections, messages_client, messages_server, close_codes FROM api_websockets",
    )
    .fetch_one(&sql)
    .await
    .unwrap();
    let total = |who: &str| (want[who].0 + want[who].1) as i64;
    assert_eq!(
        row,
        (
            1,
            total("client"),
            total("server"),
            r#"{"1000":1}"#.to_string()
        )
    );
    // The password in a client message is found, redacted.
    let found: Vec<(String, String)> =
        sqlx::query_as("SELECT class, location FROM api_sensitive_data ORDER BY 1, 2")
            .fetch_all(&sql)
            .await
            .unwrap();
    assert!(
        found.contains(&("password".to_string(), "request_websocket".to_string())),
        "{found:?}"
    );
    store.close().await;
    sql.close().await;
    // Nothing in clear: the upgrade's bearer token, the password of a message, the key log's
    // secrets; in the database and its side files.
    let mut secrets: Vec<Vec<u8>> = vec![
        b"wss-bearer-7f3a9c1e5d2b4a68".to_vec(),
        b"tls-hunter2-Secret!".to_vec(),
    ];
    for line in std::fs::read_to_string(captures().join("websocket_tls.keys"))
        .unwrap()
        .lines()
    {
        if let Some(secret) = line.split(' ').nth(2) {
            secrets.push(secret.as_bytes().to_vec());
        }
    }
    assert!(secrets.len() > 2);
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        for s in &secrets {
            assert!(
                !bytes.windows(s.len()).any(|w| w == &s[..]),
                "{} stored in clear",
                String::from_utf8_lossy(&s[..s.len().min(8)])
            );
        }
    }
}
