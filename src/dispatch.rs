//! The protocol of a connection, decided once from its first bytes: a TLS record goes to the
//! TLS layer (`tls`), the HTTP/2 client preface (`PRI * HTTP/2.0 ...`) or a server's first
//! SETTINGS frame to HTTP/2 (`http2`), anything else to HTTP/1.x (`http`, which gives up on
//! what is not HTTP). A switch in flight is handed over too: an HTTP/1.1 request with
//! `Upgrade: h2c` answered by `101` continues as HTTP/2, the request as its stream 1; an
//! accepted `Upgrade: websocket` continues as WebSocket ([`WsFlow`]), the upgrade transaction
//! held until the connection ends and emitted then with the connection's figures.
//!
//! First bytes that are a strict prefix of the preface (`PRI * H`, a segment cut short) are
//! held until the rest tells: a prefix of the preface cannot begin an HTTP/1 request that the
//! HTTP/1 layer would read differently, except `P`, `PR` and `PRI` (held too, up to 24 bytes).
//!
//! A connection picked up mid-way (its SYN not captured) whose first bytes are neither TLS nor
//! the preface is sniffed for HTTP/2 ([`Sniffing`]): its bytes go to the HTTP/1 layer as usual
//! (which reads a message head at once, resynchronises at a start line, or gives up), while
//! each direction's are searched for a run of HTTP/2 frames
//! ([`frame::find_run`]: strict frame headers, two whole frames or one that ends where the
//! bytes do, within [`frame::SNIFF_SCAN`] start positions). A run makes the connection
//! HTTP/2 ([`H2Conn::midstream`], counted in `midstream_connections`); an HTTP/1 message, or
//! both directions searched to the bound, leave it to HTTP/1 (`midstream_not_h2`).
//!
//! A TLS connection decrypted with a key log hands its plaintext to an inner layer of its own
//! ([`TlsFlow`]), chosen by ALPN (`h2`) or the HTTP/2 preface: HTTP/2 or HTTP/1.x get the same
//! data, gap, eof and close calls a cleartext connection gets, and their transactions are
//! tagged [`Tags::TLS`](crate::http::Tags::TLS) with the connection's SNI and JA4.
//!
//! What it owns: the sniffing and the hand-over (one [`Conn`] per TCP connection, the
//! layers' shared state in [`Layers`]). What it may not touch: what the layers do with the
//! bytes.

use crate::http::{HttpConn, HttpCtx, HttpTransaction, Tags, TlsTag, WsHandoff};
use crate::http2::conn::guess_client;
use crate::http2::frame::{self, FrameHeader, PREFACE};
use crate::http2::{H2Conn, H2Ctx};
use crate::reassembly::{Chunk, CloseReason, Dir, FlowApp, FlowMeta};
use crate::time::Timestamp;
use crate::tls::{Sniff, TlsConn, TlsCtx};
use crate::websocket::{WsConn, WsCtx};

/// The state every connection's layer shares: limits, counters, output queues.
pub struct Layers {
    /// HTTP/1.x.
    pub http: HttpCtx,
    /// TLS.
    pub tls: TlsCtx,
    /// HTTP/2 (its transactions are moved to `http.out` as they come).
    pub h2: H2Ctx,
    /// WebSocket (its upgrade transactions go to `http.out` when their connections end).
    pub ws: WsCtx,
}

impl Layers {
    /// Moves the HTTP/2 layer's transactions to the one output queue of transactions.
    fn collect_h2(&mut self) {
        if !self.h2.out.is_empty() {
            self.http.stats.transactions += self.h2.out.len() as u64;
            self.http.out.append(&mut self.h2.out);
        }
    }
}

/// One connection, by protocol.
pub enum Conn {
    /// No payload seen yet: HTTP until the first bytes say otherwise.
    Fresh(HttpConn),
    /// HTTP/1.x (or not HTTP at all: the HTTP layer counts and ignores it).
    Http(HttpConn),
    /// TLS (boxed: its state is larger than HTTP's, and an HTTP connection's slot in the flow
    /// table should not grow for it).
    Tls(Box<TlsFlow>),
    /// HTTP/2 (boxed for the same reason).
    H2(Box<H2Conn>),
    /// The first bytes are a strict prefix of the HTTP/2 preface: held until more arrive.
    Held(Box<Held>),
    /// A midstream connection being sniffed for HTTP/2 (its bytes also go to HTTP/1).
    Sniff(Box<Sniffing>),
    /// WebSocket, after an accepted upgrade.
    Ws(Box<WsFlow>),
    /// A WebSocket connection that ended (its transaction emitted): nothing more is read.
    Closed,
}

