//! shadowtap: a passive API inventory sensor.
//!
//! The library is a pipeline, one module per stage, data flowing one way:
//!
//! [`capture`] (pcap files and live interfaces) → [`decode`] (link, IP, TCP; zero-copy) →
//! [`reassembly`] (flow table, per-direction streams, gaps) → [`dispatch`] → [`http`] (HTTP/1.x
//! framing and transactions) or [`http2`] (frames, HPACK, one transaction per stream), driven
//! by [`engine`]. [`tls`] reads the handshakes of encrypted connections
//! (inventory facts, JA4 fingerprints, certificates; no keys, no decryption). The command line
//! lives in [`cli`]; the daemon that runs all of it on a tap host, on every core, is
//! [`sensor`]. Access logs and HAR files enter beside the engine, as transactions, through
//! [`source`]; the routes source code declares are found by [`code`]. Log events (`tracing`)
//! go where [`logging`] sends them: the journal under systemd, a logfmt line on stderr
//! otherwise.
//!
//! Input from the wire is attacker-controlled: no function here panics on any input, every
//! buffer has a cap, and what a cap drops is counted.
// No unsafe code; test builds allow it in one place only, their counting allocator.
#![cfg_attr(not(test), forbid(unsafe_code))]
#![cfg_attr(test, deny(unsafe_code))]
#![warn(missing_docs)]

pub mod analyze;
pub mod capture;
pub mod cli;
pub mod code;
pub mod config;
pub mod counters;
pub mod decode;
pub mod dispatch;
pub mod engine;
pub mod fleet;
pub mod http;
pub mod http2;
pub mod ingest;
pub mod logging;
pub mod openapi;
pub mod reassembly;
pub mod sensor;
pub mod source;
pub mod store;
#[cfg(test)]
#[allow(unsafe_code)]
mod testalloc;
pub mod time;
pub mod tls;
pub mod web;
pub mod websocket;
