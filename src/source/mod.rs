//! Sources without packets: access logs and HAR files, read into the same
//! [`HttpTransaction`]s the wire path produces (one door: from `analyze` on nothing branches on
//! where a transaction came from, except to record it, [`Origin`]).
//!
//! - [`combined`]: the NCSA combined (and common) log format of nginx and Apache.
//! - [`nginx_json`]: nginx `log_format ... escape=json` lines with documented keys.
//! - [`envoy`]: Envoy's default access-log format.
//! - [`haproxy`]: HAProxy's HTTP log format (`option httplog`), syslog lines or bare.
//! - [`caddy`]: Caddy's JSON access log.
//! - [`traefik`]: Traefik's JSON access log.
//! - [`alb`]: AWS Application Load Balancer access logs.
//! - [`envoy_json`]: Envoy JSON access logs with the default format's operators as keys.
//! - [`kong`]: Kong Gateway's logging-plugin JSON.
//! - [`har`]: HAR 1.2 files (browsers, proxies, test suites), entry by entry.
//!
//! [`json`] holds what the JSON formats share (an object per line, header maps).
//!
//! Input is hostile by default: every line or entry that cannot be read is counted under its
//! reason in [`SourceStats`] and skipped; nothing here panics on input. Memory is bounded: lines
//! are read one at a time up to [`SourceConfig::max_line_bytes`], HAR entries one at a time up to
//! [`SourceConfig::max_entry_bytes`], body samples up to [`SourceConfig::body_sample_bytes`].
//!
//! What a format lacks stays unknown, never guessed: a log without a request time gives
//! transactions tagged [`Tags::NO_LATENCY`] (no latency recorded); a log without a Host gives
//! the host of [`SourceConfig::host`], else [`UNKNOWN_HOST`]; an unknown address is the
//! unspecified address `0.0.0.0` port 0.

pub mod alb;
pub mod caddy;
pub mod combined;
pub mod envoy;
pub mod envoy_json;
pub mod follow;
pub mod haproxy;
pub mod har;
pub(crate) mod json;
pub mod kong;
pub mod nginx_json;
pub mod traefik;

use crate::http::head::{MessageHead, Version};
use crate::http::{Body, HttpMessage, HttpTransaction, Tags};
use crate::reassembly::{Endpoint, FlowId};
use crate::time::Timestamp;
use std::io::{BufRead, Read};
use std::net::{IpAddr, Ipv4Addr};

/// The host given to transactions of a log that names none, when no `--host` is set: a name
/// under `.invalid` (RFC 2606), which no real host has.
pub const UNKNOWN_HOST: &str = "unknown-host.invalid";

/// Where a transaction came from: recorded per endpoint (`api_endpoint_sources`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Origin {
    /// Packets: a capture file or an interface.
    #[default]
    Wire,
    /// A HAR file.
    Har,
    /// An access log (nginx, Apache, Envoy, HAProxy, Caddy, Traefik, AWS ALB, Kong).
    AccessLog,
}

impl Origin {
    /// Every origin, in the order of their index.
    pub const ALL: [Origin; 3] = [Origin::Wire, Origin::Har, Origin::AccessLog];

    /// The name stored in `endpoint_sources.source`: `wire`, `har` or `access_log`.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Wire => "wire",
            Origin::Har => "har",
            Origin::AccessLog => "access_log",
        }
    }

    /// Position in [`Origin::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// A file format this module reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// HAR 1.2 (JSON document).
    Har,
    /// The combined (or common) log format of nginx and Apache.
    Combined,
    /// nginx JSON `log_format`, one object per line.
    NginxJson,
    /// Envoy's default access-log format.
    Envoy,
    /// HAProxy's `option httplog` lines.
    Haproxy,
    /// Caddy's JSON access log.
    Caddy,
    /// Traefik's JSON access log.
    Traefik,
    /// AWS Application Load Balancer access logs.
    Alb,
    /// Envoy JSON access logs (keys named after the default format's operators).
    EnvoyJson,
    /// Kong Gateway's logging-plugin JSON.
    Kong,
}

impl Format {
    /// The origin its transactions are recorded under.
    pub fn origin(self) -> Origin {
        match self {
            Format::Har => Origin::Har,
            _ => Origin::AccessLog,
        }
    }

    /// The formats of one request per line, in the order [`detect`] tries them.
    pub const LINES: [Format; 9] = [
        Format::NginxJson,
        Format::Caddy,
        Format::Traefik,
        Format::EnvoyJson,
        Format::Kong,
        Format::Combined,
        Format::Envoy,
        Format::Haproxy,
        Format::Alb,
    ];

