//! Link-layer stripping, IP/TCP decoding and IP fragment reassembly on arbitrary frames.
//!
//! Input: two selector bytes, then the frame.
//! - `sel = u16::from_le_bytes(data[0..2])`; `sel % 9` picks the link type.
//! - When bit 15 of `sel` is set, the rest is a sequence of frames, each prefixed by a
//!   little-endian u16 length (so that several fragments can meet in the defragmenter);
//!   otherwise the rest is one frame.
//! - Bits 8..12 of `sel` step the packet clock between frames (to reach the defragmenter's
//!   timeout).
//!
//! Checks: no panic; every slice handed back lies inside the input; TCP flags fit in 6 bits;
//! reassembled datagrams are at most 65535 bytes; the defragmenter keeps at most
//! `max_datagrams` datagrams, and the heap it holds (measured with a counting global allocator)
//! stays within `max_bytes` plus a fixed allowance for its bookkeeping, as documented; what it
//! reports as buffered stays within `max_bytes`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shadowtap::capture::LinkType;
use shadowtap::decode::{DefragConfig, Defragmenter, IpPacket, LinkPayload, ip, link};
use shadowtap::time::Timestamp;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

/// Counts live heap bytes allocated through Rust's global allocator.
struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc_zeroed(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new as isize - l.size() as isize, Ordering::Relaxed);
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const LINKS: [LinkType; 9] = [
    LinkType::ETHERNET,
    LinkType::LINUX_SLL,
    LinkType::LINUX_SLL2,
    LinkType::NULL,
    LinkType::LOOP,
    LinkType::RAW,
    LinkType::IPV4,
    LinkType::IPV6,
    LinkType::NFLOG,
];

const MAX_DATAGRAMS: usize = 4;
const MAX_BYTES: usize = 4096;
/// Heap the defragmenter may use beyond `MAX_BYTES` for its tables (hash map, order queue,
/// range lists of at most 64 pieces per datagram).
const BOOKKEEPING: isize = 16 * 1024;

fn inside(outer: &[u8], inner: &[u8]) -> bool {
    let (o, i) = (outer.as_ptr() as usize, inner.as_ptr() as usize);
    inner.is_empty() || (i >= o && i + inner.len() <= o + outer.len())
}

fn frames(rest: &[u8], multi: bool) -> Vec<&[u8]> {
    if !multi {
        return vec![rest];
    }
    let mut out = Vec::new();
    let mut r = rest;
    while r.len() >= 2 {
        let n = usize::from(u16::from_le_bytes([r[0], r[1]])).min(r.len() - 2);
        out.push(&r[2..2 + n]);
        r = &r[2 + n..];
    }
    out
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let sel = u16::from_le_bytes([data[0], data[1]]);
    let link = LINKS[usize::from(sel) % LINKS.len()];
    let multi = sel & 0x8000 != 0;
    let clock_step = i64::from((sel >> 8) & 0x0f) * 1_000_000_000;
    let rest = &data[2..];

    // The frame list is the harness's own allocation: made before the heap is sampled, so that
    // only what the defragmenter holds is measured.
    let frames = frames(rest, multi);
    let base = LIVE.load(Ordering::Relaxed);
    let mut defrag = Defragmenter::new(DefragConfig {
        max_datagrams: MAX_DATAGRAMS,
        max_bytes: MAX_BYTES,
        timeout_ns: 5_000_000_000,
    });
    let mut ts = Timestamp(1_700_000_000_000_000_000);
    for frame in frames {
        ts = ts.plus_nanos(clock_step);
        let ip_bytes = match link::strip(link, frame) {
            Ok(LinkPayload::Ipv4(b)) | Ok(LinkPayload::Ipv6(b)) => {
                assert!(inside(frame, b), "link payload outside the frame");
                if link == LinkType::RAW {
                    assert!(matches!(b.first().map(|v| v >> 4), Some(4 | 6)));
                }
                b
            }
            Ok(LinkPayload::NotIp(_)) | Err(_) => continue,
        };
        match ip::parse(ip_bytes) {
            Ok(IpPacket::Tcp(seg)) => {
                assert!(
                    inside(ip_bytes, seg.payload),
                    "tcp payload outside the packet"
                );
                assert_eq!(seg.flags.0 & 0xc0, 0);
            }
            Ok(IpPacket::Fragment(frag)) => {
                assert!(inside(ip_bytes, frag.data), "fragment outside the packet");
                if let Some((_proto, datagram)) = defrag.push(ts, &frag) {
                    assert!(datagram.len() <= 65_535, "datagram of {}", datagram.len());
                    // What the engine does with a reassembled TCP datagram.
                    let _ = ip::tcp(frag.src, frag.dst, &datagram, 0);
                }
                assert!(defrag.pending() <= MAX_DATAGRAMS);
                assert!(defrag.buffered() <= MAX_BYTES);
                let held = LIVE.load(Ordering::Relaxed) - base;
                // A datagram's buffer is counted against max_bytes before it is allocated
                // (fixed; see fuzz/README.md, finding 1).
                assert!(
                    held <= MAX_BYTES as isize + BOOKKEEPING,
                    "defragmenter holds {held} bytes of heap with max_bytes={MAX_BYTES}, \
                     {} datagrams pending",
                    defrag.pending()
                );
            }
            Ok(IpPacket::Other(_)) | Err(_) => {}
        }
    }
    let s = defrag.stats();
    assert!(s.reassembled <= s.fragments);
    defrag.expire(ts.plus_nanos(10_000_000_000));
    assert_eq!(defrag.pending(), 0, "expire left datagrams behind");
});
