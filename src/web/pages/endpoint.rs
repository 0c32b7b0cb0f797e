//! The Endpoint page (`GET /endpoints/{id}`, `templates/endpoint.html`): one endpoint's
//! figures, calls over time, statuses, latency (read from its stored histogram by [`latency`]),
//! bodies, transitions in and out ([`TransitionView`]), its risk score with the reasons, and
//! findings.

use super::tls::{ServiceView, host_services};
use super::{Chrome, FindingView, Kpi, chrome, finding_view, kpi, render};
use crate::store::dashboard::EndpointDetail;
use crate::web::charts::{self, Bar, Bin, Svg};
use crate::web::fmt;
use crate::web::{AppError, AppState, Session};
use askama::Template;
use axum::Extension;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};

/// Latency figures of an endpoint, from its stored HdrHistogram.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Latency {
    /// Responses measured.
    pub count: u64,
    /// (label, milliseconds): min, p50, p75, p90, p95, p99, p99.9, max, mean.
    pub percentiles: Vec<(String, f64)>,
    /// Log-spaced bins.
    pub bins: Vec<Bin>,
}

/// Reads an HdrHistogram V2 blob (microseconds) into percentiles and about `n` log-spaced bins.
pub fn latency(blob: Option<&[u8]>, n: usize) -> Option<Latency> {
    use hdrhistogram::Histogram;
    use hdrhistogram::serialization::Deserializer;
    let mut bytes = blob?;
    let h: Histogram<u32> = Deserializer::new().deserialize(&mut bytes).ok()?;
    if h.is_empty() {
        return None;
    }
    let ms = |us: u64| us as f64 / 1000.0;
    let mut percentiles = vec![("min".to_string(), ms(h.min()))];
    for (label, q) in [
        ("p50", 0.5),
        ("p75", 0.75),
        ("p90", 0.9),
        ("p95", 0.95),
        ("p99", 0.99),
        ("p99.9", 0.999),
    ] {
        percentiles.push((label.to_string(), ms(h.value_at_quantile(q))));
    }
    percentiles.push(("max".into(), ms(h.max())));
    percentiles.push(("mean".into(), h.mean() / 1000.0));
    let lo = h.min().max(1) as f64;
    let hi = (h.max() as f64).max(lo * 1.0001);
    // One value (or nearly): one bin.
    let n = if hi / lo < 1.05 { 1 } else { n.max(1) };
    let ratio = (hi / lo).powf(1.0 / n as f64);
    let edges: Vec<f64> = (0..=n).map(|i| lo * ratio.powi(i as i32)).collect();
    let mut bins: Vec<Bin> = (0..n)
        .map(|i| Bin {
            lo_ms: edges[i] / 1000.0,
            hi_ms: edges[i + 1] / 1000.0,
            count: 0,
        })
        .collect();
    for v in h.iter_recorded() {
        let x = v.value_iterated_to() as f64;
        let i = if x <= lo {
            0
        } else {
            (((x / lo).ln() / ratio.ln()).floor() as usize).min(n - 1)
        };
        bins[i].count += u64::from(v.count_at_value());
    }
    Some(Latency {
        count: h.len(),
        percentiles,
        bins,
    })
}

/// A transition, ready to show.
pub struct TransitionView {
    /// The other endpoint's page.
    pub href: String,
    /// Its method.
    pub method: String,
    /// Its path template.
    pub path: String,
    /// Its host.
    pub host: String,
    /// Times.
    pub count: i64,
    /// Clients.
    pub clients: i64,
}

#[derive(Template)]
#[template(path = "endpoint.html")]
struct EndpointPage {
    chrome: Chrome,
    e: EndpointDetail,
    kpis: Vec<Kpi>,
    calls: Svg,
    status: Svg,
    lat: Option<Latency>,
    lat_chart: Svg,
    bodies: Vec<(crate::store::dashboard::Body, String)>,
    t_in: Vec<TransitionView>,
    t_out: Vec<TransitionView>,
    findings: Vec<FindingView>,
    /// Why the risk score is what it is.
    reasons: Vec<String>,
    host_href: String,
    /// The encrypted services of the endpoint's host.
    tls_host: Vec<ServiceView>,
}

