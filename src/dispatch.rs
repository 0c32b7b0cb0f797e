//! The protocol of a connection, decided once from its first bytes: a TLS record goes to the
//! TLS layer (`tls`), anything else to HTTP/1.x (`http`, which gives up on what is not HTTP).
//!
//! A TLS connection decrypted with a key log hands its plaintext to an inner layer of its own
//! ([`TlsFlow`]), chosen by ALPN (or the HTTP/2 preface): HTTP/1.x gets the same data, eof and
//! close calls a cleartext connection gets, and its transactions are tagged
//! [`Tags::TLS`](crate::http::Tags::TLS) with the connection's SNI and JA4. HTTP/2 is counted
//! (`inner_h2_unsupported`) until its layer exists: [`Inner`] is the seam.
//!
//! What it owns: the sniffing and the hand-over (one [`Conn`] per TCP connection, the
//! layers' shared state in [`Layers`]). What it may not touch: what the layers do with the
//! bytes.

use crate::http::{HttpConn, HttpCtx, Tags, TlsTag};
use crate::reassembly::{Chunk, CloseReason, Dir, FlowApp, FlowMeta};
use crate::time::Timestamp;
use crate::tls::{Sniff, TlsConn, TlsCtx};

/// The state every connection's layer shares: limits, counters, output queues.
pub struct Layers {
    /// HTTP/1.x.
    pub http: HttpCtx,
    /// TLS.
    pub tls: TlsCtx,
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
    /// HTTP/2: not read yet (counted); its layer goes here.
    H2Unsupported,
}

/// The HTTP/2 client connection preface.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n";

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
                let h2 = self.tls.alpn() == Some("h2") || p.data.starts_with(H2_PREFACE);
                self.inner = if h2 {
                    if let Some(d) = ctx.tls.dec.as_mut() {
                        d.stats.inner_h2_unsupported += 1;
                    }
                    Inner::H2Unsupported
                } else {
                    Inner::Http1(Box::new(HttpConn::new(false)))
                };
            }
            let i = p.dir.index();
            let offset = self.offsets[i];
            self.offsets[i] += p.data.len() as u64;
            if let Inner::Http1(h) = &mut self.inner {
                let chunk = Chunk {
                    offset,
                    data: &p.data,
                    ts: p.ts,
                    peer_ack: None,
                };
                h.data(&mut ctx.http, meta, p.dir, chunk);
            }
        }
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

impl Conn {
    /// Decides the protocol on the connection's first payload bytes.
    fn sniff(&mut self, ctx: &mut Layers, meta: &FlowMeta, first: &[u8]) {
        if !matches!(self, Conn::Fresh(_)) || first.is_empty() {
            return;
        }
        // A prefix of a TLS record header cannot begin HTTP either: TLS it is.
        let tls = !matches!(crate::tls::sniff(first), Sniff::NotTls);
        let next = if tls {
            Conn::Tls(Box::new(TlsFlow::new(TlsConn::open(&mut ctx.tls, meta))))
        } else {
            match std::mem::replace(self, Conn::Http(HttpConn::new(false))) {
                Conn::Fresh(h) => Conn::Http(h),
                other => other,
            }
        };
        *self = next;
    }
}

impl FlowApp for Conn {
    type Ctx = Layers;

    fn open(ctx: &mut Layers, meta: &FlowMeta) -> Conn {
        Conn::Fresh(HttpConn::open(&mut ctx.http, meta))
    }

    fn data(&mut self, ctx: &mut Layers, meta: &FlowMeta, dir: Dir, chunk: Chunk<'_>) {
        self.sniff(ctx, meta, chunk.data);
        match self {
            Conn::Fresh(h) | Conn::Http(h) => h.data(&mut ctx.http, meta, dir, chunk),
            Conn::Tls(t) => {
                t.tls.data(&mut ctx.tls, meta, dir, chunk);
                t.pump(ctx, meta);
            }
        }
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
        match self {
            Conn::Fresh(h) | Conn::Http(h) => h.gap(&mut ctx.http, meta, dir, offset, len, ts),
            Conn::Tls(t) => t.tls.gap(&mut ctx.tls, meta, dir, offset, len, ts),
        }
    }

    fn eof(&mut self, ctx: &mut Layers, meta: &FlowMeta, dir: Dir, ts: Timestamp) {
        match self {
            Conn::Fresh(h) | Conn::Http(h) => h.eof(&mut ctx.http, meta, dir, ts),
            Conn::Tls(t) => {
                t.tls.eof(&mut ctx.tls, meta, dir, ts);
                if let Inner::Http1(h) = &mut t.inner {
                    let before = ctx.http.out.len();
                    h.eof(&mut ctx.http, meta, dir, ts);
                    t.tag(ctx, before);
                }
            }
        }
    }

    fn close(&mut self, ctx: &mut Layers, meta: &FlowMeta, ts: Timestamp, reason: CloseReason) {
        match self {
            Conn::Fresh(h) | Conn::Http(h) => h.close(&mut ctx.http, meta, ts, reason),
            Conn::Tls(t) => {
                // Records held for their key get a last chance at close.
                t.tls.close(&mut ctx.tls, meta, ts, reason);
                t.pump(ctx, meta);
                if let Inner::Http1(h) = &mut t.inner {
                    let before = ctx.http.out.len();
                    h.close(&mut ctx.http, meta, ts, reason);
                    t.tag(ctx, before);
                }
            }
        }
    }

    fn wants_data(&self) -> bool {
        match self {
            Conn::Fresh(h) | Conn::Http(h) => h.wants_data(),
            Conn::Tls(t) => t.tls.wants_data(),
        }
    }

    fn ignored(&mut self, ctx: &mut Layers, dir: Dir, len: u64) {
        match self {
            Conn::Fresh(h) | Conn::Http(h) => h.ignored(&mut ctx.http, dir, len),
            Conn::Tls(t) => t.tls.ignored(&mut ctx.tls, dir, len),
        }
    }
}
