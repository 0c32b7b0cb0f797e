//! HTTP/2 end to end: the real captures against tshark's dissector (`captures/h2*.expected.tsv`),
//! an ingest that finds their endpoints, and the layer itself ([`H2Conn`]) fed frames built
//! here with a real HPACK encoder (the `httlib-hpack` crate): any split of the byte streams and
//! any interleaving of streams give the same transactions, HPACK decoding agrees with the
//! encoder, and hostile input stays within counted caps.

use httlib_hpack::Encoder;
use proptest::prelude::*;
use shadowtap::capture::{FileSource, Next, PacketSource};
use shadowtap::engine::{Engine, EngineConfig, EngineStats};
use shadowtap::http::{HttpTransaction, Tags, Version};
use shadowtap::http2::hpack::{Field, Hpack};
use shadowtap::http2::{H2Conn, H2Ctx, Http2Config};
use shadowtap::reassembly::{
    Chunk, CloseReason, Dir, Endpoint, FlowApp, FlowId, FlowKey, FlowMeta,
};
use shadowtap::time::Timestamp;
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------------------------------------
// The captures
// ---------------------------------------------------------------------------------------------

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
    (out, e.stats())
}

fn row(t: &HttpTransaction) -> String {
    let req = t.request.as_ref();
    let resp = t.response.as_ref();
    let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    [
        req.map(|r| s(r.head.method())).unwrap_or("-".into()),
        req.map(|r| s(r.head.target())).unwrap_or("-".into()),
        resp.map(|r| r.head.status().to_string())
            .unwrap_or("-".into()),
        req.map(|r| r.body.len.to_string()).unwrap_or("-".into()),
        resp.map(|r| r.body.len.to_string()).unwrap_or("-".into()),
    ]
    .join("\t")
}

/// shadowtap's rows and tshark's (the expected file), as sorted lists: streams of one
/// connection complete in any order.
fn check(name: &str) -> (Vec<HttpTransaction>, EngineStats) {
    let (txs, stats) = read(name);
    let mut got: Vec<String> = txs.iter().map(row).collect();
    got.sort();
    let text = std::fs::read_to_string(captures().join(format!("{name}.expected.tsv"))).unwrap();
    let mut want: Vec<String> = text
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    want.sort();
    assert_eq!(got, want, "{name}");
    assert_eq!(stats.tcp.gaps, 0);
    assert_eq!(
        (stats.flows_now, stats.http_bytes_now, stats.http2_bytes_now),
        (0, 0, 0)
    );
    let h = &stats.http2;
    assert_eq!(
        (
            h.hpack_errors,
            h.hpack_tables_lost,
            h.bad_frames,
            h.bad_preface
        ),
        (0, 0, 0, 0),
        "{h:?}"
    );
    assert_eq!(h.transactions, txs.len() as u64);
    assert_eq!(stats.http.transactions, txs.len() as u64);
    (txs, stats)
}

