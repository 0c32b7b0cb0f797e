//! Auth scheme detection from request headers and the query string.
//!
//! [`detect`] looks at the headers of one request (names as sent, compared
//! case-insensitively) and its query string, and reports every way the request carries
//! credentials as an [`AuthEvidence`]: the [`AuthScheme`], where it was found (header,
//! cookie or parameter name) and a safe [`PrincipalHint`]. Credentials themselves never
//! appear in the output:
//! * a JWT is decoded without verification and only `sub`, `iss`, `exp`, `iat` (payload)
//!   and `alg`, `kid` (header) are kept ([`JwtClaims`]);
//! * Basic and Digest give the username only;
//! * API keys, opaque bearer tokens and session cookies give a [`keyed_hash`] of the value.
//!
//! Recognised places (all names ASCII case-insensitive):
//! * `Authorization: Basic` → `basic`; `Bearer` (and GitHub's `token`, which is the same
//!   thing under another name) → `bearer_jwt` when the token decodes as a JWT, else
//!   `bearer_opaque`; `Digest` → `digest`; any other scheme, or a bare token, →
//!   `api_key_header` (for AWS SigV4 the hash is of the access key id in `Credential=`, so
//!   it correlates across requests).
//! * API key headers: `x-api-key`, `api-key`, `apikey`, `x-apikey`, `x-api-token`,
//!   `api-token`, `x-auth-token`, `x-access-token`, `x-token`, `x-goog-api-key`,
//!   `ocp-apim-subscription-key`, `x-functions-key` → `api_key_header` (the hint holds the
//!   JWT claims instead of a hash when the value is a JWT).
//! * Cookies whose name looks like a session ([`is_session_cookie_name`]) → `cookie`.
//! * Query parameters `api_key`, `apikey`, `api-key`, `key`, `access_token`, `token`,
//!   `auth`, `auth_token`, `jwt`, and the signed-URL parameters `sig`, `signature`,
//!   `x-amz-signature` → `api_key_query`. Signed URLs are included because the request *is*
//!   authenticated by its query string; their hash changes per request, so it does not
//!   correlate principals.
//!
//! Locations are canonical: a header is named in lower case (`authorization`, `x-api-key`,
//! whatever case the client sent), so one header is one `api_auth` row; cookie and query
//! parameter names are case-sensitive on the wire and kept as sent. (Inventories written
//! before this rule may still hold rows with the header names as sent; they are not
//! rewritten.)
//!
//! When nothing is found the result is a single evidence with scheme `none`. At most
//! [`MAX_EVIDENCE`] evidences are returned, and the number of headers, cookies and query
//! parameters looked at is capped.
//!
//! Which fields carry credentials and the decoded query pairs come from
//! [`super::request`] ([`detect_request`] reads a transaction's view, parsed once for every
//! analysis); what they mean is decided here.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde::{Deserialize, Serialize};

use super::request::{self, Credential, CredentialField, Pairs, RequestView};
pub(crate) use super::secret::epoch_seconds;
pub use super::secret::{JwtClaims, JwtInfo, MAX_JWT_LEN, decode_jwt, hs256_verify, keyed_hash};
use super::util::{percent_decode, sanitize, truncate_str};

/// Standard base64 that accepts input with or without padding (Basic credentials as sent).
const STANDARD_PAD_INDIFFERENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// At most this many evidences are returned by [`detect`].
pub const MAX_EVIDENCE: usize = 16;
const MAX_COOKIES: usize = 64;
const MAX_QUERY_PAIRS: usize = 256;
const MAX_VALUE_LEN: usize = 16 * 1024;
const MAX_HINT_CHARS: usize = 128;
const MAX_LOCATION_CHARS: usize = 64;

/// How a request authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthScheme {
    /// No credentials found.
    None,
    /// `Authorization: Basic`.
    Basic,
    /// `Authorization: Bearer` carrying a JWT.
    BearerJwt,
    /// `Authorization: Bearer` carrying an opaque token.
    BearerOpaque,
    /// An API key in a header (or an unknown `Authorization` scheme).
    ApiKeyHeader,
    /// An API key or signature in the query string.
    ApiKeyQuery,
    /// A session cookie.
    Cookie,
    /// `Authorization: Digest`.
    Digest,
}

impl AuthScheme {
    /// Every scheme, in declaration order.
    pub const ALL: [AuthScheme; 8] = [
        AuthScheme::None,
        AuthScheme::Basic,
        AuthScheme::BearerJwt,
        AuthScheme::BearerOpaque,
        AuthScheme::ApiKeyHeader,
        AuthScheme::ApiKeyQuery,
        AuthScheme::Cookie,
        AuthScheme::Digest,
    ];

