//! Hand-built packets for end-to-end tests: a TCP conversation builder, link-layer wrappers, a
//! pcap writer, and a runner that feeds frames through the engine.
#![allow(dead_code)]

pub mod dashboard;

use etherparse::PacketBuilder;
use shadowtap::capture::{LinkType, RawPacket};
use shadowtap::engine::{Engine, EngineConfig, EngineStats};
use shadowtap::http::HttpTransaction;
use shadowtap::time::Timestamp;
use std::net::{IpAddr, SocketAddr};

/// One IP packet and its capture time.
#[derive(Clone, Debug)]
pub struct Frame {
    pub ts: Timestamp,
    pub ip: Vec<u8>,
}

pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;

/// A TCP conversation: keeps both sides' sequence numbers and a clock.
pub struct Conv {
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub cseq: u32,
    pub sseq: u32,
    pub clock: i64,
    pub frames: Vec<Frame>,
}

impl Conv {
    pub fn new(client: &str, server: &str) -> Conv {
        Conv::with_isn(client, server, 1000, 5000)
    }

    pub fn with_isn(client: &str, server: &str, cisn: u32, sisn: u32) -> Conv {
        Conv {
            client: client.parse().unwrap(),
            server: server.parse().unwrap(),
            cseq: cisn,
            sseq: sisn,
            clock: 1_700_000_000_000_000_000,
            frames: Vec::new(),
        }
    }

    /// Advances the clock by `us` microseconds.
    pub fn wait_us(&mut self, us: i64) {
        self.clock += us * 1000;
    }

    /// A raw segment (not recorded).
    pub fn segment(
        &self,
        from_client: bool,
        seq: u32,
        ack: u32,
        flags: u8,
        payload: &[u8],
    ) -> Vec<u8> {
        let (src, dst) = if from_client {
            (self.client, self.server)
        } else {
            (self.server, self.client)
        };
        build_tcp(src, dst, seq, ack, flags, payload)
    }

    /// Records a frame at the current time and advances the clock by 10 µs.
    pub fn push(&mut self, ip: Vec<u8>) {
        self.frames.push(Frame {
            ts: Timestamp(self.clock),
            ip,
        });
        self.clock += 10_000;
    }

    pub fn handshake(&mut self) {
        let syn = self.segment(true, self.cseq, 0, SYN, b"");
        self.push(syn);
        let synack = self.segment(false, self.sseq, self.cseq.wrapping_add(1), SYN | ACK, b"");
        self.push(synack);
        self.cseq = self.cseq.wrapping_add(1);
        self.sseq = self.sseq.wrapping_add(1);
        let ack = self.segment(true, self.cseq, self.sseq, ACK, b"");
        self.push(ack);
    }

    /// The client sends `data` in segments of at most `mss` bytes.
    pub fn client_send(&mut self, data: &[u8], mss: usize) {
        for piece in data.chunks(mss.max(1)) {
            let f = self.segment(true, self.cseq, self.sseq, ACK | PSH, piece);
            self.push(f);
            self.cseq = self.cseq.wrapping_add(piece.len() as u32);
        }
    }

    /// The server sends `data` in segments of at most `mss` bytes.
    pub fn server_send(&mut self, data: &[u8], mss: usize) {
        for piece in data.chunks(mss.max(1)) {
            let f = self.segment(false, self.sseq, self.cseq, ACK | PSH, piece);
            self.push(f);
            self.sseq = self.sseq.wrapping_add(piece.len() as u32);
        }
    }

    /// Segments for `data` from one side without recording them (for reordering by hand).
    pub fn pieces(&mut self, from_client: bool, data: &[u8], mss: usize) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for piece in data.chunks(mss.max(1)) {
            if from_client {
                out.push(self.segment(true, self.cseq, self.sseq, ACK | PSH, piece));
                self.cseq = self.cseq.wrapping_add(piece.len() as u32);
            } else {
                out.push(self.segment(false, self.sseq, self.cseq, ACK | PSH, piece));
                self.sseq = self.sseq.wrapping_add(piece.len() as u32);
            }
        }
        out
    }

    /// Pure ACKs from both sides for everything sent so far.
    pub fn acks(&mut self) {
        let a = self.segment(true, self.cseq, self.sseq, ACK, b"");
        self.push(a);
        let b = self.segment(false, self.sseq, self.cseq, ACK, b"");
        self.push(b);
    }

    /// FIN from the client, FIN from the server, final ACK.
    pub fn close(&mut self) {
        let f = self.segment(true, self.cseq, self.sseq, FIN | ACK, b"");
        self.push(f);
        self.cseq = self.cseq.wrapping_add(1);
        let f = self.segment(false, self.sseq, self.cseq, FIN | ACK, b"");
        self.push(f);
        self.sseq = self.sseq.wrapping_add(1);
        let f = self.segment(true, self.cseq, self.sseq, ACK, b"");
        self.push(f);
    }

    /// An HTTP exchange on its own: request, then response.
    pub fn exchange(&mut self, request: &[u8], response: &[u8], mss: usize) {
        self.client_send(request, mss);
        self.wait_us(500);
        self.server_send(response, mss);
        self.wait_us(100);
    }
}

