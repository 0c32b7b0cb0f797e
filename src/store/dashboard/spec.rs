//! The spec page: imported specs, their coverage of the inventory (documented operations
//! seen, unseen, and shadow endpoints) and drift between traffic and spec.

use super::Dashboard;
use super::{Count, Drift, EndpointBrief, SpecOperation, brief_row, counts, spec_operation};
use crate::store::StoreError;
use serde::Serialize;

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
    /// Hosts that no imported description covers (their endpoints are `uncovered`).
    pub uncovered: Vec<crate::store::UncoveredHost>,
}

impl Dashboard {
    /// Imported specs, coverage and drift.
    pub async fn dashboard_spec(&self) -> Result<SpecSummary, StoreError> {
        let specs = self
            .db
            .query(
                "SELECT s.id, s.name, s.title, s.version, s.format, s.imported_at,
                    (SELECT COUNT(*) FROM spec_operations o WHERE o.spec_id = s.id),
                    (SELECT COUNT(*) FROM spec_operations o JOIN endpoints e ON e.id = o.endpoint_id
                     WHERE o.spec_id = s.id AND e.first_seen IS NOT NULL)
             FROM specs s ORDER BY s.id",
            )
            .fetch_all()
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
        let cov = self.db.query("SELECT COUNT(*), COALESCE(SUM(CASE WHEN endpoint_id IS NOT NULL AND EXISTS (SELECT 1 FROM endpoints e WHERE e.id = o.endpoint_id AND e.first_seen IS NOT NULL) THEN 1 ELSE 0 END), 0)
             FROM spec_operations o",)
        .fetch_one()
        .await?;
        let dormant = self.db.query("SELECT o.id, s.name, o.host, o.method, o.path_template, o.operation_id, o.summary, o.deprecated, o.endpoint_id
             FROM spec_operations o JOIN specs s ON s.id = o.spec_id
             LEFT JOIN endpoints e ON e.id = o.endpoint_id
             WHERE o.endpoint_id IS NULL OR e.first_seen IS NULL
             ORDER BY o.path_template, o.method LIMIT 500",)
        .fetch_all()
        .await?
        .iter()
        .map(spec_operation)
        .collect();
        let shadow = self.db.query("SELECT id, host, method, path_template, first_seen, request_count, classification
             FROM endpoints WHERE classification = 'shadow' AND scope = 'api' ORDER BY request_count DESC, host, path_template LIMIT 500",)
        .fetch_all()
        .await?
        .iter()
        .map(brief_row)
        .collect();
        let drift = self.drift(None, 1000).await?;
        let drift_kinds = counts(
            &self
                .db
                .query("SELECT kind, COUNT(*) AS n FROM drift GROUP BY kind ORDER BY n DESC, kind")
                .fetch_all()
                .await?,
        );
        let uncovered = self
            .db
            .query(
                "SELECT host, COUNT(*) AS endpoints, CAST(SUM(request_count) AS BIGINT) AS requests
                 FROM api_endpoints WHERE classification = 'uncovered' AND scope = 'api'
                 GROUP BY host ORDER BY host",
            )
            .fetch_all()
            .await?
            .iter()
            .map(|r| crate::store::UncoveredHost {
                host: r.get(0),
                endpoints: r.get(1),
                requests: r.get(2),
            })
            .collect();
        Ok(SpecSummary {
            uncovered,
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
}
