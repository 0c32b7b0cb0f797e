//! Link layers: from a captured frame to the start of its IP packet.
//!
//! etherparse covers Ethernet II with VLAN tags, but not every header a tap host meets, so the
//! link layers are read here, each in a few lines over the raw bytes: Ethernet II with any mix of
//! 802.1Q / 802.1ad / QinQ tags and PPPoE sessions, Linux cooked SLL and SLL2, BSD loopback
//! NULL/LOOP (either byte order), raw IP and NFLOG.

use super::DecodeError;
use crate::capture::LinkType;

/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88a8;
const ETHERTYPE_QINQ_OLD: u16 = 0x9100;
const ETHERTYPE_PPPOE_SESSION: u16 = 0x8864;
/// At most this many stacked VLAN tags are walked before the frame is refused.
const MAX_VLAN_TAGS: usize = 8;

/// What a frame carries after its link-layer header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkPayload<'a> {
    /// An IPv4 packet (its first byte is the version/IHL byte).
    Ipv4(&'a [u8]),
    /// An IPv6 packet.
    Ipv6(&'a [u8]),
    /// Something else, named by its EtherType (or address family for loopback captures).
    NotIp(u16),
}

/// Strips the link-layer header of `frame`.
pub fn strip(link: LinkType, frame: &[u8]) -> Result<LinkPayload<'_>, DecodeError> {
    match link {
        LinkType::ETHERNET => ethernet(frame),
        LinkType::LINUX_SLL => {
            let proto = be16(frame, 14).ok_or(DecodeError::Truncated("linux_sll"))?;
            by_ethertype(proto, &frame[16..])
        }
        LinkType::LINUX_SLL2 => {
            let proto = be16(frame, 0).ok_or(DecodeError::Truncated("linux_sll2"))?;
            if frame.len() < 20 {
                return Err(DecodeError::Truncated("linux_sll2"));
            }
            by_ethertype(proto, &frame[20..])
        }
        LinkType::NULL | LinkType::LOOP => loopback(link, frame),
        LinkType::RAW | LinkType::RAW_BSD12 | LinkType::RAW_BSD14 => raw_ip(frame),
        LinkType::IPV4 => Ok(LinkPayload::Ipv4(frame)),
        LinkType::IPV6 => Ok(LinkPayload::Ipv6(frame)),
        LinkType::NFLOG => nflog(frame),
        other => Err(DecodeError::UnsupportedLink(other)),
    }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn by_ethertype(ethertype: u16, payload: &[u8]) -> Result<LinkPayload<'_>, DecodeError> {
    match ethertype {
        ETHERTYPE_IPV4 => Ok(LinkPayload::Ipv4(payload)),
        ETHERTYPE_IPV6 => Ok(LinkPayload::Ipv6(payload)),
        ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_OLD => vlan(payload, ethertype),
        ETHERTYPE_PPPOE_SESSION => pppoe(payload),
        other => Ok(LinkPayload::NotIp(other)),
    }
}

fn ethernet(frame: &[u8]) -> Result<LinkPayload<'_>, DecodeError> {
    let ethertype = be16(frame, 12).ok_or(DecodeError::Truncated("ethernet"))?;
    if ethertype < 0x0600 {
        // An 802.3 length field: LLC/SNAP, not IP over Ethernet II.
        return Ok(LinkPayload::NotIp(ethertype));
    }
    by_ethertype(ethertype, &frame[14..])
}

/// Walks stacked 802.1Q / 802.1ad tags; `rest` starts at the first tag control field.
fn vlan(mut rest: &[u8], mut ethertype: u16) -> Result<LinkPayload<'_>, DecodeError> {
    for _ in 0..MAX_VLAN_TAGS {
        if !matches!(
            ethertype,
            ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_OLD
        ) {
            return by_ethertype(ethertype, rest);
        }
        ethertype = be16(rest, 2).ok_or(DecodeError::Truncated("vlan"))?;
        rest = &rest[4..];
    }
    Err(DecodeError::TooManyVlanTags)
}

fn pppoe(rest: &[u8]) -> Result<LinkPayload<'_>, DecodeError> {
    // PPPoE session header (6 bytes) then the 2-byte PPP protocol.
    let proto = be16(rest, 6).ok_or(DecodeError::Truncated("pppoe"))?;
    let payload = &rest[8..];
    match proto {
        0x0021 => Ok(LinkPayload::Ipv4(payload)),
        0x0057 => Ok(LinkPayload::Ipv6(payload)),
        other => Ok(LinkPayload::NotIp(other)),
    }
}