pub fn build_tcp(
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let base = match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => PacketBuilder::ipv4(s.octets(), d.octets(), 64),
        (IpAddr::V6(s), IpAddr::V6(d)) => PacketBuilder::ipv6(s.octets(), d.octets(), 64),
        _ => panic!("mixed address families"),
    };
    let mut b = base.tcp(src.port(), dst.port(), seq, 65535);
    if flags & ACK != 0 {
        b = b.ack(ack);
    }
    if flags & SYN != 0 {
        b = b.syn();
    }
    if flags & FIN != 0 {
        b = b.fin();
    }
    if flags & RST != 0 {
        b = b.rst();
    }
    if flags & PSH != 0 {
        b = b.psh();
    }
    let mut out = Vec::with_capacity(b.size(payload.len()));
    b.write(&mut out, payload).unwrap();
    out
}

/// Wraps an IP packet in a link-layer header.
pub fn wrap(link: LinkType, ip: &[u8]) -> Vec<u8> {
    let v6 = ip.first().map(|b| b >> 4) == Some(6);
    let ethertype: u16 = if v6 { 0x86dd } else { 0x0800 };
    let mut f = Vec::new();
    match link {
        LinkType::ETHERNET => {
            f.extend_from_slice(&[2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2]);
            f.extend_from_slice(&ethertype.to_be_bytes());
        }
        LinkType::LINUX_SLL => {
            f.extend_from_slice(&[0, 0, 0x03, 0x04, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0]);
            f.extend_from_slice(&ethertype.to_be_bytes());
        }
        LinkType::LINUX_SLL2 => {
            f.extend_from_slice(&ethertype.to_be_bytes());
            f.extend_from_slice(&[0, 0, 0, 0, 0, 1, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0]);
        }
        LinkType::NULL => f.extend_from_slice(&(if v6 { 30u32 } else { 2 }).to_le_bytes()),
        LinkType::LOOP => f.extend_from_slice(&(if v6 { 24u32 } else { 2 }).to_be_bytes()),
        LinkType::RAW | LinkType::IPV4 | LinkType::IPV6 => {}
        LinkType::NFLOG => {
            f.extend_from_slice(&[if v6 { 10 } else { 2 }, 0, 0, 0]);
            // NFULA_PACKET_HDR (type 1, 8 bytes)
            f.extend_from_slice(&8u16.to_le_bytes());
            f.extend_from_slice(&1u16.to_le_bytes());
            f.extend_from_slice(&[ethertype.to_be_bytes()[0], ethertype.to_be_bytes()[1], 3, 0]);
            // NFULA_PAYLOAD
            f.extend_from_slice(&((ip.len() + 4) as u16).to_le_bytes());
            f.extend_from_slice(&9u16.to_le_bytes());
            f.extend_from_slice(ip);
            while f.len() % 4 != 0 {
                f.push(0);
            }
            return f;
        }
        other => panic!("no wrapper for {other}"),
    }
    f.extend_from_slice(ip);
    f
}

/// Ethernet with VLAN tags (outer first), e.g. `&[0x88a8, 0x8100]` for QinQ.
pub fn wrap_vlan(tpids: &[u16], ip: &[u8]) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
    for (i, tpid) in tpids.iter().enumerate() {
        f.extend_from_slice(&tpid.to_be_bytes());
        f.extend_from_slice(&(100 + i as u16).to_be_bytes());
    }
    f.extend_from_slice(&0x0800u16.to_be_bytes());
    f.extend_from_slice(ip);
    f
}

/// Runs frames (already link-wrapped) through a fresh engine.
pub fn run_link(
    link: LinkType,
    frames: &[(Timestamp, Vec<u8>)],
    cfg: EngineConfig,
) -> (Vec<HttpTransaction>, EngineStats) {
    let mut e = Engine::new(cfg);
    let mut out = Vec::new();
    for (ts, data) in frames {
        e.packet(&RawPacket {
            ts: *ts,
            link,
            orig_len: data.len() as u32,
            data,
        });
        out.extend(e.drain());
    }
    e.finish();
    out.extend(e.drain());
    (out, e.stats())
}