#[test]
fn h2c_capture_agrees_with_tshark() {
    let (txs, stats) = check("h2c");
    let h = &stats.http2;
    // curl --http2 twice and nghttp -u: Upgrade: h2c; the rest prior knowledge.
    assert_eq!(h.h2c_upgrades, 3);
    assert_eq!(h.connections, 11);
    assert_eq!(h.rst_streams, 1);
    assert_eq!(h.streams_reset, 1);
    let find = |path: &str| {
        txs.iter()
            .find(|t| {
                t.request.as_ref().is_some_and(|r| {
                    r.head.target() == path.as_bytes() && r.head.version() == Version::HTTP_2
                })
            })
            .unwrap()
    };
    // The upgrading request is HTTP/1.1, its response stream 1's, after a 101.
    let up = txs.iter().find(|t| t.tags.contains(Tags::UPGRADE)).unwrap();
    assert_eq!(up.interim, vec![101]);
    assert_eq!(
        up.request.as_ref().unwrap().head.version(),
        Version::HTTP_11
    );
    assert_eq!(
        up.response.as_ref().unwrap().head.version(),
        Version::HTTP_2
    );
    let items = find("/api/items");
    let req = items.request.as_ref().unwrap();
    assert_eq!(req.head.version(), Version::HTTP_2);
    assert_eq!(req.head.header("host"), Some(&b"127.0.0.1:8300"[..]));
    assert_eq!(req.head.header("user-agent"), Some(&b"curl/7.88.1"[..]));
    assert!(items.tags.is_empty(), "{:?}", items.tags);
    // Content-Encoding is undone exactly as for HTTP/1.
    let gz = find("/gzip").response.as_ref().unwrap();
    assert_eq!(gz.head.header("content-encoding"), Some(&b"gzip"[..]));
    let doc: serde_json::Value =
        serde_json::from_slice(&gz.decoded_body(1 << 20).unwrap()).unwrap();
    assert_eq!(doc["compressed"], true);
    // Trailers join the response's fields.
    let grpc = find("/grpc-like").response.as_ref().unwrap();
    assert_eq!(grpc.head.header("grpc-status"), Some(&b"0"[..]));
    assert_eq!(
        grpc.head.header("content-type"),
        Some(&b"application/grpc"[..])
    );
    // The stream the server reset after its headers.
    let reset = find("/reset");
    assert_eq!(reset.status(), Some(200));
    assert!(reset.tags.contains(Tags::PARTIAL));
    // A JSON POST body, whole.
    let post = txs
        .iter()
        .find(|t| {
            t.method() == Some(b"POST")
                && t.response.as_ref().unwrap().head.version() == Version::HTTP_2
                && t.request.as_ref().unwrap().head.version() == Version::HTTP_2
        })
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(
        &post
            .request
            .as_ref()
            .unwrap()
            .decoded_body(1 << 20)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(body["name"], "widget");
}

#[test]
fn nghttpd_capture_agrees_with_tshark() {
    let (txs, stats) = check("h2_nghttpd");
    // 24 concurrent streams on nghttp's first connection.
    let first = txs[0].flow;
    assert_eq!(txs.iter().filter(|t| t.flow == first).count(), 24);
    assert_eq!(stats.http2.connections, 4);
    assert_eq!(txs.iter().filter(|t| t.status() == Some(404)).count(), 3);
    let mut depths: Vec<u32> = txs
        .iter()
        .filter(|t| t.flow == first)
        .map(|t| t.depth)
        .collect();
    depths.sort();
    assert_eq!(depths, (1..=24).collect::<Vec<_>>());
}

/// The inventory gets the endpoints of HTTP/2 traffic like any other.
#[test]
fn ingest_finds_h2_endpoints() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h2.db");
    let bin = env!("CARGO_BIN_EXE_shadowtap");
    let out = std::process::Command::new(bin)
        .args(["ingest", "--db", db.to_str().unwrap()])
        .arg(captures().join("h2c.pcap"))
        .arg(captures().join("h2_nghttpd.pcap"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = std::process::Command::new(bin)
        .args([
            "endpoints",
            "--db",
            db.to_str().unwrap(),
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for want in [
        "/api/items/{",
        "/grpc-like",
        "/gzip",
        "/api/{",
        "/index.html",
    ] {
        assert!(text.contains(want), "{want} not in {text}");
    }
}

// ---------------------------------------------------------------------------------------------
// Frames built here
// ---------------------------------------------------------------------------------------------

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let l = (payload.len() as u32).to_be_bytes();
    let mut f = vec![l[1], l[2], l[3], kind, flags];
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

fn block(enc: &mut Encoder, fields: &[(&str, &str)], flags: u8) -> Vec<u8> {
    let mut dst = Vec::new();
    for (n, v) in fields {
        enc.encode(
            (n.as_bytes().to_vec(), v.as_bytes().to_vec(), flags),
            &mut dst,
        )
        .unwrap();
    }
    dst
}

const FLAGS: u8 = Encoder::BEST_FORMAT | Encoder::WITH_INDEXING | Encoder::HUFFMAN_VALUE;

fn meta() -> FlowMeta {
    let ep = |s: &str| {
        let (ip, port) = s.rsplit_once(':').unwrap();
        Endpoint {
            ip: ip.parse().unwrap(),
            port: port.parse().unwrap(),
        }
    };
    FlowMeta {
        id: FlowId(7),
        key: FlowKey {
            a: ep("10.0.0.1:40000"),
            b: ep("10.0.0.2:80"),
        },
        first_ts: Timestamp(1),
        opener: Some(Dir::AtoB),
        midstream: false,
    }
}

/// Feeds `blobs` (direction, bytes) to a fresh connection, each blob cut at `cuts` (offsets
/// into the concatenation of each direction's bytes), and returns what it emitted.
fn run(
    cfg: Http2Config,
    blobs: &[(Dir, Vec<u8>)],
    cuts: &[usize],
) -> (Vec<HttpTransaction>, H2Ctx) {
    let mut ctx = H2Ctx::new(cfg);
    let m = meta();
    let mut c = H2Conn::new(&mut ctx, Dir::AtoB, true);
    let mut offs = [0u64; 2];
    for (dir, bytes) in blobs {
        let d = dir.index();
        let mut start = 0;
        let mut points: Vec<usize> = cuts
            .iter()
            .filter_map(|&c| c.checked_sub(offs[d] as usize))
            .filter(|&c| c > 0 && c < bytes.len())
            .collect();
        points.sort();
        points.dedup();
        points.push(bytes.len());
        for p in points {
            c.data(
                &mut ctx,
                &m,
                *dir,
                Chunk {
                    offset: offs[d] + start as u64,
                    data: &bytes[start..p],
                    ts: Timestamp(1000),
                    peer_ack: None,
                },
            );
            start = p;
        }
        offs[d] += bytes.len() as u64;
    }
    c.close(&mut ctx, &m, Timestamp(2000), CloseReason::Fin);
    let out = std::mem::take(&mut ctx.out);
    (out, ctx)
}

/// A conversation of `n` streams: the client's HEADERS for all, JSON request bodies on the
/// even ones split in two DATA frames (one padded), the server answering in reverse order,
/// with a CONTINUATION on the first response and trailers on the last.
fn conversation(n: u32) -> Vec<(Dir, Vec<u8>)> {
    let (mut ce, mut se) = (Encoder::default(), Encoder::default());
    let mut client = PREFACE.to_vec();
    client.extend(frame(4, 0, 0, &[0, 3, 0, 0, 0, 100]));
    let mut server = frame(4, 0, 0, &[]);
    for i in 0..n {
        let id = 2 * i + 1;
        let path = format!("/api/v1/items/{i}?q=x");
        let post = i % 2 == 0;
        let method = if post { "POST" } else { "GET" };
        let b = block(
            &mut ce,
            &[
                (":method", method),
                (":scheme", "http"),
                (":authority", "api.example.test"),
                (":path", &path),
                ("user-agent", "proptest/1"),
                ("cookie", "a=1"),
                ("cookie", "b=2"),
                ("content-type", "application/json"),
            ],
            FLAGS,
        );
        client.extend(frame(1, if post { 0x4 } else { 0x5 }, id, &b));
    }
    for i in (0..n).step_by(2) {
        let id = 2 * i + 1;
        client.extend(frame(0, 0, id, br#"{"name":"#));
        // Padded: pad length 3, data, 3 bytes of padding.
        let mut p = vec![3];
        p.extend_from_slice(br#""w"}"#);
        p.extend_from_slice(&[0, 0, 0]);
        client.extend(frame(0, 0x1 | 0x8, id, &p));
    }
    for i in (0..n).rev() {
        let id = 2 * i + 1;
        let body = format!(r#"{{"id":{i},"ok":true}}"#);
        let status = if i % 3 == 2 { "404" } else { "200" };
        let b = block(
            &mut se,
            &[
                (":status", status),
                ("content-type", "application/json"),
                ("content-length", &body.len().to_string()),
                ("server", "test"),
            ],
            FLAGS,
        );
        if i == 0 {
            let (a, rest) = b.split_at(b.len() / 2);
            server.extend(frame(1, 0, id, a));
            server.extend(frame(9, 0x4, id, rest));
        } else {
            server.extend(frame(1, 0x4, id, &b));
        }
        let last = i == n - 1;
        server.extend(frame(0, if last { 0 } else { 0x1 }, id, body.as_bytes()));
        if last {
            let t = block(&mut se, &[("grpc-status", "0")], FLAGS);
            server.extend(frame(1, 0x5, id, &t));
        }
    }
    vec![(Dir::AtoB, client), (Dir::BtoA, server)]
}

#[test]
fn conversation_reads_whole() {
    let (txs, ctx) = run(Http2Config::default(), &conversation(6), &[]);
    assert_eq!(txs.len(), 6);
    assert_eq!(ctx.stats.streams, 6);
    assert_eq!(ctx.stats.hpack_errors, 0);
    for t in &txs {
        assert!(t.tags.is_empty(), "{:?}", t.tags);
        let req = t.request.as_ref().unwrap();
        assert_eq!(req.head.header("host"), Some(&b"api.example.test"[..]));
        assert_eq!(req.head.header("cookie"), Some(&b"a=1; b=2"[..]));
        if req.head.method() == b"POST" {
            assert_eq!(req.body.sample, br#"{"name":"w"}"#);
        }
        let resp = t.response.as_ref().unwrap();
        assert_eq!(
            resp.body.len,
            resp.head
                .header("content-length")
                .map_or(0, |v| std::str::from_utf8(v).unwrap().parse().unwrap())
        );
    }
    let last = txs.iter().find(|t| t.depth == 6).unwrap();
    assert_eq!(
        last.response.as_ref().unwrap().head.header("grpc-status"),
        Some(&b"0"[..])
    );
    assert_eq!(txs.iter().filter(|t| t.status() == Some(404)).count(), 2);
}

/// Frames split at every byte boundary (one cut, anywhere in either direction, and every byte
/// on its own) read the same.
#[test]
fn every_byte_boundary_reads_the_same() {
    let conv = conversation(4);
    let (whole, _) = run(Http2Config::default(), &conv, &[]);
    let longest = conv.iter().map(|(_, b)| b.len()).max().unwrap();
    for cut in 1..longest {
        let (split, _) = run(Http2Config::default(), &conv, &[cut]);
        assert_eq!(split, whole, "cut at {cut}");
    }
    let all: Vec<usize> = (1..longest).collect();
    let (bytewise, _) = run(Http2Config::default(), &conv, &all);
    assert_eq!(bytewise, whole);
}

/// Target, request body, response body, status.
type Row = (String, Vec<u8>, Vec<u8>, Option<u16>);

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any segmentation of both directions gives the same transactions.
    #[test]
    fn any_split_reads_the_same(n in 1u32..8, cuts in proptest::collection::vec(1usize..3000, 0..40)) {
        let conv = conversation(n);
        let (whole, _) = run(Http2Config::default(), &conv, &[]);
        let (split, _) = run(Http2Config::default(), &conv, &cuts);
        prop_assert_eq!(split, whole);
    }

    /// Streams interleaved in any order (the frames of each stream in order, HPACK encoding in
    /// the order sent) give the same transactions.
    #[test]
    fn any_interleaving_reads_the_same(order in proptest::collection::vec(0usize..5, 0..60)) {
        let n = 5u32;
        // Per stream: HEADERS (no END_STREAM), DATA "a", DATA "b" + END_STREAM; the server
        // answers each stream after the client is done, in the same interleaving.
        let mut steps: Vec<usize> = Vec::new();
        let mut left = [3usize; 5];
        for o in order.iter().copied().chain((0..5).flat_map(|s| std::iter::repeat_n(s, 3))) {
            if left[o] > 0 {
                left[o] -= 1;
                steps.push(o);
            }
        }
        let (mut ce, mut se) = (Encoder::default(), Encoder::default());
        let mut client = PREFACE.to_vec();
        let mut server = Vec::new();
        let mut done = [0usize; 5];
        for s in steps {
            let id = 2 * s as u32 + 1;
            match done[s] {
                0 => {
                    let path = format!("/s/{s}");
                    let b = block(&mut ce, &[(":method", "PUT"), (":scheme", "http"), (":authority", "h"), (":path", &path), ("x-stream", &s.to_string())], FLAGS);
                    client.extend(frame(1, 0x4, id, &b));
                }
                1 => client.extend(frame(0, 0, id, b"a")),
                _ => {
                    client.extend(frame(0, 1, id, b"b"));
                    let b = block(&mut se, &[(":status", "201"), ("x-stream", &s.to_string())], FLAGS);
                    server.extend(frame(1, 0x4, id, &b));
                    server.extend(frame(0, 1, id, format!("r{s}").as_bytes()));
                }
            }
            done[s] += 1;
        }
        let (txs, ctx) = run(Http2Config::default(), &[(Dir::AtoB, client), (Dir::BtoA, server)], &[]);
        prop_assert_eq!(ctx.stats.hpack_errors, 0);
        let mut rows: Vec<Row> = txs.iter().map(|t| {
            let q = t.request.as_ref().unwrap();
            let r = t.response.as_ref().unwrap();
            (String::from_utf8_lossy(q.head.target()).into_owned(), q.body.sample.clone(), r.body.sample.clone(), t.status())
        }).collect();
        rows.sort();
        let want: Vec<Row> = (0..n).map(|s| (format!("/s/{s}"), b"ab".to_vec(), format!("r{s}").into_bytes(), Some(201))).collect();
        prop_assert_eq!(rows, want);
        for t in &txs {
            prop_assert_eq!(t.request.as_ref().unwrap().head.header("x-stream"), t.response.as_ref().unwrap().head.header("x-stream"));
        }
    }

    /// HPACK: what the crate's encoder writes (any representation, Huffman or not, indexed or
    /// not), the decoder reads back, block after block with one dynamic table.
    #[test]
    fn hpack_agrees_with_encoder(
        blocks in proptest::collection::vec(
            proptest::collection::vec(
                ("[a-z][a-z0-9-]{0,12}|:path|:status|content-type|cookie", "[ -~]{0,40}", 0u8..32),
                0..12,
            ),
            1..8,
        )
    ) {
        let mut enc = Encoder::default();
        let mut dec = Hpack::new(64 * 1024);
        for fields in blocks {
            let mut dst = Vec::new();
            for (n, v, flags) in &fields {
                enc.encode((n.as_bytes().to_vec(), v.as_bytes().to_vec(), *flags), &mut dst).unwrap();
            }
            let mut got = Vec::new();
            let report = dec.decode(&dst, |f| match f {
                Field::Header(n, v) => got.push((n.to_vec(), v.to_vec())),
                Field::Unknown => got.push((b"?".to_vec(), b"?".to_vec())),
            });
            prop_assert_eq!(report.error, None);
            prop_assert_eq!(report.unknown, 0);
            let want: Vec<(Vec<u8>, Vec<u8>)> = fields.iter().map(|(n, v, _)| (n.as_bytes().to_vec(), v.as_bytes().to_vec())).collect();
            prop_assert_eq!(got, want);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Hostile input: explicit, counted caps
// ---------------------------------------------------------------------------------------------

fn request_block(enc: &mut Encoder, path: &str) -> Vec<u8> {
    block(
        enc,
        &[
            (":method", "GET"),
            (":scheme", "http"),
            (":authority", "h"),
            (":path", path),
        ],
        FLAGS,
    )
}

#[test]
fn continuation_flood_is_capped() {
    let mut enc = Encoder::default();
    let mut c = PREFACE.to_vec();
    let b = request_block(&mut enc, "/flood");
    c.extend(frame(1, 0x1, 1, &b));
    for _ in 0..20_000 {
        c.extend(frame(9, 0, 1, &[0x82]));
    }
    c.extend(frame(9, 0x4, 1, &[0x82]));
    // The table is lost after the dropped block: a request of literals still reads.
    let mut fresh = Encoder::default();
    c.extend(frame(
        1,
        0x5,
        3,
        &block(&mut fresh, &[(":method", "GET"), (":path", "/after")], 0),
    ));
    let (txs, ctx) = run(Http2Config::default(), &[(Dir::AtoB, c)], &[]);
    assert_eq!(ctx.stats.continuation_floods, 1);
    assert_eq!(ctx.stats.continuation_frames, 20_001);
    assert!(ctx.stats.hpack_tables_lost >= 1);
    assert_eq!(ctx.memory(), 0);
    let after = txs
        .iter()
        .find(|t| {
            t.request
                .as_ref()
                .is_some_and(|r| r.head.target() == b"/after")
        })
        .unwrap();
    assert_eq!(after.depth, 2);
    let flood = txs.iter().find(|t| t.depth == 1).unwrap();
    assert!(flood.tags.contains(Tags::HEADERS_LOST));
}

#[test]
fn huge_header_blocks_are_capped() {
    let mut enc = Encoder::default();
    let mut c = PREFACE.to_vec();
    // One HEADERS frame larger than max_frame_buffer: skipped.
    c.extend(frame(1, 0x5, 1, &vec![0u8; 100_000]));
    // A block over max_header_block_bytes in CONTINUATIONs of 60 KB.
    c.extend(frame(1, 0x1, 3, &request_block(&mut enc, "/big")));
    for _ in 0..5 {
        c.extend(frame(9, 0, 3, &vec![0x82; 60_000]));
    }
    c.extend(frame(9, 0x4, 3, &[]));
    let (txs, ctx) = run(Http2Config::default(), &[(Dir::AtoB, c)], &[]);
    assert_eq!(ctx.stats.frames_too_large, 1);
    assert_eq!(ctx.stats.header_blocks_too_large, 1);
    assert_eq!(txs.len(), 2, "{txs:?}");
    assert!(txs.iter().all(|t| t.tags.contains(Tags::HEADERS_LOST)));
}

#[test]
fn settings_flood_is_counted() {
    let mut c = PREFACE.to_vec();
    for _ in 0..5000 {
        c.extend(frame(4, 0, 0, &[0, 1, 0, 0, 0x10, 0]));
    }
    let (_, ctx) = run(Http2Config::default(), &[(Dir::AtoB, c)], &[]);
    assert_eq!(ctx.stats.settings_frames, 5000);
    assert_eq!(ctx.stats.settings_floods, 5000 - 1024);
}

#[test]
fn a_hundred_thousand_streams_stay_within_max_streams() {
    let mut c = PREFACE.to_vec();
    for i in 0..100_000u32 {
        // :method GET, :scheme http, :path / (static table only), never answered.
        c.extend(frame(1, 0x5, 2 * i + 1, &[0x82, 0x86, 0x84]));
    }
    let (txs, ctx) = run(Http2Config::default(), &[(Dir::AtoB, c)], &[]);
    assert_eq!(txs.len(), 100_000);
    assert_eq!(ctx.stats.streams_over_cap, 100_000 - 1024);
    assert_eq!(ctx.stats.streams_unfinished, 1024);
    assert!(txs.iter().all(|t| t.tags.contains(Tags::NO_RESPONSE)));
    assert_eq!(ctx.memory(), 0);
}

#[test]
fn hpack_bomb_is_capped() {
    // A 4 KB entry in the table, then a block of 16,000 references to it: 64 MB decoded.
    let mut c = PREFACE.to_vec();
    let mut b = vec![0x82, 0x86, 0x84, 0x40, 6];
    b.extend_from_slice(b"x-bomb");
    // A 4,000-byte value (length 127 + 0x21 + 0x1e << 7).
    b.extend_from_slice(&[0x7f, 0xa1, 0x1e]);
    let vlen = 127 + 0x21 + (0x1e << 7);
    b.extend(std::iter::repeat_n(b'A', vlen));
    c.extend(frame(1, 0x5, 1, &b));
    let mut bomb = vec![0x82, 0x86, 0x84];
    bomb.extend(std::iter::repeat_n(0xbe, 16_000));
    c.extend(frame(1, 0x5, 3, &bomb));
    let (txs, ctx) = run(Http2Config::default(), &[(Dir::AtoB, c)], &[]);
    assert_eq!(ctx.stats.hpack_errors, 0, "{:?}", ctx.stats);
    assert_eq!(ctx.stats.header_lists_too_large, 1);
    let t = txs.iter().find(|t| t.depth == 2).unwrap();
    let head = &t.request.as_ref().unwrap().head;
    assert!(head.raw().len() <= 64 * 1024 + 1024, "{}", head.raw().len());
    // A size update far above the cap is clamped.
    let mut c = PREFACE.to_vec();
    c.extend(frame(
        1,
        0x5,
        1,
        &[0x3f, 0xe1, 0xff, 0xff, 0x0f, 0x82, 0x86, 0x84],
    ));
    let (_, ctx) = run(Http2Config::default(), &[(Dir::AtoB, c)], &[]);
    assert_eq!(ctx.stats.hpack_size_clamped, 1);
}

/// A gap inside a DATA payload keeps the frames in step; one in a frame header loses them.
#[test]
fn gaps_in_bodies_and_in_frames() {
    let conv = conversation(2);
    let mut ctx = H2Ctx::new(Http2Config::default());
    let m = meta();
    let mut c = H2Conn::new(&mut ctx, Dir::AtoB, true);
    let (client, server) = (&conv[0].1, &conv[1].1);
    c.data(&mut ctx, &m, Dir::AtoB, ch(client, 0));
    // The server's stream: lose 5 bytes inside the first response body.
    let body_at = server.windows(4).position(|w| w == b"{\"id").unwrap();
    c.data(&mut ctx, &m, Dir::BtoA, ch(&server[..body_at + 2], 0));
    c.gap(
        &mut ctx,
        &m,
        Dir::BtoA,
        (body_at + 2) as u64,
        5,
        Timestamp(6),
    );
    c.data(
        &mut ctx,
        &m,
        Dir::BtoA,
        ch(&server[body_at + 7..], (body_at + 7) as u64),
    );
    c.close(&mut ctx, &m, Timestamp(9), CloseReason::Fin);
    assert_eq!(ctx.stats.body_gaps, 1);
    assert_eq!(ctx.stats.desyncs, 0);
    assert_eq!(ctx.out.len(), 2);
    let gapped = ctx.out.iter().find(|t| t.tags.contains(Tags::GAP)).unwrap();
    assert_eq!(gapped.response.as_ref().unwrap().body.gap_bytes, 5);
    assert!(ctx.out.iter().all(|t| t.status().is_some()));

    // A gap over a frame header: the direction is lost, its streams end partial.
    let mut ctx = H2Ctx::new(Http2Config::default());
    let mut c = H2Conn::new(&mut ctx, Dir::AtoB, true);
    c.data(&mut ctx, &m, Dir::AtoB, ch(&client[..30], 0));
    c.gap(&mut ctx, &m, Dir::AtoB, 30, 4, Timestamp(6));
    c.data(&mut ctx, &m, Dir::AtoB, ch(&client[34..], 34));
    c.data(&mut ctx, &m, Dir::BtoA, ch(server, 0));
    c.close(&mut ctx, &m, Timestamp(9), CloseReason::Fin);
    assert_eq!(ctx.stats.desyncs, 1);
    assert!(ctx.stats.skipped_bytes > 0);
    assert!(ctx.out.iter().all(|t| t.request.is_none()));
}

fn ch(data: &[u8], offset: u64) -> Chunk<'_> {
    Chunk {
        offset,
        data,
        ts: Timestamp(5),
        peer_ack: None,
    }
}

/// Through the engine: the preface split into one-byte segments still goes to HTTP/2 (the
/// dispatcher holds a prefix of the preface), and HTTP/1 is untouched by a request starting `P`.
#[test]
fn dispatcher_holds_a_split_preface() {
    use shadowtap::capture::{LinkType, RawPacket};
    let conv = conversation(1);
    let mut frames: Vec<Vec<u8>> = Vec::new();
    let (c0, s0) = (1000u32, 5000u32);
    let pkt = tcp_packet;
    frames.push(pkt(true, c0, 0, true, b""));
    frames.push(pkt(false, s0, c0 + 1, true, b""));
    let client = &conv[0].1;
    let mut seq = c0 + 1;
    for (i, piece) in client.chunks(1).enumerate() {
        if i >= 30 {
            break;
        }
        frames.push(pkt(true, seq, s0 + 1, false, piece));
        seq += 1;
    }
    frames.push(pkt(true, seq, s0 + 1, false, &client[30..]));
    seq += (client.len() - 30) as u32;
    frames.push(pkt(false, s0 + 1, seq, false, &conv[1].1));
    let mut e = Engine::new(EngineConfig::default());
    for (i, f) in frames.iter().enumerate() {
        e.packet(&RawPacket {
            ts: Timestamp(1_000_000 * (i as i64 + 1)),
            link: LinkType::RAW,
            orig_len: f.len() as u32,
            data: f,
        });
    }
    e.finish();
    let txs: Vec<_> = e.drain().collect();
    assert_eq!(txs.len(), 1, "{:?}", e.stats().http2);
    assert_eq!(
        txs[0].request.as_ref().unwrap().head.version(),
        Version::HTTP_2
    );
    assert_eq!(e.stats().http2.prior_knowledge, 1);
    assert_eq!(e.stats().http.not_http_flows, 0);
}

fn tcp_packet(from_client: bool, seq: u32, ack: u32, syn: bool, payload: &[u8]) -> Vec<u8> {
    let (src, dst, sp, dp) = if from_client {
        ([10, 0, 0, 1], [10, 0, 0, 2], 40000, 80)
    } else {
        ([10, 0, 0, 2], [10, 0, 0, 1], 80, 40000)
    };
    let mut b = etherparse::PacketBuilder::ipv4(src, dst, 64).tcp(sp, dp, seq, 65535);
    if syn {
        b = b.syn();
    }
    if !(syn && from_client) {
        b = b.ack(ack);
    }
    let mut out = Vec::new();
    b.write(&mut out, payload).unwrap();
    out
}

/// A server that sends its SETTINGS before the client's preface arrives (nghttpd may): the
/// connection is HTTP/2 from the server's first bytes on.
#[test]
fn dispatcher_takes_a_server_speaking_first() {
    use shadowtap::capture::{LinkType, RawPacket};
    let conv = conversation(2);
    let (client, server) = (&conv[0].1, &conv[1].1);
    // The server's first frame is its (empty) SETTINGS: 9 bytes.
    let (c0, s0) = (1000u32, 5000u32);
    let frames = [
        tcp_packet(true, c0, 0, true, b""),
        tcp_packet(false, s0, c0 + 1, true, b""),
        tcp_packet(false, s0 + 1, c0 + 1, false, &server[..9]),
        tcp_packet(true, c0 + 1, s0 + 10, false, client),
        tcp_packet(
            false,
            s0 + 10,
            c0 + 1 + client.len() as u32,
            false,
            &server[9..],
        ),
    ];
    let mut e = Engine::new(EngineConfig::default());
    for (i, f) in frames.iter().enumerate() {
        e.packet(&RawPacket {
            ts: Timestamp(1_000_000 * (i as i64 + 1)),
            link: LinkType::RAW,
            orig_len: f.len() as u32,
            data: f,
        });
    }
    e.finish();
    let txs: Vec<_> = e.drain().collect();
    let st = e.stats();
    assert_eq!(txs.len(), 2, "{:?}", st.http2);
    assert_eq!((st.http2.server_first, st.http2.prior_knowledge), (1, 0));
    assert_eq!(st.http.not_http_flows, 0);
    assert!(
        txs.iter()
            .all(|t| t.tags.is_empty() && t.status().is_some())
    );
    // The client is the opener, whoever spoke first.
    assert!(txs.iter().all(|t| t.orig.port == 40000));
}
