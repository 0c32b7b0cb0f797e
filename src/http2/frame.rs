//! HTTP/2 frames (RFC 9113 section 4 and 6): a typed view over the 9-byte frame header and
//! readers of the payloads shadowtap needs. Nothing here allocates or panics: a view is
//! checked once when it is made, and payload readers return `None` on a payload that is too
//! short for what its flags announce.

/// The connection preface a client sends first (RFC 9113 section 3.4).
pub const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Length of a frame header.
pub const HEADER_LEN: usize = 9;

/// A frame type. Unknown types are kept (and skipped), not rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FrameType(pub u8);

impl FrameType {
    /// DATA.
    pub const DATA: FrameType = FrameType(0);
    /// HEADERS.
    pub const HEADERS: FrameType = FrameType(1);
    /// PRIORITY.
    pub const PRIORITY: FrameType = FrameType(2);
    /// RST_STREAM.
    pub const RST_STREAM: FrameType = FrameType(3);
    /// SETTINGS.
    pub const SETTINGS: FrameType = FrameType(4);
    /// PUSH_PROMISE.
    pub const PUSH_PROMISE: FrameType = FrameType(5);
    /// PING.
    pub const PING: FrameType = FrameType(6);
    /// GOAWAY.
    pub const GOAWAY: FrameType = FrameType(7);
    /// WINDOW_UPDATE.
    pub const WINDOW_UPDATE: FrameType = FrameType(8);
    /// CONTINUATION.
    pub const CONTINUATION: FrameType = FrameType(9);
}

/// Frame flags.
pub mod flags {
    /// END_STREAM (DATA, HEADERS).
    pub const END_STREAM: u8 = 0x1;
    /// ACK (SETTINGS, PING).
    pub const ACK: u8 = 0x1;
    /// END_HEADERS (HEADERS, PUSH_PROMISE, CONTINUATION).
    pub const END_HEADERS: u8 = 0x4;
    /// PADDED (DATA, HEADERS, PUSH_PROMISE).
    pub const PADDED: u8 = 0x8;
    /// PRIORITY (HEADERS).
    pub const PRIORITY: u8 = 0x20;
}

/// A frame header, read from its 9 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// Payload length (24 bits).
    pub len: u32,
    /// Type.
    pub kind: FrameType,
    /// Flags.
    pub flags: u8,
    /// Stream identifier (the reserved bit cleared).
    pub stream: u32,
}

impl FrameHeader {
    /// Reads a frame header from the first 9 bytes of `b` (`None` when `b` is shorter).
    pub fn parse(b: &[u8]) -> Option<FrameHeader> {
        let h: &[u8; HEADER_LEN] = b.get(..HEADER_LEN)?.try_into().ok()?;
        Some(FrameHeader {
            len: u32::from_be_bytes([0, h[0], h[1], h[2]]),
            kind: FrameType(h[3]),
            flags: h[4],
            stream: u32::from_be_bytes([h[5], h[6], h[7], h[8]]) & 0x7fff_ffff,
        })
    }

    /// The 9 bytes of this header.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let l = self.len.to_be_bytes();
        let s = self.stream.to_be_bytes();
        [
            l[1],
            l[2],
            l[3],
            self.kind.0,
            self.flags,
            s[0],
            s[1],
            s[2],
            s[3],
        ]
    }

    /// True when flag `f` is set.
    pub fn has(&self, f: u8) -> bool {
        self.flags & f == f
    }

    /// True when this looks like the first frame a server sends (its SETTINGS, RFC 9113
    /// section 3.4): a SETTINGS frame on stream 0, not an ACK, of whole settings.
    pub fn is_initial_settings(&self) -> bool {
        self.kind == FrameType::SETTINGS
            && self.stream == 0
            && self.flags & flags::ACK == 0
            && self.len.is_multiple_of(6)
            && self.len <= 6 * 64
    }
}

