//! WebSocket (RFC 6455): the layer a connection becomes after an accepted upgrade (a request
//! with `Upgrade: websocket`, `Connection: upgrade` and `Sec-WebSocket-Key`, answered by
//! `101` with `Upgrade: websocket`). The HTTP/1 layer recognises the handshake and hands the
//! rest of the connection over (`dispatch` takes the hand-over, as it does for `h2c`).
//!
//! - [`frame`]: a typed view over a frame header, and the masking transform.
//! - [`conn`]: one connection's two directions, parsed as a stream (a state machine fed chunk
//!   by chunk: no byte is looked at twice, no frame is buffered), its figures and a bounded
//!   sample of its text messages, handed out as a [`WsSummary`] when the connection ends.
//!
//! What it owns: framing, unmasking, fragmented messages, control frames, `permessage-deflate`
//! (RFC 7692) for the sampled messages, the figures of a connection. What it may not touch: the
//! HTTP transaction of the upgrade (its owner attaches the summary), the inventory.
//!
//! Everything here reads attacker-controlled bytes: lengths up to 2^63 - 1 are counted, never
//! buffered; caps ([`WsConfig`]) bound frames per connection, sampled bytes and messages,
//! inflated bytes and memory, and every cap that drops something is counted in [`WsStats`].

pub mod conn;
pub mod frame;

pub use conn::{WsConn, WsCtx};

use crate::reassembly::Dir;
use crate::time::Timestamp;

