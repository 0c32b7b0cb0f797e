//! HAProxy's HTTP log format (`option httplog`, the default `log-format` of an HTTP frontend;
//! HAProxy configuration manual, section 8.2.3 "HTTP log format":
//! <https://docs.haproxy.org/2.6/configuration.html#8.2.3>):
//!
//! ```text
//! %ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r
//! ```
//!
//! as a syslog line (RFC 3164 or 5424 header, as HAProxy sends it or as rsyslog stores it) or
//! bare (`log stdout format raw`); the header is skipped: the line is read from the first word
//! that is a client `address:port` followed by ` [`. For example (`captures/forge.haproxy.log`,
//! HAProxy 2.6):
//!
//! ```text
//! <134>Dec  7 06:30:02 localhost haproxy[77]: 127.0.0.3:49673 [07/Dec/2026:06:30:02.798] forge forge_api/forge 0/0/0/1/1 200 924 - - ---- 1/1/0/0/0 0/0 "GET /user HTTP/1.1"
//! ```
//!
//! | field | read as |
//! |---|---|
//! | `%ci:%cp` | the client's address |
//! | `%tr` | the request's first byte; HAProxy writes its **local time without a zone**: it is read as UTC (run HAProxy with `TZ=UTC`, or expect the dates shifted by the zone) |
//! | `%TR` | milliseconds to the request's last header byte (the request's end) |
//! | `%Tw`, `%Tc`, `%Tr` | queue, connect, and server time to the response headers: the response's first byte is `TR + Tw + Tc + Tr` after `%tr`, so the latency is `Tw + Tc + Tr` (the wire's latency) |
//! | `%Ta` | milliseconds from the request's first byte to the response's last byte |
//! | `%ST` | the status; `-1` (no response) gives a transaction without response |
//! | `%{+Q}r` | the request line; HAProxy's `#XX` escapes are undone; `<BADREQ>` is refused |
//!
//! A timer of `-1` (not reached: aborted, or answered by HAProxy itself) leaves the latency
//! unknown. `%B` counts the response's header bytes with its body, so the body's length stays
//! unknown (0). Captured headers (`{...|...}`, with `capture request header`) are skipped: the
//! line does not name them. The format has no Host (as `combined`: `--host`, else
//! `unknown-host.invalid`; an absolute-form request line names one), no other header, and no
//! server address.

use super::combined::word;
use super::{Record, Skip, byte_count, millis, request_line, socket_addr, status, timestamp};
use crate::time::Timestamp;
use ::time::PrimitiveDateTime;
use ::time::macros::format_description;

/// Reads one line (with or without its syslog header).
pub fn parse(line: &str) -> Result<Record, Skip> {
    let mut rest = payload(line).ok_or(Skip::Syntax)?;
    let client = word(&mut rest).and_then(socket_addr).ok_or(Skip::Syntax)?;
    let (date, after) = rest
        .trim_start()
        .strip_prefix('[')
        .and_then(|r| r.split_once(']'))
        .ok_or(Skip::Syntax)?;
    rest = after;
    let mut fields = [""; 10];
    for f in &mut fields {
        *f = word(&mut rest).ok_or(Skip::Syntax)?;
    }
    let [
        _frontend,
        backend_server,
        timers,
        code,
        bytes,
        _cc,
        _cs,
        _tsc,
        conns,
        queues,
    ] = fields;
    if !backend_server.contains('/') || conns.split('/').count() != 5 {
        return Err(Skip::Syntax);
    }
    if queues.split('/').count() != 2 {
        return Err(Skip::Syntax);
    }
    // Captured request and response headers, `{...}` each (values may hold spaces).
    rest = rest.trim_start();
    while let Some(r) = rest.strip_prefix('{') {
        rest = r.split_once("} ").ok_or(Skip::Syntax)?.1.trim_start();
    }
    let request = rest
        .trim_end()
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .filter(|r| !r.contains('"'))
        .ok_or(Skip::Syntax)?;
    let start = date_tr(date)?;
    let timers = timers
        .split('/')
        .map(|t| millis(t.trim_start_matches('+')))
        .collect::<Result<Vec<_>, _>>()?;
    let [tr_req, tw, tc, tr_srv, ta] = timers[..] else {
        return Err(Skip::Syntax);
    };
    let code = match code {
        "-1" => None,
        c => Some(status(c)?),
    };
    byte_count(bytes.trim_start_matches('+'))?;
    let (method, target, version) = request_line(&unescape(request))?;
    let request_end = start.plus_nanos(tr_req.unwrap_or(0));
    let response_ts = match (tr_req, tw, tc, tr_srv, ta) {
        (Some(a), Some(b), Some(c), Some(d), Some(total)) => {
            Some((start.plus_nanos(a + b + c + d), start.plus_nanos(total)))
        }
        _ => None,
    };
    Ok(Record {
        method,
        target,
        version,
        status: code,
        client: Some(client.0),
        request_ts: (start, request_end),
        response_ts,
        ..Record::default()
    })
}

