//! One direction of a TCP connection: sequence space, out-of-order buffer, gaps.
//!
//! Sequence numbers are turned into 64-bit stream offsets (offset 0 is the first byte after the
//! SYN, or the first byte seen when the connection was picked up mid-stream), so wrap-around at
//! 2^32 and streams longer than 4 GiB need no special case: a segment's offset is the next
//! expected offset plus the signed 32-bit distance of its sequence number.
//!
//! Overlap policy: the first copy of a byte wins. Bytes already delivered are never replaced;
//! buffered bytes are kept when a later segment covers them, and a later copy that differs is
//! counted as a conflicting overlap (the signature of an evasion attempt).

use super::{ReassemblyConfig, ReassemblyStats};
use crate::time::Timestamp;
use std::collections::BTreeMap;

/// A run of in-order bytes handed to the application.
#[derive(Clone, Copy, Debug)]
pub struct Chunk<'a> {
    /// Stream offset of `data[0]`.
    pub offset: u64,
    /// The bytes.
    pub data: &'a [u8],
    /// Capture time of the segment that carried them.
    pub ts: Timestamp,
    /// How far the sender had received the opposite stream when it sent them (the segment's
    /// ACK as an offset in the opposite direction), when known.
    pub peer_ack: Option<u64>,
}

/// What a stream hands on.
#[derive(Debug)]
pub(crate) enum Event<'a> {
    Data(Chunk<'a>),
    Gap {
        offset: u64,
        len: u64,
        ts: Timestamp,
    },
}

/// Why a gap was declared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GapReason {
    /// The peer acknowledged bytes that were never captured.
    Ack,
    /// A buffer cap was reached while waiting for a hole to fill.
    Cap,
    /// The connection ended (FIN, RST, timeout, eviction) with holes left.
    Close,
}

struct Held {
    data: Vec<u8>,
    ts: Timestamp,
    peer_ack: Option<u64>,
}

/// Reassembly state of one direction.
#[derive(Default)]
pub(crate) struct Stream {
    /// True once the initial sequence number is known (SYN seen, or first segment taken).
    pub started: bool,
    /// Sequence number of stream offset 0.
    base: u32,
    /// Next offset to deliver.
    pub next: u64,
    /// The SYN's sequence number, when seen.
    pub isn: Option<u32>,
    /// Offset of the FIN, when seen.
    pub fin: Option<u64>,
    /// End of stream was reported to the application.
    pub eof: bool,
    /// The last acknowledgment number this side sent.
    pub last_ack: Option<u32>,
    held: BTreeMap<u64, Held>,
    /// Bytes in `held`.
    pub held_bytes: usize,
}

impl Stream {
    /// Starts the sequence space so that `seq` is offset 0.
    pub fn start(&mut self, seq: u32) {
        self.started = true;
        self.base = seq;
        self.next = 0;
    }

    /// Offset of sequence number `seq`, relative to the next expected byte (may be negative).
    pub fn offset(&self, seq: u32) -> i64 {
        let next_seq = self.base.wrapping_add(self.next as u32);
        self.next as i64 + i64::from(seq.wrapping_sub(next_seq) as i32)
    }

    /// True when bytes are held below `target`.
    pub fn holds_below(&self, target: u64) -> bool {
        self.held
            .first_key_value()
            .is_some_and(|(&s, _)| s < target)
    }

    /// End offset of the highest held byte.
    pub fn held_end(&self) -> Option<u64> {
        self.held
            .last_key_value()
            .map(|(&s, h)| s + h.data.len() as u64)
    }