/// The GUID a server appends to the client's key (RFC 6455 section 1.3).
pub const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`: base64(SHA-1(key + GUID)).
pub fn accept_key(key: &[u8]) -> String {
    use base64::Engine as _;
    use sha1::{Digest, Sha1};
    let mut h = Sha1::new();
    h.update(key.trim_ascii());
    h.update(GUID.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(h.finalize())
}

/// True when a `Sec-WebSocket-Extensions` value names `permessage-deflate` (the server's
/// answer says what was agreed).
pub fn names_deflate(extensions: &[u8]) -> bool {
    extensions.split(|&b| b == b',').any(|ext| {
        let name = ext.split(|&b| b == b';').next().unwrap_or_default();
        name.trim_ascii()
            .eq_ignore_ascii_case(b"permessage-deflate")
    })
}

/// What the upgrade handshake agreed, as the HTTP/1 layer read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handshake {
    /// The client's direction.
    pub client: Dir,
    /// `Sec-WebSocket-Accept` matched the key (a mismatch is counted; the frames are parsed
    /// anyway).
    pub accept_ok: bool,
    /// `Sec-WebSocket-Protocol` of the answer (at most 64 bytes, lossy UTF-8).
    pub subprotocol: Option<String>,
    /// `permessage-deflate` agreed.
    pub deflate: bool,
    /// Capture time of the `101`.
    pub ts: Timestamp,
}

/// Limits of the WebSocket layer.
#[derive(Clone, Debug)]
pub struct WsConfig {
    /// Bytes of each sampled text message kept (after unmasking and inflating; 0 keeps none).
    pub sample_bytes: usize,
    /// Text messages sampled per connection (the first ones).
    pub max_samples: usize,
    /// Frames parsed per connection; the rest of the connection is counted, not parsed.
    pub max_frames: u64,
    /// Bytes held across all connections for samples and inflaters.
    pub max_memory: usize,
    /// Bytes inflated per direction of a connection (decompression bombs); the rest of that
    /// direction's compressed messages are counted as not decoded.
    pub max_inflate_bytes: u64,
    /// Memory an inflater is charged against `max_memory` (its 32 KiB window and state).
    pub inflater_cost: usize,
}

impl Default for WsConfig {
    fn default() -> Self {
        WsConfig {
            sample_bytes: 64 * 1024,
            max_samples: 8,
            max_frames: 1_000_000,
            max_memory: 64 << 20,
            max_inflate_bytes: 4 << 20,
            inflater_cost: 48 * 1024,
        }
    }
}

impl WsConfig {
    /// The HTTP layer's sample cap (`body_sample_bytes`) for messages, the rest by default.
    pub fn from_http(sample_bytes: usize) -> WsConfig {
        WsConfig {
            sample_bytes,
            ..WsConfig::default()
        }
    }
}

/// Counters of the WebSocket layer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct WsStats {
    /// Connections upgraded to WebSocket and parsed.
    pub connections: u64,
    /// Of them, answers whose `Sec-WebSocket-Accept` did not match the key.
    pub accept_mismatches: u64,
    /// Of them, with `permessage-deflate` agreed.
    pub deflate_connections: u64,
    /// Frames read.
    pub frames: u64,
    /// Data messages read (text and binary, fragments joined).
    pub messages: u64,
    /// Payload bytes of frames read (as on the wire: compressed when deflated).
    pub payload_bytes: u64,
    /// Frames against RFC 6455 (reserved opcode, reserved bit, fragmented or long control
    /// frame, continuation without a message, a message interrupted by another).
    pub bad_frames: u64,
    /// Frame headers with a 64-bit length whose top bit is set: that direction stops.
    pub length_overflows: u64,
    /// Server frames that were masked.
    pub masked_server_frames: u64,
    /// Client frames that were not masked.
    pub unmasked_client_frames: u64,
    /// Gaps that fell inside a payload of known length: skipped, parsing goes on.
    pub gaps_skipped: u64,
    /// Gaps elsewhere (in a header, across frames): that direction stops.
    pub gaps_stopped: u64,
    /// Connections that reached the frame cap (`max_frames`).
    pub frames_over_cap: u64,
    /// Bytes not parsed (after a stop, a length overflow or the frame cap).
    pub unparsed_bytes: u64,
    /// Text messages sampled.
    pub samples: u64,
    /// Sampled messages longer than their sample.
    pub samples_truncated: u64,
    /// Text messages not sampled because the memory cap was reached.
    pub memory_cap_samples: u64,
    /// Compressed messages inflated for their sample.
    pub messages_inflated: u64,
    /// Compressed messages that could not be inflated (corrupt, after a gap, over the inflate
    /// cap or the memory cap).
    pub messages_not_decoded: u64,
    /// Directions whose inflater reached the inflate cap (`max_inflate_bytes`): their later
    /// compressed messages are not decoded.
    pub inflate_over_cap: u64,
    /// Inflaters not started because the memory cap (`max_memory`) was reached: that
    /// direction's compressed messages are not decoded.
    pub memory_cap_inflaters: u64,
    /// Messages whose last fragment never came (the connection ended, a gap).
    pub incomplete_messages: u64,
}

crate::counters!(WsStats {
    connections,
    accept_mismatches,
    deflate_connections,
    frames,
    messages,
    payload_bytes,
    bad_frames,
    length_overflows,
    masked_server_frames,
    unmasked_client_frames,
    gaps_skipped,
    gaps_stopped,
    frames_over_cap,
    unparsed_bytes,
    samples,
    samples_truncated,
    memory_cap_samples,
    messages_inflated,
    messages_not_decoded,
    inflate_over_cap,
    memory_cap_inflaters,
    incomplete_messages,
});

/// Buckets of [`SizeHistogram`]: bucket `i` holds sizes of bit length `i` (0; 1; 2-3; 4-7;
/// ...), the last one everything from 2^31 on.
pub const SIZE_BUCKETS: usize = 33;

/// Message sizes in power-of-two buckets: fixed size, mergeable, enough for p50/p99 to the
/// next power of two.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SizeHistogram(pub [u64; SIZE_BUCKETS]);

impl Default for SizeHistogram {
    fn default() -> Self {
        SizeHistogram([0; SIZE_BUCKETS])
    }
}

/// As a list of counts, one per bucket (a fleet's deltas carry it).
impl serde::Serialize for SizeHistogram {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0[..].serialize(s)
    }
}

/// From a list of counts: the first [`SIZE_BUCKETS`], missing ones zero.
impl<'de> serde::Deserialize<'de> for SizeHistogram {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v: Vec<u64> = serde::Deserialize::deserialize(d)?;
        let mut h = SizeHistogram::default();
        for (b, n) in h.0.iter_mut().zip(v) {
            *b = n;
        }
        Ok(h)
    }
}

impl SizeHistogram {
    /// Records one size.
    pub fn record(&mut self, size: u64) {
        let i = (64 - size.leading_zeros() as usize).min(SIZE_BUCKETS - 1);
        self.0[i] += 1;
    }

    /// Adds `other`'s counts.
    pub fn merge(&mut self, other: &SizeHistogram) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a = a.saturating_add(*b);
        }
    }

    /// Sizes recorded (saturating: a histogram read from a delta may hold anything).
    pub fn len(&self) -> u64 {
        self.0.iter().fold(0u64, |a, b| a.saturating_add(*b))
    }

    /// None recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The upper bound of the bucket that holds quantile `q` (0..=1); `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        let n = self.len();
        if n == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * n as f64).ceil() as u64).max(1);
        let mut seen = 0u64;
        for (i, c) in self.0.iter().enumerate() {
            seen = seen.saturating_add(*c);
            if seen >= rank {
                return Some(if i == 0 { 0 } else { (1u64 << i) - 1 });
            }
        }
        None
    }
}

