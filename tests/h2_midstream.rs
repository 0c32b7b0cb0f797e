//! HTTP/2 picked up mid-connection: the real captures (`captures/grpc.pcap`, `captures/h2c.pcap`)
//! with their first packets dropped (the SYN, the preface, SETTINGS and the first requests), at
//! packet boundaries and inside a frame; hand-built flows of frames; and what must not be read
//! as HTTP/2 (a TLS connection picked up mid-way, random bytes).

mod support;

use shadowtap::capture::{FileSource, LinkType, Next, PacketSource, RawPacket};
use shadowtap::engine::{Engine, EngineConfig, EngineStats};
use shadowtap::http::{HttpTransaction, Tags};
use shadowtap::time::Timestamp;
use std::path::{Path, PathBuf};
use support::{Conv, Rng};

fn captures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("captures")
}

/// A packet, owned: time, link type, bytes.
type Packet = (Timestamp, LinkType, Vec<u8>);

/// A connection by its two ports, lower first.
type ConnKey = (u16, u16);

/// A capture's packets, owned.
fn packets(name: &str) -> Vec<Packet> {
    let mut src = FileSource::open(&captures().join(format!("{name}.pcap")), None).unwrap();
    let mut out = Vec::new();
    while let Next::Packet(p) = src.next_packet().unwrap() {
        out.push((p.ts, p.link, p.data.to_vec()));
    }
    out
}

fn run(pkts: &[Packet]) -> (Vec<HttpTransaction>, EngineStats) {
    let mut e = Engine::new(EngineConfig::default());
    let mut out = Vec::new();
    for (ts, link, data) in pkts {
        e.packet(&RawPacket {
            ts: *ts,
            link: *link,
            orig_len: data.len() as u32,
            data,
        });
        out.extend(e.drain());
    }
    e.finish();
    out.extend(e.drain());
    (out, e.stats())
}

/// An Ethernet/IPv4/TCP frame's TCP ports, payload offset and payload length.
fn tcp(frame: &[u8]) -> (u16, u16, usize, usize) {
    let ip = 14;
    let ihl = usize::from(frame[ip] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([frame[ip + 2], frame[ip + 3]]));
    let t = ip + ihl;
    let sport = u16::from_be_bytes([frame[t], frame[t + 1]]);
    let dport = u16::from_be_bytes([frame[t + 2], frame[t + 3]]);
    let doff = usize::from(frame[t + 12] >> 4) * 4;
    (sport, dport, t + doff, total - ihl - doff)
}

/// The frame without the first `k` bytes of its TCP payload (sequence number, IP length and
/// checksum adjusted): a capture that begins `k` bytes into the segment.
fn trim_front(frame: &[u8], k: usize) -> Vec<u8> {
    let (_, _, off, len) = tcp(frame);
    assert!(k < len);
    let mut f = frame[..off].to_vec();
    f.extend_from_slice(&frame[off + k..off + len]);
    let ip = 14;
    let ihl = usize::from(f[ip] & 0x0f) * 4;
    let total = u16::from_be_bytes([f[ip + 2], f[ip + 3]]) - k as u16;
    f[ip + 2..ip + 4].copy_from_slice(&total.to_be_bytes());
    f[ip + 10] = 0;
    f[ip + 11] = 0;
    let sum = f[ip..ip + ihl]
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum::<u32>();
    let sum = !(((sum & 0xffff) + (sum >> 16)) as u16);
    f[ip + 10..ip + 12].copy_from_slice(&sum.to_be_bytes());
    let t = ip + ihl;
    let seq = u32::from_be_bytes(f[t + 4..t + 8].try_into().unwrap()).wrapping_add(k as u32);
    f[t + 4..t + 8].copy_from_slice(&seq.to_be_bytes());
    f
}

/// The connection key of an Ethernet/IPv4/TCP frame: its two ports, lower first.
fn conn_of(frame: &[u8]) -> (u16, u16) {
    let (s, d, _, _) = tcp(frame);
    (s.min(d), s.max(d))
}

