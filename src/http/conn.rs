//! A connection's HTTP state: which side is the client, its transactions, and how responses are
//! paired with requests.
//!
//! Pairing is first-in first-out, as HTTP/1.1 requires. After a gap in the server's stream, a
//! response may have been lost; then the acknowledgment numbers decide: a response that begins at
//! server offset `R` answers a request whose sender had acknowledged at most `R` server bytes,
//! and among those the request sent after the most server data had arrived (the oldest of them
//! when several tie, as with pipelining). Older requests lost their responses in the gap.

use super::body::{Framing, request_framing, response_framing};
use super::parser::{EofEffect, GapEffect, HalfParser, HeadInfo, Kind, ParserLimits, Step};
use super::{Body, HttpConfig, HttpMessage, HttpStats, HttpTransaction, MessageHead, Tags};
use crate::reassembly::{Chunk, CloseReason, Dir, FlowApp, FlowMeta};
use crate::time::Timestamp;
use crate::websocket::{self, Handshake};
use std::collections::VecDeque;

/// State shared by every connection: limits, counters, memory in use, and the output queue.
pub struct HttpCtx {
    /// Limits.
    pub cfg: HttpConfig,
    /// Counters.
    pub stats: HttpStats,
    /// Transactions emitted and not yet taken by the caller.
    pub out: Vec<HttpTransaction>,
    limits: ParserLimits,
    mem: usize,
}

impl HttpCtx {
    /// A context with the given limits.
    pub fn new(cfg: HttpConfig) -> HttpCtx {
        let limits = ParserLimits {
            max_head_bytes: cfg.max_head_bytes,
            max_headers: cfg.max_headers,
            max_paused_bytes: 64 * 1024,
            max_resync_line: 8 * 1024,
        };
        HttpCtx {
            cfg,
            stats: HttpStats::default(),
            out: Vec::new(),
            limits,
            mem: 0,
        }
    }

    /// Bytes held by all connections (heads in progress, body samples of open transactions).
    pub fn memory(&self) -> usize {
        self.mem
    }

    fn room(&self) -> usize {
        self.cfg.max_memory.saturating_sub(self.mem)
    }
}

struct Txn {
    id: u64,
    depth: u32,
    req: Option<HttpMessage>,
    resp: Option<HttpMessage>,
    interim: Vec<u16>,
    tags: Tags,
    req_done: bool,
    resp_done: bool,
    /// The response is known to be lost.
    lost: bool,
    /// The client's acknowledgment of the server stream when the request began.
    req_ack: Option<u64>,
    tunnel_after: bool,
    /// The switch is to HTTP/2 (`Upgrade: h2c` answered by 101 with `Upgrade: h2c`).
    h2c: bool,
    /// The switch is to WebSocket: what the handshake agreed.
    ws: Option<Handshake>,
    held: usize,
}

/// An HTTP/1.1 connection switched to HTTP/2 by `Upgrade: h2c` and `101` (RFC 7540 section
/// 3.2): what the HTTP/2 layer needs to go on where HTTP/1.1 stopped.
#[derive(Debug)]
pub struct H2cHandoff {
    /// The client's direction.
    pub client: Dir,
    /// The upgrading request: stream 1 of the HTTP/2 connection.
    pub request: Option<HttpMessage>,
    /// Its position in the connection.
    pub depth: u32,
    /// Its conditions so far.
    pub tags: Tags,
    /// Bytes the client sent after the request (its preface, frames), and when.
    pub client_bytes: Vec<u8>,
    /// Capture time of the first of them.
    pub client_ts: Timestamp,
    /// Bytes the server sent after the 101 head, and when.
    pub server_bytes: Vec<u8>,
    /// Capture time of the chunk that held them.
    pub server_ts: Timestamp,
}

/// An HTTP/1.1 connection switched to WebSocket by `Upgrade: websocket` and `101` (RFC 6455
/// section 4): the upgrade transaction and the bytes that follow it on both sides.
#[derive(Debug)]
pub struct WsHandoff {
    /// The upgrade transaction (request and `101`), tagged [`Tags::WEBSOCKET`]; its owner
    /// attaches the connection's summary and emits it when the connection ends.
    pub txn: HttpTransaction,
    /// What the handshake agreed.
    pub handshake: Handshake,
    /// Bytes the client sent after the request (frames sent before the `101` arrived).
    pub client_bytes: Vec<u8>,
    /// Capture time of the first of them.
    pub client_ts: Timestamp,
    /// Bytes the server sent after the `101` head in the same chunk.
    pub server_bytes: Vec<u8>,
    /// Capture time of the chunk that held them.
    pub server_ts: Timestamp,
}

