//! Retention: per-client detail and samples age out after N days, and a database size budget.
//!
//! What ages out (everything else is the inventory itself and is kept):
//! - `endpoint_clients`: which client addresses called an endpoint (by `last_seen`);
//! - `endpoint_minutes`: the per-minute call series behind the charts (by minute);
//! - `endpoint_sensitive`: the redacted samples of sensitive values (by `last_seen`);
//! - findings tied to one client (`client` set: rate and sequence findings), by `last_seen`.
//!
//! Endpoints, their totals, shapes, parameters, auth schemes, transitions and endpoint-level
//! findings are never deleted.
//!
//! The size budget counts the pages in use (`page_count - freelist_count`): SQLite reuses
//! freed pages, so the file stops growing once detail is aged out, but it does not shrink by
//! itself (changing `auto_vacuum` on an existing database needs a full `VACUUM`, which a
//! migration cannot run). To give the space back to the file system, stop the sensor and run
//! `sqlite3 inventory.db VACUUM`. When over budget, the oldest day of detail is deleted, then
//! the next, until the database fits or no detail is left (then `shadowtap_db_over_budget` is 1).
//!
//! Deletes run in short transactions (one day of minutes, or a range of 1000 endpoints'
//! clients, per statement), so the dashboard and the writer are never held up for long.

use super::db::Db;
use super::{Store, StoreError};
use std::time::Duration;

/// Retention settings (reloaded on SIGHUP).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetentionSettings {
    /// Detail older than this many days is deleted (0: kept).
    pub detail_days: u32,
    /// Pages in use, at most (0: no budget).
    pub max_db_bytes: u64,
    /// Time between passes.
    pub interval: Duration,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        RetentionSettings {
            detail_days: 30,
            max_db_bytes: 0,
            interval: Duration::from_secs(3600),
        }
    }
}

/// What one pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RetentionReport {
    /// Rows deleted from endpoint_clients, endpoint_minutes, endpoint_sensitive and per-client
    /// findings.
    pub deleted: [u64; 4],
    /// Bytes of pages in use after the pass.
    pub used_bytes: u64,
    /// Bytes of the file and its write-ahead log.
    pub file_bytes: u64,
    /// Still over budget with no detail left.
    pub over_budget: bool,
}

const NS_PER_DAY: i64 = 86_400_000_000_000;
const ENDPOINTS_PER_STEP: i64 = 1000;

/// Bytes of pages in use, and of the file plus its WAL.
pub async fn db_size(store: &Store) -> Result<(u64, u64), StoreError> {
    let page_size: i64 = sqlx::query_scalar("PRAGMA page_size")
        .fetch_one(store.pool())
        .await?;
    let pages: i64 = sqlx::query_scalar("PRAGMA page_count")
        .fetch_one(store.pool())
        .await?;
    let free: i64 = sqlx::query_scalar("PRAGMA freelist_count")
        .fetch_one(store.pool())
        .await?;
    let used = (pages - free).max(0) as u64 * page_size.max(0) as u64;
    let mut file = std::fs::metadata(store.path()).map_or(0, |m| m.len());
    let mut wal = store.path().as_os_str().to_owned();
    wal.push("-wal");
    file += std::fs::metadata(wal).map_or(0, |m| m.len());
    Ok((used, file))
}

/// Deletes detail older than `cutoff_ns` (wall clock / packet time, ns).
pub async fn age_out(store: &Store, cutoff_ns: i64) -> Result<[u64; 4], StoreError> {
    age_out_on(&store.db(), cutoff_ns).await
}

