//! Alerts: what is new in the inventory after a flush, sent as JSON to a webhook and logged as
//! one structured line on standard error (journald keeps it).
//!
//! [`Detector`] compares the store with what it saw before: endpoints with an id above the last
//! one seen are new; findings with an id above the last one seen are candidates, and a finding
//! whose identity (`dedup_key`) was seen before is not new (spec assessment re-creates its
//! findings with fresh ids). Both start from the database as it is when the daemon starts, so a
//! restart does not repeat old alerts.
//!
//! [`Alerter`] deduplicates (an alert key is sent once per process; a bounded memory of keys),
//! rate-limits with a token bucket (suppressed alerts are counted, and a summary line says how
//! many), logs, and hands alerts to the webhook thread over a bounded queue. The webhook client
//! is a small blocking HTTP/1.1 client for `http://` and `https://` URLs: one POST per alert,
//! retried with backoff. HTTPS is rustls (ring provider) over the same `TcpStream`; the server
//! certificate is verified against the system trust store (`rustls-native-certs`: on Debian
//! `/etc/ssl/certs/ca-certificates.crt` and `/etc/ssl/certs`, or `SSL_CERT_FILE`) or, when
//! `webhook_ca_file` is set, against that PEM bundle alone; the host name is checked (an IP
//! address in the URL must be in the certificate). Verification cannot be turned off. The request
//! (and its bearer token) is written only once the handshake, and so the verification, succeeded.
//!
//! ```json
//! {"type": "new_endpoint", "sensor": "tap-1", "time": "2025-01-01T12:00:00.000000000Z",
//!  "severity": "info", "host": "api.example.com", "method": "GET",
//!  "path_template": "/users/{user_id}", "endpoint_id": 42,
//!  "first_seen": "2025-01-01T11:59:58.120000000Z", "classification": null,
//!  "summary": "new endpoint GET api.example.com/users/{user_id}"}
//! ```

use super::metrics::SensorMetrics;
use crate::analyze::posture::Severity;
use crate::store::{Store, StoreError};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use serde_json::{Value, json};
use std::collections::{HashSet, VecDeque};
use std::hash::BuildHasher;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::time::{Duration, Instant};

const R: Ordering = Ordering::Relaxed;

/// Alert settings (reloaded on SIGHUP).
#[derive(Clone, Debug, PartialEq)]
pub struct AlertSettings {
    /// Where alerts are POSTed; `None`: logged only.
    pub webhook: Option<WebhookUrl>,
    /// Bearer token sent with every POST.
    pub token: Option<String>,
    /// PEM bundle of the CAs trusted for an `https://` webhook, instead of the system store.
    pub ca_file: Option<PathBuf>,
    /// Timeout of one POST (connect, write, read).
    pub timeout: Duration,
    /// Findings at least this severe raise an alert; `None`: findings raise none.
    pub min_severity: Option<Severity>,
    /// Endpoints not in the inventory before raise an alert.
    pub new_endpoints: bool,
    /// New shadow and zombie APIs raise an alert.
    pub shadow_zombie: bool,
    /// Token bucket refill: alerts per minute.
    pub rate_per_minute: u32,
    /// Token bucket size.
    pub burst: u32,
    /// This sensor's name in alerts.
    pub sensor: String,
}

impl Default for AlertSettings {
    fn default() -> Self {
        AlertSettings {
            webhook: None,
            token: None,
            ca_file: None,
            timeout: Duration::from_secs(5),
            min_severity: Some(Severity::High),
            new_endpoints: true,
            shadow_zombie: true,
            rate_per_minute: 60,
            burst: 20,
            sensor: host_name(),
        }
    }
}

/// The machine's host name (for alerts), or `shadowtap`.
pub fn host_name() -> String {
    // /proc/sys is hidden by the unit's ProcSubset=pid; /etc/hostname stays readable.
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| {
            s.trim()
                .chars()
                .filter(|c| !c.is_control())
                .take(64)
                .collect::<String>()
        })
        .find(|s| !s.is_empty())
        .unwrap_or_else(|| "shadowtap".into())
}