/// The WebSocket handshake of a request and its `101` answer, when it is one: the request
/// asks for `Upgrade: websocket` with `Connection: upgrade` and a `Sec-WebSocket-Key`, the
/// answer says `Upgrade: websocket`. `Sec-WebSocket-Accept` is checked against the key (a
/// mismatch is reported, not refused: the server spoke WebSocket anyway).
fn websocket_handshake(
    req: &MessageHead,
    resp: &MessageHead,
    client: Dir,
    ts: Timestamp,
) -> Option<Handshake> {
    if !(req.header_has_token("upgrade", "websocket")
        && req.header_has_token("connection", "upgrade")
        && resp.header_has_token("upgrade", "websocket"))
    {
        return None;
    }
    let key = req.header("sec-websocket-key")?;
    let accept_ok = resp
        .header("sec-websocket-accept")
        .is_some_and(|a| a.trim_ascii() == websocket::accept_key(key).as_bytes());
    let subprotocol = resp.header("sec-websocket-protocol").map(|p| {
        let p = p.trim_ascii();
        String::from_utf8_lossy(&p[..p.len().min(64)]).into_owned()
    });
    let deflate = resp
        .header_all("sec-websocket-extensions")
        .any(websocket::names_deflate);
    Some(Handshake {
        client,
        accept_ok,
        subprotocol,
        deflate,
        ts,
    })
}

impl Txn {
    fn message(&mut self, client: bool) -> Option<&mut HttpMessage> {
        if client {
            self.req.as_mut()
        } else {
            self.resp.as_mut()
        }
    }
}

/// HTTP state of one TCP connection.
pub struct HttpConn {
    client: Option<Dir>,
    parsers: [HalfParser; 2],
    txns: VecDeque<Txn>,
    next_id: u64,
    depth: u32,
    cur_req: Option<u64>,
    cur_resp: Option<u64>,
    interim: bool,
    paused_txn: Option<u64>,
    resumed: Option<(Vec<u8>, Timestamp, Option<u64>)>,
    resp_gap: bool,
    /// Server stream offset where the latest complete response ended.
    prev_resp_end: Option<u64>,
    seen_http: bool,
    dead: bool,
    tunnel: bool,
    held: usize,
    /// Set when the connection switched to HTTP/2, until the dispatcher takes it.
    h2c: Option<H2cHandoff>,
    /// Set when the connection switched to WebSocket, until the dispatcher takes it.
    ws: Option<Box<WsHandoff>>,
    /// The switch was made and the server's remaining bytes are still to be collected.
    h2c_collect: bool,
}

impl HttpConn {
    /// A connection whose roles are not known yet; `midstream` when its start was not captured.
    pub fn new(midstream: bool) -> HttpConn {
        HttpConn {
            client: None,
            parsers: [
                HalfParser::new(None, midstream),
                HalfParser::new(None, midstream),
            ],
            txns: VecDeque::new(),
            next_id: 0,
            depth: 0,
            cur_req: None,
            cur_resp: None,
            interim: false,
            paused_txn: None,
            resumed: None,
            resp_gap: false,
            prev_resp_end: None,
            seen_http: false,
            dead: false,
            tunnel: false,
            held: 0,
            h2c: None,
            ws: None,
            h2c_collect: false,
        }
    }

    /// The hand-over to HTTP/2 after `Upgrade: h2c`, once (the connection is a tunnel for
    /// this layer after it).
    pub fn take_h2c(&mut self) -> Option<H2cHandoff> {
        self.h2c.take()
    }

    /// The hand-over to WebSocket after an accepted `Upgrade: websocket`, once (the
    /// connection is a tunnel for this layer after it).
    pub fn take_ws(&mut self) -> Option<Box<WsHandoff>> {
        self.ws.take()
    }

    /// True once an HTTP message head was read on this connection.
    pub fn seen_http(&self) -> bool {
        self.seen_http
    }

    fn set_client(&mut self, client: Dir) {
        self.client = Some(client);
        self.parsers[client.index()].kind = Some(Kind::Request);
        self.parsers[client.flip().index()].kind = Some(Kind::Response);
    }

