//! A connection's HTTP/2 state: one frame parser and HPACK decoder per direction, the open
//! streams, and the transactions they become.
//!
//! Each direction is read frame by frame as bytes arrive (a frame split anywhere reads the
//! same): DATA payloads go to their stream's body as they come, other frames are buffered up to
//! `max_frame_buffer`, header blocks (HEADERS or PUSH_PROMISE and their CONTINUATIONs) up to
//! `max_header_block_bytes`. A gap inside a DATA payload keeps the frame boundaries (the body
//! is counted with a hole); a gap anywhere else loses them, and the direction is not read
//! further. A header block that is lost or dropped loses the direction's HPACK table: what
//! follows decodes as far as the static table and literals allow.
//!
//! A connection picked up mid-way ([`H2Conn::midstream`]) starts both directions resynchronising:
//! each looks for a run of plausible frames ([`frame::find_run`]) among its first
//! [`frame::SNIFF_SCAN`] bytes (a capture that began inside a frame skips the rest of it,
//! counted) and reads frame by frame from there, or gives up (counted). Its HPACK tables start
//! lost with an unknown size ([`Hpack::lose_size`]): static and literal fields decode, literals
//! with incremental indexing rebuild the table (references to them are exact), references
//! into the older, unknown part yield nothing (counted in `hpack_unknown_fields`, the stream
//! tagged `headers_lost`). Roles are guessed from the run (a PUSH_PROMISE, or HEADERS or DATA on
//! an even stream, is the server's) or the ports (the client on the higher one) and settled by
//! the first header block that has `:status` or `:method`. Streams that began before the
//! capture (a response without its request) and requests whose `:method` or `:path` cannot be
//! recovered are counted, not emitted; the others are tagged `midstream`.

use super::frame::{self, FrameHeader, FrameType, HEADER_LEN, PREFACE, Run, flags};
use super::hpack::{Field, Hpack};
use super::stream::{self, FieldList, Stream};
use super::{Http2Config, Http2Stats};
use crate::http::conn::H2cHandoff;
use crate::http::{Body, HttpMessage, HttpTransaction, Tags};
use crate::reassembly::{Chunk, CloseReason, Dir, FlowApp, FlowMeta};
use crate::time::Timestamp;
use std::collections::BTreeMap;

/// State shared by every HTTP/2 connection: limits, counters, memory in use, output queue.
pub struct H2Ctx {
    /// Limits.
    pub cfg: Http2Config,
    /// Counters.
    pub stats: Http2Stats,
    /// Transactions emitted and not yet taken by the caller.
    pub out: Vec<HttpTransaction>,
    mem: usize,
}

impl H2Ctx {
    /// A context with the given limits.
    pub fn new(cfg: Http2Config) -> H2Ctx {
        H2Ctx {
            cfg,
            stats: Http2Stats::default(),
            out: Vec::new(),
            mem: 0,
        }
    }

    /// Bytes held by all HTTP/2 connections.
    pub fn memory(&self) -> usize {
        self.mem
    }

    fn room(&self) -> usize {
        self.cfg.max_memory.saturating_sub(self.mem)
    }

    /// Accounts bytes held outside a connection (the dispatcher's frame sniffer): `now` held
    /// where `before` were. False when `now` is more than `before` and the memory cap has no
    /// room for the difference (nothing is accounted then).
    pub fn reaccount(&mut self, before: usize, now: usize) -> bool {
        if now > before && now - before > self.room() {
            return false;
        }
        self.mem = (self.mem + now).saturating_sub(before);
        true
    }
}

/// Where a direction's parser stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Expecting the client preface; `n` bytes of it matched so far.
    Preface(usize),
    /// Reading a frame header.
    Header,
    /// Buffering the payload of a frame (not DATA).
    Payload(FrameHeader),
    /// Skipping `left` payload bytes.
    Skip(usize),
    /// DATA: the pad length byte is next.
    DataPad(FrameHeader),
    /// DATA payload: `data` bytes of body, then `pad` bytes of padding.
    Data {
        stream: u32,
        end: bool,
        data: usize,
        pad: usize,
    },
    /// Looking for a frame boundary (a connection picked up mid-way): bytes collect in
    /// `rbuf` from the first position that may begin a run of frames.
    Resync,
    /// Not read any more (boundaries lost, or not HTTP/2).
    Dead,
}