/// `GET /endpoints/{id}`.
pub async fn endpoint(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    // An endpoint merged into a more general template lives on under the survivor's id.
    if let Some(to) = state.dash().merged_into(id).await? {
        return Ok(Redirect::permanent(&format!("/endpoints/{to}")).into_response());
    }
    let e = state
        .dash()
        .dashboard_endpoint(id)
        .await?
        .ok_or(AppError::NotFound)?;
    let tls_host = host_services(&state, &e.endpoint.host).await?;
    let keys: Vec<String> = e.findings.iter().map(|f| f.dedup_key.clone()).collect();
    let mut histories = state
        .dash()
        .dashboard_triage_histories(&keys, super::findings::HISTORY_SHOWN)
        .await?;
    let r = &e.endpoint;
    let lat = latency(e.latency_hist.as_deref(), 28);
    let mut kpis = vec![
        kpi(
            "Requests",
            fmt::num(&r.request_count),
            format!("{} responses", fmt::num(&e.response_count)),
        ),
        Kpi {
            tone: if r.request_count > 0 && r.error_count * 10 > r.request_count {
                "warn"
            } else {
                ""
            },
            ..kpi(
                "Errors",
                fmt::num(&r.error_count),
                format!("{} of requests", fmt::pct(&r.error_count, &r.request_count)),
            )
        },
        kpi(
            "Clients",
            fmt::num(&r.client_count),
            "distinct addresses".into(),
        ),
        kpi(
            "Latency p50",
            fmt::ms(&r.p50_ms),
            format!("p90 {} · p99 {}", fmt::ms(&e.p90_ms), fmt::ms(&r.p99_ms)),
        ),
        kpi(
            "Bytes",
            fmt::bytes(&e.bytes_out),
            format!("{} received in requests", fmt::bytes(&e.bytes_in)),
        ),
    ];
    if r.findings > 0 {
        kpis.push(Kpi {
            tone: match r.max_severity.as_deref() {
                Some("critical" | "high") => "bad",
                _ => "warn",
            },
            ..kpi(
                "Findings",
                fmt::num(&r.findings),
                "active, see below".into(),
            )
        });
    }
    let status_bars: Vec<Bar> = e
        .status
        .iter()
        .map(|(s, c)| Bar {
            label: if *s == 0 {
                "no response".into()
            } else {
                s.to_string()
            },
            value: *c,
            class: fmt::status_class(s),
            href: None,
        })
        .collect();
    let transition = |t: &crate::store::dashboard::Transition, other: i64| TransitionView {
        href: format!("/endpoints/{other}"),
        method: t.method.clone(),
        path: t.path_template.clone(),
        host: t.host.clone(),
        count: t.count,
        clients: t.clients,
    };
    let reasons = super::risk_reasons(&e.risk);
    let page = EndpointPage {
        reasons,
        chrome: chrome(&state, &session, "/endpoints"),
        kpis,
        calls: charts::responsive(
            charts::time_series(&e.minutes, 1400, 220, 120),
            charts::time_series(&e.minutes, charts::NARROW, 200, 36),
        ),
        status: charts::responsive(
            charts::hbars(&status_bars, 680),
            charts::hbars(&status_bars, charts::NARROW),
        ),
        lat_chart: lat
            .as_ref()
            .map(|l| {
                charts::responsive(
                    charts::histogram(&l.bins, 680, 220),
                    charts::histogram(&l.bins, charts::NARROW, 200),
                )
            })
            .unwrap_or_default(),
        lat,
        bodies: e
            .bodies
            .iter()
            .map(|b| {
                let pretty = b
                    .schema
                    .as_ref()
                    .and_then(|s| serde_json::to_string_pretty(s).ok())
                    .unwrap_or_default();
                (b.clone(), pretty)
            })
            .collect(),
        t_in: e
            .transitions_in
            .iter()
            .map(|t| transition(t, t.from_id))
            .collect(),
        t_out: e
            .transitions_out
            .iter()
            .map(|t| transition(t, t.to_id))
            .collect(),
        findings: e
            .findings
            .iter()
            .cloned()
            .map(|f| {
                let history = histories.remove(&f.dedup_key).unwrap_or_default();
                let mut v = finding_view(f);
                v.history = history;
                v
            })
            .collect(),
        host_href: crate::web::service_map::host_href(&r.host),
        tls_host,
        e,
    };
    render(&page)
}
