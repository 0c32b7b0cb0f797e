//! The sensor daemon (`shadowtap run`): live capture on a tap host, analysed on every core,
//! merged into the inventory every flush interval, served by the dashboard in the same process.
//!
//! ```text
//!  capture thread (per interface) ──batches, sharded──▶ bounded queue ─▶ worker 0..N-1
//!                                                                     (Engine + Inventory)
//!                                                                            │ drains
//!  dashboard + /metrics ◀── SensorMetrics ◀────────────── writer task ◀──────┘
//!                                                  (Store::merge, alerts, retention)
//! ```
//!
//! - [`shard`]: which worker a frame goes to (both directions of a connection, and by default
//!   every connection between two addresses, to the same worker).
//! - [`pipeline`]: capture threads, batches, queues and workers.
//! - [`writer`]: the single database writer.
//! - [`alerts`] (what is new, deduplicated and rate-limited) and [`webhook`] (its delivery),
//!   [`metrics`]; the retention passes it schedules are
//!   [`crate::store::retention`].
//!
//! Signals: SIGTERM and SIGINT stop capture (after reading what the kernel still holds), let
//! the workers empty their queues, close open connections (their transactions are stored as
//! partial), flush, and exit 0. SIGHUP re-reads the configuration file and applies the
//! `[alerts]` and `[retention]` sections (command-line flags still win); everything else
//! (interfaces, filter, workers, database, listener, limits) needs a restart, and a reload
//! that changes it says so in the log.

pub mod alerts;
pub mod follow;
pub mod metrics;
pub mod pipeline;
pub mod shard;
pub mod webhook;
pub mod writer;

pub use crate::store::retention::RetentionSettings;
pub use alerts::AlertSettings;
pub use metrics::SensorMetrics;
pub use shard::{ShardMode, Sharder};

use crate::analyze::inventory::InventoryConfig;
use crate::analyze::posture::Severity;
use crate::capture::{LiveOptions, LiveSource};
use crate::config::Config;
use crate::decode::DefragConfig;
use crate::engine::EngineConfig;
use crate::http::HttpConfig;
use crate::reassembly::ReassemblyConfig;
use crate::store::{Store, StoreLimits};
use crate::tls::TlsConfig;
use crate::web::AuthConfig;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

const MIB: u64 = 1 << 20;

/// Errors that stop the daemon.
#[derive(Debug, thiserror::Error)]
pub enum SensorError {
    /// The settings are inconsistent.
    #[error("{0}")]
    Config(String),
    /// An interface could not be opened or read.
    #[error(transparent)]
    Capture(#[from] crate::capture::CaptureError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The dashboard could not listen.
    #[error("dashboard: {0}")]
    Web(String),
    /// Anything else from the system.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Everything the daemon runs with, resolved from the configuration file and flags.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Interfaces, one capture thread each.
    pub interfaces: Vec<String>,
    /// BPF filter.
    pub bpf: Option<String>,
    /// Bytes kept per frame.
    pub snaplen: i32,
    /// Promiscuous mode.
    pub promisc: bool,
    /// Kernel buffer per interface, bytes.
    pub buffer_size: u64,
    /// Analysis workers.
    pub workers: usize,
    /// Packets queued per worker.
    pub queue_depth: usize,
    /// How frames are shared out.
    pub shard: ShardMode,
    /// Inventory database.
    pub db: PathBuf,
    /// Time between flushes.
    pub flush_interval: Duration,
    /// Time between spec assessments.
    pub assess_interval: Duration,
    /// Database bounds.
    pub store_limits: StoreLimits,
    /// Engine limits, per worker.
    pub engine: EngineConfig,
    /// Inventory limits and pins (the workers share one template book).
    pub inventory: InventoryConfig,
    /// Dashboard address (`None`: no dashboard).
    pub listen: Option<String>,
    /// Dashboard authentication.
    pub auth: AuthConfig,
    /// Alerts.
    pub alerts: AlertSettings,
    /// Retention.
    pub retention: RetentionSettings,
    /// Memory budget, bytes.
    pub memory_budget: u64,
    /// Observed host -> spec host.
    pub spec_hosts: std::collections::BTreeMap<String, String>,
    /// Owned hosts, third parties and ignore rules (`[hosts]`; `None`: the stored ones stay).
    /// Reloaded by SIGHUP; the next assessment applies them.
    pub scope_rules: Option<crate::analyze::scope::ScopeRules>,
    /// Written (with the dashboard URL, or `ready`) once capture runs.
    pub ready_file: Option<PathBuf>,
    /// The fleet's centre (`--central postgres://...`): each flush's delta also goes to the
    /// outbox, shipped by a task every flush interval (docs/fleet.md).
    pub central: Option<String>,
    /// This sensor's name in the fleet (`--sensor`; default the kept one, else the host name).
    pub sensor: Option<String>,
    /// Access logs followed as they grow (`[[follow]]`, `--follow`): one reader thread each.
    pub follow: Vec<FollowSpec>,
}

/// An access log the daemon follows.
#[derive(Clone, Debug, PartialEq)]
pub struct FollowSpec {
    /// The path.
    pub path: PathBuf,
    /// Its format (`None`: told from its first line).
    pub format: Option<crate::source::Format>,
    /// The host of lines that name none.
    pub host: Option<String>,
    /// Read what the file holds at start too.
    pub from_start: bool,
}

/// The followed logs of a configuration, checked.
fn follow_specs(c: &Config) -> Result<Vec<FollowSpec>, String> {
    c.follow
        .iter()
        .map(|f| {
            if f.path.as_os_str().is_empty() {
                return Err("[[follow]] path is empty".to_string());
            }
            let format = match f.format.as_deref().map(str::trim) {
                None | Some("") | Some("auto") => None,
                Some(name) => match crate::source::Format::from_name(name) {
                    Some(crate::source::Format::Har) => {
                        return Err(format!(
                            "[[follow]] {}: a HAR file is one JSON document, not a log to follow; use `shadowtap ingest --source har`",
                            f.path.display()
                        ));
                    }
                    Some(fmt) => Some(fmt),
                    None => {
                        return Err(format!(
                            "[[follow]] {}: unknown format {name:?} (auto, combined, nginx, apache, nginx-json, envoy, envoy-json, haproxy, caddy, traefik, alb, kong)",
                            f.path.display()
                        ));
                    }
                },
            };
            Ok(FollowSpec {
                path: f.path.clone(),
                format,
                host: f.host.clone().filter(|h| !h.trim().is_empty()),
                from_start: f.from_start,
            })
        })
        .collect()
}

/// The settings SIGHUP reloads.
#[derive(Clone, Debug, PartialEq)]
pub struct Reloadable {
    /// Alerts.
    pub alerts: AlertSettings,
    /// Retention.
    pub retention: RetentionSettings,
}

/// Produces the reloadable settings again (re-reading the file), for SIGHUP; also returns the
/// full settings so that changes needing a restart can be named.
pub type Reloader = Box<dyn Fn() -> Result<Settings, String> + Send + Sync>;

fn read_secret(path: &std::path::Path, what: &str) -> Result<String, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("{what} {}: {e}", path.display()))?;
    let t = text.trim().to_string();
    if t.is_empty() {
        return Err(format!("{what} {} is empty", path.display()));
    }
    Ok(t)
}

