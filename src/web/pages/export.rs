//! The Export page (`GET /export`, `templates/export.html`) and its downloads: the SQL dump,
//! the JSON document, the observed OpenAPI document and the public views as CSV.

use super::{Chrome, chrome, render};
use crate::web::{AppError, AppState, Session};
use askama::Template;
use axum::Extension;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

#[derive(Template)]
#[template(path = "export.html")]
struct ExportPage {
    chrome: Chrome,
    views: Vec<&'static str>,
}

/// `GET /export`.
pub async fn export(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> Result<Response, AppError> {
    render(&ExportPage {
        chrome: chrome(&state, &session, "/export"),
        views: crate::store::export::PUBLIC_VIEWS.to_vec(),
    })
}

/// A download.
pub fn download(body: Vec<u8>, content_type: &'static str, filename: &str) -> Response {
    let mut resp = (StatusCode::OK, body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

/// The SQL dump.
pub async fn sql_dump(state: &AppState) -> Result<Response, AppError> {
    let mut out = Vec::new();
    state
        .local_store("The SQLite dump (use pg_dump on the centre)")?
        .export_sql(&mut out)
        .await?;
    Ok(download(
        out,
        "application/sql; charset=utf-8",
        "shadowtap-inventory.sql",
    ))
}

/// The JSON document.
pub async fn json_doc(state: &AppState) -> Result<Response, AppError> {
    let v = match state.inventory() {
        crate::web::Inventory::Local(store) => store.export_json(None).await?,
        crate::web::Inventory::Central(c) => c.export_json_with(None, false).await?,
    };
    let body = serde_json::to_vec_pretty(&v).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(download(
        body,
        "application/json",
        "shadowtap-inventory.json",
    ))
}

/// The observed OpenAPI document.
pub async fn openapi_doc(state: &AppState) -> Result<Response, AppError> {
    let v = state
        .local_store("The observed OpenAPI document")?
        .export_openapi(None)
        .await?;
    let body = serde_json::to_vec_pretty(&v).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(download(
        body,
        "application/json",
        "shadowtap-observed-openapi.json",
    ))
}

/// One view as CSV.
pub async fn csv_view(state: &AppState, view: &str) -> Result<Response, AppError> {
    let view = view.strip_suffix(".csv").unwrap_or(view);
    let csv = state
        .dash()
        .dashboard_view_csv(view)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(download(
        csv.into_bytes(),
        "text/csv; charset=utf-8",
        &format!("{view}.csv"),
    ))
}

/// `GET /export/sql`.
pub async fn export_sql(State(state): State<AppState>) -> Result<Response, AppError> {
    sql_dump(&state).await
}

/// `GET /export/json`.
pub async fn export_json(State(state): State<AppState>) -> Result<Response, AppError> {
    json_doc(&state).await
}

/// `GET /export/openapi.json`.
pub async fn export_openapi(State(state): State<AppState>) -> Result<Response, AppError> {
    openapi_doc(&state).await
}

/// `GET /export/csv/{view}`.
pub async fn export_csv(
    State(state): State<AppState>,
    Path(view): Path<String>,
) -> Result<Response, AppError> {
    csv_view(&state, &view).await
}
