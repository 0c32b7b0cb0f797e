//! The change feed (`/changes`): what was first seen since a time, per host — new endpoints,
//! parameters, auth schemes, sensitive-data classes, TLS client stacks (JA4) and clients.
//!
//! Each kind is one branch of a `UNION ALL` that starts from the rows first seen at or after the
//! bound (indexed by `first_seen`), so a recent bound reads few rows whatever the inventory's
//! size. The public view `api_changes` (migration 0014) is the same definition without a bound.
//!
//! A time is known or it is not: parameters and auth schemes written before migration 0014 have
//! no `first_seen`; they are never listed as new, and [`Changes::unknown`] says how many there
//! are.

use super::Count;
use super::Dashboard;
#[cfg(test)]
use crate::store::Store;
use crate::store::StoreError;
use serde::Serialize;

use std::collections::HashMap;

/// An hour in ns: `change_hours` counts per hour of first sight.
const HOUR_NS: i64 = 3_600_000_000_000;

/// What changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// A (host, method, path template) first called.
    Endpoint,
    /// A path or query parameter first carried by an endpoint.
    Parameter,
    /// An authentication scheme first seen on an endpoint.
    Auth,
    /// A sensitive-data class first seen on an endpoint.
    Sensitive,
    /// A TLS client stack (JA4) first seen talking to a host.
    TlsClient,
    /// A client address first seen calling a host.
    Client,
}

impl ChangeKind {
    /// Every kind, in the order pages show them.
    pub const ALL: [ChangeKind; 6] = [
        ChangeKind::Endpoint,
        ChangeKind::Parameter,
        ChangeKind::Auth,
        ChangeKind::Sensitive,
        ChangeKind::TlsClient,
        ChangeKind::Client,
    ];