    /// The stable name: `none`, `basic`, `bearer_jwt`, `bearer_opaque`, `api_key_header`,
    /// `api_key_query`, `cookie`, `digest`.
    pub fn name(&self) -> &'static str {
        match self {
            AuthScheme::None => "none",
            AuthScheme::Basic => "basic",
            AuthScheme::BearerJwt => "bearer_jwt",
            AuthScheme::BearerOpaque => "bearer_opaque",
            AuthScheme::ApiKeyHeader => "api_key_header",
            AuthScheme::ApiKeyQuery => "api_key_query",
            AuthScheme::Cookie => "cookie",
            AuthScheme::Digest => "digest",
        }
    }
}

impl fmt::Display for AuthScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Error of [`AuthScheme::from_str`]: the name is not one of the stable names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown auth scheme {0:?}")]
pub struct UnknownScheme(pub String);

impl FromStr for AuthScheme {
    type Err = UnknownScheme;

    /// Parses a stable name (ASCII case-insensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AuthScheme::ALL
            .iter()
            .copied()
            .find(|a| a.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownScheme(sanitize(s, 64)))
    }
}

/// Who or what the credentials belong to, without the credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalHint {
    /// Nothing usable.
    None,
    /// Claims of an (unverified) JWT.
    Jwt(JwtClaims),
    /// A username (Basic, Digest), sanitised and cut to 128 characters.
    Username(String),
    /// [`keyed_hash`] of the credential value.
    KeyedHash(String),
}

/// One way a request carries credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthEvidence {
    /// The scheme.
    pub scheme: AuthScheme,
    /// Where it was found: header name in lower case (`x-api-key`, `authorization`), cookie
    /// name (`sessionid`) or query parameter name (`api_key`) as sent; empty for `none`.
    pub location: String,
    /// A safe hint at the principal.
    pub principal_hint: PrincipalHint,
}

/// Whether a cookie name looks like it carries a session or auth token: `session`, `sess`,
/// `sid`, `token`, `auth`, `jwt` in the name (`connect.sid`, `PHPSESSID`, `JSESSIONID`,
/// `ASP.NET_SessionId`, `auth_token`, `__Secure-next-auth.session-token`, ...), but not
/// CSRF/XSRF tokens. Analytics and preference cookies (`_ga`, `theme`) do not count.
pub fn is_session_cookie_name(name: &str) -> bool {
    let lower = truncate_str(name, 128).to_ascii_lowercase();
    if lower.contains("csrf") || lower.contains("xsrf") {
        return false;
    }
    if ["session", "sess", "jwt", "token"]
        .iter()
        .any(|w| lower.contains(w))
    {
        return true;
    }
    let tokens = super::util::name_tokens(name);
    lower.ends_with("sid")
        || tokens
            .iter()
            .any(|t| matches!(t.as_str(), "sid" | "auth" | "authn" | "sso" | "remember"))
}

const API_KEY_PARAMS: &[&str] = &[
    "api_key",
    "apikey",
    "api-key",
    "key",
    "access_token",
    "token",
    "auth",
    "auth_token",
    "jwt",
    "sig",
    "signature",
    "x-amz-signature",
];

struct Collector<'k, 'v> {
    key: &'k [u8],
    out: Vec<AuthEvidence>,
    /// The transaction's view, whose bearer token is decoded once for every analysis.
    view: Option<&'k RequestView<'v>>,
}

impl Collector<'_, '_> {
    fn full(&self) -> bool {
        self.out.len() >= MAX_EVIDENCE
    }

    fn push(&mut self, scheme: AuthScheme, location: &str, principal_hint: PrincipalHint) {
        if !self.full() {
            self.out.push(AuthEvidence {
                scheme,
                location: sanitize(location, MAX_LOCATION_CHARS),
                principal_hint,
            });
        }
    }

    fn hash(&self, value: &str) -> PrincipalHint {
        if value.is_empty() {
            PrincipalHint::None
        } else {
            PrincipalHint::KeyedHash(keyed_hash(self.key, value.as_bytes()))
        }
    }

    /// Claims if the value is a JWT, else a keyed hash.
    fn jwt_or_hash(&self, value: &str) -> PrincipalHint {
        match decode_jwt(value) {
            Some(info) => PrincipalHint::Jwt(info.summary()),
            None => self.hash(value),
        }
    }

