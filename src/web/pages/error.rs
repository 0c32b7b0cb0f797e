//! The error page (`templates/error.html`): HTML errors and the 404 fallback. It needs no
//! session, so it also serves errors raised before one exists (the guard, rate limits).

use crate::web::assets;
use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// The error page (no session needed).
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    reason: &'a str,
    message: &'a str,
    asset: &'a str,
}

/// An HTML error page.
pub fn error_page(status: StatusCode, message: &str) -> Response {
    let page = ErrorPage {
        status: status.as_u16(),
        reason: status.canonical_reason().unwrap_or("Error"),
        message,
        asset: &assets::VERSION,
    };
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => (status, "error\n").into_response(),
    }
}

/// Fallback: 404.
pub async fn not_found() -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        "There is no page here. The navigation bar lists the pages.",
    )
}