/// A header block in progress.
struct Block {
    stream: u32,
    /// The promised stream of a PUSH_PROMISE.
    promised: Option<u32>,
    end_stream: bool,
    buf: Vec<u8>,
    continuations: u32,
    /// Dropped at a cap: not decoded.
    dropped: bool,
    ts: Timestamp,
}

/// One direction.
struct Half {
    state: State,
    hbuf: [u8; HEADER_LEN],
    hlen: usize,
    pbuf: Vec<u8>,
    hpack: Hpack,
    block: Option<Block>,
    frame_ts: Timestamp,
    /// While resynchronising: the search for a run of frames.
    finder: Option<Box<frame::Finder>>,
}

impl Half {
    fn new(state: State, table_cap: usize) -> Half {
        Half {
            state,
            hbuf: [0; HEADER_LEN],
            hlen: 0,
            pbuf: Vec::new(),
            hpack: Hpack::new(table_cap),
            block: None,
            frame_ts: Timestamp(0),
            finder: None,
        }
    }

    fn held(&self) -> usize {
        self.pbuf.capacity()
            + self.finder.as_ref().map_or(0, |f| f.held())
            + self.block.as_ref().map_or(0, |b| b.buf.capacity())
            + self.hpack.held()
    }
}

/// HTTP/2 state of one connection.
pub struct H2Conn {
    client: Dir,
    halves: [Half; 2],
    streams: BTreeMap<u32, Stream>,
    depth: u32,
    settings: u32,
    held: usize,
    /// Picked up mid-way ([`H2Conn::midstream`]).
    midstream: bool,
    /// The client is known (false on a midstream connection until a header block tells).
    roles_known: bool,
}

impl H2Conn {
    /// A connection whose client is `client`; `preface` when the client's bytes begin with the
    /// connection preface (prior knowledge, TLS with ALPN `h2`), false when the preface was
    /// already consumed. Counted as an HTTP/2 connection.
    pub fn new(ctx: &mut H2Ctx, client: Dir, preface: bool) -> H2Conn {
        ctx.stats.connections += 1;
        let cap = ctx.cfg.max_table_size;
        let mut halves = [Half::new(State::Header, cap), Half::new(State::Header, cap)];
        if preface {
            halves[client.index()].state = State::Preface(0);
        }
        H2Conn {
            client,
            halves,
            streams: BTreeMap::new(),
            depth: 0,
            settings: 0,
            held: 0,
            midstream: false,
            roles_known: true,
        }
    }

    /// A connection picked up mid-way, whose bytes the dispatcher found to hold a run of
    /// frames: both directions resynchronise at a frame boundary, both HPACK tables are lost
    /// with their sizes. `client` is a guess ([`guess_client`]) until a header block settles
    /// it.
    pub fn midstream(ctx: &mut H2Ctx, client: Dir) -> H2Conn {
        ctx.stats.midstream_connections += 1;
        let mut c = H2Conn::new(ctx, client, false);
        for h in &mut c.halves {
            h.state = State::Resync;
            h.finder = Some(Box::default());
            h.hpack.lose_size();
        }
        c.midstream = true;
        c.roles_known = false;
        c
    }

    /// The connection a dispatcher recognised from its first bytes `first`, sent in `dir`:
    /// the client's preface (prior knowledge) or the server's SETTINGS.
    pub fn sniffed(ctx: &mut H2Ctx, dir: Dir, first: &[u8]) -> H2Conn {
        if is_preface_start(first) {
            ctx.stats.prior_knowledge += 1;
            H2Conn::new(ctx, dir, true)
        } else {
            ctx.stats.server_first += 1;
            H2Conn::new(ctx, dir.flip(), true)
        }
    }

    /// The connection an HTTP/1.1 `Upgrade: h2c` switched: the upgrading request is stream 1
    /// (its response comes in HTTP/2), and the bytes each side sent after the switch are read
    /// as HTTP/2.
    pub fn upgraded(ctx: &mut H2Ctx, meta: &FlowMeta, h: H2cHandoff) -> H2Conn {
        ctx.stats.h2c_upgrades += 1;
        let mut c = H2Conn::new(ctx, h.client, true);
        let mut s = Stream::new(h.depth);
        s.req = h.request;
        s.req_done = true;
        s.interim.push(101);
        s.tags = h.tags;
        s.tags.insert(Tags::UPGRADE);
        ctx.stats.streams += 1;
        c.depth = h.depth;
        c.streams.insert(1, s);
        let server = h.client.flip();
        if !h.server_bytes.is_empty() {
            c.feed(ctx, meta, server, &h.server_bytes, h.server_ts);
        }
        if !h.client_bytes.is_empty() {
            c.feed(ctx, meta, h.client, &h.client_bytes, h.client_ts);
        }
        c.account(ctx);
        c
    }

