//! Criterion benchmarks of the HTTP/2 layer: a connection of many streams through `H2Conn`
//! (frames, HPACK with Huffman strings, JSON bodies), the HPACK decoder alone, and the real h2c
//! captures through the whole engine.
//!
//! `cargo bench --bench http2` runs them; each group reports bytes per second and, for
//! connections, transactions per second. `benches/h2_vs_tshark.sh` compares `shadowtap log`
//! with tshark's http2 dissector on a large capture made of copies of `captures/h2*.pcap`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use httlib_hpack::Encoder;
use shadowtap::capture::{FileSource, Next, PacketSource};
use shadowtap::engine::{Engine, EngineConfig};
use shadowtap::http2::hpack::Hpack;
use shadowtap::http2::{H2Conn, H2Ctx, Http2Config};
use shadowtap::reassembly::{
    Chunk, CloseReason, Dir, Endpoint, FlowApp, FlowId, FlowKey, FlowMeta,
};
use shadowtap::time::Timestamp;
use std::hint::black_box;

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let l = (payload.len() as u32).to_be_bytes();
    let mut f = vec![l[1], l[2], l[3], kind, flags];
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

fn block(enc: &mut Encoder, fields: &[(&str, &str)]) -> Vec<u8> {
    let flags = Encoder::BEST_FORMAT | Encoder::WITH_INDEXING | Encoder::HUFFMAN_VALUE;
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

/// A connection of `n` API calls as a browser-like client and a JSON server would make them:
/// the request and response bytes (in 1,448-byte segments, as on a real link).
fn api_connection(n: u32) -> (Vec<u8>, Vec<u8>) {
    let (mut ce, mut se) = (Encoder::default(), Encoder::default());
    let mut c = PREFACE.to_vec();
    c.extend(frame(4, 0, 0, &[0, 3, 0, 0, 0, 100, 0, 4, 0, 0x60, 0, 0]));
    let mut s = frame(4, 0, 0, &[0, 3, 0, 0, 0, 100]);
    for i in 0..n {
        let id = 2 * i + 1;
        let path = format!("/api/v2/customers/{}/orders?page={}", 1000 + i * 7, i % 5);
        let post = i % 4 == 0;
        let b = block(
            &mut ce,
            &[
                (":method", if post { "POST" } else { "GET" }),
                (":scheme", "https"),
                (":authority", "api.shop.example"),
                (":path", &path),
                (
                    "user-agent",
                    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0",
                ),
                ("accept", "application/json"),
                (
                    "authorization",
                    "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abc",
                ),
                ("accept-encoding", "gzip, deflate, br"),
            ],
        );
        c.extend(frame(1, if post { 4 } else { 5 }, id, &b));
        if post {
            let body = format!(
                r#"{{"sku":"A-{i}","qty":{},"note":"deliver to the back door"}}"#,
                i % 9 + 1
            );
            c.extend(frame(0, 1, id, body.as_bytes()));
        }
        let body = format!(
            r#"{{"id":{i},"status":"shipped","items":[{{"sku":"A-1","qty":2}},{{"sku":"B-7","qty":1}}],"total":{}.99,"customer":{{"id":{},"name":"Customer {i}"}}}}"#,
            i * 3,
            1000 + i * 7
        );
        let h = block(
            &mut se,
            &[
                (":status", if i % 10 == 9 { "404" } else { "200" }),
                ("content-type", "application/json"),
                ("content-length", &body.len().to_string()),
                ("date", "Sun, 06 Dec 2026 12:00:00 GMT"),
                ("server", "envoy"),
                (
                    "x-request-id",
                    &format!("{:016x}", u64::from(i) * 0x9e37_79b9),
                ),
            ],
        );
        s.extend(frame(1, 4, id, &h));
        s.extend(frame(0, 1, id, body.as_bytes()));
    }
    (c, s)
}

fn meta() -> FlowMeta {
    FlowMeta {
        id: FlowId(1),
        key: FlowKey {
            a: Endpoint {
                ip: [10, 0, 0, 1].into(),
                port: 40000,
            },
            b: Endpoint {
                ip: [10, 0, 0, 2].into(),
                port: 443,
            },
        },
        first_ts: Timestamp(1),
        opener: Some(Dir::AtoB),
        midstream: false,
    }
}

fn connections(c: &mut Criterion) {
    let n = 200;
    let (cl, sv) = api_connection(n);
    let m = meta();
    let mut g = c.benchmark_group("h2_connection");
    g.throughput(Throughput::Bytes((cl.len() + sv.len()) as u64));
    g.bench_function("200_streams_bytes", |b| {
        b.iter(|| {
            let mut ctx = H2Ctx::new(Http2Config::default());
            let mut conn = H2Conn::new(&mut ctx, Dir::AtoB, true);
            // Interleaved segments, as they would arrive.
            let (mut co, mut so) = (0usize, 0usize);
            while co < cl.len() || so < sv.len() {
                for (dir, buf, off) in [(Dir::AtoB, &cl, &mut co), (Dir::BtoA, &sv, &mut so)] {
                    if *off < buf.len() {
                        let end = (*off + 1448).min(buf.len());
                        conn.data(
                            &mut ctx,
                            &m,
                            dir,
                            Chunk {
                                offset: *off as u64,
                                data: &buf[*off..end],
                                ts: Timestamp(5),
                                peer_ack: None,
                            },
                        );
                        *off = end;
                    }
                }
            }
            conn.close(&mut ctx, &m, Timestamp(6), CloseReason::Fin);
            assert_eq!(ctx.out.len(), n as usize);
            black_box(ctx.out.len())
        })
    });
    g.throughput(Throughput::Elements(u64::from(n)));
    g.bench_function("200_streams_transactions", |b| {
        b.iter(|| {
            let mut ctx = H2Ctx::new(Http2Config::default());
            let mut conn = H2Conn::new(&mut ctx, Dir::AtoB, true);
            conn.data(
                &mut ctx,
                &m,
                Dir::AtoB,
                Chunk {
                    offset: 0,
                    data: &cl,
                    ts: Timestamp(5),
                    peer_ack: None,
                },
            );
            conn.data(
                &mut ctx,
                &m,
                Dir::BtoA,
                Chunk {
                    offset: 0,
                    data: &sv,
                    ts: Timestamp(5),
                    peer_ack: None,
                },
            );
            conn.close(&mut ctx, &m, Timestamp(6), CloseReason::Fin);
            black_box(ctx.out.len())
        })
    });
    g.finish();
}

fn hpack(c: &mut Criterion) {
    let mut enc = Encoder::default();
    let blocks: Vec<Vec<u8>> = (0..100)
        .map(|i| {
            block(
                &mut enc,
                &[
                    (":method", "GET"),
                    (":path", &format!("/api/v2/items/{i}")),
                    (":authority", "api.shop.example"),
                    (
                        "user-agent",
                        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36",
                    ),
                    ("cookie", &format!("session={i:032x}; theme=dark")),
                ],
            )
        })
        .collect();
    let bytes: usize = blocks.iter().map(Vec::len).sum();
    let mut g = c.benchmark_group("hpack");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("100_request_blocks", |b| {
        b.iter(|| {
            let mut h = Hpack::new(64 * 1024);
            let mut n = 0usize;
            for bl in &blocks {
                h.decode(bl, |_| n += 1);
            }
            black_box(n)
        })
    });
    g.finish();
}

fn captures(c: &mut Criterion) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("captures");
    let mut packets = Vec::new();
    for name in ["h2c", "h2_nghttpd"] {
        let mut src = FileSource::open(&root.join(format!("{name}.pcap")), None).unwrap();
        while let Next::Packet(p) = src.next_packet().unwrap() {
            packets.push((p.ts, p.link, p.orig_len, p.data.to_vec()));
        }
    }
    let bytes: usize = packets.iter().map(|p| p.3.len()).sum();
    let mut g = c.benchmark_group("h2_captures");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("engine", |b| {
        b.iter(|| {
            let mut e = Engine::new(EngineConfig::default());
            for (ts, link, orig_len, data) in &packets {
                e.packet(&shadowtap::capture::RawPacket {
                    ts: *ts,
                    link: *link,
                    orig_len: *orig_len,
                    data,
                });
            }
            e.finish();
            black_box(e.drain().count())
        })
    });
    g.finish();
}

criterion_group!(benches, connections, hpack, captures);
criterion_main!(benches);
