//! HAR 1.2 files (<http://www.softwareishard.com/blog/har-12-spec/>): what browsers' developer
//! tools, proxies and test suites save. The document is read entry by entry from
//! `log.entries`, never whole: each entry is held while it is read (at most
//! [`SourceConfig::max_entry_bytes`] of JSON), turned into a transaction and dropped.
//!
//! Read per entry: `startedDateTime`, `timings` (`send`, `wait`, `receive`; the latency is
//! `wait`, the time to the first response byte, as on the wire), `serverIPAddress`,
//! `request.method`, `.url` (its path and query become the target, its authority the Host when
//! no `Host` field is listed, as for HTTP/2), `.httpVersion`, `.headers`, `.postData.text`;
//! `response.status` (0, a request that got no response, gives a transaction without one),
//! `.headers`, `.content.text` (with `"encoding": "base64"` decoded), `.content.size`.
//! Pseudo-header fields (`:path`, ...) are dropped. Entries the browser's cache answered
//! (Chromium's `_fromCache`, or a `_transferSize` of 0) never reached the server: they are
//! counted under `from_cache` and skipped. The content a HAR keeps is decoded, so a
//! response with a body sample loses its `Content-Encoding` field.
//!
//! An entry of the wrong shape, with a URL that is not `http(s):`, a date that does not read or
//! absurd numbers is counted and skipped; JSON that stops being JSON stops the file, keeping
//! what came before.