    /// The client's direction.
    pub fn client(&self) -> Dir {
        self.client
    }

    fn account(&mut self, ctx: &mut H2Ctx) {
        let now = self.halves[0].held() + self.halves[1].held();
        ctx.mem = (ctx.mem + now).saturating_sub(self.held);
        self.held = now;
    }

    fn feed(
        &mut self,
        ctx: &mut H2Ctx,
        meta: &FlowMeta,
        dir: Dir,
        mut input: &[u8],
        ts: Timestamp,
    ) {
        let d = dir.index();
        while !input.is_empty() {
            match self.halves[d].state {
                State::Dead => {
                    ctx.stats.skipped_bytes += input.len() as u64;
                    return;
                }
                State::Resync => {
                    let h = &mut self.halves[d];
                    let f = h.finder.get_or_insert_with(Box::default);
                    let before = f.skipped();
                    let (k, found) = f.push(input);
                    input = &input[k..];
                    ctx.stats.midstream_skipped_bytes += (f.skipped() - before) as u64;
                    match found {
                        frame::Search::More => {}
                        frame::Search::GaveUp => {
                            ctx.stats.midstream_resync_failed += 1;
                            ctx.stats.skipped_bytes += input.len() as u64;
                            h.finder = None;
                            h.state = State::Dead;
                            return;
                        }
                        frame::Search::Found(bytes, run) => {
                            ctx.stats.midstream_resyncs += 1;
                            h.finder = None;
                            h.state = State::Header;
                            if let Run::Frames { server: true, .. } = run
                                && !self.roles_known
                            {
                                self.client = dir.flip();
                                self.roles_known = true;
                            }
                            self.feed(ctx, meta, dir, &bytes, ts);
                        }
                    }
                }
                State::Preface(n) => {
                    let want = &PREFACE[n..];
                    let k = want.len().min(input.len());
                    if input[..k] != want[..k] {
                        ctx.stats.bad_preface += 1;
                        self.halves[d].state = State::Dead;
                        continue;
                    }
                    input = &input[k..];
                    self.halves[d].state = if n + k == PREFACE.len() {
                        State::Header
                    } else {
                        State::Preface(n + k)
                    };
                }
                State::Header => {
                    let h = &mut self.halves[d];
                    if h.hlen == 0 {
                        h.frame_ts = ts;
                    }
                    let k = (HEADER_LEN - h.hlen).min(input.len());
                    h.hbuf[h.hlen..h.hlen + k].copy_from_slice(&input[..k]);
                    h.hlen += k;
                    input = &input[k..];
                    if h.hlen == HEADER_LEN {
                        h.hlen = 0;
                        if let Some(fh) = FrameHeader::parse(&h.hbuf) {
                            self.on_frame_header(ctx, meta, dir, fh);
                        }
                    }
                }
                State::Payload(fh) => {
                    let h = &mut self.halves[d];
                    let k = (fh.len as usize - h.pbuf.len()).min(input.len());
                    h.pbuf.extend_from_slice(&input[..k]);
                    input = &input[k..];
                    if h.pbuf.len() == fh.len as usize {
                        let payload = std::mem::take(&mut h.pbuf);
                        h.state = State::Header;
                        self.on_frame(ctx, meta, dir, fh, &payload);
                        let h = &mut self.halves[d];
                        if h.pbuf.capacity() == 0 {
                            h.pbuf = payload;
                            h.pbuf.clear();
                            if h.pbuf.capacity() > 16 * 1024 {
                                h.pbuf = Vec::new();
                            }
                        }
                    }
                }
                State::Skip(left) => {
                    let k = left.min(input.len());
                    input = &input[k..];
                    self.halves[d].state = if k == left {
                        State::Header
                    } else {
                        State::Skip(left - k)
                    };
                }
                State::DataPad(fh) => {
                    let pad = usize::from(input[0]);
                    input = &input[1..];
                    let rest = fh.len as usize - 1;
                    if pad > rest {
                        ctx.stats.bad_frames += 1;
                        self.halves[d].state = State::Skip(rest);
                        if rest == 0 {
                            self.halves[d].state = State::Header;
                        }
                        continue;
                    }
                    self.halves[d].state = State::Data {
                        stream: fh.stream,
                        end: fh.has(flags::END_STREAM),
                        data: rest - pad,
                        pad,
                    };
                    self.data_progress(ctx, meta, dir, ts);
                }
                State::Data {
                    stream,
                    end,
                    data,
                    pad,
                } => {
                    if data > 0 {
                        let k = data.min(input.len());
                        self.on_body(ctx, dir, stream, &input[..k], 0, ts);
                        input = &input[k..];
                        self.halves[d].state = State::Data {
                            stream,
                            end,
                            data: data - k,
                            pad,
                        };
                    } else {
                        let k = pad.min(input.len());
                        input = &input[k..];
                        self.halves[d].state = State::Data {
                            stream,
                            end,
                            data,
                            pad: pad - k,
                        };
                    }
                    self.data_progress(ctx, meta, dir, ts);
                }
            }
        }
    }