    fn is_client(&self, dir: Dir) -> bool {
        self.client == Some(dir)
    }

    fn pos(&self, id: u64) -> Option<usize> {
        self.txns.iter().position(|t| t.id == id)
    }

    fn account(&mut self, ctx: &mut HttpCtx) {
        let now = self.parsers[0].held() + self.parsers[1].held();
        ctx.mem = (ctx.mem + now).saturating_sub(self.held);
        self.held = now;
    }

    fn feed(
        &mut self,
        ctx: &mut HttpCtx,
        meta: &FlowMeta,
        dir: Dir,
        data: &[u8],
        ts: Timestamp,
        peer_ack: Option<u64>,
    ) {
        let mut input = data;
        loop {
            let room = ctx.room();
            let step =
                self.parsers[dir.index()].advance(&mut input, ts, peer_ack, &ctx.limits, room);
            match step {
                Step::NeedMore => break,
                Step::Head(head, info) => self.on_head(ctx, meta, dir, *head, info),
                Step::Body(d) => self.on_body(ctx, dir, d, ts),
                Step::End => self.on_end(ctx, meta, dir, ts),
                Step::BadHead(e) => {
                    ctx.stats.bad_heads += 1;
                    if e == super::head::HeadError::TooManyHeaders {
                        ctx.stats.too_many_headers += 1;
                    }
                }
                Step::HeadTooLarge => ctx.stats.heads_too_large += 1,
                Step::BadChunk => {
                    ctx.stats.bad_chunked += 1;
                    self.end_current(
                        ctx,
                        meta,
                        dir,
                        ts,
                        Tags(Tags::MALFORMED.0 | Tags::PARTIAL.0),
                    );
                }
                Step::NotHttp => self.give_up(ctx),
            }
            if self.h2c_collect {
                self.h2c_collect = false;
                if let Some(h) = self.h2c.as_mut() {
                    h.server_bytes = input.to_vec();
                    h.server_ts = ts;
                }
                if let Some(h) = self.ws.as_mut() {
                    h.server_bytes = input.to_vec();
                    h.server_ts = ts;
                }
                return;
            }
            if self.dead {
                break;
            }
        }
        let p = &self.parsers[dir.index()];
        if !self.seen_http && p.is_resyncing() && p.skipped > ctx.cfg.max_resync_scan {
            self.give_up(ctx);
        }
    }

    fn give_up(&mut self, ctx: &mut HttpCtx) {
        if !self.seen_http && !self.dead {
            self.dead = true;
            ctx.stats.not_http_flows += 1;
        }
    }

    fn on_head(
        &mut self,
        ctx: &mut HttpCtx,
        meta: &FlowMeta,
        dir: Dir,
        head: MessageHead,
        info: HeadInfo,
    ) {
        let is_req = head.is_request();
        let sender_is_client = if is_req { dir } else { dir.flip() };
        match self.client {
            None => self.set_client(sender_is_client),
            Some(c) if c != sender_is_client => {
                if self.seen_http {
                    // A request from the server (or a response from the client) mid-connection.
                    ctx.stats.bad_heads += 1;
                    self.parsers[dir.index()].begin_body(Framing::None);
                    return;
                }
                ctx.stats.role_swaps += 1;
                self.set_client(sender_is_client);
            }
            Some(_) => {}
        }
        self.seen_http = true;
        if head.lenient {
            ctx.stats.lenient_heads += 1;
        }
        if is_req {
            self.on_request_head(ctx, meta, dir, head, info);
        } else {
            self.on_response_head(ctx, meta, dir, head, info);
        }
    }