    fn authorization(&mut self, name: &str, value: &str) {
        let value = value.trim();
        if value.is_empty() {
            return;
        }
        let (scheme, rest) = match value.split_once(|c: char| c.is_ascii_whitespace()) {
            Some((s, r)) => (s, r.trim()),
            None => ("", value),
        };
        if scheme.eq_ignore_ascii_case("basic") {
            let hint = basic_username(rest)
                .map(PrincipalHint::Username)
                .unwrap_or_else(|| self.hash(rest));
            self.push(AuthScheme::Basic, name, hint);
        } else if scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token") {
            // The view's bearer token, decoded once, when it is this one.
            let decoded;
            let info = match self.view.filter(|v| v.bearer() == Some(rest)) {
                Some(v) => v.bearer_jwt(),
                None => {
                    decoded = decode_jwt(rest);
                    decoded.as_ref()
                }
            };
            match info {
                Some(info) => self.push(
                    AuthScheme::BearerJwt,
                    name,
                    PrincipalHint::Jwt(info.summary()),
                ),
                None => {
                    let hint = self.hash(rest);
                    self.push(AuthScheme::BearerOpaque, name, hint);
                }
            }
        } else if scheme.eq_ignore_ascii_case("digest") {
            let hint = auth_param(rest, "username")
                .filter(|u| !u.is_empty())
                .map(|u| PrincipalHint::Username(sanitize(&u, MAX_HINT_CHARS)))
                .unwrap_or(PrincipalHint::None);
            self.push(AuthScheme::Digest, name, hint);
        } else if scheme.eq_ignore_ascii_case("aws4-hmac-sha256") {
            let key_id = auth_param(rest, "credential")
                .map(|c| c.split('/').next().unwrap_or("").to_string())
                .unwrap_or_default();
            let hint = self.hash(&key_id);
            self.push(AuthScheme::ApiKeyHeader, name, hint);
        } else {
            let hint = self.jwt_or_hash(rest);
            self.push(AuthScheme::ApiKeyHeader, name, hint);
        }
    }

    fn cookies(&mut self, value: &str) {
        for pair in value.split(';').take(MAX_COOKIES) {
            if self.full() {
                return;
            }
            let Some((name, v)) = pair.split_once('=') else {
                continue;
            };
            let (name, v) = (name.trim(), v.trim().trim_matches('"'));
            if name.is_empty() || v.is_empty() || !is_session_cookie_name(name) {
                continue;
            }
            let hint = self.jwt_or_hash(v);
            self.push(AuthScheme::Cookie, name, hint);
        }
    }

    fn query(&mut self, q: &Pairs<'_>) {
        if !q.is_plain() {
            // A leading `?` or a `#fragment`: read the text as a whole (never so for a query
            // that the target was split into).
            return self.query_text(q.raw);
        }
        for p in &q.pairs {
            // The first MAX_QUERY_PAIRS pieces (empty ones carry nothing).
            if p.piece >= MAX_QUERY_PAIRS || self.full() {
                return;
            }
            // Names and values as decoded already, unless they are longer than read here.
            let name = if p.raw_name.len() <= 128 {
                Cow::Borrowed(&*p.name)
            } else {
                percent_decode(truncate_str(p.raw_name, 128), true)
            };
            let value = if p.raw_value.len() <= MAX_VALUE_LEN {
                Cow::Borrowed(&*p.value)
            } else {
                percent_decode(truncate_str(p.raw_value, MAX_VALUE_LEN), true)
            };
            self.query_param(&name, &value);
        }
    }

    fn query_text(&mut self, query: &str) {
        let query = query.strip_prefix('?').unwrap_or(query);
        let query = query.split('#').next().unwrap_or("");
        for pair in query.split('&').take(MAX_QUERY_PAIRS) {
            if self.full() {
                return;
            }
            let (raw_name, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = percent_decode(truncate_str(raw_name, 128), true);
            if !is_key_param(&name) {
                continue;
            }
            let value = percent_decode(truncate_str(raw_value, MAX_VALUE_LEN), true);
            self.query_param(&name, &value);
        }
    }

    fn query_param(&mut self, name: &str, value: &str) {
        if !is_key_param(name) {
            return;
        }
        let value = value.trim();
        if value.is_empty() {
            return;
        }
        let hint = self.jwt_or_hash(value);
        self.push(AuthScheme::ApiKeyQuery, name.trim(), hint);
    }
}

