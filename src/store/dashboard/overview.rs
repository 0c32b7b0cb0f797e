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
    /// The APIs of ours in the inventory (scope `api`): observed, or documented by an
    /// imported API description; the rows the endpoint list pages through by default. Static
    /// content, third-party and ignored endpoints are counted apart (`Overview::scopes`).
    pub endpoints: i64,
    /// Of them, endpoints called at least once (the others are dormant operations).
    pub observed: i64,
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
    /// Endpoints per classification (`unclassified` before a spec is imported), APIs of ours
    /// only.
    pub classification: Vec<Count>,
    /// Endpoints per scope: the APIs, and the static content, third-party and ignored
    /// endpoints left out of the classification counts and the default endpoint list.
    pub scopes: crate::store::scope::ScopeCounts,
    /// Findings per severity, most severe first.
    pub severity: Vec<Count>,
    /// Calls per minute over every endpoint (filled by [`Store::dashboard_traffic`]).
    pub minutes: Vec<MinuteCount>,
    /// Busiest hosts (endpoints per host, every row of the host as `/hosts` counts them).
    pub hosts: Vec<Count>,
    /// Newest endpoints of ours (scope `api`, as "More" lists them).
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
        // Sums kept by triggers (migration 0015): no scan of the endpoints, their clients or
        // their minutes.
        let t = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM (SELECT DISTINCT host FROM endpoints)), t.endpoints, t.observed,
                    t.requests, t.errors, (SELECT MIN(first_seen) FROM endpoints), t.last_seen,
                    (SELECT COUNT(*) FROM inventory_clients)
             FROM inventory_totals t",
        )
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
        let scopes = self.scope_counts().await?;
        let totals = Totals {
            hosts: t.get(0),
            endpoints: scopes.api as i64,
            observed: t.get::<i64, _>(2) - scopes.observed_apart as i64,
            calls: t.get(3),
            errors: t.get(4),
            clients: t.get(7),
            findings,
            captures,
            first_seen: t.get(5),
            last_seen: t.get(6),
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
                // /endpoints?host=…&scope=all count them.
                "SELECT host, COUNT(*) AS n FROM endpoints GROUP BY host ORDER BY n DESC, host LIMIT 8",
            )
            .fetch_all(&self.pool)
            .await?,
        );
        let newest_endpoints = sqlx::query(
            "SELECT id, host, method, path_template, first_seen, request_count, classification
             FROM endpoints e WHERE e.first_seen IS NOT NULL AND e.scope = 'api'
             ORDER BY first_seen DESC, id DESC LIMIT 8",
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
            scopes,
            severity,
            minutes: Vec::new(),
            hosts,
            newest_endpoints,
            newest_findings,
        })
    }

    /// Calls per minute over every endpoint (sums kept by triggers, migration 0015).
    pub async fn dashboard_traffic(&self) -> Result<Vec<MinuteCount>, StoreError> {
        Ok(sqlx::query(
            "SELECT minute, count, errors FROM inventory_minutes WHERE count > 0 OR errors > 0 ORDER BY minute",
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

#[cfg(test)]
mod tests {
    use crate::ingest::{IngestOptions, ingest_files};
    use crate::store::Store;
    use std::path::Path;

    /// The sums migration 0015 keeps by triggers, against the same sums computed afresh.
    async fn assert_sums_hold(store: &Store, when: &str) {
        let pool = store.pool();
        let one = |sql: &'static str| async move {
            sqlx::query_as::<_, (i64, i64, i64, i64, Option<i64>)>(sql)
                .fetch_one(pool)
                .await
                .unwrap()
        };
        let kept =
            one("SELECT endpoints, observed, requests, errors, last_seen FROM inventory_totals")
                .await;
        let fresh = one(
            "SELECT COUNT(*), COUNT(first_seen), IFNULL(SUM(request_count), 0), IFNULL(SUM(error_count), 0), MAX(last_seen) FROM endpoints",
        )
        .await;
        assert_eq!(kept, fresh, "totals {when}");
        let all = |sql: &'static str| async move {
            sqlx::query_as::<_, (String, i64, i64)>(sql)
                .fetch_all(pool)
                .await
                .unwrap()
        };
        assert_eq!(
            all("SELECT CAST(minute AS TEXT), count, errors FROM inventory_minutes WHERE count > 0 OR errors > 0 ORDER BY minute").await,
            all("SELECT CAST(minute AS TEXT), SUM(count), SUM(errors) FROM endpoint_minutes GROUP BY minute HAVING SUM(count) > 0 OR SUM(errors) > 0 ORDER BY minute").await,
            "minutes {when}"
        );
        assert_eq!(
            all("SELECT client, endpoints, 0 FROM inventory_clients ORDER BY client").await,
            all("SELECT client, COUNT(*), 0 FROM endpoint_clients GROUP BY client ORDER BY client")
                .await,
            "clients {when}"
        );
        let wrong: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM endpoints e WHERE e.client_rows <> (SELECT COUNT(*) FROM endpoint_clients c WHERE c.endpoint_id = e.id)",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        assert_eq!(wrong, 0, "client rows {when}");
    }

    /// Whichever path writes (the merge's upserts, a second ingest of the same traffic,
    /// retention, deleting endpoints with their cascades), the overview's sums stay equal to
    /// what a scan would find.
    #[tokio::test]
    async fn kept_sums_follow_every_write() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("inv.db")).await.unwrap();
        let captures = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures");
        // Every bundled capture, as the demo ingests them: half, then all of them again.
        let mut files: Vec<_> = std::fs::read_dir(&captures)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
            .collect();
        files.sort();
        let opts = IngestOptions::default();
        ingest_files(&store, &files[..2], &opts, |_| {})
            .await
            .unwrap();
        assert_sums_hold(&store, "after an ingest").await;
        ingest_files(&store, &files, &opts, |_| {}).await.unwrap();
        assert_sums_hold(&store, "after merging the same traffic again").await;
        let (lo, hi): (i64, i64) =
            sqlx::query_as("SELECT MIN(first_seen), MAX(last_seen) FROM endpoints")
                .fetch_one(store.pool())
                .await
                .unwrap();
        let deleted = crate::store::retention::age_out(&store, lo + (hi - lo) / 2)
            .await
            .unwrap();
        assert!(deleted.iter().sum::<u64>() > 0, "{deleted:?}");
        assert_sums_hold(&store, "after retention").await;
        // The newest endpoint and a busy one go, with their clients and minutes.
        sqlx::query(
            "DELETE FROM endpoints WHERE id IN ((SELECT id FROM endpoints ORDER BY last_seen DESC LIMIT 1),
                                                (SELECT id FROM endpoints ORDER BY request_count DESC LIMIT 1))",
        )
        .execute(store.pool())
        .await
        .unwrap();
        assert_sums_hold(&store, "after deleting endpoints").await;
        let o = store.dashboard_overview().await.unwrap();
        let (n, hosts): (i64, i64) =
            sqlx::query_as("SELECT SUM(scope = 'api'), COUNT(DISTINCT host) FROM endpoints")
                .fetch_one(store.pool())
                .await
                .unwrap();
        assert_eq!((o.totals.endpoints, o.totals.hosts), (n, hosts));
    }
}
