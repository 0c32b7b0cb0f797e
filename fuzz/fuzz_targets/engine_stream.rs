//! End to end: TCP segments built from the input, wrapped in real IPv4/IPv6 + TCP packets on a
//! raw-IP link, through `Engine::packet`, `drain` and `finish`.
//!
//! Input: byte 0 chooses the configuration (bit 0: 1 KiB of HTTP memory instead of 64 KiB;
//! bit 1: no body samples; bit 2: 2 flows instead of 8). Then records of 5 bytes and a payload:
//!
//! | byte | meaning |
//! | --- | --- |
//! | r0 | bit 0 direction (0 client to server), bit 1 SYN, bit 2 ACK, bit 3 FIN, bit 4 RST, bit 5 PSH, bit 6 explicit ack delta, bit 7 packet clock jumps past the idle timeout |
//! | r1 | sequence number delta (i8) from the next expected sequence number of that side |
//! | r2 | acknowledgment delta (i8) from the other side's next sequence number, when r0 bit 6 |
//! | r3 | bits 0-3 connection (client port), bit 4 IPv6, bit 5 IPv4 fragments, bit 6 snap length cuts the payload in half, bit 7 the frame is sent twice (fragments: in reverse order) |
//! | r4 | payload length, then that many payload bytes |
//!
//! Checks, after every packet: no panic; at most `max_flows` connections and at most
//! `max_buffered_total` out-of-order bytes; every transaction is well formed (heads of the right
//! kind, samples within their cap and within the body length, gap bytes within the body length,
//! decoded bodies within their limit, a message's first byte not after its last, no depth twice on
//! a flow id). After `finish`: no connection, no
//! reassembly bytes and no HTTP bytes left, every opened connection accounted for by exactly one
//! way of closing, and the transaction counter equal to the transactions drained.
#![no_main]

use etherparse::PacketBuilder;
use libfuzzer_sys::fuzz_target;
use shadowtap::capture::{LinkType, RawPacket};
use shadowtap::decode::DefragConfig;
use shadowtap::engine::{Engine, EngineConfig};
use shadowtap::http::{HttpConfig, HttpMessage, HttpTransaction};
use shadowtap::reassembly::ReassemblyConfig;
use shadowtap::time::Timestamp;
use std::collections::{HashMap, HashSet};

const IDLE_NS: i64 = 60_000_000_000;

struct Cfg {
    max_flows: usize,
    max_buffered_total: usize,
    body_sample: usize,
    engine: EngineConfig,
}

/// True when `SHADOWTAP_FUZZ_DEBUG` is set to 1 (read once).
fn debug_flag() -> bool {
    static DEBUG: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *DEBUG.get_or_init(|| std::env::var_os("SHADOWTAP_FUZZ_DEBUG").is_some_and(|v| v == "1"))
}

fn config(b: u8) -> Cfg {
    let max_flows = if b & 4 != 0 { 2 } else { 8 };
    let max_buffered_total = 8 * 1024;
    let body_sample = if b & 2 != 0 { 0 } else { 256 };
    let engine = EngineConfig {
        defrag: DefragConfig {
            max_datagrams: 4,
            max_bytes: 16 * 1024,
            timeout_ns: 5_000_000_000,
        },
        reassembly: ReassemblyConfig {
            max_flows,
            idle_timeout_ns: IDLE_NS,
            max_buffered_per_dir: 2048,
            max_segments_per_dir: 16,
            max_buffered_total,
        },
        http: HttpConfig {
            max_head_bytes: 1024,
            max_headers: 16,
            body_sample_bytes: body_sample,
            max_memory: if b & 1 != 0 { 1024 } else { 64 * 1024 },
            max_pending: 4,
            max_resync_scan: 4096,
        },
        // Small TLS caps: handshake messages over 1 KiB, and 4 KiB in all, are refused.
        tls: shadowtap::tls::TlsConfig {
            max_handshake_bytes: 1024,
            max_memory: 4096,
            ..shadowtap::tls::TlsConfig::default()
        },
        http2: None,
        websocket: None,
    };
    Cfg {
        max_flows,
        max_buffered_total,
        body_sample,
        engine,
    }
}

struct Seg<'a> {
    conn: u8,
    to_server: bool,
    syn: bool,
    ack: Option<u32>,
    fin: bool,
    rst: bool,
    psh: bool,
    seq: u32,
    v6: bool,
    payload: &'a [u8],
}