    /// Ends a DATA frame whose payload is all read.
    fn data_progress(&mut self, ctx: &mut H2Ctx, meta: &FlowMeta, dir: Dir, ts: Timestamp) {
        if let State::Data {
            stream,
            end,
            data: 0,
            pad: 0,
        } = self.halves[dir.index()].state
        {
            self.halves[dir.index()].state = State::Header;
            if end {
                self.end_side(ctx, meta, dir, stream, ts);
            }
        }
    }

    fn on_frame_header(&mut self, ctx: &mut H2Ctx, meta: &FlowMeta, dir: Dir, fh: FrameHeader) {
        let d = dir.index();
        ctx.stats.frames += 1;
        // A header block in progress must be continued by the very next frame.
        if self.halves[d].block.is_some()
            && !(fh.kind == FrameType::CONTINUATION
                && self.halves[d]
                    .block
                    .as_ref()
                    .is_some_and(|b| b.stream == fh.stream))
        {
            ctx.stats.bad_frames += 1;
            self.drop_block(ctx, dir);
        }
        let len = fh.len as usize;
        let ts = self.halves[d].frame_ts;
        match fh.kind {
            FrameType::DATA => {
                ctx.stats.data_frames += 1;
                if fh.stream == 0 {
                    ctx.stats.bad_frames += 1;
                    self.halves[d].state = skip(len);
                    return;
                }
                self.halves[d].state = if fh.has(flags::PADDED) {
                    if len == 0 {
                        ctx.stats.bad_frames += 1;
                        State::Header
                    } else {
                        State::DataPad(fh)
                    }
                } else {
                    State::Data {
                        stream: fh.stream,
                        end: fh.has(flags::END_STREAM),
                        data: len,
                        pad: 0,
                    }
                };
                self.data_progress(ctx, meta, dir, ts);
            }
            _ => {
                let block_frame = matches!(
                    fh.kind,
                    FrameType::HEADERS | FrameType::PUSH_PROMISE | FrameType::CONTINUATION
                );
                if len > ctx.cfg.max_frame_buffer {
                    ctx.stats.frames_too_large += 1;
                    if block_frame {
                        self.count_kind(ctx, fh.kind);
                        self.drop_block(ctx, dir);
                        self.lose_table(ctx, dir);
                        if fh.kind == FrameType::HEADERS && fh.stream != 0 {
                            // The stream exists, without its fields.
                            if let Some(s) = self.stream(ctx, meta, fh.stream) {
                                s.tags.insert(Tags::HEADERS_LOST);
                            }
                            if fh.has(flags::END_STREAM) && fh.has(flags::END_HEADERS) {
                                self.end_side(ctx, meta, dir, fh.stream, ts);
                            }
                        } else {
                            self.mark_headers_lost(fh.stream);
                        }
                    }
                    self.halves[d].state = skip(len);
                    return;
                }
                if len == 0 {
                    self.halves[d].state = State::Header;
                    self.on_frame(ctx, meta, dir, fh, &[]);
                } else {
                    self.halves[d].pbuf.clear();
                    self.halves[d].state = State::Payload(fh);
                }
            }
        }
    }

