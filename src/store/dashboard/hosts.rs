//! Hosts as pages (`/hosts`, `/hosts/{host}`): every host with its endpoints, requests, spec
//! coverage, active findings by severity, highest risk, clients and last request; a host's top
//! clients; and the service map, which clients call which hosts.
//!
//! One definition per figure, shared with the other pages:
//! - a host's **endpoints** are every row of the inventory for it, dormant documented
//!   operations included: what `/endpoints?host=` lists and the overview's busiest hosts count;
//! - its **findings** are the active ones ([`ACTIVE_FINDING`]) whose host it is: what
//!   `/findings?host=` lists by default;
//! - its **clients** are the distinct addresses over the client rows kept per endpoint (the
//!   overview's definition);
//! - its **spec coverage** is the share of its observed endpoints that an imported description
//!   documents (documented or zombie) among those it classified (documented, zombie, shadow);
//!   none when no description covers the host.

use super::Dashboard;
use super::findings::like_contains;
use super::{ACTIVE_FINDING, Window};
use crate::store::StoreError;
use serde::Serialize;

use std::collections::HashMap;

/// Sort orders of the host list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HostSort {
    /// Host name.
    Host,
    /// Endpoints.
    Endpoints,
    /// Requests (the default: busiest first).
    #[default]
    Requests,
    /// Error responses.
    Errors,
    /// Spec coverage.
    Coverage,
    /// Active findings, most severe first.
    Findings,
    /// Highest risk score of its endpoints.
    Risk,
    /// Last request.
    LastSeen,
}

impl HostSort {
    /// Every key, in column order.
    pub const ALL: [HostSort; 8] = [
        HostSort::Host,
        HostSort::Endpoints,
        HostSort::Requests,
        HostSort::Errors,
        HostSort::Coverage,
        HostSort::Findings,
        HostSort::Risk,
        HostSort::LastSeen,
    ];

    /// The name used in URLs.
    pub fn name(self) -> &'static str {
        match self {
            HostSort::Host => "host",
            HostSort::Endpoints => "endpoints",
            HostSort::Requests => "requests",
            HostSort::Errors => "errors",
            HostSort::Coverage => "coverage",
            HostSort::Findings => "findings",
            HostSort::Risk => "risk",
            HostSort::LastSeen => "last_seen",
        }
    }

    /// Parses a URL name.
    pub fn parse(s: &str) -> Option<HostSort> {
        HostSort::ALL.into_iter().find(|k| k.name() == s)
    }

    /// Whether the natural direction is descending (everything but the name).
    pub fn default_desc(self) -> bool {
        self != HostSort::Host
    }

    fn expr(self) -> &'static str {
        match self {
            HostSort::Host => "h.host",
            HostSort::Endpoints => "h.endpoints",
            HostSort::Requests => "h.requests",
            HostSort::Errors => "h.errors",
            HostSort::Coverage => {
                "CASE WHEN h.classified > 0 THEN (h.documented + h.zombie) * 1.0 / h.classified END"
            }
            HostSort::Findings => {
                "COALESCE(f.critical, 0) * 1000000 + COALESCE(f.high, 0) * 10000 + COALESCE(f.n, 0)"
            }
            HostSort::Risk => "h.risk",
            HostSort::LastSeen => "h.last_seen",
        }
    }
}

/// Filters, sort and page of the host list.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HostQuery {
    /// Substring of the host name (case-insensitive for ASCII).
    pub q: Option<String>,
    /// Sort key.
    pub sort: HostSort,
    /// Descending.
    pub desc: bool,
    /// Rows to skip.
    pub offset: i64,
    /// Rows per page.
    pub limit: i64,
    /// Only endpoints called within this range, findings and clients whose span meets it.
    pub window: Window,
}

impl Default for HostQuery {
    fn default() -> Self {
        HostQuery {
            q: None,
            sort: HostSort::Requests,
            desc: true,
            offset: 0,
            limit: 50,
            window: Window::ALL,
        }
    }
}

