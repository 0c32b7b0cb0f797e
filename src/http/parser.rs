//! One direction's message parser: heads, bodies, tunnels and resynchronisation.
//!
//! The parser is fed in-order bytes as they arrive and is pulled one [`Step`] at a time. Work is
//! linear in the input: a head that arrives in pieces is searched for its end only in the new
//! bytes, resynchronisation scans line by line with `memchr`, and every buffer has a cap.
//!
//! What the parser reports does not depend on how the stream was cut into pieces (given enough
//! `room`): the head size cap, the check that the start of a stream looks like HTTP, and the part
//! of a line searched while resynchronising are applied to the same bytes whether they arrive
//! in one piece or in many.

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
    /// Longest line searched for a start line while resynchronising (at least 64): of a longer
    /// line, only the last this many bytes are searched, however the line arrived. Up to twice
    /// this is buffered while a line is incomplete.
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
    /// While resynchronising: the front of the current line was dropped (it was longer than
    /// the search window).
    line_cut: bool,
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
            line_cut: false,
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
        self.line_cut = false;
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
                    // At the very start of a stream: is this HTTP at all? Checked at most twice
                    // (once 64 bytes of the first line are in, once the line is complete), with
                    // checks such that the verdict is the same whether the line is read whole
                    // or in pieces (see `first_line_plausible`).
                    let sniffing = self.messages == 0
                        && self.info.offset == 0
                        && !self.info.resynced
                        && self.sniff < 2;
                    if self.buf.is_empty() {
                        // A head that ends within the cap is read from the input without a
                        // copy. Only the first `max_head_bytes` are searched: a longer head goes
                        // through the buffer below and is refused there, as in pieces.
                        let within = &input[..input.len().min(lim.max_head_bytes)];
                        if let Some(end) = find_head_end(within, 0) {
                            let bytes = self.consume(input, end);
                            if sniffing && !first_line_plausible(bytes) {
                                self.sniff = 2;
                                self.state = State::Dead;
                                return Step::NotHttp;
                            }
                            return self.finish_head(bytes, lim);
                        }
                    }
                    let old = self.buf.len();
                    let cap = lim.max_head_bytes.min(old.saturating_add(room));
                    let take = input.len().min(cap + 1 - old.min(cap + 1));
                    self.buf.extend_from_slice(&input[..take]);
                    if sniffing {
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
                    // A head is at most `cap` bytes: one that ends in the byte past the cap is
                    // too large as well.
                    match find_head_end(&self.buf, scanned) {
                        Some(end) if end <= cap => {
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
                        found => {
                            self.consume(input, take);
                            if found.is_some() || self.buf.len() > cap || take == 0 {
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
                    let window = lim.max_resync_line.max(64);
                    let Some(nl) = memchr::memchr(b'\n', input) else {
                        // No line end yet: keep the tail of the line (bounded) and wait.
                        let n = input.len();
                        let piece = self.consume(input, n);
                        self.carry(piece, window, room);
                        return Step::NeedMore;
                    };
                    let piece = self.consume(input, nl + 1);
                    // Only the last `window` bytes of the line are searched, whether it came
                    // whole (`piece`) or in pieces (`buf` + `piece`).
                    let from_piece = self.buf.is_empty() || piece.len() >= window;
                    let dropped = if from_piece {
                        let d = self.buf.len() + piece.len().saturating_sub(window);
                        self.buf.clear();
                        d
                    } else {
                        let d = (self.buf.len() + piece.len()).saturating_sub(window);
                        self.buf.drain(..d);
                        self.buf.extend_from_slice(piece);
                        d
                    };
                    let cut = self.line_cut || dropped > 0;
                    self.line_cut = false;
                    let line: &[u8] = if from_piece {
                        &piece[piece.len().saturating_sub(window)..]
                    } else {
                        &self.buf
                    };
                    let line_len = line.len();
                    let line_start = self.offset - line_len as u64;
                    let found = self.find_start(line, cut);
                    let skipped = dropped as u64 + found.map_or(line_len, |(at, _)| at) as u64;
                    self.skipped += skipped;
                    self.skipped_total += skipped;
                    match found {
                        Some((at, k)) => {
                            self.kind = Some(k);
                            if from_piece {
                                self.buf
                                    .extend_from_slice(&piece[piece.len() - line_len + at..]);
                            } else {
                                self.buf.drain(..at);
                            }
                            self.info = HeadInfo {
                                first_ts: ts,
                                last_ts: ts,
                                offset: line_start + at as u64,
                                peer_ack,
                                resynced: true,
                            };
                            self.state = State::Head {
                                scanned: self.buf.len().saturating_sub(2),
                            };
                        }
                        None => self.buf.clear(),
                    }
                }
            }
        }
    }

    /// Where a start line of this parser's kind (either, when unknown) begins within `line`.
    /// When the front of the line was `cut` off, a request line at its very start is not taken:
    /// its method may be the tail of a longer token.
    fn find_start(&self, line: &[u8], cut: bool) -> Option<(usize, Kind)> {
        let resp = || find_start_in_line(line, false).map(|i| (i, Kind::Response));
        let req = || {
            find_start_in_line(line, true)
                .filter(|&i| !cut || i > 0)
                .map(|i| (i, Kind::Request))
        };
        match self.kind {
            Some(Kind::Request) => req(),
            Some(Kind::Response) => resp(),
            None => resp().or_else(req),
        }
    }

    /// Keeps `piece` as the continuation of the current partial line: at least its last
    /// `window` bytes (fewer only when `room` is short), at most twice that, so that trimming the
    /// front stays linear in the input.
    fn carry(&mut self, piece: &[u8], window: usize, room: usize) {
        let hold = window
            .saturating_mul(2)
            .min(self.buf.len().saturating_add(room))
            .max(64);
        let keep = window.min(hold);
        let total = self.buf.len() + piece.len();
        if total <= hold {
            self.buf.extend_from_slice(piece);
            return;
        }
        let dropped = total - keep;
        if piece.len() >= keep {
            self.buf.clear();
            self.buf.extend_from_slice(&piece[piece.len() - keep..]);
        } else {
            self.buf.drain(..dropped);
            self.buf.extend_from_slice(piece);
        }
        self.line_cut = true;
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
                self.line_cut = false;
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
///
/// A complete line passes when it is a status line, or when it begins with a method-like token
/// of at most 32 bytes and is a request line (leniently read) or, broken as it may be, ends with
/// an HTTP version (`GET/ HTTP/1.1`, `OPTIONSHTTP/1.1`: HTTP that a server answers with 400).
/// The first 64 bytes or more of a line without its end pass when they begin with `HTTP/` or
/// with such a token followed by a space or a slash. A complete line of 64 bytes or more passes
/// only if its first 64 bytes pass, so the verdict does not depend on where the line was cut.
fn first_line_plausible(buf: &[u8]) -> bool {
    let tok = buf.iter().take_while(|&&b| is_token(b)).count();
    let method_like = (1..=32).contains(&tok) && matches!(buf.get(tok), Some(b' ' | b'/'));
    match memchr::memchr(b'\n', buf) {
        Some(nl) => {
            let line = &buf[..nl];
            is_start_line(line, false)
                || (tok <= 32 && is_request_line_lenient(line))
                || (method_like && ends_with_version(line))
        }
        None => {
            if buf.starts_with(b"HTTP/") || b"HTTP/".starts_with(buf) {
                return true;
            }
            if tok == buf.len() {
                tok <= 32
            } else {
                method_like
            }
        }
    }
}

/// True when `line` (with or without its CR) ends with `HTTP/d.d`.
fn ends_with_version(line: &[u8]) -> bool {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    match line.len().checked_sub(8).map(|i| &line[i..]) {
        Some([b'H', b'T', b'T', b'P', b'/', maj, b'.', min]) => {
            maj.is_ascii_digit() && min.is_ascii_digit()
        }
        _ => false,
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
        run_lim(p, chunks, framing, &LIM)
    }

    /// [`run`] with other limits.
    fn run_lim(
        p: &mut HalfParser,
        chunks: &[&[u8]],
        framing: impl Fn(&MessageHead) -> Framing,
        lim: &ParserLimits,
    ) -> Vec<String> {
        let mut out = Vec::new();
        for chunk in chunks {
            let mut input = *chunk;
            loop {
                match p.advance(&mut input, Timestamp(0), None, lim, usize::MAX) {
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

    /// Parses `stream` whole, then cut at every position and at every pair of positions, and
    /// checks that every run gives the same steps (body pieces joined), the same offset and the
    /// same end-of-stream effect. Returns the steps of the whole run.
    fn same_whole_and_split(
        kind: Option<Kind>,
        resync: bool,
        lim: &ParserLimits,
        stream: &[u8],
    ) -> Vec<String> {
        let go = |cuts: &[usize]| {
            let mut p = HalfParser::new(kind, resync);
            let mut chunks = Vec::new();
            let mut prev = 0;
            for &c in cuts.iter().chain([stream.len()].iter()) {
                chunks.push(&stream[prev..c]);
                prev = c;
            }
            let mut steps: Vec<String> = Vec::new();
            for s in run_lim(&mut p, &chunks, cl, lim) {
                match (steps.last_mut(), s.strip_prefix("body ")) {
                    (Some(last), Some(more)) if last.starts_with("body ") => last.push_str(more),
                    _ => steps.push(s),
                }
            }
            assert_eq!(p.offset, stream.len() as u64, "cuts {cuts:?}");
            steps.push(format!("eof {:?}", p.eof()));
            steps
        };
        let whole = go(&[]);
        for a in 1..stream.len() {
            assert_eq!(go(&[a]), whole, "cut at {a}");
            for b in a + 1..stream.len() {
                assert_eq!(go(&[a, b]), whole, "cut at {a} and {b}");
            }
        }
        whole
    }

    /// Fuzz finding 4: a head that arrived in one piece skipped `max_head_bytes` (in pieces it
    /// was refused), and a buffered head of `max_head_bytes + 1` bytes was accepted.
    #[test]
    fn head_cap_applies_whole_and_split() {
        let lim = ParserLimits {
            max_head_bytes: 64,
            ..LIM
        };
        // The fuzz reproducer: an 80-byte value in a 64-byte cap.
        let mut stream = b"GET / HTTP/1.1\r\nX-Long: ".to_vec();
        stream.extend(std::iter::repeat_n(b'a', 80));
        stream.extend_from_slice(b"\r\n\r\n");
        let steps = same_whole_and_split(Some(Kind::Request), false, &lim, &stream);
        assert_eq!(steps, ["HeadTooLarge", "eof None"]);
        // Exactly at the cap, and one byte past it.
        for (len, fits) in [(64, true), (65, false)] {
            let mut head = b"GET / HTTP/1.1\r\nX: ".to_vec();
            head.resize(len - 4, b'v');
            head.extend_from_slice(b"\r\n\r\n");
            head.extend_from_slice(b"GET /next HTTP/1.1\r\n\r\n");
            let steps = same_whole_and_split(Some(Kind::Request), false, &lim, &head);
            assert_eq!(steps[0] != "HeadTooLarge", fits, "{len}: {steps:?}");
            let next = format!(
                "head GET /next HTTP/1.1 @{len}{}",
                if fits { "" } else { " resync" }
            );
            assert!(steps.contains(&next), "{len}: {steps:?}");
        }
    }

    /// Fuzz finding 5: the "is this HTTP?" check at the start of a stream ran only on heads that
    /// were buffered, so its verdict depended on where the stream was cut.
    #[test]
    fn stream_start_check_does_not_depend_on_cuts() {
        // A first line that is no start line, ending the head at once (the fuzz reproducer).
        let steps = same_whole_and_split(None, false, &LIM, b"A:\r\n\r\nGET /x HTTP/1.1\r\n\r\n");
        assert_eq!(steps, ["NotHttp", "eof None"]);
        // A method token longer than 32 bytes: refused as the whole line and as its first 64
        // bytes alike.
        let mut long = vec![b'X'; 40];
        long.extend_from_slice(b" /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\n\r\n");
        assert_eq!(
            same_whole_and_split(None, false, &LIM, &long),
            ["NotHttp", "eof None"]
        );
        // A method of 32 bytes is fine, as are ordinary heads.
        let mut ok = vec![b'X'; 32];
        ok.extend_from_slice(b" /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\n\r\n");
        assert_eq!(same_whole_and_split(None, false, &LIM, &ok).len(), 3);
        assert_eq!(
            same_whole_and_split(None, false, &LIM, b"HTTP/1.1 204 No Content\r\n\r\n"),
            ["head HTTP/1.1 204 No Content @0", "end", "eof None"]
        );
        // Broken request lines that are still HTTP (servers answer them with 400): a bad head,
        // then parsing goes on, whole or cut, short or long.
        for first in [
            &b"GET/ HTTP/1.1"[..],
            b"OPTIONSHTTP/1.1",
            b"GET/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1",
        ] {
            let stream = [first, b"\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\n\r\n"].concat();
            assert_eq!(
                same_whole_and_split(None, false, &LIM, &stream),
                [
                    "BadHead(RequestLine)",
                    &format!("head GET /b HTTP/1.1 @{}", first.len() + 13),
                    "end",
                    "eof None"
                ],
                "{}",
                String::from_utf8_lossy(first)
            );
        }
    }

    /// Fuzz finding 6: while resynchronising, a line that came whole was searched whole, but one
    /// that came in pieces was cut to its last `max_resync_line / 2` bytes: long start lines were
    /// found only whole, and cutting the front off a line could invent a start line.
    #[test]
    fn resync_searches_the_same_bytes_whole_and_split() {
        let lim = ParserLimits {
            max_resync_line: 64,
            ..LIM
        };
        // A start line longer than the window: missed, whole or not.
        let mut long = b"xx\r\nGET /".to_vec();
        long.extend(std::iter::repeat_n(b'a', 100));
        long.extend_from_slice(b" HTTP/1.1\r\nHost: h\r\n\r\n");
        let steps = same_whole_and_split(Some(Kind::Request), true, &lim, &long);
        assert!(!steps.iter().any(|s| s.starts_with("head")), "{steps:?}");
        // Cutting the front off `\0aaa...a / HTTP/1.1` must not make `aaa...a` a method.
        let mut junk = b"\0".to_vec();
        junk.extend(std::iter::repeat_n(b'a', 60));
        junk.extend_from_slice(b" / HTTP/1.1\r\nHost: h\r\n\r\n");
        let steps = same_whole_and_split(Some(Kind::Request), true, &lim, &junk);
        assert!(!steps.iter().any(|s| s.starts_with("head")), "{steps:?}");
        // A start line at the end of a long line of other bytes is found, whole or not.
        let mut tail = vec![b'x'; 150];
        tail.extend_from_slice(b"\xffGET /ok HTTP/1.1\r\n\r\n");
        let steps = same_whole_and_split(None, true, &lim, &tail);
        assert_eq!(
            steps,
            ["head GET /ok HTTP/1.1 @151 resync", "end", "eof None"]
        );
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