/// The capture without the first `n` packets of each connection `which` selects (the others
/// kept whole), and the first payload kept of each of those trimmed by `trim` bytes (a capture
/// that begins inside a segment, so inside a frame). Also returns, per connection cut, the
/// time of its first payload kept.
fn cut(
    pkts: &[Packet],
    which: impl Fn((u16, u16)) -> bool,
    n: usize,
    trim: usize,
) -> (Vec<Packet>, Vec<(ConnKey, Timestamp)>) {
    let mut seen: Vec<((u16, u16), usize, bool)> = Vec::new();
    let mut firsts = Vec::new();
    let mut out = Vec::new();
    for (ts, link, data) in pkts {
        let key = conn_of(data);
        if which(key) {
            let i = match seen.iter().position(|c| c.0 == key) {
                Some(i) => i,
                None => {
                    seen.push((key, 0, false));
                    seen.len() - 1
                }
            };
            seen[i].1 += 1;
            if seen[i].1 <= n {
                continue;
            }
            let (_, _, _, len) = tcp(data);
            if !seen[i].2 && len > trim {
                seen[i].2 = true;
                firsts.push((key, *ts));
                if trim > 0 {
                    out.push((*ts, *link, trim_front(data, trim)));
                    continue;
                }
            }
        }
        out.push((*ts, *link, data.clone()));
    }
    (out, firsts)
}

/// Method, path, status and tags of a transaction (the tags this file adds left out).
fn row(t: &HttpTransaction) -> String {
    let mut t = t.clone();
    t.tags = Tags(t.tags.0 & !(Tags::MIDSTREAM.0 | Tags::HEADERS_LOST.0));
    support::summary(&t)
}

fn on(t: &HttpTransaction, key: (u16, u16)) -> bool {
    key == (t.orig.port.min(t.resp.port), t.orig.port.max(t.resp.port))
}

/// True when `sub` is `full` with some items left out, in order.
fn subsequence(sub: &[String], full: &[String]) -> bool {
    let mut it = full.iter();
    sub.iter().all(|s| it.any(|f| f == s))
}

/// Cuts connection `key` of capture `name` (`n` packets, `trim` bytes), and checks what
/// comes out against the whole capture: every transaction of that connection is one of the
/// whole capture's, in order, with the same method, path and status (gRPC method names exact);
/// the streams whose request began after the cut are all accounted for, emitted or counted
/// as unrecovered; the other connections read as before. Returns (emitted, unrecovered,
/// header fields lost, whole capture's transactions on that connection).
fn check_cut(
    name: &str,
    key: (u16, u16),
    n: usize,
    trim: usize,
) -> (usize, u64, u64, usize, EngineStats) {
    let pkts = packets(name);
    let (full, _) = run(&pkts);
    let (cut_pkts, firsts) = cut(&pkts, |k| k == key, n, trim);
    let (txs, stats) = run(&cut_pkts);
    let whole: Vec<&HttpTransaction> = full.iter().filter(|t| on(t, key)).collect();
    let got: Vec<String> = txs.iter().filter(|t| on(t, key)).map(row).collect();
    let want: Vec<String> = whole.iter().map(|t| row(t)).collect();
    let ctx = format!("{name} {key:?} cut {n} trim {trim}: got {got:#?}");
    assert!(subsequence(&got, &want), "{ctx}");
    let others = |v: &[HttpTransaction]| -> Vec<String> {
        v.iter().filter(|t| !on(t, key)).map(row).collect()
    };
    assert_eq!(others(&txs), others(&full), "{ctx}");
    let Some(&(_, first)) = firsts.first() else {
        assert!(got.is_empty(), "{ctx}");
        return (0, 0, 0, whole.len(), stats);
    };
    // A request in the trimmed segment is lost with it; one in a segment kept whole is there.
    let after = whole
        .iter()
        .filter(|t| {
            t.request
                .as_ref()
                .is_some_and(|r| r.first_ts > first || trim == 0 && r.first_ts == first)
        })
        .count();
    let h = &stats.http2;
    assert_eq!(
        got.len() as u64 + h.midstream_streams_unrecovered,
        after as u64,
        "{ctx} {h:?}"
    );
    if h.midstream_connections > 0 {
        let emitted = txs.iter().filter(|t| on(t, key));
        assert!(
            emitted.clone().all(|t| t.tags.contains(Tags::MIDSTREAM)),
            "{ctx}"
        );
        // Headers lost where a transaction says so or a request was not recovered.
        if txs.iter().any(|t| t.tags.contains(Tags::HEADERS_LOST))
            || h.midstream_streams_unrecovered > 0
        {
            assert!(h.hpack_unknown_fields > 0, "{ctx} {h:?}");
        }
    }
    (
        got.len(),
        h.midstream_streams_unrecovered,
        h.hpack_unknown_fields,
        whole.len(),
        stats,
    )
}

