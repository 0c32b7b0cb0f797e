//! Flow identity: endpoints, canonical keys, directions and flow ids.

use crate::decode::TcpSegment;
use crate::time::Timestamp;
use std::fmt;
use std::net::IpAddr;

/// An address and port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    /// IP address.
    pub ip: IpAddr,
    /// TCP port.
    pub port: u16,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ip {
            IpAddr::V4(ip) => write!(f, "{ip}:{}", self.port),
            IpAddr::V6(ip) => write!(f, "[{ip}]:{}", self.port),
        }
    }
}

/// A TCP connection's key, the same for both directions: `a` is the lower endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FlowKey {
    /// The lower endpoint.
    pub a: Endpoint,
    /// The higher endpoint.
    pub b: Endpoint,
}

/// Direction of a segment relative to its [`FlowKey`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dir {
    /// Sent by `a` to `b`.
    AtoB = 0,
    /// Sent by `b` to `a`.
    BtoA = 1,
}

impl Dir {
    /// The other direction.
    pub fn flip(self) -> Dir {
        match self {
            Dir::AtoB => Dir::BtoA,
            Dir::BtoA => Dir::AtoB,
        }
    }
    /// 0 or 1, to index per-direction arrays.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl FlowKey {
    /// The key of a segment's connection, and the segment's direction within it.
    pub fn of(seg: &TcpSegment<'_>) -> (FlowKey, Dir) {
        let src = Endpoint {
            ip: seg.src,
            port: seg.sport,
        };
        let dst = Endpoint {
            ip: seg.dst,
            port: seg.dport,
        };
        if src <= dst {
            (FlowKey { a: src, b: dst }, Dir::AtoB)
        } else {
            (FlowKey { a: dst, b: src }, Dir::BtoA)
        }
    }

    /// The sender of direction `dir`.
    pub fn source(&self, dir: Dir) -> Endpoint {
        match dir {
            Dir::AtoB => self.a,
            Dir::BtoA => self.b,
        }
    }
}

/// A connection's id, printed the way Zeek prints its `uid` (`C` and base-62 digits). It is a
/// hash of the key, the first packet's time and how many connections the flow table had opened
/// before: reading the same capture twice gives the same ids, and two connections of one table
/// never share one, even on the same endpoints at the same time (a connection closed and
/// reopened by a duplicated frame, a capture clock of low resolution).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowId(pub u64);

impl FlowId {
    /// The id of the connection `key` first seen at `ts`, the `nth` connection (from 0) that its
    /// flow table opened.
    pub fn derive(key: &FlowKey, ts: Timestamp, nth: u64) -> FlowId {
        // FNV-1a: stable across runs and Rust versions.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |bytes: &[u8]| {
            for &b in bytes {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
        };
        for ep in [key.a, key.b] {
            match ep.ip {
                IpAddr::V4(ip) => eat(&ip.octets()),
                IpAddr::V6(ip) => eat(&ip.octets()),
            }
            eat(&ep.port.to_be_bytes());
        }
        eat(&ts.as_nanos().to_be_bytes());
        eat(&nth.to_be_bytes());
        FlowId(h)
    }
}

impl fmt::Display for FlowId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const DIGITS: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let mut buf = [b'0'; 11];
        let mut v = self.0;
        for slot in buf.iter_mut().rev() {
            *slot = DIGITS[(v % 62) as usize];
            v /= 62;
        }
        f.write_str("C")?;
        f.write_str(std::str::from_utf8(&buf).unwrap_or("?"))
    }
}

