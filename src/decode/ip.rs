//! IPv4, IPv6 and TCP, read through etherparse's lax slices.

use super::DecodeError;
use super::frag::Fragment;
use etherparse::{IpNumber, LaxIpSlice, TcpSlice};
use std::net::IpAddr;

/// TCP header flags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// No more data from sender.
    pub const FIN: u8 = 0x01;
    /// Synchronize sequence numbers.
    pub const SYN: u8 = 0x02;
    /// Reset the connection.
    pub const RST: u8 = 0x04;
    /// Push.
    pub const PSH: u8 = 0x08;
    /// The acknowledgment field is significant.
    pub const ACK: u8 = 0x10;

    /// True when every bit of `mask` is set.
    pub fn has(self, mask: u8) -> bool {
        self.0 & mask == mask
    }
    /// FIN is set.
    pub fn fin(self) -> bool {
        self.has(Self::FIN)
    }
    /// SYN is set.
    pub fn syn(self) -> bool {
        self.has(Self::SYN)
    }
    /// RST is set.
    pub fn rst(self) -> bool {
        self.has(Self::RST)
    }
    /// ACK is set.
    pub fn ack(self) -> bool {
        self.has(Self::ACK)
    }
}

/// A TCP segment borrowed from a frame (or from a reassembled IP datagram).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpSegment<'a> {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Source port.
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// Sequence number of the first payload byte (or of the SYN).
    pub seq: u32,
    /// Acknowledgment number (meaningful when the ACK flag is set).
    pub ack: u32,
    /// Header flags.
    pub flags: TcpFlags,
    /// The captured payload.
    pub payload: &'a [u8],
    /// Payload bytes that were on the wire but not captured (snap length).
    pub missing: u32,
}

/// What an IP packet carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpPacket<'a> {
    /// A TCP segment.
    Tcp(TcpSegment<'a>),
    /// A piece of a fragmented datagram, to be reassembled.
    Fragment(Fragment<'a>),
    /// Any other transport (UDP, ICMP, ...), by IP protocol number.
    Other(u8),
}

/// Parses an IPv4 or IPv6 packet (version from its first nibble) down to TCP.
pub fn parse(packet: &[u8]) -> Result<IpPacket<'_>, DecodeError> {
    let (ip, _ext_err) = LaxIpSlice::from_slice(packet).map_err(|e| match e {
        etherparse::err::ip::LaxHeaderSliceError::Len(_) => DecodeError::Truncated("ip"),
        etherparse::err::ip::LaxHeaderSliceError::Content(_) => DecodeError::Malformed("ip"),
    })?;
    let src = ip.source_addr();
    let dst = ip.destination_addr();
    let payload = ip.payload();
    // Length of the IP payload on the wire, from the header, when the capture cut it short.
    let wire_len = if payload.incomplete {
        declared_payload_len(&ip)
    } else {
        payload.payload.len()
    };

    if payload.fragmented {
        return fragment(&ip, src, dst, payload.ip_number, payload.payload);
    }
    if payload.ip_number != IpNumber::TCP {
        return Ok(IpPacket::Other(payload.ip_number.0));
    }
    let missing = wire_len.saturating_sub(payload.payload.len());
    tcp(src, dst, payload.payload, missing as u32).map(IpPacket::Tcp)
}

fn declared_payload_len(ip: &LaxIpSlice<'_>) -> usize {
    match ip {
        LaxIpSlice::Ipv4(v4) => {
            let h = v4.header();
            let total = usize::from(h.total_len());
            let headers =
                h.slice().len() + v4.extensions().auth.map(|a| a.slice().len()).unwrap_or(0);
            if total == 0 {
                // TCP segmentation offload on the capturing host leaves total length at zero.
                v4.payload().payload.len()
            } else {
                total.saturating_sub(headers)
            }
        }
        LaxIpSlice::Ipv6(v6) => {
            let declared = usize::from(v6.header().payload_length());
            if declared == 0 {
                v6.payload().payload.len()
            } else {
                declared.saturating_sub(v6.extensions().slice().len())
            }
        }
    }
}

fn fragment<'a>(
    ip: &LaxIpSlice<'a>,
    src: IpAddr,
    dst: IpAddr,
    proto: IpNumber,
    data: &'a [u8],
) -> Result<IpPacket<'a>, DecodeError> {
    match ip {
        LaxIpSlice::Ipv4(v4) => {
            let h = v4.header();
            Ok(IpPacket::Fragment(Fragment {
                src,
                dst,
                id: u32::from(h.identification()),
                proto: proto.0,
                offset: u32::from(h.fragments_offset().byte_offset()),
                more: h.more_fragments(),
                data,
            }))
        }
        LaxIpSlice::Ipv6(v6) => {
            for ext in v6.extensions().clone() {
                if let etherparse::Ipv6ExtensionSlice::Fragment(f) = ext {
                    return Ok(IpPacket::Fragment(Fragment {
                        src,
                        dst,
                        id: f.identification(),
                        proto: f.next_header().0,
                        offset: u32::from(f.fragment_offset().byte_offset()),
                        more: f.more_fragments(),
                        data,
                    }));
                }
            }
            Err(DecodeError::Malformed("ipv6 fragment"))
        }
    }
}

