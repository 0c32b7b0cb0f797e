//! IP fragment reassembly, within fixed bounds.
//!
//! Fragments are keyed by (source, destination, identification, protocol). Overlapping fragments
//! keep the bytes that arrived first (counted as overlaps). A datagram larger than 65535 bytes, one
//! with too many pieces, or one whose fragments stop arriving is dropped and counted; when more
//! datagrams are pending than allowed, the oldest is dropped. Memory is bounded by
//! `max_datagrams` and `max_bytes`: a datagram's buffer is counted against `max_bytes` before it
//! is allocated (it spans from the datagram's start to the end of the furthest fragment seen), and
//! the bookkeeping (one table entry and one age entry per pending datagram, at most 65 byte ranges
//! each) holds nothing for datagrams that are gone.

use crate::time::Timestamp;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

/// A fragment of an IP datagram, borrowed from its frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fragment<'a> {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// IPv4 identification (16 bits) or IPv6 fragment identification (32 bits).
    pub id: u32,
    /// Protocol of the reassembled payload.
    pub proto: u8,
    /// Byte offset of `data` within the datagram's payload.
    pub offset: u32,
    /// More fragments follow.
    pub more: bool,
    /// The fragment's bytes.
    pub data: &'a [u8],
}

/// Bounds of the defragmenter.
#[derive(Clone, Debug)]
pub struct DefragConfig {
    /// Datagrams being reassembled at once.
    pub max_datagrams: usize,
    /// Bytes buffered across all of them.
    pub max_bytes: usize,
    /// A datagram not completed within this time is dropped (nanoseconds of packet time).
    pub timeout_ns: i64,
}

impl Default for DefragConfig {
    fn default() -> Self {
        DefragConfig {
            max_datagrams: 1024,
            max_bytes: 16 << 20,
            timeout_ns: 30_000_000_000,
        }
    }
}

/// Counters of the defragmenter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DefragStats {
    /// Fragments received.
    pub fragments: u64,
    /// Datagrams completed.
    pub reassembled: u64,
    /// Datagrams dropped because their fragments stopped arriving.
    pub timed_out: u64,
    /// Datagrams dropped to stay within `max_datagrams` or `max_bytes`.
    pub evicted: u64,
    /// Datagrams dropped as invalid (beyond 65535 bytes, too many pieces, inconsistent end).
    pub invalid: u64,
    /// Fragments that overlapped bytes already held.
    pub overlaps: u64,
    /// Fragments refused because their datagram's buffer would not fit within `max_bytes` even
    /// with every other datagram evicted (their datagram is dropped, and counted in `evicted`).
    pub over_budget: u64,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    src: IpAddr,
    dst: IpAddr,
    id: u32,
    proto: u8,
}

struct Pending {
    generation: u64,
    first_ts: Timestamp,
    /// The payload from offset 0 to the end of the furthest fragment; its capacity is what is
    /// counted against `max_bytes`.
    buf: Vec<u8>,
    /// Received byte ranges, sorted and merged.
    have: Vec<(u32, u32)>,
    /// Datagram payload length, once the last fragment was seen.
    total: Option<u32>,
}

const MAX_DATAGRAM: u32 = 65_535;
const MAX_PIECES: usize = 64;

/// Reassembles fragmented IP datagrams.
pub struct Defragmenter {
    cfg: DefragConfig,
    pending: HashMap<Key, Pending, foldhash::fast::RandomState>,
    /// Pending datagrams by age (generation), exactly one entry per entry of `pending`.
    order: BTreeMap<u64, Key>,
    generation: u64,
    /// Capacity of every pending datagram's buffer.
    bytes: usize,
    stats: DefragStats,
}