use super::{Record, Skip, SourceConfig, SourceError, SourceStats, UNKNOWN_HOST, timestamp};
use crate::http::{Body, HttpTransaction};
use ::time::OffsetDateTime;
use ::time::format_description::well_known::Rfc3339;
use base64::Engine as _;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::cell::Cell;
use std::fmt;
use std::io::{BufRead, Read};
use std::rc::Rc;

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Entry {
    started_date_time: String,
    request: Request,
    response: Option<Response>,
    timings: Option<Timings>,
    #[serde(rename = "serverIPAddress")]
    server_ip_address: Option<String>,
    /// Chromium's developer tools: `memory` or `disk` when the browser's cache answered.
    #[serde(rename = "_fromCache")]
    from_cache: Option<serde_json::Value>,
    /// Playwright: the server's port.
    #[serde(rename = "_serverPort")]
    server_port: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Request {
    method: String,
    url: String,
    http_version: String,
    headers: Vec<Header>,
    post_data: Option<Content>,
    body_size: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Response {
    status: f64,
    http_version: String,
    headers: Vec<Header>,
    content: Option<Content>,
    body_size: Option<f64>,
    /// Chromium (Playwright): bytes that came over the network; 0 when the cache answered.
    #[serde(rename = "_transferSize")]
    transfer_size: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Header {
    name: String,
    value: String,
}

/// `postData` and `content`: both have `text`; `content` has `size` and `encoding`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Content {
    size: Option<f64>,
    text: Option<String>,
    encoding: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Timings {
    blocked: Option<f64>,
    dns: Option<f64>,
    connect: Option<f64>,
    send: Option<f64>,
    wait: Option<f64>,
    receive: Option<f64>,
}

/// A HAR duration in milliseconds: `-1` (or absent) is unknown; negative or over a day is
/// absurd.
fn millis(v: Option<f64>) -> Result<Option<i64>, Skip> {
    match v {
        None => Ok(None),
        Some(-1.0) => Ok(None),
        Some(m) if m.is_finite() && (0.0..=86_400_000.0).contains(&m) => {
            Ok(Some((m * 1e6).round() as i64))
        }
        Some(_) => Err(Skip::Number),
    }
}

/// A body from HAR text: decoded from base64 when so marked, cut at `cap`; `size` (when
/// known and not smaller) is its length.
fn body(c: Option<&Content>, size: Option<f64>, cap: usize) -> Result<Body, Skip> {
    let mut b = Body::default();
    let Some(c) = c else { return Ok(b) };
    if let Some(text) = &c.text {
        let bytes = if c.encoding.as_deref() == Some("base64") {
            base64::engine::general_purpose::STANDARD
                .decode(text.as_bytes())
                .map_err(|_| Skip::Entry)?
        } else {
            text.as_bytes().to_vec()
        };
        b.len = bytes.len() as u64;
        b.sample = bytes;
        b.sample.truncate(cap);
    }
    if let Some(s) = c.size.or(size).filter(|s| *s >= 0.0) {
        if !s.is_finite() || s > 9e15 {
            return Err(Skip::Number);
        }
        b.len = b.len.max(s as u64);
    }
    Ok(b)
}

/// `scheme://authority/path?query#fragment` → (authority, path and query); `None` when the
/// scheme is not http or https.
fn split_url(url: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return None;
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    // userinfo never becomes part of the host.
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let path = rest[end..].split('#').next().unwrap_or("");
    Some((authority, path))
}

fn headers(h: &[Header]) -> Vec<(Vec<u8>, Vec<u8>)> {
    h.iter()
        .filter(|h| !h.name.starts_with(':') && !h.name.is_empty())
        .map(|h| (h.name.as_bytes().to_vec(), h.value.as_bytes().to_vec()))
        .collect()
}

fn record(e: &Entry, cap: usize) -> Result<Record, Skip> {
    // Answered by the browser's cache: the request never reached the server.
    let cached = e.from_cache.is_some()
        || e.response
            .as_ref()
            .is_some_and(|r| r.transfer_size == Some(0.0) && r.status != 0.0);
    if cached {
        return Err(Skip::FromCache);
    }
    let started = OffsetDateTime::parse(&e.started_date_time, &Rfc3339)
        .ok()
        .and_then(timestamp)
        .ok_or(Skip::Time)?;
    let (authority, path) = split_url(&e.request.url).ok_or(Skip::NotHttp)?;
    let target = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    };
    let method = e.request.method.as_bytes();
    super::check_request(method, target.as_bytes())?;
    let t = e.timings.as_ref();
    let before = [
        t.and_then(|t| t.blocked),
        t.and_then(|t| t.dns),
        t.and_then(|t| t.connect),
    ]
    .into_iter()
    .map(millis)
    .try_fold(0i64, |a, m| m.map(|m| a.saturating_add(m.unwrap_or(0))))?;
    let send = millis(t.and_then(|t| t.send))?.unwrap_or(0);
    let wait = millis(t.and_then(|t| t.wait))?;
    let receive = millis(t.and_then(|t| t.receive))?.unwrap_or(0);
    let q_first = started.plus_nanos(before);
    let q_last = q_first.plus_nanos(send);
    let status = match &e.response {
        Some(r) if r.status == 0.0 => None,
        Some(r) if r.status.fract() == 0.0 && (100.0..=999.0).contains(&r.status) => {
            Some(r.status as u16)
        }
        Some(_) => return Err(Skip::Status),
        None => None,
    };
    let response_ts = wait.map(|w| {
        let first = q_last.plus_nanos(w);
        (first, first.plus_nanos(receive))
    });
    let mut request_headers = headers(&e.request.headers);
    let has_host = request_headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case(b"host"));
    let host = if has_host {
        None
    } else {
        Some(authority.as_bytes().to_vec()).filter(|a| !a.is_empty())
    };
    if let Some(h) = &host {
        request_headers.insert(0, (b"Host".to_vec(), h.clone()));
    }
    let request_body = body(e.request.post_data.as_ref(), e.request.body_size, cap)?;
    let (mut response_headers, response_body, version) = match &e.response {
        Some(r) if status.is_some() => (
            headers(&r.headers),
            body(r.content.as_ref(), None, cap)?,
            Some(r.http_version.as_str()),
        ),
        _ => (Vec::new(), Body::default(), None),
    };
    if !response_body.sample.is_empty() {
        response_headers.retain(|(n, _)| !n.eq_ignore_ascii_case(b"content-encoding"));
    }
    let version = [e.request.http_version.as_str(), version.unwrap_or("")]
        .into_iter()
        .find_map(|v| super::version(v.as_bytes()));
    Ok(Record {
        method: method.to_vec(),
        target: target.as_bytes().to_vec(),
        version,
        status,
        client: None,
        server: e
            .server_ip_address
            .as_deref()
            .and_then(|a| a.trim_matches(['[', ']']).parse().ok())
            .map(|ip| {
                let port = e
                    .server_port
                    .filter(|p| p.fract() == 0.0 && (0.0..=65535.0).contains(p));
                (ip, port.map_or(0, |p| p as u16))
            }),
        // The Host field (listed or from the URL) is among the request headers.
        host: request_headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(b"host"))
            .map(|(_, v)| v.clone()),
        request_ts: (q_first, q_last),
        response_ts,
        request_headers,
        response_headers,
        request_body,
        response_body,
    })
}

