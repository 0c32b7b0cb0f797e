//! Message heads: start line and header fields, owned, with the bytes exactly as received.
//!
//! The start line is read here (leniently: several spaces, raw non-UTF-8 bytes in the target);
//! the header block goes through `httparse::parse_headers`, and through a lenient line splitter
//! when httparse refuses it (a space before the colon, a bare CR, an obsolete line fold): a
//! sensor must see what servers accept, not only what the RFC allows. Both are bounded by the
//! number of headers and by the head size the caller enforces.

use memchr::memchr;
use std::fmt;

/// A byte range within a head's raw bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Span {
    start: u32,
    end: u32,
}

impl Span {
    fn new(start: usize, end: usize) -> Span {
        Span {
            start: start as u32,
            end: end as u32,
        }
    }
    fn get(self, raw: &[u8]) -> &[u8] {
        raw.get(self.start as usize..self.end as usize)
            .unwrap_or(&[])
    }
}

/// HTTP version of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    /// Major digit.
    pub major: u8,
    /// Minor digit.
    pub minor: u8,
}

impl Version {
    /// HTTP/1.0.
    pub const HTTP_10: Version = Version { major: 1, minor: 0 };
    /// HTTP/1.1.
    pub const HTTP_11: Version = Version { major: 1, minor: 1 };
    /// No readable version on the start line (a malformed request line).
    pub const UNKNOWN: Version = Version { major: 0, minor: 0 };
    /// HTTP/2 (a stream of an HTTP/2 connection; printed `2`).
    pub const HTTP_2: Version = Version { major: 2, minor: 0 };
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == Version::HTTP_2 {
            return f.write_str("2");
        }
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// The first line of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartLine {
    /// `METHOD SP request-target SP HTTP-version`.
    Request {
        /// Method token.
        method: Span,
        /// Request target exactly as sent.
        target: Span,
        /// Version.
        version: Version,
    },
    /// `HTTP-version SP status-code [SP reason-phrase]`.
    Response {
        /// Version.
        version: Version,
        /// Status code.
        code: u16,
        /// Reason phrase (may be empty).
        reason: Span,
    },
}

/// Why a head could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HeadError {
    /// The start line is not a request line.
    #[error("invalid request line")]
    RequestLine,
    /// The start line is not a status line.
    #[error("invalid status line")]
    StatusLine,
    /// More header fields than allowed.
    #[error("too many header fields")]
    TooManyHeaders,
    /// A header line could not be read even leniently.
    #[error("invalid header field")]
    Header,
}

impl HeadError {
    /// A stable name for statistics.
    pub fn kind(self) -> &'static str {
        match self {
            HeadError::RequestLine => "bad_request_line",
            HeadError::StatusLine => "bad_status_line",
            HeadError::TooManyHeaders => "too_many_headers",
            HeadError::Header => "bad_header",
        }
    }
}

/// A parsed message head that owns its bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct MessageHead {
    raw: Box<[u8]>,
    start: StartLine,
    headers: Vec<(Span, Span)>,
    /// True when the lenient header reader had to be used.
    pub lenient: bool,
    /// True when the request line was not `METHOD SP target SP HTTP/x.y` and was read leniently
    /// (missing target or version, a broken version).
    pub malformed_start: bool,
    /// 1 + index of the first field of each [`KNOWN_HEADERS`] name (0: absent). `u32`, like the
    /// spans: a head has fewer fields than bytes.
    known: [u32; KNOWN_HEADERS.len()],
    /// Bit per [`KNOWN_HEADERS`] name that appears more than once.
    repeated: u16,
}

/// Header fields indexed when a head is parsed (lower case).
pub const KNOWN_HEADERS: [&str; 10] = [
    "host",
    "content-length",
    "transfer-encoding",
    "content-type",
    "content-encoding",
    "user-agent",
    "upgrade",
    "connection",
    "authorization",
    "cookie",
];

fn known_slot(name: &str) -> Option<usize> {
    KNOWN_HEADERS.iter().position(|h| *h == name)
}

impl fmt::Debug for MessageHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageHead")
            .field("raw", &String::from_utf8_lossy(&self.raw))
            .finish()
    }
}

