//! Alerts: what is new in the inventory after a flush, sent as JSON to a webhook and logged as
//! one structured line on standard error (journald keeps it).
//!
//! [`Detector`] compares the store with what it saw before: endpoints with an id above the last
//! one seen are new; findings with an id above the last one seen are candidates, and a finding
//! whose identity (`dedup_key`) was seen before is not new (spec assessment re-creates its
//! findings with fresh ids). Both start from the database as it is when the daemon starts, so a
//! restart does not repeat old alerts.
//!
//! Triage is honoured: a finding triaged `acknowledged` or `false_positive` raises no alert; a
//! `resolved` one that the store re-opens (seen again after its resolution: a history row by
//! `shadowtap`, see [`crate::store::triage`]) raises its alert again, once per re-opening.
//!
//! [`Alerter`] deduplicates (an alert key is sent once per process; a bounded memory of keys),
//! rate-limits with a token bucket (suppressed alerts are counted, and a summary line says how
//! many), logs, and hands alerts to the webhook thread over a bounded queue. The webhook client
//! (URL checks, TLS trust, delivery and retries) is [`super::webhook`].
//!
//! ```json
//! {"type": "new_endpoint", "sensor": "tap-1", "time": "2025-01-01T12:00:00.000000000Z",
//!  "severity": "info", "host": "api.example.com", "method": "GET",
//!  "path_template": "/users/{user_id}", "endpoint_id": 42,
//!  "first_seen": "2025-01-01T11:59:58.120000000Z", "classification": null,
//!  "summary": "new endpoint GET api.example.com/users/{user_id}"}
//! ```

use super::metrics::SensorMetrics;
use super::webhook::{Delivery, Tls, WebhookUrl, tls_for, webhook_loop};
use crate::analyze::posture::Severity;
use crate::store::{Store, StoreError};
use serde_json::{Value, json};
use std::collections::{HashSet, VecDeque};
use std::hash::BuildHasher;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{SyncSender, TrySendError};
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
    /// Timeout of one POST (connection and whole exchange).
    pub timeout: Duration,
    /// Findings at least this severe raise an alert; `None`: findings raise none.
    pub min_severity: Option<Severity>,
    /// Endpoints not in the inventory before raise an alert.
    pub new_endpoints: bool,
    /// New shadow and zombie APIs raise an alert.
    pub shadow_zombie: bool,
    /// A client fingerprint new to an encrypted service with a stable set raises an alert.
    pub new_tls_fingerprints: bool,
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
            new_tls_fingerprints: true,
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
    /// A client fingerprint (JA4) new to an encrypted service that had a stable set
    /// (finding `tls_new_client_fingerprint`).
    NewTlsFingerprint,
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
            AlertKind::NewTlsFingerprint => "new_tls_fingerprint",
        }
    }

    fn index(self) -> usize {
        match self {
            AlertKind::NewEndpoint => 0,
            AlertKind::ShadowApi => 1,
            AlertKind::ZombieApi => 2,
            AlertKind::Finding => 3,
            AlertKind::SensorHealth => 4,
            AlertKind::NewTlsFingerprint => 5,
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
        if self.order.len() > self.cap
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        true
    }
}

/// Keys remembered for deduplication.
const RECENT_KEYS: usize = 200_000;
/// Alerts waiting for the webhook.
const WEBHOOK_QUEUE: usize = 1024;

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
            tls: tls_for(settings.webhook.as_ref(), settings.ca_file.as_deref()),
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
        self.tls = tls_for(settings.webhook.as_ref(), settings.ca_file.as_deref());
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
        log_alert(&body);
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
            tracing::warn!(
                suppressed = self.suppressed_since_log,
                rate_per_minute = self.settings.rate_per_minute,
                burst = self.settings.burst,
                "alerts suppressed by the rate limit"
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
                tracing::warn!("webhook deliveries still pending at exit");
            }
        }
    }
}