/// A parsed `http://host[:port]/path` or `https://host[:port]/path` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookUrl {
    /// `https://`: TLS, with the certificate verified for `host`.
    pub tls: bool,
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// Port (80, or 443 for `https://`, when absent).
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
    /// The URL as given (for messages).
    pub text: String,
}

impl WebhookUrl {
    /// The URL for logs: scheme, host and port only. The path and query stay out, because some
    /// receivers (Slack-style incoming webhooks) put their secret there.
    pub fn for_log(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        if self.host.contains(':') {
            format!("{scheme}://[{}]:{}/…", self.host, self.port)
        } else {
            format!("{scheme}://{}:{}/…", self.host, self.port)
        }
    }
}

impl std::str::FromStr for WebhookUrl {
    type Err = String;
    fn from_str(s: &str) -> Result<WebhookUrl, String> {
        let t = s.trim();
        let (tls, rest) = if let Some(rest) = t.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = t.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err(format!(
                "webhook {t:?}: expected an http:// or https:// URL"
            ));
        };
        let default_port = if tls { 443 } else { 80 };
        if t.chars().any(|c| c.is_control() || c == ' ') {
            return Err(format!("webhook {t:?}: invalid characters"));
        }
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let path = if path.starts_with('?') {
            format!("/{path}")
        } else {
            path.to_string()
        };
        if authority.contains('@') {
            return Err(format!(
                "webhook {t:?}: credentials in the URL are not supported (use webhook_token_file)"
            ));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6
                .split_once(']')
                .ok_or_else(|| format!("webhook {t:?}: bad IPv6 address"))?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().map_err(|_| format!("webhook {t:?}: bad port"))?,
                None if after.is_empty() => default_port,
                None => return Err(format!("webhook {t:?}: bad address")),
            };
            (h.to_string(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (
                    h.to_string(),
                    p.parse().map_err(|_| format!("webhook {t:?}: bad port"))?,
                ),
                None => (authority.to_string(), default_port),
            }
        };
        if host.is_empty() {
            return Err(format!("webhook {t:?}: no host"));
        }
        // The name the certificate must hold (an IP address is checked as one).
        if tls && ServerName::try_from(host.as_str()).is_err() {
            return Err(format!(
                "webhook {t:?}: {host:?} is neither a DNS name nor an IP address"
            ));
        }
        Ok(WebhookUrl {
            tls,
            host,
            port,
            path,
            text: t.to_string(),
        })
    }
}

/// What an alert is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlertKind {
    /// An endpoint not in the inventory before.
    NewEndpoint,
    /// An endpoint that no imported spec documents.
    ShadowApi,
    /// A deprecated operation still called.
    ZombieApi,
    /// A finding at or above the configured severity.
    Finding,
    /// The sensor itself cannot keep the inventory (its database file was deleted or
    /// replaced, or flushes are being lost); always sent, whatever the settings.
    SensorHealth,
}

impl AlertKind {
    /// The stable name (the `type` field).
    pub fn name(self) -> &'static str {
        match self {
            AlertKind::NewEndpoint => "new_endpoint",
            AlertKind::ShadowApi => "shadow_api",
            AlertKind::ZombieApi => "zombie_api",
            AlertKind::Finding => "finding",
            AlertKind::SensorHealth => "sensor_health",
        }
    }

    fn index(self) -> usize {
        match self {
            AlertKind::NewEndpoint => 0,
            AlertKind::ShadowApi => 1,
            AlertKind::ZombieApi => 2,
            AlertKind::Finding => 3,
            AlertKind::SensorHealth => 4,
        }
    }
}

/// One alert.
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    /// What it is about.
    pub kind: AlertKind,
    /// Identity for deduplication.
    pub key: String,
    /// The JSON document sent (without `sensor` and `time`, added when sent).
    pub body: Value,
}

