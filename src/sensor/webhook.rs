//! The webhook client: alerts POSTed as JSON to an `http://` or `https://` URL, over `ureq`
//! (blocking HTTP/1.1) with rustls (the `ring` provider).
//!
//! What it owns: the webhook URL ([`WebhookUrl`]: parsed with the `url` crate and checked when
//! the configuration is read), the TLS trust setup ([`tls_client`], [`load_ca_file`]), one POST
//! ([`post_json`]) and the delivery thread with its retries ([`webhook_loop`]). What it may not
//! touch: which alerts exist, their deduplication and rate limits (that is
//! [`super::alerts`], which hands it [`Delivery`]s over a bounded queue), or the store.
//!
//! Guarantees, each tested:
//!
//! - An `https://` server's certificate chain is verified against the system trust store
//!   (`rustls-native-certs`: on Debian `/etc/ssl/certs/ca-certificates.crt` and
//!   `/etc/ssl/certs`, or `SSL_CERT_FILE`) or, when `webhook_ca_file` is set, against that PEM
//!   bundle alone, and must be valid for the URL's host (an IP address in the URL must be an IP
//!   address entry of the certificate). Verification cannot be turned off. The request, and so
//!   its bearer token, is written only after the handshake, and so the verification, succeeded;
//!   a certificate failure is not retried.
//! - URLs with another scheme, credentials (`user:pass@`), no host, control characters or
//!   spaces are refused when the configuration is read. Messages and logs name the URL by
//!   [`WebhookUrl::for_log`] (scheme, host and port) at most: the path and query can hold a
//!   secret, and the token never appears in a message.
//! - Redirects are not followed (a redirect could take the token to another host) and count as
//!   a failed delivery; no proxy from the environment is used; one connection per POST.
//! - `timeout` bounds the connection and the whole exchange. The answer's head is read up to
//!   [`MAX_ANSWER_HEAD`] bytes and its body not at all: a receiver cannot make the sensor hold
//!   or wait for an unbounded answer.
//! - A 2xx answer is success; a redirect, or a 4xx other than 429, is not retried; a 5xx, a
//!   429, a timeout or a connection error is retried ([`ATTEMPTS`] tries in all, waiting 1 s
//!   then 2 s).

use super::metrics::SensorMetrics;
use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::Receiver;
use std::time::Duration;
use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};

/// Tries per delivery.
pub const ATTEMPTS: u32 = 3;
/// The largest answer head (status line and headers) read; the body is never read.
pub const MAX_ANSWER_HEAD: usize = 16 << 10;

/// A checked `http://host[:port]/path` or `https://host[:port]/path` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookUrl {
    /// `https://`: TLS, with the certificate verified for `host`.
    pub tls: bool,
    /// Host name (lower case, IDNA) or address (IPv6 without brackets).
    pub host: String,
    /// Port (80, or 443 for `https://`, when absent).
    pub port: u16,
    /// Path and query, starting with `/` (percent-encoded as the URL standard says).
    pub path: String,
    /// The whole URL, normalised, without fragment: what the request is made to.
    target: String,
}

impl WebhookUrl {
    /// The URL for logs: scheme, host and port only. The path and query stay out, because some
    /// receivers (Slack-style incoming webhooks) put their secret there.
    pub fn for_log(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}/…", self.authority())
    }

    /// `host:port` (an IPv6 address in brackets).
    fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The `Host` header: the port only when it is not the scheme's.
    fn host_header(&self) -> String {
        if self.port == if self.tls { 443 } else { 80 } {
            if self.host.contains(':') {
                format!("[{}]", self.host)
            } else {
                self.host.clone()
            }
        } else {
            self.authority()
        }
    }
}

impl std::str::FromStr for WebhookUrl {
    type Err = String;
    /// Messages name the setting and at most the host: never the path, query or credentials.
    fn from_str(s: &str) -> Result<WebhookUrl, String> {
        let t = s.trim();
        let bad = |why: &str| format!("webhook_url: {why}");
        // The scheme as written, in lower case (the URL standard would take `HTTPS:` too).
        let (tls, rest) = if let Some(rest) = t.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = t.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err(bad("expected an http:// or https:// URL"));
        };
        if t.chars().any(|c| c.is_control() || c == ' ') {
            return Err(bad("invalid characters (control characters or spaces)"));
        }
        // The authority as written: the URL standard skips extra slashes (`http:///x` would
        // be host `x`) and reads `\` as `/`, so both are checked on the text itself.
        let authority = rest.split(['/', '?', '#', '\\']).next().unwrap_or_default();
        if authority.contains('@') {
            return Err(bad(
                "credentials in the URL are not supported (use webhook_token_file)",
            ));
        }
        if authority.is_empty() {
            return Err(bad("no host"));
        }
        let mut url = url::Url::parse(t).map_err(|e| bad(&e.to_string()))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad(
                "credentials in the URL are not supported (use webhook_token_file)",
            ));
        }
        let host = match url.host() {
            Some(url::Host::Domain(d)) if !d.is_empty() => d.to_string(),
            Some(url::Host::Ipv4(a)) => a.to_string(),
            Some(url::Host::Ipv6(a)) => a.to_string(),
            _ => return Err(bad("no host")),
        };
        // The name the certificate must hold (an IP address is checked as one).
        if tls && ServerName::try_from(host.as_str()).is_err() {
            return Err(bad(&format!(
                "{host:?} is neither a DNS name nor an IP address"
            )));
        }
        let port = url.port_or_known_default().ok_or_else(|| bad("no port"))?;
        // Not sent over HTTP.
        url.set_fragment(None);
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
        let target = String::from(url);
        // What the request is built from must take it, now rather than at the first alert.
        if ureq::http::Uri::try_from(target.as_str()).is_err() {
            return Err(bad(
                "the path or query holds characters a request cannot carry",
            ));
        }
        Ok(WebhookUrl {
            tls,
            host,
            port,
            path,
            target,
        })
    }
}

