//! HTTP/1.x: from two reassembled byte streams to request/response transactions.
//!
//! - [`head`]: start lines and header fields (httparse for the header block, a lenient reader
//!   when servers are looser than the RFC).
//! - [`body`]: framing per RFC 9112 section 6, chunked decoding, content decoding.
//! - [`parser`]: one direction's message parser, pulled step by step, linear and bounded.
//! - [`conn`]: a connection's two parsers, who is the client, and which response answers which
//!   request; it emits [`HttpTransaction`]s.

pub mod body;
pub mod conn;
pub mod head;
pub mod parser;

pub use conn::{HttpConn, HttpCtx, WsHandoff};
pub use head::{MessageHead, Version};

use crate::reassembly::{Endpoint, FlowId};
use crate::time::Timestamp;
use std::fmt;

/// Limits of the HTTP layer.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// Largest message head, in bytes.
    pub max_head_bytes: usize,
    /// Most header fields in a head.
    pub max_headers: usize,
    /// Bytes of each body kept as a sample (0 keeps none); full lengths are always counted.
    pub body_sample_bytes: usize,
    /// Bytes held across all connections for heads in progress and body samples.
    pub max_memory: usize,
    /// Transactions waiting for their response, per connection.
    pub max_pending: usize,
    /// Bytes a connection may scan for a message start before it is judged not to be HTTP.
    pub max_resync_scan: u64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            max_head_bytes: 64 * 1024,
            max_headers: 128,
            body_sample_bytes: 64 * 1024,
            max_memory: 256 << 20,
            max_pending: 64,
            max_resync_scan: 256 * 1024,
        }
    }
}

/// Counters of the HTTP layer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct HttpStats {
    /// Request heads read.
    pub requests: u64,
    /// Final response heads read.
    pub responses: u64,
    /// Interim (1xx other than 101) responses read.
    pub interim_responses: u64,
    /// Transactions emitted (HTTP/1.x and HTTP/2: the HTTP/2 layer's are counted here too).
    pub transactions: u64,
    /// Transactions whose request was never seen.
    pub no_request: u64,
    /// Transactions whose response was never seen.
    pub no_response: u64,
    /// Requests sent before the previous response arrived.
    pub pipelined: u64,
    /// Connections switched to another protocol by 101.
    pub upgrades: u64,
    /// Connections turned into tunnels by CONNECT.
    pub connects: u64,
    /// Of the upgrades, accepted WebSocket handshakes handed to the WebSocket layer.
    pub websockets: u64,
    /// Heads that could not be read.
    pub bad_heads: u64,
    /// Heads larger than the cap.
    pub heads_too_large: u64,
    /// Heads with more fields than the cap.
    pub too_many_headers: u64,
    /// Request lines read leniently (missing target or version).
    pub malformed_request_lines: u64,
    /// Heads read only by the lenient reader.
    pub lenient_heads: u64,
    /// Broken chunked framing.
    pub bad_chunked: u64,
    /// Unreadable or contradictory Content-Length.
    pub bad_content_length: u64,
    /// Both Transfer-Encoding and Content-Length.
    pub ambiguous_length: u64,
    /// Times parsing lost the message boundary and looked for the next message.
    pub resyncs: u64,
    /// Bytes skipped while looking.
    pub resync_skipped_bytes: u64,
    /// Gaps that fell inside a body.
    pub body_gaps: u64,
    /// Heads lost to gaps or cut by the end of the stream.
    pub lost_heads: u64,
    /// Messages cut short by the end of the stream.
    pub truncated_messages: u64,
    /// Bodies longer than their sample.
    pub samples_truncated: u64,
    /// Bytes not kept because the memory cap was reached.
    pub memory_cap_bytes: u64,
    /// Transactions flushed early because too many were pending on one connection.
    pub pending_overflow: u64,
    /// Responses paired through acknowledgment numbers after a gap.
    pub ack_paired: u64,
    /// Connections that were not HTTP.
    pub not_http_flows: u64,
    /// Connections where request and response roles had to be swapped after the handshake.
    pub role_swaps: u64,
    /// Payload bytes that went through tunnels (after 101 or CONNECT) and were not parsed.
    pub tunnel_bytes: u64,
    /// Payload bytes of connections that are not HTTP, not parsed.
    pub not_http_bytes: u64,
}