    fn on_request_head(
        &mut self,
        ctx: &mut HttpCtx,
        meta: &FlowMeta,
        dir: Dir,
        head: MessageHead,
        info: HeadInfo,
    ) {
        ctx.stats.requests += 1;
        while self.txns.len() >= ctx.cfg.max_pending.max(1) {
            ctx.stats.pending_overflow += 1;
            if let Some(t) = self.txns.pop_front() {
                self.emit(ctx, meta, t);
            }
        }
        let mut tags = Tags::default();
        if self.is_pipelined(info.peer_ack) {
            tags.insert(Tags::PIPELINED);
            ctx.stats.pipelined += 1;
        }
        if info.resynced {
            tags.insert(Tags::RESYNC);
        }
        let (framing, notes) = request_framing(&head);
        if notes.bad_length || notes.bad_transfer_encoding || head.malformed_start {
            tags.insert(Tags::MALFORMED);
            ctx.stats.bad_content_length += u64::from(notes.bad_length);
            ctx.stats.malformed_request_lines += u64::from(head.malformed_start);
        }
        if notes.ambiguous {
            tags.insert(Tags::AMBIGUOUS_LENGTH);
            ctx.stats.ambiguous_length += 1;
        }
        let switches =
            head.method().eq_ignore_ascii_case(b"CONNECT") || head.header("upgrade").is_some();
        self.depth += 1;
        let id = self.next_id;
        self.next_id += 1;
        self.txns.push_back(Txn {
            id,
            depth: self.depth,
            req: Some(HttpMessage {
                head,
                first_ts: info.first_ts,
                last_ts: info.last_ts,
                body: Body::default(),
            }),
            resp: None,
            interim: Vec::new(),
            tags,
            req_done: false,
            resp_done: false,
            lost: false,
            req_ack: info.peer_ack,
            tunnel_after: false,
            h2c: false,
            ws: None,
            held: 0,
        });
        self.cur_req = Some(id);
        let p = &mut self.parsers[dir.index()];
        p.pause_after = switches;
        p.begin_body(framing);
    }

    /// True when a request whose sender had acknowledged `ack` server bytes was sent before the
    /// previous request's response had fully arrived.
    fn is_pipelined(&self, ack: Option<u64>) -> bool {
        let Some(prev) = self.txns.iter().rev().find(|t| t.req.is_some()) else {
            // The previous request is already emitted: its response ended at `prev_resp_end`.
            return matches!((ack, self.prev_resp_end), (Some(a), Some(end)) if a < end);
        };
        if prev.lost {
            return false;
        }
        match (&prev.resp, prev.resp_done) {
            (Some(_), true) => matches!((ack, self.prev_resp_end), (Some(a), Some(end)) if a < end),
            (Some(_), false) => true,
            // No response head seen: pipelined, unless the client has received server bytes since
            // it sent the previous request (a response whose head was lost).
            (None, _) => !matches!((ack, prev.req_ack), (Some(a), Some(p)) if a > p),
        }
    }

    /// Chooses the transaction a final response at server offset `at` answers; marks the ones
    /// whose responses were lost in a gap.
    fn pick(&mut self, ctx: &mut HttpCtx, at: u64) -> Option<usize> {
        let waiting: Vec<usize> = (0..self.txns.len())
            .filter(|&i| {
                self.txns[i].req.is_some() && self.txns[i].resp.is_none() && !self.txns[i].lost
            })
            .collect();
        let first = *waiting.first()?;
        if !self.resp_gap {
            return Some(first);
        }
        let best = waiting
            .iter()
            .filter_map(|&i| self.txns[i].req_ack)
            .filter(|&a| a <= at)
            .max();
        let Some(best) = best else { return Some(first) };
        let chosen = waiting
            .iter()
            .copied()
            .find(|&i| self.txns[i].req_ack == Some(best))
            .unwrap_or(first);
        if chosen != first {
            ctx.stats.ack_paired += 1;
            for &i in waiting.iter().take_while(|&&i| i != chosen) {
                let t = &mut self.txns[i];
                t.lost = true;
                t.tags.insert(Tags::GAP);
            }
        }
        Some(chosen)
    }