/// A bearer token must fit in a header: no control character (a line break would end it).
/// The message does not quote the token.
pub fn check_token(token: &str) -> Result<(), String> {
    if token.chars().any(char::is_control) {
        return Err("the token holds a control character or line break".into());
    }
    Ok(())
}

/// The TLS settings of `https://` deliveries: the trusted roots and the `ring` provider, with
/// verification on (there is no way to turn it off).
#[derive(Clone, Debug)]
pub struct WebhookTls(TlsConfig);

/// The TLS client for an `https://` webhook, or why there is none (logged when it was built,
/// and given as the reason of every failed delivery).
pub type Tls = Result<WebhookTls, String>;

/// A rustls client (ring provider, TLS 1.2 and 1.3, no client certificate) trusting the CAs of
/// `ca_file` (PEM) when given, else those of the system store; with the number of roots.
pub fn tls_client(ca_file: Option<&Path>) -> Result<(WebhookTls, usize), String> {
    // Each root is checked by rustls here, so that what ureq is handed all counts.
    let mut roots = RootCertStore::empty();
    let mut trusted = Vec::new();
    match ca_file {
        Some(path) => {
            for cert in load_ca_file(path)? {
                roots.add(cert.clone()).map_err(|e| {
                    format!(
                        "webhook_ca_file {}: a certificate is not usable as a CA: {e}",
                        path.display()
                    )
                })?;
                trusted.push(Certificate::from_der(&cert).to_owned());
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            // Files that do not parse are skipped as long as some roots are found: a system
            // store often holds a few odd files.
            for cert in found.certs {
                if roots.add(cert.clone()).is_ok() {
                    trusted.push(Certificate::from_der(&cert).to_owned());
                }
            }
            if trusted.is_empty() {
                return Err(match found.errors.first() {
                    Some(e) => format!("no CA certificates in the system trust store ({e})"),
                    None => "no CA certificates in the system trust store (install ca-certificates, or set webhook_ca_file)".into(),
                });
            }
        }
    }
    let config = TlsConfig::builder()
        .provider(TlsProvider::Rustls)
        .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .root_certs(RootCerts::Specific(Arc::new(trusted)))
        .build();
    Ok((WebhookTls(config), roots.len()))
}

/// The certificates of a PEM bundle (other PEM sections are skipped); at least one.
pub fn load_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let what = |e: &dyn std::fmt::Display| format!("webhook_ca_file {}: {e}", path.display());
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| what(&e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| what(&e))?;
    if certs.is_empty() {
        return Err(what(&"no CERTIFICATE in the file (PEM expected)"));
    }
    Ok(certs)
}

/// The TLS client for `webhook` when it is `https://`, trusting `ca_file` or the system store;
/// the outcome is logged.
pub(super) fn tls_for(webhook: Option<&WebhookUrl>, ca_file: Option<&Path>) -> Option<Tls> {
    if !webhook.is_some_and(|u| u.tls) {
        return None;
    }
    let source = ca_file.map_or_else(
        || "the system trust store".to_string(),
        |p| p.display().to_string(),
    );
    Some(match tls_client(ca_file) {
        Ok((config, roots)) => {
            tracing::info!(roots, source, "webhook TLS trust roots loaded");
            Ok(config)
        }
        Err(e) => {
            tracing::error!(
                error = e,
                "webhook TLS trust roots unavailable: https deliveries will fail"
            );
            Err(e)
        }
    })
}

/// Why a POST failed. The reason names the host, address or file concerned, never the token,
/// the path or the query.
#[derive(Debug)]
pub struct PostError {
    /// What went wrong (DNS, connect, TLS handshake, certificate, send, answer).
    pub reason: String,
    /// Trying again will not help (the TLS handshake failed: certificate, name, protocol).
    pub permanent: bool,
}

impl std::fmt::Display for PostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

/// The client of one POST: no redirect, no proxy, no pooled connection, bounded answer head.
fn agent(tls: Option<&WebhookTls>, timeout: Duration) -> ureq::Agent {
    let mut config = ureq::Agent::config_builder()
        // The status is the answer; the retry policy is webhook_loop's.
        .http_status_as_error(false)
        // A redirect is returned as the answer (with 0, ureq neither follows nor errors): the
        // token must not go to wherever the receiver points.
        .max_redirects(0)
        // Not HTTP(S)_PROXY from the environment: the token goes to the URL's host only.
        .proxy(None)
        .max_idle_connections(0)
        .max_idle_connections_per_host(0)
        .max_response_header_size(MAX_ANSWER_HEAD)
        .timeout_connect(Some(timeout))
        .timeout_global(Some(timeout))
        .user_agent(concat!("shadowtap/", env!("CARGO_PKG_VERSION")));
    if let Some(t) = tls {
        config = config.tls_config(t.0.clone());
    }
    config.build().new_agent()
}

