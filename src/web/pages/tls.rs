//! The TLS page (`GET /tls`, `templates/tls.html`): encrypted services from their TLS
//! handshakes (no keys): key figures, the services table, the certificate expiry timeline, the
//! version and cipher-suite mixes and what is weak in them.
//!
//! It also holds what the TLS service page and the hosts' TLS blocks (endpoint list filtered by
//! host, endpoint page) share: weaknesses of versions and cipher suites by name
//! ([`version_weakness`], [`cipher_weaknesses`]: the stored rows carry names, the numeric
//! classification is `crate::tls::names`), certificate states ([`CertView`]), a service ready
//! to show ([`ServiceView`]) and the services of an HTTP host ([`host_services`]).

use super::{Chrome, Kpi, chrome, kpi, render};
use crate::store::tls::TlsServiceRow;
use crate::tls::names::{self, Weakness};
use crate::web::charts::{self, Bar, CertMark, Svg};
use crate::web::fmt;
use crate::web::{AppError, AppState, Session};
use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::response::Response;
use std::collections::{BTreeMap, BTreeSet};

/// Certificates that expire within this many days are flagged.
pub const EXPIRY_WARN_DAYS: i64 = 30;

const DAY: i64 = 86_400;

/// The weakness of a version by its stored name (`SSL 3.0`, `TLS 1.0`, `TLS 1.1`, ...).
pub fn version_weakness(name: &str) -> Option<Weakness> {
    match name.trim() {
        "SSL 2.0" => Some(Weakness::Ssl2),
        "SSL 3.0" => Some(Weakness::Ssl3),
        "TLS 1.0" => Some(Weakness::Tls10),
        "TLS 1.1" => Some(Weakness::Tls11),
        _ => None,
    }
}

/// The weaknesses of a cipher suite by its stored name: the IANA table's classification when
/// the name is in it, otherwise by the words of the name (NULL, EXPORT, anon, RC4, RC2, DES,
/// 3DES, MD5, CBC with SHA-1).
pub fn cipher_weaknesses(name: &str) -> Vec<Weakness> {
    if let Some(c) = tls_parser::TlsCipherSuite::from_name(name) {
        return names::cipher_weaknesses(c.id.0);
    }
    let n = name.to_ascii_uppercase();
    let mut out = Vec::new();
    if n.contains("NULL") {
        out.push(Weakness::NullCipher);
    }
    if n.contains("EXPORT") {
        out.push(Weakness::Export);
    }
    if n.contains("_ANON_") {
        out.push(Weakness::Anonymous);
    }
    if n.contains("RC4") {
        out.push(Weakness::Rc4);
    }
    if n.contains("3DES") || n.contains("DES_EDE") {
        out.push(Weakness::TripleDes);
    } else if n.contains("DES") {
        out.push(Weakness::Des);
    }
    if n.contains("RC2") {
        out.push(Weakness::Rc2);
    }
    if n.ends_with("_MD5") {
        out.push(Weakness::Md5Mac);
    }
    if n.contains("CBC") && n.ends_with("_SHA") {
        out.push(Weakness::CbcSha1);
    }
    out
}

