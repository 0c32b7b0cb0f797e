//! One HTTP/2 stream: its request and response as header blocks and DATA frames arrive, and
//! how a decoded header list becomes a [`MessageHead`] (pseudo-header fields on the start
//! line, `:authority` as `host`, `cookie` fields joined as RFC 9113 section 8.2.3 says).

use crate::http::{HttpMessage, MessageHead, Tags, Version};

/// A decoded header list, bounded: fields past the caps are counted, not kept.
#[derive(Debug, Default)]
pub struct FieldList {
    bytes: Vec<u8>,
    spans: Vec<(u32, u32, u32)>,
    /// Fields dropped at a cap.
    pub over: bool,
    /// Fields that referenced the unknown part of a lost HPACK table.
    pub unknown: u32,
}

impl FieldList {
    /// Adds a field unless the caps (`max_bytes` of names and values, `max_fields`) are reached.
    pub fn push(&mut self, n: &[u8], v: &[u8], max_bytes: usize, max_fields: usize) {
        if self.over
            || self.spans.len() >= max_fields
            || self.bytes.len() + n.len() + v.len() > max_bytes
        {
            self.over = true;
            return;
        }
        let s = self.bytes.len() as u32;
        self.bytes.extend_from_slice(n);
        let m = self.bytes.len() as u32;
        self.bytes.extend_from_slice(v);
        self.spans.push((s, m, self.bytes.len() as u32));
    }

    /// The fields in order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        self.spans.iter().map(|&(s, m, e)| {
            (
                &self.bytes[s as usize..m as usize],
                &self.bytes[m as usize..e as usize],
            )
        })
    }

    /// The value of the first pseudo-header field `name`.
    pub fn pseudo(&self, name: &[u8]) -> Option<&[u8]> {
        self.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// Bytes held.
    pub fn held(&self) -> usize {
        self.bytes.capacity() + self.spans.capacity() * 12
    }
}

/// The regular fields of a list (pseudo-header fields left out), `cookie` fields joined into
/// one, `host` first from `:authority` when there is no `host` field.
fn regular<'a>(list: &'a FieldList, joined: &'a mut Vec<u8>) -> Vec<(&'a [u8], &'a [u8])> {
    let mut out: Vec<(&[u8], &[u8])> = Vec::with_capacity(list.spans.len() + 1);
    let has_host = list.iter().any(|(n, _)| n.eq_ignore_ascii_case(b"host"));
    if !has_host && let Some(a) = list.pseudo(b":authority") {
        out.push((b"host", a));
    }
    let cookies = list.iter().filter(|(n, _)| *n == b"cookie").count();
    if cookies > 1 {
        for (i, (_, v)) in list.iter().filter(|(n, _)| *n == b"cookie").enumerate() {
            if i > 0 {
                joined.extend_from_slice(b"; ");
            }
            joined.extend_from_slice(v);
        }
    }
    let mut cookie_done = false;
    for (n, v) in list.iter() {
        if n.first() == Some(&b':') {
            continue;
        }
        if cookies > 1 && n == b"cookie" {
            if !cookie_done {
                cookie_done = true;
                out.push((b"cookie", &joined[..]));
            }
            continue;
        }
        out.push((n, v));
    }
    out
}

/// A request head from a header list: `None` without `:method`.
pub fn request_head(list: &FieldList) -> Option<MessageHead> {
    let method = list.pseudo(b":method")?;
    let target = list
        .pseudo(b":path")
        .or_else(|| list.pseudo(b":authority"))
        .unwrap_or(b"");
    let mut joined = Vec::new();
    let fields = regular(list, &mut joined);
    Some(MessageHead::from_parts(
        Some((method, target)),
        0,
        Version::HTTP_2,
        &fields,
    ))
}

/// The status of a response header list: `None` without a readable `:status`.
pub fn status(list: &FieldList) -> Option<u16> {
    let s = list.pseudo(b":status")?;
    if s.len() != 3 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0u16, |a, d| a * 10 + u16::from(d - b'0')))
}

/// A response head from a header list with status `code`.
pub fn response_head(list: &FieldList, code: u16) -> MessageHead {
    let mut joined = Vec::new();
    let fields = regular(list, &mut joined);
    MessageHead::from_parts(None, code, Version::HTTP_2, &fields)
}