/// One host.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct HostRow {
    /// The host (as the requests named it: `Host` header or `:authority`).
    pub host: String,
    /// Endpoints (every row for it, dormant documented operations included).
    pub endpoints: i64,
    /// Of them, called at least once.
    pub observed: i64,
    /// Requests.
    pub requests: i64,
    /// Responses with status >= 400.
    pub errors: i64,
    /// Endpoints per classification, of the APIs of ours (scope `api`: static content,
    /// third-party and ignored endpoints are not classified against a description, as on the
    /// overview and the Spec page).
    pub documented: i64,
    /// Undocumented endpoints of a host a description covers.
    pub shadow: i64,
    /// Deprecated but called.
    pub zombie: i64,
    /// Documented, never called.
    pub dormant: i64,
    /// On a host no description covers, or scanner probes.
    pub uncovered: i64,
    /// Before any description is imported.
    pub unclassified: i64,
    /// Share of the observed, classified endpoints (documented, zombie, shadow) that a
    /// description documents (documented, zombie), 0 to 100; none when none is classified.
    pub coverage_pct: Option<f64>,
    /// Active findings.
    pub findings: i64,
    /// Of them, critical.
    pub critical: i64,
    /// High.
    pub high: i64,
    /// Medium.
    pub medium: i64,
    /// Low.
    pub low: i64,
    /// Info.
    pub info: i64,
    /// Highest risk score of its endpoints (0 to 100).
    pub max_risk: i64,
    /// Distinct client addresses.
    pub clients: i64,
    /// First request (ns).
    pub first_seen: Option<i64>,
    /// Last request (ns).
    pub last_seen: Option<i64>,
}

impl HostRow {
    /// The severity of its most severe active finding.
    pub fn max_severity(&self) -> Option<&'static str> {
        [
            ("critical", self.critical),
            ("high", self.high),
            ("medium", self.medium),
            ("low", self.low),
            ("info", self.info),
        ]
        .into_iter()
        .find(|(_, n)| *n > 0)
        .map(|(s, _)| s)
    }
}

/// A page of hosts.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HostList {
    /// This page.
    pub rows: Vec<HostRow>,
    /// Hosts matching, over all pages.
    pub total: i64,
}

/// A client of a host.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HostClient {
    /// Its address.
    pub client: String,
    /// Requests it sent to the host.
    pub requests: i64,
    /// The host's endpoints it called.
    pub endpoints: i64,
    /// First request to the host (ns).
    pub first_seen: i64,
    /// Last (ns).
    pub last_seen: i64,
}

/// Requests from one client to one host.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ServiceEdge {
    /// Client address.
    pub client: String,
    /// Host.
    pub host: String,
    /// Requests.
    pub requests: i64,
}

/// Which clients call which hosts: the busiest clients and hosts and the requests between them.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ServiceMap {
    /// Edges between the clients and hosts kept, busiest first.
    pub edges: Vec<ServiceEdge>,
    /// Clients in the map's scope before the busiest were kept (around a host: at most the
    /// number asked for).
    pub clients_total: i64,
    /// Hosts in the map's scope.
    pub hosts_total: i64,
}

impl ServiceMap {
    /// The `clients` busiest clients and `hosts` busiest hosts of `pairs` (by requests between
    /// clients and hosts) and the pairs between them, busiest first.
    pub fn busiest(pairs: &[ServiceEdge], clients: i64, hosts: i64) -> ServiceMap {
        let top = |key: fn(&ServiceEdge) -> &str, n: i64| {
            let mut t: HashMap<&str, i64> = HashMap::new();
            for p in pairs {
                *t.entry(key(p)).or_default() += p.requests;
            }
            let total = t.len() as i64;
            let mut v: Vec<(&str, i64)> = t.into_iter().collect();
            v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
            v.truncate(usize::try_from(n.max(1)).unwrap_or(usize::MAX));
            let keep: std::collections::HashSet<String> =
                v.into_iter().map(|(k, _)| k.to_string()).collect();
            (keep, total)
        };
        let (keep_c, clients_total) = top(|p| p.client.as_str(), clients);
        let (keep_h, hosts_total) = top(|p| p.host.as_str(), hosts);
        let mut edges: Vec<ServiceEdge> = pairs
            .iter()
            .filter(|p| keep_c.contains(&p.client) && keep_h.contains(&p.host))
            .cloned()
            .collect();
        edges.sort_by(|a, b| {
            b.requests
                .cmp(&a.requests)
                .then_with(|| a.client.cmp(&b.client))
                .then_with(|| a.host.cmp(&b.host))
        });
        ServiceMap {
            edges,
            clients_total,
            hosts_total,
        }
    }
}

/// The host condition on `alias`: `= ?2` when one host is asked for (so the index on the host
/// is used), `?2 IS NULL OR ...` otherwise.
fn host_cond(alias: &str, one_host: bool) -> String {
    if one_host {
        format!("{alias}.host = ?2")
    } else {
        format!("(?2 IS NULL OR {alias}.host = ?2)")
    }
}

