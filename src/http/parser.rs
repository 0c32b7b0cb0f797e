//! One direction's message parser: heads, bodies, tunnels and resynchronisation.
//!
//! The parser is fed in-order bytes as they arrive and is pulled one [`Step`] at a time. Work is
//! linear in the input: a head that arrives in pieces is searched for its end only in the new
//! bytes, resynchronisation scans line by line with `memchr`, and every buffer has a cap.

use super::body::{ChunkState, ChunkStep, Framing};
use super::head::{
    HeadError, MessageHead, find_head_end, find_start_in_line, is_request_line_lenient,
    is_start_line, is_token,
};
use crate::time::Timestamp;

/// Which messages a direction carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Requests (the client's direction).
    Request,
    /// Responses (the server's direction).
    Response,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Between messages.
    Idle,
    /// Reading a head into `buf`; the end marker was searched up to `scanned`.
    Head { scanned: usize },
    /// A head was returned; waiting for [`HalfParser::begin_body`].
    AwaitFraming,
    /// Body with this many bytes left.
    Length(u64),
    /// Chunked body.
    Chunked(ChunkState),
    /// Body until the connection closes.
    UntilClose,
    /// The body just ended; [`Step::End`] is due.
    Ending,
    /// Holding bytes until the peer decides whether the connection switches protocols.
    Paused,
    /// Not HTTP any more (after 101 or a successful CONNECT).
    Tunnel,
    /// Looking for the next start line; `buf` holds the current partial line.
    Resync,
    /// Not HTTP at all.
    Dead,
}

/// Where a head began.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeadInfo {
    /// Capture time of its first byte.
    pub first_ts: Timestamp,
    /// Capture time of its last byte.
    pub last_ts: Timestamp,
    /// Stream offset of its first byte.
    pub offset: u64,
    /// The sender's acknowledgment of the opposite stream when the head began.
    pub peer_ack: Option<u64>,
    /// Found by resynchronisation after a gap or garbage.
    pub resynced: bool,
}

/// What one pull of the parser produced.
#[derive(Debug)]
pub enum Step<'a> {
    /// Input exhausted.
    NeedMore,
    /// A complete head; the caller must call [`HalfParser::begin_body`] next.
    Head(Box<MessageHead>, HeadInfo),
    /// Body bytes (de-chunked).
    Body(&'a [u8]),
    /// The current message is complete.
    End,
    /// A head could not be read; its bytes were dropped.
    BadHead(HeadError),
    /// A head grew past the size cap; the parser is resynchronising.
    HeadTooLarge,
    /// The chunked framing broke; the message ends here and the parser resynchronises.
    BadChunk,
    /// The stream does not start like HTTP.
    NotHttp,
}

/// What a gap did to the message in progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GapEffect {
    /// Nothing was in progress.
    None,
    /// Part of a head was lost; that message is gone.
    LostHead,
    /// Body bytes were lost; the message goes on.
    BodyHole,
    /// Body bytes were lost and the framing with them: the message ends here, incomplete.
    BodyLost,
    /// Exactly the rest of the body was lost: the message is complete but for the hole.
    BodyHoleEnd,
}

/// What the end of the stream did to the message in progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EofEffect {
    /// Nothing was in progress.
    None,
    /// A close-delimited body ended normally.
    BodyEnd,
    /// The body was cut short.
    Truncated,
    /// A head was cut short.
    LostHead,
}

/// Limits applied by the parser.
#[derive(Clone, Copy, Debug)]
pub struct ParserLimits {
    /// Largest head, in bytes.
    pub max_head_bytes: usize,
    /// Most header fields.
    pub max_headers: usize,
    /// Most bytes held while paused.
    pub max_paused_bytes: usize,
    /// Longest line kept while resynchronising.
    pub max_resync_line: usize,
}

/// Message parser for one direction.
pub struct HalfParser {
    /// Requests or responses, once known.
    pub kind: Option<Kind>,
    state: State,
    buf: Vec<u8>,
    info: HeadInfo,
    /// Stream offset of the next byte.
    pub offset: u64,
    /// Go to `Paused` instead of `Idle` after the current message.
    pub pause_after: bool,
    /// Messages completed.
    pub messages: u64,
    /// Bytes skipped while resynchronising since the last message.
    pub skipped: u64,
    /// Bytes skipped while resynchronising, in all.
    pub skipped_total: u64,
    /// Bytes passed through in tunnel mode.
    pub tunnel_bytes: u64,
    /// How far the start of the stream was checked for looking like HTTP (0, 1 or 2).
    sniff: u8,
    /// Bytes dropped because a buffer was full.
    pub dropped_bytes: u64,
    /// Times resynchronisation started.
    pub resyncs: u64,
}

