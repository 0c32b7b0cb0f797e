//! The endpoint detail page: everything about one endpoint (parameters, bodies, auth,
//! sensitive data, clients, transitions, findings, drift, spec operations, how its template was
//! made), and where a merged endpoint id now leads.

use super::Dashboard;
use super::{Drift, EndpointListRow, FindingRow, MinuteCount, SpecOperation};
use super::{FINDING_COLUMNS, FINDING_JOIN, finding_row, severity_rank_sql, spec_operation};
use crate::store::StoreError;
use serde::Serialize;
use serde_json::Value;

use crate::store::db::DbRow;

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
    /// What its risk score is made of.
    pub risk: super::Risk,
    /// Findings about it.
    pub findings: Vec<FindingRow>,
    /// Drift from the spec.
    pub drift: Vec<Drift>,
    /// Documented operations matched to it.
    pub operations: Vec<SpecOperation>,
    /// The route of scanned source code that declares it (see `store::code`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub declared: Option<DeclaredAt>,
    /// The latency histogram (HdrHistogram V2, microseconds), as stored.
    #[serde(skip)]
    pub latency_hist: Option<Vec<u8>>,
    /// WebSocket figures, when its upgrades opened WebSocket connections (absent from the
    /// JSON otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub websocket: Option<crate::store::websocket::WebsocketRow>,
}

/// A route of scanned source code, as an endpoint's page shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DeclaredAt {
    /// Method as declared (`*`: every method).
    pub method: String,
    /// Path template as declared.
    pub path_template: String,
    /// Framework.
    pub framework: String,
    /// File, relative to its scanned directory.
    pub file: String,
    /// Line.
    pub line: i64,
    /// Handler as written (empty: none named).
    pub handler: String,
    /// Declared auth as written, comma-separated (empty: none seen).
    pub auth: String,
}

impl Dashboard {
    /// The endpoint an id leads to: itself, or the survivor it was merged into.
    pub async fn resolve_endpoint_id(&self, id: i64) -> Result<Option<i64>, StoreError> {
        let alive: Option<i64> = self
            .db
            .query("SELECT id FROM endpoints WHERE id = ?1")
            .bind(id)
            .fetch_optional_scalar()
            .await?;
        if alive.is_some() {
            return Ok(alive);
        }
        self.db
            .query("SELECT new_id FROM endpoint_aliases WHERE old_id = ?1")
            .bind(id)
            .fetch_optional_scalar()
            .await
    }

