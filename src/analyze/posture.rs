//! Zero Trust posture: what each transaction shows about how an endpoint is protected.
//!
//! The checks judge what was *observed*: not "a JWT is present" but "this endpoint answered 2xx
//! to an expired token". Every finding explains itself in words and figures and never carries
//! the secret it is about (tokens are described by their header and claims' shape, credentials
//! by their location, personal data by its redacted form).
//!
//! Per-transaction checks live here ([`assess`]); checks that need the whole inventory
//! (shadow and zombie APIs, scanner probes, endpoints whose spec requires credentials but
//! answered without, inconsistent authentication, missing rate limiting) run over the store
//! (see [`crate::store::spec`]).

use super::auth::{self, AuthEvidence, AuthScheme};
use super::request::{FieldName, MessageView, RequestView};
use super::sensitive::SensitiveClass;
use crate::time::Timestamp;
use std::collections::HashMap;

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Low risk.
    Low,
    /// Medium risk.
    Medium,
    /// High risk.
    High,
    /// Exploitable as observed.
    Critical,
}

impl Severity {
    /// Every severity, most severe first.
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    /// The stable name.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Parses a stable name.
    pub fn parse(s: &str) -> Option<Severity> {
        Some(match s {
            "info" => Severity::Info,
            "low" => Severity::Low,
            "medium" => Severity::Medium,
            "high" => Severity::High,
            "critical" => Severity::Critical,
            _ => return None,
        })
    }
}

/// Every finding kind with its severity, in the order reports list them.
pub const KINDS: [(&str, Severity); 38] = [
    ("jwt_alg_none_accepted", Severity::Critical),
    ("jwt_weak_secret", Severity::Critical),
    ("unauthenticated_sensitive_data", Severity::Critical),
    ("jwt_expired_accepted", Severity::High),
    ("credentials_in_url", Severity::High),
    ("unauthenticated_endpoint", Severity::High),
    ("auth_inconsistent", Severity::High),
    ("enumeration", Severity::High),
    ("fingerprint_change", Severity::High),
    ("cors_wildcard_credentials", Severity::High),
    ("sensitive_data_in_url", Severity::High),
    ("tls_legacy_version", Severity::High),
    ("tls_weak_cipher", Severity::High),
    ("tls_certificate_expired", Severity::High),
    ("tls_name_mismatch", Severity::High),
    ("cleartext_and_tls", Severity::High),
    ("graphql_alias_abuse", Severity::High),
    ("declared_auth_not_enforced", Severity::High),
    ("shadow_api", Severity::Medium),
    ("zombie_api", Severity::Medium),
    ("scanner_probe", Severity::Medium),
    ("basic_auth_cleartext", Severity::Medium),
    ("verbose_errors", Severity::Medium),
    ("no_rate_limiting", Severity::Medium),
    ("novel_transition", Severity::Medium),
    ("rate_anomaly", Severity::Medium),
    ("jwt_no_expiry", Severity::Medium),
    ("tls_self_signed", Severity::Medium),
    ("tls_new_client_fingerprint", Severity::Medium),
    ("graphql_introspection", Severity::Medium),
    ("graphql_deep_query", Severity::Medium),
    ("grpc_reflection_exposed", Severity::Medium),
    ("undeclared_route", Severity::Medium),
    ("jwt_long_lived", Severity::Low),
    ("tls_no_sni", Severity::Low),
    ("uncovered_host", Severity::Low),
    ("auth_outside_code", Severity::Low),
    ("unobserved_route", Severity::Info),
];

/// The severity of a finding kind.
pub fn severity(kind: &str) -> Severity {
    KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, s)| *s)
        .unwrap_or(Severity::Info)
}

/// A finding observed on one endpoint since the last flush.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FindingDelta {
    /// Stable kind name.
    pub kind: &'static str,
    /// The client it concerns, when it is about one principal.
    pub client: Option<String>,
    /// Plain words, with figures.
    pub detail: String,
    /// What was seen (redacted).
    pub evidence: String,
    /// Occurrences.
    pub count: u64,
    /// First occurrence.
    pub first_seen: Timestamp,
    /// Last occurrence.
    pub last_seen: Timestamp,
}