/// Parses a TCP header and payload. `missing` is the count of payload bytes the capture lost.
pub fn tcp(
    src: IpAddr,
    dst: IpAddr,
    data: &[u8],
    missing: u32,
) -> Result<TcpSegment<'_>, DecodeError> {
    let t = TcpSlice::from_slice(data).map_err(|e| match e {
        etherparse::err::tcp::HeaderSliceError::Len(_) => DecodeError::Truncated("tcp"),
        etherparse::err::tcp::HeaderSliceError::Content(_) => DecodeError::Malformed("tcp"),
    })?;
    let raw_flags = data[13];
    Ok(TcpSegment {
        src,
        dst,
        sport: t.source_port(),
        dport: t.destination_port(),
        seq: t.sequence_number(),
        ack: t.acknowledgment_number(),
        flags: TcpFlags(raw_flags & 0x3f),
        payload: t.payload(),
        missing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    fn v4_tcp(payload: &[u8]) -> Vec<u8> {
        let b = PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .tcp(40000, 80, 1000, 65535)
            .ack(77)
            .psh();
        let mut out = Vec::new();
        b.write(&mut out, payload).unwrap();
        out
    }

    #[test]
    fn ipv4_tcp() {
        let pkt = v4_tcp(b"GET / HTTP/1.1\r\n\r\n");
        let IpPacket::Tcp(s) = parse(&pkt).unwrap() else {
            panic!()
        };
        assert_eq!((s.sport, s.dport, s.seq, s.ack), (40000, 80, 1000, 77));
        assert!(s.flags.ack() && !s.flags.syn());
        assert_eq!(s.payload, b"GET / HTTP/1.1\r\n\r\n");
        assert_eq!(s.missing, 0);
        assert_eq!(s.src, "10.0.0.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn snap_length_cut_counts_missing_bytes() {
        let pkt = v4_tcp(&[b'x'; 100]);
        let IpPacket::Tcp(s) = parse(&pkt[..pkt.len() - 30]).unwrap() else {
            panic!()
        };
        assert_eq!(s.payload.len(), 70);
        assert_eq!(s.missing, 30);
    }

    #[test]
    fn ethernet_padding_is_not_payload() {
        let mut pkt = v4_tcp(b"");
        pkt.extend_from_slice(&[0u8; 6]);
        let IpPacket::Tcp(s) = parse(&pkt).unwrap() else {
            panic!()
        };
        assert!(s.payload.is_empty());
    }

    #[test]
    fn ipv6_with_extension_headers() {
        // IPv6 header with a hop-by-hop options header (8 bytes) before TCP.
        let tcp = {
            let mut t = v4_tcp(b"hi");
            t.drain(..20); // keep the TCP header + payload (checksum is not checked)
            t
        };
        let mut pkt = vec![0x60, 0, 0, 0];
        pkt.extend_from_slice(&((8 + tcp.len()) as u16).to_be_bytes());
        pkt.push(0); // next header: hop-by-hop
        pkt.push(64);
        pkt.extend_from_slice(&[0u8; 15]);
        pkt.push(1);
        pkt.extend_from_slice(&[0u8; 15]);
        pkt.push(2);
        pkt.extend_from_slice(&[6, 0, 1, 4, 0, 0, 0, 0]); // next=TCP, len=0, PadN
        pkt.extend_from_slice(&tcp);
        let IpPacket::Tcp(s) = parse(&pkt).unwrap() else {
            panic!("{:?}", parse(&pkt))
        };
        assert_eq!(s.payload, b"hi");
        assert_eq!(s.dst, "::2".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn fragments_are_reported() {
        let mut pkt = v4_tcp(&[b'a'; 40]);
        pkt[6] = 0x20; // MF
        let IpPacket::Fragment(f) = parse(&pkt).unwrap() else {
            panic!()
        };
        assert!(f.more);
        assert_eq!(f.offset, 0);
        assert_eq!(f.proto, 6);
    }

    #[test]
    fn udp_is_other_and_garbage_is_an_error() {
        let mut out = Vec::new();
        PacketBuilder::ipv4([1, 1, 1, 1], [2, 2, 2, 2], 1)
            .udp(1, 2)
            .write(&mut out, b"x")
            .unwrap();
        assert_eq!(parse(&out), Ok(IpPacket::Other(17)));
        assert!(parse(&[]).is_err());
        assert!(parse(&[0x45, 0, 0]).is_err());
        let pkt = v4_tcp(b"abc");
        for cut in 0..pkt.len() {
            let _ = parse(&pkt[..cut]);
        }
    }
}
