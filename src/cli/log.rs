//! `shadowtap log`: one row per HTTP transaction, as TSV (Zeek's http.log columns) or JSON lines.
//!
//! Secrets are redacted in every format unless `--unredacted` is given
//! ([`crate::analyze::redact`]): the user information of the `Host` header and of absolute-form
//! targets, credential query parameters, and every value the inventory would store only in
//! redacted form (JWTs, card numbers, AWS keys, passwords, e-mail addresses, ...) in the target,
//! the User-Agent, the reason phrase and the content types.

use super::{LogArgs, LogFormat, StatsFormat, interrupt_flag, report};
use crate::analyze::protocol::protocol_of;
use crate::analyze::redact;
use crate::capture::{FileSource, LiveOptions, LiveSource, Next, PacketSource};
use crate::engine::Engine;
use crate::http::HttpTransaction;
use crate::time::Timestamp;
use anyhow::Context;
use std::io::{self, BufWriter, Write};
use std::sync::atomic::Ordering;

/// Number of columns.
pub const NCOLS: usize = 26;

/// Column names, in order. After Zeek's: `tls_sni` and `ja4`, set on transactions decrypted
/// from TLS with a key log (`-` in cleartext); `protocol` ([`protocol_of`]: `grpc`, `websocket`,
/// `h2`, `http/1.1`, `http/1.0`; GraphQL is decided by the inventory from bodies the log does not
/// read); `grpc_status`, the `grpc-status` field of a gRPC response (its trailers, or the
/// headers of a trailers-only response), `-` otherwise; `ws_msgs_orig` and `ws_msgs_resp`,
/// the data messages the client and the server sent on the WebSocket connection an upgrade opened (its
/// line comes when that connection ends; `-` on every other line).
pub const COLUMNS: [&str; NCOLS] = [
    "ts",
    "uid",
    "id.orig_h",
    "id.orig_p",
    "id.resp_h",
    "id.resp_p",
    "trans_depth",
    "method",
    "host",
    "uri",
    "version",
    "user_agent",
    "request_body_len",
    "response_body_len",
    "status_code",
    "status_msg",
    "latency_ms",
    "req_content_type",
    "resp_content_type",
    "tags",
    "tls_sni",
    "ja4",
    "protocol",
    "grpc_status",
    "ws_msgs_orig",
    "ws_msgs_resp",
];

/// One cell of a row, borrowed from the transaction (nothing is allocated per row).
#[derive(Clone, Copy, Debug)]
pub enum Cell<'a> {
    /// Not set (`-` in TSV, `null` in JSON).
    Unset,
    /// Bytes from the wire, escaped on output.
    Bytes(&'a [u8]),
    /// A count.
    Num(u64),
    /// A time.
    Ts(Timestamp),
    /// A duration in nanoseconds, printed in milliseconds.
    Ms(i64),
    /// An address.
    Ip(std::net::IpAddr),
    /// A connection id.
    Uid(crate::reassembly::FlowId),
    /// An HTTP version.
    Version(crate::http::Version),
    /// Tags (a list in JSON).
    Tags(crate::http::Tags),
}

