//! The HTTP/2 layer (`H2Conn` over `H2Ctx`) on arbitrary connections, fed whole and in pieces,
//! and the HPACK decoder on every payload.
//!
//! Input: byte 0 chooses the configuration: bits 0-1 `max_streams` (1, 4, 64, 1024), bit 2
//! small header caps (256-byte blocks and lists, 4 CONTINUATIONs, 128-byte HPACK table, 512-byte
//! frame buffer; else the defaults), bit 3 the client does not send the preface (as after an
//! h2c upgrade), bits 4-7 the piece size of the second run (1 to 16 bytes). Then segments:
//!
//! | bytes | meaning |
//! | --- | --- |
//! | s0 | bit 0 direction (0 client to server), bit 1 a gap of `len` bytes instead of data |
//! | s1 s2 | `len`, little-endian u16 (cut to what is left) |
//! | payload | `len` bytes (none for a gap) |
//!
//! Checks: no panic, no endless loop; after every call the counted memory is within
//! `max_memory`, and the streams open within `max_streams` (transactions emitted never exceed
//! streams opened); every transaction is HTTP/2 (`version` 2 on both sides, except nothing);
//! after close nothing is held; transactions and counters are the same whole and in pieces
//! when no gap was fed (gaps fall at other frame positions in pieces). `Hpack::decode` of each
//! payload with a 256-byte table cap: no panic, the table within its cap.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shadowtap::http::Version;
use shadowtap::http2::hpack::Hpack;
use shadowtap::http2::{H2Conn, H2Ctx, Http2Config};
use shadowtap::reassembly::{
    Chunk, CloseReason, Dir, Endpoint, FlowApp, FlowId, FlowKey, FlowMeta,
};
use shadowtap::time::Timestamp;

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

fn meta() -> FlowMeta {
    FlowMeta {
        id: FlowId(1),
        key: FlowKey {
            a: Endpoint { ip: [10, 0, 0, 1].into(), port: 40000 },
            b: Endpoint { ip: [10, 0, 0, 2].into(), port: 80 },
        },
        first_ts: Timestamp(1),
        opener: Some(Dir::AtoB),
        midstream: false,
    }
}

enum Seg<'a> {
    Data(Dir, &'a [u8]),
    Gap(Dir, u64),
}

fn run(cfg: &Http2Config, preface: bool, segs: &[Seg<'_>], piece: usize) -> (Vec<String>, String) {
    let mut ctx = H2Ctx::new(cfg.clone());
    let m = meta();
    let mut c = H2Conn::new(&mut ctx, Dir::AtoB, preface);
    let mut off = [0u64; 2];
    let mut ts = 1;
    if preface {
        c.data(&mut ctx, &m, Dir::AtoB, Chunk { offset: 0, data: PREFACE, ts: Timestamp(ts), peer_ack: None });
        off[0] = PREFACE.len() as u64;
    }
    for s in segs {
        ts += 1;
        match *s {
            Seg::Data(d, bytes) => {
                for p in bytes.chunks(piece.max(1)) {
                    if !c.wants_data() {
                        c.ignored(&mut ctx, d, p.len() as u64);
                    } else {
                        c.data(&mut ctx, &m, d, Chunk { offset: off[d.index()], data: p, ts: Timestamp(ts), peer_ack: None });
                    }
                    off[d.index()] += p.len() as u64;
                    assert!(ctx.memory() <= cfg.max_memory + 4 * (cfg.max_frame_buffer + cfg.max_header_block_bytes + cfg.max_table_size) + 4096);
                    assert!(ctx.stats.streams - ctx.stats.transactions <= cfg.max_streams as u64);
                }
            }
            Seg::Gap(d, len) => {
                c.gap(&mut ctx, &m, d, off[d.index()], len, Timestamp(ts));
                off[d.index()] += len;
            }
        }
    }
    c.close(&mut ctx, &m, Timestamp(ts + 1), CloseReason::Fin);
    assert_eq!(ctx.stats.streams, ctx.stats.transactions);
    let rows: Vec<String> = ctx
        .out
        .iter()
        .map(|t| {
            for msg in t.request.iter().chain(t.response.iter()) {
                assert_eq!(msg.head.version(), Version::HTTP_2);
                assert!(msg.body.sample.len() <= cfg.body_sample_bytes);
            }
            format!("{t:?}")
        })
        .collect();
    drop(c);
    (rows, format!("{:?}", ctx.stats))
}

fuzz_target!(|data: &[u8]| {
    let Some((&cfgb, mut rest)) = data.split_first() else { return };
    let mut cfg = Http2Config {
        max_streams: [1, 4, 64, 1024][usize::from(cfgb & 3)],
        max_memory: 1 << 20,
        body_sample_bytes: 256,
        ..Http2Config::default()
    };
    if cfgb & 4 != 0 {
        cfg.max_header_block_bytes = 256;
        cfg.max_header_list_bytes = 256;
        cfg.max_continuations = 4;
        cfg.max_table_size = 128;
        cfg.max_frame_buffer = 512;
    }
    let preface = cfgb & 8 == 0;
    let piece = usize::from(cfgb >> 4) + 1;
    let mut segs = Vec::new();
    let mut gaps = false;
    while rest.len() >= 3 {
        let s0 = rest[0];
        let len = usize::from(u16::from_le_bytes([rest[1], rest[2]]));
        rest = &rest[3..];
        let dir = if s0 & 1 == 0 { Dir::AtoB } else { Dir::BtoA };
        if s0 & 2 != 0 {
            gaps = true;
            segs.push(Seg::Gap(dir, len as u64));
        } else {
            let n = len.min(rest.len());
            segs.push(Seg::Data(dir, &rest[..n]));
            let mut h = Hpack::new(256);
            h.decode(&rest[..n], |_| {});
            assert!(h.held() <= 256);
            rest = &rest[n..];
        }
    }
    let whole = run(&cfg, preface, &segs, usize::MAX);
    let split = run(&cfg, preface, &segs, piece);
    if !gaps {
        assert_eq!(whole, split);
    }
});
