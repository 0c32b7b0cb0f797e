//! Sharding: which analysis worker a captured frame goes to.
//!
//! The capture thread reads only enough of each frame to find its IP addresses (and, in
//! [`ShardMode::Flow`], its ports), then hashes them symmetrically: both directions of a
//! connection give the same key, so one worker sees the whole conversation and reassembles it.
//!
//! [`ShardMode::Addresses`] (the default) hashes the two addresses only: every connection
//! between one client and one server address, and every IP fragment of them, goes to the same
//! worker. A principal identified by its address (or by a credential it uses from one address)
//! keeps its whole call sequence on one worker, so per-principal sequence analysis and rate
//! findings stay intact. Its weakness is balance when a few address pairs carry most of the
//! traffic (a tap behind a load balancer that talks to the backends from one address):
//! [`ShardMode::Flow`] then spreads connections by port too, at the cost of splitting one
//! client's connections (and so its sequences) across workers, and of analysing fragmented TCP
//! apart from its connection.
//!
//! Nothing here can panic on any input: every read is bounds-checked, and frames that are not
//! IP (or too short to tell) get key 0.

use crate::capture::LinkType;
pub use crate::config::ShardMode;
use crate::decode::LinkPayload;
use std::hash::{BuildHasher, Hasher};

/// A symmetric hash of a frame's endpoints, seeded once per process so that senders cannot
/// aim all their traffic at one worker.
#[derive(Clone)]
pub struct Sharder {
    mode: ShardMode,
    state: foldhash::fast::FixedState,
}

impl Sharder {
    /// A sharder with a random seed.
    pub fn new(mode: ShardMode) -> Sharder {
        let seed = std::collections::hash_map::RandomState::new().hash_one(0x005b_a4d1_u64);
        Sharder::with_seed(mode, seed)
    }

    /// A sharder with a fixed seed (tests).
    pub fn with_seed(mode: ShardMode, seed: u64) -> Sharder {
        Sharder {
            mode,
            state: foldhash::fast::FixedState::with_seed(seed),
        }
    }

    /// The key of a frame: equal for both directions of a connection.
    pub fn key(&self, link: LinkType, frame: &[u8]) -> u64 {
        let Some((a, b, ports)) = endpoints(link, frame, self.mode == ShardMode::Flow) else {
            return 0;
        };
        let (pa, pb) = ports.unwrap_or((0, 0));
        let ha = self.one(a, pa);
        let hb = self.one(b, pb);
        let (lo, hi) = if ha <= hb { (ha, hb) } else { (hb, ha) };
        let mut h = self.state.build_hasher();
        h.write_u64(lo);
        h.write_u64(hi);
        h.finish()
    }

    /// The worker (of `n`) a frame goes to.
    pub fn worker(&self, link: LinkType, frame: &[u8], n: usize) -> usize {
        if n <= 1 {
            return 0;
        }
        (self.key(link, frame) % n as u64) as usize
    }

    fn one(&self, addr: &[u8], port: u16) -> u64 {
        let mut h = self.state.build_hasher();
        h.write(addr);
        h.write_u16(port);
        h.finish()
    }
}

/// The source and destination address bytes and, when asked for and present (TCP or UDP, not
/// a fragment), the ports.
#[allow(clippy::type_complexity)]
fn endpoints(
    link: LinkType,
    frame: &[u8],
    want_ports: bool,
) -> Option<(&[u8], &[u8], Option<(u16, u16)>)> {
    match crate::decode::link::strip(link, frame).ok()? {
        LinkPayload::Ipv4(ip) => {
            let ihl = usize::from(*ip.first()? & 0x0f) * 4;
            let src = ip.get(12..16)?;
            let dst = ip.get(16..20)?;
            let proto = *ip.get(9)?;
            let frag = u16::from_be_bytes([*ip.get(6)?, *ip.get(7)?]) & 0x3fff != 0;
            let ports = (want_ports && !frag && (proto == 6 || proto == 17) && ihl >= 20)
                .then(|| ports_at(ip, ihl))
                .flatten();
            Some((src, dst, ports))
        }
        LinkPayload::Ipv6(ip) => {
            let src = ip.get(8..24)?;
            let dst = ip.get(24..40)?;
            let next = *ip.get(6)?;
            let ports = (want_ports && (next == 6 || next == 17))
                .then(|| ports_at(ip, 40))
                .flatten();
            Some((src, dst, ports))
        }
        LinkPayload::NotIp(_) => None,
    }
}