/// A transaction's cells in column order.
pub fn cells(t: &HttpTransaction) -> [Cell<'_>; NCOLS] {
    use Cell::*;
    let req = t.request.as_ref();
    let resp = t.response.as_ref();
    fn hdr<'a>(m: Option<&'a crate::http::HttpMessage>, name: &str) -> Cell<'a> {
        m.and_then(|m| m.head.header(name))
            .map_or(Cell::Unset, Cell::Bytes)
    }
    fn opt(c: Option<Cell<'_>>) -> Cell<'_> {
        c.unwrap_or(Cell::Unset)
    }
    let version = req
        .or(resp)
        .map(|m| m.head.version())
        .filter(|v| *v != crate::http::Version::UNKNOWN);
    [
        Ts(t.ts()),
        Uid(t.flow),
        Ip(t.orig.ip),
        Num(u64::from(t.orig.port)),
        Ip(t.resp.ip),
        Num(u64::from(t.resp.port)),
        Num(u64::from(t.depth)),
        opt(req.map(|r| Bytes(r.head.method()))),
        hdr(req, "host"),
        opt(req
            .map(|r| r.head.target())
            .filter(|t| !t.is_empty())
            .map(Bytes)),
        opt(version.map(Version)),
        hdr(req, "user-agent"),
        opt(req.map(|r| Num(r.body.len))),
        opt(resp.map(|r| Num(r.body.len))),
        opt(resp.map(|r| Num(u64::from(r.head.status())))),
        opt(resp.map(|r| Bytes(r.head.reason()))),
        opt(t.latency_ns().map(Ms)),
        hdr(req, "content-type"),
        hdr(resp, "content-type"),
        if t.tags.is_empty() {
            Unset
        } else {
            Tags(t.tags)
        },
        opt(t
            .tls
            .as_ref()
            .and_then(|x| x.sni.as_deref())
            .map(|v| Bytes(v.as_bytes()))),
        opt(t
            .tls
            .as_ref()
            .and_then(|x| x.ja4.as_deref())
            .map(|v| Bytes(v.as_bytes()))),
        opt(req.map(|_| Bytes(protocol_of(t, false).name().as_bytes()))),
        hdr(resp, "grpc-status"),
        opt(t.websocket.as_ref().map(|w| Num(w.client.messages()))),
        opt(t.websocket.as_ref().map(|w| Num(w.server.messages()))),
    ]
}

/// The redacted text of column `column` (captured bytes `bytes`), or `None` when the column
/// holds nothing to redact.
pub fn redact_cell(column: usize, bytes: &[u8]) -> Option<Vec<u8>> {
    let text = String::from_utf8_lossy(bytes);
    let redacted = match COLUMNS.get(column).copied() {
        Some("host") => redact::host(&text),
        Some("uri") => redact::target(&text),
        Some("user_agent" | "status_msg" | "req_content_type" | "resp_content_type") => {
            redact::text(&text)
        }
        _ => return None,
    };
    match redacted {
        std::borrow::Cow::Borrowed(_) => None,
        std::borrow::Cow::Owned(o) => Some(o.into_bytes()),
    }
}

/// Redacted replacements for the cells that need one (see [`redact_cell`]).
fn redactions(cells: &[Cell<'_>; NCOLS]) -> [Option<Vec<u8>>; NCOLS] {
    let mut out: [Option<Vec<u8>>; NCOLS] = Default::default();
    for (i, c) in cells.iter().enumerate() {
        if let Cell::Bytes(b) = c {
            out[i] = redact_cell(i, b);
        }
    }
    out
}

/// Values of one column seen lately and their redactions: hosts, user agents, reason phrases
/// and content types repeat from row to row, and scanning them again each time would cost as
/// much as the rest of a row.
#[derive(Default)]
struct RedactionCache {
    map: std::collections::HashMap<Vec<u8>, Option<Vec<u8>>, foldhash::fast::RandomState>,
}

impl RedactionCache {
    /// Values remembered per column (the cache is emptied when full).
    const MAX: usize = 4096;
    /// Longer values are not remembered.
    const MAX_VALUE: usize = 512;

    fn get(&mut self, column: usize, bytes: &[u8]) -> Option<Vec<u8>> {
        if bytes.len() > Self::MAX_VALUE {
            return redact_cell(column, bytes);
        }
        if let Some(r) = self.map.get(bytes) {
            return r.clone();
        }
        let r = redact_cell(column, bytes);
        if self.map.len() >= Self::MAX {
            self.map.clear();
        }
        self.map.insert(bytes.to_vec(), r.clone());
        r
    }
}

/// Whether the values of a column repeat enough to be worth caching.
fn cached_column(column: usize) -> bool {
    matches!(
        COLUMNS.get(column).copied(),
        Some("host" | "user_agent" | "status_msg" | "req_content_type" | "resp_content_type")
    )
}

/// A transaction's values in column order as text (`None` is unset), as the TSV shows them
/// (redacted).
pub fn values(t: &HttpTransaction) -> [Option<String>; NCOLS] {
    let mut cells = cells(t);
    let red = redactions(&cells);
    for (c, r) in cells.iter_mut().zip(&red) {
        if let Some(r) = r {
            *c = Cell::Bytes(r);
        }
    }
    cells.map(|c| match c {
        Cell::Unset => None,
        other => {
            let mut buf = Vec::new();
            write_plain(&mut buf, other, false);
            Some(String::from_utf8_lossy(&buf).into_owned())
        }
    })
}

/// Bytes as text: valid UTF-8 is kept, control bytes, DEL and invalid bytes become `\xNN`,
/// and the invisible formatting characters that reorder or hide text (bidirectional
/// overrides, isolates and marks, zero-width characters) `\u{202e}`.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len());
    escape_into(&mut out, bytes, true);
    String::from_utf8_lossy(&out).into_owned()
}

