//! Reading the inventory through the public views.

use super::{Store, StoreError};
use sqlx::Row;

/// One row of `api_endpoints`.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct EndpointRow {
    /// Endpoint id.
    pub id: i64,
    /// Host.
    pub host: String,
    /// Method.
    pub method: String,
    /// Path template.
    pub path_template: String,
    /// First request (ISO 8601).
    pub first_seen: String,
    /// Last request (ISO 8601).
    pub last_seen: String,
    /// Requests.
    pub request_count: i64,
    /// Responses with status >= 400.
    pub error_count: i64,
    /// Distinct clients.
    pub client_count: i64,
    /// Auth schemes, comma-separated.
    pub auth_schemes: Option<String>,
    /// Sensitive data classes, comma-separated.
    pub sensitive_data: Option<String>,
    /// Median latency.
    pub p50_ms: Option<f64>,
    /// 90th percentile latency.
    pub p90_ms: Option<f64>,
    /// 99th percentile latency.
    pub p99_ms: Option<f64>,
    /// In an imported spec (NULL before any import).
    pub documented: Option<i64>,
    /// Deprecated in the spec.
    pub deprecated: Option<i64>,
    /// documented | shadow | zombie | dormant.
    pub classification: Option<String>,
    /// How the template was decided, one rule per segment (`/`-joined).
    pub template_rule: String,
    /// Lowest confidence among the template's segments.
    pub template_confidence: f64,
    /// Per segment: rule, confidence, and the evidence weighed (`segment`, `param`, `rule`,
    /// `confidence`, `why`, `evidence`).
    pub template_explain: serde_json::Value,
    /// The protocol its transactions spoke (`http/1.1`, `h2`, `grpc`, `graphql`, ...; NULL
    /// for rows written before migration 0009).
    pub protocol: Option<String>,
}

/// One row of `api_sensors`: a sensor of the fleet and its health.
#[derive(Clone, Debug, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct SensorRow {
    /// The sensor's name.
    pub sensor: String,
    /// Its version.
    pub version: String,
    /// Its host name.
    pub host: String,
    /// Its interfaces (or an ingest's files), comma-separated.
    pub interfaces: String,
    /// When it started (ISO 8601), when known.
    pub started_at: Option<String>,
    /// When it made its first delta.
    pub first_delta_at: String,
    /// When it made its latest delta.
    pub last_delta_at: String,
    /// When the centre applied the latest.
    pub last_applied_at: String,
    /// Milliseconds from the latest delta's making to its apply.
    pub apply_lag_ms: i64,
    /// Deltas applied.
    pub deltas: i64,
    /// Deltas parked.
    pub parked: i64,
    /// Frames read, as of the latest delta.
    pub packets: i64,
    /// Bytes read.
    pub bytes: i64,
    /// Kernel drops.
    pub kernel_dropped: i64,
    /// Interface drops.
    pub if_dropped: i64,
    /// Worker queue drops.
    pub queue_dropped: i64,
    /// Every cap's drops.
    pub cap_drops: i64,
}

/// The sensors' listing (either backend).
pub(in crate::store) const SENSORS_SQL: &str = "SELECT * FROM api_sensors ORDER BY sensor";

/// Filters for [`Store::endpoints`].
#[derive(Clone, Debug, Default)]
pub struct ListFilter {
    /// Only this host.
    pub host: Option<String>,
}

/// One finding as the public view `api_findings` lists it (times in ISO 8601): what
/// `shadowtap findings` prints.
#[derive(Clone, Debug, serde::Serialize, sqlx::FromRow)]
pub struct FindingListing {
    /// Finding id (what `shadowtap findings triage` takes, with the dedup key).
    pub id: i64,
    /// Stable kind.
    pub kind: String,
    /// Severity name.
    pub severity: String,
    /// Host.
    pub host: Option<String>,
    /// Method.
    pub method: Option<String>,
    /// Path template.
    pub path_template: Option<String>,
    /// Client, for per-client findings.
    pub client: Option<String>,
    /// Plain words.
    pub detail: String,
    /// Evidence (redacted).
    pub evidence: String,
    /// Occurrences.
    pub count: i64,
    /// First seen (ISO 8601).
    pub first_seen: String,
    /// Last seen (ISO 8601).
    pub last_seen: String,
    /// Triage state (`open`, `acknowledged`, `false_positive`, `resolved`).
    pub triage_state: String,
    /// Why the state was set (`None` when never triaged).
    pub triage_reason: Option<String>,
    /// Who set it.
    pub triage_by: Option<String>,
}