/// Bytes read since the current entry began, shared with the entry visitor; the reader fails
/// once an entry is over the cap.
struct Capped<R> {
    inner: R,
    used: Rc<Cell<u64>>,
    max: u64,
    over: Rc<Cell<bool>>,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.used.get() > self.max {
            self.over.set(true);
            return Err(std::io::Error::other("HAR entry over the cap"));
        }
        let n = self.inner.read(buf)?;
        self.used.set(self.used.get() + n as u64);
        Ok(n)
    }
}

struct Sink<'a, F> {
    used: Rc<Cell<u64>>,
    cap: usize,
    host: &'a str,
    stats: &'a mut SourceStats,
    emit: F,
}

impl<F: FnMut(u64, HttpTransaction)> Sink<'_, F> {
    fn entry(&mut self, v: serde_json::Value) {
        self.stats.lines += 1;
        let n = self.stats.lines;
        let rec = Entry::deserialize(v)
            .map_err(|_| Skip::Entry)
            .and_then(|e| record(&e, self.cap));
        match rec {
            Ok(r) => {
                self.stats.transactions += 1;
                let t = r.into_transaction(n, self.host, self.stats);
                (self.emit)(n, t);
            }
            Err(why) => self.stats.skip(why),
        }
    }
}

/// The document: `{"log": {...}}`, other members ignored.
struct Doc<'s, 'a, F>(&'s mut Sink<'a, F>);
/// `log`: `{"entries": [...]}`, other members ignored.
struct Log<'s, 'a, F>(&'s mut Sink<'a, F>);
/// `entries`: each element to the sink as it is read.
struct Entries<'s, 'a, F>(&'s mut Sink<'a, F>);

impl<'de, F: FnMut(u64, HttpTransaction)> DeserializeSeed<'de> for Doc<'_, '_, F> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, F: FnMut(u64, HttpTransaction)> Visitor<'de> for Doc<'_, '_, F> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a HAR document")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == "log" {
                map.next_value_seed(Log(&mut *self.0))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

impl<'de, F: FnMut(u64, HttpTransaction)> DeserializeSeed<'de> for Log<'_, '_, F> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, F: FnMut(u64, HttpTransaction)> Visitor<'de> for Log<'_, '_, F> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a HAR log object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == "entries" {
                map.next_value_seed(Entries(&mut *self.0))?;
            } else {
                self.0.used.set(0);
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

impl<'de, F: FnMut(u64, HttpTransaction)> DeserializeSeed<'de> for Entries<'_, '_, F> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, F: FnMut(u64, HttpTransaction)> Visitor<'de> for Entries<'_, '_, F> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of HAR entries")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        loop {
            self.0.used.set(0);
            match seq.next_element::<serde_json::Value>()? {
                Some(v) => self.0.entry(v),
                None => return Ok(()),
            }
        }
    }
}

