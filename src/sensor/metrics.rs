//! The daemon's live numbers: counters the threads update without locks, snapshots the
//! workers publish once a second, rendered as Prometheus text at `/metrics` and as JSON for
//! the dashboard's Sensor page.
//!
//! Every cap of the pipeline that drops something shows in `shadowtap_cap_drops_total{cap}`,
//! next to the specific counters.

use crate::analyze::inventory::InventoryStats;
use crate::engine::{CaptureCounts, EngineStats};
use crate::ingest::RunStats;
use crate::store::FlushReport;
use crate::web::live::{
    AlertsSuppressed, DbSize, FindingCounts, HistogramSnapshot, InterfaceSnapshot, InventoryCaps,
    SensorSnapshot, WebhookCounts, WorkerSnapshot,
};
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const R: Ordering = Ordering::Relaxed;

/// Counters of one capture interface.
#[derive(Debug, Default)]
pub struct InterfaceMetrics {
    /// Interface name.
    pub name: String,
    /// Frames read.
    pub packets: AtomicU64,
    /// Captured bytes read.
    pub bytes: AtomicU64,
    /// Frames the kernel handed to libpcap (`ps_recv`).
    pub kernel_received: AtomicU64,
    /// Frames the kernel dropped: capture buffer full (`ps_drop`).
    pub kernel_dropped: AtomicU64,
    /// Frames the interface or driver dropped (`ps_ifdrop`).
    pub if_dropped: AtomicU64,
    /// Read errors (the capture thread stopped).
    pub errors: AtomicU64,
}

/// Counters of one analysis worker.
#[derive(Debug, Default)]
pub struct WorkerMetrics {
    /// Packets waiting in the worker's queue.
    pub queued: AtomicI64,
    /// Packets dropped because the worker's queue was full.
    pub queue_dropped: AtomicU64,
    /// Flushes skipped because the writer was busy (the data waits for the next one).
    pub flush_deferred: AtomicU64,
    /// The latest engine and inventory counters.
    pub snapshot: Mutex<Option<(EngineStats, InventoryStats)>>,
}

/// Counters of one followed access log.
#[derive(Debug, Default)]
pub struct FollowMetrics {
    /// The file's path.
    pub path: String,
    /// Lines read and skipped, and rotations, as of the follower's last read.
    pub stats: Mutex<(
        crate::source::SourceStats,
        crate::source::follow::FollowStats,
    )>,
}

/// A Prometheus histogram with fixed buckets (seconds).
#[derive(Debug)]
pub struct Histogram {
    counts: Vec<AtomicU64>,
    sum_us: AtomicU64,
    count: AtomicU64,
    max_us: AtomicU64,
    last_us: AtomicU64,
}

/// Upper bounds of the duration buckets, seconds.
pub const BUCKETS: [f64; 13] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: BUCKETS.iter().map(|_| AtomicU64::new(0)).collect(),
            sum_us: AtomicU64::new(0),
            count: AtomicU64::new(0),
            max_us: AtomicU64::new(0),
            last_us: AtomicU64::new(0),
        }
    }
}

impl Histogram {
    /// Records one duration.
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let us = d.as_micros().min(u128::from(u64::MAX)) as u64;
        for (b, c) in BUCKETS.iter().zip(&self.counts) {
            if secs <= *b {
                c.fetch_add(1, R);
            }
        }
        self.sum_us.fetch_add(us, R);
        self.count.fetch_add(1, R);
        self.max_us.fetch_max(us, R);
        self.last_us.store(us, R);
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.count.load(R)
    }

    /// The histogram read now.
    pub fn snapshot(&self) -> HistogramSnapshot {
        HistogramSnapshot::new(
            BUCKETS
                .iter()
                .zip(&self.counts)
                .map(|(b, c)| (*b, c.load(R)))
                .collect(),
            self.count(),
            self.sum_us.load(R) as f64 / 1e6,
            self.last_us.load(R) as f64 / 1e6,
            self.max_us.load(R) as f64 / 1e6,
        )
    }
}

/// Kinds of alert, as counted.
pub const ALERT_TYPES: [&str; 6] = [
    "new_endpoint",
    "shadow_api",
    "zombie_api",
    "finding",
    "sensor_health",
    "new_tls_fingerprint",
];