/// A token bucket: `burst` tokens, refilled at `per_minute`.
#[derive(Debug)]
pub struct TokenBucket {
    tokens: f64,
    burst: f64,
    per_sec: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(per_minute: u32, burst: u32, now: Instant) -> TokenBucket {
        TokenBucket {
            tokens: f64::from(burst.max(1)),
            burst: f64::from(burst.max(1)),
            per_sec: f64::from(per_minute) / 60.0,
            last: now,
        }
    }

    /// Takes a token if there is one.
    pub fn take(&mut self, now: Instant) -> bool {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + dt * self.per_sec).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Bounded memory of keys already sent.
struct Recent {
    set: HashSet<u64>,
    order: VecDeque<u64>,
    cap: usize,
    hasher: foldhash::fast::FixedState,
}

impl Recent {
    fn new(cap: usize) -> Recent {
        Recent {
            set: HashSet::new(),
            order: VecDeque::new(),
            cap: cap.max(1),
            hasher: foldhash::fast::FixedState::with_seed(0xa1e7),
        }
    }

    /// Remembers `key`; false if it was known.
    fn insert(&mut self, key: &str) -> bool {
        let h = self.hasher.hash_one(key);
        if !self.set.insert(h) {
            return false;
        }
        self.order.push_back(h);
        if self.order.len() > self.cap {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        true
    }
}

/// Keys remembered for deduplication.
const RECENT_KEYS: usize = 200_000;
/// Alerts waiting for the webhook.
const WEBHOOK_QUEUE: usize = 1024;

/// The TLS client for an `https://` webhook, or why there is none (logged when it was built,
/// and given as the reason of every failed delivery).
type Tls = Result<Arc<ClientConfig>, String>;

/// One POST for the webhook thread.
struct Delivery {
    body: Value,
    url: WebhookUrl,
    token: Option<String>,
    timeout: Duration,
    /// For `https://` URLs.
    tls: Option<Tls>,
}

/// Deduplicates, rate-limits, logs and queues alerts.
pub struct Alerter {
    settings: AlertSettings,
    /// Built from the settings when the webhook is `https://` (at start and on reload, so a
    /// SIGHUP picks up a renewed CA file or system store).
    tls: Option<Tls>,
    bucket: TokenBucket,
    recent: Recent,
    metrics: Arc<SensorMetrics>,
    webhook: Option<(SyncSender<Delivery>, std::thread::JoinHandle<()>)>,
    suppressed_since_log: u64,
    last_summary: Instant,
}

/// The TLS client for `settings`' webhook when it is `https://`; the outcome is logged.
fn tls_for(settings: &AlertSettings) -> Option<Tls> {
    if !settings.webhook.as_ref().is_some_and(|u| u.tls) {
        return None;
    }
    let source = settings.ca_file.as_ref().map_or_else(
        || "the system trust store".to_string(),
        |p| p.display().to_string(),
    );
    Some(match tls_client(settings.ca_file.as_deref()) {
        Ok((config, roots)) => {
            eprintln!(
                "shadowtap: level=info msg=\"webhook TLS trust roots loaded\" roots={roots} source=\"{}\"",
                source.replace('"', "'")
            );
            Ok(config)
        }
        Err(e) => {
            eprintln!(
                "shadowtap: level=error msg=\"webhook TLS trust roots unavailable: https deliveries will fail\" error=\"{}\"",
                e.replace('"', "'")
            );
            Err(e)
        }
    })
}

impl Alerter {
    /// An alerter; starts the webhook thread.
    pub fn new(settings: AlertSettings, metrics: Arc<SensorMetrics>) -> Alerter {
        let (tx, rx) = std::sync::mpsc::sync_channel(WEBHOOK_QUEUE);
        let m = metrics.clone();
        let handle = std::thread::Builder::new()
            .name("shadowtap-webhook".into())
            .spawn(move || webhook_loop(rx, m))
            .ok();
        Alerter {
            bucket: TokenBucket::new(settings.rate_per_minute, settings.burst, Instant::now()),
            tls: tls_for(&settings),
            settings,
            recent: Recent::new(RECENT_KEYS),
            metrics,
            webhook: handle.map(|h| (tx, h)),
            suppressed_since_log: 0,
            last_summary: Instant::now(),
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> &AlertSettings {
        &self.settings
    }

    /// Replaces the settings (SIGHUP); the bucket is refilled to the new size.
    pub fn reload(&mut self, settings: AlertSettings) {
        if settings.rate_per_minute != self.settings.rate_per_minute
            || settings.burst != self.settings.burst
        {
            self.bucket =
                TokenBucket::new(settings.rate_per_minute, settings.burst, Instant::now());
        }
        self.tls = tls_for(&settings);
        self.settings = settings;
    }

    /// Sends one alert unless it is a duplicate or over the rate.
    pub fn emit(&mut self, alert: Alert) {
        if !self
            .recent
            .insert(&format!("{}|{}", alert.kind.name(), alert.key))
        {
            self.metrics.alerts_duplicate.fetch_add(1, R);
            return;
        }
        self.metrics.alerts[alert.kind.index()].fetch_add(1, R);
        let now = Instant::now();
        if !self.bucket.take(now) {
            self.metrics.alerts_rate_limited.fetch_add(1, R);
            self.suppressed_since_log += 1;
            self.summary(now, false);
            return;
        }
        self.summary(now, false);
        let mut body = alert.body;
        if let Value::Object(m) = &mut body {
            m.insert("type".into(), json!(alert.kind.name()));
            m.insert("sensor".into(), json!(self.settings.sensor));
            m.insert(
                "time".into(),
                json!(crate::time::Timestamp::now().iso8601().to_string()),
            );
        }
        eprintln!("{}", log_line(&body));
        if let (Some(url), Some((tx, _))) = (&self.settings.webhook, &self.webhook) {
            match tx.try_send(Delivery {
                body,
                url: url.clone(),
                token: self.settings.token.clone(),
                timeout: self.settings.timeout,
                tls: self.tls.clone(),
            }) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                    self.metrics.alerts_queue_full.fetch_add(1, R);
                }
            }
        }
    }

