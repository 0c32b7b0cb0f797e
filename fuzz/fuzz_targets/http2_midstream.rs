//! HTTP/2 picked up mid-connection: the frame sniffer (`frame::sniff_run`, `find_run`,
//! `Finder`) and `H2Conn::midstream` on arbitrary bytes, fed whole and in pieces.
//!
//! Input: byte 0: bits 0-3 the piece size (1 to 16 bytes), bit 4 the client is `b` (the port
//! guess is wrong). Then segments:
//!
//! | bytes | meaning |
//! | --- | --- |
//! | s0 | bit 0 direction (0 `a` to `b`), bit 1 a gap of `len` bytes instead of data |
//! | s1 s2 | `len`, little-endian u16 (cut to what is left) |
//! | payload | `len` bytes (none for a gap) |
//!
//! Checks: no panic, no endless loop. `Finder::push` in pieces: it takes at least one byte
//! while searching, holds at most two windows, skips no more than it was given, and what it
//! finds begins a run (`sniff_run` says `Frames`); `find_run` on each payload returns a
//! position inside it. `H2Conn::midstream` (both directions resynchronising, tables lost)
//! whole and in pieces: after every call the counted memory within `max_memory` plus the caps,
//! open streams within `max_streams`; after close nothing held, every transaction tagged
//! `midstream` and HTTP/2, streams opened = transactions emitted + streams not emitted.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shadowtap::http::{Tags, Version};
use shadowtap::http2::frame::{self, Finder, Run, Search};
use shadowtap::http2::{H2Conn, H2Ctx, Http2Config};
use shadowtap::reassembly::{
    Chunk, CloseReason, Dir, Endpoint, FlowApp, FlowId, FlowKey, FlowMeta,
};
use shadowtap::time::Timestamp;

fn meta() -> FlowMeta {
    FlowMeta {
        id: FlowId(1),
        key: FlowKey {
            a: Endpoint { ip: [10, 0, 0, 1].into(), port: 40000 },
            b: Endpoint { ip: [10, 0, 0, 2].into(), port: 80 },
        },
        first_ts: Timestamp(1),
        opener: None,
        midstream: true,
    }
}

enum Seg<'a> {
    Data(Dir, &'a [u8]),
    Gap(Dir, u64),
}

fn finder(segs: &[Seg<'_>], piece: usize) {
    let mut f = [Finder::default(), Finder::default()];
    let mut given = [0usize; 2];
    for s in segs {
        match *s {
            Seg::Data(d, bytes) => {
                for p in bytes.chunks(piece.max(1)) {
                    let f = &mut f[d.index()];
                    let mut rest = p;
                    while !rest.is_empty() {
                        let (k, r) = f.push(rest);
                        given[d.index()] += k;
                        assert!(f.held() <= 2 * frame::SNIFF_CONFIRM + 64);
                        assert!(f.skipped() <= given[d.index()]);
                        match r {
                            Search::More => assert!(k > 0),
                            Search::GaveUp => break,
                            Search::Found(run, _) => {
                                assert!(matches!(frame::sniff_run(&run), Run::Frames { .. }));
                                *f = Finder::default();
                            }
                        }
                        rest = &rest[k..];
                    }
                }
                if let Some((at, _)) = frame::find_run(bytes) {
                    assert!(at < bytes.len());
                }
            }
            Seg::Gap(d, _) => f[d.index()].gap(),
        }
    }
}

fn run(cfg: &Http2Config, client: Dir, segs: &[Seg<'_>], piece: usize) {
    let mut ctx = H2Ctx::new(cfg.clone());
    let m = meta();
    let mut c = H2Conn::midstream(&mut ctx, client);
    let mut off = [0u64; 2];
    let mut ts = 1;
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
                    assert!(ctx.memory() <= cfg.max_memory + 4 * (cfg.max_frame_buffer + cfg.max_header_block_bytes + cfg.max_table_size + frame::SNIFF_CONFIRM) + 4096);
                    assert!(ctx.stats.streams - ctx.stats.transactions - ctx.stats.midstream_streams_unrecovered <= cfg.max_streams as u64);
                }
            }
            Seg::Gap(d, len) => {
                c.gap(&mut ctx, &m, d, off[d.index()], len, Timestamp(ts));
                off[d.index()] += len;
            }
        }
    }
    c.close(&mut ctx, &m, Timestamp(ts + 1), CloseReason::Fin);
    assert_eq!(ctx.stats.streams, ctx.stats.transactions + ctx.stats.midstream_streams_unrecovered);
    for t in &ctx.out {
        assert!(t.tags.contains(Tags::MIDSTREAM));
        for msg in t.request.iter().chain(t.response.iter()) {
            assert_eq!(msg.head.version(), Version::HTTP_2);
            assert!(msg.body.sample.len() <= cfg.body_sample_bytes);
        }
    }
    drop(c);
    assert_eq!(ctx.memory(), 0);
}

fuzz_target!(|data: &[u8]| {
    let Some((&cfgb, mut rest)) = data.split_first() else { return };
    let cfg = Http2Config {
        max_streams: 16,
        max_memory: 1 << 20,
        body_sample_bytes: 256,
        ..Http2Config::default()
    };
    let piece = usize::from(cfgb & 15) + 1;
    let client = if cfgb & 16 == 0 { Dir::AtoB } else { Dir::BtoA };
    let mut segs = Vec::new();
    while rest.len() >= 3 {
        let s0 = rest[0];
        let len = usize::from(u16::from_le_bytes([rest[1], rest[2]]));
        rest = &rest[3..];
        let dir = if s0 & 1 == 0 { Dir::AtoB } else { Dir::BtoA };
        if s0 & 2 != 0 {
            segs.push(Seg::Gap(dir, len as u64));
        } else {
            let n = len.min(rest.len());
            segs.push(Seg::Data(dir, &rest[..n]));
            rest = &rest[n..];
        }
    }
    finder(&segs, piece);
    run(&cfg, client, &segs, usize::MAX);
    run(&cfg, client, &segs, piece);
});
