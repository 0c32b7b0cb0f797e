//! The dashboard's answers in tests: a request through `app(state).oneshot(...)` and what the
//! tests read from the answer.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// An answer of the dashboard.
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Resp {
    /// The body as JSON (panics with the body when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// The session cookie set, as `st_sid=...`.
    pub fn cookie(&self) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("st_sid="))
            .map(|v| v.split(';').next().unwrap().to_string())
    }

    /// The CSRF token of the page's forms.
    pub fn csrf(&self) -> String {
        let i = self
            .body
            .find("name=\"csrf\" value=\"")
            .expect("a form with a CSRF token");
        let rest = &self.body[i + "name=\"csrf\" value=\"".len()..];
        rest[..rest.find('"').unwrap()].to_string()
    }

    /// Rows of the endpoint table.
    pub fn rows(&self) -> usize {
        match self.body.find("<tbody>") {
            Some(i) => {
                let end = self.body[i..].find("</tbody>").unwrap() + i;
                self.body[i..end].matches("<tr>").count()
            }
            None => 0,
        }
    }

    /// Finding rows on the Findings page.
    pub fn findings(&self) -> usize {
        self.body.matches("<tr id=\"finding-").count()
    }
}

/// Sends `req` to the dashboard.
pub async fn send(app: &Router, req: Request<Body>) -> Resp {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    Resp {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}
