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
use crate::store::{Store, StoreError};
use serde::Serialize;
use sqlx::Row;

/// What changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
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
    /// path_template, what, detail, first_seen, on_new_endpoint; `?1` is the bound (ns), `?2`
    /// the host or NULL. With `by_host` (a host is asked for) the host's rows drive the read
    /// (`+x.first_seen` keeps SQLite off the time index, which would visit every host's rows
    /// when most are new); otherwise the rows first seen after the bound do.
    fn branch(self, by_host: bool) -> String {
        let (host_e, host_s, t) = if by_host {
            ("e.host = ?2", "s.host = ?2", "+")
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
                    "{table}.endpoint_id IN (SELECT endpoint_id FROM endpoint_{} WHERE first_seen >= ?1) AND ",
                    if table == "a" { "auth" } else { "sensitive" }
                )
            }
        };
        match self {
            ChangeKind::Endpoint => format!(
                "SELECT 'endpoint', e.host, e.id, e.method, e.path_template, e.method || ' ' || e.path_template,
                        IFNULL(e.protocol, ''), e.first_seen, 1
                 FROM endpoints e WHERE {t}e.first_seen >= ?1 AND {host_e}"
            ),
            ChangeKind::Parameter => format!(
                "SELECT 'parameter', e.host, e.id, e.method, e.path_template, p.location || ' ' || p.name,
                        p.types, p.first_seen, e.first_seen >= ?1
                 FROM endpoint_params p JOIN endpoints e ON e.id = p.endpoint_id
                 WHERE {t}p.first_seen >= ?1 AND {host_e}"
            ),
            // A scheme is new on an endpoint when every row of it (one per location) was first
            // seen after the bound: a row of unknown time means it was there before.
            ChangeKind::Auth => format!(
                "SELECT 'auth', e.host, e.id, e.method, e.path_template, a.scheme,
                        group_concat(a.location, ', '), MIN(a.first_seen), e.first_seen >= ?1
                 FROM endpoint_auth a JOIN endpoints e ON e.id = a.endpoint_id
                 WHERE {}{host_e}
                 GROUP BY a.endpoint_id, a.scheme
                 HAVING MIN(a.first_seen) >= ?1 AND COUNT(a.first_seen) = COUNT(*)",
                recent("a")
            ),
            ChangeKind::Sensitive => format!(
                "SELECT 'sensitive', e.host, e.id, e.method, e.path_template, s.class,
                        group_concat(DISTINCT s.location), MIN(s.first_seen), e.first_seen >= ?1
                 FROM endpoint_sensitive s JOIN endpoints e ON e.id = s.endpoint_id
                 WHERE {}{host_e}
                 GROUP BY s.endpoint_id, s.class HAVING MIN(s.first_seen) >= ?1",
                recent("s")
            ),
            ChangeKind::TlsClient => format!(
                "SELECT 'tls_client', s.host, NULL, NULL, NULL, c.ja4,
                        COUNT(DISTINCT c.client) || ' client(s)', MIN(c.first_seen), 0
                 FROM tls_clients c JOIN tls_services s ON s.id = c.service_id
                 WHERE c.ja4 <> '' AND {host_s}
                 GROUP BY s.host, c.ja4 HAVING MIN(c.first_seen) >= ?1"
            ),
            // A client is new on a host when none of its rows on the host's endpoints is older
            // than the bound (over the client rows kept per endpoint, see the client cap).
            ChangeKind::Client => format!(
                "SELECT 'client', e.host, NULL, NULL, NULL, c.client,
                        COUNT(*) || ' endpoint(s)', MIN(c.first_seen), 0
                 FROM endpoint_clients c JOIN endpoints e ON e.id = c.endpoint_id
                 WHERE {t}c.first_seen >= ?1 AND {host_e}
                 GROUP BY e.host, c.client
                 HAVING NOT EXISTS (SELECT 1 FROM endpoint_clients c2 INDEXED BY endpoint_clients_client
                                    JOIN endpoints e2 ON e2.id = c2.endpoint_id
                                    WHERE c2.client = c.client AND c2.first_seen < ?1 AND e2.host = e.host)"
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

impl Store {
    /// The newest request of the inventory (ns): the default bound of the feed is relative to
    /// it (captures are often old).
    pub async fn dashboard_newest(&self) -> Result<Option<i64>, StoreError> {
        // Kept by triggers (migration 0015): no scan of the endpoints.
        Ok(sqlx::query_scalar("SELECT last_seen FROM inventory_totals")
            .fetch_one(&self.pool)
            .await?)
    }

    /// A page of the change feed.
    pub async fn dashboard_changes(&self, q: &ChangeQuery) -> Result<Changes, StoreError> {
        let kinds: Vec<ChangeKind> = match q.kind {
            Some(k) => vec![k],
            None => ChangeKind::ALL.to_vec(),
        };
        let union = kinds
            .iter()
            .map(|k| k.branch(q.host.is_some()))
            .collect::<Vec<_>>()
            .join("\nUNION ALL\n");
        let cte = format!(
            "WITH ch0 (kind, host, endpoint_id, method, path_template, what, detail, first_seen, on_new) AS ({union}),
             ch AS MATERIALIZED (SELECT * FROM ch0 WHERE first_seen <= {})",
            q.until.unwrap_or(i64::MAX)
        );
        let rank = "CASE kind WHEN 'endpoint' THEN 0 WHEN 'parameter' THEN 1 WHEN 'auth' THEN 2 \
                    WHEN 'sensitive' THEN 3 WHEN 'tls_client' THEN 4 ELSE 5 END";
        // One statement, so the feed is evaluated once (`ch` is materialized): the counts per
        // host and kind (part 0, the count in `first_seen`'s column), then this page's rows
        // (part 1).
        let all = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{cte}
             SELECT 0, kind, host, NULL, NULL, NULL, NULL, NULL, COUNT(*), NULL FROM ch GROUP BY host, kind
             UNION ALL
             SELECT * FROM (SELECT 1, kind, host, endpoint_id, method, path_template, what, IFNULL(detail, ''), first_seen, on_new
                            FROM ch ORDER BY host, {rank}, first_seen DESC, what LIMIT ?3 OFFSET ?4)"
        )))
        .bind(q.since)
        .bind(q.host.as_deref())
        .bind(q.limit.clamp(1, 1000))
        .bind(q.offset.max(0))
        .fetch_all(&self.pool)
        .await?;
        let (counted, page): (Vec<_>, Vec<_>) = all.iter().partition(|r| r.get::<i64, _>(0) == 0);
        let mut hosts: Vec<HostChanges> = Vec::new();
        let mut per_kind = [0i64; 6];
        for r in &counted {
            let host: String = r.get(2);
            let Some(kind) = ChangeKind::parse(r.get::<&str, _>(1)) else {
                continue;
            };
            let n: i64 = r.get(8);
            per_kind[kind.rank()] += n;
            let i = match hosts.iter().position(|h| h.host == host) {
                Some(i) => i,
                None => {
                    hosts.push(HostChanges {
                        host,
                        kinds: Vec::new(),
                        total: 0,
                    });
                    hosts.len() - 1
                }
            };
            hosts[i].kinds.push(Count {
                key: kind.name().into(),
                count: n,
            });
            hosts[i].total += n;
        }
        for h in &mut hosts {
            h.kinds
                .sort_by_key(|c| ChangeKind::parse(&c.key).map_or(usize::MAX, ChangeKind::rank));
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
        let rows = page
            .iter()
            .filter_map(|r| {
                Some(ChangeRow {
                    kind: ChangeKind::parse(r.get::<&str, _>(1))?,
                    host: r.get(2),
                    endpoint_id: r.get(3),
                    method: r.get(4),
                    path_template: r.get(5),
                    what: r.get(6),
                    detail: r.get(7),
                    first_seen: r.get(8),
                    on_new_endpoint: r.get::<Option<i64>, _>(9).unwrap_or(0) != 0,
                })
            })
            .collect();
        let unknown_sql = "SELECT 'parameter', COUNT(*) FROM endpoint_params p JOIN endpoints e ON e.id = p.endpoint_id
                 WHERE p.first_seen IS NULL AND (?1 IS NULL OR e.host = ?1)
             UNION ALL
             SELECT 'auth', COUNT(*) FROM endpoint_auth a JOIN endpoints e ON e.id = a.endpoint_id
                 WHERE a.first_seen IS NULL AND (?1 IS NULL OR e.host = ?1)";
        let unknown = sqlx::query(unknown_sql)
            .bind(q.host.as_deref())
            .fetch_all(&self.pool)
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
