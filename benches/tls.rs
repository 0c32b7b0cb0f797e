//! Criterion benchmarks of the TLS layer: a ClientHello parsed and fingerprinted (JA4), a
//! ServerHello (JA4S), a certificate summarized, and whole connections through `TlsConn`.
//!
//! `cargo bench --bench tls` runs them. Inputs are the loopback captures of
//! `src/tls/testdata/` (curl with OpenSSL, chromium with GREASE); each group reports hellos,
//! certificates or connections per second.
//!
//! `decrypt`: record decryption with key-log keys (`tls::decrypt::RecordKeys::open`), one core,
//! in bytes of TLS application data per second: 64 full records of 16 KiB (1 MiB) sealed once
//! with ring, copied and opened per iteration (the copy is part of the measure), for TLS 1.3
//! AES-128-GCM and ChaCha20-Poly1305 and TLS 1.2 AES-256-GCM.

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

/// 64 records of 16 KiB of application data sealed under `key`, the way a TLS 1.3 peer
/// (`tls13`) or a TLS 1.2 AES-GCM peer (explicit nonce; `iv` is then the 4-byte salt) does.
fn sealed(
    alg: &'static ring::aead::Algorithm,
    key: &[u8],
    iv: &[u8],
    tls13: bool,
) -> Vec<([u8; 5], Vec<u8>)> {
    use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey};
    let key = LessSafeKey::new(UnboundKey::new(alg, key).unwrap());
    (0..64u64)
        .map(|seq| {
            let mut data = vec![b'x'; 16 * 1024];
            let mut nonce = [0u8; 12];
            let (hdr, explicit) = if tls13 {
                data.push(23);
                nonce.copy_from_slice(iv);
                for (n, s) in nonce[4..].iter_mut().zip(seq.to_be_bytes()) {
                    *n ^= s;
                }
                let len = (data.len() + 16) as u16;
                let [hi, lo] = len.to_be_bytes();
                ([23, 3, 3, hi, lo], None)
            } else {
                nonce[..4].copy_from_slice(iv);
                nonce[4..].copy_from_slice(&seq.to_be_bytes());
                let len = (8 + data.len() + 16) as u16;
                let [hi, lo] = len.to_be_bytes();
                ([23, 3, 3, hi, lo], Some(seq.to_be_bytes()))
            };
            let aad: Vec<u8> = if tls13 {
                hdr.to_vec()
            } else {
                let mut a = seq.to_be_bytes().to_vec();
                a.extend_from_slice(&[23, 3, 3]);
                a.extend_from_slice(&(data.len() as u16).to_be_bytes());
                a
            };
            key.seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut data,
            )
            .unwrap();
            let payload = match explicit {
                Some(e) => [&e[..], &data].concat(),
                None => data,
            };
            (hdr, payload)
        })
        .collect()
}

fn decrypt(c: &mut Criterion) {
    use shadowtap::tls::decrypt::{AeadAlg, Hash, Prf, RecordKeys, Suite, hkdf_expand_label, prf};
    let mut g = c.benchmark_group("decrypt");
    let records_bytes = 64 * 16 * 1024;
    g.throughput(Throughput::Bytes(records_bytes as u64));
    let secret = [7u8; 32];
    type Make = Box<dyn Fn() -> RecordKeys>;
    type Records = Vec<([u8; 5], Vec<u8>)>;
    let mut cases: Vec<(&str, Records, Make)> = Vec::new();
    for (name, alg, ring_alg, key_len) in [
        (
            "tls13_aes128gcm",
            AeadAlg::Aes128Gcm,
            &ring::aead::AES_128_GCM,
            16,
        ),
        (
            "tls13_chacha20poly1305",
            AeadAlg::ChaCha20Poly1305,
            &ring::aead::CHACHA20_POLY1305,
            32,
        ),
    ] {
        let mut key = vec![0; key_len];
        let mut iv = [0; 12];
        hkdf_expand_label(Hash::Sha256, &secret, b"key", &mut key).unwrap();
        hkdf_expand_label(Hash::Sha256, &secret, b"iv", &mut iv).unwrap();
        cases.push((
            name,
            sealed(ring_alg, &key, &iv, true),
            Box::new(move || RecordKeys::tls13(alg, Hash::Sha256, &secret).unwrap()),
        ));
    }
    // TLS 1.2 ECDHE-RSA-AES256-GCM-SHA384: the client's key and salt from the key block.
    let (master, cr, sr) = ([9u8; 48], [1u8; 32], [2u8; 32]);
    let mut block = [0u8; 72];
    prf(
        Prf::Sha384,
        &master,
        b"key expansion",
        &[&sr, &cr],
        &mut block,
    );
    let suite = Suite::Aead(AeadAlg::Aes256Gcm, Prf::Sha384);
    cases.push((
        "tls12_aes256gcm",
        sealed(
            &ring::aead::AES_256_GCM,
            &block[..32],
            &block[64..68],
            false,
        ),
        Box::new(move || {
            RecordKeys::tls12(suite, 0x0303, &master, &cr, &sr, false)
                .unwrap()
                .0
        }),
    ));
    for (name, records, make) in &cases {
        // Check once that they open.
        let mut k = make();
        for (hdr, p) in records {
            k.open(*hdr, &mut p.clone()).expect("opens");
        }
        g.bench_function(*name, |b| {
            b.iter(|| {
                let mut k = make();
                let mut n = 0;
                for (hdr, p) in records {
                    let mut p = p.clone();
                    n += k.open(*hdr, &mut p).map(|(_, r)| r.len()).unwrap_or(0);
                }
                black_box(n)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, hellos, connections, decrypt);
criterion_main!(benches);
