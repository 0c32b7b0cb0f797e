//! The writer: the one task that writes the database.
//!
//! Every flush interval it raises the epoch; each worker answers with its drain, which is merged
//! in one short transaction ([`Store::merge`]). Once every worker has answered (or at the next
//! tick), the round is closed: spec assessment when due, alert detection, shared templates, the
//! live capture record and the store gauges. A crash loses at most what the workers gathered
//! since their last merge: one flush interval.

use super::Reloadable;
use super::alerts::{Alert, AlertKind, Alerter, Detector};
use super::metrics::SensorMetrics;
use super::pipeline::Report;
use crate::store::retention::{self, RetentionSettings};
use crate::store::{CaptureRecord, Store, StoreError};
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const R: Ordering = Ordering::Relaxed;

/// Failed flushes kept for a retry (each is bounded by the per-flush caps); beyond them the
/// oldest is given up on, counted in `flushes_lost`.
pub const MAX_PENDING: usize = 32;

/// What keeps flushes from being lost: the failed ones waiting for a retry, and the identity
/// of the database file (device, inode) to notice it being deleted or replaced.
#[derive(Default)]
struct Durability {
    pending: VecDeque<Report>,
    file: Option<(u64, u64)>,
    missing: bool,
    episodes: u32,
    last_warned: Option<Instant>,
}

