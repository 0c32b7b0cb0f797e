//! The JSON API under `/api/`: the data of each page, for automation. Same query parameters
//! as the pages, but checked: a value a parameter does not take is a 400 naming the parameter
//! and the values it takes (`{"error", "parameter", "allowed"}`); every error under `/api/`,
//! an unknown path included, is JSON. Times are RFC 3339 strings in UTC with nanoseconds
//! (`2025-01-01T12:00:00.120000000Z`: integer nanoseconds are above 2^53, which JavaScript
//! cannot hold exactly). Lists are paged (`page`, `per`; the answer says `total` and `pages`).

use super::api_doc::{self, MAX_CAPTURES_PER_PAGE, MAX_FINDINGS_PER_PAGE, MAX_TLS_PER_PAGE};
use super::pages::{
    self, ChangeParams, EndpointParams, FindingParams, HostPageParams, HostParams, SequenceParams,
};
use super::range::RangeParams;
use super::spec_import::{self, ImportError};
use super::{ApiError, AppError, AppState};
use crate::store::dashboard::{SortKey, Window};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

type ApiResult = Result<Response, ApiError>;

fn ok(v: impl serde::Serialize) -> ApiResult {
    let mut v = serde_json::to_value(v).map_err(|x| AppError::Internal(x.to_string()))?;
    rfc3339_times(&mut v);
    Ok(Json(v).into_response())
}

/// Fields that hold a time, as integer nanoseconds since the epoch, in the store's rows.
const TIME_FIELDS: [&str; 8] = [
    "first_seen",
    "last_seen",
    "ingested_at",
    "imported_at",
    "first_ts",
    "last_ts",
    "updated_at",
    "created_at",
];

/// Rewrites every time field (by name, at any depth) from integer nanoseconds to RFC 3339.
fn rfc3339_times(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                match x {
                    Value::Number(n) if TIME_FIELDS.contains(&k.as_str()) => {
                        if let Some(ns) = n.as_i64() {
                            *x = Value::String(crate::store::iso(ns));
                        }
                    }
                    _ => rfc3339_times(x),
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(rfc3339_times),
        _ => {}
    }
}

fn check_endpoint_params(p: &EndpointParams) -> Result<(), AppError> {
    api_doc::check(&api_doc::endpoint_params(), |name| {
        match name {
            "q" => &p.q,
            "host" => &p.host,
            "class" => &p.class,
            "auth" => &p.auth,
            "sensitive" => &p.sensitive,
            "findings" => &p.findings,
            "protocol" => &p.protocol,
            "min_severity" => &p.min_severity,
            "scope" => &p.scope,
            "source" => &p.source,
            "sensor" => &p.sensor,
            "sort" => &p.sort,
            "dir" => &p.dir,
            "page" => &p.page,
            "per" => &p.per,
            _ => &None,
        }
        .as_deref()
    })
}

fn check_finding_params(p: &FindingParams) -> Result<(), AppError> {
    api_doc::check(&api_doc::finding_params(), |name| {
        match name {
            "severity" => &p.severity,
            "kind" => &p.kind,
            "host" => &p.host,
            "q" => &p.q,
            "state" => &p.state,
            "page" => &p.page,
            "per" => &p.per,
            _ => &None,
        }
        .as_deref()
    })
}

/// The time range of a request: its own `range`, `from` and `to` (the pages' cookie plays
/// no part here), checked like every parameter.
async fn window_of(state: &AppState, r: &RangeParams) -> Result<Window, AppError> {
    api_doc::check(&api_doc::range_params(), |name| match name {
        "range" => r.range.as_deref(),
        "from" => r.from.as_deref(),
        "to" => r.to.as_deref(),
        _ => None,
    })?;
    r.resolve(state.dash()).await
}

/// Any other path under `/api/`: a JSON 404.
pub async fn not_found() -> ApiResult {
    Err(AppError::NotFound.into())
}