/// A WebSocket connection and its upgrade transaction, emitted with the connection's figures
/// when it ends.
pub struct WsFlow {
    ws: WsConn,
    txn: HttpTransaction,
}

impl WsFlow {
    /// Takes over from the HTTP/1 layer: the bytes it held are fed first (the client's frames
    /// sent before the `101`, then the server's after it).
    fn new(ctx: &mut WsCtx, h: WsHandoff) -> WsFlow {
        let client = h.handshake.client;
        let mut ws = WsConn::new(ctx, h.handshake);
        if !h.client_bytes.is_empty() {
            ws.data(ctx, client, &h.client_bytes, h.client_ts);
        }
        if !h.server_bytes.is_empty() {
            ws.data(ctx, client.flip(), &h.server_bytes, h.server_ts);
        }
        WsFlow { ws, txn: h.txn }
    }

    fn data(&mut self, ctx: &mut WsCtx, dir: Dir, chunk: Chunk<'_>) {
        self.ws.data(ctx, dir, chunk.data, chunk.ts);
    }

    /// Ends the connection: the upgrade transaction, with the figures, to `out`.
    fn close(self, ctx: &mut WsCtx, http: &mut HttpCtx, ts: Timestamp) {
        let mut txn = self.txn;
        txn.websocket = Some(Box::new(self.ws.finish(ctx, ts)));
        http.out.push(txn);
    }
}

/// Takes a WebSocket hand-over from an HTTP/1 connection, when there is one.
fn take_ws(h: &mut HttpConn, ctx: &mut WsCtx) -> Option<Box<WsFlow>> {
    h.take_ws().map(|w| Box::new(WsFlow::new(ctx, *w)))
}

/// Emits a WebSocket connection's upgrade transaction when it is closed (`slot` becomes a
/// dead HTTP connection that ignores what follows).
fn close_ws(slot: &mut Conn, ctx: &mut Layers, ts: Timestamp) {
    if let Conn::Ws(_) = slot
        && let Conn::Ws(w) = std::mem::replace(slot, Conn::Closed)
    {
        w.close(&mut ctx.ws, &mut ctx.http, ts);
    }
}

/// A TLS connection and the layer its decrypted bytes go to.
pub struct TlsFlow {
    tls: TlsConn,
    inner: Inner,
    /// Plaintext offsets per direction.
    offsets: [u64; 2],
}

/// The application layer inside a decrypted TLS connection.
pub enum Inner {
    /// No plaintext yet.
    Unknown,
    /// HTTP/1.x.
    Http1(Box<HttpConn>),
    /// HTTP/2 (ALPN `h2`, or the client preface).
    H2(Box<H2Conn>),
    /// WebSocket, after an accepted upgrade inside the TLS connection.
    Ws(Box<WsFlow>),
    /// A WebSocket connection that ended (its transaction emitted).
    Closed,
}

impl TlsFlow {
    fn new(tls: TlsConn) -> TlsFlow {
        TlsFlow {
            tls,
            inner: Inner::Unknown,
            offsets: [0; 2],
        }
    }

    /// Hands decrypted bytes to the inner layer, and tags what it emits.
    fn pump(&mut self, ctx: &mut Layers, meta: &FlowMeta) {
        let before = ctx.http.out.len();
        for p in self.tls.take_plaintext() {
            if matches!(self.inner, Inner::Unknown) {
                let starts_h2 = {
                    let n = p.data.len().min(PREFACE.len());
                    n > 0 && p.data[..n] == PREFACE[..n]
                };
                self.inner = if self.tls.alpn() == Some("h2") || starts_h2 {
                    if let Some(d) = ctx.tls.dec.as_mut() {
                        d.stats.inner_h2 += 1;
                    }
                    Inner::H2(Box::new(H2Conn::sniffed(&mut ctx.h2, p.dir, &p.data)))
                } else {
                    Inner::Http1(Box::new(HttpConn::new(false)))
                };
            }
            let i = p.dir.index();
            let offset = self.offsets[i];
            self.offsets[i] += p.data.len() as u64;
            let chunk = Chunk {
                offset,
                data: &p.data,
                ts: p.ts,
                peer_ack: None,
            };
            match &mut self.inner {
                Inner::Http1(h) => {
                    h.data(&mut ctx.http, meta, p.dir, chunk);
                    if let Some(w) = take_ws(h, &mut ctx.ws) {
                        self.inner = Inner::Ws(w);
                    }
                }
                Inner::H2(c) => c.data(&mut ctx.h2, meta, p.dir, chunk),
                Inner::Ws(w) => w.data(&mut ctx.ws, p.dir, chunk),
                Inner::Unknown | Inner::Closed => {}
            }
        }
        ctx.collect_h2();
        self.tag(ctx, before);
    }

