//! The endpoint list page: its filters, sort orders and pagination ([`EndpointQuery`],
//! [`SortKey`]), the values its filters offer ([`Facets`]), and the page of rows itself, each
//! filtered and sorted in SQL.

use super::Dashboard;
use super::{ACTIVE_FINDING, Count, Window, counts};
use crate::store::StoreError;
use crate::store::db::{DbQuery, DbRow, DbValue};
use serde::Serialize;

use std::collections::HashMap;

/// Sort orders of the endpoint list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SortKey {
    /// Host, path, method.
    Path,
    /// Method, then path.
    Method,
    /// Requests (the default: busiest first).
    #[default]
    Requests,
    /// Error responses.
    Errors,
    /// Distinct clients.
    Clients,
    /// Median latency.
    P50,
    /// 99th percentile latency.
    P99,
    /// First request.
    FirstSeen,
    /// Last request.
    LastSeen,
    /// Number of findings.
    Findings,
    /// Risk score (`endpoints.risk_score`, see `risk`), riskiest first.
    Risk,
}

impl SortKey {
    /// Every key, in column order.
    pub const ALL: [SortKey; 11] = [
        SortKey::Path,
        SortKey::Method,
        SortKey::Requests,
        SortKey::Errors,
        SortKey::Clients,
        SortKey::P50,
        SortKey::P99,
        SortKey::FirstSeen,
        SortKey::LastSeen,
        SortKey::Findings,
        SortKey::Risk,
    ];

    /// The name used in URLs.
    pub fn name(self) -> &'static str {
        match self {
            SortKey::Path => "path",
            SortKey::Method => "method",
            SortKey::Requests => "requests",
            SortKey::Errors => "errors",
            SortKey::Clients => "clients",
            SortKey::P50 => "p50",
            SortKey::P99 => "p99",
            SortKey::FirstSeen => "first_seen",
            SortKey::LastSeen => "last_seen",
            SortKey::Findings => "findings",
            SortKey::Risk => "risk",
        }
    }

    /// Parses a URL name.
    pub fn parse(s: &str) -> Option<SortKey> {
        SortKey::ALL.into_iter().find(|k| k.name() == s)
    }

    /// Whether the natural direction is descending (counts, latencies, times).
    pub fn default_desc(self) -> bool {
        !matches!(self, SortKey::Path | SortKey::Method)
    }

    fn expr(self) -> &'static str {
        match self {
            SortKey::Path => "e.host",
            SortKey::Method => "e.method",
            SortKey::Requests => "e.request_count",
            SortKey::Errors => "e.error_count",
            SortKey::Clients => CLIENT_COUNT,
            SortKey::P50 => "e.p50_ms",
            SortKey::P99 => "e.p99_ms",
            SortKey::FirstSeen => "e.first_seen",
            SortKey::LastSeen => "e.last_seen",
            SortKey::Findings => "COALESCE(fc.k, 0)",
            SortKey::Risk => "e.risk_score",
        }
    }
}

/// Distinct clients: the client rows kept (counted by triggers, migration 0015), or the
/// estimate once they stopped growing.
const CLIENT_COUNT: &str =
    "(CASE WHEN e.clients_capped = 1 THEN e.client_estimate ELSE e.client_rows END)";

/// Active findings per endpoint ([`ACTIVE_FINDING`]), joined on the endpoint's identity
/// (indexed by its UNIQUE key).
fn findings_cte() -> String {
    format!(
        "WITH fc AS MATERIALIZED (
    SELECT e.id AS endpoint_id, COUNT(*) AS k FROM findings f
    JOIN endpoints e ON e.host = f.host AND e.method = f.method AND e.path_template = f.path_template
    WHERE {ACTIVE_FINDING}
    GROUP BY e.id)"
    )
}