/// The long-lived gRPC connection of `captures/grpc.pcap` (health checks, reflection, unary
/// and streaming calls on one connection), cut at packet boundaries and inside frames.
#[test]
fn grpc_connection_picked_up_mid_way() {
    let key = (50051, 53456);
    let mut table = Vec::new();
    for (n, trim) in [
        (9, 0),
        (12, 0),
        (16, 0),
        (21, 0),
        (22, 100),
        (27, 50),
        (30, 7),
        (40, 30),
        (60, 1),
    ] {
        let (emitted, unrecovered, lost, whole, stats) = check_cut("grpc", key, n, trim);
        table.push((n, trim, emitted, unrecovered, lost, whole));
        let h = &stats.http2;
        assert_eq!(h.midstream_resync_failed, 0, "{n} {trim} {h:?}");
        if trim > 0 {
            assert!(h.midstream_skipped_bytes > 0, "{n} {trim} {h:?}");
        }
    }
    for row in &table {
        eprintln!("grpc cut {row:?}");
    }
    // Before the first request the tables are empty: all 14 calls, exact.
    assert_eq!(table[0].2, 14);
    assert_eq!(table[0].4, 0);
    // The sniffer found the connection at every cut.
    assert!(table.iter().all(|r| r.2 + r.3 as usize > 0), "{table:?}");
    // Later cuts lose the :path of repeated GetItem calls (indexed in the lost table):
    // counted, not emitted.
    assert!(table.iter().any(|r| r.3 > 0), "{table:?}");
    assert!(table.iter().any(|r| r.4 > 0), "{table:?}");
}

/// The h2c capture's prior-knowledge connections (those that did not switch by `Upgrade`),
/// each cut after its handshake, after its preface, and inside its frames.
#[test]
fn h2c_connections_picked_up_mid_way() {
    let pkts = packets("h2c");
    let (full, _) = run(&pkts);
    let mut keys: Vec<(u16, u16)> = pkts.iter().map(|p| conn_of(&p.2)).collect();
    keys.sort();
    keys.dedup();
    let upgraded = |k: (u16, u16)| {
        full.iter()
            .any(|t| on(t, k) && t.tags.contains(Tags::UPGRADE))
    };
    let cuts = [(3, 0), (4, 0), (4, 30), (5, 0), (6, 5)];
    // Per cut: transactions emitted, not recovered, in the whole capture; midstream
    // connections.
    let mut per_cut = [(0, 0, 0, 0); 5];
    for key in keys.into_iter().filter(|&k| !upgraded(k)) {
        for (i, &(n, trim)) in cuts.iter().enumerate() {
            let (e, u, _, w, stats) = check_cut("h2c", key, n, trim);
            let c = &mut per_cut[i];
            c.0 += e;
            c.1 += u;
            c.2 += w;
            c.3 += stats.http2.midstream_connections;
        }
    }
    for (cut, (e, u, w, m)) in cuts.iter().zip(per_cut) {
        eprintln!(
            "h2c cut {cut:?}: {e} transactions emitted, {u} not recovered, of {w}; {m} midstream connections"
        );
    }
    let midstream: u64 = per_cut.iter().map(|c| c.3).sum();
    assert!(midstream > 0);
}