/// Reads a HAR document from `input`, giving each entry's transaction to `emit` with its
/// number (from 1). Entries that cannot be read are counted in `stats`; JSON that stops being
/// JSON (or an entry over the cap) ends the file with an error, after the entries before it.
pub fn read<R: BufRead>(
    input: R,
    cfg: &SourceConfig,
    stats: &mut SourceStats,
    emit: impl FnMut(u64, HttpTransaction),
) -> Result<(), SourceError> {
    let used = Rc::new(Cell::new(0));
    let over = Rc::new(Cell::new(false));
    let reader = Capped {
        inner: input,
        used: used.clone(),
        max: cfg.max_entry_bytes,
        over: over.clone(),
    };
    let mut sink = Sink {
        used,
        cap: cfg.body_sample_bytes,
        host: cfg.host.as_deref().unwrap_or(UNKNOWN_HOST),
        stats,
        emit,
    };
    let mut de = serde_json::Deserializer::from_reader(reader);
    let result = Doc(&mut sink).deserialize(&mut de).and_then(|()| de.end());
    match result {
        Ok(()) => Ok(()),
        Err(_) if over.get() => {
            sink.stats.entry_too_large += 1;
            Err(SourceError::EntryTooLarge(cfg.max_entry_bytes))
        }
        Err(e) => Err(SourceError::Har {
            line: e.line(),
            column: e.column(),
            reason: e.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A HAR written by hand in the shape Chromium saves (HTTP/2 pseudo-header fields, a
    /// gzip'd response whose content is kept decoded, a base64 body, a request that got no
    /// response, a data: URL).
    const HAR: &str = r#"{
      "log": {
        "version": "1.2",
        "creator": {"name": "WebInspector", "version": "537.36"},
        "pages": [{"startedDateTime": "2026-12-07T01:00:00.000Z", "id": "page_1", "title": "x", "pageTimings": {}}],
        "entries": [
          {
            "startedDateTime": "2026-12-07T01:00:00.100Z",
            "time": 30.5,
            "request": {
              "method": "POST",
              "url": "https://api.example.com:8443/v1/users?expand=1#frag",
              "httpVersion": "http/2.0",
              "headers": [
                {"name": ":authority", "value": "api.example.com:8443"},
                {"name": ":path", "value": "/v1/users?expand=1"},
                {"name": "content-type", "value": "application/json"},
                {"name": "authorization", "value": "Bearer abc"}
              ],
              "queryString": [{"name": "expand", "value": "1"}],
              "postData": {"mimeType": "application/json", "text": "{\"name\":\"ann\"}"},
              "headersSize": -1,
              "bodySize": 14
            },
            "response": {
              "status": 201,
              "statusText": "",
              "httpVersion": "http/2.0",
              "headers": [
                {"name": "content-type", "value": "application/json"},
                {"name": "content-encoding", "value": "gzip"}
              ],
              "content": {"size": 11, "mimeType": "application/json", "text": "eyJpZCI6IDd9", "encoding": "base64"},
              "redirectURL": "",
              "headersSize": -1,
              "bodySize": 40
            },
            "serverIPAddress": "[2001:db8::1]",
            "timings": {"blocked": 1.5, "dns": -1, "ssl": -1, "connect": -1, "send": 0.5, "wait": 25, "receive": 3.5}
          },
          {
            "startedDateTime": "2026-12-07T01:00:01.000+01:00",
            "request": {"method": "GET", "url": "http://shop.test/cart", "httpVersion": "HTTP/1.1",
                        "headers": [{"name": "Host", "value": "shop.test"}]},
            "response": {"status": 0, "httpVersion": "", "headers": [], "content": {"size": 0}},
            "timings": {"send": 0, "wait": -1, "receive": 0}
          },
          {
            "startedDateTime": "2026-12-07T01:00:02Z",
            "request": {"method": "GET", "url": "data:image/png;base64,AAAA", "headers": []},
            "response": {"status": 200, "headers": [], "content": {"size": 3}}
          },
          {"startedDateTime": "yesterday", "request": {"method": "GET", "url": "http://a.test/"}},
          {"startedDateTime": "2026-12-07T01:00:02Z", "request": "not an object"},
          {"startedDateTime": "2026-12-07T01:00:02Z", "request": {"method": "GET", "url": "http://a.test/"},
           "response": {"status": 200, "content": {}}, "timings": {"wait": 1e300}},
          {"startedDateTime": "2026-12-07T01:00:02Z", "request": {"method": "GET", "url": "http://a.test/"},
           "response": {"status": 99999}}
        ]
      }
    }"#;

    fn read_all(
        text: &[u8],
        cfg: &SourceConfig,
    ) -> (Vec<HttpTransaction>, SourceStats, Result<(), SourceError>) {
        let mut stats = SourceStats::default();
        let mut out = Vec::new();
        let r = read(text, cfg, &mut stats, |_, t| out.push(t));
        (out, stats, r)
    }

    #[test]
    fn entries_become_transactions() {
        let (txns, stats, r) = read_all(HAR.as_bytes(), &SourceConfig::default());
        r.unwrap();
        assert_eq!(stats.lines, 7);
        assert_eq!(stats.transactions, 2);
        assert_eq!(
            (
                stats.not_http,
                stats.bad_time,
                stats.bad_entry,
                stats.bad_number,
                stats.bad_status
            ),
            (1, 1, 1, 1, 1)
        );
        let t = &txns[0];
        let q = t.request.as_ref().unwrap();
        assert_eq!(q.head.method(), b"POST");
        assert_eq!(q.head.target(), b"/v1/users?expand=1");
        assert_eq!(q.head.header("host"), Some(&b"api.example.com:8443"[..]));
        assert!(q.head.headers().all(|(n, _)| !n.starts_with(b":")));
        assert_eq!(q.head.version(), crate::http::Version::HTTP_2);
        assert_eq!(q.body.sample, br#"{"name":"ann"}"#);
        let s = t.response.as_ref().unwrap();
        assert_eq!(s.head.status(), 201);
        assert_eq!(s.body.sample, br#"{"id": 7}"#);
        assert_eq!(s.body.len, 11);
        assert_eq!(
            s.head.header("content-encoding"),
            None,
            "the HAR content is decoded"
        );
        assert_eq!(t.latency_ns(), Some(25_000_000));
        assert_eq!(
            t.resp.ip,
            "2001:db8::1".parse::<std::net::IpAddr>().unwrap()
        );
        // 2026-12-07T01:00:00.100Z + blocked 1.5 ms
        assert_eq!(q.first_ts.as_nanos(), 1_796_605_200_101_500_000);
        // Status 0: no response.
        let t = &txns[1];
        assert!(t.response.is_none());
        assert_eq!(
            t.request.as_ref().unwrap().head.header("host"),
            Some(&b"shop.test"[..])
        );
        assert_eq!(t.request.as_ref().unwrap().first_ts.secs(), 1_796_601_601);
    }

    #[test]
    fn broken_json_keeps_what_came_before() {
        let cut = &HAR.as_bytes()[..HAR
            .find("\"startedDateTime\": \"2026-12-07T01:00:01")
            .unwrap()
            + 30];
        let (txns, stats, r) = read_all(cut, &SourceConfig::default());
        assert_eq!(txns.len(), 1);
        assert_eq!(stats.transactions, 1);
        assert!(matches!(r, Err(SourceError::Har { .. })), "{r:?}");
        let (txns, _, r) = read_all(b"\xff\xfe{\"log\"", &SourceConfig::default());
        assert!(txns.is_empty() && r.is_err());
        let (_, _, r) = read_all(b"[1, 2]", &SourceConfig::default());
        assert!(r.is_err());
    }

    #[test]
    fn an_entry_over_the_cap_stops_the_file() {
        let big = format!(
            r#"{{"log": {{"entries": [{{"startedDateTime": "2026-12-07T01:00:02Z", "request": {{"method": "GET", "url": "http://a.test/"}}, "response": {{"status": 200}}}}, {{"request": {{"postData": {{"text": "{}"}}}}}}]}}}}"#,
            "x".repeat(100_000)
        );
        let cfg = SourceConfig {
            max_entry_bytes: 10_000,
            ..SourceConfig::default()
        };
        let (txns, stats, r) = read_all(big.as_bytes(), &cfg);
        assert_eq!(txns.len(), 1);
        assert_eq!(stats.entry_too_large, 1);
        assert!(
            matches!(r, Err(SourceError::EntryTooLarge(10_000))),
            "{r:?}"
        );
        // Under the default cap, the same file reads whole and its body sample is cut.
        let (_, stats, r) = read_all(
            big.as_bytes(),
            &SourceConfig {
                body_sample_bytes: 16,
                ..SourceConfig::default()
            },
        );
        r.unwrap();
        assert_eq!(stats.bad_time, 1, "the second entry has no date");
    }

    #[test]
    fn bodies_are_sampled_up_to_the_cap() {
        let c = Content {
            size: None,
            text: Some("y".repeat(100)),
            encoding: None,
        };
        let b = body(Some(&c), None, 10).unwrap();
        assert_eq!((b.len, b.sample.len()), (100, 10));
        let bad = Content {
            encoding: Some("base64".into()),
            text: Some("!!!".into()),
            size: None,
        };
        assert_eq!(body(Some(&bad), None, 10), Err(Skip::Entry));
    }

    #[test]
    fn cache_hits_are_skipped() {
        let har = r#"{"log": {"entries": [
            {"startedDateTime": "2026-12-07T01:00:02Z", "_fromCache": "memory",
             "request": {"method": "GET", "url": "http://a.test/app.js"}, "response": {"status": 200}},
            {"startedDateTime": "2026-12-07T01:00:02Z",
             "request": {"method": "GET", "url": "http://a.test/app.js"},
             "response": {"status": 200, "_transferSize": 0}},
            {"startedDateTime": "2026-12-07T01:00:02Z", "_serverPort": 8080, "serverIPAddress": "10.0.0.1",
             "request": {"method": "GET", "url": "http://a.test/app.js"},
             "response": {"status": 200, "_transferSize": 120}}
        ]}}"#;
        let (txns, stats, r) = read_all(har.as_bytes(), &SourceConfig::default());
        r.unwrap();
        assert_eq!((stats.from_cache, stats.transactions), (2, 1));
        assert_eq!(txns[0].resp.port, 8080);
        assert_eq!(
            txns[0].latency_ns(),
            None,
            "no wait timing: latency unknown"
        );
    }

    #[test]
    fn urls() {
        assert_eq!(
            split_url("https://u:p@h.test:1/a?b#c"),
            Some(("h.test:1", "/a?b"))
        );
        assert_eq!(split_url("http://h.test?x=1"), Some(("h.test", "?x=1")));
        assert_eq!(split_url("ws://h.test/"), None);
        assert_eq!(split_url("nonsense"), None);
    }
}