/// An endpoint the imported API description does not account for as documented.
#[derive(Clone, Debug, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct ClassifiedEndpoint {
    /// shadow, zombie or dormant.
    pub classification: String,
    /// Method.
    pub method: String,
    /// Host.
    pub host: String,
    /// Path template.
    pub path_template: String,
    /// Requests seen.
    pub request_count: i64,
}

/// One difference between traffic and the API description (the public view `api_drift`).
#[derive(Clone, Debug, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct DriftListing {
    /// Method.
    pub method: String,
    /// Host.
    pub host: String,
    /// Path template.
    pub path_template: String,
    /// What differs (`undocumented_status`, `undocumented_param`, ...).
    pub kind: String,
    /// The status, parameter or field concerned.
    pub item: String,
    /// In words.
    pub detail: String,
}

/// What `shadowtap spec diff` shows.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SpecDiff {
    /// API descriptions imported.
    pub specs: i64,
    /// Shadow, zombie and dormant endpoints (shadow first).
    pub endpoints: Vec<ClassifiedEndpoint>,
    /// Drift items.
    pub drift: Vec<DriftListing>,
    /// Hosts that no imported description covers (their endpoints are `uncovered`).
    pub uncovered: Vec<UncoveredHost>,
    /// Source-code scans stored (`code scan --db`).
    pub code_scans: i64,
    /// Where code and traffic disagree: endpoints declared nowhere, routes never observed,
    /// declared auth not enforced or enforced outside the code (`store::code`).
    pub code: Vec<super::code::CodeDiffRow>,
}

/// A host that no imported API description covers.
#[derive(Clone, Debug, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct UncoveredHost {
    /// Host.
    pub host: String,
    /// Its endpoints (all `uncovered`).
    pub endpoints: i64,
    /// Their requests.
    pub requests: i64,
}

/// Headline counts of the inventory (the daemon's gauges).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InventoryCounts {
    /// Endpoints called at least once.
    pub endpoints: i64,
    /// Findings by severity: info, low, medium, high, critical.
    pub findings_by_severity: [i64; 5],
}

impl Store {
    /// Shadow, zombie and dormant endpoints and drift (`host`: only that one); APIs of ours only
    /// (scope `api`: static content, third parties and ignored endpoints are left out).
    pub async fn spec_diff(&self, host: Option<&str>) -> Result<SpecDiff, StoreError> {
        let specs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM specs")
            .fetch_one(&self.pool)
            .await?;
        let endpoints = sqlx::query_as(
            "SELECT classification, method, host, path_template, request_count FROM api_endpoints
             WHERE classification IN ('shadow', 'zombie', 'dormant') AND scope = 'api' AND (?1 IS NULL OR host = ?1)
             ORDER BY CASE classification WHEN 'shadow' THEN 0 WHEN 'zombie' THEN 1 ELSE 2 END, host, path_template, method",
        )
        .bind(host)
        .fetch_all(&self.pool)
        .await?;
        let drift = sqlx::query_as(
            "SELECT method, host, path_template, kind, item, detail FROM api_drift WHERE (?1 IS NULL OR host = ?1)
             ORDER BY host, path_template, method, kind, item",
        )
        .bind(host)
        .fetch_all(&self.pool)
        .await?;
        let uncovered = sqlx::query_as(
            "SELECT host, COUNT(*) AS endpoints, SUM(request_count) AS requests FROM api_endpoints
             WHERE classification = 'uncovered' AND scope = 'api' AND (?1 IS NULL OR host = ?1) GROUP BY host ORDER BY host",
        )
        .bind(host)
        .fetch_all(&self.pool)
        .await?;
        let (code_scans, code) = self.code_diff(host).await?;
        Ok(SpecDiff {
            specs,
            endpoints,
            drift,
            uncovered,
            code_scans,
            code,
        })
    }

    /// Every finding, as the public view `api_findings` lists it.
    pub async fn findings_listing(&self) -> Result<Vec<FindingListing>, StoreError> {
        self.findings_listing_matching(&super::dashboard::FindingQuery {
            state: super::dashboard::StateFilter::All,
            limit: i64::MAX,
            ..Default::default()
        })
        .await
    }

