//! The protocol of a connection, decided once from its first bytes: a TLS record goes to the
//! TLS layer (`tls`), anything else to HTTP/1.x (`http`, which gives up on what is not HTTP).
//!
//! What it owns: the sniffing and the hand-over (one [`Conn`] per TCP connection, the
//! layers' shared state in [`Layers`]). What it may not touch: what the layers do with the
//! bytes.

use crate::http::{HttpConn, HttpCtx};
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
    Tls(Box<TlsConn>),
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
            Conn::Tls(Box::new(TlsConn::open(&mut ctx.tls, meta)))
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
            Conn::Tls(t) => t.data(&mut ctx.tls, meta, dir, chunk),
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
            Conn::Tls(t) => t.gap(&mut ctx.tls, meta, dir, offset, len, ts),
        }
    }

    fn eof(&mut self, ctx: &mut Layers, meta: &FlowMeta, dir: Dir, ts: Timestamp) {
        match self {
            Conn::Fresh(h) | Conn::Http(h) => h.eof(&mut ctx.http, meta, dir, ts),
            Conn::Tls(t) => t.eof(&mut ctx.tls, meta, dir, ts),
        }
    }

    fn close(&mut self, ctx: &mut Layers, meta: &FlowMeta, ts: Timestamp, reason: CloseReason) {
        match self {
            Conn::Fresh(h) | Conn::Http(h) => h.close(&mut ctx.http, meta, ts, reason),
            Conn::Tls(t) => t.close(&mut ctx.tls, meta, ts, reason),
        }
    }

    fn wants_data(&self) -> bool {
        match self {
            Conn::Fresh(h) | Conn::Http(h) => h.wants_data(),
            Conn::Tls(t) => t.wants_data(),
        }
    }

    fn ignored(&mut self, ctx: &mut Layers, dir: Dir, len: u64) {
        match self {
            Conn::Fresh(h) | Conn::Http(h) => h.ignored(&mut ctx.http, dir, len),
            Conn::Tls(t) => t.ignored(&mut ctx.tls, dir, len),
        }
    }
}
