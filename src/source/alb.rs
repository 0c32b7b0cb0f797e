//! AWS Application Load Balancer access logs (Elastic Load Balancing User Guide, "Access logs
//! for your Application Load Balancer", the entry syntax:
//! <https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-access-logs.html>):
//! space-separated fields, some quoted,
//!
//! ```text
//! type time elb client:port target:port request_processing_time target_processing_time
//! response_processing_time elb_status_code target_status_code received_bytes sent_bytes
//! "request" "user_agent" ssl_cipher ssl_protocol target_group_arn "trace_id" ...
//! ```
//!
//! for example (`captures/forge.alb.log`, abridged; a sample converted from Caddy's log of the
//! forge requests, not an AWS recording):
//!
//! ```text
//! http 2026-12-07T06:30:25.478854Z app/forge-alb/50dc6c495c0c9188 127.0.0.3:50527 127.0.0.1:8091 0.000 0.002 0.000 200 200 0 536 "GET http://api.forge.test:80/user HTTP/1.1" "Forge CLI 2.49.2" - - arn:aws:elasticloadbalancing:... "Root=1-..." ...
//! ```
//!
//! | field | read as |
//! |---|---|
//! | `type` | `http`, `https`, `h2`, `grpcs`, `ws` or `wss` (anything else is not this format) |
//! | `request_creation_time` | when the load balancer received the request (ISO 8601): the request's start |
//! | `time` | when the load balancer sent the response (ISO 8601): the response's end |
//! | `client:port` | the client's address |
//! | the three processing times | seconds: the request ends `request_processing_time` after its start, the response's first byte comes `target_processing_time` after that (the latency, as on the wire); a `-1` (no target answered) leaves the latency unknown |
//! | `elb_status_code` | the status sent to the client; `-` is no response |
//! | `"request"` | `METHOD scheme://host:port/path?query VERSION`: the Host is the URL's authority without the scheme's default port (ALB always writes the port); `"- - - "` (not HTTP) is refused |
//! | `"user_agent"` | the User-Agent field |
//!
//! Fields up to `request_creation_time` (the layout since 2018) are required; the later ones
//! (actions, error reason, target lists, classification, ...: AWS adds fields at the end) are
//! ignored but must be whole, so a cut line is refused. The byte counts include header bytes,
//! so the body lengths stay unknown (0). The log has no other header field.

use super::combined::{quoted, word};
use super::{
    Record, Skip, request_line, rfc3339, seconds_to_nanos, socket_addr, started_at, status,
};

/// The `type` values of an HTTP entry.
const TYPES: [&str; 6] = ["http", "https", "h2", "grpcs", "ws", "wss"];

/// Reads one line.
pub fn parse(line: &str) -> Result<Record, Skip> {
    let mut rest = line;
    let mut fields = [""; 12];
    for f in &mut fields {
        *f = word(&mut rest).ok_or(Skip::Syntax)?;
    }
    let [
        kind,
        time,
        _elb,
        client,
        _target,
        t_req,
        t_target,
        t_resp,
        code,
        _target_code,
        _rx,
        _tx,
    ] = fields;
    if !TYPES.contains(&kind) {
        return Err(Skip::Syntax);
    }
    let request = quoted(&mut rest).ok_or(Skip::Syntax)?;
    let agent = quoted(&mut rest).ok_or(Skip::Syntax)?;
    // ssl_cipher ssl_protocol target_group_arn "trace_id" "domain_name" "chosen_cert_arn"
    // matched_rule_priority request_creation_time
    for _ in 0..3 {
        word(&mut rest).ok_or(Skip::Syntax)?;
    }
    for _ in 0..3 {
        quoted(&mut rest).ok_or(Skip::Syntax)?;
    }
    word(&mut rest).ok_or(Skip::Syntax)?;
    let created = word(&mut rest).ok_or(Skip::Syntax)?;
    // Later fields (more are added over the years) are ignored, but must be whole.
    while !rest.trim().is_empty() {
        let whole = if rest.trim_start().starts_with('"') {
            quoted(&mut rest).is_some()
        } else {
            word(&mut rest).is_some()
        };
        if !whole {
            return Err(Skip::Syntax);
        }
    }
    let end = rfc3339(time)?;
    let start = rfc3339(created)?;
    let client = match client {
        "-" => None,
        c => Some(socket_addr(c).ok_or(Skip::Syntax)?.0),
    };
    let mut times = [None; 3];
    for (t, s) in times.iter_mut().zip([t_req, t_target, t_resp]) {
        if s != "-1" {
            *t = Some(seconds_to_nanos(s.parse().map_err(|_| Skip::Number)?)?);
        }
    }
    let code = match code {
        "-" => None,
        c => Some(status(c)?),
    };
    let (method, url, version) = request_line(&request)?;
    let (host, target) = split_url(&url).ok_or(Skip::Request)?;
    let (request_ts, response_ts) = match times {
        [Some(a), Some(b), Some(_)] => {
            let request_end = start.plus_nanos(a);
            ((start, request_end), Some((request_end.plus_nanos(b), end)))
        }
        _ => started_at(start, None),
    };
    let request_headers = Some(agent)
        .filter(|a| !a.is_empty() && a != b"-")
        .map(|a| (b"User-Agent".to_vec(), a))
        .into_iter()
        .collect();
    Ok(Record {
        method,
        target,
        version,
        status: code,
        client,
        host: Some(host),
        request_ts,
        response_ts,
        request_headers,
        ..Record::default()
    })
}

