//! The JSON API under `/api/`: the data of each page, for automation. Same query parameters
//! as the pages; times are integer nanoseconds since the Unix epoch.

use super::pages::{self, EndpointParams, FindingParams, SequenceParams};
use super::spec_import::{self, ImportError};
use super::{ApiError, AppError, AppState};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

type ApiResult = Result<Response, ApiError>;

fn ok(v: impl serde::Serialize) -> ApiResult {
    Ok(Json(v).into_response())
}

/// `GET /api/`: what there is.
pub async fn index() -> ApiResult {
    ok(json!({
        "generator": format!("shadowtap {}", env!("CARGO_PKG_VERSION")),
        "auth": "a dashboard session cookie, or Authorization: Bearer <token> when a token is configured",
        "endpoints": {
            "GET /api/overview": "totals, classification and severity counts, calls per minute, newest endpoints and findings",
            "GET /api/endpoints": "a page of endpoints; parameters q, host, class, auth, sensitive (any|none|<class>), findings (yes|no), sort (path|method|requests|errors|clients|p50|p99|first_seen|last_seen|findings), dir (asc|desc), page, per",
            "GET /api/endpoints/{id}": "one endpoint: status mix, calls per minute, latency percentiles and histogram, parameters, bodies, auth, sensitive data, clients, transitions, findings, drift",
            "GET /api/findings": "findings grouped by kind; parameters severity, kind, host",
            "GET /api/sequences": "the transition graph of a host; parameter host",
            "GET /api/tls": "encrypted services from their TLS handshakes (versions, cipher suites, ALPN, certificate) and their clients (JA4, JA4S); parameter host",
            "GET /api/spec": "imported specs, coverage, dormant operations, shadow endpoints, drift",
            "POST /api/spec?name=<file name>": "import an OpenAPI document (the request body)",
            "GET /api/sensor": "live sensor numbers (under shadowtap run), ingested captures, summed counters and diagnostics",
            "GET /api/export/{format}": "sql, json, openapi, or csv-<view> (e.g. csv-api_endpoints)",
        }
    }))
}

/// `GET /api/overview`.
pub async fn overview(State(state): State<AppState>) -> ApiResult {
    ok(state.overview().await?)
}

/// `GET /api/endpoints`.
pub async fn endpoints(
    State(state): State<AppState>,
    Query(p): Query<EndpointParams>,
) -> ApiResult {
    let (q, page, per) = p.to_query();
    let list = state.store().dashboard_endpoints(&q, 24).await?;
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
    let id = state.store().merged_into(id).await?.unwrap_or(id);
    let e = state
        .store()
        .dashboard_endpoint(id)
        .await?
        .ok_or(AppError::NotFound)?;
    let latency = pages::latency(e.latency_hist.as_deref(), 28);
    let mut v = serde_json::to_value(&e).map_err(|x| AppError::Internal(x.to_string()))?;
    if let Value::Object(m) = &mut v {
        m.insert("latency".into(), json!(latency));
        if merged_from != id {
            m.insert("merged_from".into(), json!(merged_from));
        }
    }
    ok(v)
}

/// `GET /api/findings`.
pub async fn findings(State(state): State<AppState>, Query(p): Query<FindingParams>) -> ApiResult {
    let (rows, total) = state.store().dashboard_findings(&p.to_query()).await?;
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
    ok(json!({ "total": total, "groups": groups }))
}

/// `GET /api/sequences`.
pub async fn sequences(
    State(state): State<AppState>,
    Query(p): Query<SequenceParams>,
) -> ApiResult {
    let host = p.host.filter(|h| !h.trim().is_empty());
    ok(state
        .store()
        .dashboard_sequences(host.as_deref(), pages::MAX_EDGES)
        .await?)
}

/// Query of `GET /api/tls`.
#[derive(Debug, Default, Deserialize)]
pub struct TlsQuery {
    /// Only the services (and clients) of this host: an SNI, or a server address.
    pub host: Option<String>,
}

/// `GET /api/tls`: `{services, clients}`, the rows of `api_tls_services` and `api_tls_clients`
/// (as `shadowtap tls --json`).
pub async fn tls(State(state): State<AppState>, Query(q): Query<TlsQuery>) -> ApiResult {
    let host = q
        .host
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty());
    let services = state.store().tls_services(host.as_deref()).await?;
    let clients = state.store().tls_clients(host.as_deref()).await?;
    ok(json!({ "services": services, "clients": clients }))
}

/// `GET /api/spec`.
pub async fn spec(State(state): State<AppState>) -> ApiResult {
    let s = state.store().dashboard_spec().await?;
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
    match spec_import::import_spec(state.store().path(), &name, &body).await {
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

/// `GET /api/sensor`: `live` holds the running sensor's numbers (the same as `/metrics`) when
/// the dashboard is served by `shadowtap run`, and is null otherwise.
pub async fn sensor(State(state): State<AppState>) -> ApiResult {
    let (captures, totals) = pages::sensor_data(&state).await?;
    let (figures, hints) = pages::sensor_summary(captures.len(), &totals);
    ok(json!({
        "live": state.sensor().map(|s| s.snapshot()),
        "figures": figures,
        "diagnostics": hints,
        "totals": totals,
        "captures": captures,
    }))
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