    /// Reads one line of a line format ([`Format::LINES`]); HAR has no lines.
    pub fn parse_line(self, line: &str) -> Result<Record, Skip> {
        match self {
            Format::Combined => combined::parse(line),
            Format::NginxJson => nginx_json::parse(line),
            Format::Envoy => envoy::parse(line),
            Format::Haproxy => haproxy::parse(line),
            Format::Caddy => caddy::parse(line),
            Format::Traefik => traefik::parse(line),
            Format::Alb => alb::parse(line),
            Format::EnvoyJson => envoy_json::parse(line),
            Format::Kong => kong::parse(line),
            Format::Har => Err(Skip::Syntax),
        }
    }

    /// The format a `--source` name (or [`Format::name`]) stands for: `nginx` and `apache`
    /// are `combined`; `None` for an unknown name (and for `auto`).
    pub fn from_name(name: &str) -> Option<Format> {
        let name = name.trim().to_ascii_lowercase();
        match name.as_str() {
            "nginx" | "apache" => Some(Format::Combined),
            _ => std::iter::once(Format::Har)
                .chain(Format::LINES)
                .find(|f| f.name() == name),
        }
    }

    /// The name used by `--source` and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Format::Har => "har",
            Format::Combined => "combined",
            Format::NginxJson => "nginx-json",
            Format::Envoy => "envoy",
            Format::Haproxy => "haproxy",
            Format::Caddy => "caddy",
            Format::Traefik => "traefik",
            Format::Alb => "alb",
            Format::EnvoyJson => "envoy-json",
            Format::Kong => "kong",
        }
    }
}

/// Limits and defaults of the sources.
#[derive(Clone, Debug)]
pub struct SourceConfig {
    /// Longest log line read, in bytes (longer lines are counted under `line_too_long` and
    /// skipped without being held).
    pub max_line_bytes: usize,
    /// Largest HAR entry, in bytes of JSON: an entry is held whole while it is read, so this
    /// bounds memory; a larger one stops the file (JSON cannot be resynchronised), counted
    /// under `entry_too_large`.
    pub max_entry_bytes: u64,
    /// Bytes of each HAR body kept as a sample (full lengths are always counted).
    pub body_sample_bytes: usize,
    /// Host of transactions whose log names none (combined logs); [`UNKNOWN_HOST`] without it.
    pub host: Option<String>,
}

impl Default for SourceConfig {
    fn default() -> Self {
        SourceConfig {
            max_line_bytes: 64 * 1024,
            max_entry_bytes: 64 << 20,
            body_sample_bytes: 64 * 1024,
            host: None,
        }
    }
}

/// What reading a source did: lines or entries read, transactions made, and every line or
/// entry skipped, by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct SourceStats {
    /// Lines read (log files) or entries read (HAR).
    pub lines: u64,
    /// Empty lines (not counted as skipped).
    pub blank_lines: u64,
    /// Transactions made.
    pub transactions: u64,
    /// Transactions given the placeholder or `--host` host because their line names none.
    pub host_unknown: u64,
    /// Skipped: the line is longer than `max_line_bytes`.
    pub line_too_long: u64,
    /// Skipped: the line is not UTF-8 (the servers escape other bytes: a damaged line).
    pub invalid_utf8: u64,
    /// Skipped: the line does not follow the format (broken quoting, missing fields, not JSON).
    pub bad_syntax: u64,
    /// Skipped: no readable date, or one out of range.
    pub bad_time: u64,
    /// Skipped: no readable request (method and target).
    pub bad_request: u64,
    /// Skipped: no readable status code.
    pub bad_status: u64,
    /// Skipped: a number out of range (byte counts, request times, HAR timings).
    pub bad_number: u64,
    /// Skipped: a HAR entry of the wrong shape.
    pub bad_entry: u64,
    /// Skipped: a HAR entry whose URL is not `http:` or `https:` (`data:`, `blob:`, ...).
    pub not_http: u64,
    /// A HAR file stopped at an entry larger than `max_entry_bytes`.
    pub entry_too_large: u64,
    /// Skipped: a HAR entry answered by the browser's cache (it never reached the server).
    pub from_cache: u64,
}

crate::counters!(SourceStats {
    lines,
    blank_lines,
    transactions,
    host_unknown,
    line_too_long,
    invalid_utf8,
    bad_syntax,
    bad_time,
    bad_request,
    bad_status,
    bad_number,
    bad_entry,
    not_http,
    entry_too_large,
    from_cache,
});