impl HalfParser {
    /// A parser at the start of a stream (`resync` when the stream is picked up mid-way).
    pub fn new(kind: Option<Kind>, resync: bool) -> HalfParser {
        HalfParser {
            kind,
            state: if resync { State::Resync } else { State::Idle },
            buf: Vec::new(),
            info: HeadInfo {
                first_ts: Timestamp(0),
                last_ts: Timestamp(0),
                offset: 0,
                peer_ack: None,
                resynced: resync,
            },
            offset: 0,
            pause_after: false,
            messages: 0,
            skipped: 0,
            skipped_total: 0,
            tunnel_bytes: 0,
            sniff: 0,
            dropped_bytes: 0,
            resyncs: u64::from(resync),
        }
    }

    /// Bytes this parser holds in memory.
    pub fn held(&self) -> usize {
        self.buf.capacity()
    }

    /// True while a message's body is being read.
    pub fn in_body(&self) -> bool {
        matches!(
            self.state,
            State::Length(_) | State::Chunked(_) | State::UntilClose | State::Ending
        )
    }

    /// True while paused.
    pub fn is_paused(&self) -> bool {
        self.state == State::Paused
    }

    /// True once the parser gave up (tunnel or not HTTP).
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Tunnel | State::Dead)
    }

    /// True while looking for a message start.
    pub fn is_resyncing(&self) -> bool {
        self.state == State::Resync
    }

    fn consume<'a>(&mut self, input: &mut &'a [u8], n: usize) -> &'a [u8] {
        let (a, b) = input.split_at(n);
        *input = b;
        self.offset += n as u64;
        a
    }

    fn enter_resync(&mut self) {
        self.buf.clear();
        self.state = State::Resync;
        self.resyncs += 1;
        self.info.resynced = true;
    }

    /// Pulls the next step. `room` is how many more bytes this parser may buffer now.
    pub fn advance<'a>(
        &mut self,
        input: &mut &'a [u8],
        ts: Timestamp,
        peer_ack: Option<u64>,
        lim: &ParserLimits,
        room: usize,
    ) -> Step<'a> {
        loop {
            match self.state {
                State::Idle => {
                    let skip = input
                        .iter()
                        .take_while(|&&b| b == b'\r' || b == b'\n')
                        .count();
                    self.consume(input, skip);
                    let Some(&first) = input.first() else {
                        return Step::NeedMore;
                    };
                    if self.messages == 0 && self.offset == 0 && !plausible_first_byte(first) {
                        self.state = State::Dead;
                        return Step::NotHttp;
                    }
                    self.info = HeadInfo {
                        first_ts: ts,
                        last_ts: ts,
                        offset: self.offset,
                        peer_ack,
                        resynced: self.info.resynced,
                    };
                    self.state = State::Head { scanned: 0 };
                }
                State::Head { scanned } => {
                    if input.is_empty() {
                        return Step::NeedMore;
                    }
                    self.info.last_ts = ts;
                    if self.buf.is_empty() {
                        if let Some(end) = find_head_end(input, 0) {
                            let bytes = self.consume(input, end);
                            return self.finish_head(bytes, lim);
                        }
                    }
                    let old = self.buf.len();
                    let cap = lim.max_head_bytes.min(old.saturating_add(room));
                    let take = input.len().min(cap + 1 - old.min(cap + 1));
                    self.buf.extend_from_slice(&input[..take]);
                    if self.messages == 0
                        && self.info.offset == 0
                        && !self.info.resynced
                        && self.sniff < 2
                    {
                        // At the very start of a stream: is this HTTP at all? Checked at most twice
                        // (once 64 bytes are in, once the first line is complete).
                        let line_done = memchr::memchr(b'\n', &input[..take]).is_some();
                        if line_done || (self.sniff == 0 && self.buf.len() >= 64) {
                            self.sniff = if line_done { 2 } else { 1 };
                            if !first_line_plausible(&self.buf) {
                                self.consume(input, take);
                                self.buf = Vec::new();
                                self.state = State::Dead;
                                return Step::NotHttp;
                            }
                        }
                    }
                    match find_head_end(&self.buf, scanned) {
                        Some(end) => {
                            self.consume(input, end - old);
                            self.buf.truncate(end);
                            let raw = std::mem::take(&mut self.buf);
                            let step = self.finish_head(&raw, lim);
                            self.buf = raw;
                            self.buf.clear();
                            if self.buf.capacity() > 4096 {
                                self.buf = Vec::new();
                            }
                            return step;
                        }
                        None => {
                            self.consume(input, take);
                            if self.buf.len() > cap || take == 0 {
                                self.dropped_bytes += self.buf.len() as u64;
                                self.enter_resync();
                                self.buf = Vec::new();
                                return Step::HeadTooLarge;
                            }
                            self.state = State::Head {
                                scanned: self.buf.len().saturating_sub(3),
                            };
                            return Step::NeedMore;
                        }
                    }
                }
                State::AwaitFraming => {
                    // The caller did not set framing: treat as no body.
                    self.state = State::Ending;
                }
                State::Length(left) => {
                    if input.is_empty() {
                        return Step::NeedMore;
                    }
                    let n = left.min(input.len() as u64) as usize;
                    let data = self.consume(input, n);
                    self.state = if left == n as u64 {
                        State::Ending
                    } else {
                        State::Length(left - n as u64)
                    };
                    return Step::Body(data);
                }
                State::Chunked(mut cs) => {
                    let before = input.len();
                    let step = cs.step(input);
                    self.offset += (before - input.len()) as u64;
                    self.state = State::Chunked(cs);
                    match step {
                        ChunkStep::Data(d) => return Step::Body(d),
                        ChunkStep::NeedMore => return Step::NeedMore,
                        ChunkStep::Done => self.state = State::Ending,
                        ChunkStep::Error => {
                            self.enter_resync();
                            return Step::BadChunk;
                        }
                    }
                }
                State::UntilClose => {
                    if input.is_empty() {
                        return Step::NeedMore;
                    }
                    let n = input.len();
                    return Step::Body(self.consume(input, n));
                }
                State::Ending => {
                    self.messages += 1;
                    self.skipped = 0;
                    self.info.resynced = false;
                    self.state = if self.pause_after {
                        State::Paused
                    } else {
                        State::Idle
                    };
                    self.pause_after = false;
                    return Step::End;
                }
                State::Paused => {
                    if self.buf.is_empty() {
                        // Remember when and with which acknowledgment the held bytes began.
                        self.info.first_ts = ts;
                        self.info.peer_ack = peer_ack;
                    }
                    let n = input.len();
                    let keep = n
                        .min(lim.max_paused_bytes.saturating_sub(self.buf.len()))
                        .min(room);
                    self.buf.extend_from_slice(&input[..keep]);
                    self.dropped_bytes += (n - keep) as u64;
                    self.consume(input, n);
                    return Step::NeedMore;
                }
                State::Tunnel | State::Dead => {
                    let n = input.len();
                    if self.state == State::Tunnel {
                        self.tunnel_bytes += n as u64;
                    }
                    self.consume(input, n);
                    return Step::NeedMore;
                }
                State::Resync => {
                    if input.is_empty() {
                        return Step::NeedMore;
                    }
                    let Some(nl) = memchr::memchr(b'\n', input) else {
                        // No line end yet: keep the tail of the line (bounded) and wait.
                        let n = input.len();
                        let piece = self.consume(input, n);
                        self.carry(piece, lim.max_resync_line, room);
                        return Step::NeedMore;
                    };
                    let piece = self.consume(input, nl + 1);
                    let line_start = self.offset - (self.buf.len() + piece.len()) as u64;
                    let found = if self.buf.is_empty() {
                        self.find_start(piece)
                    } else {
                        self.buf.extend_from_slice(piece);
                        self.find_start(&self.buf)
                    };
                    match found {
                        Some((at, k)) => {
                            self.kind = Some(k);
                            if self.buf.is_empty() {
                                self.buf.extend_from_slice(&piece[at..]);
                            } else {
                                self.buf.drain(..at);
                            }
                            let skipped = at as u64;
                            self.skipped += skipped;
                            self.skipped_total += skipped;
                            self.info = HeadInfo {
                                first_ts: ts,
                                last_ts: ts,
                                offset: line_start + skipped,
                                peer_ack,
                                resynced: true,
                            };
                            self.state = State::Head {
                                scanned: self.buf.len().saturating_sub(2),
                            };
                        }
                        None => {
                            let n = (if self.buf.is_empty() {
                                piece.len()
                            } else {
                                self.buf.len()
                            }) as u64;
                            self.skipped += n;
                            self.skipped_total += n;
                            self.buf.clear();
                        }
                    }
                }
            }
        }
    }

    /// Where a start line of this parser's kind (either, when unknown) begins within `line`.
    fn find_start(&self, line: &[u8]) -> Option<(usize, Kind)> {
        let resp = || find_start_in_line(line, false).map(|i| (i, Kind::Response));
        let req = || find_start_in_line(line, true).map(|i| (i, Kind::Request));
        match self.kind {
            Some(Kind::Request) => req(),
            Some(Kind::Response) => resp(),
            None => resp().or_else(req),
        }
    }

    /// Keeps `piece` as the continuation of the current partial line; when the line grows past
    /// `max`, its older half is dropped (a start line sits at the end of a line).
    fn carry(&mut self, piece: &[u8], max: usize, room: usize) {
        let max = max.min(self.buf.len().saturating_add(room)).max(64);
        let dropped = if piece.len() >= max {
            let d = self.buf.len() + piece.len() - max / 2;
            self.buf.clear();
            self.buf.extend_from_slice(&piece[piece.len() - max / 2..]);
            d
        } else {
            self.buf.extend_from_slice(piece);
            if self.buf.len() > max {
                let d = self.buf.len() - max / 2;
                self.buf.drain(..d);
                d
            } else {
                0
            }
        };
        self.skipped += dropped as u64;
        self.skipped_total += dropped as u64;
    }

    fn finish_head<'a>(&mut self, bytes: &[u8], lim: &ParserLimits) -> Step<'a> {
        match MessageHead::parse(bytes, lim.max_headers) {
            Ok(head) => {
                self.state = State::AwaitFraming;
                if self.kind.is_none() {
                    self.kind = Some(if head.is_request() {
                        Kind::Request
                    } else {
                        Kind::Response
                    });
                }
                Step::Head(Box::new(head), self.info)
            }
            Err(e) => {
                self.state = State::Idle;
                self.info.resynced = false;
                Step::BadHead(e)
            }
        }
    }

    /// Sets the body framing of the head just returned.
    pub fn begin_body(&mut self, framing: Framing) {
        self.state = match framing {
            Framing::None => State::Ending,
            Framing::Length(0) => State::Ending,
            Framing::Length(n) => State::Length(n),
            Framing::Chunked => State::Chunked(ChunkState::default()),
            Framing::UntilClose => State::UntilClose,
            Framing::Tunnel => {
                self.pause_after = false;
                State::Ending
            }
        };
    }

    /// Stops parsing for good: the connection switched protocols.
    pub fn tunnel(&mut self) {
        self.tunnel_bytes += self.buf.len() as u64;
        self.buf = Vec::new();
        self.state = State::Tunnel;
    }

    /// Leaves the paused state, returning the bytes held meanwhile (to be fed again), with the
    /// capture time and acknowledgment of their first byte.
    pub fn resume(&mut self) -> (Vec<u8>, Timestamp, Option<u64>) {
        if self.state != State::Paused {
            return (Vec::new(), self.info.first_ts, None);
        }
        self.state = State::Idle;
        self.offset -= self.buf.len() as u64;
        (
            std::mem::take(&mut self.buf),
            self.info.first_ts,
            self.info.peer_ack,
        )
    }

    /// `len` bytes were lost at the current position.
    pub fn gap(&mut self, len: u64) -> GapEffect {
        self.offset += len;
        match self.state {
            State::Idle => {
                self.enter_resync();
                GapEffect::None
            }
            State::Head { .. } => {
                self.enter_resync();
                GapEffect::LostHead
            }
            State::Length(left) if len < left => {
                self.state = State::Length(left - len);
                GapEffect::BodyHole
            }
            State::Length(left) if len == left => {
                self.state = State::Ending;
                GapEffect::BodyHoleEnd
            }
            State::Chunked(ChunkState::Data(left)) if len < left => {
                self.state = State::Chunked(ChunkState::Data(left - len));
                GapEffect::BodyHole
            }
            State::UntilClose => GapEffect::BodyHole,
            State::Length(_) | State::Chunked(_) => {
                self.enter_resync();
                GapEffect::BodyLost
            }
            State::AwaitFraming | State::Ending => {
                self.enter_resync();
                GapEffect::None
            }
            State::Paused => {
                self.dropped_bytes += self.buf.len() as u64;
                self.buf.clear();
                self.pause_after = false;
                GapEffect::None
            }
            State::Resync => {
                self.skipped += self.buf.len() as u64;
                self.skipped_total += self.buf.len() as u64;
                self.buf.clear();
                GapEffect::None
            }
            State::Tunnel | State::Dead => GapEffect::None,
        }
    }

    /// The stream ended.
    pub fn eof(&mut self) -> EofEffect {
        let effect = match self.state {
            State::UntilClose => EofEffect::BodyEnd,
            State::Length(_) | State::Chunked(_) => EofEffect::Truncated,
            State::Head { .. } => EofEffect::LostHead,
            State::Ending => EofEffect::BodyEnd,
            _ => EofEffect::None,
        };
        if !matches!(self.state, State::Tunnel | State::Dead) {
            self.state = State::Idle;
        }
        self.buf = Vec::new();
        effect
    }
}

