//! The TLS layer (`TlsConn` over `TlsCtx`) on arbitrary connections, fed whole and in pieces;
//! and the hello, certificate and sniffing parsers on every payload.
//!
//! Input: byte 0 chooses the configuration: bits 0-1 `max_handshake_bytes` (64, 512, 4096,
//! 65536), bit 2 a `max_memory` of 300 bytes (else 1 MiB), bit 3 no opener (a connection picked
//! up mid-stream), bits 4-7 the piece size of the second run (1 to 16 bytes). Then segments:
//!
//! | bytes | meaning |
//! | --- | --- |
//! | s0 | bit 0 direction (0 client to server), bit 1 a gap of `len` bytes instead of data, bit 2 end of that direction after the segment |
//! | s1 s2 | `len`, little-endian u16 (cut to what is left) |
//! | payload | `len` bytes (none for a gap) |
//!
//! Checks: no panic; after every call the memory the context counts is within `max_memory`
//! and within two handshake buffers, and the heap (a counting global allocator) never grows
//! during one call by more than a fixed multiple of `max_handshake_bytes`; at most one
//! Handshake event and one Traffic event, in that order; every string and list of a handshake
//! within its documented cap, JA4 present exactly when a ClientHello was read and 36
//! characters long; after close nothing is counted as held, and once the events are dropped the
//! heap is back where it was (no leak); events and counters are the same whole and in pieces
//! (unless `max_memory` is the small one: a message that arrives whole needs no buffer, the same
//! message in pieces does, so only the small cap may refuse one and not the other).
#![no_main]

use libfuzzer_sys::fuzz_target;
use shadowtap::reassembly::{
    Chunk, CloseReason, Dir, Endpoint, FlowApp, FlowId, FlowKey, FlowMeta,
};
use shadowtap::time::Timestamp;
use shadowtap::tls::hello::{self, CertSummary, ClientHello, ServerHello};
use shadowtap::tls::{TlsConfig, TlsConn, TlsCtx, TlsEvent, TlsStats, sniff};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

/// Counts live heap bytes allocated through Rust's global allocator, and their peak.
struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