/// HTTP/2 frames built by hand on a connection whose start was not captured: the capture
/// begins inside a DATA frame, the roles are the reverse of what the ports suggest, a response
/// belongs to a stream begun before the capture, a request's `:path` references the lost
/// table.
#[test]
fn hand_built_midstream_connection() {
    fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let mut v = (payload.len() as u32).to_be_bytes()[1..].to_vec();
        v.push(kind);
        v.push(flags);
        v.extend_from_slice(&stream.to_be_bytes());
        v.extend_from_slice(payload);
        v
    }
    const DATA: u8 = 0;
    const HEADERS: u8 = 1;
    const END_STREAM: u8 = 1;
    const END_HEADERS: u8 = 4;
    // The client on port 1000, the server on 50051: the port guess is wrong.
    let mut c = Conv::new("10.0.0.1:1000", "10.0.0.2:50051");
    // The server: the end of a DATA frame of stream 1, then its trailers (`:status` 200 and
    // a literal grpc-status) for a stream begun before the capture.
    let mut tail = vec![0xee; 300];
    tail.extend(frame(HEADERS, END_HEADERS | END_STREAM, 1, &[0x88]));
    c.server_send(&tail, 1400);
    // Stream 3: POST (static), :scheme http (static), :path literal without indexing,
    // :authority literal with indexing (index 62 from now), then index 63: unknown.
    let mut block = vec![0x83, 0x86, 0x04, 11];
    block.extend_from_slice(b"/svc/Method");
    block.extend_from_slice(&[0x41, 7]);
    block.extend_from_slice(b"example");
    block.push(0xbf);
    let req = [
        frame(HEADERS, END_HEADERS, 3, &block),
        frame(DATA, END_STREAM, 3, b"ping"),
    ]
    .concat();
    c.client_send(&req, 1400);
    let resp = [
        frame(HEADERS, END_HEADERS, 3, &[0x88]),
        frame(DATA, END_STREAM, 3, b"pong"),
    ]
    .concat();
    c.server_send(&resp, 1400);
    // Stream 5: :path is index 64, unknown: counted, not emitted.
    c.client_send(
        &frame(HEADERS, END_HEADERS | END_STREAM, 5, &[0x83, 0xc0, 0xbe]),
        1400,
    );
    c.server_send(&frame(HEADERS, END_HEADERS | END_STREAM, 5, &[0x88]), 1400);
    c.close();
    let (txs, stats) = support::run(&c.frames);
    let rows: Vec<String> = txs.iter().map(support::summary).collect();
    assert_eq!(
        rows,
        vec!["POST /svc/Method -> 200 [headers_lost,midstream]"]
    );
    let t = &txs[0];
    assert_eq!(t.orig.port, 1000);
    assert_eq!(t.request.as_ref().unwrap().body.len, 4);
    assert_eq!(t.response.as_ref().unwrap().body.len, 4);
    let h = &stats.http2;
    assert_eq!(
        (
            h.midstream_connections,
            h.midstream_resyncs,
            h.midstream_skipped_bytes,
            h.midstream_streams_unseen,
            h.midstream_streams_unrecovered,
            h.hpack_unknown_fields,
            h.midstream_resync_failed,
        ),
        (1, 2, 300, 1, 1, 2, 0),
        "{h:?}"
    );
}