impl MessageHead {
    /// The head bytes as received, from the start line through the empty line.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// The start line.
    pub fn start_line(&self) -> StartLine {
        self.start
    }

    /// True for a request.
    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }

    /// The method (empty for a response).
    pub fn method(&self) -> &[u8] {
        match self.start {
            StartLine::Request { method, .. } => method.get(&self.raw),
            StartLine::Response { .. } => &[],
        }
    }

    /// The request target exactly as sent (empty for a response).
    pub fn target(&self) -> &[u8] {
        match self.start {
            StartLine::Request { target, .. } => target.get(&self.raw),
            StartLine::Response { .. } => &[],
        }
    }

    /// The version.
    pub fn version(&self) -> Version {
        match self.start {
            StartLine::Request { version, .. } | StartLine::Response { version, .. } => version,
        }
    }

    /// The status code (0 for a request).
    pub fn status(&self) -> u16 {
        match self.start {
            StartLine::Response { code, .. } => code,
            StartLine::Request { .. } => 0,
        }
    }

    /// The reason phrase (empty for a request).
    pub fn reason(&self) -> &[u8] {
        match self.start {
            StartLine::Response { reason, .. } => reason.get(&self.raw),
            StartLine::Request { .. } => &[],
        }
    }

    /// All header fields in order, names as sent.
    pub fn headers(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        self.headers
            .iter()
            .map(|(n, v)| (n.get(&self.raw), v.get(&self.raw)))
    }

    /// Number of header fields.
    pub fn header_count(&self) -> usize {
        self.headers.len()
    }

    /// The first field named `name` (ASCII case-insensitive). The fields shadowtap reads most
    /// ([`KNOWN_HEADERS`], given in lower case) are found without a scan.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        if let Some(k) = known_slot(name) {
            let i = self.known[k] as usize;
            return i
                .checked_sub(1)
                .and_then(|i| self.headers.get(i))
                .map(|(_, v)| v.get(&self.raw));
        }
        self.headers()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v)
    }

    /// True when a field named `name` appears more than once.
    pub fn header_repeated(&self, name: &str) -> bool {
        match known_slot(name) {
            Some(k) => self.repeated & (1 << k) != 0,
            None => self.header_all(name).nth(1).is_some(),
        }
    }

    /// Every field named `name`, in order.
    pub fn header_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.headers()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v)
    }

    /// True when any comma-separated element of any `name` field equals `token` (case-insensitive).
    pub fn header_has_token(&self, name: &str, token: &str) -> bool {
        self.header_all(name)
            .flat_map(|v| v.split(|&b| b == b','))
            .any(|t| trim(t).eq_ignore_ascii_case(token.as_bytes()))
    }

    /// Parses a complete head (`raw` ends with the empty line) with at most `max_headers` fields.
    pub fn parse(raw: &[u8], max_headers: usize) -> Result<MessageHead, HeadError> {
        let line_end = memchr(b'\n', raw).ok_or(HeadError::RequestLine)?;
        let line = trim_cr(&raw[..line_end]);
        let mut malformed_start = false;
        let start = if line.starts_with(b"HTTP/") {
            parse_status_line(line).ok_or(HeadError::StatusLine)?
        } else if let Some(s) = parse_request_line(line) {
            s
        } else {
            malformed_start = true;
            parse_request_line_lenient(line).ok_or(HeadError::RequestLine)?
        };
        let block_start = line_end + 1;
        let block = &raw[block_start..];
        let (headers, lenient) = match strict_headers(block, block_start, max_headers) {
            Ok(h) => (h, false),
            Err(HeadError::TooManyHeaders) => return Err(HeadError::TooManyHeaders),
            Err(_) => (lenient_headers(block, block_start, max_headers)?, true),
        };
        let mut known = [0u32; KNOWN_HEADERS.len()];
        let mut repeated = 0u16;
        // Numbered from 1 (0 is "absent"); every field gets a number, however many there are.
        for ((n, _), nth) in headers.iter().zip(1u32..) {
            let name = n.get(raw);
            if let Some(k) = KNOWN_HEADERS
                .iter()
                .position(|h| h.len() == name.len() && h.as_bytes().eq_ignore_ascii_case(name))
            {
                if known[k] == 0 {
                    known[k] = nth;
                } else {
                    repeated |= 1 << k;
                }
            }
        }
        Ok(MessageHead {
            raw: raw.into(),
            start,
            headers,
            lenient,
            malformed_start,
            known,
            repeated,
        })
    }
}

