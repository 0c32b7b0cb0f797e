//! The sensor's side of the delta path: outbox rows, in `seq` order, into the centre's
//! `deltas (sensor, seq, payload, ...)` with `ON CONFLICT DO NOTHING` (a row sent twice, after
//! a lost acknowledgement or a restart, is stored once), then deleted from the outbox.

use super::FleetError;
use crate::store::Store;
use sqlx::postgres::{PgPool, PgPoolOptions};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Rows sent per PostgreSQL transaction.
const BATCH_ROWS: i64 = 64;
/// Bytes sent per PostgreSQL transaction (about; one row at least).
const BATCH_BYTES: i64 = 8 << 20;

/// What shipping did, counted (shared with the daemon's stats).
#[derive(Debug, Default)]
pub struct ShipStats {
    /// Deltas the centre acknowledged (and deleted from the outbox).
    pub shipped: AtomicU64,
    /// Their bytes.
    pub bytes: AtomicU64,
    /// Attempts that failed (centre down, network, refused).
    pub failures: AtomicU64,
    /// Deltas waiting in the outbox after the last attempt.
    pub pending: AtomicU64,
    /// Deltas folded into older ones to keep the outbox within its bound (`[store]
    /// spool_bytes`) while the centre was unreachable.
    pub summarised: AtomicU64,
    /// Folds that could not bring the outbox under its bound.
    pub over_bound: AtomicU64,
}

/// A pool on the centre: a few connections, short timeouts (a sensor waits for nothing).
pub async fn connect(url: &str) -> Result<PgPool, FleetError> {
    Ok(PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(10))
        .connect(url)
        .await?)
}

/// Sends every outbox row to the centre, oldest first, until the outbox is empty; returns the
/// deltas shipped. An error leaves the unacknowledged rows in the outbox for the next call.
pub async fn ship_pending(
    store: &Store,
    centre: &PgPool,
    sensor: &str,
    stats: &ShipStats,
) -> Result<u64, FleetError> {
    let mut shipped = 0;
    loop {
        let rows = store.outbox_batch(BATCH_ROWS, BATCH_BYTES).await?;
        let Some(last) = rows.last().map(|r| r.seq) else {
            break;
        };
        // From here the centre may get them whatever happens: never folded from now on.
        store.outbox_mark_sent(last).await?;
        let bytes = send_rows(centre, sensor, &rows).await?;
        let n = store.outbox_ack(last).await?;
        shipped += n;
        stats.shipped.fetch_add(n, Ordering::Relaxed);
        stats.bytes.fetch_add(bytes, Ordering::Relaxed);
    }
    stats.pending.store(0, Ordering::Relaxed);
    Ok(shipped)
}

/// Inserts outbox rows into the centre's `deltas`, in one transaction; a row the centre holds
/// already is ignored. Returns the payload bytes sent.
pub async fn send_rows(
    centre: &PgPool,
    sensor: &str,
    rows: &[crate::store::outbox::OutboxRow],
) -> Result<u64, FleetError> {
    if rows.is_empty() {
        return Ok(0);
    }
    let now = crate::time::Timestamp::now().as_nanos();
    let mut q = sqlx::QueryBuilder::<sqlx::Postgres>::new(
        "INSERT INTO deltas (sensor, seq, payload, bytes, received_at) ",
    );
    let mut bytes = 0u64;
    q.push_values(rows, |mut b, r| {
        bytes += r.payload.len() as u64;
        b.push_bind(sensor)
            .push_bind(r.seq)
            .push_bind(r.payload.as_slice())
            .push_bind(r.payload.len() as i64)
            .push_bind(now);
    });
    q.push(" ON CONFLICT (sensor, seq) DO NOTHING");
    q.build().execute(centre).await?;
    Ok(bytes)
}

/// Ships one round, counting a failure and the rows left when it fails.
pub async fn ship_round(store: &Store, url: &str, sensor: &str, stats: &ShipStats) -> bool {
    let r = match connect(url).await {
        Ok(pool) => {
            let r = ship_pending(store, &pool, sensor, stats).await;
            pool.close().await;
            r
        }
        Err(e) => Err(e),
    };
    match r {
        Ok(_) => true,
        Err(e) => {
            stats.failures.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(error = %e, "shipping deltas to the centre failed; they stay in the outbox");
            // The spool's bound: the oldest deltas folded together while the centre is away.
            match store.outbox_compact().await {
                Ok(c) if c.folded > 0 || c.over_bound => {
                    stats.summarised.fetch_add(c.folded, Ordering::Relaxed);
                    stats
                        .over_bound
                        .fetch_add(u64::from(c.over_bound), Ordering::Relaxed);
                    tracing::warn!(
                        folded = c.folded,
                        bytes_before = c.bytes_before,
                        bytes_after = c.bytes_after,
                        over_bound = c.over_bound,
                        "the outbox reached its bound: its oldest deltas were folded together"
                    );
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "folding the outbox failed"),
            }
            if let Ok((n, _)) = store.outbox_pending().await {
                stats.pending.store(n, Ordering::Relaxed);
            }
            false
        }
    }
}

/// The daemon's shipping task: a round every `every`, and after a failure again after a
/// backoff that doubles from 1 s up to `every` (at least) or 60 s.
pub async fn run(
    store: Store,
    url: String,
    sensor: String,
    every: Duration,
    stats: Arc<ShipStats>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut backoff = Duration::from_secs(1);
    loop {
        let wait = if ship_round(&store, &url, &sensor, &stats).await {
            backoff = Duration::from_secs(1);
            every
        } else {
            let w = backoff;
            backoff = (backoff * 2).min(every.max(Duration::from_secs(60)));
            w
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => {
                // A last round, so that a clean stop leaves nothing behind when the centre is up.
                ship_round(&store, &url, &sensor, &stats).await;
                return;
            }
        }
    }
}