fn grew(n: isize) {
    let now = LIVE.fetch_add(n, Ordering::Relaxed) + n;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        grew(l.size() as isize);
        unsafe { System.alloc(l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        grew(l.size() as isize);
        unsafe { System.alloc_zeroed(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        grew(new as isize - l.size() as isize);
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Heap one call may take for a moment beyond what it held before, per byte of handshake cap:
/// the parsers' lists and x509-parser's structures for a message of at most that size.
const TRANSIENT_PER_CAP_BYTE: isize = 64;
/// And a fixed allowance (events, small vectors, the certificate's summary).
const TRANSIENT_FIXED: isize = 1 << 20;

enum Seg<'a> {
    Data(Dir, &'a [u8], bool),
    Gap(Dir, u64, bool),
}

fn segments(mut rest: &[u8]) -> Vec<Seg<'_>> {
    let mut out = Vec::new();
    while rest.len() >= 3 {
        let s0 = rest[0];
        let len = usize::from(u16::from_le_bytes([rest[1], rest[2]]));
        rest = &rest[3..];
        let dir = if s0 & 1 == 0 { Dir::AtoB } else { Dir::BtoA };
        let eof = s0 & 4 != 0;
        if s0 & 2 != 0 {
            out.push(Seg::Gap(dir, len as u64, eof));
        } else {
            let n = len.min(rest.len());
            out.push(Seg::Data(dir, &rest[..n], eof));
            rest = &rest[n..];
        }
    }
    out
}

fn meta(opener: bool) -> FlowMeta {
    FlowMeta {
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
        opener: opener.then_some(Dir::AtoB),
        midstream: !opener,
    }
}

fn check_memory(ctx: &TlsCtx, before: isize) {
    let cfg = &ctx.cfg;
    assert!(ctx.memory() <= cfg.max_memory, "{} > max_memory", ctx.memory());
    assert!(ctx.memory() <= 2 * cfg.max_handshake_bytes);
    let peak = PEAK.load(Ordering::Relaxed) - before;
    let bound = TRANSIENT_PER_CAP_BYTE * cfg.max_handshake_bytes as isize + TRANSIENT_FIXED;
    assert!(peak <= bound, "one call took {peak} heap bytes (bound {bound})");
}

/// Runs the connection, each data segment cut into `piece`-byte pieces.
fn run(cfg: &TlsConfig, segs: &[Seg<'_>], opener: bool, piece: usize) -> (Vec<TlsEvent>, TlsStats) {
    let m = meta(opener);
    let mut ctx = TlsCtx::new(cfg.clone());
    let mut conn = TlsConn::open(&mut ctx, &m);
    let mut offsets = [0u64; 2];
    for (i, seg) in segs.iter().enumerate() {
        let ts = Timestamp(10 + i as i64);
        let (dir, eof) = match seg {
            Seg::Data(dir, data, eof) => {
                for p in data.chunks(piece.max(1)) {
                    let before = LIVE.load(Ordering::Relaxed);
                    PEAK.store(before, Ordering::Relaxed);
                    let chunk = Chunk {
                        offset: offsets[dir.index()],
                        data: p,
                        ts,
                        peer_ack: None,
                    };
                    offsets[dir.index()] += p.len() as u64;
                    if conn.wants_data() {
                        conn.data(&mut ctx, &m, *dir, chunk);
                    } else {
                        conn.ignored(&mut ctx, *dir, p.len() as u64);
                    }
                    check_memory(&ctx, before);
                }
                (*dir, *eof)
            }
            Seg::Gap(dir, len, eof) => {
                let before = LIVE.load(Ordering::Relaxed);
                PEAK.store(before, Ordering::Relaxed);
                conn.gap(&mut ctx, &m, *dir, offsets[dir.index()], *len, ts);
                offsets[dir.index()] += len;
                check_memory(&ctx, before);
                (*dir, *eof)
            }
        };
        if eof {
            conn.eof(&mut ctx, &m, dir, ts);
        }
    }
    conn.close(&mut ctx, &m, Timestamp(1 << 40), CloseReason::End);
    assert_eq!(ctx.memory(), 0, "memory held after close");
    (std::mem::take(&mut ctx.out), ctx.stats)
}

fn check_events(events: &[TlsEvent]) {
    assert!(events.len() <= 2, "{events:?}");
    let mut handshakes = 0;
    for (i, e) in events.iter().enumerate() {
        match e {
            TlsEvent::Handshake(s) => {
                handshakes += 1;
                assert_eq!(i, 0, "the handshake comes first");
                let h = &s.hello;
                assert_eq!(h.ja4.is_some(), h.client_hello);
                if let Some(j) = &h.ja4 {
                    assert_eq!(j.len(), 36, "{j}");
                    assert!(j.starts_with('t'));
                }
                if h.ja4s.is_some() {
                    assert!(h.server_hello || h.hello_retry);
                }
                assert!(h.sni.as_ref().is_none_or(|s| s.len() <= hello::MAX_SNI_BYTES));
                assert!(h.alpn_offered.len() <= hello::MAX_ALPN);
                assert!(h.alpn_offered.iter().all(|a| a.len() <= hello::MAX_ALPN_BYTES));
                assert!(h.alpn_selected.as_ref().is_none_or(|a| a.len() <= hello::MAX_ALPN_BYTES));
                if let Some(c) = &h.certificate {
                    assert!(h.chain_len > 0);
                    assert!(c.subject.len() <= hello::MAX_NAME_BYTES);
                    assert!(c.issuer.len() <= hello::MAX_NAME_BYTES);
                    assert!(c.sans.len() <= hello::MAX_SANS);
                    assert!(c.sans.iter().all(|s| s.len() <= hello::MAX_SAN_BYTES));
                    assert_eq!(c.sha256_hex.len(), 64);
                }
            }
            TlsEvent::Traffic { .. } => assert_eq!(i, events.len() - 1),
        }
    }
    assert!(handshakes <= 1);
}

/// Runs a real connection once (a TLS 1.2 handshake with a certificate), so that the lazily
/// built tables of the libraries (x509-parser's OID registry) exist before the heap is counted.
fn warm_up() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let text = include_str!("../../src/tls/testdata/curl_tls12_sni.txt");
        let mut input = Vec::new();
        for l in text.lines().filter(|l| l.starts_with("c ") || l.starts_with("s ")) {
            let hex = &l[2..];
            let bytes: Vec<u8> = (0..hex.len() / 2)
                .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
                .collect();
            input.push(u8::from(l.starts_with("s ")));
            input.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
            input.extend_from_slice(&bytes);
        }
        let (events, _) = run(&TlsConfig::default(), &segments(&input), true, usize::MAX);
        assert!(matches!(&events[0], TlsEvent::Handshake(s) if s.hello.certificate.is_some()));
    });
}

fuzz_target!(|data: &[u8]| {
    warm_up();
    let Some((&b0, rest)) = data.split_first() else {
        return;
    };
    let cfg = TlsConfig {
        max_handshake_bytes: [64, 512, 4096, 65536][usize::from(b0 & 3)],
        max_memory: if b0 & 4 != 0 { 300 } else { 1 << 20 },
        ..TlsConfig::default()
    };
    let opener = b0 & 8 == 0;
    let piece = usize::from(b0 >> 4) + 1;
    let segs = segments(rest);

    // The parsers alone, on every payload.
    for seg in &segs {
        if let Seg::Data(_, p, _) = seg {
            let _ = sniff(p);
            if let Ok(ch) = ClientHello::parse(p) {
                assert!(ch.sni.as_ref().is_none_or(|s| s.len() <= hello::MAX_SNI_BYTES));
                assert!(ch.alpn.len() <= hello::MAX_ALPN);
                assert_eq!(shadowtap::tls::ja4::ja4(&ch).len(), 36);
                let _ = shadowtap::tls::ja4::ja4_r(&ch);
            }
            if let Ok(sh) = ServerHello::parse(p) {
                let _ = shadowtap::tls::ja4::ja4s(&sh);
            }
            let _ = hello::certificate_list(p);
            let _ = CertSummary::from_der(p);
        }
    }

    let base = LIVE.load(Ordering::Relaxed);
    let (whole, stats) = run(&cfg, &segs, opener, usize::MAX);
    check_events(&whole);
    let (split, split_stats) = run(&cfg, &segs, opener, piece);
    check_events(&split);
    if b0 & 4 == 0 {
        assert_eq!(whole, split, "events differ whole and in {piece}-byte pieces");
        assert_eq!(stats, split_stats, "counters differ whole and in {piece}-byte pieces");
    }
    drop((whole, split));
    assert_eq!(LIVE.load(Ordering::Relaxed), base, "heap not freed");
});
