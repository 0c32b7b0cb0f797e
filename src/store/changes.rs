//! What is new in the store since a given row: the reads behind the daemon's alerts
//! (`sensor::alerts::Detector`). Rows come back in id order, in batches, so a detector can
//! resume from the last id it saw; findings as the dashboard's [`FindingRow`].

use super::dashboard::FindingRow;
use super::{Store, StoreError};

/// An endpoint row as the alerting needs it.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct NewEndpointRow {
    /// `endpoints.id`.
    pub id: i64,
    /// Host.
    pub host: String,
    /// Method.
    pub method: String,
    /// Path template.
    pub path_template: String,
    /// Packet time of the first request (ns).
    pub first_seen: Option<i64>,
    /// Against the imported API description: documented, shadow, zombie, dormant.
    pub classification: Option<String>,
    /// Requests seen (0: only known from the API description).
    pub request_count: i64,
}

impl Store {
    /// The highest endpoint and finding ids (0 when empty).
    pub async fn last_ids(&self) -> Result<(i64, i64), StoreError> {
        let e: i64 = sqlx::query_scalar("SELECT coalesce(max(id), 0) FROM endpoints")
            .fetch_one(&self.pool)
            .await?;
        let f: i64 = sqlx::query_scalar("SELECT coalesce(max(id), 0) FROM findings")
            .fetch_one(&self.pool)
            .await?;
        Ok((e, f))
    }

    /// The identities of the latest `limit` findings, newest first.
    pub async fn recent_finding_keys(&self, limit: usize) -> Result<Vec<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT dedup_key FROM findings ORDER BY id DESC LIMIT ?")
                .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// Up to `limit` endpoints with an id above `after`, in id order.
    pub async fn endpoints_after(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<NewEndpointRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, host, method, path_template, first_seen, classification, request_count
             FROM endpoints WHERE id > ? ORDER BY id LIMIT ?",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Up to `limit` findings with an id above `after`, in id order, each with its identity
    /// (see [`super::finding_key`]).
    pub async fn findings_after(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<(FindingRow, String)>, StoreError> {
        use super::dashboard::{FINDING_COLUMNS, FINDING_JOIN, finding_row};
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {FINDING_COLUMNS} {FINDING_JOIN} WHERE f.id > ? ORDER BY f.id LIMIT ?"
        )))
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let f = finding_row(&super::db::DbRow::Sqlite(r));
                let key = f.dedup_key.clone();
                (f, key)
            })
            .collect())
    }

    /// The finding whose identity is `dedup_key`, if a row carries it.
    pub async fn finding_by_key(&self, dedup_key: &str) -> Result<Option<FindingRow>, StoreError> {
        use super::dashboard::{FINDING_COLUMNS, FINDING_JOIN, finding_row};
        Ok(sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {FINDING_COLUMNS} {FINDING_JOIN} WHERE f.dedup_key = ?"
        )))
        .bind(dedup_key)
        .fetch_optional(&self.pool)
        .await?
        .map(|r| finding_row(&super::db::DbRow::Sqlite(r))))
    }
}