/// Why a line or an entry was skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Skip {
    /// Longer than the line cap.
    #[error("line too long")]
    LineTooLong,
    /// Not UTF-8.
    #[error("not UTF-8")]
    InvalidUtf8,
    /// Not of the format.
    #[error("does not follow the format")]
    Syntax,
    /// No readable date.
    #[error("no readable date")]
    Time,
    /// No readable request.
    #[error("no readable request")]
    Request,
    /// No readable status.
    #[error("no readable status")]
    Status,
    /// A number out of range.
    #[error("number out of range")]
    Number,
    /// A HAR entry of the wrong shape.
    #[error("HAR entry of the wrong shape")]
    Entry,
    /// Not an HTTP URL.
    #[error("not an http: or https: URL")]
    NotHttp,
    /// Answered by a browser's cache.
    #[error("answered by the browser's cache")]
    FromCache,
}

impl SourceStats {
    /// Counts a skipped line or entry.
    pub fn skip(&mut self, why: Skip) {
        let c = match why {
            Skip::LineTooLong => &mut self.line_too_long,
            Skip::InvalidUtf8 => &mut self.invalid_utf8,
            Skip::Syntax => &mut self.bad_syntax,
            Skip::Time => &mut self.bad_time,
            Skip::Request => &mut self.bad_request,
            Skip::Status => &mut self.bad_status,
            Skip::Number => &mut self.bad_number,
            Skip::Entry => &mut self.bad_entry,
            Skip::NotHttp => &mut self.not_http,
            Skip::FromCache => &mut self.from_cache,
        };
        *c += 1;
    }

    /// The reasons lines or entries were skipped, with their counts (zeros left out).
    pub fn skipped_by_reason(&self) -> Vec<(&'static str, u64)> {
        [
            ("line_too_long", self.line_too_long),
            ("invalid_utf8", self.invalid_utf8),
            ("bad_syntax", self.bad_syntax),
            ("bad_time", self.bad_time),
            ("bad_request", self.bad_request),
            ("bad_status", self.bad_status),
            ("bad_number", self.bad_number),
            ("bad_entry", self.bad_entry),
            ("not_http", self.not_http),
            ("entry_too_large", self.entry_too_large),
            ("from_cache", self.from_cache),
        ]
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .collect()
    }

    /// Lines or entries skipped, all reasons.
    pub fn skipped(&self) -> u64 {
        self.skipped_by_reason().iter().map(|(_, n)| n).sum()
    }
}

/// Errors that stop a source (a skipped line is not one: it is counted).
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The file could not be read.
    #[error("read error: {0}")]
    Io(#[from] std::io::Error),
    /// A HAR file is not readable JSON past some point (what came before was read).
    #[error("HAR file unreadable at line {line}, column {column}: {reason}")]
    Har {
        /// Line of the error.
        line: usize,
        /// Column of the error.
        column: usize,
        /// What is wrong.
        reason: String,
    },
    /// A HAR entry larger than the cap: the file stops there.
    #[error("HAR entry larger than {0} bytes (the entry cap): the rest of the file is not read")]
    EntryTooLarge(u64),
    /// The format could not be told from the file's first lines.
    #[error(
        "cannot tell the format from the first lines ({0}); give --source har|nginx|nginx-json|apache|envoy|envoy-json|haproxy|caddy|traefik|alb|kong"
    )]
    Unknown(String),
}

/// One request and its outcome, as a log or a HAR entry gives them: what
/// [`Record::into_transaction`] turns into an [`HttpTransaction`].
#[derive(Clone, Debug, Default)]
pub struct Record {
    /// Method as logged.
    pub method: Vec<u8>,
    /// Request target (origin form: path and query) as logged.
    pub target: Vec<u8>,
    /// Version, [`Version::UNKNOWN`] when not logged.
    pub version: Option<Version>,
    /// Final status; `None`: no response (a HAR entry with status 0).
    pub status: Option<u16>,
    /// The client's address, when logged.
    pub client: Option<IpAddr>,
    /// The server's address and port, when logged.
    pub server: Option<(IpAddr, u16)>,
    /// The Host the request named; `None` when the format has none.
    pub host: Option<Vec<u8>>,
    /// First and last byte of the request.
    pub request_ts: (Timestamp, Timestamp),
    /// First and last byte of the response; `None` when the log has no timing (then the
    /// response is dated like the request and the transaction is tagged
    /// [`Tags::NO_LATENCY`]).
    pub response_ts: Option<(Timestamp, Timestamp)>,
    /// Request header fields (besides Host), in order.
    pub request_headers: Vec<(Vec<u8>, Vec<u8>)>,
    /// Response header fields, in order.
    pub response_headers: Vec<(Vec<u8>, Vec<u8>)>,
    /// Request body.
    pub request_body: Body,
    /// Response body.
    pub response_body: Body,
}

/// Most header fields kept per message of a record.
const MAX_FIELDS: usize = 256;