/// HS256 secrets that deployments leave in place (tutorial defaults, placeholders).
pub const WEAK_JWT_SECRETS: [&str; 32] = [
    "secret",
    "secret123",
    "secretkey",
    "secret-key",
    "secret_key",
    "mysecret",
    "my-secret",
    "supersecret",
    "changeme",
    "change-me",
    "changeit",
    "password",
    "password123",
    "passw0rd",
    "123456",
    "12345678",
    "qwerty",
    "letmein",
    "admin",
    "default",
    "test",
    "testing",
    "key",
    "jwt",
    "jwtsecret",
    "jwt-secret",
    "jwt_secret",
    "your-256-bit-secret",
    "your_jwt_secret",
    "shhhhh",
    "keyboard cat",
    "s3cr3t",
];

/// A JWT longer-lived than this (exp - iat) is reported.
pub const LONG_LIVED_SECS: i64 = 30 * 86_400;

/// Clock skew servers are allowed when they check `exp` (Microsoft.IdentityModel's default, the
/// largest common one): a token accepted within this time after its `exp` is not reported as
/// expired.
pub const EXPIRY_LEEWAY_SECS: i64 = 300;

/// Query parameter names that carry credentials (`credentials_in_url`; `redact` adds more).
pub(crate) const CREDENTIAL_PARAMS: [&str; 18] = [
    "api_key",
    "apikey",
    "api-key",
    "key",
    "access_token",
    "token",
    "auth",
    "auth_token",
    "id_token",
    "refresh_token",
    "password",
    "passwd",
    "pwd",
    "secret",
    "client_secret",
    "session",
    "sessionid",
    "jwt",
];

/// What [`assess`] needs besides the transaction.
pub struct Context<'a> {
    /// Auth evidence of the request.
    pub auth: &'a [AuthEvidence],
    /// The Host header or an absolute-form target carried user information
    /// (`user:password@host`).
    pub userinfo: bool,
    /// Sensitive data found in the URL (path and query).
    pub url_sensitive: &'a [(SensitiveClass, String)],
    /// Sensitive data found in the response (classes).
    pub response_sensitive: &'a [SensitiveClass],
    /// The decoded response body (possibly cut), when it was inspected.
    pub response_text: Option<&'a [u8]>,
    /// The request body carried a password (a login).
    pub body_credentials: bool,
    /// Cache of weak-secret checks by token digest (bounded by the caller).
    pub weak_cache: &'a mut HashMap<u64, bool>,
}

