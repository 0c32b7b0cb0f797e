//! The findings page: findings filtered by severity, kind and host, most severe first, and the
//! per-(severity, kind) counts behind its chips.

use super::{FINDING_COLUMNS, FINDING_JOIN, FindingRow, finding_row, severity_rank_sql};
use crate::store::{Store, StoreError};
use serde::Serialize;
use sqlx::Row;

/// Filters of the findings list.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct FindingQuery {
    /// Only this severity.
    pub severity: Option<String>,
    /// Only this kind.
    pub kind: Option<String>,
    /// Only this host.
    pub host: Option<String>,
    /// At most this many rows (most severe first).
    pub limit: i64,
    /// Rows skipped first (paging).
    pub offset: i64,
}

impl Store {
    /// Findings, most severe first, then by kind and occurrences.
    pub async fn dashboard_findings(
        &self,
        query: &FindingQuery,
    ) -> Result<(Vec<FindingRow>, i64), StoreError> {
        let sev = severity_rank_sql("f.severity");
        let filter = "WHERE (?1 IS NULL OR f.severity = ?1) AND (?2 IS NULL OR f.kind = ?2) AND (?3 IS NULL OR f.host = ?3)";
        let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM findings f {filter}"
        )))
        .bind(query.severity.as_deref())
        .bind(query.kind.as_deref())
        .bind(query.host.as_deref())
        .fetch_one(&self.pool)
        .await?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {FINDING_COLUMNS} {FINDING_JOIN} {filter}
             ORDER BY {sev}, f.kind, f.count DESC, f.id LIMIT ?4 OFFSET ?5"
        )))
        .bind(query.severity.as_deref())
        .bind(query.kind.as_deref())
        .bind(query.host.as_deref())
        .bind(query.limit.clamp(1, 100_000))
        .bind(query.offset.max(0))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(finding_row)
        .collect();
        Ok((rows, total))
    }

    /// Findings per (severity, kind), most severe first (for the findings page's chips).
    pub async fn dashboard_finding_counts(&self) -> Result<Vec<(String, String, i64)>, StoreError> {
        let sev = severity_rank_sql("severity");
        Ok(sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT severity, kind, COUNT(*) FROM findings GROUP BY severity, kind ORDER BY {sev}, kind"
        )))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
    }
}