    /// Runs `f` on the inner layer (eof, close, gap of the plaintext), then tags what it
    /// emitted.
    fn inner(&mut self, ctx: &mut Layers, f: impl FnOnce(&mut Inner, &mut Layers)) {
        let before = ctx.http.out.len();
        f(&mut self.inner, ctx);
        ctx.collect_h2();
        self.tag(ctx, before);
    }

    /// Tags the transactions emitted from `before` on (all of this connection's).
    fn tag(&self, ctx: &mut Layers, before: usize) {
        let new = ctx.http.out.get_mut(before..).unwrap_or_default();
        if new.is_empty() {
            return;
        }
        let (sni, ja4) = self.tls.names();
        let tag = TlsTag {
            sni: sni.map(str::to_string),
            ja4: ja4.map(str::to_string),
        };
        for t in new {
            t.tags.insert(Tags::TLS);
            t.tls = Some(Box::new(tag.clone()));
        }
    }
}

/// Bytes held while the protocol is undecided.
pub struct Held {
    http: HttpConn,
    dir: Dir,
    bytes: Vec<u8>,
    offset: u64,
    ts: Timestamp,
    peer_ack: Option<u64>,
}

/// A midstream connection whose first bytes were neither TLS nor the preface: the HTTP/1 layer
/// reads it as usual while each direction is searched for a run of HTTP/2 frames, until one
/// is found (HTTP/2), the HTTP/1 layer reads a message head, or both directions were searched
/// to the bound (HTTP/1). The windows are accounted in the HTTP/2 layer's memory; a direction
/// the cap has no room for is not searched further (counted in `memory_cap_bytes`).
pub struct Sniffing {
    http: HttpConn,
    dirs: [frame::Finder; 2],
    /// The direction where a run was found, and the bytes from its start.
    found: Option<(Dir, Vec<u8>)>,
    /// Bytes of the windows accounted in the HTTP/2 layer's memory.
    held: usize,
}

/// What one direction's search found.
enum Found {
    /// A run of frames: the connection is HTTP/2.
    H2,
    /// Nothing yet.
    NotYet,
}

impl Sniffing {
    fn new(http: HttpConn) -> Sniffing {
        Sniffing {
            http,
            dirs: Default::default(),
            found: None,
            held: 0,
        }
    }

    /// Searches `data`, sent in `dir` after the bytes searched so far, for a run of frames.
    fn search(&mut self, ctx: &mut H2Ctx, dir: Dir, mut data: &[u8]) -> Found {
        let f = &mut self.dirs[dir.index()];
        while !data.is_empty() {
            let (k, r) = f.push(data);
            data = &data[k..];
            match r {
                frame::Search::More => {}
                frame::Search::GaveUp => break,
                frame::Search::Found(mut bytes, _) => {
                    // What the window had no room for follows the run.
                    bytes.extend_from_slice(data);
                    self.found = Some((dir, bytes));
                    break;
                }
            }
        }
        if self.found.is_some() {
            // The windows are given back by `release` as they were accounted.
            return Found::H2;
        }
        let now = self.dirs[0].held() + self.dirs[1].held();
        if !ctx.reaccount(self.held, now) {
            // No room: this direction is not searched further.
            ctx.stats.memory_cap_bytes += (now - self.held) as u64;
            self.dirs[dir.index()].give_up();
            let now = self.dirs[0].held() + self.dirs[1].held();
            ctx.reaccount(self.held, now);
            self.held = now;
            return Found::NotYet;
        }
        self.held = now;
        Found::NotYet
    }

    /// Both directions searched to the bound.
    fn exhausted(&self) -> bool {
        self.dirs.iter().all(frame::Finder::gave_up)
    }

    /// Gives back the memory of the windows.
    fn release(&mut self, ctx: &mut H2Ctx) {
        ctx.reaccount(self.held, 0);
        self.held = 0;
    }
}

/// What the first bytes of a connection say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum First {
    Tls,
    H2,
    Http,
    /// A strict prefix of the HTTP/2 preface.
    Undecided,
}

