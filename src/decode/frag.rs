//! IP fragment reassembly, within fixed bounds.
//!
//! Fragments are keyed by (source, destination, identification, protocol). Overlapping fragments
//! keep the bytes that arrived first (counted as overlaps). A datagram larger than 65535 bytes, one
//! with too many pieces, or one whose fragments stop arriving is dropped and counted; when more
//! datagrams are pending than allowed, the oldest is dropped. Memory is bounded by
//! `max_datagrams` and `max_bytes`.

use crate::time::Timestamp;
use std::collections::{HashMap, VecDeque};
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
    order: VecDeque<(Key, u64)>,
    generation: u64,
    bytes: usize,
    stats: DefragStats,
}

impl Defragmenter {
    /// An empty defragmenter.
    pub fn new(cfg: DefragConfig) -> Defragmenter {
        Defragmenter {
            cfg,
            pending: HashMap::default(),
            order: VecDeque::new(),
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
        if !self.pending.contains_key(&key) {
            while self.pending.len() >= self.cfg.max_datagrams.max(1) {
                if !self.evict_oldest() {
                    break;
                }
            }
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
            self.order.push_back((key, self.generation));
        }
        while self.bytes + frag.data.len() > self.cfg.max_bytes && self.pending.len() > 1 {
            if !self.evict_oldest_except(&key) {
                break;
            }
        }
        if self.bytes + frag.data.len() > self.cfg.max_bytes {
            self.stats.evicted += 1;
            self.drop_key(&key);
            return None;
        }

        let p = self.pending.get_mut(&key)?;
        if !frag.more {
            if p.total.is_some_and(|t| t != end) || p.have.last().is_some_and(|r| r.1 > end) {
                self.stats.invalid += 1;
                self.drop_key(&key);
                return None;
            }
            p.total = Some(end);
        } else if p.total.is_some_and(|t| end > t) {
            self.stats.invalid += 1;
            self.drop_key(&key);
            return None;
        }
        if p.buf.len() < end as usize {
            self.bytes += end as usize - p.buf.len();
            p.buf.resize(end as usize, 0);
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
            let p = self.pending.remove(&key)?;
            self.bytes -= p.buf.len();
            self.stats.reassembled += 1;
            return Some((key.proto, p.buf));
        }
        None
    }

    /// Drops datagrams older than the timeout.
    pub fn expire(&mut self, now: Timestamp) {
        while let Some(&(key, generation)) = self.order.front() {
            match self.pending.get(&key) {
                Some(p) if p.generation == generation => {
                    if now.nanos_since(p.first_ts) <= self.cfg.timeout_ns {
                        break;
                    }
                    self.stats.timed_out += 1;
                    self.drop_key(&key);
                }
                _ => {}
            }
            self.order.pop_front();
        }
    }

    fn evict_oldest(&mut self) -> bool {
        while let Some((key, generation)) = self.order.pop_front() {
            if self
                .pending
                .get(&key)
                .is_some_and(|p| p.generation == generation)
            {
                self.stats.evicted += 1;
                self.drop_key(&key);
                return true;
            }
        }
        false
    }

    fn evict_oldest_except(&mut self, keep: &Key) -> bool {
        let victim = self
            .order
            .iter()
            .find(|(k, g)| k != keep && self.pending.get(k).is_some_and(|p| p.generation == *g))
            .map(|(k, _)| *k);
        match victim {
            Some(k) => {
                self.stats.evicted += 1;
                self.drop_key(&k);
                true
            }
            None => false,
        }
    }

    fn drop_key(&mut self, key: &Key) {
        if let Some(p) = self.pending.remove(key) {
            self.bytes -= p.buf.len();
        }
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
