//! Redaction of request text that an output prints as it was sent (`shadowtap log`): the same
//! rules the inventory applies before it stores anything, applied in place.
//!
//! - **User information** of an authority (`user:password@host`, in a `Host` header or an
//!   absolute-form request target) becomes `[redacted]@host`.
//! - **Query parameters**: the value of a parameter named like a credential
//!   ([`is_credential_param`]: `api_key`, `token`, `access_token`, `password`, `secret`,
//!   `sig`, ...) becomes `[redacted]` (a JWT keeps its redacted form, `eyJ…(alg=HS256)`); other
//!   values, and the names themselves, go through
//!   [`classify_field_located`](super::sensitive::classify_field_located): password-like
//!   names, JWTs, card numbers (Luhn), AWS access keys, e-mail addresses, phone numbers, IBANs,
//!   SSNs and private keys are replaced by their redacted forms.
//! - **Path segments** are percent-decoded and scanned like free text
//!   ([`scan_text_located`](super::sensitive::scan_text_located)).
//! - **Other header values** ([`text`]) are scanned like free text.
//!
//! Text without anything to redact is returned as it was (borrowed, byte for byte); a part that
//! was redacted is printed decoded, with the redactions in place, and percent-encoded again
//! where its characters would change the structure of the URL.

use std::borrow::Cow;

use super::sensitive::{Located, classify_field_located, redact_jwt, scan_text_located};
use super::util::{percent_decode, truncate_str};

/// What a redacted secret becomes when it has no more specific redacted form.
pub const REDACTED: &str = "[redacted]";

/// Longest text looked at (longer text is redacted as a whole).
const MAX_TEXT: usize = 64 * 1024;

/// Query parameter names that carry credentials beyond those the posture analysis reports as
/// `credentials_in_url` (`posture::CREDENTIAL_PARAMS`; compared ASCII
/// case-insensitively): the store and `log` redact both.
const MORE_CREDENTIAL_PARAMS: &[&str] = &[
    "session_id",
    "sig",
    "signature",
    "x-amz-signature",
    "x-amz-security-token",
    "access_key",
    "secret_key",
    "private_token",
    "oauth_token",
    "code_verifier",
];

/// Whether a query parameter named `name` carries a credential: one of the names above or of
/// posture's list, or a
/// name ending in `token`, `secret`, `apikey`, `api_key`, `api-key`, `password` or `signature`.
pub fn is_credential_param(name: &str) -> bool {
    let n = name.trim().to_ascii_lowercase();
    super::posture::CREDENTIAL_PARAMS.contains(&n.as_str())
        || MORE_CREDENTIAL_PARAMS.contains(&n.as_str())
        || [
            "token",
            "secret",
            "apikey",
            "api_key",
            "api-key",
            "password",
            "signature",
        ]
        .iter()
        .any(|s| n.ends_with(s))
}

/// Splits an authority (`user:pass@host:port`) at its last `@`: (user information, rest).
pub fn split_userinfo(authority: &str) -> (Option<&str>, &str) {
    match authority.rfind('@') {
        Some(i) => (authority.get(..i), authority.get(i + 1..).unwrap_or("")),
        None => (None, authority),
    }
}

/// A `Host` value (or any authority) without its secrets: `alice:pw@api.example` becomes
/// `[redacted]@api.example`.
pub fn host(value: &str) -> Cow<'_, str> {
    match split_userinfo(value) {
        (Some(_), rest) => Cow::Owned(format!("{REDACTED}@{rest}")),
        (None, _) => Cow::Borrowed(value),
    }
}

/// Free text (a header value) with every sensitive value replaced by its redacted form.
pub fn text(value: &str) -> Cow<'_, str> {
    if value.len() > MAX_TEXT {
        return Cow::Owned(REDACTED.to_string());
    }
    let mut found = Vec::new();
    scan_text_located(value, &mut found);
    if found.is_empty() {
        Cow::Borrowed(value)
    } else {
        Cow::Owned(replace(value, &found))
    }
}