impl MessageHead {
    /// A head built from parts rather than parsed: an HTTP/2 stream's pseudo-header fields
    /// become the start line (`request` is `Some((method, target))`, otherwise `code` is the
    /// status), `fields` the header fields in order. The raw bytes are laid out as an HTTP/1
    /// head would be (`METHOD SP target SP HTTP/2.0 CRLF name: value CRLF ... CRLF`) so that
    /// [`MessageHead::raw`] stays readable; the spans point at the parts exactly as given.
    pub fn from_parts(
        request: Option<(&[u8], &[u8])>,
        code: u16,
        version: Version,
        fields: &[(&[u8], &[u8])],
    ) -> MessageHead {
        let size: usize = fields
            .iter()
            .map(|(n, v)| n.len() + v.len() + 4)
            .sum::<usize>()
            + request.map_or(16, |(m, t)| m.len() + t.len() + 12)
            + 2;
        let mut raw = Vec::with_capacity(size);
        let v = format!("HTTP/{}.{}", version.major, version.minor);
        let start = match request {
            Some((m, t)) => {
                raw.extend_from_slice(m);
                raw.push(b' ');
                let ts = raw.len();
                raw.extend_from_slice(t);
                let te = raw.len();
                raw.push(b' ');
                raw.extend_from_slice(v.as_bytes());
                StartLine::Request {
                    method: Span::new(0, m.len()),
                    target: Span::new(ts, te),
                    version,
                }
            }
            None => {
                raw.extend_from_slice(v.as_bytes());
                raw.push(b' ');
                let mut b = itoa::Buffer::new();
                raw.extend_from_slice(b.format(code.min(999)).as_bytes());
                raw.push(b' ');
                StartLine::Response {
                    version,
                    code,
                    reason: Span::new(raw.len(), raw.len()),
                }
            }
        };
        raw.extend_from_slice(b"\r\n");
        let mut headers = Vec::with_capacity(fields.len());
        let mut known = [0u32; KNOWN_HEADERS.len()];
        let mut repeated = 0u16;
        for ((n, val), nth) in fields.iter().zip(1u32..) {
            let ns = raw.len();
            raw.extend_from_slice(n);
            let ne = raw.len();
            raw.extend_from_slice(b": ");
            let vs = raw.len();
            raw.extend_from_slice(val);
            let ve = raw.len();
            raw.extend_from_slice(b"\r\n");
            headers.push((Span::new(ns, ne), Span::new(vs, ve)));
            if let Some(k) = KNOWN_HEADERS
                .iter()
                .position(|h| h.len() == n.len() && h.as_bytes().eq_ignore_ascii_case(n))
            {
                if known[k] == 0 {
                    known[k] = nth;
                } else {
                    repeated |= 1 << k;
                }
            }
        }
        raw.extend_from_slice(b"\r\n");
        MessageHead {
            raw: raw.into(),
            start,
            headers,
            lenient: false,
            malformed_start: false,
            known,
            repeated,
        }
    }
}

fn strict_headers(block: &[u8], base: usize, max: usize) -> Result<Vec<(Span, Span)>, HeadError> {
    // Most heads have few fields: parse into a stack array first, and into a heap array of the
    // configured size only when that is too small.
    let mut small = [httparse::EMPTY_HEADER; 48];
    let limit = max.clamp(1, small.len());
    match spans_of(block, base, &mut small[..limit]) {
        Err(HeadError::TooManyHeaders) if max > limit => {
            let mut big = vec![httparse::EMPTY_HEADER; max.min(1024)];
            spans_of(block, base, &mut big)
        }
        other => other,
    }
}