/// Divides a worker's share of the memory budget for long-lived analysis state among its
/// structures, each capped by count at its own cost per entry (see docs/daemon.md, "Memory"):
/// half to the principals of the call-sequence analysis (held to their estimated bytes), a
/// quarter to the (host, client) rate pairs, the last quarter to pending logins, interned
/// endpoints, transitions and paths between flushes, baseline transitions and norms. Never
/// above the defaults of `ingest`.
fn analysis_shares(inv: &mut InventoryConfig, bytes: usize) {
    use crate::analyze::inventory::RATE_PAIR_BYTES;
    use crate::analyze::sequence as sq;
    let d = InventoryConfig::default();
    let (ds, s) = (&d.sequence, &mut inv.sequence);
    let rest = bytes / 4;
    s.max_principal_bytes = (bytes / 2).clamp(256 << 10, ds.max_principal_bytes);
    // The table is allocated whole: about one slot per 512 bytes of principals.
    s.max_principals = (s.max_principal_bytes / 512).clamp(256, ds.max_principals);
    inv.max_rate_pairs = (bytes / 4 / RATE_PAIR_BYTES).clamp(256, d.max_rate_pairs);
    s.max_pending_logins = (rest / 4 / sq::LOGIN_BYTES).clamp(64, ds.max_pending_logins);
    s.max_keys = (rest / 4 / sq::KEY_BYTES).clamp(256, ds.max_keys);
    s.max_transitions = (rest / 8 / sq::TRANSITION_BYTES).clamp(256, ds.max_transitions);
    s.max_paths = (rest / 8 / sq::TRANSITION_BYTES).clamp(256, ds.max_paths);
    s.max_baseline = (rest / 8 / sq::BASELINE_BYTES).clamp(256, ds.max_baseline);
    s.max_norms = (rest / 8 / sq::NORM_BYTES).clamp(256, ds.max_norms);
}

