//! Progress of a capture file's ingest: how far its committed flushes reach, so that an ingest
//! killed part-way is finished by the next one instead of being skipped or counted twice.
//!
//! Ingest is single-threaded and deterministic: replaying a file gives the same transactions
//! in the same order. Each flush records the number of packets read when it was taken
//! (`captures.committed_packets`); a resumed ingest replays the file from its start through
//! reassembly and HTTP, and hands the inventory only the transactions completed after that
//! packet. The count is written in the merge's own transaction ([`Store::merge_recording`]),
//! so a kill at any point loses nothing and counts nothing twice. (The same engine options are assumed: other caps may cut the file differently.
//! Transitions between a call before that packet and one after it are not seen again.)

use super::{CaptureRecord, Store, StoreError};
use sqlx::Row;

/// What the store knows of a capture file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CaptureState {
    /// Its row.
    pub id: i64,
    /// Ingested completely.
    pub complete: bool,
    /// Read to where the file ends in damage (nothing more to read).
    pub truncated: bool,
    /// Packets covered by the flushes committed so far (an interrupted ingest resumes after
    /// them). One more than the file's packets once the end-of-file flush is committed.
    pub committed_packets: u64,
}

impl Store {
    /// The state of the capture with this content hash, if it was ever (partly) ingested.
    pub async fn capture_state(&self, sha256: &str) -> Result<Option<CaptureState>, StoreError> {
        let row =
            sqlx::query("SELECT id, complete, committed_packets, truncated IS NOT NULL FROM captures WHERE sha256 = ?")
                .bind(sha256)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.map(|r| CaptureState {
            id: r.get(0),
            complete: r.get::<i64, _>(1) != 0,
            committed_packets: u64::try_from(r.get::<i64, _>(2)).unwrap_or(0),
            truncated: r.get::<i64, _>(3) != 0,
        }))
    }

    /// Starts capture `id` over (`ingest --force`): not complete, nothing committed, its path
    /// and ingest time those of this run.
    pub async fn restart_capture(&self, id: i64, c: &CaptureRecord) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE captures SET complete = 0, truncated = NULL, committed_packets = 0, path = ?, size_bytes = ?, ingested_at = ?
             WHERE id = ?",
        )
        .bind(&c.path)
        .bind(i64::try_from(c.size_bytes).unwrap_or(i64::MAX))
        .bind(crate::time::Timestamp::now().as_nanos())
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }
}