fn is_key_param(name: &str) -> bool {
    API_KEY_PARAMS
        .iter()
        .any(|p| p.eq_ignore_ascii_case(name.trim()))
}

/// The username of a Basic credential (`base64(user:pass)`); the password is dropped.
fn basic_username(b64: &str) -> Option<String> {
    let bytes = STANDARD_PAD_INDIFFERENT
        .decode(truncate_str(b64, 4096).trim())
        .ok()?;
    let colon = memchr::memchr(b':', &bytes)?;
    let user = String::from_utf8_lossy(bytes.get(..colon)?);
    (!user.is_empty()).then(|| sanitize(&user, MAX_HINT_CHARS))
}

/// The value of `key` in an auth-param list (`k=v, k2="quoted, value"`), unquoted.
fn auth_param(params: &str, key: &str) -> Option<String> {
    let b = params.as_bytes();
    let mut i = 0;
    while i < b.len() {
        // Skip separators.
        while b
            .get(i)
            .is_some_and(|&c| c == b',' || c.is_ascii_whitespace())
        {
            i += 1;
        }
        let ks = i;
        while b.get(i).is_some_and(|&c| c != b'=' && c != b',') {
            i += 1;
        }
        let k = params.get(ks..i)?.trim();
        if b.get(i) != Some(&b'=') {
            continue;
        }
        i += 1;
        let v = if b.get(i) == Some(&b'"') {
            i += 1;
            let mut v = String::new();
            while let Some(&c) = b.get(i) {
                i += 1;
                match c {
                    b'"' => break,
                    b'\\' => {
                        if let Some(&n) = b.get(i) {
                            v.push(char::from(n));
                            i += 1;
                        }
                    }
                    _ => v.push(char::from(c)),
                }
            }
            v
        } else {
            let vs = i;
            while b.get(i).is_some_and(|&c| c != b',') {
                i += 1;
            }
            params.get(vs..i)?.trim().to_string()
        };
        if k.eq_ignore_ascii_case(key) {
            return Some(v);
        }
    }
    None
}

/// Detects every auth scheme a request uses.
///
/// `headers` are `(name, value)` pairs as sent; `query` is the raw (still percent-encoded)
/// query string, with or without its leading `?`; `hash_key` keys the [`keyed_hash`]es in
/// the hints. Always returns at least one evidence (`none` when nothing was found) and at
/// most [`MAX_EVIDENCE`].
pub fn detect(
    headers: &[(&[u8], &[u8])],
    query: Option<&str>,
    hash_key: &[u8],
) -> Vec<AuthEvidence> {
    let fields = request::credentials(headers.iter().copied());
    let pairs = query.map(Pairs::parse);
    detect_in(&fields, pairs.as_ref(), hash_key, None)
}

/// [`detect`] on a transaction's parsed view: its credential fields and query pairs, parsed
/// once for every analysis.
pub fn detect_request(v: &RequestView<'_>, hash_key: &[u8]) -> Vec<AuthEvidence> {
    detect_in(v.credentials(), v.query_pairs(), hash_key, Some(v))
}

