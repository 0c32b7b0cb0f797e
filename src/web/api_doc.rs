//! What the JSON API takes and answers, written once: the parameters each operation checks
//! (the 400 `{error, parameter, allowed}` of [`check`] and the `enum`/`minimum`/`maximum`
//! of the description come from the same [`Param`] values), the operation list that
//! `GET /api/` shows, and the OpenAPI 3.1 description served at `GET /api/openapi.json`.
//!
//! A new operation is added to [`OPERATIONS`] (and routed in `web::app`); a test walks the
//! description and calls every operation it lists, so neither can drift from the other.

use super::AppError;
use serde_json::{Map, Value, json};

/// What a parameter takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Takes {
    /// One of these values (or nothing).
    OneOf(Vec<&'static str>),
    /// An integer from `lo` to `hi` (or nothing: `default`).
    Integer {
        /// Smallest value.
        lo: i64,
        /// Largest value.
        hi: i64,
        /// Value when absent.
        default: i64,
    },
    /// A time: RFC 3339, or a duration back from the newest request of the inventory
    /// ([`parse_since`]).
    Time,
    /// Any text.
    Text,
}

/// Units of a relative time, in nanoseconds.
const UNITS: [(char, i64); 4] = [
    ('m', 60_000_000_000),
    ('h', 3_600_000_000_000),
    ('d', 86_400_000_000_000),
    ('w', 604_800_000_000_000),
];

/// What a [`Takes::Time`] parameter takes, in words.
pub const TIME_VALUES: &str = "an RFC 3339 time (2025-01-31T12:00:00Z) or a duration back from the newest request: a whole number followed by m, h, d or w (30m, 24h, 7d, 2w)";

/// A `since` value: an RFC 3339 time, or a duration back from `newest` (the newest request of
/// the inventory, packet time: captures are often old) such as `24h`; nanoseconds since the
/// epoch, `None` when it is neither.
pub fn parse_since(v: &str, newest: i64) -> Option<i64> {
    let v = v.trim();
    if let Some(t) = crate::time::parse_rfc3339(v) {
        return Some(t);
    }
    let unit = v.chars().last()?;
    let (_, ns) = UNITS.iter().find(|(u, _)| *u == unit)?;
    let n = &v[..v.len() - 1];
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = n.parse().ok()?;
    Some(newest.saturating_sub(n.checked_mul(*ns)?))
}

/// Where a parameter goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum In {
    /// The query string.
    Query,
    /// A path segment (`{id}`).
    Path,
}

/// One parameter of an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// Name.
    pub name: &'static str,
    /// Where it goes.
    pub location: In,
    /// What it takes.
    pub takes: Takes,
    /// For people.
    pub about: &'static str,
}

impl Param {
    fn query(name: &'static str, takes: Takes, about: &'static str) -> Param {
        Param {
            name,
            location: In::Query,
            takes,
            about,
        }
    }

    fn path(name: &'static str, about: &'static str) -> Param {
        Param {
            name,
            location: In::Path,
            takes: Takes::Text,
            about,
        }
    }

    /// Checks `value` (absent and empty always pass): a 400 naming the parameter and what
    /// it takes otherwise.
    pub fn check(&self, value: Option<&str>) -> Result<(), AppError> {
        let v = match value.map(str::trim) {
            None | Some("") => return Ok(()),
            Some(v) => v,
        };
        match &self.takes {
            Takes::Text => Ok(()),
            Takes::Time if parse_since(v, 0).is_some() => Ok(()),
            Takes::Time => Err(AppError::InvalidParam {
                name: self.name,
                allowed: vec![TIME_VALUES.to_string()],
            }),
            Takes::OneOf(allowed) if allowed.contains(&v) => Ok(()),
            Takes::OneOf(allowed) => Err(AppError::InvalidParam {
                name: self.name,
                allowed: allowed.iter().map(|s| s.to_string()).collect(),
            }),
            Takes::Integer { lo, hi, .. }
                if v.parse::<i64>().is_ok_and(|n| (*lo..=*hi).contains(&n)) =>
            {
                Ok(())
            }
            Takes::Integer { lo, hi, .. } => Err(AppError::InvalidParam {
                name: self.name,
                allowed: vec![format!("an integer from {lo} to {hi}")],
            }),
        }
    }

