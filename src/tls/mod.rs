//! TLS without keys: what a connection's handshake says in the clear.
//!
//! A stage between [`reassembly`](crate::reassembly) and the application layers, built like
//! [`http`](crate::http): a [`TlsConn`] per connection implements
//! [`FlowApp`](crate::reassembly::FlowApp) over a shared [`TlsCtx`] (limits, counters, output
//! queue), and emits [`TlsEvent`]s.
//!
//! - [`record`]: record framing of one direction's byte stream, and handshake messages
//!   reassembled across records and segments, within a byte cap; once the handshake is over it
//!   only frames records and counts their bytes.
//! - [`hello`]: ClientHello, ServerHello (and HelloRetryRequest) and Certificate messages, parsed
//!   with `tls-parser` and `x509-parser` into small owned summaries with capped strings.
//! - [`ja4`]: the JA4 (client) and JA4S (server) fingerprints of the FoxIO specification.
//! - [`names`]: version and cipher-suite names, and the weakness classification of a negotiated
//!   version and cipher suite.
//! - [`conn`]: a connection's state: who is the client, the handshake facts, the events.
//!
//! What it owns: reading TLS records and handshake messages, and the facts and fingerprints
//! drawn from them. What it may not touch: decryption (there are no keys yet), the layers above
//! (HTTP, the inventory, the store), and the flow table below.
//!
//! Every input is attacker-controlled: no function here panics on any input, buffering is capped
//! per direction ([`TlsConfig::max_handshake_bytes`]) and across connections
//! ([`TlsConfig::max_memory`]), strings from the wire are cut to fixed lengths, and what a cap
//! drops is counted in [`TlsStats`].

pub mod conn;
pub mod decrypt;
pub mod hello;
pub mod ja4;
pub mod keylog;
pub mod names;
pub mod record;

pub use conn::{TlsConn, TlsCtx};
pub use decrypt::{DecryptConfig, DecryptStats};
pub use hello::CertSummary;
pub use keylog::KeyStore;

use crate::reassembly::{Endpoint, FlowId};
use crate::time::Timestamp;

/// Limits of the TLS layer.
#[derive(Clone, Debug)]
pub struct TlsConfig {
    /// Largest handshake message read, in bytes (its 4-byte header included); this is also the
    /// most bytes buffered per direction. A larger message (a giant certificate chain) is
    /// counted in [`TlsStats::handshake_too_large`] and ends the reading of that direction's
    /// handshake.
    pub max_handshake_bytes: usize,
    /// Bytes buffered across all connections for handshake messages in progress; a message that
    /// does not fit is counted in [`TlsStats::memory_cap_drops`] and not read.
    pub max_memory: usize,
    /// The key log: with it, connections whose secrets it holds are decrypted and their
    /// plaintext handed to the layer above ([`decrypt`]).
    pub keys: Option<std::sync::Arc<KeyStore>>,
    /// Keys may still arrive (a key log file followed as it grows): records wait for theirs,
    /// within [`DecryptConfig`]'s caps and timeout.
    pub hold_for_keys: bool,
    /// Limits of decryption.
    pub decrypt: DecryptConfig,
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            max_handshake_bytes: 64 * 1024,
            max_memory: 64 << 20,
            keys: None,
            hold_for_keys: false,
            decrypt: DecryptConfig::default(),
        }
    }
}

