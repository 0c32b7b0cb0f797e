//! A connection's TLS state: which side is the client, what its handshake said, and when to
//! report it.
//!
//! The client is the side that sends the ClientHello (or receives the ServerHello). Each
//! direction has a [`RecordReader`]; the handshake messages it hands out fill a
//! [`TlsHandshake`], which is reported once ([`TlsEvent::Handshake`]) as soon as its facts are
//! known, after which both readers stop buffering and only count bytes:
//!
//! - TLS 1.3: at the ServerHello (not a HelloRetryRequest); all that follows is encrypted.
//! - TLS 1.2 and older: at the first ChangeCipherSpec after the ServerHello (the client's in a
//!   full handshake, so the server's Certificate and the client's are in; the server's in an
//!   abbreviated one), or at the first application-data record after it.
//! - Otherwise at close, marked incomplete.
//!
//! A ChangeCipherSpec ends the plaintext of its direction only once the negotiated version is
//! known to be TLS 1.2 or older: in TLS 1.3 it is a compatibility no-op, and a client may send
//! one before its second ClientHello.
//!
//! What it owns: roles, handshake facts, events. What it may not touch: record framing
//! ([`record`](super::record)) and message parsing ([`hello`](super::hello)).

use super::decrypt::{DecryptCtx, Decryptor, Facts, Notice, Plain};
use super::hello::{
    CertSummary, ClientHello, MAX_ALPN_BYTES, ServerHello, capped, certificate_list,
};
use super::record::{HEADER_LEN, Mode, RecordReader, Step};
use super::{TlsConfig, TlsEvent, TlsHandshake, TlsSession, TlsStats, ja4};
use crate::reassembly::{Chunk, CloseReason, Dir, FlowApp, FlowMeta};
use crate::time::Timestamp;

/// Handshake message types read.
mod msg {
    pub const CLIENT_HELLO: u8 = 1;
    pub const SERVER_HELLO: u8 = 2;
    pub const CERTIFICATE: u8 = 11;
    pub const SERVER_KEY_EXCHANGE: u8 = 12;
    pub const CERTIFICATE_REQUEST: u8 = 13;
    pub const SERVER_HELLO_DONE: u8 = 14;
    pub const CLIENT_KEY_EXCHANGE: u8 = 16;
}

/// State shared by every connection: limits, counters, memory in use, and the output queue.
pub struct TlsCtx {
    /// Limits.
    pub cfg: TlsConfig,
    /// Counters.
    pub stats: TlsStats,
    /// Events emitted and not yet taken by the caller.
    pub out: Vec<TlsEvent>,
    /// Decryption, when a key log was given.
    pub dec: Option<DecryptCtx>,
    mem: usize,
}

impl TlsCtx {
    /// A context with the given limits.
    pub fn new(cfg: TlsConfig) -> TlsCtx {
        let dec =
            (cfg.keys.clone()).map(|k| DecryptCtx::new(k, cfg.decrypt.clone(), cfg.hold_for_keys));
        TlsCtx {
            cfg,
            stats: TlsStats::default(),
            out: Vec::new(),
            dec,
            mem: 0,
        }
    }

    /// Bytes buffered by all connections (handshake messages in progress, and with a key log
    /// records being framed or held for their key).
    pub fn memory(&self) -> usize {
        self.mem + self.dec.as_ref().map_or(0, |d| d.mem)
    }

    /// Every counter, decryption's included.
    pub fn all_stats(&self) -> TlsStats {
        let mut s = self.stats;
        if let Some(d) = &self.dec {
            s.decrypt = d.stats;
        }
        s
    }

    fn room(&self) -> usize {
        self.cfg.max_memory.saturating_sub(self.mem)
    }
}

/// TLS state of one TCP connection.
pub struct TlsConn {
    readers: [RecordReader; 2],
    st: State,
    /// Decryption, when the context has a key log.
    dec: Option<Box<Decryptor>>,
}

/// Everything but the readers (so that a reader's step and the state can be used together).
struct State {
    client: Option<Dir>,
    hs: TlsHandshake,
    first_ts: Option<Timestamp>,
    client_session_id: Vec<u8>,
    /// The server sent Certificate, ServerKeyExchange, CertificateRequest or ServerHelloDone
    /// after its hello (a full handshake).
    server_flight: bool,
    /// The handshake was reported.
    reported: bool,
    /// Directions whose readers must stop reading handshake messages.
    encrypt: [bool; 2],
    /// Not TLS: nothing more is read.
    dead: bool,
    /// Heap bytes this connection has counted in the context.
    held: usize,
    /// What decryption needs from the handshake.
    facts: Facts,
    /// JA4 and the selected ALPN, kept after the handshake is reported (for decrypted
    /// transactions).
    ja4: Option<String>,
    alpn: Option<String>,
}

impl TlsConn {
    /// A connection at its start (or picked up mid-stream), reading handshake messages of at
    /// most `max_handshake_bytes`.
    pub fn new(max_handshake_bytes: usize) -> TlsConn {
        TlsConn {
            readers: [
                RecordReader::new(max_handshake_bytes),
                RecordReader::new(max_handshake_bytes),
            ],
            st: State {
                client: None,
                hs: TlsHandshake::default(),
                first_ts: None,
                client_session_id: Vec::new(),
                server_flight: false,
                reported: false,
                encrypt: [false; 2],
                dead: false,
                held: 0,
                facts: Facts::default(),
                ja4: None,
                alpn: None,
            },
            dec: None,
        }
    }

    /// Plaintext decrypted so far, in stream order (empty without a key log).
    pub fn take_plaintext(&mut self) -> Vec<Plain> {
        self.dec
            .as_mut()
            .map(|d| std::mem::take(&mut d.out))
            .unwrap_or_default()
    }

    /// The application protocol the connection speaks, when the handshake said (ALPN: the
    /// ServerHello's in TLS 1.2, the decrypted EncryptedExtensions' in TLS 1.3).
    pub fn alpn(&mut self) -> Option<&str> {
        if let Some(d) = self.dec.as_mut() {
            for n in d.notices.drain(..) {
                let Notice::Alpn(a) = n;
                let mut cut = 0;
                self.st.alpn = Some(capped(&a, MAX_ALPN_BYTES, &mut cut));
            }
        }
        self.st.alpn.as_deref()
    }

    /// Server name and JA4 of the connection (what decrypted transactions are tagged with).
    pub fn names(&self) -> (Option<&str>, Option<&str>) {
        (self.st.hs.sni.as_deref(), self.st.ja4.as_deref())
    }