/// See [`escape`]; `invisible`: also escape the invisible formatting characters (TSV; JSON
/// lines keep them as characters).
fn escape_into(out: &mut Vec<u8>, bytes: &[u8], invisible: bool) {
    if bytes.iter().all(|&b| (0x20..0x7f).contains(&b)) {
        out.extend_from_slice(bytes);
        return;
    }
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() {
                let mut tmp = [0u8; 4];
                for b in c.encode_utf8(&mut tmp).bytes() {
                    let _ = write!(out, "\\x{b:02x}");
                }
            } else if invisible && super::is_invisible_format(c) {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            } else {
                let mut tmp = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
}

/// Writes a cell's text (without quoting); `json_escape` also escapes `"` and `\`.
fn write_plain(out: &mut Vec<u8>, cell: Cell<'_>, json_escape: bool) {
    match cell {
        Cell::Unset => out.push(b'-'),
        Cell::Bytes(b) => {
            if json_escape {
                let mut tmp = Vec::with_capacity(b.len());
                escape_into(&mut tmp, b, false);
                for &c in &tmp {
                    match c {
                        b'"' => out.extend_from_slice(b"\\\""),
                        b'\\' => out.extend_from_slice(b"\\\\"),
                        _ => out.push(c),
                    }
                }
            } else {
                escape_into(out, b, true);
            }
        }
        Cell::Num(n) => out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes()),
        Cell::Ts(t) => {
            out.extend_from_slice(itoa::Buffer::new().format(t.secs()).as_bytes());
            fraction(out, t.subsec_nanos() / 1000, 6);
        }
        Cell::Ms(ns) => {
            out.extend_from_slice(itoa::Buffer::new().format(ns / 1_000_000).as_bytes());
            fraction(out, ((ns % 1_000_000) / 1000) as u32, 3);
        }
        Cell::Ip(std::net::IpAddr::V4(ip)) => {
            let mut b = itoa::Buffer::new();
            for (i, o) in ip.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                out.extend_from_slice(b.format(o).as_bytes());
            }
        }
        Cell::Ip(ip) => {
            let _ = write!(out, "{ip}");
        }
        Cell::Uid(id) => {
            let _ = write!(out, "{id}");
        }
        Cell::Version(v) => {
            let _ = write!(out, "{v}");
        }
        Cell::Tags(t) => {
            let _ = write!(out, "{t}");
        }
    }
}

/// Writes `.` and `v` as exactly `digits` decimal digits.
fn fraction(out: &mut Vec<u8>, v: u32, digits: u32) {
    out.push(b'.');
    let mut div = 10u32.pow(digits - 1);
    while div > 0 {
        out.push(b'0' + ((v / div) % 10) as u8);
        div /= 10;
    }
}

/// Writes rows in one of the formats.
pub struct RowWriter<W: Write> {
    out: W,
    format: LogFormat,
    line: Vec<u8>,
    redact: bool,
    caches: [RedactionCache; NCOLS],
}

impl<W: Write> RowWriter<W> {
    /// Writes the header (TSV) and returns the writer.
    pub fn new(mut out: W, format: LogFormat) -> io::Result<Self> {
        if format == LogFormat::Tsv {
            writeln!(out, "{}", COLUMNS.join("\t"))?;
        }
        Ok(RowWriter {
            out,
            format,
            line: Vec::with_capacity(1024),
            redact: true,
            caches: Default::default(),
        })
    }

    /// Prints secrets as captured (`--unredacted`); rows are redacted otherwise.
    pub fn unredacted(mut self) -> Self {
        self.redact = false;
        self
    }

