//! The web dashboard: server-rendered pages (axum + askama) and a JSON API over an inventory
//! opened read-only.
//!
//! [`app`] builds the router from an [`AppState`]; `shadowtap serve` and `shadowtap demo` bind
//! it with [`bind`] and run it with [`serve`]; tests call `app(state).oneshot(request)`.
//!
//! The dashboard displays hostile input (every string of a capture comes from the wire): askama
//! escapes everything it prints, markup built in Rust (charts, the graph) escapes its text
//! too, and every response carries a strict Content-Security-Policy (no inline script or style).
//! Authentication, sessions and CSRF are in [`auth`].

mod api;
pub mod api_doc;
mod assets;
pub mod auth;
pub mod charts;
pub mod explain;
pub mod fmt;
pub mod graph;
pub mod live;
mod pages;
pub mod range;
pub mod sarif;
pub mod service_map;
pub mod spec_import;

pub use auth::{AuthConfig, check_listen};
pub use live::{LiveSensor, SensorSnapshot};

use crate::store::dashboard::{Dashboard, Overview, Window};
use crate::store::pg::PgInventory;
use crate::store::{Store, StoreError};
use auth::AuthState;
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// Largest request body (a spec upload).
pub const MAX_UPLOAD: usize = 16 << 20;

/// The Content-Security-Policy of every response.
pub const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    /// The reads of every page, on either backend.
    dash: Dashboard,
    inventory: Inventory,
    auth: AuthState,
    /// The sensor running in this process (`shadowtap run`), if any.
    sensor: Option<Arc<dyn LiveSensor>>,
    db_label: String,
}

/// The inventory a dashboard shows.
pub enum Inventory {
    /// A sensor's SQLite file (`serve --db FILE`, `run`, `demo`).
    Local(Store),
    /// A fleet's central inventory on PostgreSQL (`serve --db postgres://...`): read-only,
    /// through the views its reader role is granted (see docs/fleet.md).
    Central(PgInventory),
}

impl AppState {
    /// The state of a dashboard over `store` (opened read-only by `serve`).
    pub fn new(store: Store, auth: AuthConfig) -> Result<AppState, String> {
        let db_label = store
            .path()
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(AppState {
            inner: Arc::new(Inner {
                auth: AuthState::new(auth)?,
                dash: store.dashboard(),
                inventory: Inventory::Local(store),
                sensor: None,
                db_label,
            }),
        })
    }

    /// The state of a dashboard over a fleet's centre, named `label` in the page header
    /// (the database's name, without credentials).
    pub fn central(
        central: PgInventory,
        label: String,
        auth: AuthConfig,
    ) -> Result<AppState, String> {
        Ok(AppState {
            inner: Arc::new(Inner {
                auth: AuthState::new(auth)?,
                dash: central.dashboard(),
                inventory: Inventory::Central(central),
                sensor: None,
                db_label: label,
            }),
        })
    }

    /// The reads of the pages.
    pub fn dash(&self) -> &Dashboard {
        &self.inner.dash
    }

    /// The local SQLite inventory; `None` on a fleet's centre.
    pub fn store(&self) -> Option<&Store> {
        match &self.inner.inventory {
            Inventory::Local(s) => Some(s),
            Inventory::Central(_) => None,
        }
    }

    /// The inventory shown.
    pub fn inventory(&self) -> &Inventory {
        &self.inner.inventory
    }

    /// The local store, or [`AppError::OnCentre`] naming what the centre does not do.
    pub fn local_store(&self, what: &'static str) -> Result<&Store, AppError> {
        self.store().ok_or(AppError::OnCentre(what))
    }

    /// Adds the live numbers of a sensor running in this process (`/metrics`, Sensor page).
    /// Call it right after [`AppState::new`], before the state is shared.
    pub fn with_sensor(mut self, sensor: Arc<dyn LiveSensor>) -> AppState {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.sensor = Some(sensor);
        }
        self
    }

    /// The sensor running in this process, if any.
    pub fn sensor(&self) -> Option<&Arc<dyn LiveSensor>> {
        self.inner.sensor.as_ref()
    }

    fn auth(&self) -> &AuthState {
        &self.inner.auth
    }

    /// The overview of what was seen in `window`, with its traffic series.
    pub async fn overview(&self, window: &Window) -> Result<Overview, StoreError> {
        let mut o = self.dash().dashboard_overview(window).await?;
        o.minutes = self.dash().dashboard_traffic(window).await?;
        Ok(o)
    }
}

