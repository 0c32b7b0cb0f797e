//! Small text helpers shared by the analysis modules.
//!
//! Everything here is total (never panics), allocation-light, and linear in its input.

use std::borrow::Cow;

/// Value of one ASCII hex digit.
pub(crate) fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes `%XX` escapes to raw bytes (and `+` as a space when `plus_as_space`).
/// Malformed escapes are kept verbatim. Borrowed when there is nothing to decode.
pub(crate) fn percent_decode_bytes(input: &str, plus_as_space: bool) -> Cow<'_, [u8]> {
    let bytes = input.as_bytes();
    if !bytes
        .iter()
        .any(|&b| b == b'%' || (plus_as_space && b == b'+'))
    {
        return Cow::Borrowed(bytes);
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hi = bytes.get(i + 1).copied().and_then(hex_val);
            let lo = bytes.get(i + 2).copied().and_then(hex_val);
            if let (Some(hi), Some(lo)) = (hi, lo) {
                out.push(hi << 4 | lo);
                i += 3;
                continue;
            }
            out.push(b);
        } else if plus_as_space && b == b'+' {
            out.push(b' ');
        } else {
            out.push(b);
        }
        i += 1;
    }
    Cow::Owned(out)
}

/// Decodes `%XX` escapes (and `+` as a space when `plus_as_space`, for form encoding).
///
/// Malformed escapes are kept verbatim; bytes that do not form UTF-8 after decoding are
/// replaced with U+FFFD. Borrowed when there is nothing to decode.
pub(crate) fn percent_decode(input: &str, plus_as_space: bool) -> Cow<'_, str> {
    match percent_decode_bytes(input, plus_as_space) {
        Cow::Borrowed(_) => Cow::Borrowed(input),
        Cow::Owned(v) => match String::from_utf8(v) {
            Ok(s) => Cow::Owned(s),
            Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
        },
    }
}

/// The longest prefix of `s` that is at most `max` bytes and ends on a char boundary.
pub(crate) fn truncate_str(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("")
}

/// A display-safe copy of attacker-controlled text: control characters become `?`, and the
/// result is cut to at most `max_chars` characters.
pub(crate) fn sanitize(s: &str, max_chars: usize) -> String {
    s.chars()
        .take(max_chars)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// Lowercase hex of `bytes`.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    s
}

/// `8-4-4-4-12` hex with dashes (any case).
pub(crate) fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 36 {
        return false;
    }
    b.iter().enumerate().all(|(i, &c)| match i {
        8 | 13 | 18 | 23 => c == b'-',
        _ => c.is_ascii_hexdigit(),
    })
}

fn digits_value(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 9 {
        return None;
    }
    let mut v: u32 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

fn is_leap(y: u32) -> bool {
    (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400)
}

/// Whether year/month/day form a real calendar date (years 1000..=9999).
pub(crate) fn valid_ymd(y: u32, m: u32, d: u32) -> bool {
    if !(1000..=9999).contains(&y) || !(1..=12).contains(&m) || d == 0 {
        return false;
    }
    let days = match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    d <= days
}

/// `YYYY-MM-DD` with a real calendar date.
pub(crate) fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return false;
    }
    match (
        b.get(0..4).and_then(digits_value),
        b.get(5..7).and_then(digits_value),
        b.get(8..10).and_then(digits_value),
    ) {
        (Some(y), Some(m), Some(d)) => valid_ymd(y, m, d),
        _ => false,
    }
}

/// `YYYYMMDD` with a real calendar date in 1900..=2100 (compact dates in paths).
pub(crate) fn is_compact_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 8 {
        return false;
    }
    match (
        b.get(0..4).and_then(digits_value),
        b.get(4..6).and_then(digits_value),
        b.get(6..8).and_then(digits_value),
    ) {
        (Some(y), Some(m), Some(d)) => (1900..=2100).contains(&y) && valid_ymd(y, m, d),
        _ => false,
    }
}

/// RFC 3339 date-time: `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)` (`t`/space accepted for `T`).
pub(crate) fn is_rfc3339_datetime(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 20 || b.len() > 40 {
        return false;
    }
    let (Some(date), Some(rest)) = (s.get(..10), s.get(10..)) else {
        return false;
    };
    if !is_date(date) {
        return false;
    }
    let r = rest.as_bytes();
    if !matches!(r.first(), Some(b'T' | b't' | b' ')) {
        return false;
    }
    let two = |i: usize, max: u32| -> bool {
        r.get(i..i + 2)
            .and_then(digits_value)
            .is_some_and(|v| v <= max)
    };
    // THH:MM:SS
    if !(two(1, 23)
        && r.get(3) == Some(&b':')
        && two(4, 59)
        && r.get(6) == Some(&b':')
        && two(7, 60))
    {
        return false;
    }
    let mut i = 9;
    if r.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while r.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    match r.get(i) {
        Some(b'Z' | b'z') => i + 1 == r.len(),
        Some(b'+' | b'-') => {
            two(i + 1, 23) && r.get(i + 3) == Some(&b':') && two(i + 4, 59) && i + 6 == r.len()
        }
        _ => false,
    }
}

/// Dotted-quad IPv4 (no leading zeros beyond a single `0`).
pub(crate) fn is_ipv4(s: &str) -> bool {
    s.len() <= 15 && s.parse::<std::net::Ipv4Addr>().is_ok()
}

/// Textual IPv6 address (RFC 4291 forms, as the standard library parses them).
pub(crate) fn is_ipv6(s: &str) -> bool {
    s.len() <= 45 && s.contains(':') && s.parse::<std::net::Ipv6Addr>().is_ok()
}