    fn on_response_head(
        &mut self,
        ctx: &mut HttpCtx,
        meta: &FlowMeta,
        dir: Dir,
        head: MessageHead,
        info: HeadInfo,
    ) {
        let code = head.status();
        if (100..200).contains(&code) && code != 101 {
            ctx.stats.interim_responses += 1;
            let waiting = self
                .txns
                .iter_mut()
                .find(|t| t.req.is_some() && t.resp.is_none() && !t.lost);
            if let Some(t) = waiting
                && t.interim.len() < 16
            {
                t.interim.push(code);
            }
            self.interim = true;
            self.parsers[dir.index()].begin_body(Framing::None);
            return;
        }
        ctx.stats.responses += 1;
        let idx = match self.pick(ctx, info.offset) {
            Some(i) => i,
            None => {
                while self.txns.len() >= ctx.cfg.max_pending.max(1) {
                    ctx.stats.pending_overflow += 1;
                    if let Some(t) = self.txns.pop_front() {
                        self.emit(ctx, meta, t);
                    }
                }
                self.depth += 1;
                let id = self.next_id;
                self.next_id += 1;
                self.txns.push_back(Txn {
                    id,
                    depth: self.depth,
                    req: None,
                    resp: None,
                    interim: Vec::new(),
                    tags: Tags::NO_REQUEST,
                    req_done: true,
                    resp_done: false,
                    lost: false,
                    req_ack: None,
                    tunnel_after: false,
                    h2c: false,
                    ws: None,
                    held: 0,
                });
                self.txns.len() - 1
            }
        };
        let t = &mut self.txns[idx];
        let (framing, notes) = response_framing(&head, t.req.as_ref().map(|r| r.head.method()));
        if notes.bad_length {
            t.tags.insert(Tags::MALFORMED);
            ctx.stats.bad_content_length += 1;
        }
        if notes.ambiguous {
            t.tags.insert(Tags::AMBIGUOUS_LENGTH);
            ctx.stats.ambiguous_length += 1;
        }
        if info.resynced {
            t.tags.insert(Tags::RESYNC);
        }
        if framing == Framing::Tunnel {
            t.tunnel_after = true;
            if code == 101 {
                t.tags.insert(Tags::UPGRADE);
                t.h2c = head.header_has_token("upgrade", "h2c")
                    && t.req
                        .as_ref()
                        .is_some_and(|r| r.head.header_has_token("upgrade", "h2c"));
                t.ws = t
                    .req
                    .as_ref()
                    .and_then(|r| websocket_handshake(&r.head, &head, dir.flip(), info.first_ts));
                if t.ws.is_some() {
                    t.tags.insert(Tags::WEBSOCKET);
                }
            } else {
                t.tags.insert(Tags::CONNECT);
            }
        }
        t.resp = Some(HttpMessage {
            head,
            first_ts: info.first_ts,
            last_ts: info.last_ts,
            body: Body::default(),
        });
        let id = t.id;
        self.cur_resp = Some(id);
        self.resp_gap = false;
        self.parsers[dir.index()].begin_body(framing);
        if framing != Framing::Tunnel && self.paused_txn == Some(id) {
            // The switch was refused: parse the client's bytes held meanwhile as HTTP again.
            self.paused_txn = None;
            if let Some(c) = self.client {
                let (held, ts, ack) = self.parsers[c.index()].resume();
                if !held.is_empty() {
                    self.resumed = Some((held, ts, ack));
                }
            }
        }
    }

    fn on_body(&mut self, ctx: &mut HttpCtx, dir: Dir, data: &[u8], ts: Timestamp) {
        let client = self.is_client(dir);
        let Some(id) = (if client { self.cur_req } else { self.cur_resp }) else {
            return;
        };
        let Some(pos) = self.pos(id) else { return };
        let limit = ctx.cfg.body_sample_bytes;
        let room = ctx.room();
        let t = &mut self.txns[pos];
        let Some(msg) = t.message(client) else { return };
        msg.body.len += data.len() as u64;
        // Bytes released from the out-of-order buffer carry the (earlier) capture time of their
        // own segment: the message's last byte is the latest seen, not the latest delivered.
        msg.last_ts = msg.last_ts.max(ts);
        let want = limit.saturating_sub(msg.body.sample.len()).min(data.len());
        let take = want.min(room);
        if take < want {
            ctx.stats.memory_cap_bytes += (want - take) as u64;
        }
        if take > 0 {
            msg.body.sample.extend_from_slice(&data[..take]);
            t.held += take;
            ctx.mem += take;
        }
    }