/// Device and inode of a file.
fn identity(path: &std::path::Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// What the writer needs.
pub struct Writer {
    /// The database.
    pub store: Store,
    /// Counters.
    pub metrics: Arc<SensorMetrics>,
    /// Raised every flush interval; workers answer it.
    pub epoch: Arc<AtomicU64>,
    /// Shared templates.
    /// New rows since the last look.
    pub detector: Detector,
    /// Alert delivery.
    pub alerter: Alerter,
    /// Retention settings.
    pub retention: RetentionSettings,
    /// Number of workers.
    pub workers: usize,
    /// Time between flushes.
    pub flush_interval: Duration,
    /// Time between spec assessments.
    pub assess_interval: Duration,
    /// The `captures` row of this run.
    pub capture_id: i64,
    /// Start of this run, ns.
    pub started_ns: i64,
    /// When the query planner's statistics were last gathered (`None`: not yet).
    pub analyzed: Option<Instant>,
}

/// What the writer did, at the end.
#[derive(Debug, Default)]
pub struct WriterSummary {
    /// Flush rounds.
    pub flushes: u64,
    /// Merges that failed.
    pub errors: u64,
}

struct Round {
    epoch: u64,
    started: Instant,
    answered: usize,
    open: bool,
}

impl Writer {
    /// Runs until every worker has sent its last report; returns the alerter to close.
    pub async fn run(
        mut self,
        mut rx: tokio::sync::mpsc::Receiver<Report>,
        mut reload: tokio::sync::watch::Receiver<Reloadable>,
    ) -> (WriterSummary, Alerter) {
        self.store.set_budget_bytes(self.retention.max_db_bytes);
        let start = tokio::time::Instant::now();
        let mut tick = tokio::time::interval_at(start + self.flush_interval, self.flush_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut retention_tick = tokio::time::interval_at(
            start + Duration::from_secs(5).min(self.retention.interval),
            self.retention.interval.max(Duration::from_secs(1)),
        );
        retention_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_assess = Instant::now();
        let mut round = Round {
            epoch: 0,
            started: Instant::now(),
            answered: 0,
            open: false,
        };
        let mut done = 0usize;
        let mut reload_open = true;
        let mut dur = Durability {
            file: identity(self.store.path()),
            ..Durability::default()
        };
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    if round.open {
                        self.close_round(&mut dur, &mut round, &mut last_assess, false).await;
                    }
                    round.epoch = self.epoch.fetch_add(1, R) + 1;
                    round.started = Instant::now();
                    round.answered = done;
                    round.open = true;
                }
                r = rx.recv() => match r {
                    Some(rep) => {
                        let answers_round = rep.epoch == round.epoch;
                        let last = rep.last;
                        self.merge(&mut dur, rep).await;
                        if last {
                            done += 1;
                        }
                        if answers_round || last {
                            round.answered += 1;
                        }
                        if round.open && round.answered >= self.workers {
                            self.close_round(&mut dur, &mut round, &mut last_assess, false).await;
                        }
                    }
                    None => break,
                },
                _ = retention_tick.tick() => self.retention().await,
                changed = reload.changed(), if reload_open => {
                    if changed.is_err() {
                        reload_open = false;
                        continue;
                    }
                    let new = reload.borrow_and_update().clone();
                    if new.retention.interval != self.retention.interval {
                        retention_tick = tokio::time::interval(new.retention.interval.max(Duration::from_secs(1)));
                        retention_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    }
                    self.retention = new.retention;
                    self.store.set_budget_bytes(self.retention.max_db_bytes);
                    self.alerter.reload(new.alerts);
                }
            }
        }
        // Every worker has finished: last round, with a spec assessment.
        round.open = true;
        self.close_round(&mut dur, &mut round, &mut last_assess, true)
            .await;
        self.give_up(&mut dur);
        if let Err(e) = self.finish_capture().await {
            tracing::error!(error = %e, "recording the end of the capture failed");
        }
        (
            WriterSummary {
                flushes: self.metrics.flushes.load(R),
                errors: self.metrics.flush_errors.load(R),
            },
            self.alerter,
        )
    }

    async fn merge(&mut self, dur: &mut Durability, rep: Report) {
        let d = &rep.drain;
        if d.endpoints.is_empty()
            && d.transitions.is_empty()
            && d.paths.is_empty()
            && d.changed_hosts.is_empty()
        {
            return;
        }
        // Failed flushes first, in their order.
        self.retry(dur).await;
        if !dur.pending.is_empty() {
            self.keep(dur, rep);
            return;
        }
        if let Err(e) = self.try_merge(&rep).await {
            self.metrics.flush_errors.fetch_add(1, R);
            tracing::error!(
                worker = rep.worker,
                pending = dur.pending.len() + 1,
                error = %e,
                "merge failed; the flush is kept and retried"
            );
            self.keep(dur, rep);
        }
    }

    /// Merges one drain.
    async fn try_merge(&mut self, rep: &Report) -> Result<(), StoreError> {
        let t = Instant::now();
        self.store.set_health(self.metrics.health());
        let f = self.store.merge(&rep.drain).await?;
        self.metrics.merge_seconds.observe(t.elapsed());
        self.metrics.endpoints_created.fetch_add(f.created, R);
        *self.metrics.store.lock().unwrap_or_else(|p| p.into_inner()) += &f;
        Ok(())
    }

    /// Keeps a failed flush for a retry; over [`MAX_PENDING`] the oldest is given up on.
    fn keep(&mut self, dur: &mut Durability, rep: Report) {
        dur.pending.push_back(rep);
        while dur.pending.len() > MAX_PENDING {
            if let Some(old) = dur.pending.pop_front() {
                self.metrics.flushes_lost.fetch_add(1, R);
                tracing::error!(
                    worker = old.worker,
                    kept = MAX_PENDING,
                    "the database has refused flushes for too long; the oldest kept flush is lost"
                );
            }
        }
        self.metrics
            .flush_pending
            .store(dur.pending.len() as u64, R);
    }

    /// Merges the kept flushes, in order, until one fails again.
    async fn retry(&mut self, dur: &mut Durability) {
        let had = dur.pending.len();
        while let Some(rep) = dur.pending.pop_front() {
            if self.try_merge(&rep).await.is_err() {
                dur.pending.push_front(rep);
                break;
            }
            self.metrics.flush_retried.fetch_add(1, R);
        }
        self.metrics
            .flush_pending
            .store(dur.pending.len() as u64, R);
        if had > 0 && dur.pending.is_empty() {
            tracing::info!(
                retried = had,
                "the database accepts flushes again; every kept flush is merged"
            );
        }
    }

    /// At exit: what could still not be merged is lost, and said so.
    fn give_up(&mut self, dur: &mut Durability) {
        if !dur.pending.is_empty() {
            self.metrics
                .flushes_lost
                .fetch_add(dur.pending.len() as u64, R);
            tracing::error!(
                lost = dur.pending.len(),
                "flushes could not be merged before exit and are lost"
            );
            dur.pending.clear();
            self.metrics.flush_pending.store(0, R);
        }
    }

    /// Notices the database file being deleted or replaced under the sensor: SQLite goes on
    /// writing to the file it opened, which nobody can read and which disappears at exit.
    /// Logged at error level (every minute while it lasts), a `sensor_health` alert, and the
    /// `db_file_missing` gauge.
    fn watch_file(&mut self, dur: &mut Durability) {
        let now = identity(self.store.path());
        let missing = dur.file.is_some() && now != dur.file;
        self.metrics.db_file_missing.store(u64::from(missing), R);
        if !missing {
            if dur.missing {
                tracing::info!(
                    db = %self.store.path().display(),
                    "the database file is back"
                );
            }
            dur.missing = false;
            return;
        }
        let due = dur
            .last_warned
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(60));
        if !dur.missing || due {
            let what = if now.is_none() {
                "deleted"
            } else {
                "replaced by another file"
            };
            let summary = format!(
                "the database file {} was {what}; the inventory is written to the file that was opened, which nothing can read and which is lost when shadowtap stops: restore the file from a backup or restart shadowtap (with the file gone it starts a new inventory)",
                self.store.path().display()
            );
            tracing::error!("{summary}");
            if !dur.missing {
                dur.episodes += 1;
                self.alerter.emit(Alert {
                    kind: AlertKind::SensorHealth,
                    key: format!(
                        "db_file_missing|{}|{}",
                        self.store.path().display(),
                        dur.episodes
                    ),
                    body: serde_json::json!({
                        "severity": "critical",
                        "summary": summary,
                        "condition": "db_file_missing",
                        "db": self.store.path().display().to_string(),
                    }),
                });
            }
            dur.last_warned = Some(Instant::now());
        }
        dur.missing = true;
    }

    async fn close_round(
        &mut self,
        dur: &mut Durability,
        round: &mut Round,
        last_assess: &mut Instant,
        last: bool,
    ) {
        round.open = false;
        self.retry(dur).await;
        self.watch_file(dur);
        self.hold_budget().await;
        if last || last_assess.elapsed() >= self.assess_interval {
            *last_assess = Instant::now();
            if let Err(e) = crate::store::spec::assess(&self.store).await {
                tracing::error!(error = %e, "spec assessment failed");
            }
        }
        let settings = self.alerter.settings().clone();
        match self.detector.detect(&self.store, &settings).await {
            Ok(alerts) => {
                for a in alerts {
                    self.alerter.emit(a);
                }
            }
            Err(e) => tracing::error!(error = %e, "alert detection failed"),
        }
        if let Err(e) = self.gauges().await {
            tracing::error!(error = %e, "reading store gauges failed");
        }
        if let Err(e) = self.update_capture().await {
            tracing::error!(error = %e, "updating the capture record failed");
        }
        self.metrics.flush_seconds.observe(round.started.elapsed());
        self.metrics.flushes.fetch_add(1, R);
        self.metrics.last_flush_ms.store(
            (crate::time::Timestamp::now().as_nanos() / 1_000_000).max(0) as u64,
            R,
        );
    }

    async fn gauges(&self) -> Result<(), StoreError> {
        let counts = self.store.inventory_counts().await?;
        self.metrics.endpoints.store(counts.endpoints, R);
        for (m, v) in self
            .metrics
            .findings
            .iter()
            .zip(counts.findings_by_severity)
        {
            m.store(v, R);
        }
        let (used, file) = retention::db_size(&self.store).await?;
        self.metrics.db_used_bytes.store(used, R);
        self.metrics.db_file_bytes.store(file, R);
        Ok(())
    }

    /// The live capture's row: counters so far (the Sensor page sums these).
    fn capture_record(&self) -> CaptureRecord {
        let (engine, _) = self.metrics.totals();
        CaptureRecord {
            first_ts: Some(self.started_ns),
            last_ts: Some(crate::time::Timestamp::now().as_nanos()),
            packets: engine.packets.packets,
            bytes: engine.packets.bytes,
            transactions: engine.http.transactions,
            stats_json: serde_json::to_string(&self.metrics.run_stats()).unwrap_or_default(),
            ..CaptureRecord::default()
        }
    }

    async fn update_capture(&self) -> Result<(), StoreError> {
        self.store
            .update_live_capture(self.capture_id, &self.capture_record(), false)
            .await
    }

    async fn finish_capture(&self) -> Result<(), StoreError> {
        self.store
            .update_live_capture(self.capture_id, &self.capture_record(), true)
            .await
    }

    /// The size budget, checked after every flush round (see `retention::hold_budget`).
    async fn hold_budget(&mut self) {
        let budget = self.retention.max_db_bytes;
        self.store.set_budget_bytes(budget);
        if budget == 0 {
            self.store.set_admit_new(true);
            return;
        }
        let now = crate::time::Timestamp::now().as_nanos();
        match retention::hold_budget(&self.store, budget, now).await {
            Ok(r) => {
                self.metrics.db_used_bytes.store(r.used_bytes, R);
                self.metrics.db_over_budget.store(u64::from(r.closed), R);
                for (m, v) in self.metrics.retention_deleted.iter().zip(r.deleted) {
                    m.fetch_add(v, R);
                }
                let mut store = self.metrics.store.lock().unwrap_or_else(|p| p.into_inner());
                store.sequences_trimmed += r.sequences_trimmed;
                store.evicted += r.endpoints_evicted;
            }
            Err(e) => tracing::error!(error = %e, "holding the database size budget failed"),
        }
    }

    async fn retention(&mut self) {
        // The planner's statistics follow the inventory as it grows (see `Store::optimize`):
        // at the first pass, then hourly.
        if self
            .analyzed
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(3600))
        {
            self.analyzed = Some(Instant::now());
            if let Err(e) = self.store.optimize().await {
                tracing::warn!(error = %e, "refreshing the query planner's statistics failed");
            }
        }
        let s = self.retention.clone();
        self.metrics.db_budget_bytes.store(s.max_db_bytes, R);
        if s.detail_days == 0 && s.max_db_bytes == 0 {
            return;
        }
        let now = crate::time::Timestamp::now().as_nanos();
        match retention::run(&self.store, &s, now).await {
            Ok(r) => {
                self.metrics.retention_runs.fetch_add(1, R);
                for (m, v) in self.metrics.retention_deleted.iter().zip(r.deleted) {
                    m.fetch_add(v, R);
                }
                self.metrics.db_used_bytes.store(r.used_bytes, R);
                self.metrics.db_file_bytes.store(r.file_bytes, R);
                self.metrics
                    .db_over_budget
                    .store(u64::from(r.over_budget), R);
                let deleted: u64 = r.deleted.iter().sum();
                if deleted > 0 || r.over_budget {
                    tracing::info!(
                        clients = r.deleted[0],
                        minutes = r.deleted[1],
                        sensitive = r.deleted[2],
                        client_findings = r.deleted[3],
                        used_bytes = r.used_bytes,
                        over_budget = r.over_budget,
                        "retention"
                    );
                }
            }
            Err(e) => tracing::error!(error = %e, "retention failed"),
        }
    }
}
