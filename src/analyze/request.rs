//! The parsed view of a transaction that every analysis shares, parsed once.
//!
//! [`RequestView`] is made once per transaction by
//! [`Inventory::observe`](super::inventory::Inventory::observe) and handed to every concern
//! (auth detection, the URL and header scans for sensitive data, body inspection, login
//! detection, the posture checks, the call-sequence fingerprint) in place of the raw
//! [`HttpTransaction`]. It owns the parsing they share:
//!
//! * the request target as text, split into the host of an absolute-form target, the path and
//!   the query ([`split_target`]), and the query's `name=value` pairs, percent-decoded
//!   ([`Pairs`]; also used for form bodies);
//! * per message, its header fields named in one pass ([`Field`], [`FieldName`]): the ones the
//!   analyses read (User-Agent, Accept-Language, Origin, Set-Cookie, CORS, rate-limit fields),
//!   the standard fields that never carry data, and the fields that carry credentials, in the
//!   order auth detection reads them ([`Credential`]); the bearer token and its JWT decoding
//!   (unverified), which auth detection and the posture checks both read;
//! * per message, the media type, the body sample with its content coding undone (within the
//!   limit it is given, the bound of [`crate::http::body::decode`]) and that text parsed as JSON.
//!
//! Everything is borrowed from the transaction where it can be (a UTF-8 target, field names and
//! values, a body without content coding, text without percent escapes) and computed lazily, at
//! most once per transaction: a piece no concern asks for is never parsed (the bodies of a
//! transaction that sampling skips are not decoded), and one asked for twice is parsed once.
//!
//! What it may not do: keep anything between transactions, count, store or judge. What a field
//! or a body means (a scheme, a finding, a shape, a statistic) belongs to the concern that reads
//! it. It depends on [`crate::http`] and the text helpers only, so every analysis can depend on
//! it without a cycle. Input is hostile: nothing here panics, and what it holds is bounded by the
//! message head (target, fields) and by the body limit.

use std::borrow::Cow;
use std::cell::OnceCell;

use super::secret::{JwtInfo, decode_jwt};
use super::util::percent_decode;
use crate::http::body::{self, BodyDecodeError};
use crate::http::{HttpMessage, HttpTransaction, MessageHead};

/// Non-empty `name=value` pieces of a query string or form body that [`Pairs::parse`] splits and
/// decodes; later ones are only counted ([`Pairs::beyond`]). The form shape's cap
/// ([`crate::analyze::form::MAX_FORM_PAIRS`]) is the same.
pub const MAX_PAIRS: usize = 1000;

/// Header fields of a request among which credentials are looked for (auth detection reads no
/// further).
pub const MAX_CREDENTIAL_FIELDS: usize = 256;

/// Header fields that carry an API key (lower case), as auth detection knows them.
pub const API_KEY_HEADERS: [&str; 12] = [
    "x-api-key",
    "api-key",
    "apikey",
    "x-apikey",
    "x-api-token",
    "api-token",
    "x-auth-token",
    "x-access-token",
    "x-token",
    "x-goog-api-key",
    "ocp-apim-subscription-key",
    "x-functions-key",
];

/// Standard header fields whose values are protocol tokens, dates or sizes, never data
/// ([`FieldName::Plain`], and Accept-Language).
pub const PLAIN_FIELDS: [&str; 36] = [
    "host",
    "connection",
    "keep-alive",
    "content-length",
    "content-type",
    "content-encoding",
    "content-language",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "accept",
    "accept-encoding",
    "accept-language",
    "accept-charset",
    "accept-ranges",
    "range",
    "content-range",
    "date",
    "expires",
    "last-modified",
    "if-modified-since",
    "if-unmodified-since",
    "if-none-match",
    "if-match",
    "etag",
    "cache-control",
    "pragma",
    "vary",
    "age",
    "server",
    "user-agent",
    "expect",
    "via",
    "sec-fetch-mode",
    "sec-fetch-site",
];

/// Splits a request target into (host of an absolute-form target, path, query): the fragment
/// is dropped, an empty path is `/`.
pub fn split_target(target: &str) -> (Option<&str>, &str, Option<&str>) {
    let (host, rest) = match target.find("://") {
        Some(i) if target[..i].bytes().all(|b| b.is_ascii_alphabetic()) => {
            let after = &target[i + 3..];
            let end = after.find(['/', '?']).unwrap_or(after.len());
            (Some(&after[..end]), &after[end..])
        }
        _ => (None, target),
    };
    let rest = rest.split('#').next().unwrap_or("");
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    let path = if path.is_empty() { "/" } else { path };
    (host, path, query)
}

/// A request's target as text: borrowed when it is UTF-8 (as good as always), else a copy with
/// U+FFFD in place of the bytes that are not. [`RequestView::new`] borrows its pieces from it.
pub fn target_text(request: &HttpMessage) -> Cow<'_, str> {
    String::from_utf8_lossy(request.head.target())
}

/// One `name=value` piece of a query string or form body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pair<'a> {
    /// Position among the `&`-separated pieces, empty pieces included, from 0.
    pub piece: usize,
    /// The name as sent (percent-encoded).
    pub raw_name: &'a str,
    /// The value as sent (empty when the piece has no `=`).
    pub raw_value: &'a str,
    /// The name percent-decoded, `+` as a space, bytes that are not UTF-8 after decoding as
    /// U+FFFD; borrowed when there was nothing to decode.
    pub name: Cow<'a, str>,
    /// The value, decoded alike.
    pub value: Cow<'a, str>,
}