/// BSD loopback: a 4-byte address family, in the capturing host's byte order for NULL and in
/// network order for LOOP. AF_INET is 2 everywhere; AF_INET6 is 10 (Linux), 24 (NetBSD,
/// OpenBSD), 28 (FreeBSD) or 30 (macOS, iOS).
fn loopback(link: LinkType, frame: &[u8]) -> Result<LinkPayload<'_>, DecodeError> {
    if frame.len() < 4 {
        return Err(DecodeError::Truncated("loopback"));
    }
    let raw = [frame[0], frame[1], frame[2], frame[3]];
    let family = if link == LinkType::LOOP {
        u32::from_be_bytes(raw)
    } else {
        // The writer's byte order is unknown: the family fits in one byte, so the non-zero end
        // tells which order was used.
        let le = u32::from_le_bytes(raw);
        if le <= 0xff {
            le
        } else {
            u32::from_be_bytes(raw)
        }
    };
    let payload = &frame[4..];
    match family {
        2 => Ok(LinkPayload::Ipv4(payload)),
        10 | 24 | 28 | 30 => Ok(LinkPayload::Ipv6(payload)),
        other => Ok(LinkPayload::NotIp(other.min(0xffff) as u16)),
    }
}

fn raw_ip(frame: &[u8]) -> Result<LinkPayload<'_>, DecodeError> {
    match frame.first().map(|b| b >> 4) {
        Some(4) => Ok(LinkPayload::Ipv4(frame)),
        Some(6) => Ok(LinkPayload::Ipv6(frame)),
        Some(_) => Ok(LinkPayload::NotIp(0)),
        None => Err(DecodeError::Truncated("raw")),
    }
}