    /// Logs how many alerts the rate limit held back, at most once a minute (or now).
    fn summary(&mut self, now: Instant, force: bool) {
        if self.suppressed_since_log > 0
            && (force || now.duration_since(self.last_summary) >= Duration::from_secs(60))
        {
            eprintln!(
                "shadowtap: level=warn msg=\"alerts suppressed by the rate limit\" suppressed={} rate_per_minute={} burst={}",
                self.suppressed_since_log, self.settings.rate_per_minute, self.settings.burst
            );
            self.suppressed_since_log = 0;
            self.last_summary = now;
        }
    }

    /// Waits (at most `limit`) for the webhook queue to empty, then stops its thread.
    pub fn close(mut self, limit: Duration) {
        self.summary(Instant::now(), true);
        if let Some((tx, handle)) = self.webhook.take() {
            drop(tx);
            let deadline = Instant::now() + limit;
            while !handle.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if handle.is_finished() {
                let _ = handle.join();
            } else {
                eprintln!("shadowtap: level=warn msg=\"webhook deliveries still pending at exit\"");
            }
        }
    }
}

/// `shadowtap: level=warn msg="alert" type=... key="value" ...`: one line, values quoted and
/// escaped (they come from the wire).
pub fn log_line(body: &Value) -> String {
    let mut out = String::from("shadowtap: level=warn msg=\"alert\"");
    if let Value::Object(m) = body {
        for key in [
            "type",
            "severity",
            "kind",
            "host",
            "method",
            "path_template",
            "client",
            "endpoint_id",
            "finding_id",
            "summary",
        ] {
            match m.get(key) {
                Some(Value::String(s)) => {
                    out.push(' ');
                    out.push_str(key);
                    out.push_str("=\"");
                    for c in s.chars().take(300) {
                        match c {
                            '"' => out.push_str("\\\""),
                            '\\' => out.push_str("\\\\"),
                            c if c.is_control() => out.push('?'),
                            c => out.push(c),
                        }
                    }
                    out.push('"');
                }
                Some(Value::Number(n)) => {
                    out.push_str(&format!(" {key}={n}"));
                }
                _ => {}
            }
        }
    }
    out
}

fn webhook_loop(rx: Receiver<Delivery>, metrics: Arc<SensorMetrics>) {
    while let Ok(d) = rx.recv() {
        let payload = d.body.to_string();
        let tls = match &d.tls {
            None => Ok(None),
            Some(Ok(config)) => Ok(Some(config)),
            Some(Err(e)) => Err(e.clone()),
        };
        let mut ok = false;
        let mut last_err = String::new();
        match tls {
            Err(e) => last_err = e,
            Ok(tls) => {
                for attempt in 0..3u32 {
                    if attempt > 0 {
                        std::thread::sleep(Duration::from_millis(500 << attempt));
                    }
                    match post_json(&d.url, tls, d.token.as_deref(), &payload, d.timeout) {
                        Ok(status) if (200..300).contains(&status) => {
                            ok = true;
                            break;
                        }
                        // A 4xx will not get better by retrying.
                        Ok(status) if (400..500).contains(&status) && status != 429 => {
                            last_err = format!("HTTP {status}");
                            break;
                        }
                        Ok(status) => last_err = format!("HTTP {status}"),
                        Err(e) => {
                            last_err = e.reason;
                            // Nor will a certificate that does not verify.
                            if e.permanent {
                                break;
                            }
                        }
                    }
                }
            }
        }
        if ok {
            metrics.webhook_ok.fetch_add(1, R);
        } else {
            metrics.webhook_failed.fetch_add(1, R);
            eprintln!(
                "shadowtap: level=error msg=\"webhook delivery failed\" url=\"{}\" error=\"{}\"",
                d.url.for_log(),
                last_err.replace('"', "'")
            );
        }
    }
}

/// Why a POST failed. The reason names the host, address or file concerned, never the token.
#[derive(Debug)]
pub struct PostError {
    /// What went wrong (DNS, connect, TLS handshake, certificate, send, answer).
    pub reason: String,
    /// Trying again will not help (the TLS handshake failed: certificate, name, protocol).
    pub permanent: bool,
}

impl From<String> for PostError {
    fn from(reason: String) -> PostError {
        PostError {
            reason,
            permanent: false,
        }
    }
}

impl std::fmt::Display for PostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

/// POSTs `payload` as JSON; returns the response status. `tls` is required for `https://`
/// URLs: the request is written only after the handshake verified the server's certificate.
pub fn post_json(
    url: &WebhookUrl,
    tls: Option<&Arc<ClientConfig>>,
    token: Option<&str>,
    payload: &str,
    timeout: Duration,
) -> Result<u16, PostError> {
    let permanent = |reason: String| PostError {
        reason,
        permanent: true,
    };
    let tls = match (url.tls, tls) {
        (true, None) => return Err(permanent("https:// without a TLS client".into())),
        (true, Some(config)) => Some(config),
        (false, _) => None,
    };
    let addrs: Vec<_> = (url.host.as_str(), url.port)
        .to_socket_addrs()
        .map_err(|e| format!("resolving {}: {e}", url.host))?
        .collect();
    let mut stream = None;
    let mut err = String::from("no address");
    for a in addrs {
        match TcpStream::connect_timeout(&a, timeout) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => err = format!("connecting to {a}: {e}"),
        }
    }
    let s = stream.ok_or(err)?;
    s.set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    let Some(config) = tls else {
        return exchange(s, url, token, payload);
    };
    let name = ServerName::try_from(url.host.clone())
        .map_err(|e| permanent(format!("TLS server name {:?}: {e}", url.host)))?;
    let conn = ClientConnection::new(config.clone(), name)
        .map_err(|e| permanent(format!("TLS with {}: {e}", url.host)))?;
    let mut tls = StreamOwned::new(conn, s);
    while tls.conn.is_handshaking() {
        if let Err(e) = tls.conn.complete_io(&mut tls.sock) {
            // Errors of rustls itself (certificate, name, protocol) come wrapped in the I/O
            // error; they will happen again. Timeouts and resets may not.
            let from_tls = e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>());
            return Err(PostError {
                reason: format!("TLS handshake with {}: {e}", url.host),
                permanent: from_tls,
            });
        }
    }
    exchange(tls, url, token, payload)
}

