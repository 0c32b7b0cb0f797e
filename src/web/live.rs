//! The live numbers of a sensor running in this process (`shadowtap run`): the sensor hands
//! the dashboard one typed [`SensorSnapshot`] through [`LiveSensor`], and the Sensor page,
//! `/api/sensor` (its JSON) and `/metrics` all read that one value.
//!
//! `/metrics` is the Prometheus text exposition (version 0.0.4), encoded by
//! `prometheus-client` from the metric families declared here (the `Collector` of
//! [`SensorSnapshot`]). Their names and HELP texts are a contract for existing dashboards and
//! alert rules: add families, never rename or drop one (`sensor::metrics` tests the list).
//!
//! What it owns: the snapshot's shape and the metric families. What it may not touch: how a
//! sensor counts (atomics, workers, flushes: `sensor::metrics`), the store.

use crate::counters::CapDrop;
use crate::ingest::RunStats;
use crate::store::FlushReport;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// The `Content-Type` of `/metrics`.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// A sensor running in the same process as the dashboard (`shadowtap run`).
pub trait LiveSensor: Send + Sync {
    /// Every live number, read now.
    fn snapshot(&self) -> SensorSnapshot;
}

/// Everything a running sensor counts, read at one moment. Its JSON (`/api/sensor`'s `live`)
/// keeps the field names it had as hand-built JSON; `totals`, `start_time_seconds`,
/// `retention_runs`, `reload_errors` and `store` were added with the typed snapshot.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SensorSnapshot {
    /// Seconds since the sensor started.
    pub uptime_seconds: f64,
    /// Start time, seconds since the Unix epoch.
    pub start_time_seconds: f64,
    /// One per capture interface, in the configured order.
    pub interfaces: Vec<InterfaceSnapshot>,
    /// One per analysis worker.
    pub workers: Vec<WorkerSnapshot>,
    /// Capacity of each worker's queue, packets.
    pub queue_capacity: u64,
    /// Packets dropped at full worker queues (all workers).
    pub queue_dropped: u64,
    /// Connections tracked now (all workers).
    pub flows_active: u64,
    /// Connections evicted at `max_flows`.
    pub flows_evicted: u64,
    /// Holes in TCP streams.
    pub tcp_gaps: u64,
    /// HTTP transactions found.
    pub transactions: u64,
    /// Endpoints in the database.
    pub endpoints: i64,
    /// Endpoints created by this process.
    pub endpoints_created: u64,
    /// Findings in the database by severity.
    pub findings: FindingCounts,
    /// Flush rounds completed.
    pub flushes: u64,
    /// Worker merges that failed (kept and retried).
    pub flush_errors: u64,
    /// Failed flushes waiting to be retried (gauge).
    pub flush_pending: u64,
    /// Failed flushes merged on a later try.
    pub flush_retried: u64,
    /// Flushes given up on.
    pub flushes_lost: u64,
    /// The database file was deleted or replaced since it was opened.
    pub db_file_missing: bool,
    /// Wall time of the last completed flush round, ms since the epoch (none yet: `None`).
    pub last_flush_unix_ms: Option<u64>,
    /// Duration of whole flush rounds.
    pub flush_duration: HistogramSnapshot,
    /// Duration of one store transaction (one worker's merge).
    pub merge_duration: HistogramSnapshot,
    /// Alerts raised, by type (`new_endpoint`, `shadow_api`, ...).
    pub alerts: BTreeMap<String, u64>,
    /// Alerts not sent, by reason.
    pub alerts_suppressed: AlertsSuppressed,
    /// Webhook deliveries, by result.
    pub webhook: WebhookCounts,
    /// The inventory's caps that dropped transactions or detail.
    pub inventory_caps: InventoryCaps,
    /// The database's size.
    pub db: DbSize,
    /// Retention passes.
    pub retention_runs: u64,
    /// Rows deleted by retention, by table.
    pub retention_deleted: BTreeMap<String, u64>,
    /// Resident set size, bytes (`None` where `/proc` does not tell).
    pub rss_bytes: Option<u64>,
    /// The configured memory budget, bytes.
    pub memory_budget_bytes: u64,
    /// SIGHUP reloads applied.
    pub reloads: u64,
    /// SIGHUP reloads refused.
    pub reload_errors: u64,
    /// What the store's merges and retention did since start (created, updated, and what
    /// their caps dropped or evicted).
    pub store: FlushReport,
    /// Engine and inventory counters summed over the workers, with the kernel's and the
    /// queues' drops in `engine.capture`.
    pub totals: RunStats,
    /// Shipping to the fleet's centre (`--central`; `None` without it).
    pub fleet: Option<FleetSnapshot>,
    /// The access logs followed (`[[follow]]`, `--follow`), in the configured order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub follows: Vec<FollowSnapshot>,
}

