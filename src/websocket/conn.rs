//! One WebSocket connection: both directions parsed as streams, frame by frame.
//!
//! Each direction is a small state machine (a header being read, a payload going by, or
//! stopped). A header is read into a 14-byte buffer at most, a payload is never buffered: it is
//! counted, and only the bytes a sample still wants are unmasked (and inflated) into it. So a
//! frame announcing 2^63 - 1 bytes costs nothing but its header, and a byte is handled once
//! however the stream is cut into segments.
//!
//! A gap inside a payload of known length is skipped (the next header is where the length
//! says); a gap anywhere else stops that direction, since a frame boundary cannot be found
//! again reliably.

use super::frame::{FrameError, FrameHeader, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN, Opcode, unmask};
use super::{Handshake, WsConfig, WsDirection, WsSample, WsStats, WsSummary};
use crate::reassembly::Dir;
use crate::time::Timestamp;
use flate2::{Decompress, FlushDecompress, Status};

/// State shared by every WebSocket connection: limits, counters, memory in use.
pub struct WsCtx {
    /// Limits.
    pub cfg: WsConfig,
    /// Counters.
    pub stats: WsStats,
    mem: usize,
    scratch: Vec<u8>,
}

impl WsCtx {
    /// A context with the given limits.
    pub fn new(cfg: WsConfig) -> WsCtx {
        WsCtx {
            cfg,
            stats: WsStats::default(),
            mem: 0,
            scratch: Vec::new(),
        }
    }

    /// Bytes held by all connections (samples in progress, inflaters).
    pub fn memory(&self) -> usize {
        self.mem
    }

    fn room(&self) -> usize {
        self.cfg.max_memory.saturating_sub(self.mem)
    }
}

/// Where a direction's parser is.
#[derive(Clone, Copy, Debug)]
enum State {
    /// Reading a frame header (`have` bytes of it in the buffer).
    Header,
    /// A payload going by: `pos` of `h.len` bytes seen.
    Payload { h: FrameHeader, pos: u64 },
    /// No longer parsed.
    Stopped,
}

/// A data message in progress.
struct Msg {
    opcode: Opcode,
    len: u64,
    compressed: bool,
    /// The sample being taken (text messages, while samples are wanted).
    sample: Option<Vec<u8>>,
    truncated: bool,
    /// Its bytes could not all be read (a gap) or inflated.
    broken: bool,
    /// Samples were still wanted when it began (a compressed one is inflated then).
    wanted: bool,
}

/// One direction.
struct Half {
    from_client: bool,
    state: State,
    hdr: [u8; MAX_HEADER_LEN],
    have: usize,
    fig: WsDirection,
    msg: Option<Msg>,
    /// The first two payload bytes of a close frame.
    close: [u8; 2],
    /// Raw-deflate stream of the direction's compressed messages (`permessage-deflate`),
    /// while samples are wanted.
    inflate: Option<Box<Decompress>>,
    /// The inflater was given up (a gap, an error, a cap): compressed messages are not decoded.
    inflate_lost: bool,
    inflated: u64,
    /// Compressed messages not decoded.
    not_decoded: u64,
}

/// What a direction needs of its connection while it parses.
struct Shared<'a> {
    frames: &'a mut u64,
    samples: &'a mut Vec<WsSample>,
    held: &'a mut usize,
    deflate: bool,
    /// Set when the frame cap is reached.
    capped: &'a mut bool,
}

/// A WebSocket connection after its upgrade.
pub struct WsConn {
    client: Dir,
    halves: [Half; 2],
    frames: u64,
    samples: Vec<WsSample>,
    held: usize,
    hs: Handshake,
    last_ts: Timestamp,
    capped: bool,
}

impl WsConn {
    /// The connection the handshake `hs` opened.
    pub fn new(ctx: &mut WsCtx, hs: Handshake) -> WsConn {
        ctx.stats.connections += 1;
        ctx.stats.accept_mismatches += u64::from(!hs.accept_ok);
        ctx.stats.deflate_connections += u64::from(hs.deflate);
        let half = |from_client| Half {
            from_client,
            state: State::Header,
            hdr: [0; MAX_HEADER_LEN],
            have: 0,
            fig: WsDirection::default(),
            msg: None,
            close: [0; 2],
            inflate: None,
            inflate_lost: false,
            inflated: 0,
            not_decoded: 0,
        };
        let client = hs.client;
        let mut halves = [half(false), half(false)];
        halves[client.index()].from_client = true;
        WsConn {
            client,
            halves,
            frames: 0,
            samples: Vec::new(),
            held: 0,
            last_ts: hs.ts,
            hs,
            capped: false,
        }
    }