/// [`age_out`] on inventory `db`: a sensor's file, or the fleet's centre. Each statement is
/// a short transaction of its own; on the centre it holds the writers' lock, so it never
/// interleaves with an applied group of deltas or an assessment.
pub async fn age_out_on(db: &Db, cutoff_ns: i64) -> Result<[u64; 4], StoreError> {
    let mut deleted = [0u64; 4];
    // Per-client rows, by ranges of endpoints.
    let max_id: i64 = db
        .query("SELECT coalesce(max(id), 0) FROM endpoints")
        .fetch_scalar()
        .await?;
    let mut lo = 0i64;
    while lo <= max_id {
        deleted[0] += step(
            db,
            "DELETE FROM endpoint_clients WHERE endpoint_id >= ? AND endpoint_id < ? AND last_seen < ?",
            &[lo, lo + ENDPOINTS_PER_STEP, cutoff_ns],
        )
        .await?;
        deleted[2] += step(
            db,
            "DELETE FROM endpoint_sensitive WHERE endpoint_id >= ? AND endpoint_id < ? AND last_seen < ?",
            &[lo, lo + ENDPOINTS_PER_STEP, cutoff_ns],
        )
        .await?;
        lo += ENDPOINTS_PER_STEP;
    }
    // The minute series, one day per statement from the oldest.
    let cutoff_minute = cutoff_ns.div_euclid(60_000_000_000);
    let oldest: Option<i64> = db
        .query("SELECT min(minute) FROM endpoint_minutes")
        .fetch_scalar()
        .await?;
    if let Some(mut m) = oldest {
        while m < cutoff_minute {
            m = (m + 1440).min(cutoff_minute);
            deleted[1] += step(db, "DELETE FROM endpoint_minutes WHERE minute < ?", &[m]).await?;
        }
    }
    deleted[3] += step(
        db,
        "DELETE FROM findings WHERE client IS NOT NULL AND last_seen < ?",
        &[cutoff_ns],
    )
    .await?;
    Ok(deleted)
}

/// Runs one delete in a transaction of its own (holding the writers' lock on the centre);
/// the rows it deleted.
async fn step(db: &Db, sql: &str, binds: &[i64]) -> Result<u64, StoreError> {
    let mut tx = db.begin().await?;
    let mut c = tx.conn();
    c.lock_writers().await?;
    let mut q = c.query(sql);
    for b in binds {
        q = q.bind(*b);
    }
    let n = q.execute().await?;
    tx.commit().await?;
    Ok(n)
}

/// The time of the oldest detail row, ns (`None`: no detail left).
async fn oldest_detail(store: &Store) -> Result<Option<i64>, StoreError> {
    let pool = store.pool();
    let minute: Option<i64> = sqlx::query_scalar("SELECT min(minute) FROM endpoint_minutes")
        .fetch_one(pool)
        .await?;
    let client: Option<i64> = sqlx::query_scalar("SELECT min(last_seen) FROM endpoint_clients")
        .fetch_one(pool)
        .await?;
    let sensitive: Option<i64> =
        sqlx::query_scalar("SELECT min(last_seen) FROM endpoint_sensitive")
            .fetch_one(pool)
            .await?;
    let finding: Option<i64> =
        sqlx::query_scalar("SELECT min(last_seen) FROM findings WHERE client IS NOT NULL")
            .fetch_one(pool)
            .await?;
    Ok([
        minute.map(|m| m.saturating_mul(60_000_000_000)),
        client,
        sensitive,
        finding,
    ]
    .into_iter()
    .flatten()
    .min())
}

/// Detail never deleted to hold the size budget: the last ten minutes.
const KEEP_RECENT_NS: i64 = 600 * 1_000_000_000;

/// What holding the size budget did after a flush.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct BudgetReport {
    /// Bytes of pages in use after it.
    pub used_bytes: u64,
    /// Detail rows deleted (as in [`RetentionReport::deleted`]).
    pub deleted: [u64; 4],
    /// Transitions and three-call paths deleted (the least used).
    pub sequences_trimmed: u64,
    /// Endpoints of no evidence deleted (a request or two, never answered with success).
    pub endpoints_evicted: u64,
    /// New rows are refused until the database is back under 85% of the budget.
    pub closed: bool,
}