impl Record {
    /// The transaction of this record, numbered `seq` in its file (its flow id is derived
    /// from it). `default_host` is used when the record names no host.
    pub fn into_transaction(
        self,
        seq: u64,
        default_host: &str,
        stats: &mut SourceStats,
    ) -> HttpTransaction {
        let host = match &self.host {
            Some(h) if !h.is_empty() => h.clone(),
            _ => {
                stats.host_unknown += 1;
                default_host.as_bytes().to_vec()
            }
        };
        let version = self.version.unwrap_or(Version::UNKNOWN);
        let mut fields: Vec<(&[u8], &[u8])> = vec![(b"Host", &host)];
        fields.extend(
            self.request_headers
                .iter()
                .filter(|(n, _)| !n.eq_ignore_ascii_case(b"host"))
                .take(MAX_FIELDS)
                .map(|(n, v)| (n.as_slice(), v.as_slice())),
        );
        let (q_first, q_last) = self.request_ts;
        let request = HttpMessage {
            head: MessageHead::from_parts(Some((&self.method, &self.target)), 0, version, &fields),
            first_ts: q_first,
            last_ts: q_last,
            body: self.request_body,
        };
        let mut tags = Tags::default();
        let response = match self.status {
            Some(code) => {
                let (first_ts, last_ts) = self.response_ts.unwrap_or_else(|| {
                    tags.insert(Tags::NO_LATENCY);
                    (q_last, q_last)
                });
                let fields: Vec<(&[u8], &[u8])> = self
                    .response_headers
                    .iter()
                    .take(MAX_FIELDS)
                    .map(|(n, v)| (n.as_slice(), v.as_slice()))
                    .collect();
                Some(HttpMessage {
                    head: MessageHead::from_parts(None, code, version, &fields),
                    first_ts,
                    last_ts,
                    body: self.response_body,
                })
            }
            None => {
                tags.insert(Tags::NO_RESPONSE);
                None
            }
        };
        let unspecified = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        let (server_ip, server_port) = self.server.unwrap_or((unspecified, 0));
        HttpTransaction {
            // Apart from the wire's flow ids in practice (those are FNV hashes of addresses).
            flow: FlowId(seq | 1 << 63),
            orig: Endpoint {
                ip: self.client.unwrap_or(unspecified),
                port: 0,
            },
            resp: Endpoint {
                ip: server_ip,
                port: server_port,
            },
            depth: 1,
            request: Some(request),
            response,
            interim: Vec::new(),
            tags,
            tls: None,
            websocket: None,
        }
    }
}

/// A line of a log file, as [`LineReader`] gives it.
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// A line within the cap, without its line ending.
    Text(&'a [u8]),
    /// A line longer than the cap (its bytes were read and dropped).
    TooLong,
}

/// Reads lines of at most a cap, holding no more than the cap (plus the reader's buffer).
#[derive(Debug)]
pub struct LineReader<R> {
    inner: R,
    max: usize,
    buf: Vec<u8>,
}

impl<R: BufRead> LineReader<R> {
    /// Reads lines of at most `max` bytes from `inner`.
    pub fn new(inner: R, max: usize) -> LineReader<R> {
        LineReader {
            inner,
            max,
            buf: Vec::new(),
        }
    }

    /// The next line; `None` at the end.
    pub fn next_line(&mut self) -> std::io::Result<Option<Line<'_>>> {
        self.buf.clear();
        let mut too_long = false;
        let mut any = false;
        loop {
            let chunk = match self.inner.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                break;
            }
            any = true;
            let (part, done) = match memchr::memchr(b'\n', chunk) {
                Some(i) => (&chunk[..i], Some(i + 1)),
                None => (chunk, None),
            };
            if !too_long {
                if self.buf.len() + part.len() > self.max {
                    too_long = true;
                    self.buf.clear();
                } else {
                    self.buf.extend_from_slice(part);
                }
            }
            let used = done.unwrap_or(chunk.len());
            self.inner.consume(used);
            if done.is_some() {
                break;
            }
        }
        if !any {
            return Ok(None);
        }
        if too_long {
            return Ok(Some(Line::TooLong));
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        Ok(Some(Line::Text(&self.buf)))
    }
}