/// `GET /metrics`: Prometheus text format; 404 when no sensor runs in this process.
async fn metrics(State(state): State<AppState>) -> Response {
    match state.sensor() {
        Some(s) => (
            [(header::CONTENT_TYPE, live::CONTENT_TYPE)],
            live::exposition(s.snapshot(), state.auth().throttle().stats()),
        )
            .into_response(),
        None if state.dash().is_central() => {
            let now_s = crate::time::Timestamp::now().as_nanos() / 1_000_000_000;
            let snapshot = match (
                pages::fleet_data(&state, now_s).await,
                state.dash().dashboard_delta_backlog().await,
            ) {
                (Ok(sensors), Ok(backlog)) => pages::fleet::CentreSnapshot { sensors, backlog },
                (Err(e), _) => return e.into_response(),
                (_, Err(e)) => return AppError::from(e).into_response(),
            };
            (
                [(header::CONTENT_TYPE, live::CONTENT_TYPE)],
                live::centre_exposition(snapshot, state.auth().throttle().stats()),
            )
                .into_response()
        }
        None => plain(
            StatusCode::NOT_FOUND,
            "No sensor runs in this process (metrics come with `shadowtap run`, or `serve` over a fleet's centre).\n",
        ),
    }
}

/// The session of a request, set by the guard middleware before any handler runs.
#[derive(Clone, Debug)]
pub struct Session {
    /// Session id (cookie `st_sid`).
    pub sid: String,
    /// CSRF token of the session.
    pub csrf: String,
    /// Logged in (or no authentication configured, or a valid bearer token).
    pub logged_in: bool,
    /// Authenticated by a bearer token (API).
    pub bearer: bool,
    /// The client's address (the connection's, or from `X-Forwarded-For` behind a trusted
    /// proxy; `::` when unknown), the key of login throttling.
    pub client: IpAddr,
    /// The dashboard is reached over HTTPS (`--cookie-secure`, or a trusted proxy said so):
    /// session cookies are `Secure`.
    pub secure: bool,
    /// The pages' time range (the URL's `range`, `from` and `to`, else the cookie's); all
    /// time under `/api/`, whose operations read their own parameters.
    pub range: range::PageRange,
    /// The request's path.
    pub path: String,
    /// The request's query parameters (the range picker sends the others back).
    pub query: Vec<(String, String)>,
}

impl Session {
    /// The `Set-Cookie` value for session id `sid`, `Secure` when the request came over HTTPS.
    pub fn set_cookie(&self, sid: &str) -> String {
        auth::set_cookie(sid, self.secure)
    }
}

/// Errors of handlers: details are logged, the client sees a generic message.
#[derive(Debug)]
pub enum AppError {
    /// No such page or endpoint.
    NotFound,
    /// The request is malformed (the message is shown: it must not echo input).
    BadRequest(&'static str),
    /// A query parameter's value is not one it takes: its name and what it takes (the value
    /// itself is not echoed).
    InvalidParam {
        /// The parameter.
        name: &'static str,
        /// The values it takes (or a description of them).
        allowed: Vec<String>,
    },
    /// The database failed.
    Store(StoreError),
    /// A template failed to render.
    Render(askama::Error),
    /// Something else failed.
    Internal(String),
    /// An action a fleet's centre does not take (the centre's dashboard is read-only, and
    /// some exports read what deltas do not carry): what, in words.
    OnCentre(&'static str),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        AppError::Store(e)
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::Render(e)
    }
}

impl AppError {
    fn status_and_message(&self) -> (StatusCode, std::borrow::Cow<'static, str>) {
        let (status, message) = match self {
            AppError::NotFound => (StatusCode::NOT_FOUND, "Not found."),
            AppError::BadRequest(m) => (StatusCode::BAD_REQUEST, *m),
            AppError::InvalidParam { name, allowed } => {
                return (
                    StatusCode::BAD_REQUEST,
                    format!(
                        "Invalid value for the parameter {name}: it takes {}.",
                        allowed.join(", ")
                    )
                    .into(),
                );
            }
            AppError::Store(e) => {
                tracing::error!(error = %e, "dashboard: database error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "The inventory could not be read. The server log has the details.",
                )
            }
            AppError::Render(e) => {
                tracing::error!(error = %e, "dashboard: template error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "The page could not be rendered. The server log has the details.",
                )
            }
            AppError::OnCentre(what) => {
                return (
                    StatusCode::CONFLICT,
                    format!(
                        "{what} is not available on a fleet's central inventory: do it on a sensor's own dashboard (see docs/fleet.md)."
                    )
                    .into(),
                );
            }
            AppError::Internal(e) => {
                tracing::error!(error = %e, "dashboard: internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong. The server log has the details.",
                )
            }
        };
        (status, message.into())
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, message) = self.status_and_message();
        pages::error_page(status, &message)
    }
}