    /// The name used in URLs, JSON and `api_changes.kind`.
    pub fn name(self) -> &'static str {
        match self {
            ChangeKind::Endpoint => "endpoint",
            ChangeKind::Parameter => "parameter",
            ChangeKind::Auth => "auth",
            ChangeKind::Sensitive => "sensitive",
            ChangeKind::TlsClient => "tls_client",
            ChangeKind::Client => "client",
        }
    }

    /// Parses a URL name.
    pub fn parse(s: &str) -> Option<ChangeKind> {
        ChangeKind::ALL.into_iter().find(|k| k.name() == s)
    }

    /// Plural words for people.
    pub fn label(self) -> &'static str {
        match self {
            ChangeKind::Endpoint => "endpoints",
            ChangeKind::Parameter => "parameters",
            ChangeKind::Auth => "auth schemes",
            ChangeKind::Sensitive => "sensitive data",
            ChangeKind::TlsClient => "TLS fingerprints",
            ChangeKind::Client => "clients",
        }
    }

    /// Words for one of them.
    pub fn label_one(self) -> &'static str {
        match self {
            ChangeKind::Endpoint => "endpoint",
            ChangeKind::Parameter => "parameter",
            ChangeKind::Auth => "auth scheme",
            ChangeKind::Sensitive => "sensitive data",
            ChangeKind::TlsClient => "TLS fingerprint",
            ChangeKind::Client => "client",
        }
    }

    fn rank(self) -> usize {
        ChangeKind::ALL.iter().position(|k| *k == self).unwrap_or(0)
    }

    /// The branch of the feed for this kind: columns kind, host, endpoint_id, method,
    /// path_template, what, detail, first_seen, on_new_endpoint; of the things first seen from
    /// `?1` to `?5` (ns, both included), `?2` the host or NULL. With `by_host` (a host is
    /// asked for) the host's rows drive the read (`+x.first_seen` keeps SQLite off the time
    /// index, which would visit every host's rows when most are new); otherwise the rows first
    /// seen within the bounds do.
    fn branch(self, db: &crate::store::db::Db, by_host: bool) -> String {
        // By host, SQLite is told not to read by first sight (`+first_seen`: no index) but by
        // the host's endpoints. PostgreSQL plans that itself from its statistics, which the
        // `+` would hide from it (a range over every row estimated at a few rows: a loop over
        // all of them into the endpoints, 836 ms against 465 ms at 100,000 endpoints).
        let plus = if db.is_pg() { "" } else { "+" };
        let (host_e, host_s, t) = if by_host {
            ("e.host = ?2", "s.host = ?2", plus)
        } else {
            (
                "(?2 IS NULL OR e.host = ?2)",
                "(?2 IS NULL OR s.host = ?2)",
                "",
            )
        };
        let recent = |table: &str| {
            if by_host {
                String::new()
            } else {
                format!(
                    "{table}.endpoint_id IN (SELECT endpoint_id FROM endpoint_{} WHERE first_seen BETWEEN ?1 AND ?5) AND ",
                    if table == "a" { "auth" } else { "sensitive" }
                )
            }
        };
        match self {
            ChangeKind::Endpoint => format!(
                "SELECT 'endpoint', e.host, e.id, e.method, e.path_template, e.method || ' ' || e.path_template,
                        COALESCE(e.protocol, ''), e.first_seen, 1
                 FROM endpoints e WHERE {t}e.first_seen BETWEEN ?1 AND ?5 AND {host_e}"
            ),
            ChangeKind::Parameter => format!(
                "SELECT 'parameter', e.host, e.id, e.method, e.path_template, p.location || ' ' || p.name,
                        p.types, p.first_seen, CASE WHEN e.first_seen >= ?1 THEN 1 ELSE 0 END
                 FROM endpoint_params p JOIN endpoints e ON e.id = p.endpoint_id
                 WHERE {t}p.first_seen BETWEEN ?1 AND ?5 AND {host_e}"
            ),
            // A scheme is new on an endpoint when every row of it (one per location) was first
            // seen after the bound: a row of unknown time means it was there before.
            ChangeKind::Auth => format!(
                "SELECT 'auth', e.host, e.id, e.method, e.path_template, a.scheme,
                        {}, MIN(a.first_seen), CASE WHEN e.first_seen >= ?1 THEN 1 ELSE 0 END
                 FROM endpoint_auth a JOIN endpoints e ON e.id = a.endpoint_id
                 WHERE {}{host_e}
                 GROUP BY e.id, e.host, e.method, e.path_template, e.first_seen, a.scheme
                 HAVING MIN(a.first_seen) BETWEEN ?1 AND ?5 AND COUNT(a.first_seen) = COUNT(*)",
                db.string_agg("a.location", "', '", false),
                recent("a")
            ),
            ChangeKind::Sensitive => format!(
                "SELECT 'sensitive', e.host, e.id, e.method, e.path_template, s.class,
                        {}, MIN(s.first_seen), CASE WHEN e.first_seen >= ?1 THEN 1 ELSE 0 END
                 FROM endpoint_sensitive s JOIN endpoints e ON e.id = s.endpoint_id
                 WHERE {}{host_e}
                 GROUP BY e.id, e.host, e.method, e.path_template, e.first_seen, s.class HAVING MIN(s.first_seen) BETWEEN ?1 AND ?5",
                db.string_agg("s.location", "','", true),
                recent("s")
            ),
            ChangeKind::TlsClient => format!(
                "SELECT 'tls_client', s.host, NULL, NULL, NULL, c.ja4,
                        COUNT(DISTINCT c.client) || ' client(s)', MIN(c.first_seen), 0
                 FROM tls_clients c JOIN tls_services s ON s.id = c.service_id
                 WHERE c.ja4 <> '' AND {host_s}
                 GROUP BY s.host, c.ja4 HAVING MIN(c.first_seen) BETWEEN ?1 AND ?5"
            ),
            // A client is new on a host when none of its rows on the host's endpoints is older
            // than the bound (over the client rows kept per endpoint, see the client cap).
            ChangeKind::Client => format!(
                "SELECT 'client', e.host, NULL, NULL, NULL, c.client,
                        COUNT(*) || ' endpoint(s)', MIN(c.first_seen), 0
                 FROM endpoint_clients c JOIN endpoints e ON e.id = c.endpoint_id
                 WHERE {t}c.first_seen BETWEEN ?1 AND ?5 AND {host_e}
                 GROUP BY e.host, c.client
                 HAVING NOT EXISTS (SELECT 1 FROM endpoint_clients c2 {}
                                    JOIN endpoints e2 ON e2.id = c2.endpoint_id
                                    WHERE c2.client = c.client AND c2.first_seen < ?1 AND e2.host = e.host)",
                db.indexed_by("endpoint_clients_client")
            ),
        }
    }
}

