//! The combined log format of nginx (`log_format combined`, its default) and Apache
//! (`LogFormat "%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-agent}i\"" combined`), and
//! the common format (the same without the last two fields):
//!
//! ```text
//! 127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08"
//! ```
//!
//! Fields after the user agent (nginx configurations often append some) are ignored. Quoted
//! fields end at the first `"` not escaped by a backslash (Apache writes `\"`, nginx `\x22`);
//! `\xHH` escapes are undone. The line has no Host, no request or response header besides the
//! referer and user agent, and no timing: the transaction's host is the configured one (else
//! [`UNKNOWN_HOST`](super::UNKNOWN_HOST)), and it carries no latency. The date is the one the
//! server logged (nginx: when the response was done; Apache: when the request came), to the
//! second.

use super::{Record, Skip, byte_count, request_line, status, timestamp};
use crate::http::Body;
use ::time::OffsetDateTime;
use ::time::macros::format_description;

/// Reads one line (without its line ending).
pub fn parse(line: &str) -> Result<Record, Skip> {
    let mut rest = line.trim_start();
    let client = word(&mut rest).ok_or(Skip::Syntax)?;
    let _ident = word(&mut rest).ok_or(Skip::Syntax)?;
    user(&mut rest).ok_or(Skip::Syntax)?;
    rest = rest.trim_start();
    let date = rest
        .strip_prefix('[')
        .and_then(|r| r.split_once(']'))
        .ok_or(Skip::Syntax)?;
    rest = date.1;
    let ts = clf_time(date.0)?;
    let request = quoted(&mut rest).ok_or(Skip::Syntax)?;
    let code = word(&mut rest).ok_or(Skip::Syntax)?;
    let bytes = word(&mut rest).ok_or(Skip::Syntax)?;
    // Common format ends here; combined goes on with the referer and the user agent.
    let referer = optional_quoted(&mut rest)?;
    let agent = optional_quoted(&mut rest)?;
    let (method, target, version) = request_line(&request)?;
    let code = status(code)?;
    let len = byte_count(bytes)?;
    let mut request_headers = Vec::new();
    for (name, value) in [("Referer", referer), ("User-Agent", agent)] {
        if let Some(v) = value.filter(|v| v != b"-" && !v.is_empty()) {
            request_headers.push((name.as_bytes().to_vec(), v));
        }
    }
    Ok(Record {
        method,
        target,
        version,
        status: Some(code),
        client: client.parse().ok(),
        host: None,
        request_ts: (ts, ts),
        response_ts: None,
        request_headers,
        response_body: Body {
            len,
            ..Body::default()
        },
        ..Record::default()
    })
}

/// `10/Oct/2000:13:55:36 -0700`.
pub(crate) fn clf_time(s: &str) -> Result<crate::time::Timestamp, Skip> {
    let fmt = format_description!(
        "[day]/[month repr:short]/[year]:[hour]:[minute]:[second] [offset_hour sign:mandatory][offset_minute]"
    );
    OffsetDateTime::parse(s, fmt)
        .ok()
        .and_then(timestamp)
        .ok_or(Skip::Time)
}

/// The next field up to a space.
pub(crate) fn word<'a>(rest: &mut &'a str) -> Option<&'a str> {
    let s = rest.trim_start();
    if s.is_empty() || s.starts_with('"') {
        return None;
    }
    let end = s.find(' ').unwrap_or(s.len());
    *rest = &s[end..];
    Some(&s[..end])
}

/// The user field: a word, or a quoted name (Apache quotes user names with spaces).
fn user(rest: &mut &str) -> Option<()> {
    if rest.trim_start().starts_with('"') {
        quoted(rest).map(|_| ())
    } else {
        word(rest).map(|_| ())
    }
}

/// A quoted field, unescaped (`\"`, `\\`, `\xHH`); `None` when the quotes are broken.
pub(crate) fn quoted(rest: &mut &str) -> Option<Vec<u8>> {
    let s = rest.trim_start().strip_prefix('"')?;
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                let after = &s[i + 1..];
                // The closing quote ends the field: a space or the end of the line follows.
                if !(after.is_empty() || after.starts_with(' ')) {
                    return None;
                }
                *rest = after;
                return Some(out);
            }
            b'\\' => {
                match b.get(i + 1) {
                    Some(b'x') => {
                        let hex = b.get(i + 2..i + 4)?;
                        let v = std::str::from_utf8(hex).ok()?;
                        out.push(u8::from_str_radix(v, 16).ok()?);
                        i += 4;
                        continue;
                    }
                    Some(&c) => out.push(c),
                    None => return None,
                }
                i += 2;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    None
}