/// Figures per host. Endpoints are first counted per (host, scope, classification), the order
/// of the index `endpoints_host_figures`, with plain aggregates; the host's figures are then
/// sums over those few groups. Each expression evaluated per endpoint costs about as much as
/// reading the row (the one-level form, fifteen of them per endpoint, took 76 ms at 100,000
/// endpoints; this one 25 ms).
fn hosts_cte(window: &Window, one_host: bool) -> String {
    let ew = window.and_endpoint("e");
    let hc = host_cond("e", one_host);
    let api = |classes: &str, col: &str| {
        format!("SUM(CASE WHEN g.scope = 'api' AND g.c {classes} THEN g.{col} ELSE 0 END)")
    };
    format!(
        "g AS (
    SELECT e.host AS host, e.scope AS scope, e.classification AS c, COUNT(*) AS n,
           COUNT(e.first_seen) AS observed, SUM(e.request_count) AS requests,
           SUM(e.error_count) AS errors, MAX(e.risk_score) AS risk,
           MIN(e.first_seen) AS first_seen, MAX(e.last_seen) AS last_seen
    FROM endpoints e WHERE (?1 IS NULL OR e.host LIKE ?1 ESCAPE '\\') AND {hc}{ew}
    GROUP BY e.host, e.scope, e.classification),
h AS (
    SELECT g.host AS host, SUM(g.n) AS endpoints, SUM(g.observed) AS observed,
           COALESCE(SUM(g.requests), 0) AS requests, COALESCE(SUM(g.errors), 0) AS errors,
           {documented} AS documented, {shadow} AS shadow, {zombie} AS zombie,
           {dormant} AS dormant, {uncovered} AS uncovered,
           SUM(CASE WHEN g.scope = 'api' AND g.c IS NULL THEN g.n ELSE 0 END) AS unclassified,
           {classified} AS classified,
           MAX(g.risk) AS risk, MIN(g.first_seen) AS first_seen, MAX(g.last_seen) AS last_seen
    FROM g GROUP BY g.host)",
        documented = api("= 'documented'", "n"),
        shadow = api("= 'shadow'", "n"),
        zombie = api("= 'zombie'", "n"),
        dormant = api("= 'dormant'", "n"),
        uncovered = api("IN ('uncovered', 'probe')", "n"),
        classified = api("IN ('documented', 'zombie', 'shadow')", "observed"),
    )
}

fn findings_cte(window: &Window, one_host: bool) -> String {
    let fw = window.and_span("f");
    let hc = host_cond("f", one_host);
    format!(
        "f AS (
    SELECT f.host AS host, COUNT(*) AS n, SUM(CASE WHEN f.severity = 'critical' THEN 1 ELSE 0 END) AS critical, SUM(CASE WHEN f.severity = 'high' THEN 1 ELSE 0 END) AS high,
           SUM(CASE WHEN f.severity = 'medium' THEN 1 ELSE 0 END) AS medium, SUM(CASE WHEN f.severity = 'low' THEN 1 ELSE 0 END) AS low, SUM(CASE WHEN f.severity = 'info' THEN 1 ELSE 0 END) AS info
    FROM findings f WHERE f.host IS NOT NULL AND {hc} AND {ACTIVE_FINDING}{fw}
    GROUP BY f.host)"
    )
}

impl Dashboard {
    /// A page of hosts: aggregates per host in SQL; each host's distinct clients counted from
    /// `pairs` ([`Store::dashboard_client_pairs`] of the same range; the dashboard caches those
    /// of all time).
    pub async fn dashboard_hosts(
        &self,
        q: &HostQuery,
        pairs: &[ServiceEdge],
    ) -> Result<HostList, StoreError> {
        let pattern = q.q.as_deref().filter(|s| !s.is_empty()).map(like_contains);
        let mut list = self.host_rows(pattern.as_deref(), None, q, false).await?;
        let mut clients: HashMap<&str, i64> = HashMap::new();
        for p in pairs {
            *clients.entry(p.host.as_str()).or_default() += 1;
        }
        for r in &mut list.rows {
            r.clients = clients.get(r.host.as_str()).copied().unwrap_or(0);
        }
        Ok(list)
    }

