//! The daemon's live numbers: counters the threads update without locks, snapshots the
//! workers publish once a second, rendered as Prometheus text at `/metrics` and as JSON for
//! the dashboard's Sensor page.
//!
//! Every cap of the pipeline that drops something shows in `shadowtap_cap_drops_total{cap}`,
//! next to the specific counters.

use crate::analyze::inventory::InventoryStats;
use crate::engine::{CaptureCounts, EngineStats};
use crate::ingest::RunStats;
use serde_json::{Value, json};
use std::fmt::Write as _;
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

    /// An upper bound of the `q` quantile from the buckets (seconds), if any observation.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        let rank = (q * n as f64).ceil().max(1.0) as u64;
        for (b, c) in BUCKETS.iter().zip(&self.counts) {
            if c.load(R) >= rank {
                return Some(*b);
            }
        }
        Some(self.max_us.load(R) as f64 / 1e6)
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (b, c) in BUCKETS.iter().zip(&self.counts) {
            let _ = writeln!(out, "{name}_bucket{{le=\"{b}\"}} {}", c.load(R));
        }
        let n = self.count();
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {n}");
        let _ = writeln!(out, "{name}_sum {}", self.sum_us.load(R) as f64 / 1e6);
        let _ = writeln!(out, "{name}_count {n}");
    }

    fn json(&self) -> Value {
        json!({
            "count": self.count(),
            "sum_seconds": self.sum_us.load(R) as f64 / 1e6,
            "last_seconds": self.last_us.load(R) as f64 / 1e6,
            "max_seconds": self.max_us.load(R) as f64 / 1e6,
            "p50_seconds_le": self.quantile(0.5),
            "p99_seconds_le": self.quantile(0.99),
        })
    }
}

/// Kinds of alert, as counted.
pub const ALERT_TYPES: [&str; 5] = [
    "new_endpoint",
    "shadow_api",
    "zombie_api",
    "finding",
    "sensor_health",
];

