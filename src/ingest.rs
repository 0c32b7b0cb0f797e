//! Ingest: capture files through the engine and the inventory into the store.
//!
//! One capture file is ingested once: its content hash is recorded, and a file already
//! recorded is skipped; one whose ingest was interrupted is finished where its last committed
//! flush ended (see `store::progress`). Observations are merged in short transactions every
//! `flush_every` transactions, so the dashboard keeps reading meanwhile.

use crate::analyze::inventory::{Inventory, InventoryConfig, InventoryStats};
use crate::analyze::template::book::TemplateBook;
use crate::capture::{FileSource, Next, PacketSource};
use crate::counters::{CapDrop, Counters};
use crate::engine::{Engine, EngineConfig, EngineStats};
use crate::source::{Format, SourceConfig, SourceError, SourceStats};
use crate::store::{CaptureRecord, FlushReport, Store, StoreError};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

/// Options of an ingest.
#[derive(Clone, Debug)]
pub struct IngestOptions {
    /// Engine limits.
    pub engine: EngineConfig,
    /// Inventory limits and pinned templates (the hash key is filled in from the store).
    pub inventory: InventoryConfig,
    /// Merge into the store after this many transactions.
    pub flush_every: u64,
    /// Ingest files again from their start even when they were ingested before, completely
    /// or in part (their traffic is counted again).
    pub force: bool,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            engine: EngineConfig::default(),
            inventory: InventoryConfig::default(),
            flush_every: 20_000,
            force: false,
        }
    }
}

/// The counters recorded with one capture (`captures.stats_json`, summed on the Sensor page):
/// every engine counter and what the inventory did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct RunStats {
    /// Packets, TCP, HTTP (and the kernel's counters of a live capture).
    pub engine: EngineStats,
    /// Transactions analysed, caps and evictions.
    pub inventory: InventoryStats,
    /// Lines (or HAR entries) read from access logs and HAR files, and those skipped by
    /// reason (zero for captures).
    pub source: SourceStats,
}

crate::counters!(RunStats {
    engine,
    inventory,
    source
});

impl RunStats {
    /// The caps of the access-log and HAR sources (`ingest --source`), with what they
    /// dropped (zero included).
    pub fn source_cap_drops(&self) -> Vec<CapDrop> {
        vec![
            CapDrop::new(
                "source_line_length",
                "access log lines skipped as too long (--max-line-bytes)",
                self.source.line_too_long,
            ),
            CapDrop::new(
                "har_entry_size",
                "HAR files stopped at an entry too large (--max-har-entry-bytes)",
                self.source.entry_too_large,
            ),
        ]
    }