crate::counters!(HttpStats {
    requests,
    responses,
    interim_responses,
    transactions,
    no_request,
    no_response,
    pipelined,
    upgrades,
    connects,
    websockets,
    bad_heads,
    heads_too_large,
    too_many_headers,
    malformed_request_lines,
    lenient_heads,
    bad_chunked,
    bad_content_length,
    ambiguous_length,
    resyncs,
    resync_skipped_bytes,
    body_gaps,
    lost_heads,
    truncated_messages,
    samples_truncated,
    memory_cap_bytes,
    pending_overflow,
    ack_paired,
    not_http_flows,
    role_swaps,
    tunnel_bytes,
    not_http_bytes,
});

/// Conditions attached to a transaction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Tags(pub u32);

impl Tags {
    /// Bytes of the request or response were lost (capture gap).
    pub const GAP: Tags = Tags(1);
    /// A message was cut short (its body did not end).
    pub const PARTIAL: Tags = Tags(1 << 1);
    /// The response was never seen.
    pub const NO_RESPONSE: Tags = Tags(1 << 2);
    /// The request was never seen.
    pub const NO_REQUEST: Tags = Tags(1 << 3);
    /// The request was sent before the previous response arrived.
    pub const PIPELINED: Tags = Tags(1 << 4);
    /// The connection switched protocols (101).
    pub const UPGRADE: Tags = Tags(1 << 5);
    /// A CONNECT tunnel was opened.
    pub const CONNECT: Tags = Tags(1 << 6);
    /// A framing error (bad Content-Length, bad chunked coding, bad Transfer-Encoding).
    pub const MALFORMED: Tags = Tags(1 << 7);
    /// Found by resynchronisation after a gap or unparseable bytes.
    pub const RESYNC: Tags = Tags(1 << 8);
    /// Transfer-Encoding and Content-Length together (request smuggling vector).
    pub const AMBIGUOUS_LENGTH: Tags = Tags(1 << 9);
    /// Some header fields could not be decoded (HTTP/2: the HPACK table was lost to a gap, a
    /// cap or a capture that began mid-connection).
    pub const HEADERS_LOST: Tags = Tags(1 << 10);
    /// Read from a TLS connection decrypted with a key log ([`HttpTransaction::tls`]).
    pub const TLS: Tags = Tags(1 << 11);
    /// The upgrade of a WebSocket connection (request and `101`): the connection's figures
    /// are in [`HttpTransaction::websocket`].
    pub const WEBSOCKET: Tags = Tags(1 << 12);
    /// Read from an HTTP/2 connection picked up mid-way (its preface and SETTINGS not
    /// captured): found by the frame sniffer, its HPACK tables lost from the start.
    pub const MIDSTREAM: Tags = Tags(1 << 13);
    /// Read from a source that does not time the response (an access log without a request
    /// time): the latency is unknown, [`HttpTransaction::latency_ns`] is `None`.
    pub const NO_LATENCY: Tags = Tags(1 << 14);

    const NAMES: [(Tags, &'static str); 15] = [
        (Tags::GAP, "gap"),
        (Tags::PARTIAL, "partial"),
        (Tags::NO_RESPONSE, "no_response"),
        (Tags::NO_REQUEST, "no_request"),
        (Tags::PIPELINED, "pipelined"),
        (Tags::UPGRADE, "upgrade"),
        (Tags::CONNECT, "connect"),
        (Tags::MALFORMED, "malformed"),
        (Tags::RESYNC, "resync"),
        (Tags::AMBIGUOUS_LENGTH, "ambiguous_length"),
        (Tags::HEADERS_LOST, "headers_lost"),
        (Tags::TLS, "tls"),
        (Tags::WEBSOCKET, "websocket"),
        (Tags::MIDSTREAM, "midstream"),
        (Tags::NO_LATENCY, "no_latency"),
    ];

    /// True when every tag of `other` is set.
    pub fn contains(self, other: Tags) -> bool {
        self.0 & other.0 == other.0
    }
    /// Sets the tags of `other`.
    pub fn insert(&mut self, other: Tags) {
        self.0 |= other.0;
    }
    /// True when no tag is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// Names of the set tags, in a fixed order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Tags::NAMES
            .iter()
            .filter(move |(t, _)| self.contains(*t))
            .map(|(_, n)| *n)
    }
}