/// Everything the daemon counts, shared by every thread.
#[derive(Debug)]
pub struct SensorMetrics {
    started: Instant,
    started_unix: f64,
    /// One per interface, in the configured order.
    pub interfaces: Vec<InterfaceMetrics>,
    /// One per worker (capture workers, then one per followed log).
    pub workers: Vec<WorkerMetrics>,
    /// One per followed access log.
    pub follows: Vec<FollowMetrics>,
    /// Capacity of each worker's queue, packets.
    pub queue_capacity: u64,
    /// The memory budget, bytes.
    pub memory_budget: u64,
    /// Flush rounds completed.
    pub flushes: AtomicU64,
    /// Merges that failed (the flush is kept and retried, see `flush_pending`).
    pub flush_errors: AtomicU64,
    /// Flushes waiting to be retried after a failed merge (gauge; at most
    /// `writer::MAX_PENDING`).
    pub flush_pending: AtomicU64,
    /// Failed flushes merged on a later try.
    pub flush_retried: AtomicU64,
    /// Flushes given up on: the retry buffer was full (the oldest goes), or still failing at
    /// exit.
    pub flushes_lost: AtomicU64,
    /// The database file is no longer the one opened (deleted or replaced): 1, else 0.
    pub db_file_missing: AtomicU64,
    /// Wall time of the last completed flush round, ms since the epoch.
    pub last_flush_ms: AtomicU64,
    /// Duration of whole flush rounds (every worker's merge, then alerts and bookkeeping).
    pub flush_seconds: Histogram,
    /// Duration of one store transaction (one worker's merge).
    pub merge_seconds: Histogram,
    /// Endpoints in the database.
    pub endpoints: AtomicI64,
    /// Endpoints created by this process.
    pub endpoints_created: AtomicU64,
    /// What the store's merges and retention did since start (the caps' drops and evictions
    /// among it: `FlushReport::cap_drops`).
    pub store: Mutex<FlushReport>,
    /// Findings in the database by severity (info, low, medium, high, critical).
    pub findings: [AtomicI64; 5],
    /// Alerts raised, by [`ALERT_TYPES`].
    pub alerts: [AtomicU64; 6],
    /// Alerts not sent: rate limit.
    pub alerts_rate_limited: AtomicU64,
    /// Alerts not sent: already sent.
    pub alerts_duplicate: AtomicU64,
    /// Alerts not sent: the webhook queue was full.
    pub alerts_queue_full: AtomicU64,
    /// Webhook POSTs answered 2xx.
    pub webhook_ok: AtomicU64,
    /// Webhook POSTs that failed after every retry.
    pub webhook_failed: AtomicU64,
    /// Retention passes.
    pub retention_runs: AtomicU64,
    /// Rows deleted by retention: endpoint_clients, endpoint_minutes, endpoint_sensitive,
    /// per-client findings.
    pub retention_deleted: [AtomicU64; 4],
    /// Database pages in use, bytes.
    pub db_used_bytes: AtomicU64,
    /// Database file plus its write-ahead log, bytes.
    pub db_file_bytes: AtomicU64,
    /// Database size budget (0: none).
    pub db_budget_bytes: AtomicU64,
    /// 1 while the database is over its budget with no detail left to delete.
    pub db_over_budget: AtomicU64,
    /// SIGHUP reloads applied.
    pub reloads: AtomicU64,
    /// SIGHUP reloads refused (the file did not parse; the old settings stay).
    pub reload_errors: AtomicU64,
    /// Shipping to the fleet's centre, with `--central`.
    pub fleet: std::sync::OnceLock<std::sync::Arc<crate::fleet::ship::ShipStats>>,
}

/// Tables retention deletes from, in the order of `retention_deleted`.
pub const RETENTION_TABLES: [&str; 4] = [
    "endpoint_clients",
    "endpoint_minutes",
    "endpoint_sensitive",
    "client_findings",
];

fn zeros<const N: usize>() -> [AtomicU64; N] {
    std::array::from_fn(|_| AtomicU64::new(0))
}

