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
//! is a small HTTP/1.1 client for `http://` URLs: one POST per alert, retried with backoff.
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
use serde_json::{Value, json};
use sqlx::Row;
use std::collections::{HashSet, VecDeque};
use std::hash::BuildHasher;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
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

/// A parsed `http://host[:port]/path` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookUrl {
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// Port (80 when absent).
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
    /// The URL as given (for messages).
    pub text: String,
}

impl std::str::FromStr for WebhookUrl {
    type Err = String;
    fn from_str(s: &str) -> Result<WebhookUrl, String> {
        let t = s.trim();
        let Some(rest) = t.strip_prefix("http://") else {
            return Err(if t.starts_with("https://") {
                format!(
                    "webhook {t:?}: HTTPS is not built in; point it at an http:// receiver (a local relay can forward to HTTPS)"
                )
            } else {
                format!("webhook {t:?}: expected an http:// URL")
            });
        };
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
                None if after.is_empty() => 80,
                None => return Err(format!("webhook {t:?}: bad address")),
            };
            (h.to_string(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (
                    h.to_string(),
                    p.parse().map_err(|_| format!("webhook {t:?}: bad port"))?,
                ),
                None => (authority.to_string(), 80),
            }
        };
        if host.is_empty() {
            return Err(format!("webhook {t:?}: no host"));
        }
        Ok(WebhookUrl {
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
}

impl AlertKind {
    /// The stable name (the `type` field).
    pub fn name(self) -> &'static str {
        match self {
            AlertKind::NewEndpoint => "new_endpoint",
            AlertKind::ShadowApi => "shadow_api",
            AlertKind::ZombieApi => "zombie_api",
            AlertKind::Finding => "finding",
        }
    }

    fn index(self) -> usize {
        match self {
            AlertKind::NewEndpoint => 0,
            AlertKind::ShadowApi => 1,
            AlertKind::ZombieApi => 2,
            AlertKind::Finding => 3,
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

/// One POST for the webhook thread: body, where, token, timeout.
type Delivery = (Value, WebhookUrl, Option<String>, Duration);

/// Deduplicates, rate-limits, logs and queues alerts.
pub struct Alerter {
    settings: AlertSettings,
    bucket: TokenBucket,
    recent: Recent,
    metrics: Arc<SensorMetrics>,
    webhook: Option<(SyncSender<Delivery>, std::thread::JoinHandle<()>)>,
    suppressed_since_log: u64,
    last_summary: Instant,
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
            match tx.try_send((
                body,
                url.clone(),
                self.settings.token.clone(),
                self.settings.timeout,
            )) {
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
    while let Ok((body, url, token, timeout)) = rx.recv() {
        let payload = body.to_string();
        let mut ok = false;
        let mut last_err = String::new();
        for attempt in 0..3u32 {
            if attempt > 0 {
                std::thread::sleep(Duration::from_millis(500 << attempt));
            }
            match post_json(&url, token.as_deref(), &payload, timeout) {
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
                Err(e) => last_err = e,
            }
        }
        if ok {
            metrics.webhook_ok.fetch_add(1, R);
        } else {
            metrics.webhook_failed.fetch_add(1, R);
            eprintln!(
                "shadowtap: level=error msg=\"webhook delivery failed\" url=\"{}\" error=\"{}\"",
                url.text,
                last_err.replace('"', "'")
            );
        }
    }
}

/// POSTs `payload` as JSON; returns the response status.
pub fn post_json(
    url: &WebhookUrl,
    token: Option<&str>,
    payload: &str,
    timeout: Duration,
) -> Result<u16, String> {
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
    let mut s = stream.ok_or(err)?;
    s.set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    let host = if url.host.contains(':') {
        format!("[{}]", url.host)
    } else {
        url.host.clone()
    };
    let host = if url.port == 80 {
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
        _ => Err("no HTTP status line in the answer".into()),
    }
}

/// Finds what is new in the store since the last look.
#[derive(Debug, Default)]
pub struct Detector {
    last_endpoint: i64,
    last_finding: i64,
    seen_findings: HashSet<u64>,
}

/// Finding identities remembered (beyond, a re-created finding may alert again).
const SEEN_FINDINGS: usize = 1_000_000;
/// Rows looked at per detection pass.
const DETECT_BATCH: i64 = 5000;

impl Detector {
    /// Starts from the store as it is: nothing there now is new.
    pub async fn start(store: &Store) -> Result<Detector, StoreError> {
        let last_endpoint: i64 = sqlx::query_scalar("SELECT coalesce(max(id), 0) FROM endpoints")
            .fetch_one(store.pool())
            .await?;
        let last_finding: i64 = sqlx::query_scalar("SELECT coalesce(max(id), 0) FROM findings")
            .fetch_one(store.pool())
            .await?;
        let keys: Vec<String> =
            sqlx::query_scalar("SELECT dedup_key FROM findings ORDER BY id DESC LIMIT ?")
                .bind(SEEN_FINDINGS as i64)
                .fetch_all(store.pool())
                .await?;
        let h = foldhash::fast::FixedState::with_seed(0xf1d);
        Ok(Detector {
            last_endpoint,
            last_finding,
            seen_findings: keys.iter().map(|k| h.hash_one(k)).collect(),
        })
    }

    /// What appeared since the last call, under `settings`: the alerts, and the parameterised
    /// templates of the new endpoints (shared with every worker).
    pub async fn detect(
        &mut self,
        store: &Store,
        settings: &AlertSettings,
    ) -> Result<(Vec<Alert>, Vec<(String, String)>), StoreError> {
        let mut out = Vec::new();
        let mut pins = Vec::new();
        loop {
            let rows = sqlx::query(
                "SELECT id, host, method, path_template, first_seen, classification, request_count
                 FROM endpoints WHERE id > ? ORDER BY id LIMIT ?",
            )
            .bind(self.last_endpoint)
            .bind(DETECT_BATCH)
            .fetch_all(store.pool())
            .await?;
            let n = rows.len() as i64;
            for r in &rows {
                let id: i64 = r.get(0);
                self.last_endpoint = self.last_endpoint.max(id);
                let requests: i64 = r.get(6);
                let (host, method, template): (String, String, String) =
                    (r.get(1), r.get(2), r.get(3));
                if template.contains('{') {
                    pins.push((host.clone(), template.clone()));
                }
                if !settings.new_endpoints || requests == 0 {
                    continue;
                }
                let first: Option<i64> = r.get(4);
                out.push(Alert {
                    kind: AlertKind::NewEndpoint,
                    key: id.to_string(),
                    body: json!({
                        "severity": "info",
                        "summary": format!("new endpoint {method} {host}{template}"),
                        "endpoint_id": id,
                        "host": host,
                        "method": method,
                        "path_template": template,
                        "first_seen": first.map(crate::store::iso),
                        "classification": r.get::<Option<String>, _>(5),
                    }),
                });
            }
            if n < DETECT_BATCH {
                break;
            }
        }
        let h = foldhash::fast::FixedState::with_seed(0xf1d);
        loop {
            let rows = sqlx::query(
                "SELECT id, kind, severity, host, method, path_template, client, detail, evidence, count,
                        first_seen, last_seen, dedup_key
                 FROM findings WHERE id > ? ORDER BY id LIMIT ?",
            )
            .bind(self.last_finding)
            .bind(DETECT_BATCH)
            .fetch_all(store.pool())
            .await?;
            let n = rows.len() as i64;
            for r in &rows {
                let id: i64 = r.get(0);
                self.last_finding = self.last_finding.max(id);
                let key: String = r.get(12);
                if !self.seen_findings.insert(h.hash_one(&key)) {
                    continue;
                }
                if self.seen_findings.len() > SEEN_FINDINGS {
                    self.seen_findings.clear();
                }
                let kind: String = r.get(1);
                let severity: String = r.get(2);
                let alert_kind = match kind.as_str() {
                    "shadow_api" if settings.shadow_zombie => AlertKind::ShadowApi,
                    "zombie_api" if settings.shadow_zombie => AlertKind::ZombieApi,
                    _ => match (settings.min_severity, Severity::parse(&severity)) {
                        (Some(min), Some(s)) if s >= min => AlertKind::Finding,
                        _ => continue,
                    },
                };
                let host: Option<String> = r.get(3);
                let method: Option<String> = r.get(4);
                let template: Option<String> = r.get(5);
                out.push(Alert {
                    kind: alert_kind,
                    key,
                    body: json!({
                        "severity": severity,
                        "kind": kind,
                        "summary": format!(
                            "{kind} ({severity}) on {} {}{}",
                            method.as_deref().unwrap_or("-"),
                            host.as_deref().unwrap_or(""),
                            template.as_deref().unwrap_or("")
                        ),
                        "finding_id": id,
                        "host": host,
                        "method": method,
                        "path_template": template,
                        "client": r.get::<Option<String>, _>(6),
                        "detail": r.get::<String, _>(7),
                        "evidence": r.get::<String, _>(8),
                        "count": r.get::<i64, _>(9),
                        "first_seen": crate::store::iso(r.get(10)),
                        "last_seen": crate::store::iso(r.get(11)),
                    }),
                });
            }
            if n < DETECT_BATCH {
                break;
            }
        }
        Ok((out, pins))
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
        assert!(
            "https://hooks.example.com/x"
                .parse::<WebhookUrl>()
                .unwrap_err()
                .contains("HTTPS")
        );
        assert!("http://user:pw@h/x".parse::<WebhookUrl>().is_err());
        assert!("http://h:99999/".parse::<WebhookUrl>().is_err());
        assert!("http:///x".parse::<WebhookUrl>().is_err());
        assert!("ftp://h/".parse::<WebhookUrl>().is_err());
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
        assert!(post_json(&url, None, "{}", Duration::from_secs(1)).is_err());
    }
}