/// Keeps the pages in use under `max_bytes` while traffic flows (run after every flush; cheap
/// when under budget: three PRAGMAs). Above 90% of the budget it deletes, in order, the oldest
/// detail (half of the window kept at a time, at most a day, never the last ten minutes), half of the transitions and three-call paths (the least used), and
/// endpoints of least evidence (called once, or twice and never answered with success; the
/// oldest first); above 95% it stops admitting new transitions, paths and client rows and
/// admits a new endpoint only in place of one of least evidence, and only when it was
/// answered with success or called more than twice (existing rows still update, what is
/// refused is counted), until the database is back under 85%.
pub async fn hold_budget(
    store: &Store,
    max_bytes: u64,
    now_ns: i64,
) -> Result<BudgetReport, StoreError> {
    let mut r = BudgetReport::default();
    let (mut used, _) = db_size(store).await?;
    if max_bytes == 0 {
        store.set_admit_new(true);
        r.used_bytes = used;
        return Ok(r);
    }
    let high = max_bytes / 10 * 9;
    let target = max_bytes / 10 * 8;
    if used > high {
        // Oldest detail first: half of what is kept at a time (at most a day), never the
        // last ten minutes.
        for _ in 0..64 {
            if used <= target {
                break;
            }
            let Some(oldest) = oldest_detail(store).await? else {
                break;
            };
            let cutoff = oldest
                .saturating_add((now_ns.saturating_sub(oldest) / 2).clamp(0, NS_PER_DAY))
                .min(now_ns.saturating_sub(KEEP_RECENT_NS));
            if cutoff <= oldest {
                break;
            }
            let d = age_out(store, cutoff).await?;
            for (a, b) in r.deleted.iter_mut().zip(d) {
                *a += b;
            }
            used = db_size(store).await?.0;
            if d.iter().all(|&n| n == 0) {
                break;
            }
        }
    }
    if used > high {
        for (table, which) in [
            (
                "transitions",
                "(from_endpoint, to_endpoint) IN (SELECT from_endpoint, to_endpoint FROM transitions ORDER BY count ASC, last_seen ASC LIMIT ?)",
            ),
            (
                "sequence_paths",
                "(step1, step2, step3) IN (SELECT step1, step2, step3 FROM sequence_paths ORDER BY count ASC, last_seen ASC LIMIT ?)",
            ),
        ] {
            let n: i64 =
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                    .fetch_one(store.pool())
                    .await?;
            if n > 0 {
                let d = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DELETE FROM {table} WHERE {which}"
                )))
                .bind((n + 1) / 2)
                .execute(store.pool())
                .await?;
                r.sequences_trimmed += d.rows_affected();
            }
        }
        used = db_size(store).await?.0;
    }
    for _ in 0..100 {
        if used <= high {
            break;
        }
        let d = sqlx::query(
            "DELETE FROM endpoints WHERE id IN (SELECT e.id FROM endpoints e
                WHERE coalesce(e.documented, 0) = 0 AND (e.request_count = 1 OR (e.request_count = 2
                  AND NOT EXISTS (SELECT 1 FROM endpoint_status s WHERE s.endpoint_id = e.id AND s.status BETWEEN 200 AND 399)))
                ORDER BY e.request_count, e.last_seen LIMIT 1000)",
        )
        .execute(store.pool())
        .await?;
        r.endpoints_evicted += d.rows_affected();
        if d.rows_affected() == 0 {
            break;
        }
        sqlx::query("DELETE FROM transitions WHERE from_endpoint NOT IN (SELECT id FROM endpoints) OR to_endpoint NOT IN (SELECT id FROM endpoints)")
            .execute(store.pool())
            .await?;
        sqlx::query("DELETE FROM sequence_paths WHERE step1 NOT IN (SELECT id FROM endpoints) OR step2 NOT IN (SELECT id FROM endpoints) OR step3 NOT IN (SELECT id FROM endpoints)")
            .execute(store.pool())
            .await?;
        used = db_size(store).await?.0;
    }
    if used > max_bytes / 100 * 95 {
        store.set_admit_new(false);
    } else if used < max_bytes / 100 * 85 {
        store.set_admit_new(true);
    }
    r.closed = !store.admits_new();
    r.used_bytes = used;
    Ok(r)
}