    /// Writes one transaction.
    pub fn write(&mut self, t: &HttpTransaction) -> io::Result<()> {
        let line = &mut self.line;
        line.clear();
        let mut cells = cells(t);
        let mut red: [Option<Vec<u8>>; NCOLS] = Default::default();
        if self.redact {
            for (i, c) in cells.iter().enumerate() {
                if let Cell::Bytes(b) = c {
                    red[i] = if cached_column(i) {
                        self.caches[i].get(i, b)
                    } else {
                        redact_cell(i, b)
                    };
                }
            }
        }
        for (c, r) in cells.iter_mut().zip(&red) {
            if let Some(r) = r {
                *c = Cell::Bytes(r);
            }
        }
        match self.format {
            LogFormat::Tsv => {
                for (i, cell) in cells.into_iter().enumerate() {
                    if i > 0 {
                        line.push(b'\t');
                    }
                    match cell {
                        Cell::Bytes([]) => line.extend_from_slice(b"(empty)"),
                        c => write_plain(line, c, false),
                    }
                }
            }
            LogFormat::Jsonl => {
                line.push(b'{');
                for (i, (name, cell)) in COLUMNS.iter().zip(cells).enumerate() {
                    if i > 0 {
                        line.push(b',');
                    }
                    let _ = write!(line, "\"{name}\":");
                    match cell {
                        Cell::Unset => line.extend_from_slice(b"null"),
                        Cell::Num(_) | Cell::Ts(_) | Cell::Ms(_) => write_plain(line, cell, true),
                        Cell::Tags(t) => {
                            line.push(b'[');
                            for (k, n) in t.names().enumerate() {
                                if k > 0 {
                                    line.push(b',');
                                }
                                let _ = write!(line, "\"{n}\"");
                            }
                            line.push(b']');
                        }
                        other => {
                            line.push(b'"');
                            write_plain(line, other, true);
                            line.push(b'"');
                        }
                    }
                }
                line.push(b'}');
            }
        }
        line.push(b'\n');
        self.out.write_all(line)
    }

    /// Flushes the output.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Runs `shadowtap log`.
pub fn run(args: &LogArgs) -> anyhow::Result<()> {
    let mut cfg = args.engine.config_with_keys()?;
    // The log shows lengths, never body content: keep no samples unless asked.
    cfg.http.body_sample_bytes = args.engine.body_sample.unwrap_or(0);
    let mut engine = Engine::new(cfg);
    // Every source opens before anything is printed: a missing file is an error, not a
    // header, a report of nothing and a note that no packets were read.
    let live_src = match &args.source.interface {
        Some(iface) => Some(open_live(args, iface)?),
        None => {
            for path in &args.source.files {
                FileSource::open(path, args.source.bpf.as_deref())?;
            }
            None
        }
    };
    let stdout = PipeWatch::new(io::stdout().lock());
    let closed = stdout.closed.clone();
    let mut rows = RowWriter::new(BufWriter::with_capacity(1 << 16, stdout), args.format)?;
    if args.unredacted {
        eprintln!(
            "shadowtap: warning: --unredacted: passwords, tokens, API keys, card numbers and other secrets are printed as captured; keep this output as safe as the capture itself"
        );
        rows = rows.unredacted();
    }
    let result = match live_src {
        Some(src) => live(src, &mut engine, &mut rows),
        None => files(args, &mut engine, &mut rows),
    };
    engine.finish();
    for t in engine.drain() {
        write_row(&mut rows, &t)?;
    }
    // The log lists HTTP transactions; TLS handshakes are for the inventory (`ingest`).
    engine.drain_tls().for_each(drop);
    rows.flush().or_else(ignore_broken_pipe)?;
    if let Some(fmt) = args.stats {
        let stats = engine.stats();
        let mut err = io::stderr().lock();
        match fmt {
            StatsFormat::Text => report::write_text(&mut err, &stats)?,
            StatsFormat::Json => writeln!(err, "{}", serde_json::to_string_pretty(&stats)?)?,
        }
    }
    result?;
    if closed.load(Ordering::Relaxed) {
        // The reader went away: end as the other commands do (quietly, by SIGPIPE).
        return Err(io::Error::from(io::ErrorKind::BrokenPipe).into());
    }
    Ok(())
}

/// Standard output that notes when its reader went away (EPIPE) and takes everything quietly
/// from then on: the log keeps reading, so that `--stats` still counts every packet.
struct PipeWatch<W: Write> {
    out: W,
    closed: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl<W: Write> PipeWatch<W> {
    fn new(out: W) -> Self {
        PipeWatch {
            out,
            closed: Default::default(),
        }
    }

    fn check(&self, r: io::Result<()>) -> io::Result<()> {
        match r {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed.store(true, Ordering::Relaxed);
                Ok(())
            }
            r => r,
        }
    }
}

impl<W: Write> Write for PipeWatch<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.closed.load(Ordering::Relaxed) {
            return Ok(buf.len());
        }
        let r = self.out.write_all(buf);
        self.check(r).map(|()| buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.closed.load(Ordering::Relaxed) {
            return Ok(());
        }
        let r = self.out.flush();
        self.check(r)
    }
}