/// POSTs `payload` as JSON; returns the answer's status (a redirect is not followed). `tls` is
/// required for `https://` URLs: the request is written only after the handshake verified the
/// server's certificate. `timeout` bounds the whole POST; the answer's body is not read.
pub fn post_json(
    url: &WebhookUrl,
    tls: Option<&WebhookTls>,
    token: Option<&str>,
    payload: &str,
    timeout: Duration,
) -> Result<u16, PostError> {
    if url.tls && tls.is_none() {
        return Err(PostError {
            reason: "https:// without a TLS client".into(),
            permanent: true,
        });
    }
    let agent = agent(if url.tls { tls } else { None }, timeout);
    // Header names keep the usual casing (`header_raw`); `Content-Length` is ureq's.
    let mut request = agent
        .post(url.target.as_str())
        .header_raw("Host", url.host_header().as_bytes())
        .header_raw("Content-Type", b"application/json")
        .header_raw("Connection", b"close");
    if let Some(t) = token {
        request = request.header_raw("Authorization", format!("Bearer {t}").as_bytes());
    }
    match request.send(payload) {
        // The body is dropped unread, and the connection with it.
        Ok(answer) => Ok(answer.status().as_u16()),
        Err(e) => Err(post_error(e, url)),
    }
}

/// Says what failed in words that name the host, never the token, path or query.
fn post_error(e: ureq::Error, url: &WebhookUrl) -> PostError {
    use std::io::ErrorKind as K;
    let at = url.authority();
    let retry = |reason: String| PostError {
        reason,
        permanent: false,
    };
    let tls_failure = |e: &dyn std::fmt::Display| PostError {
        reason: format!("TLS handshake with {}: {e}", url.host),
        permanent: true,
    };
    match e {
        // Errors of rustls itself (certificate, name, protocol) come wrapped in the I/O error
        // of the handshake; they will happen again. Timeouts and resets may not.
        ureq::Error::Io(io) if io.get_ref().is_some_and(|i| i.is::<rustls::Error>()) => {
            tls_failure(&io)
        }
        ureq::Error::Rustls(r) => tls_failure(&r),
        ureq::Error::Tls(why) => tls_failure(&why),
        ureq::Error::Io(io)
            if matches!(
                io.kind(),
                K::ConnectionRefused
                    | K::HostUnreachable
                    | K::NetworkUnreachable
                    | K::AddrNotAvailable
            ) =>
        {
            retry(format!("connecting to {at}: {io}"))
        }
        ureq::Error::ConnectionFailed => retry(format!("connecting to {at}: connection failed")),
        ureq::Error::HostNotFound => retry(format!("resolving {}: host not found", url.host)),
        ureq::Error::Io(io) => retry(format!("{at}: {io}")),
        ureq::Error::Timeout(t) => retry(format!("{at}: timed out ({t})")),
        ureq::Error::LargeResponseHeader(_, limit) => {
            retry(format!("{at}: the answer's head is over {limit} bytes"))
        }
        ureq::Error::Protocol(p) => retry(format!("{at}: not an HTTP answer ({p})")),
        // These would quote the URL.
        ureq::Error::BadUri(_) | ureq::Error::RequireHttpsOnly(_) => PostError {
            reason: format!("{}: the URL is not usable", url.for_log()),
            permanent: true,
        },
        // A token that a header cannot carry, and the like: no retry will change it.
        ureq::Error::Http(h) => PostError {
            reason: format!("building the request: {h}"),
            permanent: true,
        },
        e => retry(format!("{at}: {e}")),
    }
}

/// One POST for the webhook thread.
pub(super) struct Delivery {
    /// The alert.
    pub body: Value,
    /// Where to.
    pub url: WebhookUrl,
    /// Sent as `Authorization: Bearer`.
    pub token: Option<String>,
    /// Bound of one POST.
    pub timeout: Duration,
    /// For `https://` URLs.
    pub tls: Option<Tls>,
}

/// Delivers what `rx` brings until it closes: counted in `webhook_ok` or `webhook_failed`, and
/// a failure logged.
pub(super) fn webhook_loop(rx: Receiver<Delivery>, metrics: Arc<SensorMetrics>) {
    while let Ok(d) = rx.recv() {
        let payload = d.body.to_string();
        let outcome = match &d.tls {
            Some(Err(e)) => Err(e.clone()),
            Some(Ok(config)) => deliver(&d, Some(config), &payload),
            None => deliver(&d, None, &payload),
        };
        match outcome {
            Ok(()) => {
                metrics.webhook_ok.fetch_add(1, Ordering::Relaxed);
            }
            Err(last_err) => {
                metrics.webhook_failed.fetch_add(1, Ordering::Relaxed);
                tracing::error!(
                    url = d.url.for_log(),
                    error = last_err,
                    "webhook delivery failed"
                );
            }
        }
    }
}

