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

/// Largest payload the mid-connection sniffer accepts in a frame: the initial
/// SETTINGS_MAX_FRAME_SIZE (RFC 9113 section 6.5.2). A peer that raised it still has its
/// smaller frames (HEADERS, SETTINGS, WINDOW_UPDATE, PING) to be found by.
pub const SNIFF_MAX_LEN: u32 = 16_384;

/// Start positions the mid-connection sniffer tries in one direction before it gives up: one
/// largest frame and its header, so a capture that begins inside any frame of at most
/// [`SNIFF_MAX_LEN`] bytes finds the next boundary.
pub const SNIFF_SCAN: usize = SNIFF_MAX_LEN as usize + HEADER_LEN;

/// Bytes the sniffer may need past a start position to decide: two largest frames.
pub const SNIFF_CONFIRM: usize = 2 * (SNIFF_MAX_LEN as usize + HEADER_LEN);

/// The highest error code of RFC 9113 section 7 (HTTP_1_1_REQUIRED).
const MAX_ERROR_CODE: u32 = 0xd;

/// What the bytes at a position say about a run of HTTP/2 frames beginning there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Run {
    /// Frames begin here: `frames` complete, plausible frames (two, or one that ends exactly
    /// at the end of the bytes), the sender's role as far as they tell it.
    Frames {
        /// Complete frames checked (1 or 2).
        frames: u8,
        /// The frames show that their sender is the server: a PUSH_PROMISE, or HEADERS or
        /// DATA on an even (server-initiated) stream. HEADERS on an odd stream is sent by
        /// both sides; the connection tells them apart by `:status` when it decodes them.
        server: bool,
    },
    /// Plausible so far; more bytes are needed to decide.
    Partial,
    /// Not the start of a frame.
    No,
}

/// True when the 9 bytes `h` are a frame header a peer could send on a connection at any
/// time after its preface (the mid-connection sniffer's test, stricter than the parser):
///
/// - the type is one of the ten of RFC 9113 (extension types are legal but not evidence);
/// - the length is at most [`SNIFF_MAX_LEN`], and exact where the type fixes it (PRIORITY 5,
///   RST_STREAM and WINDOW_UPDATE 4, PING 8, SETTINGS a multiple of 6 and 0 with ACK, GOAWAY
///   at least 8, PUSH_PROMISE at least 4, HEADERS at least 1);
/// - no flag is set that the type does not define;
/// - the reserved bit is clear, and the stream is 0 exactly for the connection's frames
///   (SETTINGS, PING, GOAWAY) and not 0 for the stream's (DATA, HEADERS, PRIORITY,
///   RST_STREAM, PUSH_PROMISE, CONTINUATION); WINDOW_UPDATE may be either.
///
/// A TLS record header (`16 03 0x`, `17 03 0x`) reads as a length above 1 MiB and fails;
/// ASCII text reads as a length above 2 MiB (its first byte is at least 0x20) and fails.
pub fn plausible_header(h: &[u8]) -> bool {
    let Some(fh) = FrameHeader::parse(h) else {
        return false;
    };
    if h[5] & 0x80 != 0 || fh.len > SNIFF_MAX_LEN {
        return false;
    }
    let (len, f, s) = (fh.len, fh.flags, fh.stream);
    match fh.kind {
        FrameType::DATA => f & !(flags::END_STREAM | flags::PADDED) == 0 && s != 0,
        FrameType::HEADERS => {
            f & !(flags::END_STREAM | flags::END_HEADERS | flags::PADDED | flags::PRIORITY) == 0
                && s != 0
                && len >= 1
        }
        FrameType::PRIORITY => f == 0 && s != 0 && len == 5,
        FrameType::RST_STREAM => f == 0 && s != 0 && len == 4,
        FrameType::SETTINGS => {
            s == 0 && (f == 0 && len.is_multiple_of(6) || f == flags::ACK && len == 0)
        }
        FrameType::PUSH_PROMISE => {
            f & !(flags::END_HEADERS | flags::PADDED) == 0 && s != 0 && len >= 4
        }
        FrameType::PING => f & !flags::ACK == 0 && s == 0 && len == 8,
        FrameType::GOAWAY => f == 0 && s == 0 && len >= 8,
        FrameType::WINDOW_UPDATE => f == 0 && len == 4,
        FrameType::CONTINUATION => f & !flags::END_HEADERS == 0 && s != 0,
        _ => false,
    }
}