impl Settings {
    /// Resolves a configuration (file with flags laid over it): defaults, the caps derived from
    /// the memory budget, secrets read from their files.
    pub fn from_config(c: &Config) -> Result<Settings, String> {
        let interfaces = c.capture.interfaces.clone().unwrap_or_default();
        let follow = follow_specs(c)?;
        if (interfaces.is_empty() && follow.is_empty())
            || interfaces.iter().any(|i| i.trim().is_empty())
        {
            return Err(
                "no interface: set [capture] interfaces or --interface (or follow a log: [[follow]] or --follow)"
                    .into(),
            );
        }
        let db = c
            .store
            .db
            .clone()
            .ok_or("no database: set [store] db or --db")?;
        let workers = match c.capture.workers.unwrap_or(0) {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
        .clamp(1, 256);
        let buffer_size = c.capture.buffer_size.map_or(32 * MIB, |b| b.0);
        if buffer_size > i32::MAX as u64 {
            return Err("[capture] buffer_size must be below 2 GiB".into());
        }
        let snaplen = c.capture.snaplen.unwrap_or(262_144);
        if !(64..=262_144).contains(&snaplen) {
            return Err("[capture] snaplen must be between 64 and 262144".into());
        }
        let budget = c.limits.memory_budget.map_or(1024 * MIB, |b| b.0);
        // Fixed costs: the kernel rings mapped into the process, the runtime, SQLite, the web.
        let rings = interfaces.len() as u64 * buffer_size;
        let base = 48 * MIB;
        let left = budget.saturating_sub(rings + base);
        let per_packet = (pipeline::BATCH_BYTES / pipeline::BATCH_PACKETS) as u64;
        let queue_depth = match c.capture.queue_depth {
            Some(q) => q.max(pipeline::BATCH_PACKETS),
            None => ((left / 8 / workers as u64 / per_packet) as usize).clamp(256, 8192),
        };
        let queues =
            workers as u64 * (queue_depth as u64 + 4 * pipeline::BATCH_PACKETS as u64) * per_packet;
        let per_worker = left.saturating_sub(queues) / workers as u64;
        if per_worker < 16 * MIB {
            return Err(format!(
                "[limits] memory_budget of {} MiB is too small for {} interface(s) with {} MiB buffers, {workers} workers and queues of {queue_depth} packets: raise it, or lower buffer_size, workers or queue_depth",
                budget / MIB,
                interfaces.len(),
                buffer_size / MIB
            ));
        }
        let l = &c.limits;
        let share = |div: u64| (per_worker / div) as usize;
        let mut engine = EngineConfig {
            defrag: DefragConfig {
                max_datagrams: l.max_fragmented_datagrams.unwrap_or(1024).max(1),
                ..DefragConfig::default()
            },
            reassembly: ReassemblyConfig {
                max_flows: l
                    .max_flows
                    .unwrap_or((share(8) / 2048).clamp(1024, 262_144))
                    .max(1),
                idle_timeout_ns: l.flow_timeout.map_or(300_000_000_000, |d| {
                    d.0.as_nanos().min(i64::MAX as u128) as i64
                }),
                max_buffered_per_dir: l.max_buffered_per_dir.map_or(1 << 20, |b| b.0 as usize),
                max_buffered_total: l
                    .max_reassembly_memory
                    .map_or(share(4).min(512 << 20), |b| b.0 as usize),
                ..ReassemblyConfig::default()
            },
            http: HttpConfig {
                max_head_bytes: l.max_head_bytes.map_or(64 * 1024, |b| b.0 as usize),
                max_headers: l.max_headers.unwrap_or(128),
                body_sample_bytes: l.body_sample.map_or(64 * 1024, |b| b.0 as usize),
                // A quarter of the worker's share goes to the two protocol layers: three
                // sixteenths to HTTP, one to TLS handshakes in progress.
                max_memory: l
                    .max_http_memory
                    .map_or((share(16) * 3).min(256 << 20), |b| b.0 as usize),
                ..HttpConfig::default()
            },
            tls: TlsConfig {
                max_memory: share(16).min(64 << 20),
                ..TlsConfig::default()
            },
            http2: None,
            websocket: None,
        };
        engine.websocket = Some(c.websocket.config(engine.http.body_sample_bytes)?);
        let t = &c.tls;
        if let Some(path) = t.keylog.as_ref().filter(|p| !p.as_os_str().is_empty()) {
            // One key log for every worker; a lookup that misses reads what was appended, at
            // most once a second.
            let max = t
                .keylog_max_entries
                .unwrap_or(crate::tls::keylog::KeyLog::DEFAULT_MAX_ENTRIES)
                .max(1);
            let store = crate::tls::KeyStore::follow(path, max, Duration::from_secs(1))
                .map_err(|e| format!("[tls] keylog {}: {e}", path.display()))?;
            let s = store.stats();
            tracing::info!(
                path = %path.display(),
                secrets = s.secrets,
                malformed = s.malformed,
                "key log read; followed as it grows"
            );
            let d = crate::tls::DecryptConfig::default();
            engine.tls.keys = Some(std::sync::Arc::new(store));
            engine.tls.hold_for_keys = true;
            engine.tls.decrypt = crate::tls::DecryptConfig {
                max_held_per_conn: t
                    .max_held_per_conn
                    .map_or(d.max_held_per_conn, |b| b.0 as usize),
                max_held_total: t
                    .max_held
                    .map_or(share(32).min(d.max_held_total), |b| b.0 as usize),
                hold_timeout_ns: t.hold_timeout.map_or(d.hold_timeout_ns, |i| {
                    i.0.as_nanos().min(i64::MAX as u128) as i64
                }),
            };
        }
        let mut inventory = InventoryConfig {
            pinned: c
                .templates
                .iter()
                .map(|t| (t.host.clone(), t.path.clone()))
                .collect(),
            max_hosts: l
                .max_hosts
                .unwrap_or((share(8) / (64 * 1024)).clamp(16, 1024))
                .max(1),
            max_endpoints: l
                .max_endpoints_per_flush
                .unwrap_or((share(8) / (16 * 1024)).clamp(256, 50_000))
                .max(1),
            ..InventoryConfig::default()
        };
        analysis_shares(&mut inventory, share(8));
        c.sequences.apply(&mut inventory.sequence);
        if !c.grpc.descriptors.is_empty() {
            inventory.grpc_descriptors = Some(std::sync::Arc::new(
                crate::analyze::grpc::Descriptors::load_all(&c.grpc.descriptors)
                    .map_err(|e| format!("[grpc] descriptors: {e}"))?,
            ));
        }
        let listen = match c.web.listen.as_deref() {
            None => Some("127.0.0.1:8080".to_string()),
            Some(s) if s.trim().is_empty() || s.trim() == "off" => None,
            Some(s) => Some(s.trim().to_string()),
        };
        let auth = AuthConfig {
            token: match &c.web.auth_token_file {
                Some(p) => Some(crate::web::auth::read_token_file(p, "auth_token_file")?),
                None => None,
            },
            password_hash: c.web.password_hash.clone().filter(|h| !h.trim().is_empty()),
            trusted_proxies: crate::web::auth::parse_proxies(
                c.web.trusted_proxies.as_deref().unwrap_or_default(),
            )
            .map_err(|e| format!("[web] trusted_proxies: {e}"))?,
            cookie_secure: c.web.cookie_secure.unwrap_or(false),
            allow_spec_upload: c.web.allow_spec_upload.unwrap_or(false),
        };
        auth.validate()?;
        let r = Self::reloadable(c)?;
        let flush_interval = c
            .store
            .flush_interval
            .map_or(Duration::from_secs(10), |d| d.0);
        if flush_interval < Duration::from_millis(100) {
            return Err("[store] flush_interval must be at least 100ms".into());
        }
        Ok(Settings {
            interfaces,
            bpf: c.capture.bpf.clone().filter(|b| !b.trim().is_empty()),
            snaplen,
            promisc: c.capture.promisc.unwrap_or(false),
            buffer_size,
            workers,
            queue_depth,
            shard: c.capture.shard.unwrap_or_default(),
            db,
            flush_interval,
            assess_interval: c
                .store
                .assess_interval
                .map_or(Duration::from_secs(60), |d| d.0),
            store_limits: StoreLimits {
                max_endpoints: c.store.max_endpoints.unwrap_or(100_000).max(1),
                max_clients_per_endpoint: c.store.max_clients_per_endpoint.unwrap_or(1000).max(0),
                spool_bytes: c
                    .store
                    .spool_bytes
                    .map_or(StoreLimits::default().spool_bytes, |b| b.0),
                ..StoreLimits::default()
            },
            engine,
            inventory,
            listen,
            auth,
            alerts: r.alerts,
            retention: r.retention,
            memory_budget: budget,
            spec_hosts: c.spec.hosts.clone(),
            scope_rules: c.hosts.as_ref().map(|h| h.rules()).transpose()?,
            ready_file: None,
            central: None,
            sensor: None,
            follow,
        })
    }

    /// The `[alerts]` and `[retention]` sections alone.
    pub fn reloadable(c: &Config) -> Result<Reloadable, String> {
        let a = &c.alerts;
        let min_severity = match a.min_severity.as_deref().map(str::trim) {
            None => Some(Severity::High),
            Some("off" | "none" | "") => None,
            Some(s) => Some(Severity::parse(s).ok_or_else(|| {
                format!(
                    "[alerts] min_severity {s:?}: expected info, low, medium, high, critical or off"
                )
            })?),
        };
        let defaults = AlertSettings::default();
        let webhook: Option<webhook::WebhookUrl> = match a.webhook_url.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(u) => Some(u.parse()?),
        };
        let ca_file = a
            .webhook_ca_file
            .clone()
            .filter(|p| !p.as_os_str().is_empty());
        if let Some(p) = &ca_file {
            if !webhook.as_ref().is_some_and(|u| u.tls) {
                return Err(format!(
                    "[alerts] webhook_ca_file {}: only used with an https:// webhook_url",
                    p.display()
                ));
            }
            // Read now so that a bad bundle stops the start (or the reload), not the first alert.
            webhook::tls_client(Some(p))?;
        }
        let alerts = AlertSettings {
            webhook,
            token: match &a.webhook_token_file {
                Some(p) => {
                    let token = read_secret(p, "webhook_token_file")?;
                    webhook::check_token(&token)
                        .map_err(|e| format!("webhook_token_file {}: {e}", p.display()))?;
                    Some(token)
                }
                None => None,
            },
            ca_file,
            timeout: a.webhook_timeout.map_or(defaults.timeout, |d| d.0),
            min_severity,
            new_endpoints: a.new_endpoints.unwrap_or(true),
            shadow_zombie: a.shadow_zombie.unwrap_or(true),
            new_tls_fingerprints: a.new_tls_fingerprints.unwrap_or(true),
            rate_per_minute: a.rate_per_minute.unwrap_or(defaults.rate_per_minute),
            burst: a.burst.unwrap_or(defaults.burst).max(1),
            sensor: a
                .sensor_name
                .clone()
                .filter(|s| !s.trim().is_empty())
                .unwrap_or(defaults.sensor),
        };
        let r = &c.retention;
        let retention = RetentionSettings {
            detail_days: r.detail_days.unwrap_or(30),
            max_db_bytes: r.max_db_size.map_or(0, |b| b.0),
            interval: r
                .interval
                .map_or(Duration::from_secs(3600), |d| d.0)
                .max(Duration::from_secs(1)),
        };
        Ok(Reloadable { alerts, retention })
    }

