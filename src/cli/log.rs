//! `shadowtap log`: one row per HTTP transaction, as TSV (Zeek's http.log columns) or JSON lines.

use super::{LogArgs, LogFormat, StatsFormat, interrupt_flag, report};
use crate::capture::{FileSource, LiveOptions, LiveSource, Next, PacketSource};
use crate::engine::Engine;
use crate::http::HttpTransaction;
use crate::time::Timestamp;
use anyhow::Context;
use std::fmt::Write as _;
use std::io::{self, BufWriter, Write};
use std::sync::atomic::Ordering;

/// Column names, in order.
pub const COLUMNS: [&str; 20] = [
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
];

/// A transaction's values in column order; `None` is unset.
pub fn values(t: &HttpTransaction) -> [Option<String>; 20] {
    let req = t.request.as_ref();
    let resp = t.response.as_ref();
    let hdr = |m: Option<&crate::http::HttpMessage>, name: &str| {
        m.and_then(|m| m.head.header(name)).map(escape)
    };
    [
        Some(t.ts().zeek().to_string()),
        Some(t.flow.to_string()),
        Some(t.orig.ip.to_string()),
        Some(t.orig.port.to_string()),
        Some(t.resp.ip.to_string()),
        Some(t.resp.port.to_string()),
        Some(t.depth.to_string()),
        req.map(|r| escape(r.head.method())),
        hdr(req, "host"),
        req.map(|r| escape(r.head.target()))
            .filter(|t| !t.is_empty()),
        req.or(resp)
            .map(|m| m.head.version())
            .filter(|v| *v != crate::http::Version::UNKNOWN)
            .map(|v| v.to_string()),
        hdr(req, "user-agent"),
        req.map(|r| r.body.len.to_string()),
        resp.map(|r| r.body.len.to_string()),
        resp.map(|r| r.head.status().to_string()),
        resp.map(|r| escape(r.head.reason())),
        t.latency_ns().map(|ns| format!("{:.3}", ns as f64 / 1e6)),
        hdr(req, "content-type"),
        hdr(resp, "content-type"),
        (!t.tags.is_empty()).then(|| t.tags.to_string()),
    ]
}

/// Bytes as text: valid UTF-8 is kept, control bytes, DEL and invalid bytes become `\xNN`.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    let _ = write!(out, "\\x{b:02x}");
                }
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// Writes rows in one of the formats.
pub struct RowWriter<W: Write> {
    out: W,
    format: LogFormat,
    line: String,
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
            line: String::new(),
        })
    }

    /// Writes one transaction.
    pub fn write(&mut self, t: &HttpTransaction) -> io::Result<()> {
        let vals = values(t);
        self.line.clear();
        match self.format {
            LogFormat::Tsv => {
                for (i, v) in vals.iter().enumerate() {
                    if i > 0 {
                        self.line.push('\t');
                    }
                    match v.as_deref() {
                        None => self.line.push('-'),
                        Some("") => self.line.push_str("(empty)"),
                        Some(s) => self.line.push_str(s),
                    }
                }
            }
            LogFormat::Jsonl => {
                let mut obj = serde_json::Map::new();
                for (name, v) in COLUMNS.iter().zip(vals) {
                    let numeric = matches!(
                        *name,
                        "id.orig_p"
                            | "id.resp_p"
                            | "trans_depth"
                            | "request_body_len"
                            | "response_body_len"
                            | "status_code"
                    );
                    let value = match v {
                        None => serde_json::Value::Null,
                        Some(s) if numeric => s
                            .parse::<u64>()
                            .map(Into::into)
                            .unwrap_or(serde_json::Value::String(s)),
                        Some(s) if *name == "ts" || *name == "latency_ms" => s
                            .parse::<f64>()
                            .ok()
                            .and_then(serde_json::Number::from_f64)
                            .map(Into::into)
                            .unwrap_or(serde_json::Value::String(s)),
                        Some(s) if *name == "tags" => s
                            .split(',')
                            .map(|t| serde_json::Value::String(t.into()))
                            .collect(),
                        Some(s) => serde_json::Value::String(s),
                    };
                    obj.insert((*name).to_string(), value);
                }
                self.line = serde_json::Value::Object(obj).to_string();
            }
        }
        self.line.push('\n');
        self.out.write_all(self.line.as_bytes())
    }

    /// Flushes the output.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Runs `shadowtap log`.
pub fn run(args: &LogArgs) -> anyhow::Result<()> {
    let mut engine = Engine::new(args.engine.config());
    let stdout = io::stdout();
    let mut rows = RowWriter::new(
        BufWriter::with_capacity(1 << 16, stdout.lock()),
        args.format,
    )?;
    let result = match &args.source.interface {
        Some(iface) => live(args, iface, &mut engine, &mut rows),
        None => files(args, &mut engine, &mut rows),
    };
    engine.finish();
    for t in engine.drain() {
        write_row(&mut rows, &t)?;
    }
    rows.flush().or_else(ignore_broken_pipe)?;
    if let Some(fmt) = args.stats {
        let stats = engine.stats();
        let mut err = io::stderr().lock();
        match fmt {
            StatsFormat::Text => report::write_text(&mut err, &stats)?,
            StatsFormat::Json => writeln!(err, "{}", serde_json::to_string_pretty(&stats)?)?,
        }
    }
    result
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
                    eprintln!("shadowtap: {e}");
                    break;
                }
            }
            for t in engine.drain() {
                write_row(rows, &t)?;
            }
        }
    }
    Ok(())
}

fn live<W: Write>(
    args: &LogArgs,
    iface: &str,
    engine: &mut Engine,
    rows: &mut RowWriter<W>,
) -> anyhow::Result<()> {
    let stop = interrupt_flag();
    let opts = LiveOptions {
        interface: iface.to_string(),
        bpf: args.source.bpf.clone(),
        snaplen: args.source.snaplen,
        promisc: args.source.promisc,
        buffer_size: args.source.buffer_size,
        ..LiveOptions::default()
    };
    let mut src = LiveSource::open(&opts).with_context(|| format!("live capture on {iface}"))?;
    eprintln!(
        "shadowtap: capturing on {iface} (link type {}); Ctrl-C to stop",
        src.link_type()
    );
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
        if wrote {
            rows.flush().or_else(ignore_broken_pipe)?;
        }
    }
    if let Some(s) = src.stats() {
        engine.set_capture_stats(s);
    }
    Ok(())
}