/// What the feed is asked.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChangeQuery {
    /// Changes first seen at or after this time (ns, packet time).
    pub since: i64,
    /// And at or before this one (`None`: up to the newest).
    pub until: Option<i64>,
    /// Only this host.
    pub host: Option<String>,
    /// Only this kind.
    pub kind: Option<ChangeKind>,
    /// Rows to skip.
    pub offset: i64,
    /// Rows per page.
    pub limit: i64,
}

/// One change.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChangeRow {
    /// What kind of change.
    pub kind: ChangeKind,
    /// The host (for `tls_client`: the TLS service's host, its SNI or address).
    pub host: String,
    /// The endpoint concerned (none for `tls_client` and `client`).
    pub endpoint_id: Option<i64>,
    /// Its method.
    pub method: Option<String>,
    /// Its path template.
    pub path_template: Option<String>,
    /// What is new: `METHOD path`, `location name`, a scheme, a class, a JA4, an address.
    pub what: String,
    /// More: the protocol (endpoint), value types (parameter), where (auth, sensitive), how
    /// many clients (JA4) or endpoints (client).
    pub detail: String,
    /// First seen (ns).
    pub first_seen: i64,
    /// On an endpoint that is itself new since the bound.
    pub on_new_endpoint: bool,
}

/// Changes of one host, counted per kind.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HostChanges {
    /// The host.
    pub host: String,
    /// Changes per kind, in [`ChangeKind::ALL`] order (kinds without changes left out).
    pub kinds: Vec<Count>,
    /// All its changes.
    pub total: i64,
}

/// A page of the feed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Changes {
    /// The bound asked for (ns).
    pub since: i64,
    /// The newest request of the inventory (ns), the feed's "now".
    pub newest: Option<i64>,
    /// Changes per host (every host with a change, most changes first), for the filters asked.
    pub hosts: Vec<HostChanges>,
    /// Changes per kind over those hosts.
    pub kinds: Vec<Count>,
    /// Changes matching, over all pages.
    pub total: i64,
    /// This page, grouped by host (hosts in name order), then kind, newest first.
    pub rows: Vec<ChangeRow>,
    /// Rows whose first time is unknown (written before migration 0014), per kind: never
    /// listed as new.
    pub unknown: Vec<Count>,
}

impl Dashboard {
    /// The newest request of the inventory (ns): the default bound of the feed is relative to
    /// it (captures are often old).
    pub async fn dashboard_newest(&self) -> Result<Option<i64>, StoreError> {
        // Kept by triggers (migration 0015): no scan of the endpoints.
        self.db
            .query("SELECT last_seen FROM inventory_totals")
            .fetch_scalar()
            .await
    }