    /// Bytes sent in `dir`, in stream order.
    pub fn data(&mut self, ctx: &mut WsCtx, dir: Dir, data: &[u8], ts: Timestamp) {
        self.last_ts = self.last_ts.max(ts);
        let (frames, samples, held) = (&mut self.frames, &mut self.samples, &mut self.held);
        let mut capped = false;
        let mut sh = Shared {
            frames,
            samples,
            held,
            deflate: self.hs.deflate,
            capped: &mut capped,
        };
        let h = &mut self.halves[dir.index()];
        h.feed(ctx, &mut sh, data);
        if capped && !self.capped {
            self.capped = true;
            ctx.stats.frames_over_cap += 1;
            for h in &mut self.halves {
                h.stop(ctx, &mut self.held);
            }
        }
    }

    /// `len` bytes of `dir` lost in a capture gap.
    pub fn gap(&mut self, ctx: &mut WsCtx, dir: Dir, len: u64, ts: Timestamp) {
        self.last_ts = self.last_ts.max(ts);
        let (frames, samples, held) = (&mut self.frames, &mut self.samples, &mut self.held);
        let mut capped = false;
        let mut sh = Shared {
            frames,
            samples,
            held,
            deflate: self.hs.deflate,
            capped: &mut capped,
        };
        self.halves[dir.index()].gap(ctx, &mut sh, len);
    }

    /// Bytes of `dir` the layer did not see (the flow table stopped delivering them).
    pub fn ignored(&mut self, ctx: &mut WsCtx, len: u64) {
        ctx.stats.unparsed_bytes += len;
    }

    /// The client's direction.
    pub fn client(&self) -> Dir {
        self.client
    }

    /// Ends the connection: its figures and samples, the memory they held released.
    pub fn finish(mut self, ctx: &mut WsCtx, ts: Timestamp) -> WsSummary {
        self.last_ts = self.last_ts.max(ts);
        let mut not_decoded = 0;
        for h in &mut self.halves {
            if h.msg.take().is_some() {
                ctx.stats.incomplete_messages += 1;
            }
            if h.inflate.take().is_some() {
                self.held = self.held.saturating_sub(ctx.cfg.inflater_cost);
                ctx.mem = ctx.mem.saturating_sub(ctx.cfg.inflater_cost);
            }
            not_decoded += h.not_decoded;
        }
        ctx.mem = ctx.mem.saturating_sub(self.held);
        let [a, b] = self.halves;
        let (client, server) = if a.from_client { (a, b) } else { (b, a) };
        WsSummary {
            client: client.fig,
            server: server.fig,
            subprotocol: self.hs.subprotocol,
            deflate: self.hs.deflate,
            accept_ok: self.hs.accept_ok,
            first_ts: self.hs.ts,
            last_ts: self.last_ts,
            not_decoded,
            samples: self.samples,
        }
    }
}

impl Half {
    fn feed(&mut self, ctx: &mut WsCtx, sh: &mut Shared<'_>, data: &[u8]) {
        let mut input = data;
        while !input.is_empty() {
            match self.state {
                State::Stopped => {
                    ctx.stats.unparsed_bytes += input.len() as u64;
                    return;
                }
                State::Header => {
                    let take = (MAX_HEADER_LEN - self.have).min(input.len());
                    self.hdr[self.have..self.have + take].copy_from_slice(&input[..take]);
                    match FrameHeader::parse(&self.hdr[..self.have + take]) {
                        Ok(_) if *sh.frames >= ctx.cfg.max_frames => {
                            // The frame cap: the connection stops here (its owner stops the
                            // other direction too).
                            ctx.stats.unparsed_bytes += (input.len() + self.have) as u64;
                            self.have = 0;
                            self.stop(ctx, sh.held);
                            *sh.capped = true;
                            return;
                        }
                        Ok(h) => {
                            let used = h.header_len - self.have;
                            input = &input[used..];
                            self.have = 0;
                            self.on_header(ctx, sh, h);
                        }
                        Err(FrameError::Truncated { .. }) => {
                            // Only when `input` ran out: 14 bytes always make a header.
                            self.have += take;
                            input = &input[take..];
                        }
                        Err(FrameError::LengthOverflow(_)) => {
                            ctx.stats.length_overflows += 1;
                            ctx.stats.unparsed_bytes += (input.len() + self.have) as u64;
                            self.have = 0;
                            self.stop(ctx, sh.held);
                            return;
                        }
                    }
                }
                State::Payload { h, pos } => {
                    let n = (h.len - pos).min(input.len() as u64) as usize;
                    self.on_payload(ctx, sh, &h, pos, &input[..n]);
                    input = &input[n..];
                    let pos = pos + n as u64;
                    self.state = State::Payload { h, pos };
                    if pos == h.len {
                        self.end_frame(ctx, sh, &h);
                    }
                }
            }
        }
    }