    fn schema(&self) -> Value {
        match &self.takes {
            Takes::OneOf(v) => json!({ "type": "string", "enum": v }),
            Takes::Integer { lo, hi, default } => {
                json!({ "type": "integer", "minimum": lo, "maximum": hi, "default": default })
            }
            Takes::Time => json!({ "type": "string", "description": TIME_VALUES }),
            Takes::Text => json!({ "type": "string" }),
        }
    }
}

/// Checks every query parameter of `params` against `get(name)`.
pub fn check<'a>(params: &[Param], get: impl Fn(&str) -> Option<&'a str>) -> Result<(), AppError> {
    params
        .iter()
        .filter(|p| p.location == In::Query)
        .try_for_each(|p| p.check(get(p.name)))
}

/// Endpoint classifications (`class`).
pub const CLASSES: [&str; 7] = [
    "documented",
    "shadow",
    "zombie",
    "dormant",
    "probe",
    "uncovered",
    "unclassified",
];

/// Endpoint scopes (`scope`): `api` by default, `all` for every one.
pub const SCOPES: [&str; 5] = ["api", "static", "third_party", "ignored", "all"];

/// Findings per page of `GET /api/findings` at most (and by default).
pub const MAX_FINDINGS_PER_PAGE: i64 = 1000;
/// Services per page of `GET /api/tls` at most (and by default).
pub const MAX_TLS_PER_PAGE: i64 = 500;
/// Captures per page of `GET /api/sensor` at most (and by default).
pub const MAX_CAPTURES_PER_PAGE: i64 = 500;

fn page() -> Param {
    Param::query(
        "page",
        Takes::Integer {
            lo: 1,
            hi: 1_000_000,
            default: 1,
        },
        "page, from 1",
    )
}

fn per(lo: i64, hi: i64, default: i64) -> Param {
    Param::query("per", Takes::Integer { lo, hi, default }, "items per page")
}

/// The time range every list and count of the dashboard takes (`web::range`): a preset, or
/// `from` and `to`.
pub fn range_params() -> Vec<Param> {
    vec![
        Param::query(
            "range",
            Takes::OneOf(super::range::range_values()),
            "time range, ending at the newest request: all (the default), 1h, 24h, 7d, 30d; custom (or no range with from or to): from and to say",
        ),
        Param::query(
            "from",
            Takes::Text,
            "start of a custom range: an RFC 3339 time, a date and time in UTC (2025-01-31 12:00), or a duration back from the newest request (90m, 36h, 2w)",
        ),
        Param::query("to", Takes::Text, "end of a custom range, as from"),
    ]
}

fn with_range(mut params: Vec<Param>) -> Vec<Param> {
    params.extend(range_params());
    params
}