    /// Every cap of the engine and the inventory, with what it dropped (zero included), in
    /// the order `/metrics` lists them.
    pub fn cap_drops(&self) -> Vec<CapDrop> {
        let (e, i) = (&self.engine, &self.inventory);
        let q = &i.sequences;
        vec![
            CapDrop::new("max_flows", "connections evicted", e.tcp.flows_evicted),
            CapDrop::new(
                "reassembly_buffer",
                "holes given up on (--max-buffered-per-dir, --max-reassembly-memory)",
                e.tcp.gaps_buffer_cap,
            ),
            CapDrop::new(
                "http_memory_bytes",
                "bytes not kept (--max-http-memory)",
                e.http.memory_cap_bytes,
            ),
            CapDrop::new(
                "http_head_size",
                "message heads too large (--max-head-bytes)",
                e.http.heads_too_large,
            ),
            CapDrop::new(
                "http_headers",
                "heads with too many fields (--max-headers)",
                e.http.too_many_headers,
            ),
            CapDrop::new(
                "http_pending",
                "transactions flushed early (too many pending on a connection)",
                e.http.pending_overflow,
            ),
            CapDrop::new(
                "http2_streams",
                "HTTP/2 streams emitted early (too many open on a connection)",
                e.http2.streams_over_cap,
            ),
            CapDrop::new(
                "http2_header_blocks",
                "HTTP/2 header blocks not decoded (too large, CONTINUATION flood, frame too large)",
                e.http2.header_blocks_too_large
                    + e.http2.continuation_floods
                    + e.http2.frames_too_large,
            ),
            CapDrop::new(
                "http2_header_lists",
                "HTTP/2 header lists cut at the header size or count cap",
                e.http2.header_lists_too_large,
            ),
            CapDrop::new(
                "http2_memory_bytes",
                "HTTP/2 body bytes not kept (--max-http-memory)",
                e.http2.memory_cap_bytes,
            ),
            CapDrop::new(
                "websocket_frames",
                "WebSocket connections cut at the frame cap ([websocket] max_frames; the rest counted, not parsed)",
                e.websocket.frames_over_cap,
            ),
            CapDrop::new(
                "websocket_samples",
                "WebSocket text messages not sampled (the WebSocket layer's memory full: [websocket] max_memory)",
                e.websocket.memory_cap_samples,
            ),
            CapDrop::new(
                "websocket_inflate",
                "WebSocket directions whose compressed messages are no longer inflated ([websocket] max_inflate_bytes, or max_memory full)",
                e.websocket.inflate_over_cap + e.websocket.memory_cap_inflaters,
            ),
            CapDrop::new(
                "fragments",
                "fragmented datagrams dropped (--max-fragmented-datagrams)",
                e.defrag.evicted,
            ),
            CapDrop::new(
                "tls_handshake",
                "TLS handshake messages not read (over 64 KiB, or the TLS layer's memory full)",
                e.tls.handshake_too_large + e.tls.memory_cap_drops,
            ),
            CapDrop::new(
                "tls_decrypt_hold",
                "TLS connections not decrypted: records waiting for their key over the hold caps",
                e.tls.decrypt.hold_cap_drops,
            ),
            CapDrop::new(
                "inventory_hosts",
                "transactions of hosts without a template learner, and learners evicted",
                i.hosts_over_cap + i.hosts_evicted,
            ),
            CapDrop::new(
                "inventory_endpoints",
                "transactions dropped at the endpoints held per flush",
                i.endpoints_over_cap,
            ),
            CapDrop::new(
                "inventory_endpoints_evicted",
                "endpoints of no evidence evicted from a flush",
                i.endpoints_evicted,
            ),
            CapDrop::new(
                "graphql_operations",
                "GraphQL requests named <kind> (other): their URL has 128 operation endpoints already",
                i.graphql_operations_over_cap,
            ),
            CapDrop::new(
                "grpc_messages",
                "gRPC bodies whose messages were not all counted: cut by the body sample or a gap, or over 4096 messages",
                i.grpc_bodies_truncated,
            ),
            CapDrop::new(
                "inventory_methods_folded",
                "requests of unregistered methods counted under OTHER",
                i.methods_folded,
            ),
            CapDrop::new(
                "rate_tracker",
                "requests of (host, client) pairs not rate-tracked, or idle pairs forgotten",
                i.rates_evicted,
            ),
            CapDrop::new(
                "template_nodes",
                "template learner nodes refused at max_nodes or positions collapsed at max_children",
                i.template_node_cap,
            ),
            CapDrop::new(
                "template_truncated",
                "paths cut at max_segments or segments longer than max_segment_len",
                i.template_truncated,
            ),
            CapDrop::new(
                "inventory_detail",
                "body shapes, sensitive entries or clients not recorded",
                i.detail_over_cap,
            ),
            CapDrop::new(
                "inventory_tls",
                "TLS services, clients or names not recorded per flush",
                i.tls.services_over_cap + i.tls.clients_over_cap + i.tls.names_over_cap,
            ),
            CapDrop::new(
                "sequence_principals",
                "principals evicted",
                q.principals_evicted,
            ),
            CapDrop::new(
                "sequence_tracker",
                "transitions, paths, sketches or logins not recorded",
                q.over_cap + q.enum_sketches_over_cap + q.logins_evicted,
            ),
        ]
    }
}