fn detect_in(
    fields: &[Credential<'_>],
    query: Option<&Pairs<'_>>,
    hash_key: &[u8],
    view: Option<&RequestView<'_>>,
) -> Vec<AuthEvidence> {
    let mut c = Collector {
        key: hash_key,
        out: Vec::new(),
        view,
    };
    // Every field that could carry credentials, in order, among the first
    // `request::MAX_CREDENTIAL_FIELDS`.
    for f in fields {
        if c.full() {
            break;
        }
        let value = String::from_utf8_lossy(
            f.value
                .get(..f.value.len().min(MAX_VALUE_LEN))
                .unwrap_or(&[]),
        );
        match f.field {
            CredentialField::Authorization => c.authorization("authorization", &value),
            CredentialField::Cookie => c.cookies(&value),
            CredentialField::ApiKey(h) => {
                let v = value.trim();
                if !v.is_empty() {
                    let hint = c.jwt_or_hash(v);
                    // The canonical (lower-case) name, whatever case the client sent.
                    c.push(AuthScheme::ApiKeyHeader, h, hint);
                }
            }
        }
    }
    if let Some(q) = query {
        c.query(q);
    }
    if c.out.is_empty() {
        c.out.push(AuthEvidence {
            scheme: AuthScheme::None,
            location: String::new(),
            principal_hint: PrincipalHint::None,
        });
    }
    c.out
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::digest::KeyInit;
    use hmac::{Hmac, Mac};
    use sha2::Sha256;

    const KEY: &[u8] = b"test-key";

    fn b64url(s: &[u8]) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
    }

    fn hs256(header: &str, payload: &str, secret: &[u8]) -> String {
        let input = format!(
            "{}.{}",
            b64url(header.as_bytes()),
            b64url(payload.as_bytes())
        );
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("hmac key");
        mac.update(input.as_bytes());
        format!("{input}.{}", b64url(&mac.finalize().into_bytes()))
    }

    fn token() -> String {
        hs256(
            r#"{"alg":"HS256","typ":"JWT","kid":"k1"}"#,
            r#"{"sub":"user-42","iss":"https://issuer.example","exp":1700000000,"iat":1699990000.5,"email":"a@b.example"}"#,
            b"secret",
        )
    }

    fn run(headers: &[(&str, &str)], query: Option<&str>) -> Vec<AuthEvidence> {
        let h: Vec<(&[u8], &[u8])> = headers
            .iter()
            .map(|(n, v)| (n.as_bytes(), v.as_bytes()))
            .collect();
        detect(&h, query, KEY)
    }

    fn schemes(ev: &[AuthEvidence]) -> Vec<AuthScheme> {
        ev.iter().map(|e| e.scheme).collect()
    }

    fn assert_no_leak(ev: &[AuthEvidence], secret: &str) {
        let json = serde_json::to_string(ev).unwrap_or_default();
        assert!(!json.contains(secret), "{json} leaks {secret}");
    }

    #[test]
    fn scheme_names_round_trip() {
        for s in AuthScheme::ALL {
            assert_eq!(s.name().parse::<AuthScheme>(), Ok(s));
            assert_eq!(
                serde_json::to_string(&s).ok(),
                Some(format!("\"{}\"", s.name()))
            );
        }
        assert!("bearer".parse::<AuthScheme>().is_err());
    }

    #[test]
    fn decode_jwt_extracts_claims() {
        let info = decode_jwt(&token()).expect("decodes");
        assert_eq!(info.alg(), Some("HS256"));
        assert_eq!(info.kid(), Some("k1"));
        let s = info.summary();
        assert_eq!(
            s,
            JwtClaims {
                sub: Some("user-42".into()),
                iss: Some("https://issuer.example".into()),
                exp: Some(1_700_000_000),
                iat: Some(1_699_990_000),
                alg: Some("HS256".into()),
                kid: Some("k1".into()),
            }
        );
        let numeric_sub = hs256(
            r#"{"alg":"HS256"}"#,
            r#"{"sub":12345,"exp":"1700000000"}"#,
            b"s",
        );
        let s = decode_jwt(&numeric_sub).expect("decodes").summary();
        assert_eq!(s.sub.as_deref(), Some("12345"));
        assert_eq!(s.exp, Some(1_700_000_000));
    }

    #[test]
    fn decode_jwt_rejects_non_jwts() {
        assert!(decode_jwt("").is_none());
        assert!(decode_jwt("a.b").is_none());
        assert!(decode_jwt("a.b.c.d").is_none());
        assert!(decode_jwt("abc.def.ghi").is_none());
        let no_alg = format!(
            "{}.{}.x",
            b64url(br#"{"typ":"JWT"}"#),
            b64url(br#"{"a":1}"#)
        );
        assert!(decode_jwt(&no_alg).is_none());
        let num_alg = format!("{}.{}.x", b64url(br#"{"alg":5}"#), b64url(br#"{"a":1}"#));
        assert!(decode_jwt(&num_alg).is_none());
        let arr = format!("{}.{}.x", b64url(br#"{"alg":"HS256"}"#), b64url(b"[1]"));
        assert!(decode_jwt(&arr).is_none());
        let bad_sig = format!(
            "{}.{}.a b",
            b64url(br#"{"alg":"HS256"}"#),
            b64url(br#"{"a":1}"#)
        );
        assert!(decode_jwt(&bad_sig).is_none());
        let huge = format!(
            "{}.{}.x",
            b64url(br#"{"alg":"HS256"}"#),
            "A".repeat(MAX_JWT_LEN)
        );
        assert!(decode_jwt(&huge).is_none());
        let deep = format!(
            "{}.{}.x",
            b64url(br#"{"alg":"HS256"}"#),
            b64url("[".repeat(5000).as_bytes())
        );
        assert!(decode_jwt(&deep).is_none());
    }

    #[test]
    fn hs256_verification() {
        let t = token();
        assert!(hs256_verify(&t, b"secret"));
        assert!(!hs256_verify(&t, b"Secret"));
        assert!(!hs256_verify(&t, b""));
        // Tampered payload.
        let mut parts: Vec<&str> = t.split('.').collect();
        let other = b64url(br#"{"sub":"admin"}"#);
        parts[1] = &other;
        assert!(!hs256_verify(&parts.join("."), b"secret"));
        // Other algorithms are not verified as HS256.
        let hs384 = hs256(r#"{"alg":"HS384"}"#, r#"{"a":1}"#, b"secret");
        assert!(!hs256_verify(&hs384, b"secret"));
        assert!(!hs256_verify("garbage", b"secret"));
        // Known vector from jwt.io.
        let jwtio = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
        assert!(hs256_verify(jwtio, b"your-256-bit-secret"));
    }

    #[test]
    fn bearer_jwt() {
        let t = token();
        let ev = run(&[("authorization", &format!("Bearer {t}"))], None);
        assert_eq!(schemes(&ev), [AuthScheme::BearerJwt]);
        assert_eq!(ev[0].location, "authorization");
        match &ev[0].principal_hint {
            PrincipalHint::Jwt(c) => {
                assert_eq!(c.sub.as_deref(), Some("user-42"));
                assert_eq!(c.alg.as_deref(), Some("HS256"));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_no_leak(&ev, &t);
        assert_no_leak(&ev, t.split('.').nth(2).unwrap_or("x"));
        assert_no_leak(&ev, "a@b.example");
    }

    #[test]
    fn bearer_opaque() {
        let ev = run(&[("Authorization", "bearer   abc123opaque")], None);
        assert_eq!(schemes(&ev), [AuthScheme::BearerOpaque]);
        assert_eq!(
            ev[0].principal_hint,
            PrincipalHint::KeyedHash(keyed_hash(KEY, b"abc123opaque"))
        );
        assert_no_leak(&ev, "abc123opaque");
    }

    #[test]
    fn basic_keeps_only_username() {
        let cred = base64::engine::general_purpose::STANDARD.encode("alice:s3cr3t-pw");
        let ev = run(&[("AUTHORIZATION", &format!("Basic {cred}"))], None);
        assert_eq!(schemes(&ev), [AuthScheme::Basic]);
        assert_eq!(
            ev[0].principal_hint,
            PrincipalHint::Username("alice".into())
        );
        assert_no_leak(&ev, "s3cr3t-pw");
        assert_no_leak(&ev, &cred);
        // Undecodable: hashed, still basic.
        let ev = run(&[("Authorization", "Basic !!!")], None);
        assert_eq!(schemes(&ev), [AuthScheme::Basic]);
        assert!(matches!(ev[0].principal_hint, PrincipalHint::KeyedHash(_)));
    }

    #[test]
    fn digest_username() {
        let v = r#"Digest username="Mufasa", realm="http, auth@example.org", nonce="abc", response="6629fae49393a05397450978507c4ef1""#;
        let ev = run(&[("Authorization", v)], None);
        assert_eq!(schemes(&ev), [AuthScheme::Digest]);
        assert_eq!(
            ev[0].principal_hint,
            PrincipalHint::Username("Mufasa".into())
        );
        assert_no_leak(&ev, "6629fae4");
    }

    #[test]
    fn github_token_scheme_is_a_bearer_token() {
        // GitHub's `Authorization: token <opaque>` is a bearer token under another name.
        let ev = run(
            &[(
                "Authorization",
                "token ghp_16C7e42F292c6912E7710c838347Ae178B4a",
            )],
            None,
        );
        assert_eq!(schemes(&ev), [AuthScheme::BearerOpaque]);
        assert_eq!(ev[0].location, "authorization");
        assert_eq!(
            ev[0].principal_hint,
            PrincipalHint::KeyedHash(keyed_hash(KEY, b"ghp_16C7e42F292c6912E7710c838347Ae178B4a"))
        );
        assert_no_leak(&ev, "ghp_16C7e42F292c6912E7710c838347Ae178B4a");
        // The same credential sent as `Bearer` is the same principal.
        let bearer = run(
            &[(
                "authorization",
                "Bearer ghp_16C7e42F292c6912E7710c838347Ae178B4a",
            )],
            None,
        );
        assert_eq!(bearer, ev);
        // `Token <jwt>`: claims, like `Bearer <jwt>`.
        let t = token();
        let ev = run(&[("AUTHORIZATION", &format!("Token {t}"))], None);
        assert_eq!(schemes(&ev), [AuthScheme::BearerJwt]);
        assert!(
            matches!(&ev[0].principal_hint, PrincipalHint::Jwt(c) if c.sub.as_deref() == Some("user-42"))
        );
        assert_no_leak(&ev, &t);
    }

    #[test]
    fn header_locations_are_canonical_lower_case() {
        for name in [
            "Authorization",
            "authorization",
            "AUTHORIZATION",
            "aUtHoRiZaTiOn",
        ] {
            let ev = run(&[(name, "Bearer abc123opaque")], None);
            assert_eq!(ev[0].location, "authorization", "{name}");
        }
        for name in ["X-API-Key", "x-api-key", "X-Api-Key", "X-API-KEY"] {
            let ev = run(&[(name, "k-123")], None);
            assert_eq!(ev[0].location, "x-api-key", "{name}");
        }
        // Cookie and query parameter names are case-sensitive: kept as sent.
        let ev = run(&[("Cookie", "JSESSIONID=q1")], Some("API_KEY=k"));
        assert_eq!(ev[0].location, "JSESSIONID");
        assert_eq!(ev[1].location, "API_KEY");
    }

    #[test]
    fn unknown_authorization_scheme_is_api_key_header() {
        let ev = run(&[("Authorization", "Key abcdef123456")], None);
        assert_eq!(schemes(&ev), [AuthScheme::ApiKeyHeader]);
        assert_eq!(ev[0].location, "authorization");
        assert_no_leak(&ev, "abcdef123456");
        let ev = run(&[("Authorization", "rawkeyvalue")], None);
        assert_eq!(schemes(&ev), [AuthScheme::ApiKeyHeader]);
        let sigv4 = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024";
        let ev = run(&[("Authorization", sigv4)], None);
        assert_eq!(
            ev[0].principal_hint,
            PrincipalHint::KeyedHash(keyed_hash(KEY, b"AKIAIOSFODNN7EXAMPLE"))
        );
        assert_no_leak(&ev, "AKIAIOSFODNN7EXAMPLE");
    }

    #[test]
    fn api_key_headers() {
        let ev = run(
            &[
                ("X-API-Key", "k-123"),
                ("x-auth-token", "t-456"),
                ("X-Other", "zzz"),
            ],
            None,
        );
        assert_eq!(
            schemes(&ev),
            [AuthScheme::ApiKeyHeader, AuthScheme::ApiKeyHeader]
        );
        assert_eq!(ev[0].location, "x-api-key");
        assert_eq!(ev[1].location, "x-auth-token");
        assert_eq!(
            ev[0].principal_hint,
            PrincipalHint::KeyedHash(keyed_hash(KEY, b"k-123"))
        );
        // A JWT in an API key header gives claims.
        let ev = run(&[("x-access-token", &token())], None);
        assert!(matches!(ev[0].principal_hint, PrincipalHint::Jwt(_)));
        // Empty value: nothing.
        assert_eq!(
            schemes(&run(&[("x-api-key", "  ")], None)),
            [AuthScheme::None]
        );
    }

    #[test]
    fn session_cookies() {
        let ev = run(
            &[(
                "Cookie",
                "theme=dark; _ga=GA1.2.3; sessionid=abc123; csrftoken=zzz; JSESSIONID=\"q1\"",
            )],
            None,
        );
        assert_eq!(schemes(&ev), [AuthScheme::Cookie, AuthScheme::Cookie]);
        assert_eq!(ev[0].location, "sessionid");
        assert_eq!(ev[1].location, "JSESSIONID");
        assert_eq!(
            ev[1].principal_hint,
            PrincipalHint::KeyedHash(keyed_hash(KEY, b"q1"))
        );
        assert_no_leak(&ev, "abc123");
        assert_eq!(
            schemes(&run(
                &[("cookie", "theme=dark; _ga=1; _gid=2; lang=en")],
                None
            )),
            [AuthScheme::None]
        );
        for n in [
            "connect.sid",
            "PHPSESSID",
            "JSESSIONID",
            "ASP.NET_SessionId",
            "sid",
            "auth",
            "auth_token",
            "jwt",
            "__Secure-next-auth.session-token",
            "laravel_session",
            "access_token",
        ] {
            assert!(is_session_cookie_name(n), "{n}");
        }
        for n in [
            "theme",
            "_ga",
            "_gid",
            "lang",
            "XSRF-TOKEN",
            "csrftoken",
            "sidebar",
            "author",
            "consent",
        ] {
            assert!(!is_session_cookie_name(n), "{n}");
        }
    }

    #[test]
    fn query_api_keys() {
        let ev = run(&[], Some("?q=shoes&api_key=abc%20123&page=2"));
        assert_eq!(schemes(&ev), [AuthScheme::ApiKeyQuery]);
        assert_eq!(ev[0].location, "api_key");
        assert_eq!(
            ev[0].principal_hint,
            PrincipalHint::KeyedHash(keyed_hash(KEY, b"abc 123"))
        );
        let ev = run(&[], Some(&format!("access_token={}", token())));
        assert!(matches!(ev[0].principal_hint, PrincipalHint::Jwt(_)));
        assert_eq!(
            schemes(&run(&[], Some("q=1&page=2&keyword=x"))),
            [AuthScheme::None]
        );
        assert_eq!(
            schemes(&run(&[], Some("KEY=zzz"))),
            [AuthScheme::ApiKeyQuery]
        );
        assert_eq!(schemes(&run(&[], Some("key="))), [AuthScheme::None]);
        assert_eq!(
            schemes(&run(&[], Some("X-Amz-Signature=abc"))),
            [AuthScheme::ApiKeyQuery]
        );
    }

    #[test]
    fn none_and_multiple() {
        assert_eq!(
            run(&[], None),
            [AuthEvidence {
                scheme: AuthScheme::None,
                location: String::new(),
                principal_hint: PrincipalHint::None
            }]
        );
        let ev = run(
            &[
                ("Authorization", "Bearer opaque"),
                ("Cookie", "sid=1"),
                ("Host", "x"),
            ],
            Some("api_key=2"),
        );
        assert_eq!(
            schemes(&ev),
            [
                AuthScheme::BearerOpaque,
                AuthScheme::Cookie,
                AuthScheme::ApiKeyQuery
            ]
        );
    }

    #[test]
    fn hostile_inputs_are_bounded() {
        let many_cookies = (0..10_000)
            .map(|i| format!("session{i}=v"))
            .collect::<Vec<_>>()
            .join("; ");
        let ev = run(&[("Cookie", &many_cookies)], None);
        assert_eq!(ev.len(), MAX_EVIDENCE);
        let headers: Vec<(&[u8], &[u8])> = (0..10_000)
            .map(|_| (&b"x-api-key"[..], &b"k"[..]))
            .collect();
        assert_eq!(detect(&headers, None, KEY).len(), MAX_EVIDENCE);
        let bin: &[u8] = &[0xff, 0xfe, b'\n', 0];
        let ev = detect(
            &[(bin, bin), (b"Authorization", bin), (b"Cookie", bin)],
            Some("\u{0}=\u{1}"),
            KEY,
        );
        assert!(!ev.is_empty());
        let ev = run(&[("Authorization", "Basic ")], None);
        assert_eq!(schemes(&ev), [AuthScheme::ApiKeyHeader]);
        let ev = run(&[("Authorization", "Digest username=\"unterminated")], None);
        assert_eq!(
            ev[0].principal_hint,
            PrincipalHint::Username("unterminated".into())
        );
        let ev = run(
            &[("Authorization", &format!("Digest {}", ",=".repeat(50_000)))],
            None,
        );
        assert_eq!(schemes(&ev), [AuthScheme::Digest]);
        // Control characters in claims are neutralised.
        let t = hs256(r#"{"alg":"HS256"}"#, "{\"sub\":\"a\\nb\\u0000c\"}", b"k");
        let ev = run(&[("Authorization", &format!("Bearer {t}"))], None);
        match &ev[0].principal_hint {
            PrincipalHint::Jwt(c) => assert_eq!(c.sub.as_deref(), Some("a?b?c")),
            other => panic!("unexpected {other:?}"),
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(5_000))]
        /// Strings over an alphabet of troublesome characters (shared with the other
        /// analyzers' tests): no panic, bounded output.
        #[test]
        fn random_inputs_never_panic(s in crate::analyze::testinput::troublesome()) {
            let s = &s;
            let _ = decode_jwt(s);
            let _ = hs256_verify(s, b"k");
            let _ = is_session_cookie_name(s);
            let ev = run(
                &[
                    ("Authorization", s),
                    ("Cookie", s),
                    ("X-API-Key", s),
                    (s.as_str(), s),
                ],
                Some(s),
            );
            assert!(!ev.is_empty() && ev.len() <= MAX_EVIDENCE);
            for scheme in ["Basic ", "Bearer ", "Digest "] {
                let _ = run(&[("Authorization", &format!("{scheme}{s}"))], None);
            }

        }
    }
}