/// What following one access log did since start (`crate::source::follow`).
#[derive(Clone, Debug, Default, Serialize)]
pub struct FollowSnapshot {
    /// The file's path.
    pub path: String,
    /// Bytes read.
    pub bytes: u64,
    /// Lines read.
    pub lines: u64,
    /// Transactions made.
    pub transactions: u64,
    /// Lines skipped (by any reason; `line_too_long` among them).
    pub skipped: u64,
    /// Rotations by renaming followed.
    pub rotations: u64,
    /// Truncations followed.
    pub truncations: u64,
}

/// What shipping deltas to the fleet's centre did since start (`crate::fleet::ship`).
#[derive(Clone, Debug, Default, Serialize)]
pub struct FleetSnapshot {
    /// Deltas the centre acknowledged.
    pub shipped: u64,
    /// Their bytes.
    pub shipped_bytes: u64,
    /// Shipping rounds that failed (centre down, network, refused).
    pub failures: u64,
    /// Deltas waiting in the outbox after the last failed round.
    pub pending: u64,
    /// Deltas folded into older ones to keep the outbox within `[store] spool_bytes`.
    pub summarised: u64,
    /// Folds that could not bring the outbox under its bound.
    pub over_bound: u64,
}

/// The counters of one capture interface.
#[derive(Clone, Debug, Default, Serialize)]
pub struct InterfaceSnapshot {
    /// Interface name (from the configuration).
    pub name: String,
    /// Frames read.
    pub packets: u64,
    /// Captured bytes read.
    pub bytes: u64,
    /// Frames the kernel handed to libpcap (`ps_recv`).
    pub kernel_received: u64,
    /// Frames the kernel dropped (`ps_drop`).
    pub kernel_dropped: u64,
    /// Frames the interface or driver dropped (`ps_ifdrop`).
    pub if_dropped: u64,
    /// Read errors.
    pub errors: u64,
}

/// The counters of one analysis worker.
#[derive(Clone, Debug, Default, Serialize)]
pub struct WorkerSnapshot {
    /// Frames analysed.
    pub packets: u64,
    /// Packets waiting in its queue now.
    pub queued: u64,
    /// Packets dropped because its queue was full.
    pub queue_dropped: u64,
    /// Flushes postponed because the writer was busy.
    pub flush_deferred: u64,
}

/// Findings by severity.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FindingCounts {
    /// Informational.
    pub info: i64,
    /// Low.
    pub low: i64,
    /// Medium.
    pub medium: i64,
    /// High.
    pub high: i64,
    /// Critical.
    pub critical: i64,
}

/// Alerts not sent, by reason.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AlertsSuppressed {
    /// The rate limit.
    pub rate_limit: u64,
    /// Already sent.
    pub duplicate: u64,
    /// The webhook queue was full.
    pub queue_full: u64,
}

/// Webhook deliveries.
#[derive(Clone, Debug, Default, Serialize)]
pub struct WebhookCounts {
    /// Answered 2xx.
    pub ok: u64,
    /// Failed after every retry.
    pub failed: u64,
}

/// The inventory's caps that dropped something.
#[derive(Clone, Debug, Default, Serialize)]
pub struct InventoryCaps {
    /// Transactions of hosts without a template learner.
    pub hosts: u64,
    /// Transactions dropped at the endpoints held per flush.
    pub endpoints: u64,
    /// Body shapes, sensitive entries or clients not recorded.
    pub detail: u64,
}