/// True when the payload of a plausible frame `fh` is well formed as far as its type lets a
/// passive reader tell: padding within the payload, a PRIORITY that does not depend on its
/// own stream, an error code RFC 9113 defines, a window increment that is not 0, SETTINGS of
/// defined identifiers (1 to 9) with values in range, a promised stream that is even.
pub fn plausible_payload(fh: &FrameHeader, p: &[u8]) -> bool {
    let be32 = |b: &[u8]| {
        b.get(..4)
            .and_then(|x| x.try_into().ok())
            .map(u32::from_be_bytes)
    };
    match fh.kind {
        FrameType::DATA => unpad(fh.flags, p).is_some(),
        FrameType::HEADERS => headers_fragment(fh.flags, p).is_some(),
        FrameType::PRIORITY => be32(p).is_some_and(|d| d & 0x7fff_ffff != fh.stream),
        FrameType::RST_STREAM => rst_stream(p).is_some_and(|c| c <= MAX_ERROR_CODE),
        FrameType::GOAWAY => goaway(p).is_some_and(|(_, c)| c <= MAX_ERROR_CODE),
        FrameType::WINDOW_UPDATE => be32(p).is_some_and(|w| w != 0 && w & 0x8000_0000 == 0),
        FrameType::PUSH_PROMISE => push_promise(fh.flags, p)
            .is_some_and(|(id, _)| id != 0 && id.is_multiple_of(2) && p[0] & 0x80 == 0),
        FrameType::SETTINGS => settings(p).all(|(id, v)| match id {
            2 | 8 => v <= 1,
            4 => v <= 0x7fff_ffff,
            5 => (16_384..=16_777_215).contains(&v),
            1 | 3 | 6 | 9 => true,
            _ => false,
        }),
        _ => true,
    }
}

/// Looks for a run of HTTP/2 frames at the start of `b`: two consecutive complete frames
/// whose headers and payloads are plausible ([`plausible_header`], [`plausible_payload`]),
/// or one such frame that ends exactly at the end of `b` (a sender writes whole frames, so a
/// segment that ends where a frame does is evidence; one that ends inside a second frame is
/// [`Run::Partial`] until the rest arrives). The first header block fragment of the run may
/// not be a CONTINUATION (a header block's middle is not a place to start reading). `server`
/// says what the frames tell of their sender (see [`Run::Frames`]).
pub fn sniff_run(b: &[u8]) -> Run {
    let mut pos = 0usize;
    let mut frames = 0u8;
    let mut server = false;
    while frames < 2 {
        let Some(h) = b.get(pos..pos + HEADER_LEN) else {
            return if frames == 1 && pos == b.len() {
                Run::Frames { frames, server }
            } else {
                Run::Partial
            };
        };
        if !plausible_header(h) {
            return Run::No;
        }
        let Some(fh) = FrameHeader::parse(h) else {
            return Run::No;
        };
        if frames == 0 && fh.kind == FrameType::CONTINUATION {
            return Run::No;
        }
        let end = pos + HEADER_LEN + fh.len as usize;
        let Some(p) = b.get(pos + HEADER_LEN..end) else {
            return Run::Partial;
        };
        if !plausible_payload(&fh, p) {
            return Run::No;
        }
        let even = fh.stream != 0 && fh.stream.is_multiple_of(2);
        if fh.kind == FrameType::PUSH_PROMISE
            || even && matches!(fh.kind, FrameType::HEADERS | FrameType::DATA)
        {
            server = true;
        }
        frames += 1;
        pos = end;
    }
    Run::Frames { frames, server }
}