/// The pairs of a query string or `application/x-www-form-urlencoded` body, split at `&` and
/// decoded once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pairs<'a> {
    /// The text as given.
    pub raw: &'a str,
    /// The first [`MAX_PAIRS`] non-empty pieces, in order.
    pub pairs: Vec<Pair<'a>>,
    /// Non-empty pieces after those: counted, not decoded.
    pub beyond: u64,
}

impl<'a> Pairs<'a> {
    /// Splits `raw` at `&` and decodes every non-empty piece's name and value (up to
    /// [`MAX_PAIRS`]). Nothing is stripped: a leading `?` or a `#` stay part of the pieces.
    pub fn parse(raw: &'a str) -> Pairs<'a> {
        let mut pairs = Vec::new();
        let mut beyond = 0u64;
        for (piece, p) in raw.split('&').enumerate() {
            if p.is_empty() {
                continue;
            }
            if pairs.len() >= MAX_PAIRS {
                beyond += 1;
                continue;
            }
            let (raw_name, raw_value) = p.split_once('=').unwrap_or((p, ""));
            pairs.push(Pair {
                piece,
                raw_name,
                raw_value,
                name: percent_decode(raw_name, true),
                value: percent_decode(raw_value, true),
            });
        }
        Pairs { raw, pairs, beyond }
    }

    /// Whether readers that drop a leading `?` and cut at `#` see these same pieces (no leading
    /// `?`, no `#`: always so for a query that [`split_target`] cut). When not, such a reader
    /// reads [`Pairs::raw`] itself.
    pub fn is_plain(&self) -> bool {
        !self.raw.starts_with('?') && !self.raw.contains('#')
    }

    /// The first 256 pairs, decoded: what [`crate::analyze::util::pairs`] yields of the text.
    pub fn first(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.pairs.iter().take(256).map(|p| (&*p.name, &*p.value))
    }
}

/// The header fields the analyses tell apart, by name (ASCII case-insensitive; a name with
/// other bytes than ASCII is [`FieldName::Other`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldName {
    /// `Authorization`.
    Authorization,
    /// `Proxy-Authorization`.
    ProxyAuthorization,
    /// `Cookie`.
    Cookie,
    /// `Set-Cookie`.
    SetCookie,
    /// A field of [`API_KEY_HEADERS`], by its lower-case name.
    ApiKey(&'static str),
    /// `Accept-Language` (also a plain field).
    AcceptLanguage,
    /// `Origin`.
    Origin,
    /// `Access-Control-Allow-Credentials`.
    AllowCredentials,
    /// `Access-Control-Allow-Origin`.
    AllowOrigin,
    /// A rate-limit field: `RateLimit`, `RateLimit-*` (`-Policy`, the draft's `-Limit`,
    /// `-Remaining`), `X-RateLimit-*`, `X-Rate-Limit-*`.
    RateLimit,
    /// Another of [`PLAIN_FIELDS`].
    Plain,
    /// Anything else.
    Other,
}

impl FieldName {
    /// Names a field.
    pub fn of(name: &[u8]) -> FieldName {
        // Long enough for every name below ("access-control-allow-credentials" is 32).
        let mut buf = [0u8; 32];
        if let Some(lower) = buf.get_mut(..name.len()) {
            lower.copy_from_slice(name);
            lower.make_ascii_lowercase();
            let lower: &[u8] = lower;
            // One match (a jump on length, then a comparison or two) rather than a scan of the
            // lists: the same names as PLAIN_FIELDS and API_KEY_HEADERS (a test holds them
            // equal).
            let known = match lower {
                b"authorization" => Some(FieldName::Authorization),
                b"proxy-authorization" => Some(FieldName::ProxyAuthorization),
                b"cookie" => Some(FieldName::Cookie),
                b"set-cookie" => Some(FieldName::SetCookie),
                b"accept-language" => Some(FieldName::AcceptLanguage),
                b"origin" => Some(FieldName::Origin),
                b"access-control-allow-credentials" => Some(FieldName::AllowCredentials),
                b"access-control-allow-origin" => Some(FieldName::AllowOrigin),
                b"host"
                | b"connection"
                | b"keep-alive"
                | b"content-length"
                | b"content-type"
                | b"content-encoding"
                | b"content-language"
                | b"transfer-encoding"
                | b"te"
                | b"trailer"
                | b"upgrade"
                | b"accept"
                | b"accept-encoding"
                | b"accept-charset"
                | b"accept-ranges"
                | b"range"
                | b"content-range"
                | b"date"
                | b"expires"
                | b"last-modified"
                | b"if-modified-since"
                | b"if-unmodified-since"
                | b"if-none-match"
                | b"if-match"
                | b"etag"
                | b"cache-control"
                | b"pragma"
                | b"vary"
                | b"age"
                | b"server"
                | b"user-agent"
                | b"expect"
                | b"via"
                | b"sec-fetch-mode"
                | b"sec-fetch-site" => Some(FieldName::Plain),
                b"x-api-key" => Some(FieldName::ApiKey("x-api-key")),
                b"api-key" => Some(FieldName::ApiKey("api-key")),
                b"apikey" => Some(FieldName::ApiKey("apikey")),
                b"x-apikey" => Some(FieldName::ApiKey("x-apikey")),
                b"x-api-token" => Some(FieldName::ApiKey("x-api-token")),
                b"api-token" => Some(FieldName::ApiKey("api-token")),
                b"x-auth-token" => Some(FieldName::ApiKey("x-auth-token")),
                b"x-access-token" => Some(FieldName::ApiKey("x-access-token")),
                b"x-token" => Some(FieldName::ApiKey("x-token")),
                b"x-goog-api-key" => Some(FieldName::ApiKey("x-goog-api-key")),
                b"ocp-apim-subscription-key" => {
                    Some(FieldName::ApiKey("ocp-apim-subscription-key"))
                }
                b"x-functions-key" => Some(FieldName::ApiKey("x-functions-key")),
                _ => None,
            };
            if let Some(k) = known {
                return k;
            }
        }
        let starts = |p: &[u8]| {
            name.get(..p.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(p))
        };
        if name.eq_ignore_ascii_case(b"ratelimit")
            || starts(b"ratelimit-")
            || starts(b"x-ratelimit-")
            || starts(b"x-rate-limit-")
        {
            return FieldName::RateLimit;
        }
        FieldName::Other
    }