/// What happened to one file.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct FileReport {
    /// The path as given.
    pub path: String,
    /// `ingested`, `skipped` (already ingested) or `resumed` (an earlier ingest was
    /// interrupted; this one finished it, counting only what the earlier one had not).
    pub outcome: &'static str,
    /// For `resumed`: the packets whose transactions the interrupted ingest had committed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resumed_after: Option<u64>,
    /// Frames read.
    pub packets: u64,
    /// Bytes of the file.
    pub bytes: u64,
    /// Transactions found.
    pub transactions: u64,
    /// Endpoints created and updated.
    pub flush: FlushReport,
    /// Seconds spent.
    pub seconds: f64,
    /// The file ended in damage (libpcap's words): what came before was ingested.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncated: Option<String>,
    /// The format of an access log or HAR file ([`Format::name`]: `har`, `combined`,
    /// `nginx-json`, `haproxy`, ...); absent
    /// for captures. Then `packets` counts lines (HAR: entries).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<&'static str>,
    /// Every engine counter of the file and the inventory counters of what it added
    /// (`{"engine": .., "inventory": ..}`, as stored with the capture); null when skipped.
    pub stats: Option<RunStats>,
}

/// Errors of an ingest.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A capture file could not be read.
    #[error(transparent)]
    Capture(#[from] crate::capture::CaptureError),
    /// A file that is not a pcap or pcapng capture.
    #[error("{path}: not a pcap or pcapng capture file ({reason})")]
    NotCapture {
        /// The file.
        path: String,
        /// What it holds instead.
        reason: String,
    },
    /// An access log or HAR file that could not be read, or whose format is unknown.
    #[error("{path}: {error}")]
    Source {
        /// The file.
        path: String,
        /// The error.
        error: SourceError,
    },
    /// A capture file could not be opened or hashed.
    #[error(
        "{path}: {}; give the path of a pcap or pcapng capture file",
        crate::capture::io_reason(error)
    )]
    Io {
        /// The file.
        path: String,
        /// The error.
        error: std::io::Error,
    },
}

/// SHA-256 of a file, hex.
pub fn file_sha256(path: &Path) -> std::io::Result<(String, u64)> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        h.update(&buf[..n]);
    }
    Ok((
        h.finalize().iter().map(|b| format!("{b:02x}")).collect(),
        size,
    ))
}

/// Prepares an inventory for `store`: the hash key, the pinned and documented templates, and
/// every template learned before as a seed, so that endpoints keep their identity across
/// ingests.
pub async fn inventory_for(store: &Store, cfg: InventoryConfig) -> Result<Inventory, StoreError> {
    let book = Arc::new(TemplateBook::new(cfg.template.clone(), cfg.max_hosts));
    for (host, template) in store.pinned_templates().await? {
        book.pin(host.as_deref(), &template);
    }
    for (host, template, rules) in store.known_templates().await? {
        book.seed(&host, &template, &rules);
    }
    let mut inv = inventory_with_book(store, cfg, book).await?;
    inv.set_reports_book(true);
    Ok(inv)
}

/// Like [`inventory_for`], learning templates in `book` (prepared by an earlier call, whose
/// inventory's [`Inventory::book`] it is): the sensor daemon's workers share one book, so that
/// they all name an endpoint alike.
pub async fn inventory_with_book(
    store: &Store,
    mut cfg: InventoryConfig,
    book: Arc<TemplateBook>,
) -> Result<Inventory, StoreError> {
    cfg.hash_key = crate::store::hash_key(store.path())?;
    let mut inv = Inventory::with_book(cfg, book);
    // What earlier ingests saw is the sequence baseline: their transitions are not novel, and
    // a host's baseline period is not restarted.
    let (transitions, hosts) = store.known_sequences().await?;
    let seq = inv.sequences_mut();
    for (host, first) in hosts {
        seq.seed_host(&host, crate::time::Timestamp(first));
    }
    for (from, to, count) in transitions {
        seq.seed_baseline(from, to, count);
    }
    Ok(inv)
}