impl Defragmenter {
    /// An empty defragmenter.
    pub fn new(cfg: DefragConfig) -> Defragmenter {
        Defragmenter {
            cfg,
            pending: HashMap::default(),
            order: BTreeMap::new(),
            generation: 0,
            bytes: 0,
            stats: DefragStats::default(),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> DefragStats {
        self.stats
    }

    /// Datagrams currently pending.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Bytes buffered for pending datagrams (at most `max_bytes`).
    pub fn buffered(&self) -> usize {
        self.bytes
    }

    /// Adds a fragment. Returns the protocol and payload of the datagram it completes, if any.
    pub fn push(&mut self, ts: Timestamp, frag: &Fragment<'_>) -> Option<(u8, Vec<u8>)> {
        self.stats.fragments += 1;
        self.expire(ts);
        let key = Key {
            src: frag.src,
            dst: frag.dst,
            id: frag.id,
            proto: frag.proto,
        };
        let start = frag.offset;
        let end = start.saturating_add(frag.data.len() as u32);
        if end > MAX_DATAGRAM {
            self.stats.invalid += 1;
            self.drop_key(&key);
            return None;
        }
        // Checks that need what is known of the datagram so far.
        let held = match self.pending.get(&key) {
            Some(p) => {
                let bad_end = if frag.more {
                    p.total.is_some_and(|t| end > t)
                } else {
                    p.total.is_some_and(|t| t != end) || p.have.last().is_some_and(|r| r.1 > end)
                };
                if bad_end {
                    self.stats.invalid += 1;
                    self.drop_key(&key);
                    return None;
                }
                Some(p.buf.capacity())
            }
            None => None,
        };
        // The buffer must grow to `end`: count that against max_bytes before allocating it.
        let grow = (end as usize).saturating_sub(held.unwrap_or(0));
        if held.is_none() {
            while self.pending.len() >= self.cfg.max_datagrams.max(1) {
                if !self.evict_oldest_except(&key) {
                    break;
                }
            }
        }
        while self.bytes + grow > self.cfg.max_bytes {
            if !self.evict_oldest_except(&key) {
                break;
            }
        }
        if self.bytes + grow > self.cfg.max_bytes {
            self.stats.over_budget += 1;
            self.stats.evicted += 1;
            self.drop_key(&key);
            return None;
        }
        if held.is_none() {
            self.generation += 1;
            self.pending.insert(
                key,
                Pending {
                    generation: self.generation,
                    first_ts: ts,
                    buf: Vec::new(),
                    have: Vec::new(),
                    total: None,
                },
            );
            self.order.insert(self.generation, key);
        }

        let p = self.pending.get_mut(&key)?;
        if !frag.more {
            p.total = Some(end);
        }
        if p.buf.len() < end as usize {
            let before = p.buf.capacity();
            p.buf.reserve_exact(end as usize - p.buf.len());
            p.buf.resize(end as usize, 0);
            self.bytes += p.buf.capacity() - before;
        }
        // Copy only the parts not held yet: the first copy of a byte wins.
        let mut pos = start;
        let mut overlapped = false;
        for &(hs, he) in &p.have {
            if he <= pos || hs >= end {
                continue;
            }
            overlapped = true;
            if hs > pos {
                let (a, b) = (pos as usize, hs as usize);
                p.buf[a..b].copy_from_slice(&frag.data[a - start as usize..b - start as usize]);
            }
            pos = pos.max(he);
        }
        if pos < end {
            let (a, b) = (pos as usize, end as usize);
            p.buf[a..b].copy_from_slice(&frag.data[a - start as usize..b - start as usize]);
        }
        if overlapped {
            self.stats.overlaps += 1;
        }
        insert_range(&mut p.have, (start, end));
        if p.have.len() > MAX_PIECES {
            self.stats.invalid += 1;
            self.drop_key(&key);
            return None;
        }
        let complete = p
            .total
            .is_some_and(|t| p.have.len() == 1 && p.have[0] == (0, t));
        if complete {
            let p = self.remove(&key)?;
            self.stats.reassembled += 1;
            return Some((key.proto, p.buf));
        }
        None
    }

    /// Drops datagrams older than the timeout.
    pub fn expire(&mut self, now: Timestamp) {
        while let Some((_, &key)) = self.order.first_key_value() {
            match self.pending.get(&key) {
                Some(p) if now.nanos_since(p.first_ts) <= self.cfg.timeout_ns => break,
                Some(_) => {
                    self.stats.timed_out += 1;
                    self.drop_key(&key);
                }
                // Not reached: `order` and `pending` hold the same datagrams.
                None => {
                    self.order.pop_first();
                }
            }
        }
    }

    /// Drops the oldest pending datagram other than `keep`; false when there is none.
    fn evict_oldest_except(&mut self, keep: &Key) -> bool {
        let victim = self.order.values().find(|k| *k != keep).copied();
        match victim {
            Some(k) => {
                self.stats.evicted += 1;
                self.drop_key(&k);
                true
            }
            None => false,
        }
    }

    /// Removes a datagram from the table, the age index and the byte count.
    fn remove(&mut self, key: &Key) -> Option<Pending> {
        let p = self.pending.remove(key)?;
        self.order.remove(&p.generation);
        self.bytes -= p.buf.capacity();
        Some(p)
    }

    fn drop_key(&mut self, key: &Key) {
        self.remove(key);
    }
}

fn insert_range(have: &mut Vec<(u32, u32)>, (mut s, mut e): (u32, u32)) {
    if s >= e {
        return;
    }
    let mut out = Vec::with_capacity(have.len() + 1);
    let mut placed = false;
    for &(hs, he) in have.iter() {
        if he < s {
            out.push((hs, he));
        } else if hs > e {
            if !placed {
                out.push((s, e));
                placed = true;
            }
            out.push((hs, he));
        } else {
            s = s.min(hs);
            e = e.max(he);
        }
    }
    if !placed {
        out.push((s, e));
    }
    *have = out;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frag(offset: u32, more: bool, data: &[u8]) -> Fragment<'_> {
        Fragment {
            src: "10.0.0.1".parse().unwrap(),
            dst: "10.0.0.2".parse().unwrap(),
            id: 7,
            proto: 6,
            offset,
            more,
            data,
        }
    }

    #[test]
    fn in_order_and_reversed() {
        let data: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
        for order in [[0usize, 1, 2], [2, 1, 0], [1, 2, 0]] {
            let mut d = Defragmenter::new(DefragConfig::default());
            let pieces = [
                frag(0, true, &data[..1000]),
                frag(1000, true, &data[1000..2000]),
                frag(2000, false, &data[2000..]),
            ];
            let mut out = None;
            for i in order {
                out = d.push(Timestamp(0), &pieces[i]);
            }
            assert_eq!(out, Some((6, data.clone())));
            assert_eq!(d.pending(), 0);
        }
    }

    #[test]
    fn overlap_keeps_first_copy() {
        let mut d = Defragmenter::new(DefragConfig::default());
        assert!(d.push(Timestamp(0), &frag(0, true, b"AAAAAAAA")).is_none());
        let (_, out) = d.push(Timestamp(0), &frag(4, false, b"BBBBBBBB")).unwrap();
        assert_eq!(out, b"AAAAAAAABBBB");
        assert_eq!(d.stats().overlaps, 1);
    }

    #[test]
    fn bounds() {
        let mut d = Defragmenter::new(DefragConfig {
            max_datagrams: 2,
            max_bytes: 100,
            timeout_ns: 10,
        });
        // too large
        assert!(
            d.push(Timestamp(0), &frag(65_530, false, &[0; 10]))
                .is_none()
        );
        assert_eq!(d.stats().invalid, 1);
        // over max_bytes
        assert!(d.push(Timestamp(0), &frag(0, true, &[0; 200])).is_none());
        assert_eq!(d.stats().evicted, 1);
        // timeout
        assert!(d.push(Timestamp(0), &frag(0, true, &[0; 8])).is_none());
        assert!(d.push(Timestamp(100), &frag(8, false, &[0; 8])).is_none());
        assert_eq!(d.stats().timed_out, 1);
        // max datagrams: a third id evicts the oldest
        for id in 0..3 {
            let mut f = frag(0, true, &[1; 8]);
            f.id = 100 + id;
            d.push(Timestamp(100), &f);
        }
        assert!(d.pending() <= 2);
    }

    /// IPv4 fragments as they come off the wire: a 20-byte header and `payload`.
    fn v4_fragment(id: u16, offset: u16, more: bool, payload: &[u8]) -> Vec<u8> {
        let len = (20 + payload.len()) as u16;
        let flags_offset = (u16::from(more) << 13) | (offset / 8);
        let mut pkt = vec![0x45, 0];
        pkt.extend_from_slice(&len.to_be_bytes());
        pkt.extend_from_slice(&id.to_be_bytes());
        pkt.extend_from_slice(&flags_offset.to_be_bytes());
        pkt.extend_from_slice(&[64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
        pkt.extend_from_slice(payload);
        pkt
    }

    fn push_wire(d: &mut Defragmenter, ts: Timestamp, pkt: &[u8]) -> Option<(u8, Vec<u8>)> {
        match crate::decode::ip::parse(pkt) {
            Ok(crate::decode::IpPacket::Fragment(f)) => d.push(ts, &f),
            other => panic!("not a fragment: {other:?}"),
        }
    }

    /// Fuzz finding 1: a header-only fragment at offset 65528 made a 64 KiB buffer while only its
    /// own (zero) bytes were counted against `max_bytes`.
    #[test]
    fn high_offset_fragment_is_counted_before_allocating() {
        // The fuzz reproducer: IHL 5, total length 0xffff, MF and offset 65528, no payload.
        let pkt = [
            0x45, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ];
        let mut d = Defragmenter::new(DefragConfig {
            max_datagrams: 4,
            max_bytes: 4096,
            timeout_ns: 5_000_000_000,
        });
        assert_eq!(push_wire(&mut d, Timestamp(0), &pkt), None);
        assert!(d.buffered() <= 4096, "{} bytes buffered", d.buffered());
        assert_eq!(d.pending(), 0);
        assert_eq!((d.stats().over_budget, d.stats().evicted), (1, 1));

        // A datagram that fits is still reassembled, and a far fragment of it that would not fit
        // drops it instead of growing past the budget.
        let a = v4_fragment(9, 0, true, &[1; 1000]);
        let b = v4_fragment(9, 1000, false, &[2; 1000]);
        assert_eq!(push_wire(&mut d, Timestamp(0), &a), None);
        let (_, out) = push_wire(&mut d, Timestamp(0), &b).unwrap();
        assert_eq!(out.len(), 2000);
        assert_eq!(d.buffered(), 0);
        assert_eq!(push_wire(&mut d, Timestamp(0), &a), None);
        assert_eq!(
            push_wire(&mut d, Timestamp(0), &v4_fragment(9, 8000, true, &[3; 8])),
            None
        );
        assert!(d.buffered() <= 4096);
        assert_eq!(d.stats().over_budget, 2);
    }

    /// Fuzz finding 2: entries of completed datagrams stayed in the age queue behind one datagram
    /// that had not timed out, so the queue grew with every datagram.
    #[test]
    fn age_index_holds_only_pending_datagrams() {
        let mut d = Defragmenter::new(DefragConfig {
            max_datagrams: 4,
            max_bytes: 16 << 10,
            timeout_ns: 30_000_000_000,
        });
        assert_eq!(
            push_wire(&mut d, Timestamp(0), &v4_fragment(1, 0, true, &[0; 8])),
            None
        );
        for id in 2..2002u16 {
            let a = v4_fragment(id, 0, true, &[0; 16]);
            let b = v4_fragment(id, 16, false, &[0; 16]);
            assert_eq!(push_wire(&mut d, Timestamp(1), &a), None);
            assert!(push_wire(&mut d, Timestamp(1), &b).is_some());
        }
        assert_eq!(d.stats().reassembled, 2000);
        assert_eq!(d.pending(), 1);
        assert_eq!(d.order.len(), 1, "age index holds completed datagrams");
        // The stuck one still times out.
        d.expire(Timestamp(31_000_000_000));
        assert_eq!((d.pending(), d.order.len(), d.buffered()), (0, 0, 0));
        assert_eq!(d.stats().timed_out, 1);
    }

    #[test]
    fn many_tiny_pieces_are_refused() {
        let mut d = Defragmenter::new(DefragConfig::default());
        for i in 0..200u32 {
            d.push(Timestamp(0), &frag(i * 16, true, &[0; 8]));
        }
        assert!(d.stats().invalid >= 1);
        assert!(d.pending() <= 1);
    }
}