/// A request starts with a method token, a response with `H`: anything else at the very start of
/// a stream (a TLS record, an SSH banner's binary successor) is not HTTP.
fn plausible_first_byte(b: u8) -> bool {
    is_token(b)
}

/// At the very start of a stream: the first line (or what there is of it) could be a start line.
fn first_line_plausible(buf: &[u8]) -> bool {
    match memchr::memchr(b'\n', buf) {
        Some(nl) => is_request_line_lenient(&buf[..nl]) || is_start_line(&buf[..nl], false),
        None => {
            if buf.starts_with(b"HTTP/") || b"HTTP/".starts_with(buf) {
                return true;
            }
            // A method token (at most 32 bytes) and then a space.
            let tok = buf.iter().take_while(|&&b| is_token(b)).count();
            if tok == buf.len() {
                tok <= 32
            } else {
                tok > 0 && tok <= 32 && buf[tok] == b' '
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIM: ParserLimits = ParserLimits {
        max_head_bytes: 1024,
        max_headers: 32,
        max_paused_bytes: 1024,
        max_resync_line: 256,
    };

    /// Feeds `chunks` and records steps as text.
    fn run(
        p: &mut HalfParser,
        chunks: &[&[u8]],
        framing: impl Fn(&MessageHead) -> Framing,
    ) -> Vec<String> {
        let mut out = Vec::new();
        for chunk in chunks {
            let mut input = *chunk;
            loop {
                match p.advance(&mut input, Timestamp(0), None, &LIM, usize::MAX) {
                    Step::NeedMore => break,
                    Step::Head(h, info) => {
                        out.push(format!(
                            "head {} @{}{}",
                            String::from_utf8_lossy(h.raw().split(|&b| b == b'\r').next().unwrap()),
                            info.offset,
                            if info.resynced { " resync" } else { "" }
                        ));
                        p.begin_body(framing(&h));
                    }
                    Step::Body(d) => out.push(format!("body {}", String::from_utf8_lossy(d))),
                    Step::End => out.push("end".into()),
                    other => out.push(format!("{other:?}")),
                }
            }
        }
        out
    }

    fn cl(h: &MessageHead) -> Framing {
        super::super::body::request_framing(h).0
    }

    #[test]
    fn head_split_anywhere_gives_the_same_steps() {
        let msg =
            b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET /y HTTP/1.1\r\n\r\n";
        let whole = run(&mut HalfParser::new(Some(Kind::Request), false), &[msg], cl);
        assert_eq!(
            whole,
            [
                "head POST /x HTTP/1.1 @0",
                "body abc",
                "end",
                "head GET /y HTTP/1.1 @51",
                "end"
            ]
        );
        for cut in 1..msg.len() {
            let got = run(
                &mut HalfParser::new(Some(Kind::Request), false),
                &[&msg[..cut], &msg[cut..]],
                cl,
            );
            let joined: String = got
                .join("|")
                .replace("body a|body bc", "body abc")
                .replace("body ab|body c", "body abc");
            assert_eq!(joined, whole.join("|"), "cut at {cut}");
        }
    }

    #[test]
    fn oversized_head_resyncs() {
        let mut p = HalfParser::new(Some(Kind::Request), false);
        let mut big = b"GET / HTTP/1.1\r\n".to_vec();
        big.extend(std::iter::repeat_n(b'a', 2000));
        let steps = run(
            &mut p,
            &[&big[..100], &big[100..], b"\r\nGET /next HTTP/1.1\r\n\r\n"],
            cl,
        );
        assert_eq!(
            steps,
            [
                "HeadTooLarge",
                "head GET /next HTTP/1.1 @2018 resync",
                "end"
            ]
        );
        assert!(p.held() <= 4096);
    }

    #[test]
    fn not_http_at_stream_start() {
        let mut p = HalfParser::new(None, false);
        assert_eq!(
            run(&mut p, &[&[0x16, 0x03, 0x01, 0x02, 0x00]], cl),
            ["NotHttp"]
        );
        let mut p = HalfParser::new(None, false);
        assert_eq!(
            run(&mut p, &[b"SSH-2.0-OpenSSH_9.2p1 Debian\r\n"], cl),
            ["NotHttp"]
        );
        let mut p = HalfParser::new(None, false);
        assert_eq!(
            run(&mut p, &[b"HTTP/1.1 200 OK\r\n\r\n"], |_| Framing::None),
            ["head HTTP/1.1 200 OK @0", "end"]
        );
        assert_eq!(p.kind, Some(Kind::Response));
    }

    #[test]
    fn gap_in_body_and_resync() {
        let mut p = HalfParser::new(Some(Kind::Request), false);
        run(
            &mut p,
            &[b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nab"],
            cl,
        );
        assert_eq!(p.gap(3), GapEffect::BodyHole);
        assert_eq!(run(&mut p, &[b"cdefg"], cl), ["body cdefg", "end"]);
        run(
            &mut p,
            &[b"POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\nab"],
            cl,
        );
        assert_eq!(p.gap(100), GapEffect::BodyLost);
        let steps = run(
            &mut p,
            &[b"junk\r\nmore junk\r\nGET /after HTTP/1.1\r\n\r\n"],
            cl,
        );
        assert_eq!(steps.last().unwrap(), "end");
        assert!(steps[0].starts_with("head GET /after"), "{steps:?}");
        assert_eq!(p.gap(5), GapEffect::None);
    }

    #[test]
    fn paused_bytes_are_returned() {
        let mut p = HalfParser::new(Some(Kind::Request), false);
        p.pause_after = true;
        run(
            &mut p,
            &[b"GET /chat HTTP/1.1\r\nUpgrade: websocket\r\n\r\n"],
            cl,
        );
        assert!(p.is_paused());
        run(&mut p, &[b"GET /b HTTP/1.1\r\n\r\n"], cl);
        let (held, _, _) = p.resume();
        assert_eq!(held, b"GET /b HTTP/1.1\r\n\r\n");
        let mut input = &held[..];
        let Step::Head(h, info) = p.advance(&mut input, Timestamp(0), None, &LIM, usize::MAX)
        else {
            panic!()
        };
        assert_eq!(h.target(), b"/b");
        assert_eq!(info.offset, 42);
    }

    #[test]
    fn slow_drip_is_linear() {
        // One byte at a time through a near-cap head: each byte must not rescan the buffer.
        let mut p = HalfParser::new(Some(Kind::Request), false);
        let lim = ParserLimits {
            max_head_bytes: 64 * 1024,
            ..LIM
        };
        let mut msg = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..2000 {
            msg.extend_from_slice(format!("X-{i:05}: yyyyyyyyyyyyyyyyyyyyy\r\n").as_bytes());
        }
        msg.extend_from_slice(b"\r\n");
        let start = std::time::Instant::now();
        let mut heads = 0;
        for b in &msg {
            let mut input = std::slice::from_ref(b);
            loop {
                match p.advance(&mut input, Timestamp(0), None, &lim, usize::MAX) {
                    Step::NeedMore => break,
                    Step::Head(..) => {
                        heads += 1;
                        p.begin_body(Framing::None)
                    }
                    _ => {}
                }
            }
        }
        assert_eq!(
            heads, 0,
            "2000 headers exceed max_headers=32: the head is refused"
        );
        // Quadratic rescanning of ~64 KiB per byte would take seconds; linear takes milliseconds.
        assert!(start.elapsed().as_secs_f64() < 2.0);
    }
}