    /// What differs from `new` that a reload cannot apply (restart needed).
    pub fn restart_needed(&self, new: &Settings) -> Vec<&'static str> {
        let mut out = Vec::new();
        let mut check = |name, differs: bool| {
            if differs {
                out.push(name);
            }
        };
        check("interfaces", self.interfaces != new.interfaces);
        check("bpf", self.bpf != new.bpf);
        check("snaplen", self.snaplen != new.snaplen);
        check("promisc", self.promisc != new.promisc);
        check("buffer_size", self.buffer_size != new.buffer_size);
        check("workers", self.workers != new.workers);
        check("queue_depth", self.queue_depth != new.queue_depth);
        check("shard", self.shard != new.shard);
        check("db", self.db != new.db);
        check("flush_interval", self.flush_interval != new.flush_interval);
        check("listen", self.listen != new.listen);
        check("auth", self.auth != new.auth);
        check("memory_budget", self.memory_budget != new.memory_budget);
        check("follow", self.follow != new.follow);
        out
    }

    fn live_options(&self, interface: &str) -> LiveOptions {
        LiveOptions {
            interface: interface.to_string(),
            bpf: self.bpf.clone(),
            snaplen: self.snaplen,
            promisc: self.promisc,
            buffer_size: self.buffer_size as i32,
            read_timeout_ms: 100,
        }
    }
}