/// Logs an alert (a `warn` event `alert` with its type, severity, kind, host, method, path
/// template, client, endpoint and finding ids and summary, those it has). Its strings come
/// from the wire: each is cut at 300 characters, and the log's sink escapes them.
fn log_alert(body: &Value) {
    let text = |key: &str| {
        body.get(key)
            .and_then(Value::as_str)
            .map(|s| s.char_indices().nth(300).map_or(s, |(end, _)| &s[..end]))
    };
    let id = |key: &str| body.get(key).and_then(Value::as_i64);
    tracing::warn!(
        r#type = text("type"),
        severity = text("severity"),
        kind = text("kind"),
        host = text("host"),
        method = text("method"),
        path_template = text("path_template"),
        client = text("client"),
        endpoint_id = id("endpoint_id"),
        finding_id = id("finding_id"),
        summary = text("summary"),
        "alert"
    );
}

/// Finds what is new in the store since the last look.
pub struct Detector {
    last_endpoint: i64,
    last_finding: i64,
    /// The identities of the latest findings (about 30 bytes each).
    seen_findings: Recent,
    /// The newest triage history row looked at (re-openings after it alert).
    last_triage: i64,
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
            last_triage: store.last_triage_event().await?,
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
                if let Some(alert) = finding_alert(r, dedup_key, settings) {
                    out.push(alert);
                }
            }
            if n < DETECT_BATCH {
                break;
            }
        }
        loop {
            let events = store
                .triage_events_after(self.last_triage, DETECT_BATCH)
                .await?;
            let n = events.len() as i64;
            for e in events {
                self.last_triage = self.last_triage.max(e.id);
                if e.to_state != "open" || e.actor != crate::store::triage::SYSTEM_ACTOR {
                    continue;
                }
                let Some(r) = store.finding_by_key(&e.dedup_key).await? else {
                    continue;
                };
                let key = format!("{}#reopened-{}", e.dedup_key, e.id);
                if let Some(mut alert) = finding_alert(r, key, settings) {
                    alert.body["reopened"] = json!(true);
                    if let Some(s) = alert.body["summary"].as_str() {
                        alert.body["summary"] =
                            json!(format!("{s} (re-opened: seen again after resolution)"));
                    }
                    out.push(alert);
                }
            }
            if n < DETECT_BATCH {
                break;
            }
        }
        Ok(out)
    }
}

/// The alert a finding raises under `settings`, if any: none for a finding triaged
/// `acknowledged` or `false_positive`.
fn finding_alert(
    r: crate::store::dashboard::FindingRow,
    dedup_key: String,
    settings: &AlertSettings,
) -> Option<Alert> {
    if matches!(r.triage_state.as_str(), "acknowledged" | "false_positive") {
        return None;
    }
    let (kind, severity) = (r.kind, r.severity);
    let alert_kind = match kind.as_str() {
        "shadow_api" if settings.shadow_zombie => AlertKind::ShadowApi,
        "zombie_api" if settings.shadow_zombie => AlertKind::ZombieApi,
        "tls_new_client_fingerprint" if settings.new_tls_fingerprints => {
            AlertKind::NewTlsFingerprint
        }
        _ => match (settings.min_severity, Severity::parse(&severity)) {
            (Some(min), Some(s)) if s >= min => AlertKind::Finding,
            _ => return None,
        },
    };
    let (host, method, template) = (r.host, r.method, r.path_template);
    Some(Alert {
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
            "triage_state": r.triage_state,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, Read, Write};

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
        let long = "x".repeat(400);
        let line = crate::logging::logged(|| {
            log_alert(&json!({
                "type": "new_endpoint", "host": "evil\"\n host=x", "endpoint_id": 7,
                "summary": long,
            }))
        });
        assert_eq!(
            line,
            format!(
                "shadowtap: level=warn msg=\"alert\" type=\"new_endpoint\" host=\"evil\\\"\\n host=x\" endpoint_id=7 summary=\"{}\"\n",
                "x".repeat(300)
            )
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
}
