//! Traefik's JSON access log (`accessLog.format: json`; Traefik documentation, "Access Logs",
//! its list of fields: <https://doc.traefik.io/traefik/observability/access-logs/>), one object
//! per request. For example (`captures/forge.traefik.log`, abridged; a sample converted from
//! Caddy's log of the forge requests, not a Traefik recording):
//!
//! ```text
//! {"ClientAddr":"127.0.0.3:50527","ClientHost":"127.0.0.3","ClientPort":"50527","DownstreamContentSize":536,"DownstreamStatus":200,"Duration":1516730,"RequestAddr":"api.forge.test","RequestHost":"api.forge.test","RequestMethod":"GET","RequestPath":"/user","RequestProtocol":"HTTP/1.1","StartUTC":"2026-12-07T06:30:25.477337Z","request_User-Agent":"Forge CLI 2.49.2"}
//! ```
//!
//! | key | read as |
//! |---|---|
//! | `StartUTC`, else `StartLocal` | the request's start (RFC 3339) (required) |
//! | `RequestMethod`, `RequestPath` | the request (required; the path holds the query) |
//! | `RequestProtocol` | the version |
//! | `RequestAddr` (the Host field as sent), else `RequestHost` | the Host |
//! | `ClientHost` | the client's address |
//! | `DownstreamStatus` | the status sent to the client (required); 0 is no response |
//! | `Duration` | nanoseconds from the request's start to the end of the response: the latency |
//! | `DownstreamContentSize`, `RequestContentSize` | the response's and the request's body lengths |
//! | `request_<Name>`, `downstream_<Name>` | request and response header fields |
//!
//! Traefik logs header fields only when `accessLog.fields.headers` keeps them (by default it
//! drops them all); `REDACTED` values are dropped. The `origin_<Name>` fields and `Origin*`
//! (the upstream's answer, before Traefik's middlewares) are ignored: the client's view is the
//! downstream one.

use super::json::{JsonLine, text};
use super::{
    Record, Skip, byte_count, method_target, optional_count, optional_version, rfc3339, started_at,
    status_or_none,
};
use crate::http::Body;

/// Reads one line (a JSON object).
pub fn parse(line: &str) -> Result<Record, Skip> {
    let obj = JsonLine::parse(line)?;
    let get = |k: &str| obj.text(&[k]);
    // The shape of Traefik's log (told apart from the other JSON logs by it).
    obj.require(&[&["RequestMethod"], &["DownstreamStatus"]])?;
    let start = rfc3339(
        &get("StartUTC")
            .or_else(|| get("StartLocal"))
            .ok_or(Skip::Time)?,
    )?;
    let (method, target) = method_target(get("RequestMethod"), get("RequestPath"))?;
    let ver = optional_version(get("RequestProtocol"))?;
    let code = status_or_none(&get("DownstreamStatus").ok_or(Skip::Status)?)?;
    let ns = match get("Duration") {
        Some(d) => match byte_count(&d)? {
            ns if ns <= 86_400 * 1_000_000_000 => Some(ns as i64),
            _ => return Err(Skip::Number),
        },
        None => None,
    };
    let (mut request_headers, mut response_headers) = (Vec::new(), Vec::new());
    for (key, value) in obj.entries() {
        let (list, name) = if let Some(n) = key.strip_prefix("request_") {
            (&mut request_headers, n)
        } else if let Some(n) = key.strip_prefix("downstream_") {
            (&mut response_headers, n)
        } else {
            continue;
        };
        if let Some(v) = text(value).filter(|v| v != "REDACTED") {
            list.push((name.as_bytes().to_vec(), v.into_bytes()));
        }
    }
    let (request_ts, response_ts) = started_at(start, ns);
    Ok(Record {
        method,
        target,
        version: ver,
        status: code,
        client: get("ClientHost").and_then(|a| a.parse().ok()),
        host: get("RequestAddr")
            .or_else(|| get("RequestHost"))
            .map(String::into_bytes),
        request_ts,
        response_ts,
        request_headers,
        response_headers,
        request_body: Body {
            len: optional_count(get("RequestContentSize"))?,
            ..Body::default()
        },
        response_body: Body {
            len: optional_count(get("DownstreamContentSize"))?,
            ..Body::default()
        },
        ..Record::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"ClientAddr":"127.0.0.3:50527","ClientHost":"127.0.0.3","ClientPort":"50527","ClientUsername":"-","DownstreamContentSize":536,"DownstreamStatus":200,"Duration":1516730,"OriginDuration":1400000,"RequestAddr":"api.forge.test","RequestHost":"api.forge.test","RequestMethod":"GET","RequestPath":"/user?x=1","RequestProtocol":"HTTP/1.1","StartUTC":"2026-12-07T06:30:25.477337Z","request_User-Agent":"Forge CLI 2.49.2","request_Authorization":"REDACTED","downstream_Content-Type":"application/json","origin_Server":"forge/2.11"}"#;

    #[test]
    fn reads_the_documented_fields() {
        let r = parse(LINE).unwrap();
        assert_eq!(r.method, b"GET");
        assert_eq!(r.target, b"/user?x=1");
        assert_eq!(r.status, Some(200));
        assert_eq!(r.host.as_deref(), Some(&b"api.forge.test"[..]));
        assert_eq!(r.client, Some("127.0.0.3".parse().unwrap()));
        assert_eq!(r.response_body.len, 536);
        let (q, s) = (r.request_ts.0, r.response_ts.unwrap().0);
        assert_eq!(s.nanos_since(q), 1_516_730);
        assert_eq!(q.as_nanos(), 1_796_625_025_477_337_000);
        assert_eq!(
            r.request_headers,
            [(b"User-Agent".to_vec(), b"Forge CLI 2.49.2".to_vec())]
        );
        assert_eq!(
            r.response_headers.len(),
            1,
            "origin_ fields are not the client's"
        );
    }

    #[test]
    fn hostile_lines() {
        let ok = r#"{"StartUTC":"2026-12-07T06:30:25Z","RequestMethod":"GET","RequestPath":"/","DownstreamStatus":200}"#;
        assert!(parse(ok).is_ok());
        assert!(parse(&ok.replace("200", "0")).unwrap().status.is_none());
        let cases = [
            (ok[..40].to_string(), Skip::Syntax),
            (ok.replace("DownstreamStatus", "Status"), Skip::Syntax),
            (ok.replace("StartUTC", "Start"), Skip::Time),
            (ok.replace("2026-12-07", "2026-12-32"), Skip::Time),
            (ok.replace("\"/\"", "\"x\""), Skip::Request),
            (ok.replace("200", "20"), Skip::Status),
            (ok.replace("}", ",\"Duration\":1e30}"), Skip::Number),
            (
                ok.replace("}", ",\"Duration\":99999999999999999}"),
                Skip::Number,
            ),
            (
                ok.replace("}", ",\"DownstreamContentSize\":-3}"),
                Skip::Number,
            ),
        ];
        for (line, why) in cases {
            assert_eq!(parse(&line).err(), Some(why), "{line}");
        }
    }
}