/// `http://host:80/path?q` as the Host (`host`, the port kept when not the scheme's default)
/// and the target (`/path?q`).
fn split_url(url: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let (default_port, rest): (&[u8], &[u8]) = if let Some(r) = url.strip_prefix(b"http://") {
        (b":80", r)
    } else {
        (b":443", url.strip_prefix(b"https://")?)
    };
    let slash = rest.iter().position(|&b| b == b'/' || b == b'?');
    let (authority, path) = rest.split_at(slash.unwrap_or(rest.len()));
    let host = authority.strip_suffix(default_port).unwrap_or(authority);
    if host.is_empty() {
        return None;
    }
    let target = match path {
        [] => b"/".to_vec(),
        [b'?', ..] => [b"/", path].concat(),
        p => p.to_vec(),
    };
    Some((host.to_vec(), target))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The HTTP example of the ALB documentation.
    const DOC: &str = r#"http 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.46.0" - - arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337262-36d228ad5d99923122bbe354" "-" "-" 0 2018-07-02T22:22:48.364000Z "forward" "-" "-" "10.0.0.1:80" "200" "-" "-""#;

    #[test]
    fn documentation_example() {
        let r = parse(DOC).unwrap();
        assert_eq!(r.method, b"GET");
        assert_eq!(r.target, b"/");
        assert_eq!(r.host.as_deref(), Some(&b"www.example.com"[..]));
        assert_eq!(r.status, Some(200));
        assert_eq!(r.client, Some("192.168.131.39".parse().unwrap()));
        let (first, last) = r.response_ts.unwrap();
        assert_eq!(first.nanos_since(r.request_ts.1), 1_000_000);
        assert_eq!(last.as_nanos(), 1_530_570_180_186_641_000);
        assert_eq!(r.request_headers.len(), 1);
    }

    #[test]
    fn https_ports_queries_and_no_target() {
        let r =
            parse(&DOC.replace("http://www.example.com:80/", "https://h.test:8443?a=1")).unwrap();
        assert_eq!(r.host.as_deref(), Some(&b"h.test:8443"[..]));
        assert_eq!(r.target, b"/?a=1");
        let r =
            parse(&DOC.replace("http://www.example.com:80/", "https://h.test:443/x/y")).unwrap();
        assert_eq!(r.host.as_deref(), Some(&b"h.test"[..]));
        assert_eq!(r.target, b"/x/y");
        // The target never answered: ALB's 502, latency unknown.
        let r = parse(&DOC.replace("0.000 0.001 0.000 200 200", "0.000 -1 -1 502 -")).unwrap();
        assert_eq!(r.status, Some(502));
        assert!(r.response_ts.is_none());
        let r = parse(&DOC.replace(" 200 200 ", " - - ")).unwrap();
        assert_eq!(r.status, None);
    }

    #[test]
    fn hostile_lines() {
        let cases = [
            (
                DOC.replace("\"curl/7.46.0\"", "\"curl/7.46.0"),
                Skip::Syntax,
            ),
            (DOC.replace("http 2018", "tcp 2018"), Skip::Syntax),
            (DOC[..120].to_string(), Skip::Syntax),
            (
                DOC.replace("2018-07-02T22:23", "2018-07-32T22:23"),
                Skip::Time,
            ),
            (
                DOC.replace("2018-07-02T22:22", "2018-07-02 22:22"),
                Skip::Time,
            ),
            (
                DOC.replace("2018-07-02T22:22", "2018-07-02T25:22"),
                Skip::Time,
            ),
            (DOC.replace("\"forward\"", "\"forw"), Skip::Syntax),
            (
                DOC.replace("GET http://www.example.com:80/ HTTP/1.1", "- - - "),
                Skip::Request,
            ),
            (
                DOC.replace("http://www.example.com:80/", "ftp://x/"),
                Skip::Request,
            ),
            (DOC.replace(" 200 200 ", " 20x 200 "), Skip::Status),
            (DOC.replace("0.000 0.001", "0.000 1e300"), Skip::Number),
            (DOC.replace("0.000 0.001", "0.000 x"), Skip::Number),
            ("".to_string(), Skip::Syntax),
        ];
        for (line, why) in cases {
            assert_eq!(parse(&line).err(), Some(why), "{line}");
        }
    }
}