fn spans_of<'b>(
    block: &'b [u8],
    base: usize,
    storage: &mut [httparse::Header<'b>],
) -> Result<Vec<(Span, Span)>, HeadError> {
    match httparse::parse_headers(block, storage) {
        Ok(httparse::Status::Complete((_, hdrs))) => {
            let origin = block.as_ptr() as usize;
            Ok(hdrs
                .iter()
                .map(|h| {
                    let ns = h.name.as_ptr() as usize - origin + base;
                    let vs = if h.value.is_empty() {
                        ns + h.name.len()
                    } else {
                        h.value.as_ptr() as usize - origin + base
                    };
                    (
                        Span::new(ns, ns + h.name.len()),
                        Span::new(vs, vs + h.value.len()),
                    )
                })
                .collect())
        }
        Ok(httparse::Status::Partial) => Err(HeadError::Header),
        Err(httparse::Error::TooManyHeaders) => Err(HeadError::TooManyHeaders),
        Err(_) => Err(HeadError::Header),
    }
}

/// Line by line: `name [spaces] : value`, continuation lines folded into the previous value.
fn lenient_headers(block: &[u8], base: usize, max: usize) -> Result<Vec<(Span, Span)>, HeadError> {
    let mut out: Vec<(Span, Span)> = Vec::new();
    let mut pos = 0;
    while pos < block.len() {
        let end = memchr(b'\n', &block[pos..]).map_or(block.len(), |i| pos + i);
        let line = trim_cr(&block[pos..end]);
        let line_start = pos;
        pos = end + 1;
        if line.is_empty() {
            break;
        }
        if line[0] == b' ' || line[0] == b'\t' {
            // obs-fold: extend the previous value over the continuation line.
            if let Some(last) = out.last_mut() {
                last.1.end = (base + line_start + line.len()) as u32;
                continue;
            }
            return Err(HeadError::Header);
        }
        let Some(colon) = memchr(b':', line) else {
            continue;
        };
        let name = trim(&line[..colon]);
        if name.is_empty() || name.iter().any(|&b| b <= b' ' || b == 0x7f) {
            continue;
        }
        let value = trim(&line[colon + 1..]);
        if out.len() >= max {
            return Err(HeadError::TooManyHeaders);
        }
        let ns = base + line_start + (name.as_ptr() as usize - line.as_ptr() as usize);
        let vs = base + line_start + (value.as_ptr() as usize - line.as_ptr() as usize);
        out.push((
            Span::new(ns, ns + name.len()),
            Span::new(vs, vs + value.len()),
        ));
    }
    Ok(out)
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Trims spaces and tabs at both ends.
pub fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t' | b'\r'] = s {
        s = rest;
    }
    s
}

/// True for a `tchar` (RFC 9110 token character).
pub fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn parse_version(v: &[u8]) -> Option<Version> {
    match v {
        [b'H', b'T', b'T', b'P', b'/', maj, b'.', min]
            if maj.is_ascii_digit() && min.is_ascii_digit() =>
        {
            Some(Version {
                major: maj - b'0',
                minor: min - b'0',
            })
        }
        _ => None,
    }
}

fn parse_request_line(line: &[u8]) -> Option<StartLine> {
    let m_end = line.iter().position(|&b| !is_token(b))?;
    if m_end == 0 || line[m_end] != b' ' {
        return None;
    }
    let mut i = m_end;
    while line.get(i) == Some(&b' ') {
        i += 1;
    }
    let t_start = i;
    // The target ends at the last space before the version (targets may hold raw spaces).
    let v_start = line.iter().rposition(|&b| b == b' ')? + 1;
    let version = parse_version(&line[v_start..])?;
    let mut t_end = v_start - 1;
    while t_end > t_start && line[t_end - 1] == b' ' {
        t_end -= 1;
    }
    if t_end <= t_start || line[t_start..t_end].iter().any(|&b| b < b' ' && b != b'\t') {
        return None;
    }
    Some(StartLine::Request {
        method: Span::new(0, m_end),
        target: Span::new(t_start, t_end),
        version,
    })
}