    /// Adds a segment's payload at offset `off`, delivering what is now in order.
    #[allow(clippy::too_many_arguments)]
    pub fn insert(
        &mut self,
        cfg: &ReassemblyConfig,
        global: &mut usize,
        stats: &mut ReassemblyStats,
        off: i64,
        data: &[u8],
        ts: Timestamp,
        peer_ack: Option<u64>,
        emit: &mut dyn FnMut(Event<'_>),
    ) {
        if data.is_empty() {
            return;
        }
        let end = off + data.len() as i64;
        if end <= self.next as i64 {
            stats.retransmitted_segments += 1;
            stats.retransmitted_bytes += data.len() as u64;
            return;
        }
        let (mut off, mut data) = (off, data);
        if off < self.next as i64 {
            let skip = (self.next as i64 - off) as usize;
            stats.retransmitted_bytes += skip as u64;
            data = &data[skip..];
            off = self.next as i64;
        }
        let off = off as u64;
        if off == self.next && self.held.is_empty() {
            stats.in_order_segments += 1;
            emit(Event::Data(Chunk {
                offset: off,
                data,
                ts,
                peer_ack,
            }));
            self.next = off + data.len() as u64;
            return;
        }
        if off > self.next {
            stats.out_of_order_segments += 1;
        }
        let over_cap = self.held.len() >= cfg.max_segments_per_dir
            || self.held_bytes + data.len() > cfg.max_buffered_per_dir
            || *global + data.len() > cfg.max_buffered_total;
        if over_cap {
            // Stop waiting for the holes: hand on what is held, with gaps, then this segment.
            stats.cap_flushes += 1;
            self.flush_all(global, stats, GapReason::Cap, ts, emit);
            let end = off + data.len() as u64;
            if end <= self.next {
                return;
            }
            let data = &data[self.next.saturating_sub(off) as usize..];
            let off = off.max(self.next);
            if off > self.next {
                self.gap(stats, GapReason::Cap, off - self.next, ts, emit);
            }
            emit(Event::Data(Chunk {
                offset: off,
                data,
                ts,
                peer_ack,
            }));
            self.next = end;
            return;
        }
        self.hold(global, stats, off, data, ts, peer_ack);
        self.drain(global, emit);
    }

    /// Stores the parts of `[off, off+len)` not held yet (first copy wins) and counts conflicts.
    fn hold(
        &mut self,
        global: &mut usize,
        stats: &mut ReassemblyStats,
        off: u64,
        data: &[u8],
        ts: Timestamp,
        peer_ack: Option<u64>,
    ) {
        let end = off + data.len() as u64;
        // Held segments overlapping [off, end): the one starting before `off`, and those inside.
        let mut covered: Vec<(u64, u64)> = Vec::new();
        let mut conflict = false;
        let before = self.held.range(..off).next_back().map(|(&s, h)| (s, h));
        let inside = self.held.range(off..end).map(|(&s, h)| (s, h));
        for (s, h) in before.into_iter().chain(inside) {
            let e = s + h.data.len() as u64;
            let (os, oe) = (s.max(off), e.min(end));
            if os >= oe {
                continue;
            }
            let mine = &data[(os - off) as usize..(oe - off) as usize];
            let theirs = &h.data[(os - s) as usize..(oe - s) as usize];
            if mine != theirs {
                conflict = true;
            }
            covered.push((os, oe));
        }
        if conflict {
            stats.overlap_conflicts += 1;
        }
        let covered_bytes: u64 = covered.iter().map(|(s, e)| e - s).sum();
        stats.retransmitted_bytes += covered_bytes;
        if covered_bytes == end - off {
            stats.retransmitted_segments += 1;
        }
        let mut pos = off;
        for (cs, ce) in covered.into_iter().chain(std::iter::once((end, end))) {
            if cs > pos {
                let piece = data[(pos - off) as usize..(cs - off) as usize].to_vec();
                self.held_bytes += piece.len();
                *global += piece.len();
                self.held.insert(
                    pos,
                    Held {
                        data: piece,
                        ts,
                        peer_ack,
                    },
                );
            }
            pos = pos.max(ce);
        }
    }

    /// Delivers held segments that are now in order.
    fn drain(&mut self, global: &mut usize, emit: &mut dyn FnMut(Event<'_>)) {
        while let Some(entry) = self.held.first_entry() {
            if *entry.key() > self.next {
                break;
            }
            let (s, h) = entry.remove_entry();
            self.held_bytes -= h.data.len();
            *global -= h.data.len();
            let e = s + h.data.len() as u64;
            if e <= self.next {
                continue;
            }
            let skip = (self.next - s) as usize;
            emit(Event::Data(Chunk {
                offset: self.next,
                data: &h.data[skip..],
                ts: h.ts,
                peer_ack: h.peer_ack,
            }));
            self.next = e;
        }
    }

    fn gap(
        &mut self,
        stats: &mut ReassemblyStats,
        reason: GapReason,
        len: u64,
        ts: Timestamp,
        emit: &mut dyn FnMut(Event<'_>),
    ) {
        stats.gaps += 1;
        stats.gap_bytes += len;
        match reason {
            GapReason::Ack => stats.gaps_acked_unseen += 1,
            GapReason::Cap => stats.gaps_buffer_cap += 1,
            GapReason::Close => stats.gaps_at_close += 1,
        }
        emit(Event::Gap {
            offset: self.next,
            len,
            ts,
        });
        self.next += len;
    }

    /// Gives up on holes below `target`: delivers held data in order with gaps for the holes, and
    /// a final gap up to `target`.
    pub fn flush_to(
        &mut self,
        target: u64,
        global: &mut usize,
        stats: &mut ReassemblyStats,
        reason: GapReason,
        ts: Timestamp,
        emit: &mut dyn FnMut(Event<'_>),
    ) {
        while self.holds_below(target) {
            let first = *self
                .held
                .first_key_value()
                .map(|(s, _)| s)
                .unwrap_or(&self.next);
            if first > self.next {
                self.gap(stats, reason, first - self.next, ts, emit);
            }
            self.drain(global, emit);
        }
        if self.next < target {
            self.gap(stats, reason, target - self.next, ts, emit);
        }
    }

    /// Gives up on every hole: delivers everything held, and a gap up to the FIN if bytes before
    /// it are missing.
    pub fn flush_all(
        &mut self,
        global: &mut usize,
        stats: &mut ReassemblyStats,
        reason: GapReason,
        ts: Timestamp,
        emit: &mut dyn FnMut(Event<'_>),
    ) {
        let mut target = self.held_end().unwrap_or(self.next);
        if let Some(fin) = self.fin {
            target = target.max(fin);
        }
        self.flush_to(target, global, stats, reason, ts, emit);
    }

    /// Drops everything held (the connection is going away).
    pub fn clear(&mut self, global: &mut usize) {
        *global -= self.held_bytes;
        self.held_bytes = 0;
        self.held.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    enum Out {
        D(u64, Vec<u8>),
        G(u64, u64),
    }

    struct Harness {
        s: Stream,
        cfg: ReassemblyConfig,
        global: usize,
        stats: ReassemblyStats,
        out: Vec<Out>,
    }

    impl Harness {
        fn new(cfg: ReassemblyConfig) -> Harness {
            let mut s = Stream::default();
            s.start(1000);
            Harness {
                s,
                cfg,
                global: 0,
                stats: Default::default(),
                out: Vec::new(),
            }
        }
        fn put(&mut self, seq: u32, data: &[u8]) {
            let off = self.s.offset(seq);
            let out = &mut self.out;
            self.s.insert(
                &self.cfg,
                &mut self.global,
                &mut self.stats,
                off,
                data,
                Timestamp(0),
                None,
                &mut |e| {
                    out.push(match e {
                        Event::Data(c) => Out::D(c.offset, c.data.to_vec()),
                        Event::Gap { offset, len, .. } => Out::G(offset, len),
                    })
                },
            );
        }
        fn flush(&mut self) {
            let out = &mut self.out;
            self.s.flush_all(
                &mut self.global,
                &mut self.stats,
                GapReason::Close,
                Timestamp(0),
                &mut |e| {
                    out.push(match e {
                        Event::Data(c) => Out::D(c.offset, c.data.to_vec()),
                        Event::Gap { offset, len, .. } => Out::G(offset, len),
                    })
                },
            );
        }
        fn bytes(&self) -> Vec<u8> {
            let mut v = Vec::new();
            for o in &self.out {
                match o {
                    Out::D(_, d) => v.extend_from_slice(d),
                    Out::G(_, n) => v.extend(std::iter::repeat_n(b'?', *n as usize)),
                }
            }
            v
        }
    }

    #[test]
    fn in_order_is_delivered_at_once() {
        let mut h = Harness::new(ReassemblyConfig::default());
        h.put(1000, b"abc");
        h.put(1003, b"def");
        assert_eq!(
            h.out,
            vec![Out::D(0, b"abc".to_vec()), Out::D(3, b"def".to_vec())]
        );
        assert_eq!(h.global, 0);
    }

    #[test]
    fn out_of_order_waits_for_the_hole() {
        let mut h = Harness::new(ReassemblyConfig::default());
        h.put(1006, b"ghi");
        h.put(1003, b"def");
        assert!(h.out.is_empty());
        assert_eq!(h.global, 6);
        h.put(1000, b"abc");
        assert_eq!(h.bytes(), b"abcdefghi");
        assert_eq!(h.global, 0);
        assert_eq!(h.stats.out_of_order_segments, 2);
    }

    #[test]
    fn retransmission_and_overlap_first_copy_wins() {
        let mut h = Harness::new(ReassemblyConfig::default());
        h.put(1000, b"abcd");
        h.put(1000, b"abcd"); // full retransmission
        h.put(1008, b"ijkl");
        h.put(1006, b"XXYYZZ"); // overlaps held "ijkl" with different bytes
        h.put(1002, b"cdef"); // overlaps delivered "cd"
        assert_eq!(h.bytes(), b"abcdefXXijkl");
        assert_eq!(h.stats.retransmitted_segments, 1);
        assert_eq!(h.stats.overlap_conflicts, 1);
    }

    #[test]
    fn sequence_wraps_around() {
        let mut h = Harness::new(ReassemblyConfig::default());
        h.s.start(u32::MAX - 2);
        h.put(u32::MAX - 2, b"abc");
        h.put(1, b"ef"); // out of order, after the wrap
        h.put(0, b"d");
        assert_eq!(h.bytes(), b"abcdef");
        assert_eq!(h.s.next, 6);
    }

    #[test]
    fn holes_become_gaps_when_flushed() {
        let mut h = Harness::new(ReassemblyConfig::default());
        h.put(1000, b"ab");
        h.put(1005, b"fg");
        h.s.fin = Some(10);
        h.flush();
        assert_eq!(
            h.out,
            vec![
                Out::D(0, b"ab".to_vec()),
                Out::G(2, 3),
                Out::D(5, b"fg".to_vec()),
                Out::G(7, 3)
            ]
        );
        assert_eq!(h.stats.gaps, 2);
        assert_eq!(h.stats.gap_bytes, 6);
    }

    #[test]
    fn caps_skip_holes_instead_of_growing() {
        let cfg = ReassemblyConfig {
            max_buffered_per_dir: 8,
            max_segments_per_dir: 100,
            ..Default::default()
        };
        let mut h = Harness::new(cfg);
        h.put(1010, b"kkkk");
        h.put(1020, b"uuuu");
        h.put(1030, b"EEEE"); // would exceed 8 bytes held: flush with gaps
        assert_eq!(h.stats.cap_flushes, 1);
        assert_eq!(h.s.held_bytes, 0);
        assert_eq!(h.s.next, 34);
        assert_eq!(h.bytes().len(), 34);
        let cfg = ReassemblyConfig {
            max_segments_per_dir: 2,
            ..Default::default()
        };
        let mut h = Harness::new(cfg);
        for i in 0..50u32 {
            h.put(1000 + 10 + i * 2, b"x");
        }
        assert!(h.s.held.len() <= 2);
    }

    #[test]
    fn offsets_of_old_and_far_segments() {
        let mut s = Stream::default();
        s.start(100);
        assert_eq!(s.offset(100), 0);
        assert_eq!(s.offset(99), -1);
        assert_eq!(s.offset(100u32.wrapping_add(1 << 31)), -(1i64 << 31));
    }
}
