//! Kong Gateway's request log: the JSON object of its logging plugins (File Log, HTTP Log,
//! TCP/UDP Log, Syslog), one per line (Kong documentation, File Log plugin, "Log format":
//! <https://developer.konghq.com/plugins/file-log/>). For example (`captures/forge.kong.log`,
//! abridged; a sample converted from Caddy's log of the forge requests, not a Kong recording):
//!
//! ```text
//! {"request":{"method":"GET","uri":"/user","url":"http://api.forge.test:8000/user","size":0,"querystring":{},"headers":{"host":"api.forge.test","user-agent":"Forge CLI 2.49.2"}},"upstream_uri":"/user","response":{"status":200,"size":536,"headers":{"content-type":"application/json; charset=utf-8"}},"latencies":{"request":2,"kong":0},"client_ip":"127.0.0.3","started_at":1796625025477}
//! ```
//!
//! | key | read as |
//! |---|---|
//! | `started_at` | the request's start, epoch milliseconds (required) |
//! | `request.method`, `request.uri` | the request (required; the URI holds the query) |
//! | `request.headers.host`, else the authority of `request.url` | the Host |
//! | `request.headers`, `response.headers` | header fields (a value, or a list for repeated fields) |
//! | `response.status` | the status (required) |
//! | `latencies.request` | milliseconds from the first byte read to the last byte sent: the latency |
//! | `client_ip` | the client's address |
//!
//! `request.size` and `response.size` count header bytes too: body lengths stay unknown (0).
//! Kong's log has no HTTP version. `REDACTED` header values are dropped; `route`, `service`,
//! `consumer`, `tries` and the other latencies are ignored.

use super::json::{JsonLine, headers};
use super::{Record, Skip, byte_count, method_target, millis, started_at, status};
use crate::time::Timestamp;

/// Reads one line (a JSON object).
pub fn parse(line: &str) -> Result<Record, Skip> {
    let obj = JsonLine::parse(line)?;
    // The shape of Kong's log (told apart from the other JSON logs by it).
    obj.require(&[&["request"], &["response"], &["started_at"]])?;
    let started = obj.text(&["started_at"]).ok_or(Skip::Time)?;
    let ms = byte_count(&started).map_err(|_| Skip::Time)?;
    if ms > 9_200_000_000_000 {
        return Err(Skip::Time);
    }
    let start = Timestamp(ms as i64 * 1_000_000);
    let (method, target) = method_target(
        obj.text(&["request", "method"]),
        obj.text(&["request", "uri"]),
    )?;
    let code = status(&obj.text(&["response", "status"]).ok_or(Skip::Status)?)?;
    let ns = match obj.text(&["latencies", "request"]) {
        Some(l) => millis(&l)?,
        None => None,
    };
    let host = obj.text(&["request", "headers", "host"]).or_else(|| {
        let url = obj.text(&["request", "url"])?;
        let rest = url.split_once("://")?.1;
        Some(rest.split(['/', '?']).next()?.to_string()).filter(|h| !h.is_empty())
    });
    let header_map = |path: &[&str]| obj.object(path).map(headers).unwrap_or_default();
    let (request_ts, response_ts) = started_at(start, ns);
    Ok(Record {
        method,
        target,
        status: Some(code),
        client: obj.text(&["client_ip"]).and_then(|a| a.parse().ok()),
        host: host.map(String::into_bytes),
        request_ts,
        response_ts,
        request_headers: header_map(&["request", "headers"]),
        response_headers: header_map(&["response", "headers"]),
        ..Record::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"request":{"method":"GET","uri":"/get?x=1","url":"http://httpbin.org:8000/get?x=1","size":75,"querystring":{"x":"1"},"headers":{"accept":"*/*","host":"httpbin.org","user-agent":"curl/7.37.1","authorization":"REDACTED","x-dup":["a","b"]}},"upstream_uri":"/get?x=1","response":{"status":200,"size":434,"headers":{"Content-Length":"197","via":"kong/3.8.0"}},"latencies":{"proxy":1430,"kong":9,"request":1921},"client_ip":"127.0.0.1","started_at":1433209822425}"#;

    #[test]
    fn reads_the_documented_object() {
        let r = parse(LINE).unwrap();
        assert_eq!(r.method, b"GET");
        assert_eq!(r.target, b"/get?x=1");
        assert_eq!(r.status, Some(200));
        assert_eq!(r.host.as_deref(), Some(&b"httpbin.org"[..]));
        assert_eq!(r.client, Some("127.0.0.1".parse().unwrap()));
        assert_eq!(r.request_ts.0.as_nanos(), 1_433_209_822_425_000_000);
        let s = r.response_ts.unwrap().0;
        assert_eq!(s.nanos_since(r.request_ts.0), 1_921_000_000);
        // accept, host, user-agent, x-dup twice; the redacted authorization is dropped.
        assert_eq!(r.request_headers.len(), 5);
        assert_eq!(r.response_headers.len(), 2);
    }

    #[test]
    fn host_from_the_url_and_no_latency() {
        let r = parse(r#"{"request":{"method":"DELETE","uri":"/a","url":"https://api.test:8443/a"},"response":{"status":"204"},"started_at":1}"#).unwrap();
        assert_eq!(r.host.as_deref(), Some(&b"api.test:8443"[..]));
        assert!(r.response_ts.is_none());
    }

    #[test]
    fn hostile_lines() {
        let ok = r#"{"request":{"method":"GET","uri":"/"},"response":{"status":200},"started_at":1433209822425}"#;
        assert!(parse(ok).is_ok());
        let cases = [
            (ok[..50].to_string(), Skip::Syntax),
            (ok.replace("\"response\"", "\"resp\""), Skip::Syntax),
            (ok.replace("1433209822425", "-5"), Skip::Time),
            (
                ok.replace("1433209822425", "99999999999999999999"),
                Skip::Time,
            ),
            (ok.replace("1433209822425", "\"yesterday\""), Skip::Time),
            (ok.replace("\"/\"", "\"\""), Skip::Request),
            (ok.replace("200", "99"), Skip::Status),
            (
                ok.replace("}", ",\"latencies\":{\"request\":1e12}}"),
                Skip::Number,
            ),
        ];
        for (line, why) in cases {
            assert_eq!(parse(&line).err(), Some(why), "{line}");
        }
    }
}
