//! The writer: the one task that writes the database.
//!
//! Every flush interval it raises the epoch; each worker answers with its drain, which is merged
//! in one short transaction ([`Store::merge`]). Once every worker has answered (or at the next
//! tick), the round is closed: spec assessment when due, alert detection, shared templates, the
//! live capture record and the store gauges. A crash loses at most what the workers gathered
//! since their last merge: one flush interval.

use super::Reloadable;
use super::alerts::{Alerter, Detector};
use super::metrics::SensorMetrics;
use super::pipeline::Report;
use super::retention::{self, RetentionSettings};
use crate::store::{Store, StoreError};
use sqlx::Row;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const R: Ordering = Ordering::Relaxed;

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
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    if round.open {
                        self.close_round(&mut round, &mut last_assess, false).await;
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
                        self.merge(rep).await;
                        if last {
                            done += 1;
                        }
                        if answers_round || last {
                            round.answered += 1;
                        }
                        if round.open && round.answered >= self.workers {
                            self.close_round(&mut round, &mut last_assess, false).await;
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
        self.close_round(&mut round, &mut last_assess, true).await;
        if let Err(e) = self.finish_capture().await {
            eprintln!(
                "shadowtap: level=error msg=\"recording the end of the capture failed\" error=\"{e}\""
            );
        }
        (
            WriterSummary {
                flushes: self.metrics.flushes.load(R),
                errors: self.metrics.flush_errors.load(R),
            },
            self.alerter,
        )
    }

    async fn merge(&mut self, rep: Report) {
        let d = &rep.drain;
        if d.endpoints.is_empty()
            && d.transitions.is_empty()
            && d.paths.is_empty()
            && d.changed_hosts.is_empty()
        {
            return;
        }
        let t = Instant::now();
        match self.store.merge(d).await {
            Ok(f) => {
                self.metrics.merge_seconds.observe(t.elapsed());
                self.metrics.endpoints_created.fetch_add(f.created, R);
                self.metrics.endpoints_dropped.fetch_add(f.dropped, R);
                self.metrics.endpoints_evicted.fetch_add(f.evicted, R);
                self.metrics
                    .sequences_trimmed
                    .fetch_add(f.sequences_trimmed, R);
            }
            Err(e) => {
                self.metrics.flush_errors.fetch_add(1, R);
                eprintln!(
                    "shadowtap: level=error msg=\"merge failed; this worker's flush is lost\" worker={} error=\"{}\"",
                    rep.worker,
                    e.to_string().replace('"', "'")
                );
            }
        }
    }

    async fn close_round(&mut self, round: &mut Round, last_assess: &mut Instant, last: bool) {
        round.open = false;
        self.hold_budget().await;
        if last || last_assess.elapsed() >= self.assess_interval {
            *last_assess = Instant::now();
            if let Err(e) = crate::spec::assess(&self.store).await {
                eprintln!("shadowtap: level=error msg=\"spec assessment failed\" error=\"{e}\"");
            }
        }
        let settings = self.alerter.settings().clone();
        match self.detector.detect(&self.store, &settings).await {
            Ok(alerts) => {
                for a in alerts {
                    self.alerter.emit(a);
                }
            }
            Err(e) => {
                eprintln!("shadowtap: level=error msg=\"alert detection failed\" error=\"{e}\"")
            }
        }
        if let Err(e) = self.gauges().await {
            eprintln!("shadowtap: level=error msg=\"reading store gauges failed\" error=\"{e}\"");
        }
        if let Err(e) = self.update_capture().await {
            eprintln!(
                "shadowtap: level=error msg=\"updating the capture record failed\" error=\"{e}\""
            );
        }
        self.metrics.flush_seconds.observe(round.started.elapsed());
        self.metrics.flushes.fetch_add(1, R);
        self.metrics.last_flush_ms.store(
            (crate::time::Timestamp::now().as_nanos() / 1_000_000).max(0) as u64,
            R,
        );
    }

    async fn gauges(&self) -> Result<(), StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM endpoints WHERE request_count > 0")
            .fetch_one(self.store.pool())
            .await?;
        self.metrics.endpoints.store(n, R);
        let mut by = [0i64; 5];
        for r in sqlx::query("SELECT severity, COUNT(*) FROM findings GROUP BY severity")
            .fetch_all(self.store.pool())
            .await?
        {
            let i = match r.get::<String, _>(0).as_str() {
                "info" => 0,
                "low" => 1,
                "medium" => 2,
                "high" => 3,
                "critical" => 4,
                _ => continue,
            };
            by[i] = r.get(1);
        }
        for (m, v) in self.metrics.findings.iter().zip(by) {
            m.store(v, R);
        }
        let (used, file) = retention::db_size(&self.store).await?;
        self.metrics.db_used_bytes.store(used, R);
        self.metrics.db_file_bytes.store(file, R);
        Ok(())
    }

    /// The live capture's row: counters so far (the Sensor page sums these).
    async fn update_capture(&self) -> Result<(), StoreError> {
        let stats = self.metrics.totals_json();
        let g = |p: &str| stats.pointer(p).and_then(|v| v.as_u64()).unwrap_or(0) as i64;
        sqlx::query(
            "UPDATE captures SET first_ts = ?, last_ts = ?, packets = ?, bytes = ?, size_bytes = ?, transactions = ?, stats_json = ?
             WHERE id = ?",
        )
        .bind(self.started_ns)
        .bind(crate::time::Timestamp::now().as_nanos())
        .bind(g("/engine/packets/packets"))
        .bind(g("/engine/packets/bytes"))
        .bind(g("/engine/packets/bytes"))
        .bind(g("/engine/http/transactions"))
        .bind(stats.to_string())
        .bind(self.capture_id)
        .execute(self.store.pool())
        .await?;
        Ok(())
    }

    async fn finish_capture(&self) -> Result<(), StoreError> {
        self.update_capture().await?;
        sqlx::query("UPDATE captures SET complete = 1 WHERE id = ?")
            .bind(self.capture_id)
            .execute(self.store.pool())
            .await?;
        Ok(())
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
                self.metrics
                    .sequences_trimmed
                    .fetch_add(r.sequences_trimmed, R);
                self.metrics
                    .endpoints_evicted
                    .fetch_add(r.endpoints_evicted, R);
            }
            Err(e) => eprintln!(
                "shadowtap: level=error msg=\"holding the database size budget failed\" error=\"{}\"",
                e.to_string().replace('"', "'")
            ),
        }
    }

    async fn retention(&mut self) {
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
                    eprintln!(
                        "shadowtap: level=info msg=\"retention\" clients={} minutes={} sensitive={} client_findings={} used_bytes={} over_budget={}",
                        r.deleted[0],
                        r.deleted[1],
                        r.deleted[2],
                        r.deleted[3],
                        r.used_bytes,
                        r.over_budget
                    );
                }
            }
            Err(e) => eprintln!("shadowtap: level=error msg=\"retention failed\" error=\"{e}\""),
        }
    }
}