/// Capture file signatures: pcap (microsecond and nanosecond, either byte order) and pcapng.
const CAPTURE_MAGICS: [[u8; 4]; 5] = [
    [0xd4, 0xc3, 0xb2, 0xa1],
    [0xa1, 0xb2, 0xc3, 0xd4],
    [0x4d, 0x3c, 0xb2, 0xa1],
    [0xa1, 0xb2, 0x3c, 0x4d],
    [0x0a, 0x0d, 0x0d, 0x0a],
];

/// Checks that `path` starts like a pcap or pcapng file, so that nothing else is ever recorded
/// as a capture.
pub fn check_capture_file(path: &Path) -> Result<(), IngestError> {
    let shown = || path.display().to_string();
    let mut f = std::fs::File::open(path).map_err(|error| IngestError::Io {
        path: shown(),
        error,
    })?;
    let mut head = [0u8; 4];
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => {
                return Err(IngestError::Io {
                    path: shown(),
                    error,
                });
            }
        }
    }
    if n == 4 && CAPTURE_MAGICS.contains(&head) {
        return Ok(());
    }
    let reason = if n == 0 {
        "empty file".to_string()
    } else {
        format!(
            "starts with {}",
            head[..n]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(" ")
        )
    };
    Err(IngestError::NotCapture {
        path: shown(),
        reason,
    })
}

/// The row of a file about to be read, and how many of its packets (or lines) an earlier,
/// interrupted ingest committed; `None` when it was read completely before (the report says
/// `skipped`). `--force` counts a file again from the start, in the same row; a file seen for
/// the first time gets a new row once `check` (which opens it) has succeeded.
async fn capture_row(
    store: &Store,
    rec: &CaptureRecord,
    force: bool,
    report: &mut FileReport,
    check: impl FnOnce() -> Result<(), IngestError>,
) -> Result<Option<(i64, u64)>, IngestError> {
    Ok(match store.capture_state(&rec.sha256).await? {
        Some(s) if (s.complete || s.truncated) && !force => {
            report.outcome = "skipped";
            None
        }
        Some(s) if !force => {
            report.outcome = "resumed";
            report.resumed_after = Some(s.committed_packets);
            Some((s.id, s.committed_packets))
        }
        Some(s) => {
            store.restart_capture(s.id, rec).await?;
            Some((s.id, 0))
        }
        None => {
            check()?;
            Some((store.begin_capture(rec).await?, 0))
        }
    })
}