/// Counters of the TLS layer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct TlsStats {
    /// Connections read as TLS (a hello or a valid record seen), counted when they close.
    pub connections: u64,
    /// Connections given up on because their first bytes were not TLS records.
    pub not_tls: u64,
    /// ClientHello messages read (a second one after a HelloRetryRequest included).
    pub client_hellos: u64,
    /// ServerHello messages read (HelloRetryRequests not included).
    pub server_hellos: u64,
    /// HelloRetryRequests read.
    pub hello_retry_requests: u64,
    /// SSL 2.0-compatible ClientHellos seen (counted, not read; the connection is ignored).
    pub sslv2_client_hellos: u64,
    /// Server certificates summarized (TLS 1.2 and older: in TLS 1.3 they are encrypted).
    pub certificates: u64,
    /// Non-empty client Certificate messages seen (TLS 1.2 and older).
    pub client_certificates: u64,
    /// Handshake events emitted with the handshake complete.
    pub handshakes: u64,
    /// Handshake events emitted at close for handshakes that did not get that far.
    pub handshakes_incomplete: u64,
    /// Resumed sessions (session id echoed or abbreviated handshake in TLS 1.2, PSK in 1.3).
    pub resumed: u64,
    /// ClientHellos that offered early data (0-RTT).
    pub early_data: u64,
    /// Alerts sent in the clear.
    pub alerts: u64,
    /// Record headers that were not TLS after valid records (that direction's framing is lost).
    pub bad_records: u64,
    /// ClientHello messages that could not be parsed.
    pub bad_client_hellos: u64,
    /// ServerHello messages that could not be parsed.
    pub bad_server_hellos: u64,
    /// Certificate messages whose list could not be parsed.
    pub bad_certificate_messages: u64,
    /// Leaf certificates that x509-parser refused.
    pub bad_certificates: u64,
    /// Handshake messages longer than `max_handshake_bytes` (not read).
    pub handshake_too_large: u64,
    /// Handshake messages not read because `max_memory` was reached.
    pub memory_cap_drops: u64,
    /// Handshake messages cut by the end of their direction.
    pub truncated_messages: u64,
    /// Strings or lists from the wire cut to their cap (SNI, ALPN, names, SANs).
    pub strings_truncated: u64,
    /// Gaps (bytes lost in capture) in TLS connections; the direction's framing is lost.
    pub gaps: u64,
    /// Bytes in those gaps.
    pub gap_bytes: u64,
    /// Payload bytes of application-data records, both directions (in TLS 1.3 this includes the
    /// encrypted end of the handshake).
    pub app_bytes: u64,
    /// Bytes counted without framing, after a direction's framing was lost.
    pub unframed_bytes: u64,
    /// Payload bytes of connections given up on (not TLS, or SSL 2.0), not read.
    pub not_tls_bytes: u64,
    /// Decryption with a key log (all zero without one).
    pub decrypt: DecryptStats,
}

crate::counters!(TlsStats {
    connections,
    not_tls,
    client_hellos,
    server_hellos,
    hello_retry_requests,
    sslv2_client_hellos,
    certificates,
    client_certificates,
    handshakes,
    handshakes_incomplete,
    resumed,
    early_data,
    alerts,
    bad_records,
    bad_client_hellos,
    bad_server_hellos,
    bad_certificate_messages,
    bad_certificates,
    handshake_too_large,
    memory_cap_drops,
    truncated_messages,
    strings_truncated,
    gaps,
    gap_bytes,
    app_bytes,
    unframed_bytes,
    not_tls_bytes,
    decrypt,
});

/// What the TLS layer reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlsEvent {
    /// Once per connection: when the handshake facts are known (TLS 1.3: the ServerHello; TLS 1.2
    /// and older: the first ChangeCipherSpec after the ServerHello, so the server's Certificate
    /// and the client's, if any, are in), or at close if the handshake never got that far (then
    /// [`TlsHandshake::complete`] is false).
    Handshake(Box<TlsSession>),
    /// At close (FIN, RST, timeout, eviction, end of input), for every TLS connection: the bytes
    /// each side sent over the connection.
    Traffic {
        /// Connection id.
        flow: FlowId,
        /// The side that sent the ClientHello (see [`TlsSession::client`]).
        client: Endpoint,
        /// The other side.
        server: Endpoint,
        /// Server name the client asked for.
        sni: Option<String>,
        /// Payload bytes of the client's application-data records, plus its bytes counted
        /// without framing after its framing was lost (gaps included).
        client_bytes: u64,
        /// The same for the server.
        server_bytes: u64,
        /// Capture time of the close.
        ts: Timestamp,
    },
}