    /// A standard field whose value is a protocol token, a date or a size, never data.
    pub fn is_plain(self) -> bool {
        matches!(self, FieldName::Plain | FieldName::AcceptLanguage)
    }
}

/// One header field of a message, named.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field<'a> {
    /// The name as sent.
    pub name: &'a [u8],
    /// The value as sent.
    pub value: &'a [u8],
    /// What the name is.
    pub known: FieldName,
}

/// Which field of a request carries credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialField {
    /// `Authorization` (every scheme).
    Authorization,
    /// `Cookie` (every cookie; which of them are sessions is auth's to say).
    Cookie,
    /// An API key header, by its lower-case name ([`API_KEY_HEADERS`]).
    ApiKey(&'static str),
}

/// A request field that carries credentials: auth detection reads these and nothing else of the
/// head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Credential<'a> {
    /// Which field.
    pub field: CredentialField,
    /// Its value as sent.
    pub value: &'a [u8],
}

/// Whether a field name carries credentials, by auth detection's reading of names: the first
/// 128 bytes, as text (U+FFFD for bytes that are not UTF-8), white space trimmed, compared
/// ASCII case-insensitively. `known` is [`FieldName::of`] the name.
fn credential_field(name: &[u8], known: FieldName) -> Option<CredentialField> {
    match known {
        FieldName::Authorization => return Some(CredentialField::Authorization),
        FieldName::Cookie => return Some(CredentialField::Cookie),
        FieldName::ApiKey(h) => return Some(CredentialField::ApiKey(h)),
        _ => {}
    }
    // A plain ASCII name without white space was named exactly by `FieldName::of`; others (the
    // lenient head reader's, or a caller's) are read as auth always read them.
    let spaced = |b: &u8| matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ');
    if name.is_ascii() && !name.iter().any(spaced) {
        return None;
    }
    let name = String::from_utf8_lossy(name.get(..name.len().min(128)).unwrap_or(&[]));
    let name = name.trim();
    if name.eq_ignore_ascii_case("authorization") {
        Some(CredentialField::Authorization)
    } else if name.eq_ignore_ascii_case("cookie") {
        Some(CredentialField::Cookie)
    } else {
        API_KEY_HEADERS
            .iter()
            .find(|h| h.eq_ignore_ascii_case(name))
            .map(|h| CredentialField::ApiKey(h))
    }
}

/// The credential-bearing fields among the first [`MAX_CREDENTIAL_FIELDS`] of `fields` (name,
/// value), in order.
pub fn credentials<'a>(fields: impl Iterator<Item = (&'a [u8], &'a [u8])>) -> Vec<Credential<'a>> {
    fields
        .take(MAX_CREDENTIAL_FIELDS)
        .filter_map(|(name, value)| {
            credential_field(name, FieldName::of(name)).map(|field| Credential { field, value })
        })
        .collect()
}

/// The media type of a head's `Content-Type`: lower case, without parameters, cut to 100
/// bytes; empty without one. Borrowed when the value is UTF-8 and lower case already.
pub fn media_type(head: &MessageHead) -> Cow<'_, str> {
    let Some(v) = head.header("content-type") else {
        return Cow::Borrowed("");
    };
    let cut = |s: &str| -> usize {
        let mut end = s.len().min(100);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        end
    };
    match String::from_utf8_lossy(v) {
        Cow::Borrowed(v) => {
            let main = v.split(';').next().unwrap_or("").trim();
            let main = &main[..cut(main)];
            if main.bytes().any(|b| b.is_ascii_uppercase()) {
                Cow::Owned(main.to_ascii_lowercase())
            } else {
                Cow::Borrowed(main)
            }
        }
        Cow::Owned(v) => {
            let main = v.split(';').next().unwrap_or("").trim();
            Cow::Owned(main[..cut(main)].to_ascii_lowercase())
        }
    }
}