    fn count_kind(&self, ctx: &mut H2Ctx, kind: FrameType) {
        let s = &mut ctx.stats;
        match kind {
            FrameType::HEADERS => s.headers_frames += 1,
            FrameType::CONTINUATION => s.continuation_frames += 1,
            FrameType::PUSH_PROMISE => s.push_promises += 1,
            FrameType::RST_STREAM => s.rst_streams += 1,
            FrameType::GOAWAY => s.goaways += 1,
            FrameType::SETTINGS => s.settings_frames += 1,
            FrameType::DATA => s.data_frames += 1,
            _ => s.other_frames += 1,
        }
    }

    fn on_frame(
        &mut self,
        ctx: &mut H2Ctx,
        meta: &FlowMeta,
        dir: Dir,
        fh: FrameHeader,
        payload: &[u8],
    ) {
        let d = dir.index();
        let ts = self.halves[d].frame_ts;
        self.count_kind(ctx, fh.kind);
        match fh.kind {
            FrameType::HEADERS | FrameType::PUSH_PROMISE => {
                let parsed = if fh.kind == FrameType::HEADERS {
                    frame::headers_fragment(fh.flags, payload).map(|f| (None, f))
                } else {
                    frame::push_promise(fh.flags, payload).map(|(p, f)| (Some(p), f))
                };
                let Some((promised, fragment)) = parsed.filter(|_| fh.stream != 0) else {
                    ctx.stats.bad_frames += 1;
                    self.lose_table(ctx, dir);
                    return;
                };
                let mut b = Block {
                    stream: fh.stream,
                    promised,
                    end_stream: fh.kind == FrameType::HEADERS && fh.has(flags::END_STREAM),
                    buf: Vec::new(),
                    continuations: 0,
                    dropped: false,
                    ts,
                };
                if fragment.len() > ctx.cfg.max_header_block_bytes {
                    ctx.stats.header_blocks_too_large += 1;
                    b.dropped = true;
                } else {
                    b.buf.extend_from_slice(fragment);
                }
                self.halves[d].block = Some(b);
                if fh.has(flags::END_HEADERS) {
                    self.finish_block(ctx, meta, dir);
                }
            }
            FrameType::CONTINUATION => {
                let cfg = &ctx.cfg;
                let Some(b) = self.halves[d].block.as_mut() else {
                    ctx.stats.bad_frames += 1;
                    self.lose_table(ctx, dir);
                    return;
                };
                b.continuations += 1;
                if !b.dropped {
                    if b.continuations > cfg.max_continuations {
                        ctx.stats.continuation_floods += 1;
                        b.dropped = true;
                        b.buf = Vec::new();
                    } else if b.buf.len() + payload.len() > cfg.max_header_block_bytes {
                        ctx.stats.header_blocks_too_large += 1;
                        b.dropped = true;
                        b.buf = Vec::new();
                    } else {
                        b.buf.extend_from_slice(payload);
                    }
                }
                if fh.has(flags::END_HEADERS) {
                    self.finish_block(ctx, meta, dir);
                }
            }
            FrameType::RST_STREAM => {
                if frame::rst_stream(payload).is_none() || fh.stream == 0 {
                    ctx.stats.bad_frames += 1;
                    return;
                }
                if let Some(mut s) = self.streams.remove(&fh.stream) {
                    ctx.stats.streams_reset += 1;
                    let unfinished = !(s.req_done && s.resp_done);
                    if unfinished {
                        s.tags.insert(Tags::PARTIAL);
                    }
                    self.emit(ctx, meta, s);
                }
            }
            FrameType::GOAWAY if frame::goaway(payload).is_none() => {
                ctx.stats.bad_frames += 1;
            }
            FrameType::SETTINGS => {
                self.settings += 1;
                if self.settings > ctx.cfg.max_settings_frames {
                    ctx.stats.settings_floods += 1;
                }
            }
            _ => {}
        }
    }

    fn drop_block(&mut self, ctx: &mut H2Ctx, dir: Dir) {
        if let Some(b) = self.halves[dir.index()].block.take() {
            self.lose_table(ctx, dir);
            self.mark_headers_lost(b.stream);
        }
    }

    fn lose_table(&mut self, ctx: &mut H2Ctx, dir: Dir) {
        ctx.stats.hpack_tables_lost += 1;
        self.halves[dir.index()].hpack.lose();
    }

    fn mark_headers_lost(&mut self, stream: u32) {
        if let Some(s) = self.streams.get_mut(&stream) {
            s.tags.insert(Tags::HEADERS_LOST);
        }
    }

