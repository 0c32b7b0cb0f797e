//! WebSocket frames (RFC 6455 section 5.2): a typed view over a frame header and the masking
//! transform. Nothing here allocates or panics: a [`Frame`] view is checked once when it is
//! made ([`Frame::new_checked`]), after which no accessor can fail, and [`FrameHeader`] is
//! the owned summary the streaming parser keeps while the payload goes by.

use std::fmt;

/// Longest frame header: 2 bytes, an 8-byte extended length and a 4-byte masking key.
pub const MAX_HEADER_LEN: usize = 14;

/// Longest payload of a control frame (RFC 6455 section 5.5).
pub const MAX_CONTROL_PAYLOAD: u64 = 125;

/// An opcode. Reserved values are kept (and their frames skipped), not rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Opcode(pub u8);

impl Opcode {
    /// Continuation of a fragmented message.
    pub const CONTINUATION: Opcode = Opcode(0);
    /// First frame of a text message.
    pub const TEXT: Opcode = Opcode(1);
    /// First frame of a binary message.
    pub const BINARY: Opcode = Opcode(2);
    /// Close.
    pub const CLOSE: Opcode = Opcode(8);
    /// Ping.
    pub const PING: Opcode = Opcode(9);
    /// Pong.
    pub const PONG: Opcode = Opcode(10);

    /// A control frame (close, ping, pong and the reserved 0xB-0xF).
    pub fn is_control(self) -> bool {
        self.0 & 0x8 != 0
    }

    /// An opcode RFC 6455 reserves (3-7, 0xB-0xF).
    pub fn is_reserved(self) -> bool {
        matches!(self.0, 3..=7 | 0xB..=0xF)
    }
}

impl fmt::Display for Opcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Opcode::CONTINUATION => f.write_str("continuation"),
            Opcode::TEXT => f.write_str("text"),
            Opcode::BINARY => f.write_str("binary"),
            Opcode::CLOSE => f.write_str("close"),
            Opcode::PING => f.write_str("ping"),
            Opcode::PONG => f.write_str("pong"),
            Opcode(n) => write!(f, "reserved-{n:#x}"),
        }
    }
}

/// Why bytes are not a frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// More bytes are needed: the header is `need` bytes long.
    #[error("frame header cut short: {need} bytes needed, {have} given")]
    Truncated {
        /// Length of the whole header.
        need: usize,
        /// Bytes given.
        have: usize,
    },
    /// A 64-bit length with its most significant bit set (RFC 6455 section 5.2): the stream is
    /// not WebSocket framing any more, or never was.
    #[error("64-bit payload length {0:#x} has its most significant bit set")]
    LengthOverflow(u64),
}

/// A typed view over the bytes of a frame header (and whatever follows it).
#[derive(Clone, Copy, Debug)]
pub struct Frame<T: AsRef<[u8]>> {
    buf: T,
}

impl<T: AsRef<[u8]>> Frame<T> {
    /// A view over `buf`, checked: it holds a whole header whose length is valid.
    pub fn new_checked(buf: T) -> Result<Frame<T>, FrameError> {
        let b = buf.as_ref();
        let have = b.len();
        if have < 2 {
            return Err(FrameError::Truncated { need: 2, have });
        }
        let need = header_len(b[1]);
        if have < need {
            return Err(FrameError::Truncated { need, have });
        }
        let f = Frame { buf };
        if f.len7() == 127 {
            let n = f.payload_len();
            if n >> 63 != 0 {
                return Err(FrameError::LengthOverflow(n));
            }
        }
        Ok(f)
    }

    fn b(&self) -> &[u8] {
        self.buf.as_ref()
    }

    fn len7(&self) -> u8 {
        self.b()[1] & 0x7f
    }

    /// The final fragment of a message.
    pub fn fin(&self) -> bool {
        self.b()[0] & 0x80 != 0
    }

    /// The three reserved bits (RSV1 is `permessage-deflate`'s "compressed").
    pub fn rsv(&self) -> u8 {
        (self.b()[0] >> 4) & 0x7
    }

    /// The opcode.
    pub fn opcode(&self) -> Opcode {
        Opcode(self.b()[0] & 0x0f)
    }

    /// The payload is masked (client to server frames must be).
    pub fn masked(&self) -> bool {
        self.b()[1] & 0x80 != 0
    }

    /// Length of the header: 2, plus 2 or 8 for an extended length, plus 4 for a mask.
    pub fn header_len(&self) -> usize {
        header_len(self.b()[1])
    }

    /// The payload length announced.
    pub fn payload_len(&self) -> u64 {
        let b = self.b();
        match self.len7() {
            126 => u64::from(u16::from_be_bytes([b[2], b[3]])),
            127 => u64::from_be_bytes([b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9]]),
            n => u64::from(n),
        }
    }

    /// The masking key (zeros when not masked).
    pub fn mask(&self) -> [u8; 4] {
        if !self.masked() {
            return [0; 4];
        }
        let at = self.header_len() - 4;
        let b = self.b();
        [b[at], b[at + 1], b[at + 2], b[at + 3]]
    }
}

/// Header length from the second byte: 2, plus the extended length, plus the mask.
fn header_len(b1: u8) -> usize {
    let ext = match b1 & 0x7f {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    2 + ext + if b1 & 0x80 != 0 { 4 } else { 0 }
}

/// A frame header, owned: what the streaming parser keeps while the payload goes by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// The final fragment of a message.
    pub fin: bool,
    /// The reserved bits.
    pub rsv: u8,
    /// The opcode.
    pub opcode: Opcode,
    /// The masking key, when masked.
    pub mask: Option<[u8; 4]>,
    /// Payload length.
    pub len: u64,
    /// Header length.
    pub header_len: usize,
}