/// A quoted field that may be absent (common format); present but broken is an error.
fn optional_quoted(rest: &mut &str) -> Result<Option<Vec<u8>>, Skip> {
    if rest.trim().is_empty() {
        return Ok(None);
    }
    quoted(rest).map(Some).ok_or(Skip::Syntax)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{Format, SourceConfig, SourceStats, read};

    const APACHE: &str = r#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)""#;

    #[test]
    fn apache_documentation_line() {
        let r = parse(APACHE).unwrap();
        assert_eq!(r.method, b"GET");
        assert_eq!(r.target, b"/apache_pb.gif");
        assert_eq!(r.status, Some(200));
        assert_eq!(r.response_body.len, 2326);
        assert_eq!(r.client, Some("127.0.0.1".parse().unwrap()));
        // 2000-10-10T20:55:36Z
        assert_eq!(r.request_ts.0.secs(), 971_211_336);
        assert_eq!(r.request_headers.len(), 2);
        assert_eq!(r.request_headers[1].1, b"Mozilla/4.08 [en] (Win98; I ;Nav)");
        assert!(r.response_ts.is_none(), "no timing in the combined format");
    }

    #[test]
    fn nginx_lines_common_format_and_extras() {
        let r = parse(r#"10.1.2.3 - - [07/Dec/2026:01:15:27 +0000] "POST /users/x/repos?a=1 HTTP/1.1" 201 0 "-" "curl/8" "10.9.9.9""#).unwrap();
        assert_eq!(r.target, b"/users/x/repos?a=1");
        assert_eq!(r.request_headers.len(), 1, "the referer - is absent");
        let r = parse(r#"::1 - - [07/Dec/2026:01:15:27 +0100] "GET / HTTP/1.1" 304 -"#).unwrap();
        assert_eq!(r.response_body.len, 0);
        assert_eq!(r.client, Some("::1".parse().unwrap()));
    }

    #[test]
    fn escapes_are_undone() {
        let r = parse(r#"1.2.3.4 - - [07/Dec/2026:01:15:27 +0000] "GET /caf\xC3\xA9 HTTP/1.1" 200 1 "-" "a \"quoted\" agent""#).unwrap();
        assert_eq!(r.target, "/café".as_bytes());
        assert_eq!(r.request_headers[0].1, b"a \"quoted\" agent");
    }

    #[test]
    fn hostile_lines_are_refused_with_a_reason() {
        let cases = [
            (
                r#"1.2.3.4 - - [07/Dec/2026:01:15:27 +0000] "GET /a HTTP/1.1 200 1 "-" "x""#,
                Skip::Syntax,
            ),
            (
                r#"1.2.3.4 - - [07/Dec/2026:01:15:27 +0000] "GET /a" HTTP/1.1" 200 1"#,
                Skip::Syntax,
            ),
            (
                r#"1.2.3.4 - - [31/Feb/2026:01:15:27 +0000] "GET /a HTTP/1.1" 200 1"#,
                Skip::Time,
            ),
            (
                r#"1.2.3.4 - - [07/Dec/99999:01:15:27 +0000] "GET /a HTTP/1.1" 200 1"#,
                Skip::Time,
            ),
            (
                r#"1.2.3.4 - - [07/Dec/2026:01:15:27 +0000] "\x16\x03\x01" 400 150"#,
                Skip::Request,
            ),
            (
                r#"1.2.3.4 - - [07/Dec/2026:01:15:27 +0000] "-" 400 0 "-" "-""#,
                Skip::Request,
            ),
            (
                r#"1.2.3.4 - - [07/Dec/2026:01:15:27 +0000] "GET /a HTTP/1.1" 2000 1"#,
                Skip::Status,
            ),
            (
                r#"1.2.3.4 - - [07/Dec/2026:01:15:27 +0000] "GET /a HTTP/1.1" 200 184467440737095516150"#,
                Skip::Number,
            ),
            (r#"1.2.3.4 - - [07/Dec/2026:01:15:27 +0000]"#, Skip::Syntax),
            ("", Skip::Syntax),
            ("[", Skip::Syntax),
            (r#"a b c [x] "\"#, Skip::Time),
            (
                r#"1.2.3.4 - - [07/Dec/2026:01:15:27 +0000] "GET /a HTTP/1.1" 200 1 "\x"#,
                Skip::Syntax,
            ),
        ];
        for (line, why) in cases {
            assert_eq!(parse(line).err(), Some(why), "{line}");
        }
    }

    #[test]
    fn a_file_of_hostile_lines_is_counted_not_fatal() {
        let mut data = Vec::new();
        data.extend_from_slice(APACHE.as_bytes());
        data.extend_from_slice(b"\n\n");
        data.extend_from_slice(&vec![b'a'; 1 << 20]);
        data.extend_from_slice(
            b"\n1.2.3.4 - - [07/Dec/2026:01:15:27 +0000] \"GET /\xff HTTP/1.1\" 200 1\n",
        );
        data.extend_from_slice(b"garbage \"\n");
        data.extend_from_slice(APACHE.as_bytes());
        let mut stats = SourceStats::default();
        let mut got = Vec::new();
        read(
            Format::Combined,
            &data[..],
            &SourceConfig::default(),
            &mut stats,
            |n, t| got.push((n, t)),
        )
        .unwrap();
        assert_eq!(got.iter().map(|(n, _)| *n).collect::<Vec<_>>(), [1, 6]);
        assert_eq!(stats.lines, 6);
        assert_eq!(stats.blank_lines, 1);
        assert_eq!(stats.line_too_long, 1);
        assert_eq!(stats.invalid_utf8, 1);
        assert_eq!(stats.bad_syntax, 1);
        assert_eq!(stats.skipped(), 3);
        assert_eq!(stats.transactions, 2);
        assert_eq!(stats.host_unknown, 2);
    }
}