/// The database's size.
#[derive(Clone, Debug, Default, Serialize)]
pub struct DbSize {
    /// Pages in use, bytes.
    pub used_bytes: u64,
    /// The file and its write-ahead log, bytes.
    pub file_bytes: u64,
    /// The size budget (0: none).
    pub budget_bytes: u64,
    /// Over the budget with no detail left to age out.
    pub over_budget: bool,
}

/// A duration histogram read at one moment.
#[derive(Clone, Debug, Default, Serialize)]
pub struct HistogramSnapshot {
    /// Observations.
    pub count: u64,
    /// Their sum, seconds.
    pub sum_seconds: f64,
    /// The latest observation, seconds.
    pub last_seconds: f64,
    /// The longest observation, seconds.
    pub max_seconds: f64,
    /// An upper bound of the median from the buckets (none without an observation).
    pub p50_seconds_le: Option<f64>,
    /// An upper bound of the 99th percentile.
    pub p99_seconds_le: Option<f64>,
    /// (upper bound in seconds, observations at or below it), bounds ascending.
    #[serde(skip)]
    pub buckets: Vec<(f64, u64)>,
}

impl HistogramSnapshot {
    /// A snapshot of `count` observations summing to `sum_seconds`, with cumulative bucket
    /// counts `buckets`; the quantiles are read off the buckets (past the last bound: the
    /// maximum).
    pub fn new(
        buckets: Vec<(f64, u64)>,
        count: u64,
        sum_seconds: f64,
        last_seconds: f64,
        max_seconds: f64,
    ) -> HistogramSnapshot {
        let quantile = |q: f64| {
            if count == 0 {
                return None;
            }
            let rank = (q * count as f64).ceil().max(1.0) as u64;
            Some(
                buckets
                    .iter()
                    .find(|(_, n)| *n >= rank)
                    .map_or(max_seconds, |(b, _)| *b),
            )
        };
        HistogramSnapshot {
            p50_seconds_le: quantile(0.5),
            p99_seconds_le: quantile(0.99),
            count,
            sum_seconds,
            last_seconds,
            max_seconds,
            buckets,
        }
    }
}

/// The `/metrics` text of a snapshot and of the dashboard's own counters.
pub fn exposition(snapshot: SensorSnapshot, dashboard: impl Collector) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(snapshot));
    registry.register_collector(Box::new(dashboard));
    let mut out = String::with_capacity(16 * 1024);
    // Writing into a String cannot fail; a collector's error leaves what was written.
    let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &registry);
    out
}

/// The `/metrics` text of a fleet's centre (`serve --db postgres://...`) and of the
/// dashboard's own counters.
pub fn centre_exposition(centre: impl Collector, dashboard: impl Collector) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(centre));
    registry.register_collector(Box::new(dashboard));
    let mut out = String::with_capacity(8 * 1024);
    let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &registry);
    out
}

/// Writes metric families: one call per family, with its samples.
pub struct Families<'e, 'a> {
    encoder: &'e mut DescriptorEncoder<'a>,
}

impl<'e, 'a> Families<'e, 'a> {
    /// Families written to `encoder`.
    pub fn new(encoder: &'e mut DescriptorEncoder<'a>) -> Self {
        Families { encoder }
    }

    /// A counter without labels (`name` without the `_total` the encoding adds).
    pub fn counter(&mut self, name: &str, help: &str, v: u64) -> fmt::Result {
        let m = self
            .encoder
            .encode_descriptor(name, help, None, MetricType::Counter)?;
        ConstCounter::new(v).encode(m)
    }

    /// A gauge without labels.
    pub fn gauge<V>(&mut self, name: &str, help: &str, v: V) -> fmt::Result
    where
        ConstGauge<V>: EncodeMetric,
    {
        let m = self
            .encoder
            .encode_descriptor(name, help, None, MetricType::Gauge)?;
        ConstGauge::new(v).encode(m)
    }