/// A connection's handshake, as [`TlsEvent::Handshake`] reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsSession {
    /// Connection id.
    pub flow: FlowId,
    /// The side that sent the ClientHello; when no ClientHello was seen, the receiver of the
    /// ServerHello, else the side that opened the TCP connection, else the side on the higher
    /// port.
    pub client: Endpoint,
    /// The other side.
    pub server: Endpoint,
    /// Capture time of the first hello seen.
    pub ts: Timestamp,
    /// What the handshake said.
    pub hello: TlsHandshake,
}

/// The facts a handshake shows in the clear. Lists keep the wire order, GREASE values left out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsHandshake {
    /// A ClientHello was read.
    pub client_hello: bool,
    /// A ServerHello (not a HelloRetryRequest) was read.
    pub server_hello: bool,
    /// The handshake got as far as [`TlsEvent::Handshake`] requires; false when reported at
    /// close.
    pub complete: bool,
    /// Server name (SNI host_name), at most 255 bytes.
    pub sni: Option<String>,
    /// ALPN protocols offered by the client (at most 16, each at most 64 bytes).
    pub alpn_offered: Vec<String>,
    /// ALPN protocol selected by the server; TLS 1.2 and older only (TLS 1.3 sends it
    /// encrypted).
    pub alpn_selected: Option<String>,
    /// Versions offered: the supported_versions extension, or the ClientHello's version.
    pub versions_offered: Vec<u16>,
    /// Negotiated version (the ServerHello's supported_versions, or its version).
    pub version: Option<u16>,
    /// Cipher suite chosen by the server.
    pub cipher: Option<u16>,
    /// JA4 of the (first) ClientHello.
    pub ja4: Option<String>,
    /// JA4S of the first ServerHello (a HelloRetryRequest when there was one, as the FoxIO and
    /// ja4plus implementations do).
    pub ja4s: Option<String>,
    /// Session resumed: TLS 1.2 and older, the server echoed the client's session id or went
    /// from ServerHello to ChangeCipherSpec (abbreviated handshake); TLS 1.3, the server chose a
    /// pre-shared key.
    pub resumed: bool,
    /// The client offered early data (0-RTT); whether the server took it is encrypted.
    pub early_data: bool,
    /// The server sent a HelloRetryRequest.
    pub hello_retry: bool,
    /// The server asked for a client certificate (TLS 1.2 and older).
    pub client_certificate_requested: bool,
    /// The client sent a certificate (TLS 1.2 and older).
    pub client_certificate: bool,
    /// The server's leaf certificate (TLS 1.2 and older).
    pub certificate: Option<CertSummary>,
    /// Certificates in the server's Certificate message (0 when not seen).
    pub chain_len: u32,
    /// Description code of the first alert sent in the clear (40 handshake_failure,
    /// 42 bad_certificate, 48 unknown_ca, 70 protocol_version, ...).
    pub alert: Option<u8>,
}

/// What the first bytes of a connection say about TLS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sniff {
    /// A TLS record header (or an SSL 2.0-compatible ClientHello).
    Tls,
    /// Not TLS.
    NotTls,
    /// Too few bytes to tell; what is there fits a TLS record header.
    NeedMore,
}