/// Parameters of `GET /api/endpoints` (and of the Endpoints page).
pub fn endpoint_params() -> Vec<Param> {
    use crate::analyze::auth::AuthScheme;
    use crate::analyze::sensitive::SensitiveClass;
    use crate::store::dashboard::SortKey;
    let sensitive: Vec<&'static str> = ["any", "none"]
        .into_iter()
        .chain(SensitiveClass::ALL.iter().map(|c| c.name()))
        .collect();
    with_range(vec![
        Param::query("q", Takes::Text, "search in host and path"),
        Param::query("host", Takes::Text, "only this host"),
        Param::query(
            "class",
            Takes::OneOf(CLASSES.to_vec()),
            "classification against the imported specs",
        ),
        Param::query(
            "auth",
            Takes::OneOf(AuthScheme::ALL.iter().map(|s| s.name()).collect()),
            "authentication scheme seen",
        ),
        Param::query(
            "sensitive",
            Takes::OneOf(sensitive),
            "sensitive data seen: any, none, or one class",
        ),
        Param::query(
            "findings",
            Takes::OneOf(vec!["yes", "no"]),
            "with or without findings",
        ),
        Param::query(
            "protocol",
            Takes::OneOf(
                crate::analyze::protocol::Protocol::ALL
                    .iter()
                    .map(|p| p.name())
                    .collect(),
            ),
            "protocol the endpoint was seen in",
        ),
        Param::query(
            "min_severity",
            Takes::OneOf(
                crate::analyze::posture::Severity::ALL
                    .iter()
                    .map(|s| s.name())
                    .collect(),
            ),
            "only endpoints whose most severe active finding is this severity or worse",
        ),
        Param::query(
            "scope",
            Takes::OneOf(SCOPES.to_vec()),
            "api (the default: APIs of ours), static, third_party, ignored, or all",
        ),
        Param::query(
            "source",
            Takes::OneOf(
                crate::store::dashboard::SOURCE_FILTERS
                    .iter()
                    .map(|(k, _)| *k)
                    .collect(),
            ),
            "only endpoints a source knows (wire, access_log, har, code, spec), or in a category of scanned code against traffic (undeclared, unobserved, not_enforced, outside_code)",
        ),
        Param::query(
            "sensor",
            Takes::Text,
            "only endpoints this sensor of a fleet saw (its name as it ships, api_endpoint_sensors)",
        ),
        Param::query(
            "sort",
            Takes::OneOf(SortKey::ALL.iter().map(|k| k.name()).collect()),
            "sort key (default: requests; risk: riskiest first)",
        ),
        Param::query("dir", Takes::OneOf(vec!["asc", "desc"]), "sort direction"),
        page(),
        per(10, 500, 50),
    ])
}

/// Parameters of `GET /api/findings`.
pub fn finding_params() -> Vec<Param> {
    use crate::analyze::posture::{KINDS, Severity};
    with_range(vec![
        Param::query(
            "severity",
            Takes::OneOf(Severity::ALL.iter().map(|s| s.name()).collect()),
            "only this severity",
        ),
        Param::query(
            "kind",
            Takes::OneOf(KINDS.iter().map(|(k, _)| *k).collect()),
            "only this kind",
        ),
        Param::query("host", Takes::Text, "only this host"),
        Param::query("q", Takes::Text, "search in kind, host, path and detail"),
        Param::query(
            "state",
            Takes::OneOf(crate::store::dashboard::StateFilter::names()),
            "triage state: one state, active (open and acknowledged), unsuppressed (all but false positives) or all (the default)",
        ),
        page(),
        per(1, MAX_FINDINGS_PER_PAGE, MAX_FINDINGS_PER_PAGE),
    ])
}

/// Parameters of `GET /api/tls`.
pub fn tls_params() -> Vec<Param> {
    with_range(vec![
        Param::query(
            "host",
            Takes::Text,
            "only the services (and clients) of this host: an SNI or a server address",
        ),
        page(),
        per(1, MAX_TLS_PER_PAGE, MAX_TLS_PER_PAGE),
    ])
}

/// Parameters of `GET /api/sensor`.
pub fn sensor_params() -> Vec<Param> {
    vec![page(), per(1, MAX_CAPTURES_PER_PAGE, MAX_CAPTURES_PER_PAGE)]
}

/// Change feed entries per page of `GET /api/changes` at most (and by default).
pub const MAX_CHANGES_PER_PAGE: i64 = 1000;
/// Hosts per page of `GET /api/hosts` at most.
pub const MAX_HOSTS_PER_PAGE: i64 = 500;