/// Absolute URI of the `scheme://authority...` form with no whitespace.
pub(crate) fn is_uri(s: &str) -> bool {
    let Some(pos) = s.find("://") else {
        return false;
    };
    let scheme = s.as_bytes().get(..pos).unwrap_or(&[]);
    let rest = s.get(pos + 3..).unwrap_or("");
    let scheme_ok = scheme.first().is_some_and(u8::is_ascii_alphabetic)
        && scheme.len() <= 32
        && scheme
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'.' | b'-'));
    scheme_ok
        && !rest.is_empty()
        && !rest.starts_with('/')
        && !s
            .bytes()
            .any(|c| c.is_ascii_whitespace() || c.is_ascii_control())
}

/// Splits an identifier into lowercase ASCII tokens on non-alphanumerics and camelCase
/// boundaries (`cardNumber` → `card`, `number`; `X-API-Key` → `x`, `api`, `key`).
/// Looks at no more than the first 256 bytes and returns at most 32 tokens.
pub(crate) fn name_tokens(name: &str) -> Vec<String> {
    let b = truncate_str(name, 256).as_bytes();
    let mut tokens: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut prev: Option<u8> = None;
    for (i, &c) in b.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                tokens.push(std::mem::take(&mut cur));
            }
            prev = None;
            continue;
        }
        let boundary = match prev {
            // fooBar
            Some(p) if p.is_ascii_lowercase() && c.is_ascii_uppercase() => true,
            // HTTPServer: split before the last capital of a run followed by lowercase
            Some(p)
                if p.is_ascii_uppercase()
                    && c.is_ascii_uppercase()
                    && b.get(i + 1).is_some_and(u8::is_ascii_lowercase) =>
            {
                true
            }
            _ => false,
        };
        if boundary && !cur.is_empty() {
            tokens.push(std::mem::take(&mut cur));
        }
        cur.push(char::from(c.to_ascii_lowercase()));
        prev = Some(c);
        if tokens.len() >= 32 {
            break;
        }
    }
    if !cur.is_empty() && tokens.len() < 32 {
        tokens.push(cur);
    }
    tokens
}

/// Decoded (name, value) pairs of a query string or form body (at most 256).
pub fn pairs(input: &str) -> impl Iterator<Item = (String, String)> + '_ {
    input
        .split('&')
        .filter(|p| !p.is_empty())
        .take(256)
        .map(|p| {
            let (n, v) = p.split_once('=').unwrap_or((p, ""));
            (
                percent_decode(n, true).into_owned(),
                percent_decode(v, true).into_owned(),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b", false), "a b");
        assert_eq!(percent_decode("a+b", false), "a+b");
        assert_eq!(percent_decode("a+b", true), "a b");
        assert_eq!(percent_decode("%", false), "%");
        assert_eq!(percent_decode("%4", false), "%4");
        assert_eq!(percent_decode("%zz", false), "%zz");
        assert_eq!(percent_decode("caf%C3%A9", false), "café");
        assert_eq!(percent_decode("%FF", false), "\u{FFFD}");
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        assert_eq!(truncate_str("héllo", 2), "h");
        assert_eq!(truncate_str("héllo", 3), "hé");
        assert_eq!(truncate_str("abc", 10), "abc");
        assert_eq!(truncate_str("abc", 0), "");
    }

    #[test]
    fn dates_and_times() {
        assert!(is_date("2024-02-29"));
        assert!(!is_date("2023-02-29"));
        assert!(!is_date("2024-13-01"));
        assert!(!is_date("2024-1-01"));
        assert!(is_compact_date("20240301"));
        assert!(!is_compact_date("12345678"));
        assert!(is_rfc3339_datetime("2024-03-01T10:20:30Z"));
        assert!(is_rfc3339_datetime("2024-03-01T10:20:30.123+02:00"));
        assert!(!is_rfc3339_datetime("2024-03-01T25:20:30Z"));
        assert!(!is_rfc3339_datetime("2024-03-01T10:20:30"));
        assert!(!is_rfc3339_datetime("2024-03-01T10:20:30.Z"));
    }

    #[test]
    fn addresses_and_uris() {
        assert!(is_ipv4("10.0.0.1"));
        assert!(!is_ipv4("1.2.3"));
        assert!(!is_ipv4("1.2.3.256"));
        assert!(is_ipv6("::1"));
        assert!(is_ipv6("2001:db8::8a2e:370:7334"));
        assert!(!is_ipv6("12345"));
        assert!(is_uri("https://example.com/x?y=1"));
        assert!(!is_uri("example.com"));
        assert!(!is_uri("https:///path"));
        assert!(!is_uri("http://a b"));
        assert!(is_uuid("3f0c6b1e-9a4e-4c1b-8f3a-2b6d5e7c9a10"));
        assert!(!is_uuid("3f0c6b1e9a4e4c1b8f3a2b6d5e7c9a10"));
    }

    #[test]
    fn tokens() {
        assert_eq!(name_tokens("cardNumber"), ["card", "number"]);
        assert_eq!(name_tokens("X-API-Key"), ["x", "api", "key"]);
        assert_eq!(name_tokens("user_password"), ["user", "password"]);
        assert_eq!(name_tokens("HTTPServer"), ["http", "server"]);
        assert!(name_tokens("").is_empty());
        assert!(name_tokens(&"a_".repeat(1000)).len() <= 32);
    }

    #[test]
    fn sanitize_and_hex() {
        assert_eq!(sanitize("a\nb\u{7}c", 10), "a?b?c");
        assert_eq!(sanitize("abcdef", 3), "abc");
        assert_eq!(to_hex(&[0x00, 0xab, 0xff]), "00abff");
    }
}