/// Where a run of HTTP/2 frames begins in `b`, for a caller that holds all of it (a test,
/// a fuzz target): the first position with [`Run::Frames`], or `None`. Positions whose run is
/// [`Run::Partial`] count as no run.
pub fn find_run(b: &[u8]) -> Option<(usize, Run)> {
    (0..b.len()).find_map(|i| match sniff_run(&b[i..]) {
        r @ Run::Frames { .. } => Some((i, r)),
        Run::Partial | Run::No => None,
    })
}

/// Start positions still waiting for more bytes ([`Run::Partial`]) a [`Finder`] keeps; a
/// further one is given up (its bytes are searched from the next position on).
const MAX_PENDING: usize = 16;

/// What [`Finder::push`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Search {
    /// A run of frames: the bytes from its start on (the caller reads them as frames), and
    /// what the run says of its sender.
    Found(Vec<u8>, Run),
    /// Not yet.
    More,
    /// No run began within [`SNIFF_SCAN`] start positions: the direction is not searched
    /// further.
    GaveUp,
}

/// One direction's search for a run of frames as bytes arrive (a connection picked up
/// mid-way), with bounded memory and work: at most [`SNIFF_CONFIRM`] bytes are held (from the
/// first position that may still begin a run), every start position is tried once when its 9
/// bytes are there, and at most [`MAX_PENDING`] positions that need more bytes are tried again
/// as bytes come. The window never fills with an undecided first position: a run needs at
/// most [`SNIFF_CONFIRM`] bytes, so a full window decides it. A position with a run wins even when an earlier one still waits (a frame
/// that claims more bytes than the capture has yet delivered would otherwise hold the search
/// up to 32 KiB); a run is strict enough ([`sniff_run`]) that one found inside a real frame's
/// payload is unlikely.
#[derive(Debug, Default)]
pub struct Finder {
    /// The bytes from the first position not given up.
    win: Vec<u8>,
    /// Positions of `win` below this were tried.
    next: usize,
    /// Positions below `next` that wait for more bytes, ascending.
    pending: Vec<usize>,
    /// Start positions given up (bytes dropped from the front).
    skipped: usize,
    gave_up: bool,
}

impl Finder {
    /// Start positions given up so far (bytes skipped before a boundary).
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// Bytes held.
    pub fn held(&self) -> usize {
        self.win.capacity()
    }

    /// Searched to the bound.
    pub fn gave_up(&self) -> bool {
        self.gave_up
    }

    /// Stops the search (the caller has no room for it).
    pub fn give_up(&mut self) {
        self.gap();
        self.gave_up = true;
    }

    /// The bytes held (from the first position that may still begin a run), taken: the
    /// search starts again empty.
    pub fn take(&mut self) -> Vec<u8> {
        self.next = 0;
        self.pending.clear();
        std::mem::take(&mut self.win)
    }

    /// Forgets the bytes held (a gap): the search starts again with the next bytes, the
    /// positions already given up still counting towards the bound.
    pub fn gap(&mut self) {
        self.skipped += self.win.len();
        self.win = Vec::new();
        self.next = 0;
        self.pending.clear();
    }