/// Parameters of `GET /api/changes` (and of the Changes page).
pub fn change_params() -> Vec<Param> {
    use crate::store::dashboard::ChangeKind;
    with_range(vec![
        Param::query(
            "since",
            Takes::Time,
            "changes first seen at or after this time (default: 24h, the last 24 hours before the newest request)",
        ),
        Param::query("host", Takes::Text, "only this host"),
        Param::query(
            "kind",
            Takes::OneOf(ChangeKind::ALL.iter().map(|k| k.name()).collect()),
            "only this kind of change",
        ),
        page(),
        per(1, MAX_CHANGES_PER_PAGE, 100),
    ])
}

/// Parameters of `GET /api/hosts` (and of the Hosts page).
pub fn host_params() -> Vec<Param> {
    use crate::store::dashboard::HostSort;
    with_range(vec![
        Param::query("q", Takes::Text, "search in the host name"),
        Param::query(
            "sort",
            Takes::OneOf(HostSort::ALL.iter().map(|k| k.name()).collect()),
            "sort key (default: requests)",
        ),
        Param::query("dir", Takes::OneOf(vec!["asc", "desc"]), "sort direction"),
        page(),
        per(1, MAX_HOSTS_PER_PAGE, 50),
    ])
}

/// Parameters of `GET /api/hosts/{host}`.
pub fn one_host_params() -> Vec<Param> {
    with_range(vec![
        Param::path("host", "the host name, percent-encoded"),
        Param::query(
            "page",
            Takes::Integer {
                lo: 1,
                hi: 1_000_000,
                default: 1,
            },
            "page of the host's endpoints (50 per page, riskiest first)",
        ),
    ])
}

/// One operation of the API.
pub struct Operation {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// Path, with `{name}` for path parameters.
    pub path: &'static str,
    /// What it answers.
    pub summary: &'static str,
    /// Its parameters.
    pub params: fn() -> Vec<Param>,
    /// The answer's media type.
    pub answers: &'static str,
    /// Media types of the request body (none: no body).
    pub body: &'static [&'static str],
}

fn none() -> Vec<Param> {
    Vec::new()
}

fn id() -> Vec<Param> {
    vec![Param::path(
        "id",
        "the endpoint's id (a merged endpoint's old id answers as its survivor, with merged_from)",
    )]
}

fn finding_id() -> Vec<Param> {
    vec![Param::path("id", "the finding's id")]
}

fn sequence_params() -> Vec<Param> {
    with_range(vec![Param::query(
        "host",
        Takes::Text,
        "the host (default: the one with the most transitions)",
    )])
}

fn spec_upload_params() -> Vec<Param> {
    vec![Param::query(
        "name",
        Takes::Text,
        "file name of the document",
    )]
}

fn export_params() -> Vec<Param> {
    vec![Param::path(
        "format",
        "sql, json, openapi, or csv-<view> (csv-api_endpoints, csv-api_findings, ...)",
    )]
}