    fn stop(&mut self, ctx: &mut WsCtx, held: &mut usize) {
        self.state = State::Stopped;
        self.fig.stopped = true;
        if let Some(m) = self.msg.take() {
            ctx.stats.incomplete_messages += 1;
            if let Some(s) = m.sample {
                *held = held.saturating_sub(s.capacity());
                ctx.mem = ctx.mem.saturating_sub(s.capacity());
            }
        }
        self.drop_inflater(ctx, held);
    }

    fn drop_inflater(&mut self, ctx: &mut WsCtx, held: &mut usize) {
        if self.inflate.take().is_some() {
            *held = held.saturating_sub(ctx.cfg.inflater_cost);
            ctx.mem = ctx.mem.saturating_sub(ctx.cfg.inflater_cost);
        }
    }

    fn on_header(&mut self, ctx: &mut WsCtx, sh: &mut Shared<'_>, h: FrameHeader) {
        *sh.frames += 1;
        ctx.stats.frames += 1;
        ctx.stats.payload_bytes = ctx.stats.payload_bytes.saturating_add(h.len);
        let op = usize::from(h.opcode.0 & 0xf);
        self.fig.frames += 1;
        self.fig.frames_by_opcode[op] += 1;
        self.fig.payload_by_opcode[op] = self.fig.payload_by_opcode[op].saturating_add(h.len);
        match (self.from_client, h.mask.is_some()) {
            (true, false) => ctx.stats.unmasked_client_frames += 1,
            (false, true) => ctx.stats.masked_server_frames += 1,
            _ => {}
        }
        let rsv_allowed = if sh.deflate { 0b100 } else { 0 };
        let mut bad = h.rsv & !rsv_allowed != 0;
        match h.opcode {
            op if op.is_reserved() => bad = true,
            op if op.is_control() => {
                bad |= !h.fin || h.len > MAX_CONTROL_PAYLOAD || h.rsv != 0;
                match op {
                    Opcode::PING => self.fig.pings += 1,
                    Opcode::PONG => self.fig.pongs += 1,
                    _ => self.fig.closes += 1,
                }
            }
            Opcode::CONTINUATION => {
                if self.msg.is_none() {
                    bad = true;
                }
                bad |= h.rsv != 0;
            }
            _ => {
                if let Some(m) = self.msg.take() {
                    // A new message before the last fragment of the previous one.
                    bad = true;
                    ctx.stats.incomplete_messages += 1;
                    self.release(ctx, sh.held, m);
                }
                self.begin_message(ctx, sh, &h);
            }
        }
        if bad {
            ctx.stats.bad_frames += 1;
        }
        if h.opcode == Opcode::CONTINUATION
            && let Some(m) = self.msg.as_mut()
        {
            m.len = m.len.saturating_add(h.len);
        }
        self.state = State::Payload { h, pos: 0 };
        if h.len == 0 {
            self.end_frame(ctx, sh, &h);
        }
    }

    fn begin_message(&mut self, ctx: &mut WsCtx, sh: &mut Shared<'_>, h: &FrameHeader) {
        let compressed = sh.deflate && h.rsv & 0b100 != 0;
        let wanted = sh.samples.len() < ctx.cfg.max_samples && ctx.cfg.sample_bytes > 0;
        // With context takeover a compressed message may refer to any earlier one: the
        // inflater reads every compressed message while samples are still wanted.
        if compressed && wanted && self.inflate.is_none() && !self.inflate_lost {
            let cost = ctx.cfg.inflater_cost;
            if ctx.room() >= cost {
                self.inflate = Some(Box::new(Decompress::new(false)));
                ctx.mem += cost;
                *sh.held += cost;
            } else {
                ctx.stats.memory_cap_inflaters += 1;
                self.inflate_lost = true;
            }
        }
        let sample = if h.opcode == Opcode::TEXT && wanted {
            if ctx.room() >= ctx.cfg.sample_bytes.min(4096) {
                Some(Vec::new())
            } else {
                ctx.stats.memory_cap_samples += 1;
                None
            }
        } else {
            None
        };
        self.msg = Some(Msg {
            opcode: h.opcode,
            len: h.len,
            compressed,
            sample,
            truncated: false,
            broken: compressed && wanted && self.inflate.is_none(),
            wanted,
        });
    }