/// What is weak about a version or cipher suite, in words (`""`: nothing).
pub fn weak_words(w: &[Weakness]) -> String {
    w.iter()
        .map(|w| w.describe())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Seconds since the epoch of an ISO 8601 time as the views store it
/// (`2034-01-01T00:00:00Z`, fractions ignored).
pub fn iso_secs(s: &str) -> Option<i64> {
    let n = |a: usize, b: usize| s.get(a..b).and_then(|x| x.parse::<i64>().ok());
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' {
        return None;
    }
    let (y, m, d) = (n(0, 4)?, n(5, 7)?, n(8, 10)?);
    let (hh, mm, ss) = (n(11, 13)?, n(14, 16)?, n(17, 19)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    Some(crate::time::days_from_civil(y, m as u32, d as u32) * DAY + hh * 3600 + mm * 60 + ss)
}

/// A length of time in days, months or years: `12 days`, `3 months`, `5.9 years`.
fn span(secs: i64) -> String {
    let days = secs.abs() / DAY;
    if days < 1 {
        "less than a day".into()
    } else if days == 1 {
        "1 day".into()
    } else if days < 60 {
        format!("{days} days")
    } else if days < 730 {
        format!("{} months", days / 30)
    } else {
        format!("{:.1} years", days as f64 / 365.25)
    }
}

/// A server certificate, ready to show.
pub struct CertView {
    /// Subject.
    pub subject: String,
    /// The subject's common name (or the whole subject, or the first name).
    pub name: String,
    /// Issuer.
    pub issuer: String,
    /// The issuer's common name (or the whole issuer).
    pub issuer_name: String,
    /// Names (subjectAltName).
    pub sans: Vec<String>,
    /// Key type and size.
    pub key: String,
    /// Start of validity (`2024-01-01`).
    pub not_before: String,
    /// End of validity.
    pub not_after: String,
    /// Start of validity, seconds since the epoch.
    pub nb: Option<i64>,
    /// End of validity, seconds since the epoch.
    pub na: Option<i64>,
    /// `valid`, `expiring` (within [`EXPIRY_WARN_DAYS`]), `expired`, `notyet`, `unknown`.
    pub state: &'static str,
    /// The state in words: `expired 5.9 years ago`, `expires in 12 days`, ...
    pub status: String,
    /// Self-signed.
    pub self_signed: bool,
    /// The client asked for a name (SNI) the certificate does not carry.
    pub name_mismatch: bool,
}

impl CertView {
    /// Expired.
    pub fn expired(&self) -> bool {
        self.state == "expired"
    }

    /// Expires within [`EXPIRY_WARN_DAYS`].
    pub fn expiring(&self) -> bool {
        self.state == "expiring"
    }
}

fn common_name(subject: &str) -> Option<String> {
    subject
        .split([',', '+'])
        .map(str::trim)
        .find_map(|p| p.strip_prefix("CN="))
        .filter(|cn| !cn.is_empty())
        .map(String::from)
}

/// Whether a certificate name (`api.example.com`, `*.example.com`) covers `host`.
fn name_covers(name: &str, host: &str) -> bool {
    let (name, host) = (name.to_ascii_lowercase(), host.to_ascii_lowercase());
    match name.strip_prefix("*.") {
        Some(base) => host
            .split_once('.')
            .is_some_and(|(label, rest)| !label.is_empty() && rest == base),
        None => name == host,
    }
}

/// The certificate of a service, if one was seen; states relative to `now` (seconds).
pub fn cert_view(s: &TlsServiceRow, now: i64) -> Option<CertView> {
    let subject = s.cert_subject.clone()?;
    let nb = s.cert_not_before.as_deref().and_then(iso_secs);
    let na = s.cert_not_after.as_deref().and_then(iso_secs);
    let (state, status) = match (nb, na) {
        (_, Some(a)) if a < now => ("expired", format!("expired {} ago", span(now - a))),
        (Some(b), _) if b > now => ("notyet", format!("not valid for {}", span(b - now))),
        (_, Some(a)) if a - now <= EXPIRY_WARN_DAYS * DAY => {
            ("expiring", format!("expires in {}", span(a - now)))
        }
        (_, Some(a)) => ("valid", format!("valid for {}", span(a - now))),
        _ => ("unknown", "validity unknown".into()),
    };
    let cn = common_name(&subject);
    let covered = s.cert_sans.iter().any(|n| name_covers(n, &s.sni))
        || (s.cert_sans.is_empty() && cn.as_deref().is_some_and(|n| name_covers(n, &s.sni)));
    let name_mismatch = !s.sni.is_empty() && !covered;
    let issuer = s.cert_issuer.clone().unwrap_or_default();
    Some(CertView {
        name: cn
            .or_else(|| s.cert_sans.first().cloned())
            .unwrap_or_else(|| subject.clone()),
        subject,
        issuer_name: common_name(&issuer).unwrap_or_else(|| issuer.clone()),
        issuer,
        sans: s.cert_sans.clone(),
        key: s.cert_key.clone().unwrap_or_default(),
        not_before: fmt::iso_date(&s.cert_not_before),
        not_after: fmt::iso_date(&s.cert_not_after),
        nb,
        na,
        state,
        status,
        self_signed: s.cert_self_signed == Some(true),
        name_mismatch,
    })
}

/// A name with how many handshakes used it and what is weak about it.
pub struct MixItem {
    /// Version or cipher-suite name (or ALPN protocol).
    pub name: String,
    /// Handshakes.
    pub count: i64,
    /// What is weak about it, in words (`""`: nothing).
    pub weak: String,
}

/// A counted map, busiest first, with weaknesses from `weak`.
fn mix(m: &BTreeMap<String, i64>, weak: impl Fn(&str) -> String) -> Vec<MixItem> {
    let mut v: Vec<MixItem> = m
        .iter()
        .map(|(k, n)| MixItem {
            name: k.clone(),
            count: *n,
            weak: weak(k),
        })
        .collect();
    v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    v
}

fn version_words(name: &str) -> String {
    version_weakness(name)
        .map(|w| w.describe().to_string())
        .unwrap_or_default()
}

fn cipher_words(name: &str) -> String {
    weak_words(&cipher_weaknesses(name))
}

/// An encrypted service, ready to show.
pub struct ServiceView {
    /// The row.
    pub s: TlsServiceRow,
    /// Its page.
    pub href: String,
    /// `address:port` (`[v6]:port`).
    pub server: String,
    /// What is weak about the latest version (`""`: nothing).
    pub version_weak: String,
    /// What is weak about the latest cipher suite (`""`: nothing).
    pub cipher_weak: String,
    /// Versions negotiated, busiest first.
    pub versions: Vec<MixItem>,
    /// Cipher suites chosen, busiest first.
    pub ciphers: Vec<MixItem>,
    /// Some handshake negotiated a weak version.
    pub legacy: bool,
    /// Some handshake chose a weak cipher suite.
    pub weak_suite: bool,
    /// ALPN protocols selected, busiest first.
    pub alpn: Vec<String>,
    /// The certificate, when one was seen.
    pub cert: Option<CertView>,
}

/// A service row ready to show, certificate states relative to `now` (seconds).
pub fn service_view(s: TlsServiceRow, now: i64) -> ServiceView {
    let versions = mix(&s.versions, version_words);
    let ciphers = mix(&s.ciphers, cipher_words);
    ServiceView {
        href: format!("/tls/{}", s.id),
        server: if s.server_ip.contains(':') {
            format!("[{}]:{}", s.server_ip, s.server_port)
        } else {
            format!("{}:{}", s.server_ip, s.server_port)
        },
        version_weak: s.version.as_deref().map(version_words).unwrap_or_default(),
        cipher_weak: s.cipher.as_deref().map(cipher_words).unwrap_or_default(),
        legacy: versions.iter().any(|v| !v.weak.is_empty())
            || s.version.as_deref().and_then(version_weakness).is_some(),
        weak_suite: ciphers.iter().any(|c| !c.weak.is_empty())
            || s.cipher
                .as_deref()
                .is_some_and(|c| !cipher_words(c).is_empty()),
        alpn: mix(&s.alpn_selected, |_| String::new())
            .into_iter()
            .map(|m| m.name)
            .collect(),
        cert: cert_view(&s, now),
        versions,
        ciphers,
        s,
    }
}

/// Now, in seconds since the epoch.
pub fn now_secs() -> i64 {
    crate::time::Timestamp::now().secs()
}

/// The TLS host name of an HTTP host: lower case, without port or brackets
/// (`API.example.com:8443` → `api.example.com`, `[::1]:8080` → `::1`).
pub fn tls_host(http_host: &str) -> String {
    let h = http_host.trim();
    let h = if let Some(rest) = h.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else if h.matches(':').count() == 1 {
        h.split(':').next().unwrap_or(h)
    } else {
        h
    };
    h.to_ascii_lowercase()
}

/// The encrypted services of an HTTP host (the TLS block of the endpoint pages).
pub async fn host_services(
    state: &AppState,
    http_host: &str,
) -> Result<Vec<ServiceView>, AppError> {
    let host = tls_host(http_host);
    if host.is_empty() {
        return Ok(Vec::new());
    }
    let now = now_secs();
    Ok(state
        .dash()
        .tls_services(Some(&host))
        .await?
        .into_iter()
        .map(|s| service_view(s, now))
        .collect())
}

/// A weak version or cipher suite some service negotiated.
pub struct WeakItem {
    /// The service's page.
    pub href: String,
    /// The service's host.
    pub host: String,
    /// Its `address:port`.
    pub server: String,
    /// `version` or `cipher suite`.
    pub what: &'static str,
    /// The version or cipher-suite name.
    pub name: String,
    /// What is weak about it.
    pub why: String,
    /// Handshakes that used it.
    pub count: i64,
}

#[derive(Template)]
#[template(path = "tls.html")]
struct TlsPage {
    chrome: Chrome,
    services: Vec<ServiceView>,
    kpis: Vec<Kpi>,
    window: String,
    timeline: Svg,
    certs: usize,
    versions: Svg,
    ciphers: Svg,
    weak: Vec<WeakItem>,
}

fn sum_mix<'a>(maps: impl Iterator<Item = &'a BTreeMap<String, i64>>) -> Vec<(String, i64)> {
    let mut all: BTreeMap<String, i64> = BTreeMap::new();
    for m in maps {
        for (k, v) in m {
            *all.entry(k.clone()).or_default() += v;
        }
    }
    all.into_iter().collect()
}