/// Writes the request on an open connection and reads the status line of the answer.
fn exchange(
    mut s: impl Read + Write,
    url: &WebhookUrl,
    token: Option<&str>,
    payload: &str,
) -> Result<u16, PostError> {
    let host = if url.host.contains(':') {
        format!("[{}]", url.host)
    } else {
        url.host.clone()
    };
    let host = if url.port == if url.tls { 443 } else { 80 } {
        host
    } else {
        format!("{host}:{}", url.port)
    };
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: shadowtap/{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{auth}Connection: close\r\n\r\n",
        url.path,
        env!("CARGO_PKG_VERSION"),
        payload.len()
    );
    s.write_all(head.as_bytes())
        .and_then(|()| s.write_all(payload.as_bytes()))
        .and_then(|()| s.flush())
        .map_err(|e| format!("sending: {e}"))?;
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 512];
    while !buf.windows(2).any(|w| w == b"\r\n") && buf.len() < 8192 {
        let n = s.read(&mut chunk).map_err(|e| format!("reading: {e}"))?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let line = buf.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split_whitespace();
    match (
        parts.next(),
        parts.next().and_then(|c| c.parse::<u16>().ok()),
    ) {
        (Some(v), Some(code)) if v.starts_with("HTTP/") => Ok(code),
        _ => Err("no HTTP status line in the answer".to_string().into()),
    }
}