impl fmt::Display for Tags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for n in self.names() {
            if !first {
                f.write_str(",")?;
            }
            f.write_str(n)?;
            first = false;
        }
        Ok(())
    }
}

/// A message body as observed: its length and a bounded sample.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Body {
    /// Bytes of the body after removing chunked framing, before content decoding; bytes lost in
    /// gaps are counted.
    pub len: u64,
    /// The first bytes of the body (still content-encoded), up to the sample size.
    pub sample: Vec<u8>,
    /// Bytes of the body lost in capture gaps.
    pub gap_bytes: u64,
}

impl Body {
    /// True when the sample holds the whole body.
    pub fn is_complete_sample(&self) -> bool {
        self.sample.len() as u64 == self.len && self.gap_bytes == 0
    }
}

/// One side of a transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpMessage {
    /// The head.
    pub head: MessageHead,
    /// Capture time of the first byte.
    pub first_ts: Timestamp,
    /// Capture time of the last byte.
    pub last_ts: Timestamp,
    /// The body.
    pub body: Body,
}

impl HttpMessage {
    /// The content of the body sample with its Content-Encoding undone (at most `limit` bytes).
    pub fn decoded_body(&self, limit: usize) -> Result<Vec<u8>, body::BodyDecodeError> {
        match self.head.header("content-encoding") {
            None => Ok(self.body.sample[..self.body.sample.len().min(limit)].to_vec()),
            Some(v) => body::decode(&self.body.sample, &body::parse_codings(v)?, limit),
        }
    }
}

/// A request and its response, as seen on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpTransaction {
    /// Connection id.
    pub flow: FlowId,
    /// The client.
    pub orig: Endpoint,
    /// The server.
    pub resp: Endpoint,
    /// Position of the transaction in its connection, from 1.
    pub depth: u32,
    /// The request, when seen.
    pub request: Option<HttpMessage>,
    /// The final response, when seen.
    pub response: Option<HttpMessage>,
    /// Status codes of interim (1xx) responses before the final one.
    pub interim: Vec<u16>,
    /// Conditions.
    pub tags: Tags,
    /// The TLS connection it was decrypted from (with [`Tags::TLS`]); `None` in cleartext.
    pub tls: Option<Box<TlsTag>>,
    /// The WebSocket connection it opened (with [`Tags::WEBSOCKET`]), attached when that
    /// connection ended; `None` otherwise.
    pub websocket: Option<Box<crate::websocket::WsSummary>>,
}

/// What a transaction decrypted from TLS carries of its connection's handshake.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsTag {
    /// Server name the client asked for (SNI).
    pub sni: Option<String>,
    /// JA4 fingerprint of the ClientHello.
    pub ja4: Option<String>,
}

impl HttpTransaction {
    /// Time of the transaction: its request's first byte, or its response's.
    pub fn ts(&self) -> Timestamp {
        self.request
            .as_ref()
            .or(self.response.as_ref())
            .map(|m| m.first_ts)
            .unwrap_or_default()
    }

    /// From the last request byte to the first response byte, in nanoseconds (0 when the server
    /// answered before the request was complete); `None` without both, or when the source did
    /// not time it ([`Tags::NO_LATENCY`]).
    pub fn latency_ns(&self) -> Option<i64> {
        if self.tags.contains(Tags::NO_LATENCY) {
            return None;
        }
        let (q, r) = (self.request.as_ref()?, self.response.as_ref()?);
        Some(r.first_ts.nanos_since(q.last_ts).max(0))
    }

    /// The request method (`None` without a request).
    pub fn method(&self) -> Option<&[u8]> {
        self.request.as_ref().map(|r| r.head.method())
    }

    /// The final status code (`None` without a response).
    pub fn status(&self) -> Option<u16> {
        self.response.as_ref().map(|r| r.head.status())
    }
}
