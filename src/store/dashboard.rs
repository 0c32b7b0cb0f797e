//! Read queries of the web dashboard: filtered, sorted and paginated lists and aggregates, each
//! computed in SQL (a page of endpoints costs a handful of queries whatever the inventory's size).
//!
//! The structs here are plain data (serialised as-is by the dashboard's JSON API); times are
//! integer nanoseconds since the Unix epoch, as stored.

use super::{Store, StoreError};
use serde::Serialize;
use serde_json::Value;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use std::collections::HashMap;

/// A label and a count.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Count {
    /// The label (a host, a classification, a severity ...).
    pub key: String,
    /// How many.
    pub count: i64,
}

/// Calls in one minute.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct MinuteCount {
    /// Minutes since the Unix epoch.
    pub minute: i64,
    /// Requests.
    pub count: i64,
    /// Of them, answered with status >= 400.
    pub errors: i64,
}

/// Totals of an inventory.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Totals {
    /// Distinct hosts.
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

/// An endpoint in short.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EndpointBrief {
    /// Endpoint id.
    pub id: i64,
    /// Host.
    pub host: String,
    /// Method.
    pub method: String,
    /// Path template.
    pub path_template: String,
    /// First request (ns); `None` for a documented operation never called.
    pub first_seen: Option<i64>,
    /// Requests.
    pub request_count: i64,
    /// documented | shadow | zombie | dormant, `None` before a spec is imported.
    pub classification: Option<String>,
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FindingRow {
    /// Finding id.
    pub id: i64,
    /// Kind (`jwt_alg_none_accepted` ...).
    pub kind: String,
    /// info | low | medium | high | critical.
    pub severity: String,
    /// Host of the endpoint concerned.
    pub host: Option<String>,
    /// Method of the endpoint concerned.
    pub method: Option<String>,
    /// Path template of the endpoint concerned.
    pub path_template: Option<String>,
    /// Client concerned.
    pub client: Option<String>,
    /// What was observed, in words.
    pub detail: String,
    /// Evidence (redacted).
    pub evidence: String,
    /// Occurrences.
    pub count: i64,
    /// First occurrence (ns).
    pub first_seen: i64,
    /// Last occurrence (ns).
    pub last_seen: i64,
    /// The endpoint's id, when it is in the inventory.
    pub endpoint_id: Option<i64>,
}

/// What the overview shows.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Overview {
    /// Totals.
    pub totals: Totals,
    /// Endpoints per classification (`unclassified` before a spec is imported).
    pub classification: Vec<Count>,
    /// Findings per severity, most severe first.
    pub severity: Vec<Count>,
    /// Calls per minute over every endpoint (filled by [`Store::dashboard_traffic`]).
    pub minutes: Vec<MinuteCount>,
    /// Busiest hosts (endpoints per host).
    pub hosts: Vec<Count>,
    /// Newest endpoints.
    pub newest_endpoints: Vec<EndpointBrief>,
    /// Newest findings.
    pub newest_findings: Vec<FindingRow>,
}

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
}

impl SortKey {
    /// Every key, in column order.
    pub const ALL: [SortKey; 10] = [
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
            SortKey::Findings => "IFNULL(fc.k, 0)",
        }
    }
}

const CLIENT_COUNT: &str = "(CASE WHEN e.clients_capped = 1 THEN e.client_estimate \
     ELSE (SELECT COUNT(*) FROM endpoint_clients c WHERE c.endpoint_id = e.id) END)";

/// Findings per endpoint, joined on the endpoint's identity (indexed by its UNIQUE key).
const FINDINGS_CTE: &str = "WITH fc AS MATERIALIZED (
    SELECT e.id AS endpoint_id, COUNT(*) AS k FROM findings f
    JOIN endpoints e ON e.host = f.host AND e.method = f.method AND e.path_template = f.path_template
    GROUP BY e.id)";

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
    /// Sort key.
    pub sort: SortKey,
    /// Descending.
    pub desc: bool,
    /// Rows to skip.
    pub offset: i64,
    /// Rows per page.
    pub limit: i64,
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
            sort: SortKey::Requests,
            desc: true,
            offset: 0,
            limit: 50,
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
}

/// A row of a small per-endpoint table.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Param {
    /// path | query | form.
    pub location: String,
    /// Parameter name.
    pub name: String,
    /// Value types seen, comma-separated.
    pub types: String,
    /// Requests that carried it.
    pub present: i64,
}

/// A body shape.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Body {
    /// request | response.
    pub direction: String,
    /// Response status (0 for requests).
    pub status: i64,
    /// Media type.
    pub content_type: String,
    /// Messages.
    pub count: i64,
    /// Bodies whose shape was read.
    pub samples: i64,
    /// JSON Schema.
    pub schema: Option<Value>,
}

/// An auth scheme seen on an endpoint.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Auth {
    /// Scheme.
    pub scheme: String,
    /// Header, cookie or parameter name.
    pub location: String,
    /// Requests.
    pub count: i64,
    /// Of them answered 2xx.
    pub ok_count: i64,
}