/// Up to [`ATTEMPTS`] POSTs of one delivery; why the last one failed.
fn deliver(d: &Delivery, tls: Option<&WebhookTls>, payload: &str) -> Result<(), String> {
    let mut last_err = String::new();
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(500 << attempt));
        }
        match post_json(&d.url, tls, d.token.as_deref(), payload, d.timeout) {
            Ok(status) if (200..300).contains(&status) => return Ok(()),
            // Not followed (it could take the token elsewhere), and the same next time.
            Ok(status) if (300..400).contains(&status) => {
                return Err(format!("HTTP {status} (redirects are not followed)"));
            }
            // A 4xx will not get better by retrying.
            Ok(status) if (400..500).contains(&status) && status != 429 => {
                return Err(format!("HTTP {status}"));
            }
            Ok(status) => last_err = format!("HTTP {status}"),
            Err(e) => {
                // Nor will a certificate that does not verify.
                if e.permanent {
                    return Err(e.reason);
                }
                last_err = e.reason;
            }
        }
    }
    Err(last_err)
}

#[cfg(test)]
mod tests {
    use super::super::alerts::{Alert, AlertKind, AlertSettings, Alerter};
    use super::*;
    use rustls::StreamOwned;
    use serde_json::json;
    use std::io::{BufRead, Read, Write};
    use std::path::PathBuf;
    use std::time::Instant;

    const R: Ordering = Ordering::Relaxed;

