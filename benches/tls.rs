//! Criterion benchmarks of the TLS layer: a ClientHello parsed and fingerprinted (JA4), a
//! ServerHello (JA4S), a certificate summarized, and whole connections through `TlsConn`.
//!
//! `cargo bench --bench tls` runs them. Inputs are the loopback captures of
//! `src/tls/testdata/` (curl with OpenSSL, chromium with GREASE); each group reports hellos,
//! certificates or connections per second.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use shadowtap::reassembly::{
    Chunk, CloseReason, Dir, Endpoint, FlowApp, FlowId, FlowKey, FlowMeta,
};
use shadowtap::time::Timestamp;
use shadowtap::tls::hello::{CertSummary, ClientHello, ServerHello, certificate_list};
use shadowtap::tls::record::{RecordReader, Step};
use shadowtap::tls::{TlsConfig, TlsConn, TlsCtx, ja4};
use std::hint::black_box;

/// (sent by the client, bytes) per TCP segment of a fixture.
fn fixture(text: &str) -> Vec<(bool, Vec<u8>)> {
    text.lines()
        .filter(|l| l.starts_with("c ") || l.starts_with("s "))
        .map(|l| {
            let hex = &l[2..];
            let bytes = (0..hex.len() / 2)
                .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
                .collect();
            (l.starts_with("c "), bytes)
        })
        .collect()
}

/// The handshake messages (type, body) of one direction of a fixture.
fn messages(segs: &[(bool, Vec<u8>)], client: bool) -> Vec<(u8, Vec<u8>)> {
    let mut r = RecordReader::new(1 << 16);
    let mut out = Vec::new();
    for (_, bytes) in segs.iter().filter(|(c, _)| *c == client) {
        let mut input = &bytes[..];
        while let Some(step) = r.next(&mut input, usize::MAX) {
            if let Step::Handshake { msg_type, body } = step {
                out.push((msg_type, body.to_vec()));
            }
        }
    }
    out
}

fn body(segs: &[(bool, Vec<u8>)], client: bool, t: u8) -> Vec<u8> {
    messages(segs, client)
        .into_iter()
        .find(|(mt, _)| *mt == t)
        .map(|(_, b)| b)
        .expect("message in the fixture")
}

const CURL: &str = include_str!("../src/tls/testdata/curl_tls12_sni.txt");
const CHROMIUM: &str = include_str!("../src/tls/testdata/chromium_tls13_grease.txt");
const CHAIN: &str = include_str!("../src/tls/testdata/sclient_tls12_chain.txt");

fn hellos(c: &mut Criterion) {
    let mut g = c.benchmark_group("client_hello");
    g.throughput(Throughput::Elements(1));
    for (name, text) in [("curl", CURL), ("chromium", CHROMIUM)] {
        let ch = body(&fixture(text), true, 1);
        g.bench_function(format!("parse_{name}"), |b| {
            b.iter(|| black_box(ClientHello::parse(black_box(&ch)).unwrap()))
        });
        g.bench_function(format!("parse_ja4_{name}"), |b| {
            b.iter(|| {
                let hello = ClientHello::parse(black_box(&ch)).unwrap();
                black_box(ja4::ja4(&hello))
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("server_hello");
    g.throughput(Throughput::Elements(1));
    let sh = body(&fixture(CURL), false, 2);
    g.bench_function("parse_ja4s", |b| {
        b.iter(|| {
            let hello = ServerHello::parse(black_box(&sh)).unwrap();
            black_box(ja4::ja4s(&hello))
        })
    });
    g.finish();

    let mut g = c.benchmark_group("certificate");
    g.throughput(Throughput::Elements(1));
    for (name, text) in [("rsa_self_signed", CURL), ("ec_chain", CHAIN)] {
        let msg = body(&fixture(text), false, 11);
        g.bench_function(name, |b| {
            b.iter(|| {
                let (_, leaf) = certificate_list(black_box(&msg)).unwrap();
                black_box(CertSummary::from_der(leaf.unwrap()).unwrap())
            })
        });
    }
    g.finish();
}

fn connections(c: &mut Criterion) {
    let m = FlowMeta {
        id: FlowId(1),
        key: FlowKey {
            a: Endpoint {
                ip: "10.0.0.1".parse().unwrap(),
                port: 40000,
            },
            b: Endpoint {
                ip: "10.0.0.2".parse().unwrap(),
                port: 443,
            },
        },
        first_ts: Timestamp(1),
        opener: Some(Dir::AtoB),
        midstream: false,
    };
    let mut g = c.benchmark_group("connection");
    g.throughput(Throughput::Elements(1));
    for (name, text) in [
        ("curl_tls12_certificate", CURL),
        ("chromium_tls13", CHROMIUM),
    ] {
        let segs = fixture(text);
        g.bench_function(name, |b| {
            let mut ctx = TlsCtx::new(TlsConfig::default());
            b.iter(|| {
                let mut conn = TlsConn::open(&mut ctx, &m);
                for (client, bytes) in &segs {
                    let dir = if *client { Dir::AtoB } else { Dir::BtoA };
                    let chunk = Chunk {
                        offset: 0,
                        data: bytes,
                        ts: Timestamp(2),
                        peer_ack: None,
                    };
                    conn.data(&mut ctx, &m, dir, chunk);
                }
                conn.close(&mut ctx, &m, Timestamp(3), CloseReason::Fin);
                black_box(ctx.out.drain(..).count())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, hellos, connections);
criterion_main!(benches);