/// A request target (origin form `/path?query`, absolute form `http://user:pw@host/path?q`, or
/// anything else a client sent) with its secrets redacted.
pub fn target(t: &str) -> Cow<'_, str> {
    if t.len() > MAX_TEXT {
        return Cow::Owned(REDACTED.to_string());
    }
    // Authority form (CONNECT host:port), which may carry user information too.
    if !t.starts_with('/') && !t.contains("://") && !t.contains('/') && t.contains('@') {
        return host(t);
    }
    // Absolute form: scheme://authority, then the path.
    let (prefix, authority, rest) = match t.find("://") {
        Some(i) if i > 0 && t[..i].bytes().all(|b| b.is_ascii_alphabetic()) => {
            let after = &t[i + 3..];
            let end = after.find(['/', '?', '#']).unwrap_or(after.len());
            (&t[..i + 3], Some(&after[..end]), &after[end..])
        }
        _ => ("", None, t),
    };
    let (before_fragment, fragment) = match rest.split_once('#') {
        Some((a, f)) => (a, Some(f)),
        None => (rest, None),
    };
    let (path, query) = match before_fragment.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (before_fragment, None),
    };
    let authority_r = authority.map(host);
    let path_r = redact_path(path);
    let query_r = query.map(redact_query);
    let fragment_r = fragment.map(text);
    let changed = matches!(authority_r, Some(Cow::Owned(_)))
        || matches!(path_r, Cow::Owned(_))
        || matches!(query_r, Some(Cow::Owned(_)))
        || matches!(fragment_r, Some(Cow::Owned(_)));
    if !changed {
        return Cow::Borrowed(t);
    }
    let mut out = String::with_capacity(t.len());
    out.push_str(prefix);
    if let Some(a) = &authority_r {
        out.push_str(a);
    }
    out.push_str(&path_r);
    if let Some(q) = &query_r {
        out.push('?');
        out.push_str(q);
    }
    if let Some(f) = &fragment_r {
        out.push('#');
        out.push_str(f);
    }
    Cow::Owned(out)
}

fn redact_path(path: &str) -> Cow<'_, str> {
    let mut out: Option<String> = None;
    let mut found = Vec::new();
    for (i, seg) in path.split('/').enumerate() {
        found.clear();
        if seg.len() >= 6 {
            let decoded = percent_decode(seg, false);
            scan_text_located(&decoded, &mut found);
            if !found.is_empty() {
                let o = out.get_or_insert_with(|| {
                    // Everything before this segment, unchanged.
                    let before: usize = path.split('/').take(i).map(|s| s.len() + 1).sum();
                    path.get(..before).unwrap_or("").to_string()
                });
                encode_into(o, &replace(&decoded, &found), b"/?#");
                o.push('/');
                continue;
            }
        }
        if let Some(o) = out.as_mut() {
            o.push_str(seg);
            o.push('/');
        }
    }
    match out {
        Some(mut o) => {
            o.pop();
            Cow::Owned(o)
        }
        None => Cow::Borrowed(path),
    }
}

fn redact_query(query: &str) -> Cow<'_, str> {
    let mut out: Option<String> = None;
    let mut offset = 0usize;
    for pair in query.split('&') {
        let redacted = redact_pair(pair);
        match (&redacted, out.as_mut()) {
            (Some(r), None) => {
                let mut o = query.get(..offset).unwrap_or("").to_string();
                o.push_str(r);
                o.push('&');
                out = Some(o);
            }
            (Some(r), Some(o)) => {
                o.push_str(r);
                o.push('&');
            }
            (None, Some(o)) => {
                o.push_str(pair);
                o.push('&');
            }
            (None, None) => {}
        }
        offset += pair.len() + 1;
    }
    match out {
        Some(mut o) => {
            o.pop();
            Cow::Owned(o)
        }
        None => Cow::Borrowed(query),
    }
}

/// One `name=value` pair redacted, or `None` when it holds nothing to redact.
fn redact_pair(pair: &str) -> Option<String> {
    if pair.is_empty() {
        return None;
    }
    let (raw_name, raw_value) = match pair.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (pair, None),
    };
    let name = percent_decode(truncate_str(raw_name, MAX_TEXT), true);
    let value = raw_value.map(|v| percent_decode(v, true));
    // The name itself may be the secret (`?eyJ...` with no value).
    let mut found = Vec::new();
    scan_text_located(&name, &mut found);
    let name_r = (!found.is_empty()).then(|| replace(&name, &found));
    let value_r = value.as_deref().and_then(|v| redact_value(&name, v));
    if name_r.is_none() && value_r.is_none() {
        return None;
    }
    let mut out = String::with_capacity(pair.len());
    match &name_r {
        Some(n) => encode_into(&mut out, n, b"&+#"),
        None => out.push_str(raw_name),
    }
    if let Some(raw) = raw_value {
        out.push('=');
        match &value_r {
            Some(v) => encode_into(&mut out, v, b"&+#"),
            None => out.push_str(raw),
        }
    }
    Some(out)
}

/// The redacted form of a query value, or `None` when it holds nothing to redact.
fn redact_value(name: &str, value: &str) -> Option<String> {
    let v = value.trim();
    if v.is_empty() {
        return None;
    }
    let mut found = Vec::new();
    classify_field_located(name, value, &mut found);
    if is_credential_param(name) {
        // A JWT keeps its redacted form (it says which algorithm); anything else is hidden.
        let jwt = found.iter().find(|l| {
            l.finding.class == super::sensitive::SensitiveClass::Jwt
                && value.get(l.start..l.end).map(str::trim) == Some(v)
        });
        return Some(match jwt {
            Some(l) => l.finding.redacted.clone(),
            None => REDACTED.to_string(),
        });
    }
    if found.is_empty() {
        // What the posture analysis counts as a credential: a JWT-shaped value, even one that
        // does not decode.
        if v.starts_with("eyJ") && v.matches('.').count() == 2 {
            return Some(redact_jwt(v, ""));
        }
        return None;
    }
    Some(replace(value, &found))
}

