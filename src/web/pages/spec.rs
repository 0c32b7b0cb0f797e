//! The Spec page (`GET /spec`, `templates/spec.html`): coverage of the imported API
//! specification and classification against it, and the spec upload (`POST /spec`, when
//! `--allow-spec-upload` allows it).

use super::{Chrome, Legend, bars, chrome, endpoints_link, legend, render};
use crate::store::dashboard::SpecSummary;
use crate::web::charts::{self, Bar, Svg};
use crate::web::spec_import::{self, ImportError};
use crate::web::{AppError, AppState, Session};
use askama::Template;
use axum::Extension;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

#[derive(Template)]
#[template(path = "spec.html")]
struct SpecPage {
    chrome: Chrome,
    s: SpecSummary,
    coverage: Svg,
    class_legend: Vec<Legend>,
    class_bar: Svg,
    message: Option<(bool, String)>,
    available: bool,
    /// Uploads accepted (`--allow-spec-upload`).
    upload_allowed: bool,
}

async fn spec_page(
    state: &AppState,
    session: &Session,
    message: Option<(bool, String)>,
) -> Result<SpecPage, AppError> {
    let s = state.dash().dashboard_spec().await?;
    let coverage = charts::stacked(
        &[
            Bar {
                label: "observed".into(),
                value: s.observed,
                class: "documented",
                href: None,
            },
            Bar {
                label: "never observed (dormant)".into(),
                value: s.operations - s.observed,
                class: "dormant",
                href: None,
            },
        ],
        600,
        14,
    );
    Ok(SpecPage {
        chrome: chrome(state, session, "/spec"),
        coverage,
        class_bar: charts::stacked(&bars(&s.classification, |_| None), 600, 14),
        class_legend: legend(&s.classification, |k| {
            endpoints_link(&[("class", k.to_string())])
        }),
        s,
        message,
        available: spec_import::AVAILABLE,
        upload_allowed: state.auth().spec_upload_allowed(),
    })
}

/// `GET /spec`.
pub async fn spec(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> Result<Response, AppError> {
    render(&spec_page(&state, &session, None).await?)
}

/// Reads the uploaded document of a multipart form (field `spec`).
pub async fn read_upload(mut form: Multipart) -> Result<(String, Vec<u8>), &'static str> {
    while let Ok(Some(field)) = form.next_field().await {
        if field.name() != Some("spec") {
            continue;
        }
        let name = field
            .file_name()
            .map(|n| n.chars().take(200).collect::<String>())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "upload".into());
        let bytes = field
            .bytes()
            .await
            .map_err(|_| "The upload could not be read (16 MiB at most).")?;
        if bytes.is_empty() {
            return Err("Choose a file to upload.");
        }
        return Ok((name, bytes.to_vec()));
    }
    Err("Choose a file to upload.")
}

/// `POST /spec` (multipart, field `spec`; CSRF checked by the guard).
pub async fn spec_upload(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    form: Multipart,
) -> Result<Response, AppError> {
    let message = match read_upload(form).await {
        Err(m) => (false, m.to_string()),
        Ok((name, bytes)) => {
            let path = state.local_store("Importing an API description")?.path();
            match spec_import::import_spec(path, &name, &bytes).await {
                Ok(o) => (true, o.summary),
                Err(e @ ImportError::Store(_)) => {
                    tracing::error!(error = %e, "dashboard: spec import failed");
                    (
                        false,
                        "The inventory could not be written (is the database file writable by the dashboard?). The server log has the details.".to_string(),
                    )
                }
                Err(e) => (false, e.to_string()),
            }
        }
    };
    let status = if message.0 {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = spec_page(&state, &session, Some(message)).await?;
    Ok((status, Html(page.render()?)).into_response())
}