    /// The findings that `query` matches (its filters, limit and offset), as the public view
    /// `api_findings` lists them, most severe first then most recently seen, with who
    /// triaged them and why.
    pub async fn findings_listing_matching(
        &self,
        query: &super::dashboard::FindingQuery,
    ) -> Result<Vec<FindingListing>, StoreError> {
        use super::dashboard::findings::like_contains;
        Ok(
            sqlx::query_as(sqlx::AssertSqlSafe(findings_listing_sql(query)))
                .bind(query.severity.as_deref())
                .bind(query.kind.as_deref())
                .bind(query.host.as_deref())
                .bind(query.q.as_deref().map(like_contains))
                .bind(query.state.name())
                .bind(query.limit.max(1))
                .bind(query.offset.max(0))
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// Endpoints called at least once, and findings by severity.
    pub async fn inventory_counts(&self) -> Result<InventoryCounts, StoreError> {
        let endpoints: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM endpoints WHERE request_count > 0")
                .fetch_one(&self.pool)
                .await?;
        let mut findings_by_severity = [0i64; 5];
        for r in sqlx::query("SELECT severity, COUNT(*) FROM findings GROUP BY severity")
            .fetch_all(&self.pool)
            .await?
        {
            let i = match r.get::<String, _>(0).as_str() {
                "info" => 0,
                "low" => 1,
                "medium" => 2,
                "high" => 3,
                "critical" => 4,
                _ => continue,
            };
            findings_by_severity[i] = r.get(1);
        }
        Ok(InventoryCounts {
            endpoints,
            findings_by_severity,
        })
    }

    /// The fleet's sensors from `api_sensors` (none in a sensor's own file).
    pub async fn sensors(&self) -> Result<Vec<SensorRow>, StoreError> {
        Ok(sqlx::query_as(SENSORS_SQL).fetch_all(&self.pool).await?)
    }

    /// Endpoints from the `api_endpoints` view, by host and path.
    pub async fn endpoints(&self, filter: &ListFilter) -> Result<Vec<EndpointRow>, StoreError> {
        let rows = sqlx::query(ENDPOINTS_SQL)
            .bind(filter.host.as_deref())
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(endpoint_row).collect())
    }
}

/// The listing of [`Store::findings_listing_matching`] (SQLite's `?N` placeholders: 1
/// severity, 2 kind, 3 host, 4 text pattern, 5 state, 6 limit, 7 offset).
pub(super) fn findings_listing_sql(query: &super::dashboard::FindingQuery) -> String {
    use super::dashboard::findings::FILTER;
    let sev = super::dashboard::severity_rank_sql("f.severity");
    let fw = query.window.and_span("f");
    format!(
        "SELECT a.id, a.kind, a.severity, a.host, a.method, a.path_template, a.client, a.detail, a.evidence, a.count,
                a.first_seen, a.last_seen, a.triage_state, t.reason AS triage_reason, t.actor AS triage_by
         FROM api_findings a JOIN findings f ON f.id = a.id LEFT JOIN finding_triage t ON t.dedup_key = f.dedup_key
         {FILTER}{fw} ORDER BY {sev}, f.last_seen DESC, f.id LIMIT ?6 OFFSET ?7"
    )
}

/// The listing of [`Store::endpoints`] (`?1`: the host or NULL).
pub(super) const ENDPOINTS_SQL: &str = "SELECT a.id, a.host, a.method, a.path_template, a.first_seen, a.last_seen, a.request_count, a.error_count,
        a.client_count, a.auth_schemes, a.sensitive_data, a.p50_ms, a.p90_ms, a.p99_ms, a.documented,
        a.deprecated, a.classification, e.template_rule, e.template_confidence, e.template_explain,
        a.protocol
 FROM api_endpoints a JOIN endpoints e ON e.id = a.id
 WHERE (?1 IS NULL OR a.host = ?1) ORDER BY a.host, a.path_template, a.method";

/// A row of [`ENDPOINTS_SQL`], from either backend.
pub(super) fn endpoint_row<'r, R>(r: &'r R) -> EndpointRow
where
    R: Row,
    usize: sqlx::ColumnIndex<R>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    f64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    EndpointRow {
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
        p90_ms: r.get(12),
        p99_ms: r.get(13),
        documented: r.get(14),
        deprecated: r.get(15),
        classification: r.get(16),
        template_rule: r.get(17),
        template_confidence: r.get(18),
        template_explain: serde_json::from_str(&r.get::<String, _>(19))
            .unwrap_or(serde_json::Value::Array(Vec::new())),
        protocol: r.get(20),
    }
}
