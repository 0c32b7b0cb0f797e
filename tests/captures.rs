//! End to end over the real-traffic captures in `captures/`: every capture gives exactly the
//! transactions its clients performed (`<name>.expected.tsv`, written from the clients' own view
//! by `captures/make.sh`), with no gaps and nothing held at the end.

use shadowtap::capture::{FileSource, Next, PacketSource};
use shadowtap::engine::{Engine, EngineConfig, EngineStats};
use shadowtap::http::{HttpTransaction, Tags};
use std::path::{Path, PathBuf};

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
    // In the order the requests were sent.
    out.sort_by_key(|t| (t.ts(), t.depth));
    (out, e.stats())
}

fn row(t: &HttpTransaction) -> String {
    let req = t.request.as_ref();
    let resp = t.response.as_ref();
    [
        req.map(|r| String::from_utf8_lossy(r.head.method()).into_owned())
            .unwrap_or("-".into()),
        req.map(|r| String::from_utf8_lossy(r.head.target()).into_owned())
            .unwrap_or("-".into()),
        resp.map(|r| r.head.status().to_string())
            .unwrap_or("-".into()),
        req.map(|r| r.body.len.to_string()).unwrap_or("-".into()),
        resp.map(|r| r.body.len.to_string()).unwrap_or("-".into()),
    ]
    .join("\t")
}

fn expected(name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(captures().join(format!("{name}.expected.tsv"))).unwrap();
    text.lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

fn check(name: &str) -> (Vec<HttpTransaction>, EngineStats) {
    let (txs, stats) = read(name);
    let got: Vec<String> = txs.iter().map(row).collect();
    assert_eq!(got, expected(name), "{name}");
    assert_eq!(stats.tcp.gaps, 0, "{name}: the recordings are complete");
    assert_eq!(
        (
            stats.flows_now,
            stats.reassembly_bytes_now,
            stats.http_bytes_now
        ),
        (0, 0, 0)
    );
    (txs, stats)
}

#[test]
fn keepalive() {
    let (txs, stats) = check("keepalive");
    assert_eq!(stats.tcp.flows_opened, 1, "all on one connection");
    assert!(txs.iter().all(|t| t.tags.is_empty()));
    let gz = txs
        .iter()
        .find(|t| {
            t.response
                .as_ref()
                .is_some_and(|r| r.head.header("content-encoding").is_some())
        })
        .unwrap();
    let text = gz.response.as_ref().unwrap().decoded_body(1 << 20).unwrap();
    assert!(
        text.len() as u64 > gz.response.as_ref().unwrap().body.len,
        "gzip sample decodes to more bytes"
    );
}

#[test]
fn pipelined() {
    let (txs, stats) = check("pipelined");
    assert_eq!(
        txs.iter()
            .filter(|t| t.tags.contains(Tags::PIPELINED))
            .count(),
        3
    );
    assert_eq!(stats.http.pipelined, 3);
}

#[test]
fn chunked() {
    let (txs, _) = check("chunked");
    let posts: Vec<_> = txs.iter().filter(|t| t.method() == Some(b"POST")).collect();
    assert!(
        posts
            .iter()
            .all(|t| t.request.as_ref().unwrap().body.is_complete_sample())
    );
}

#[test]
fn continue_100() {
    let (txs, _) = check("continue");
    assert_eq!(txs.iter().filter(|t| t.interim == [100]).count(), 2);
}

#[test]
fn upgrade() {
    let (txs, stats) = check("upgrade");
    assert_eq!(
        txs.iter()
            .filter(|t| t.tags.contains(Tags::UPGRADE))
            .count(),
        1
    );
    assert_eq!(stats.http.upgrades, 1);
    // The upgrade is a WebSocket handshake (the key and its accept check out): the rest of
    // the connection is read as frames, not left as a tunnel. The frames whose payloads look
    // like HTTP stay messages.
    assert_eq!(stats.http.websockets, 1);
    assert_eq!(stats.http.tunnel_bytes, 0);
    assert_eq!(stats.websocket.accept_mismatches, 0);
    let ws: Vec<_> = txs.iter().filter_map(|t| t.websocket.as_deref()).collect();
    assert_eq!(ws.len(), 1);
    assert!(
        txs.iter()
            .any(|t| t.tags.contains(Tags::WEBSOCKET) && t.websocket.is_some())
    );
    let (c, s) = (&ws[0].client, &ws[0].server);
    assert_eq!(
        (c.text_messages, c.binary_messages, c.pings, c.closes),
        (3, 1, 1, 1)
    );
    assert_eq!(
        (s.text_messages, s.binary_messages, s.pongs, s.closes),
        (5, 1, 1, 1)
    );
    assert_eq!(c.close_code, Some(1000));
    assert_eq!(c.max_message_bytes, 1000);
    assert_eq!(stats.websocket.bad_frames, 0);
}

#[test]
fn connect() {
    let (txs, stats) = check("connect");
    assert_eq!(
        txs.iter()
            .filter(|t| t.tags.contains(Tags::CONNECT))
            .count(),
        1
    );
    assert_eq!(stats.http.connects, 1);
}

#[test]
fn rest_api() {
    let (txs, stats) = check("rest_api");
    assert_eq!(txs.len(), 155);
    let clients: std::collections::BTreeSet<_> = txs.iter().map(|t| t.orig.ip).collect();
    assert_eq!(clients.len(), 7);
    assert_eq!(stats.http.no_response + stats.http.no_request, 0);
}

#[test]
fn forge() {
    // The client side of a reverse proxy (nginx in front of forge_server.py): eight personas,
    // keep-alive connections, gzip from nginx for the clients that ask for it.
    let (txs, stats) = check("forge");
    assert_eq!(txs.len(), expected("forge").len());
    let clients: std::collections::BTreeSet<_> = txs.iter().map(|t| t.orig.ip).collect();
    assert_eq!(clients.len(), 8);
    assert!(txs.iter().all(|t| t.resp.port == 8090));
    assert!(stats.tcp.flows_opened < txs.len() as u64 / 4, "keep-alive");
    assert_eq!(stats.http.no_response + stats.http.no_request, 0);
    assert!(txs.iter().all(|t| {
        t.response
            .as_ref()
            .is_some_and(|r| r.head.header("server") == Some(b"nginx".as_slice()))
    }));
}

#[test]
fn graphql() {
    // graphql-core behind Python's HTTP/1.1 server, three clients on keep-alive connections.
    let (txs, stats) = check("graphql");
    assert_eq!(txs.len(), expected("graphql").len());
    let clients: std::collections::BTreeSet<_> = txs.iter().map(|t| t.orig.ip).collect();
    assert_eq!(clients.len(), 3);
    assert_eq!(stats.tcp.flows_opened, 3, "one connection per client");
    assert_eq!(stats.http.no_response + stats.http.no_request, 0);
}
