//! Logging: the process's one `tracing` subscriber, and where its events go.
//!
//! **Owns:** installing the global subscriber ([`init`], once per process), the level filter
//! (the `SHADOWTAP_LOG` environment variable, [`FILTER_ENV`]), the choice between the journal and
//! standard error ([`choose_sink`]), and the logfmt line written to standard error ([`Logfmt`]).
//! Every other module only emits events (`tracing::{info, warn, error}!` with a message and
//! named fields) and knows nothing of where they go.
//!
//! **May not touch:** anything but the subscriber. It opens no file, never writes to standard
//! output (that is the commands' results), and does not format what a command prints for its
//! user (`--help`, `ingest` progress, `log` rows and statistics stay plain output). It never
//! fails a command: a journal that cannot be reached means standard error, an invalid filter
//! means the default filter and a warning.
//!
//! # Where events go
//!
//! - Under systemd with the journal on standard error ([`choose_sink`]: `JOURNAL_STREAM` names
//!   the device and inode of the stream that standard error still is, as `systemd.exec(5)`
//!   tells services to check) and the journal's socket answering: the journal's native protocol
//!   (`tracing-journald`). The message becomes `MESSAGE`, the level `PRIORITY` (error 3,
//!   warn 4, info 6, debug and trace 7, syslog's meanings), and each field a journal field of
//!   the same name in upper case, `.` turned into `_` (`worker` → `WORKER`, so
//!   `journalctl -u shadowtap WORKER=0`), with no prefix; the crate adds `TARGET` (the Rust
//!   module), `CODE_FILE`, `CODE_LINE` and `SYSLOG_IDENTIFIER=shadowtap`. Values are sent as
//!   they are (the protocol is length-encoded: nothing to escape). Field names must therefore
//!   not be one of those, nor `MESSAGE` or `PRIORITY`.
//! - Anywhere else: one logfmt line per event on standard error, byte for byte the format the
//!   daemon always wrote ([`Logfmt`]).
//!
//! # The filter
//!
//! `SHADOWTAP_LOG` takes `tracing-subscriber`'s `EnvFilter` syntax (`warn`,
//! `info,shadowtap::sensor::writer=debug`, …). Unset or empty: [`DEFAULT_FILTER`], i.e. `info`,
//! with sqlx's per-statement log (`sqlx::query`, whose slow-statement warnings carry whole SQL
//! statements) off unless named.

use std::ffi::OsStr;
use std::fmt::{self, Write as _};
use std::sync::OnceLock;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt as _;

/// The environment variable that holds the level filter (`EnvFilter` syntax).
pub const FILTER_ENV: &str = "SHADOWTAP_LOG";

/// The filter when [`FILTER_ENV`] is unset or empty: `info` and above, sqlx's per-statement
/// log off (it was never shown before events went through `tracing`, and a slow statement's
/// warning carries the whole statement).
pub const DEFAULT_FILTER: &str = "info,sqlx::query=off";

/// Set by systemd for a service whose standard output or error is connected to the journal:
/// `<device>:<inode>` of that stream (`systemd.exec(5)`).
pub const JOURNAL_STREAM_ENV: &str = "JOURNAL_STREAM";

/// Where events are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sink {
    /// The journal's native protocol: fields become journal fields.
    Journald,
    /// One logfmt line per event on standard error.
    Stderr,
}

/// Installs the process's subscriber, once: later calls install nothing and return where the
/// first one sent events. Reads [`FILTER_ENV`] and [`JOURNAL_STREAM_ENV`]; a journal that
/// [`choose_sink`] picks but whose socket does not answer falls back to standard error.
pub fn init() -> Sink {
    static INSTALLED: OnceLock<Sink> = OnceLock::new();
    *INSTALLED.get_or_init(install)
}