/// What a run did.
#[derive(Debug, Default)]
pub struct Summary {
    /// Frames read.
    pub packets: u64,
    /// Frames dropped at full queues.
    pub queue_dropped: u64,
    /// Frames the kernel dropped.
    pub kernel_dropped: u64,
    /// Transactions found.
    pub transactions: u64,
    /// Endpoints created.
    pub endpoints_created: u64,
    /// Flush rounds.
    pub flushes: u64,
    /// Merges that failed.
    pub flush_errors: u64,
}

/// Runs the daemon until SIGTERM/SIGINT (`Ok`) or a capture failure (`Err`, after flushing).
pub fn run(settings: Settings, reload: Reloader) -> Result<Summary, SensorError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("shadowtap-rt")
        .enable_all()
        .build()?;
    rt.block_on(run_async(settings, reload))
}

async fn run_async(settings: Settings, reload: Reloader) -> Result<Summary, SensorError> {
    use tokio::signal::unix::{SignalKind, signal};
    // Handlers first: a signal during start-up is then seen by the loop below instead of
    // killing the process half-started.
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    let s = settings;
    let store = Store::open(&s.db)
        .await?
        .with_limits(s.store_limits.clone());
    for (observed, spec_host) in &s.spec_hosts {
        crate::store::spec::map_host(&store, observed, spec_host)
            .await
            .map_err(|e| SensorError::Config(e.to_string()))?;
    }
    if let Some(rules) = &s.scope_rules {
        store.set_scope_rules(rules).await?;
    }
    // The fleet: the outbox on, and its shipping task (stopped after the last merge).
    let ship_stats = Arc::new(crate::fleet::ship::ShipStats::default());
    let (ship_stop_tx, ship_stop_rx) = tokio::sync::watch::channel(false);
    let mut ship_task = None;
    if let Some(url) = &s.central {
        let name = store.enable_outbox(s.sensor.as_deref()).await?;
        tracing::info!(sensor = %name, "shipping deltas to the centre");
        ship_task = Some(tokio::spawn(crate::fleet::ship::run(
            store.clone(),
            url.clone(),
            name,
            s.flush_interval,
            ship_stats.clone(),
            ship_stop_rx,
        )));
    }
    // One template book for every worker: they name each endpoint alike, as one ingest of
    // the same traffic does.
    let mut inventories = Vec::with_capacity(s.workers);
    let first = crate::ingest::inventory_for(&store, s.inventory.clone()).await?;
    let book = first.book().clone();
    inventories.push(first);
    for _ in 1..s.workers + s.follow.len() {
        inventories.push(
            crate::ingest::inventory_with_book(&store, s.inventory.clone(), book.clone()).await?,
        );
    }
    // Open every interface before anything starts: a wrong name or a missing capability is
    // reported at once.
    let mut sources = Vec::new();
    for i in &s.interfaces {
        sources.push(LiveSource::open(&s.live_options(i))?);
    }
    let batches_per_queue = (s.queue_depth / pipeline::BATCH_PACKETS).max(1);
    let follow_paths: Vec<PathBuf> = s.follow.iter().map(|f| f.path.clone()).collect();
    let metrics = Arc::new(
        SensorMetrics::new(
            &s.interfaces,
            s.workers,
            (batches_per_queue * pipeline::BATCH_PACKETS) as u64,
            s.memory_budget,
        )
        .with_follows(&follow_paths),
    );
    if ship_task.is_some() {
        // Shipping's counters on /metrics and the Sensor page.
        let _ = metrics.fleet.set(ship_stats.clone());
    }
    metrics
        .db_budget_bytes
        .store(s.retention.max_db_bytes, Ordering::Relaxed);
    // The dashboard, on a read-only connection, with the live numbers.
    let (web_stop_tx, web_stop_rx) = tokio::sync::watch::channel(false);
    let mut web_task = None;
    let mut url = None;
    if let Some(listen) = &s.listen {
        let listener = crate::web::bind(listen, &s.auth)
            .await
            .map_err(SensorError::Web)?;
        let ro = Store::open_read_only(&s.db).await?;
        let state = crate::web::AppState::new(ro, s.auth.clone())
            .map_err(SensorError::Web)?
            .with_sensor(metrics.clone());
        url = Some(crate::web::url_of(&listener));
        let mut rx = web_stop_rx.clone();
        web_task = Some(tokio::spawn(crate::web::serve(
            listener,
            state,
            async move {
                let _ = rx.wait_for(|v| *v).await;
            },
        )));
    }

    let started_ns = crate::time::Timestamp::now().as_nanos();
    let source = if s.follow.is_empty() {
        format!("live:{}", s.interfaces.join(","))
    } else {
        format!(
            "live:{}{}follow:{}",
            s.interfaces.join(","),
            if s.interfaces.is_empty() { "" } else { ";" },
            follow_paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(",")
        )
    };
    let capture_id = store
        .begin_capture(&crate::store::CaptureRecord {
            sha256: format!(
                "{source}:{}:{started_ns}:{}",
                alerts::host_name(),
                std::process::id()
            ),
            path: source.clone(),
            source: source.clone(),
            ..Default::default()
        })
        .await?;
    let detector = alerts::Detector::start(&store).await?;

    // Queues, workers, writer.
    let pool = Arc::new(pipeline::Pool::new(s.workers * (batches_per_queue + 4)));
    let epoch = Arc::new(AtomicU64::new(0));
    let (report_tx, report_rx) = tokio::sync::mpsc::channel((s.workers + s.follow.len()).max(1));
    let mut queues = Vec::new();
    let mut workers = Vec::new();
    let follow_inventories = inventories.split_off(s.workers);
    for (id, inventory) in inventories.into_iter().enumerate() {
        let (tx, rx) = std::sync::mpsc::sync_channel(batches_per_queue);
        queues.push(tx);
        let task = pipeline::WorkerTask {
            id,
            queue: rx,
            pool: pool.clone(),
            engine: s.engine.clone(),
            inventory,
            out: report_tx.clone(),
            epoch: epoch.clone(),
            metrics: metrics.clone(),
        };
        workers.push(
            std::thread::Builder::new()
                .name(format!("shadowtap-w{id}"))
                .spawn(move || pipeline::worker_loop(task))?,
        );
    }
    // The followed logs: one more worker each, after the capture workers.
    let follow_stop = Arc::new(AtomicBool::new(false));
    for (index, (spec, inventory)) in s.follow.iter().zip(follow_inventories).enumerate() {
        let task = follow::FollowTask {
            id: s.workers + index,
            index,
            spec: spec.clone(),
            inventory,
            out: report_tx.clone(),
            epoch: epoch.clone(),
            metrics: metrics.clone(),
            stop: follow_stop.clone(),
        };
        tracing::info!(
            path = %spec.path.display(),
            format = spec.format.map_or("auto", |f| f.name()),
            "following an access log"
        );
        workers.push(
            std::thread::Builder::new()
                .name(format!("shadowtap-f{index}"))
                .spawn(move || follow::follow_loop(task))?,
        );
    }
    drop(report_tx);
    let (reload_tx, reload_rx) = tokio::sync::watch::channel(Reloadable {
        alerts: s.alerts.clone(),
        retention: s.retention.clone(),
    });
    let writer = writer::Writer {
        store: store.clone(),
        metrics: metrics.clone(),
        epoch,
        detector,
        alerter: alerts::Alerter::new(s.alerts.clone(), metrics.clone()),
        retention: s.retention.clone(),
        workers: s.workers + s.follow.len(),
        flush_interval: s.flush_interval,
        assess_interval: s.assess_interval,
        capture_id,
        started_ns,
        analyzed: None,
    };
    let writer_task = tokio::spawn(writer.run(report_rx, reload_rx));

    // Capture threads.
    let stop = Arc::new(AtomicBool::new(false));
    let (fatal_tx, mut fatal_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let sharder = Sharder::new(s.shard);
    let mut captures = Vec::new();
    for (index, source) in sources.into_iter().enumerate() {
        let task = pipeline::CaptureTask {
            source,
            index,
            queues: queues.clone(),
            pool: pool.clone(),
            sharder: sharder.clone(),
            stop: stop.clone(),
            metrics: metrics.clone(),
            grace: Duration::from_millis(300),
        };
        let fatal = fatal_tx.clone();
        let name = s.interfaces[index].clone();
        captures.push(
            std::thread::Builder::new()
                .name(format!("shadowtap-c{index}"))
                .spawn(move || {
                    if let Err(e) = pipeline::capture_loop(task) {
                        let _ = fatal.send(format!("capture on {name} stopped: {e}"));
                    }
                })?,
        );
    }
    drop(queues);
    // Without an interface (logs followed only) nothing reports a capture failure: the
    // channel stays open until a signal.
    let _no_capture = captures.is_empty().then(|| fatal_tx.clone());
    drop(fatal_tx);

    tracing::info!(
        interfaces = s.interfaces.join(","),
        workers = s.workers,
        shard = s.shard.name(),
        queue_depth = s.queue_depth,
        flush_interval_ms = s.flush_interval.as_millis(),
        db = %s.db.display(),
        memory_budget_mib = s.memory_budget / MIB,
        max_flows_per_worker = s.engine.reassembly.max_flows,
        principal_kib_per_worker = s.inventory.sequence.max_principal_bytes >> 10,
        rate_pairs_per_worker = s.inventory.max_rate_pairs,
        dashboard = url.as_deref(),
        metrics = url.as_deref().map(|u| format!("{u}metrics")),
        "capturing"
    );
    if let Some(path) = &s.ready_file {
        std::fs::write(path, format!("{}\n", url.as_deref().unwrap_or("ready")))?;
    }

    // Wait for a signal or a capture failure; SIGHUP reloads.
    let mut failure = None;
    let mut current = s.clone();
    loop {
        tokio::select! {
            _ = term.recv() => { tracing::info!("SIGTERM: stopping"); break; }
            _ = int.recv() => { tracing::info!("SIGINT: stopping"); break; }
            _ = hup.recv() => match reload() {
                Ok(new) => {
                    let restart = current.restart_needed(&new);
                    let _ = reload_tx.send(Reloadable { alerts: new.alerts.clone(), retention: new.retention.clone() });
                    metrics.reloads.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(
                        restart_needed = (!restart.is_empty()).then(|| restart.join(",")),
                        "SIGHUP: alerts and retention reloaded"
                    );
                    current.alerts = new.alerts;
                    current.retention = new.retention;
                    // Host ownership and ignore rules: stored now, applied by the next assessment.
                    if new.scope_rules.is_some() && new.scope_rules != current.scope_rules {
                        match store.set_scope_rules(new.scope_rules.as_ref().unwrap_or(&Default::default())).await {
                            Ok(()) => {
                                tracing::info!("SIGHUP: [hosts] rules stored; the next assessment applies them");
                                current.scope_rules = new.scope_rules;
                            }
                            Err(e) => tracing::error!(error = %e, "SIGHUP: [hosts] rules not stored"),
                        }
                    }
                }
                Err(e) => {
                    metrics.reload_errors.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(error = e, "SIGHUP: configuration refused; the running settings stay");
                }
            },
            f = fatal_rx.recv() => {
                if let Some(f) = f {
                    tracing::error!("{f}");
                    failure = Some(f);
                    break;
                }
                // Every capture thread ended without error (cannot happen live): stop too.
                break;
            }
        }
    }

    // Shutdown: capture stops after reading what the kernel holds; workers empty their queues
    // and finish; the writer merges their last reports.
    stop.store(true, Ordering::SeqCst);
    follow_stop.store(true, Ordering::SeqCst);
    let joined = tokio::task::spawn_blocking(move || {
        for c in captures {
            let _ = c.join();
        }
        for w in workers {
            let _ = w.join();
        }
    });
    let _ = joined.await;
    let (ws, alerter) = writer_task
        .await
        .map_err(|e| SensorError::Config(format!("writer task: {e}")))?;
    drop(reload_tx);
    let _ = web_stop_tx.send(true);
    if let Some(t) = web_task {
        let _ = t.await;
    }
    let _ = tokio::task::spawn_blocking(move || alerter.close(Duration::from_secs(5))).await;
    let _ = ship_stop_tx.send(true);
    if let Some(t) = ship_task {
        let _ = t.await;
        tracing::info!(
            shipped = ship_stats.shipped.load(Ordering::Relaxed),
            bytes = ship_stats.bytes.load(Ordering::Relaxed),
            failures = ship_stats.failures.load(Ordering::Relaxed),
            pending = ship_stats.pending.load(Ordering::Relaxed),
            summarised = ship_stats.summarised.load(Ordering::Relaxed),
            over_bound = ship_stats.over_bound.load(Ordering::Relaxed),
            "deltas shipped to the centre"
        );
    }
    store.close().await;

    let totals = metrics.run_stats();
    let capture = totals.engine.capture.unwrap_or_default();
    let summary = Summary {
        packets: metrics
            .interfaces
            .iter()
            .map(|m| m.packets.load(Ordering::Relaxed))
            .sum(),
        queue_dropped: metrics.queue_dropped(),
        kernel_dropped: capture.dropped + capture.if_dropped,
        transactions: totals.engine.http.transactions,
        endpoints_created: metrics.endpoints_created.load(Ordering::Relaxed),
        flushes: ws.flushes,
        flush_errors: ws.errors,
    };
    tracing::info!(
        packets = summary.packets,
        transactions = summary.transactions,
        endpoints_created = summary.endpoints_created,
        flushes = summary.flushes,
        flush_errors = summary.flush_errors,
        queue_dropped = summary.queue_dropped,
        kernel_dropped = summary.kernel_dropped,
        "stopped"
    );
    match failure {
        Some(f) => Err(SensorError::Config(f)),
        None => Ok(summary),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(toml: &str) -> Config {
        toml::from_str(toml).unwrap()
    }

    #[test]
    fn the_example_configuration_parses() {
        let c: Config = toml::from_str(include_str!("../../systemd/shadowtap.toml")).unwrap();
        let s = Settings::from_config(&c).unwrap();
        assert_eq!(s.interfaces, vec!["eth1"]);
        assert_eq!(s.flush_interval, Duration::from_secs(10));
        assert_eq!(s.memory_budget, 1 << 30);
        assert_eq!(s.shard, ShardMode::Addresses);
        assert_eq!(s.retention.detail_days, 30);
    }

    #[test]
    fn a_key_log_is_followed_by_every_worker() {
        let dir = tempfile::tempdir().unwrap();
        let base = "[capture]\ninterfaces = [\"lo\"]\n[store]\ndb = \"x.db\"\n";
        let none = Settings::from_config(&config(base)).unwrap();
        assert!(none.engine.tls.keys.is_none());
        // The file need not exist yet: it is waited for.
        let path = dir.path().join("later.keys");
        let s = Settings::from_config(&config(&format!(
            "{base}[tls]\nkeylog = {:?}\nhold_timeout = \"2s\"\n",
            path.display().to_string()
        )))
        .unwrap();
        assert!(s.engine.tls.keys.is_some() && s.engine.tls.hold_for_keys);
        assert_eq!(s.engine.tls.decrypt.hold_timeout_ns, 2_000_000_000);
        // One that cannot be read (a directory) stops the start.
        let err = Settings::from_config(&config(&format!(
            "{base}[tls]\nkeylog = {:?}\n",
            dir.path().display().to_string()
        )))
        .unwrap_err();
        assert!(err.contains("[tls] keylog"), "{err}");
    }

    #[test]
    fn settings_need_an_interface_and_a_database() {
        assert!(
            Settings::from_config(&config(""))
                .unwrap_err()
                .contains("interface")
        );
        assert!(
            Settings::from_config(&config("[capture]\ninterfaces = [\"lo\"]\n"))
                .unwrap_err()
                .contains("database")
        );
    }

    #[test]
    fn caps_follow_the_memory_budget() {
        let base = "[capture]\ninterfaces = [\"lo\"]\nworkers = 2\nbuffer_size = \"8MiB\"\n[store]\ndb = \"x.db\"\n";
        let small = Settings::from_config(&config(&format!(
            "{base}[limits]\nmemory_budget = \"192MiB\"\n"
        )))
        .unwrap();
        let big = Settings::from_config(&config(&format!(
            "{base}[limits]\nmemory_budget = \"4GiB\"\n"
        )))
        .unwrap();
        assert!(small.engine.reassembly.max_flows < big.engine.reassembly.max_flows);
        assert!(small.inventory.max_endpoints < big.inventory.max_endpoints);
        assert!(small.engine.http.max_memory < big.engine.http.max_memory);
        assert!(small.queue_depth <= big.queue_depth);
        assert_eq!(small.workers, 2);
        // Long-lived analysis state follows the budget too, and all of it together stays
        // within the eighth of a worker's share it is given.
        for s in [&small, &big] {
            let (i, q) = (&s.inventory, &s.inventory.sequence);
            let held = q.max_principal_bytes
                + i.max_rate_pairs * crate::analyze::inventory::RATE_PAIR_BYTES
                + q.max_pending_logins * crate::analyze::sequence::LOGIN_BYTES
                + q.max_keys * crate::analyze::sequence::KEY_BYTES
                + (q.max_transitions + q.max_paths) * crate::analyze::sequence::TRANSITION_BYTES
                + q.max_baseline * crate::analyze::sequence::BASELINE_BYTES
                + q.max_norms * crate::analyze::sequence::NORM_BYTES;
            let per_worker = (s.memory_budget - 8 * MIB - 48 * MIB) / 2;
            assert!(
                (held as u64) <= per_worker / 8,
                "{held} bytes of analysis state > {} ({} MiB budget)",
                per_worker / 8,
                s.memory_budget / MIB
            );
        }
        let (si, bi) = (&small.inventory, &big.inventory);
        assert!(si.sequence.max_principal_bytes < bi.sequence.max_principal_bytes);
        assert!(si.max_rate_pairs < bi.max_rate_pairs);
        assert!(si.sequence.max_keys < bi.sequence.max_keys);
        assert!(si.sequence.max_principals < bi.sequence.max_principals);
        // Explicit caps win.
        let set = Settings::from_config(&config(&format!(
            "{base}[limits]\nmemory_budget = \"192MiB\"\nmax_flows = 77\nmax_hosts = 5\n"
        )))
        .unwrap();
        assert_eq!(set.engine.reassembly.max_flows, 77);
        assert_eq!(set.inventory.max_hosts, 5);
        // Too small to run at all.
        let err = Settings::from_config(&config(&format!(
            "{base}[limits]\nmemory_budget = \"40MiB\"\n"
        )))
        .unwrap_err();
        assert!(err.contains("too small"), "{err}");
    }

    #[test]
    fn reloadable_sections_and_restart_notes() {
        let a = Settings::from_config(&config(
            "[capture]\ninterfaces = [\"lo\"]\n[store]\ndb = \"x.db\"\n[alerts]\nmin_severity = \"off\"\n",
        ))
        .unwrap();
        assert_eq!(a.alerts.min_severity, None);
        assert_eq!(a.listen.as_deref(), Some("127.0.0.1:8080"));
        let b = Settings::from_config(&config(
            "[capture]\ninterfaces = [\"eth0\"]\n[store]\ndb = \"x.db\"\n[web]\nlisten = \"\"\n[alerts]\nmin_severity = \"critical\"\nwebhook_url = \"http://127.0.0.1:1/x\"\n[retention]\ndetail_days = 7\n",
        ))
        .unwrap();
        assert_eq!(b.alerts.min_severity, Some(Severity::Critical));
        assert_eq!(b.retention.detail_days, 7);
        assert_eq!(b.listen, None);
        assert_eq!(a.restart_needed(&b), vec!["interfaces", "listen"]);
        assert!(Settings::reloadable(&config("[alerts]\nmin_severity = \"urgent\"\n")).is_err());
        assert!(Settings::reloadable(&config("[alerts]\nwebhook_url = \"ftp://x/\"\n")).is_err());
    }

    #[test]
    fn https_webhook_and_ca_file() {
        let r = Settings::reloadable(&config(
            "[alerts]\nwebhook_url = \"https://hooks.example.com/x\"\n",
        ))
        .unwrap();
        let url = r.alerts.webhook.unwrap();
        assert!(url.tls);
        assert_eq!(url.port, 443);
        assert_eq!(r.alerts.ca_file, None);
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let with_ca = |url: &str, ca: &std::path::Path| {
            Settings::reloadable(&config(&format!(
                "[alerts]\nwebhook_url = \"{url}\"\nwebhook_ca_file = \"{}\"\n",
                ca.display()
            )))
        };
        // A CA file that cannot be read stops the start, not the first alert.
        let err = with_ca("https://h/x", &missing).unwrap_err();
        assert!(
            err.contains("webhook_ca_file") && err.contains("missing.pem"),
            "{err}"
        );
        let not_pem = dir.path().join("not.pem");
        std::fs::write(&not_pem, "just text\n").unwrap();
        let err = with_ca("https://h/x", &not_pem).unwrap_err();
        assert!(err.contains("no CERTIFICATE"), "{err}");
        // Only meaningful for https.
        let err = with_ca("http://h/x", &not_pem).unwrap_err();
        assert!(err.contains("https://"), "{err}");
    }
}