/// Ingests capture files in order.
///
/// Every file is checked to be a pcap or pcapng capture before anything is written. A file
/// ingested before is skipped (unless [`IngestOptions::force`]); a file whose earlier ingest
/// was interrupted is finished: it is replayed from its start, and only the transactions
/// completed after the packets its committed flushes covered are counted (see
/// `store::progress`).
pub async fn ingest_files(
    store: &Store,
    files: &[impl AsRef<Path>],
    opts: &IngestOptions,
    mut progress: impl FnMut(&FileReport),
) -> Result<(Vec<FileReport>, EngineStats, InventoryStats), IngestError> {
    for path in files {
        check_capture_file(path.as_ref())?;
    }
    let mut inv = inventory_for(store, opts.inventory.clone()).await?;
    let mut reports = Vec::new();
    let mut totals = EngineStats::default();
    let mut health = IngestHealth::new(
        store,
        files.iter().map(|f| f.as_ref().display().to_string()),
    );
    for path in files {
        let path = path.as_ref();
        let started = std::time::Instant::now();
        let shown = path.display().to_string();
        let (sha, size) = file_sha256(path).map_err(|error| IngestError::Io {
            path: shown.clone(),
            error,
        })?;
        let mut report = FileReport {
            path: shown.clone(),
            outcome: "ingested",
            resumed_after: None,
            packets: 0,
            bytes: size,
            transactions: 0,
            flush: FlushReport::default(),
            seconds: 0.0,
            stats: None,
            truncated: None,
            format: None,
        };
        let mut rec = CaptureRecord {
            sha256: sha,
            path: shown,
            size_bytes: size,
            source: "file".into(),
            ..Default::default()
        };
        // Opened before a new row is written: a file libpcap refuses leaves no trace.
        let opened = || Ok(FileSource::open(path, None).map(drop)?);
        let Some((id, skip)) = capture_row(store, &rec, opts.force, &mut report, opened).await?
        else {
            report.seconds = started.elapsed().as_secs_f64();
            progress(&report);
            reports.push(report);
            continue;
        };
        let mut src = FileSource::open(path, None)?;
        let mut engine = Engine::new(opts.engine.clone());
        let inv_before = inv.stats().clone();
        let mut since_flush = 0u64;
        // Packets read; transactions completed while it is at most `skip` were merged by the
        // interrupted ingest and are not counted again.
        let mut read = 0u64;
        loop {
            let pkt = match src.next_packet() {
                Ok(Next::Packet(p)) => p,
                Ok(Next::Idle) => continue,
                Ok(Next::End) => break,
                Err(e) => {
                    // A truncated file: keep what was read before the damage, and record
                    // the capture as truncated, not complete.
                    let why = match &e {
                        crate::capture::CaptureError::Read { source, .. } => source.to_string(),
                        other => other.to_string(),
                    };
                    rec.truncated = Some(why);
                    break;
                }
            };
            read += 1;
            let ts = pkt.ts.as_nanos();
            rec.first_ts = Some(rec.first_ts.map_or(ts, |f| f.min(ts)));
            rec.last_ts = Some(rec.last_ts.map_or(ts, |l| l.max(ts)));
            engine.packet(&pkt);
            let counted = read > skip;
            for t in engine.drain() {
                if counted {
                    inv.observe(&t);
                    since_flush += 1;
                }
            }
            for ev in engine.drain_tls() {
                if counted {
                    inv.observe_tls(&ev);
                }
            }
            if since_flush >= opts.flush_every {
                health.report(store, read, engine.stats().packets.bytes);
                report.flush += &store
                    .merge_recording(&inv.drain(), Some((id, read)))
                    .await?;
                since_flush = 0;
            }
        }
        // What the end of the file completes counts as one packet more than the file has.
        engine.finish();
        let end = read + 1;
        for t in engine.drain() {
            if end > skip {
                inv.observe(&t);
            }
        }
        for ev in engine.drain_tls() {
            if end > skip {
                inv.observe_tls(&ev);
            }
        }
        let stats = engine.stats();
        health.report(store, stats.packets.packets, stats.packets.bytes);
        report.flush += &store.merge_recording(&inv.drain(), Some((id, end))).await?;
        rec.packets = stats.packets.packets;
        rec.bytes = stats.packets.bytes;
        rec.transactions = stats.http.transactions;
        let file_stats = RunStats {
            engine: stats.clone(),
            inventory: inv.stats().since(&inv_before),
            source: SourceStats::default(),
        };
        rec.stats_json = serde_json::to_string(&file_stats).unwrap_or_default();
        store.finish_capture(id, &rec).await?;
        report.packets = rec.packets;
        report.transactions = rec.transactions;
        report.truncated = rec.truncated.clone();
        health.file_done(store, rec.packets, rec.bytes, &file_stats, &report.flush);
        report.stats = Some(file_stats);
        totals += &stats;
        report.seconds = started.elapsed().as_secs_f64();
        progress(&report);
        reports.push(report);
    }
    // Classification against imported specs and the endpoint-level findings follow the new data.
    crate::store::spec::assess(store)
        .await
        .map_err(|e| match e {
            crate::store::spec::SpecError::Store(s) => IngestError::Store(s),
            other => IngestError::Store(StoreError::Corrupt(other.to_string())),
        })?;
    store.optimize().await?;
    Ok((reports, totals, inv.stats().clone()))
}