fn first_bytes(first: &[u8], dir: Dir, meta: &FlowMeta) -> First {
    if !matches!(crate::tls::sniff(first), Sniff::NotTls) {
        return First::Tls;
    }
    let n = first.len().min(PREFACE.len());
    if first[..n] == PREFACE[..n] {
        return if n == PREFACE.len() {
            First::H2
        } else {
            First::Undecided
        };
    }
    // A server that speaks first with a SETTINGS frame: HTTP/2 with prior knowledge, the
    // server's preface captured before the client's.
    if meta.opener == Some(dir.flip())
        && FrameHeader::parse(first).is_some_and(|h| h.is_initial_settings())
    {
        return First::H2;
    }
    First::Http
}

impl Conn {
    /// Becomes the layer `kind` says (from `Fresh` or `Held`), on first bytes `first` sent in
    /// `dir`.
    fn become_(&mut self, ctx: &mut Layers, meta: &FlowMeta, dir: Dir, first: &[u8], kind: First) {
        let http = match std::mem::replace(self, Conn::Http(HttpConn::new(false))) {
            Conn::Fresh(h) => h,
            Conn::Held(h) => h.http,
            other => {
                *self = other;
                return;
            }
        };
        *self = match kind {
            First::Tls => Conn::Tls(Box::new(TlsFlow::new(TlsConn::open(&mut ctx.tls, meta)))),
            First::H2 => Conn::H2(Box::new(H2Conn::sniffed(&mut ctx.h2, dir, first))),
            First::Http | First::Undecided => Conn::Http(http),
        };
    }

    /// Decides on bytes held so far (more are not coming in order): they are not HTTP/2, and
    /// are fed to the layer chosen.
    fn release(&mut self, ctx: &mut Layers, meta: &FlowMeta) {
        let Conn::Held(h) = self else { return };
        let (dir, bytes, offset, ts, peer_ack) = (
            h.dir,
            std::mem::take(&mut h.bytes),
            h.offset,
            h.ts,
            h.peer_ack,
        );
        let kind = match first_bytes(&bytes, dir, meta) {
            First::Undecided => First::Http,
            k => k,
        };
        self.become_(ctx, meta, dir, &bytes, kind);
        self.feed(
            ctx,
            meta,
            dir,
            Chunk {
                offset,
                data: &bytes,
                ts,
                peer_ack,
            },
        );
    }

    /// The frame sniffer found a run of frames in `dir` (in a chunk that came at `ts`): the
    /// connection becomes HTTP/2, fed the run and the other direction's window (the bytes
    /// from its first possible frame boundary; those before cannot begin a run). The HTTP/1 layer, which read the
    /// same bytes and found no message, is closed.
    fn sniffed_h2(&mut self, ctx: &mut Layers, meta: &FlowMeta, dir: Dir, ts: Timestamp) {
        let Conn::Sniff(mut s) = std::mem::replace(self, Conn::Closed) else {
            return;
        };
        s.release(&mut ctx.h2);
        s.http
            .close(&mut ctx.http, meta, Timestamp(0), CloseReason::Evicted);
        let mut h2 = H2Conn::midstream(&mut ctx.h2, guess_client(meta));
        // The start positions the search gave up are bytes skipped before a boundary.
        ctx.h2.stats.midstream_skipped_bytes +=
            s.dirs.iter().map(|d| d.skipped() as u64).sum::<u64>();
        // The run first (the connection finds it again at once), then what the other
        // direction holds from its first possible boundary.
        let (found_dir, run) = s.found.take().unwrap_or((dir, Vec::new()));
        let other = s.dirs[found_dir.flip().index()].take();
        for (d, bytes) in [(found_dir, run), (found_dir.flip(), other)] {
            if !bytes.is_empty() {
                let chunk = Chunk {
                    offset: 0,
                    data: &bytes,
                    ts,
                    peer_ack: None,
                };
                h2.data(&mut ctx.h2, meta, d, chunk);
            }
        }
        *self = Conn::H2(Box::new(h2));
        ctx.collect_h2();
    }

    /// The sniffed connection is not HTTP/2 (an HTTP/1 message was read, or both directions
    /// were searched to the bound): it stays with the HTTP/1 layer.
    fn sniffed_not_h2(&mut self, ctx: &mut Layers) {
        if let Conn::Sniff(_) = self
            && let Conn::Sniff(mut s) = std::mem::replace(self, Conn::Closed)
        {
            s.release(&mut ctx.h2);
            ctx.h2.stats.midstream_not_h2 += 1;
            *self = Conn::Http(s.http);
        }
    }