    fn facts(&self) -> Facts {
        Facts {
            client: self.st.client,
            ..self.st.facts
        }
    }

    fn account(&mut self, ctx: &mut TlsCtx) {
        let now = self.readers[0].held() + self.readers[1].held();
        ctx.mem = (ctx.mem + now).saturating_sub(self.st.held);
        self.st.held = now;
    }

    fn apply(&mut self) {
        for d in [Dir::AtoB, Dir::BtoA] {
            if std::mem::take(&mut self.st.encrypt[d.index()]) {
                self.readers[d.index()].set_encrypted();
            }
        }
    }

    /// True when a valid record was framed in either direction.
    fn framed(&self) -> bool {
        self.readers.iter().any(|r| r.counts().records > 0)
    }

    fn is_tls(&self) -> bool {
        self.st.hs.client_hello || self.st.hs.server_hello || self.framed()
    }
}

impl State {
    fn on_step(
        &mut self,
        ctx: &mut TlsCtx,
        meta: &FlowMeta,
        dir: Dir,
        step: Step<'_>,
        ts: Timestamp,
    ) {
        match step {
            Step::Handshake { msg_type, body } => {
                self.on_message(ctx, meta, dir, msg_type, body, ts)
            }
            Step::ChangeCipherSpec => self.on_ccs(ctx, meta, dir),
            Step::ApplicationData => {
                // TLS 1.2 and older: application data after the ServerHello means the
                // handshake is over, even if its ChangeCipherSpec was not seen.
                if self.hs.server_hello {
                    self.report(ctx, meta, true);
                }
            }
            Step::Alert { description, .. } => {
                ctx.stats.alerts += 1;
                self.hs.alert.get_or_insert(description);
            }
            Step::TooLarge { .. } => ctx.stats.handshake_too_large += 1,
            Step::NoMemory { .. } => ctx.stats.memory_cap_drops += 1,
            Step::BadRecord => {}
            Step::Sslv2ClientHello => {
                ctx.stats.sslv2_client_hellos += 1;
                self.dead = true;
            }
        }
    }

    fn on_message(
        &mut self,
        ctx: &mut TlsCtx,
        meta: &FlowMeta,
        dir: Dir,
        msg_type: u8,
        body: &[u8],
        ts: Timestamp,
    ) {
        if self.reported {
            return;
        }
        match msg_type {
            msg::CLIENT_HELLO => self.on_client_hello(ctx, dir, body, ts),
            msg::SERVER_HELLO => self.on_server_hello(ctx, meta, dir, body, ts),
            msg::CERTIFICATE => self.on_certificate(ctx, dir, body),
            msg::SERVER_KEY_EXCHANGE | msg::SERVER_HELLO_DONE => self.server_flight = true,
            msg::CERTIFICATE_REQUEST => {
                self.server_flight = true;
                self.hs.client_certificate_requested = true;
            }
            // RSA key exchange: the key log names the pre-master secret by the first 8 bytes
            // of its encrypted form (after the 2-byte length, TLS 1.0 and later).
            msg::CLIENT_KEY_EXCHANGE
                if self.client == Some(dir)
                    && self.facts.cipher.is_some_and(super::decrypt::is_rsa_kx) =>
            {
                self.facts.rsa_prefix = body.get(2..10).and_then(|b| b.try_into().ok());
            }
            _ => {}
        }
    }

    fn on_client_hello(&mut self, ctx: &mut TlsCtx, dir: Dir, body: &[u8], ts: Timestamp) {
        ctx.stats.client_hellos += 1;
        if self.hs.client_hello || (self.hs.server_hello && self.client != Some(dir)) {
            // A second ClientHello (after a HelloRetryRequest): the first one is kept.
            return;
        }
        let mut ch = match ClientHello::parse(body) {
            Ok(ch) => ch,
            Err(_) => {
                ctx.stats.bad_client_hellos += 1;
                return;
            }
        };
        self.client = Some(dir);
        self.first_ts.get_or_insert(ts);
        self.facts.client_random = Some(ch.random);
        let hs = &mut self.hs;
        hs.client_hello = true;
        hs.sni = ch.sni.take();
        let (alpn, cut) = ch.alpn_strings();
        hs.alpn_offered = alpn;
        hs.versions_offered = ch.versions_offered();
        hs.early_data = ch.early_data;
        hs.ja4 = Some(ja4::ja4(&ch));
        ctx.stats.strings_truncated += u64::from(ch.truncated + cut);
        if ch.early_data {
            ctx.stats.early_data += 1;
        }
        self.client_session_id = std::mem::take(&mut ch.session_id);
    }

    fn on_server_hello(
        &mut self,
        ctx: &mut TlsCtx,
        meta: &FlowMeta,
        dir: Dir,
        body: &[u8],
        ts: Timestamp,
    ) {
        let sh = match ServerHello::parse(body) {
            Ok(sh) => sh,
            Err(_) => {
                ctx.stats.bad_server_hellos += 1;
                return;
            }
        };
        if self.hs.server_hello || self.client == Some(dir) {
            // Renegotiation, or a hello from the wrong side: the first one stands.
            return;
        }
        self.client = Some(dir.flip());
        self.first_ts.get_or_insert(ts);
        let version = sh.version();
        let hs = &mut self.hs;
        hs.ja4s.get_or_insert_with(|| ja4::ja4s(&sh));
        hs.version = Some(version);
        hs.cipher = Some(sh.cipher);
        if sh.retry_request {
            ctx.stats.hello_retry_requests += 1;
            hs.hello_retry = true;
            return;
        }
        ctx.stats.server_hellos += 1;
        hs.server_hello = true;
        self.facts.server_random = Some(sh.random);
        self.facts.version = Some(version);
        self.facts.cipher = Some(sh.cipher);
        self.facts.etm = sh.extensions.contains(&22);
        self.facts.ems = sh.extensions.contains(&23);
        if is_tls13(version) {
            hs.resumed = sh.pre_shared_key;
            // The rest of the handshake, ALPN and certificates included, is encrypted.
            self.report(ctx, meta, true);
            return;
        }
        let mut cut = 0;
        hs.alpn_selected = (sh.alpn.as_deref()).map(|a| capped(a, MAX_ALPN_BYTES, &mut cut));
        ctx.stats.strings_truncated += u64::from(cut);
        hs.resumed = !sh.session_id.is_empty() && sh.session_id == self.client_session_id;
    }

