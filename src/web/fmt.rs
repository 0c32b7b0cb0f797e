//! Formatting helpers called from the templates (`{{ crate::web::fmt::num(x) }}`), and the HTML
//! escaper of markup built in Rust (charts, the sequence graph).
//!
//! Everything returned here is plain text: the templates escape it again on output, so these
//! helpers never decide what is safe.

use std::fmt::Write;

/// Escapes text for HTML or SVG content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    esc_into(&mut out, s);
    out
}

/// Appends `s` escaped to `out`.
pub fn esc_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters cannot appear in XML (inline SVG); show them as U+FFFD.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
}

/// An integer with thousands separators: `12,345`.
pub fn num(n: &i64) -> String {
    let n = *n;
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A count in short: `950`, `12.3k`, `4.5M`.
pub fn short(n: &i64) -> String {
    let v = *n as f64;
    let a = v.abs();
    if a < 10_000.0 {
        num(n)
    } else if a < 1e6 {
        format!("{:.1}k", v / 1e3)
    } else if a < 1e9 {
        format!("{:.1}M", v / 1e6)
    } else {
        format!("{:.1}G", v / 1e9)
    }
}

/// Milliseconds: `0.42 ms`, `12.3 ms`, `1.25 s`; `–` when unknown.
pub fn ms(v: &Option<f64>) -> String {
    match v {
        Some(v) => ms_value(v),
        None => "–".to_string(),
    }
}

/// Milliseconds of a known value.
pub fn ms_value(v: &f64) -> String {
    let v = *v;
    if v >= 1000.0 {
        format!("{:.2} s", v / 1000.0)
    } else if v >= 100.0 {
        format!("{v:.0} ms")
    } else if v >= 10.0 {
        format!("{v:.1} ms")
    } else {
        format!("{v:.2} ms")
    }
}

/// A byte count: `512 B`, `12.4 KiB`, `3.1 MiB`.
pub fn bytes(n: &i64) -> String {
    let v = *n as f64;
    if v < 1024.0 {
        format!("{n} B")
    } else if v < 1024.0 * 1024.0 {
        format!("{:.1} KiB", v / 1024.0)
    } else if v < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.1} MiB", v / 1024.0 / 1024.0)
    } else {
        format!("{:.2} GiB", v / 1024.0 / 1024.0 / 1024.0)
    }
}

/// A percentage of `part` in `whole`: `12.5%`; `–` when `whole` is 0.
pub fn pct(part: &i64, whole: &i64) -> String {
    if *whole == 0 {
        return "–".to_string();
    }
    let p = *part as f64 * 100.0 / *whole as f64;
    if p > 0.0 && p < 0.1 {
        "<0.1%".to_string()
    } else if p < 10.0 {
        format!("{p:.1}%")
    } else {
        format!("{p:.0}%")
    }
}

/// A stored time (ns) as `2024-03-01 12:00:03 UTC`.
pub fn ts(ns: &i64) -> String {
    let iso = crate::time::Timestamp(*ns).iso8601().to_string();
    // 2024-03-01T12:00:03.123456Z -> 2024-03-01 12:00:03
    let mut s = iso.get(..19).unwrap_or(&iso).replace('T', " ");
    s.push_str(" UTC");
    s
}

/// A stored time in short, `2024-03-01 12:00` (date and hour:minute, UTC, no seconds);
/// `never` when absent.
pub fn ts_short(ns: &Option<i64>) -> String {
    match ns {
        Some(n) => {
            let s = ts(n);
            s.get(..16).unwrap_or(&s).to_string()
        }
        None => "never".to_string(),
    }
}

/// [`ts`] of an optional time; `never` when absent.
pub fn ts_opt(ns: &Option<i64>) -> String {
    match ns {
        Some(n) => ts(n),
        None => "never".to_string(),
    }
}

/// An ISO 8601 time as the views store it (`2024-03-01T12:00:03.123Z`) like [`ts`]:
/// `2024-03-01 12:00:03 UTC`; anything else as it is.
pub fn iso(s: &str) -> String {
    let b = s.as_bytes();
    if b.len() >= 19 && b[10] == b'T' && s.is_char_boundary(19) {
        format!("{} {} UTC", &s[..10], &s[11..19])
    } else {
        s.to_string()
    }
}