    fn on_payload(
        &mut self,
        ctx: &mut WsCtx,
        sh: &mut Shared<'_>,
        h: &FrameHeader,
        pos: u64,
        data: &[u8],
    ) {
        if h.opcode == Opcode::CLOSE {
            for (i, b) in data.iter().enumerate() {
                let at = pos + i as u64;
                if at >= 2 {
                    break;
                }
                let k = h.mask.map_or(0, |k| k[(at % 4) as usize]);
                self.close[at as usize] = b ^ k;
            }
            return;
        }
        if h.opcode.is_control() || h.opcode.is_reserved() {
            return;
        }
        let Some(m) = self.msg.as_mut() else { return };
        if m.broken {
            return;
        }
        let cap = ctx.cfg.sample_bytes;
        let wants_plain = m
            .sample
            .as_ref()
            .is_some_and(|s| s.len() < cap && !m.compressed);
        let inflating = m.compressed && self.inflate.is_some();
        if !(wants_plain || inflating) {
            if m.sample.is_some() && !m.compressed {
                m.truncated = true;
            }
            return;
        }
        // Unmask only what is used: all of it for the inflater, the sample's room otherwise.
        let n = if m.compressed {
            data.len()
        } else {
            let room = cap.saturating_sub(m.sample.as_ref().map_or(0, Vec::len));
            if room < data.len() {
                m.truncated = true;
            }
            room.min(data.len())
        };
        let mut scratch = std::mem::take(&mut ctx.scratch);
        scratch.clear();
        scratch.extend_from_slice(&data[..n]);
        if let Some(k) = h.mask {
            unmask(&mut scratch, k, pos);
        }
        if m.compressed {
            let ok = self.inflate_into(ctx, sh, &scratch);
            if !ok {
                self.give_up_inflate(ctx, sh);
            }
        } else if let Some(s) = m.sample.as_mut() {
            let room = ctx.room();
            let take = scratch.len().min(room);
            if take < scratch.len() {
                m.truncated = true;
            }
            let before = s.capacity();
            s.extend_from_slice(&scratch[..take]);
            let grown = s.capacity() - before;
            ctx.mem += grown;
            *sh.held += grown;
        }
        // The scratch buffer is kept for the next payload, within reason.
        if scratch.capacity() <= 64 * 1024 {
            ctx.scratch = scratch;
        }
    }

    /// Inflates `input` (a piece of the current compressed message) into its sample;
    /// `false` when the stream is corrupt or over a cap.
    fn inflate_into(&mut self, ctx: &mut WsCtx, sh: &mut Shared<'_>, mut input: &[u8]) -> bool {
        let Some(d) = self.inflate.as_mut() else {
            return false;
        };
        let cap = ctx.cfg.sample_bytes;
        let mut out = [0u8; 4096];
        loop {
            let (in0, out0) = (d.total_in(), d.total_out());
            let status = match d.decompress(input, &mut out, FlushDecompress::Sync) {
                Ok(s) => s,
                Err(_) => return false,
            };
            let used = (d.total_in() - in0) as usize;
            let made = (d.total_out() - out0) as usize;
            input = &input[used.min(input.len())..];
            self.inflated += made as u64;
            if self.inflated > ctx.cfg.max_inflate_bytes {
                ctx.stats.inflate_over_cap += 1;
                return false;
            }
            if let Some(m) = self.msg.as_mut()
                && let Some(s) = m.sample.as_mut()
            {
                let room = cap.saturating_sub(s.len()).min(ctx.room());
                let take = made.min(room);
                if take < made {
                    m.truncated = true;
                }
                let before = s.capacity();
                s.extend_from_slice(&out[..take]);
                let grown = s.capacity() - before;
                ctx.mem += grown;
                *sh.held += grown;
            }
            if status == Status::StreamEnd {
                // A sender that ended its deflate stream (BFINAL) starts a new one.
                d.reset(false);
            }
            if input.is_empty() && made < out.len() {
                return true;
            }
            if used == 0 && made == 0 {
                return input.is_empty();
            }
        }
    }

    fn give_up_inflate(&mut self, ctx: &mut WsCtx, sh: &mut Shared<'_>) {
        self.inflate_lost = true;
        self.drop_inflater(ctx, sh.held);
        if let Some(m) = self.msg.as_mut() {
            m.broken = true;
        }
    }

