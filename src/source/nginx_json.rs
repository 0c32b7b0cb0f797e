//! nginx JSON access logs: `log_format NAME escape=json '{...}'`, one object per line. The keys
//! read are nginx's variable names:
//!
//! | key | read as |
//! |---|---|
//! | `time_iso8601` or `time_local` (or `msec`) | the date of the line (required) |
//! | `request_method` and `request_uri`, or `request` | the request (required) |
//! | `server_protocol` | the version (also taken from `request`) |
//! | `status` | the status (required) |
//! | `request_time` | seconds from the first request byte to the log line: the latency |
//! | `http_host`, else `host` | the Host header |
//! | `remote_addr` | the client's address |
//! | `http_user_agent`, `http_referer` | request header fields |
//! | `body_bytes_sent` | the response body's length |
//!
//! Values may be strings or numbers; `""` and `"-"` are absent. Other keys are ignored.
//!
//! ```text
//! {"time_iso8601":"2026-12-07T01:15:27+00:00","remote_addr":"127.0.0.3","request_method":"GET","request_uri":"/user","server_protocol":"HTTP/1.1","status":"200","request_time":"0.004","http_host":"api.forge.test","http_user_agent":"Forge CLI 2.49.2","http_referer":"","body_bytes_sent":"536"}
//! ```
//!
//! nginx dates the line when the response is done, so the response is dated there and the
//! request `request_time` before it; without `request_time` the latency is unknown.

use super::json::JsonLine;
use super::{
    Record, Skip, check_request, ended_at, epoch_seconds, optional_count, optional_version,
    request_line, rfc3339, seconds_to_nanos, status,
};
use crate::http::Body;

/// Reads one line (a JSON object).
pub fn parse(line: &str) -> Result<Record, Skip> {
    let obj = JsonLine::parse(line)?;
    let get = |k: &str| obj.text(&[k]);
    let end = if let Some(t) = get("time_iso8601") {
        rfc3339(&t)?
    } else if let Some(t) = get("time_local") {
        super::combined::clf_time(&t)?
    } else if let Some(t) = get("msec") {
        epoch_seconds(t.parse().map_err(|_| Skip::Time)?)?
    } else {
        return Err(Skip::Time);
    };
    let (method, target, mut ver) = match (get("request_method"), get("request_uri")) {
        (Some(m), Some(u)) => {
            check_request(m.as_bytes(), u.as_bytes())?;
            (m.into_bytes(), u.into_bytes(), None)
        }
        _ => request_line(get("request").ok_or(Skip::Request)?.as_bytes())?,
    };
    if let Some(p) = optional_version(get("server_protocol"))? {
        ver = Some(p);
    }
    let code = status(&get("status").ok_or(Skip::Status)?)?;
    let len = optional_count(get("body_bytes_sent"))?;
    let ns = match get("request_time") {
        Some(rt) => Some(seconds_to_nanos(rt.parse().map_err(|_| Skip::Number)?)?),
        None => None,
    };
    let (request_ts, response_ts) = ended_at(end, ns);
    let mut request_headers = Vec::new();
    for (name, key) in [
        ("User-Agent", "http_user_agent"),
        ("Referer", "http_referer"),
    ] {
        if let Some(v) = get(key) {
            request_headers.push((name.as_bytes().to_vec(), v.into_bytes()));
        }
    }
    Ok(Record {
        method,
        target,
        version: ver,
        status: Some(code),
        client: get("remote_addr").and_then(|a| a.parse().ok()),
        host: get("http_host")
            .or_else(|| get("host"))
            .map(String::into_bytes),
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

    const LINE: &str = r#"{"time_iso8601":"2026-12-07T01:15:27+00:00","remote_addr":"127.0.0.3","request_method":"GET","request_uri":"/user?x=1","server_protocol":"HTTP/1.1","status":"200","request_time":"0.004","http_host":"api.forge.test","http_user_agent":"Forge CLI 2.49.2","http_referer":"","body_bytes_sent":"536"}"#;

    #[test]
    fn reads_the_documented_keys() {
        let r = parse(LINE).unwrap();
        assert_eq!(r.method, b"GET");
        assert_eq!(r.target, b"/user?x=1");
        assert_eq!(r.status, Some(200));
        assert_eq!(r.host.as_deref(), Some(&b"api.forge.test"[..]));
        assert_eq!(r.response_body.len, 536);
        assert_eq!(r.request_headers.len(), 1, "an empty referer is absent");
        let (q, s) = (r.request_ts.0, r.response_ts.unwrap().0);
        assert_eq!(s.nanos_since(q), 4_000_000);
        assert_eq!(s.secs(), 1_796_606_127);
    }

    #[test]
    fn request_line_numbers_and_time_local() {
        let r = parse(r#"{"time_local":"07/Dec/2026:01:15:27 +0000","request":"DELETE /a/b HTTP/2.0","status":204,"host":"h.example"}"#).unwrap();
        assert_eq!(r.method, b"DELETE");
        assert_eq!(r.version, Some(crate::http::Version::HTTP_2));
        assert_eq!(r.status, Some(204));
        assert!(r.response_ts.is_none(), "no request_time: latency unknown");
        assert_eq!(r.host.as_deref(), Some(&b"h.example"[..]));
    }

    #[test]
    fn hostile_lines() {
        let cases = [
            (r#"{"time_iso8601":"#, Skip::Syntax),
            (r#"[1,2]"#, Skip::Syntax),
            (r#"{"request":"GET / HTTP/1.1","status":"200"}"#, Skip::Time),
            (
                r#"{"time_iso8601":"2026-13-07T01:15:27+00:00","request":"GET / HTTP/1.1","status":"200"}"#,
                Skip::Time,
            ),
            (
                r#"{"msec":"1e300","request":"GET / HTTP/1.1","status":"200"}"#,
                Skip::Time,
            ),
            (r#"{"msec":"1.5","status":"200"}"#, Skip::Request),
            (
                r#"{"msec":"1.5","request_method":"G T","request_uri":"/","status":"200"}"#,
                Skip::Request,
            ),
            (r#"{"msec":"1.5","request":"GET / HTTP/1.1"}"#, Skip::Status),
            (
                r#"{"msec":"1.5","request":"GET / HTTP/1.1","status":"20x"}"#,
                Skip::Status,
            ),
            (
                r#"{"msec":"1.5","request":"GET / HTTP/1.1","status":"200","request_time":"1e308"}"#,
                Skip::Number,
            ),
            (
                r#"{"msec":"1.5","request":"GET / HTTP/1.1","status":"200","request_time":"x"}"#,
                Skip::Number,
            ),
            (
                r#"{"msec":"1.5","request":"GET / HTTP/1.1","status":"200","body_bytes_sent":-5}"#,
                Skip::Number,
            ),
        ];
        for (line, why) in cases {
            assert_eq!(parse(line).err(), Some(why), "{line}");
        }
    }
}
