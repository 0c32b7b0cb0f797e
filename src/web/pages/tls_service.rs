//! The TLS service page (`GET /tls/{id}`, `templates/tls_service.html`): one encrypted
//! service: its figures, the versions, cipher suites and ALPN protocols negotiated (weak ones
//! flagged), the full server certificate, its clients with their JA4 and JA4S, and the HTTP
//! hosts of the same name.

use super::tls::{ServiceView, now_secs, service_view};
use super::{Chrome, Kpi, chrome, endpoints_link, kpi, render};
use crate::store::dashboard::Count;
use crate::store::tls::TlsClientRow;
use crate::web::fmt;
use crate::web::{AppError, AppState, Session};
use askama::Template;
use axum::Extension;
use axum::extract::{Path, State};
use axum::response::Response;

/// An HTTP host of the same name, with its endpoints' page.
pub struct HttpHost {
    /// The host as endpoints name it.
    pub host: Count,
    /// Its endpoints.
    pub href: String,
}

#[derive(Template)]
#[template(path = "tls_service.html")]
struct TlsServicePage {
    chrome: Chrome,
    v: ServiceView,
    kpis: Vec<Kpi>,
    alpn_offered: Vec<(String, i64)>,
    clients: Vec<TlsClientRow>,
    http: Vec<HttpHost>,
    json_href: String,
}

/// `GET /tls/{id}`.
pub async fn tls_service(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    let row = state
        .dash()
        .tls_services(None)
        .await?
        .into_iter()
        .find(|s| s.id == id)
        .ok_or(AppError::NotFound)?;
    let clients: Vec<TlsClientRow> = state
        .dash()
        .tls_clients(Some(&row.host))
        .await?
        .into_iter()
        .filter(|c| c.service_id == id)
        .collect();
    let http = state
        .dash()
        .dashboard_tls_http_hosts(&row.host)
        .await?
        .into_iter()
        .map(|c| HttpHost {
            href: endpoints_link(&[("host", c.key.clone())]),
            host: c,
        })
        .collect();
    let mut alpn_offered: Vec<(String, i64)> = row
        .alpn_offered
        .iter()
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    alpn_offered.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let v = service_view(row, now_secs());
    let s = &v.s;
    let mut kpis = vec![
        kpi(
            "Handshakes",
            fmt::num(&s.handshakes),
            format!(
                "{} resumed, {} incomplete",
                fmt::num(&s.resumed),
                fmt::num(&s.incomplete)
            ),
        ),
        kpi(
            "Clients",
            fmt::num(&s.client_count),
            "distinct addresses".into(),
        ),
        kpi(
            "JA4",
            fmt::num(&s.ja4_count),
            "distinct client TLS stacks".into(),
        ),
        kpi(
            "Bytes",
            fmt::bytes(&s.server_bytes),
            format!(
                "from the server; {} from clients",
                fmt::bytes(&s.client_bytes)
            ),
        ),
    ];
    if let Some(c) = &v.cert {
        kpis.push(Kpi {
            tone: match c.state {
                "expired" | "notyet" => "bad",
                "expiring" => "warn",
                _ => "",
            },
            ..kpi("Certificate", c.not_after.clone(), c.status.clone())
        });
    }
    let page = TlsServicePage {
        chrome: chrome(&state, &session, "/tls"),
        kpis,
        alpn_offered,
        clients,
        http,
        json_href: format!("/api/tls{}", fmt::query(&[("host", s.host.clone())])),
        v,
    };
    render(&page)
}
