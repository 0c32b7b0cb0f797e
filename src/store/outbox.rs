//! The sensor's outbox (migration 0020, docs/fleet.md "Step 2"): with `--central`, every merge
//! also writes its delta ([`super::delta::Delta`]) into `outbox` in the same
//! transaction, so a delta is durable exactly when the local inventory has it; the shipping
//! task ([`crate::fleet::ship`]) reads the rows in `seq` order and deletes those the centre
//! acknowledged.
//!
//! The spool is bounded ([`super::StoreLimits::spool_bytes`], migration 0023): while the centre
//! is unreachable, [`Store::outbox_compact`] folds runs of the oldest deltas into one
//! ([`Delta::absorb`]), so the outbox keeps every count of what it held in fewer bytes. A row
//! whose send was attempted over a live connection (`sent`) is never folded: the centre may
//! hold it under its seq already, and only the same (sensor, seq) is dropped there as a repeat.

use super::delta::{Delta, key_fingerprint};
use super::{Store, StoreError};
use crate::analyze::inventory::InventoryDrain;
use sqlx::{Row, Sqlite, Transaction};

/// Bytes of deltas folded into one at most (their payloads summed): a summary stays well
/// within what a centre accepts ([`super::delta::MAX_PAYLOAD_BYTES`]).
pub const MAX_SUMMARY_INPUT_BYTES: i64 = 8 << 20;

/// What [`Store::outbox_compact`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Compaction {
    /// Outbox rows folded into older ones (and deleted).
    pub folded: u64,
    /// Bytes of the outbox before and after.
    pub bytes_before: u64,
    /// Bytes after.
    pub bytes_after: u64,
    /// Still over the bound: what is left cannot be folded within [`MAX_SUMMARY_INPUT_BYTES`].
    pub over_bound: bool,
}

/// One outbox row.
#[derive(Clone, Debug)]
pub struct OutboxRow {
    /// Sequence number, growing by one per flush, never reused.
    pub seq: i64,
    /// The serialised delta.
    pub payload: Vec<u8>,
}

/// The host name (`/proc/sys/kernel/hostname`, else `/etc/hostname`), the default sensor name.
pub fn host_name() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_string())
        .find(|s| !s.is_empty())
        .unwrap_or_else(|| "sensor".to_string())
}

/// Whether a sensor name is acceptable: 1 to 63 characters of `[A-Za-z0-9._-]`.
pub fn valid_sensor_name(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
}

impl Store {
    /// Reports the sensor's health: every delta written from now on carries it (what the
    /// centre's `api_sensors` shows).
    pub fn set_health(&self, health: super::delta::Health) {
        let mut h = self.health.lock().unwrap_or_else(|e| e.into_inner());
        if h.0 != health {
            *h = (health, true);
        }
    }

    /// Turns the outbox on: from now on every merge also writes its delta. The sensor's name
    /// is `name` when given (and then kept), else the one kept from an earlier run, else the
    /// host name. Returns the name.
    pub async fn enable_outbox(&self, name: Option<&str>) -> Result<String, StoreError> {
        let kept: Option<String> =
            sqlx::query_scalar("SELECT sensor FROM fleet_sensor WHERE id = 1")
                .fetch_optional(self.pool())
                .await?;
        let sensor = match (name, kept) {
            (Some(n), _) => n.to_string(),
            (None, Some(k)) => k,
            (None, None) => host_name(),
        };
        if !valid_sensor_name(&sensor) {
            return Err(StoreError::Refused {
                path: self.path().to_path_buf(),
                reason: format!(
                    "sensor name {sensor:?}: use 1 to 63 letters, digits, '.', '_' or '-' (--sensor NAME)"
                ),
            });
        }
        sqlx::query(
            "INSERT INTO fleet_sensor (id, sensor) VALUES (1, ?)
             ON CONFLICT (id) DO UPDATE SET sensor = excluded.sensor",
        )
        .bind(&sensor)
        .execute(self.pool())
        .await?;
        let fingerprint = key_fingerprint(&super::hash_key(self.path())?);
        *self.outbox.write().unwrap_or_else(|e| e.into_inner()) = Some(fingerprint);
        Ok(sensor)
    }

