//! The sensor page's capture list: ingested captures, newest first, with their counters.

use super::Dashboard;
use crate::store::StoreError;
use serde::Serialize;
use serde_json::Value;

/// One ingested capture.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CaptureRow {
    /// Capture id.
    pub id: i64,
    /// SHA-256 of the file.
    pub sha256: String,
    /// Path as given.
    pub path: String,
    /// File size.
    pub size_bytes: i64,
    /// When ingested (ns, wall clock).
    pub ingested_at: i64,
    /// First frame (ns).
    pub first_ts: Option<i64>,
    /// Last frame (ns).
    pub last_ts: Option<i64>,
    /// Frames.
    pub packets: i64,
    /// Bytes.
    pub bytes: i64,
    /// HTTP transactions.
    pub transactions: i64,
    /// `file` or `live:<iface>`.
    pub source: String,
    /// Finished (0 while in progress or interrupted, or when truncated).
    pub complete: bool,
    /// The file ended in damage (libpcap's words).
    pub truncated: Option<String>,
    /// Every counter, `{"engine": ..., "inventory": ...}`.
    pub stats: Value,
}

impl Dashboard {
    /// Ingested captures, newest first (at most 1000), with their counters.
    pub async fn dashboard_captures(&self) -> Result<Vec<CaptureRow>, StoreError> {
        Ok(self.db.query("SELECT id, sha256, path, size_bytes, ingested_at, first_ts, last_ts, packets, bytes, transactions, source, complete, stats_json, truncated
             FROM captures ORDER BY id DESC LIMIT 1000",)
        .fetch_all()
        .await?
        .iter()
        .map(|r| {
            let stats: String = r.get(12);
            CaptureRow {
                id: r.get(0),
                sha256: r.get(1),
                path: r.get(2),
                size_bytes: r.get(3),
                ingested_at: r.get(4),
                first_ts: r.get(5),
                last_ts: r.get(6),
                packets: r.get(7),
                bytes: r.get(8),
                transactions: r.get(9),
                source: r.get(10),
                complete: r.get::<i64, _>(11) != 0,
                truncated: r.get(13),
                stats: serde_json::from_str(&stats).unwrap_or(Value::Null),
            }
        })
        .collect())
    }

    /// The fleet's sensors and their health (`api_sensors`), by name: a fleet's centre lists
    /// every sensor whose deltas it applied; a sensor's own file lists none.
    pub async fn dashboard_sensors(
        &self,
    ) -> Result<Vec<crate::store::read::SensorRow>, StoreError> {
        let rows = self
            .db
            .query(crate::store::read::SENSORS_SQL)
            .fetch_all()
            .await?;
        Ok(rows
            .iter()
            .map(|r| crate::store::read::SensorRow {
                sensor: r.get("sensor"),
                version: r.get("version"),
                host: r.get("host"),
                interfaces: r.get("interfaces"),
                started_at: r.get("started_at"),
                first_delta_at: r.get("first_delta_at"),
                last_delta_at: r.get("last_delta_at"),
                last_applied_at: r.get("last_applied_at"),
                apply_lag_ms: r.get("apply_lag_ms"),
                deltas: r.get("deltas"),
                parked: r.get("parked"),
                packets: r.get("packets"),
                bytes: r.get("bytes"),
                kernel_dropped: r.get("kernel_dropped"),
                if_dropped: r.get("if_dropped"),
                queue_dropped: r.get("queue_dropped"),
                cap_drops: r.get("cap_drops"),
            })
            .collect())
    }

    /// Deltas received by a fleet's centre and not applied yet, and their bytes (`None`
    /// on a sensor's own file, or when the role may read neither the deltas nor the read
    /// schema's `delta_backlog`, docs/fleet-roles.sql).
    pub async fn dashboard_delta_backlog(&self) -> Result<Option<(i64, i64)>, StoreError> {
        if !self.db.is_pg() {
            return Ok(None);
        }
        for sql in [
            "SELECT pending, bytes FROM delta_backlog",
            "SELECT COUNT(*), COALESCE(SUM(d.bytes), 0) FROM deltas d
             WHERE NOT EXISTS (SELECT 1 FROM delta_applied a WHERE a.sensor = d.sensor AND a.seq = d.seq)",
        ] {
            if let Ok(r) = self.db.query(sql).fetch_one().await {
                return Ok(Some((r.get(0), r.get(1))));
            }
        }
        Ok(None)
    }
}