/// Every operation of the JSON API, in the order `GET /api/` lists them.
pub const OPERATIONS: &[Operation] = &[
    Operation {
        method: "GET",
        path: "/api/overview",
        summary: "what to fix first (fix_first: active critical and high findings grouped by endpoint, riskiest first), totals, classification and severity counts, calls per minute, newest endpoints and findings; over what was seen in the time range",
        params: range_params,
        answers: "application/json",
        body: &[],
    },
    Operation {
        method: "GET",
        path: "/api/endpoints",
        summary: "a page of endpoints, each with its risk_score and max_severity",
        params: endpoint_params,
        answers: "application/json",
        body: &[],
    },
    Operation {
        method: "GET",
        path: "/api/endpoints/{id}",
        summary: "one endpoint: its risk (score, most severe active finding, what they are made of) and risk_reasons, status mix, calls per minute, latency percentiles and histogram, parameters, bodies, auth, sensitive data, clients, transitions, findings, drift",
        params: id,
        answers: "application/json",
        body: &[],
    },
    Operation {
        method: "GET",
        path: "/api/findings",
        summary: "a page of findings (most severe first, then most recently seen) grouped by kind, each with its triage state",
        params: finding_params,
        answers: "application/json",
        body: &[],
    },
    Operation {
        method: "POST",
        path: "/api/findings/{id}/triage",
        summary: "sets a finding's triage state from a JSON body {state: open|acknowledged|false_positive|resolved, reason, by}; answers the change (a cookie session also sends X-CSRF-Token)",
        params: finding_id,
        answers: "application/json",
        body: &["application/json"],
    },
    Operation {
        method: "GET",
        path: "/api/sequences",
        summary: "the transition graph of a host",
        params: sequence_params,
        answers: "application/json",
        body: &[],
    },
    Operation {
        method: "GET",
        path: "/api/tls",
        summary: "a page of encrypted services from their TLS handshakes (versions, cipher suites, ALPN, certificate) and their clients (JA4, JA4S)",
        params: tls_params,
        answers: "application/json",
        body: &[],
    },
    Operation {
        method: "GET",
        path: "/api/changes",
        summary: "the change feed: new endpoints, parameters, auth schemes, sensitive-data classes, TLS client fingerprints (JA4) and clients first seen since a time, counted per host and kind, a page of them grouped by host",
        params: change_params,
        answers: "application/json",
        body: &[],
    },
    Operation {
        method: "GET",
        path: "/api/hosts",
        summary: "a page of hosts (endpoints, requests, classification and spec coverage, active findings by severity, highest risk, clients, first and last request) and the service map (which clients call which hosts)",
        params: host_params,
        answers: "application/json",
        body: &[],
    },
    Operation {
        method: "GET",
        path: "/api/hosts/{host}",
        summary: "one host: its figures, a page of its endpoints by risk, active findings, top clients, changes of the last 24 hours, TLS services and its service map",
        params: one_host_params,
        answers: "application/json",
        body: &[],
    },
    Operation {
        method: "GET",
        path: "/api/spec",
        summary: "imported specs, coverage, dormant operations, shadow endpoints, drift",
        params: none,
        answers: "application/json",
        body: &[],
    },
    Operation {
        method: "POST",
        path: "/api/spec",
        summary: "import an OpenAPI document (the request body)",
        params: spec_upload_params,
        answers: "application/json",
        body: &["application/json", "application/yaml"],
    },
    Operation {
        method: "GET",
        path: "/api/sensor",
        summary: "live sensor numbers (under shadowtap run), a page of ingested captures, summed counters and diagnostics",
        params: sensor_params,
        answers: "application/json",
        body: &[],
    },
    Operation {
        method: "GET",
        path: "/api/fleet",
        summary: "a fleet's sensors as the centre last heard of them (api_sensors): latest delta, lag, deltas applied and parked, drops, endpoints seen, health",
        params: none,
        answers: "application/json",
        body: &[],
    },
    Operation {
        method: "GET",
        path: "/api/export/{format}",
        summary: "the inventory as SQL, JSON, OpenAPI or the CSV of one view",
        params: export_params,
        answers: "*/*",
        body: &[],
    },
    Operation {
        method: "GET",
        path: "/api/openapi.json",
        summary: "this description of the API (OpenAPI 3.1)",
        params: none,
        answers: "application/json",
        body: &[],
    },
];

/// The operation list of `GET /api/`: `"GET /api/endpoints": "a page of endpoints; parameters
/// q, host, ..."`.
pub fn index() -> Value {
    let mut ops = Map::new();
    for op in OPERATIONS {
        let params: Vec<&str> = (op.params)()
            .iter()
            .filter(|p| p.location == In::Query)
            .map(|p| p.name)
            .collect();
        let text = if params.is_empty() {
            op.summary.to_string()
        } else {
            format!("{}; parameters {}", op.summary, params.join(", "))
        };
        ops.insert(format!("{} {}", op.method, op.path), Value::String(text));
    }
    Value::Object(ops)
}