/// Reads a line-oriented log (combined or nginx JSON) from `input`, giving each transaction to
/// `emit` with its line number (from 1). Lines that cannot be read are counted in `stats`.
pub fn read_lines<R: BufRead>(
    format: Format,
    input: R,
    cfg: &SourceConfig,
    stats: &mut SourceStats,
    mut emit: impl FnMut(u64, HttpTransaction),
) -> Result<(), SourceError> {
    let host = cfg.host.as_deref().unwrap_or(UNKNOWN_HOST);
    let mut lines = LineReader::new(input, cfg.max_line_bytes);
    while let Some(line) = lines.next_line()? {
        stats.lines += 1;
        let n = stats.lines;
        let text = match line {
            Line::TooLong => {
                stats.skip(Skip::LineTooLong);
                continue;
            }
            Line::Text(t) => t,
        };
        if text.iter().all(u8::is_ascii_whitespace) {
            stats.blank_lines += 1;
            continue;
        }
        let Ok(text) = std::str::from_utf8(text) else {
            stats.skip(Skip::InvalidUtf8);
            continue;
        };
        match format.parse_line(text) {
            Ok(rec) => {
                stats.transactions += 1;
                emit(n, rec.into_transaction(n, host, stats));
            }
            Err(why) => stats.skip(why),
        }
    }
    Ok(())
}

/// Reads `input` as `format`, giving each transaction to `emit` with its number in the file
/// (line, or entry for HAR, from 1).
pub fn read<R: BufRead>(
    format: Format,
    input: R,
    cfg: &SourceConfig,
    stats: &mut SourceStats,
    emit: impl FnMut(u64, HttpTransaction),
) -> Result<(), SourceError> {
    match format {
        Format::Har => har::read(input, cfg, stats, emit),
        _ => read_lines(format, input, cfg, stats, emit),
    }
}

/// Tells the format of a file from its first bytes (up to 64 KiB): the first non-empty line is
/// read by every line format ([`Format::LINES`]) and the one format that reads it is the
/// file's; a JSON document with a `"log"` member is HAR. A line no format reads, or one that
/// several read, is an error that says what the first line looks like.
pub fn detect(mut input: impl Read) -> Result<Format, SourceError> {
    let mut head = Vec::with_capacity(64 * 1024);
    input
        .by_ref()
        .take(64 * 1024)
        .read_to_end(&mut head)
        .map_err(SourceError::Io)?;
    let text = String::from_utf8_lossy(&head);
    let Some(first) = text.lines().map(str::trim).find(|l| !l.is_empty()) else {
        return Err(SourceError::Unknown("the file is empty".into()));
    };
    let readers: Vec<Format> = Format::LINES
        .into_iter()
        .filter(|f| f.parse_line(first).is_ok())
        .collect();
    match readers[..] {
        [one] => return Ok(one),
        [] => {}
        _ => {
            let names: Vec<&str> = readers.iter().map(|f| f.name()).collect();
            return Err(SourceError::Unknown(format!(
                "the first line reads as several formats: {}",
                names.join(", ")
            )));
        }
    }
    if first.starts_with('{') {
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        if compact.starts_with("{\"log\":") || compact.contains("\"entries\":[") {
            return Ok(Format::Har);
        }
        return Err(SourceError::Unknown(
            "JSON, but neither a HAR document nor a JSON log line of a known format".into(),
        ));
    }
    let shown: String = first.chars().take(60).collect();
    Err(SourceError::Unknown(format!("first line: {shown:?}")))
}

/// A date out of the range of [`Timestamp`] (years 1678 to 2262) is `None`.
pub(crate) fn timestamp(t: ::time::OffsetDateTime) -> Option<Timestamp> {
    i64::try_from(t.unix_timestamp_nanos()).ok().map(Timestamp)
}

/// An RFC 3339 date (`2026-12-07T01:15:27.123Z`, `...+00:00`).
pub(crate) fn rfc3339(s: &str) -> Result<Timestamp, Skip> {
    ::time::OffsetDateTime::parse(s, &::time::format_description::well_known::Rfc3339)
        .ok()
        .and_then(timestamp)
        .ok_or(Skip::Time)
}

/// Seconds since the epoch (nginx's `msec`, Caddy's `ts`): finite, from 1970 to 2262.
pub(crate) fn epoch_seconds(s: f64) -> Result<Timestamp, Skip> {
    if !s.is_finite() || !(0.0..=9.2e9).contains(&s) {
        return Err(Skip::Time);
    }
    Ok(Timestamp((s * 1e9).round() as i64))
}

/// Seconds (a log's request time) as nanoseconds: finite, not negative, at most a day.
pub(crate) fn seconds_to_nanos(s: f64) -> Result<i64, Skip> {
    if !s.is_finite() || !(0.0..=86_400.0).contains(&s) {
        return Err(Skip::Number);
    }
    Ok((s * 1e9).round() as i64)
}