fn ports_at(ip: &[u8], at: usize) -> Option<(u16, u16)> {
    let p = ip.get(at..at.checked_add(4)?)?;
    Some((
        u16::from_be_bytes([p[0], p[1]]),
        u16::from_be_bytes([p[2], p[3]]),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Raw IPv4 + TCP header (link type RAW): 10.0.0.1:40000 -> 10.0.0.2:80.
    fn v4(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, frag: u16) -> Vec<u8> {
        let mut p = vec![
            0x45,
            0,
            0,
            40,
            0,
            1,
            (frag >> 8) as u8,
            frag as u8,
            64,
            6,
            0,
            0,
        ];
        p.extend_from_slice(&src);
        p.extend_from_slice(&dst);
        p.extend_from_slice(&sport.to_be_bytes());
        p.extend_from_slice(&dport.to_be_bytes());
        p.extend_from_slice(&[0; 16]);
        p
    }

    fn v6(src: u8, dst: u8, sport: u16, dport: u16) -> Vec<u8> {
        let mut p = vec![0x60, 0, 0, 0, 0, 20, 6, 64];
        p.extend_from_slice(&[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, src]);
        p.extend_from_slice(&[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, dst]);
        p.extend_from_slice(&sport.to_be_bytes());
        p.extend_from_slice(&dport.to_be_bytes());
        p.extend_from_slice(&[0; 16]);
        p
    }

    const A: [u8; 4] = [10, 0, 0, 1];
    const B: [u8; 4] = [10, 0, 0, 2];
    const C: [u8; 4] = [10, 0, 0, 3];

    #[test]
    fn both_directions_share_a_key() {
        for mode in [ShardMode::Addresses, ShardMode::Flow] {
            let s = Sharder::with_seed(mode, 7);
            let k = |p: &[u8]| s.key(LinkType::RAW, p);
            assert_eq!(k(&v4(A, B, 40000, 80, 0)), k(&v4(B, A, 80, 40000, 0)));
            assert_eq!(k(&v6(1, 2, 40000, 80)), k(&v6(2, 1, 80, 40000)));
            assert_ne!(k(&v4(A, B, 40000, 80, 0)), k(&v4(A, C, 40000, 80, 0)));
        }
    }

    #[test]
    fn addresses_mode_keeps_a_clients_connections_and_fragments_together() {
        let s = Sharder::with_seed(ShardMode::Addresses, 7);
        let k = |p: &[u8]| s.key(LinkType::RAW, p);
        let base = k(&v4(A, B, 40000, 80, 0));
        assert_eq!(base, k(&v4(A, B, 40001, 80, 0)));
        assert_eq!(base, k(&v4(B, A, 80, 51234, 0)));
        // A later fragment carries no ports: same key still.
        assert_eq!(base, k(&v4(A, B, 0x1234, 0x5678, 0x00b9)));
    }

    #[test]
    fn flow_mode_spreads_connections() {
        let s = Sharder::with_seed(ShardMode::Flow, 7);
        let workers: std::collections::BTreeSet<usize> = (0..64)
            .map(|i| s.worker(LinkType::RAW, &v4(A, B, 40000 + i, 80, 0), 4))
            .collect();
        assert!(workers.len() > 1, "{workers:?}");
    }

    #[test]
    fn spreads_clients_over_workers() {
        let s = Sharder::with_seed(ShardMode::Addresses, 11);
        let mut counts = [0usize; 4];
        for i in 0..4000u32 {
            let src = [10, (i >> 16) as u8, (i >> 8) as u8, i as u8];
            counts[s.worker(LinkType::RAW, &v4(src, B, 40000, 80, 0), 4)] += 1;
        }
        for c in counts {
            assert!((800..1200).contains(&c), "{counts:?}");
        }
    }

    #[test]
    fn never_panics_on_cut_frames() {
        let s = Sharder::with_seed(ShardMode::Flow, 3);
        for frame in [v4(A, B, 1, 2, 0), v6(1, 2, 3, 4)] {
            let mut eth = vec![0u8; 12];
            eth.extend_from_slice(if frame[0] >> 4 == 4 {
                &[0x08, 0x00]
            } else {
                &[0x86, 0xdd]
            });
            eth.extend_from_slice(&frame);
            for cut in 0..=eth.len() {
                let _ = s.key(LinkType::ETHERNET, &eth[..cut]);
                let _ = s.worker(LinkType::RAW, &frame[..cut.min(frame.len())], 3);
            }
        }
        assert_eq!(s.key(LinkType::ETHERNET, &[0u8; 14]), 0);
        assert_eq!(s.worker(LinkType(9999), b"junk", 4), 0);
    }
}