/// Everything the daemon counts, shared by every thread.
#[derive(Debug)]
pub struct SensorMetrics {
    started: Instant,
    started_unix: f64,
    /// One per interface, in the configured order.
    pub interfaces: Vec<InterfaceMetrics>,
    /// One per worker.
    pub workers: Vec<WorkerMetrics>,
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
    /// New endpoints dropped because the database holds `max_endpoints`.
    pub endpoints_dropped: AtomicU64,
    /// Endpoints of no evidence evicted at the store's endpoint cap.
    pub endpoints_evicted: AtomicU64,
    /// Transitions and three-call paths deleted at their caps.
    pub sequences_trimmed: AtomicU64,
    /// Client rows not stored at `max_clients_per_endpoint` (or over the size budget).
    pub clients_dropped: AtomicU64,
    /// Client rows of one-time clients evicted for busier ones.
    pub clients_evicted: AtomicU64,
    /// Findings in the database by severity (info, low, medium, high, critical).
    pub findings: [AtomicI64; 5],
    /// Alerts raised, by [`ALERT_TYPES`].
    pub alerts: [AtomicU64; 5],
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
            endpoints_dropped: AtomicU64::new(0),
            endpoints_evicted: AtomicU64::new(0),
            sequences_trimmed: AtomicU64::new(0),
            clients_dropped: AtomicU64::new(0),
            clients_evicted: AtomicU64::new(0),
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
        }
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

    /// Engine and inventory counters summed over the workers, as JSON (`{"engine", "inventory"}`
    /// with the kernel counters in `engine.capture`), the shape the Sensor page reads.
    pub fn totals_json(&self) -> Value {
        serde_json::to_value(self.run_stats()).unwrap_or(Value::Null)
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
        RunStats { engine, inventory }
    }

    /// Packets dropped at full worker queues.
    pub fn queue_dropped(&self) -> u64 {
        self.workers.iter().map(|w| w.queue_dropped.load(R)).sum()
    }

    /// Seconds since start.
    pub fn uptime(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Prometheus text exposition format (version 0.0.4).
    pub fn prometheus(&self) -> String {
        let mut o = String::with_capacity(16 * 1024);
        let (e, i) = self.totals();
        let mut family = |name: &str, kind: &str, help: &str, rows: &[(String, f64)]| {
            let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, v) in rows {
                if labels.is_empty() {
                    let _ = writeln!(o, "{name} {v}");
                } else {
                    let _ = writeln!(o, "{name}{{{labels}}} {v}");
                }
            }
        };
        let one = |v: u64| vec![(String::new(), v as f64)];
        let per_if = |f: fn(&InterfaceMetrics) -> &AtomicU64| -> Vec<(String, f64)> {
            self.interfaces
                .iter()
                .map(|m| {
                    (
                        format!("interface=\"{}\"", label(&m.name)),
                        f(m).load(R) as f64,
                    )
                })
                .collect()
        };
        family(
            "shadowtap_start_time_seconds",
            "gauge",
            "Start time of the sensor, seconds since the Unix epoch.",
            &[(String::new(), self.started_unix)],
        );
        family(
            "shadowtap_workers",
            "gauge",
            "Analysis workers.",
            &one(self.workers.len() as u64),
        );
        family(
            "shadowtap_capture_packets_total",
            "counter",
            "Frames read from the interface.",
            &per_if(|m| &m.packets),
        );
        family(
            "shadowtap_capture_bytes_total",
            "counter",
            "Captured bytes read from the interface.",
            &per_if(|m| &m.bytes),
        );
        family(
            "shadowtap_capture_kernel_received_total",
            "counter",
            "Frames the kernel handed to libpcap (pcap ps_recv).",
            &per_if(|m| &m.kernel_received),
        );
        family(
            "shadowtap_capture_kernel_dropped_total",
            "counter",
            "Frames the kernel dropped because the capture buffer was full (pcap ps_drop).",
            &per_if(|m| &m.kernel_dropped),
        );
        family(
            "shadowtap_capture_interface_dropped_total",
            "counter",
            "Frames the interface or driver dropped (pcap ps_ifdrop).",
            &per_if(|m| &m.if_dropped),
        );
        family(
            "shadowtap_capture_errors_total",
            "counter",
            "Capture read errors (the interface's capture stopped).",
            &per_if(|m| &m.errors),
        );
        let per_w = |f: &dyn Fn(&WorkerMetrics) -> f64| -> Vec<(String, f64)> {
            self.workers
                .iter()
                .enumerate()
                .map(|(i, w)| (format!("worker=\"{i}\""), f(w)))
                .collect()
        };
        family(
            "shadowtap_queue_packets",
            "gauge",
            "Packets waiting in a worker's queue.",
            &per_w(&|w| w.queued.load(R).max(0) as f64),
        );
        family(
            "shadowtap_queue_capacity_packets",
            "gauge",
            "Capacity of each worker's queue.",
            &one(self.queue_capacity),
        );
        family(
            "shadowtap_queue_dropped_packets_total",
            "counter",
            "Packets dropped because a worker's queue was full.",
            &per_w(&|w| w.queue_dropped.load(R) as f64),
        );
        family(
            "shadowtap_worker_packets_total",
            "counter",
            "Frames analysed by a worker.",
            &per_w(&|w| {
                w.snapshot
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .as_ref()
                    .map_or(0.0, |(e, _)| e.packets.packets as f64)
            }),
        );
        family(
            "shadowtap_flush_deferred_total",
            "counter",
            "Worker flushes postponed because the writer was busy.",
            &per_w(&|w| w.flush_deferred.load(R) as f64),
        );
        let http_parse_errors = e.http.bad_heads
            + e.http.malformed_request_lines
            + e.http.bad_chunked
            + e.http.bad_content_length
            + e.http.heads_too_large
            + e.http.too_many_headers;
        let decode_errors: u64 = e.packets.decode_errors.values().sum();
        for (name, kind, help, v) in [
            (
                "shadowtap_packets_analysed_total",
                "counter",
                "Frames analysed (all workers).",
                e.packets.packets,
            ),
            (
                "shadowtap_bytes_analysed_total",
                "counter",
                "Captured bytes analysed (all workers).",
                e.packets.bytes,
            ),
            (
                "shadowtap_decode_errors_total",
                "counter",
                "Frames that did not decode.",
                decode_errors,
            ),
            (
                "shadowtap_tcp_segments_total",
                "counter",
                "TCP segments.",
                e.tcp.segments,
            ),
            (
                "shadowtap_flows_opened_total",
                "counter",
                "TCP connections tracked.",
                e.tcp.flows_opened,
            ),
            (
                "shadowtap_flows_active",
                "gauge",
                "TCP connections tracked now.",
                e.flows_now,
            ),
            (
                "shadowtap_flows_evicted_total",
                "counter",
                "Connections evicted to stay within max_flows.",
                e.tcp.flows_evicted,
            ),
            (
                "shadowtap_flows_timed_out_total",
                "counter",
                "Connections closed after idling past flow_timeout.",
                e.tcp.flows_timed_out,
            ),
            (
                "shadowtap_tcp_gaps_total",
                "counter",
                "Holes in TCP streams (missed segments).",
                e.tcp.gaps,
            ),
            (
                "shadowtap_tcp_gap_bytes_total",
                "counter",
                "Bytes in those holes.",
                e.tcp.gap_bytes,
            ),
            (
                "shadowtap_reassembly_buffered_bytes",
                "gauge",
                "Out-of-order bytes held now.",
                e.reassembly_bytes_now,
            ),
            (
                "shadowtap_http_buffered_bytes",
                "gauge",
                "Bytes held by the HTTP layer now.",
                e.http_bytes_now,
            ),
            (
                "shadowtap_http_transactions_total",
                "counter",
                "HTTP request/response pairs found.",
                e.http.transactions,
            ),
            (
                "shadowtap_http_partial_transactions_total",
                "counter",
                "Transactions emitted without their response.",
                e.http.no_response,
            ),
            (
                "shadowtap_http_parse_errors_total",
                "counter",
                "Malformed HTTP messages.",
                http_parse_errors,
            ),
            (
                "shadowtap_inventory_transactions_total",
                "counter",
                "Transactions attributed to an endpoint.",
                i.transactions,
            ),
            (
                "shadowtap_endpoints",
                "gauge",
                "Endpoints in the inventory.",
                self.endpoints.load(R).max(0) as u64,
            ),
            (
                "shadowtap_endpoints_created_total",
                "counter",
                "Endpoints created since start.",
                self.endpoints_created.load(R),
            ),
            (
                "shadowtap_flushes_total",
                "counter",
                "Flush rounds completed.",
                self.flushes.load(R),
            ),
            (
                "shadowtap_flush_errors_total",
                "counter",
                "Worker merges that failed (kept and retried).",
                self.flush_errors.load(R),
            ),
            (
                "shadowtap_flush_pending",
                "gauge",
                "Failed flushes waiting to be retried.",
                self.flush_pending.load(R),
            ),
            (
                "shadowtap_flush_retried_total",
                "counter",
                "Failed flushes merged on a later try.",
                self.flush_retried.load(R),
            ),
            (
                "shadowtap_flushes_lost_total",
                "counter",
                "Flushes given up on (retry buffer full, or still failing at exit).",
                self.flushes_lost.load(R),
            ),
            (
                "shadowtap_db_file_missing",
                "gauge",
                "1 when the database file was deleted or replaced since it was opened.",
                self.db_file_missing.load(R),
            ),
        ] {
            family(name, kind, help, &one(v));
        }
        family(
            "shadowtap_last_flush_timestamp_seconds",
            "gauge",
            "Wall time of the last completed flush round.",
            &[(String::new(), self.last_flush_ms.load(R) as f64 / 1000.0)],
        );
        let sev = ["info", "low", "medium", "high", "critical"];
        family(
            "shadowtap_findings",
            "gauge",
            "Findings in the inventory by severity.",
            &sev.iter()
                .zip(&self.findings)
                .map(|(s, v)| (format!("severity=\"{s}\""), v.load(R).max(0) as f64))
                .collect::<Vec<_>>(),
        );
        let caps: Vec<(&str, u64)> = vec![
            ("queue_full", self.queue_dropped()),
            ("max_flows", e.tcp.flows_evicted),
            ("reassembly_buffer", e.tcp.gaps_buffer_cap),
            ("http_memory_bytes", e.http.memory_cap_bytes),
            ("http_head_size", e.http.heads_too_large),
            ("http_headers", e.http.too_many_headers),
            ("http_pending", e.http.pending_overflow),
            ("fragments", e.defrag.evicted),
            ("inventory_hosts", i.hosts_over_cap + i.hosts_evicted),
            ("inventory_endpoints", i.endpoints_over_cap),
            ("inventory_endpoints_evicted", i.endpoints_evicted),
            ("inventory_methods_folded", i.methods_folded),
            ("rate_tracker", i.rates_evicted),
            ("template_nodes", i.template_node_cap),
            ("template_truncated", i.template_truncated),
            ("inventory_detail", i.detail_over_cap),
            ("sequence_principals", i.sequences.principals_evicted),
            (
                "sequence_tracker",
                i.sequences.over_cap
                    + i.sequences.enum_sketches_over_cap
                    + i.sequences.logins_evicted,
            ),
            ("store_endpoints", self.endpoints_dropped.load(R)),
            ("store_endpoints_evicted", self.endpoints_evicted.load(R)),
            ("store_sequences", self.sequences_trimmed.load(R)),
            ("store_clients", self.clients_dropped.load(R)),
            ("store_clients_evicted", self.clients_evicted.load(R)),
            ("alerts_rate_limited", self.alerts_rate_limited.load(R)),
            ("webhook_queue", self.alerts_queue_full.load(R)),
        ];
        family(
            "shadowtap_analysis_state",
            "gauge",
            "Long-lived analysis state held now, all workers: rate-tracked (host, client) pairs, call-sequence principals, and the principals' memory in bytes as estimated.",
            &[
                ("structure=\"rate_pairs\"", i.rate_pairs),
                ("structure=\"principals\"", i.principals),
                ("structure=\"principal_bytes\"", i.principal_bytes),
            ]
            .map(|(l, v)| (l.to_string(), v as f64)),
        );
        family(
            "shadowtap_cap_drops_total",
            "counter",
            "What each cap dropped (packets, connections, bytes, transactions, endpoints or alerts, by cap).",
            &caps
                .iter()
                .map(|(c, v)| (format!("cap=\"{c}\""), *v as f64))
                .collect::<Vec<_>>(),
        );
        family(
            "shadowtap_alerts_total",
            "counter",
            "Alerts raised, by type.",
            &ALERT_TYPES
                .iter()
                .zip(&self.alerts)
                .map(|(t, v)| (format!("type=\"{t}\""), v.load(R) as f64))
                .collect::<Vec<_>>(),
        );
        family(
            "shadowtap_alerts_suppressed_total",
            "counter",
            "Alerts not sent, by reason.",
            &[
                (
                    "reason=\"rate_limit\"".into(),
                    self.alerts_rate_limited.load(R) as f64,
                ),
                (
                    "reason=\"duplicate\"".into(),
                    self.alerts_duplicate.load(R) as f64,
                ),
                (
                    "reason=\"queue_full\"".into(),
                    self.alerts_queue_full.load(R) as f64,
                ),
            ],
        );
        family(
            "shadowtap_webhook_posts_total",
            "counter",
            "Webhook deliveries, by result.",
            &[
                ("result=\"ok\"".into(), self.webhook_ok.load(R) as f64),
                (
                    "result=\"failed\"".into(),
                    self.webhook_failed.load(R) as f64,
                ),
            ],
        );
        family(
            "shadowtap_retention_runs_total",
            "counter",
            "Retention passes.",
            &one(self.retention_runs.load(R)),
        );
        family(
            "shadowtap_retention_deleted_rows_total",
            "counter",
            "Rows deleted by retention, by table.",
            &RETENTION_TABLES
                .iter()
                .zip(&self.retention_deleted)
                .map(|(t, v)| (format!("table=\"{t}\""), v.load(R) as f64))
                .collect::<Vec<_>>(),
        );
        for (name, help, v) in [
            (
                "shadowtap_db_used_bytes",
                "Database pages in use.",
                self.db_used_bytes.load(R),
            ),
            (
                "shadowtap_db_file_bytes",
                "Database file and write-ahead log on disk.",
                self.db_file_bytes.load(R),
            ),
            (
                "shadowtap_db_budget_bytes",
                "Database size budget (0: none).",
                self.db_budget_bytes.load(R),
            ),
            (
                "shadowtap_db_over_budget",
                "1 while the database is over budget with no detail left to age out.",
                self.db_over_budget.load(R),
            ),
            (
                "shadowtap_memory_budget_bytes",
                "Configured memory budget.",
                self.memory_budget,
            ),
            (
                "process_resident_memory_bytes",
                "Resident set size.",
                rss_bytes().unwrap_or(0),
            ),
        ] {
            family(name, "gauge", help, &one(v));
        }
        family(
            "shadowtap_reloads_total",
            "counter",
            "SIGHUP reloads applied.",
            &one(self.reloads.load(R)),
        );
        family(
            "shadowtap_reload_errors_total",
            "counter",
            "SIGHUP reloads refused.",
            &one(self.reload_errors.load(R)),
        );
        self.flush_seconds.render(
            &mut o,
            "shadowtap_flush_duration_seconds",
            "Duration of a flush round: every worker's merge, alerts and bookkeeping.",
        );
        self.merge_seconds.render(
            &mut o,
            "shadowtap_store_merge_duration_seconds",
            "Duration of one store transaction (one worker's merge).",
        );
        o
    }

    /// The live numbers as JSON, for the Sensor page and `/api/sensor`.
    pub fn snapshot(&self) -> Value {
        let (e, i) = self.totals();
        let ifs: Vec<Value> = self
            .interfaces
            .iter()
            .map(|m| {
                json!({
                    "name": m.name,
                    "packets": m.packets.load(R),
                    "bytes": m.bytes.load(R),
                    "kernel_received": m.kernel_received.load(R),
                    "kernel_dropped": m.kernel_dropped.load(R),
                    "if_dropped": m.if_dropped.load(R),
                    "errors": m.errors.load(R),
                })
            })
            .collect();
        let workers: Vec<Value> = self
            .workers
            .iter()
            .map(|w| {
                let packets = w
                    .snapshot
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .as_ref()
                    .map_or(0, |(e, _)| e.packets.packets);
                json!({
                    "packets": packets,
                    "queued": w.queued.load(R).max(0),
                    "queue_dropped": w.queue_dropped.load(R),
                    "flush_deferred": w.flush_deferred.load(R),
                })
            })
            .collect();
        let last = self.last_flush_ms.load(R);
        json!({
            "uptime_seconds": self.uptime(),
            "interfaces": ifs,
            "workers": workers,
            "queue_capacity": self.queue_capacity,
            "queue_dropped": self.queue_dropped(),
            "flows_active": e.flows_now,
            "flows_evicted": e.tcp.flows_evicted,
            "tcp_gaps": e.tcp.gaps,
            "transactions": e.http.transactions,
            "endpoints": self.endpoints.load(R),
            "endpoints_created": self.endpoints_created.load(R),
            "findings": {
                "info": self.findings[0].load(R), "low": self.findings[1].load(R),
                "medium": self.findings[2].load(R), "high": self.findings[3].load(R),
                "critical": self.findings[4].load(R),
            },
            "flushes": self.flushes.load(R),
            "flush_errors": self.flush_errors.load(R),
            "flush_pending": self.flush_pending.load(R),
            "flush_retried": self.flush_retried.load(R),
            "flushes_lost": self.flushes_lost.load(R),
            "db_file_missing": self.db_file_missing.load(R) != 0,
            "last_flush_unix_ms": (last > 0).then_some(last),
            "flush_duration": self.flush_seconds.json(),
            "merge_duration": self.merge_seconds.json(),
            "alerts": ALERT_TYPES.iter().zip(&self.alerts).map(|(t, v)| (t.to_string(), json!(v.load(R)))).collect::<serde_json::Map<_, _>>(),
            "alerts_suppressed": {
                "rate_limit": self.alerts_rate_limited.load(R),
                "duplicate": self.alerts_duplicate.load(R),
                "queue_full": self.alerts_queue_full.load(R),
            },
            "webhook": { "ok": self.webhook_ok.load(R), "failed": self.webhook_failed.load(R) },
            "inventory_caps": {
                "hosts": i.hosts_over_cap, "endpoints": i.endpoints_over_cap, "detail": i.detail_over_cap,
            },
            "db": {
                "used_bytes": self.db_used_bytes.load(R),
                "file_bytes": self.db_file_bytes.load(R),
                "budget_bytes": self.db_budget_bytes.load(R),
                "over_budget": self.db_over_budget.load(R) != 0,
            },
            "retention_deleted": RETENTION_TABLES.iter().zip(&self.retention_deleted).map(|(t, v)| (t.to_string(), json!(v.load(R)))).collect::<serde_json::Map<_, _>>(),
            "rss_bytes": rss_bytes(),
            "memory_budget_bytes": self.memory_budget,
            "reloads": self.reloads.load(R),
        })
    }
}