/// The date of an ISO 8601 time (`2034-01-01`); `–` when absent.
pub fn iso_date(s: &Option<String>) -> String {
    match s.as_deref() {
        Some(s) if s.len() >= 10 && s.is_char_boundary(10) => s[..10].to_string(),
        Some(s) => s.to_string(),
        None => "–".to_string(),
    }
}

/// Minutes since the epoch as `HH:MM`, or `YYYY-MM-DD HH:MM` when `with_date` (UTC).
pub fn minute_label(minute: i64, with_date: bool) -> String {
    let iso = crate::time::Timestamp(minute.saturating_mul(60_000_000_000))
        .iso8601()
        .to_string();
    if with_date {
        format!(
            "{} {}",
            iso.get(..10).unwrap_or(""),
            iso.get(11..16).unwrap_or("")
        )
    } else {
        iso.get(11..16).unwrap_or("").to_string()
    }
}

/// A length of time in words: `45 s`, `12 min`, `3.5 h`, `2.0 days`.
pub fn duration_ns(ns: i64) -> String {
    let s = ns as f64 / 1e9;
    if s < 120.0 {
        format!("{s:.0} s")
    } else if s < 7200.0 {
        format!("{:.0} min", s / 60.0)
    } else if s < 172_800.0 {
        format!("{:.1} h", s / 3600.0)
    } else {
        format!("{:.1} days", s / 86_400.0)
    }
}

/// Cuts `s` to at most `max` characters, with `…` in place of what was cut.
pub fn trunc(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Cuts `s` to at most `max` characters keeping its end (the informative part of a path).
pub fn trunc_start(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        return s.to_string();
    }
    let mut out = String::from("…");
    out.extend(s.chars().skip(n - max.saturating_sub(1)));
    out
}

/// Splits text at backticks into (is_code, text) runs: finding explanations quote names in
/// backticks, shown as `<code>` (each run escaped by the template).
pub fn code_runs(s: &str) -> Vec<(bool, String)> {
    let mut out = Vec::new();
    for (i, part) in s.split('`').enumerate() {
        if !part.is_empty() {
            out.push((i % 2 == 1, part.to_string()));
        }
    }
    // An odd number of backticks: the last run was not closed; show it as text.
    if s.matches('`').count() % 2 == 1
        && let Some(last) = out.last_mut()
    {
        last.0 = false;
    }
    out
}

/// Percent-encodes a query-string value.
pub fn qs(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A query string from (name, value) pairs, skipping empty values: `?a=1&b=x%20y`.
pub fn query(pairs: &[(&str, String)]) -> String {
    let mut out = String::new();
    for (k, v) in pairs {
        if v.is_empty() {
            continue;
        }
        out.push(if out.is_empty() { '?' } else { '&' });
        out.push_str(k);
        out.push('=');
        out.push_str(&qs(v));
    }
    out
}

/// The CSS class suffix of a status code: `s2`, `s3`, `s4`, `s5`, `s0` (no response).
pub fn status_class(status: &i64) -> &'static str {
    match *status {
        100..=199 => "s1",
        200..=299 => "s2",
        300..=399 => "s3",
        400..=499 => "s4",
        500..=599 => "s5",
        _ => "s0",
    }
}

/// A known class name for a badge, `other` for anything else (captured data never becomes a
/// class name).
pub fn badge(kind: &str) -> &'static str {
    const KNOWN: [&str; 28] = [
        "open",
        "acknowledged",
        "false_positive",
        "resolved",
        "documented",
        "shadow",
        "zombie",
        "dormant",
        "uncovered",
        "unclassified",
        "critical",
        "high",
        "medium",
        "low",
        "info",
        "none",
        "basic",
        "bearer_jwt",
        "bearer_opaque",
        "api_key_header",
        "api_key_query",
        "cookie",
        "digest",
        "GET",
        "POST",
        "PUT",
        "PATCH",
        "DELETE",
    ];
    KNOWN.into_iter().find(|k| *k == kind).unwrap_or("other")
}