/// `GET /api/`: what there is.
pub async fn index() -> ApiResult {
    ok(json!({
        "generator": format!("shadowtap {}", env!("CARGO_PKG_VERSION")),
        "auth": "a dashboard session cookie, or Authorization: Bearer <token> when a token is configured",
        "conventions": "times are RFC 3339 strings (UTC, nanoseconds); a parameter value outside what it takes is a 400 {error, parameter, allowed}; every error is JSON {error}; lists are paged (page, per; total, pages in the answer)",
        "endpoints": api_doc::index(),
    }))
}

/// `GET /api/overview`.
pub async fn overview(State(state): State<AppState>, Query(r): Query<RangeParams>) -> ApiResult {
    let window = window_of(&state, &r).await?;
    ok(state.overview(&window).await?)
}

/// `GET /api/endpoints`.
pub async fn endpoints(
    State(state): State<AppState>,
    Query(p): Query<EndpointParams>,
    Query(r): Query<RangeParams>,
) -> ApiResult {
    check_endpoint_params(&p)?;
    let (mut q, page, per) = p.to_query(SortKey::default());
    q.window = window_of(&state, &r).await?;
    let list = state.dash().dashboard_endpoints(&q, 24).await?;
    ok(json!({
        "query": q,
        "page": page,
        "per_page": per,
        "pages": ((list.total + per - 1) / per).max(1),
        "total": list.total,
        "endpoints": list.rows,
    }))
}

/// `GET /api/endpoints/{id}`.
pub async fn endpoint(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult {
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    // A merged endpoint answers as its survivor, which says so.
    let merged_from = id;
    let id = state.dash().merged_into(id).await?.unwrap_or(id);
    let e = state
        .dash()
        .dashboard_endpoint(id)
        .await?
        .ok_or(AppError::NotFound)?;
    let latency = pages::latency(e.latency_hist.as_deref(), 28);
    let reasons = pages::risk_reasons(&e.risk);
    let mut v = serde_json::to_value(&e).map_err(|x| AppError::Internal(x.to_string()))?;
    if let Value::Object(m) = &mut v {
        m.insert("latency".into(), json!(latency));
        m.insert("risk_reasons".into(), json!(reasons));
        if merged_from != id {
            m.insert("merged_from".into(), json!(merged_from));
        }
    }
    ok(v)
}

/// `GET /api/findings`: a page of findings (most severe first), grouped by kind.
pub async fn findings(
    State(state): State<AppState>,
    Query(p): Query<FindingParams>,
    Query(r): Query<RangeParams>,
) -> ApiResult {
    check_finding_params(&p)?;
    let window = window_of(&state, &r).await?;
    let page: i64 = p
        .page
        .as_deref()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(1);
    let per: i64 = p
        .per
        .as_deref()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(MAX_FINDINGS_PER_PAGE);
    let mut q = p.to_query(crate::store::dashboard::StateFilter::All)?;
    q.window = window;
    q.limit = per;
    q.offset = (page - 1) * per;
    let (rows, total) = state.dash().dashboard_findings(&q).await?;
    let groups: Vec<Value> = pages::group_findings(rows)
        .into_iter()
        .map(|g| {
            json!({
                "kind": g.kind,
                "severity": g.severity,
                "title": g.explanation.title,
                "meaning": g.explanation.meaning,
                "action": g.explanation.action,
                "occurrences": g.occurrences,
                "findings": g.items.into_iter().map(|f| f.f).collect::<Vec<_>>(),
            })
        })
        .collect();
    ok(json!({
        "total": total,
        "page": page,
        "per_page": per,
        "pages": ((total + per - 1) / per).max(1),
        "groups": groups,
    }))
}

/// The body of `POST /api/findings/{id}/triage`.
#[derive(Debug, Deserialize)]
struct TriageBody {
    state: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    by: String,
}

/// `POST /api/findings/{id}/triage`: JSON `{state, reason, by}`; answers the change (`by`
/// defaults to `api`). Authenticated like the rest of `/api/`; a cookie session also needs
/// the `X-CSRF-Token` header (checked by the guard).
pub async fn findings_triage(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let id: i64 = id.trim().parse().map_err(|_| AppError::NotFound)?;
    let b: TriageBody = serde_json::from_slice(&body).map_err(|_| {
        AppError::BadRequest(
            "the body must be a JSON object {\"state\": ..., \"reason\": ..., \"by\": ...}",
        )
    })?;
    let by = if b.by.trim().is_empty() {
        "api"
    } else {
        b.by.as_str()
    };
    match pages::apply_triage(&state, id, &b.state, &b.reason, by).await {
        Ok(e) => ok(json!({
            "finding_id": id,
            "dedup_key": e.dedup_key,
            "from_state": e.from_state,
            "triage_state": e.to_state,
            "by": e.actor,
            "reason": e.reason,
            "at": crate::store::iso(e.at),
        })),
        Err(pages::TriageFailure::BadState) => Err(AppError::InvalidParam {
            name: "state",
            allowed: crate::store::TriageState::names()
                .into_iter()
                .map(String::from)
                .collect(),
        }
        .into()),
        Err(pages::TriageFailure::NotFound) => Err(AppError::NotFound.into()),
        Err(pages::TriageFailure::OnCentre) => {
            Err(AppError::OnCentre(pages::TRIAGE_ON_CENTRE).into())
        }
        Err(pages::TriageFailure::Store) => {
            Err(AppError::Internal("triage: the inventory could not be written".into()).into())
        }
    }
}

/// `GET /api/fleet`: the fleet's sensors and their health (`api_sensors`, with the
/// endpoints each saw and the Fleet page's health word).
pub async fn fleet(State(state): State<AppState>) -> ApiResult {
    let now_s = crate::time::Timestamp::now().as_nanos() / 1_000_000_000;
    let sensors = pages::fleet_data(&state, now_s).await?;
    ok(json!({ "sensors": sensors, "late_after_s": pages::fleet::LATE_AFTER_S }))
}

/// `GET /api/sequences`.
pub async fn sequences(
    State(state): State<AppState>,
    Query(p): Query<SequenceParams>,
    Query(r): Query<RangeParams>,
) -> ApiResult {
    let window = window_of(&state, &r).await?;
    let host = p.host.filter(|h| !h.trim().is_empty());
    ok(state
        .dash()
        .dashboard_sequences(host.as_deref(), pages::MAX_EDGES, &window)
        .await?)
}

/// Paging of a list answer: `page` (from 1) and `per` (1 to `max`, default `max`).
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    /// Page, from 1.
    pub page: Option<String>,
    /// Items per page.
    pub per: Option<String>,
}