/// Filters, sort and page of the endpoint list.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EndpointQuery {
    /// Substring of the host, method, path template or example path (case-insensitive).
    pub q: Option<String>,
    /// Only this host.
    pub host: Option<String>,
    /// Only this classification (`unclassified`: none yet).
    pub classification: Option<String>,
    /// Only endpoints that saw this auth scheme (`none` included).
    pub auth: Option<String>,
    /// `any`: endpoints with sensitive data; `none`: without; otherwise this class.
    pub sensitive: Option<String>,
    /// Only endpoints with (true) or without (false) findings.
    pub has_findings: Option<bool>,
    /// Only endpoints of this protocol (`grpc`, `h2`, `http/1.1`, ...).
    pub protocol: Option<String>,
    /// Only endpoints whose most severe active finding is this severity or a more severe one.
    pub min_severity: Option<String>,
    /// Only this scope (`api`, `static`, `third_party`, `ignored`; `all`: every one; `None`:
    /// `api`, the default that hides static content, third parties and ignored endpoints).
    pub scope: Option<String>,
    /// Only endpoints a source knows ([`SOURCE_FILTERS`]: `wire`, `access_log`, `har`,
    /// `code`, `spec`) or in a category of the code's join (`undeclared`, `unobserved`,
    /// `not_enforced`, `outside_code`).
    pub source: Option<String>,
    /// Only endpoints this sensor saw (a fleet's sensor name, `endpoint_sensors`).
    pub sensor: Option<String>,
    /// Sort key.
    pub sort: SortKey,
    /// Descending.
    pub desc: bool,
    /// Rows to skip.
    pub offset: i64,
    /// Rows per page.
    pub limit: i64,
    /// Only endpoints called within this range ([`Window`]).
    pub window: Window,
}

impl Default for EndpointQuery {
    fn default() -> Self {
        EndpointQuery {
            q: None,
            host: None,
            classification: None,
            auth: None,
            sensitive: None,
            has_findings: None,
            protocol: None,
            min_severity: None,
            scope: None,
            source: None,
            sensor: None,
            sort: SortKey::Requests,
            desc: true,
            offset: 0,
            limit: 50,
            window: Window::ALL,
        }
    }
}

/// One row of the endpoint list.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EndpointListRow {
    /// Endpoint id.
    pub id: i64,
    /// Host.
    pub host: String,
    /// Method.
    pub method: String,
    /// Path template.
    pub path_template: String,
    /// First request (ns).
    pub first_seen: Option<i64>,
    /// Last request (ns).
    pub last_seen: Option<i64>,
    /// Requests.
    pub request_count: i64,
    /// Responses with status >= 400.
    pub error_count: i64,
    /// Distinct clients.
    pub client_count: i64,
    /// Auth schemes seen, comma-separated.
    pub auth_schemes: Option<String>,
    /// Sensitive data classes seen, comma-separated.
    pub sensitive_data: Option<String>,
    /// Median latency (ms).
    pub p50_ms: Option<f64>,
    /// 99th percentile latency (ms).
    pub p99_ms: Option<f64>,
    /// documented | shadow | zombie | dormant.
    pub classification: Option<String>,
    /// Deprecated in the spec.
    pub deprecated: Option<i64>,
    /// Findings about it.
    pub findings: i64,
    /// Calls per time bucket over the inventory's whole time range (a sparkline).
    pub activity: Vec<i64>,
    /// The protocol its transactions spoke (`grpc`, `h2`, `http/1.1`, ...; NULL for rows
    /// written before migration 0009).
    pub protocol: Option<String>,
    /// Risk score, 0 to 100 (see `risk`).
    pub risk_score: i64,
    /// Severity of its most severe active finding (`None`: no active finding).
    pub max_severity: Option<String>,
    /// `api`, `static`, `third_party` or `ignored` (see `store::scope`).
    pub scope: String,
    /// Why it is not `api`.
    pub scope_reason: Option<String>,
    /// The sources that know it, comma-separated (`wire, access_log, har, code, spec`; see
    /// the view `api_endpoint_coverage`).
    pub sources: String,
    /// What scanned code says of it (`declared`, `undeclared`, `unobserved`; `None`: no
    /// scanned code serves its host).
    pub code_status: Option<String>,
    /// Its declared auth against the observed (`not_enforced`, `outside_code`, `consistent`).
    pub auth_check: Option<String>,
}

/// The values of the endpoint list's source filter, with their labels.
pub const SOURCE_FILTERS: [(&str, &str); 9] = [
    ("wire", "Seen on the wire"),
    ("access_log", "In access logs"),
    ("har", "In HAR files"),
    ("code", "Declared in code"),
    ("spec", "Documented in a spec"),
    ("undeclared", "Served, declared in no code"),
    ("unobserved", "Declared, never observed"),
    ("not_enforced", "Declared auth not enforced"),
    ("outside_code", "Auth only outside the code"),
];