/// The OpenAPI 3.1 description of the API.
pub fn openapi() -> Value {
    let mut paths = Map::new();
    for op in OPERATIONS {
        let params: Vec<Value> = (op.params)()
            .iter()
            .map(|p| {
                let mut v = json!({
                    "name": p.name,
                    "in": match p.location { In::Query => "query", In::Path => "path" },
                    "description": p.about,
                    "schema": p.schema(),
                });
                if p.location == In::Path {
                    v["required"] = json!(true);
                }
                v
            })
            .collect();
        let mut responses = Map::new();
        responses.insert(
            "200".into(),
            json!({
                "description": op.summary,
                "content": { op.answers: { "schema": {} } },
            }),
        );
        let has_query = (op.params)()
            .iter()
            .any(|p| p.location == In::Query && p.takes != Takes::Text);
        if has_query || op.method == "POST" {
            responses.insert(
                "400".into(),
                json!({
                    "description": "a parameter value it does not take, or a body it cannot read",
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } },
                }),
            );
        }
        responses.insert(
            "401".into(),
            json!({
                "description": "no session or token (when the dashboard requires one)",
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } },
            }),
        );
        if op.path.contains('{') {
            responses.insert(
                "404".into(),
                json!({
                    "description": "no such item",
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } },
                }),
            );
        }
        let operation_id = op
            .path
            .trim_start_matches("/api/")
            .replace(['/', '.', '{', '}'], "_")
            .trim_matches('_')
            .to_string();
        let mut o = json!({
            "operationId": format!("{}_{}", op.method.to_ascii_lowercase(), operation_id),
            "summary": op.summary,
            "parameters": params,
            "responses": responses,
        });
        if !op.body.is_empty() {
            let content: Map<String, Value> = op
                .body
                .iter()
                .map(|m| (m.to_string(), json!({ "schema": {} })))
                .collect();
            o["requestBody"] = json!({ "required": true, "content": content });
        }
        let entry = paths
            .entry(op.path.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        entry[op.method.to_ascii_lowercase()] = o;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "shadowtap dashboard API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The JSON API of the shadowtap dashboard. Times are RFC 3339 strings (UTC, nanoseconds); a parameter value outside what it takes is a 400 {error, parameter, allowed}; every error is JSON {error}; lists are paged (page, per; the answer says total and pages).",
        },
        "paths": paths,
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": { "type": "string" },
                        "parameter": { "type": "string" },
                        "allowed": { "type": "array", "items": { "type": "string" } },
                    },
                },
            },
            "securitySchemes": {
                "session": { "type": "apiKey", "in": "cookie", "name": "st_sid" },
                "bearer": { "type": "http", "scheme": "bearer" },
            },
        },
        "security": [ { "session": [] }, { "bearer": [] } ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_and_description_take_the_same_values() {
        let params = endpoint_params();
        let class = params.iter().find(|p| p.name == "class").unwrap();
        assert!(class.check(Some("shadow")).is_ok());
        assert!(class.check(Some("")).is_ok());
        match class.check(Some("nope")) {
            Err(AppError::InvalidParam { name, allowed }) => {
                assert_eq!(name, "class");
                let doc = openapi();
                let listed = doc["paths"]["/api/endpoints"]["get"]["parameters"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|p| p["name"] == "class")
                    .unwrap()["schema"]["enum"]
                    .clone();
                assert_eq!(json!(allowed), listed);
            }
            other => panic!("{other:?}"),
        }
        let per = params.iter().find(|p| p.name == "per").unwrap();
        assert!(per.check(Some("9")).is_err());
        assert!(per.check(Some("10")).is_ok());
        assert!(per.check(Some("x")).is_err());
    }

    #[test]
    fn every_operation_is_in_the_index_and_the_description() {
        let idx = index();
        let doc = openapi();
        for op in OPERATIONS {
            assert!(idx.get(format!("{} {}", op.method, op.path)).is_some());
            assert!(doc["paths"][op.path][op.method.to_ascii_lowercase()].is_object());
        }
    }
}