/// A TLS connection picked up mid-way, inside a record and at record boundaries, and random
/// bytes both ways: not HTTP/2.
#[test]
fn midstream_tls_and_random_bytes_are_not_http2() {
    for name in ["tls_h2", "tls12", "tls13"] {
        let pkts = packets(name);
        for (n, trim) in [(3, 0), (5, 0), (6, 3), (8, 1), (12, 0), (12, 20)] {
            let (cut_pkts, _) = cut(&pkts, |_| true, n, trim);
            let (_, stats) = run(&cut_pkts);
            let h = &stats.http2;
            assert_eq!(
                (h.midstream_connections, h.connections),
                (0, 0),
                "{name} {n} {trim}"
            );
        }
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for seed in 0..8 {
        let mut c = Conv::new("10.0.0.1:40000", &format!("10.0.0.2:{}", 8000 + seed));
        for _ in 0..40 {
            let a: Vec<u8> = (0..1 + rng.below(1400)).map(|_| rng.next() as u8).collect();
            c.client_send(&a, 1400);
            let b: Vec<u8> = (0..1 + rng.below(1400)).map(|_| rng.next() as u8).collect();
            c.server_send(&b, 1400);
        }
        c.close();
        let (txs, stats) = support::run(&c.frames);
        assert!(txs.is_empty());
        let h = &stats.http2;
        assert_eq!(
            (h.midstream_connections, h.midstream_not_h2),
            (0, 1),
            "{h:?}"
        );
        assert_eq!(stats.http2_bytes_now, 0);
    }
}

/// `H2Conn::midstream` on the real gRPC connection's bytes, cut at random offsets, with random
/// bytes changed, in random pieces (what the `http2_midstream` fuzz target checks, without the
/// fuzzer): no panic; after close nothing held, streams opened = emitted + not recovered, every
/// transaction tagged `midstream`.
#[test]
fn midstream_connection_survives_cut_and_mutated_streams() {
    use shadowtap::http2::{H2Conn, H2Ctx, Http2Config};
    use shadowtap::reassembly::{
        Chunk, CloseReason, Dir, Endpoint, FlowApp, FlowId, FlowKey, FlowMeta,
    };
    // The long connection's two byte streams.
    let mut streams = [Vec::new(), Vec::new()];
    for (_, _, f) in packets("grpc") {
        let (s, d, off, len) = tcp(&f);
        if conn_of(&f) == (50051, 53456) {
            let i = usize::from(s == 50051 && d == 53456);
            streams[i].extend_from_slice(&f[off..off + len]);
        }
    }
    let meta = FlowMeta {
        id: FlowId(1),
        key: FlowKey {
            a: Endpoint {
                ip: [127, 0, 0, 1].into(),
                port: 53456,
            },
            b: Endpoint {
                ip: [127, 0, 0, 1].into(),
                port: 50051,
            },
        },
        first_ts: Timestamp(1),
        opener: None,
        midstream: true,
    };
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    for round in 0..400 {
        let cfg = Http2Config {
            max_streams: 1 + rng.below(16),
            max_memory: 1 << 20,
            body_sample_bytes: 256,
            ..Http2Config::default()
        };
        let mut ctx = H2Ctx::new(cfg.clone());
        let client = if round % 2 == 0 { Dir::AtoB } else { Dir::BtoA };
        let mut c = H2Conn::midstream(&mut ctx, client);
        let mut cut: Vec<Vec<u8>> = streams
            .iter()
            .map(|s| s[rng.below(s.len())..].to_vec())
            .collect();
        for s in &mut cut {
            for _ in 0..rng.below(4) {
                if !s.is_empty() {
                    let i = rng.below(s.len());
                    s[i] = rng.next() as u8;
                }
            }
        }
        let mut pos = [0usize; 2];
        let mut ts = 1;
        while pos[0] < cut[0].len() || pos[1] < cut[1].len() {
            let d = if rng.below(2) == 0 {
                Dir::AtoB
            } else {
                Dir::BtoA
            };
            let s = &cut[d.index()];
            let n = (1 + rng.below(300)).min(s.len() - pos[d.index()]);
            if n == 0 {
                continue;
            }
            ts += 1;
            let chunk = Chunk {
                offset: pos[d.index()] as u64,
                data: &s[pos[d.index()]..pos[d.index()] + n],
                ts: Timestamp(ts),
                peer_ack: None,
            };
            if rng.below(50) == 0 {
                c.gap(&mut ctx, &meta, d, chunk.offset, n as u64, chunk.ts);
            } else if c.wants_data() {
                c.data(&mut ctx, &meta, d, chunk);
            }
            pos[d.index()] += n;
            assert!(ctx.memory() <= cfg.max_memory + 4 * (1 << 20));
        }
        c.close(&mut ctx, &meta, Timestamp(ts + 1), CloseReason::Fin);
        let h = &ctx.stats;
        assert_eq!(
            h.streams,
            h.transactions + h.midstream_streams_unrecovered,
            "{round} {h:?}"
        );
        assert!(ctx.out.iter().all(|t| t.tags.contains(Tags::MIDSTREAM)));
        drop(c);
        assert_eq!(ctx.memory(), 0, "{round}");
    }
}
