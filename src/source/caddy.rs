//! Caddy's access log: the `log` directive (logger `http.log.access...`) with the JSON encoder,
//! one object per request (Caddy documentation, "log" directive and its structured-log example:
//! <https://caddyserver.com/docs/caddyfile/directives/log>). For example
//! (`captures/forge.caddy.log`, Caddy 2.6, abridged):
//!
//! ```text
//! {"level":"info","ts":1796625025.4788542,"logger":"http.log.access.log0","msg":"handled request","request":{"remote_ip":"127.0.0.3","remote_port":"50527","proto":"HTTP/1.1","method":"GET","host":"api.forge.test","uri":"/user","headers":{"User-Agent":["Forge CLI 2.49.2"],"Authorization":[]}},"user_id":"","duration":0.00151673,"size":536,"status":200,"resp_headers":{"Server":["Caddy","forge/2.11"],"Content-Length":["536"]}}
//! ```
//!
//! | key | read as |
//! |---|---|
//! | `ts` | when the line was written, at the end of the request (epoch seconds; an RFC 3339 string with `time_format rfc3339` or `iso8601`) (required) |
//! | `request.method`, `request.uri` | the request (required) |
//! | `request.proto` | the version |
//! | `request.host` | the Host |
//! | `request.client_ip` (Caddy 2.7+), else `request.remote_ip` | the client's address |
//! | `request.headers`, `resp_headers` | header fields (`{"Name": ["value", ...]}`) |
//! | `status` | the status (required); 0 (nothing written) is no response |
//! | `duration` | seconds from the request to the end of the response: the latency |
//! | `size`, `bytes_read` | the response's and the request's body lengths |
//!
//! Caddy hides the values of `Authorization`, `Cookie` and `Set-Cookie` (an empty list) unless
//! `log_credentials` is set: hidden fields are dropped, so the auth scheme of such a request is
//! unknown. Other keys (`level`, `logger`, `msg`, `user_id`, `request.tls`) are ignored.

use super::json::{JsonLine, headers};
use super::{
    Record, Skip, ended_at, epoch_seconds, method_target, optional_count, optional_version,
    rfc3339, seconds_to_nanos, status_or_none,
};
use crate::http::Body;

