//! The overview page: what to fix first (active critical and high findings by endpoint), totals,
//! classification and severity counts, the busiest hosts, the newest endpoints and findings, and
//! the calls-per-minute traffic chart.

use super::Dashboard;
use super::{ACTIVE_FINDING, Count, EndpointBrief, FindingRow};
use super::{FINDING_COLUMNS, FINDING_JOIN, brief_row, counts, finding_row, severity_rank_sql};
use super::{FixFirstList, MinuteCount, Window};
use crate::analyze::scope::Scope;
use crate::store::StoreError;
use crate::store::scope::ScopeCounts;
use serde::Serialize;

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

impl Dashboard {
    /// Endpoints per scope (see [`Store::scope_counts`]).
    pub async fn scope_counts(&self) -> Result<ScopeCounts, StoreError> {
        let mut out = ScopeCounts::default();
        // The few endpoints outside the APIs, read through the scope index; the APIs are the
        // rest of the kept total (migration 0015), so no page counts every endpoint.
        let total: i64 = self
            .db
            .query("SELECT endpoints FROM inventory_totals")
            .fetch_scalar()
            .await?;
        let mut apart = 0;
        for r in self
            .db
            .query(
                "SELECT scope, COUNT(*), COUNT(first_seen) FROM endpoints
             WHERE scope IN ('static', 'third_party', 'ignored') GROUP BY scope",
            )
            .fetch_all()
            .await?
        {
            let n = r.get::<i64, _>(1) as u64;
            apart += n;
            out.observed_apart += r.get::<i64, _>(2) as u64;
            match Scope::parse(r.get::<&str, _>(0)) {
                Some(Scope::Static) => out.static_assets += n,
                Some(Scope::ThirdParty) => out.third_party += n,
                _ => out.ignored += n,
            }
        }
        out.api = (total.max(0) as u64).saturating_sub(apart);
        Ok(out)
    }