/// An [`AppError`] answered as JSON (`{"error": "..."}`), for `/api/`.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = self.0.status_and_message();
        let mut body = serde_json::json!({ "error": message });
        if let AppError::InvalidParam { name, allowed } = &self.0 {
            body["parameter"] = serde_json::json!(name);
            body["allowed"] = serde_json::json!(allowed);
        }
        (status, axum::Json(body)).into_response()
    }
}

/// The router: pages, the JSON API, static assets, login; behind the guard (sessions, auth,
/// CSRF) and the security headers.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::overview))
        .route("/endpoints", get(pages::endpoints))
        .route("/endpoints/{id}", get(pages::endpoint))
        .route("/hosts", get(pages::hosts))
        .route("/hosts/{host}", get(pages::host))
        .route("/changes", get(pages::changes))
        .route("/findings", get(pages::findings))
        .route("/findings.sarif", get(pages::findings_sarif))
        .route("/findings/{id}/triage", post(pages::findings_triage))
        .route("/sequences", get(pages::sequences))
        .route("/tls", get(pages::tls))
        .route("/tls/{id}", get(pages::tls_service))
        .route(
            "/spec",
            get(pages::spec)
                .post(pages::spec_upload)
                .layer(DefaultBodyLimit::max(MAX_UPLOAD)),
        )
        .route("/sensor", get(pages::sensor))
        .route("/fleet", get(pages::fleet))
        .route("/export", get(pages::export))
        .route("/export/sql", get(pages::export_sql))
        .route("/export/json", get(pages::export_json))
        .route("/export/openapi.json", get(pages::export_openapi))
        .route("/export/csv/{view}", get(pages::export_csv))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/static/{file}", get(assets::serve))
        .route("/favicon.ico", get(assets::favicon))
        .route("/api", get(api::index))
        .route("/api/", get(api::index))
        .route("/api/overview", get(api::overview))
        .route("/api/endpoints", get(api::endpoints))
        .route("/api/endpoints/{id}", get(api::endpoint))
        .route("/api/hosts", get(api::hosts))
        .route("/api/hosts/{host}", get(api::host))
        .route("/api/changes", get(api::changes))
        .route("/api/findings", get(api::findings))
        .route("/api/findings/{id}/triage", post(api::findings_triage))
        .route("/api/sequences", get(api::sequences))
        .route("/api/tls", get(api::tls))
        .route(
            "/api/spec",
            get(api::spec)
                .post(api::spec_upload)
                .layer(DefaultBodyLimit::max(MAX_UPLOAD)),
        )
        .route("/api/sensor", get(api::sensor))
        .route("/api/fleet", get(api::fleet))
        .route("/api/export/{format}", get(api::export))
        .route("/api/openapi.json", get(api::openapi))
        .route("/api/{*rest}", any(api::not_found))
        .route("/metrics", get(metrics))
        .fallback(pages::not_found)
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

/// Security headers on every response.
async fn security_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), interest-cohort=()"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

fn plain(status: StatusCode, message: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message,
    )
        .into_response()
}