/// The certificates of the services, one mark each (services presenting the same certificate
/// share it), soonest expiry first.
fn cert_marks(services: &[ServiceView]) -> Vec<CertMark> {
    // (not after, not before, subject, issuer, key) → (first service, services presenting it)
    type CertKey = (i64, i64, String, String, String);
    let mut by_cert: BTreeMap<CertKey, (usize, Vec<String>)> = BTreeMap::new();
    for (i, v) in services.iter().enumerate() {
        let Some(c) = &v.cert else { continue };
        let (Some(nb), Some(na)) = (c.nb, c.na) else {
            continue;
        };
        by_cert
            .entry((na, nb, c.subject.clone(), c.issuer.clone(), c.key.clone()))
            .or_insert_with(|| (i, Vec::new()))
            .1
            .push(format!("{} ({})", v.s.host, v.server));
    }
    by_cert
        .into_values()
        .map(|(i, used)| {
            let v = &services[i];
            let c = v.cert.as_ref().expect("a certificate");
            let end = match c.state {
                "expired" => format!("expired {}", c.not_after),
                "expiring" => format!("{} · soon", c.not_after),
                "notyet" => format!("from {}", c.not_before),
                _ => c.not_after.clone(),
            };
            CertMark {
                label: c.name.clone(),
                title: format!(
                    "{}\nissuer {}\nvalid {} → {} ({}){}\nserved by {}",
                    c.subject,
                    c.issuer,
                    c.not_before,
                    c.not_after,
                    c.status,
                    if c.self_signed { ", self-signed" } else { "" },
                    used.join(", ")
                ),
                not_before: c.nb.unwrap_or_default(),
                not_after: c.na.unwrap_or_default(),
                state: match c.state {
                    "expired" => "expired",
                    "expiring" => "expiring",
                    "notyet" => "notyet",
                    _ => "valid",
                },
                end,
                href: Some(v.href.clone()),
            }
        })
        .collect()
}