    /// Searches `data`, the bytes after those pushed so far. Returns how many bytes of `data`
    /// were taken (all, unless the window filled: push the rest again) and what was found.
    pub fn push(&mut self, data: &[u8]) -> (usize, Search) {
        if self.gave_up {
            return (data.len(), Search::GaveUp);
        }
        let k = SNIFF_CONFIRM.saturating_sub(self.win.len()).min(data.len());
        self.win.extend_from_slice(&data[..k]);
        let mut found = None;
        // Waiting positions first (they are earlier), then the new ones.
        let mut i = 0;
        while i < self.pending.len() {
            let p = self.pending[i];
            match sniff_run(&self.win[p..]) {
                r @ Run::Frames { .. } => {
                    found = Some((p, r));
                    break;
                }
                Run::Partial => i += 1,
                Run::No => {
                    self.pending.remove(i);
                }
            }
        }
        let last = self.win.len().saturating_sub(HEADER_LEN - 1);
        while found.is_none() && self.next < last {
            let p = self.next;
            self.next += 1;
            match sniff_run(&self.win[p..]) {
                r @ Run::Frames { .. } => found = Some((p, r)),
                Run::Partial if self.pending.len() < MAX_PENDING => self.pending.push(p),
                Run::Partial | Run::No => {}
            }
        }
        if let Some((p, run)) = found
            && self.skipped + p <= SNIFF_SCAN
        {
            self.skipped += p;
            let mut win = std::mem::take(&mut self.win);
            win.drain(..p);
            self.next = 0;
            self.pending.clear();
            return (k, Search::Found(win, run));
        }
        // Drop what can no longer begin a run.
        let front = self.pending.first().copied().unwrap_or(self.next);
        self.win.drain(..front);
        self.skipped += front;
        self.next -= front;
        for p in &mut self.pending {
            *p -= front;
        }
        if self.skipped > SNIFF_SCAN || found.is_some() {
            self.gave_up = true;
            self.skipped += self.win.len();
            self.win = Vec::new();
            self.pending.clear();
            self.next = 0;
            return (k, Search::GaveUp);
        }
        (k, Search::More)
    }
}

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

    fn frame(kind: FrameType, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let h = FrameHeader {
            len: payload.len() as u32,
            kind,
            flags,
            stream,
        };
        let mut v = h.to_bytes().to_vec();
        v.extend_from_slice(payload);
        v
    }

    fn window_update(stream: u32) -> Vec<u8> {
        frame(FrameType::WINDOW_UPDATE, 0, stream, &[0, 0, 0x40, 0])
    }

    #[test]
    fn sniff_takes_two_frames_or_one_that_ends_the_bytes() {
        let hdrs = frame(FrameType::HEADERS, flags::END_HEADERS, 3, &[0x83, 0x86]);
        let data = frame(FrameType::DATA, flags::END_STREAM, 3, b"hello");
        let two = [hdrs.clone(), data.clone()].concat();
        assert_eq!(
            sniff_run(&two),
            Run::Frames {
                frames: 2,
                server: false
            }
        );
        assert_eq!(
            sniff_run(&hdrs),
            Run::Frames {
                frames: 1,
                server: false
            }
        );
        // One frame and part of the next: wait for the rest.
        assert_eq!(sniff_run(&two[..two.len() - 1]), Run::Partial);
        assert_eq!(sniff_run(&two[..hdrs.len() + 4]), Run::Partial);
        assert_eq!(sniff_run(&hdrs[..5]), Run::Partial);
        // A push promise, or DATA on an even stream, is the server's.
        let push = frame(
            FrameType::PUSH_PROMISE,
            flags::END_HEADERS,
            1,
            &[0, 0, 0, 2, 0x82],
        );
        assert_eq!(
            sniff_run(&push),
            Run::Frames {
                frames: 1,
                server: true
            }
        );
        let even = [frame(FrameType::DATA, 0, 2, b"x"), window_update(0)].concat();
        assert_eq!(
            sniff_run(&even),
            Run::Frames {
                frames: 2,
                server: true
            }
        );
        // A run does not start with a CONTINUATION.
        let cont = frame(FrameType::CONTINUATION, flags::END_HEADERS, 3, &[0x82]);
        assert_eq!(sniff_run(&cont), Run::No);
        // Found after garbage, at the first boundary.
        let mut b = vec![0xffu8; 40];
        b.extend_from_slice(&two);
        assert_eq!(find_run(&b).map(|(at, _)| at), Some(40));
        // The same, pushed a byte at a time: found once the second frame is whole.
        let mut f = Finder::default();
        let mut got = None;
        for (i, x) in b.iter().enumerate() {
            match f.push(std::slice::from_ref(x)) {
                (1, Search::More) => {}
                (1, Search::Found(rest, _)) => {
                    got = Some((i, rest));
                    break;
                }
                other => panic!("{other:?}"),
            }
        }
        // A HEADERS frame alone ends the bytes 40 + 11 in: that is a run already.
        assert_eq!(got, Some((40 + hdrs.len() - 1, hdrs.clone())));
        assert_eq!(f.skipped(), 40);
    }

    #[test]
    fn sniff_rejects_what_a_peer_would_not_send() {
        let bad = [
            // Unknown type, undefined flag, reserved bit, DATA on stream 0, PING on a stream,
            // PING of 7 bytes, SETTINGS ACK with a payload, RST_STREAM with an unknown code,
            // WINDOW_UPDATE of 0, SETTINGS with an unknown identifier, too long.
            frame(FrameType(0x0a), 0, 0, &[]),
            frame(FrameType::DATA, 0x2, 1, b"x"),
            {
                let mut f = window_update(1);
                f[5] |= 0x80;
                f
            },
            frame(FrameType::DATA, 0, 0, b"x"),
            frame(FrameType::PING, 0, 1, &[0; 8]),
            frame(FrameType::PING, 0, 0, &[0; 7]),
            frame(FrameType::SETTINGS, flags::ACK, 0, &[0, 1, 0, 0, 0, 0]),
            frame(FrameType::RST_STREAM, 0, 1, &[0, 0, 0, 0x20]),
            frame(FrameType::WINDOW_UPDATE, 0, 0, &[0, 0, 0, 0]),
            frame(FrameType::SETTINGS, 0, 0, &[0, 0x42, 0, 0, 0, 1]),
            frame(FrameType::DATA, 0, 1, &vec![0; SNIFF_MAX_LEN as usize + 1]),
        ];
        for f in &bad {
            assert_eq!(sniff_run(f), Run::No, "{f:02x?}");
        }
    }

    #[test]
    fn sniff_rejects_tls_text_and_random_bytes() {
        // TLS records (handshake, application data) read as lengths above 1 MiB.
        let mut tls = vec![0x17, 0x03, 0x03, 0x00, 0x40];
        tls.extend_from_slice(&[0xaa; 64]);
        tls.extend_from_slice(&[0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]);
        assert_eq!(find_run(&tls), None);
        let text = b"GET / HTTP/1.1\r\nHost: a\r\n\r\nHTTP/1.1 200 OK\r\n\r\n";
        assert_eq!(find_run(text), None);
        // A xorshift stream: 1 MiB at every start position.
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let random: Vec<u8> = (0..1 << 20)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        assert_eq!(find_run(&random), None);
        // Pushed in pieces, the search gives up after SNIFF_SCAN start positions.
        let mut f = Finder::default();
        let mut rest = &random[..];
        let mut pushed = 0;
        loop {
            let (k, r) = f.push(&rest[..rest.len().min(1500)]);
            pushed += k;
            rest = &rest[k..];
            match r {
                Search::More => assert!(f.held() <= 2 * SNIFF_CONFIRM),
                Search::GaveUp => break,
                Search::Found(..) => panic!("random bytes found"),
            }
        }
        assert!(f.gave_up() && f.skipped() > SNIFF_SCAN);
        assert!(pushed <= SNIFF_SCAN + SNIFF_CONFIRM + 1500, "{pushed}");
    }

    /// A frame that claims more bytes than have come does not hold the search: a run after
    /// it is found, and the claimed frame is found instead when its bytes come first.
    #[test]
    fn finder_does_not_wait_on_a_long_claim() {
        let long = frame(FrameType::DATA, 0, 1, &[7; 1000]);
        let ping = frame(FrameType::PING, 0, 0, &[1; 8]);
        let mut f = Finder::default();
        // The header of a 1000-byte DATA frame and 20 bytes of it, then two PINGs in its
        // payload (as if the capture began inside a frame that only looks like one).
        let mut b = long[..29].to_vec();
        b.extend_from_slice(&ping);
        b.extend_from_slice(&ping);
        match f.push(&b) {
            (_, Search::Found(rest, _)) => assert_eq!(rest, [ping.clone(), ping].concat()),
            other => panic!("{other:?}"),
        }
        let mut f = Finder::default();
        assert_eq!(f.push(&long[..500]).1, Search::More);
        match f.push(&long[500..]) {
            (k, Search::Found(rest, _)) if k == long.len() - 500 => assert_eq!(rest, long),
            other => panic!("{other:?}"),
        }
    }
}