fn write_row<W: Write>(rows: &mut RowWriter<W>, t: &HttpTransaction) -> anyhow::Result<()> {
    rows.write(t).or_else(ignore_broken_pipe)?;
    Ok(())
}

fn ignore_broken_pipe(e: io::Error) -> io::Result<()> {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Ok(())
    } else {
        Err(e)
    }
}

fn files<W: Write>(
    args: &LogArgs,
    engine: &mut Engine,
    rows: &mut RowWriter<W>,
) -> anyhow::Result<()> {
    for path in &args.source.files {
        let mut src = FileSource::open(path, args.source.bpf.as_deref())?;
        loop {
            match src.next_packet() {
                Ok(Next::Packet(p)) => engine.packet(&p),
                Ok(Next::End) => break,
                Ok(Next::Idle) => continue,
                Err(e) => {
                    // A truncated file still yields everything before the damage.
                    let why = match &e {
                        crate::capture::CaptureError::Read { source, .. } => source.to_string(),
                        other => other.to_string(),
                    };
                    eprintln!(
                        "shadowtap: {}: the file ends in damage ({why}); the transactions before it are listed",
                        path.display()
                    );
                    break;
                }
            }
            for t in engine.drain() {
                write_row(rows, &t)?;
            }
            engine.drain_tls().for_each(drop);
        }
    }
    Ok(())
}

fn open_live(args: &LogArgs, iface: &str) -> anyhow::Result<LiveSource> {
    let opts = LiveOptions {
        interface: iface.to_string(),
        bpf: args.source.bpf.clone(),
        snaplen: args.source.snaplen,
        promisc: args.source.promisc,
        buffer_size: args.source.buffer_size,
        ..LiveOptions::default()
    };
    let src = LiveSource::open(&opts).with_context(|| {
        format!(
            "live capture on {iface} (`ip link` lists the interfaces; capturing needs root or CAP_NET_RAW)"
        )
    })?;
    eprintln!(
        "shadowtap: capturing on {iface} (link type {}); Ctrl-C to stop",
        src.link_type()
    );
    Ok(src)
}

fn live<W: Write>(
    mut src: LiveSource,
    engine: &mut Engine,
    rows: &mut RowWriter<W>,
) -> anyhow::Result<()> {
    let stop = interrupt_flag();
    let mut last_tick = std::time::Instant::now();
    while !stop.load(Ordering::SeqCst) {
        let mut wrote = false;
        match src.next_packet()? {
            Next::Packet(p) => engine.packet(&p),
            Next::Idle | Next::End => {}
        }
        if last_tick.elapsed().as_millis() >= 500 {
            engine.tick(Timestamp::now());
            last_tick = std::time::Instant::now();
        }
        for t in engine.drain() {
            write_row(rows, &t)?;
            wrote = true;
        }
        engine.drain_tls().for_each(drop);
        if wrote {
            rows.flush().or_else(ignore_broken_pipe)?;
        }
    }
    if let Some(s) = src.stats() {
        engine.set_capture_stats(s);
    }
    Ok(())
}