/// One direction's figures of a connection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WsDirection {
    /// Frames read.
    pub frames: u64,
    /// Frames by opcode (reserved ones included).
    pub frames_by_opcode: [u64; 16],
    /// Payload bytes by opcode (as on the wire).
    pub payload_by_opcode: [u64; 16],
    /// Text messages (fragments joined).
    pub text_messages: u64,
    /// Binary messages.
    pub binary_messages: u64,
    /// Payload bytes of data messages (as on the wire: compressed when deflated).
    pub bytes: u64,
    /// Largest data message, in payload bytes.
    pub max_message_bytes: u64,
    /// Data message sizes.
    pub sizes: SizeHistogram,
    /// Pings.
    pub pings: u64,
    /// Pongs.
    pub pongs: u64,
    /// Close frames.
    pub closes: u64,
    /// Status code of the first close frame that carried one.
    pub close_code: Option<u16>,
    /// Capture gaps met.
    pub gaps: u64,
    /// Parsing stopped (a gap, a length overflow, the frame cap).
    pub stopped: bool,
}

impl WsDirection {
    /// Data messages (text and binary).
    pub fn messages(&self) -> u64 {
        self.text_messages + self.binary_messages
    }
}

/// A sampled text message: its first bytes, unmasked and inflated. Captured data: it goes to
/// the analyses (shapes, sensitive data, which redact), never to storage as is.
#[derive(Clone, PartialEq, Eq)]
pub struct WsSample {
    /// Sent by the client.
    pub from_client: bool,
    /// The first bytes of the message.
    pub text: Vec<u8>,
    /// The message was longer than the sample.
    pub truncated: bool,
}

impl std::fmt::Debug for WsSample {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Captured bytes never reach a log line.
        f.debug_struct("WsSample")
            .field("from_client", &self.from_client)
            .field("len", &self.text.len())
            .field("truncated", &self.truncated)
            .finish()
    }
}

/// What a WebSocket connection was, attached to its upgrade transaction when it ends.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WsSummary {
    /// Client to server.
    pub client: WsDirection,
    /// Server to client.
    pub server: WsDirection,
    /// `Sec-WebSocket-Protocol` agreed.
    pub subprotocol: Option<String>,
    /// `permessage-deflate` agreed.
    pub deflate: bool,
    /// `Sec-WebSocket-Accept` matched the key.
    pub accept_ok: bool,
    /// Capture time of the `101`.
    pub first_ts: Timestamp,
    /// Capture time of the last byte or of the end of the connection.
    pub last_ts: Timestamp,
    /// Compressed messages that could not be inflated.
    pub not_decoded: u64,
    /// The first text messages, sampled.
    pub samples: Vec<WsSample>,
}

impl WsSummary {
    /// From the `101` to the end, in milliseconds.
    pub fn duration_ms(&self) -> i64 {
        self.last_ts.nanos_since(self.first_ts).max(0) / 1_000_000
    }

    /// The close code: the client's first, else the server's.
    pub fn close_code(&self) -> Option<u16> {
        self.client.close_code.or(self.server.close_code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_key_of_the_rfc() {
        // RFC 6455 section 1.3.
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn deflate_is_named() {
        assert!(names_deflate(b"permessage-deflate"));
        assert!(names_deflate(
            b"x-webkit, Permessage-Deflate; client_max_window_bits=15"
        ));
        assert!(!names_deflate(b"permessage-deflate-not"));
        assert!(!names_deflate(b""));
    }

    #[test]
    fn size_histogram_quantiles() {
        let mut h = SizeHistogram::default();
        assert_eq!(h.quantile(0.5), None);
        for s in [0, 1, 2, 3, 100, 100, 100, 5000, u64::MAX] {
            h.record(s);
        }
        assert_eq!(h.len(), 9);
        assert_eq!(h.quantile(0.5), Some(127));
        assert_eq!(h.quantile(0.0), Some(0));
        assert_eq!(h.quantile(1.0), Some((1 << 32) - 1));
    }
}