/// One retention pass at wall time `now_ns`.
pub async fn run(
    store: &Store,
    s: &RetentionSettings,
    now_ns: i64,
) -> Result<RetentionReport, StoreError> {
    let mut report = RetentionReport::default();
    if s.detail_days > 0 {
        let cutoff = now_ns.saturating_sub(i64::from(s.detail_days).saturating_mul(NS_PER_DAY));
        let d = age_out(store, cutoff).await?;
        for (a, b) in report.deleted.iter_mut().zip(d) {
            *a += b;
        }
    }
    let (mut used, _) = db_size(store).await?;
    if s.max_db_bytes > 0 {
        // Oldest day first, until the pages in use fit or no detail is left.
        for _ in 0..100_000 {
            if used <= s.max_db_bytes {
                break;
            }
            let Some(oldest) = oldest_detail(store).await? else {
                report.over_budget = true;
                break;
            };
            let d = age_out(store, oldest.saturating_add(NS_PER_DAY)).await?;
            for (a, b) in report.deleted.iter_mut().zip(d) {
                *a += b;
            }
            used = db_size(store).await?.0;
            if d.iter().all(|&n| n == 0) && used > s.max_db_bytes {
                report.over_budget = true;
                break;
            }
        }
    }
    let (u, file) = db_size(store).await?;
    report.used_bytes = u;
    report.file_bytes = file;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Row;

    async fn seed(store: &Store, days_ago: &[i64], now: i64) {
        sqlx::query("INSERT INTO endpoints (id, host, method, path_template, request_count) VALUES (1, 'h', 'GET', '/a', 1)")
            .execute(store.pool())
            .await
            .unwrap();
        for (i, d) in days_ago.iter().enumerate() {
            let t = now - d * NS_PER_DAY;
            sqlx::query("INSERT INTO endpoint_clients VALUES (1, ?, 1, ?, ?)")
                .bind(format!("10.0.0.{i}"))
                .bind(t)
                .bind(t)
                .execute(store.pool())
                .await
                .unwrap();
            sqlx::query("INSERT INTO endpoint_minutes VALUES (1, ?, 1, 0)")
                .bind(t / 60_000_000_000)
                .execute(store.pool())
                .await
                .unwrap();
            sqlx::query("INSERT INTO findings (kind, severity, host, client, detail, first_seen, last_seen, dedup_key) VALUES ('enumeration', 'high', 'h', ?, '', ?, ?, ?)")
                .bind(format!("10.0.0.{i}"))
                .bind(t)
                .bind(t)
                .bind(format!("k{i}"))
                .execute(store.pool())
                .await
                .unwrap();
        }
    }

    async fn count(store: &Store, table: &str) -> i64 {
        sqlx::query(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(store.pool())
            .await
            .unwrap()
            .get(0)
    }

    #[tokio::test]
    async fn ages_out_old_detail_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("r.db")).await.unwrap();
        let now = 1_700_000_000 * 1_000_000_000i64;
        seed(&store, &[1, 5, 40, 400], now).await;
        let s = RetentionSettings {
            detail_days: 30,
            ..Default::default()
        };
        let r = run(&store, &s, now).await.unwrap();
        assert_eq!(r.deleted, [2, 2, 0, 2]);
        assert_eq!(count(&store, "endpoint_clients").await, 2);
        assert_eq!(count(&store, "endpoint_minutes").await, 2);
        assert_eq!(count(&store, "findings").await, 2);
        assert_eq!(count(&store, "endpoints").await, 1);
        assert!(!r.over_budget);
    }

    #[tokio::test]
    async fn size_budget_deletes_oldest_first() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("b.db")).await.unwrap();
        let now = 1_700_000_000 * 1_000_000_000i64;
        seed(&store, &[1, 2, 3], now).await;
        let (used, _) = db_size(&store).await.unwrap();
        // A budget the schema alone exceeds: every detail row goes, oldest first, and the
        // report says the budget cannot be met.
        let s = RetentionSettings {
            detail_days: 0,
            max_db_bytes: 4096,
            ..Default::default()
        };
        assert!(used > 4096);
        let r = run(&store, &s, now).await.unwrap();
        assert!(r.over_budget);
        assert_eq!(count(&store, "endpoint_clients").await, 0);
        assert_eq!(count(&store, "endpoints").await, 1);
        // A budget that is met deletes nothing.
        seed_more(&store, now).await;
        let s = RetentionSettings {
            detail_days: 0,
            max_db_bytes: 1 << 30,
            ..Default::default()
        };
        let r = run(&store, &s, now).await.unwrap();
        assert_eq!(r.deleted, [0, 0, 0, 0]);
        assert!(!r.over_budget);
    }

    async fn seed_more(store: &Store, now: i64) {
        sqlx::query("INSERT INTO endpoint_clients VALUES (1, '10.9.9.9', 1, ?, ?)")
            .bind(now)
            .bind(now)
            .execute(store.pool())
            .await
            .unwrap();
    }
}