    fn finish_block(&mut self, ctx: &mut H2Ctx, meta: &FlowMeta, dir: Dir) {
        let d = dir.index();
        let Some(b) = self.halves[d].block.take() else {
            return;
        };
        let client = dir == self.client;
        if b.dropped {
            self.lose_table(ctx, dir);
            // The stream still exists (its frames follow), without these fields.
            let s = self.stream(ctx, meta, b.promised.unwrap_or(b.stream));
            if let Some(s) = s {
                s.tags.insert(Tags::HEADERS_LOST);
            }
            if b.end_stream {
                self.end_side(ctx, meta, dir, b.stream, b.ts);
            }
            return;
        }
        ctx.stats.header_blocks += 1;
        let (max_bytes, max_fields) = (ctx.cfg.max_header_list_bytes, ctx.cfg.max_headers);
        let mut list = FieldList::default();
        let report = self.halves[d].hpack.decode(&b.buf, |f| match f {
            Field::Header(n, v) => list.push(n, v, max_bytes, max_fields),
            Field::Unknown => list.unknown += 1,
        });
        ctx.stats.hpack_unknown_fields += u64::from(report.unknown);
        ctx.stats.hpack_size_clamped += u64::from(report.clamped);
        if report.error.is_some() {
            ctx.stats.hpack_errors += 1;
            ctx.stats.hpack_tables_lost += 1;
        }
        if list.over {
            ctx.stats.header_lists_too_large += 1;
        }
        let lost = report.error.is_some() || list.unknown > 0;
        let target = b.promised.unwrap_or(b.stream);
        let client = self.settle_roles(dir, &list, client);
        if self.midstream && !self.streams.contains_key(&target) {
            let request = b.promised.is_some() || client;
            let trailers =
                client && list.pseudo(b":method").is_none() && list.unknown == 0 && !lost;
            if !request || trailers {
                // A response, or the client's trailers, of a stream begun before the capture.
                ctx.stats.midstream_streams_unseen += 1;
                return;
            }
        }
        let unrecovered = self.midstream
            && (b.promised.is_some() || client)
            && list.unknown > 0
            && (list.pseudo(b":method").is_none()
                || list.pseudo(b":path").is_none()
                    && list.pseudo(b":method") != Some(&b"CONNECT"[..]));
        let Some(s) = self.stream(ctx, meta, target) else {
            return;
        };
        if lost {
            s.tags.insert(Tags::HEADERS_LOST);
        }
        if unrecovered && s.req.is_none() {
            s.unrecovered = true;
        }
        if b.promised.is_some() || client {
            // A request head (a pushed stream's comes from the server), or the client's trailers.
            match s.req.as_mut() {
                None => {
                    s.req = stream::request_head(&list).map(|head| HttpMessage {
                        head,
                        first_ts: b.ts,
                        last_ts: b.ts,
                        body: Body::default(),
                    });
                    if s.req.is_none() {
                        s.tags.insert(Tags::MALFORMED);
                    }
                }
                Some(m) => {
                    m.head = stream::with_trailers(&m.head, &list);
                    m.last_ts = m.last_ts.max(b.ts);
                }
            }
            if b.promised.is_some() {
                s.req_done = true;
            }
        } else {
            match (s.resp.as_mut(), stream::status(&list)) {
                (None, Some(code)) if (100..200).contains(&code) => {
                    if s.interim.len() < 16 {
                        s.interim.push(code);
                    }
                }
                (None, Some(code)) => {
                    s.resp = Some(HttpMessage {
                        head: stream::response_head(&list, code),
                        first_ts: b.ts,
                        last_ts: b.ts,
                        body: Body::default(),
                    });
                }
                (None, None) => {
                    s.tags.insert(Tags::MALFORMED);
                }
                (Some(m), _) => {
                    m.head = stream::with_trailers(&m.head, &list);
                    m.last_ts = m.last_ts.max(b.ts);
                }
            }
        }
        if b.end_stream {
            self.end_side(ctx, meta, dir, b.stream, b.ts);
        }
    }