/// The condition of a source filter value (`None`: not one).
fn source_condition(source: &str) -> Option<&'static str> {
    Some(match source {
        "wire" => "e.id IN (SELECT s.endpoint_id FROM endpoint_sources s WHERE s.source = 'wire')",
        "access_log" => {
            "e.id IN (SELECT s.endpoint_id FROM endpoint_sources s WHERE s.source = 'access_log')"
        }
        "har" => "e.id IN (SELECT s.endpoint_id FROM endpoint_sources s WHERE s.source = 'har')",
        "code" => {
            "e.id IN (SELECT c.endpoint_id FROM endpoint_code c WHERE c.status IN ('declared', 'unobserved'))"
        }
        "spec" => "e.documented = 1",
        "undeclared" => {
            "e.id IN (SELECT c.endpoint_id FROM endpoint_code c WHERE c.status = 'undeclared')"
        }
        "unobserved" => {
            "e.id IN (SELECT c.endpoint_id FROM endpoint_code c WHERE c.status = 'unobserved')"
        }
        "not_enforced" => {
            "e.id IN (SELECT c.endpoint_id FROM endpoint_code c WHERE c.auth_check = 'not_enforced')"
        }
        "outside_code" => {
            "e.id IN (SELECT c.endpoint_id FROM endpoint_code c WHERE c.auth_check = 'outside_code')"
        }
        _ => return None,
    })
}

/// A page of the endpoint list.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EndpointList {
    /// The rows of this page.
    pub rows: Vec<EndpointListRow>,
    /// Rows matching the filters, over all pages.
    pub total: i64,
}

/// Values of the endpoint list's filters.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Facets {
    /// Hosts, with their endpoint counts (busiest first, at most 500).
    pub hosts: Vec<Count>,
    /// Classifications present.
    pub classifications: Vec<Count>,
    /// Auth schemes present.
    pub auth: Vec<Count>,
    /// Sensitive data classes present.
    pub sensitive: Vec<Count>,
    /// Protocols present.
    pub protocols: Vec<Count>,
    /// Endpoints per scope (`api`, `static`, `third_party`, `ignored`), those present.
    pub scopes: Vec<Count>,
    /// Endpoints per value of the source filter ([`SOURCE_FILTERS`]), those present.
    pub sources: Vec<Count>,
    /// Endpoints per sensor that saw them (`endpoint_sensors`: a fleet's centre, or a
    /// sensor's own file once it ships), by name.
    pub sensors: Vec<Count>,
}

fn bind_all<'a>(mut q: DbQuery<'a>, binds: &[DbValue]) -> DbQuery<'a> {
    for b in binds {
        q = q.bind_value(b);
    }
    q
}

