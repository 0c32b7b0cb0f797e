//! Ingest: capture files through the engine and the inventory into the store.
//!
//! One capture file is ingested once: its content hash is recorded, and a file already
//! recorded is skipped. Observations are merged in short transactions every
//! `flush_every` transactions, so the dashboard keeps reading meanwhile.

use crate::analyze::inventory::{Inventory, InventoryConfig, InventoryStats};
use crate::analyze::template::book::TemplateBook;
use crate::capture::{FileSource, Next, PacketSource};
use crate::engine::{Engine, EngineConfig, EngineStats};
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
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            engine: EngineConfig::default(),
            inventory: InventoryConfig::default(),
            flush_every: 20_000,
        }
    }
}

/// What happened to one file.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct FileReport {
    /// The path as given.
    pub path: String,
    /// `ingested`, `skipped` (already ingested) or `incomplete` (an earlier ingest was
    /// interrupted: not ingested again, to avoid counting part of it twice).
    pub outcome: &'static str,
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
    /// A capture file could not be hashed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
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

/// Ingests capture files in order.
pub async fn ingest_files(
    store: &Store,
    files: &[impl AsRef<Path>],
    opts: &IngestOptions,
    mut progress: impl FnMut(&FileReport),
) -> Result<(Vec<FileReport>, EngineStats, InventoryStats), IngestError> {
    let mut inv = inventory_for(store, opts.inventory.clone()).await?;
    let mut reports = Vec::new();
    let mut totals = EngineStats::default();
    for path in files {
        let path = path.as_ref();
        let started = std::time::Instant::now();
        let shown = path.display().to_string();
        let (sha, size) = file_sha256(path).map_err(|source| IngestError::Io {
            path: shown.clone(),
            source,
        })?;
        let mut report = FileReport {
            path: shown.clone(),
            outcome: "ingested",
            packets: 0,
            bytes: size,
            transactions: 0,
            flush: FlushReport::default(),
            seconds: 0.0,
        };
        match store.ingested(&sha).await? {
            Some(true) => report.outcome = "skipped",
            Some(false) => report.outcome = "incomplete",
            None => {
                let mut rec = CaptureRecord {
                    sha256: sha,
                    path: shown,
                    size_bytes: size,
                    source: "file".into(),
                    ..Default::default()
                };
                let id = store.begin_capture(&rec).await?;
                let mut engine = Engine::new(opts.engine.clone());
                let inv_before = inv.stats().clone();
                let mut src = FileSource::open(path, None)?;
                let mut since_flush = 0u64;
                loop {
                    let pkt = match src.next_packet() {
                        Ok(Next::Packet(p)) => p,
                        Ok(Next::Idle) => continue,
                        Ok(Next::End) => break,
                        Err(e) => {
                            // A truncated file: keep what was read before the damage.
                            eprintln!("shadowtap: {e}");
                            break;
                        }
                    };
                    let ts = pkt.ts.as_nanos();
                    rec.first_ts = Some(rec.first_ts.map_or(ts, |f| f.min(ts)));
                    rec.last_ts = Some(rec.last_ts.map_or(ts, |l| l.max(ts)));
                    engine.packet(&pkt);
                    for t in engine.drain() {
                        inv.observe(&t);
                        since_flush += 1;
                    }
                    if since_flush >= opts.flush_every {
                        add(&mut report.flush, store.merge(&inv.drain()).await?);
                        since_flush = 0;
                    }
                }
                engine.finish();
                for t in engine.drain() {
                    inv.observe(&t);
                }
                add(&mut report.flush, store.merge(&inv.drain()).await?);
                let stats = engine.stats();
                rec.packets = stats.packets.packets;
                rec.bytes = stats.packets.bytes;
                rec.transactions = stats.http.transactions;
                rec.stats_json = serde_json::json!({
                    "engine": &stats,
                    "inventory": inventory_delta(&inv_before, inv.stats()),
                })
                .to_string();
                store.finish_capture(id, &rec).await?;
                report.packets = rec.packets;
                report.transactions = rec.transactions;
                accumulate(&mut totals, &stats);
            }
        }
        report.seconds = started.elapsed().as_secs_f64();
        progress(&report);
        reports.push(report);
    }
    // Classification against imported specs and the endpoint-level findings follow the new data.
    crate::spec::assess(store).await.map_err(|e| match e {
        crate::spec::SpecError::Store(s) => IngestError::Store(s),
        other => IngestError::Store(StoreError::Corrupt(other.to_string())),
    })?;
    Ok((reports, totals, inv.stats().clone()))
}

fn add(a: &mut FlushReport, b: FlushReport) {
    a.created += b.created;
    a.updated += b.updated;
    a.dropped += b.dropped;
    a.transitions += b.transitions;
    a.paths += b.paths;
    a.retemplated += b.retemplated;
    a.merged += b.merged;
    a.evicted += b.evicted;
    a.sequences_trimmed += b.sequences_trimmed;
}

/// The inventory counters of one file: what changed while it was read.
fn inventory_delta(before: &InventoryStats, after: &InventoryStats) -> InventoryStats {
    let d = |a: u64, b: u64| b.saturating_sub(a);
    let (sb, sa) = (&before.sequences, &after.sequences);
    InventoryStats {
        transactions: d(before.transactions, after.transactions),
        without_request: d(before.without_request, after.without_request),
        connect_requests: d(before.connect_requests, after.connect_requests),
        hosts_over_cap: d(before.hosts_over_cap, after.hosts_over_cap),
        hosts_evicted: d(before.hosts_evicted, after.hosts_evicted),
        endpoints_over_cap: d(before.endpoints_over_cap, after.endpoints_over_cap),
        endpoints_evicted: d(before.endpoints_evicted, after.endpoints_evicted),
        methods_folded: d(before.methods_folded, after.methods_folded),
        bad_host_headers: d(before.bad_host_headers, after.bad_host_headers),
        bodies_parsed: d(before.bodies_parsed, after.bodies_parsed),
        bodies_unparsed: d(before.bodies_unparsed, after.bodies_unparsed),
        bodies_undecodable: d(before.bodies_undecodable, after.bodies_undecodable),
        detail_over_cap: d(before.detail_over_cap, after.detail_over_cap),
        sensitive_values: d(before.sensitive_values, after.sensitive_values),
        bodies_sampled_out: d(before.bodies_sampled_out, after.bodies_sampled_out),
        sequences: crate::analyze::sequence::SequenceStats {
            calls: d(sb.calls, sa.calls),
            transitions: d(sb.transitions, sa.transitions),
            sessions: d(sb.sessions, sa.sessions),
            principals_evicted: d(sb.principals_evicted, sa.principals_evicted),
            over_cap: d(sb.over_cap, sa.over_cap),
            enum_sketches_over_cap: d(sb.enum_sketches_over_cap, sa.enum_sketches_over_cap),
            stitched: d(sb.stitched, sa.stitched),
            logins_evicted: d(sb.logins_evicted, sa.logins_evicted),
        },
    }
}

fn accumulate(total: &mut EngineStats, s: &EngineStats) {
    total.packets.packets += s.packets.packets;
    total.packets.bytes += s.packets.bytes;
    total.http.transactions += s.http.transactions;
    total.tcp.gaps += s.tcp.gaps;
    total.tcp.flows_opened += s.tcp.flows_opened;
}