/// A request line servers still answer: an upper-case method token, then optionally a target and
/// a version that may be broken (`OPTIONS`, `OPTIONS HTTP/1.1`, `GET / HTTP/1.`).
fn parse_request_line_lenient(line: &[u8]) -> Option<StartLine> {
    let m_end = line.iter().position(|&b| b == b' ').unwrap_or(line.len());
    let method = &line[..m_end];
    let upper = |b: &u8| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_' || *b == b'-';
    if method.is_empty()
        || method.len() > 32
        || !method[0].is_ascii_uppercase()
        || !method.iter().all(upper)
    {
        return None;
    }
    let mut i = m_end;
    while line.get(i) == Some(&b' ') {
        i += 1;
    }
    let t_start = i;
    let t_end = line[i..]
        .iter()
        .position(|&b| b == b' ')
        .map_or(line.len(), |p| i + p);
    if line[t_start..t_end].iter().any(|&b| b < b' ' && b != b'\t') {
        return None;
    }
    let rest = &line[t_end..];
    let v = trim(rest);
    let version = if v.is_empty() {
        Version::UNKNOWN
    } else {
        parse_version(v).unwrap_or(Version::UNKNOWN)
    };
    Some(StartLine::Request {
        method: Span::new(0, m_end),
        target: Span::new(t_start, t_end),
        version,
    })
}

fn parse_status_line(line: &[u8]) -> Option<StartLine> {
    let version = parse_version(line.get(..8)?)?;
    let mut i = 8;
    if line.get(i) != Some(&b' ') {
        return None;
    }
    while line.get(i) == Some(&b' ') {
        i += 1;
    }
    let digits = line.get(i..i + 3)?;
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let code = digits
        .iter()
        .fold(0u16, |a, d| a * 10 + u16::from(d - b'0'));
    i += 3;
    match line.get(i) {
        None => {}
        Some(b' ') | Some(b'\t') => i += 1,
        Some(_) => return None,
    }
    Some(StartLine::Response {
        version,
        code,
        reason: Span::new(i.min(line.len()), line.len()),
    })
}

/// True when `line` is a request line that [`MessageHead::parse`] accepts, leniently read or not.
pub fn is_request_line_lenient(line: &[u8]) -> bool {
    let line = trim_cr(line);
    parse_request_line(line).is_some() || parse_request_line_lenient(line).is_some()
}

/// True when `line` (without its line end) could start a message of the given kind: used to find
/// the next message after a gap or garbage.
pub fn is_start_line(line: &[u8], request: bool) -> bool {
    let line = trim_cr(line);
    if request {
        parse_request_line(line).is_some()
    } else {
        line.starts_with(b"HTTP/") && parse_status_line(line).is_some()
    }
}

/// Where within `line` (one line, with or without its line end) a start line of the given kind
/// begins, if it holds one: a message may follow a body that did not end with a newline, so the
/// start line can sit at the end of a line of other bytes.
pub fn find_start_in_line(line: &[u8], request: bool) -> Option<usize> {
    let line = trim_cr(line.strip_suffix(b"\n").unwrap_or(line));
    if request {
        if parse_request_line(line).is_some() {
            return Some(0);
        }
        // `... METHOD SP target SP HTTP/x.y`: the method is the run of upper-case characters
        // before the target.
        let v_start = line.iter().rposition(|&b| b == b' ')? + 1;
        parse_version(&line[v_start..])?;
        let mut t_end = v_start - 1;
        while t_end > 0 && line[t_end - 1] == b' ' {
            t_end -= 1;
        }
        let t_start = line[..t_end].iter().rposition(|&b| b == b' ')? + 1;
        let mut m_end = t_start - 1;
        while m_end > 0 && line[m_end - 1] == b' ' {
            m_end -= 1;
        }
        let m_start = line[..m_end]
            .iter()
            .rposition(|b| !(b.is_ascii_uppercase() || *b == b'_' || *b == b'-'))
            .map_or(0, |p| p + 1);
        (m_start < m_end && parse_request_line(&line[m_start..]).is_some()).then_some(m_start)
    } else {
        // Any `HTTP/d.d`, as `is_start_line` and `MessageHead::parse` accept.
        memchr::memmem::find_iter(line, b"HTTP/").find(|&i| parse_status_line(&line[i..]).is_some())
    }
}

