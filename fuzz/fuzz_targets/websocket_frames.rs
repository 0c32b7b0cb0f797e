//! The WebSocket layer (`WsConn` over `WsCtx`) on arbitrary connections, fed whole and in
//! pieces, and the frame view on every segment.
//!
//! Input: byte 0 chooses the configuration: bit 0 permessage-deflate agreed, bit 1 small caps
//! (64-byte samples, 2 samples, 64 frames, 64 KiB of memory, 4 KiB inflated per direction;
//! else the defaults), bits 4-7 the piece size of the second run (1 to 16 bytes). Then
//! segments:
//!
//! | bytes | meaning |
//! | --- | --- |
//! | s0 | bit 0 direction (0 client to server), bit 1 a gap of `len` bytes instead of data |
//! | s1 s2 | `len`, little-endian u16 (cut to what is left) |
//! | payload | `len` bytes (none for a gap) |
//!
//! Checks: no panic, no endless loop; after every call the counted memory is within
//! `max_memory` plus one inflater; frames parsed within `max_frames`; the samples within
//! `max_samples` and each within `sample_bytes`; after `finish` nothing is held; the summary is
//! the same whole and in pieces (timestamps aside). `Frame::new_checked` on every payload: a
//! checked view's accessors agree with `FrameHeader::parse`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shadowtap::reassembly::Dir;
use shadowtap::time::Timestamp;
use shadowtap::websocket::frame::{Frame, FrameHeader};
use shadowtap::websocket::{Handshake, WsConfig, WsConn, WsCtx, WsSummary};

enum Seg<'a> {
    Data(Dir, &'a [u8]),
    Gap(Dir, u64),
}

fn segments(mut b: &[u8]) -> Vec<Seg<'_>> {
    let mut out = Vec::new();
    while b.len() >= 3 {
        let dir = if b[0] & 1 == 0 { Dir::AtoB } else { Dir::BtoA };
        let gap = b[0] & 2 != 0;
        let len = usize::from(u16::from_le_bytes([b[1], b[2]]));
        b = &b[3..];
        if gap {
            out.push(Seg::Gap(dir, len as u64));
        } else {
            let n = len.min(b.len());
            out.push(Seg::Data(dir, &b[..n]));
            b = &b[n..];
        }
    }
    out
}

fn config(c: u8) -> WsConfig {
    if c & 2 != 0 {
        WsConfig {
            sample_bytes: 64,
            max_samples: 2,
            max_frames: 64,
            max_memory: 64 * 1024,
            max_inflate_bytes: 4096,
            // One inflater (48 KiB) fits the 64 KiB: a second compressed connection is refused.
            ..WsConfig::default()
        }
    } else {
        WsConfig::default()
    }
}

fn run(c: u8, segs: &[Seg<'_>], piece: Option<usize>) -> WsSummary {
    let cfg = config(c);
    let mut ctx = WsCtx::new(cfg.clone());
    let hs = Handshake {
        client: Dir::AtoB,
        accept_ok: true,
        subprotocol: None,
        deflate: c & 1 != 0,
        ts: Timestamp(1),
    };
    let mut conn = WsConn::new(&mut ctx, hs);
    let check = |ctx: &WsCtx| {
        assert!(ctx.memory() <= cfg.max_memory + 48 * 1024, "memory {}", ctx.memory());
        assert!(ctx.stats.frames <= cfg.max_frames, "frames {}", ctx.stats.frames);
    };
    for s in segs {
        match *s {
            Seg::Data(dir, data) => match piece {
                Some(n) => {
                    for p in data.chunks(n) {
                        conn.data(&mut ctx, dir, p, Timestamp(2));
                        check(&ctx);
                    }
                }
                None => {
                    conn.data(&mut ctx, dir, data, Timestamp(2));
                    check(&ctx);
                }
            },
            Seg::Gap(dir, len) => {
                conn.gap(&mut ctx, dir, len, Timestamp(2));
                check(&ctx);
            }
        }
    }
    let s = conn.finish(&mut ctx, Timestamp(3));
    assert_eq!(ctx.memory(), 0, "nothing held after finish");
    assert!(s.samples.len() <= cfg.max_samples);
    assert!(s.samples.iter().all(|m| m.text.len() <= cfg.sample_bytes));
    s
}

fuzz_target!(|data: &[u8]| {
    let Some((&c, rest)) = data.split_first() else {
        return;
    };
    let segs = segments(rest);
    for s in &segs {
        if let Seg::Data(_, d) = s
            && let Ok(f) = Frame::new_checked(*d)
        {
            let h = FrameHeader::parse(d).expect("a checked view is a header");
            assert_eq!(h.len, f.payload_len());
            assert_eq!(h.header_len, f.header_len());
            assert!(h.header_len <= d.len());
        }
    }
    let whole = run(c, &segs, None);
    let piece = usize::from(c >> 4) + 1;
    let pieces = run(c, &segs, Some(piece));
    assert_eq!(whole, pieces, "the same summary whole and in pieces of {piece}");
});