    /// What to fix first, totals, classification and severity counts, newest endpoints and
    /// findings, over what was seen in `window` (see [`Window`]).
    pub async fn dashboard_overview(&self, window: &Window) -> Result<Overview, StoreError> {
        let fw = window.and_span("f");
        let sev = severity_rank_sql("severity");
        let severity = counts(
            &self.db.query(format!(
                "SELECT severity, COUNT(*) FROM findings f WHERE {ACTIVE_FINDING}{fw} GROUP BY severity ORDER BY {sev}"
            ))
            .fetch_all()
            .await?,
        );
        let (totals, scopes, classification, hosts) = if window.is_all() {
            let (totals, scopes) = self.totals_all().await?;
            let hosts = counts(
                &self.db.query(// A host's endpoints: every row for it (see `hosts`), as /hosts and
                    // /endpoints?host=…&scope=all count them.
                    "SELECT host, COUNT(*) AS n FROM endpoints GROUP BY host ORDER BY n DESC, host LIMIT 8",)
                .fetch_all()
                .await?,
            );
            (totals, scopes, self.classification_counts().await?, hosts)
        } else {
            self.totals_in(window).await?
        };
        let ew = window.and_endpoint("e");
        let newest_endpoints = self
            .db
            .query(format!(
                "SELECT id, host, method, path_template, first_seen, request_count, classification
             FROM endpoints e WHERE e.first_seen IS NOT NULL AND e.scope = 'api'{ew}
             ORDER BY first_seen DESC, id DESC LIMIT 8"
            ))
            .fetch_all()
            .await?
            .iter()
            .map(brief_row)
            .collect();
        let newest_findings = self.db.query(format!(
            "SELECT {FINDING_COLUMNS} {FINDING_JOIN} WHERE TRUE{fw} ORDER BY f.first_seen DESC, f.id DESC LIMIT 8"
        ))
        .fetch_all()
        .await?
        .iter()
        .map(finding_row)
        .collect();
        let fix_first = self.dashboard_fix_first(FIX_FIRST, window).await?;
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

    /// Totals of the whole inventory, from the sums kept by triggers (migration 0015): no
    /// scan of the endpoints, their clients or their minutes.
    async fn totals_all(&self) -> Result<(Totals, ScopeCounts), StoreError> {
        let t = self.db.query("SELECT (SELECT COUNT(*) FROM (SELECT DISTINCT host FROM endpoints) h), t.endpoints, t.observed,
                    t.requests, t.errors, (SELECT MIN(first_seen) FROM endpoints), t.last_seen,
                    (SELECT COUNT(*) FROM inventory_clients)
             FROM inventory_totals t",)
        .fetch_one()
        .await?;
        let scopes = self.scope_counts().await?;
        let totals = Totals {
            hosts: t.get(0),
            endpoints: scopes.api as i64,
            observed: t.get::<i64, _>(2) - scopes.observed_apart as i64,
            calls: t.get(3),
            errors: t.get(4),
            clients: t.get(7),
            findings: self.active_findings(&Window::ALL).await?,
            captures: self.capture_count().await?,
            first_seen: t.get(5),
            last_seen: t.get(6),
        };
        Ok((totals, scopes))
    }

    /// Totals of what was seen in `window`: endpoints called in it, calls and errors of its
    /// minutes, clients and findings whose span meets it. `first_seen` and `last_seen` are
    /// those of its calls, to the minute.
    ///
    /// With them, the classification counts (APIs of ours) and the busiest hosts, all from one
    /// pass over the endpoints in the range (the range's condition may probe each endpoint's
    /// minute series: it is evaluated once).
    async fn totals_in(
        &self,
        window: &Window,
    ) -> Result<(Totals, ScopeCounts, Vec<Count>, Vec<Count>), StoreError> {
        let ew = window.and_endpoint("e");
        let mut scopes = ScopeCounts::default();
        let mut per_host: std::collections::HashMap<String, i64> = Default::default();
        let mut per_class: std::collections::BTreeMap<(u8, String), i64> = Default::default();
        for r in self
            .db
            .query(format!(
                "SELECT host, scope, COALESCE(classification, 'unclassified'), COUNT(*)
             FROM endpoints e WHERE TRUE{ew} GROUP BY host, scope, classification"
            ))
            .fetch_all()
            .await?
        {
            let n: i64 = r.get(3);
            *per_host.entry(r.get(0)).or_default() += n;
            let n_u = n as u64;
            match Scope::parse(r.get::<&str, _>(1)) {
                Some(Scope::Api) => {
                    scopes.api += n_u;
                    let class: String = r.get(2);
                    // The order of CLASSIFICATION_ORDER.
                    let rank = ["documented", "shadow", "zombie", "dormant", "uncovered"]
                        .iter()
                        .position(|c| *c == class)
                        .unwrap_or(5) as u8;
                    *per_class.entry((rank, class)).or_default() += n;
                }
                Some(Scope::Static) => scopes.static_assets += n_u,
                Some(Scope::ThirdParty) => scopes.third_party += n_u,
                _ => scopes.ignored += n_u,
            }
        }
        let hosts = per_host.len() as i64;
        let mut busiest: Vec<Count> = per_host
            .into_iter()
            .map(|(key, count)| Count { key, count })
            .collect();
        busiest.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
        busiest.truncate(8);
        let classification = per_class
            .into_iter()
            .map(|((_, key), count)| Count { key, count })
            .collect();
        let minutes = window.and_minute("minute");
        let (calls, errors, first, last): (i64, i64, Option<i64>, Option<i64>) = self
            .db
            .query(format!(
                "SELECT COALESCE(SUM(count), 0), COALESCE(SUM(errors), 0), MIN(minute), MAX(minute)
                 FROM inventory_minutes WHERE TRUE{minutes}"
            ))
            .fetch_one_as()
            .await?;
        let cw = window.and_span("c");
        let clients: i64 = self
            .db
            .query(format!(
                "SELECT COUNT(DISTINCT client) FROM endpoint_clients c WHERE TRUE{cw}"
            ))
            .fetch_scalar()
            .await?;
        let minute_ns = |m: i64| m.saturating_mul(60_000_000_000);
        // Every endpoint in the range was called: the ones apart all were.
        scopes.observed_apart = scopes.static_assets + scopes.third_party + scopes.ignored;
        let totals = Totals {
            hosts,
            endpoints: scopes.api as i64,
            observed: scopes.api as i64,
            calls,
            errors,
            clients,
            findings: self.active_findings(window).await?,
            captures: self.capture_count().await?,
            first_seen: first.map(|m| minute_ns(m).max(window.from.unwrap_or(i64::MIN))),
            last_seen: last.map(|m| {
                minute_ns(m)
                    .saturating_add(59_999_999_999)
                    .min(window.to.unwrap_or(i64::MAX))
            }),
        };
        Ok((totals, scopes, classification, busiest))
    }

    /// Active findings whose span meets `window`.
    async fn active_findings(&self, window: &Window) -> Result<i64, StoreError> {
        let fw = window.and_span("f");
        self.db
            .query(format!(
                "SELECT COUNT(*) FROM findings f WHERE {ACTIVE_FINDING}{fw}"
            ))
            .fetch_scalar()
            .await
    }

    async fn capture_count(&self) -> Result<i64, StoreError> {
        self.db
            .query("SELECT COUNT(*) FROM captures")
            .fetch_scalar()
            .await
    }

    /// Calls per minute over every endpoint, within `window` (sums kept by triggers,
    /// migration 0015).
    pub async fn dashboard_traffic(&self, window: &Window) -> Result<Vec<MinuteCount>, StoreError> {
        let minutes = window.and_minute("minute");
        Ok(self.db.query(format!(
            "SELECT minute, count, errors FROM inventory_minutes WHERE (count > 0 OR errors > 0){minutes} ORDER BY minute"
        ))
        .fetch_all()
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
        let pairs = |sql: &'static str| async move {
            sqlx::query_as::<_, (String, String, i64, i64)>(sql)
                .fetch_all(pool)
                .await
                .unwrap()
        };
        assert_eq!(
            pairs("SELECT host, client, endpoints, requests FROM host_clients ORDER BY host, client").await,
            pairs(
                "SELECT e.host, c.client, COUNT(*), SUM(c.count) FROM endpoint_clients c
                 JOIN endpoints e ON e.id = c.endpoint_id GROUP BY e.host, c.client ORDER BY e.host, c.client"
            )
            .await,
            "host clients {when}"
        );
        let wrong: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM endpoints e WHERE e.client_rows <> (SELECT COUNT(*) FROM endpoint_clients c WHERE c.endpoint_id = e.id)",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        assert_eq!(wrong, 0, "client rows {when}");
        assert_eq!(
            super::super::changes::change_hours_kept(store).await,
            super::super::changes::change_hours_fresh(store).await,
            "change hours {when}"
        );
        let pair_times: Vec<(String, String, Option<i64>)> =
            sqlx::query_as("SELECT host, client, first_seen FROM host_clients ORDER BY 1, 2")
                .fetch_all(pool)
                .await
                .unwrap();
        let fresh_times: Vec<(String, String, Option<i64>)> = sqlx::query_as(
            "SELECT e.host, c.client, MIN(c.first_seen) FROM endpoint_clients c
             JOIN endpoints e ON e.id = c.endpoint_id GROUP BY 1, 2 ORDER BY 1, 2",
        )
        .fetch_all(pool)
        .await
        .unwrap();
        assert_eq!(pair_times, fresh_times, "host client times {when}");
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
        let o = store
            .dashboard()
            .dashboard_overview(&super::Window::ALL)
            .await
            .unwrap();
        let (n, hosts): (i64, i64) =
            sqlx::query_as("SELECT SUM(scope = 'api'), COUNT(DISTINCT host) FROM endpoints")
                .fetch_one(store.pool())
                .await
                .unwrap();
        assert_eq!((o.totals.endpoints, o.totals.hosts), (n, hosts));
    }
}