/// Position just past the empty line that ends a head within `buf`, searching from `from`
/// (callers pass where the previous search stopped, less 3 bytes, so the scan stays linear).
pub fn find_head_end(buf: &[u8], from: usize) -> Option<usize> {
    let mut i = from.min(buf.len());
    while let Some(p) = memchr(b'\n', &buf[i..]) {
        let nl = i + p;
        match buf.get(nl + 1) {
            Some(b'\n') => return Some(nl + 2),
            Some(b'\r') if buf.get(nl + 2) == Some(&b'\n') => return Some(nl + 3),
            _ => {}
        }
        i = nl + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_head() {
        let raw = b"GET /a?b=1 HTTP/1.1\r\nHost: Example.com\r\nUser-Agent: curl/8\r\nX-Empty:\r\nConnection: keep-alive, Upgrade\r\n\r\n";
        let h = MessageHead::parse(raw, 64).unwrap();
        assert_eq!(h.method(), b"GET");
        assert_eq!(h.target(), b"/a?b=1");
        assert_eq!(h.version(), Version::HTTP_11);
        assert_eq!(h.header("host"), Some(&b"Example.com"[..]));
        assert_eq!(h.header("x-empty"), Some(&b""[..]));
        assert!(h.header_has_token("connection", "upgrade"));
        assert_eq!(h.header_count(), 4);
        assert!(!h.lenient);
    }

    #[test]
    fn status_head_and_variants() {
        let h = MessageHead::parse(b"HTTP/1.0 404 Not Found\nContent-Length: 3\n\n", 8).unwrap();
        assert_eq!((h.status(), h.reason()), (404, &b"Not Found"[..]));
        assert_eq!(h.version(), Version::HTTP_10);
        let h = MessageHead::parse(b"HTTP/1.1 200\r\n\r\n", 8).unwrap();
        assert_eq!((h.status(), h.reason()), (200, &b""[..]));
        assert!(MessageHead::parse(b"HTTP/1.1 2000 OK\r\n\r\n", 8).is_err());
        assert!(MessageHead::parse(b"HTTP/1.1 abc OK\r\n\r\n", 8).is_err());
    }

    #[test]
    fn lenient_where_servers_are() {
        // raw bytes and spaces in the target, a space before a colon, an obs-fold
        let raw = b"GET /caf\xe9 x HTTP/1.1\r\nHost : h\r\nX-Long: a\r\n  b\r\n\r\n";
        let h = MessageHead::parse(raw, 8).unwrap();
        assert_eq!(h.target(), b"/caf\xe9 x");
        assert!(h.lenient);
        assert_eq!(h.header("host"), Some(&b"h"[..]));
        assert_eq!(h.header("x-long"), Some(&b"a\r\n  b"[..]));
        // broken request lines that servers still answer are read, and marked
        for (line, method, target) in [
            (&b"GET /"[..], &b"GET"[..], &b"/"[..]),
            (b"OPTIONS HTTP/1.1", b"OPTIONS", b"HTTP/1.1"),
            (b"OPTIONS", b"OPTIONS", b""),
            (b"GET / HTTP/1.", b"GET", b"/"),
        ] {
            let raw = [line, b"\r\nHost: h\r\n\r\n"].concat();
            let h = MessageHead::parse(&raw, 8).unwrap();
            assert!(h.malformed_start);
            assert_eq!(
                (h.method(), h.target(), h.version()),
                (method, target, Version::UNKNOWN)
            );
        }
        // no method at all
        assert_eq!(
            MessageHead::parse(b"GET/ HTTP/1.1\r\n\r\n", 8).unwrap_err(),
            HeadError::RequestLine
        );
        assert_eq!(
            MessageHead::parse(b"OPTIONSHTTP/1.1\r\n\r\n", 8).unwrap_err(),
            HeadError::RequestLine
        );
        assert_eq!(
            MessageHead::parse(b"get / HTTP/1.1x\r\n\r\n", 8).unwrap_err(),
            HeadError::RequestLine
        );
    }

    #[test]
    fn header_cap() {
        let mut raw = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..20 {
            raw.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        raw.extend_from_slice(b"\r\n");
        assert_eq!(
            MessageHead::parse(&raw, 10).unwrap_err(),
            HeadError::TooManyHeaders
        );
        assert!(MessageHead::parse(&raw, 20).is_ok());
    }

    /// Fuzz finding 3: a known field after the 255th field was not indexed (and was marked as
    /// repeated), so `header` missed it and framing fields there were ignored.
    #[test]
    fn known_fields_after_field_255_are_found() {
        for lenient in [false, true] {
            let mut raw = b"POST / HTTP/1.1\r\n".to_vec();
            for _ in 0..255 {
                // `a :` makes httparse refuse the block: the lenient reader is used.
                raw.extend_from_slice(if lenient { b"a :\r\n" } else { b"a:\r\n" });
            }
            raw.extend_from_slice(b"Host: x\r\nContent-Length: 5\r\nA: 1\r\nhost: y\r\n\r\n");
            let h = MessageHead::parse(&raw, 1024).unwrap();
            assert_eq!(h.lenient, lenient);
            assert_eq!(h.header_count(), 259);
            assert_eq!(h.header("host"), Some(&b"x"[..]));
            assert!(h.header_repeated("host"));
            assert_eq!(h.header("content-length"), Some(&b"5"[..]));
            assert!(!h.header_repeated("content-length"));
            assert_eq!(
                super::super::body::request_framing(&h).0,
                super::super::body::Framing::Length(5)
            );
        }
    }

    #[test]
    fn head_end() {
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\n\r\nbody", 0), Some(18));
        assert_eq!(find_head_end(b"GET / HTTP/1.1\n\nbody", 0), Some(16));
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\nA: b\r\n", 0), None);
        assert!(is_start_line(b"PROPFIND /x HTTP/1.1\r", true));
        assert!(!is_start_line(b"<html>", true));
        assert!(is_start_line(b"HTTP/1.1 304 Not Modified", false));
        assert_eq!(
            find_start_in_line(b"\xff\xd9HTTP/1.1 200 OK\r\n", false),
            Some(2)
        );
        assert_eq!(
            find_start_in_line(b"\xff\xd9xGET /a?b HTTP/1.1\r\n", true),
            Some(3)
        );
        assert_eq!(find_start_in_line(b"GET /a HTTP/1.1\r\n", true), Some(0));
        assert_eq!(
            find_start_in_line(b"some text about HTTP/1.1 in prose\n", false),
            None
        );
        assert_eq!(
            find_start_in_line(b"binary \x00\x01 HTTP/1.1\n", true),
            None
        );
    }

    /// Review finding: `is_start_line` accepted any `HTTP/d.d` status line but
    /// `find_start_in_line` looked only for `HTTP/1.`.
    #[test]
    fn status_line_search_agrees_with_is_start_line() {
        for line in [
            &b"HTTP/2.0 200 OK\r\n"[..],
            b"HTTP/1.0 404 Not Found\r\n",
            b"HTTP/0.9 200\n",
            b"HTTP/2 200\r\n",
            b"HTTP/1.1 20 OK\r\n",
        ] {
            let at_start = is_start_line(line.strip_suffix(b"\n").unwrap_or(line), false);
            assert_eq!(
                find_start_in_line(line, false) == Some(0),
                at_start,
                "{}",
                String::from_utf8_lossy(line)
            );
            let tail = b"\xff\xd9tail of a body";
            let prefixed = [&tail[..], line].concat();
            assert_eq!(
                find_start_in_line(&prefixed, false),
                at_start.then_some(tail.len()),
                "{}",
                String::from_utf8_lossy(&prefixed)
            );
        }
    }

    #[test]
    fn any_bytes_never_panic() {
        let samples: [&[u8]; 6] = [
            b"",
            b"\n",
            b"\r\n\r\n",
            b"HTTP/1.1 \n\n",
            b" GET / HTTP/1.1\n\n",
            b"G\x00T / HTTP/1.1\n:\n\n",
        ];
        for s in samples {
            let _ = MessageHead::parse(s, 4);
        }
    }
}