fn install() -> Sink {
    let (filter, refused) = filter(std::env::var_os(FILTER_ENV).as_deref());
    let journal_stream = std::env::var_os(JOURNAL_STREAM_ENV);
    let wanted = choose_sink(journal_stream.as_deref(), stderr_identity());
    let journald = match wanted {
        Sink::Journald => tracing_journald::layer().ok().map(|l| {
            l.with_field_prefix(None)
                .with_syslog_identifier("shadowtap".into())
                .with_priority_mappings(priorities())
        }),
        Sink::Stderr => None,
    };
    let sink = if journald.is_some() {
        Sink::Journald
    } else {
        Sink::Stderr
    };
    let stderr = (sink == Sink::Stderr).then(|| stderr_layer(std::io::stderr));
    // Fails only if another subscriber was installed first (not by this crate): keep it.
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(journald)
        .with(stderr)
        .try_init();
    if let Some(error) = refused {
        tracing::warn!(
            value = std::env::var_os(FILTER_ENV).map(|v| v.to_string_lossy().into_owned()),
            error,
            "SHADOWTAP_LOG is not a valid filter; the default applies"
        );
    }
    if wanted == Sink::Journald && sink == Sink::Stderr {
        tracing::warn!(
            "standard error is the journal's stream but its socket does not answer; logging to standard error"
        );
    }
    sink
}

/// The logfmt layer on `writer` (standard error, or a buffer in tests).
fn stderr_layer<S, W>(writer: W) -> impl tracing_subscriber::Layer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + 'static,
{
    tracing_subscriber::fmt::layer()
        .event_format(Logfmt)
        .with_writer(writer)
        // A standard error that cannot be written to is not worth a panic in `eprintln!`.
        .log_internal_errors(false)
}

/// syslog's meanings: `level=info` is `PRIORITY=6` ("informational"), not the crate's default
/// of 5 ("notice").
fn priorities() -> tracing_journald::PriorityMappings {
    use tracing_journald::Priority;
    tracing_journald::PriorityMappings {
        error: Priority::Error,
        warn: Priority::Warning,
        info: Priority::Informational,
        debug: Priority::Debug,
        trace: Priority::Debug,
    }
}

/// The filter from the variable's value, and why the value was refused (then the default
/// applies). Unset, empty or blank: the default.
fn filter(value: Option<&OsStr>) -> (EnvFilter, Option<String>) {
    let default = || EnvFilter::builder().parse_lossy(DEFAULT_FILTER);
    let Some(value) = value.filter(|v| !v.to_string_lossy().trim().is_empty()) else {
        return (default(), None);
    };
    let Some(text) = value.to_str() else {
        return (default(), Some("not UTF-8".into()));
    };
    match EnvFilter::builder().parse(text) {
        Ok(f) => (f, None),
        Err(e) => (default(), Some(e.to_string())),
    }
}

/// Journal or standard error, from the environment alone: the journal when `JOURNAL_STREAM`
/// (`<device>:<inode>`, decimal) names the stream that standard error is (`stderr`: its device
/// and inode, `None` when it could not be read). systemd sets the variable for a service whose
/// output goes to the journal; a child whose standard error was redirected (a pipe, a file)
/// inherits the variable but not the stream, and keeps the plain line.
pub fn choose_sink(journal_stream: Option<&OsStr>, stderr: Option<(u64, u64)>) -> Sink {
    let named = journal_stream.and_then(|v| {
        let (dev, ino) = v.to_str()?.split_once(':')?;
        Some((dev.parse::<u64>().ok()?, ino.parse::<u64>().ok()?))
    });
    match (named, stderr) {
        (Some(n), Some(s)) if n == s => Sink::Journald,
        _ => Sink::Stderr,
    }
}

/// Device and inode of standard error (`fstat(2)`), `None` if it is closed.
fn stderr_identity() -> Option<(u64, u64)> {
    use std::os::fd::AsFd as _;
    use std::os::unix::fs::MetadataExt as _;
    let fd = std::io::stderr().as_fd().try_clone_to_owned().ok()?;
    let meta = std::fs::File::from(fd).metadata().ok()?;
    Some((meta.dev(), meta.ino()))
}