    /// `window` as the client rows see it: all time when it holds every client row's span. A
    /// client row's first request is no earlier than its endpoint's first, its last no later
    /// than the inventory's newest; so a range from before the first endpoint to the newest
    /// request (the last hour of a sensor started within the hour) reads the pairs kept by
    /// triggers instead of every client row.
    async fn client_window(&self, window: &Window) -> Result<Window, StoreError> {
        if window.is_all() {
            return Ok(Window::ALL);
        }
        let (first, newest): (Option<i64>, Option<i64>) = self.db.query("SELECT (SELECT MIN(first_seen) FROM endpoints), (SELECT last_seen FROM inventory_totals)",)
        .fetch_one_as()
        .await?;
        let holds_start = match (window.from, first) {
            (None, _) => true,
            (Some(from), Some(first)) => from <= first,
            (Some(_), None) => false,
        };
        let holds_end = match (window.to, newest) {
            (None, _) => true,
            (Some(to), Some(newest)) => to >= newest,
            (Some(_), None) => false,
        };
        Ok(if holds_start && holds_end {
            Window::ALL
        } else {
            *window
        })
    }

    /// Requests per (client, host) pair, over the client rows kept per endpoint: every host's
    /// clients and the service map come from it. Of all time, the pairs kept by triggers
    /// (`host_clients`, migration 0017); of a range, a pass over the client rows whose span
    /// meets it.
    pub async fn dashboard_client_pairs(
        &self,
        window: &Window,
    ) -> Result<Vec<ServiceEdge>, StoreError> {
        let window = self.client_window(window).await?;
        let sql = match window.span_sql("c") {
            None => "SELECT client, host, requests FROM host_clients".to_string(),
            Some(cw) => format!(
                "SELECT c.client, e.host, SUM(c.count) FROM endpoint_clients c
                 JOIN endpoints e ON e.id = c.endpoint_id WHERE {cw} GROUP BY e.host, c.client"
            ),
        };
        Ok(self
            .db
            .query(sql)
            .fetch_all()
            .await?
            .iter()
            .map(|r| ServiceEdge {
                client: r.get(0),
                host: r.get(1),
                requests: r.get(2),
            })
            .collect())
    }

    /// One host's row, counting what was seen in `window` (`None`: no endpoint of this host
    /// is in it).
    pub async fn dashboard_host(
        &self,
        host: &str,
        window: &Window,
    ) -> Result<Option<HostRow>, StoreError> {
        let q = HostQuery {
            limit: 1,
            window: *window,
            ..HostQuery::default()
        };
        Ok(self
            .host_rows(None, Some(host), &q, true)
            .await?
            .rows
            .into_iter()
            .next())
    }

    async fn host_rows(
        &self,
        pattern: Option<&str>,
        host: Option<&str>,
        q: &HostQuery,
        with_clients: bool,
    ) -> Result<HostList, StoreError> {
        let ew = q.window.and_endpoint("e");
        let hc = host_cond("e", host.is_some());
        let total: i64 = self
            .db
            .query(format!(
                "SELECT COUNT(DISTINCT e.host) FROM endpoints e
             WHERE (?1 IS NULL OR e.host LIKE ?1 ESCAPE '\\') AND {hc}{ew}"
            ))
            .bind(pattern)
            .bind(host)
            .fetch_scalar()
            .await?;
        let dir = if q.desc { "DESC" } else { "ASC" };
        let key = q.sort.expr();
        let (hcte, fcte) = (
            hosts_cte(&q.window, host.is_some()),
            findings_cte(&q.window, host.is_some()),
        );
        let rows = self.db.query(format!(
            "WITH {hcte}, {fcte}
             SELECT h.host, h.endpoints, h.observed, h.requests, h.errors, h.documented, h.shadow, h.zombie,
                    h.dormant, h.uncovered, h.unclassified, h.classified, COALESCE(h.risk, 0), h.first_seen, h.last_seen,
                    COALESCE(f.n, 0), COALESCE(f.critical, 0), COALESCE(f.high, 0), COALESCE(f.medium, 0),
                    COALESCE(f.low, 0), COALESCE(f.info, 0)
             FROM h LEFT JOIN f ON f.host = h.host
             ORDER BY {key} {dir} NULLS LAST, h.host LIMIT ?3 OFFSET ?4"
        ))
        .bind(pattern)
        .bind(host)
        .bind(q.limit.clamp(1, 1000))
        .bind(q.offset.max(0))
        .fetch_all()
        .await?;
        let mut out: Vec<HostRow> = rows
            .iter()
            .map(|r| {
                let documented: i64 = r.get(5);
                let zombie: i64 = r.get(7);
                let classified: i64 = r.get(11);
                HostRow {
                    host: r.get(0),
                    endpoints: r.get(1),
                    observed: r.get(2),
                    requests: r.get(3),
                    errors: r.get(4),
                    documented,
                    shadow: r.get(6),
                    zombie,
                    dormant: r.get(8),
                    uncovered: r.get(9),
                    unclassified: r.get(10),
                    coverage_pct: (classified > 0)
                        .then(|| (documented + zombie) as f64 * 100.0 / classified as f64),
                    max_risk: r.get(12),
                    first_seen: r.get(13),
                    last_seen: r.get(14),
                    findings: r.get(15),
                    critical: r.get(16),
                    high: r.get(17),
                    medium: r.get(18),
                    low: r.get(19),
                    info: r.get(20),
                    clients: 0,
                }
            })
            .collect();
        if with_clients && !out.is_empty() {
            let marks = vec!["?"; out.len()].join(", ");
            let sql = match self.client_window(&q.window).await?.span_sql("c") {
                None => format!(
                    "SELECT host, COUNT(*) FROM host_clients WHERE host IN ({marks}) GROUP BY host"
                ),
                Some(cw) => format!(
                    "SELECT e.host, COUNT(DISTINCT c.client) FROM endpoint_clients c
                     JOIN endpoints e ON e.id = c.endpoint_id WHERE e.host IN ({marks}) AND {cw} GROUP BY e.host"
                ),
            };
            let mut cq = self.db.query(sql);
            for r in &out {
                cq = cq.bind(r.host.as_str());
            }
            let clients: HashMap<String, i64> = cq
                .fetch_all()
                .await?
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect();
            for r in &mut out {
                r.clients = clients.get(&r.host).copied().unwrap_or(0);
            }
        }
        Ok(HostList { rows: out, total })
    }