fn build(s: &Seg<'_>) -> Vec<u8> {
    let port = 40_000 + u16::from(s.conn);
    let (sport, dport) = if s.to_server { (port, 80) } else { (80, port) };
    let v4 = |c: bool| if c { [10, 0, 0, 1] } else { [10, 0, 0, 2] };
    let v6 = |c: bool| {
        let mut a = [0u8; 16];
        a[0] = 0x20;
        a[1] = 0x01;
        a[15] = if c { 1 } else { 2 };
        a
    };
    let ip = if s.v6 {
        PacketBuilder::ipv6(v6(s.to_server), v6(!s.to_server), 64)
    } else {
        PacketBuilder::ipv4(v4(s.to_server), v4(!s.to_server), 64)
    };
    let mut b = ip.tcp(sport, dport, s.seq, 65535);
    if s.syn {
        b = b.syn();
    }
    if let Some(a) = s.ack {
        b = b.ack(a);
    }
    if s.fin {
        b = b.fin();
    }
    if s.rst {
        b = b.rst();
    }
    if s.psh {
        b = b.psh();
    }
    let mut out = Vec::with_capacity(b.size(s.payload.len()));
    b.write(&mut out, s.payload).expect("building a packet");
    out
}

fn ipv4_checksum(h: &[u8]) -> u16 {
    let mut sum = 0u32;
    for (i, w) in h.chunks(2).enumerate() {
        if i == 5 {
            continue;
        }
        sum += u32::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Splits an IPv4 packet (20-byte header) into two fragments, or returns it whole.
fn fragment(pkt: &[u8], id: u16) -> Vec<Vec<u8>> {
    let (hdr, body) = pkt.split_at(20);
    let cut = (body.len() / 2) & !7;
    if cut == 0 {
        return vec![pkt.to_vec()];
    }
    let mut out = Vec::new();
    for (off, piece, more) in [(0, &body[..cut], true), (cut, &body[cut..], false)] {
        let mut f = hdr.to_vec();
        f[2..4].copy_from_slice(&((20 + piece.len()) as u16).to_be_bytes());
        f[4..6].copy_from_slice(&id.to_be_bytes());
        let fo = ((off / 8) as u16) | if more { 0x2000 } else { 0 };
        f[6..8].copy_from_slice(&fo.to_be_bytes());
        let c = ipv4_checksum(&f);
        f[10..12].copy_from_slice(&c.to_be_bytes());
        f.extend_from_slice(piece);
        out.push(f);
    }
    out
}

fn check_message(m: &HttpMessage, request: bool, cfg: &Cfg) {
    assert_eq!(m.head.is_request(), request, "head of the wrong kind");
    assert!(
        m.body.sample.len() <= cfg.body_sample,
        "sample over its cap"
    );
    assert!(
        m.body.sample.len() as u64 <= m.body.len,
        "sample longer than the body"
    );
    assert!(
        m.body.gap_bytes <= m.body.len,
        "more gap bytes than body bytes"
    );
    // Body bytes released from the out-of-order buffer carry their (earlier) capture time: they
    // must not move last_ts back (fixed; see fuzz/README.md, finding 7).
    assert!(
        m.first_ts <= m.last_ts,
        "message ends ({:?}) before it starts ({:?})",
        m.last_ts,
        m.first_ts
    );
    if let Ok(d) = m.decoded_body(1024) {
        assert!(d.len() <= 1024);
    }
}

fn check_txn(t: &HttpTransaction, cfg: &Cfg, depths: &mut HashSet<(u64, u32)>) {
    assert!(t.depth >= 1);
    // Every connection has its own id, even one reopened on the same 4-tuple by a packet with
    // the same timestamp (fixed; see fuzz/README.md, finding 8).
    assert!(
        depths.insert((t.flow.0, t.depth)),
        "depth {} emitted twice on flow {}",
        t.depth,
        t.flow
    );
    assert!(
        t.request.is_some() || t.response.is_some(),
        "empty transaction"
    );
    if let Some(q) = &t.request {
        check_message(q, true, cfg);
    }
    if let Some(r) = &t.response {
        check_message(r, false, cfg);
    }
    assert!(t.interim.len() <= 16);
    let _ = (
        t.latency_ns(),
        t.method(),
        t.status(),
        t.ts(),
        t.tags.to_string(),
    );
}

fuzz_target!(|data: &[u8]| {
    let Some((&c, mut rest)) = data.split_first() else {
        return;
    };
    let cfg = config(c);
    let mut engine = Engine::new(cfg.engine.clone());
    // Next sequence number per (connection, direction); the ISNs are fixed.
    let mut next: HashMap<(u8, bool), u32> = HashMap::new();
    let isn = |conn: u8, to_server: bool| {
        let base: u32 = if to_server { 1_000 } else { 900_000 };
        base.wrapping_add(u32::from(conn) * 100_000)
    };
    let mut ts = Timestamp(1_700_000_000_000_000_000);
    let mut ip_id = 1u16;
    let mut drained = 0u64;
    let mut depths = HashSet::new();
    // SHADOWTAP_FUZZ_DEBUG=1 prints the transactions and the final counters (to look at a seed).
    let debug = debug_flag();

    while rest.len() >= 5 {
        let (r0, r1, r2, r3, r4) = (rest[0], rest[1], rest[2], rest[3], rest[4]);
        let len = usize::from(r4).min(rest.len() - 5);
        let payload = &rest[5..5 + len];
        rest = &rest[5 + len..];

        let conn = r3 & 0x0f;
        let to_server = r0 & 1 == 0;
        let syn = r0 & 2 != 0;
        let fin = r0 & 8 != 0;
        let mine = *next
            .entry((conn, to_server))
            .or_insert(isn(conn, to_server));
        let theirs = *next
            .entry((conn, !to_server))
            .or_insert(isn(conn, !to_server));
        let seq = mine.wrapping_add(i32::from(r1 as i8) as u32);
        let ack = if r0 & 4 == 0 {
            None
        } else if r0 & 0x40 != 0 {
            Some(theirs.wrapping_add(i32::from(r2 as i8) as u32))
        } else {
            Some(theirs)
        };
        let end = seq
            .wrapping_add(u32::from(syn))
            .wrapping_add(len as u32)
            .wrapping_add(u32::from(fin));
        if (end.wrapping_sub(mine) as i32) > 0 {
            next.insert((conn, to_server), end);
        }
        let v6 = r3 & 0x10 != 0;
        let pkt = build(&Seg {
            conn,
            to_server,
            syn,
            ack,
            fin,
            rst: r0 & 0x10 != 0,
            psh: r0 & 0x20 != 0,
            seq,
            v6,
            payload,
        });

        ts = ts.plus_nanos(1_000_000);
        if r0 & 0x80 != 0 {
            ts = ts.plus_nanos(IDLE_NS + 1_000_000_000);
        }
        let mut frames = if r3 & 0x20 != 0 && !v6 {
            ip_id = ip_id.wrapping_add(1);
            fragment(&pkt, ip_id)
        } else {
            vec![pkt]
        };
        if r3 & 0x80 != 0 {
            if frames.len() > 1 {
                frames.reverse();
            } else {
                frames.push(frames[0].clone());
            }
        }
        let cut = if r3 & 0x40 != 0 { len.div_ceil(2) } else { 0 };
        for f in &frames {
            let keep = if frames.len() == 1 {
                f.len() - cut
            } else {
                f.len()
            };
            engine.packet(&RawPacket {
                ts,
                link: LinkType::RAW,
                orig_len: f.len() as u32,
                data: &f[..keep],
            });
            engine.drain_tls().for_each(drop);
            for t in engine.drain() {
                check_txn(&t, &cfg, &mut depths);
                drained += 1;
                if debug {
                    eprintln!(
                        "txn {} #{} {:?} -> {:?} tags {}",
                        t.flow,
                        t.depth,
                        t.method().map(String::from_utf8_lossy),
                        t.status(),
                        t.tags
                    );
                }
            }
            let s = engine.stats();
            assert!(s.flows_now <= cfg.max_flows as u64, "{} flows", s.flows_now);
            assert!(
                s.reassembly_bytes_now <= cfg.max_buffered_total as u64,
                "{} bytes held out of order",
                s.reassembly_bytes_now
            );
        }
    }

    engine.finish();
    for t in engine.drain() {
        check_txn(&t, &cfg, &mut depths);
        drained += 1;
        if debug {
            eprintln!(
                "txn {} #{} {:?} {:?} -> {:?} req body {:?} resp body {:?} tags {}",
                t.flow,
                t.depth,
                t.method().map(String::from_utf8_lossy),
                t.request
                    .as_ref()
                    .map(|r| String::from_utf8_lossy(r.head.target()).into_owned()),
                t.status(),
                t.request.as_ref().map(|m| m.body.len),
                t.response.as_ref().map(|m| (
                    m.body.len,
                    m.decoded_body(64)
                        .map(|d| String::from_utf8_lossy(&d).into_owned())
                )),
                t.tags
            );
        }
    }
    let s = engine.stats();
    if debug {
        eprintln!("{s:#?}");
    }
    assert_eq!(s.flows_now, 0, "flows left after finish");
    assert_eq!(
        s.reassembly_bytes_now, 0,
        "reassembly bytes left after finish"
    );
    assert_eq!(s.http_bytes_now, 0, "HTTP bytes left after finish");
    assert_eq!(
        s.http.transactions, drained,
        "transactions counted vs drained"
    );
    let t = &s.tcp;
    let closed = t.flows_closed_fin
        + t.flows_closed_rst
        + t.flows_timed_out
        + t.flows_evicted
        + t.flows_reused
        + t.flows_open_at_end;
    assert_eq!(
        closed, t.flows_opened,
        "connections opened vs closed: {t:?}"
    );
});
