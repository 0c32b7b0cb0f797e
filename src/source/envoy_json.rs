//! Envoy access logs with a JSON format (`json_format`, "format dictionaries": Envoy
//! documentation, "Access logging":
//! <https://www.envoyproxy.io/docs/envoy/latest/configuration/observability/access_log/usage>)
//! whose keys name the command operators of the default format, as Istio's JSON access log
//! does:
//!
//! | key | command operator | read as |
//! |---|---|---|
//! | `start_time` | `%START_TIME%` | the request's start (RFC 3339) (required) |
//! | `method`, `path` | `%REQ(:METHOD)%`, `%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%` | the request (required) |
//! | `protocol` | `%PROTOCOL%` | the version |
//! | `response_code` | `%RESPONSE_CODE%` | the status (required); 0 is no response |
//! | `duration` | `%DURATION%` | milliseconds from the start to the last byte sent: the latency |
//! | `bytes_received`, `bytes_sent` | `%BYTES_RECEIVED%`, `%BYTES_SENT%` | the request's and the response's body lengths |
//! | `authority` | `%REQ(:AUTHORITY)%` | the Host |
//! | `downstream_remote_address` | `%DOWNSTREAM_REMOTE_ADDRESS%` | the client's address |
//! | `user_agent`, `x_forwarded_for`, `request_id` (or `x_request_id`) | `%REQ(...)%` | request header fields |
//!
//! Values may be strings or numbers; `null` and `"-"` are absent. Other keys
//! (`response_flags`, `upstream_host`, `upstream_service_time`, `route_name`, ...) are ignored.
//! For example (`captures/forge.envoy-json.log`; a sample converted from Caddy's log of the
//! forge requests, not an Envoy recording):
//!
//! ```text
//! {"start_time":"2026-12-07T06:30:25.477Z","method":"GET","path":"/user","protocol":"HTTP/1.1","response_code":200,"response_flags":"-","bytes_received":0,"bytes_sent":536,"duration":2,"upstream_service_time":null,"x_forwarded_for":null,"user_agent":"Forge CLI 2.49.2","request_id":"00000001-0000-4000-8000-000000000001","authority":"api.forge.test","upstream_host":"127.0.0.1:8091","downstream_remote_address":"127.0.0.3:50527"}
//! ```
//!
//! Response header fields are not in these keys: none is recorded.

use super::json::JsonLine;
use super::{
    Record, Skip, method_target, millis, optional_count, optional_version, rfc3339, socket_addr,
    started_at, status_or_none,
};
use crate::http::Body;

/// Reads one line (a JSON object).
pub fn parse(line: &str) -> Result<Record, Skip> {
    let obj = JsonLine::parse(line)?;
    let get = |k: &str| obj.text(&[k]);
    // The shape of this log (told apart from the other JSON logs by it).
    obj.require(&[&["start_time"], &["response_code"]])?;
    let start = rfc3339(&get("start_time").ok_or(Skip::Time)?)?;
    let (method, target) = method_target(get("method"), get("path"))?;
    let ver = optional_version(get("protocol"))?;
    let code = status_or_none(&get("response_code").ok_or(Skip::Status)?)?;
    let ns = match get("duration") {
        Some(d) => millis(&d)?,
        None => None,
    };
    let mut request_headers = Vec::new();
    for (name, key) in [
        ("X-Forwarded-For", "x_forwarded_for"),
        ("User-Agent", "user_agent"),
        ("X-Request-Id", "request_id"),
        ("X-Request-Id", "x_request_id"),
    ] {
        if let Some(v) = get(key) {
            request_headers.push((name.as_bytes().to_vec(), v.into_bytes()));
        }
    }
    let (request_ts, response_ts) = started_at(start, ns);
    Ok(Record {
        method,
        target,
        version: ver,
        status: code,
        client: get("downstream_remote_address")
            .and_then(|a| socket_addr(&a).map(|(ip, _)| ip).or_else(|| a.parse().ok())),
        host: get("authority").map(String::into_bytes),
        request_ts,
        response_ts,
        request_headers,
        request_body: Body {
            len: optional_count(get("bytes_received"))?,
            ..Body::default()
        },
        response_body: Body {
            len: optional_count(get("bytes_sent"))?,
            ..Body::default()
        },
        ..Record::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"start_time":"2016-04-15T20:17:00.310Z","method":"POST","path":"/api/v1/locations","protocol":"HTTP/2","response_code":"204","response_flags":"-","bytes_received":154,"bytes_sent":0,"duration":226,"upstream_service_time":"100","x_forwarded_for":"10.0.35.28","user_agent":"nsq2http","request_id":"cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2","authority":"locations","upstream_host":"tcp://10.0.2.1:80","downstream_remote_address":"[2001:db8::1]:443"}"#;

    #[test]
    fn the_default_format_example_as_json() {
        let r = parse(LINE).unwrap();
        assert_eq!(r.method, b"POST");
        assert_eq!(r.target, b"/api/v1/locations");
        assert_eq!(r.status, Some(204));
        assert_eq!(r.host.as_deref(), Some(&b"locations"[..]));
        assert_eq!(r.client, Some("2001:db8::1".parse().unwrap()));
        assert_eq!(r.request_body.len, 154);
        let (q, s) = (r.request_ts.0, r.response_ts.unwrap().0);
        assert_eq!(s.nanos_since(q), 226_000_000);
        assert_eq!(q.as_nanos(), 1_460_751_420_310_000_000);
        assert_eq!(r.request_headers.len(), 3);
    }

    #[test]
    fn nulls_and_no_response() {
        let r = parse(r#"{"start_time":"2024-01-01T00:00:00Z","method":"GET","path":"/x","protocol":null,"response_code":0,"duration":null,"authority":null}"#).unwrap();
        assert_eq!(r.status, None);
        assert!(r.response_ts.is_none() && r.host.is_none() && r.version.is_none());
    }

    #[test]
    fn hostile_lines() {
        let ok = r#"{"start_time":"2024-01-01T00:00:00Z","method":"GET","path":"/","response_code":200}"#;
        assert!(parse(ok).is_ok());
        let cases = [
            (ok[..30].to_string(), Skip::Syntax),
            (ok.replace("response_code", "code"), Skip::Syntax),
            (ok.replace("T00:00", "T25:00"), Skip::Time),
            (ok.replace("\"GET\"", "\"G T\""), Skip::Request),
            (ok.replace("\"path\":\"/\",", ""), Skip::Request),
            (ok.replace("200", "1000"), Skip::Status),
            (ok.replace("}", ",\"duration\":999999999999}"), Skip::Number),
            (ok.replace("}", ",\"bytes_sent\":\"1e3\"}"), Skip::Number),
        ];
        for (line, why) in cases {
            assert_eq!(parse(&line).err(), Some(why), "{line}");
        }
    }
}