/// NFLOG: a 4-byte header (address family, version, resource id) and then TLVs whose length and
/// type are in the capturing host's byte order, each padded to 4 bytes; type 9 (NFULA_PAYLOAD)
/// holds the IP packet.
fn nflog(frame: &[u8]) -> Result<LinkPayload<'_>, DecodeError> {
    const NFULA_PAYLOAD: u16 = 9;
    if frame.len() < 4 {
        return Err(DecodeError::Truncated("nflog"));
    }
    let family = frame[0];
    // Try little-endian TLVs first (almost every capturing host), then big-endian.
    for big_endian in [false, true] {
        let mut at = 4usize;
        let mut ok = true;
        while at + 4 <= frame.len() {
            let rd = |i: usize| {
                let b = [frame[i], frame[i + 1]];
                if big_endian {
                    u16::from_be_bytes(b)
                } else {
                    u16::from_le_bytes(b)
                }
            };
            let len = rd(at) as usize;
            let ty = rd(at + 2) & 0x7fff;
            if len < 4 || at + len > frame.len() {
                ok = false;
                break;
            }
            if ty == NFULA_PAYLOAD {
                let payload = &frame[at + 4..at + len];
                return match family {
                    2 => Ok(LinkPayload::Ipv4(payload)),
                    10 => Ok(LinkPayload::Ipv6(payload)),
                    _ => raw_ip(payload),
                };
            }
            at += (len + 3) & !3;
        }
        if ok {
            // Well-formed TLVs without a payload: nothing to decode.
            return Ok(LinkPayload::NotIp(0));
        }
    }
    Err(DecodeError::Malformed("nflog"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const IPV4_STUB: [u8; 2] = [0x45, 0x00];
    const IPV6_STUB: [u8; 2] = [0x60, 0x00];

    fn eth(ethertype: u16, rest: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(rest);
        f
    }

    #[test]
    fn ethernet_plain_and_tagged() {
        assert_eq!(
            strip(LinkType::ETHERNET, &eth(0x0800, &IPV4_STUB)),
            Ok(LinkPayload::Ipv4(&IPV4_STUB[..]))
        );
        // 802.1Q
        let mut tagged = vec![0x00, 0x64];
        tagged.extend_from_slice(&0x86ddu16.to_be_bytes());
        tagged.extend_from_slice(&IPV6_STUB);
        assert_eq!(
            strip(LinkType::ETHERNET, &eth(0x8100, &tagged)),
            Ok(LinkPayload::Ipv6(&IPV6_STUB[..]))
        );
        // QinQ: 802.1ad outer, 802.1Q inner
        let mut qinq = vec![0x00, 0x0a, 0x81, 0x00, 0x00, 0x14, 0x08, 0x00];
        qinq.extend_from_slice(&IPV4_STUB);
        assert_eq!(
            strip(LinkType::ETHERNET, &eth(0x88a8, &qinq)),
            Ok(LinkPayload::Ipv4(&IPV4_STUB[..]))
        );
        // Endless tags are refused, not followed.
        let endless: Vec<u8> = std::iter::repeat_n([0u8, 1, 0x81, 0x00], 20)
            .flatten()
            .collect();
        assert_eq!(
            strip(LinkType::ETHERNET, &eth(0x8100, &endless)),
            Err(DecodeError::TooManyVlanTags)
        );
        // 802.3 length and ARP are not IP.
        assert_eq!(
            strip(LinkType::ETHERNET, &eth(0x0040, &[])),
            Ok(LinkPayload::NotIp(0x40))
        );
        assert_eq!(
            strip(LinkType::ETHERNET, &eth(0x0806, &[])),
            Ok(LinkPayload::NotIp(0x0806))
        );
    }

    #[test]
    fn truncated_at_every_length() {
        let f = eth(0x8100, &[0, 1, 0x08, 0x00, 0x45]);
        for cut in 0..f.len() {
            // Never panics; short frames are errors or carry a short payload.
            let _ = strip(LinkType::ETHERNET, &f[..cut]);
        }
        assert!(strip(LinkType::ETHERNET, &f[..13]).is_err());
    }

    #[test]
    fn cooked_captures() {
        let mut sll = vec![0u8; 14];
        sll.extend_from_slice(&0x0800u16.to_be_bytes());
        sll.extend_from_slice(&IPV4_STUB);
        assert_eq!(
            strip(LinkType::LINUX_SLL, &sll),
            Ok(LinkPayload::Ipv4(&IPV4_STUB[..]))
        );
        // ARPHRD_LOOPBACK (772) frames carry an ordinary protocol field too.
        sll[2..4].copy_from_slice(&772u16.to_be_bytes());
        assert_eq!(
            strip(LinkType::LINUX_SLL, &sll),
            Ok(LinkPayload::Ipv4(&IPV4_STUB[..]))
        );
        let mut sll2 = 0x86ddu16.to_be_bytes().to_vec();
        sll2.extend_from_slice(&[0u8; 18]);
        sll2.extend_from_slice(&IPV6_STUB);
        assert_eq!(
            strip(LinkType::LINUX_SLL2, &sll2),
            Ok(LinkPayload::Ipv6(&IPV6_STUB[..]))
        );
        assert_eq!(
            strip(LinkType::LINUX_SLL2, &sll2[..19]),
            Err(DecodeError::Truncated("linux_sll2"))
        );
    }

    #[test]
    fn loopback_both_orders() {
        let mut le = 2u32.to_le_bytes().to_vec();
        le.extend_from_slice(&IPV4_STUB);
        assert_eq!(
            strip(LinkType::NULL, &le),
            Ok(LinkPayload::Ipv4(&IPV4_STUB[..]))
        );
        let mut be = 30u32.to_be_bytes().to_vec();
        be.extend_from_slice(&IPV6_STUB);
        assert_eq!(
            strip(LinkType::NULL, &be),
            Ok(LinkPayload::Ipv6(&IPV6_STUB[..]))
        );
        let mut lp = 24u32.to_be_bytes().to_vec();
        lp.extend_from_slice(&IPV6_STUB);
        assert_eq!(
            strip(LinkType::LOOP, &lp),
            Ok(LinkPayload::Ipv6(&IPV6_STUB[..]))
        );
    }

    #[test]
    fn raw_and_nflog() {
        assert_eq!(
            strip(LinkType::RAW, &IPV6_STUB),
            Ok(LinkPayload::Ipv6(&IPV6_STUB[..]))
        );
        assert_eq!(
            strip(LinkType::RAW, &[]),
            Err(DecodeError::Truncated("raw"))
        );
        // header, a prefix TLV (type 1, len 8), then the payload TLV (type 9)
        let mut nf = vec![2u8, 0, 0, 0];
        nf.extend_from_slice(&8u16.to_le_bytes());
        nf.extend_from_slice(&1u16.to_le_bytes());
        nf.extend_from_slice(&[0, 0, 0, 0]);
        nf.extend_from_slice(&6u16.to_le_bytes());
        nf.extend_from_slice(&9u16.to_le_bytes());
        nf.extend_from_slice(&IPV4_STUB);
        assert_eq!(
            strip(LinkType::NFLOG, &nf),
            Ok(LinkPayload::Ipv4(&IPV4_STUB[..]))
        );
        // A TLV running past the end in both byte orders is malformed.
        assert_eq!(
            strip(LinkType::NFLOG, &[2, 0, 0, 0, 0xff, 0x7f, 9, 0]),
            Err(DecodeError::Malformed("nflog"))
        );
        assert_eq!(
            strip(LinkType(147), &[1, 2, 3]),
            Err(DecodeError::UnsupportedLink(LinkType(147)))
        );
    }
}