    /// Writes the drain's delta into the outbox, in the merge's transaction (nothing when the
    /// outbox is off or the drain is empty).
    pub(super) async fn write_outbox(
        &self,
        tx: &mut Transaction<'_, Sqlite>,
        drain: &InventoryDrain,
    ) -> Result<(), StoreError> {
        let fingerprint = self
            .outbox
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let Some(fingerprint) = fingerprint else {
            return Ok(());
        };
        let mut delta = Delta::of(drain, &fingerprint);
        {
            // A merge with nothing to ship still ships the sensor's health when it changed
            // since the last delta (an ingest's file of TLS only: its packets were read).
            let mut health = self.health.lock().unwrap_or_else(|e| e.into_inner());
            if delta.is_empty() && !health.1 {
                return Ok(());
            }
            delta.health = health.0.clone();
            health.1 = false;
        }
        let payload = delta
            .encode()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query("INSERT INTO outbox (created_at, bytes, payload) VALUES (?, ?, ?)")
            .bind(delta.created_at)
            .bind(payload.len() as i64)
            .bind(payload)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// The oldest outbox rows, up to `limit` rows and about `max_bytes` (at least one row).
    pub async fn outbox_batch(
        &self,
        limit: i64,
        max_bytes: i64,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let rows = sqlx::query("SELECT seq, bytes, payload FROM outbox ORDER BY seq LIMIT ?")
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        let mut out = Vec::new();
        let mut bytes = 0i64;
        for r in rows {
            bytes += r.get::<i64, _>(1);
            if !out.is_empty() && bytes > max_bytes {
                break;
            }
            out.push(OutboxRow {
                seq: r.get(0),
                payload: r.get(2),
            });
        }
        Ok(out)
    }

    /// Deletes the rows up to `seq` (the centre has them) and counts them as shipped.
    pub async fn outbox_ack(&self, seq: i64) -> Result<u64, StoreError> {
        let mut tx = self.pool().begin().await?;
        let n = sqlx::query("DELETE FROM outbox WHERE seq <= ?")
            .bind(seq)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query("UPDATE fleet_sensor SET shipped = shipped + ? WHERE id = 1")
            .bind(n as i64)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Marks the rows up to `seq` as sent: a send of them over a live connection is about to
    /// start, so the centre may hold them whatever its outcome (never folded from now on).
    pub async fn outbox_mark_sent(&self, seq: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE outbox SET sent = 1 WHERE seq <= ? AND sent = 0")
            .bind(seq)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Brings the outbox under its bound ([`super::StoreLimits::spool_bytes`]) when it is over:
    /// folds runs of its oldest unsent rows (at least two, at most
    /// [`MAX_SUMMARY_INPUT_BYTES`] of payload each) into one row under the run's lowest seq,
    /// oldest runs first, until it is under or no run is left. Each fold is one transaction;
    /// the folds are counted in `fleet_sensor.summarised`, a bound that cannot be met in
    /// `fleet_sensor.over_bound`.
    pub async fn outbox_compact(&self) -> Result<Compaction, StoreError> {
        let bound = i64::try_from(self.limits.spool_bytes).unwrap_or(i64::MAX);
        let (_, before) = self.outbox_pending().await?;
        let mut out = Compaction {
            bytes_before: before,
            bytes_after: before,
            ..Compaction::default()
        };
        let mut total = i64::try_from(before).unwrap_or(i64::MAX);
        // Where the next run may start: rows before it are sent, or were folded as far as the
        // size limit lets them.
        let mut after =
            sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(seq) FROM outbox WHERE sent = 1")
                .fetch_one(self.pool())
                .await?
                .unwrap_or(i64::MIN);
        while total > bound {
            // The run: the oldest rows after `after` whose payloads fit together.
            let heads =
                sqlx::query("SELECT seq, bytes FROM outbox WHERE seq > ? ORDER BY seq LIMIT 4096")
                    .bind(after)
                    .fetch_all(self.pool())
                    .await?;
            let mut run: Vec<i64> = Vec::new();
            let mut run_bytes = 0i64;
            for r in &heads {
                let (seq, bytes): (i64, i64) = (r.get(0), r.get(1));
                if run_bytes.saturating_add(bytes) > MAX_SUMMARY_INPUT_BYTES {
                    break;
                }
                run_bytes += bytes;
                run.push(seq);
            }
            if run.len() < 2 {
                match heads.first() {
                    // The oldest row cannot take its successor: the next run starts after it.
                    Some(r) if heads.len() >= 2 => {
                        after = r.get(0);
                        continue;
                    }
                    _ => {
                        out.over_bound = true;
                        sqlx::query(
                            "UPDATE fleet_sensor SET over_bound = over_bound + 1 WHERE id = 1",
                        )
                        .execute(self.pool())
                        .await?;
                        break;
                    }
                }
            }
            let (first, last) = (run[0], run[run.len() - 1]);
            let mut tx = self.pool().begin().await?;
            let rows = sqlx::query(
                "SELECT payload, flushes FROM outbox WHERE seq >= ? AND seq <= ? ORDER BY seq",
            )
            .bind(first)
            .bind(last)
            .fetch_all(&mut *tx)
            .await?;
            let mut flushes = 0i64;
            let mut summary: Option<Delta> = None;
            let mut folded_all = true;
            for r in &rows {
                flushes = flushes.saturating_add(r.get::<i64, _>(1));
                let d = Delta::decode(&r.get::<Vec<u8>, _>(0))
                    .map_err(|e| StoreError::Corrupt(format!("outbox delta: {e}")))?;
                match &mut summary {
                    None => summary = Some(d),
                    Some(s) => folded_all &= s.absorb(d),
                }
            }
            let summary = summary.unwrap_or_default();
            if !folded_all {
                // Deltas of another key or with an unreadable histogram: left as they are.
                tx.rollback().await?;
                after = last;
                continue;
            }
            let payload = summary
                .encode()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            sqlx::query("DELETE FROM outbox WHERE seq >= ? AND seq <= ?")
                .bind(first)
                .bind(last)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO outbox (seq, created_at, bytes, payload, flushes) VALUES (?, ?, ?, ?, ?)",
            )
            .bind(first)
            .bind(summary.created_at)
            .bind(payload.len() as i64)
            .bind(&payload)
            .bind(flushes)
            .execute(&mut *tx)
            .await?;
            let folded = rows.len() as i64 - 1;
            sqlx::query("UPDATE fleet_sensor SET summarised = summarised + ? WHERE id = 1")
                .bind(folded)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            out.folded += folded as u64;
            total = total - run_bytes + payload.len() as i64;
            if payload.len() as i64 * 2 > MAX_SUMMARY_INPUT_BYTES {
                // Too large to take much more: later runs start after it.
                after = first;
            }
        }
        out.bytes_after = u64::try_from(total).unwrap_or(0);
        Ok(out)
    }

    /// Deltas folded into older ones and folds short of the bound, over the sensor's life.
    pub async fn outbox_summarised(&self) -> Result<(u64, u64), StoreError> {
        let r = sqlx::query(
            "SELECT IFNULL(MAX(summarised), 0), IFNULL(MAX(over_bound), 0) FROM fleet_sensor",
        )
        .fetch_one(self.pool())
        .await?;
        Ok((r.get::<i64, _>(0) as u64, r.get::<i64, _>(1) as u64))
    }

    /// Rows and bytes waiting in the outbox.
    pub async fn outbox_pending(&self) -> Result<(u64, u64), StoreError> {
        let r = sqlx::query("SELECT COUNT(*), coalesce(SUM(bytes), 0) FROM outbox")
            .fetch_one(self.pool())
            .await?;
        Ok((r.get::<i64, _>(0) as u64, r.get::<i64, _>(1) as u64))
    }
}