/// The line from its first word that is `address:port` followed by ` [` (the syslog header, if
/// any, is before it: at most a dozen words).
fn payload(line: &str) -> Option<&str> {
    let starts = std::iter::once(0).chain(line.match_indices(' ').map(|(i, _)| i + 1));
    for start in starts.take(12) {
        let s = &line[start..];
        if let Some((first, after)) = s.split_once(' ')
            && after.starts_with('[')
            && socket_addr(first).is_some()
        {
            return Some(s);
        }
    }
    None
}

/// `%tr`: `07/Dec/2026:06:30:02.798`, HAProxy's local time, read as UTC.
fn date_tr(s: &str) -> Result<Timestamp, Skip> {
    let fmt = format_description!(
        "[day]/[month repr:short]/[year]:[hour]:[minute]:[second].[subsecond digits:3]"
    );
    PrimitiveDateTime::parse(s, fmt)
        .ok()
        .and_then(|t| timestamp(t.assume_utc()))
        .ok_or(Skip::Time)
}

/// Undoes HAProxy's `#XX` escapes of the request line (`"`, `#`, control bytes).
fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'#', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{Format, SourceConfig, SourceStats, read};

    const SYSLOG: &str = r#"<134>Dec  7 06:30:02 localhost haproxy[77]: 127.0.0.3:49673 [07/Dec/2026:06:30:02.798] forge forge_api/forge 0/0/0/1/1 200 924 - - ---- 1/1/0/0/0 0/0 "GET /user HTTP/1.1""#;
    /// The example of HAProxy's manual (8.2.3), with captured headers.
    const DOC: &str = r#"haproxy[14389]: 10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 {1wt.eu} {} "GET /index.html HTTP/1.1""#;

    #[test]
    fn syslog_line_of_a_real_haproxy() {
        let r = parse(SYSLOG).unwrap();
        assert_eq!(r.method, b"GET");
        assert_eq!(r.target, b"/user");
        assert_eq!(r.status, Some(200));
        assert_eq!(r.client, Some("127.0.0.3".parse().unwrap()));
        assert_eq!(r.request_ts.0.as_nanos(), 1_796_625_002_798_000_000);
        let (first, last) = r.response_ts.unwrap();
        assert_eq!(first.nanos_since(r.request_ts.1), 1_000_000);
        assert_eq!(last, first);
        assert!(r.host.is_none(), "httplog has no Host");
    }

    #[test]
    fn manual_example_bare_and_rfc5424() {
        let r = parse(DOC).unwrap();
        assert_eq!(r.target, b"/index.html");
        assert_eq!(r.request_ts.1.nanos_since(r.request_ts.0), 10_000_000);
        let (first, last) = r.response_ts.unwrap();
        assert_eq!(
            first.nanos_since(r.request_ts.1),
            99_000_000,
            "Tw + Tc + Tr"
        );
        assert_eq!(last.nanos_since(r.request_ts.0), 109_000_000, "Ta");
        let bare = &DOC["haproxy[14389]: ".len()..];
        assert_eq!(parse(bare).unwrap().target, b"/index.html");
        let rfc5424 = format!("<134>1 2009-02-06T12:14:14.655Z host haproxy 14389 - - {bare}");
        assert_eq!(parse(&rfc5424).unwrap().target, b"/index.html");
    }

    #[test]
    fn aborted_and_escaped() {
        // Client aborted before the response: timers -1, status -1, no response.
        let r = parse(r#"10.0.0.1:1 [06/Feb/2009:12:14:14.655] f b/<NOSRV> 5/-1/-1/-1/5 -1 0 - - CR-- 1/1/0/0/0 0/0 "GET /a#22b HTTP/1.1""#).unwrap();
        assert_eq!(r.status, None);
        assert!(r.response_ts.is_none());
        assert_eq!(r.target, b"/a\"b");
        // Answered by HAProxy itself (503, no server): the latency is unknown.
        let r = parse(r#"[::1]:1 [06/Feb/2009:12:14:14.655] f b/<NOSRV> 0/-1/-1/-1/0 503 217 - - SC-- 1/1/0/0/0 0/0 "GET / HTTP/1.1""#).unwrap();
        assert_eq!(r.status, Some(503));
        assert!(r.response_ts.is_none());
        assert_eq!(r.client, Some("::1".parse().unwrap()));
    }

    #[test]
    fn hostile_lines() {
        let ok = r#"10.0.0.1:1 [06/Feb/2009:12:14:14.655] f b/s 1/0/0/1/2 200 10 - - ---- 1/1/0/0/0 0/0 "GET / HTTP/1.1""#;
        assert!(parse(ok).is_ok());
        let cases = [
            (
                ok.replace("\"GET / HTTP/1.1\"", "\"GET / HTTP/1.1"),
                Skip::Syntax,
            ),
            (
                ok.replace("\"GET / HTTP/1.1\"", "\"GET \"/ HTTP/1.1\""),
                Skip::Syntax,
            ),
            (ok.replace(" 1/1/0/0/0 0/0", ""), Skip::Syntax),
            (ok.replace("1/0/0/1/2", "1/0/0/1"), Skip::Syntax),
            (ok.replace("06/Feb/2009", "30/Feb/2009"), Skip::Time),
            (ok.replace("06/Feb/2009", "06/Feb/99999"), Skip::Time),
            (ok.replace("GET / HTTP/1.1", "<BADREQ>"), Skip::Request),
            (ok.replace(" 200 ", " 2000 "), Skip::Status),
            (ok.replace("1/0/0/1/2", "1/0/0/1/99999999999"), Skip::Number),
            (ok.replace(" 10 ", " 184467440737095516150 "), Skip::Number),
            ("hello world".to_string(), Skip::Syntax),
            (String::new(), Skip::Syntax),
        ];
        for (line, why) in cases {
            assert_eq!(parse(&line).err(), Some(why), "{line}");
        }
    }

    #[test]
    fn a_file_of_hostile_lines_is_counted_not_fatal() {
        let mut data = Vec::new();
        data.extend_from_slice(SYSLOG.as_bytes());
        data.push(b'\n');
        data.extend_from_slice(&vec![b'a'; 1 << 20]);
        data.extend_from_slice(b"\n");
        data.extend_from_slice(&SYSLOG.as_bytes()[..60]);
        data.extend_from_slice(b"\xff\n");
        data.extend_from_slice(SYSLOG.as_bytes());
        let mut stats = SourceStats::default();
        let mut n = 0;
        read(
            Format::Haproxy,
            &data[..],
            &SourceConfig::default(),
            &mut stats,
            |_, _| n += 1,
        )
        .unwrap();
        assert_eq!(n, 2);
        assert_eq!(stats.line_too_long, 1);
        assert_eq!(stats.invalid_utf8, 1);
        assert_eq!(stats.host_unknown, 2);
    }
}