/// What a fleet's centre shows of an ingest (`api_sensors`, carried by each delta): its files
/// as the "interfaces", and up to each merge the packets (a log's lines) and captured bytes of
/// the files read, and what every cap dropped in the files finished.
struct IngestHealth {
    /// The files finished.
    done: crate::store::delta::Health,
}

impl IngestHealth {
    fn new(store: &Store, files: impl Iterator<Item = String>) -> IngestHealth {
        let done = crate::store::delta::Health {
            host: crate::store::outbox::host_name(),
            interfaces: files.collect(),
            started_at: crate::time::Timestamp::now().as_nanos(),
            ..Default::default()
        };
        store.set_health(done.clone());
        IngestHealth { done }
    }

    /// Before a merge: the files finished, and `packets` and `bytes` of the file being read.
    fn report(&self, store: &Store, packets: u64, bytes: u64) {
        let mut h = self.done.clone();
        h.packets = h.packets.saturating_add(packets);
        h.bytes = h.bytes.saturating_add(bytes);
        store.set_health(h);
    }

    /// A file finished: its counts, and the caps' drops of its reading and its merges.
    fn file_done(
        &mut self,
        store: &Store,
        packets: u64,
        bytes: u64,
        stats: &RunStats,
        flush: &FlushReport,
    ) {
        let h = &mut self.done;
        h.packets = h.packets.saturating_add(packets);
        h.bytes = h.bytes.saturating_add(bytes);
        h.cap_drops = stats
            .source_cap_drops()
            .iter()
            .chain(&stats.cap_drops())
            .chain(&flush.cap_drops())
            .map(|c| c.count)
            .fold(h.cap_drops, u64::saturating_add);
        store.set_health(h.clone());
    }
}

/// Tells the format of an access log or HAR file from its first lines.
pub fn detect_source(path: &Path) -> Result<Format, IngestError> {
    let shown = || path.display().to_string();
    let f = std::fs::File::open(path).map_err(|error| IngestError::Io {
        path: shown(),
        error,
    })?;
    crate::source::detect(f).map_err(|error| IngestError::Source {
        path: shown(),
        error,
    })
}

/// Transactions handed from the reading thread to the inventory at a time.
const SOURCE_BATCH: usize = 256;
/// Batches in flight between the reading thread and the inventory (memory stays bounded).
const SOURCE_QUEUE: usize = 8;