    /// Takes over from the HTTP/1 layer when it switched (`Upgrade: h2c` or an accepted
    /// WebSocket upgrade).
    fn take_handoff(&mut self, ctx: &mut Layers, meta: &FlowMeta) {
        let (Conn::Fresh(h) | Conn::Http(h)) = self else {
            return;
        };
        if let Some(handoff) = h.take_h2c() {
            let h2 = H2Conn::upgraded(&mut ctx.h2, meta, handoff);
            *self = Conn::H2(Box::new(h2));
            ctx.collect_h2();
        } else if let Some(w) = take_ws(h, &mut ctx.ws) {
            *self = Conn::Ws(w);
        }
    }

    /// Feeds a chunk to the decided layer.
    fn feed(&mut self, ctx: &mut Layers, meta: &FlowMeta, dir: Dir, chunk: Chunk<'_>) {
        match self {
            Conn::Fresh(h) | Conn::Http(h) => {
                h.data(&mut ctx.http, meta, dir, chunk);
                self.take_handoff(ctx, meta);
            }
            Conn::Ws(w) => w.data(&mut ctx.ws, dir, chunk),
            Conn::Sniff(s) => {
                if let Found::H2 = s.search(&mut ctx.h2, dir, chunk.data) {
                    self.sniffed_h2(ctx, meta, dir, chunk.ts);
                    return;
                }
                s.http.data(&mut ctx.http, meta, dir, chunk);
                if s.http.seen_http() || s.exhausted() {
                    self.sniffed_not_h2(ctx);
                    self.take_handoff(ctx, meta);
                }
            }
            Conn::Tls(t) => {
                t.tls.data(&mut ctx.tls, meta, dir, chunk);
                t.pump(ctx, meta);
            }
            Conn::H2(c) => {
                c.data(&mut ctx.h2, meta, dir, chunk);
                ctx.collect_h2();
            }
            Conn::Held(_) | Conn::Closed => {}
        }
    }
}

impl FlowApp for Conn {
    type Ctx = Layers;

    fn open(ctx: &mut Layers, meta: &FlowMeta) -> Conn {
        Conn::Fresh(HttpConn::open(&mut ctx.http, meta))
    }

    fn data(&mut self, ctx: &mut Layers, meta: &FlowMeta, dir: Dir, chunk: Chunk<'_>) {
        match self {
            Conn::Fresh(_) if !chunk.data.is_empty() => {
                let kind = first_bytes(chunk.data, dir, meta);
                if kind == First::Undecided {
                    let Conn::Fresh(http) =
                        std::mem::replace(self, Conn::Http(HttpConn::new(false)))
                    else {
                        return;
                    };
                    *self = Conn::Held(Box::new(Held {
                        http,
                        dir,
                        bytes: chunk.data.to_vec(),
                        offset: chunk.offset,
                        ts: chunk.ts,
                        peer_ack: chunk.peer_ack,
                    }));
                    return;
                }
                if kind == First::Http && meta.midstream && meta.opener.is_none() {
                    let Conn::Fresh(http) =
                        std::mem::replace(self, Conn::Http(HttpConn::new(false)))
                    else {
                        return;
                    };
                    *self = Conn::Sniff(Box::new(Sniffing::new(http)));
                    // Fed below.
                } else {
                    self.become_(ctx, meta, dir, chunk.data, kind);
                }
            }
            Conn::Held(h) if h.dir == dir && chunk.offset == h.offset + h.bytes.len() as u64 => {
                h.bytes.extend_from_slice(chunk.data);
                match first_bytes(&h.bytes, dir, meta) {
                    First::Undecided => return,
                    kind => {
                        let (bytes, offset, ts, peer_ack) =
                            (std::mem::take(&mut h.bytes), h.offset, h.ts, h.peer_ack);
                        self.become_(ctx, meta, dir, &bytes, kind);
                        let whole = Chunk {
                            offset,
                            data: &bytes,
                            ts,
                            peer_ack,
                        };
                        self.feed(ctx, meta, dir, whole);
                        return;
                    }
                }
            }
            Conn::Held(_) => self.release(ctx, meta),
            _ => {}
        }
        self.feed(ctx, meta, dir, chunk);
    }