/// `text` with each located finding replaced by its redacted form.
fn replace(text: &str, found: &[Located]) -> String {
    let mut spans: Vec<&Located> = found.iter().collect();
    spans.sort_by_key(|l| l.start);
    let mut out = String::with_capacity(text.len());
    let mut at = 0usize;
    for l in spans {
        if l.start < at || l.end > text.len() {
            continue;
        }
        out.push_str(text.get(at..l.start).unwrap_or(""));
        out.push_str(&l.finding.redacted);
        at = l.end;
    }
    out.push_str(text.get(at..).unwrap_or(""));
    out
}

/// Appends `s`, percent-encoding `%`, spaces, control characters and the bytes of `special`.
fn encode_into(out: &mut String, s: &str, special: &[u8]) {
    for c in s.chars() {
        if c.is_ascii()
            && (c == '%' || c == ' ' || c.is_ascii_control() || special.contains(&(c as u8)))
        {
            out.push_str(&format!("%{:02X}", c as u32));
        } else {
            out.push(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    fn b64url(s: &str) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
    }

    fn jwt() -> String {
        format!(
            "{}.{}.c2lnbmF0dXJlLXNlY3JldA",
            b64url(r#"{"alg":"HS256","typ":"JWT"}"#),
            b64url(r#"{"sub":"alice","exp":1900000000}"#)
        )
    }

    #[test]
    fn nothing_to_redact_is_borrowed() {
        for t in [
            "/",
            "/users/42/orders?page=2&sort=desc",
            "/a%20b?x=1&&y",
            "*",
            "http://api.example/v1/x",
            "api.example:443",
        ] {
            assert!(matches!(target(t), Cow::Borrowed(_)), "{t}");
        }
        assert!(matches!(host("api.example:8080"), Cow::Borrowed(_)));
        assert!(matches!(text("Mozilla/5.0 (X11; Linux)"), Cow::Borrowed(_)));
    }

    #[test]
    fn query_credentials_and_secrets() {
        let j = jwt();
        let t = format!(
            "/v1/login?user=alice&password=hunter2&api_key=k3y-s3cr3t&access_token={j}&card=4111111111111111&page=1&X-Amz-Signature=abcdef0123"
        );
        let r = target(&t);
        for secret in [
            "hunter2",
            "k3y-s3cr3t",
            j.as_str(),
            "c2lnbmF0dXJl",
            "4111111111111111",
            "abcdef0123",
        ] {
            assert!(!r.contains(secret), "{secret} in {r}");
        }
        assert!(r.starts_with("/v1/login?user=alice&password=[redacted]&api_key=[redacted]&access_token=eyJ…(alg=HS256)&card=4111"), "{r}");
        assert!(r.contains("&page=1&X-Amz-Signature=[redacted]"), "{r}");
    }

    #[test]
    fn jwt_shaped_values_and_bare_names() {
        let j = jwt();
        assert_eq!(target(&format!("/x?{j}")), "/x?eyJ…(alg=HS256)");
        let r = target("/x?state=eyJub3QiOiJqc29u.eyJhIjoxfQ.sig");
        assert!(!r.contains("eyJub3Qi"), "{r}");
    }

    #[test]
    fn path_segments() {
        let j = jwt();
        let t = format!("/cards/4111111111111111/charge/{j}/keys/AKIAIOSFODNN7EXAMPLE?x=1");
        assert_eq!(
            target(&t),
            "/cards/4111********1111/charge/eyJ…(alg=HS256)/keys/AKIA************MPLE?x=1"
        );
        let r = target("/users/jane%40example.com/profile");
        assert_eq!(r, "/users/j***@example.com/profile");
    }

    #[test]
    fn userinfo() {
        assert_eq!(
            target("http://alice:Pa55w0rd@api.example/p?q=1"),
            "http://[redacted]@api.example/p?q=1"
        );
        assert_eq!(host("alice:Pa55w0rd@api.example"), "[redacted]@api.example");
        assert_eq!(
            target("alice:pw@proxy.example:443"),
            "[redacted]@proxy.example:443"
        );
        assert_eq!(split_userinfo("a:b@c@host:1"), (Some("a:b@c"), "host:1"));
        assert_eq!(split_userinfo("host"), (None, "host"));
    }

    #[test]
    fn credential_names() {
        for n in [
            "token",
            "API_KEY",
            "oauth_token",
            "x-amz-security-token",
            "client_secret",
            "newPassword",
            "sig",
        ] {
            assert!(is_credential_param(n), "{n}");
        }
        for n in ["page", "user", "sort", "q", "keyword"] {
            assert!(!is_credential_param(n), "{n}");
        }
    }

    #[test]
    fn free_text() {
        assert_eq!(
            text("curl/8 (ops@example.com)"),
            "curl/8 (o***@example.com)"
        );
    }
}