/// Sessions, authentication, DNS-rebinding protection and CSRF checks, before any handler.
async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let auth = state.auth();
    let path = req.uri().path().to_string();
    let header_str = |req: &Request, name: header::HeaderName| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    // Without authentication only loopback clients reach the server; a page elsewhere must
    // not reach it by rebinding its own name to 127.0.0.1.
    if !auth.enabled()
        && let Some(host) = header_str(&req, header::HOST)
        && !auth::loopback_host(&host)
    {
        return plain(
            StatusCode::FORBIDDEN,
            "This dashboard has no authentication configured and only answers requests addressed to localhost or a loopback address.\n",
        );
    }
    // Who is asking, and over what: the connection's address, or what a trusted proxy says.
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let (client, secure) = auth.client_of(
        peer,
        header_str(&req, header::HeaderName::from_static("x-forwarded-for")).as_deref(),
        header_str(&req, header::HeaderName::from_static("x-forwarded-proto")).as_deref(),
    );
    let cookie_sid = req
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|h| auth::cookie(h, auth::COOKIE))
        .filter(|s| AuthState::valid_sid(s))
        .map(String::from);
    let (sid, fresh) = match cookie_sid {
        Some(s) => (s, false),
        None => (auth.new_sid(), true),
    };
    // `/metrics` is for scrapers: bearer tokens and JSON errors, like the API.
    let api = path == "/api" || path.starts_with("/api/") || path == "/metrics";
    let with_cookie = |mut resp: Response| {
        if fresh && let Ok(v) = HeaderValue::from_str(&auth::set_cookie(&sid, secure)) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
        resp
    };
    // A bearer token is a guess like a login: throttled per client address.
    let authorization = header_str(&req, header::AUTHORIZATION).filter(|_| api && auth.enabled());
    let mut bearer = false;
    if let Some(h) = authorization {
        if let Err(wait) = auth.throttle().check(client) {
            return with_cookie(too_many_attempts(wait));
        }
        bearer = auth.bearer_ok(&h);
        if !bearer {
            auth.throttle().fail(client, auth::FailureKind::Bearer);
        }
    }
    let logged_in = !auth.enabled() || bearer || auth.logged_in(&sid);
    let public = path == "/login" || path.starts_with("/static/") || path == "/favicon.ico";
    if !logged_in && !public {
        if api {
            let mut resp = (
                StatusCode::UNAUTHORIZED,
                axum::Json(serde_json::json!({
                    "error": "authentication required: send Authorization: Bearer <token>"
                })),
            )
                .into_response();
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"shadowtap\""),
            );
            return with_cookie(resp);
        }
        let target = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        let location = format!("/login{}", fmt::query(&[("next", target)]));
        let mut resp = StatusCode::SEE_OTHER.into_response();
        if let Ok(v) = HeaderValue::from_str(&location) {
            resp.headers_mut().insert(header::LOCATION, v);
        }
        return with_cookie(resp);
    }
    // Spec uploads write to the inventory: refused unless allowed, before the body is read.
    // (Triage changes, the other write, need only what every POST needs.)
    if *req.method() == Method::POST
        && (path == "/spec" || path == "/api/spec")
        && !auth.spec_upload_allowed()
    {
        const OFF: &str = "Spec upload is turned off: this dashboard is read-only. Start it with --allow-spec-upload to import OpenAPI documents here, or use `shadowtap spec import`.";
        let resp = if api {
            (
                StatusCode::FORBIDDEN,
                axum::Json(serde_json::json!({ "error": OFF })),
            )
                .into_response()
        } else {
            pages::error_page(StatusCode::FORBIDDEN, OFF)
        };
        return with_cookie(resp);
    }
    let mut req = req;
    if !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) && !bearer {
        // Fetch metadata: browsers say where a request comes from.
        if let Some(site) = header_str(&req, header::HeaderName::from_static("sec-fetch-site"))
            && site != "same-origin"
            && site != "none"
        {
            return with_cookie(pages::error_page(
                StatusCode::FORBIDDEN,
                "Cross-site requests are refused.",
            ));
        }
        let ct = header_str(&req, header::CONTENT_TYPE).unwrap_or_default();
        let mut token = header_str(&req, header::HeaderName::from_static("x-csrf-token"));
        let (parts, body) = req.into_parts();
        let bytes = match axum::body::to_bytes(body, MAX_UPLOAD).await {
            Ok(b) => b,
            Err(_) => {
                return with_cookie(pages::error_page(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "The request is too large (16 MiB at most).",
                ));
            }
        };
        if token.is_none() {
            let ct_l = ct.to_ascii_lowercase();
            if ct_l.starts_with("application/x-www-form-urlencoded") {
                token = auth::form_field(&bytes, "csrf");
            } else if ct_l.starts_with("multipart/form-data") {
                token = auth::multipart_field(&bytes, &ct, "csrf");
            }
        }
        if fresh || !token.is_some_and(|t| auth.check_csrf(&sid, &t)) {
            let resp = if api {
                (
                    StatusCode::FORBIDDEN,
                    axum::Json(serde_json::json!({
                        "error": "CSRF token missing or invalid (send X-CSRF-Token, or authenticate with a bearer token)"
                    })),
                )
                    .into_response()
            } else {
                pages::error_page(
                    StatusCode::FORBIDDEN,
                    "The form's security token is missing or has expired. Reload the page and try again.",
                )
            };
            return with_cookie(resp);
        }
        req = Request::from_parts(parts, Body::from(bytes));
    }
    // The pages' time range: the URL's, kept in a cookie for the next pages, else the
    // cookie's (a stale or damaged cookie is dropped, a wrong URL is a 400).
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
    let (page_range, range_cookie) = if api || *req.method() != Method::GET {
        (range::PageRange::default(), None)
    } else {
        let cookie = req
            .headers()
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|h| auth::cookie(h, range::COOKIE))
            .map(str::to_string);
        let raw_query = req.uri().query().unwrap_or("").to_string();
        match range::PageRange::of_page(state.dash(), &raw_query, cookie.as_deref()).await {
            Ok(r) => r,
            Err(e) => return with_cookie(e.into_response()),
        }
    };
    req.extensions_mut().insert(Session {
        csrf: auth.csrf(&sid),
        sid: sid.clone(),
        logged_in,
        bearer,
        client,
        secure,
        range: page_range,
        path: path.clone(),
        query,
    });
    let mut resp = next.run(req).await;
    if let Some(q) = range_cookie
        && let Ok(v) = HeaderValue::from_str(&range::set_cookie(&q, secure))
    {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    let already = resp.headers().get_all(header::SET_COOKIE).iter().any(|v| {
        v.to_str()
            .is_ok_and(|s| s.starts_with(&format!("{}=", auth::COOKIE)))
    });
    if already { resp } else { with_cookie(resp) }
}

