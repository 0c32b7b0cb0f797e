//! The Login page (`GET /login`, `templates/login.html`), `POST /login` with its per-client
//! throttle, and `POST /logout`.

use super::render;
use crate::web::{AppError, AppState, Session, assets, auth};
use askama::Template;
use axum::Extension;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    asset: String,
    csrf: String,
    next: String,
    error: Option<String>,
}

/// Query of the login page.
#[derive(Debug, Default, Deserialize)]
pub struct LoginQuery {
    /// Where to go after login.
    pub next: Option<String>,
}

/// Login form.
#[derive(Debug, Default, Deserialize)]
pub struct LoginForm {
    /// Password or token.
    #[serde(default)]
    pub password: String,
    /// Where to go after login.
    #[serde(default)]
    pub next: String,
}

/// A local path to go to after login (never another site), with anything unusual
/// percent-encoded.
fn safe_next(next: &str) -> String {
    if !next.starts_with('/') || next.starts_with("//") || next.starts_with("/\\") {
        return "/".into();
    }
    let mut out = String::with_capacity(next.len());
    for b in next.bytes().take(2000) {
        if b.is_ascii_alphanumeric() || b"-._~!$&()*+,;=:@/?%".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `GET /login`.
pub async fn login_form(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Query(q): Query<LoginQuery>,
) -> Result<Response, AppError> {
    let next = safe_next(q.next.as_deref().unwrap_or("/"));
    if !state.auth().enabled() || session.logged_in && !session.bearer {
        return Ok(Redirect::to(&next).into_response());
    }
    render(&LoginPage {
        asset: assets::VERSION.clone(),
        csrf: session.csrf,
        next,
        error: None,
    })
}

/// `POST /login` (CSRF checked by the guard).
pub async fn login(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    axum::Form(form): axum::Form<LoginForm>,
) -> Result<Response, AppError> {
    let next = safe_next(&form.next);
    if !state.auth().enabled() {
        return Ok(Redirect::to(&next).into_response());
    }
    let fail = |status: StatusCode, error: String| -> Result<Response, AppError> {
        let page = LoginPage {
            asset: assets::VERSION.clone(),
            csrf: session.csrf.clone(),
            next: next.clone(),
            error: Some(error),
        };
        Ok((status, Html(page.render()?)).into_response())
    };
    // Throttled per client address: one client's failures never lock out another.
    let throttle = state.auth().throttle();
    if let Err(wait) = throttle.check(session.client) {
        let mut resp = fail(StatusCode::TOO_MANY_REQUESTS, wait_message(wait))?;
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(ceil_secs(wait)));
        return Ok(resp);
    }
    let st = state.clone();
    let password = form.password;
    let ok = tokio::task::spawn_blocking(move || st.auth().verify_password(&password))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    if !ok {
        return match throttle.fail(session.client, auth::FailureKind::Login) {
            Some(wait) => fail(
                StatusCode::UNAUTHORIZED,
                format!("Wrong password or token. {}", wait_message(wait)),
            ),
            None => fail(StatusCode::UNAUTHORIZED, "Wrong password or token.".into()),
        };
    }
    // A new session id on login (no session fixation).
    state.auth().close_session(&session.sid);
    let sid = state.auth().open_session();
    let mut resp = Redirect::to(&next).into_response();
    if let Ok(v) = HeaderValue::from_str(&session.set_cookie(&sid)) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(resp)
}

/// Whole seconds of a wait, rounded up.
pub(crate) fn ceil_secs(wait: std::time::Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

/// "Too many failed attempts ..." with the wait.
pub(crate) fn wait_message(wait: std::time::Duration) -> String {
    let secs = ceil_secs(wait);
    format!(
        "Too many failed attempts from your address. Try again in {secs} second{}.",
        if secs == 1 { "" } else { "s" }
    )
}

/// `POST /logout` (CSRF checked by the guard).
pub async fn logout(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> Response {
    state.auth().close_session(&session.sid);
    let mut resp = Redirect::to("/login").into_response();
    if let Ok(v) = HeaderValue::from_str(&session.set_cookie(&state.auth().new_sid())) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}