/// The line on standard error, one per event:
///
/// ```text
/// shadowtap: level=<error|warn|info|debug|trace> msg="<message>" key=value key2="quoted value"
/// ```
///
/// - Fields in the order the event names them, after `msg` (an event without a message has
///   `msg=""`). An event from another crate (sqlx) ends with `target="<its module>"`.
/// - Integers and booleans bare (`worker=0`, `over_budget=false`), floats bare; everything
///   else — strings, `%display` and `?debug` values, errors — in double quotes.
/// - In quotes, `"` is `\"` and `\` is `\\`; newline, carriage return and tab are `\n`, `\r`,
///   `\t`; every other control character (C0, DEL, C1), the Unicode line and paragraph
///   separators and the bidirectional overrides and isolates are `\uXXXX`. Values come from
///   the wire (host names, paths): with this, no value can end the line, start another one or
///   close its quotes to add a `key=` of its own.
/// - Keys are the events' field names (from the code, never from the wire); a character other
///   than ASCII letters, digits, `_`, `.` and `-` becomes `_`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Logfmt;

impl<S, N> FormatEvent<S, N> for Logfmt
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        writer.write_str(&render(event))
    }
}

/// One event as its logfmt line, newline included.
fn render(event: &Event<'_>) -> String {
    let meta = event.metadata();
    let mut fields = Fields::default();
    event.record(&mut fields);
    let mut out = String::with_capacity(64 + fields.rest.len());
    out.push_str("shadowtap: level=");
    out.push_str(level_name(meta.level()));
    out.push_str(" msg=");
    quote(&mut out, fields.message.as_deref().unwrap_or(""));
    out.push_str(&fields.rest);
    let target = meta.target();
    if target != "shadowtap" && !target.starts_with("shadowtap::") {
        out.push_str(" target=");
        quote(&mut out, target);
    }
    out.push('\n');
    out
}

/// The names the daemon's lines always used.
fn level_name(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "error",
        Level::WARN => "warn",
        Level::INFO => "info",
        Level::DEBUG => "debug",
        Level::TRACE => "trace",
    }
}

/// Collects the message apart and renders the other fields, in order, as ` key=value`.
#[derive(Default)]
struct Fields {
    message: Option<String>,
    rest: String,
}

impl Fields {
    fn key(&mut self, field: &Field) {
        self.rest.push(' ');
        let name = field.name();
        let name = name.strip_prefix("r#").unwrap_or(name);
        self.rest.extend(name.chars().map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '_'
            }
        }));
        self.rest.push('=');
    }

    fn bare(&mut self, field: &Field, value: impl fmt::Display) {
        self.key(field);
        let _ = write!(self.rest, "{value}");
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = Some(value.to_owned());
        } else {
            self.key(field);
            quote(&mut self.rest, value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        // `format_args!` messages and `%display` values arrive here: their Debug is their
        // Display.
        let text = format!("{value:?}");
        self.record_str(field, &text);
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let text = value.to_string();
        self.record_str(field, &text);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.bare(field, value);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.bare(field, value);
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        self.bare(field, value);
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        self.bare(field, value);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.bare(field, value);
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.bare(field, value);
    }
}