/// 429 with `Retry-After` (whole seconds, rounded up) and a JSON error: the client's address
/// has to wait after too many failed authentications (the login page says it in its own way).
fn too_many_attempts(wait: std::time::Duration) -> Response {
    let mut resp = (
        StatusCode::TOO_MANY_REQUESTS,
        axum::Json(serde_json::json!({ "error": pages::wait_message(wait) })),
    )
        .into_response();
    resp.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(pages::ceil_secs(wait)),
    );
    resp
}

/// Resolves `listen`, refuses a non-loopback address without authentication, and binds.
pub async fn bind(listen: &str, auth: &AuthConfig) -> Result<tokio::net::TcpListener, String> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host(listen)
        .await
        .map_err(|e| format!("--listen {listen}: {e}"))?
        .collect();
    let Some(addr) = addrs.first().copied() else {
        return Err(format!("--listen {listen}: no address"));
    };
    for a in &addrs {
        check_listen(a, auth)?;
    }
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))
}

/// The URL users open for a listener.
pub fn url_of(listener: &tokio::net::TcpListener) -> String {
    match listener.local_addr() {
        Ok(SocketAddr::V6(a)) => format!("http://[{}]:{}/", a.ip(), a.port()),
        Ok(a) => format!("http://{a}/"),
        Err(_) => "http://127.0.0.1/".into(),
    }
}

/// Serves until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // The peer address of every connection: login and bearer throttling are per client.
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