/// One message (request or response) of a transaction, parsed on demand, each piece once.
#[derive(Debug)]
pub struct MessageView<'a> {
    /// The message.
    pub message: &'a HttpMessage,
    /// Bytes of decoded body kept at most.
    limit: usize,
    fields: OnceCell<Vec<Field<'a>>>,
    media: OnceCell<Cow<'a, str>>,
    decoded: OnceCell<Result<Cow<'a, [u8]>, BodyDecodeError>>,
    json: OnceCell<Option<serde_json::Value>>,
}

impl<'a> MessageView<'a> {
    /// A view of `message` whose body is decoded to at most `limit` bytes.
    pub fn new(message: &'a HttpMessage, limit: usize) -> MessageView<'a> {
        MessageView {
            message,
            limit,
            fields: OnceCell::new(),
            media: OnceCell::new(),
            decoded: OnceCell::new(),
            json: OnceCell::new(),
        }
    }

    /// The head.
    pub fn head(&self) -> &'a MessageHead {
        &self.message.head
    }

    /// Every header field in order, named (named on first use).
    pub fn fields(&self) -> &[Field<'a>] {
        let head: &'a MessageHead = &self.message.head;
        self.fields.get_or_init(|| {
            head.headers()
                .map(|(name, value)| Field {
                    name,
                    value,
                    known: FieldName::of(name),
                })
                .collect()
        })
    }

    /// The value of the first field named `name` (not [`FieldName::Plain`] nor
    /// [`FieldName::Other`], which name no one field).
    pub fn first(&self, name: FieldName) -> Option<&'a [u8]> {
        self.fields()
            .iter()
            .find(|f| f.known == name)
            .map(|f| f.value)
    }

    /// The values of every field named `name`, in order.
    pub fn all(&self, name: FieldName) -> impl Iterator<Item = &'a [u8]> + '_ {
        self.fields()
            .iter()
            .filter(move |f| f.known == name)
            .map(|f| f.value)
    }

    /// Whether the message holds a rate-limit field ([`FieldName::RateLimit`]).
    pub fn has_rate_limit_field(&self) -> bool {
        self.fields()
            .iter()
            .any(|f| f.known == FieldName::RateLimit)
    }

    /// The media type ([`media_type`]).
    pub fn media_type(&self) -> &str {
        self.media.get_or_init(|| media_type(&self.message.head))
    }

    /// The body sample with its Content-Encoding undone, at most the view's limit: borrowed
    /// from the sample when it has no content coding; decoded on first use, once.
    pub fn decoded(&self) -> Result<&[u8], &BodyDecodeError> {
        let m = self.message;
        let limit = self.limit;
        self.decoded
            .get_or_init(|| match m.head.header("content-encoding") {
                None => Ok(Cow::Borrowed(
                    &m.body.sample[..m.body.sample.len().min(limit)],
                )),
                Some(v) => body::parse_codings(v)
                    .and_then(|codings| body::decode(&m.body.sample, &codings, limit))
                    .map(Cow::Owned),
            })
            .as_deref()
    }

    /// Whether the body was decoded already, successfully.
    pub fn is_decoded(&self) -> bool {
        self.decoded.get().is_some_and(|d| d.is_ok())
    }

    /// The decoded body parsed as JSON (`None` when it does not decode or parse); parsed on
    /// first use, once.
    pub fn json(&self) -> Option<&serde_json::Value> {
        let text = self.decoded().ok()?;
        self.json
            .get_or_init(|| serde_json::from_slice(text).ok())
            .as_ref()
    }
}

/// A transaction with a request, parsed on demand for every analysis, each piece once.
#[derive(Debug)]
pub struct RequestView<'a> {
    /// The transaction (times, addresses, tags).
    pub txn: &'a HttpTransaction,
    /// The request.
    pub request: MessageView<'a>,
    /// The final response, when seen.
    pub response: Option<MessageView<'a>>,
    /// The host of an absolute-form target (`http://host/...`), user information included.
    pub target_host: Option<&'a str>,
    /// The path (`/` when empty), percent-encoded as sent.
    pub path: &'a str,
    /// The query string without its `?`, percent-encoded as sent.
    pub query: Option<&'a str>,
    pairs: OnceCell<Option<Pairs<'a>>>,
    credentials: OnceCell<Vec<Credential<'a>>>,
    bearer: OnceCell<Option<&'a str>>,
    bearer_jwt: OnceCell<Option<JwtInfo>>,
}

impl<'a> RequestView<'a> {
    /// The view of `t` (`None` without a request), its target read from `target` (the
    /// request's [`target_text`]), its bodies decoded to at most `body_limit` bytes.
    pub fn new(t: &'a HttpTransaction, target: &'a str, body_limit: usize) -> Option<Self> {
        let request = t.request.as_ref()?;
        let (target_host, path, query) = split_target(target);
        Some(RequestView {
            txn: t,
            request: MessageView::new(request, body_limit),
            response: t.response.as_ref().map(|r| MessageView::new(r, body_limit)),
            target_host,
            path,
            query,
            pairs: OnceCell::new(),
            credentials: OnceCell::new(),
            bearer: OnceCell::new(),
            bearer_jwt: OnceCell::new(),
        })
    }