    /// A counter with one label: `rows` are (label value, count).
    pub fn counters<L: AsRef<str>>(
        &mut self,
        name: &str,
        help: &str,
        label: &str,
        rows: impl IntoIterator<Item = (L, u64)>,
    ) -> fmt::Result {
        let mut m = self
            .encoder
            .encode_descriptor(name, help, None, MetricType::Counter)?;
        for (value, v) in rows {
            let labels = [(label, value.as_ref())];
            ConstCounter::new(v).encode(m.encode_family(&labels)?)?;
        }
        Ok(())
    }

    /// A gauge with one label: `rows` are (label value, value).
    pub fn gauges<L: AsRef<str>, V>(
        &mut self,
        name: &str,
        help: &str,
        label: &str,
        rows: impl IntoIterator<Item = (L, V)>,
    ) -> fmt::Result
    where
        ConstGauge<V>: EncodeMetric,
    {
        let mut m = self
            .encoder
            .encode_descriptor(name, help, None, MetricType::Gauge)?;
        for (value, v) in rows {
            let labels = [(label, value.as_ref())];
            ConstGauge::new(v).encode(m.encode_family(&labels)?)?;
        }
        Ok(())
    }

    /// A histogram of durations.
    pub fn histogram(&mut self, name: &str, help: &str, h: &HistogramSnapshot) -> fmt::Result {
        let mut m = self
            .encoder
            .encode_descriptor(name, help, None, MetricType::Histogram)?;
        // The encoding adds the counts up itself: hand it each bucket's own.
        let mut below = 0;
        let own: Vec<(f64, u64)> = h
            .buckets
            .iter()
            .map(|&(b, n)| {
                let o = n.saturating_sub(below);
                below = n.max(below);
                (b, o)
            })
            .collect();
        m.encode_histogram::<prometheus_client::encoding::NoLabelSet>(
            h.sum_seconds,
            h.count,
            &own,
            None,
        )
    }
}

const SEVERITIES: [&str; 5] = ["info", "low", "medium", "high", "critical"];