    fn end_frame(&mut self, ctx: &mut WsCtx, sh: &mut Shared<'_>, h: &FrameHeader) {
        self.state = State::Header;
        if h.opcode == Opcode::CLOSE {
            if h.len >= 2 && self.fig.close_code.is_none() {
                self.fig.close_code = Some(u16::from_be_bytes(self.close));
            }
            return;
        }
        if h.opcode.is_control() || h.opcode.is_reserved() || !h.fin {
            return;
        }
        let Some(mut m) = self.msg.take() else { return };
        if m.compressed && !m.broken && self.inflate.is_some() {
            // RFC 7692 section 7.2.2: the sender removed this empty stored block's tail.
            if !self.inflate_into(ctx, sh, &[0x00, 0x00, 0xff, 0xff]) {
                self.give_up_inflate(ctx, sh);
                m.broken = true;
            }
        }
        if m.opcode == Opcode::TEXT {
            self.fig.text_messages += 1;
        } else {
            self.fig.binary_messages += 1;
        }
        ctx.stats.messages += 1;
        self.fig.bytes = self.fig.bytes.saturating_add(m.len);
        self.fig.max_message_bytes = self.fig.max_message_bytes.max(m.len);
        self.fig.sizes.record(m.len);
        if m.compressed && m.wanted {
            if m.broken {
                self.not_decoded += 1;
                ctx.stats.messages_not_decoded += 1;
            } else {
                ctx.stats.messages_inflated += 1;
            }
        }
        if sh.samples.len() >= ctx.cfg.max_samples && self.inflate.is_some() {
            self.drop_inflater(ctx, sh.held);
        }
        match m.sample.take() {
            Some(s) if !(m.compressed && m.broken) => {
                ctx.stats.samples += 1;
                ctx.stats.samples_truncated += u64::from(m.truncated);
                sh.samples.push(WsSample {
                    from_client: self.from_client,
                    text: s,
                    truncated: m.truncated,
                });
            }
            Some(s) => {
                *sh.held = sh.held.saturating_sub(s.capacity());
                ctx.mem = ctx.mem.saturating_sub(s.capacity());
            }
            None => {}
        }
    }

    fn release(&mut self, ctx: &mut WsCtx, held: &mut usize, m: Msg) {
        if let Some(s) = m.sample {
            *held = held.saturating_sub(s.capacity());
            ctx.mem = ctx.mem.saturating_sub(s.capacity());
        }
    }