    /// A page of the change feed.
    ///
    /// The counts per host and kind come from `change_hours` (migration 0018) for the whole
    /// hours between the bounds, and from the rows for the partial hours at the edges (and for
    /// TLS client stacks, which are not kept there); the page's rows are read per (host, kind)
    /// group, from the host's rows of that kind only.
    pub async fn dashboard_changes(&self, q: &ChangeQuery) -> Result<Changes, StoreError> {
        let kinds: Vec<ChangeKind> = match q.kind {
            Some(k) => vec![k],
            None => ChangeKind::ALL.to_vec(),
        };
        let host = q.host.as_deref();
        let (lo, hi) = (q.since, q.until.unwrap_or(i64::MAX));
        let mut counts: HashMap<(String, ChangeKind), i64> = HashMap::new();
        if lo <= hi {
            let kept: Vec<ChangeKind> = kinds
                .iter()
                .copied()
                .filter(|k| *k != ChangeKind::TlsClient)
                .collect();
            let (h_lo, h_hi) = (lo.div_euclid(HOUR_NS), hi.div_euclid(HOUR_NS));
            // The edges read from the rows: the partial first hour (all of it when the bounds
            // share an hour) and, with an upper bound, the partial last one.
            let first_end = if h_lo == h_hi {
                hi
            } else {
                (h_lo + 1).saturating_mul(HOUR_NS).saturating_sub(1)
            };
            let mut from_rows = vec![(kept.clone(), lo, first_end)];
            if h_lo < h_hi && q.until.is_some() {
                from_rows.push((kept.clone(), h_hi.saturating_mul(HOUR_NS), hi));
            }
            if kinds.contains(&ChangeKind::TlsClient) {
                from_rows.push((vec![ChangeKind::TlsClient], lo, hi));
            }
            for (ks, a, b) in from_rows {
                for (h, k, n) in self.count_change_rows(&ks, host, a, b).await? {
                    *counts.entry((h, k)).or_default() += n;
                }
            }
            if h_hi - h_lo >= 2 && !kept.is_empty() {
                let hour_to = if q.until.is_some() {
                    h_hi - 1
                } else {
                    i64::MAX
                };
                for (h, k, n) in self
                    .count_change_hours(&kept, host, h_lo + 1, hour_to)
                    .await?
                {
                    *counts.entry((h, k)).or_default() += n;
                }
            }
        }
        // Groups in page order: host, then kind.
        let mut groups: Vec<((String, ChangeKind), i64)> =
            counts.into_iter().filter(|(_, n)| *n > 0).collect();
        groups.sort_by(|a, b| {
            a.0.0
                .cmp(&b.0.0)
                .then_with(|| a.0.1.rank().cmp(&b.0.1.rank()))
        });
        let mut hosts: Vec<HostChanges> = Vec::new();
        let mut per_kind = [0i64; 6];
        for ((h, k), n) in &groups {
            per_kind[k.rank()] += n;
            if hosts.last().is_none_or(|last| last.host != *h) {
                hosts.push(HostChanges {
                    host: h.clone(),
                    kinds: Vec::new(),
                    total: 0,
                });
            }
            let last = hosts.last_mut().expect("pushed above");
            last.kinds.push(Count {
                key: k.name().into(),
                count: *n,
            });
            last.total += n;
        }
        hosts.sort_by(|a, b| b.total.cmp(&a.total).then_with(|| a.host.cmp(&b.host)));
        let total = hosts.iter().map(|h| h.total).sum();
        let kinds_count = ChangeKind::ALL
            .iter()
            .zip(per_kind)
            .filter(|(_, n)| *n > 0)
            .map(|(k, n)| Count {
                key: k.name().into(),
                count: n,
            })
            .collect();
        // This page: the groups it spans, each read on its own.
        let (mut skip, mut want) = (q.offset.max(0), q.limit.clamp(1, 1000));
        let mut rows = Vec::new();
        for ((h, k), n) in &groups {
            if want == 0 {
                break;
            }
            if skip >= *n {
                skip -= n;
                continue;
            }
            let page = self
                .db
                .query(format!(
                    "SELECT * FROM ({}) AS b ORDER BY 8 DESC, 6 LIMIT ?3 OFFSET ?4",
                    k.branch(&self.db, true)
                ))
                .bind(lo)
                .bind(h.as_str())
                .bind(want)
                .bind(skip)
                .bind(hi)
                .fetch_all()
                .await?;
            skip = 0;
            want -= page.len() as i64;
            rows.extend(page.iter().filter_map(|r| {
                Some(ChangeRow {
                    kind: ChangeKind::parse(r.get::<&str, _>(0))?,
                    host: r.get(1),
                    endpoint_id: r.get(2),
                    method: r.get(3),
                    path_template: r.get(4),
                    what: r.get(5),
                    detail: r.get::<Option<String>, _>(6).unwrap_or_default(),
                    first_seen: r.get(7),
                    on_new_endpoint: r.get::<Option<i64>, _>(8).unwrap_or(0) != 0,
                })
            }));
        }
        let unknown_sql = "SELECT 'parameter', COUNT(*) FROM endpoint_params p JOIN endpoints e ON e.id = p.endpoint_id
                 WHERE p.first_seen IS NULL AND (?1 IS NULL OR e.host = ?1)
             UNION ALL
             SELECT 'auth', COUNT(*) FROM endpoint_auth a JOIN endpoints e ON e.id = a.endpoint_id
                 WHERE a.first_seen IS NULL AND (?1 IS NULL OR e.host = ?1)";
        let unknown = self
            .db
            .query(unknown_sql)
            .bind(q.host.as_deref())
            .fetch_all()
            .await?
            .iter()
            .map(|r| Count {
                key: r.get(0),
                count: r.get(1),
            })
            .filter(|c| c.count > 0 && q.kind.is_none_or(|k| k.name() == c.key))
            .collect();
        Ok(Changes {
            since: q.since,
            newest: self.dashboard_newest().await?,
            hosts,
            kinds: kinds_count,
            total,
            rows,
            unknown,
        })
    }
}