    fn gap(
        &mut self,
        ctx: &mut Layers,
        meta: &FlowMeta,
        dir: Dir,
        offset: u64,
        len: u64,
        ts: Timestamp,
    ) {
        self.release(ctx, meta);
        match self {
            Conn::Fresh(h) | Conn::Http(h) => h.gap(&mut ctx.http, meta, dir, offset, len, ts),
            // A gap in the ciphertext: the TLS layer counts it and stops decrypting that
            // direction (records cannot be framed across it).
            Conn::Tls(t) => t.tls.gap(&mut ctx.tls, meta, dir, offset, len, ts),
            Conn::H2(c) => {
                c.gap(&mut ctx.h2, meta, dir, offset, len, ts);
                ctx.collect_h2();
            }
            Conn::Ws(w) => w.ws.gap(&mut ctx.ws, dir, len, ts),
            Conn::Sniff(s) => {
                // The search starts again after the gap (its start positions still count).
                s.dirs[dir.index()].gap();
                s.http.gap(&mut ctx.http, meta, dir, offset, len, ts);
            }
            Conn::Held(_) | Conn::Closed => {}
        }
    }

    fn eof(&mut self, ctx: &mut Layers, meta: &FlowMeta, dir: Dir, ts: Timestamp) {
        self.release(ctx, meta);
        match self {
            Conn::Fresh(h) | Conn::Http(h) => h.eof(&mut ctx.http, meta, dir, ts),
            Conn::Sniff(s) => s.http.eof(&mut ctx.http, meta, dir, ts),
            Conn::Tls(t) => {
                t.tls.eof(&mut ctx.tls, meta, dir, ts);
                t.pump(ctx, meta);
                t.inner(ctx, |inner, ctx| match inner {
                    Inner::Http1(h) => h.eof(&mut ctx.http, meta, dir, ts),
                    Inner::H2(c) => c.eof(&mut ctx.h2, meta, dir, ts),
                    // One side's FIN: the other may still send (a close answered, say).
                    Inner::Ws(_) | Inner::Unknown | Inner::Closed => {}
                });
            }
            Conn::H2(c) => {
                c.eof(&mut ctx.h2, meta, dir, ts);
                ctx.collect_h2();
            }
            // One side's FIN: the other may still send (a close answered, say).
            Conn::Ws(_) | Conn::Held(_) | Conn::Closed => {}
        }
    }

    fn close(&mut self, ctx: &mut Layers, meta: &FlowMeta, ts: Timestamp, reason: CloseReason) {
        self.release(ctx, meta);
        // Still undecided at the end: not HTTP/2.
        self.sniffed_not_h2(ctx);
        match self {
            Conn::Fresh(h) | Conn::Http(h) => h.close(&mut ctx.http, meta, ts, reason),
            Conn::Tls(t) => {
                // Records held for their key get a last chance at close.
                t.tls.close(&mut ctx.tls, meta, ts, reason);
                t.pump(ctx, meta);
                t.inner(ctx, |inner, ctx| match inner {
                    Inner::Http1(h) => h.close(&mut ctx.http, meta, ts, reason),
                    Inner::H2(c) => c.close(&mut ctx.h2, meta, ts, reason),
                    Inner::Ws(_) => {
                        if let Inner::Ws(w) = std::mem::replace(inner, Inner::Closed) {
                            w.close(&mut ctx.ws, &mut ctx.http, ts);
                        }
                    }
                    Inner::Unknown | Inner::Closed => {}
                });
            }
            Conn::H2(c) => {
                c.close(&mut ctx.h2, meta, ts, reason);
                ctx.collect_h2();
            }
            Conn::Ws(_) => close_ws(self, ctx, ts),
            Conn::Sniff(_) | Conn::Held(_) | Conn::Closed => {}
        }
    }

    fn wants_data(&self) -> bool {
        match self {
            Conn::Fresh(h) | Conn::Http(h) => h.wants_data(),
            Conn::Tls(t) => t.tls.wants_data(),
            Conn::H2(c) => c.wants_data(),
            Conn::Ws(_) | Conn::Held(_) | Conn::Sniff(_) => true,
            Conn::Closed => false,
        }
    }

    fn ignored(&mut self, ctx: &mut Layers, dir: Dir, len: u64) {
        match self {
            Conn::Fresh(h) | Conn::Http(h) => h.ignored(&mut ctx.http, dir, len),
            Conn::Tls(t) => t.tls.ignored(&mut ctx.tls, dir, len),
            Conn::H2(c) => c.ignored(&mut ctx.h2, dir, len),
            Conn::Ws(w) => w.ws.ignored(&mut ctx.ws, len),
            Conn::Sniff(s) => s.http.ignored(&mut ctx.http, dir, len),
            Conn::Held(_) | Conn::Closed => {}
        }
    }
}