    fn gap(&mut self, ctx: &mut WsCtx, sh: &mut Shared<'_>, len: u64) {
        self.fig.gaps += 1;
        match self.state {
            State::Stopped => ctx.stats.unparsed_bytes += len,
            State::Payload { h, pos } if len <= h.len - pos => {
                ctx.stats.gaps_skipped += 1;
                if let Some(m) = self.msg.as_mut()
                    && !h.opcode.is_control()
                {
                    m.broken = true;
                    m.truncated = true;
                    if m.compressed {
                        // The inflater's window lost bytes: later messages cannot be decoded.
                        self.give_up_inflate(ctx, sh);
                    } else if let Some(s) = m.sample.take() {
                        // Bytes after the hole would not follow the bytes before it.
                        ctx.stats.samples += 1;
                        ctx.stats.samples_truncated += 1;
                        sh.samples.push(WsSample {
                            from_client: self.from_client,
                            text: s,
                            truncated: true,
                        });
                    }
                }
                let pos = pos + len;
                self.state = State::Payload { h, pos };
                if pos == h.len {
                    self.end_frame(ctx, sh, &h);
                }
            }
            _ => {
                ctx.stats.gaps_stopped += 1;
                ctx.stats.unparsed_bytes += len;
                self.stop(ctx, sh.held);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::websocket::frame::FrameHeader;

    fn frame(fin: bool, op: u8, mask: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
        frame_rsv(fin, 0, op, mask, payload)
    }

    fn frame_rsv(fin: bool, rsv: u8, op: u8, mask: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
        let h = FrameHeader {
            fin,
            rsv,
            opcode: Opcode(op),
            mask,
            len: payload.len() as u64,
            header_len: 0,
        };
        let mut out = h.to_bytes();
        let mut p = payload.to_vec();
        if let Some(k) = mask {
            unmask(&mut p, k, 0);
        }
        out.extend_from_slice(&p);
        out
    }

    fn hs(deflate: bool) -> Handshake {
        Handshake {
            client: Dir::AtoB,
            accept_ok: true,
            subprotocol: Some("chat".into()),
            deflate,
            ts: Timestamp(0),
        }
    }

    const K: Option<[u8; 4]> = Some([0x37, 0xfa, 0x21, 0x3d]);

    /// A client stream: a text message, a fragmented text message with a ping between its
    /// fragments, a binary message, a close 1000.
    fn client_stream() -> Vec<u8> {
        let mut s = Vec::new();
        s.extend(frame(true, 1, K, br#"{"email":"alice@example.com"}"#));
        s.extend(frame(false, 1, K, b"frag-one "));
        s.extend(frame(true, 9, K, b"ping"));
        s.extend(frame(false, 0, K, b"frag-two "));
        s.extend(frame(true, 0, K, b"frag-three"));
        s.extend(frame(true, 2, K, &[0u8; 300]));
        s.extend(frame(true, 8, K, &[0x03, 0xe8, b'b', b'y', b'e']));
        s
    }

    fn run(cfg: WsConfig, deflate: bool, pieces: &[&[u8]]) -> (WsSummary, WsStats, usize) {
        let mut ctx = WsCtx::new(cfg);
        let mut c = WsConn::new(&mut ctx, hs(deflate));
        for p in pieces {
            c.data(&mut ctx, Dir::AtoB, p, Timestamp(5_000_000));
        }
        let s = c.finish(&mut ctx, Timestamp(9_000_000));
        (s, ctx.stats, ctx.memory())
    }

    #[test]
    fn messages_fragments_and_control_frames() {
        let s = client_stream();
        let (sum, st, mem) = run(WsConfig::default(), false, &[&s]);
        let c = &sum.client;
        assert_eq!(c.frames, 7);
        assert_eq!((c.text_messages, c.binary_messages), (2, 1));
        assert_eq!(c.pings, 1);
        assert_eq!(c.close_code, Some(1000));
        assert_eq!(c.max_message_bytes, 300);
        assert_eq!(c.bytes, 29 + 28 + 300);
        assert_eq!(c.frames_by_opcode[0], 2);
        assert_eq!(c.payload_by_opcode[1], 29 + 9);
        assert_eq!(st.bad_frames, 0);
        assert_eq!(st.masked_server_frames + st.unmasked_client_frames, 0);
        let texts: Vec<&[u8]> = sum.samples.iter().map(|s| &s.text[..]).collect();
        assert_eq!(
            texts,
            [
                &br#"{"email":"alice@example.com"}"#[..],
                b"frag-one frag-two frag-three"
            ]
        );
        assert_eq!(sum.duration_ms(), 9);
        assert_eq!(mem, 0, "every byte held is released at the end");
    }

    #[test]
    fn split_at_every_byte_boundary_gives_the_same_summary() {
        let s = client_stream();
        let (whole, _, _) = run(WsConfig::default(), false, &[&s]);
        for i in 0..=s.len() {
            for j in i..=s.len() {
                let (split, _, _) = run(WsConfig::default(), false, &[&s[..i], &s[i..j], &s[j..]]);
                assert_eq!(split, whole, "split at {i} and {j}");
            }
        }
        // One byte at a time.
        let bytes: Vec<&[u8]> = s.chunks(1).collect();
        assert_eq!(run(WsConfig::default(), false, &bytes).0, whole);
    }

    #[test]
    fn a_length_of_2_pow_63_stops_the_direction_and_a_huge_frame_is_never_buffered() {
        let mut s = vec![0x82, 0x7f];
        s.extend_from_slice(&(1u64 << 63).to_be_bytes());
        s.extend_from_slice(b"more bytes");
        let (sum, st, _) = run(WsConfig::default(), false, &[&s]);
        assert_eq!(st.length_overflows, 1);
        assert!(sum.client.stopped);
        assert_eq!(sum.client.frames, 0);
        // 2^63 - 1 announced, 1 MiB sent: counted as it goes, nothing held.
        let mut s = vec![0x81, 0xff];
        s.extend_from_slice(&(u64::MAX >> 1).to_be_bytes());
        s.extend_from_slice(&[1, 2, 3, 4]);
        let mut ctx = WsCtx::new(WsConfig::default());
        let mut c = WsConn::new(&mut ctx, hs(false));
        c.data(&mut ctx, Dir::AtoB, &s, Timestamp(1));
        let mib = vec![b'a'; 1 << 20];
        for _ in 0..4 {
            c.data(&mut ctx, Dir::AtoB, &mib, Timestamp(2));
        }
        assert!(ctx.memory() <= WsConfig::default().sample_bytes + 4096);
        let sum = c.finish(&mut ctx, Timestamp(3));
        assert_eq!(sum.client.frames, 1);
        assert_eq!(sum.client.messages(), 0);
        assert_eq!(ctx.stats.incomplete_messages, 1);
        assert_eq!(ctx.memory(), 0);
    }

    #[test]
    fn masked_server_frames_and_unmasked_client_frames_are_counted_and_read() {
        let mut ctx = WsCtx::new(WsConfig::default());
        let mut c = WsConn::new(&mut ctx, hs(false));
        c.data(
            &mut ctx,
            Dir::BtoA,
            &frame(true, 1, K, b"from server"),
            Timestamp(1),
        );
        c.data(
            &mut ctx,
            Dir::AtoB,
            &frame(true, 1, None, b"from client"),
            Timestamp(1),
        );
        let sum = c.finish(&mut ctx, Timestamp(2));
        assert_eq!(ctx.stats.masked_server_frames, 1);
        assert_eq!(ctx.stats.unmasked_client_frames, 1);
        assert_eq!(sum.server.text_messages, 1);
        let texts: Vec<(bool, &[u8])> = sum
            .samples
            .iter()
            .map(|s| (s.from_client, &s.text[..]))
            .collect();
        assert_eq!(
            texts,
            [(false, &b"from server"[..]), (true, b"from client")]
        );
    }

    #[test]
    fn a_gap_inside_a_payload_is_skipped_and_one_across_headers_stops() {
        let a = frame(true, 2, K, &[7u8; 100]);
        let b = frame(true, 1, K, b"after the hole");
        let mut ctx = WsCtx::new(WsConfig::default());
        let mut c = WsConn::new(&mut ctx, hs(false));
        c.data(&mut ctx, Dir::AtoB, &a[..20], Timestamp(1));
        c.gap(&mut ctx, Dir::AtoB, 50, Timestamp(1));
        c.data(&mut ctx, Dir::AtoB, &a[70..], Timestamp(1));
        c.data(&mut ctx, Dir::AtoB, &b, Timestamp(1));
        // A hole that covers a frame boundary: that direction stops.
        c.data(&mut ctx, Dir::AtoB, &a[..10], Timestamp(1));
        c.gap(&mut ctx, Dir::AtoB, 200, Timestamp(1));
        c.data(&mut ctx, Dir::AtoB, &b, Timestamp(1));
        let sum = c.finish(&mut ctx, Timestamp(2));
        assert_eq!(
            (sum.client.binary_messages, sum.client.text_messages),
            (1, 1)
        );
        assert_eq!(sum.client.frames, 3);
        assert!(sum.client.stopped);
        assert_eq!((ctx.stats.gaps_skipped, ctx.stats.gaps_stopped), (1, 1));
        assert_eq!(ctx.stats.unparsed_bytes, 200 + b.len() as u64);
        assert_eq!(ctx.memory(), 0);
    }

    #[test]
    fn a_hundred_thousand_tiny_frames_stay_within_the_caps() {
        let mut s = Vec::new();
        for i in 0..100_000u32 {
            s.extend(frame(true, 1, K, &[b'a' + (i % 26) as u8]));
        }
        let cfg = WsConfig {
            max_frames: 50_000,
            ..WsConfig::default()
        };
        let mut ctx = WsCtx::new(cfg);
        let mut c = WsConn::new(&mut ctx, hs(false));
        for piece in s.chunks(1460) {
            c.data(&mut ctx, Dir::AtoB, piece, Timestamp(1));
        }
        let sum = c.finish(&mut ctx, Timestamp(2));
        assert_eq!(sum.samples.len(), WsConfig::default().max_samples);
        assert_eq!(sum.client.frames, 50_000);
        assert_eq!(ctx.stats.frames_over_cap, 1);
        assert!(ctx.stats.unparsed_bytes > 0);
        assert_eq!(ctx.memory(), 0);
        // Without the cap, all of them are counted.
        let (sum, st, _) = run(WsConfig::default(), false, &[&s]);
        assert_eq!(sum.client.text_messages, 100_000);
        assert_eq!(st.frames_over_cap, 0);
    }

    /// Raw deflate of `msgs` in one stream (context takeover), each flushed and its
    /// `00 00 ff ff` tail removed, as RFC 7692 senders do.
    fn deflate_messages(msgs: &[&[u8]]) -> Vec<Vec<u8>> {
        use flate2::{Compress, Compression, FlushCompress};
        let mut c = Compress::new(Compression::default(), false);
        msgs.iter()
            .map(|m| {
                let mut out = Vec::with_capacity(m.len() + 64);
                c.compress_vec(m, &mut out, FlushCompress::Sync).unwrap();
                assert!(out.ends_with(&[0, 0, 0xff, 0xff]));
                out.truncate(out.len() - 4);
                out
            })
            .collect()
    }

    #[test]
    fn permessage_deflate_is_inflated_for_the_samples() {
        let text: &[u8] = br#"{"token":"a","note":"hello hello hello hello"}"#;
        let z = deflate_messages(&[text, text, b"third"]);
        let mut s = Vec::new();
        s.extend(frame_rsv(true, 4, 1, K, &z[0]));
        // The second message fragmented: RSV1 on its first frame only.
        let (a, b) = z[1].split_at(z[1].len() / 2);
        s.extend(frame_rsv(false, 4, 1, K, a));
        s.extend(frame_rsv(true, 0, 0, K, b));
        s.extend(frame_rsv(true, 4, 1, K, &z[2]));
        let (sum, st, mem) = run(WsConfig::default(), true, &[&s]);
        let texts: Vec<&[u8]> = sum.samples.iter().map(|s| &s.text[..]).collect();
        assert_eq!(texts, [text, text, b"third"]);
        assert_eq!(st.messages_inflated, 3);
        assert_eq!(st.bad_frames, 0);
        assert_eq!(
            sum.client.bytes,
            (z[0].len() + z[1].len() + z[2].len()) as u64
        );
        assert_eq!(mem, 0);
        // Split everywhere: the same.
        for i in 0..s.len() {
            assert_eq!(run(WsConfig::default(), true, &[&s[..i], &s[i..]]).0, sum);
        }
        // Corrupt compressed bytes: counted, not sampled, no panic.
        let bad = frame_rsv(true, 4, 1, K, &[0xff; 40]);
        let (sum, st, _) = run(WsConfig::default(), true, &[&bad]);
        assert_eq!(sum.client.text_messages, 1);
        assert!(sum.samples.is_empty());
        assert_eq!(st.messages_not_decoded, 1);
        assert_eq!(sum.not_decoded, 1);
    }

    /// Hostile byte streams (random bytes, and valid frames with random bytes flipped), with
    /// and without permessage-deflate and small caps: no panic, the same summary whole and in
    /// pieces, memory within its cap while fed and nothing held at the end.
    #[test]
    fn random_streams_are_read_the_same_whole_and_in_pieces() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let base = client_stream();
        for round in 0..3000 {
            let mut s = if round % 2 == 0 {
                base.clone()
            } else {
                (0..(next() % 600)).map(|_| next() as u8).collect()
            };
            for _ in 0..(next() % 6) {
                if !s.is_empty() {
                    let i = (next() as usize) % s.len();
                    s[i] = next() as u8;
                }
            }
            let cfg = WsConfig {
                sample_bytes: 16 + (round % 64),
                max_samples: 1 + (round % 4),
                max_frames: 1 + (round as u64 % 32),
                // Room for inflaters in some rounds, not in others.
                max_memory: if round % 6 == 0 { 256 * 1024 } else { 4096 },
                max_inflate_bytes: 1024,
                inflater_cost: 48 * 1024,
            };
            let deflate = round % 3 == 0;
            let piece = 1 + (next() as usize) % 16;
            let whole = run(cfg.clone(), deflate, &[&s]);
            let chunks: Vec<&[u8]> = s.chunks(piece).collect();
            let cut = run(cfg.clone(), deflate, &chunks);
            assert_eq!(whole.0, cut.0, "round {round}, pieces of {piece}");
            assert_eq!((whole.2, cut.2), (0, 0));
            assert!(whole.0.client.frames <= cfg.max_frames);
            assert!(
                whole
                    .0
                    .samples
                    .iter()
                    .all(|m| m.text.len() <= cfg.sample_bytes)
            );
        }
    }

    #[test]
    fn a_decompression_bomb_stops_at_the_inflate_cap() {
        let big = vec![b'x'; 8 << 20];
        let z = deflate_messages(&[&big]);
        assert!(z[0].len() < 64 * 1024);
        let s = frame_rsv(true, 4, 1, K, &z[0]);
        let cfg = WsConfig {
            max_inflate_bytes: 1 << 20,
            ..WsConfig::default()
        };
        let (sum, st, mem) = run(cfg, true, &[&s]);
        assert_eq!(st.messages_not_decoded, 1);
        assert_eq!(st.inflate_over_cap, 1);
        assert_eq!(st.memory_cap_inflaters, 0);
        assert!(sum.samples.is_empty());
        assert_eq!(mem, 0);
    }

    #[test]
    fn an_inflater_over_the_memory_cap_is_counted() {
        let z = deflate_messages(&[b"hello", b"again"]);
        let mut s = frame_rsv(true, 4, 1, K, &z[0]);
        s.extend(frame_rsv(true, 4, 1, K, &z[1]));
        // Room for samples, not for an inflater of the configured cost.
        let cfg = WsConfig {
            max_memory: 64 * 1024,
            inflater_cost: 128 * 1024,
            ..WsConfig::default()
        };
        let (sum, st, mem) = run(cfg, true, &[&s]);
        assert_eq!(sum.client.text_messages, 2);
        assert_eq!(st.memory_cap_inflaters, 1);
        assert_eq!(st.messages_not_decoded, 2);
        assert!(sum.samples.is_empty());
        assert_eq!(mem, 0);
    }
}