/// `GET /tls`.
pub async fn tls(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> Result<Response, AppError> {
    let rows = state
        .dash()
        .tls_services_in(None, &session.range.window)
        .await?;
    let clients = state.dash().tls_clients(None).await?;
    let now = now_secs();
    let window = match (
        rows.iter().map(|s| s.first_seen.as_str()).min(),
        rows.iter().map(|s| s.last_seen.as_str()).max(),
    ) {
        (Some(a), Some(b)) => format!("{} → {}", fmt::iso(a), fmt::iso(b)),
        _ => String::new(),
    };
    let services: Vec<ServiceView> = rows.into_iter().map(|s| service_view(s, now)).collect();
    let hosts: BTreeSet<&str> = services.iter().map(|v| v.s.host.as_str()).collect();
    let handshakes: i64 = services.iter().map(|v| v.s.handshakes).sum();
    let resumed: i64 = services.iter().map(|v| v.s.resumed).sum();
    let incomplete: i64 = services.iter().map(|v| v.s.incomplete).sum();
    let client_addrs: BTreeSet<&str> = clients.iter().map(|c| c.client.as_str()).collect();
    let ja4s: BTreeSet<&str> = clients
        .iter()
        .map(|c| c.ja4.as_str())
        .filter(|j| !j.is_empty())
        .collect();
    let legacy = services.iter().filter(|v| v.legacy).count() as i64;
    let weak_suites = services.iter().filter(|v| v.weak_suite).count() as i64;
    let certs: Vec<&CertView> = services.iter().filter_map(|v| v.cert.as_ref()).collect();
    let expired = certs.iter().filter(|c| c.expired()).count() as i64;
    let expiring = certs.iter().filter(|c| c.expiring()).count() as i64;
    let self_signed = certs.iter().filter(|c| c.self_signed).count() as i64;
    let n = services.len() as i64;
    let kpis = vec![
        kpi(
            "Services",
            fmt::num(&n),
            format!(
                "on {} {}",
                fmt::num(&(hosts.len() as i64)),
                if hosts.len() == 1 { "host" } else { "hosts" }
            ),
        ),
        kpi(
            "Handshakes",
            fmt::num(&handshakes),
            format!(
                "{} resumed, {} incomplete",
                fmt::num(&resumed),
                fmt::num(&incomplete)
            ),
        ),
        kpi(
            "Clients",
            fmt::num(&(client_addrs.len() as i64)),
            "distinct addresses".into(),
        ),
        kpi(
            "JA4",
            fmt::num(&(ja4s.len() as i64)),
            "distinct client TLS stacks".into(),
        ),
        Kpi {
            tone: if legacy > 0 { "bad" } else { "good" },
            ..kpi(
                "Legacy versions",
                fmt::num(&legacy),
                "services with SSL 3.0, TLS 1.0 or 1.1".into(),
            )
        },
        Kpi {
            tone: if weak_suites > 0 { "warn" } else { "good" },
            ..kpi(
                "Weak suites",
                fmt::num(&weak_suites),
                "services with a weak cipher suite".into(),
            )
        },
        Kpi {
            tone: if expired > 0 {
                "bad"
            } else if expiring > 0 {
                "warn"
            } else {
                ""
            },
            ..kpi(
                "Certificates",
                fmt::num(&(expired + expiring)),
                format!(
                    "{} expired, {} within {EXPIRY_WARN_DAYS} days, {} self-signed",
                    fmt::num(&expired),
                    fmt::num(&expiring),
                    fmt::num(&self_signed)
                ),
            )
        },
    ];
    let mut versions = sum_mix(services.iter().map(|v| &v.s.versions));
    versions.sort_by(|a, b| b.0.cmp(&a.0));
    let version_bars: Vec<Bar> = versions
        .into_iter()
        .map(|(k, n)| Bar {
            class: if version_weakness(&k).is_some() {
                "weak"
            } else if k == "TLS 1.3" {
                "v13"
            } else {
                "tls"
            },
            label: k,
            value: n,
            href: None,
        })
        .collect();
    let mut ciphers = sum_mix(services.iter().map(|v| &v.s.ciphers));
    ciphers.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let cipher_bars: Vec<Bar> = ciphers
        .into_iter()
        .map(|(k, n)| Bar {
            class: if cipher_weaknesses(&k).is_empty() {
                "tls"
            } else {
                "weak"
            },
            label: k,
            value: n,
            href: None,
        })
        .collect();
    let mut weak = Vec::new();
    for v in &services {
        let items = v
            .versions
            .iter()
            .map(|m| ("version", m))
            .chain(v.ciphers.iter().map(|m| ("cipher suite", m)));
        for (what, m) in items.filter(|(_, m)| !m.weak.is_empty()) {
            weak.push(WeakItem {
                href: v.href.clone(),
                host: v.s.host.clone(),
                server: v.server.clone(),
                what,
                name: m.name.clone(),
                why: m.weak.clone(),
                count: m.count,
            });
        }
    }
    let marks = cert_marks(&services);
    let page = TlsPage {
        chrome: chrome(&state, &session, "/tls"),
        kpis,
        window,
        timeline: charts::responsive(
            charts::cert_timeline(&marks, now, 1400),
            charts::cert_timeline(&marks, now, charts::NARROW),
        ),
        certs: marks.len(),
        versions: charts::responsive(
            charts::hbars(&version_bars, 680),
            charts::hbars(&version_bars, charts::NARROW),
        ),
        ciphers: charts::responsive(
            charts::hbars_labelled(&cipher_bars, 1400, 400),
            charts::hbars_labelled(&cipher_bars, charts::NARROW, 190),
        ),
        weak,
        services,
    };
    render(&page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weaknesses_by_name() {
        assert_eq!(version_weakness("TLS 1.0"), Some(Weakness::Tls10));
        assert_eq!(version_weakness("TLS 1.1"), Some(Weakness::Tls11));
        assert_eq!(version_weakness("SSL 3.0"), Some(Weakness::Ssl3));
        assert_eq!(version_weakness("TLS 1.2"), None);
        assert_eq!(version_weakness("TLS 1.3"), None);
        // Known names: the IANA table's classification.
        assert!(cipher_weaknesses("TLS_AES_128_GCM_SHA256").is_empty());
        assert!(cipher_weaknesses("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384").is_empty());
        assert!(cipher_weaknesses("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256").is_empty());
        assert_eq!(
            cipher_weaknesses("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"),
            [Weakness::CbcSha1]
        );
        assert_eq!(
            cipher_weaknesses("TLS_RSA_WITH_3DES_EDE_CBC_SHA"),
            [Weakness::TripleDes, Weakness::CbcSha1]
        );
        assert_eq!(
            cipher_weaknesses("TLS_RSA_WITH_RC4_128_MD5"),
            [Weakness::Rc4, Weakness::Md5Mac]
        );
        assert!(
            cipher_weaknesses("TLS_DH_anon_WITH_AES_128_CBC_SHA").contains(&Weakness::Anonymous)
        );
        assert!(cipher_weaknesses("TLS_RSA_WITH_NULL_SHA").contains(&Weakness::NullCipher));
        // Unknown names: by their words.
        assert_eq!(
            cipher_weaknesses("SSL_RSA_EXPORT_WITH_RC4_40_MD5"),
            [Weakness::Export, Weakness::Rc4, Weakness::Md5Mac]
        );
        assert_eq!(
            cipher_weaknesses("X_DES_CBC_SHA"),
            [Weakness::Des, Weakness::CbcSha1]
        );
        assert!(cipher_weaknesses("0x1a2b").is_empty());
        assert!(cipher_weaknesses("<script>").is_empty());
    }

    #[test]
    fn times_and_hosts() {
        assert_eq!(iso_secs("1970-01-02T00:00:01Z"), Some(86_401));
        assert_eq!(iso_secs("2021-01-01T00:00:00Z"), Some(1_609_459_200));
        assert_eq!(iso_secs("2026-12-06T09:03:47.921Z"), Some(1_796_547_827));
        assert_eq!(iso_secs("garbage"), None);
        assert_eq!(iso_secs("2021-13-01T00:00:00Z"), None);
        assert_eq!(tls_host("API.tls.test:8443"), "api.tls.test");
        assert_eq!(tls_host("api.tls.test"), "api.tls.test");
        assert_eq!(tls_host("[::1]:8080"), "::1");
        assert_eq!(tls_host("::1"), "::1");
        assert_eq!(span(3 * DAY), "3 days");
        assert_eq!(span(6 * 365 * DAY), "6.0 years");
        assert_eq!(
            common_name("O=shadowtap captures, CN=api.tls.test").as_deref(),
            Some("api.tls.test")
        );
        assert_eq!(
            common_name("CN=<script>alert(7)</script>").as_deref(),
            Some("<script>alert(7)</script>")
        );
        assert_eq!(common_name("O=x"), None);
    }

    fn row(not_before: &str, not_after: &str) -> TlsServiceRow {
        TlsServiceRow {
            id: 7,
            host: "h.test".into(),
            sni: "h.test".into(),
            server_ip: "::1".into(),
            server_port: 443,
            first_seen: "2026-01-01T00:00:00.000Z".into(),
            last_seen: "2026-01-01T00:00:00.000Z".into(),
            handshakes: 3,
            incomplete: 0,
            resumed: 1,
            client_bytes: 0,
            server_bytes: 0,
            client_count: 1,
            ja4_count: 1,
            version: Some("TLS 1.1".into()),
            cipher: Some("TLS_RSA_WITH_AES_128_CBC_SHA".into()),
            versions: [("TLS 1.1".to_string(), 2), ("TLS 1.2".to_string(), 1)].into(),
            ciphers: [("TLS_RSA_WITH_AES_128_CBC_SHA".to_string(), 3)].into(),
            alpn_offered: BTreeMap::new(),
            alpn_selected: [("h2".to_string(), 3)].into(),
            cert_subject: Some("CN=h.test".into()),
            cert_issuer: Some("CN=h.test".into()),
            cert_sans: vec!["h.test".into()],
            cert_not_before: Some(not_before.into()),
            cert_not_after: Some(not_after.into()),
            cert_key: Some("rsa 2048".into()),
            cert_self_signed: Some(true),
        }
    }

    #[test]
    fn certificate_states() {
        let now = iso_secs("2026-12-06T00:00:00Z").unwrap();
        let state = |nb: &str, na: &str| cert_view(&row(nb, na), now).unwrap().state;
        assert_eq!(
            state("2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z"),
            "expired"
        );
        assert_eq!(
            state("2026-01-01T00:00:00Z", "2026-12-20T00:00:00Z"),
            "expiring"
        );
        assert_eq!(
            state("2024-01-01T00:00:00Z", "2034-01-01T00:00:00Z"),
            "valid"
        );
        assert_eq!(
            state("2027-01-01T00:00:00Z", "2034-01-01T00:00:00Z"),
            "notyet"
        );
        let v = service_view(row("2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z"), now);
        assert_eq!(v.server, "[::1]:443");
        assert!(v.legacy && v.weak_suite);
        assert!(v.version_weak.contains("RFC 8996"));
        assert!(v.cipher_weak.contains("CBC"));
        let c = v.cert.as_ref().unwrap();
        assert!(c.self_signed && c.expired());
        assert_eq!(c.status, "expired 5.9 years ago");
        assert_eq!(c.name, "h.test");
        assert!(!c.name_mismatch);
        let mut other = row("2024-01-01T00:00:00Z", "2034-01-01T00:00:00Z");
        other.sni = "shop.test".into();
        other.cert_sans = vec!["www.other.test".into(), "*.h.test".into()];
        assert!(cert_view(&other, now).unwrap().name_mismatch);
        other.sni = "a.h.test".into();
        assert!(!cert_view(&other, now).unwrap().name_mismatch);
        other.sni = "a.b.h.test".into();
        assert!(cert_view(&other, now).unwrap().name_mismatch);
        let marks = cert_marks(&[v]);
        assert_eq!(marks.len(), 1);
        assert_eq!(marks[0].state, "expired");
        assert_eq!(marks[0].end, "expired 2021-01-01");
    }
}