/// Runs raw IP frames through a fresh engine with the default configuration.
pub fn run(frames: &[Frame]) -> (Vec<HttpTransaction>, EngineStats) {
    run_cfg(frames, EngineConfig::default())
}

/// Runs raw IP frames through a fresh engine.
pub fn run_cfg(frames: &[Frame], cfg: EngineConfig) -> (Vec<HttpTransaction>, EngineStats) {
    let wrapped: Vec<(Timestamp, Vec<u8>)> = frames.iter().map(|f| (f.ts, f.ip.clone())).collect();
    run_link(LinkType::RAW, &wrapped, cfg)
}

/// A transaction summarised as `METHOD uri -> status [tags]` for compact assertions.
pub fn summary(t: &HttpTransaction) -> String {
    let method = t
        .method()
        .map(|m| String::from_utf8_lossy(m).into_owned())
        .unwrap_or_else(|| "-".into());
    let uri = t
        .request
        .as_ref()
        .map(|r| String::from_utf8_lossy(r.head.target()).into_owned())
        .unwrap_or_else(|| "-".into());
    let status = t
        .status()
        .map(|s| s.to_string())
        .unwrap_or_else(|| "-".into());
    let tags = t.tags.to_string();
    if tags.is_empty() {
        format!("{method} {uri} -> {status}")
    } else {
        format!("{method} {uri} -> {status} [{tags}]")
    }
}

pub fn summaries(ts: &[HttpTransaction]) -> Vec<String> {
    ts.iter().map(summary).collect()
}

/// `GET path` with a Host header.
pub fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: test/1.0\r\n\r\n")
        .into_bytes()
}

/// A response with a Content-Length body.
pub fn ok(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A response with status `code` and a Content-Length body.
pub fn status(code: u16, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {code} Status\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Writes raw IP frames into a classic pcap file (Ethernet link layer), in capture-time order
/// (frames of several conversations may be given one conversation after another).
pub fn write_pcap(path: &std::path::Path, frames: &[Frame]) {
    let mut sorted: Vec<&Frame> = frames.iter().collect();
    sorted.sort_by_key(|f| f.ts);
    let mut w = shadowtap::capture::PcapWriter::create(path, LinkType::ETHERNET, 262_144).unwrap();
    for f in sorted {
        let data = wrap(LinkType::ETHERNET, &f.ip);
        w.write(f.ts, &data, data.len() as u32).unwrap();
    }
    w.finish().unwrap();
}

/// Deterministic xorshift for generated traffic (tests and benches compare run to run).
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A value below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// `n` random lower-case letters.
    pub fn word(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'a' + (self.next() % 26) as u8))
            .collect()
    }
}

/// A connection pool of its own on `store`'s database file, for tests that read (or seed)
/// tables directly: the store keeps its own pool to itself.
pub async fn sql(store: &shadowtap::store::Store) -> sqlx::SqlitePool {
    let opts = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(store.path())
        .busy_timeout(std::time::Duration::from_secs(10));
    sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(opts)
        .await
        .expect("open the store's database file")
}

/// `conversations` keep-alive connections (staggered in time, so their packets interleave)
/// of `per_conv` requests each, on three hosts, to endpoints with integer path parameters
/// (templated at once, whatever the order they are seen in).
pub fn api_traffic(conversations: usize, per_conv: usize) -> Vec<Frame> {
    let mut frames = Vec::new();
    for c in 0..conversations {
        let client = format!("10.1.{}.{}:{}", c / 200, c % 200 + 1, 40_000 + c % 20_000);
        let mut conv = Conv::new(&client, "10.0.0.1:80");
        conv.clock += c as i64 * 1_700_000;
        conv.handshake();
        for i in 0..per_conv {
            let n = c * per_conv + i;
            let host = ["api.shop.test", "api.bank.test", "auth.test"][n % 3];
            let (method, path) = match n % 5 {
                0 => ("GET", format!("/users/{}", 1000 + n % 997)),
                1 => ("GET", format!("/users/{}/orders", 1000 + n % 991)),
                2 => ("POST", format!("/orders/{}/items", 5000 + n % 983)),
                3 => ("GET", "/health".to_string()),
                _ => ("DELETE", format!("/sessions/{}", 70_000 + n % 977)),
            };
            let req = format!(
                "{method} {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: t/1\r\nContent-Length: 0\r\n\r\n"
            );
            let body = format!(r#"{{"id":{n},"ok":true}}"#);
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            conv.exchange(req.as_bytes(), resp.as_bytes(), 1400);
            conv.wait_us(2_000);
        }
        conv.close();
        frames.extend(conv.frames);
    }
    frames
}