/// Judges a connection's first bytes (5 are enough): a handshake record header (`0x16 0x03
/// 0x00..=0x04` and a length of at least 4, the size of a handshake message header), or, for a
/// connection picked up mid-stream, an application-data or alert record header (`0x17`/`0x15
/// 0x03 0x01..=0x04`); in all cases a length of at most 2^14 + 2048. An SSL 2.0-compatible
/// ClientHello (`0x80` length, type 1, version 0x0002 or 0x03xx) counts as TLS too.
pub fn sniff(first: &[u8]) -> Sniff {
    let Some(&t) = first.first() else {
        return Sniff::NeedMore;
    };
    if t & 0x80 != 0 {
        // SSL 2.0 header: 2-byte length with the high bit set, then CLIENT-HELLO (1).
        return match first {
            [_] | [_, _] => Sniff::NeedMore,
            [_, _, 1] | [_, _, 1, 0 | 3] => Sniff::NeedMore,
            [_, _, 1, 0, 2, ..] | [_, _, 1, 3, 0..=3, ..] => Sniff::Tls,
            _ => Sniff::NotTls,
        };
    }
    let minor_ok = |m: u8| match t {
        record::HANDSHAKE => m <= 4,
        _ => (1..=4).contains(&m),
    };
    if !matches!(
        t,
        record::HANDSHAKE | record::APPLICATION_DATA | record::ALERT
    ) {
        return Sniff::NotTls;
    }
    match first {
        [_] => Sniff::NeedMore,
        [_, 3] => Sniff::NeedMore,
        [_, 3, m] | [_, 3, m, _] if minor_ok(*m) => Sniff::NeedMore,
        [_, 3, m, hi, lo, ..] if minor_ok(*m) => {
            let len = usize::from(u16::from_be_bytes([*hi, *lo]));
            let min = if t == record::HANDSHAKE { 4 } else { 1 };
            if (min..=record::MAX_RECORD_LEN).contains(&len) {
                Sniff::Tls
            } else {
                Sniff::NotTls
            }
        }
        _ => Sniff::NotTls,
    }
}

/// True when a connection's first bytes are TLS ([`sniff`] says [`Sniff::Tls`]; fewer than 5
/// bytes of a record header are not enough).
pub fn looks_like_tls(first_bytes: &[u8]) -> bool {
    sniff(first_bytes) == Sniff::Tls
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_record_headers() {
        assert!(looks_like_tls(&[0x16, 3, 1, 0x02, 0x00, 1]));
        assert!(looks_like_tls(&[0x16, 3, 3, 0, 4]));
        assert!(looks_like_tls(&[0x17, 3, 3, 0x40, 0x11]));
        assert!(looks_like_tls(&[0x15, 3, 3, 0, 2]));
        // Too long, too short, other versions, other content types.
        assert!(!looks_like_tls(&[0x16, 3, 1, 0x48, 0x01]));
        assert!(!looks_like_tls(&[0x16, 3, 1, 0, 3]));
        assert!(!looks_like_tls(&[0x17, 3, 0, 0, 10]));
        assert!(!looks_like_tls(&[0x16, 3, 5, 0, 10]));
        assert!(!looks_like_tls(&[0x16, 2, 1, 0, 10]));
        assert!(!looks_like_tls(b"GET / HTTP/1.1\r\n"));
        assert!(!looks_like_tls(b"PRI * HTTP/2.0\r\n"));
        assert_eq!(sniff(b"G"), Sniff::NotTls);
        // Prefixes of a header need more; 5 bytes decide.
        assert_eq!(sniff(&[]), Sniff::NeedMore);
        assert_eq!(sniff(&[0x16]), Sniff::NeedMore);
        assert_eq!(sniff(&[0x16, 3, 1, 2]), Sniff::NeedMore);
        assert_eq!(sniff(&[0x17, 3, 0]), Sniff::NotTls);
        assert!(!looks_like_tls(&[0x16, 3, 1, 2]));
        // SSL 2.0-compatible ClientHello (length 0x2e, type 1, version 3.1).
        assert!(looks_like_tls(&[0x80, 0x2e, 1, 3, 1, 0, 0x15]));
        assert!(looks_like_tls(&[0x80, 0x2e, 1, 0, 2]));
        assert_eq!(sniff(&[0x80, 0x2e, 1]), Sniff::NeedMore);
        assert!(!looks_like_tls(&[0x80, 0x2e, 2, 3, 1]));
    }
}