/// Reads one line (a JSON object).
pub fn parse(line: &str) -> Result<Record, Skip> {
    let obj = JsonLine::parse(line)?;
    let req = |k: &str| obj.text(&["request", k]);
    // The shape of Caddy's access log (told apart from the other JSON logs by it).
    obj.require(&[&["request"], &["status"]])?;
    let end = match obj.get(&["ts"]) {
        Some(serde_json::Value::Number(n)) => epoch_seconds(n.as_f64().ok_or(Skip::Time)?)?,
        Some(serde_json::Value::String(s)) => rfc3339(s)?,
        _ => return Err(Skip::Time),
    };
    let (method, target) = method_target(req("method"), req("uri"))?;
    let ver = optional_version(req("proto"))?;
    let code = status_or_none(&obj.text(&["status"]).ok_or(Skip::Status)?)?;
    let ns = match obj.get(&["duration"]) {
        Some(d) => Some(seconds_to_nanos(d.as_f64().ok_or(Skip::Number)?)?),
        None => None,
    };
    let (request_ts, response_ts) = ended_at(end, ns);
    let header_map = |path: &[&str]| obj.object(path).map(headers).unwrap_or_default();
    Ok(Record {
        method,
        target,
        version: ver,
        status: code,
        client: req("client_ip")
            .or_else(|| req("remote_ip"))
            .and_then(|a| a.parse().ok()),
        host: req("host").map(String::into_bytes),
        request_ts,
        response_ts,
        request_headers: header_map(&["request", "headers"]),
        response_headers: header_map(&["resp_headers"]),
        request_body: Body {
            len: optional_count(obj.text(&["bytes_read"]))?,
            ..Body::default()
        },
        response_body: Body {
            len: optional_count(obj.text(&["size"]))?,
            ..Body::default()
        },
        ..Record::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"level":"info","ts":1796625025.4788542,"logger":"http.log.access.log0","msg":"handled request","request":{"remote_ip":"127.0.0.3","remote_port":"50527","proto":"HTTP/1.1","method":"GET","host":"api.forge.test","uri":"/user?x=1","headers":{"User-Agent":["Forge CLI 2.49.2"],"Accept":["application/vnd.forge+json"],"Authorization":[]}},"user_id":"","duration":0.00151673,"size":536,"status":200,"resp_headers":{"Server":["Caddy","forge/2.11"],"Content-Length":["536"]}}"#;

    #[test]
    fn reads_a_real_caddy_line() {
        let r = parse(LINE).unwrap();
        assert_eq!(r.method, b"GET");
        assert_eq!(r.target, b"/user?x=1");
        assert_eq!(r.version, Some(crate::http::Version::HTTP_11));
        assert_eq!(r.status, Some(200));
        assert_eq!(r.host.as_deref(), Some(&b"api.forge.test"[..]));
        assert_eq!(r.client, Some("127.0.0.3".parse().unwrap()));
        assert_eq!(r.response_body.len, 536);
        let (q, s) = (r.request_ts.0, r.response_ts.unwrap().0);
        assert_eq!(s.nanos_since(q), 1_516_730);
        assert_eq!(s.secs(), 1_796_625_025);
        // Authorization was hidden by Caddy: dropped, not kept empty.
        assert_eq!(r.request_headers.len(), 2);
        assert_eq!(r.response_headers.len(), 3);
    }

    #[test]
    fn client_ip_rfc3339_and_no_duration() {
        let r = parse(r#"{"ts":"2026-12-07T01:15:27.5Z","request":{"remote_ip":"10.0.0.1","client_ip":"203.0.113.7","method":"POST","uri":"/a"},"status":0}"#).unwrap();
        assert_eq!(r.client, Some("203.0.113.7".parse().unwrap()));
        assert_eq!(r.status, None);
        assert!(r.response_ts.is_none());
        assert!(r.host.is_none());
    }

    #[test]
    fn hostile_lines() {
        let cases = [
            (&LINE[..100], Skip::Syntax),
            (r#"{"ts":1,"status":200}"#, Skip::Syntax),
            (
                r#"{"request":{"method":"GET","uri":"/"},"status":200}"#,
                Skip::Time,
            ),
            (
                r#"{"ts":1e300,"request":{"method":"GET","uri":"/"},"status":200}"#,
                Skip::Time,
            ),
            (
                r#"{"ts":"2026-02-30T00:00:00Z","request":{"method":"GET","uri":"/"},"status":200}"#,
                Skip::Time,
            ),
            (
                r#"{"ts":1,"request":{"method":"GET"},"status":200}"#,
                Skip::Request,
            ),
            (
                r#"{"ts":1,"request":{"method":"GET","uri":"no-slash"},"status":200}"#,
                Skip::Request,
            ),
            (
                r#"{"ts":1,"request":{"method":"GET","uri":"/","proto":"SPDY"},"status":200}"#,
                Skip::Request,
            ),
            (
                r#"{"ts":1,"request":{"method":"GET","uri":"/"},"status":2000}"#,
                Skip::Status,
            ),
            (
                r#"{"ts":1,"request":{"method":"GET","uri":"/"},"status":200,"duration":1e300}"#,
                Skip::Number,
            ),
            (
                r#"{"ts":1,"request":{"method":"GET","uri":"/"},"status":200,"duration":"x"}"#,
                Skip::Number,
            ),
            (
                r#"{"ts":1,"request":{"method":"GET","uri":"/"},"status":200,"size":-1}"#,
                Skip::Number,
            ),
        ];
        for (line, why) in cases {
            assert_eq!(parse(line).err(), Some(why), "{line}");
        }
    }
}
