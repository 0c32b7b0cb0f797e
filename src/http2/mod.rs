//! HTTP/2 (RFC 9113) without TLS or after it: from two reassembled byte streams to one
//! [`HttpTransaction`](crate::http::HttpTransaction) per stream, with `version` 2, so that
//! everything after the engine reads them as it reads HTTP/1.x ones.
//!
//! - [`frame`]: typed views over frame headers and payloads.
//! - [`hpack`]: one HPACK decoder per direction that survives a lost dynamic table.
//! - [`stream`]: a stream's request and response as they build up.
//! - [`conn`]: [`H2Conn`], a connection's frame parsers and streams; a [`FlowApp`] fed with
//!   `data`/`gap`/`eof`/`close` like every layer, by the dispatcher (prior knowledge, the
//!   server's SETTINGS first, or `Upgrade: h2c` handed over by the HTTP/1 layer) or by a layer
//!   below it that produces plaintext (TLS with ALPN `h2`).
//!
//! Parsing ignores flow control (a passive decoder sees what was sent, whatever the windows
//! allowed). A connection picked up without its preface (a sensor started while it was open)
//! is found by a strict frame sniffer ([`frame::sniff_run`]): the dispatcher holds the first
//! bytes of a midstream flow that do not begin like HTTP/1.x, and a run of plausible frames
//! in either direction makes it an HTTP/2 connection ([`H2Conn::midstream`]) whose
//! directions resynchronise at a frame boundary and whose HPACK tables are lost from the
//! start (see [`conn`]).
//!
//! [`FlowApp`]: crate::reassembly::FlowApp

pub mod conn;
pub mod frame;
pub mod hpack;
pub mod stream;

pub use conn::{H2Conn, H2Ctx};

/// Limits of the HTTP/2 layer. Every cap is counted in [`Http2Stats`] when it drops something.
#[derive(Clone, Debug)]
pub struct Http2Config {
    /// Streams open at once per connection; beyond it the oldest is emitted as it stands.
    pub max_streams: usize,
    /// Bytes of a header block (HEADERS or PUSH_PROMISE and its CONTINUATIONs) kept for
    /// decoding; a larger block is dropped and the direction's HPACK table is lost.
    pub max_header_block_bytes: usize,
    /// CONTINUATION frames in one header block.
    pub max_continuations: u32,
    /// Bytes of decoded header fields kept per message (names and values); fields beyond
    /// are decoded (the table stays in sync) but not kept.
    pub max_header_list_bytes: usize,
    /// Header fields kept per message.
    pub max_headers: usize,
    /// Largest dynamic table an HPACK decoder keeps, whatever the peer asks for.
    pub max_table_size: usize,
    /// Largest frame payload buffered (other than DATA, which is never buffered); larger
    /// frames are skipped.
    pub max_frame_buffer: usize,
    /// SETTINGS frames read per connection; more are skipped.
    pub max_settings_frames: u32,
    /// Bytes of each body kept as a sample (the HTTP layer's setting).
    pub body_sample_bytes: usize,
    /// Bytes held across all HTTP/2 connections for header blocks, tables and body samples.
    pub max_memory: usize,
}

impl Default for Http2Config {
    fn default() -> Self {
        Http2Config {
            max_streams: 1024,
            max_header_block_bytes: 256 * 1024,
            max_continuations: 256,
            max_header_list_bytes: 64 * 1024,
            max_headers: 128,
            max_table_size: 64 * 1024,
            max_frame_buffer: 64 * 1024,
            max_settings_frames: 1024,
            body_sample_bytes: 64 * 1024,
            max_memory: 256 << 20,
        }
    }
}

impl Http2Config {
    /// The HTTP/2 limits that follow the HTTP layer's (body sample, header count and size,
    /// memory), the others at their defaults.
    pub fn from_http(http: &crate::http::HttpConfig) -> Http2Config {
        Http2Config {
            body_sample_bytes: http.body_sample_bytes,
            max_headers: http.max_headers,
            max_header_list_bytes: http.max_head_bytes,
            max_memory: http.max_memory,
            ..Http2Config::default()
        }
    }
}