/// `head` with trailer fields appended (gRPC's `grpc-status` arrives this way).
pub fn with_trailers(head: &MessageHead, trailers: &FieldList) -> MessageHead {
    let mut fields: Vec<(&[u8], &[u8])> = head.headers().collect();
    fields.extend(trailers.iter().filter(|(n, _)| n.first() != Some(&b':')));
    let request = head.is_request().then(|| (head.method(), head.target()));
    MessageHead::from_parts(request, head.status(), head.version(), &fields)
}

/// A stream's state.
#[derive(Debug)]
pub struct Stream {
    /// Position among the connection's streams, from 1.
    pub depth: u32,
    /// The request.
    pub req: Option<HttpMessage>,
    /// The final response.
    pub resp: Option<HttpMessage>,
    /// Interim status codes.
    pub interim: Vec<u16>,
    /// Conditions.
    pub tags: Tags,
    /// The client ended its side (END_STREAM), or will never send more.
    pub req_done: bool,
    /// The server ended its side.
    pub resp_done: bool,
    /// Body sample bytes accounted in the context's memory.
    pub held: usize,
    /// On a connection picked up mid-way: the request's `:method` or `:path` referenced the
    /// unknown part of a lost HPACK table. The stream is read (its frames keep their place)
    /// and counted when it ends, not emitted: a transaction without its method or path would
    /// be an endpoint that does not exist.
    pub unrecovered: bool,
}

impl Stream {
    /// A new stream at position `depth`.
    pub fn new(depth: u32) -> Stream {
        Stream {
            depth,
            req: None,
            resp: None,
            interim: Vec::new(),
            tags: Tags::default(),
            req_done: false,
            resp_done: false,
            held: 0,
            unrecovered: false,
        }
    }

    /// The message of one side.
    pub fn message(&mut self, client: bool) -> Option<&mut HttpMessage> {
        if client {
            self.req.as_mut()
        } else {
            self.resp.as_mut()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(fields: &[(&str, &str)]) -> FieldList {
        let mut l = FieldList::default();
        for (n, v) in fields {
            l.push(n.as_bytes(), v.as_bytes(), 1 << 20, 100);
        }
        l
    }

    #[test]
    fn request_from_pseudo_headers() {
        let l = list(&[
            (":method", "POST"),
            (":scheme", "http"),
            (":authority", "api.example:8080"),
            (":path", "/v1/items?x=1"),
            ("cookie", "a=1"),
            ("content-type", "application/json"),
            ("cookie", "b=2"),
        ]);
        let h = request_head(&l).unwrap();
        assert_eq!(h.method(), b"POST");
        assert_eq!(h.target(), b"/v1/items?x=1");
        assert_eq!(h.version(), Version::HTTP_2);
        assert_eq!(h.header("host"), Some(&b"api.example:8080"[..]));
        assert_eq!(h.header("cookie"), Some(&b"a=1; b=2"[..]));
        assert_eq!(h.header("content-type"), Some(&b"application/json"[..]));
        assert_eq!(h.header_count(), 3);
        assert!(request_head(&list(&[(":path", "/")])).is_none());
    }

    #[test]
    fn response_and_trailers() {
        let l = list(&[(":status", "200"), ("content-type", "application/grpc")]);
        assert_eq!(status(&l), Some(200));
        assert_eq!(status(&list(&[(":status", "2x0")])), None);
        let h = response_head(&l, 200);
        assert_eq!(h.status(), 200);
        let t = with_trailers(&h, &list(&[("grpc-status", "0")]));
        assert_eq!(t.status(), 200);
        assert_eq!(t.header("grpc-status"), Some(&b"0"[..]));
        assert_eq!(t.header("content-type"), Some(&b"application/grpc"[..]));
    }

    #[test]
    fn caps_drop_fields() {
        let mut l = FieldList::default();
        l.push(b"a", b"1234", 8, 10);
        l.push(b"b", b"1234", 8, 10);
        l.push(b"c", b"1", 8, 10);
        assert!(l.over);
        assert_eq!(l.iter().count(), 1);
    }
}