/// Ingests access logs and HAR files in order, each in its format: every line (HAR entry)
/// becomes a transaction analysed like those of a capture, recorded under its source
/// ([`Format::origin`]). Files are recorded as captures are (`api_captures`, `source` `har` or
/// `access_log`, `packets` counting lines): one ingested before is skipped unless
/// [`IngestOptions::force`], one whose ingest was interrupted is finished after the lines its
/// committed flushes covered.
pub async fn ingest_sources(
    store: &Store,
    files: &[(impl AsRef<Path>, Format)],
    opts: &IngestOptions,
    cfg: &SourceConfig,
    mut progress: impl FnMut(&FileReport),
) -> Result<(Vec<FileReport>, InventoryStats), IngestError> {
    let mut inv = inventory_for(store, opts.inventory.clone()).await?;
    let mut reports = Vec::new();
    let mut health = IngestHealth::new(
        store,
        files.iter().map(|(f, _)| f.as_ref().display().to_string()),
    );
    for (path, format) in files {
        let (path, format) = (path.as_ref(), *format);
        let started = std::time::Instant::now();
        let shown = path.display().to_string();
        let io = |error| IngestError::Io {
            path: shown.clone(),
            error,
        };
        let (sha, size) = file_sha256(path).map_err(io)?;
        let mut report = FileReport {
            path: shown.clone(),
            outcome: "ingested",
            resumed_after: None,
            packets: 0,
            bytes: size,
            transactions: 0,
            flush: FlushReport::default(),
            seconds: 0.0,
            stats: None,
            truncated: None,
            format: Some(format.name()),
        };
        let mut rec = CaptureRecord {
            sha256: sha,
            path: shown.clone(),
            size_bytes: size,
            source: format.origin().as_str().into(),
            ..Default::default()
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let Some((id, skip)) = capture_row(store, &rec, opts.force, &mut report, || Ok(())).await?
        else {
            report.seconds = started.elapsed().as_secs_f64();
            progress(&report);
            reports.push(report);
            continue;
        };
        inv.set_origin(format.origin());
        let inv_before = inv.stats().clone();
        // The file is read on a thread of its own; its transactions come over a bounded queue.
        let (tx, rx) =
            std::sync::mpsc::sync_channel::<Vec<(u64, crate::http::HttpTransaction)>>(SOURCE_QUEUE);
        let reader_cfg = cfg.clone();
        let reader = std::thread::spawn(move || {
            let mut stats = SourceStats::default();
            let mut batch = Vec::with_capacity(SOURCE_BATCH);
            let input = std::io::BufReader::with_capacity(1 << 16, file);
            let result = crate::source::read(format, input, &reader_cfg, &mut stats, |n, t| {
                batch.push((n, t));
                if batch.len() >= SOURCE_BATCH {
                    // A closed queue (the ingest failed) only drops what follows.
                    let _ = tx.send(std::mem::take(&mut batch));
                }
            });
            if !batch.is_empty() {
                let _ = tx.send(batch);
            }
            (stats, result)
        });
        let mut since_flush = 0u64;
        let mut last = 0u64;
        let mut transactions = 0u64;
        let mut failed = None;
        for batch in rx.iter() {
            for (n, t) in batch {
                last = n;
                transactions += 1;
                let ts = t.ts().as_nanos();
                rec.first_ts = Some(rec.first_ts.map_or(ts, |f| f.min(ts)));
                rec.last_ts = Some(rec.last_ts.map_or(ts, |l| l.max(ts)));
                if n > skip {
                    inv.observe(&t);
                    since_flush += 1;
                }
            }
            if since_flush >= opts.flush_every {
                health.report(store, last, 0);
                match store.merge_recording(&inv.drain(), Some((id, last))).await {
                    Ok(f) => report.flush += &f,
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
                since_flush = 0;
            }
        }
        drop(rx);
        let (source, result) = reader.join().unwrap_or_else(|_| {
            (
                SourceStats::default(),
                Err(SourceError::Io(std::io::Error::other(
                    "the reading thread panicked",
                ))),
            )
        });
        if let Some(e) = failed {
            return Err(e.into());
        }
        match result {
            Ok(()) => {}
            // A HAR file that stops being JSON is like a truncated capture: what came
            // before is kept, and the file is recorded as truncated.
            Err(e @ (SourceError::Har { .. } | SourceError::EntryTooLarge(_))) => {
                rec.truncated = Some(e.to_string());
            }
            Err(error) => {
                return Err(IngestError::Source { path: shown, error });
            }
        }
        let end = source.lines + 1;
        health.report(store, source.lines, size);
        report.flush += &store.merge_recording(&inv.drain(), Some((id, end))).await?;
        rec.packets = source.lines;
        rec.bytes = size;
        rec.transactions = transactions;
        let file_stats = RunStats {
            inventory: inv.stats().since(&inv_before),
            source,
            ..RunStats::default()
        };
        rec.stats_json = serde_json::to_string(&file_stats).unwrap_or_default();
        store.finish_capture(id, &rec).await?;
        health.file_done(store, rec.packets, rec.bytes, &file_stats, &report.flush);
        report.packets = rec.packets;
        report.transactions = rec.transactions;
        report.truncated = rec.truncated.clone();
        report.stats = Some(file_stats);
        report.seconds = started.elapsed().as_secs_f64();
        progress(&report);
        reports.push(report);
    }
    inv.set_origin(crate::source::Origin::Wire);
    crate::store::spec::assess(store)
        .await
        .map_err(|e| match e {
            crate::store::spec::SpecError::Store(s) => IngestError::Store(s),
            other => IngestError::Store(StoreError::Corrupt(other.to_string())),
        })?;
    store.optimize().await?;
    Ok((reports, inv.stats().clone()))
}