/// Counters of the HTTP/2 layer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Http2Stats {
    /// Connections read as HTTP/2.
    pub connections: u64,
    /// ... that began with the client's preface.
    pub prior_knowledge: u64,
    /// ... that began with the server's SETTINGS (the client's preface came later).
    pub server_first: u64,
    /// ... switched from HTTP/1.1 by `Upgrade: h2c` and `101`.
    pub h2c_upgrades: u64,
    /// ... picked up mid-way: a midstream flow whose bytes began with a run of HTTP/2 frames
    /// (the frame sniffer, [`frame::sniff_run`]), its HPACK tables lost from the start.
    pub midstream_connections: u64,
    /// Midstream flows searched by the frame sniffer and left to HTTP/1.x: an HTTP/1 message
    /// head was read, or no run of frames was found in either direction.
    pub midstream_not_h2: u64,
    /// Directions of midstream connections that found a frame boundary.
    pub midstream_resyncs: u64,
    /// Bytes skipped before the first frame boundary of a midstream direction (the capture
    /// began inside a frame).
    pub midstream_skipped_bytes: u64,
    /// Midstream directions that found no frame boundary within [`frame::SNIFF_SCAN`]
    /// bytes (not read further).
    pub midstream_resync_failed: u64,
    /// Streams of a midstream connection that began before the capture (a response or
    /// trailers without the request): counted, not emitted.
    pub midstream_streams_unseen: u64,
    /// Streams of a midstream connection whose `:method` or `:path` referenced the lost part
    /// of the HPACK table: counted, not emitted.
    pub midstream_streams_unrecovered: u64,
    /// Connections whose client did not send the preface where it should be.
    pub bad_preface: u64,
    /// Frames read.
    pub frames: u64,
    /// DATA frames.
    pub data_frames: u64,
    /// HEADERS frames.
    pub headers_frames: u64,
    /// CONTINUATION frames.
    pub continuation_frames: u64,
    /// PUSH_PROMISE frames.
    pub push_promises: u64,
    /// RST_STREAM frames.
    pub rst_streams: u64,
    /// GOAWAY frames.
    pub goaways: u64,
    /// SETTINGS frames.
    pub settings_frames: u64,
    /// Frames of other or unknown types (PING, PRIORITY, WINDOW_UPDATE, extensions).
    pub other_frames: u64,
    /// Frames that broke the protocol (a payload too short for its flags, CONTINUATION out
    /// of place, DATA or HEADERS on stream 0).
    pub bad_frames: u64,
    /// Streams opened.
    pub streams: u64,
    /// Transactions emitted (also counted in the HTTP layer's `transactions`).
    pub transactions: u64,
    /// Header blocks decoded.
    pub header_blocks: u64,
    /// Header blocks that did not decode to their end (the direction's table is lost after).
    pub hpack_errors: u64,
    /// Times a direction's HPACK table was lost (decode error, gap, cap).
    pub hpack_tables_lost: u64,
    /// Header fields that referenced the unknown part of a lost table.
    pub hpack_unknown_fields: u64,
    /// Dynamic table size updates above `max_table_size` (clamped).
    pub hpack_size_clamped: u64,
    /// Header blocks dropped at `max_header_block_bytes`.
    pub header_blocks_too_large: u64,
    /// Header blocks dropped at `max_continuations`.
    pub continuation_floods: u64,
    /// Messages whose decoded fields went past `max_header_list_bytes` or `max_headers`.
    pub header_lists_too_large: u64,
    /// Frames other than DATA skipped at `max_frame_buffer`.
    pub frames_too_large: u64,
    /// SETTINGS frames past `max_settings_frames`.
    pub settings_floods: u64,
    /// Streams emitted early at `max_streams`.
    pub streams_over_cap: u64,
    /// Streams reset (RST_STREAM).
    pub streams_reset: u64,
    /// Streams still open when the connection ended or the peer went away.
    pub streams_unfinished: u64,
    /// Directions whose frame boundaries were lost in a gap (not read further).
    pub desyncs: u64,
    /// Gaps that fell inside a DATA payload (frame boundaries kept).
    pub body_gaps: u64,
    /// Bodies longer than their sample.
    pub samples_truncated: u64,
    /// Bytes not kept because the memory cap was reached.
    pub memory_cap_bytes: u64,
    /// Bytes of directions no longer read (after a desync or a bad preface).
    pub skipped_bytes: u64,
}

crate::counters!(Http2Stats {
    connections,
    prior_knowledge,
    server_first,
    h2c_upgrades,
    midstream_connections,
    midstream_not_h2,
    midstream_resyncs,
    midstream_skipped_bytes,
    midstream_resync_failed,
    midstream_streams_unseen,
    midstream_streams_unrecovered,
    bad_preface,
    frames,
    data_frames,
    headers_frames,
    continuation_frames,
    push_promises,
    rst_streams,
    goaways,
    settings_frames,
    other_frames,
    bad_frames,
    streams,
    transactions,
    header_blocks,
    hpack_errors,
    hpack_tables_lost,
    hpack_unknown_fields,
    hpack_size_clamped,
    header_blocks_too_large,
    continuation_floods,
    header_lists_too_large,
    frames_too_large,
    settings_floods,
    streams_over_cap,
    streams_reset,
    streams_unfinished,
    desyncs,
    body_gaps,
    samples_truncated,
    memory_cap_bytes,
    skipped_bytes,
});