    fn on_certificate(&mut self, ctx: &mut TlsCtx, dir: Dir, body: &[u8]) {
        // A Certificate in the clear is TLS 1.2 or older.
        let from_client = self.client == Some(dir);
        if !from_client {
            self.server_flight = true;
            if self.hs.chain_len > 0 {
                return;
            }
        }
        let (n, leaf) = match certificate_list(body) {
            Ok(list) => list,
            Err(_) => {
                ctx.stats.bad_certificate_messages += 1;
                return;
            }
        };
        if from_client {
            if n > 0 {
                self.hs.client_certificate = true;
                ctx.stats.client_certificates += 1;
            }
            return;
        }
        self.hs.chain_len = n;
        let Some(der) = leaf else { return };
        match CertSummary::from_der(der) {
            Ok((summary, cut)) => {
                ctx.stats.certificates += 1;
                ctx.stats.strings_truncated += u64::from(cut);
                self.hs.certificate = Some(summary);
            }
            Err(_) => ctx.stats.bad_certificates += 1,
        }
    }

    fn on_ccs(&mut self, ctx: &mut TlsCtx, meta: &FlowMeta, dir: Dir) {
        if self.reported {
            return;
        }
        match self.hs.version {
            Some(v) if self.hs.server_hello && !is_tls13(v) => {
                self.encrypt[dir.index()] = true;
                if self.client != Some(dir) && !self.server_flight {
                    // ServerHello then ChangeCipherSpec: an abbreviated handshake.
                    self.hs.resumed = true;
                }
                self.report(ctx, meta, true);
            }
            // TLS 1.3 (a compatibility no-op), or no ServerHello yet (a client's early
            // ChangeCipherSpec, or a server hello lost in a gap): nothing ends here.
            _ => {}
        }
    }

    /// Reports the handshake once; both directions stop reading handshake messages.
    fn report(&mut self, ctx: &mut TlsCtx, meta: &FlowMeta, complete: bool) {
        if self.reported {
            return;
        }
        self.reported = true;
        self.encrypt = [true, true];
        let client = self.client_or_guess(meta);
        let mut hs = std::mem::take(&mut self.hs);
        hs.complete = complete;
        if complete {
            ctx.stats.handshakes += 1;
        } else {
            ctx.stats.handshakes_incomplete += 1;
        }
        if hs.resumed {
            ctx.stats.resumed += 1;
        }
        // Keep what the traffic event, close and decrypted transactions need.
        self.ja4.clone_from(&hs.ja4);
        self.alpn.clone_from(&hs.alpn_selected);
        self.hs = TlsHandshake {
            sni: hs.sni.clone(),
            client_hello: hs.client_hello,
            server_hello: hs.server_hello,
            ..TlsHandshake::default()
        };
        ctx.out.push(TlsEvent::Handshake(Box::new(TlsSession {
            flow: meta.id,
            client: meta.key.source(client),
            server: meta.key.source(client.flip()),
            ts: self.first_ts.unwrap_or(meta.first_ts),
            hello: hs,
        })));
    }

    /// The client: known from the hellos, else the opener, else the side on the higher port.
    fn client_or_guess(&self, meta: &FlowMeta) -> Dir {
        self.client.or(meta.opener).unwrap_or({
            if meta.key.a.port > meta.key.b.port {
                Dir::AtoB
            } else {
                Dir::BtoA
            }
        })
    }
}

/// TLS 1.3 or one of its drafts.
fn is_tls13(v: u16) -> bool {
    v == 0x0304 || v >> 8 == 0x7f
}

impl FlowApp for TlsConn {
    type Ctx = TlsCtx;

    fn open(ctx: &mut TlsCtx, _meta: &FlowMeta) -> TlsConn {
        let mut c = TlsConn::new(ctx.cfg.max_handshake_bytes);
        if ctx.dec.is_some() {
            c.dec = Some(Box::default());
        }
        c
    }

    fn data(&mut self, ctx: &mut TlsCtx, meta: &FlowMeta, dir: Dir, chunk: Chunk<'_>) {
        if self.st.dead {
            ctx.stats.not_tls_bytes += chunk.data.len() as u64;
            return;
        }
        let i = dir.index();
        let mut input = chunk.data;
        loop {
            let room = ctx.room();
            let Some(step) = self.readers[i].next(&mut input, room) else {
                break;
            };
            if step == Step::BadRecord {
                if self.readers[i].counts().records == 0 && !self.is_tls() {
                    // The first header of this direction is not TLS, and nothing was.
                    ctx.stats.not_tls += 1;
                    self.st.dead = true;
                } else {
                    ctx.stats.bad_records += 1;
                    continue;
                }
            } else {
                self.st.on_step(ctx, meta, dir, step, chunk.ts);
            }
            if self.st.dead {
                // Given up on at the first header of this direction (not TLS, or SSL 2.0): its
                // bytes from the start are counted as not read, however they were cut.
                ctx.stats.not_tls_bytes += (HEADER_LEN + input.len()) as u64;
                self.account(ctx);
                return;
            }
            self.apply();
            self.account(ctx);
        }
        self.apply();
        self.account(ctx);
        let facts = self.facts();
        if let (Some(d), Some(dctx)) = (self.dec.as_mut(), ctx.dec.as_mut()) {
            d.data(dctx, &facts, dir, chunk.data, chunk.ts);
        }
    }

    fn gap(
        &mut self,
        ctx: &mut TlsCtx,
        _meta: &FlowMeta,
        dir: Dir,
        _offset: u64,
        len: u64,
        _ts: Timestamp,
    ) {
        if self.st.dead {
            return;
        }
        ctx.stats.gaps += 1;
        ctx.stats.gap_bytes += len;
        self.readers[dir.index()].gap(len);
        if let (Some(d), Some(dctx)) = (self.dec.as_mut(), ctx.dec.as_mut()) {
            d.gap(dctx, dir);
        }
        self.account(ctx);
    }

    fn eof(&mut self, ctx: &mut TlsCtx, _meta: &FlowMeta, dir: Dir, _ts: Timestamp) {
        if self.readers[dir.index()].in_message() {
            ctx.stats.truncated_messages += 1;
        }
    }

