//! The overview page: what to fix first (active critical and high findings by endpoint), totals,
//! classification and severity counts, the busiest hosts, the newest endpoints and findings, and
//! the calls-per-minute traffic chart.

use super::{ACTIVE_FINDING, Count, EndpointBrief, FindingRow, FixFirstList, MinuteCount};
use super::{FINDING_COLUMNS, FINDING_JOIN, brief_row, counts, finding_row, severity_rank_sql};
use crate::store::{Store, StoreError};
use serde::Serialize;
use sqlx::Row;

/// Totals of an inventory.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Totals {
    /// Distinct hosts (of every endpoint row, as `/hosts` lists them).
    pub hosts: i64,
    /// Endpoints observed (documented operations never called excluded).
    pub endpoints: i64,
    /// Requests.
    pub calls: i64,
    /// Responses with status >= 400.
    pub errors: i64,
    /// Distinct client addresses (over the client rows kept per endpoint).
    pub clients: i64,
    /// Findings.
    pub findings: i64,
    /// Capture files and live sessions ingested.
    pub captures: i64,
    /// First request seen (ns).
    pub first_seen: Option<i64>,
    /// Last request seen (ns).
    pub last_seen: Option<i64>,
}

/// What the overview shows.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Overview {
    /// Fix these first: active critical and high findings grouped by endpoint, riskiest first
    /// (at most [`FIX_FIRST`] groups).
    pub fix_first: FixFirstList,
    /// Totals.
    pub totals: Totals,
    /// Endpoints per classification (`unclassified` before a spec is imported).
    pub classification: Vec<Count>,
    /// Findings per severity, most severe first.
    pub severity: Vec<Count>,
    /// Calls per minute over every endpoint (filled by [`Store::dashboard_traffic`]).
    pub minutes: Vec<MinuteCount>,
    /// Busiest hosts (endpoints per host, every row of the host as `/hosts` counts them).
    pub hosts: Vec<Count>,
    /// Newest endpoints.
    pub newest_endpoints: Vec<EndpointBrief>,
    /// Newest findings.
    pub newest_findings: Vec<FindingRow>,
}

/// Groups of "fix these first" on the overview.
pub const FIX_FIRST: usize = 10;

impl Store {
    /// What to fix first, totals, classification and severity counts, traffic per minute, newest endpoints and
    /// findings.
    pub async fn dashboard_overview(&self) -> Result<Overview, StoreError> {
        let t = sqlx::query(
            "SELECT (SELECT COUNT(DISTINCT host) FROM endpoints), COUNT(*), IFNULL(SUM(e.request_count), 0), IFNULL(SUM(e.error_count), 0),
                    MIN(e.first_seen), MAX(e.last_seen)
             FROM endpoints e WHERE e.first_seen IS NOT NULL",
        )
        .fetch_one(&self.pool)
        .await?;
        let clients: i64 =
            sqlx::query_scalar("SELECT COUNT(DISTINCT client) FROM endpoint_clients")
                .fetch_one(&self.pool)
                .await?;
        let findings: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM findings f WHERE {ACTIVE_FINDING}"
        )))
        .fetch_one(&self.pool)
        .await?;
        let captures: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM captures")
            .fetch_one(&self.pool)
            .await?;
        let totals = Totals {
            hosts: t.get(0),
            endpoints: t.get(1),
            calls: t.get(2),
            errors: t.get(3),
            clients,
            findings,
            captures,
            first_seen: t.get(4),
            last_seen: t.get(5),
        };
        let classification = self.classification_counts().await?;
        let sev = severity_rank_sql("severity");
        let severity = counts(
            &sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT severity, COUNT(*) FROM findings f WHERE {ACTIVE_FINDING} GROUP BY severity ORDER BY {sev}"
            )))
            .fetch_all(&self.pool)
            .await?,
        );
        let hosts = counts(
            &sqlx::query(
                // A host's endpoints: every row for it (see `hosts`), as /hosts and
                // /endpoints?host= count them.
                "SELECT host, COUNT(*) AS n FROM endpoints e
                 GROUP BY host ORDER BY n DESC, host LIMIT 8",
            )
            .fetch_all(&self.pool)
            .await?,
        );
        let newest_endpoints = sqlx::query(
            "SELECT id, host, method, path_template, first_seen, request_count, classification
             FROM endpoints e WHERE e.first_seen IS NOT NULL ORDER BY first_seen DESC, id DESC LIMIT 8",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(brief_row)
        .collect();
        let newest_findings = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {FINDING_COLUMNS} {FINDING_JOIN} ORDER BY f.first_seen DESC, f.id DESC LIMIT 8"
        )))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(finding_row)
        .collect();
        let fix_first = self.dashboard_fix_first(FIX_FIRST).await?;
        Ok(Overview {
            fix_first,
            totals,
            classification,
            severity,
            minutes: Vec::new(),
            hosts,
            newest_endpoints,
            newest_findings,
        })
    }

    /// Calls per minute over every endpoint. It reads every per-minute row (the costliest
    /// query of the overview): the dashboard caches it while [`Totals`] stay the same.
    pub async fn dashboard_traffic(&self) -> Result<Vec<MinuteCount>, StoreError> {
        Ok(sqlx::query(
            "SELECT minute, SUM(count), SUM(errors) FROM endpoint_minutes GROUP BY minute ORDER BY minute",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| MinuteCount {
            minute: r.get(0),
            count: r.get(1),
            errors: r.get(2),
        })
        .collect())
    }
}