    /// The busiest clients of `host` (by requests) whose span meets `window`, at most
    /// `limit`.
    pub async fn dashboard_host_clients(
        &self,
        host: &str,
        limit: i64,
        window: &Window,
    ) -> Result<Vec<HostClient>, StoreError> {
        let cw = self.client_window(window).await?.and_span("c");
        Ok(self
            .db
            .query(format!(
                "SELECT c.client, SUM(c.count) AS n, COUNT(*), MIN(c.first_seen), MAX(c.last_seen)
             FROM endpoint_clients c JOIN endpoints e ON e.id = c.endpoint_id WHERE e.host = ?{cw}
             GROUP BY c.client ORDER BY n DESC, c.client LIMIT ?"
            ))
            .bind(host)
            .bind(limit)
            .fetch_all()
            .await?
            .iter()
            .map(|r| HostClient {
                client: r.get(0),
                requests: r.get(1),
                endpoints: r.get(2),
                first_seen: r.get(3),
                last_seen: r.get(4),
            })
            .collect())
    }

    /// A host's neighbourhood of the service map: its `clients` busiest clients and the hosts
    /// they call (the host first, then the busiest, `hosts` in all) with the requests between
    /// them. (The whole map comes with [`Store::dashboard_hosts`].)
    pub async fn dashboard_service_map(
        &self,
        around: &str,
        clients: i64,
        hosts: i64,
    ) -> Result<ServiceMap, StoreError> {
        // The pairs kept by triggers (migration 0017): the host's busiest clients, then every
        // host those call.
        let hint = self.db.indexed_by("host_clients_client");
        let sql = format!("WITH mine AS MATERIALIZED (
                    SELECT client, requests AS n FROM host_clients WHERE host = ?1
                    ORDER BY n DESC, client LIMIT ?2),
                 edge AS MATERIALIZED (
                    SELECT h.client AS client, h.host AS host, h.requests AS n
                    FROM host_clients h {hint}
                    WHERE h.client IN (SELECT client FROM mine)),
                 th AS (SELECT host, SUM(n) AS n FROM edge GROUP BY host ORDER BY host = ?1 DESC, n DESC, host LIMIT ?3)
                 SELECT edge.client, edge.host, edge.n,
                        (SELECT COUNT(DISTINCT client) FROM edge), (SELECT COUNT(DISTINCT host) FROM edge)
                 FROM edge JOIN th ON th.host = edge.host
                 ORDER BY edge.n DESC, edge.client, edge.host");
        let rows = self
            .db
            .query(sql)
            .bind(around)
            .bind(clients.max(1))
            .bind(hosts.max(1))
            .fetch_all()
            .await?;
        let mut map = ServiceMap::default();
        for r in &rows {
            map.clients_total = r.get(3);
            map.hosts_total = r.get(4);
            map.edges.push(ServiceEdge {
                client: r.get(0),
                host: r.get(1),
                requests: r.get(2),
            });
        }
        Ok(map)
    }
}