    fn on_end(&mut self, ctx: &mut HttpCtx, meta: &FlowMeta, dir: Dir, ts: Timestamp) {
        if self.is_client(dir) {
            let Some(id) = self.cur_req.take() else {
                return;
            };
            if self.parsers[dir.index()].is_paused() {
                self.paused_txn = Some(id);
            }
            if let Some(pos) = self.pos(id) {
                let t = &mut self.txns[pos];
                t.req_done = true;
                if let Some(m) = t.req.as_mut() {
                    m.last_ts = m.last_ts.max(ts);
                    if m.body.len > m.body.sample.len() as u64 {
                        ctx.stats.samples_truncated += 1;
                    }
                }
            }
            self.flush_ready(ctx, meta);
        } else {
            if self.interim {
                self.interim = false;
                return;
            }
            let Some(id) = self.cur_resp.take() else {
                return;
            };
            self.prev_resp_end = Some(self.parsers[dir.index()].offset);
            let mut tunnel = false;
            let mut h2c = false;
            let mut ws = false;
            if let Some(pos) = self.pos(id) {
                let t = &mut self.txns[pos];
                t.resp_done = true;
                tunnel = t.tunnel_after;
                h2c = t.h2c;
                ws = t.ws.is_some();
                if let Some(m) = t.resp.as_mut() {
                    m.last_ts = m.last_ts.max(ts);
                    if m.body.len > m.body.sample.len() as u64 {
                        ctx.stats.samples_truncated += 1;
                    }
                }
            }
            if h2c {
                self.hand_over_h2c(ctx, dir, id, ts);
            } else if ws {
                self.hand_over_ws(ctx, meta, dir, id, ts);
            } else if tunnel {
                self.enter_tunnel(ctx, id);
            }
            self.flush_ready(ctx, meta);
        }
    }

    /// Ends the message in progress in `dir` early, with `tags`.
    fn end_current(
        &mut self,
        ctx: &mut HttpCtx,
        meta: &FlowMeta,
        dir: Dir,
        ts: Timestamp,
        tags: Tags,
    ) {
        let client = self.is_client(dir);
        let id = if client {
            self.cur_req.take()
        } else {
            self.cur_resp.take()
        };
        if !client && self.interim {
            self.interim = false;
            return;
        }
        let Some(id) = id else { return };
        if let Some(pos) = self.pos(id) {
            let t = &mut self.txns[pos];
            t.tags.insert(tags);
            if client {
                t.req_done = true;
            } else {
                t.resp_done = true;
            }
            if let Some(m) = t.message(client) {
                m.last_ts = m.last_ts.max(ts);
            }
        }
        self.flush_ready(ctx, meta);
    }

    /// Ends HTTP/1.1 parsing for an `Upgrade: h2c` switch: the upgrading request leaves the
    /// queue for the HTTP/2 layer (stream 1), with the client's bytes held since it.
    fn hand_over_h2c(&mut self, ctx: &mut HttpCtx, server: Dir, id: u64, ts: Timestamp) {
        let Some(pos) = self.pos(id) else { return };
        let Some(t) = self.txns.remove(pos) else {
            return;
        };
        ctx.mem = ctx.mem.saturating_sub(t.held);
        ctx.stats.upgrades += 1;
        let client = server.flip();
        let (client_bytes, client_ts, _) = self.parsers[client.index()].resume();
        self.tunnel = true;
        for p in &mut self.parsers {
            p.tunnel();
        }
        self.h2c = Some(H2cHandoff {
            client,
            request: t.req,
            depth: t.depth,
            tags: Tags(t.tags.0 & !Tags::UPGRADE.0),
            client_bytes,
            client_ts,
            server_bytes: Vec::new(),
            server_ts: ts,
        });
        self.h2c_collect = true;
    }

    /// Ends HTTP/1.1 parsing for an accepted WebSocket upgrade: the upgrade transaction leaves
    /// the queue with the connection, for the WebSocket layer, with the client's bytes held
    /// since the request (the server's are collected by `feed`).
    fn hand_over_ws(
        &mut self,
        ctx: &mut HttpCtx,
        meta: &FlowMeta,
        server: Dir,
        id: u64,
        ts: Timestamp,
    ) {
        let Some(pos) = self.pos(id) else { return };
        let Some(mut t) = self.txns.remove(pos) else {
            return;
        };
        let Some(handshake) = t.ws.take() else { return };
        ctx.stats.upgrades += 1;
        ctx.stats.websockets += 1;
        let client = server.flip();
        let (client_bytes, client_ts, _) = self.parsers[client.index()].resume();
        self.tunnel = true;
        for p in &mut self.parsers {
            p.tunnel();
        }
        let Some(txn) = self.finish(ctx, meta, t) else {
            return;
        };
        self.ws = Some(Box::new(WsHandoff {
            txn,
            handshake,
            client_bytes,
            client_ts,
            server_bytes: Vec::new(),
            server_ts: ts,
        }));
        self.h2c_collect = true;
    }

