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
}

/// Filters for [`Store::endpoints`].
#[derive(Clone, Debug, Default)]
pub struct ListFilter {
    /// Only this host.
    pub host: Option<String>,
}

impl Store {
    /// Endpoints from the `api_endpoints` view, by host and path.
    pub async fn endpoints(&self, filter: &ListFilter) -> Result<Vec<EndpointRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT a.id, a.host, a.method, a.path_template, a.first_seen, a.last_seen, a.request_count, a.error_count,
                    a.client_count, a.auth_schemes, a.sensitive_data, a.p50_ms, a.p90_ms, a.p99_ms, a.documented,
                    a.deprecated, a.classification, e.template_rule, e.template_confidence, e.template_explain
             FROM api_endpoints a JOIN endpoints e ON e.id = a.id
             WHERE (?1 IS NULL OR a.host = ?1) ORDER BY a.host, a.path_template, a.method",
        )
        .bind(filter.host.as_deref())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| EndpointRow {
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
            })
            .collect())
    }
}