impl PageQuery {
    /// Checked against `params` (their `page` and `per`): (page, per).
    fn get(&self, params: &[api_doc::Param], max: i64) -> Result<(i64, i64), AppError> {
        api_doc::check(params, |name| match name {
            "page" => self.page.as_deref(),
            "per" => self.per.as_deref(),
            _ => None,
        })?;
        let n = |v: &Option<String>, d| {
            v.as_deref()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(d)
        };
        Ok((n(&self.page, 1), n(&self.per, max)))
    }
}

/// The items of page `page` of `per`, and the paging fields of the answer.
fn paged<T>(items: Vec<T>, page: i64, per: i64) -> (Vec<T>, Value) {
    let total = items.len() as i64;
    let skip = usize::try_from((page - 1) * per).unwrap_or(usize::MAX);
    let take = usize::try_from(per).unwrap_or(usize::MAX);
    let items = items.into_iter().skip(skip).take(take).collect();
    let paging = json!({
        "total": total,
        "page": page,
        "per_page": per,
        "pages": ((total + per - 1) / per).max(1),
    });
    (items, paging)
}

/// Adds the paging fields to an answer object.
fn with_paging(mut v: Value, paging: Value) -> Value {
    if let (Value::Object(m), Value::Object(p)) = (&mut v, paging) {
        m.extend(p);
    }
    v
}

/// Query of `GET /api/tls`.
#[derive(Debug, Default, Deserialize)]
pub struct TlsQuery {
    /// Only the services (and clients) of this host: an SNI, or a server address.
    pub host: Option<String>,
    /// Page, from 1.
    pub page: Option<String>,
    /// Services per page.
    pub per: Option<String>,
}