/// Splits a comma-separated list.
pub fn list(s: &Option<String>) -> Vec<String> {
    s.as_deref()
        .unwrap_or("")
        .split(',')
        .filter(|x| !x.is_empty())
        .map(String::from)
        .collect()
}

/// The sources of an endpoint (`api_endpoint_coverage.sources`) as (short label, title).
pub fn source_tags(sources: &str) -> Vec<(&'static str, &'static str)> {
    sources
        .split(',')
        .filter_map(|s| {
            Some(match s {
                "wire" => ("wire", "Seen on the wire (captures, interfaces)"),
                "access_log" => ("log", "Seen in access logs"),
                "har" => ("HAR", "Seen in HAR files"),
                "code" => ("code", "Declared in scanned source code"),
                "spec" => ("spec", "Documented in an imported API description"),
                _ => return None,
            })
        })
        .collect()
}

/// The badge class of a category of the code's join (`undeclared`, `unobserved`,
/// `not_enforced`, `outside_code`), in the colours of their nearest spec classification or
/// severity.
pub fn code_badge(status: &str) -> &'static str {
    match status {
        "undeclared" => "shadow",
        "unobserved" => "dormant",
        "not_enforced" => "high",
        "outside_code" => "low",
        _ => "",
    }
}

/// Human name of an auth scheme.
pub fn auth_name(scheme: &str) -> String {
    match scheme {
        "none" => "none",
        "basic" => "Basic",
        "bearer_jwt" => "Bearer JWT",
        "bearer_opaque" => "Bearer token",
        "api_key_header" => "API key (header)",
        "api_key_query" => "API key (query)",
        "cookie" => "Cookie",
        "digest" => "Digest",
        other => other,
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(num(&0), "0");
        assert_eq!(num(&999), "999");
        assert_eq!(num(&1000), "1,000");
        assert_eq!(num(&-1234567), "-1,234,567");
        assert_eq!(short(&12_345), "12.3k");
        assert_eq!(pct(&1, &3), "33%");
        assert_eq!(pct(&1, &0), "–");
        assert_eq!(bytes(&2048), "2.0 KiB");
        assert_eq!(ms(&Some(0.5)), "0.50 ms");
        assert_eq!(ms(&None), "–");
    }

    #[test]
    fn escaping() {
        assert_eq!(
            esc("<script>alert(1)</script>\"'&"),
            "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;"
        );
        assert_eq!(esc("a\u{1}b"), "a\u{fffd}b");
    }

    #[test]
    fn truncation_and_runs() {
        assert_eq!(trunc("abcdef", 4), "abc…");
        assert_eq!(trunc_start("abcdef", 4), "…def");
        assert_eq!(trunc("abc", 4), "abc");
        assert_eq!(
            code_runs("user `x` sent"),
            vec![
                (false, "user ".to_string()),
                (true, "x".to_string()),
                (false, " sent".to_string())
            ]
        );
        assert_eq!(
            code_runs("a `b"),
            vec![(false, "a ".into()), (false, "b".into())]
        );
    }

    #[test]
    fn query_strings() {
        assert_eq!(
            query(&[
                ("q", "a b&c".into()),
                ("host", String::new()),
                ("x", "<".into())
            ]),
            "?q=a%20b%26c&x=%3C"
        );
        assert_eq!(badge("shadow"), "shadow");
        assert_eq!(badge("\"><x"), "other");
    }

    #[test]
    fn times() {
        assert_eq!(ts(&1_709_294_403_000_000_000), "2024-03-01 12:00:03 UTC");
        assert_eq!(minute_label(28_488_240, false), "12:00");
        assert_eq!(
            ts_short(&Some(1_709_294_403_000_000_000)),
            "2024-03-01 12:00"
        );
        assert_eq!(minute_label(28_488_240, true), "2024-03-01 12:00");
        assert_eq!(ts_short(&None), "never");
        assert_eq!(iso("2026-12-06T09:03:47.921Z"), "2026-12-06 09:03:47 UTC");
        assert_eq!(iso("x"), "x");
        assert_eq!(iso_date(&Some("2034-01-01T00:00:00Z".into())), "2034-01-01");
        assert_eq!(iso_date(&None), "–");
    }
}