/// A rustls client (ring provider, TLS 1.2 and 1.3, no client certificate) trusting the CAs of
/// `ca_file` (PEM) when given, else those of the system store; with the number of roots.
pub fn tls_client(ca_file: Option<&Path>) -> Result<(Arc<ClientConfig>, usize), String> {
    let mut roots = RootCertStore::empty();
    match ca_file {
        Some(path) => {
            for cert in load_ca_file(path)? {
                roots.add(cert).map_err(|e| {
                    format!(
                        "webhook_ca_file {}: a certificate is not usable as a CA: {e}",
                        path.display()
                    )
                })?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            // Files that do not parse are skipped as long as some roots are found: a system
            // store often holds a few odd files.
            let (added, _rejected) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                return Err(match found.errors.first() {
                    Some(e) => format!("no CA certificates in the system trust store ({e})"),
                    None => "no CA certificates in the system trust store (install ca-certificates, or set webhook_ca_file)".into(),
                });
            }
        }
    }
    let n = roots.len();
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS: {e}"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
    Ok((Arc::new(config), n))
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

/// Finds what is new in the store since the last look.
pub struct Detector {
    last_endpoint: i64,
    last_finding: i64,
    /// The identities of the latest findings (about 30 bytes each).
    seen_findings: Recent,
}

/// Finding identities remembered, the oldest forgotten beyond (a finding deleted by retention
/// and created again alerts again only if it is older than that many findings).
const SEEN_FINDINGS: usize = 100_000;
/// Rows looked at per detection pass.
const DETECT_BATCH: i64 = 5000;

impl Detector {
    /// Starts from the store as it is: nothing there now is new.
    pub async fn start(store: &Store) -> Result<Detector, StoreError> {
        let (last_endpoint, last_finding) = store.last_ids().await?;
        let keys = store.recent_finding_keys(SEEN_FINDINGS).await?;
        let mut seen_findings = Recent::new(SEEN_FINDINGS);
        for k in keys.iter().rev() {
            seen_findings.insert(k);
        }
        Ok(Detector {
            last_endpoint,
            last_finding,
            seen_findings,
        })
    }

    /// What appeared since the last call, under `settings`: the alerts.
    pub async fn detect(
        &mut self,
        store: &Store,
        settings: &AlertSettings,
    ) -> Result<Vec<Alert>, StoreError> {
        let mut out = Vec::new();
        loop {
            let rows = store
                .endpoints_after(self.last_endpoint, DETECT_BATCH)
                .await?;
            let n = rows.len() as i64;
            for r in rows {
                self.last_endpoint = self.last_endpoint.max(r.id);
                if !settings.new_endpoints || r.request_count == 0 {
                    continue;
                }
                let (host, method, template) = (r.host, r.method, r.path_template);
                out.push(Alert {
                    kind: AlertKind::NewEndpoint,
                    key: r.id.to_string(),
                    body: json!({
                        "severity": "info",
                        "summary": format!("new endpoint {method} {host}{template}"),
                        "endpoint_id": r.id,
                        "host": host,
                        "method": method,
                        "path_template": template,
                        "first_seen": r.first_seen.map(crate::store::iso),
                        "classification": r.classification,
                    }),
                });
            }
            if n < DETECT_BATCH {
                break;
            }
        }
        loop {
            let rows = store
                .findings_after(self.last_finding, DETECT_BATCH)
                .await?;
            let n = rows.len() as i64;
            for (r, dedup_key) in rows {
                self.last_finding = self.last_finding.max(r.id);
                if !self.seen_findings.insert(&dedup_key) {
                    continue;
                }
                let (kind, severity) = (r.kind, r.severity);
                let alert_kind = match kind.as_str() {
                    "shadow_api" if settings.shadow_zombie => AlertKind::ShadowApi,
                    "zombie_api" if settings.shadow_zombie => AlertKind::ZombieApi,
                    _ => match (settings.min_severity, Severity::parse(&severity)) {
                        (Some(min), Some(s)) if s >= min => AlertKind::Finding,
                        _ => continue,
                    },
                };
                let (host, method, template) = (r.host, r.method, r.path_template);
                out.push(Alert {
                    kind: alert_kind,
                    key: dedup_key,
                    body: json!({
                        "severity": severity,
                        "kind": kind,
                        "summary": format!(
                            "{kind} ({severity}) on {} {}{}",
                            method.as_deref().unwrap_or("-"),
                            host.as_deref().unwrap_or(""),
                            template.as_deref().unwrap_or("")
                        ),
                        "finding_id": r.id,
                        "host": host,
                        "method": method,
                        "path_template": template,
                        "client": r.client,
                        "detail": r.detail,
                        "evidence": r.evidence,
                        "count": r.count,
                        "first_seen": crate::store::iso(r.first_seen),
                        "last_seen": crate::store::iso(r.last_seen),
                    }),
                });
            }
            if n < DETECT_BATCH {
                break;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufRead;

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
    fn token_bucket_limits_and_refills() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(60, 3, t0);
        assert!(b.take(t0) && b.take(t0) && b.take(t0));
        assert!(!b.take(t0));
        assert!(!b.take(t0 + Duration::from_millis(500)));
        assert!(b.take(t0 + Duration::from_millis(1100)));
        assert!(!b.take(t0 + Duration::from_millis(1200)));
        // Never more than the burst after a long pause.
        let later = t0 + Duration::from_secs(3600);
        assert!((0..3).all(|_| b.take(later)));
        assert!(!b.take(later));
    }

    #[test]
    fn recent_keys_are_bounded() {
        let mut r = Recent::new(2);
        assert!(r.insert("a"));
        assert!(!r.insert("a"));
        assert!(r.insert("b"));
        assert!(r.insert("c"));
        assert!(r.insert("a"), "a was forgotten after two newer keys");
    }

    #[test]
    fn log_lines_escape_wire_strings() {
        let line = log_line(&json!({
            "type": "new_endpoint", "host": "evil\"\n host=x", "endpoint_id": 7
        }));
        assert_eq!(
            line,
            "shadowtap: level=warn msg=\"alert\" type=\"new_endpoint\" host=\"evil\\\"? host=x\" endpoint_id=7"
        );
    }

    #[test]
    fn alerter_dedups_rate_limits_and_posts() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let mut bodies = Vec::new();
            for _ in 0..2 {
                let (s, _) = listener.accept().unwrap();
                let mut r = std::io::BufReader::new(s);
                let mut len = 0usize;
                let mut auth = String::new();
                loop {
                    let mut line = String::new();
                    r.read_line(&mut line).unwrap();
                    if line == "\r\n" {
                        break;
                    }
                    let l = line.to_ascii_lowercase();
                    if let Some(v) = l.strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap();
                    }
                    if l.starts_with("authorization:") {
                        auth = line.trim().to_string();
                    }
                }
                let mut body = vec![0u8; len];
                r.read_exact(&mut body).unwrap();
                r.get_mut()
                    .write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
                    .unwrap();
                bodies.push((auth, String::from_utf8(body).unwrap()));
            }
            bodies
        });
        let metrics = Arc::new(SensorMetrics::new(&[], 1, 1, 1));
        let settings = AlertSettings {
            webhook: Some(format!("http://127.0.0.1:{port}/hook").parse().unwrap()),
            token: Some("s3cret".into()),
            rate_per_minute: 0,
            burst: 2,
            sensor: "test-sensor".into(),
            ..AlertSettings::default()
        };
        let mut a = Alerter::new(settings, metrics.clone());
        let alert = |key: &str| Alert {
            kind: AlertKind::NewEndpoint,
            key: key.into(),
            body: json!({"host": "h", "endpoint_id": 1}),
        };
        a.emit(alert("1"));
        a.emit(alert("1"));
        a.emit(alert("2"));
        a.emit(alert("3"));
        a.close(Duration::from_secs(10));
        let bodies = server.join().unwrap();
        assert_eq!(bodies.len(), 2);
        assert_eq!(bodies[0].0, "Authorization: Bearer s3cret");
        let v: Value = serde_json::from_str(&bodies[0].1).unwrap();
        assert_eq!(v["type"], "new_endpoint");
        assert_eq!(v["sensor"], "test-sensor");
        assert_eq!(metrics.alerts_duplicate.load(R), 1);
        assert_eq!(metrics.alerts_rate_limited.load(R), 1);
        assert_eq!(metrics.webhook_ok.load(R), 2);
        assert_eq!(metrics.alerts[0].load(R), 3);
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
    fn trusting(ca: &Issuer) -> (tempfile::TempDir, PathBuf, Arc<ClientConfig>) {
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

    fn read_request(s: impl Read) -> Result<(Vec<String>, String), String> {
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

    /// A TLS receiver on 127.0.0.1 answering 204; stops after `most` connections or after
    /// `wait`, whichever comes first.
    fn tls_receiver(
        config: Arc<rustls::ServerConfig>,
        most: usize,
        wait: Duration,
    ) -> (u16, std::thread::JoinHandle<Vec<Received>>) {
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
                got.push(Received {
                    request,
                    raw: std::mem::take(&mut tls.sock.raw),
                });
            }
            got
        });
        (port, handle)
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
        let metrics = Arc::new(SensorMetrics::new(&[], 1, 1, 1));
        let settings = AlertSettings {
            webhook: Some(format!("https://127.0.0.1:{port}/alerts").parse().unwrap()),
            token: Some("s3cret".into()),
            ca_file: Some(ca_file),
            sensor: "test-sensor".into(),
            ..AlertSettings::default()
        };
        let mut a = Alerter::new(settings, metrics.clone());
        a.emit(Alert {
            kind: AlertKind::NewEndpoint,
            key: "7".into(),
            body: json!({"host": "h", "endpoint_id": 7}),
        });
        a.close(Duration::from_secs(20));
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
        let metrics = Arc::new(SensorMetrics::new(&[], 1, 1, 1));
        let settings = AlertSettings {
            webhook: Some(format!("https://127.0.0.1:{port}/hook").parse().unwrap()),
            token: Some("s3cret".into()),
            ca_file: Some(ca_file),
            ..AlertSettings::default()
        };
        let mut a = Alerter::new(settings, metrics.clone());
        a.emit(Alert {
            kind: AlertKind::NewEndpoint,
            key: "1".into(),
            body: json!({"endpoint_id": 1}),
        });
        a.close(Duration::from_secs(20));
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
}