impl SensorMetrics {
    /// Counters for these interfaces and `workers` workers.
    pub fn new(
        interfaces: &[String],
        workers: usize,
        queue_capacity: u64,
        memory_budget: u64,
    ) -> SensorMetrics {
        SensorMetrics {
            started: Instant::now(),
            started_unix: crate::time::Timestamp::now().as_nanos() as f64 / 1e9,
            interfaces: interfaces
                .iter()
                .map(|n| InterfaceMetrics {
                    name: n.clone(),
                    ..Default::default()
                })
                .collect(),
            workers: (0..workers).map(|_| WorkerMetrics::default()).collect(),
            follows: Vec::new(),
            queue_capacity,
            memory_budget,
            flushes: AtomicU64::new(0),
            flush_errors: AtomicU64::new(0),
            flush_pending: AtomicU64::new(0),
            flush_retried: AtomicU64::new(0),
            flushes_lost: AtomicU64::new(0),
            db_file_missing: AtomicU64::new(0),
            last_flush_ms: AtomicU64::new(0),
            flush_seconds: Histogram::default(),
            merge_seconds: Histogram::default(),
            endpoints: AtomicI64::new(0),
            endpoints_created: AtomicU64::new(0),
            store: Mutex::new(FlushReport::default()),
            findings: std::array::from_fn(|_| AtomicI64::new(0)),
            alerts: zeros(),
            alerts_rate_limited: AtomicU64::new(0),
            alerts_duplicate: AtomicU64::new(0),
            alerts_queue_full: AtomicU64::new(0),
            webhook_ok: AtomicU64::new(0),
            webhook_failed: AtomicU64::new(0),
            retention_runs: AtomicU64::new(0),
            retention_deleted: zeros(),
            db_used_bytes: AtomicU64::new(0),
            db_file_bytes: AtomicU64::new(0),
            db_budget_bytes: AtomicU64::new(0),
            db_over_budget: AtomicU64::new(0),
            reloads: AtomicU64::new(0),
            reload_errors: AtomicU64::new(0),
            fleet: std::sync::OnceLock::new(),
        }
    }

    /// These counters with one worker and counters more per followed log.
    pub fn with_follows(mut self, paths: &[std::path::PathBuf]) -> SensorMetrics {
        for p in paths {
            self.workers.push(WorkerMetrics::default());
            self.follows.push(FollowMetrics {
                path: p.display().to_string(),
                ..FollowMetrics::default()
            });
        }
        self
    }

    /// Engine and inventory counters summed over the workers.
    pub fn totals(&self) -> (EngineStats, InventoryStats) {
        let mut engine = EngineStats::default();
        let mut inventory = InventoryStats::default();
        for w in &self.workers {
            let snap = w.snapshot.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((es, is)) = snap.as_ref() {
                engine += es;
                inventory += is;
            }
        }
        (engine, inventory)
    }

    /// [`Self::totals`] with the kernel and queue counters of the interfaces, as recorded
    /// with the live capture.
    pub fn run_stats(&self) -> RunStats {
        let (mut engine, inventory) = self.totals();
        let sum = |f: fn(&InterfaceMetrics) -> &AtomicU64| -> u64 {
            self.interfaces.iter().map(|m| f(m).load(R)).sum()
        };
        engine.capture = Some(CaptureCounts {
            received: sum(|m| &m.kernel_received),
            dropped: sum(|m| &m.kernel_dropped),
            if_dropped: sum(|m| &m.if_dropped),
            queue_dropped: self.queue_dropped(),
        });
        RunStats {
            engine,
            inventory,
            ..RunStats::default()
        }
    }

    /// Packets dropped at full worker queues.
    pub fn queue_dropped(&self) -> u64 {
        self.workers.iter().map(|w| w.queue_dropped.load(R)).sum()
    }

    /// The health a delta carries to the fleet's centre (`api_sensors`): interfaces, start,
    /// capture counters and every cap's drops (engine, inventory, store) since start.
    pub fn health(&self) -> crate::store::delta::Health {
        let stats = self.run_stats();
        let store = self.store.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let sum = |f: fn(&InterfaceMetrics) -> &AtomicU64| -> u64 {
            self.interfaces.iter().map(|m| f(m).load(R)).sum()
        };
        crate::store::delta::Health {
            host: crate::store::outbox::host_name(),
            interfaces: self.interfaces.iter().map(|m| m.name.clone()).collect(),
            started_at: (self.started_unix * 1e9) as i64,
            packets: sum(|m| &m.packets),
            bytes: sum(|m| &m.bytes),
            kernel_dropped: sum(|m| &m.kernel_dropped),
            if_dropped: sum(|m| &m.if_dropped),
            queue_dropped: self.queue_dropped(),
            cap_drops: stats
                .source_cap_drops()
                .iter()
                .chain(&stats.cap_drops())
                .chain(&store.cap_drops())
                .map(|c| c.count)
                .sum(),
        }
    }