/// `GET /api/tls`: `{services, clients}`, the rows of `api_tls_services` and `api_tls_clients`
/// (as `shadowtap tls --json`): a page of services, and the clients of those services.
pub async fn tls(
    State(state): State<AppState>,
    Query(q): Query<TlsQuery>,
    Query(r): Query<RangeParams>,
) -> ApiResult {
    let window = window_of(&state, &r).await?;
    let (page, per) = PageQuery {
        page: q.page,
        per: q.per,
    }
    .get(&api_doc::tls_params(), MAX_TLS_PER_PAGE)?;
    let host = q
        .host
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty());
    let services = state
        .dash()
        .tls_services_in(host.as_deref(), &window)
        .await?;
    let (services, paging) = paged(services, page, per);
    let ids: std::collections::HashSet<i64> = services.iter().map(|s| s.id).collect();
    let clients: Vec<_> = state
        .dash()
        .tls_clients(host.as_deref())
        .await?
        .into_iter()
        .filter(|c| ids.contains(&c.service_id))
        .collect();
    ok(with_paging(
        json!({ "services": services, "clients": clients }),
        paging,
    ))
}

/// `GET /api/spec`.
pub async fn spec(State(state): State<AppState>) -> ApiResult {
    let s = state.dash().dashboard_spec().await?;
    let mut v = serde_json::to_value(&s).map_err(|x| AppError::Internal(x.to_string()))?;
    if let Value::Object(m) = &mut v {
        m.insert("import_available".into(), json!(spec_import::AVAILABLE));
        m.insert(
            "upload_allowed".into(),
            json!(state.auth().spec_upload_allowed()),
        );
    }
    ok(v)
}

/// Query of `POST /api/spec`.
#[derive(Debug, Default, Deserialize)]
pub struct UploadQuery {
    /// File name of the document.
    pub name: Option<String>,
}

/// `POST /api/spec?name=...`: imports the request body.
pub async fn spec_upload(
    State(state): State<AppState>,
    Query(q): Query<UploadQuery>,
    body: Bytes,
) -> ApiResult {
    if body.is_empty() {
        return Err(AppError::BadRequest("empty body: send the OpenAPI document").into());
    }
    let name: String = q
        .name
        .unwrap_or_else(|| "upload".into())
        .chars()
        .take(200)
        .collect();
    let path = state.local_store("Importing an API description")?.path();
    match spec_import::import_spec(path, &name, &body).await {
        Ok(o) => ok(o),
        Err(ImportError::Store(e)) => Err(AppError::Internal(format!("spec import: {e}")).into()),
        Err(e @ ImportError::Unavailable) => Ok((
            StatusCode::NOT_IMPLEMENTED,
            Json(json!({ "error": e.to_string() })),
        )
            .into_response()),
        Err(e) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({ "error": e.to_string() })),
        )
            .into_response()),
    }
}

/// `GET /api/changes`: the change feed. `since` and `newest` are RFC 3339 like every time;
/// `hosts` counts the changes per host and kind (every page), `changes` is this page, grouped
/// by host; `unknown_first_seen` counts the rows whose first time is unknown (written before
/// migration 0014), never listed.
pub async fn changes(
    State(state): State<AppState>,
    Query(p): Query<ChangeParams>,
    Query(r): Query<RangeParams>,
) -> ApiResult {
    let window = window_of(&state, &r).await?;
    let newest = state.dash().dashboard_newest().await?;
    let (q, page, per) = p.to_query(newest, api_doc::MAX_CHANGES_PER_PAGE, true, &window)?;
    let d = state.dash().dashboard_changes(&q).await?;
    ok(json!({
        "since": crate::store::iso(d.since),
        "until": q.until.map(crate::store::iso),
        "newest": d.newest.map(crate::store::iso),
        "host": q.host,
        "kind": q.kind,
        "total": d.total,
        "page": page,
        "per_page": per,
        "pages": ((d.total + per - 1) / per).max(1),
        "kinds": d.kinds,
        "hosts": d.hosts,
        "unknown_first_seen": d.unknown,
        "changes": d.rows,
    }))
}