impl Dashboard {
    /// Things first seen from `lo` to `hi` (ns, both included) per host and kind, counted from
    /// the rows.
    async fn count_change_rows(
        &self,
        kinds: &[ChangeKind],
        host: Option<&str>,
        lo: i64,
        hi: i64,
    ) -> Result<Vec<(String, ChangeKind, i64)>, StoreError> {
        if kinds.is_empty() || lo > hi {
            return Ok(Vec::new());
        }
        let union = kinds
            .iter()
            .map(|k| k.branch(&self.db, host.is_some()))
            .collect::<Vec<_>>()
            .join("\nUNION ALL\n");
        let rows = self.db.query(format!(
            "WITH ch (kind, host, endpoint_id, method, path_template, what, detail, first_seen, on_new) AS ({union})
             SELECT host, kind, COUNT(*) FROM ch GROUP BY host, kind"
        ))
        .bind(lo)
        .bind(host)
        .bind(0i64)
        .bind(0i64)
        .bind(hi)
        .fetch_all()
        .await?;
        Ok(rows
            .iter()
            .filter_map(|r| Some((r.get(0), ChangeKind::parse(r.get::<&str, _>(1))?, r.get(2))))
            .collect())
    }

    /// Things first seen in the hours `from` to `to` (both included) per host and kind, from
    /// the counts kept by triggers (`change_hours`, migration 0018).
    async fn count_change_hours(
        &self,
        kinds: &[ChangeKind],
        host: Option<&str>,
        from: i64,
        to: i64,
    ) -> Result<Vec<(String, ChangeKind, i64)>, StoreError> {
        let names = kinds
            .iter()
            .map(|k| format!("'{}'", k.name()))
            .collect::<Vec<_>>()
            .join(", ");
        let rows = self
            .db
            .query(format!(
                "SELECT host, kind, SUM(n) FROM change_hours
             WHERE hour BETWEEN ?1 AND ?2 AND (?3 IS NULL OR host = ?3) AND kind IN ({names})
             GROUP BY host, kind HAVING SUM(n) <> 0"
            ))
            .bind(from)
            .bind(to)
            .bind(host)
            .fetch_all()
            .await?;
        Ok(rows
            .iter()
            .filter_map(|r| Some((r.get(0), ChangeKind::parse(r.get::<&str, _>(1))?, r.get(2))))
            .collect())
    }
}

/// `change_hours` computed afresh from the feed's own definition (rows whose count is not 0),
/// to check the triggers against.
#[cfg(test)]
pub(crate) async fn change_hours_fresh(store: &Store) -> Vec<(String, String, i64, i64)> {
    let kinds: Vec<ChangeKind> = ChangeKind::ALL
        .into_iter()
        .filter(|k| *k != ChangeKind::TlsClient)
        .collect();
    let union = kinds
        .iter()
        .map(|k| k.branch(&store.dashboard().db, false))
        .collect::<Vec<_>>()
        .join("\nUNION ALL\n");
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "WITH ch (kind, host, endpoint_id, method, path_template, what, detail, first_seen, on_new) AS ({union})
         SELECT host, kind, first_seen / {HOUR_NS} - (first_seen % {HOUR_NS} < 0) AS hour, COUNT(*)
         FROM ch GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    )))
    .bind(i64::MIN)
    .bind(None::<String>)
    .bind(0i64)
    .bind(0i64)
    .bind(i64::MAX)
    .fetch_all(store.pool())
    .await
    .unwrap()
}