/// Logged milliseconds as nanoseconds: `-` or `-1` (not measured) is `None`; digits up to a
/// day, anything larger is absurd.
pub(crate) fn millis(s: &str) -> Result<Option<i64>, Skip> {
    if s == "-" || s == "-1" {
        return Ok(None);
    }
    match byte_count(s)? {
        ms if ms <= 86_400_000 => Ok(Some(ms as i64 * 1_000_000)),
        _ => Err(Skip::Number),
    }
}

/// First and last byte of a message.
pub(crate) type Span = (Timestamp, Timestamp);

/// A request that started at `start` and took `ns` to its last byte sent: the request dated
/// `start`, the response `ns` later (the latency is the whole request, as nginx's
/// `request_time`); without `ns` the latency is unknown.
pub(crate) fn started_at(start: Timestamp, ns: Option<i64>) -> (Span, Option<Span>) {
    let end = ns.map(|ns| start.plus_nanos(ns));
    ((start, start), end.map(|e| (e, e)))
}

/// A request logged at its end, `end`, after `ns`: the request dated `ns` before (see
/// [`started_at`]); without `ns` both are dated `end` and the latency is unknown.
pub(crate) fn ended_at(end: Timestamp, ns: Option<i64>) -> (Span, Option<Span>) {
    match ns {
        Some(ns) => started_at(end.plus_nanos(-ns), Some(ns)),
        None => ((end, end), None),
    }
}

/// `ip:port` (IPv6 with or without brackets, as proxies write it).
pub(crate) fn socket_addr(s: &str) -> Option<(IpAddr, u16)> {
    let (ip, port) = s.rsplit_once(':')?;
    let ip = ip
        .strip_prefix('[')
        .and_then(|i| i.strip_suffix(']'))
        .unwrap_or(ip);
    Some((ip.parse().ok()?, port.parse().ok()?))
}

/// A logged request line's method, target and version.
pub(crate) type RequestLine = (Vec<u8>, Vec<u8>, Option<Version>);

/// `METHOD target HTTP/x.y` (a logged request line); HTTP/0.9's `METHOD target` is read too.
pub(crate) fn request_line(r: &[u8]) -> Result<RequestLine, Skip> {
    let mut parts = r.split(|&b| b == b' ').filter(|p| !p.is_empty());
    let method = parts.next().ok_or(Skip::Request)?;
    let target = parts.next().ok_or(Skip::Request)?;
    let version = match parts.next() {
        Some(v) => Some(version(v).ok_or(Skip::Request)?),
        None => None,
    };
    if parts.next().is_some() {
        return Err(Skip::Request);
    }
    check_request(method, target)?;
    Ok((method.to_vec(), target.to_vec(), version))
}

/// A method that is a token and a target in origin form (`/...`), asterisk form or absolute
/// form (`http://...`).
pub(crate) fn check_request(method: &[u8], target: &[u8]) -> Result<(), Skip> {
    if method.is_empty()
        || method.len() > 32
        || !method.iter().all(|&b| crate::http::head::is_token(b))
    {
        return Err(Skip::Request);
    }
    let ok = target.first() == Some(&b'/')
        || target == b"*"
        || target.starts_with(b"http://")
        || target.starts_with(b"https://");
    if !ok || target.iter().any(|&b| b <= b' ' || b == 0x7f) {
        return Err(Skip::Request);
    }
    Ok(())
}

/// `HTTP/1.1`, `HTTP/2.0`, `h2`, `HTTP/3`, ... (case-insensitive).
pub(crate) fn version(v: &[u8]) -> Option<Version> {
    let v = v.to_ascii_lowercase();
    let digits = match v.as_slice() {
        b"h2" | b"h2c" => return Some(Version::HTTP_2),
        b"h3" => return Some(Version { major: 3, minor: 0 }),
        _ => v.strip_prefix(b"http/")?,
    };
    match digits {
        [a] if a.is_ascii_digit() => Some(Version {
            major: a - b'0',
            minor: 0,
        }),
        [a, b'.', b] if a.is_ascii_digit() && b.is_ascii_digit() => Some(Version {
            major: a - b'0',
            minor: b - b'0',
        }),
        _ => None,
    }
}

/// A status code: three digits, 100 to 999.
pub(crate) fn status(s: &str) -> Result<u16, Skip> {
    if s.len() != 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Skip::Status);
    }
    match s.parse::<u16>() {
        Ok(c) if c >= 100 => Ok(c),
        _ => Err(Skip::Status),
    }
}

/// A status where `0` (logged when nothing was answered: the client went away) is no response.
pub(crate) fn status_or_none(s: &str) -> Result<Option<u16>, Skip> {
    match s {
        "0" => Ok(None),
        c => status(c).map(Some),
    }
}