/// `GET /api/hosts`: a page of hosts (each with its `max_severity`) and the service map.
pub async fn hosts(
    State(state): State<AppState>,
    Query(p): Query<HostParams>,
    Query(r): Query<RangeParams>,
) -> ApiResult {
    p.check()?;
    let (mut q, page, per) = p.to_query();
    q.window = window_of(&state, &r).await?;
    let pairs = state.dash().dashboard_client_pairs(&q.window).await?;
    let list = state.dash().dashboard_hosts(&q, &pairs).await?;
    let map =
        crate::store::dashboard::ServiceMap::busiest(&pairs, pages::MAP_CLIENTS, pages::MAP_HOSTS);
    let rows: Vec<Value> = list
        .rows
        .iter()
        .map(|h| {
            let mut v = serde_json::to_value(h).unwrap_or(Value::Null);
            v["max_severity"] = json!(h.max_severity());
            v
        })
        .collect();
    ok(json!({
        "query": q,
        "total": list.total,
        "page": page,
        "per_page": per,
        "pages": ((list.total + per - 1) / per).max(1),
        "hosts": rows,
        "service_map": map,
    }))
}

/// `GET /api/hosts/{host}`: one host (a JSON 404 when no endpoint has it).
pub async fn host(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(p): Query<HostPageParams>,
    Query(r): Query<RangeParams>,
) -> ApiResult {
    p.check()?;
    let window = window_of(&state, &r).await?;
    let page = p
        .page
        .as_deref()
        .and_then(|v| v.trim().parse::<i64>().ok())
        .unwrap_or(1);
    let d = pages::host_data(&state, &name, page, &window).await?;
    let per = pages::HOST_ENDPOINTS_PER_PAGE;
    let mut host = serde_json::to_value(&d.row).map_err(|x| AppError::Internal(x.to_string()))?;
    host["max_severity"] = json!(d.row.max_severity());
    let tls_name = pages::tls_host(&d.row.host);
    let tls = if tls_name.is_empty() {
        Vec::new()
    } else {
        state
            .dash()
            .tls_services_in(Some(&tls_name), &window)
            .await?
    };
    ok(json!({
        "host": host,
        "endpoints": {
            "total": d.endpoints.total,
            "page": d.page,
            "per_page": per,
            "pages": ((d.endpoints.total + per - 1) / per).max(1),
            "endpoints": d.endpoints.rows,
        },
        "findings": { "total": d.findings.1, "findings": d.findings.0 },
        "top_clients": d.clients,
        "changes": {
            "since": crate::store::iso(d.changes.since),
            "total": d.changes.total,
            "kinds": d.changes.kinds,
            "changes": d.changes.rows,
        },
        "tls_services": tls,
        "service_map": d.map,
    }))
}

/// `GET /api/openapi.json`: the OpenAPI 3.1 description of this API.
pub async fn openapi() -> ApiResult {
    Ok(Json(api_doc::openapi()).into_response())
}

/// `GET /api/sensor`: `live` holds the running sensor's numbers (the same as `/metrics`) when
/// the dashboard is served by `shadowtap run`, and is null otherwise.
pub async fn sensor(State(state): State<AppState>, Query(q): Query<PageQuery>) -> ApiResult {
    let (page, per) = q.get(&api_doc::sensor_params(), MAX_CAPTURES_PER_PAGE)?;
    let (captures, totals) = pages::sensor_data(&state).await?;
    let (figures, hints) = pages::sensor_summary(captures.len(), &totals);
    // The paging fields count the captures.
    let (captures, paging) = paged(captures, page, per);
    ok(with_paging(
        json!({
            "live": state.sensor().map(|s| s.snapshot()),
            "figures": figures,
            "diagnostics": hints,
            "totals": totals,
            "captures": captures,
        }),
        paging,
    ))
}

/// `GET /api/export/{format}`.
pub async fn export(State(state): State<AppState>, Path(format): Path<String>) -> ApiResult {
    let resp = match format.as_str() {
        "sql" => pages::sql_dump(&state).await?,
        "json" => pages::json_doc(&state).await?,
        "openapi" => pages::openapi_doc(&state).await?,
        f => match f.strip_prefix("csv-") {
            Some(view) => pages::csv_view(&state, view).await?,
            None => return Err(AppError::NotFound.into()),
        },
    };
    Ok(resp)
}