    #[test]
    fn parses_webhook_urls() {
        let u: WebhookUrl = "http://127.0.0.1:9000/hook?x=1".parse().unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("127.0.0.1", 9000, "/hook?x=1")
        );
        let u: WebhookUrl = "http://alerts.internal".parse().unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("alerts.internal", 80, "/")
        );
        let u: WebhookUrl = "http://[::1]:8080/a".parse().unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", 8080));
        assert!(!u.tls);
        assert!("http://user:pw@h/x".parse::<WebhookUrl>().is_err());
        assert!("http://h:99999/".parse::<WebhookUrl>().is_err());
        assert!("http:///x".parse::<WebhookUrl>().is_err());
        assert!("ftp://h/".parse::<WebhookUrl>().is_err());
    }

    #[test]
    fn parses_https_webhook_urls() {
        let u: WebhookUrl = "https://hooks.example.com".parse().unwrap();
        assert_eq!(
            (u.tls, u.host.as_str(), u.port, u.path.as_str()),
            (true, "hooks.example.com", 443, "/")
        );
        let u: WebhookUrl = "https://siem.internal:8443/in/shadowtap?src=tap1"
            .parse()
            .unwrap();
        assert_eq!(
            (u.tls, u.host.as_str(), u.port, u.path.as_str()),
            (true, "siem.internal", 8443, "/in/shadowtap?src=tap1")
        );
        let u: WebhookUrl = "https://[::1]/x".parse().unwrap();
        assert_eq!(
            (u.tls, u.host.as_str(), u.port, u.path.as_str()),
            (true, "::1", 443, "/x")
        );
        let u: WebhookUrl = "https://127.0.0.1:9443".parse().unwrap();
        assert_eq!((u.host.as_str(), u.port), ("127.0.0.1", 9443));
        assert!("https://user:pw@h/x".parse::<WebhookUrl>().is_err());
        assert!("https://h:0x1/".parse::<WebhookUrl>().is_err());
        assert!("https:///x".parse::<WebhookUrl>().is_err());
        // Not a name a certificate can hold.
        let err = "https://bad..name/x".parse::<WebhookUrl>().unwrap_err();
        assert!(err.contains("DNS name"), "{err}");
        assert!("HTTPS://h/".parse::<WebhookUrl>().is_err());
    }

    #[test]
    fn failed_posts_are_reported() {
        // A port nobody listens on.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let url: WebhookUrl = format!("http://127.0.0.1:{port}/").parse().unwrap();
        let err = post_json(&url, None, None, "{}", Duration::from_secs(1)).unwrap_err();
        assert!(err.reason.contains("connecting to"), "{err}");
        assert!(!err.permanent);
    }

    type Issuer = rcgen::CertifiedIssuer<'static, rcgen::KeyPair>;

    /// A CA generated for the test.
    fn test_ca(name: &str) -> Issuer {
        let mut params = rcgen::CertificateParams::default();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        rcgen::CertifiedIssuer::self_signed(params, rcgen::KeyPair::generate().unwrap()).unwrap()
    }

    /// A server presenting a certificate for `names` (DNS names or IP addresses) issued by `ca`.
    fn server_config(ca: &Issuer, names: &[&str]) -> Arc<rustls::ServerConfig> {
        let key = rcgen::KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let cert = rcgen::CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &**ca)
            .unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key.into())
        .unwrap();
        Arc::new(config)
    }

    /// `ca`'s certificate in a PEM file, and the client trusting it alone.
    fn trusting(ca: &Issuer) -> (tempfile::TempDir, PathBuf, WebhookTls) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, ca.pem()).unwrap();
        let (client, roots) = tls_client(Some(&path)).unwrap();
        assert_eq!(roots, 1);
        (dir, path, client)
    }

    /// The server end of a test connection: keeps every byte that came over the wire.
    struct Tap {
        sock: std::net::TcpStream,
        raw: Vec<u8>,
    }

    impl Read for Tap {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.sock.read(buf)?;
            self.raw.extend_from_slice(&buf[..n]);
            Ok(n)
        }
    }

    impl Write for Tap {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.sock.write(buf)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            self.sock.flush()
        }
    }

    /// What a test receiver got on one connection.
    struct Received {
        /// Head lines and body of the request, or why there was none.
        request: Result<(Vec<String>, String), String>,
        /// Everything that came over the wire (TLS records).
        raw: Vec<u8>,
    }

    /// Head lines and body of a request, or why there was none.
    type Request = Result<(Vec<String>, String), String>;

    fn read_request(s: impl Read) -> Request {
        let mut r = std::io::BufReader::new(s);
        let mut head = Vec::new();
        let mut len = 0usize;
        loop {
            let mut line = String::new();
            r.read_line(&mut line).map_err(|e| e.to_string())?;
            if line.is_empty() {
                return Err("closed within the head".into());
            }
            if line == "\r\n" {
                break;
            }
            let line = line.trim_end().to_string();
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().map_err(|_| "bad Content-Length")?;
            }
            head.push(line);
        }
        let mut body = vec![0u8; len];
        r.read_exact(&mut body).map_err(|e| e.to_string())?;
        Ok((head, String::from_utf8(body).map_err(|e| e.to_string())?))
    }

    /// A receiver on 127.0.0.1 that hands each connection (blocking, 10 s read timeout) to
    /// `serve`; stops after `most` connections or after `wait`, whichever comes first. Returns
    /// what `serve` made of each.
    fn receiver<T: Send + 'static>(
        most: usize,
        wait: Duration,
        mut serve: impl FnMut(std::net::TcpStream) -> T + Send + 'static,
    ) -> (u16, std::thread::JoinHandle<Vec<T>>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let handle = std::thread::spawn(move || {
            let deadline = Instant::now() + wait;
            let mut got = Vec::new();
            while got.len() < most && Instant::now() < deadline {
                let sock = match listener.accept() {
                    Ok((s, _)) => s,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(10));
                        continue;
                    }
                    Err(e) => panic!("accept: {e}"),
                };
                sock.set_nonblocking(false).unwrap();
                sock.set_read_timeout(Some(Duration::from_secs(10)))
                    .unwrap();
                got.push(serve(sock));
            }
            got
        });
        (port, handle)
    }

    /// A TLS receiver on 127.0.0.1 answering 204; stops after `most` connections or after
    /// `wait`, whichever comes first.
    fn tls_receiver(
        config: Arc<rustls::ServerConfig>,
        most: usize,
        wait: Duration,
    ) -> (u16, std::thread::JoinHandle<Vec<Received>>) {
        receiver(most, wait, move |sock| {
            let conn = rustls::ServerConnection::new(config.clone()).unwrap();
            let mut tls = StreamOwned::new(
                conn,
                Tap {
                    sock,
                    raw: Vec::new(),
                },
            );
            let request = read_request(&mut tls);
            if request.is_ok() {
                tls.write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
                    .unwrap();
                tls.conn.send_close_notify();
                tls.flush().unwrap();
            }
            Received {
                request,
                raw: std::mem::take(&mut tls.sock.raw),
            }
        })
    }

    /// Sends one new-endpoint alert through a fresh alerter and waits up to `secs` for its
    /// delivery; returns the sensor's counters.
    fn alert_once(
        settings: AlertSettings,
        key: &str,
        body: serde_json::Value,
        secs: u64,
    ) -> Arc<SensorMetrics> {
        let metrics = Arc::new(SensorMetrics::new(&[], 1, 1, 1));
        let mut a = Alerter::new(settings, metrics.clone());
        a.emit(Alert {
            kind: AlertKind::NewEndpoint,
            key: key.into(),
            body,
        });
        a.close(Duration::from_secs(secs));
        metrics
    }

    fn holds(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn https_webhook_posts_over_verified_tls() {
        let ca = test_ca("shadowtap test CA");
        let (_dir, ca_file, client) = trusting(&ca);
        let (port, receiver) = tls_receiver(
            server_config(&ca, &["localhost", "127.0.0.1"]),
            2,
            Duration::from_secs(30),
        );
        // By name (SNI and name check: localhost).
        let url: WebhookUrl = format!("https://localhost:{port}/hook?x=1")
            .parse()
            .unwrap();
        let payload = r#"{"type":"new_endpoint","endpoint_id":42}"#;
        let status = post_json(
            &url,
            Some(&client),
            Some("s3cret"),
            payload,
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(status, 204);
        // By address, through the alerter and webhook_ca_file (IP address in the certificate).
        let settings = AlertSettings {
            webhook: Some(format!("https://127.0.0.1:{port}/alerts").parse().unwrap()),
            token: Some("s3cret".into()),
            ca_file: Some(ca_file),
            sensor: "test-sensor".into(),
            ..AlertSettings::default()
        };
        let metrics = alert_once(settings, "7", json!({"host": "h", "endpoint_id": 7}), 20);
        let got = receiver.join().unwrap();
        assert_eq!(got.len(), 2);
        let (head, body) = got[0].request.as_ref().unwrap();
        assert_eq!(head[0], "POST /hook?x=1 HTTP/1.1");
        assert!(
            head.contains(&format!("Host: localhost:{port}")),
            "{head:?}"
        );
        assert!(head.contains(&"Authorization: Bearer s3cret".to_string()));
        assert!(head.contains(&"Content-Type: application/json".to_string()));
        assert_eq!(body, payload);
        let (head, body) = got[1].request.as_ref().unwrap();
        assert_eq!(head[0], "POST /alerts HTTP/1.1");
        assert!(head.contains(&"Authorization: Bearer s3cret".to_string()));
        let v: Value = serde_json::from_str(body).unwrap();
        assert_eq!(
            (&v["type"], &v["sensor"], &v["endpoint_id"]),
            (&json!("new_endpoint"), &json!("test-sensor"), &json!(7))
        );
        assert_eq!(metrics.webhook_ok.load(R), 1);
        assert_eq!(metrics.webhook_failed.load(R), 0);
        // Nothing in clear on the wire.
        for r in &got {
            assert!(!r.raw.is_empty());
            assert!(!holds(&r.raw, b"s3cret") && !holds(&r.raw, b"endpoint_id"));
            assert!(!holds(&r.raw, b"POST /"));
        }
    }

    #[test]
    fn https_webhook_refuses_unverified_servers() {
        let ca = test_ca("shadowtap test CA");
        let (_dir, ca_file, client) = trusting(&ca);
        let payload = r#"{"type":"finding"}"#;
        let wait = Duration::from_secs(30);
        // A certificate from the trusted CA, but for another name.
        let (port, receiver) = tls_receiver(server_config(&ca, &["other.example"]), 1, wait);
        let url: WebhookUrl = format!("https://localhost:{port}/hook").parse().unwrap();
        let err = post_json(
            &url,
            Some(&client),
            Some("s3cret"),
            payload,
            Duration::from_secs(10),
        )
        .unwrap_err();
        assert!(err.permanent, "{err}");
        assert!(
            err.reason.contains("certificate not valid for name"),
            "{err}"
        );
        assert!(err.reason.contains("localhost"), "{err}");
        assert!(!err.reason.contains("s3cret"));
        let got = receiver.join().unwrap();
        assert!(got[0].request.is_err(), "the receiver read a request");
        assert!(!holds(&got[0].raw, b"s3cret"));
        // The right name (and address), from a CA that is not trusted.
        let rogue = test_ca("rogue CA");
        let (port, receiver) =
            tls_receiver(server_config(&rogue, &["localhost", "127.0.0.1"]), 1, wait);
        let url: WebhookUrl = format!("https://127.0.0.1:{port}/hook").parse().unwrap();
        let err = post_json(
            &url,
            Some(&client),
            Some("s3cret"),
            payload,
            Duration::from_secs(10),
        )
        .unwrap_err();
        assert!(err.permanent, "{err}");
        assert!(err.reason.contains("certificate: UnknownIssuer"), "{err}");
        let got = receiver.join().unwrap();
        assert!(got[0].request.is_err(), "the receiver read a request");
        assert!(!holds(&got[0].raw, b"s3cret"));
        // Through the alerter, an impostor CA with the trusted CA's name: counted as failed and
        // not retried (a retry would come after 1 s; the receiver waits 3 s for more).
        let impostor = test_ca("shadowtap test CA");
        let (port, receiver) = tls_receiver(
            server_config(&impostor, &["127.0.0.1"]),
            3,
            Duration::from_secs(3),
        );
        let settings = AlertSettings {
            webhook: Some(format!("https://127.0.0.1:{port}/hook").parse().unwrap()),
            token: Some("s3cret".into()),
            ca_file: Some(ca_file),
            ..AlertSettings::default()
        };
        let metrics = alert_once(settings, "1", json!({"endpoint_id": 1}), 20);
        let got = receiver.join().unwrap();
        assert_eq!(got.len(), 1, "certificate failures are not retried");
        assert!(got[0].request.is_err());
        assert_eq!(metrics.webhook_failed.load(R), 1);
        assert_eq!(metrics.webhook_ok.load(R), 0);
    }

    #[test]
    fn https_without_a_tls_client_does_not_connect() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let url: WebhookUrl = format!("https://127.0.0.1:{port}/x").parse().unwrap();
        let err = post_json(&url, None, Some("s3cret"), "{}", Duration::from_secs(1)).unwrap_err();
        assert!(err.permanent && err.reason.contains("TLS"), "{err}");
        assert!(listener.accept().is_err(), "no connection was made");
    }

    #[test]
    fn ca_files_are_pem_certificates() {
        let ca = test_ca("shadowtap test CA");
        let dir = tempfile::tempdir().unwrap();
        // Other sections (a key) are skipped; two certificates make two roots.
        let mixed = dir.path().join("mixed.pem");
        let other = test_ca("second CA");
        std::fs::write(
            &mixed,
            format!("{}{}{}", ca.key().serialize_pem(), ca.pem(), other.pem()),
        )
        .unwrap();
        assert_eq!(load_ca_file(&mixed).unwrap().len(), 2);
        assert_eq!(tls_client(Some(&mixed)).unwrap().1, 2);
        let key_only = dir.path().join("key.pem");
        std::fs::write(&key_only, ca.key().serialize_pem()).unwrap();
        let err = tls_client(Some(&key_only)).unwrap_err();
        assert!(
            err.contains("no CERTIFICATE") && err.contains("key.pem"),
            "{err}"
        );
        let broken = dir.path().join("broken.pem");
        std::fs::write(
            &broken,
            "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let err = tls_client(Some(&broken)).unwrap_err();
        assert!(err.contains("broken.pem"), "{err}");
        let err = tls_client(Some(&dir.path().join("none.pem"))).unwrap_err();
        assert!(err.contains("none.pem"), "{err}");
    }

    #[test]
    fn system_trust_store_is_read() {
        // Debian's bundle (ca-certificates, which .ci/run installs), found by
        // rustls-native-certs through openssl-probe; SSL_CERT_FILE replaces it, and
        // SSL_CERT_DIR adds a directory whose contents this test does not count.
        let (_, roots) = tls_client(None).unwrap();
        let bundle = std::env::var_os("SSL_CERT_FILE").map_or_else(
            || PathBuf::from("/etc/ssl/certs/ca-certificates.crt"),
            PathBuf::from,
        );
        assert!(
            bundle.exists(),
            "{} is missing (apt-get install ca-certificates)",
            bundle.display()
        );
        let in_bundle = load_ca_file(&bundle).unwrap().len();
        assert!(in_bundle > 0, "{} holds no certificate", bundle.display());
        assert!(
            roots >= in_bundle * 9 / 10,
            "{roots} roots, {in_bundle} in the bundle"
        );
    }

    #[test]
    fn logged_urls_leave_out_path_and_query() {
        let u: WebhookUrl = "https://hooks.example.com/services/T0/B0/SECRET?x=1"
            .parse()
            .unwrap();
        assert_eq!(u.for_log(), "https://hooks.example.com:443/…");
        let u: WebhookUrl = "http://[::1]:9000/k".parse().unwrap();
        assert_eq!(u.for_log(), "http://[::1]:9000/…");
    }

    /// A plain-HTTP receiver on 127.0.0.1 giving `answer` to every request; stops after `most`
    /// connections or after `wait`, whichever comes first. Returns what it read.
    fn http_receiver(
        answer: String,
        most: usize,
        wait: Duration,
    ) -> (u16, std::thread::JoinHandle<Vec<Request>>) {
        receiver(most, wait, move |mut sock| {
            let request = read_request(&sock);
            if request.is_ok() {
                let _ = sock.write_all(answer.as_bytes());
            }
            request
        })
    }

    /// A receiver that reads one request, writes `head`, then `filler` over and over until the
    /// connection breaks or 256 MiB went out; returns how many bytes it wrote.
    fn flooding_receiver(
        head: &'static [u8],
        filler: Vec<u8>,
    ) -> (u16, std::thread::JoinHandle<usize>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let handle = std::thread::spawn(move || {
            let (mut sock, _) = listener.accept().unwrap();
            sock.set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            read_request(&sock).unwrap();
            let mut sent = head.len();
            sock.write_all(head).unwrap();
            while sent < 256 << 20 && sock.write_all(&filler).is_ok() {
                sent += filler.len();
            }
            sent
        });
        (port, handle)
    }

    #[test]
    fn urls_with_credentials_are_refused() {
        for bad in [
            "http://user:s3cret@h/x",
            "https://user:s3cret@hooks.example.com/x",
            "http://:s3cret@h/",
            "http://s3cret@h/",
            "https://user:s3cret@[::1]:8443/",
            "https://user:s3cret@127.0.0.1/",
        ] {
            let err = bad.parse::<WebhookUrl>().unwrap_err();
            assert!(err.contains("credentials"), "{bad}: {err}");
            assert!(!err.contains("s3cret"), "{bad}: {err}");
        }
        // Nor other schemes, no host, control characters or spaces; no message quotes the
        // path or the query.
        for bad in [
            "ftp://h/s3cret",
            "file:///s3cret",
            "javascript:s3cret",
            "https://",
            "http://?s3cret",
            "http://:80/s3cret",
            "http:///s3cret",
            "http:\\\\h/s3cret",
            "http://h/s3cret x",
            "http://h/s3\ncret",
            "http://h/\ts3cret",
            "http://h\x7f/s3cret",
            "https://h:99999/s3cret",
            "https://bad..name/s3cret",
        ] {
            let err = bad.parse::<WebhookUrl>().unwrap_err();
            assert!(!err.contains("s3cret"), "{bad:?}: {err}");
            assert!(err.starts_with("webhook_url: "), "{bad:?}: {err}");
        }
        // A fragment is not sent; odd characters in the path are percent-encoded.
        let u: WebhookUrl = "http://h/a\"b?c=<d>#frag".parse().unwrap();
        assert_eq!(u.path, "/a%22b?c=%3Cd%3E");
    }

    #[test]
    fn tokens_must_fit_in_a_header() {
        assert!(check_token("abc.DEF-123_~+/=").is_ok());
        for bad in ["s3cret\r\nX-Evil: 1", "s3cret\n", "s3\x00cret"] {
            let err = check_token(bad).unwrap_err();
            assert!(!err.contains("s3"), "{err}");
        }
    }

    #[test]
    fn redirects_are_not_followed() {
        // Where the redirects point: a listener that nothing may connect to.
        let elsewhere = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        elsewhere.set_nonblocking(true).unwrap();
        let to = elsewhere.local_addr().unwrap().port();
        let redirect = |status: &str| {
            format!(
                "HTTP/1.1 {status}\r\nLocation: http://127.0.0.1:{to}/stolen\r\nContent-Length: 0\r\n\r\n"
            )
        };
        for (status, code) in [
            ("301 Moved Permanently", 301),
            ("302 Found", 302),
            ("303 See Other", 303),
            ("307 Temporary Redirect", 307),
            ("308 Permanent Redirect", 308),
        ] {
            let (port, receiver) = http_receiver(redirect(status), 1, Duration::from_secs(10));
            let url: WebhookUrl = format!("http://127.0.0.1:{port}/hook").parse().unwrap();
            let got = post_json(&url, None, Some("s3cret"), "{}", Duration::from_secs(10));
            assert_eq!(got.unwrap(), code);
            assert_eq!(receiver.join().unwrap().len(), 1);
        }
        // Through the alerter: a failed delivery, not retried (a retry would come after 1 s;
        // the receiver waits 3 s for more).
        let (port, receiver) = http_receiver(redirect("302 Found"), 3, Duration::from_secs(3));
        let settings = AlertSettings {
            webhook: Some(format!("http://127.0.0.1:{port}/hook").parse().unwrap()),
            token: Some("s3cret".into()),
            ..AlertSettings::default()
        };
        let metrics = alert_once(settings, "1", json!({"endpoint_id": 1}), 20);
        let got = receiver.join().unwrap();
        assert_eq!(got.len(), 1, "a redirect is not retried");
        assert_eq!(metrics.webhook_failed.load(R), 1);
        assert_eq!(metrics.webhook_ok.load(R), 0);
        assert!(
            elsewhere.accept().is_err(),
            "a redirect was followed to another port"
        );
    }

    #[test]
    fn oversized_answers_are_not_read() {
        // A body that never ends: the status is taken, the body left unread.
        let (port, receiver) = flooding_receiver(
            b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000000\r\n\r\n",
            vec![b'x'; 64 << 10],
        );
        let url: WebhookUrl = format!("http://127.0.0.1:{port}/hook").parse().unwrap();
        let started = Instant::now();
        let status = post_json(&url, None, None, "{}", Duration::from_secs(30)).unwrap();
        assert_eq!(status, 200);
        assert!(started.elapsed() < Duration::from_secs(15));
        let sent = receiver.join().unwrap();
        assert!(
            sent < 64 << 20,
            "{sent} bytes went out before the sensor hung up"
        );
        // A head that never ends, in one line or in many: given up past MAX_ANSWER_HEAD (or
        // past the most headers an answer may have).
        for (head, filler) in [
            (&b"HTTP/1.1 200 OK\r\nX-Pad: "[..], vec![b'x'; 64 << 10]),
            (
                &b"HTTP/1.1 200 OK\r\n"[..],
                b"X-Pad: xxxxxxxxxxxxxxxx\r\n".repeat(512),
            ),
        ] {
            let long_line = head.ends_with(b": ");
            let (port, receiver) = flooding_receiver(head, filler);
            let url: WebhookUrl = format!("http://127.0.0.1:{port}/hook").parse().unwrap();
            let started = Instant::now();
            let err = post_json(&url, None, None, "{}", Duration::from_secs(30)).unwrap_err();
            assert!(!long_line || err.reason.contains("head is over"), "{err}");
            assert!(started.elapsed() < Duration::from_secs(15));
            let sent = receiver.join().unwrap();
            assert!(
                sent < 64 << 20,
                "{sent} bytes went out before the sensor hung up"
            );
        }
    }

    #[test]
    fn the_timeout_bounds_the_whole_post() {
        // Every read is quick, the answer's head never ends: a timeout per read would not end
        // this POST, the timeout of the whole exchange does.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut sock, _) = listener.accept().unwrap();
            read_request(&sock).unwrap();
            let mut ok = sock.write_all(b"HTTP/1.1 200 OK\r\nX-Slow: ").is_ok();
            for _ in 0..200 {
                if !ok {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
                ok = sock.write_all(b"a").is_ok();
            }
        });
        let url: WebhookUrl = format!("http://127.0.0.1:{port}/hook").parse().unwrap();
        let started = Instant::now();
        let err = post_json(&url, None, None, "{}", Duration::from_secs(1)).unwrap_err();
        let took = started.elapsed();
        assert!(err.reason.contains("timed out") && !err.permanent, "{err}");
        assert!(took < Duration::from_secs(5), "{took:?}");
        server.join().unwrap();
    }

    #[test]
    fn retries_follow_the_answer() {
        // A 5xx is tried three times, a 4xx (not 429) once; both count as failed.
        for (status, tries, wait) in [("503 Service Unavailable", 3, 30), ("404 Not Found", 1, 3)] {
            let answer = format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n");
            let (port, receiver) = http_receiver(answer, 3, Duration::from_secs(wait));
            let settings = AlertSettings {
                webhook: Some(format!("http://127.0.0.1:{port}/hook").parse().unwrap()),
                ..AlertSettings::default()
            };
            let metrics = alert_once(settings, "1", json!({"endpoint_id": 1}), 30);
            assert_eq!(receiver.join().unwrap().len(), tries, "{status}");
            assert_eq!(metrics.webhook_failed.load(R), 1, "{status}");
            assert_eq!(metrics.webhook_ok.load(R), 0, "{status}");
        }
    }
}
