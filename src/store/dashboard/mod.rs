//! Read queries of the web dashboard: filtered, sorted and paginated lists and aggregates, each
//! computed in SQL (a page of endpoints costs a handful of queries whatever the inventory's size).
//!
//! The structs here are plain data (serialised as-is by the dashboard's JSON API); times are
//! integer nanoseconds since the Unix epoch, as stored.
//!
//! This module owns the reads behind the dashboard pages and the JSON API, returned as typed
//! rows; it may not touch HTML or HTTP (rendering and routing belong to `crate::web`). It is
//! split by the page each read serves; this file holds the row types and helpers several pages
//! share, and re-exports every page's rows so `crate::store::dashboard::X` names them all.

mod captures;
mod changes;
mod csv;
mod endpoint;
mod endpoints;
pub(in crate::store) mod findings;
mod hosts;
mod overview;
mod risk;
mod sequences;
mod spec;
mod tls;
mod window;

pub use captures::CaptureRow;
pub use changes::{ChangeKind, ChangeQuery, ChangeRow, Changes, HostChanges};
pub use endpoint::{
    Auth, Body, Client, DeclaredAt, EndpointDetail, Param, Sensitive, TemplateSegment, Transition,
};
pub use endpoints::{
    EndpointList, EndpointListRow, EndpointQuery, Facets, SOURCE_FILTERS, SortKey,
};
pub use findings::{FindingQuery, StateFilter};
pub use hosts::{HostClient, HostList, HostQuery, HostRow, HostSort, ServiceEdge, ServiceMap};
pub use overview::{Overview, Totals};
pub use risk::{
    EXPOSURE_EXTERNAL, EXPOSURE_NO_AUTH, EXPOSURE_SENSITIVE_OUT, FixFirst, FixFirstList, Risk,
    RiskFinding, SEVERITIES,
};
pub use sequences::{GraphEdge, GraphNode, SequenceFinding, SequencePath, Sequences};
pub use spec::{SpecRow, SpecSummary};
pub use window::Window;

use super::db::{Db, DbRow};
use super::{Store, StoreError};
use serde::Serialize;

/// The dashboard's reads over an inventory: a sensor's SQLite file ([`Store::dashboard`]) or
/// a fleet's centre on PostgreSQL ([`super::pg::PgInventory::dashboard`]). The same queries
/// run on both (see [`super::db`]).
#[derive(Clone, Debug)]
pub struct Dashboard {
    pub(in crate::store) db: Db,
}

impl Dashboard {
    /// The reads over `db`.
    pub fn new(db: Db) -> Dashboard {
        Dashboard { db }
    }

    /// Whether the inventory is a fleet's centre on PostgreSQL.
    pub fn is_central(&self) -> bool {
        self.db.is_pg()
    }
}

impl Store {
    /// The dashboard's reads over this inventory.
    pub fn dashboard(&self) -> Dashboard {
        Dashboard::new(self.db())
    }

    /// This inventory as a [`Db`], for the work shared with the centre.
    pub fn db(&self) -> Db {
        Db::Sqlite(self.pool.clone())
    }
}

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
    /// The finding's durable identity (`findings.dedup_key`).
    pub dedup_key: String,
    /// Triage state (`open`, `acknowledged`, `false_positive`, `resolved`).
    pub triage_state: String,
    /// Who set the triage state (`None` when never triaged).
    pub triage_by: Option<String>,
    /// Why.
    pub triage_reason: Option<String>,
    /// When (wall-clock ns).
    pub triage_at: Option<i64>,
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

pub(in crate::store) fn severity_rank_sql(col: &str) -> String {
    format!(
        "CASE {col} WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 WHEN 'info' THEN 4 ELSE 5 END"
    )
}

/// The order classifications are listed in (`c`: the classification, `unclassified` for
/// none).
pub(in crate::store) const CLASSIFICATION_ORDER: &str = "CASE c WHEN 'documented' THEN 0 WHEN 'shadow' THEN 1 \
     WHEN 'zombie' THEN 2 WHEN 'dormant' THEN 3 WHEN 'uncovered' THEN 4 ELSE 5 END";

pub(in crate::store) const FINDING_COLUMNS: &str = "f.id, f.kind, f.severity, f.host, f.method, f.path_template, f.client, f.detail, f.evidence, f.count, f.first_seen, f.last_seen, e.id, f.dedup_key, coalesce(t.state, 'open'), t.actor, t.reason, t.at";

/// The findings every count of the dashboard shows (`f` is `findings`): the active ones,
/// `open` or `acknowledged`, as the Findings page lists by default; false positives and
/// resolved findings are counted only where their state is asked for.
pub(in crate::store) const ACTIVE_FINDING: &str = "NOT EXISTS (SELECT 1 FROM finding_triage t \
     WHERE t.dedup_key = f.dedup_key AND t.state IN ('false_positive', 'resolved'))";

pub(in crate::store) const FINDING_JOIN: &str = "FROM findings f LEFT JOIN endpoints e ON e.host = f.host AND e.method = f.method AND e.path_template = f.path_template LEFT JOIN finding_triage t ON t.dedup_key = f.dedup_key";

pub(in crate::store) fn finding_row(r: &DbRow) -> FindingRow {
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
        dedup_key: r.get(13),
        triage_state: r.get(14),
        triage_by: r.get(15),
        triage_reason: r.get(16),
        triage_at: r.get(17),
    }
}

fn brief_row(r: &DbRow) -> EndpointBrief {
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

fn counts(rows: &[DbRow]) -> Vec<Count> {
    rows.iter()
        .map(|r| Count {
            key: r.get(0),
            count: r.get(1),
        })
        .collect()
}

impl Dashboard {
    /// Endpoints per classification, APIs of ours only (static content, third parties and
    /// ignored endpoints are counted apart: [`Store::scope_counts`]).
    async fn classification_counts(&self) -> Result<Vec<Count>, StoreError> {
        Ok(counts(
            &self
                .db
                .query(format!(
                    "SELECT c, n FROM (SELECT COALESCE(classification, 'unclassified') AS c, COUNT(*) AS n
                 FROM endpoints WHERE scope = 'api' GROUP BY classification) AS k
                 ORDER BY {CLASSIFICATION_ORDER}, c"
                ))
                .fetch_all()
                .await?,
        ))
    }

    async fn drift(&self, endpoint: Option<i64>, limit: i64) -> Result<Vec<Drift>, StoreError> {
        Ok(self
            .db
            .query(
                "SELECT d.endpoint_id, e.host, e.method, e.path_template, d.kind, d.item, d.detail
             FROM drift d JOIN endpoints e ON e.id = d.endpoint_id
             WHERE (?1 IS NULL OR d.endpoint_id = ?1)
             ORDER BY e.host, e.path_template, e.method, d.kind, d.item LIMIT ?2",
            )
            .bind(endpoint)
            .bind(limit)
            .fetch_all()
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
}

fn spec_operation(r: &DbRow) -> SpecOperation {
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