    fn close(&mut self, ctx: &mut TlsCtx, meta: &FlowMeta, ts: Timestamp, _reason: CloseReason) {
        for d in [Dir::AtoB, Dir::BtoA] {
            // A reader left mid-message by a close without its eof.
            if self.readers[d.index()].in_message() {
                ctx.stats.truncated_messages += 1;
            }
            self.readers[d.index()].set_encrypted();
        }
        self.account(ctx);
        let facts = self.facts();
        if let (Some(d), Some(dctx)) = (self.dec.as_mut(), ctx.dec.as_mut()) {
            d.close(dctx, &facts);
        }
        if self.st.dead || !self.is_tls() {
            return;
        }
        let st = &mut self.st;
        if !st.reported && (st.hs.client_hello || st.hs.server_hello) {
            st.report(ctx, meta, false);
        }
        ctx.stats.connections += 1;
        let client = st.client_or_guess(meta);
        let bytes = |d: Dir| {
            let c = self.readers[d.index()].counts();
            c.app_bytes + c.unframed_bytes
        };
        for r in &self.readers {
            ctx.stats.app_bytes += r.counts().app_bytes;
            ctx.stats.unframed_bytes += r.counts().unframed_bytes;
        }
        ctx.out.push(TlsEvent::Traffic {
            flow: meta.id,
            client: meta.key.source(client),
            server: meta.key.source(client.flip()),
            // Cloned: the inner layer's last transactions (a WebSocket connection's, emitted at
            // close) are tagged with it after this.
            sni: self.st.hs.sni.clone(),
            client_bytes: bytes(client),
            server_bytes: bytes(client.flip()),
            ts,
        });
    }

    fn wants_data(&self) -> bool {
        !self.st.dead && !self.readers.iter().all(|r| r.mode() == Mode::Lost)
    }