    /// On a midstream connection whose roles are not settled: the first header block with
    /// `:status` (a response) or `:method` (a request), not both, settles them (the client is
    /// flipped when the guess was wrong). Returns whether `dir` is the client.
    fn settle_roles(&mut self, dir: Dir, list: &FieldList, client: bool) -> bool {
        if self.roles_known {
            return client;
        }
        let status = list.pseudo(b":status").is_some();
        let method = list.pseudo(b":method").is_some();
        if status == method {
            return client;
        }
        self.roles_known = true;
        self.client = if method { dir } else { dir.flip() };
        dir == self.client
    }

    /// The stream `id`, opened if new (the oldest is emitted when `max_streams` are open).
    fn stream(&mut self, ctx: &mut H2Ctx, meta: &FlowMeta, id: u32) -> Option<&mut Stream> {
        if !self.streams.contains_key(&id) {
            while self.streams.len() >= ctx.cfg.max_streams.max(1) {
                ctx.stats.streams_over_cap += 1;
                if let Some((_, s)) = self.streams.pop_first() {
                    self.emit(ctx, meta, s);
                }
            }
            ctx.stats.streams += 1;
            self.depth = self.depth.saturating_add(1);
            self.streams.insert(id, Stream::new(self.depth));
        }
        self.streams.get_mut(&id)
    }

    fn on_body(
        &mut self,
        ctx: &mut H2Ctx,
        dir: Dir,
        id: u32,
        data: &[u8],
        gap: u64,
        ts: Timestamp,
    ) {
        let client = dir == self.client;
        let limit = ctx.cfg.body_sample_bytes;
        let room = ctx.room();
        let Some(s) = self.streams.get_mut(&id) else {
            return;
        };
        if gap > 0 {
            s.tags.insert(Tags::GAP);
        }
        let Some(m) = s.message(client) else {
            return;
        };
        m.body.len += data.len() as u64 + gap;
        m.body.gap_bytes += gap;
        m.last_ts = m.last_ts.max(ts);
        if gap > 0 {
            return;
        }
        let want = limit.saturating_sub(m.body.sample.len()).min(data.len());
        let take = want.min(room);
        if take < want {
            ctx.stats.memory_cap_bytes += (want - take) as u64;
        }
        if take > 0 {
            m.body.sample.extend_from_slice(&data[..take]);
            s.held += take;
            ctx.mem += take;
        }
    }

    /// The sender in `dir` ended its side of stream `id`.
    fn end_side(&mut self, ctx: &mut H2Ctx, meta: &FlowMeta, dir: Dir, id: u32, ts: Timestamp) {
        let client = dir == self.client;
        let Some(s) = self.streams.get_mut(&id) else {
            return;
        };
        if client {
            s.req_done = true;
        } else {
            s.resp_done = true;
        }
        if let Some(m) = s.message(client) {
            m.last_ts = m.last_ts.max(ts);
            if m.body.len > m.body.sample.len() as u64 {
                ctx.stats.samples_truncated += 1;
            }
        }
        if s.req_done
            && s.resp_done
            && let Some(s) = self.streams.remove(&id)
        {
            self.emit(ctx, meta, s);
        }
    }

    fn emit(&mut self, ctx: &mut H2Ctx, meta: &FlowMeta, s: Stream) {
        ctx.mem = ctx.mem.saturating_sub(s.held);
        if s.unrecovered {
            ctx.stats.midstream_streams_unrecovered += 1;
            return;
        }
        let mut tags = s.tags;
        if self.midstream {
            tags.insert(Tags::MIDSTREAM);
        }
        if s.req.is_none() {
            tags.insert(Tags::NO_REQUEST);
        }
        if s.resp.is_none() {
            tags.insert(Tags::NO_RESPONSE);
        }
        if s.req.is_some() && !s.req_done || s.resp.is_some() && !s.resp_done {
            tags.insert(Tags::PARTIAL);
        }
        ctx.stats.transactions += 1;
        ctx.out.push(HttpTransaction {
            flow: meta.id,
            orig: meta.key.source(self.client),
            resp: meta.key.source(self.client.flip()),
            depth: s.depth,
            request: s.req,
            response: s.resp,
            interim: s.interim,
            tags,
            tls: None,
            websocket: None,
        });
    }

    /// Loses `dir`'s frame boundaries.
    fn desync(&mut self, ctx: &mut H2Ctx, dir: Dir) {
        let h = &mut self.halves[dir.index()];
        if h.state == State::Dead {
            return;
        }
        ctx.stats.desyncs += 1;
        h.state = State::Dead;
        h.block = None;
        h.pbuf = Vec::new();
        self.lose_table(ctx, dir);
        let client = dir == self.client;
        for s in self.streams.values_mut() {
            let done = if client { s.req_done } else { s.resp_done };
            if !done {
                s.tags.insert(Tags::GAP);
            }
        }
    }
}

