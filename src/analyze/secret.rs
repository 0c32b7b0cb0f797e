//! Secrets handled without keeping them: keyed hashes that stand in for credentials, and the
//! decoding (never the trust) of JWTs. Shared by the auth detector, the sensitive-data scanners
//! and the posture checks; it depends on no other analysis.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::Sha256;

use super::util::{sanitize, to_hex};

/// URL-safe base64 that accepts input with or without padding (JWT segments as sent).
const URL_SAFE_NO_PAD_INDIFFERENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Tokens longer than this are not decoded as JWTs.
pub const MAX_JWT_LEN: usize = 16 * 1024;
/// Characters kept of a claim shown as a hint.
const MAX_HINT_CHARS: usize = 128;

/// Hex of HMAC-SHA256(`key`, `value`) truncated to 16 bytes (32 hex chars): lets identical
/// secrets be correlated without storing them. Use a per-deployment random key.
pub fn keyed_hash(key: &[u8], value: &[u8]) -> String {
    // HMAC accepts keys of any length, so this never fails; an empty string is returned
    // rather than panicking should that ever change.
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(value);
    let tag = mac.finalize().into_bytes();
    to_hex(tag.get(..16).unwrap_or(&[]))
}

/// The safe subset of a JWT: selected claims and header fields, typed. Strings are
/// sanitised (control characters replaced) and cut to 128 characters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwtClaims {
    /// `sub` claim (numbers are rendered as strings).
    pub sub: Option<String>,
    /// `iss` claim.
    pub iss: Option<String>,
    /// `exp` claim, seconds since the epoch.
    pub exp: Option<i64>,
    /// `iat` claim, seconds since the epoch.
    pub iat: Option<i64>,
    /// Header `alg`.
    pub alg: Option<String>,
    /// Header `kid`.
    pub kid: Option<String>,
}

/// A decoded (not verified) JWS compact token. It holds the full claims, which may be
/// personal data: keep it out of logs and reports, and use [`JwtInfo::summary`] for output.
#[derive(Debug, Clone, PartialEq)]
pub struct JwtInfo {
    /// The JOSE header (always has a string `alg`).
    pub header: Map<String, Value>,
    /// The payload claims.
    pub claims: Map<String, Value>,
}

impl JwtInfo {
    /// The header `alg`.
    pub fn alg(&self) -> Option<&str> {
        self.header.get("alg").and_then(Value::as_str)
    }

    /// The header `kid`.
    pub fn kid(&self) -> Option<&str> {
        self.header.get("kid").and_then(Value::as_str)
    }

    /// The safe subset of header and claims.
    pub fn summary(&self) -> JwtClaims {
        let text = |v: Option<&Value>| -> Option<String> {
            match v? {
                Value::String(s) => Some(sanitize(s, MAX_HINT_CHARS)),
                _ => None,
            }
        };
        let sub = match self.claims.get("sub") {
            Some(Value::Number(n)) => Some(n.to_string()),
            other => text(other),
        };
        JwtClaims {
            sub,
            iss: text(self.claims.get("iss")),
            exp: self.claims.get("exp").and_then(epoch_seconds),
            iat: self.claims.get("iat").and_then(epoch_seconds),
            alg: text(self.header.get("alg")),
            kid: text(self.header.get("kid")),
        }
    }
}

/// A NumericDate claim (`exp`, `iat`) in seconds: a number (fractions dropped) or a string of
/// digits, as JWT libraries accept it.
pub(crate) fn epoch_seconds(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            let f = n.as_f64()?;
            // Saturating float-to-int cast; NaN cannot come out of JSON.
            (f.is_finite() && f.abs() < 9.0e18).then_some(f as i64)
        }),
        Value::String(s) if s.len() <= 19 => s.parse().ok(),
        _ => None,
    }
}

fn b64url_json_object(segment: &str) -> Option<Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD_INDIFFERENT.decode(segment).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

fn is_b64url(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'=')
}

/// Decodes a JWS compact token without verifying it: three base64url segments separated by
/// dots, the first two JSON objects, the header with a string `alg`; the signature segment
/// must be base64url (it may be empty, as with `alg: none`). `None` for anything else,
/// including tokens over [`MAX_JWT_LEN`].
pub fn decode_jwt(token: &str) -> Option<JwtInfo> {
    let token = token.trim();
    if token.len() > MAX_JWT_LEN {
        return None;
    }
    let mut parts = token.split('.');
    let (h, p, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || h.is_empty() || p.is_empty() || !s.bytes().all(is_b64url) {
        return None;
    }
    let header = b64url_json_object(h)?;
    if !header.get("alg").is_some_and(Value::is_string) {
        return None;
    }
    let claims = b64url_json_object(p)?;
    Some(JwtInfo { header, claims })
}

/// Whether `token` is a JWT with header `alg: HS256` whose signature is the HMAC-SHA256 of
/// `header.payload` under `secret` (constant-time comparison). Meant for a weak-secret
/// check; false for any other algorithm or malformed token.
pub fn hs256_verify(token: &str, secret: &[u8]) -> bool {
    let token = token.trim();
    let Some(info) = decode_jwt(token) else {
        return false;
    };
    if info.alg() != Some("HS256") {
        return false;
    }
    let Some(dot) = token.rfind('.') else {
        return false;
    };
    let (Some(signing_input), Some(sig_b64)) = (token.get(..dot), token.get(dot + 1..)) else {
        return false;
    };
    let Ok(sig) = URL_SAFE_NO_PAD_INDIFFERENT.decode(sig_b64) else {
        return false;
    };
    if sig.len() != 32 {
        return false;
    }
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(secret) else {
        return false;
    };
    mac.update(signing_input.as_bytes());
    mac.verify_slice(&sig).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_hash_is_stable_and_keyed() {
        let a = keyed_hash(b"k1", b"secret");
        assert_eq!(a.len(), 32);
        assert_eq!(a, keyed_hash(b"k1", b"secret"));
        assert_ne!(a, keyed_hash(b"k2", b"secret"));
        assert_ne!(a, keyed_hash(b"k1", b"secret2"));
        // RFC 4231 test case 2, truncated to 16 bytes.
        assert_eq!(
            keyed_hash(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c7"
        );
    }
}