    fn enter_tunnel(&mut self, ctx: &mut HttpCtx, id: u64) {
        let connect = self
            .pos(id)
            .is_some_and(|p| self.txns[p].tags.contains(Tags::CONNECT));
        if connect {
            ctx.stats.connects += 1;
        } else {
            ctx.stats.upgrades += 1;
        }
        self.tunnel = true;
        for p in &mut self.parsers {
            p.tunnel();
        }
    }

    /// Emits every finished transaction, oldest first.
    fn flush_ready(&mut self, ctx: &mut HttpCtx, meta: &FlowMeta) {
        let mut i = 0;
        while i < self.txns.len() {
            let t = &self.txns[i];
            let resp_over = t.resp_done || t.lost;
            let req_over = t.req.is_none() || t.req_done;
            if resp_over && req_over {
                if let Some(t) = self.txns.remove(i) {
                    self.emit(ctx, meta, t);
                }
            } else {
                i += 1;
            }
        }
    }

    fn emit(&mut self, ctx: &mut HttpCtx, meta: &FlowMeta, t: Txn) {
        if let Some(txn) = self.finish(ctx, meta, t) {
            ctx.out.push(txn);
        }
    }

    /// The transaction of `t`, counted (`None` when the roles were never known).
    fn finish(&mut self, ctx: &mut HttpCtx, meta: &FlowMeta, t: Txn) -> Option<HttpTransaction> {
        ctx.mem = ctx.mem.saturating_sub(t.held);
        let client = self.client?;
        let mut tags = t.tags;
        if t.req.is_none() {
            tags.insert(Tags::NO_REQUEST);
            ctx.stats.no_request += 1;
        }
        if t.resp.is_none() {
            tags.insert(Tags::NO_RESPONSE);
            ctx.stats.no_response += 1;
        }
        if t.req.is_some() && !t.req_done || t.resp.is_some() && !t.resp_done {
            tags.insert(Tags::PARTIAL);
        }
        ctx.stats.transactions += 1;
        Some(HttpTransaction {
            flow: meta.id,
            orig: meta.key.source(client),
            resp: meta.key.source(client.flip()),
            depth: t.depth,
            request: t.req,
            response: t.resp,
            interim: t.interim,
            tags,
            tls: None,
            websocket: None,
        })
    }
}

impl FlowApp for HttpConn {
    type Ctx = HttpCtx;

    fn open(_ctx: &mut HttpCtx, meta: &FlowMeta) -> HttpConn {
        HttpConn::new(meta.midstream)
    }

    fn data(&mut self, ctx: &mut HttpCtx, meta: &FlowMeta, dir: Dir, chunk: Chunk<'_>) {
        if self.dead || self.tunnel {
            self.ignored(ctx, dir, chunk.data.len() as u64);
            return;
        }
        if self.client.is_none()
            && let Some(opener) = meta.opener
        {
            self.set_client(opener);
        }
        self.feed(ctx, meta, dir, chunk.data, chunk.ts, chunk.peer_ack);
        while let Some((held, ts, ack)) = self.resumed.take() {
            if let Some(c) = self.client {
                self.feed(ctx, meta, c, &held, ts, ack);
            }
        }
        self.account(ctx);
    }

    fn gap(
        &mut self,
        ctx: &mut HttpCtx,
        meta: &FlowMeta,
        dir: Dir,
        _offset: u64,
        len: u64,
        ts: Timestamp,
    ) {
        if self.dead || self.tunnel {
            return;
        }
        let client = self.is_client(dir);
        if !client {
            self.resp_gap = true;
        }
        let effect = self.parsers[dir.index()].gap(len);
        let id = if client {
            self.cur_req
        } else if self.interim {
            None
        } else {
            self.cur_resp
        };
        match effect {
            GapEffect::None => {}
            GapEffect::LostHead => ctx.stats.lost_heads += 1,
            GapEffect::BodyHole | GapEffect::BodyHoleEnd => {
                ctx.stats.body_gaps += 1;
                if let Some(pos) = id.and_then(|id| self.pos(id)) {
                    let t = &mut self.txns[pos];
                    t.tags.insert(Tags::GAP);
                    if let Some(m) = t.message(client) {
                        m.body.len += len;
                        m.body.gap_bytes += len;
                    }
                }
                // A hole that ends the body completes the message now.
                self.feed(ctx, meta, dir, &[], ts, None);
            }
            GapEffect::BodyLost => {
                ctx.stats.body_gaps += 1;
                self.end_current(ctx, meta, dir, ts, Tags(Tags::GAP.0 | Tags::PARTIAL.0));
            }
        }
        self.account(ctx);
    }