/// Sensitive data seen on an endpoint (redacted).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Sensitive {
    /// Class.
    pub class: String,
    /// Where.
    pub location: String,
    /// Field.
    pub field: String,
    /// Occurrences.
    pub count: i64,
    /// Redacted example.
    pub example: String,
    /// First seen (ns).
    pub first_seen: i64,
    /// Last seen (ns).
    pub last_seen: i64,
}

/// A client of an endpoint.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Client {
    /// Address.
    pub client: String,
    /// Requests.
    pub count: i64,
    /// First request (ns).
    pub first_seen: i64,
    /// Last request (ns).
    pub last_seen: i64,
}

/// A transition to or from an endpoint.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Transition {
    /// Source endpoint.
    pub from_id: i64,
    /// Target endpoint.
    pub to_id: i64,
    /// Host of the other endpoint.
    pub host: String,
    /// Method of the other endpoint.
    pub method: String,
    /// Path template of the other endpoint.
    pub path_template: String,
    /// Times a client went from one to the other.
    pub count: i64,
    /// Distinct clients that did.
    pub clients: i64,
}

/// What observed traffic did that the spec does not say.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Drift {
    /// Endpoint id.
    pub endpoint_id: i64,
    /// Host.
    pub host: String,
    /// Method.
    pub method: String,
    /// Path template.
    pub path_template: String,
    /// Kind.
    pub kind: String,
    /// The parameter, field, status, content type or scheme.
    pub item: String,
    /// Words.
    pub detail: String,
}

/// A documented operation that matches an endpoint.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SpecOperation {
    /// Operation id.
    pub id: i64,
    /// Spec name.
    pub spec: String,
    /// Host, when the spec says.
    pub host: Option<String>,
    /// Method.
    pub method: String,
    /// Path template.
    pub path_template: String,
    /// operationId.
    pub operation_id: String,
    /// Summary.
    pub summary: String,
    /// Deprecated.
    pub deprecated: bool,
    /// Matched endpoint.
    pub endpoint_id: Option<i64>,
}

/// How one segment of an endpoint's template was decided.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TemplateSegment {
    /// The segment (`users`, `{user_id}`, `.json`).
    pub segment: String,
    /// A parameter.
    pub param: bool,
    /// The rule (see `analyze::template`).
    pub rule: String,
    /// Confidence, 0-1.
    pub confidence: f64,
    /// What was weighed at this position, for people (empty when it was not weighed).
    pub why: String,
    /// The measurements (JSON object, `null` when not weighed).
    pub evidence: serde_json::Value,
}

/// Everything about one endpoint.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EndpointDetail {
    /// The list row (without activity).
    pub endpoint: EndpointListRow,
    /// How the template was decided, per segment.
    pub template_rule: String,
    /// Confidence of the template.
    pub template_confidence: f64,
    /// Per segment: rule, confidence and the evidence weighed.
    pub template_segments: Vec<TemplateSegment>,
    /// A concrete path (redacted when sensitive).
    pub example_path: String,
    /// Responses.
    pub response_count: i64,
    /// Request body bytes.
    pub bytes_in: i64,
    /// Response body bytes.
    pub bytes_out: i64,
    /// 90th percentile latency (ms).
    pub p90_ms: Option<f64>,
    /// Status code counts (0: no response).
    pub status: Vec<(i64, i64)>,
    /// Calls per minute.
    pub minutes: Vec<MinuteCount>,
    /// Parameters.
    pub params: Vec<Param>,
    /// Body shapes.
    pub bodies: Vec<Body>,
    /// Auth schemes.
    pub auth: Vec<Auth>,
    /// Sensitive data.
    pub sensitive: Vec<Sensitive>,
    /// Busiest clients (at most 20).
    pub clients: Vec<Client>,
    /// Transitions into this endpoint (busiest 50).
    pub transitions_in: Vec<Transition>,
    /// Transitions out of it (busiest 50).
    pub transitions_out: Vec<Transition>,
    /// Findings about it.
    pub findings: Vec<FindingRow>,
    /// Drift from the spec.
    pub drift: Vec<Drift>,
    /// Documented operations matched to it.
    pub operations: Vec<SpecOperation>,
    /// The latency histogram (HdrHistogram V2, microseconds), as stored.
    #[serde(skip)]
    pub latency_hist: Option<Vec<u8>>,
}

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
}

/// An endpoint of the sequence graph.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GraphNode {
    /// Endpoint id.
    pub id: i64,
    /// Host.
    pub host: String,
    /// Method.
    pub method: String,
    /// Path template.
    pub path_template: String,
    /// Requests.
    pub request_count: i64,
}

/// A transition of the sequence graph.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GraphEdge {
    /// Source endpoint.
    pub from: i64,
    /// Target endpoint.
    pub to: i64,
    /// Times.
    pub count: i64,
    /// Distinct clients.
    pub clients: i64,
}