/// What the reassembler knows about a connection, handed to the application with every event.
#[derive(Clone, Debug)]
pub struct FlowMeta {
    /// Connection id.
    pub id: FlowId,
    /// Endpoints.
    pub key: FlowKey,
    /// Time of the first packet seen.
    pub first_ts: Timestamp,
    /// The direction that opened the connection, when the handshake was seen (sender of the bare
    /// SYN, or the receiver of the SYN-ACK).
    pub opener: Option<Dir>,
    /// The first packet seen was not a SYN: the connection was picked up mid-stream.
    pub midstream: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_symmetric() {
        let seg = TcpSegment {
            src: "10.0.0.9".parse().unwrap(),
            dst: "10.0.0.1".parse().unwrap(),
            sport: 5555,
            dport: 80,
            seq: 0,
            ack: 0,
            flags: Default::default(),
            payload: &[],
            missing: 0,
        };
        let (k1, d1) = FlowKey::of(&seg);
        let rev = TcpSegment {
            src: seg.dst,
            dst: seg.src,
            sport: seg.dport,
            dport: seg.sport,
            ..seg
        };
        let (k2, d2) = FlowKey::of(&rev);
        assert_eq!(k1, k2);
        assert_eq!(d1, d2.flip());
        assert_eq!(k1.source(d1).port, 5555);
    }

    /// Records the id of every connection opened.
    struct Ids;

    impl crate::reassembly::FlowApp for Ids {
        type Ctx = Vec<FlowId>;
        fn open(ctx: &mut Vec<FlowId>, meta: &FlowMeta) -> Ids {
            ctx.push(meta.id);
            Ids
        }
        fn data(
            &mut self,
            _: &mut Vec<FlowId>,
            _: &FlowMeta,
            _: Dir,
            _: crate::reassembly::Chunk<'_>,
        ) {
        }
        fn gap(&mut self, _: &mut Vec<FlowId>, _: &FlowMeta, _: Dir, _: u64, _: u64, _: Timestamp) {
        }
        fn eof(&mut self, _: &mut Vec<FlowId>, _: &FlowMeta, _: Dir, _: Timestamp) {}
        fn close(
            &mut self,
            _: &mut Vec<FlowId>,
            _: &FlowMeta,
            _: Timestamp,
            _: crate::reassembly::CloseReason,
        ) {
        }
    }

    /// The ids of the connections opened by `packets` (IPv4), all captured at `ts`.
    fn ids_of(packets: &[Vec<u8>], ts: Timestamp) -> Vec<FlowId> {
        let mut table = crate::reassembly::Reassembler::<Ids>::new(Default::default());
        let mut ids = Vec::new();
        for p in packets {
            let Ok(crate::decode::IpPacket::Tcp(seg)) = crate::decode::ip::parse(p) else {
                panic!("not TCP")
            };
            table.segment(&mut ids, ts, &seg);
        }
        ids
    }

    /// Fuzz finding 8: a connection closed by a packet and a new one opened on the same 4-tuple
    /// by a packet with the same capture time (a duplicated frame) had the same id.
    #[test]
    fn reopened_connection_at_the_same_time_gets_a_new_id() {
        // The fuzz reproducer: SYN+FIN+RST+PSH with the payload `O\n\n`, sent twice.
        let mut pkt = Vec::new();
        etherparse::PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .tcp(40000, 80, 1000, 65535)
            .syn()
            .fin()
            .rst()
            .psh()
            .write(&mut pkt, b"O\n\n")
            .unwrap();
        let ts = Timestamp(1_700_000_000_000_000_000);
        let ids = ids_of(&[pkt.clone(), pkt.clone()], ts);
        assert_eq!(ids.len(), 2, "the second frame opens a second connection");
        assert_ne!(ids[0], ids[1]);
        // Still the same ids for the same packets.
        assert_eq!(ids, ids_of(&[pkt.clone(), pkt], ts));
    }

    #[test]
    fn ids_are_stable_and_distinct() {
        let k = FlowKey {
            a: Endpoint {
                ip: "10.0.0.1".parse().unwrap(),
                port: 80,
            },
            b: Endpoint {
                ip: "10.0.0.2".parse().unwrap(),
                port: 1234,
            },
        };
        let id = FlowId::derive(&k, Timestamp(5), 0);
        assert_eq!(id, FlowId::derive(&k, Timestamp(5), 0));
        assert_ne!(id, FlowId::derive(&k, Timestamp(6), 0));
        assert_ne!(id, FlowId::derive(&k, Timestamp(5), 1));
        let s = id.to_string();
        assert_eq!(s.len(), 12);
        assert!(s.starts_with('C'));
    }
}