    fn eof(&mut self, ctx: &mut HttpCtx, meta: &FlowMeta, dir: Dir, ts: Timestamp) {
        if self.dead || self.tunnel {
            return;
        }
        match self.parsers[dir.index()].eof() {
            EofEffect::None => {}
            EofEffect::BodyEnd => self.on_end(ctx, meta, dir, ts),
            EofEffect::Truncated => {
                ctx.stats.truncated_messages += 1;
                self.end_current(ctx, meta, dir, ts, Tags::PARTIAL);
            }
            EofEffect::LostHead => ctx.stats.lost_heads += 1,
        }
        self.account(ctx);
    }

    fn close(&mut self, ctx: &mut HttpCtx, meta: &FlowMeta, _ts: Timestamp, _reason: CloseReason) {
        while let Some(t) = self.txns.pop_front() {
            self.emit(ctx, meta, t);
        }
        for p in &self.parsers {
            ctx.stats.resyncs += p.resyncs;
            ctx.stats.resync_skipped_bytes += p.skipped_total;
            ctx.stats.tunnel_bytes += p.tunnel_bytes;
        }
        ctx.mem = ctx.mem.saturating_sub(self.held);
        self.held = 0;
    }

    fn wants_data(&self) -> bool {
        !self.dead && !self.tunnel
    }

    fn ignored(&mut self, ctx: &mut HttpCtx, _dir: Dir, len: u64) {
        if self.tunnel {
            ctx.stats.tunnel_bytes += len;
        } else {
            ctx.stats.not_http_bytes += len;
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::capture::{LinkType, RawPacket};
    use crate::engine::{Engine, EngineConfig};
    use crate::time::Timestamp;
    use etherparse::PacketBuilder;

    /// An IPv4 TCP packet between 10.0.0.1:40000 (client) and 10.0.0.2:80.
    fn tcp(from_client: bool, seq: u32, ack: u32, syn: bool, payload: &[u8]) -> Vec<u8> {
        let (src, dst, sport, dport) = if from_client {
            ([10, 0, 0, 1], [10, 0, 0, 2], 40000, 80)
        } else {
            ([10, 0, 0, 2], [10, 0, 0, 1], 80, 40000)
        };
        let mut b = PacketBuilder::ipv4(src, dst, 64).tcp(sport, dport, seq, 65535);
        if syn {
            b = b.syn();
        }
        if !(syn && from_client) {
            b = b.ack(ack);
        }
        let mut out = Vec::new();
        b.write(&mut out, payload).unwrap();
        out
    }

    /// Fuzz finding 7: body bytes released from the out-of-order buffer carry the capture time
    /// of their (earlier) segment, and overwrote the message's last time: `last_ts < first_ts`.
    #[test]
    fn body_released_out_of_order_keeps_last_ts_after_first_ts() {
        let head = b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\n";
        let (c, s) = (1000u32, 5000u32);
        let frames = [
            tcp(true, c, 0, true, b""),
            tcp(false, s, c + 1, true, b""),
            tcp(true, c + 1, s + 1, false, b""),
            // The body first, past the head that is still missing.
            tcp(true, c + 1 + head.len() as u32, s + 1, false, b"abc"),
            tcp(true, c + 1, s + 1, false, head),
            tcp(
                false,
                s + 1,
                c + 4 + head.len() as u32,
                false,
                b"HTTP/1.1 204 No Content\r\n\r\n",
            ),
        ];
        let mut engine = Engine::new(EngineConfig::default());
        for (i, f) in frames.iter().enumerate() {
            engine.packet(&RawPacket {
                ts: Timestamp(1_000_000 * (i as i64 + 1)),
                link: LinkType::RAW,
                orig_len: f.len() as u32,
                data: f,
            });
        }
        engine.finish();
        let txns: Vec<_> = engine.drain().collect();
        assert_eq!(txns.len(), 1);
        let req = txns[0].request.as_ref().unwrap();
        assert_eq!(req.body.len, 3);
        assert_eq!(req.body.sample, b"abc");
        assert_eq!(req.first_ts, Timestamp(5_000_000));
        assert_eq!(req.last_ts, Timestamp(5_000_000));
        assert!(req.first_ts <= req.last_ts);
    }
}