impl FrameHeader {
    /// Reads the header at the start of `b`.
    pub fn parse(b: &[u8]) -> Result<FrameHeader, FrameError> {
        let f = Frame::new_checked(b)?;
        Ok(FrameHeader::from_frame(&f))
    }

    /// The owned summary of a checked view.
    pub fn from_frame<T: AsRef<[u8]>>(f: &Frame<T>) -> FrameHeader {
        FrameHeader {
            fin: f.fin(),
            rsv: f.rsv(),
            opcode: f.opcode(),
            mask: f.masked().then(|| f.mask()),
            len: f.payload_len(),
            header_len: f.header_len(),
        }
    }

    /// The header's bytes (lengths in their shortest form), for tests and the fuzz seeds.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(MAX_HEADER_LEN);
        out.push(u8::from(self.fin) << 7 | (self.rsv & 7) << 4 | (self.opcode.0 & 0xf));
        let m = if self.mask.is_some() { 0x80 } else { 0 };
        if self.len < 126 {
            out.push(m | self.len as u8);
        } else if self.len <= 0xffff {
            out.push(m | 126);
            out.extend_from_slice(&(self.len as u16).to_be_bytes());
        } else {
            out.push(m | 127);
            out.extend_from_slice(&self.len.to_be_bytes());
        }
        if let Some(k) = self.mask {
            out.extend_from_slice(&k);
        }
        out
    }
}

/// Unmasks (or masks: the transform is its own inverse) `data` in place, `data[0]` being byte
/// `pos` of the payload.
pub fn unmask(data: &mut [u8], key: [u8; 4], pos: u64) {
    let start = (pos % 4) as usize;
    for (i, b) in data.iter_mut().enumerate() {
        *b ^= key[(start + i) % 4];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6455 section 5.7: a single-frame masked text message "Hello".
    const MASKED_HELLO: [u8; 11] = [
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];

    #[test]
    fn rfc_examples() {
        let f = Frame::new_checked(&MASKED_HELLO[..]).unwrap();
        assert!(f.fin());
        assert_eq!(f.opcode(), Opcode::TEXT);
        assert!(f.masked());
        assert_eq!(f.payload_len(), 5);
        assert_eq!(f.header_len(), 6);
        let mut p = MASKED_HELLO[6..].to_vec();
        unmask(&mut p, f.mask(), 0);
        assert_eq!(p, b"Hello");
        // Unmasking in two pieces gives the same.
        let mut a = MASKED_HELLO[6..8].to_vec();
        let mut b = MASKED_HELLO[8..].to_vec();
        unmask(&mut a, f.mask(), 0);
        unmask(&mut b, f.mask(), 2);
        assert_eq!([a, b].concat(), b"Hello");
        // A fragmented unmasked text message and a ping.
        let h = FrameHeader::parse(&[0x01, 0x03, b'H', b'e', b'l']).unwrap();
        assert!(!h.fin);
        assert_eq!(h.opcode, Opcode::TEXT);
        assert_eq!(h.mask, None);
        let h = FrameHeader::parse(&[0x89, 0x05]).unwrap();
        assert!(h.opcode.is_control());
        // 256 bytes binary, 16-bit length; 64 KiB, 64-bit length.
        let h = FrameHeader::parse(&[0x82, 0x7e, 0x01, 0x00]).unwrap();
        assert_eq!((h.len, h.header_len), (256, 4));
        let h = FrameHeader::parse(&[0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0]).unwrap();
        assert_eq!((h.len, h.header_len), (65536, 10));
    }

    #[test]
    fn truncated_at_every_length() {
        let full = FrameHeader {
            fin: true,
            rsv: 4,
            opcode: Opcode::BINARY,
            mask: Some([1, 2, 3, 4]),
            len: 1 << 40,
            header_len: 14,
        };
        let bytes = full.to_bytes();
        assert_eq!(bytes.len(), 14);
        for n in 0..bytes.len() {
            assert!(matches!(
                FrameHeader::parse(&bytes[..n]),
                Err(FrameError::Truncated { .. })
            ));
        }
        assert_eq!(FrameHeader::parse(&bytes).unwrap(), full);
    }

    #[test]
    fn length_with_its_top_bit_set_is_refused() {
        let mut b = vec![0x82, 0x7f];
        b.extend_from_slice(&(1u64 << 63).to_be_bytes());
        assert_eq!(
            FrameHeader::parse(&b),
            Err(FrameError::LengthOverflow(1 << 63))
        );
        let mut b = vec![0x82, 0x7f];
        b.extend_from_slice(&(u64::MAX >> 1).to_be_bytes());
        assert_eq!(FrameHeader::parse(&b).unwrap().len, u64::MAX >> 1);
    }

    #[test]
    fn round_trip() {
        for len in [0u64, 1, 125, 126, 65535, 65536, 1 << 32] {
            for mask in [None, Some([9, 8, 7, 6])] {
                let h = FrameHeader {
                    fin: len % 2 == 0,
                    rsv: 0,
                    opcode: Opcode::TEXT,
                    mask,
                    len,
                    header_len: 0,
                };
                let b = h.to_bytes();
                let back = FrameHeader::parse(&b).unwrap();
                assert_eq!(back.len, len);
                assert_eq!(back.mask, mask);
                assert_eq!(back.header_len, b.len());
            }
        }
    }
}