/// `value` in double quotes, escaped (see [`Logfmt`]).
fn quote(out: &mut String, value: &str) {
    out.reserve(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || invisible_layout(c) => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Characters that are not control characters but end a line for some readers (U+2028,
/// U+2029) or reorder what a terminal shows (bidirectional marks, embeddings, overrides,
/// isolates).
fn invisible_layout(c: char) -> bool {
    matches!(
        c,
        '\u{061c}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
    )
}

/// What `emit` logs, as the logfmt lines of standard error (for the tests of modules that log).
#[cfg(test)]
pub(crate) fn logged(emit: impl FnOnce()) -> String {
    tests::logged(emit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    /// A `MakeWriter` into a shared buffer.
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buf {
        type Writer = Buf;
        fn make_writer(&'a self) -> Buf {
            self.clone()
        }
    }

    /// What `emit` logs, through the filter `filter` and the logfmt layer.
    fn logged_with(filter: &str, emit: impl FnOnce()) -> String {
        let buf = Buf::default();
        let subscriber = tracing_subscriber::registry()
            .with(EnvFilter::builder().parse(filter).unwrap())
            .with(stderr_layer(buf.clone()));
        tracing::subscriber::with_default(subscriber, emit);
        String::from_utf8(buf.0.lock().unwrap().clone()).unwrap()
    }

    pub(super) fn logged(emit: impl FnOnce()) -> String {
        logged_with("trace", emit)
    }

    /// A logfmt reader, strict: `key=value` pairs separated by one space, values bare or in
    /// quotes with the escapes `quote` writes. `None` if the line is not that.
    fn parse(line: &str) -> Option<Vec<(String, String)>> {
        let mut pairs = Vec::new();
        let mut rest = line.strip_prefix("shadowtap: ")?;
        while !rest.is_empty() {
            let eq = rest.find('=')?;
            let key = &rest[..eq];
            if key.is_empty() || key.contains([' ', '"']) {
                return None;
            }
            rest = &rest[eq + 1..];
            let mut value = String::new();
            if let Some(q) = rest.strip_prefix('"') {
                let mut chars = q.char_indices();
                let end = loop {
                    match chars.next()? {
                        (i, '"') => break i,
                        (_, '\\') => match chars.next()?.1 {
                            'n' => value.push('\n'),
                            'r' => value.push('\r'),
                            't' => value.push('\t'),
                            '"' => value.push('"'),
                            '\\' => value.push('\\'),
                            'u' => {
                                let hex: String = (0..4)
                                    .map(|_| chars.next().map(|c| c.1))
                                    .collect::<Option<_>>()?;
                                value.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                            }
                            _ => return None,
                        },
                        (_, c) if c.is_control() => return None,
                        (_, c) => value.push(c),
                    }
                };
                rest = &q[end + 1..];
            } else {
                let end = rest.find(' ').unwrap_or(rest.len());
                value.push_str(&rest[..end]);
                if value.contains('"') {
                    return None;
                }
                rest = &rest[end..];
            }
            pairs.push((key.to_owned(), value));
            if !rest.is_empty() {
                rest = rest.strip_prefix(' ')?;
            }
        }
        Some(pairs)
    }

    #[test]
    fn the_daemons_lines_are_byte_for_byte_what_they_were() {
        // The format strings the daemon wrote with eprintln!, filled in as it filled them.
        let out = logged(|| {
            tracing::error!(
                worker = 0usize,
                pending = 1usize,
                error = %"error returned from database: disk I/O error",
                "merge failed; the flush is kept and retried"
            );
            tracing::info!(
                packets = 1200u64,
                transactions = 300u64,
                endpoints_created = 7u64,
                flushes = 4u64,
                flush_errors = 0u64,
                queue_dropped = 0u64,
                kernel_dropped = 0u64,
                "stopped"
            );
            tracing::info!("SIGTERM: stopping");
            tracing::info!(
                clients = 1u64,
                minutes = 2u64,
                sensitive = 0u64,
                client_findings = 0u64,
                used_bytes = 4096u64,
                over_budget = false,
                "retention"
            );
            tracing::info!(
                retried = 3usize,
                "the database accepts flushes again; every kept flush is merged"
            );
        });
        let expected = [
            r#"shadowtap: level=error msg="merge failed; the flush is kept and retried" worker=0 pending=1 error="error returned from database: disk I/O error""#,
            r#"shadowtap: level=info msg="stopped" packets=1200 transactions=300 endpoints_created=7 flushes=4 flush_errors=0 queue_dropped=0 kernel_dropped=0"#,
            r#"shadowtap: level=info msg="SIGTERM: stopping""#,
            r#"shadowtap: level=info msg="retention" clients=1 minutes=2 sensitive=0 client_findings=0 used_bytes=4096 over_budget=false"#,
            r#"shadowtap: level=info msg="the database accepts flushes again; every kept flush is merged" retried=3"#,
        ];
        assert_eq!(out, expected.map(|l| format!("{l}\n")).concat());
    }

    #[test]
    fn values_render_by_type() {
        let out = logged(|| {
            let missing: Option<&str> = None;
            tracing::warn!(
                s = "text",
                owned = String::from("owned"),
                disp = %std::path::Path::new("/var/lib/x.db").display(),
                dbg = ?Some(1),
                neg = -3i64,
                big = u128::MAX,
                ratio = 0.5f64,
                yes = true,
                some = Some("here"),
                none = missing,
                "m"
            );
            let e = std::io::Error::other("boom \"x\"");
            tracing::error!(error = &e as &(dyn std::error::Error + 'static), "e");
            tracing::debug!("d");
            tracing::trace!("t");
            tracing::info!(n = 1u8);
        });
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0],
            format!(
                r#"shadowtap: level=warn msg="m" s="text" owned="owned" disp="/var/lib/x.db" dbg="Some(1)" neg=-3 big={} ratio=0.5 yes=true some="here""#,
                u128::MAX
            )
        );
        assert_eq!(
            lines[1],
            r#"shadowtap: level=error msg="e" error="boom \"x\"""#
        );
        assert_eq!(lines[2], r#"shadowtap: level=debug msg="d""#);
        assert_eq!(lines[3], r#"shadowtap: level=trace msg="t""#);
        assert_eq!(lines[4], r#"shadowtap: level=info msg="" n=1"#);
        assert_eq!(lines.len(), 5);
    }

    #[test]
    fn other_crates_events_name_their_target() {
        let out = logged(|| {
            tracing::warn!(target: "sqlx::pool", error = %"gone", "ping failed");
            tracing::warn!(target: "shadowtap::sensor", "own");
            tracing::warn!(target: "shadowtapx", "not ours");
        });
        assert_eq!(
            out,
            "shadowtap: level=warn msg=\"ping failed\" error=\"gone\" target=\"sqlx::pool\"\n\
             shadowtap: level=warn msg=\"own\"\n\
             shadowtap: level=warn msg=\"not ours\" target=\"shadowtapx\"\n"
        );
    }

    #[test]
    fn hostile_values_stay_inside_their_quotes() {
        let hostile = [
            "evil\" forged=\"1",
            "evil\\\" forged=1",
            "a\nshadowtap: level=error msg=\"forged\" x=1",
            "a\r\nshadowtap: level=error msg=\"forged\"",
            "tab\there\u{0}nul\u{1b}[31mred\u{7f}del\u{85}nel",
            "line\u{2028}sep\u{2029}para\u{202e}rtl\u{2066}iso",
            "trailing backslash \\",
            "\"",
            "",
            "unicode é 日本 ok",
        ];
        for h in hostile {
            let out = logged(|| {
                tracing::warn!(
                    host = h,
                    path = %h,
                    n = 1u64,
                    "alert {h}"
                );
            });
            // One line, ended by the one newline the formatter writes.
            assert_eq!(out.matches('\n').count(), 1, "{out:?}");
            assert!(out.ends_with('\n'));
            let line = out.trim_end_matches('\n');
            assert!(
                !line.chars().any(|c| c.is_control() || invisible_layout(c)),
                "{line:?}"
            );
            // Exactly the keys the event has, each value read back as it was.
            let pairs = parse(line).unwrap_or_else(|| panic!("not logfmt: {line:?}"));
            let want: Vec<(String, String)> = [
                ("level", "warn".to_string()),
                ("msg", format!("alert {h}")),
                ("host", h.to_string()),
                ("path", h.to_string()),
                ("n", "1".to_string()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
            assert_eq!(pairs, want, "{line}");
        }
    }

    #[test]
    fn escapes_are_exactly_these() {
        let mut s = String::new();
        quote(
            &mut s,
            "q\" b\\ n\n r\r t\t z\u{0} e\u{1b} d\u{7f} c1\u{9b} ls\u{2028} é",
        );
        assert_eq!(
            s,
            r#""q\" b\\ n\n r\r t\t z\u0000 e\u001b d\u007f c1\u009b ls\u2028 é""#
        );
    }

    #[test]
    fn keys_from_code_are_kept_to_a_safe_alphabet() {
        let out = logged(|| {
            tracing::info!(db.statement = "x", r#type = "new_endpoint", "k");
        });
        assert_eq!(
            out,
            "shadowtap: level=info msg=\"k\" db.statement=\"x\" type=\"new_endpoint\"\n"
        );
    }

    #[test]
    fn the_filter_comes_from_shadowtap_log() {
        let all = || {
            tracing::error!("e");
            tracing::warn!("w");
            tracing::info!("i");
            tracing::debug!("d");
            tracing::warn!(target: "sqlx::query", "slow statement");
            tracing::warn!(target: "sqlx::pool", "pool");
        };
        let levels = |out: String| -> Vec<String> {
            out.lines()
                .map(|l| l.split(" msg=").nth(1).unwrap().to_string())
                .collect()
        };
        // The default: info and above, sqlx's statement log off.
        let (f, refused) = filter(None);
        assert!(refused.is_none());
        assert_eq!(
            f.to_string(),
            EnvFilter::builder()
                .parse(DEFAULT_FILTER)
                .unwrap()
                .to_string()
        );
        let out = logged_with(DEFAULT_FILTER, all);
        assert_eq!(
            levels(out),
            ["\"e\"", "\"w\"", "\"i\"", "\"pool\" target=\"sqlx::pool\""]
        );
        // Empty or blank is unset.
        assert!(filter(Some(OsStr::new(" "))).1.is_none());
        assert_eq!(filter(Some(OsStr::new(""))).0.to_string(), f.to_string());
        // A valid value replaces the default.
        let (f, refused) = filter(Some(OsStr::new("warn")));
        assert!(refused.is_none());
        assert_eq!(f.to_string(), "warn");
        assert_eq!(
            levels(logged_with("warn", all)),
            [
                "\"e\"",
                "\"w\"",
                "\"slow statement\" target=\"sqlx::query\"",
                "\"pool\" target=\"sqlx::pool\""
            ]
        );
        assert_eq!(
            logged_with("shadowtap=debug", all).lines().count(),
            4,
            "own events down to debug, nothing else"
        );
        // An invalid one: the default, and why.
        let (f, refused) = filter(Some(OsStr::new("info,shadowtap=loud")));
        assert!(refused.is_some());
        assert_eq!(f.to_string(), filter(None).0.to_string());
    }

    #[test]
    fn the_journal_only_when_stderr_is_the_stream_systemd_named() {
        fn s(v: &str) -> Option<&OsStr> {
            Some(OsStr::new(v))
        }
        // Run by systemd with StandardError=journal: the variable names stderr.
        assert_eq!(choose_sink(s("8:12345"), Some((8, 12345))), Sink::Journald);
        // Not under systemd.
        assert_eq!(choose_sink(None, Some((8, 12345))), Sink::Stderr);
        // Inherited by a child whose stderr is a pipe or a file: another stream.
        assert_eq!(choose_sink(s("8:12345"), Some((8, 999))), Sink::Stderr);
        assert_eq!(choose_sink(s("9:12345"), Some((8, 12345))), Sink::Stderr);
        // Stderr closed or unreadable.
        assert_eq!(choose_sink(s("8:12345"), None), Sink::Stderr);
        // Malformed values.
        for bad in [
            "",
            "8",
            "8:",
            ":12345",
            "8:12345:1",
            "x:1",
            "8:-1",
            " 8:12345",
            "8:12345 ",
        ] {
            assert_eq!(
                choose_sink(s(bad), Some((8, 12345))),
                Sink::Stderr,
                "{bad:?}"
            );
        }
        // Large device numbers (dev_t is 64 bits) are decimal too.
        assert_eq!(
            choose_sink(s("18446744073709551615:1"), Some((u64::MAX, 1))),
            Sink::Journald
        );
        // Not UTF-8.
        use std::os::unix::ffi::OsStrExt as _;
        assert_eq!(
            choose_sink(Some(OsStr::from_bytes(b"8:\xff")), Some((8, 12345))),
            Sink::Stderr
        );
    }

    #[test]
    fn stderr_identity_is_that_of_fd_2() {
        // Whatever the test harness made of fd 2, it has a device and inode (or is closed).
        if let Some((_, ino)) = stderr_identity() {
            assert!(ino > 0);
        }
    }
}