/// `change_hours` as kept (rows whose count is not 0).
#[cfg(test)]
pub(crate) async fn change_hours_kept(store: &Store) -> Vec<(String, String, i64, i64)> {
    sqlx::query_as("SELECT host, kind, hour, n FROM change_hours WHERE n <> 0 ORDER BY 1, 2, 3")
        .fetch_all(store.pool())
        .await
        .unwrap()
}

#[cfg(test)]
mod tests {
    use super::{ChangeKind, ChangeQuery, HOUR_NS};
    use crate::store::Store;

    /// An inventory spread over five hours, with groups whose earliest row moves (an auth
    /// scheme seen at two locations, a class in two fields, a client on three endpoints).
    async fn inventory() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("c.db")).await.unwrap();
        let t0 = 1_700_000_000 / 3600 * 3600 * 1_000_000_000i64; // an hour's start
        let m = 60_000_000_000i64;
        let run = |sql: String| {
            let pool = store.pool().clone();
            async move {
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .execute(&pool)
                    .await
                    .unwrap()
            }
        };
        for i in 0..40i64 {
            let host = if i % 3 == 0 { "a.test" } else { "b.test" };
            let first = t0 + i * 7 * m + 11;
            run(format!(
                "INSERT INTO endpoints (id, host, method, path_template, first_seen, last_seen, request_count)
                 VALUES ({id}, '{host}', 'GET', '/r{i}', {first}, {last}, 3)",
                id = i + 1,
                last = first + 90 * m
            ))
            .await;
            run(format!(
                "INSERT INTO endpoint_params (endpoint_id, location, name, types, present, first_seen, last_seen)
                 VALUES ({id}, 'query', 'q', 'string', 1, {p}, {p}), ({id}, 'query', 'page', 'integer', 1, {p2}, {p2})",
                id = i + 1,
                p = first + 5 * m,
                p2 = first + 61 * m
            ))
            .await;
            run(format!(
                "INSERT INTO endpoint_auth (endpoint_id, scheme, location, count, first_seen, last_seen)
                 VALUES ({id}, 'bearer_jwt', 'authorization', 1, {a}, {a}), ({id}, 'bearer_jwt', 'cookie:s', 1, {a2}, {a2})",
                id = i + 1,
                a = first + 40 * m,
                a2 = first + 3 * m
            ))
            .await;
            run(format!(
                "INSERT INTO endpoint_sensitive VALUES ({id}, 'email', 'response_body', 'user.email', 1, 'a***', {s}, {s}),
                                                       ({id}, 'email', 'request_body', 'to', 1, 'b***', {s2}, {s2})",
                id = i + 1,
                s = first + 70 * m,
                s2 = first + 20 * m
            ))
            .await;
            run(format!(
                "INSERT INTO endpoint_clients VALUES ({id}, '10.0.0.{c}', 1, {f}, {f})",
                id = i + 1,
                c = i % 7,
                f = first + 30 * m
            ))
            .await;
        }
        // Later times of a row that held a group's earliest: the groups move to later hours.
        run("UPDATE endpoint_auth SET first_seen = first_seen + 150 * 60000000000 WHERE location = 'cookie:s' AND endpoint_id % 2 = 0".into()).await;
        run("UPDATE endpoint_clients SET first_seen = first_seen + 100 * 60000000000 WHERE endpoint_id % 5 = 0".into()).await;
        run("DELETE FROM endpoint_sensitive WHERE field = 'to' AND endpoint_id % 4 = 0".into())
            .await;
        run("DELETE FROM endpoints WHERE id IN (7, 8)".into()).await;
        let _ = HOUR_NS;
        (dir, store)
    }

    /// Whatever the bounds (inside an hour, across hour edges, on them, before or after
    /// everything) and filters, the counts read from the kept hours and the edges equal those
    /// counted from the rows, and the pages list every change once in the feed's order.
    #[tokio::test]
    async fn kept_hours_and_edges_count_as_the_rows_do() {
        let (_dir, store) = inventory().await;
        assert_eq!(
            super::change_hours_kept(&store).await,
            super::change_hours_fresh(&store).await
        );
        let t0 = 1_700_000_000 / 3600 * 3600 * 1_000_000_000i64;
        let m = 60_000_000_000i64;
        let bounds = [
            (0, None),
            (t0 - HOUR_NS, None),
            (t0 + 17 * m + 3, None),
            (t0 + 60 * m, None),
            (t0 + 17 * m, Some(t0 + 45 * m)),
            (t0 + 17 * m, Some(t0 + 200 * m + 5)),
            (t0 + 60 * m, Some(t0 + 180 * m - 1)),
            (t0 + 125 * m, Some(t0 + 400 * m)),
            (t0 + 1000 * m, None),
            (t0 + 50 * m, Some(t0 + 10 * m)),
        ];
        let all = store
            .dashboard()
            .dashboard_changes(&ChangeQuery {
                since: 0,
                until: None,
                host: None,
                kind: None,
                offset: 0,
                limit: 10,
            })
            .await
            .unwrap();
        // 38 endpoints with 76 parameters, 38 auth schemes, 38 classes, 7 clients per host.
        assert_eq!(all.total, 38 + 76 + 38 + 38 + 7 + 7, "{:?}", all.kinds);
        for (since, until) in bounds {
            for host in [None, Some("a.test")] {
                for kind in [None, Some(ChangeKind::Client), Some(ChangeKind::Auth)] {
                    let q = ChangeQuery {
                        since,
                        until,
                        host: host.map(str::to_string),
                        kind,
                        offset: 0,
                        limit: 1000,
                    };
                    let feed = store.dashboard().dashboard_changes(&q).await.unwrap();
                    let kinds: Vec<ChangeKind> = kind.map_or(ChangeKind::ALL.to_vec(), |k| vec![k]);
                    let mut rows = store
                        .dashboard()
                        .count_change_rows(&kinds, host, since, until.unwrap_or(i64::MAX))
                        .await
                        .unwrap();
                    rows.sort_by(|a, b| (&a.0, a.1.rank()).cmp(&(&b.0, b.1.rank())));
                    let mut kept: Vec<(String, ChangeKind, i64)> = feed
                        .hosts
                        .iter()
                        .flat_map(|h| {
                            h.kinds.iter().map(|c| {
                                (h.host.clone(), ChangeKind::parse(&c.key).unwrap(), c.count)
                            })
                        })
                        .collect();
                    kept.sort_by(|a, b| (&a.0, a.1.rank()).cmp(&(&b.0, b.1.rank())));
                    let ctx = format!("since {since} until {until:?} host {host:?} kind {kind:?}");
                    assert_eq!(kept, rows, "{ctx}");
                    assert_eq!(feed.rows.len() as i64, feed.total, "{ctx}");
                    // Pages of 7 put together are the one page of 1000.
                    let mut paged = Vec::new();
                    for page in 0.. {
                        let p = store
                            .dashboard()
                            .dashboard_changes(&ChangeQuery {
                                offset: page * 7,
                                limit: 7,
                                ..q.clone()
                            })
                            .await
                            .unwrap();
                        if p.rows.is_empty() {
                            break;
                        }
                        paged.extend(p.rows);
                    }
                    assert_eq!(paged, feed.rows, "{ctx}");
                    for w in feed.rows.windows(2) {
                        let key =
                            |r: &super::ChangeRow| (r.host.clone(), r.kind.rank(), -r.first_seen);
                        assert!(key(&w[0]) <= key(&w[1]), "{ctx}: {w:?}");
                    }
                }
            }
        }
    }
}