/// The header block fragment of a HEADERS payload: padding and priority fields removed.
pub fn headers_fragment(flags: u8, payload: &[u8]) -> Option<&[u8]> {
    let p = unpad(flags, payload)?;
    if flags & self::flags::PRIORITY != 0 {
        p.get(5..)
    } else {
        Some(p)
    }
}

/// The promised stream and header block fragment of a PUSH_PROMISE payload.
pub fn push_promise(flags: u8, payload: &[u8]) -> Option<(u32, &[u8])> {
    let p = unpad(flags, payload)?;
    let id = u32::from_be_bytes(p.get(..4)?.try_into().ok()?) & 0x7fff_ffff;
    Some((id, &p[4..]))
}

/// A payload without its padding (the pad length byte and the trailing pad bytes).
pub fn unpad(flags: u8, payload: &[u8]) -> Option<&[u8]> {
    if flags & self::flags::PADDED == 0 {
        return Some(payload);
    }
    let (&pad, rest) = payload.split_first()?;
    rest.get(..rest.len().checked_sub(usize::from(pad))?)
}

/// The error code of a RST_STREAM payload.
pub fn rst_stream(payload: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(payload.get(..4)?.try_into().ok()?))
}

/// The last stream id and error code of a GOAWAY payload.
pub fn goaway(payload: &[u8]) -> Option<(u32, u32)> {
    let last = u32::from_be_bytes(payload.get(..4)?.try_into().ok()?) & 0x7fff_ffff;
    let code = u32::from_be_bytes(payload.get(4..8)?.try_into().ok()?);
    Some((last, code))
}

/// The (identifier, value) pairs of a SETTINGS payload.
pub fn settings(payload: &[u8]) -> impl Iterator<Item = (u16, u32)> + '_ {
    payload.chunks_exact(6).map(|c| {
        (
            u16::from_be_bytes([c[0], c[1]]),
            u32::from_be_bytes([c[2], c[3], c[4], c[5]]),
        )
    })
}

/// SETTINGS_HEADER_TABLE_SIZE.
pub const SETTINGS_HEADER_TABLE_SIZE: u16 = 1;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip() {
        let h = FrameHeader {
            len: 0x01_02_03,
            kind: FrameType::HEADERS,
            flags: flags::END_HEADERS | flags::END_STREAM,
            stream: 0x7fff_fff1,
        };
        assert_eq!(FrameHeader::parse(&h.to_bytes()), Some(h));
        // The reserved bit is ignored.
        let mut b = h.to_bytes();
        b[5] |= 0x80;
        assert_eq!(FrameHeader::parse(&b), Some(h));
        for n in 0..HEADER_LEN {
            assert_eq!(FrameHeader::parse(&b[..n]), None);
        }
    }

    #[test]
    fn padding_and_priority() {
        // pad length 2, priority (5 bytes), fragment "ab", 2 pad bytes.
        let p = [2, 0, 0, 0, 3, 16, b'a', b'b', 0, 0];
        assert_eq!(
            headers_fragment(flags::PADDED | flags::PRIORITY, &p),
            Some(&b"ab"[..])
        );
        assert_eq!(headers_fragment(flags::PADDED, &[5, 1]), None);
        assert_eq!(headers_fragment(flags::PADDED, &[]), None);
        assert_eq!(headers_fragment(flags::PRIORITY, &[0, 0]), None);
        assert_eq!(unpad(0, b"xy"), Some(&b"xy"[..]));
        assert_eq!(push_promise(0, &[0x80, 0, 0, 2, 7]), Some((2, &[7u8][..])));
        assert_eq!(goaway(&[0, 0, 0, 5, 0, 0, 0, 2]), Some((5, 2)));
        assert_eq!(rst_stream(&[0, 0, 0, 8]), Some(8));
        assert_eq!(rst_stream(&[0, 0, 8]), None);
        let s: Vec<_> = settings(&[0, 1, 0, 0, 16, 0, 0, 3]).collect();
        assert_eq!(s, vec![(1, 4096)]);
    }
}
