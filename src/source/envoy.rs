//! Envoy's default access-log format (`format` unset on a file access log):
//!
//! ```text
//! [%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%"
//! %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION%
//! %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%"
//! "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"
//! ```
//!
//! for example
//!
//! ```text
//! [2016-04-15T20:17:00.310Z] "POST /api/v1/locations HTTP/2" 204 - 154 0 226 100 "10.0.35.28" "nsq2http" "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2" "locations" "tcp://10.0.2.1:80"
//! ```
//!
//! The date is the request's start (RFC 3339, milliseconds), `DURATION` the milliseconds to the
//! last byte sent: the response is dated there (the latency is the whole request, as nginx's
//! `request_time`). The Host is `:authority`; `X-Forwarded-For`, `User-Agent` and
//! `X-Request-Id` become request header fields. The format has no client address (the
//! transaction's client is `0.0.0.0`) and no response header. A `RESPONSE_CODE` of 0 (no
//! response: the downstream went away) gives a transaction without a response.

use super::combined::{quoted, word};
use super::{Record, Skip, byte_count, millis, request_line, rfc3339, started_at, status_or_none};
use crate::http::Body;

/// Reads one line.
pub fn parse(line: &str) -> Result<Record, Skip> {
    let rest = line.trim_start();
    let (date, mut rest) = rest
        .strip_prefix('[')
        .and_then(|r| r.split_once(']'))
        .ok_or(Skip::Syntax)?;
    let request = quoted(&mut rest).ok_or(Skip::Syntax)?;
    let mut fields = [""; 6];
    for f in &mut fields {
        *f = word(&mut rest).ok_or(Skip::Syntax)?;
    }
    let [code, _flags, _received, sent, duration, _upstream] = fields;
    let mut quoted_fields: [Option<Vec<u8>>; 5] = Default::default();
    for f in &mut quoted_fields {
        *f = Some(quoted(&mut rest).ok_or(Skip::Syntax)?);
    }
    let [xff, agent, request_id, authority, _upstream_host] = quoted_fields;
    let start = rfc3339(date)?;
    let (method, target, version) = request_line(&request)?;
    let code = status_or_none(code)?;
    let len = byte_count(sent)?;
    let (request_ts, response_ts) = started_at(start, millis(duration)?);
    let present = |v: Option<Vec<u8>>| v.filter(|v| !v.is_empty() && v != b"-");
    let mut request_headers = Vec::new();
    for (name, value) in [
        ("X-Forwarded-For", xff),
        ("User-Agent", agent),
        ("X-Request-Id", request_id),
    ] {
        if let Some(v) = present(value) {
            request_headers.push((name.as_bytes().to_vec(), v));
        }
    }
    Ok(Record {
        method,
        target,
        version,
        status: code,
        host: present(authority),
        request_ts,
        response_ts,
        request_headers,
        response_body: Body {
            len,
            ..Body::default()
        },
        ..Record::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"[2016-04-15T20:17:00.310Z] "POST /api/v1/locations HTTP/2" 204 - 154 0 226 100 "10.0.35.28" "nsq2http" "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2" "locations" "tcp://10.0.2.1:80""#;

    #[test]
    fn envoy_documentation_line() {
        let r = parse(DOC).unwrap();
        assert_eq!(r.method, b"POST");
        assert_eq!(r.target, b"/api/v1/locations");
        assert_eq!(r.version, Some(crate::http::Version { major: 2, minor: 0 }));
        assert_eq!(r.status, Some(204));
        assert_eq!(r.host.as_deref(), Some(&b"locations"[..]));
        let (q, s) = (r.request_ts.0, r.response_ts.unwrap().0);
        assert_eq!(s.nanos_since(q), 226_000_000);
        assert_eq!(q.as_nanos(), 1_460_751_420_310_000_000);
        assert_eq!(r.request_headers.len(), 3);
        assert_eq!(r.response_body.len, 0);
    }

    #[test]
    fn no_response_and_absent_fields() {
        let r = parse(
            r#"[2024-01-01T00:00:00.000Z] "GET /x?y=1 HTTP/1.1" 0 DC 0 0 5 - "-" "-" "-" "-" "-""#,
        )
        .unwrap();
        assert_eq!(r.status, None);
        assert!(r.host.is_none() && r.request_headers.is_empty());
    }

    #[test]
    fn hostile_lines() {
        let cases = [
            (
                r#"[2024-01-01T00:00:00.000Z] "GET / HTTP/1.1" 200 - 0 0 5 -"#,
                Skip::Syntax,
            ),
            (
                r#"2024-01-01T00:00:00.000Z "GET / HTTP/1.1" 200 - 0 0 5 - "-" "-" "-" "-" "-""#,
                Skip::Syntax,
            ),
            (
                r#"[2024-02-30T00:00:00.000Z] "GET / HTTP/1.1" 200 - 0 0 5 - "-" "-" "-" "-" "-""#,
                Skip::Time,
            ),
            (
                r#"[2024-01-01T00:00:00.000Z] "- - -" 200 - 0 0 5 - "-" "-" "-" "-" "-""#,
                Skip::Request,
            ),
            (
                r#"[2024-01-01T00:00:00.000Z] "GET / HTTP/1.1" 20 - 0 0 5 - "-" "-" "-" "-" "-""#,
                Skip::Status,
            ),
            (
                r#"[2024-01-01T00:00:00.000Z] "GET / HTTP/1.1" 200 - 0 0 999999999999 - "-" "-" "-" "-" "-""#,
                Skip::Number,
            ),
        ];
        for (line, why) in cases {
            assert_eq!(parse(line).err(), Some(why), "{line}");
        }
    }
}