/// The client of a connection picked up mid-way, before its frames tell: the opener when the
/// handshake was seen, else the side on the higher port (a server listens on the lower one,
/// as the TLS layer guesses), else `a`.
pub fn guess_client(meta: &FlowMeta) -> Dir {
    meta.opener
        .unwrap_or(if meta.key.a.port >= meta.key.b.port {
            Dir::AtoB
        } else {
            Dir::BtoA
        })
}

fn skip(len: usize) -> State {
    if len == 0 {
        State::Header
    } else {
        State::Skip(len)
    }
}

/// True when `b` is the start of the client preface (or all of it and more).
pub fn is_preface_start(b: &[u8]) -> bool {
    let n = b.len().min(PREFACE.len());
    n > 0 && b[..n] == PREFACE[..n]
}

impl FlowApp for H2Conn {
    type Ctx = H2Ctx;

    /// A connection whose opener (else `a`) is the client and sends the preface first.
    fn open(ctx: &mut H2Ctx, meta: &FlowMeta) -> H2Conn {
        H2Conn::new(ctx, meta.opener.unwrap_or(Dir::AtoB), true)
    }

    fn data(&mut self, ctx: &mut H2Ctx, meta: &FlowMeta, dir: Dir, chunk: Chunk<'_>) {
        self.feed(ctx, meta, dir, chunk.data, chunk.ts);
        self.account(ctx);
    }

    fn gap(
        &mut self,
        ctx: &mut H2Ctx,
        meta: &FlowMeta,
        dir: Dir,
        _offset: u64,
        len: u64,
        ts: Timestamp,
    ) {
        let d = dir.index();
        let len_us = usize::try_from(len).unwrap_or(usize::MAX);
        match self.halves[d].state {
            State::Data {
                stream,
                end,
                data,
                pad,
            } if len_us <= data + pad => {
                ctx.stats.body_gaps += 1;
                let in_data = len_us.min(data);
                self.on_body(ctx, dir, stream, &[], in_data as u64, ts);
                self.halves[d].state = State::Data {
                    stream,
                    end,
                    data: data - in_data,
                    pad: pad - (len_us - in_data),
                };
                self.data_progress(ctx, meta, dir, ts);
            }
            State::Skip(left) if len_us <= left => {
                self.halves[d].state = skip(left - len_us);
            }
            State::Payload(fh) if len_us <= fh.len as usize - self.halves[d].pbuf.len() => {
                // The frame is lost but the boundary is known.
                let left = fh.len as usize - self.halves[d].pbuf.len() - len_us;
                self.halves[d].pbuf.clear();
                self.halves[d].state = skip(left);
                if matches!(
                    fh.kind,
                    FrameType::HEADERS | FrameType::PUSH_PROMISE | FrameType::CONTINUATION
                ) {
                    self.halves[d].block = None;
                    self.lose_table(ctx, dir);
                    self.mark_headers_lost(fh.stream);
                }
            }
            State::Resync => {
                // The search starts again after the gap.
                if let Some(f) = self.halves[d].finder.as_mut() {
                    let before = f.skipped();
                    f.gap();
                    ctx.stats.midstream_skipped_bytes += (f.skipped() - before) as u64;
                }
            }
            State::Dead => {}
            _ => self.desync(ctx, dir),
        }
        self.account(ctx);
    }

    fn eof(&mut self, _ctx: &mut H2Ctx, _meta: &FlowMeta, _dir: Dir, _ts: Timestamp) {}

    fn close(&mut self, ctx: &mut H2Ctx, meta: &FlowMeta, _ts: Timestamp, _reason: CloseReason) {
        while let Some((_, s)) = self.streams.pop_first() {
            ctx.stats.streams_unfinished += 1;
            self.emit(ctx, meta, s);
        }
        ctx.mem = ctx.mem.saturating_sub(self.held);
        self.held = 0;
    }

    fn wants_data(&self) -> bool {
        self.halves.iter().any(|h| h.state != State::Dead)
    }

    fn ignored(&mut self, ctx: &mut H2Ctx, _dir: Dir, len: u64) {
        ctx.stats.skipped_bytes += len;
    }
}