/// Transitions of one host.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Sequences {
    /// Hosts that have transitions (number of transitions made), busiest first.
    pub hosts: Vec<Count>,
    /// The host shown.
    pub host: Option<String>,
    /// Its endpoints that take part in a transition.
    pub nodes: Vec<GraphNode>,
    /// Its transitions, busiest first.
    pub edges: Vec<GraphEdge>,
    /// Transitions of the host left out (beyond the edge cap).
    pub edges_omitted: i64,
    /// Its most frequent runs of three calls.
    pub paths: Vec<SequencePath>,
    /// Behavioural findings about its principals (enumeration, novel transitions, rate
    /// anomalies, fingerprint changes).
    pub findings: Vec<SequenceFinding>,
}

/// A run of three consecutive calls.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SequencePath {
    /// The three endpoints: (id, method, path template).
    pub steps: Vec<(i64, String, String)>,
    /// Times.
    pub count: i64,
    /// Distinct principals.
    pub clients: i64,
}

/// A behavioural finding about a principal.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SequenceFinding {
    /// Finding id.
    pub id: i64,
    /// Kind.
    pub kind: String,
    /// Severity.
    pub severity: String,
    /// Principal.
    pub principal: String,
    /// Endpoint method.
    pub method: String,
    /// Endpoint template.
    pub path_template: String,
    /// Plain words.
    pub detail: String,
}

/// An imported spec.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SpecRow {
    /// Spec id.
    pub id: i64,
    /// File or upload name.
    pub name: String,
    /// Title.
    pub title: String,
    /// Version.
    pub version: String,
    /// openapi-3.0 | openapi-3.1 | swagger-2.0.
    pub format: String,
    /// When imported (ns, wall clock).
    pub imported_at: i64,
    /// Operations.
    pub operations: i64,
    /// Of them, observed.
    pub observed: i64,
}

/// The Spec page: imported documents, coverage and drift.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SpecSummary {
    /// Imported specs.
    pub specs: Vec<SpecRow>,
    /// Documented operations.
    pub operations: i64,
    /// Of them, observed.
    pub observed: i64,
    /// Endpoints per classification.
    pub classification: Vec<Count>,
    /// Documented operations never observed (at most 500).
    pub dormant: Vec<SpecOperation>,
    /// Observed endpoints not in any spec (at most 500).
    pub shadow: Vec<EndpointBrief>,
    /// Drift (at most 1000 rows).
    pub drift: Vec<Drift>,
    /// Drift rows per kind.
    pub drift_kinds: Vec<Count>,
}

/// One ingested capture.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CaptureRow {
    /// Capture id.
    pub id: i64,
    /// SHA-256 of the file.
    pub sha256: String,
    /// Path as given.
    pub path: String,
    /// File size.
    pub size_bytes: i64,
    /// When ingested (ns, wall clock).
    pub ingested_at: i64,
    /// First frame (ns).
    pub first_ts: Option<i64>,
    /// Last frame (ns).
    pub last_ts: Option<i64>,
    /// Frames.
    pub packets: i64,
    /// Bytes.
    pub bytes: i64,
    /// HTTP transactions.
    pub transactions: i64,
    /// `file` or `live:<iface>`.
    pub source: String,
    /// Finished (0 while in progress or interrupted).
    pub complete: bool,
    /// Every counter, `{"engine": ..., "inventory": ...}`.
    pub stats: Value,
}

/// Bind values of a dynamically assembled query (the SQL text itself is made of fixed pieces).
enum Bind {
    Text(String),
    Int(i64),
}

fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>,
    binds: &'q [Bind],
) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments> {
    for b in binds {
        q = match b {
            Bind::Text(s) => q.bind(s.as_str()),
            Bind::Int(i) => q.bind(*i),
        };
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

fn severity_rank_sql(col: &str) -> String {
    format!(
        "CASE {col} WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 WHEN 'info' THEN 4 ELSE 5 END"
    )
}

const FINDING_COLUMNS: &str = "f.id, f.kind, f.severity, f.host, f.method, f.path_template, f.client, f.detail, f.evidence, f.count, f.first_seen, f.last_seen, e.id";
const FINDING_JOIN: &str = "FROM findings f LEFT JOIN endpoints e ON e.host = f.host AND e.method = f.method AND e.path_template = f.path_template";

fn finding_row(r: &SqliteRow) -> FindingRow {
    FindingRow {
        id: r.get(0),
        kind: r.get(1),
        severity: r.get(2),
        host: r.get(3),
        method: r.get(4),
        path_template: r.get(5),
        client: r.get(6),
        detail: r.get(7),
        evidence: r.get(8),
        count: r.get(9),
        first_seen: r.get(10),
        last_seen: r.get(11),
        endpoint_id: r.get(12),
    }
}

fn brief_row(r: &SqliteRow) -> EndpointBrief {
    EndpointBrief {
        id: r.get(0),
        host: r.get(1),
        method: r.get(2),
        path_template: r.get(3),
        first_seen: r.get(4),
        request_count: r.get(5),
        classification: r.get(6),
    }
}

fn counts(rows: &[SqliteRow]) -> Vec<Count> {
    rows.iter()
        .map(|r| Count {
            key: r.get(0),
            count: r.get(1),
        })
        .collect()
}

impl Store {
    /// Totals, classification and severity counts, traffic per minute, newest endpoints and
    /// findings.
    pub async fn dashboard_overview(&self) -> Result<Overview, StoreError> {
        let t = sqlx::query(
            "SELECT COUNT(DISTINCT e.host), COUNT(*), IFNULL(SUM(e.request_count), 0), IFNULL(SUM(e.error_count), 0),
                    MIN(e.first_seen), MAX(e.last_seen)
             FROM endpoints e WHERE e.first_seen IS NOT NULL",
        )
        .fetch_one(&self.pool)
        .await?;
        let clients: i64 =
            sqlx::query_scalar("SELECT COUNT(DISTINCT client) FROM endpoint_clients")
                .fetch_one(&self.pool)
                .await?;
        let findings: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM findings")
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
                "SELECT severity, COUNT(*) FROM findings GROUP BY severity ORDER BY {sev}"
            )))
            .fetch_all(&self.pool)
            .await?,
        );
        let hosts = counts(
            &sqlx::query(
                "SELECT host, COUNT(*) AS n FROM endpoints e WHERE e.first_seen IS NOT NULL
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
        Ok(Overview {
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

    async fn classification_counts(&self) -> Result<Vec<Count>, StoreError> {
        Ok(counts(
            &sqlx::query(
                "SELECT IFNULL(classification, 'unclassified') AS c, COUNT(*) FROM endpoints
                 GROUP BY c ORDER BY CASE c WHEN 'documented' THEN 0 WHEN 'shadow' THEN 1
                 WHEN 'zombie' THEN 2 WHEN 'dormant' THEN 3 ELSE 4 END, c",
            )
            .fetch_all(&self.pool)
            .await?,
        ))
    }

    /// The values the endpoint filters offer.
    pub async fn dashboard_facets(&self) -> Result<Facets, StoreError> {
        let hosts = counts(
            &sqlx::query(
                "SELECT host, COUNT(*) AS n FROM endpoints GROUP BY host ORDER BY n DESC, host LIMIT 500",
            )
            .fetch_all(&self.pool)
            .await?,
        );
        let classifications = self.classification_counts().await?;
        let auth = counts(
            &sqlx::query(
                "SELECT scheme, COUNT(DISTINCT endpoint_id) FROM endpoint_auth GROUP BY scheme ORDER BY scheme",
            )
            .fetch_all(&self.pool)
            .await?,
        );
        let sensitive = counts(
            &sqlx::query(
                "SELECT class, COUNT(DISTINCT endpoint_id) FROM endpoint_sensitive GROUP BY class ORDER BY class",
            )
            .fetch_all(&self.pool)
            .await?,
        );
        Ok(Facets {
            hosts,
            classifications,
            auth,
            sensitive,
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
        let mut binds: Vec<Bind> = Vec::new();
        if let Some(q) = query.q.as_deref().filter(|q| !q.is_empty()) {
            conds.push(
                "(e.path_template LIKE ? ESCAPE '\\' OR e.host LIKE ? ESCAPE '\\' OR e.method LIKE ? ESCAPE '\\' OR e.example_path LIKE ? ESCAPE '\\')",
            );
            let p = like_pattern(q);
            for _ in 0..4 {
                binds.push(Bind::Text(p.clone()));
            }
        }
        if let Some(h) = &query.host {
            conds.push("e.host = ?");
            binds.push(Bind::Text(h.clone()));
        }
        match query.classification.as_deref() {
            None => {}
            Some("unclassified") => conds.push("e.classification IS NULL"),
            Some(c) => {
                conds.push("e.classification = ?");
                binds.push(Bind::Text(c.to_string()));
            }
        }
        if let Some(a) = &query.auth {
            conds.push("EXISTS (SELECT 1 FROM endpoint_auth a WHERE a.endpoint_id = e.id AND a.scheme = ?)");
            binds.push(Bind::Text(a.clone()));
        }
        match query.sensitive.as_deref() {
            None => {}
            Some("any") => {
                conds.push("EXISTS (SELECT 1 FROM endpoint_sensitive s WHERE s.endpoint_id = e.id)")
            }
            Some("none") => conds
                .push("NOT EXISTS (SELECT 1 FROM endpoint_sensitive s WHERE s.endpoint_id = e.id)"),
            Some(c) => {
                conds.push("EXISTS (SELECT 1 FROM endpoint_sensitive s WHERE s.endpoint_id = e.id AND s.class = ?)");
                binds.push(Bind::Text(c.to_string()));
            }
        }
        match query.has_findings {
            None => {}
            Some(true) => conds.push("fc.k IS NOT NULL"),
            Some(false) => conds.push("fc.k IS NULL"),
        }
        let where_sql = if conds.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conds.join(" AND "))
        };
        let from = "FROM endpoints e LEFT JOIN fc ON fc.endpoint_id = e.id";
        let total: i64 = bind_all(
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "{FINDINGS_CTE} SELECT COUNT(*) {from} {where_sql}"
            ))),
            &binds,
        )
        .fetch_one(&self.pool)
        .await?
        .get(0);
        let dir = if query.desc { "DESC" } else { "ASC" };
        let key = query.sort.expr();
        let tie = match query.sort {
            SortKey::Path => format!("e.path_template {dir}, e.method {dir}"),
            SortKey::Method => "e.host, e.path_template".to_string(),
            _ => "e.host, e.path_template, e.method".to_string(),
        };
        let mut page_binds = binds;
        page_binds.push(Bind::Int(query.limit.clamp(1, 1000)));
        page_binds.push(Bind::Int(query.offset.max(0)));
        let ids: Vec<i64> = bind_all(
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "{FINDINGS_CTE} SELECT e.id {from} {where_sql}
                 ORDER BY {key} {dir} NULLS LAST, {tie} LIMIT ? OFFSET ?"
            ))),
            &page_binds,
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
        let mut rows = self.endpoint_rows(&ids).await?;
        if activity_buckets > 0 && !rows.is_empty() {
            self.fill_activity(&mut rows, activity_buckets).await?;
        }
        Ok(EndpointList { rows, total })
    }

    /// Rows for these ids, in this order.
    async fn endpoint_rows(&self, ids: &[i64]) -> Result<Vec<EndpointListRow>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = ids
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT e.id, e.host, e.method, e.path_template, e.first_seen, e.last_seen, e.request_count, e.error_count,
                    {CLIENT_COUNT},
                    (SELECT group_concat(scheme, ',') FROM (SELECT DISTINCT scheme FROM endpoint_auth a WHERE a.endpoint_id = e.id ORDER BY scheme)),
                    (SELECT group_concat(class, ',') FROM (SELECT DISTINCT class FROM endpoint_sensitive s WHERE s.endpoint_id = e.id ORDER BY class)),
                    e.p50_ms, e.p99_ms, e.classification, e.deprecated,
                    (SELECT COUNT(*) FROM findings f WHERE f.host = e.host AND f.method = e.method AND f.path_template = e.path_template)
             FROM endpoints e WHERE e.id IN ({list})"
        )))
        .fetch_all(&self.pool)
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
                };
                (row.id, row)
            })
            .collect();
        Ok(ids.iter().filter_map(|i| by_id.remove(i)).collect())
    }

    async fn fill_activity(
        &self,
        rows: &mut [EndpointListRow],
        buckets: usize,
    ) -> Result<(), StoreError> {
        let range = sqlx::query(
            "SELECT MIN(first_seen), MAX(last_seen) FROM endpoints WHERE first_seen IS NOT NULL",
        )
        .fetch_one(&self.pool)
        .await?;
        let (Some(lo), Some(hi)): (Option<i64>, Option<i64>) = (range.get(0), range.get(1)) else {
            return Ok(());
        };
        let (lo, hi) = (lo.div_euclid(60_000_000_000), hi.div_euclid(60_000_000_000));
        let span = (hi - lo + 1).max(1);
        let list = rows
            .iter()
            .map(|r| r.id.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let minutes = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT endpoint_id, minute, count FROM endpoint_minutes WHERE endpoint_id IN ({list})"
        )))
        .fetch_all(&self.pool)
        .await?;
        let index: HashMap<i64, usize> = rows.iter().enumerate().map(|(i, r)| (r.id, i)).collect();
        for r in rows.iter_mut() {
            r.activity = vec![0; buckets];
        }
        for m in &minutes {
            let id: i64 = m.get(0);
            let minute: i64 = m.get(1);
            let count: i64 = m.get(2);
            if let Some(&i) = index.get(&id) {
                let b = ((minute - lo).clamp(0, span - 1) as i128 * buckets as i128 / span as i128)
                    as usize;
                rows[i].activity[b.min(buckets - 1)] += count;
            }
        }
        Ok(())
    }

    /// The endpoint an id leads to when the row was merged into another (see
    /// `endpoint_aliases`), `None` when it was not.
    pub async fn merged_into(&self, id: i64) -> Result<Option<i64>, StoreError> {
        match self.resolve_endpoint_id(id).await? {
            Some(to) if to != id => Ok(Some(to)),
            _ => Ok(None),
        }
    }

    /// Everything about one endpoint, `None` when there is no such endpoint.
    pub async fn dashboard_endpoint(&self, id: i64) -> Result<Option<EndpointDetail>, StoreError> {
        let Some(endpoint) = self.endpoint_rows(&[id]).await?.pop() else {
            return Ok(None);
        };
        let e = sqlx::query(
            "SELECT template_rule, template_confidence, example_path, response_count, bytes_in, bytes_out, p90_ms, latency_hist,
                    template_explain
             FROM endpoints WHERE id = ?",
        )
        .bind(id)
        .fetch_one(&self.pool)
        .await?;
        let status = sqlx::query(
            "SELECT status, count FROM endpoint_status WHERE endpoint_id = ? ORDER BY status",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
        let minutes = sqlx::query(
            "SELECT minute, count, errors FROM endpoint_minutes WHERE endpoint_id = ? ORDER BY minute",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| MinuteCount {
            minute: r.get(0),
            count: r.get(1),
            errors: r.get(2),
        })
        .collect();
        let params = sqlx::query(
            "SELECT location, name, types, present FROM endpoint_params WHERE endpoint_id = ?
             ORDER BY CASE location WHEN 'path' THEN 0 WHEN 'query' THEN 1 ELSE 2 END, name LIMIT 500",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| Param {
            location: r.get(0),
            name: r.get(1),
            types: r.get(2),
            present: r.get(3),
        })
        .collect();
        let bodies = sqlx::query(
            "SELECT direction, status, content_type, count, samples, schema FROM endpoint_bodies WHERE endpoint_id = ?
             ORDER BY direction DESC, status, content_type",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            let schema: Option<String> = r.get(5);
            Body {
                direction: r.get(0),
                status: r.get(1),
                content_type: r.get(2),
                count: r.get(3),
                samples: r.get(4),
                schema: schema.and_then(|s| serde_json::from_str(&s).ok()),
            }
        })
        .collect();
        let auth = sqlx::query(
            "SELECT scheme, location, count, ok_count FROM endpoint_auth WHERE endpoint_id = ? ORDER BY count DESC, scheme",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| Auth {
            scheme: r.get(0),
            location: r.get(1),
            count: r.get(2),
            ok_count: r.get(3),
        })
        .collect();
        let sensitive = sqlx::query(
            "SELECT class, location, field, count, example, first_seen, last_seen FROM endpoint_sensitive
             WHERE endpoint_id = ? ORDER BY count DESC, class, location, field LIMIT 500",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| Sensitive {
            class: r.get(0),
            location: r.get(1),
            field: r.get(2),
            count: r.get(3),
            example: r.get(4),
            first_seen: r.get(5),
            last_seen: r.get(6),
        })
        .collect();
        let clients = sqlx::query(
            "SELECT client, count, first_seen, last_seen FROM endpoint_clients WHERE endpoint_id = ?
             ORDER BY count DESC, client LIMIT 20",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| Client {
            client: r.get(0),
            count: r.get(1),
            first_seen: r.get(2),
            last_seen: r.get(3),
        })
        .collect();
        let transition = |r: &SqliteRow| Transition {
            from_id: r.get(0),
            to_id: r.get(1),
            host: r.get(2),
            method: r.get(3),
            path_template: r.get(4),
            count: r.get(5),
            clients: r.get(6),
        };
        let transitions_in = sqlx::query(
            "SELECT x.from_endpoint, x.to_endpoint, o.host, o.method, o.path_template, x.count, x.clients
             FROM transitions x JOIN endpoints o ON o.id = x.from_endpoint
             WHERE x.to_endpoint = ? ORDER BY x.count DESC LIMIT 50",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(transition)
        .collect();
        let transitions_out = sqlx::query(
            "SELECT x.from_endpoint, x.to_endpoint, o.host, o.method, o.path_template, x.count, x.clients
             FROM transitions x JOIN endpoints o ON o.id = x.to_endpoint
             WHERE x.from_endpoint = ? ORDER BY x.count DESC LIMIT 50",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(transition)
        .collect();
        let sev = severity_rank_sql("f.severity");
        let findings = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {FINDING_COLUMNS} {FINDING_JOIN} WHERE e.id = ? ORDER BY {sev}, f.kind, f.id"
        )))
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(finding_row)
        .collect();
        let drift = self.drift(Some(id), 500).await?;
        let operations = sqlx::query(
            "SELECT o.id, s.name, o.host, o.method, o.path_template, o.operation_id, o.summary, o.deprecated, o.endpoint_id
             FROM spec_operations o JOIN specs s ON s.id = o.spec_id WHERE o.endpoint_id = ? ORDER BY o.id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(spec_operation)
        .collect();
        Ok(Some(EndpointDetail {
            endpoint,
            template_rule: e.get(0),
            template_confidence: e.get(1),
            template_segments: template_segments(&e.get::<String, _>(8)),
            example_path: e.get(2),
            response_count: e.get(3),
            bytes_in: e.get(4),
            bytes_out: e.get(5),
            p90_ms: e.get(6),
            latency_hist: e.get(7),
            status,
            minutes,
            params,
            bodies,
            auth,
            sensitive,
            clients,
            transitions_in,
            transitions_out,
            findings,
            drift,
            operations,
        }))
    }

    async fn drift(&self, endpoint: Option<i64>, limit: i64) -> Result<Vec<Drift>, StoreError> {
        Ok(sqlx::query(
            "SELECT d.endpoint_id, e.host, e.method, e.path_template, d.kind, d.item, d.detail
             FROM drift d JOIN endpoints e ON e.id = d.endpoint_id
             WHERE (?1 IS NULL OR d.endpoint_id = ?1)
             ORDER BY e.host, e.path_template, e.method, d.kind, d.item LIMIT ?2",
        )
        .bind(endpoint)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| Drift {
            endpoint_id: r.get(0),
            host: r.get(1),
            method: r.get(2),
            path_template: r.get(3),
            kind: r.get(4),
            item: r.get(5),
            detail: r.get(6),
        })
        .collect())
    }

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
             ORDER BY {sev}, f.kind, f.count DESC, f.id LIMIT ?4"
        )))
        .bind(query.severity.as_deref())
        .bind(query.kind.as_deref())
        .bind(query.host.as_deref())
        .bind(query.limit.clamp(1, 100_000))
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

    /// The transitions of one host (the busiest host when `host` is `None`), at most
    /// `max_edges` of them, busiest first.
    pub async fn dashboard_sequences(
        &self,
        host: Option<&str>,
        max_edges: i64,
    ) -> Result<Sequences, StoreError> {
        let hosts = counts(
            &sqlx::query(
                "SELECT f.host, SUM(x.count) AS n FROM transitions x JOIN endpoints f ON f.id = x.from_endpoint
                 GROUP BY f.host ORDER BY n DESC, f.host LIMIT 500",
            )
            .fetch_all(&self.pool)
            .await?,
        );
        let host = match host {
            Some(h) => Some(h.to_string()),
            None => hosts.first().map(|c| c.key.clone()),
        };
        let Some(h) = host.clone() else {
            return Ok(Sequences {
                hosts,
                host,
                nodes: Vec::new(),
                edges: Vec::new(),
                edges_omitted: 0,
                paths: Vec::new(),
                findings: Vec::new(),
            });
        };
        let all: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM transitions x JOIN endpoints f ON f.id = x.from_endpoint WHERE f.host = ?",
        )
        .bind(&h)
        .fetch_one(&self.pool)
        .await?;
        let edges: Vec<GraphEdge> = sqlx::query(
            "SELECT x.from_endpoint, x.to_endpoint, x.count, x.clients
             FROM transitions x JOIN endpoints f ON f.id = x.from_endpoint
             WHERE f.host = ? ORDER BY x.count DESC, x.from_endpoint, x.to_endpoint LIMIT ?",
        )
        .bind(&h)
        .bind(max_edges)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| GraphEdge {
            from: r.get(0),
            to: r.get(1),
            count: r.get(2),
            clients: r.get(3),
        })
        .collect();
        let mut ids: Vec<i64> = edges.iter().flat_map(|e| [e.from, e.to]).collect();
        ids.sort_unstable();
        ids.dedup();
        let nodes = if ids.is_empty() {
            Vec::new()
        } else {
            let list = ids
                .iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(",");
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT id, host, method, path_template, request_count FROM endpoints WHERE id IN ({list}) ORDER BY id"
            )))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| GraphNode {
                id: r.get(0),
                host: r.get(1),
                method: r.get(2),
                path_template: r.get(3),
                request_count: r.get(4),
            })
            .collect()
        };
        let paths = sqlx::query(
            "SELECT a.id, a.method, a.path_template, b.id, b.method, b.path_template, c.id, c.method, c.path_template,
                    p.count, p.clients
             FROM sequence_paths p JOIN endpoints a ON a.id = p.step1 JOIN endpoints b ON b.id = p.step2
             JOIN endpoints c ON c.id = p.step3
             WHERE a.host = ? ORDER BY p.count DESC, p.step1, p.step2, p.step3 LIMIT 20",
        )
        .bind(&h)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| SequencePath {
            steps: (0..3)
                .map(|i| (r.get(3 * i), r.get(3 * i + 1), r.get(3 * i + 2)))
                .collect(),
            count: r.get(9),
            clients: r.get(10),
        })
        .collect();
        let findings = sqlx::query(
            "SELECT id, kind, severity, coalesce(client, ''), coalesce(method, ''), coalesce(path_template, ''), detail
             FROM findings WHERE host = ?
               AND kind IN ('enumeration', 'novel_transition', 'rate_anomaly', 'fingerprint_change')
             ORDER BY last_seen DESC, id LIMIT 100",
        )
        .bind(&h)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| SequenceFinding {
            id: r.get(0),
            kind: r.get(1),
            severity: r.get(2),
            principal: r.get(3),
            method: r.get(4),
            path_template: r.get(5),
            detail: r.get(6),
        })
        .collect();
        Ok(Sequences {
            hosts,
            host,
            edges_omitted: all - edges.len() as i64,
            nodes,
            edges,
            paths,
            findings,
        })
    }

    /// Imported specs, coverage and drift.
    pub async fn dashboard_spec(&self) -> Result<SpecSummary, StoreError> {
        let specs = sqlx::query(
            "SELECT s.id, s.name, s.title, s.version, s.format, s.imported_at,
                    (SELECT COUNT(*) FROM spec_operations o WHERE o.spec_id = s.id),
                    (SELECT COUNT(*) FROM spec_operations o JOIN endpoints e ON e.id = o.endpoint_id
                     WHERE o.spec_id = s.id AND e.first_seen IS NOT NULL)
             FROM specs s ORDER BY s.id",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| SpecRow {
            id: r.get(0),
            name: r.get(1),
            title: r.get(2),
            version: r.get(3),
            format: r.get(4),
            imported_at: r.get(5),
            operations: r.get(6),
            observed: r.get(7),
        })
        .collect();
        let cov = sqlx::query(
            "SELECT COUNT(*), IFNULL(SUM(endpoint_id IS NOT NULL AND EXISTS (SELECT 1 FROM endpoints e WHERE e.id = o.endpoint_id AND e.first_seen IS NOT NULL)), 0)
             FROM spec_operations o",
        )
        .fetch_one(&self.pool)
        .await?;
        let dormant = sqlx::query(
            "SELECT o.id, s.name, o.host, o.method, o.path_template, o.operation_id, o.summary, o.deprecated, o.endpoint_id
             FROM spec_operations o JOIN specs s ON s.id = o.spec_id
             LEFT JOIN endpoints e ON e.id = o.endpoint_id
             WHERE o.endpoint_id IS NULL OR e.first_seen IS NULL
             ORDER BY o.path_template, o.method LIMIT 500",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(spec_operation)
        .collect();
        let shadow = sqlx::query(
            "SELECT id, host, method, path_template, first_seen, request_count, classification
             FROM endpoints WHERE classification = 'shadow' ORDER BY request_count DESC, host, path_template LIMIT 500",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(brief_row)
        .collect();
        let drift = self.drift(None, 1000).await?;
        let drift_kinds = counts(
            &sqlx::query(
                "SELECT kind, COUNT(*) AS n FROM drift GROUP BY kind ORDER BY n DESC, kind",
            )
            .fetch_all(&self.pool)
            .await?,
        );
        Ok(SpecSummary {
            specs,
            operations: cov.get(0),
            observed: cov.get(1),
            classification: self.classification_counts().await?,
            dormant,
            shadow,
            drift,
            drift_kinds,
        })
    }

    /// Ingested captures, newest first (at most 1000), with their counters.
    pub async fn dashboard_captures(&self) -> Result<Vec<CaptureRow>, StoreError> {
        Ok(sqlx::query(
            "SELECT id, sha256, path, size_bytes, ingested_at, first_ts, last_ts, packets, bytes, transactions, source, complete, stats_json
             FROM captures ORDER BY id DESC LIMIT 1000",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            let stats: String = r.get(12);
            CaptureRow {
                id: r.get(0),
                sha256: r.get(1),
                path: r.get(2),
                size_bytes: r.get(3),
                ingested_at: r.get(4),
                first_ts: r.get(5),
                last_ts: r.get(6),
                packets: r.get(7),
                bytes: r.get(8),
                transactions: r.get(9),
                source: r.get(10),
                complete: r.get::<i64, _>(11) != 0,
                stats: serde_json::from_str(&stats).unwrap_or(Value::Null),
            }
        })
        .collect())
    }

    /// One public view (`api_*`) as CSV, formatted as `export --format csv` writes it.
    pub async fn dashboard_view_csv(&self, view: &str) -> Result<Option<String>, StoreError> {
        let Some(view) = super::export::PUBLIC_VIEWS.iter().find(|v| **v == view) else {
            return Ok(None);
        };
        let cols: Vec<String> = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT name FROM pragma_table_info('{view}')"
        )))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| r.get::<String, _>(0))
        .collect();
        let select = format!(
            "SELECT {} FROM {view}",
            cols.iter()
                .map(|c| format!("CAST(\"{}\" AS TEXT)", c.replace('"', "\"\"")))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(select))
            .fetch_all(&self.pool)
            .await?;
        let mut out = cols
            .iter()
            .map(|c| csv_field(c))
            .collect::<Vec<_>>()
            .join(",");
        out.push_str("\r\n");
        for r in rows {
            let line = (0..cols.len())
                .map(|i| {
                    r.get::<Option<String>, _>(i)
                        .map(|v| csv_field(&v))
                        .unwrap_or_default()
                })
                .collect::<Vec<_>>()
                .join(",");
            out.push_str(&line);
            out.push_str("\r\n");
        }
        Ok(Some(out))
    }
}