fn digest(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Runs the per-transaction checks on a transaction's parsed view, pushing (kind, client,
/// detail, evidence).
pub fn assess(
    v: &RequestView<'_>,
    cx: Context<'_>,
    out: &mut Vec<(&'static str, Option<String>, String, String)>,
) {
    let t = v.txn;
    let req = &v.request;
    let status = v.status();
    let ok = (200..300).contains(&status);
    let client = t.orig.ip.to_string();
    let ts = t.ts();
    let credentialed = cx.body_credentials || cx.auth.iter().any(|a| a.scheme != AuthScheme::None);

    // JWTs presented as bearer tokens, judged only when the endpoint accepted them.
    if ok && let (Some(token), Some(info)) = (v.bearer(), v.bearer_jwt()) {
        jwt_checks(token, info, ts, status, &client, cx.weak_cache, out);
    }

    // Credentials in the URL: in the query string, or in the user information of the Host
    // header or an absolute-form target (never stored: the host drops it).
    let mut names: Vec<String> = Vec::new();
    if let Some(q) = v.query_pairs() {
        for (name, value) in q.first() {
            let lname = name.to_ascii_lowercase();
            let jwt_value = value.starts_with("eyJ") && value.matches('.').count() == 2;
            if ((!value.is_empty() && CREDENTIAL_PARAMS.contains(&lname.as_str())) || jwt_value)
                && !names.iter().any(|n| n == name)
                && names.len() < 8
            {
                names.push(name.to_string());
            }
        }
    }
    if !names.is_empty() || cx.userinfo {
        let mut places = Vec::new();
        let mut evidence = Vec::new();
        if cx.userinfo {
            places.push("the URL's user information (`user:password@host`)".to_string());
            evidence.push("userinfo [redacted]@".to_string());
        }
        if !names.is_empty() {
            places.push(format!(
                "the query string ({})",
                names
                    .iter()
                    .map(|n| format!("`{}`", clip(n, 40)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            evidence.push(format!(
                "parameter {}",
                names
                    .iter()
                    .map(|n| clip(n, 40))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        out.push((
            "credentials_in_url",
            None,
            format!(
                "Credentials travel in {}: URLs end up in server logs, proxy logs, browser history and Referer headers.",
                places.join(" and ")
            ),
            format!("{} from {client}, answered {status}", evidence.join(", ")),
        ));
    }

    // Basic credentials over plain HTTP: whoever can see this traffic has the password.
    if let Some(a) = cx.auth.iter().find(|a| a.scheme == AuthScheme::Basic) {
        let user = match &a.principal_hint {
            auth::PrincipalHint::Username(u) => format!(" for user `{}`", clip(u, 40)),
            _ => String::new(),
        };
        out.push((
            "basic_auth_cleartext",
            None,
            format!("HTTP Basic credentials{user} were sent over unencrypted HTTP: anyone on the path can read the password."),
            format!("Authorization: Basic [redacted] from {client}, answered {status}"),
        ));
    }

    // Personal data in the URL.
    let personal: Vec<&(SensitiveClass, String)> = cx
        .url_sensitive
        .iter()
        .filter(|(c, _)| !matches!(c, SensitiveClass::Password | SensitiveClass::Jwt))
        .collect();
    if !personal.is_empty() {
        let mut classes: Vec<&str> = personal.iter().map(|(c, _)| c.name()).collect();
        classes.dedup();
        out.push((
            "sensitive_data_in_url",
            None,
            format!(
                "Sensitive data ({}) is part of the URL, which is logged and cached along the way.",
                classes.join(", ")
            ),
            personal
                .iter()
                .take(3)
                .map(|(c, r)| format!("{}: {r}", c.name()))
                .collect::<Vec<_>>()
                .join("; "),
        ));
    }

    // Sensitive data handed to a caller that presented no credentials at all.
    if ok && !credentialed && !cx.response_sensitive.is_empty() {
        let mut classes: Vec<&str> = cx.response_sensitive.iter().map(|c| c.name()).collect();
        classes.sort_unstable();
        classes.dedup();
        out.push((
            "unauthenticated_sensitive_data",
            None,
            format!(
                "Answered {status} with {} to a request that carried no credentials at all.",
                classes.join(", ")
            ),
            format!(
                "request from {client} without credentials, response {status} with {}",
                classes.join(", ")
            ),
        ));
    }

    if let Some(resp) = v.response.as_ref() {
        if let Some(text) = cx.response_text
            && let Some(what) = stack_trace(text)
        {
            out.push((
                    "verbose_errors",
                    None,
                    format!("The response ({status}) exposes {what}: internal paths, frameworks and code structure help an attacker."),
                    format!("response {status} to {client}"),
                ));
        }
        if let Some(ev) = cors_with_credentials(req, resp) {
            out.push((
                "cors_wildcard_credentials",
                None,
                format!("CORS lets {ev} read responses with the user's credentials: any web page can call this API as the logged-in user."),
                format!("Access-Control-Allow-Credentials: true with Access-Control-Allow-Origin {ev}"),
            ));
        }
    }
}

/// A time claim in seconds since the epoch, read as [`auth::JwtInfo::summary`] reads it: a
/// number, or a numeric string (which libraries such as PyJWT accept and check).
fn claim_i64(info: &auth::JwtInfo, name: &str) -> Option<i64> {
    info.claims.get(name).and_then(auth::epoch_seconds)
}

fn jwt_checks(
    token: &str,
    info: &auth::JwtInfo,
    ts: Timestamp,
    status: u16,
    client: &str,
    weak_cache: &mut HashMap<u64, bool>,
    out: &mut Vec<(&'static str, Option<String>, String, String)>,
) {
    let alg = info.alg().unwrap_or("?");
    let shape = format!("eyJ…(alg={})", clip(alg, 16));
    if alg.eq_ignore_ascii_case("none") {
        out.push((
            "jwt_alg_none_accepted",
            None,
            format!("Answered {status} to an unsigned JWT (alg `none`): anyone can forge such a token with any claims."),
            format!("{shape} from {client}, answered {status}"),
        ));
        return;
    }
    let now = ts.secs();
    let exp = claim_i64(info, "exp");
    let iat = claim_i64(info, "iat");
    match exp {
        Some(exp) if exp < now.saturating_sub(EXPIRY_LEEWAY_SECS) => out.push((
            "jwt_expired_accepted",
            None,
            format!(
                "Answered {status} to a JWT that had expired {} before the request: the server does not check `exp`.",
                human_secs(now.saturating_sub(exp))
            ),
            format!("{shape} exp {} < request time {}", Timestamp::from_parts(exp, 0).iso8601(), ts.iso8601()),
        )),
        Some(exp) => {
            let life = exp.saturating_sub(iat.unwrap_or(now));
            if life > LONG_LIVED_SECS {
                out.push((
                    "jwt_long_lived",
                    None,
                    format!("Accepted a JWT valid for {}: a stolen token stays useful for that long.", human_secs(life)),
                    format!("{shape} exp - {} = {life} s", if iat.is_some() { "iat" } else { "request time" }),
                ));
            }
        }
        None => out.push((
            "jwt_no_expiry",
            None,
            "Accepted a JWT without an `exp` claim: it never expires, so a stolen token works forever.".to_string(),
            format!("{shape} without exp from {client}"),
        )),
    }
    if alg.eq_ignore_ascii_case("HS256") {
        let key = digest(token);
        let weak = match weak_cache.get(&key) {
            Some(w) => *w,
            None => {
                let w = WEAK_JWT_SECRETS
                    .iter()
                    .any(|s| auth::hs256_verify(token, s.as_bytes()));
                if weak_cache.len() >= 10_000 {
                    weak_cache.clear();
                }
                weak_cache.insert(key, w);
                w
            }
        };
        if weak {
            out.push((
                "jwt_weak_secret",
                None,
                format!(
                    "The HS256 signing key of a JWT this endpoint accepted is one of {} well-known default secrets: anyone can mint valid tokens.",
                    WEAK_JWT_SECRETS.len()
                ),
                format!("{shape} verifies with a common secret (not shown)"),
            ));
        }
    }
}

fn human_secs(s: i64) -> String {
    let s = s.max(0);
    if s >= 86_400 * 2 {
        format!("{} days", s / 86_400)
    } else if s >= 7200 {
        format!("{} hours", s / 3600)
    } else if s >= 120 {
        format!("{} minutes", s / 60)
    } else {
        format!("{s} seconds")
    }
}

/// What kind of stack trace or debug page a response body shows, if any.
pub fn stack_trace(body: &[u8]) -> Option<&'static str> {
    let text = &body[..body.len().min(64 * 1024)];
    let has = |needle: &[u8]| memchr::memmem::find(text, needle).is_some();
    if has(b"Traceback (most recent call last)") {
        return Some("a Python stack trace");
    }
    if has(b"goroutine ") && has(b" [running]:") {
        return Some("a Go stack trace");
    }
    if has(b"Exception in thread \"")
        || (has(b"\tat ") && (has(b".java:") || has(b"(Native Method)")))
        || has(b"\\tat java.")
    {
        return Some("a Java stack trace");
    }
    if (has(b"    at ") || has(b"\\n    at "))
        && (has(b".js:") || has(b".ts:") || has(b"node:internal"))
    {
        return Some("a JavaScript stack trace");
    }
    if has(b"Server Error in '/' Application")
        || has(b"System.NullReferenceException")
        || has(b"   at System.")
    {
        return Some("an ASP.NET error page");
    }
    if has(b"Fatal error: ") && has(b" on line ")
        || has(b"Stack trace:\n#0 ")
        || has(b"Stack trace:\\n#0 ")
    {
        return Some("a PHP error with stack trace");
    }
    if has(b"Werkzeug Debugger")
        || has(b"DEBUG = True") && has(b"Django")
        || has(b"ActionController::RoutingError")
        || has(b"Whoops! There was an error")
    {
        return Some("a framework debug page");
    }
    None
}

/// `Some(description)` when a response lets another origin read it with credentials.
fn cors_with_credentials(req: &MessageView<'_>, resp: &MessageView<'_>) -> Option<String> {
    let creds = resp.first(FieldName::AllowCredentials)?;
    if !crate::http::head::trim(creds).eq_ignore_ascii_case(b"true") {
        return None;
    }
    let allow = crate::http::head::trim(resp.first(FieldName::AllowOrigin)?);
    if allow == b"*" {
        return Some("every origin (`*`)".into());
    }
    // Sandboxed frames and local files send `Origin: null`: allowing it allows anyone.
    if allow.eq_ignore_ascii_case(b"null") {
        return Some("the `null` origin (any sandboxed frame or local file)".into());
    }
    // An origin echoed back from a request: fine for the site's own origins, a hole for others.
    let origin = req.first(FieldName::Origin)?;
    if crate::http::head::trim(origin) != allow {
        return None;
    }
    let origin_host = std::str::from_utf8(allow)
        .ok()?
        .split("://")
        .nth(1)?
        .split([':', '/'])
        .next()?
        .to_ascii_lowercase();
    let host = std::str::from_utf8(req.head().header("host")?)
        .ok()?
        .split(':')
        .next()?
        .to_ascii_lowercase();
    if !same_site(&origin_host, &host) {
        return Some(format!(
            "the requesting origin `{}` (reflected)",
            clip(&String::from_utf8_lossy(allow), 80)
        ));
    }
    None
}

/// True when two host names share their registrable part (last two labels).
fn same_site(a: &str, b: &str) -> bool {
    let tail = |h: &str| -> String {
        let labels: Vec<&str> = h.trim_end_matches('.').rsplit('.').take(2).collect();
        labels.into_iter().rev().collect::<Vec<_>>().join(".")
    };
    !a.is_empty() && tail(a) == tail(b)
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s
            .chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .collect();
    }
    s.chars()
        .take(n)
        .map(|c| if c.is_control() { '?' } else { c })
        .chain(std::iter::once('…'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_traces() {
        assert_eq!(
            stack_trace(b"Traceback (most recent call last):\n  File \"x.py\""),
            Some("a Python stack trace")
        );
        assert_eq!(
            stack_trace(
                b"TypeError: x is undefined\n    at Object.<anonymous> (/srv/app/server.js:42:13)"
            ),
            Some("a JavaScript stack trace")
        );
        assert_eq!(
            stack_trace(b"{\"error\":\"not_found\",\"message\":\"No such user\"}"),
            None
        );
        assert_eq!(stack_trace(b"we meet at 5 at the station"), None);
        assert_eq!(
            stack_trace(b"java.lang.NullPointerException\n\tat com.acme.Foo.bar(Foo.java:10)"),
            Some("a Java stack trace")
        );
    }

    #[test]
    fn sites() {
        assert!(same_site("app.shop.test", "api.shop.test"));
        assert!(!same_site("evil.example", "api.shop.test"));
        assert!(!same_site("", "api.shop.test"));
    }

    fn hs256(claims: &str) -> (String, auth::JwtInfo) {
        use base64::Engine as _;
        use hmac::Mac;
        use hmac::digest::KeyInit;
        let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        let input = format!("{}.{}", b64(br#"{"alg":"HS256"}"#), b64(claims.as_bytes()));
        let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(b"a-long-random-key")
            .expect("hmac key");
        mac.update(input.as_bytes());
        let token = format!("{input}.{}", b64(&mac.finalize().into_bytes()));
        let info = auth::decode_jwt(&token).expect("decodes");
        (token, info)
    }

    fn jwt_kinds(claims: &str, now: i64) -> Vec<&'static str> {
        let (token, info) = hs256(claims);
        let mut out = Vec::new();
        let mut cache = HashMap::new();
        let ts = Timestamp::from_parts(now, 0);
        jwt_checks(&token, &info, ts, 200, "10.0.0.1", &mut cache, &mut out);
        out.into_iter().map(|(k, ..)| k).collect()
    }

    #[test]
    fn jwt_expiry_is_judged_at_packet_time_with_clock_skew() {
        let now = 1_700_000_000;
        let t = |claims: String| jwt_kinds(&claims, now);
        assert_eq!(
            t(format!(r#"{{"iat":{},"exp":{}}}"#, now - 4500, now - 3600)),
            ["jwt_expired_accepted"]
        );
        // Expired seconds ago: within the skew servers allow.
        assert!(t(format!(r#"{{"iat":{},"exp":{}}}"#, now - 930, now - 30)).is_empty());
        assert!(t(format!(r#"{{"iat":{},"exp":{}}}"#, now - 60, now + 840)).is_empty());
        // `exp` as a numeric string is an expiry, not a missing one.
        assert!(t(format!(r#"{{"iat":"{}","exp":"{}"}}"#, now - 60, now + 840)).is_empty());
        assert_eq!(
            t(format!(r#"{{"exp":"{}"}}"#, now - 3600)),
            ["jwt_expired_accepted"]
        );
        assert_eq!(t(r#"{"iat":1}"#.to_string()), ["jwt_no_expiry"]);
        // Extreme values do not overflow.
        assert_eq!(
            t(format!(r#"{{"exp":{}}}"#, i64::MIN)),
            ["jwt_expired_accepted"]
        );
        assert_eq!(
            t(format!(r#"{{"iat":{},"exp":{}}}"#, i64::MIN, i64::MAX)),
            ["jwt_long_lived"]
        );
    }

    fn message(raw: &[u8]) -> crate::http::HttpMessage {
        crate::http::HttpMessage {
            head: crate::http::head::MessageHead::parse(raw, 64).expect("head"),
            first_ts: Timestamp::default(),
            last_ts: Timestamp::default(),
            body: crate::http::Body::default(),
        }
    }

    #[test]
    fn cors_origins() {
        let cors = |origin: &str, allow: &str| {
            let req = message(
                format!("GET /me HTTP/1.1\r\nHost: api.shop.test\r\nOrigin: {origin}\r\n\r\n")
                    .as_bytes(),
            );
            let resp = message(
                format!("HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: {allow}\r\nAccess-Control-Allow-Credentials: true\r\n\r\n")
                    .as_bytes(),
            );
            cors_with_credentials(&MessageView::new(&req, 0), &MessageView::new(&resp, 0))
        };
        assert!(cors("https://app.shop.test", "*").is_some());
        assert!(cors("https://evil.example", "https://evil.example").is_some());
        assert!(cors("null", "null").is_some());
        assert!(cors("https://app.shop.test", "null").is_some());
        assert!(cors("https://app.shop.test", "https://app.shop.test").is_none());
        assert!(cors("https://evil.example", "https://app.shop.test").is_none());
    }

    #[test]
    fn severities_are_known() {
        assert_eq!(severity("jwt_alg_none_accepted"), Severity::Critical);
        assert_eq!(severity("shadow_api"), Severity::Medium);
        assert_eq!(severity("scanner_probe"), Severity::Medium);
        assert_eq!(severity("unknown"), Severity::Info);
        assert!(Severity::Critical > Severity::Low);
        assert_eq!(Severity::parse("high"), Some(Severity::High));
    }
}
