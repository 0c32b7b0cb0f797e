//! The sensor's outbox (migration 0020, docs/fleet.md "Step 2"): with `--central`, every merge
//! also writes its delta ([`super::delta::Delta`]) into `outbox` in the same
//! transaction, so a delta is durable exactly when the local inventory has it; the shipping
//! task ([`crate::fleet::ship`]) reads the rows in `seq` order and deletes those the centre
//! acknowledged.

use super::delta::{Delta, key_fingerprint};
use super::{Store, StoreError};
use crate::analyze::inventory::InventoryDrain;
use sqlx::{Row, Sqlite, Transaction};

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
        let delta = Delta::of(drain, &fingerprint);
        if delta.is_empty() {
            return Ok(());
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

    /// Rows and bytes waiting in the outbox.
    pub async fn outbox_pending(&self) -> Result<(u64, u64), StoreError> {
        let r = sqlx::query("SELECT COUNT(*), coalesce(SUM(bytes), 0) FROM outbox")
            .fetch_one(self.pool())
            .await?;
        Ok((r.get::<i64, _>(0) as u64, r.get::<i64, _>(1) as u64))
    }
}