fn spec_operation(r: &SqliteRow) -> SpecOperation {
    SpecOperation {
        id: r.get(0),
        spec: r.get(1),
        host: r.get(2),
        method: r.get(3),
        path_template: r.get(4),
        operation_id: r.get(5),
        summary: r.get(6),
        deprecated: r.get::<i64, _>(7) != 0,
        endpoint_id: r.get(8),
    }
}

/// A CSV cell, as `export --format csv` writes it: quoted when needed, and a leading `=`, `+`,
/// `-`, `@` of a non-number defused so a spreadsheet does not run it as a formula.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) && s.parse::<f64>().is_err() {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}
/// Reads a stored template explanation (see `analyze::inventory::explain_json`).
fn template_segments(json: &str) -> Vec<TemplateSegment> {
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
    v.as_array()
        .into_iter()
        .flatten()
        .map(|x| TemplateSegment {
            segment: x["segment"].as_str().unwrap_or("").to_string(),
            param: x["param"].as_bool().unwrap_or(false),
            rule: x["rule"].as_str().unwrap_or("").to_string(),
            confidence: x["confidence"].as_f64().unwrap_or(0.0),
            why: x["why"].as_str().unwrap_or("").to_string(),
            evidence: x
                .get("evidence")
                .cloned()
                .unwrap_or(serde_json::Value::Null),
        })
        .collect()
}