    /// Seconds since start.
    pub fn uptime(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Every number, read now: what `/metrics`, the Sensor page and `/api/sensor` show.
    pub fn snapshot(&self) -> SensorSnapshot {
        let totals = self.run_stats();
        let e = &totals.engine;
        let i = &totals.inventory;
        let last = self.last_flush_ms.load(R);
        let findings = |n: usize| self.findings[n].load(R);
        SensorSnapshot {
            uptime_seconds: self.uptime(),
            start_time_seconds: self.started_unix,
            interfaces: self
                .interfaces
                .iter()
                .map(|m| InterfaceSnapshot {
                    name: m.name.clone(),
                    packets: m.packets.load(R),
                    bytes: m.bytes.load(R),
                    kernel_received: m.kernel_received.load(R),
                    kernel_dropped: m.kernel_dropped.load(R),
                    if_dropped: m.if_dropped.load(R),
                    errors: m.errors.load(R),
                })
                .collect(),
            workers: self
                .workers
                .iter()
                .map(|w| WorkerSnapshot {
                    packets: w
                        .snapshot
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .as_ref()
                        .map_or(0, |(e, _)| e.packets.packets),
                    queued: w.queued.load(R).max(0) as u64,
                    queue_dropped: w.queue_dropped.load(R),
                    flush_deferred: w.flush_deferred.load(R),
                })
                .collect(),
            queue_capacity: self.queue_capacity,
            queue_dropped: self.queue_dropped(),
            flows_active: e.flows_now,
            flows_evicted: e.tcp.flows_evicted,
            tcp_gaps: e.tcp.gaps,
            transactions: e.http.transactions,
            endpoints: self.endpoints.load(R),
            endpoints_created: self.endpoints_created.load(R),
            findings: FindingCounts {
                info: findings(0),
                low: findings(1),
                medium: findings(2),
                high: findings(3),
                critical: findings(4),
            },
            flushes: self.flushes.load(R),
            flush_errors: self.flush_errors.load(R),
            flush_pending: self.flush_pending.load(R),
            flush_retried: self.flush_retried.load(R),
            flushes_lost: self.flushes_lost.load(R),
            db_file_missing: self.db_file_missing.load(R) != 0,
            last_flush_unix_ms: (last > 0).then_some(last),
            flush_duration: self.flush_seconds.snapshot(),
            merge_duration: self.merge_seconds.snapshot(),
            alerts: ALERT_TYPES
                .iter()
                .zip(&self.alerts)
                .map(|(t, v)| (t.to_string(), v.load(R)))
                .collect(),
            alerts_suppressed: AlertsSuppressed {
                rate_limit: self.alerts_rate_limited.load(R),
                duplicate: self.alerts_duplicate.load(R),
                queue_full: self.alerts_queue_full.load(R),
            },
            webhook: WebhookCounts {
                ok: self.webhook_ok.load(R),
                failed: self.webhook_failed.load(R),
            },
            inventory_caps: InventoryCaps {
                hosts: i.hosts_over_cap,
                endpoints: i.endpoints_over_cap,
                detail: i.detail_over_cap,
            },
            db: DbSize {
                used_bytes: self.db_used_bytes.load(R),
                file_bytes: self.db_file_bytes.load(R),
                budget_bytes: self.db_budget_bytes.load(R),
                over_budget: self.db_over_budget.load(R) != 0,
            },
            retention_runs: self.retention_runs.load(R),
            retention_deleted: RETENTION_TABLES
                .iter()
                .zip(&self.retention_deleted)
                .map(|(t, v)| (t.to_string(), v.load(R)))
                .collect(),
            rss_bytes: rss_bytes(),
            memory_budget_bytes: self.memory_budget,
            reloads: self.reloads.load(R),
            reload_errors: self.reload_errors.load(R),
            store: self.store.lock().unwrap_or_else(|p| p.into_inner()).clone(),
            totals,
            fleet: self.fleet.get().map(|s| crate::web::live::FleetSnapshot {
                shipped: s.shipped.load(R),
                shipped_bytes: s.bytes.load(R),
                failures: s.failures.load(R),
                pending: s.pending.load(R),
                summarised: s.summarised.load(R),
                over_bound: s.over_bound.load(R),
            }),
            follows: self
                .follows
                .iter()
                .map(|f| {
                    let (src, fol) = *f.stats.lock().unwrap_or_else(|p| p.into_inner());
                    crate::web::live::FollowSnapshot {
                        path: f.path.clone(),
                        bytes: fol.bytes,
                        lines: src.lines,
                        transactions: src.transactions,
                        skipped: src.skipped(),
                        rotations: fol.rotations,
                        truncations: fol.truncations,
                    }
                })
                .collect(),
        }
    }
}

impl crate::web::LiveSensor for SensorMetrics {
    fn snapshot(&self) -> SensorSnapshot {
        SensorMetrics::snapshot(self)
    }
}

/// This process's resident set size (`VmRSS` of `/proc/self/status`).
pub fn rss_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    async fn fetch(app: &axum::Router, path: &str, token: Option<&str>) -> (u16, String) {
        use http_body_util::BodyExt;
        use tower::ServiceExt;
        let mut req = axum::http::Request::get(path).header("host", "127.0.0.1:8080");
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let resp = app
            .clone()
            .oneshot(req.body(axum::body::Body::empty()).unwrap())
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn served_at_metrics_and_on_the_sensor_page() {
        use crate::web::{AppState, AuthConfig, app};
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("m.db");
        crate::store::Store::open(&db).await.unwrap().close().await;
        let metrics = Arc::new(SensorMetrics::new(&["lo".into()], 1, 64, 1 << 30));
        metrics.interfaces[0].packets.fetch_add(123, R);
        let store = crate::store::Store::open_read_only(&db).await.unwrap();
        let live = app(AppState::new(store.clone(), AuthConfig::default())
            .unwrap()
            .with_sensor(metrics.clone()));
        let (status, text) = fetch(&live, "/metrics", None).await;
        assert_eq!(status, 200);
        assert!(text.contains("shadowtap_capture_packets_total{interface=\"lo\"} 123\n"));
        let (status, page) = fetch(&live, "/sensor", None).await;
        assert_eq!(status, 200);
        assert!(page.contains("Live sensor"), "{page}");
        assert!(page.contains("lo: 123 packets"), "{page}");
        // `serve` has no sensor: 404, and no live card.
        let plain = app(AppState::new(store.clone(), AuthConfig::default()).unwrap());
        assert_eq!(fetch(&plain, "/metrics", None).await.0, 404);
        assert!(
            !fetch(&plain, "/sensor", None)
                .await
                .1
                .contains("Live sensor")
        );
        // With authentication, a scraper uses the bearer token.
        let auth = AuthConfig {
            token: Some("tok-0123456789abcdef".into()),
            ..AuthConfig::default()
        };
        let guarded = app(AppState::new(store, auth)
            .unwrap()
            .with_sensor(metrics.clone()));
        assert_eq!(fetch(&guarded, "/metrics", None).await.0, 401);
        assert_eq!(fetch(&guarded, "/metrics", Some("wrong")).await.0, 401);
        let (status, text) = fetch(&guarded, "/metrics", Some("tok-0123456789abcdef")).await;
        assert_eq!(status, 200);
        assert!(text.contains("# TYPE shadowtap_flushes_total counter"));
    }

    #[test]
    fn histogram_buckets_and_quantiles() {
        let h = Histogram::default();
        assert_eq!(h.snapshot().p50_seconds_le, None);
        for ms in [2, 3, 4, 40, 2000] {
            h.observe(Duration::from_millis(ms));
        }
        assert_eq!(h.count(), 5);
        let snap = h.snapshot();
        assert_eq!(snap.p50_seconds_le, Some(0.005));
        assert_eq!(snap.p99_seconds_le, Some(2.5));
        let m = SensorMetrics::new(&[], 1, 8, 1 << 30);
        for ms in [2, 3, 4, 40, 2000] {
            m.flush_seconds.observe(Duration::from_millis(ms));
        }
        let s = prometheus(&m);
        let name = "shadowtap_flush_duration_seconds";
        assert!(
            s.contains(&format!("{name}_bucket{{le=\"0.005\"}} 3\n")),
            "{s}"
        );
        assert!(s.contains(&format!("{name}_bucket{{le=\"1\"}} 4\n")), "{s}");
        assert!(
            s.contains(&format!("{name}_bucket{{le=\"+Inf\"}} 5\n")),
            "{s}"
        );
        assert!(s.contains(&format!("{name}_count 5\n")), "{s}");
        assert!(s.contains(&format!("{name}_sum 2.049\n")), "{s}");
    }

    /// The metric families of `/metrics`, in order: a contract for existing dashboards and
    /// alert rules (add names; never rename or drop one).
    const METRIC_NAMES: &[&str] = &[
        "shadowtap_start_time_seconds",
        "shadowtap_workers",
        "shadowtap_capture_packets_total",
        "shadowtap_capture_bytes_total",
        "shadowtap_capture_kernel_received_total",
        "shadowtap_capture_kernel_dropped_total",
        "shadowtap_capture_interface_dropped_total",
        "shadowtap_capture_errors_total",
        "shadowtap_queue_packets",
        "shadowtap_queue_capacity_packets",
        "shadowtap_queue_dropped_packets_total",
        "shadowtap_worker_packets_total",
        "shadowtap_flush_deferred_total",
        "shadowtap_packets_analysed_total",
        "shadowtap_bytes_analysed_total",
        "shadowtap_decode_errors_total",
        "shadowtap_tcp_segments_total",
        "shadowtap_flows_opened_total",
        "shadowtap_flows_active",
        "shadowtap_flows_evicted_total",
        "shadowtap_flows_timed_out_total",
        "shadowtap_tcp_gaps_total",
        "shadowtap_tcp_gap_bytes_total",
        "shadowtap_reassembly_buffered_bytes",
        "shadowtap_http_buffered_bytes",
        "shadowtap_http_transactions_total",
        "shadowtap_http_partial_transactions_total",
        "shadowtap_http_parse_errors_total",
        "shadowtap_tls_connections_total",
        "shadowtap_tls_handshakes_total",
        "shadowtap_tls_handshakes_incomplete_total",
        "shadowtap_tls_parse_errors_total",
        "shadowtap_tls_buffered_bytes",
        "shadowtap_http2_connections_total",
        "shadowtap_http2_streams_total",
        "shadowtap_http2_hpack_tables_lost_total",
        "shadowtap_http2_midstream_connections_total",
        "shadowtap_http2_headers_lost_total",
        "shadowtap_http2_midstream_streams_dropped_total",
        "shadowtap_http2_buffered_bytes",
        "shadowtap_websocket_connections_total",
        "shadowtap_websocket_frames_total",
        "shadowtap_websocket_messages_total",
        "shadowtap_websocket_buffered_bytes",
        "shadowtap_tls_decrypted_connections_total",
        "shadowtap_tls_decrypted_records_total",
        "shadowtap_tls_decrypted_bytes_total",
        "shadowtap_inventory_transactions_total",
        "shadowtap_endpoints",
        "shadowtap_endpoints_created_total",
        "shadowtap_flushes_total",
        "shadowtap_flush_errors_total",
        "shadowtap_flush_pending",
        "shadowtap_flush_retried_total",
        "shadowtap_flushes_lost_total",
        "shadowtap_db_file_missing",
        "shadowtap_tls_decrypt_failures_total",
        "shadowtap_last_flush_timestamp_seconds",
        "shadowtap_findings",
        "shadowtap_analysis_state",
        "shadowtap_cap_drops_total",
        "shadowtap_alerts_total",
        "shadowtap_alerts_suppressed_total",
        "shadowtap_webhook_posts_total",
        "shadowtap_retention_runs_total",
        "shadowtap_retention_deleted_rows_total",
        "shadowtap_db_used_bytes",
        "shadowtap_db_file_bytes",
        "shadowtap_db_budget_bytes",
        "shadowtap_db_over_budget",
        "shadowtap_memory_budget_bytes",
        "process_resident_memory_bytes",
        "shadowtap_reloads_total",
        "shadowtap_reload_errors_total",
        "shadowtap_flush_duration_seconds",
        "shadowtap_store_merge_duration_seconds",
        "shadowtap_dashboard_auth_failures_total",
        "shadowtap_dashboard_auth_throttled_total",
        "shadowtap_dashboard_auth_throttle_evicted_total",
        "shadowtap_dashboard_auth_throttle_addresses",
    ];

    /// `/metrics` as the dashboard serves it.
    fn prometheus(m: &SensorMetrics) -> String {
        crate::web::live::exposition(m.snapshot(), crate::web::auth::ThrottleStats::default())
    }

    #[test]
    fn metric_names_are_a_contract() {
        let m = SensorMetrics::new(&["eth0".into()], 2, 8192, 1 << 30);
        let text = prometheus(&m);
        let names: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.split(' ').next())
            .collect();
        assert_eq!(names, METRIC_NAMES);
    }