/// A logged method and target, both required (see [`check_request`]).
pub(crate) fn method_target(
    method: Option<String>,
    target: Option<String>,
) -> Result<(Vec<u8>, Vec<u8>), Skip> {
    let (Some(m), Some(t)) = (method, target) else {
        return Err(Skip::Request);
    };
    check_request(m.as_bytes(), t.as_bytes())?;
    Ok((m.into_bytes(), t.into_bytes()))
}

/// A logged version when present; one that does not read is refused.
pub(crate) fn optional_version(v: Option<String>) -> Result<Option<Version>, Skip> {
    v.map(|v| version(v.as_bytes()).ok_or(Skip::Request))
        .transpose()
}

/// A logged byte count when present (see [`byte_count`]); absent is 0.
pub(crate) fn optional_count(v: Option<String>) -> Result<u64, Skip> {
    v.map_or(Ok(0), |v| byte_count(&v))
}

/// A logged byte count: `-` (none) is 0; digits up to 2^53 (anything larger is absurd).
pub(crate) fn byte_count(s: &str) -> Result<u64, Skip> {
    if s == "-" || s.is_empty() {
        return Ok(0);
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Skip::Number);
    }
    match s.parse::<u64>() {
        Ok(n) if n <= 1 << 53 => Ok(n),
        _ => Err(Skip::Number),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_reader_caps_and_strips() {
        let data = b"short\r\n0123456789abcdef\nlast".to_vec();
        let mut r = LineReader::new(std::io::BufReader::with_capacity(4, &data[..]), 8);
        assert_eq!(r.next_line().unwrap(), Some(Line::Text(b"short")));
        assert_eq!(r.next_line().unwrap(), Some(Line::TooLong));
        assert_eq!(r.next_line().unwrap(), Some(Line::Text(b"last")));
        assert_eq!(r.next_line().unwrap(), None);
    }

    #[test]
    fn versions() {
        assert_eq!(version(b"HTTP/1.1"), Some(Version::HTTP_11));
        assert_eq!(version(b"h2"), Some(Version::HTTP_2));
        assert_eq!(version(b"http/2.0"), Some(Version::HTTP_2));
        assert_eq!(version(b"HTTP/x"), None);
    }

    #[test]
    fn numbers_out_of_range_are_refused() {
        assert_eq!(byte_count("99999999999999999999999"), Err(Skip::Number));
        assert_eq!(byte_count("-"), Ok(0));
        assert_eq!(status("2000"), Err(Skip::Status));
        assert_eq!(status("099"), Err(Skip::Status));
        assert_eq!(seconds_to_nanos(f64::NAN), Err(Skip::Number));
        assert_eq!(seconds_to_nanos(-1.0), Err(Skip::Number));
        assert_eq!(seconds_to_nanos(0.25), Ok(250_000_000));
    }

    #[test]
    fn detects_each_format() {
        let combined = "\n127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET /a HTTP/1.0\" 200 2326 \"-\" \"curl\"\n";
        assert_eq!(detect(combined.as_bytes()).unwrap(), Format::Combined);
        let json = "{\"time_iso8601\":\"2026-01-01T00:00:00+00:00\",\"request\":\"GET / HTTP/1.1\",\"status\":\"200\"}\n";
        assert_eq!(detect(json.as_bytes()).unwrap(), Format::NginxJson);
        let envoy = "[2016-04-15T20:17:00.310Z] \"GET /a HTTP/1.1\" 200 - 0 5 2 1 \"-\" \"c\" \"id\" \"h.test\" \"-\"\n";
        assert_eq!(detect(envoy.as_bytes()).unwrap(), Format::Envoy);
        let haproxy = "<134>Dec  7 06:30:02 localhost haproxy[77]: 127.0.0.3:49673 [07/Dec/2026:06:30:02.798] forge forge_api/forge 0/0/0/1/1 200 924 - - ---- 1/1/0/0/0 0/0 \"GET /user HTTP/1.1\"\n";
        assert_eq!(detect(haproxy.as_bytes()).unwrap(), Format::Haproxy);
        let caddy = "{\"ts\":1796625025.47,\"request\":{\"method\":\"GET\",\"uri\":\"/\"},\"status\":200}\n";
        assert_eq!(detect(caddy.as_bytes()).unwrap(), Format::Caddy);
        let har = "{\n  \"log\": {\"version\": \"1.2\", \"entries\": []}}";
        assert_eq!(detect(har.as_bytes()).unwrap(), Format::Har);
        // A line two formats read is refused, not guessed.
        let both = r#"{"ts":1,"request":{"method":"GET","uri":"/"},"status":200,"StartUTC":"2026-01-01T00:00:00Z","RequestMethod":"GET","RequestPath":"/","DownstreamStatus":200}"#;
        let err = detect(both.as_bytes()).unwrap_err().to_string();
        assert!(err.contains("several formats: caddy, traefik"), "{err}");
        let err = detect("hello world\n".as_bytes()).unwrap_err().to_string();
        assert!(err.contains("cannot tell the format"), "{err}");
        assert!(detect(&b""[..]).is_err());
    }

    /// Every line of every sample in `captures/` is read by its own format and by no other, so
    /// `detect` never mistakes one for another.
    #[test]
    fn every_sample_line_reads_as_its_own_format_only() {
        let samples = [
            ("forge.access.log", Format::Combined),
            ("forge.access.json.log", Format::NginxJson),
            ("forge.haproxy.log", Format::Haproxy),
            ("forge.caddy.log", Format::Caddy),
            ("forge.traefik.log", Format::Traefik),
            ("forge.alb.log", Format::Alb),
            ("forge.envoy-json.log", Format::EnvoyJson),
            ("forge.kong.log", Format::Kong),
        ];
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("captures");
        for (file, own) in samples {
            let text = std::fs::read_to_string(dir.join(file)).unwrap();
            assert_eq!(detect(text.as_bytes()).unwrap(), own, "{file}");
            for line in text.lines() {
                let readers: Vec<Format> = Format::LINES
                    .into_iter()
                    .filter(|f| f.parse_line(line).is_ok())
                    .collect();
                assert_eq!(readers, [own], "{file}: {line}");
            }
        }
        let envoy = "[2016-04-15T20:17:00.310Z] \"GET /a HTTP/1.1\" 200 - 0 5 2 1 \"-\" \"c\" \"id\" \"h.test\" \"-\"";
        let readers: Vec<Format> = Format::LINES
            .into_iter()
            .filter(|f| f.parse_line(envoy).is_ok())
            .collect();
        assert_eq!(readers, [Format::Envoy]);
    }

    /// For every line format: its sample's first line cut at every length is read or refused,
    /// never a panic; a file of a good line, a 1 MiB line, a line that is not UTF-8, the good
    /// line cut in half, and the good line again gives two transactions, each bad line counted
    /// under its reason, nothing fatal.
    #[test]
    fn hostile_files_of_every_line_format_are_counted() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("captures");
        for (file, format) in [
            ("forge.access.log", Format::Combined),
            ("forge.access.json.log", Format::NginxJson),
            ("forge.haproxy.log", Format::Haproxy),
            ("forge.caddy.log", Format::Caddy),
            ("forge.traefik.log", Format::Traefik),
            ("forge.alb.log", Format::Alb),
            ("forge.envoy-json.log", Format::EnvoyJson),
            ("forge.kong.log", Format::Kong),
        ] {
            let text = std::fs::read_to_string(dir.join(file)).unwrap();
            let line = text.lines().next().unwrap();
            // Cut at every length: read or refused, never a panic.
            for (i, _) in line.char_indices() {
                let _ = format.parse_line(&line[..i]);
            }
            let good = line.as_bytes();
            let mut data = good.to_vec();
            data.push(b'\n');
            data.extend(std::iter::repeat_n(b'{', 1 << 20));
            data.push(b'\n');
            data.extend_from_slice(&good[..good.len() / 2]);
            data.extend_from_slice(b"\xff\xfe\n");
            data.extend_from_slice(&good[..good.len() / 2]);
            data.push(b'\n');
            data.extend_from_slice(good);
            let mut stats = SourceStats::default();
            let mut n = 0;
            read(
                format,
                &data[..],
                &SourceConfig::default(),
                &mut stats,
                |_, _| n += 1,
            )
            .unwrap();
            assert_eq!((n, stats.transactions, stats.lines), (2, 2, 5), "{file}");
            assert_eq!(stats.line_too_long, 1, "{file}");
            assert_eq!(stats.invalid_utf8, 1, "{file}");
            assert_eq!(
                stats.skipped(),
                3,
                "{file}: {:?}",
                stats.skipped_by_reason()
            );
        }
    }

    #[test]
    fn record_without_timing_has_no_latency() {
        let rec = Record {
            method: b"GET".to_vec(),
            target: b"/x?y=1".to_vec(),
            status: Some(200),
            ..Record::default()
        };
        let mut stats = SourceStats::default();
        let t = rec.into_transaction(7, UNKNOWN_HOST, &mut stats);
        assert_eq!(t.latency_ns(), None);
        assert_eq!(t.status(), Some(200));
        let head = &t.request.as_ref().unwrap().head;
        assert_eq!(head.header("host"), Some(UNKNOWN_HOST.as_bytes()));
        assert_eq!(head.target(), b"/x?y=1");
        assert_eq!(stats.host_unknown, 1);
    }
}