    /// The request method as sent.
    pub fn method(&self) -> &'a [u8] {
        self.request.head().method()
    }

    /// The final status code (0 without a response).
    pub fn status(&self) -> u16 {
        self.txn.status().unwrap_or(0)
    }

    /// The first `Host` field.
    pub fn host(&self) -> Option<&'a [u8]> {
        self.request.head().header("host")
    }

    /// The first `User-Agent` field.
    pub fn user_agent(&self) -> Option<&'a [u8]> {
        self.request.head().header("user-agent")
    }

    /// The first `Accept-Language` field.
    pub fn accept_language(&self) -> Option<&'a [u8]> {
        self.request.first(FieldName::AcceptLanguage)
    }

    /// The query's pairs (split and decoded on first use, once); `None` without a query.
    pub fn query_pairs(&self) -> Option<&Pairs<'a>> {
        self.pairs
            .get_or_init(|| self.query.map(Pairs::parse))
            .as_ref()
    }

    /// The token of the first `Authorization` field when it is UTF-8 and its scheme is `Bearer`
    /// (`Bearer <token>`, one space after the scheme, white space around trimmed).
    pub fn bearer(&self) -> Option<&'a str> {
        let head = self.request.head();
        *self.bearer.get_or_init(|| {
            let v = std::str::from_utf8(head.header("authorization")?)
                .ok()?
                .trim();
            let (scheme, token) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
    }

    /// The [`bearer`](Self::bearer) token decoded as a JWT (not verified), decoded on first
    /// use, once.
    pub fn bearer_jwt(&self) -> Option<&JwtInfo> {
        self.bearer_jwt
            .get_or_init(|| self.bearer().and_then(decode_jwt))
            .as_ref()
    }

    /// The request fields that carry credentials, in order ([`credentials`]).
    pub fn credentials(&self) -> &[Credential<'a>] {
        self.credentials.get_or_init(|| {
            self.request
                .fields()
                .iter()
                .take(MAX_CREDENTIAL_FIELDS)
                .filter_map(|f| {
                    credential_field(f.name, f.known).map(|field| Credential {
                        field,
                        value: f.value,
                    })
                })
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{Body, Tags};
    use crate::reassembly::{Endpoint, FlowId};
    use crate::time::Timestamp;
    use std::io::Write as _;

    fn message(head: &[u8], body: &[u8]) -> HttpMessage {
        HttpMessage {
            head: MessageHead::parse(head, 128).expect("head"),
            first_ts: Timestamp::default(),
            last_ts: Timestamp::default(),
            body: Body {
                len: body.len() as u64,
                sample: body.to_vec(),
                gap_bytes: 0,
            },
        }
    }

    fn txn(req: &[u8], resp: Option<(&[u8], &[u8])>) -> HttpTransaction {
        let end = |ip: [u8; 4], port| Endpoint {
            ip: ip.into(),
            port,
        };
        HttpTransaction {
            flow: FlowId(1),
            orig: end([10, 0, 0, 1], 40000),
            resp: end([10, 0, 0, 2], 80),
            depth: 1,
            request: Some(message(req, b"")),
            response: resp.map(|(h, b)| message(h, b)),
            interim: Vec::new(),
            tags: Tags::default(),
            tls: None,
            websocket: None,
        }
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).expect("in memory");
        e.finish().expect("in memory")
    }

    #[test]
    fn targets_split_and_borrow() {
        let t = txn(
            b"GET http://alice:pw@api.example:8080/a/b%20c?x=1&y=%41+b#frag HTTP/1.1\r\n\r\n",
            None,
        );
        let text = target_text(t.request.as_ref().expect("request"));
        assert!(matches!(text, Cow::Borrowed(_)));
        let v = RequestView::new(&t, &text, 1024).expect("view");
        assert_eq!(v.target_host, Some("alice:pw@api.example:8080"));
        assert_eq!(v.path, "/a/b%20c");
        assert_eq!(v.query, Some("x=1&y=%41+b"));
        let q = v.query_pairs().expect("query");
        assert_eq!(q.first().collect::<Vec<_>>(), [("x", "1"), ("y", "A b")]);
        // Parsed once: the same pairs on every call.
        assert!(std::ptr::eq(q, v.query_pairs().expect("query")));
        assert!(matches!(q.pairs[0].name, Cow::Borrowed(_)));
        assert!(matches!(q.pairs[1].value, Cow::Owned(_)));
        assert_eq!(split_target("*"), (None, "*", None));
        assert_eq!(split_target(""), (None, "/", None));
        assert_eq!(split_target("/p?"), (None, "/p", Some("")));
    }

    #[test]
    fn targets_that_are_not_utf8_are_read_lossily() {
        let t = txn(b"GET /caf\xe9/x?n=\xff%FF HTTP/1.1\r\n\r\n", None);
        let text = target_text(t.request.as_ref().expect("request"));
        let v = RequestView::new(&t, &text, 0).expect("view");
        assert_eq!(v.path, "/caf\u{FFFD}/x");
        let q = v.query_pairs().expect("query");
        assert_eq!(q.pairs[0].value, "\u{FFFD}\u{FFFD}");
    }

    #[test]
    fn pairs_keep_what_each_reader_needs() {
        let p = Pairs::parse("&a=1&&b&=2&c=%zz&d=%E2%82%AC&e=x+y");
        let got: Vec<(usize, &str, &str, &str)> = p
            .pairs
            .iter()
            .map(|p| (p.piece, p.raw_name, &*p.name, &*p.value))
            .collect();
        assert_eq!(
            got,
            [
                (1, "a", "a", "1"),
                (3, "b", "b", ""),
                (4, "", "", "2"),
                (5, "c", "c", "%zz"),
                (6, "d", "d", "€"),
                (7, "e", "e", "x y"),
            ]
        );
        assert!(p.is_plain());
        assert!(!Pairs::parse("?a=1").is_plain());
        assert!(!Pairs::parse("a=1#x").is_plain());
        // The same pairs as the helper every reader used before.
        let text = "?a=1&b=%2&c+d=e&&f=%C3%A9";
        assert_eq!(
            Pairs::parse(text)
                .first()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect::<Vec<_>>(),
            crate::analyze::util::pairs(text).collect::<Vec<_>>()
        );
    }

    #[test]
    fn oversized_queries_are_capped_and_counted() {
        let mut q = String::new();
        for i in 0..MAX_PAIRS + 50 {
            q.push_str(&format!("k{i}=v&&"));
        }
        let p = Pairs::parse(&q);
        assert_eq!(p.pairs.len(), MAX_PAIRS);
        assert_eq!(p.beyond, 50);
        assert_eq!(p.first().count(), 256);
        // A long value is decoded whole (bounded by the text) and never panics.
        let long = format!("v={}", "%41".repeat(20_000));
        let p = Pairs::parse(&long);
        assert_eq!(p.pairs[0].value.len(), 20_000);
    }

    #[test]
    fn fields_are_named_whatever_their_case() {
        for (name, known) in [
            (&b"AUTHORIZATION"[..], FieldName::Authorization),
            (b"proxy-Authorization", FieldName::ProxyAuthorization),
            (b"cOOKIE", FieldName::Cookie),
            (b"Set-Cookie", FieldName::SetCookie),
            (b"X-Api-Key", FieldName::ApiKey("x-api-key")),
            (
                b"Ocp-Apim-Subscription-Key",
                FieldName::ApiKey("ocp-apim-subscription-key"),
            ),
            (b"Accept-Language", FieldName::AcceptLanguage),
            (b"ORIGIN", FieldName::Origin),
            (
                b"Access-Control-Allow-Credentials",
                FieldName::AllowCredentials,
            ),
            (b"access-control-allow-origin", FieldName::AllowOrigin),
            (b"RateLimit", FieldName::RateLimit),
            (b"ratelimit-policy", FieldName::RateLimit),
            (b"X-RateLimit-Remaining", FieldName::RateLimit),
            (b"x-rate-limit-limit", FieldName::RateLimit),
            (
                b"X-RateLimit-A-Very-Long-Name-Beyond-Thirty-Two-Bytes",
                FieldName::RateLimit,
            ),
            (b"Content-Type", FieldName::Plain),
            (b"USER-AGENT", FieldName::Plain),
            (b"X-Rate", FieldName::Other),
            (b"Retry-After", FieldName::Other),
            (b"X-Forwarded-For", FieldName::Other),
            (b"Authorization\xc2\xa0", FieldName::Other),
            (b"", FieldName::Other),
        ] {
            assert_eq!(
                FieldName::of(name),
                known,
                "{}",
                String::from_utf8_lossy(name)
            );
        }
        let long = vec![b'a'; 10_000];
        assert_eq!(FieldName::of(&long), FieldName::Other);
        // The match names exactly the lists.
        for p in PLAIN_FIELDS {
            assert!(FieldName::of(p.as_bytes()).is_plain(), "{p}");
            assert!(
                FieldName::of(p.to_ascii_uppercase().as_bytes()).is_plain(),
                "{p}"
            );
        }
        for h in API_KEY_HEADERS {
            assert_eq!(FieldName::of(h.as_bytes()), FieldName::ApiKey(h));
        }
        let plain = [
            "authorization",
            "proxy-authorization",
            "cookie",
            "set-cookie",
            "origin",
            "access-control-allow-credentials",
            "access-control-allow-origin",
            "x-forwarded-for",
            "hosts",
            "acceptlanguage",
        ]
        .iter()
        .chain(API_KEY_HEADERS.iter())
        .filter(|n| FieldName::of(n.as_bytes()).is_plain())
        .count();
        assert_eq!(plain, 0);
        assert!(FieldName::AcceptLanguage.is_plain());
        assert!(!FieldName::Origin.is_plain());
    }

    #[test]
    fn credentials_in_order_with_repeats_and_odd_names() {
        let t = txn(
            b"GET / HTTP/1.1\r\nHost: a\r\nCOOKIE: sid=1\r\nauthorization: Bearer x\r\nX-API-KEY: k\r\nAuthorization: Basic eA==\r\nX-Other: y\r\ncookie: b=2\r\n\r\n",
            None,
        );
        let text = target_text(t.request.as_ref().expect("request"));
        let v = RequestView::new(&t, &text, 0).expect("view");
        let got: Vec<(CredentialField, &[u8])> =
            v.credentials().iter().map(|c| (c.field, c.value)).collect();
        assert_eq!(
            got,
            [
                (CredentialField::Cookie, &b"sid=1"[..]),
                (CredentialField::Authorization, b"Bearer x"),
                (CredentialField::ApiKey("x-api-key"), b"k"),
                (CredentialField::Authorization, b"Basic eA=="),
                (CredentialField::Cookie, b"b=2"),
            ]
        );
        // The bearer token of the first Authorization field (not a JWT here).
        assert_eq!(v.bearer(), Some("x"));
        assert!(v.bearer_jwt().is_none());
        // The first of a repeated field is the one the head indexes.
        assert_eq!(
            v.request.first(FieldName::Authorization),
            v.request.head().header("authorization")
        );
        // Names auth reads trimmed of (Unicode) white space, and cut at 128 bytes.
        let odd = [
            (&b"\xc2\xa0Authorization"[..], &b"v"[..]),
            (b" cookie\t", b"c=1"),
            (b"x-api-key\xe3\x80\x80", b"k"),
            (b"Authorization\xff", b"no"),
        ];
        let got: Vec<CredentialField> = credentials(odd.iter().copied())
            .iter()
            .map(|c| c.field)
            .collect();
        assert_eq!(
            got,
            [
                CredentialField::Authorization,
                CredentialField::Cookie,
                CredentialField::ApiKey("x-api-key")
            ]
        );
        let mut padded = vec![b' '; 120];
        padded.extend_from_slice(b"authorization");
        assert!(credentials([(&padded[..], &b"v"[..])].into_iter()).is_empty());
        // Only the first 256 fields are looked at.
        let many: Vec<(&[u8], &[u8])> = (0..300)
            .map(|i| {
                if i == 280 {
                    (&b"Authorization"[..], &b"late"[..])
                } else {
                    (&b"X-Pad"[..], &b"p"[..])
                }
            })
            .collect();
        assert!(credentials(many.into_iter()).is_empty());
    }

    #[test]
    fn bearer_jwts_decode_once() {
        let token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI3IiwiZXhwIjoxfQ.c2lnbmF0dXJl";
        let req = format!("GET / HTTP/1.1\r\naUTHORIZATION:  bearer  {token} \r\n\r\n");
        let t = txn(req.as_bytes(), None);
        let text = target_text(t.request.as_ref().expect("request"));
        let v = RequestView::new(&t, &text, 0).expect("view");
        assert_eq!(v.bearer(), Some(token));
        let info = v.bearer_jwt().expect("a JWT");
        assert_eq!(info.alg(), Some("HS256"));
        assert!(std::ptr::eq(info, v.bearer_jwt().expect("a JWT")));
        for auth in ["Basic eA==", "Bearer", "Bearer\tabc", "token abc"] {
            let req = format!("GET / HTTP/1.1\r\nAuthorization: {auth}\r\n\r\n");
            let t = txn(req.as_bytes(), None);
            let text = target_text(t.request.as_ref().expect("request"));
            let v = RequestView::new(&t, &text, 0).expect("view");
            assert_eq!(v.bearer(), None, "{auth}");
        }
        // Not UTF-8: no token (auth detection reads such a field lossily, on its own).
        let t = txn(
            b"GET / HTTP/1.1\r\nAuthorization: Bearer \xff\r\n\r\n",
            None,
        );
        let text = target_text(t.request.as_ref().expect("request"));
        let v = RequestView::new(&t, &text, 0).expect("view");
        assert_eq!(v.bearer(), None);
    }

    #[test]
    fn media_types_borrow_when_they_can() {
        let m = message(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n\r\n",
            b"",
        );
        let media = media_type(&m.head);
        assert_eq!(media, "application/json");
        assert!(matches!(media, Cow::Borrowed(_)));
        let m = message(
            b"HTTP/1.1 200 OK\r\nContent-Type:  Text/HTML ;x=1\r\n\r\n",
            b"",
        );
        assert_eq!(media_type(&m.head), "text/html");
        let m = message(b"HTTP/1.1 200 OK\r\nContent-Type: \xffTEXT\r\n\r\n", b"");
        assert_eq!(media_type(&m.head), "\u{FFFD}text");
        let long = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/{}\u{e9}x\r\n\r\n",
            "a".repeat(87)
        );
        let m = message(long.as_bytes(), b"");
        // Cut to 100 bytes on a character boundary (the é would straddle it).
        assert_eq!(media_type(&m.head).len(), 99);
        let m = message(b"HTTP/1.1 204 No Content\r\n\r\n", b"");
        assert_eq!(media_type(&m.head), "");
    }

    #[test]
    fn bodies_decode_once_within_the_limit() {
        let json = br#"{"token":"0123456789abcdef0123","n":[1,2,3]}"#;
        let head =
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n\r\n";
        let m = message(head.as_bytes(), &gzip(json));
        let v = MessageView::new(&m, 1 << 20);
        assert!(!v.is_decoded());
        assert_eq!(v.decoded().ok(), Some(&json[..]));
        assert!(v.is_decoded());
        let first = v.json().expect("parses") as *const serde_json::Value;
        assert!(std::ptr::eq(first, v.json().expect("parses")));
        assert_eq!(v.json().and_then(|j| j["n"][2].as_u64()), Some(3));
        // Within the limit: a bomb yields at most `limit` bytes (and then no JSON).
        let bomb = gzip(&vec![b'a'; 1 << 20]);
        let m = message(head.as_bytes(), &bomb);
        let v = MessageView::new(&m, 4096);
        assert_eq!(v.decoded().map(<[u8]>::len), Ok(4096));
        assert!(v.json().is_none());
        // Without a coding the sample itself is the text: borrowed, cut at the limit.
        let m = message(b"HTTP/1.1 200 OK\r\n\r\n", b"\xff\xfebad utf-8");
        let v = MessageView::new(&m, 5);
        assert_eq!(v.decoded(), Ok(&b"\xff\xfebad"[..]));
        assert!(std::ptr::eq(
            v.decoded().expect("plain").as_ptr(),
            m.body.sample.as_ptr()
        ));
        // Codings that cannot be undone, and corrupt data, are errors (kept, not retried).
        for (coding, data) in [("zstd", &b"x"[..]), ("gzip", b"not gzip at all")] {
            let head = format!("HTTP/1.1 200 OK\r\nContent-Encoding: {coding}\r\n\r\n");
            let m = message(head.as_bytes(), data);
            let v = MessageView::new(&m, 4096);
            assert!(v.decoded().is_err(), "{coding}");
            assert!(!v.is_decoded());
            assert!(v.json().is_none());
        }
    }

    #[test]
    fn response_fields_in_one_pass() {
        let t = txn(
            b"GET /me HTTP/1.1\r\nHost: api.shop.test\r\nOrigin: https://app.shop.test\r\nAccept-Language: de\r\nUser-Agent: ua/1\r\n\r\n",
            Some((
                b"HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nACCESS-CONTROL-ALLOW-ORIGIN: *\r\nset-cookie: sessionid=2\r\nAccess-Control-Allow-Credentials: true\r\nx-ratelimit-remaining: 9\r\n\r\n",
                b"",
            )),
        );
        let text = target_text(t.request.as_ref().expect("request"));
        let v = RequestView::new(&t, &text, 0).expect("view");
        assert_eq!(v.host(), Some(&b"api.shop.test"[..]));
        assert_eq!(v.user_agent(), Some(&b"ua/1"[..]));
        assert_eq!(v.accept_language(), Some(&b"de"[..]));
        assert_eq!(
            v.request.first(FieldName::Origin),
            Some(&b"https://app.shop.test"[..])
        );
        let r = v.response.as_ref().expect("response");
        assert_eq!(
            r.all(FieldName::SetCookie).collect::<Vec<_>>(),
            [&b"a=1"[..], b"sessionid=2"]
        );
        assert_eq!(r.first(FieldName::AllowOrigin), Some(&b"*"[..]));
        assert_eq!(r.first(FieldName::AllowCredentials), Some(&b"true"[..]));
        assert!(r.has_rate_limit_field());
        assert!(!v.request.has_rate_limit_field());
        assert_eq!(v.status(), 200);
        assert_eq!(v.method(), b"GET");
        assert!(v.credentials().is_empty());
        assert!(v.query_pairs().is_none());
    }

    proptest::proptest! {
        #[test]
        fn hostile_requests_never_panic(
            target in crate::analyze::testinput::troublesome(),
            name in crate::analyze::testinput::troublesome(),
            value in crate::analyze::testinput::troublesome(),
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
            coding in proptest::sample::select(vec!["gzip", "br", "deflate", "identity", "zstd"]),
            limit in 0usize..512,
        ) {
            let req = format!(
                "POST /{target} HTTP/1.1\r\n{name}: {value}\r\nContent-Encoding: {coding}\r\nContent-Type: application/json\r\n\r\n"
            );
            let resp = format!("HTTP/1.1 200 OK\r\nContent-Encoding: {coding}\r\n{name}: {value}\r\n\r\n");
            let (Ok(qh), Ok(rh)) = (
                MessageHead::parse(req.as_bytes(), 128),
                MessageHead::parse(resp.as_bytes(), 128),
            ) else {
                return Ok(());
            };
            let mut t = txn(b"GET / HTTP/1.1\r\n\r\n", Some((b"HTTP/1.1 200 OK\r\n\r\n", b"")));
            for (m, h) in [(t.request.as_mut(), qh), (t.response.as_mut(), rh)] {
                if let Some(m) = m {
                    m.head = h;
                    m.body = Body { len: body.len() as u64, sample: body.clone(), gap_bytes: 0 };
                }
            }
            let text = target_text(t.request.as_ref().expect("request"));
            let v = RequestView::new(&t, &text, limit).expect("view");
            let _ = (v.host(), v.user_agent(), v.accept_language(), v.bearer(), v.bearer_jwt());
            let _ = v.query_pairs().map(|q| q.first().count());
            let _ = v.credentials().len();
            for m in std::iter::once(&v.request).chain(v.response.as_ref()) {
                let _ = (m.media_type(), m.has_rate_limit_field(), m.all(FieldName::SetCookie).count());
                if let Ok(d) = m.decoded() {
                    proptest::prop_assert!(d.len() <= limit);
                }
                let _ = m.json();
            }
        }
    }
}