    fn ignored(&mut self, ctx: &mut TlsCtx, dir: Dir, len: u64) {
        if self.st.dead {
            ctx.stats.not_tls_bytes += len;
        } else {
            // Both directions lost their framing: the bytes are counted as unframed.
            self.readers[dir.index()].gap(len);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reassembly::{Endpoint, FlowId, FlowKey};
    use crate::tls::names::{Weakness, weaknesses};
    use proptest::prelude::*;

    /// A connection's segments: (sent by the client, bytes), in capture order.
    type Segments = Vec<(bool, Vec<u8>)>;

    /// The segments of a fixture of `testdata/` ('c'/'s' and hex per line, '#' comments).
    fn fixture(name: &str) -> Segments {
        let text = match name {
            "curl_tls12_sni" => include_str!("testdata/curl_tls12_sni.txt"),
            "curl_tls13_ip" => include_str!("testdata/curl_tls13_ip.txt"),
            "python_tls13_alpn" => include_str!("testdata/python_tls13_alpn.txt"),
            "sclient_tls12_chain" => include_str!("testdata/sclient_tls12_chain.txt"),
            "sclient_tls12_resumed" => include_str!("testdata/sclient_tls12_resumed.txt"),
            "sclient_tls13_ticket" => include_str!("testdata/sclient_tls13_ticket.txt"),
            "sclient_tls13_psk_early" => include_str!("testdata/sclient_tls13_psk_early.txt"),
            "sclient_tls13_hrr" => include_str!("testdata/sclient_tls13_hrr.txt"),
            "sclient_tls12_client_cert" => include_str!("testdata/sclient_tls12_client_cert.txt"),
            "sclient_tls12_ed25519" => include_str!("testdata/sclient_tls12_ed25519.txt"),
            "sclient_tls10_aes128sha" => include_str!("testdata/sclient_tls10_aes128sha.txt"),
            "chromium_tls13_grease" => include_str!("testdata/chromium_tls13_grease.txt"),
            _ => panic!("no fixture {name}"),
        };
        text.lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(|l| {
                let (side, hex) = l.split_at(2);
                let bytes = (0..hex.len() / 2)
                    .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
                    .collect();
                (side == "c ", bytes)
            })
            .collect()
    }

    const FIXTURES: [&str; 12] = [
        "curl_tls12_sni",
        "curl_tls13_ip",
        "python_tls13_alpn",
        "sclient_tls12_chain",
        "sclient_tls12_resumed",
        "sclient_tls13_ticket",
        "sclient_tls13_psk_early",
        "sclient_tls13_hrr",
        "sclient_tls12_client_cert",
        "sclient_tls12_ed25519",
        "sclient_tls10_aes128sha",
        "chromium_tls13_grease",
    ];

    fn client_ep() -> Endpoint {
        Endpoint {
            ip: "10.0.0.1".parse().unwrap(),
            port: 50000,
        }
    }

    fn server_ep() -> Endpoint {
        Endpoint {
            ip: "10.0.0.2".parse().unwrap(),
            port: 443,
        }
    }

    /// The client is `a`; `opener` as the reassembler would say.
    fn meta(opener: Option<Dir>) -> FlowMeta {
        FlowMeta {
            id: FlowId(7),
            key: FlowKey {
                a: client_ep(),
                b: server_ep(),
            },
            first_ts: Timestamp(1),
            opener,
            midstream: opener.is_none(),
        }
    }

    /// Feeds `segs` to a new connection, each cut into pieces of at most `piece` bytes, then
    /// ends both directions and closes; returns the events and counters.
    fn run_with(
        segs: &Segments,
        piece: usize,
        opener: Option<Dir>,
        cfg: TlsConfig,
    ) -> (Vec<TlsEvent>, TlsStats) {
        let mut ctx = TlsCtx::new(cfg);
        let m = meta(opener);
        let mut conn = TlsConn::open(&mut ctx, &m);
        for (i, (from_client, bytes)) in segs.iter().enumerate() {
            let dir = if *from_client { Dir::AtoB } else { Dir::BtoA };
            for p in bytes.chunks(piece.max(1)) {
                let chunk = Chunk {
                    offset: 0,
                    data: p,
                    ts: Timestamp(100 + i as i64),
                    peer_ack: None,
                };
                conn.data(&mut ctx, &m, dir, chunk);
                assert!(ctx.memory() <= ctx.cfg.max_handshake_bytes * 2);
            }
        }
        conn.eof(&mut ctx, &m, Dir::AtoB, Timestamp(1000));
        conn.eof(&mut ctx, &m, Dir::BtoA, Timestamp(1000));
        conn.close(&mut ctx, &m, Timestamp(1001), CloseReason::Fin);
        assert_eq!(ctx.memory(), 0, "everything freed at close");
        (ctx.out, ctx.stats)
    }

    fn run(segs: &Segments) -> (Vec<TlsEvent>, TlsStats) {
        run_with(segs, usize::MAX, Some(Dir::AtoB), TlsConfig::default())
    }

    /// The handshake of a connection's events (exactly one, first).
    fn handshake(events: &[TlsEvent]) -> &TlsSession {
        let hs: Vec<&TlsSession> = (events.iter())
            .filter_map(|e| match e {
                TlsEvent::Handshake(s) => Some(&**s),
                _ => None,
            })
            .collect();
        assert_eq!(hs.len(), 1, "{events:?}");
        hs[0]
    }

    /// JA4 and JA4S of every fixture, as the reference implementations compute them on the
    /// capture the fixtures were cut from (`/tmp/tlscap/cap.pcap`, 2026-12-06):
    /// `ja4plus analyze --types ja4,ja4s --format csv cap.pcap` (ja4plus 1.4.0, pip), and
    /// FoxIO's `python/ja4.py -J cap.pcap` (github.com/FoxIO-LLC/ja4 at 0e54bc8, tshark 4.0.17),
    /// which agree on every JA4, and on every JA4S FoxIO's script prints (it prints none for
    /// the connections whose ServerHello shares a segment with the Certificate: curl_tls12_sni,
    /// sclient_tls12_chain, sclient_tls12_client_cert, sclient_tls10_aes128sha; those come from
    /// ja4plus alone).
    const REFERENCE: [(&str, &str, &str); 12] = [
        (
            "curl_tls12_sni",
            "t13d3112h1_e8f1e7e78f70_b26ce05bbdd6",
            "t1204h1_c030_f8a64b40b891",
        ),
        (
            "curl_tls13_ip",
            "t13i3111h1_e8f1e7e78f70_b26ce05bbdd6",
            "t130200_1302_a56c5b993250",
        ),
        (
            "python_tls13_alpn",
            "t13d1812h2_85036bcba153_d41ae481755e",
            "t130200_1302_a56c5b993250",
        ),
        (
            "sclient_tls12_chain",
            "t12d280700_d943125447b4_e7e480e5a997",
            "t120400_c02c_12a20535f9be",
        ),
        (
            "sclient_tls12_resumed",
            "t12d280700_d943125447b4_e7e480e5a997",
            "t120200_c02c_ec53b3cc8a64",
        ),
        (
            "sclient_tls13_ticket",
            "t13d041000_16476d049b0b_78f1d400d464",
            "t130200_1302_a56c5b993250",
        ),
        (
            "sclient_tls13_psk_early",
            "t13d041200_16476d049b0b_2226a1d1dedf",
            "t130300_1302_0ee26285a86f",
        ),
        (
            "sclient_tls13_hrr",
            "t13d311000_e8f1e7e78f70_1f22a2ca17c4",
            "t130200_1302_a56c5b993250",
        ),
        (
            "sclient_tls12_client_cert",
            "t12d280700_d943125447b4_e7e480e5a997",
            "t120400_c02c_12a20535f9be",
        ),
        (
            "sclient_tls12_ed25519",
            "t12d280700_d943125447b4_e7e480e5a997",
            "t120400_c02c_12a20535f9be",
        ),
        (
            "sclient_tls10_aes128sha",
            "t10d020400_a5878986a7c9_23f7d3b00788",
            "t100400_002f_44d9b4fea138",
        ),
        (
            "chromium_tls13_grease",
            "t13d1517h2_8daaf6152771_cb7bf5808d99",
            "t130200_1301_a56c5b993250",
        ),
    ];

    #[test]
    fn ja4_and_ja4s_match_the_reference_implementations() {
        for (name, ja4, ja4s) in REFERENCE {
            let (events, stats) = run(&fixture(name));
            let s = handshake(&events);
            assert_eq!(s.hello.ja4.as_deref(), Some(ja4), "{name}");
            assert_eq!(s.hello.ja4s.as_deref(), Some(ja4s), "{name}");
            assert!(s.hello.complete, "{name}");
            assert_eq!(s.client, client_ep());
            assert_eq!(s.server, server_ep());
            assert_eq!(stats.handshakes, 1, "{name}");
            assert_eq!(
                stats.bad_records + stats.bad_client_hellos + stats.bad_server_hellos,
                0
            );
        }
    }

    #[test]
    fn ja4_r_of_curl_matches_ja4plus() {
        // ja4plus 1.4.0, `raw` column, curl_tls12_sni.
        let segs = fixture("curl_tls12_sni");
        let mut reader = RecordReader::new(1 << 16);
        let mut input = &segs[0].1[..];
        let Some(Step::Handshake { msg_type: 1, body }) = reader.next(&mut input, usize::MAX)
        else {
            panic!("no ClientHello");
        };
        let ch = ClientHello::parse(body).unwrap();
        assert_eq!(
            ja4::ja4_r(&ch),
            "t13d3112h1_002f,0033,0035,0039,003c,003d,0067,006b,009c,009d,009e,009f,00ff,1301,\
             1302,1303,c009,c00a,c013,c014,c023,c024,c027,c028,c02b,c02c,c02f,c030,cca8,cca9,\
             ccaa_000a,000b,000d,0015,0016,0017,002b,002d,0031,0033_0403,0503,0603,0807,0808,\
             0809,080a,080b,0804,0805,0806,0401,0501,0601,0303,0301,0302,0402,0502,0602"
        );
    }

    #[test]
    fn every_fixture_gives_the_same_events_in_one_byte_pieces_and_midstream() {
        for name in FIXTURES {
            let segs = fixture(name);
            let (whole, stats) = run(&segs);
            let (bytes, stats1) = run_with(&segs, 1, Some(Dir::AtoB), TlsConfig::default());
            assert_eq!(whole, bytes, "{name}");
            assert_eq!(stats, stats1, "{name}");
            // Without the TCP handshake the hellos still say who the client is.
            let (mid, _) = run_with(&segs, 7, None, TlsConfig::default());
            assert_eq!(whole, mid, "{name}");
            assert_eq!(whole.len(), 2, "{name}: a handshake and a traffic event");
        }
    }

    #[test]
    fn tls12_full_handshake_with_a_self_signed_expired_certificate() {
        let (events, stats) = run(&fixture("curl_tls12_sni"));
        let h = &handshake(&events).hello;
        assert!(h.client_hello && h.server_hello && h.complete);
        assert_eq!(h.sni.as_deref(), Some("expired.test"));
        assert_eq!(h.alpn_offered, ["http/1.1"]);
        assert_eq!(h.alpn_selected.as_deref(), Some("http/1.1"));
        assert_eq!(h.versions_offered, [0x0304, 0x0303, 0x0302, 0x0301]);
        assert_eq!(h.version, Some(0x0303));
        assert_eq!(h.cipher, Some(0xc030));
        assert!(!h.resumed && !h.early_data && !h.hello_retry && !h.client_certificate);
        assert_eq!(h.chain_len, 1);
        // openssl x509 -noout -subject -issuer -serial -fingerprint -sha256 -dates -ext
        // subjectAltName -text on the certificate the server was given.
        let c = h.certificate.as_ref().unwrap();
        assert_eq!(c.subject, "CN=expired.test,O=shadowtap test");
        assert_eq!(c.issuer, c.subject);
        assert_eq!(c.sans, ["expired.test", "127.0.0.1"]);
        assert_eq!(c.not_before, 1_577_836_800); // 2020-01-01T00:00:00Z
        assert_eq!(c.not_after, 1_609_459_200); // 2021-01-01T00:00:00Z
        assert_eq!((c.key_type.as_str(), c.key_bits), ("rsa", 2048));
        assert!(c.self_signed);
        assert_eq!(c.serial_hex, "1234abcd");
        assert_eq!(
            c.sha256_hex,
            "c55778cc638bd54dfda6a08dd07c528f3c7894ef8f41da0f9bc2152d2a4a1bb0"
        );
        assert_eq!(c.signature_algorithm, "sha256WithRSAEncryption");
        assert_eq!(stats.certificates, 1);
        assert!(weaknesses(h.version, h.cipher).is_empty());
    }

    #[test]
    fn tls12_chain_of_two_ec_leaf() {
        let (events, _) = run(&fixture("sclient_tls12_chain"));
        let h = &handshake(&events).hello;
        assert_eq!(h.chain_len, 2);
        assert_eq!(h.alpn_offered, Vec::<String>::new());
        let c = h.certificate.as_ref().unwrap();
        assert_eq!(c.subject, "CN=api.shadowtap.test,O=shadowtap test");
        assert_eq!(c.issuer, "CN=shadowtap test CA,O=shadowtap test");
        assert_eq!(c.sans, ["api.shadowtap.test", "*.shadowtap.test"]);
        assert_eq!((c.key_type.as_str(), c.key_bits), ("ec", 256));
        assert!(!c.self_signed);
        assert_eq!(c.serial_hex, "0badc0ffee");
        assert_eq!(
            c.sha256_hex,
            "4acf1878adcaf873b08d7a5f363055c5d78fc09a90c2e9e4acd042e5b1c77542"
        );
        assert_eq!(c.signature_algorithm, "ecdsa-with-SHA384");
    }

    #[test]
    fn tls12_resumption_and_client_certificates() {
        let (events, stats) = run(&fixture("sclient_tls12_resumed"));
        let h = &handshake(&events).hello;
        assert!(h.resumed && h.complete);
        assert_eq!((h.certificate.as_ref(), h.chain_len), (None, 0));
        assert_eq!(stats.resumed, 1);

        let (events, stats) = run(&fixture("sclient_tls12_client_cert"));
        let h = &handshake(&events).hello;
        assert!(h.client_certificate_requested && h.client_certificate && !h.resumed);
        assert_eq!(stats.client_certificates, 1);
        assert_eq!(h.chain_len, 2);

        let (events, _) = run(&fixture("sclient_tls12_ed25519"));
        let c = handshake(&events).hello.certificate.clone().unwrap();
        assert_eq!(
            (c.key_type.as_str(), c.key_bits, c.self_signed),
            ("ed25519", 256, true)
        );
        assert_eq!(c.signature_algorithm, "ed25519");
    }

    #[test]
    fn tls13_facts() {
        let (events, _) = run(&fixture("python_tls13_alpn"));
        let h = &handshake(&events).hello;
        assert_eq!(h.sni.as_deref(), Some("api.shadowtap.test"));
        assert_eq!(h.alpn_offered, ["h2", "http/1.1"]);
        assert_eq!(h.alpn_selected, None, "encrypted in TLS 1.3");
        assert_eq!((h.version, h.cipher), (Some(0x0304), Some(0x1302)));
        assert_eq!((h.certificate.as_ref(), h.chain_len), (None, 0));

        let (events, _) = run(&fixture("curl_tls13_ip"));
        assert_eq!(handshake(&events).hello.sni, None);

        let (events, stats) = run(&fixture("sclient_tls13_psk_early"));
        let h = &handshake(&events).hello;
        assert!(h.resumed && h.early_data);
        assert_eq!((stats.resumed, stats.early_data), (1, 1));
        let (events, _) = run(&fixture("sclient_tls13_ticket"));
        assert!(!handshake(&events).hello.resumed);

        let (events, stats) = run(&fixture("sclient_tls13_hrr"));
        let h = &handshake(&events).hello;
        assert!(h.hello_retry && h.server_hello);
        assert_eq!(
            (
                stats.client_hellos,
                stats.hello_retry_requests,
                stats.server_hellos
            ),
            (2, 1, 1)
        );

        let (events, _) = run(&fixture("chromium_tls13_grease"));
        let h = &handshake(&events).hello;
        assert_eq!(h.versions_offered, [0x0304, 0x0303], "GREASE left out");
        assert_eq!(h.alpn_offered, ["h2", "http/1.1"]);
    }

    #[test]
    fn tls10_is_weak() {
        let (events, _) = run(&fixture("sclient_tls10_aes128sha"));
        let h = &handshake(&events).hello;
        assert_eq!((h.version, h.cipher), (Some(0x0301), Some(0x002f)));
        assert_eq!(
            weaknesses(h.version, h.cipher),
            [Weakness::Tls10, Weakness::CbcSha1]
        );
    }

    /// Application-data payload bytes per direction, counted by a second framing of the
    /// fixture written here (records of type 23, a cut last record counted as far as it goes).
    fn app_bytes_by_hand(segs: &Segments, client: bool) -> u64 {
        let stream: Vec<u8> = (segs.iter())
            .filter(|(c, _)| *c == client)
            .flat_map(|(_, b)| b.iter().copied())
            .collect();
        let (mut at, mut n) = (0, 0u64);
        while at + 5 <= stream.len() {
            let len = usize::from(u16::from_be_bytes([stream[at + 3], stream[at + 4]]));
            let end = (at + 5 + len).min(stream.len());
            if stream[at] == 23 {
                n += (end - at - 5) as u64;
            }
            at = end;
        }
        n
    }

    #[test]
    fn traffic_counts_application_data_per_side() {
        for name in FIXTURES {
            let segs = fixture(name);
            let (events, stats) = run(&segs);
            let Some(TlsEvent::Traffic {
                client,
                server,
                sni,
                client_bytes,
                server_bytes,
                ts,
                ..
            }) = events.last()
            else {
                panic!("{name}: no traffic event last");
            };
            assert_eq!((*client, *server), (client_ep(), server_ep()));
            assert_eq!(*sni, handshake(&events).hello.sni);
            assert_eq!(*client_bytes, app_bytes_by_hand(&segs, true), "{name}");
            assert_eq!(*server_bytes, app_bytes_by_hand(&segs, false), "{name}");
            assert!(*server_bytes > 0, "{name}");
            assert_eq!(stats.app_bytes, client_bytes + server_bytes);
            assert_eq!(*ts, Timestamp(1001));
            assert_eq!(stats.connections, 1);
        }
    }

    /// A handshake message of type `t`.
    fn message(t: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![t];
        v.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        v.extend_from_slice(body);
        v
    }

    /// `payload` in records of type `t` of at most 16384 bytes.
    fn records(t: u8, payload: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        for part in payload.chunks(16384) {
            v.extend_from_slice(&[t, 3, 1]);
            v.extend_from_slice(&(part.len() as u16).to_be_bytes());
            v.extend_from_slice(part);
        }
        v
    }

    /// A TLS 1.2 ClientHello body with these cipher suites and extensions (type, content).
    fn client_hello(ciphers: &[u16], exts: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut b = vec![3, 3];
        b.extend_from_slice(&[0x42; 32]);
        b.push(0);
        b.extend_from_slice(&((ciphers.len() * 2) as u16).to_be_bytes());
        for c in ciphers {
            b.extend_from_slice(&c.to_be_bytes());
        }
        b.extend_from_slice(&[1, 0]);
        let mut e = Vec::new();
        for (t, data) in exts {
            e.extend_from_slice(&t.to_be_bytes());
            e.extend_from_slice(&(data.len() as u16).to_be_bytes());
            e.extend_from_slice(data);
        }
        b.extend_from_slice(&(e.len() as u16).to_be_bytes());
        b.extend_from_slice(&e);
        b
    }

    fn sni_ext(name: &[u8]) -> (u16, Vec<u8>) {
        let mut v = ((name.len() + 3) as u16).to_be_bytes().to_vec();
        v.push(0);
        v.extend_from_slice(&(name.len() as u16).to_be_bytes());
        v.extend_from_slice(name);
        (0, v)
    }

    #[test]
    fn ten_thousand_cipher_suites_in_two_records() {
        let ciphers: Vec<u16> = (0..10_000u32)
            .map(|i| ((i * 7919 + 13) % 65536) as u16)
            .collect();
        let exts = [
            sni_ext(b"big.test"),
            (13, vec![0, 4, 4, 3, 8, 4]),
            (16, vec![0, 3, 2, b'h', b'2']),
        ];
        let hello = records(22, &message(1, &client_hello(&ciphers, &exts)));
        assert!(hello.len() > 20_000);
        let segs: Segments = vec![(true, hello)];
        let (whole, stats) = run(&segs);
        // ja4plus 1.4.0, `generate_ja4` on the same lists (version 0x0303, extensions
        // 0000,000d,0010, signature algorithms 0403,0804, ALPN h2).
        let h = &handshake(&whole).hello;
        assert_eq!(
            h.ja4.as_deref(),
            Some("t12d9903h2_19f02d88c4f3_ef95ca21a004")
        );
        assert!(!h.complete && !h.server_hello);
        assert_eq!(stats.handshakes_incomplete, 1);
        let (split, _) = run_with(&segs, 1, Some(Dir::AtoB), TlsConfig::default());
        assert_eq!(whole, split);
    }

    #[test]
    fn handshake_message_over_the_cap() {
        // A ClientHello that declares 100 000 bytes: refused at its header, nothing buffered.
        let mut body = client_hello(&[0x1301], &[]);
        body.resize(100_000, 0);
        let segs: Segments = vec![(true, records(22, &message(1, &body)))];
        for piece in [1, 1000, usize::MAX] {
            let (events, stats) = run_with(&segs, piece, Some(Dir::AtoB), TlsConfig::default());
            assert_eq!(stats.handshake_too_large, 1);
            assert_eq!(stats.client_hellos, 0);
            assert!(matches!(
                events[..],
                [TlsEvent::Traffic {
                    client_bytes: 0,
                    ..
                }]
            ));
        }
        // A server Certificate over a 512-byte cap: no certificate, the rest of the handshake
        // is still read and reported when the client's ChangeCipherSpec comes.
        let cfg = TlsConfig {
            max_handshake_bytes: 512,
            ..TlsConfig::default()
        };
        let (events, stats) = run_with(&fixture("sclient_tls12_chain"), 3, Some(Dir::AtoB), cfg);
        let h = &handshake(&events).hello;
        assert!(h.complete && h.server_hello);
        assert_eq!((h.certificate.as_ref(), h.chain_len), (None, 0));
        assert_eq!(stats.handshake_too_large, 1);
        assert_eq!(h.ja4s.as_deref(), Some("t120400_c02c_12a20535f9be"));
    }

    #[test]
    fn memory_cap_across_connections() {
        let cfg = TlsConfig {
            max_memory: 100,
            ..TlsConfig::default()
        };
        // The ClientHello comes in 10-byte pieces, so it has to be buffered: refused.
        // So does the server's: no hello is read, only the traffic is reported.
        let (events, stats) = run_with(&fixture("curl_tls12_sni"), 10, Some(Dir::AtoB), cfg);
        assert_eq!(stats.memory_cap_drops, 2);
        assert_eq!(stats.client_hellos + stats.server_hellos, 0);
        assert!(matches!(events[..], [TlsEvent::Traffic { .. }]));
    }

    #[test]
    fn garbage_after_the_hello_loses_only_that_direction() {
        let mut segs = fixture("curl_tls12_sni");
        segs[0]
            .1
            .extend_from_slice(b"\x00\x01garbage that is not a record header");
        let (events, stats) = run(&segs);
        assert_eq!(stats.bad_records, 1);
        let h = &handshake(&events).hello;
        // The ClientHello was read; the client's ChangeCipherSpec was not (lost framing), so
        // the server's reports the handshake.
        assert_eq!(h.ja4.as_deref(), Some(REFERENCE[0].1));
        assert!(h.complete && !h.resumed && h.certificate.is_some());
        let Some(TlsEvent::Traffic { client_bytes, .. }) = events.last() else {
            panic!()
        };
        assert!(*client_bytes > 36, "the client's bytes counted unframed");
    }

    /// Fuzz finding (tls_handshake, finding-11): application data after the ServerHello ended
    /// the handshake at the end of the chunk it came in, so a handshake record after it in the
    /// same chunk was read whole and not in pieces.
    #[test]
    fn application_data_ends_the_handshake_where_it_starts() {
        let segs = fixture("curl_tls12_sni");
        let (ch, server) = (&segs[0].1, &segs[1].1);
        // The ServerHello record, then application data and a handshake record whose message
        // declares 6 MB.
        let hello_len = usize::from(u16::from_be_bytes([server[3], server[4]]));
        let mut flight = server[..5 + hello_len].to_vec();
        assert_eq!(flight[5], 2, "a ServerHello");
        flight.extend_from_slice(&[23, 3, 3, 0, 3, 1, 2, 3]);
        flight.extend_from_slice(&[22, 3, 3, 0, 4, 0x0e, 0x65, 0x64, 0x2e]);
        let segs: Segments = vec![(true, ch.clone()), (false, flight)];
        let (whole, stats) = run(&segs);
        assert_eq!(
            stats.handshake_too_large, 0,
            "not read: the handshake was over"
        );
        assert!(handshake(&whole).hello.complete);
        for piece in [1, 2, 5, 9] {
            let split = run_with(&segs, piece, Some(Dir::AtoB), TlsConfig::default());
            assert_eq!((whole.clone(), stats), split, "{piece}-byte pieces");
        }
    }

    #[test]
    fn gap_in_the_server_stream() {
        let segs = fixture("sclient_tls12_chain");
        let mut ctx = TlsCtx::new(TlsConfig::default());
        let m = meta(Some(Dir::AtoB));
        let mut conn = TlsConn::open(&mut ctx, &m);
        let chunk = |data| Chunk {
            offset: 0,
            data,
            ts: Timestamp(5),
            peer_ack: None,
        };
        conn.data(&mut ctx, &m, Dir::AtoB, chunk(&segs[0].1));
        conn.gap(&mut ctx, &m, Dir::BtoA, 0, 1200, Timestamp(6));
        for (c, b) in &segs[2..] {
            let dir = if *c { Dir::AtoB } else { Dir::BtoA };
            conn.data(&mut ctx, &m, dir, chunk(b));
        }
        conn.close(&mut ctx, &m, Timestamp(9), CloseReason::Rst);
        assert_eq!((ctx.stats.gaps, ctx.stats.gap_bytes), (1, 1200));
        let h = &handshake(&ctx.out).hello;
        assert!(h.client_hello && !h.server_hello && !h.complete);
        assert_eq!(h.ja4.as_deref(), Some(REFERENCE[3].1));
    }

    #[test]
    fn not_tls_is_given_up() {
        let segs: Segments = vec![
            (true, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()),
            (false, b"HTTP/1.1 200 OK\r\n\r\n".to_vec()),
        ];
        let mut ctx = TlsCtx::new(TlsConfig::default());
        let m = meta(Some(Dir::AtoB));
        let mut conn = TlsConn::open(&mut ctx, &m);
        for (c, b) in &segs {
            let dir = if *c { Dir::AtoB } else { Dir::BtoA };
            let chunk = Chunk {
                offset: 0,
                data: b,
                ts: Timestamp(5),
                peer_ack: None,
            };
            conn.data(&mut ctx, &m, dir, chunk);
        }
        assert!(!conn.wants_data());
        conn.ignored(&mut ctx, Dir::AtoB, 10);
        conn.close(&mut ctx, &m, Timestamp(9), CloseReason::Fin);
        assert!(ctx.out.is_empty());
        assert_eq!(ctx.stats.not_tls, 1);
        assert_eq!(ctx.stats.connections, 0);
        assert_eq!(ctx.stats.not_tls_bytes, 27 + 19 + 10);
    }

    #[test]
    fn sslv2_client_hello_is_counted_and_ignored() {
        let v2 = vec![0x80, 0x2e, 1, 3, 1, 0, 0x15, 0, 0, 0, 0x10];
        let segs: Segments = vec![(true, v2), (false, vec![0x16; 20]), (true, vec![1; 30])];
        let (events, stats) = run(&segs);
        assert!(events.is_empty());
        assert_eq!(stats.sslv2_client_hellos, 1);
        assert_eq!(stats.not_tls_bytes, 11 + 20 + 30);
        // Fuzz finding (tls_handshake, finding-9): the bytes after the SSL 2.0 header were
        // counted as not read only when they came in later pieces.
        for piece in 1..12 {
            let (_, split) = run_with(&segs, piece, Some(Dir::AtoB), TlsConfig::default());
            assert_eq!(split, stats, "{piece}-byte pieces");
        }
    }

    #[test]
    fn every_truncation_of_the_captures() {
        for (name, step) in [
            ("curl_tls12_sni", 1),
            ("sclient_tls13_hrr", 5),
            ("chromium_tls13_grease", 11),
        ] {
            let segs = fixture(name);
            let total: usize = segs.iter().map(|(_, b)| b.len()).sum();
            for cut in (0..total).step_by(step) {
                let mut left = cut;
                let mut part = Segments::new();
                for (c, b) in &segs {
                    let n = b.len().min(left);
                    part.push((*c, b[..n].to_vec()));
                    left -= n;
                }
                let (events, _) = run(&part);
                let handshakes = events
                    .iter()
                    .filter(|e| matches!(e, TlsEvent::Handshake(_)))
                    .count();
                assert!(handshakes <= 1 && events.len() <= 2, "{name} cut at {cut}");
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Random segments, alone or after a real ClientHello: no panic, one event of each kind
        /// at most, memory within the caps and all freed at close.
        #[test]
        fn random_bytes_are_harmless(
            prefix in any::<bool>(),
            segs in proptest::collection::vec(
                (any::<bool>(), proptest::collection::vec(any::<u8>(), 0..300)), 0..12),
            piece in 1usize..64,
        ) {
            let mut all = if prefix { fixture("python_tls13_alpn")[..1].to_vec() } else { Segments::new() };
            all.extend(segs);
            let cfg = TlsConfig { max_handshake_bytes: 256, ..TlsConfig::default() };
            let (events, _) = run_with(&all, piece, Some(Dir::AtoB), cfg);
            prop_assert!(events.len() <= 2);
        }

        /// Record-shaped random input (valid headers, random handshake payloads).
        #[test]
        fn random_records_are_harmless(
            recs in proptest::collection::vec(
                (any::<bool>(), 20u8..25, proptest::collection::vec(any::<u8>(), 0..200)), 0..16),
            piece in 1usize..32,
        ) {
            let segs: Segments = recs.iter().map(|(c, t, p)| (*c, records(*t, p))).collect();
            let cfg = TlsConfig { max_handshake_bytes: 128, ..TlsConfig::default() };
            let (events, _) = run_with(&segs, piece, Some(Dir::AtoB), cfg);
            prop_assert!(events.len() <= 2);
        }
    }
}