fn like_pattern(s: &str) -> String {
    let mut p = String::with_capacity(s.len() + 2);
    p.push('%');
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

impl Dashboard {
    /// The values the endpoint filters offer.
    pub async fn dashboard_facets(&self) -> Result<Facets, StoreError> {
        let hosts = counts(
            &self.db.query("SELECT host, COUNT(*) AS n FROM endpoints GROUP BY host ORDER BY n DESC, host LIMIT 500",)
            .fetch_all()
            .await?,
        );
        let classifications = self.classification_counts().await?;
        let auth = counts(
            &self.db.query("SELECT scheme, COUNT(DISTINCT endpoint_id) FROM endpoint_auth GROUP BY scheme ORDER BY scheme",)
            .fetch_all()
            .await?,
        );
        let sensitive = counts(
            &self.db.query("SELECT class, COUNT(DISTINCT endpoint_id) FROM endpoint_sensitive GROUP BY class ORDER BY class",)
            .fetch_all()
            .await?,
        );
        let protocols = counts(
            &self.db.query("SELECT protocol, COUNT(*) FROM endpoints WHERE protocol IS NOT NULL GROUP BY protocol ORDER BY protocol",)
            .fetch_all()
            .await?,
        );
        let scopes = counts(
            &self.db.query("SELECT scope, COUNT(*) FROM endpoints GROUP BY scope
                 ORDER BY CASE scope WHEN 'api' THEN 0 WHEN 'static' THEN 1 WHEN 'third_party' THEN 2 ELSE 3 END",)
            .fetch_all()
            .await?,
        );
        let mut by_source: HashMap<String, i64> = HashMap::new();
        for r in self.db.query("SELECT source, COUNT(*) FROM endpoint_sources GROUP BY source
             UNION ALL SELECT 'code', COUNT(*) FROM endpoint_code WHERE status IN ('declared', 'unobserved')
             UNION ALL SELECT status, COUNT(*) FROM endpoint_code WHERE status <> 'declared' GROUP BY status
             UNION ALL SELECT auth_check, COUNT(*) FROM endpoint_code WHERE auth_check IN ('not_enforced', 'outside_code') GROUP BY auth_check
             UNION ALL SELECT 'spec', COUNT(*) FROM endpoints WHERE documented = 1",)
        .fetch_all()
        .await?
        {
            by_source.insert(r.get(0), r.get(1));
        }
        let sources = SOURCE_FILTERS
            .iter()
            .filter_map(|(k, _)| {
                by_source.get(*k).filter(|n| **n > 0).map(|n| Count {
                    key: k.to_string(),
                    count: *n,
                })
            })
            .collect();
        let sensors = counts(
            &self
                .db
                .query(
                    "SELECT sensor, COUNT(*) FROM endpoint_sensors GROUP BY sensor ORDER BY sensor",
                )
                .fetch_all()
                .await?,
        );
        Ok(Facets {
            hosts,
            classifications,
            auth,
            sensitive,
            protocols,
            scopes,
            sources,
            sensors,
        })
    }

    /// A page of endpoints: filters and sort in SQL, then the page's details in one query and
    /// its activity in another (no query per row).
    pub async fn dashboard_endpoints(
        &self,
        query: &EndpointQuery,
        activity_buckets: usize,
    ) -> Result<EndpointList, StoreError> {
        let mut conds: Vec<&'static str> = Vec::new();
        let mut binds: Vec<DbValue> = Vec::new();
        if let Some(q) = query.q.as_deref().filter(|q| !q.is_empty()) {
            conds.push(
                "(e.path_template LIKE ? ESCAPE '\\' OR e.host LIKE ? ESCAPE '\\' OR e.method LIKE ? ESCAPE '\\' OR e.example_path LIKE ? ESCAPE '\\')",
            );
            let p = like_pattern(q);
            for _ in 0..4 {
                binds.push(DbValue::Text(p.clone()));
            }
        }
        if let Some(h) = &query.host {
            conds.push("e.host = ?");
            binds.push(DbValue::Text(h.clone()));
        }
        match query.scope.as_deref() {
            Some("all") => {}
            None => conds.push("e.scope = 'api'"),
            Some(s) => {
                conds.push("e.scope = ?");
                binds.push(DbValue::Text(s.to_string()));
            }
        }
        match query.classification.as_deref() {
            None => {}
            Some("unclassified") => conds.push("e.classification IS NULL"),
            Some(c) => {
                conds.push("e.classification = ?");
                binds.push(DbValue::Text(c.to_string()));
            }
        }
        // Membership in the (smaller) auth and sensitive-data tables is read as a list of ids
        // (`IN`), walked once, rather than probed for every endpoint (`EXISTS`): 6x faster at
        // 100,000 endpoints.
        if let Some(a) = &query.auth {
            conds.push("e.id IN (SELECT a.endpoint_id FROM endpoint_auth a WHERE a.scheme = ?)");
            binds.push(DbValue::Text(a.clone()));
        }
        match query.sensitive.as_deref() {
            None => {}
            Some("any") => conds.push("e.id IN (SELECT s.endpoint_id FROM endpoint_sensitive s)"),
            Some("none") => {
                conds.push("e.id NOT IN (SELECT s.endpoint_id FROM endpoint_sensitive s)")
            }
            Some(c) => {
                conds.push(
                    "e.id IN (SELECT s.endpoint_id FROM endpoint_sensitive s WHERE s.class = ?)",
                );
                binds.push(DbValue::Text(c.to_string()));
            }
        }
        if let Some(c) = query.source.as_deref().and_then(source_condition) {
            conds.push(c);
        }
        if let Some(name) = &query.sensor {
            conds.push("e.id IN (SELECT n.endpoint_id FROM endpoint_sensors n WHERE n.sensor = ?)");
            binds.push(DbValue::Text(name.clone()));
        }
        if let Some(p) = &query.protocol {
            conds.push("e.protocol = ?");
            binds.push(DbValue::Text(p.clone()));
        }
        if let Some(min) = &query.min_severity {
            conds.push(super::risk::min_severity_sql(min));
        }
        // An endpoint has an active finding exactly when its kept `max_severity` is set (the
        // triggers of migration 0012 keep it, through triage changes too): a column of the row,
        // where joining the findings per endpoint cost three reads of every finding per page.
        match query.has_findings {
            None => {}
            Some(true) => conds.push("e.max_severity IS NOT NULL"),
            Some(false) => conds.push("e.max_severity IS NULL"),
        }
        let window = query.window.endpoint_sql("e");
        let where_sql = if conds.is_empty() && window.is_none() {
            String::new()
        } else {
            format!(
                "WHERE {}",
                conds
                    .iter()
                    .copied()
                    .chain(window.as_deref())
                    .collect::<Vec<_>>()
                    .join(" AND ")
            )
        };
        // The findings per endpoint are joined only when the sort needs them: the join makes
        // SQLite sort every row instead of walking an index.
        let (cte, from) = if matches!(query.sort, SortKey::Findings) {
            (
                findings_cte(),
                "FROM endpoints e LEFT JOIN fc ON fc.endpoint_id = e.id",
            )
        } else {
            (String::new(), "FROM endpoints e")
        };
        let total: i64 = bind_all(
            self.db
                .query(format!("{cte} SELECT COUNT(*) {from} {where_sql}")),
            &binds,
        )
        .fetch_one()
        .await?
        .get(0);
        let dir = if query.desc { "DESC" } else { "ASC" };
        let key = query.sort.expr();
        let tie = match query.sort {
            SortKey::Path => format!("e.path_template {dir}, e.method {dir}"),
            SortKey::Method => "e.host, e.path_template".to_string(),
            _ => "e.host, e.path_template, e.method".to_string(),
        };
        let (limit, offset) = (query.limit.clamp(1, 1000), query.offset.max(0));
        // The sort key of the page's last row, read in the key's order alone (which an index
        // serves: SQLite's planner drops an index for the whole sort once ties are broken by
        // other columns, and sorts every row instead). The page is then read from the rows up
        // to that key, the same rows in the same order: every row before it has a key at
        // least as far along, and its ties are all kept.
        let mut bound_binds = binds.clone();
        bound_binds.push(DbValue::Int(offset.saturating_add(limit) - 1));
        let bound_sql = format!(
            "{cte} SELECT {key} {from} {where_sql} ORDER BY {key} {dir} NULLS LAST LIMIT 1 OFFSET ?"
        );
        // Only when an index serves the key's order: otherwise the first step sorts every
        // matching row, as the page's read does anyway (a filter on auth or sensitive data
        // drives the read from those tables' ids), and the two steps cost twice one.
        let bound = if self.sorts_rows(&bound_sql, &bound_binds).await? {
            None
        } else {
            bind_all(self.db.query(bound_sql), &bound_binds)
                .fetch_optional()
                .await?
                .and_then(|r| DbRow::value(&r, 0))
        };
        let mut page_binds = binds;
        let mut page_where = where_sql;
        if let Some(b) = bound {
            let op = if query.desc { ">=" } else { "<=" };
            page_where = if page_where.is_empty() {
                format!("WHERE {key} {op} ?")
            } else {
                format!("{page_where} AND {key} {op} ?")
            };
            page_binds.push(b);
        }
        page_binds.push(DbValue::Int(limit));
        page_binds.push(DbValue::Int(offset));
        let ids: Vec<i64> = bind_all(
            self.db.query(format!(
                "{cte} SELECT e.id {from} {page_where}
                 ORDER BY {key} {dir} NULLS LAST, {tie} LIMIT ? OFFSET ?"
            )),
            &page_binds,
        )
        .fetch_all()
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
        let mut rows = self.endpoint_rows(&ids).await?;
        if activity_buckets > 0 && !rows.is_empty() {
            self.fill_activity(&mut rows, activity_buckets, &query.window)
                .await?;
        }
        Ok(EndpointList { rows, total })
    }

    /// Whether SQLite's plan for `sql` sorts its rows for the ORDER BY (no index gives the
    /// order): its query plan holds a temporary B-tree for it.
    ///
    /// On PostgreSQL, always (the page is then read in one step): its planner walks an
    /// index for `ORDER BY ... LIMIT` by itself, and its plans have no such marker.
    async fn sorts_rows(&self, sql: &str, binds: &[DbValue]) -> Result<bool, StoreError> {
        if self.db.is_pg() {
            return Ok(true);
        }
        Ok(
            bind_all(self.db.query(format!("EXPLAIN QUERY PLAN {sql}")), binds)
                .fetch_all()
                .await?
                .iter()
                .any(|r| {
                    r.try_get::<String, _>(3).is_ok_and(|d| {
                        d.starts_with("USE TEMP B-TREE FOR") && d.contains("ORDER BY")
                    })
                }),
        )
    }

    /// Rows for these ids, in this order.
    pub(super) async fn endpoint_rows(
        &self,
        ids: &[i64],
    ) -> Result<Vec<EndpointListRow>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = ids
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let schemes = self.db.string_agg("scheme", "','", false);
        let classes = self.db.string_agg("class", "','", false);
        let rows = self.db.query(format!(
            "SELECT e.id, e.host, e.method, e.path_template, e.first_seen, e.last_seen, e.request_count, e.error_count,
                    {CLIENT_COUNT},
                    (SELECT {schemes} FROM (SELECT DISTINCT scheme FROM endpoint_auth a WHERE a.endpoint_id = e.id ORDER BY scheme) d),
                    (SELECT {classes} FROM (SELECT DISTINCT class FROM endpoint_sensitive s WHERE s.endpoint_id = e.id ORDER BY class) d),
                    e.p50_ms, e.p99_ms, e.classification, e.deprecated,
                    (SELECT COUNT(*) FROM findings f WHERE f.host = e.host AND f.method = e.method AND f.path_template = e.path_template AND {ACTIVE_FINDING}),
                    e.protocol, e.risk_score, e.max_severity, e.scope, e.scope_reason,
                    (SELECT v.sources FROM api_endpoint_coverage v WHERE v.endpoint_id = e.id),
                    c.status, c.auth_check
             FROM endpoints e LEFT JOIN endpoint_code c ON c.endpoint_id = e.id WHERE e.id IN ({list})"
        ))
        .fetch_all()
        .await?;
        let mut by_id: HashMap<i64, EndpointListRow> = rows
            .iter()
            .map(|r| {
                let row = EndpointListRow {
                    id: r.get(0),
                    host: r.get(1),
                    method: r.get(2),
                    path_template: r.get(3),
                    first_seen: r.get(4),
                    last_seen: r.get(5),
                    request_count: r.get(6),
                    error_count: r.get(7),
                    client_count: r.get(8),
                    auth_schemes: r.get(9),
                    sensitive_data: r.get(10),
                    p50_ms: r.get(11),
                    p99_ms: r.get(12),
                    classification: r.get(13),
                    deprecated: r.get(14),
                    findings: r.get(15),
                    activity: Vec::new(),
                    protocol: r.get(16),
                    risk_score: r.get(17),
                    max_severity: r.get(18),
                    scope: r.get(19),
                    scope_reason: r.get(20),
                    sources: r.get::<Option<String>, _>(21).unwrap_or_default(),
                    code_status: r.get(22),
                    auth_check: r.get(23),
                };
                (row.id, row)
            })
            .collect();
        Ok(ids.iter().filter_map(|i| by_id.remove(i)).collect())
    }

    /// The rows' calls per time bucket over the inventory's time range, or over the part of
    /// it `window` keeps.
    async fn fill_activity(
        &self,
        rows: &mut [EndpointListRow],
        buckets: usize,
        window: &Window,
    ) -> Result<(), StoreError> {
        let range = self
            .db
            .query(
                "SELECT (SELECT MIN(first_seen) FROM endpoints), last_seen FROM inventory_totals",
            )
            .fetch_one()
            .await?;
        let (Some(lo), Some(hi)): (Option<i64>, Option<i64>) = (range.get(0), range.get(1)) else {
            return Ok(());
        };
        let (lo, hi) = (
            lo.max(window.from.unwrap_or(i64::MIN)),
            hi.min(window.to.unwrap_or(i64::MAX)),
        );
        let (lo, hi) = (lo.div_euclid(60_000_000_000), hi.div_euclid(60_000_000_000));
        let span = (hi - lo + 1).max(1);
        let list = rows
            .iter()
            .map(|r| r.id.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let minutes = self.db.query(format!(
            "SELECT endpoint_id, minute, count FROM endpoint_minutes WHERE endpoint_id IN ({list})"
        ))
        .fetch_all()
        .await?;
        let index: HashMap<i64, usize> = rows.iter().enumerate().map(|(i, r)| (r.id, i)).collect();
        for r in rows.iter_mut() {
            r.activity = vec![0; buckets];
        }
        for m in &minutes {
            let id: i64 = m.get(0);
            let minute: i64 = m.get(1);
            let count: i64 = m.get(2);
            if let Some(&i) = index.get(&id)
                && (lo..=hi).contains(&minute)
            {
                let b = ((minute - lo).clamp(0, span - 1) as i128 * buckets as i128 / span as i128)
                    as usize;
                rows[i].activity[b.min(buckets - 1)] += count;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{EndpointQuery, SortKey};
    use crate::store::Store;

    /// A page read through its last row's sort key is the slice of the whole sorted list, for
    /// every key, both directions, pages that end inside a run of equal keys, NULL keys
    /// (latencies of endpoints never answered) and filters.
    #[tokio::test]
    async fn pages_are_slices_of_the_whole_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("p.db")).await.unwrap();
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 299)
             INSERT INTO endpoints (host, method, path_template, first_seen, last_seen, request_count,
                 error_count, p50_ms, p99_ms, client_estimate, clients_capped, scope)
             SELECT 'h' || (i % 3) || '.test', CASE i % 2 WHEN 0 THEN 'GET' ELSE 'POST' END,
                    '/r' || (i * 7 % 300), 1000 + i % 11, 2000 + i % 13, i % 7, i % 4,
                    CASE WHEN i % 5 = 0 THEN NULL ELSE (i % 9) / 2.0 END,
                    CASE WHEN i % 5 = 0 THEN NULL ELSE (i % 6) * 1.5 END,
                    i % 8, i % 10 = 0, CASE WHEN i % 23 = 0 THEN 'static' ELSE 'api' END
             FROM n",
        )
        .execute(store.pool())
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO endpoint_clients (endpoint_id, client, count, first_seen, last_seen)
             SELECT id, '10.0.0.' || (id % 4), 1, 1000, 2000 FROM endpoints WHERE id % 3 = 0",
        )
        .execute(store.pool())
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO findings (kind, severity, host, method, path_template, detail, evidence, count, first_seen, last_seen, dedup_key)
             SELECT 'missing_auth', 'high', host, method, path_template, '', '', 1, 1000, 2000, 'k' || id
             FROM endpoints WHERE id % 4 = 0",
        )
        .execute(store.pool())
        .await
        .unwrap();
        let filters = [
            EndpointQuery::default(),
            EndpointQuery {
                host: Some("h1.test".into()),
                ..Default::default()
            },
            EndpointQuery {
                scope: Some("all".into()),
                ..Default::default()
            },
            EndpointQuery {
                has_findings: Some(true),
                q: Some("/r1".into()),
                ..Default::default()
            },
            EndpointQuery {
                has_findings: Some(false),
                ..Default::default()
            },
        ];
        for filter in filters {
            for sort in SortKey::ALL {
                for desc in [true, false] {
                    let base = EndpointQuery {
                        sort,
                        desc,
                        ..filter.clone()
                    };
                    let whole = store
                        .dashboard()
                        .dashboard_endpoints(
                            &EndpointQuery {
                                limit: 1000,
                                offset: 0,
                                ..base.clone()
                            },
                            0,
                        )
                        .await
                        .unwrap();
                    let all: Vec<i64> = whole.rows.iter().map(|r| r.id).collect();
                    assert_eq!(all.len() as i64, whole.total);
                    assert!(whole.total > 7, "{filter:?} selects too few rows to page");
                    for (limit, offset) in
                        [(50, 0), (50, 50), (7, 13), (50, 250), (1, 0), (30, 280)]
                    {
                        let page = store
                            .dashboard()
                            .dashboard_endpoints(
                                &EndpointQuery {
                                    limit,
                                    offset,
                                    ..base.clone()
                                },
                                0,
                            )
                            .await
                            .unwrap();
                        let ids: Vec<i64> = page.rows.iter().map(|r| r.id).collect();
                        let want: Vec<i64> = all
                            .iter()
                            .skip(offset as usize)
                            .take(limit as usize)
                            .copied()
                            .collect();
                        assert_eq!(
                            ids, want,
                            "{sort:?} desc={desc} limit {limit} offset {offset} {filter:?}"
                        );
                        assert_eq!(page.total, whole.total);
                    }
                }
            }
        }
    }
}