    /// The HELP texts are part of the contract: the fixture holds every `# HELP` line as the
    /// hand-written exposition printed it before `prometheus-client` encoded it, and the lines
    /// of the families added since (TLS, HTTP/2).
    #[test]
    fn shipping_counters_show_with_a_centre() {
        let m = SensorMetrics::new(&["eth0".into()], 1, 8192, 1 << 30);
        assert!(!prometheus(&m).contains("shadowtap_fleet_"));
        let ship = std::sync::Arc::new(crate::fleet::ship::ShipStats::default());
        ship.shipped.store(7, R);
        ship.pending.store(3, R);
        ship.summarised.store(2, R);
        m.fleet.set(ship).unwrap();
        let text = prometheus(&m);
        for line in [
            "shadowtap_fleet_deltas_shipped_total 7\n",
            "shadowtap_fleet_deltas_pending 3\n",
            "shadowtap_fleet_deltas_summarised_total 2\n",
            "shadowtap_fleet_ship_failures_total 0\n",
        ] {
            assert!(text.contains(line), "{line}");
        }
        assert_eq!(m.snapshot().fleet.unwrap().shipped, 7);
    }

    #[test]
    fn follow_counters_show_with_followed_logs() {
        let m = SensorMetrics::new(&[], 1, 8192, 1 << 30);
        assert!(!prometheus(&m).contains("shadowtap_follow_"));
        let m = m.with_follows(&["/var/log/nginx/access.log".into()]);
        assert_eq!(m.workers.len(), 2);
        {
            let mut s = m.follows[0].stats.lock().unwrap();
            s.0.lines = 12;
            s.0.transactions = 11;
            s.0.bad_time = 1;
            s.1.rotations = 2;
        }
        let text = prometheus(&m);
        for line in [
            "shadowtap_follow_lines_total{path=\"/var/log/nginx/access.log\"} 12\n",
            "shadowtap_follow_transactions_total{path=\"/var/log/nginx/access.log\"} 11\n",
            "shadowtap_follow_skipped_lines_total{path=\"/var/log/nginx/access.log\"} 1\n",
            "shadowtap_follow_rotations_total{path=\"/var/log/nginx/access.log\"} 2\n",
        ] {
            assert!(text.contains(line), "{line} in {text}");
        }
    }

