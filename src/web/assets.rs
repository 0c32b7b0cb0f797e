//! Static assets, embedded in the binary (tap hosts are often offline: no CDN).

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::Digest;
use std::sync::LazyLock;

const CSS: &str = include_str!("../../templates/static/app.css");
const JS: &str = include_str!("../../templates/static/app.js");
const FAVICON: &str = include_str!("../../templates/static/favicon.svg");

/// A short hash of the assets, appended to their URLs so a long cache never serves stale files.
pub static VERSION: LazyLock<String> = LazyLock::new(|| {
    let mut h = sha2::Sha256::new();
    for a in [CSS, JS, FAVICON] {
        h.update(a.as_bytes());
    }
    h.finalize()
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect()
});

fn asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        body,
    )
        .into_response()
}

/// `GET /static/{file}`.
pub async fn serve(Path(file): Path<String>) -> Response {
    match file.as_str() {
        "app.css" => asset(CSS, "text/css; charset=utf-8"),
        "app.js" => asset(JS, "text/javascript; charset=utf-8"),
        "favicon.svg" => asset(FAVICON, "image/svg+xml"),
        _ => (StatusCode::NOT_FOUND, "no such asset\n").into_response(),
    }
}

/// `GET /favicon.ico` (browsers ask for it whatever the page says).
pub async fn favicon() -> Response {
    asset(FAVICON, "image/svg+xml")
}