impl Collector for SensorSnapshot {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> fmt::Result {
        let mut f = Families::new(&mut encoder);
        let (e, i) = (&self.totals.engine, &self.totals.inventory);
        let ifs = &self.interfaces;
        let per_if =
            |get: fn(&InterfaceSnapshot) -> u64| ifs.iter().map(move |m| (&m.name, get(m)));
        let per_w = |get: fn(&WorkerSnapshot) -> u64| {
            self.workers
                .iter()
                .enumerate()
                .map(move |(n, w)| (n.to_string(), get(w)))
        };
        f.gauge(
            "shadowtap_start_time_seconds",
            "Start time of the sensor, seconds since the Unix epoch.",
            self.start_time_seconds,
        )?;
        f.gauge(
            "shadowtap_workers",
            "Analysis workers.",
            self.workers.len() as u64,
        )?;
        for (name, help, get) in [
            (
                "shadowtap_capture_packets",
                "Frames read from the interface.",
                (|m| m.packets) as fn(&InterfaceSnapshot) -> u64,
            ),
            (
                "shadowtap_capture_bytes",
                "Captured bytes read from the interface.",
                |m| m.bytes,
            ),
            (
                "shadowtap_capture_kernel_received",
                "Frames the kernel handed to libpcap (pcap ps_recv).",
                |m| m.kernel_received,
            ),
            (
                "shadowtap_capture_kernel_dropped",
                "Frames the kernel dropped because the capture buffer was full (pcap ps_drop).",
                |m| m.kernel_dropped,
            ),
            (
                "shadowtap_capture_interface_dropped",
                "Frames the interface or driver dropped (pcap ps_ifdrop).",
                |m| m.if_dropped,
            ),
            (
                "shadowtap_capture_errors",
                "Capture read errors (the interface's capture stopped).",
                |m| m.errors,
            ),
        ] {
            f.counters(name, help, "interface", per_if(get))?;
        }
        f.gauges(
            "shadowtap_queue_packets",
            "Packets waiting in a worker's queue.",
            "worker",
            per_w(|w| w.queued),
        )?;
        f.gauge(
            "shadowtap_queue_capacity_packets",
            "Capacity of each worker's queue.",
            self.queue_capacity,
        )?;
        f.counters(
            "shadowtap_queue_dropped_packets",
            "Packets dropped because a worker's queue was full.",
            "worker",
            per_w(|w| w.queue_dropped),
        )?;
        f.counters(
            "shadowtap_worker_packets",
            "Frames analysed by a worker.",
            "worker",
            per_w(|w| w.packets),
        )?;
        f.counters(
            "shadowtap_flush_deferred",
            "Worker flushes postponed because the writer was busy.",
            "worker",
            per_w(|w| w.flush_deferred),
        )?;
        let h = &e.http;
        let http_parse_errors = h.bad_heads
            + h.malformed_request_lines
            + h.bad_chunked
            + h.bad_content_length
            + h.heads_too_large
            + h.too_many_headers;
        let decode_errors: u64 = e.packets.decode_errors.values().sum();
        enum K {
            Counter,
            Gauge,
        }
        for (name, kind, help, v) in [
            (
                "shadowtap_packets_analysed",
                K::Counter,
                "Frames analysed (all workers).",
                e.packets.packets,
            ),
            (
                "shadowtap_bytes_analysed",
                K::Counter,
                "Captured bytes analysed (all workers).",
                e.packets.bytes,
            ),
            (
                "shadowtap_decode_errors",
                K::Counter,
                "Frames that did not decode.",
                decode_errors,
            ),
            (
                "shadowtap_tcp_segments",
                K::Counter,
                "TCP segments.",
                e.tcp.segments,
            ),
            (
                "shadowtap_flows_opened",
                K::Counter,
                "TCP connections tracked.",
                e.tcp.flows_opened,
            ),
            (
                "shadowtap_flows_active",
                K::Gauge,
                "TCP connections tracked now.",
                e.flows_now,
            ),
            (
                "shadowtap_flows_evicted",
                K::Counter,
                "Connections evicted to stay within max_flows.",
                e.tcp.flows_evicted,
            ),
            (
                "shadowtap_flows_timed_out",
                K::Counter,
                "Connections closed after idling past flow_timeout.",
                e.tcp.flows_timed_out,
            ),
            (
                "shadowtap_tcp_gaps",
                K::Counter,
                "Holes in TCP streams (missed segments).",
                e.tcp.gaps,
            ),
            (
                "shadowtap_tcp_gap_bytes",
                K::Counter,
                "Bytes in those holes.",
                e.tcp.gap_bytes,
            ),
            (
                "shadowtap_reassembly_buffered_bytes",
                K::Gauge,
                "Out-of-order bytes held now.",
                e.reassembly_bytes_now,
            ),
            (
                "shadowtap_http_buffered_bytes",
                K::Gauge,
                "Bytes held by the HTTP layer now.",
                e.http_bytes_now,
            ),
            (
                "shadowtap_http_transactions",
                K::Counter,
                "HTTP request/response pairs found.",
                h.transactions,
            ),
            (
                "shadowtap_http_partial_transactions",
                K::Counter,
                "Transactions emitted without their response.",
                h.no_response,
            ),
            (
                "shadowtap_http_parse_errors",
                K::Counter,
                "Malformed HTTP messages.",
                http_parse_errors,
            ),
            (
                "shadowtap_tls_connections",
                K::Counter,
                "Connections read as TLS (counted at their close).",
                e.tls.connections,
            ),
            (
                "shadowtap_tls_handshakes",
                K::Counter,
                "TLS handshakes read to their server hello.",
                e.tls.handshakes,
            ),
            (
                "shadowtap_tls_handshakes_incomplete",
                K::Counter,
                "TLS connections closed before their server hello.",
                e.tls.handshakes_incomplete,
            ),
            (
                "shadowtap_tls_parse_errors",
                K::Counter,
                "TLS records and handshake messages that did not parse.",
                e.tls.bad_records
                    + e.tls.bad_client_hellos
                    + e.tls.bad_server_hellos
                    + e.tls.bad_certificate_messages
                    + e.tls.bad_certificates,
            ),
            (
                "shadowtap_tls_buffered_bytes",
                K::Gauge,
                "Bytes held by the TLS layer now (handshake messages in progress).",
                e.tls_bytes_now,
            ),
            (
                "shadowtap_http2_connections",
                K::Counter,
                "Connections read as HTTP/2 (prior knowledge or Upgrade: h2c).",
                e.http2.connections,
            ),
            (
                "shadowtap_http2_streams",
                K::Counter,
                "HTTP/2 streams opened (each becomes a transaction).",
                e.http2.streams,
            ),
            (
                "shadowtap_http2_hpack_tables_lost",
                K::Counter,
                "Times a direction's HPACK table was lost (decode error, gap, cap): later header fields decode only as far as static and literal ones allow.",
                e.http2.hpack_tables_lost,
            ),
            (
                "shadowtap_http2_midstream_connections",
                K::Counter,
                "Connections picked up mid-way and read as HTTP/2 (found by the frame sniffer; HPACK tables lost from the start).",
                e.http2.midstream_connections,
            ),
            (
                "shadowtap_http2_headers_lost",
                K::Counter,
                "HTTP/2 header fields that referenced the unknown part of a lost HPACK table (not decoded).",
                e.http2.hpack_unknown_fields,
            ),
            (
                "shadowtap_http2_midstream_streams_dropped",
                K::Counter,
                "Streams of midstream HTTP/2 connections not emitted: begun before the capture, or :method/:path lost with the HPACK table.",
                e.http2
                    .midstream_streams_unseen
                    .saturating_add(e.http2.midstream_streams_unrecovered),
            ),
            (
                "shadowtap_http2_buffered_bytes",
                K::Gauge,
                "Bytes held by the HTTP/2 layer now (frames, header blocks, HPACK tables, body samples).",
                e.http2_bytes_now,
            ),
            (
                "shadowtap_websocket_connections",
                K::Counter,
                "Connections read as WebSocket after an accepted upgrade.",
                e.websocket.connections,
            ),
            (
                "shadowtap_websocket_frames",
                K::Counter,
                "WebSocket frames read.",
                e.websocket.frames,
            ),
            (
                "shadowtap_websocket_messages",
                K::Counter,
                "WebSocket data messages read (text and binary, fragments joined).",
                e.websocket.messages,
            ),
            (
                "shadowtap_websocket_buffered_bytes",
                K::Gauge,
                "Bytes held by the WebSocket layer now (message samples, inflaters).",
                e.websocket_bytes_now,
            ),
            (
                "shadowtap_tls_decrypted_connections",
                K::Counter,
                "TLS connections decrypted with the key log (counted at their close).",
                e.tls.decrypt.connections,
            ),
            (
                "shadowtap_tls_decrypted_records",
                K::Counter,
                "TLS records decrypted with the key log.",
                e.tls.decrypt.records,
            ),
            (
                "shadowtap_tls_decrypted_bytes",
                K::Counter,
                "Application-data bytes decrypted with the key log.",
                e.tls.decrypt.bytes,
            ),
            (
                "shadowtap_inventory_transactions",
                K::Counter,
                "Transactions attributed to an endpoint.",
                i.transactions,
            ),
            (
                "shadowtap_endpoints",
                K::Gauge,
                "Endpoints in the inventory.",
                self.endpoints.max(0) as u64,
            ),
            (
                "shadowtap_endpoints_created",
                K::Counter,
                "Endpoints created since start.",
                self.endpoints_created,
            ),
            (
                "shadowtap_flushes",
                K::Counter,
                "Flush rounds completed.",
                self.flushes,
            ),
            (
                "shadowtap_flush_errors",
                K::Counter,
                "Worker merges that failed (kept and retried).",
                self.flush_errors,
            ),
            (
                "shadowtap_flush_pending",
                K::Gauge,
                "Failed flushes waiting to be retried.",
                self.flush_pending,
            ),
            (
                "shadowtap_flush_retried",
                K::Counter,
                "Failed flushes merged on a later try.",
                self.flush_retried,
            ),
            (
                "shadowtap_flushes_lost",
                K::Counter,
                "Flushes given up on (retry buffer full, or still failing at exit).",
                self.flushes_lost,
            ),
            (
                "shadowtap_db_file_missing",
                K::Gauge,
                "1 when the database file was deleted or replaced since it was opened.",
                u64::from(self.db_file_missing),
            ),
        ] {
            match kind {
                K::Counter => f.counter(name, help, v)?,
                K::Gauge => f.gauge(name, help, v)?,
            }
        }
        let d = &e.tls.decrypt;
        f.counters(
            "shadowtap_tls_decrypt_failures",
            "TLS connections or directions not decrypted, by reason.",
            "reason",
            [
                ("no_key", d.no_key),
                ("unsupported_suite", d.unsupported_suite),
                ("bad_record", d.bad_record),
                ("gap", d.gap),
                ("no_handshake", d.no_handshake),
                ("hold_cap", d.hold_cap_drops),
                ("hold_expired", d.hold_expired),
            ],
        )?;
        f.gauge(
            "shadowtap_last_flush_timestamp_seconds",
            "Wall time of the last completed flush round.",
            self.last_flush_unix_ms.unwrap_or(0) as f64 / 1000.0,
        )?;
        let sev = &self.findings;
        f.gauges(
            "shadowtap_findings",
            "Findings in the inventory by severity.",
            "severity",
            SEVERITIES.into_iter().zip(
                [sev.info, sev.low, sev.medium, sev.high, sev.critical].map(|n| n.max(0) as u64),
            ),
        )?;
        f.gauges(
            "shadowtap_analysis_state",
            "Long-lived analysis state held now, all workers: rate-tracked (host, client) pairs, call-sequence principals, and the principals' memory in bytes as estimated.",
            "structure",
            [
                ("rate_pairs", i.rate_pairs),
                ("principals", i.principals),
                ("principal_bytes", i.principal_bytes),
            ],
        )?;
        let caps: Vec<CapDrop> = [CapDrop::new(
            "queue_full",
            "packets dropped at full worker queues",
            self.queue_dropped,
        )]
        .into_iter()
        .chain(self.totals.cap_drops())
        .chain(self.store.cap_drops())
        .chain([
            CapDrop::new(
                "alerts_rate_limited",
                "alerts not sent (rate limit)",
                self.alerts_suppressed.rate_limit,
            ),
            CapDrop::new(
                "webhook_queue",
                "alerts not sent (webhook queue full)",
                self.alerts_suppressed.queue_full,
            ),
        ])
        .collect();
        f.counters(
            "shadowtap_cap_drops",
            "What each cap dropped (packets, connections, bytes, transactions, endpoints or alerts, by cap).",
            "cap",
            caps.iter().map(|c| (c.cap, c.count)),
        )?;
        f.counters(
            "shadowtap_alerts",
            "Alerts raised, by type.",
            "type",
            self.alerts.iter().map(|(t, n)| (t, *n)),
        )?;
        let s = &self.alerts_suppressed;
        f.counters(
            "shadowtap_alerts_suppressed",
            "Alerts not sent, by reason.",
            "reason",
            [
                ("rate_limit", s.rate_limit),
                ("duplicate", s.duplicate),
                ("queue_full", s.queue_full),
            ],
        )?;
        f.counters(
            "shadowtap_webhook_posts",
            "Webhook deliveries, by result.",
            "result",
            [("ok", self.webhook.ok), ("failed", self.webhook.failed)],
        )?;
        f.counter(
            "shadowtap_retention_runs",
            "Retention passes.",
            self.retention_runs,
        )?;
        f.counters(
            "shadowtap_retention_deleted_rows",
            "Rows deleted by retention, by table.",
            "table",
            self.retention_deleted.iter().map(|(t, n)| (t, *n)),
        )?;
        for (name, help, v) in [
            (
                "shadowtap_db_used_bytes",
                "Database pages in use.",
                self.db.used_bytes,
            ),
            (
                "shadowtap_db_file_bytes",
                "Database file and write-ahead log on disk.",
                self.db.file_bytes,
            ),
            (
                "shadowtap_db_budget_bytes",
                "Database size budget (0: none).",
                self.db.budget_bytes,
            ),
            (
                "shadowtap_db_over_budget",
                "1 while the database is over budget with no detail left to age out.",
                u64::from(self.db.over_budget),
            ),
            (
                "shadowtap_memory_budget_bytes",
                "Configured memory budget.",
                self.memory_budget_bytes,
            ),
            (
                "process_resident_memory_bytes",
                "Resident set size.",
                self.rss_bytes.unwrap_or(0),
            ),
        ] {
            f.gauge(name, help, v)?;
        }
        f.counter("shadowtap_reloads", "SIGHUP reloads applied.", self.reloads)?;
        f.counter(
            "shadowtap_reload_errors",
            "SIGHUP reloads refused.",
            self.reload_errors,
        )?;
        f.histogram(
            "shadowtap_flush_duration_seconds",
            "Duration of a flush round: every worker's merge, alerts and bookkeeping.",
            &self.flush_duration,
        )?;
        f.histogram(
            "shadowtap_store_merge_duration_seconds",
            "Duration of one store transaction (one worker's merge).",
            &self.merge_duration,
        )?;
        if !self.follows.is_empty() {
            let per = |get: fn(&FollowSnapshot) -> u64| {
                self.follows.iter().map(move |l| (l.path.clone(), get(l)))
            };
            for (name, help, get) in [
                (
                    "shadowtap_follow_bytes",
                    "Bytes read from a followed access log.",
                    (|l| l.bytes) as fn(&FollowSnapshot) -> u64,
                ),
                (
                    "shadowtap_follow_lines",
                    "Lines read from a followed access log.",
                    |l| l.lines,
                ),
                (
                    "shadowtap_follow_transactions",
                    "Transactions made from a followed access log's lines.",
                    |l| l.transactions,
                ),
                (
                    "shadowtap_follow_skipped_lines",
                    "Lines of a followed access log skipped (not of its format, too long, bad dates, ...).",
                    |l| l.skipped,
                ),
                (
                    "shadowtap_follow_rotations",
                    "Rotations of a followed access log followed (renamed and replaced).",
                    |l| l.rotations,
                ),
                (
                    "shadowtap_follow_truncations",
                    "Times a followed access log was truncated and read again from its start.",
                    |l| l.truncations,
                ),
            ] {
                f.counters(name, help, "path", per(get))?;
            }
        }
        if let Some(s) = &self.fleet {
            for (name, help, v) in [
                (
                    "shadowtap_fleet_deltas_shipped",
                    "Deltas the fleet's centre acknowledged.",
                    s.shipped,
                ),
                (
                    "shadowtap_fleet_shipped_bytes",
                    "Bytes of the deltas the centre acknowledged.",
                    s.shipped_bytes,
                ),
                (
                    "shadowtap_fleet_ship_failures",
                    "Shipping rounds that failed (centre down, network, refused).",
                    s.failures,
                ),
                (
                    "shadowtap_fleet_deltas_summarised",
                    "Deltas folded into older ones to keep the outbox within its bound.",
                    s.summarised,
                ),
                (
                    "shadowtap_fleet_spool_over_bound",
                    "Folds that could not bring the outbox under its bound.",
                    s.over_bound,
                ),
            ] {
                f.counter(name, help, v)?;
            }
            f.gauge(
                "shadowtap_fleet_deltas_pending",
                "Deltas waiting in the outbox after the last failed shipping round.",
                s.pending,
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_come_off_the_cumulative_buckets() {
        let h = HistogramSnapshot::new(vec![(0.001, 0), (0.005, 3), (2.5, 5)], 5, 2.049, 2.0, 2.0);
        assert_eq!(h.p50_seconds_le, Some(0.005));
        assert_eq!(h.p99_seconds_le, Some(2.5));
        let none = HistogramSnapshot::new(vec![(0.001, 0)], 0, 0.0, 0.0, 0.0);
        assert_eq!(none.p50_seconds_le, None);
        // Past the last bound: the maximum.
        let long = HistogramSnapshot::new(vec![(1.0, 0)], 1, 40.0, 40.0, 40.0);
        assert_eq!(long.p99_seconds_le, Some(40.0));
    }
}