    /// The WebSocket figures of an endpoint (`api_websockets`), if it was upgraded.
    pub async fn endpoint_websocket(
        &self,
        id: i64,
    ) -> Result<Option<crate::store::websocket::WebsocketRow>, StoreError> {
        let Some(r) = self
            .db
            .query(
                "SELECT connections, messages_client, messages_server, text_client, binary_client,
                text_server, binary_server, bytes_client, bytes_server, max_message_bytes,
                p50_message_bytes, p99_message_bytes, close_codes, subprotocols, avg_duration_ms,
                max_duration_ms, deflate, accept_mismatches, not_decoded, stopped
             FROM api_websockets WHERE endpoint_id = ?",
            )
            .bind(id)
            .fetch_optional()
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(crate::store::websocket::WebsocketRow {
            connections: r.get(0),
            messages_client: r.get(1),
            messages_server: r.get(2),
            text_client: r.get(3),
            binary_client: r.get(4),
            text_server: r.get(5),
            binary_server: r.get(6),
            bytes_client: r.get(7),
            bytes_server: r.get(8),
            max_message_bytes: r.get(9),
            p50_message_bytes: r.get(10),
            p99_message_bytes: r.get(11),
            close_codes: serde_json::from_str(&r.get::<String, _>(12)).unwrap_or_default(),
            subprotocols: serde_json::from_str(&r.get::<String, _>(13)).unwrap_or_default(),
            avg_duration_ms: r.get(14),
            max_duration_ms: r.get(15),
            deflate: r.get(16),
            accept_mismatches: r.get(17),
            not_decoded: r.get(18),
            stopped: r.get(19),
        }))
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
        let e = self.db.query("SELECT template_rule, template_confidence, example_path, response_count, bytes_in, bytes_out, p90_ms, latency_hist,
                    template_explain
             FROM endpoints WHERE id = ?",)
        .bind(id)
        .fetch_one()
        .await?;
        let status = self
            .db
            .query(
                "SELECT status, count FROM endpoint_status WHERE endpoint_id = ? ORDER BY status",
            )
            .bind(id)
            .fetch_all()
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let minutes = self.db.query("SELECT minute, count, errors FROM endpoint_minutes WHERE endpoint_id = ? ORDER BY minute",)
        .bind(id)
        .fetch_all()
        .await?
        .iter()
        .map(|r| MinuteCount {
            minute: r.get(0),
            count: r.get(1),
            errors: r.get(2),
        })
        .collect();
        let params = self.db.query("SELECT location, name, types, present FROM endpoint_params WHERE endpoint_id = ?
             ORDER BY CASE location WHEN 'path' THEN 0 WHEN 'query' THEN 1 ELSE 2 END, name LIMIT 500",)
        .bind(id)
        .fetch_all()
        .await?
        .iter()
        .map(|r| Param {
            location: r.get(0),
            name: r.get(1),
            types: r.get(2),
            present: r.get(3),
        })
        .collect();
        let bodies = self.db.query("SELECT direction, status, content_type, count, samples, schema FROM endpoint_bodies WHERE endpoint_id = ?
             ORDER BY direction DESC, status, content_type",)
        .bind(id)
        .fetch_all()
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
        let auth = self.db.query("SELECT scheme, location, count, ok_count FROM endpoint_auth WHERE endpoint_id = ? ORDER BY count DESC, scheme",)
        .bind(id)
        .fetch_all()
        .await?
        .iter()
        .map(|r| Auth {
            scheme: r.get(0),
            location: r.get(1),
            count: r.get(2),
            ok_count: r.get(3),
        })
        .collect();
        let sensitive = self.db.query("SELECT class, location, field, count, example, first_seen, last_seen FROM endpoint_sensitive
             WHERE endpoint_id = ? ORDER BY count DESC, class, location, field LIMIT 500",)
        .bind(id)
        .fetch_all()
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
        let clients = self.db.query("SELECT client, count, first_seen, last_seen FROM endpoint_clients WHERE endpoint_id = ?
             ORDER BY count DESC, client LIMIT 20",)
        .bind(id)
        .fetch_all()
        .await?
        .iter()
        .map(|r| Client {
            client: r.get(0),
            count: r.get(1),
            first_seen: r.get(2),
            last_seen: r.get(3),
        })
        .collect();
        let transition = |r: &DbRow| Transition {
            from_id: r.get(0),
            to_id: r.get(1),
            host: r.get(2),
            method: r.get(3),
            path_template: r.get(4),
            count: r.get(5),
            clients: r.get(6),
        };
        let transitions_in = self.db.query("SELECT x.from_endpoint, x.to_endpoint, o.host, o.method, o.path_template, x.count, x.clients
             FROM transitions x JOIN endpoints o ON o.id = x.from_endpoint
             WHERE x.to_endpoint = ? ORDER BY x.count DESC LIMIT 50",)
        .bind(id)
        .fetch_all()
        .await?
        .iter()
        .map(transition)
        .collect();
        let transitions_out = self.db.query("SELECT x.from_endpoint, x.to_endpoint, o.host, o.method, o.path_template, x.count, x.clients
             FROM transitions x JOIN endpoints o ON o.id = x.to_endpoint
             WHERE x.from_endpoint = ? ORDER BY x.count DESC LIMIT 50",)
        .bind(id)
        .fetch_all()
        .await?
        .iter()
        .map(transition)
        .collect();
        let sev = severity_rank_sql("f.severity");
        let findings = self.db.query(format!(
            "SELECT {FINDING_COLUMNS} {FINDING_JOIN} WHERE e.id = ? ORDER BY {sev}, f.kind, f.id"
        ))
        .bind(id)
        .fetch_all()
        .await?
        .iter()
        .map(finding_row)
        .collect();
        let drift = self.drift(Some(id), 500).await?;
        let Some(risk) = self.dashboard_risk(id).await? else {
            return Ok(None);
        };
        let operations = self.db.query("SELECT o.id, s.name, o.host, o.method, o.path_template, o.operation_id, o.summary, o.deprecated, o.endpoint_id
             FROM spec_operations o JOIN specs s ON s.id = o.spec_id WHERE o.endpoint_id = ? ORDER BY o.id",)
        .bind(id)
        .fetch_all()
        .await?
        .iter()
        .map(spec_operation)
        .collect();
        let declared = self.db.query("SELECT r.method, r.path_template, r.framework, r.file, r.line, r.handler, r.auth
             FROM endpoint_code c JOIN declared_routes r ON r.id = c.route_id WHERE c.endpoint_id = ?",)
        .bind(id)
        .fetch_optional()
        .await?
        .map(|r| DeclaredAt {
            method: r.get(0),
            path_template: r.get(1),
            framework: r.get(2),
            file: r.get(3),
            line: r.get(4),
            handler: r.get(5),
            auth: r.get(6),
        });
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
            risk,
            findings,
            drift,
            operations,
            declared,
            websocket: self.endpoint_websocket(id).await?,
        }))
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