impl crate::web::LiveSensor for SensorMetrics {
    fn prometheus(&self) -> String {
        SensorMetrics::prometheus(self)
    }

    fn snapshot(&self) -> Value {
        SensorMetrics::snapshot(self)
    }
}

/// A label value escaped for the exposition format.
fn label(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push('?'),
            c => out.push(c),
        }
    }
    out
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
        assert_eq!(h.quantile(0.5), None);
        for ms in [2, 3, 4, 40, 2000] {
            h.observe(Duration::from_millis(ms));
        }
        assert_eq!(h.count(), 5);
        assert_eq!(h.quantile(0.5), Some(0.005));
        assert_eq!(h.quantile(1.0), Some(2.5));
        let mut s = String::new();
        h.render(&mut s, "x_seconds", "test");
        assert!(s.contains("x_seconds_bucket{le=\"0.005\"} 3\n"), "{s}");
        assert!(s.contains("x_seconds_bucket{le=\"+Inf\"} 5\n"), "{s}");
        assert!(s.contains("x_seconds_count 5\n"), "{s}");
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
        "shadowtap_inventory_transactions_total",
        "shadowtap_endpoints",
        "shadowtap_endpoints_created_total",
        "shadowtap_flushes_total",
        "shadowtap_flush_errors_total",
        "shadowtap_flush_pending",
        "shadowtap_flush_retried_total",
        "shadowtap_flushes_lost_total",
        "shadowtap_db_file_missing",
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
    ];

    #[test]
    fn metric_names_are_a_contract() {
        let m = SensorMetrics::new(&["eth0".into()], 2, 8192, 1 << 30);
        let text = m.prometheus();
        let names: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.split(' ').next())
            .collect();
        assert_eq!(names, METRIC_NAMES);
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
        let text = m.prometheus();
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
        let snap = m.snapshot();
        assert_eq!(snap["queue_dropped"], 3);
        assert_eq!(snap["flows_active"], 4);
    }
}