    #[test]
    fn metric_help_texts_are_a_contract() {
        let m = SensorMetrics::new(&["eth0".into()], 2, 8192, 1 << 30);
        let text = prometheus(&m);
        let help: Vec<&str> = text.lines().filter(|l| l.starts_with("# HELP ")).collect();
        let want: Vec<&str> = include_str!("../../tests/fixtures/metrics-help.txt")
            .lines()
            .collect();
        assert_eq!(help, want);
    }

    #[test]
    fn exposition_is_well_formed() {
        let m = SensorMetrics::new(&["eth\"0".into()], 2, 8192, 1 << 30);
        m.interfaces[0].packets.fetch_add(10, R);
        m.workers[1].queue_dropped.fetch_add(3, R);
        *m.workers[0].snapshot.lock().unwrap() = Some((
            EngineStats {
                flows_now: 4,
                ..Default::default()
            },
            InventoryStats {
                hosts_over_cap: 2,
                ..Default::default()
            },
        ));
        let text = prometheus(&m);
        assert!(text.contains("shadowtap_capture_packets_total{interface=\"eth\\\"0\"} 10\n"));
        assert!(text.contains("shadowtap_queue_dropped_packets_total{worker=\"1\"} 3\n"));
        assert!(text.contains("shadowtap_cap_drops_total{cap=\"queue_full\"} 3\n"));
        assert!(text.contains("shadowtap_cap_drops_total{cap=\"inventory_hosts\"} 2\n"));
        assert!(text.contains("shadowtap_flows_active 4\n"));
        for line in text.lines() {
            if line.starts_with('#') {
                assert!(line.starts_with("# HELP ") || line.starts_with("# TYPE "));
                continue;
            }
            let (name, value) = line.rsplit_once(' ').unwrap();
            assert!(value.parse::<f64>().is_ok(), "{line}");
            assert!(name.starts_with("shadowtap_") || name.starts_with("process_"));
        }
        let snap = serde_json::to_value(m.snapshot()).unwrap();
        assert_eq!(snap["queue_dropped"], 3);
        assert_eq!(snap["flows_active"], 4);
    }
}
