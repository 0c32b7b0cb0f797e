//! The HTML pages: one handler and one askama template struct per page.
//!
//! Templates receive the store's plain data and call the helpers of [`super::fmt`] to format
//! it; askama escapes everything printed. The only values printed unescaped are [`Svg`]s,
//! built by `charts` and `graph`, which escape their own text.

use super::charts::{self, Bar, Bin, Svg};
use super::explain::{self, Explanation};
use super::fmt;
use super::graph;
use super::spec_import::{self, ImportError};
use super::{AppError, AppState, Session, assets};
use crate::store::dashboard::{
    Count, EndpointDetail, EndpointListRow, EndpointQuery, Facets, FindingQuery, FindingRow,
    Overview, SortKey, SpecSummary,
};
use askama::Template;
use axum::Extension;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

// ---------------------------------------------------------------------------------------------
// Shared pieces

/// A link of the navigation bar.
pub struct NavItem {
    /// Target.
    pub href: &'static str,
    /// Text.
    pub label: &'static str,
    /// The current page.
    pub active: bool,
}

/// What every page's frame needs.
pub struct Chrome {
    /// Navigation.
    pub nav: Vec<NavItem>,
    /// CSRF token for forms.
    pub csrf: String,
    /// Authentication is on (show the logout button).
    pub auth: bool,
    /// Asset version (cache busting).
    pub asset: String,
    /// Inventory file name.
    pub db: String,
    /// shadowtap's version.
    pub version: &'static str,
}

const NAV: [(&str, &str); 8] = [
    ("/", "Overview"),
    ("/endpoints", "Endpoints"),
    ("/findings", "Findings"),
    ("/sequences", "Sequences"),
    ("/spec", "Spec"),
    ("/sensor", "Sensor"),
    ("/export", "Export"),
    ("/api/", "API"),
];

fn chrome(state: &AppState, session: &Session, active: &str) -> Chrome {
    Chrome {
        nav: NAV
            .iter()
            .filter(|(h, _)| *h != "/api/")
            .map(|(href, label)| NavItem {
                href,
                label,
                active: *href == active,
            })
            .collect(),
        csrf: session.csrf.clone(),
        auth: state.auth().enabled() && session.logged_in,
        asset: assets::VERSION.clone(),
        db: state.inner.db_label.clone(),
        version: env!("CARGO_PKG_VERSION"),
    }
}

fn render<T: Template>(t: &T) -> Result<Response, AppError> {
    Ok(Html(t.render()?).into_response())
}

/// A key figure.
pub struct Kpi {
    /// Label.
    pub label: &'static str,
    /// Value, formatted.
    pub value: String,
    /// A line under it.
    pub sub: String,
    /// Link.
    pub href: Option<String>,
    /// Tone: `""`, `warn`, `bad`, `good`.
    pub tone: &'static str,
}

fn kpi(label: &'static str, value: String, sub: String) -> Kpi {
    Kpi {
        label,
        value,
        sub,
        href: None,
        tone: "",
    }
}

/// An option of a `<select>`.
pub struct Opt {
    /// Value.
    pub value: String,
    /// Text.
    pub label: String,
    /// Selected.
    pub selected: bool,
}

/// A legend entry.
pub struct Legend {
    /// Text.
    pub label: String,
    /// Count.
    pub count: i64,
    /// Share of the total.
    pub pct: String,
    /// CSS class suffix (fixed set).
    pub class: &'static str,
    /// Link.
    pub href: String,
}

fn legend(counts: &[Count], link: impl Fn(&str) -> String) -> Vec<Legend> {
    let total: i64 = counts.iter().map(|c| c.count).sum();
    counts
        .iter()
        .map(|c| Legend {
            label: c.key.clone(),
            count: c.count,
            pct: fmt::pct(&c.count, &total),
            class: fmt::badge(&c.key),
            href: link(&c.key),
        })
        .collect()
}

fn bars(counts: &[Count], link: impl Fn(&str) -> Option<String>) -> Vec<Bar> {
    counts
        .iter()
        .map(|c| Bar {
            label: c.key.clone(),
            value: c.count,
            class: fmt::badge(&c.key),
            href: link(&c.key),
        })
        .collect()
}

/// A finding, ready to show.
pub struct FindingView {
    /// The finding.
    pub f: FindingRow,
    /// Title of its kind.
    pub title: &'static str,
    /// Its detail split into text and code runs.
    pub detail: Vec<(bool, String)>,
    /// Link to its endpoint.
    pub href: Option<String>,
}

fn finding_view(f: FindingRow) -> FindingView {
    FindingView {
        title: explain::explain(&f.kind).title,
        detail: fmt::code_runs(&f.detail),
        href: f.endpoint_id.map(|id| format!("/endpoints/{id}")),
        f,
    }
}

fn endpoints_link(pairs: &[(&str, String)]) -> String {
    format!("/endpoints{}", fmt::query(pairs))
}

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

// ---------------------------------------------------------------------------------------------
// Overview

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    chrome: Chrome,
    d: Overview,
    kpis: Vec<Kpi>,
    traffic: Svg,
    class_bar: Svg,
    class_legend: Vec<Legend>,
    classified: bool,
    severity: Svg,
    hosts: Svg,
    findings: Vec<FindingView>,
    window: String,
}

/// `GET /`.
pub async fn overview(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> Result<Response, AppError> {
    let d = state.overview().await?;
    let t = &d.totals;
    let sev = |k: &str| {
        d.severity
            .iter()
            .find(|c| c.key == k)
            .map_or(0, |c| c.count)
    };
    let (critical, high) = (sev("critical"), sev("high"));
    let shadow = d
        .classification
        .iter()
        .filter(|c| c.key == "shadow" || c.key == "zombie")
        .map(|c| c.count)
        .sum::<i64>();
    let classified = d.classification.iter().any(|c| c.key != "unclassified");
    let mut kpis = vec![
        Kpi {
            href: Some("/endpoints".into()),
            ..kpi("Hosts", fmt::num(&t.hosts), "API hosts seen".into())
        },
        Kpi {
            href: Some("/endpoints".into()),
            ..kpi(
                "Endpoints",
                fmt::num(&t.endpoints),
                if classified {
                    format!("{} shadow or zombie", fmt::num(&shadow))
                } else {
                    "method + path template".into()
                },
            )
        },
        kpi(
            "Calls",
            fmt::short(&t.calls),
            format!(
                "{} errors ({})",
                fmt::num(&t.errors),
                fmt::pct(&t.errors, &t.calls)
            ),
        ),
        kpi("Clients", fmt::num(&t.clients), "distinct addresses".into()),
        Kpi {
            href: Some("/findings".into()),
            tone: if critical > 0 {
                "bad"
            } else if high > 0 {
                "warn"
            } else {
                ""
            },
            ..kpi(
                "Findings",
                fmt::num(&t.findings),
                format!("{} critical, {} high", fmt::num(&critical), fmt::num(&high)),
            )
        },
    ];
    if classified && shadow > 0 {
        kpis[1].tone = "warn";
    }
    let window = match (t.first_seen, t.last_seen) {
        (Some(a), Some(b)) => format!(
            "{} → {} ({})",
            fmt::ts(&a),
            fmt::ts(&b),
            fmt::duration_ns(b - a)
        ),
        _ => String::new(),
    };
    let class_link = |k: &str| endpoints_link(&[("class", k.to_string())]);
    let page = OverviewPage {
        chrome: chrome(&state, &session, "/"),
        kpis,
        traffic: charts::time_series(&d.minutes, 1400, 240, 120),
        class_bar: charts::stacked(&bars(&d.classification, |_| None), 600, 14),
        class_legend: legend(&d.classification, class_link),
        classified,
        severity: charts::hbars(
            &bars(&d.severity, |k| {
                Some(format!(
                    "/findings{}",
                    fmt::query(&[("severity", k.into())])
                ))
            }),
            680,
        ),
        hosts: charts::hbars(
            &d.hosts
                .iter()
                .map(|c| Bar {
                    label: c.key.clone(),
                    value: c.count,
                    class: "host",
                    href: Some(endpoints_link(&[("host", c.key.clone())])),
                })
                .collect::<Vec<_>>(),
            1400,
        ),
        findings: d
            .newest_findings
            .iter()
            .cloned()
            .map(finding_view)
            .collect(),
        window,
        d,
    };
    render(&page)
}

// ---------------------------------------------------------------------------------------------
// Endpoints

/// Query parameters of the endpoint list (all optional; unknown values are ignored).
#[derive(Clone, Debug, Default, Deserialize, serde::Serialize)]
pub struct EndpointParams {
    /// Search.
    pub q: Option<String>,
    /// Host.
    pub host: Option<String>,
    /// Classification.
    pub class: Option<String>,
    /// Auth scheme.
    pub auth: Option<String>,
    /// Sensitive data (`any`, `none` or a class).
    pub sensitive: Option<String>,
    /// `yes` or `no`.
    pub findings: Option<String>,
    /// Sort key.
    pub sort: Option<String>,
    /// `asc` or `desc`.
    pub dir: Option<String>,
    /// Page (from 1).
    pub page: Option<String>,
    /// Rows per page.
    pub per: Option<String>,
}

fn nonempty(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.chars().take(512).collect())
}

impl EndpointParams {
    /// The store query, the page number and rows per page.
    pub fn to_query(&self) -> (EndpointQuery, i64, i64) {
        let sort = self
            .sort
            .as_deref()
            .and_then(SortKey::parse)
            .unwrap_or_default();
        let desc = match self.dir.as_deref() {
            Some("asc") => false,
            Some("desc") => true,
            _ => sort.default_desc(),
        };
        let per = self
            .per
            .as_deref()
            .and_then(|p| p.parse::<i64>().ok())
            .unwrap_or(50)
            .clamp(10, 500);
        let page = self
            .page
            .as_deref()
            .and_then(|p| p.parse::<i64>().ok())
            .unwrap_or(1)
            .clamp(1, 1_000_000);
        let q = EndpointQuery {
            q: nonempty(&self.q),
            host: nonempty(&self.host),
            classification: nonempty(&self.class),
            auth: nonempty(&self.auth),
            sensitive: nonempty(&self.sensitive),
            has_findings: match self.findings.as_deref() {
                Some("yes") => Some(true),
                Some("no") => Some(false),
                _ => None,
            },
            sort,
            desc,
            offset: (page - 1) * per,
            limit: per,
        };
        (q, page, per)
    }

    fn pairs(&self) -> Vec<(&'static str, String)> {
        let v = |s: &Option<String>| nonempty(s).unwrap_or_default();
        vec![
            ("q", v(&self.q)),
            ("host", v(&self.host)),
            ("class", v(&self.class)),
            ("auth", v(&self.auth)),
            ("sensitive", v(&self.sensitive)),
            ("findings", v(&self.findings)),
            ("sort", v(&self.sort)),
            ("dir", v(&self.dir)),
            ("per", v(&self.per)),
            ("page", v(&self.page)),
        ]
    }

    /// This list's URL with some parameters replaced (an empty value removes one).
    fn link(&self, changes: &[(&str, String)]) -> String {
        let mut pairs = self.pairs();
        for (k, v) in changes {
            if let Some(p) = pairs.iter_mut().find(|p| p.0 == *k) {
                p.1 = v.clone();
            }
        }
        endpoints_link(&pairs)
    }

    fn filtered(&self) -> bool {
        [
            &self.q,
            &self.host,
            &self.class,
            &self.auth,
            &self.sensitive,
            &self.findings,
        ]
        .iter()
        .any(|v| nonempty(v).is_some())
    }
}

/// A column header.
pub struct Header {
    /// Text.
    pub label: &'static str,
    /// Sort link (None: not sortable).
    pub href: Option<String>,
    /// `asc`/`desc` when the list is sorted by it.
    pub sorted: &'static str,
    /// Numeric column.
    pub num: bool,
    /// Tooltip.
    pub title: &'static str,
}

/// A link of the pager.
pub struct PageLink {
    /// Text.
    pub label: String,
    /// Target (None: the current page or a gap).
    pub href: Option<String>,
    /// The current page.
    pub current: bool,
}

/// An endpoint row with its sparkline.
pub struct RowView {
    /// The row.
    pub r: EndpointListRow,
    /// Activity sparkline.
    pub spark: Svg,
    /// Link to the endpoint.
    pub href: String,
    /// Link to its host's endpoints.
    pub host_href: String,
}

#[derive(Template)]
#[template(path = "endpoints.html")]
struct EndpointsPage {
    chrome: Chrome,
    q: String,
    hosts: Vec<Opt>,
    classes: Vec<Opt>,
    auths: Vec<Opt>,
    sensitive: Vec<Opt>,
    findings: Vec<Opt>,
    pers: Vec<Opt>,
    headers: Vec<Header>,
    rows: Vec<RowView>,
    total: i64,
    from: i64,
    to: i64,
    pager: Vec<PageLink>,
    prev: Option<String>,
    next: Option<String>,
    filtered: bool,
    sort: String,
    dir: String,
}

fn options(current: &Option<String>, any: &str, values: Vec<(String, String)>) -> Vec<Opt> {
    let cur = nonempty(current);
    let mut out = vec![Opt {
        value: String::new(),
        label: any.to_string(),
        selected: cur.is_none(),
    }];
    let mut found = cur.is_none();
    for (value, label) in values {
        let selected = cur.as_deref() == Some(value.as_str());
        found |= selected;
        out.push(Opt {
            value,
            label,
            selected,
        });
    }
    if !found {
        // A value from the URL that no endpoint has (any more): keep it visible.
        let v = cur.unwrap_or_default();
        out.push(Opt {
            label: format!("{v} (none)"),
            value: v,
            selected: true,
        });
    }
    out
}

fn facet_options(p: &EndpointParams, facets: &Facets) -> [Vec<Opt>; 6] {
    let with_count = |c: &Count, name: String| (c.key.clone(), format!("{name} ({})", c.count));
    [
        options(
            &p.host,
            "All hosts",
            facets
                .hosts
                .iter()
                .map(|c| with_count(c, fmt::trunc(&c.key, 60)))
                .collect(),
        ),
        options(
            &p.class,
            "Any classification",
            facets
                .classifications
                .iter()
                .map(|c| with_count(c, c.key.clone()))
                .collect(),
        ),
        options(
            &p.auth,
            "Any auth",
            facets
                .auth
                .iter()
                .map(|c| with_count(c, fmt::auth_name(&c.key)))
                .collect(),
        ),
        options(
            &p.sensitive,
            "Sensitive data: any or none",
            std::iter::once(("any".to_string(), "With sensitive data".to_string()))
                .chain(std::iter::once((
                    "none".to_string(),
                    "Without sensitive data".to_string(),
                )))
                .chain(
                    facets
                        .sensitive
                        .iter()
                        .map(|c| with_count(c, c.key.replace('_', " "))),
                )
                .collect(),
        ),
        options(
            &p.findings,
            "Findings: any",
            vec![
                ("yes".into(), "With findings".into()),
                ("no".into(), "Without findings".into()),
            ],
        ),
        options(
            &p.per,
            "50 per page",
            ["25", "100", "250", "500"]
                .iter()
                .map(|n| (n.to_string(), format!("{n} per page")))
                .collect(),
        ),
    ]
}

/// `GET /endpoints`.
pub async fn endpoints(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Query(p): Query<EndpointParams>,
) -> Result<Response, AppError> {
    let (q, page, per) = p.to_query();
    let list = state.store().dashboard_endpoints(&q, 24).await?;
    let facets = state.store().dashboard_facets().await?;
    let pages = ((list.total + per - 1) / per).max(1);
    let cols: [(&str, Option<SortKey>, bool, &str); 13] = [
        ("Method", Some(SortKey::Method), false, "HTTP method"),
        (
            "Endpoint",
            Some(SortKey::Path),
            false,
            "Host and path template",
        ),
        (
            "Class",
            None,
            false,
            "Classification against the imported spec",
        ),
        ("Auth", None, false, "Authentication schemes seen"),
        ("Sensitive", None, false, "Sensitive data classes seen"),
        ("Requests", Some(SortKey::Requests), true, "Requests"),
        (
            "Errors",
            Some(SortKey::Errors),
            true,
            "Responses with status 400 or more",
        ),
        (
            "Clients",
            Some(SortKey::Clients),
            true,
            "Distinct client addresses",
        ),
        ("p50", Some(SortKey::P50), true, "Median latency"),
        ("p99", Some(SortKey::P99), true, "99th percentile latency"),
        (
            "Findings",
            Some(SortKey::Findings),
            true,
            "Findings about the endpoint",
        ),
        (
            "Activity",
            None,
            false,
            "Calls over the inventory's time range",
        ),
        ("Last seen", Some(SortKey::LastSeen), true, "Last request"),
    ];
    let headers = cols
        .iter()
        .map(|(label, key, num, title)| {
            let sorted = match key {
                Some(k) if *k == q.sort => {
                    if q.desc {
                        "desc"
                    } else {
                        "asc"
                    }
                }
                _ => "",
            };
            Header {
                label,
                href: key.map(|k| {
                    let dir = if k == q.sort {
                        if q.desc { "asc" } else { "desc" }
                    } else if k.default_desc() {
                        "desc"
                    } else {
                        "asc"
                    };
                    p.link(&[
                        ("sort", k.name().to_string()),
                        ("dir", dir.to_string()),
                        ("page", String::new()),
                    ])
                }),
                sorted,
                num: *num,
                title,
            }
        })
        .collect();
    let page_link =
        |n: i64| p.link(&[("page", if n == 1 { String::new() } else { n.to_string() })]);
    let mut pager = Vec::new();
    let mut last = 0;
    for n in 1..=pages {
        if n == 1 || n == pages || (n - page).abs() <= 2 {
            if last != 0 && n != last + 1 {
                pager.push(PageLink {
                    label: "…".into(),
                    href: None,
                    current: false,
                });
            }
            pager.push(PageLink {
                label: n.to_string(),
                href: (n != page).then(|| page_link(n)),
                current: n == page,
            });
            last = n;
        }
    }
    let rows: Vec<RowView> = list
        .rows
        .into_iter()
        .map(|r| RowView {
            spark: charts::sparkline(&r.activity, 96, 22),
            href: format!("/endpoints/{}", r.id),
            host_href: p.link(&[("host", r.host.clone()), ("page", String::new())]),
            r,
        })
        .collect();
    let [hosts, classes, auths, sensitive, findings, pers] = facet_options(&p, &facets);
    let page_view = EndpointsPage {
        chrome: chrome(&state, &session, "/endpoints"),
        q: nonempty(&p.q).unwrap_or_default(),
        hosts,
        classes,
        auths,
        sensitive,
        findings,
        pers,
        headers,
        from: if list.total == 0 { 0 } else { q.offset + 1 },
        to: q.offset + rows.len() as i64,
        rows,
        total: list.total,
        prev: (page > 1).then(|| page_link(page - 1)),
        next: (page < pages).then(|| page_link(page + 1)),
        pager,
        filtered: p.filtered(),
        sort: nonempty(&p.sort).unwrap_or_default(),
        dir: nonempty(&p.dir).unwrap_or_default(),
    };
    render(&page_view)
}

// ---------------------------------------------------------------------------------------------
// Endpoint

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
    host_href: String,
}

/// `GET /endpoints/{id}`.
pub async fn endpoint(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    // An endpoint merged into a more general template lives on under the survivor's id.
    if let Some(to) = state.store().merged_into(id).await? {
        return Ok(Redirect::permanent(&format!("/endpoints/{to}")).into_response());
    }
    let e = state
        .store()
        .dashboard_endpoint(id)
        .await?
        .ok_or(AppError::NotFound)?;
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
            tone: "bad",
            ..kpi("Findings", fmt::num(&r.findings), "see below".into())
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
    let page = EndpointPage {
        chrome: chrome(&state, &session, "/endpoints"),
        kpis,
        calls: charts::time_series(&e.minutes, 1400, 220, 120),
        status: charts::hbars(&status_bars, 680),
        lat_chart: lat
            .as_ref()
            .map(|l| charts::histogram(&l.bins, 680, 220))
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
        findings: e.findings.iter().cloned().map(finding_view).collect(),
        host_href: endpoints_link(&[("host", r.host.clone())]),
        e,
    };
    render(&page)
}

// ---------------------------------------------------------------------------------------------
// Findings

/// Query parameters of the findings page.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct FindingParams {
    /// Severity.
    pub severity: Option<String>,
    /// Kind.
    pub kind: Option<String>,
    /// Host.
    pub host: Option<String>,
}

impl FindingParams {
    /// The store query.
    pub fn to_query(&self) -> FindingQuery {
        FindingQuery {
            severity: nonempty(&self.severity),
            kind: nonempty(&self.kind),
            host: nonempty(&self.host),
            limit: 5000,
        }
    }
}

/// Findings of one kind.
pub struct FindingGroup {
    /// Kind.
    pub kind: String,
    /// Severity.
    pub severity: String,
    /// Words about it.
    pub explanation: Explanation,
    /// Its findings.
    pub items: Vec<FindingView>,
    /// Sum of their occurrences.
    pub occurrences: i64,
}

/// Groups findings by (severity, kind), most severe first.
pub fn group_findings(rows: Vec<FindingRow>) -> Vec<FindingGroup> {
    let mut groups: BTreeMap<(u8, String, String), Vec<FindingRow>> = BTreeMap::new();
    for f in rows {
        groups
            .entry((
                explain::severity_rank(&f.severity),
                f.kind.clone(),
                f.severity.clone(),
            ))
            .or_default()
            .push(f);
    }
    groups
        .into_iter()
        .map(|((_, kind, severity), items)| FindingGroup {
            explanation: explain::explain(&kind),
            occurrences: items.iter().map(|f| f.count).sum(),
            items: items.into_iter().map(finding_view).collect(),
            kind,
            severity,
        })
        .collect()
}

/// A filter chip.
pub struct Chip {
    /// Text.
    pub label: String,
    /// CSS class suffix (fixed set).
    pub class: &'static str,
    /// Count.
    pub count: i64,
    /// Link.
    pub href: String,
    /// Selected.
    pub active: bool,
}

#[derive(Template)]
#[template(path = "findings.html")]
struct FindingsPage {
    chrome: Chrome,
    groups: Vec<FindingGroup>,
    total: i64,
    shown: usize,
    chips: Vec<Chip>,
    kinds: Vec<Chip>,
    filtered: bool,
    all_href: String,
}

/// `GET /findings`.
pub async fn findings(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Query(p): Query<FindingParams>,
) -> Result<Response, AppError> {
    let q = p.to_query();
    let (rows, total) = state.store().dashboard_findings(&q).await?;
    let mut by_sev: BTreeMap<(u8, String), i64> = BTreeMap::new();
    let mut by_kind: BTreeMap<(u8, String), i64> = BTreeMap::new();
    for (severity, kind, n) in state.store().dashboard_finding_counts().await? {
        let rank = explain::severity_rank(&severity);
        *by_sev.entry((rank, severity)).or_default() += n;
        *by_kind.entry((rank, kind)).or_default() += n;
    }
    let link = |sev: Option<&str>, kind: Option<&str>| {
        format!(
            "/findings{}",
            fmt::query(&[
                ("severity", sev.unwrap_or("").to_string()),
                ("kind", kind.unwrap_or("").to_string()),
                ("host", nonempty(&p.host).unwrap_or_default()),
            ])
        )
    };
    let chips = by_sev
        .into_iter()
        .map(|((_, s), n)| Chip {
            href: link(Some(&s), None),
            active: q.severity.as_deref() == Some(s.as_str()),
            class: fmt::badge(&s),
            label: s,
            count: n,
        })
        .collect();
    let kinds = by_kind
        .into_iter()
        .map(|((_, k), n)| Chip {
            href: link(None, Some(&k)),
            active: q.kind.as_deref() == Some(k.as_str()),
            class: "kind",
            label: explain::explain(&k).title.to_string(),
            count: n,
        })
        .collect();
    let shown = rows.len();
    let page = FindingsPage {
        chrome: chrome(&state, &session, "/findings"),
        groups: group_findings(rows),
        total,
        shown,
        chips,
        kinds,
        filtered: q.severity.is_some() || q.kind.is_some() || q.host.is_some(),
        all_href: "/findings".into(),
    };
    render(&page)
}

// ---------------------------------------------------------------------------------------------
// Sequences

/// Query parameters of the sequences page.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct SequenceParams {
    /// Host.
    pub host: Option<String>,
}

/// Transitions drawn at most.
pub const MAX_EDGES: i64 = 400;

#[derive(Template)]
#[template(path = "sequences.html")]
struct SequencesPage {
    chrome: Chrome,
    hosts: Vec<Opt>,
    host: Option<String>,
    graph: Svg,
    edges: Vec<(TransitionView, TransitionView)>,
    nodes: usize,
    drawn: usize,
    omitted: i64,
    paths: Vec<(Vec<TransitionView>, i64, i64)>,
    findings: Vec<crate::store::dashboard::SequenceFinding>,
}

/// `GET /sequences`.
pub async fn sequences(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Query(p): Query<SequenceParams>,
) -> Result<Response, AppError> {
    let host = nonempty(&p.host);
    let s = state
        .store()
        .dashboard_sequences(host.as_deref(), MAX_EDGES)
        .await?;
    let nodes: Vec<graph::Node> = s
        .nodes
        .iter()
        .map(|n| graph::Node {
            id: n.id,
            method: n.method.clone(),
            path: if Some(&n.host) == s.host.as_ref() {
                n.path_template.clone()
            } else {
                format!("{}{}", n.host, n.path_template)
            },
            requests: n.request_count,
        })
        .collect();
    let edges: Vec<graph::Edge> = s
        .edges
        .iter()
        .map(|e| graph::Edge {
            from: e.from,
            to: e.to,
            count: e.count,
            clients: e.clients,
        })
        .collect();
    let by_id: BTreeMap<i64, &crate::store::dashboard::GraphNode> =
        s.nodes.iter().map(|n| (n.id, n)).collect();
    let view = |id: i64, count: i64, clients: i64| {
        let n = by_id.get(&id);
        TransitionView {
            href: format!("/endpoints/{id}"),
            method: n.map(|n| n.method.clone()).unwrap_or_default(),
            path: n.map(|n| n.path_template.clone()).unwrap_or_default(),
            host: n.map(|n| n.host.clone()).unwrap_or_default(),
            count,
            clients,
        }
    };
    let table = s
        .edges
        .iter()
        .take(100)
        .map(|e| {
            (
                view(e.from, e.count, e.clients),
                view(e.to, e.count, e.clients),
            )
        })
        .collect();
    let page = SequencesPage {
        chrome: chrome(&state, &session, "/sequences"),
        hosts: s
            .hosts
            .iter()
            .map(|c| Opt {
                selected: Some(&c.key) == s.host.as_ref(),
                label: format!("{} ({} transitions)", fmt::trunc(&c.key, 60), c.count),
                value: c.key.clone(),
            })
            .collect(),
        graph: graph::draw(&nodes, &edges),
        edges: table,
        nodes: nodes.len(),
        drawn: s.edges.len(),
        omitted: s.edges_omitted,
        paths: s
            .paths
            .iter()
            .map(|p| {
                (
                    p.steps
                        .iter()
                        .map(|(id, method, path)| TransitionView {
                            href: format!("/endpoints/{id}"),
                            method: method.clone(),
                            path: path.clone(),
                            host: String::new(),
                            count: p.count,
                            clients: p.clients,
                        })
                        .collect(),
                    p.count,
                    p.clients,
                )
            })
            .collect(),
        findings: s.findings,
        host: s.host,
    };
    render(&page)
}

// ---------------------------------------------------------------------------------------------
// Spec

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
    let s = state.store().dashboard_spec().await?;
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
            match spec_import::import_spec(state.store().path(), &name, &bytes).await {
                Ok(o) => (true, o.summary),
                Err(e @ ImportError::Store(_)) => {
                    eprintln!("shadowtap serve: spec import: {e}");
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

// ---------------------------------------------------------------------------------------------
// Sensor

/// Sums the numbers of JSON documents of the same shape.
pub fn sum_json(acc: &mut Value, v: &Value) {
    match (acc, v) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, bv) in b {
                match a.get_mut(k) {
                    Some(av) => sum_json(av, bv),
                    None => {
                        a.insert(k.clone(), bv.clone());
                    }
                }
            }
        }
        (a @ Value::Number(_), Value::Number(b)) => {
            let s = a
                .as_u64()
                .unwrap_or(0)
                .saturating_add(b.as_u64().unwrap_or(0));
            *a = Value::from(s);
        }
        (a @ Value::Null, b) => *a = b.clone(),
        _ => {}
    }
}

fn get(v: &Value, path: &str) -> u64 {
    v.pointer(path).and_then(Value::as_u64).unwrap_or(0)
}

fn sum_of(v: &Value, path: &str) -> u64 {
    match v.pointer(path) {
        Some(Value::Object(m)) => m.values().map(|x| sum_of(x, "")).sum(),
        Some(x) => x.as_u64().unwrap_or(0),
        None => 0,
    }
}

/// A key sensor figure.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Figure {
    /// Name.
    pub label: &'static str,
    /// Value.
    pub value: u64,
    /// What it counts.
    pub help: &'static str,
    /// Worth attention when non-zero.
    pub bad_if_nonzero: bool,
}

/// A diagnostic: why the inventory may be empty or incomplete.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Hint {
    /// `ok`, `info`, `warn` or `bad`.
    pub level: &'static str,
    /// Words.
    pub text: String,
}

/// The sensor's figures and diagnostics over summed counters.
pub fn sensor_summary(captures: usize, totals: &Value) -> (Vec<Figure>, Vec<Hint>) {
    let g = |p: &str| get(totals, p);
    let parse_errors = g("/engine/http/bad_heads")
        + g("/engine/http/malformed_request_lines")
        + g("/engine/http/bad_chunked")
        + g("/engine/http/bad_content_length")
        + g("/engine/http/heads_too_large")
        + g("/engine/http/too_many_headers");
    let drops = g("/engine/capture/dropped") + g("/engine/capture/if_dropped");
    let decode_errors = sum_of(totals, "/engine/packets/decode_errors");
    let figures = vec![
        Figure {
            label: "Packets",
            value: g("/engine/packets/packets"),
            help: "frames read from captures or the interface",
            bad_if_nonzero: false,
        },
        Figure {
            label: "Bytes",
            value: g("/engine/packets/bytes"),
            help: "bytes of those frames",
            bad_if_nonzero: false,
        },
        Figure {
            label: "Kernel drops",
            value: drops,
            help: "frames the kernel or interface dropped (live capture)",
            bad_if_nonzero: true,
        },
        Figure {
            label: "TCP gaps",
            value: g("/engine/tcp/gaps"),
            help: "holes in TCP streams (missed segments)",
            bad_if_nonzero: true,
        },
        Figure {
            label: "Flows",
            value: g("/engine/tcp/flows_opened"),
            help: "TCP connections tracked",
            bad_if_nonzero: false,
        },
        Figure {
            label: "Evictions",
            value: g("/engine/tcp/flows_evicted"),
            help: "connections dropped to stay within --max-flows",
            bad_if_nonzero: true,
        },
        Figure {
            label: "Parse errors",
            value: parse_errors + decode_errors,
            help: "malformed packets and HTTP messages",
            bad_if_nonzero: true,
        },
        Figure {
            label: "HTTP transactions",
            value: g("/engine/http/transactions"),
            help: "request/response pairs found",
            bad_if_nonzero: false,
        },
    ];
    let mut hints = Vec::new();
    let packets = g("/engine/packets/packets");
    let tcp_payload = g("/engine/tcp/payload_bytes");
    let tx = g("/engine/http/transactions");
    if captures == 0 {
        hints.push(Hint {
            level: "bad",
            text: "Nothing has been ingested yet. Run `shadowtap ingest --db <this file> capture.pcap`, or record one with `shadowtap record -i <iface> -w capture.pcap`.".into(),
        });
        return (figures, hints);
    }
    if packets == 0 {
        hints.push(Hint {
            level: "bad",
            text: "The captures hold no packets. Check the interface and the BPF filter used to record them.".into(),
        });
    } else if g("/engine/packets/tcp") == 0 {
        hints.push(Hint {
            level: "bad",
            text: "No TCP in the captures: the filter or the mirror port does not carry the API traffic.".into(),
        });
    } else if tcp_payload > 0 && tx == 0 {
        hints.push(Hint {
            level: "bad",
            text: "TCP data but no HTTP/1.x transactions. The traffic is probably encrypted (TLS) or HTTP/2: shadowtap reads cleartext HTTP/1.x, so tap where TLS is already terminated (between the load balancer and the backends).".into(),
        });
    }
    if g("/engine/http/not_http_flows") > 0 && tx > 0 {
        hints.push(Hint {
            level: "info",
            text: format!(
                "{} connections did not carry HTTP/1.x (TLS, HTTP/2 or other protocols) and were skipped.",
                fmt::num(&(g("/engine/http/not_http_flows") as i64))
            ),
        });
    }
    if drops > 0 {
        hints.push(Hint {
            level: "bad",
            text: format!(
                "The kernel dropped {} frames: raise --buffer-size or filter more narrowly with --bpf.",
                fmt::num(&(drops as i64))
            ),
        });
    }
    if g("/engine/tcp/gaps") > 0 {
        hints.push(Hint {
            level: "warn",
            text: format!(
                "{} gaps in TCP streams ({} bytes missed): transactions around them may be lost. On a mirror port this is usually oversubscription.",
                fmt::num(&(g("/engine/tcp/gaps") as i64)),
                fmt::num(&(g("/engine/tcp/gap_bytes") as i64))
            ),
        });
    }
    if g("/engine/tcp/flows_midstream") > 0 {
        hints.push(Hint {
            level: "info",
            text: format!(
                "{} connections were already open when capture started (joined mid-stream).",
                fmt::num(&(g("/engine/tcp/flows_midstream") as i64))
            ),
        });
    }
    if g("/engine/tcp/flows_evicted") > 0 {
        hints.push(Hint {
            level: "warn",
            text: "Connections were evicted to respect --max-flows: raise it if memory allows."
                .into(),
        });
    }
    let over = g("/inventory/endpoints_over_cap") + g("/inventory/hosts_over_cap");
    if over > 0 {
        hints.push(Hint {
            level: "warn",
            text: format!(
                "{} transactions were not added because the inventory reached its host or endpoint cap.",
                fmt::num(&(over as i64))
            ),
        });
    }
    if hints.is_empty() {
        hints.push(Hint {
            level: "ok",
            text: format!(
                "Healthy: {} HTTP transactions from {} packets with no drops, gaps or parse errors.",
                fmt::num(&(tx as i64)),
                fmt::num(&(packets as i64))
            ),
        });
    }
    (figures, hints)
}

/// Counters of one section, flattened (`tcp.gaps` ...).
pub struct Section {
    /// Section name.
    pub name: String,
    /// (counter, value).
    pub rows: Vec<(String, u64)>,
}

fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, u64)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, x, out);
            }
        }
        Value::Number(n) => out.push((prefix.to_string(), n.as_u64().unwrap_or(0))),
        _ => {}
    }
}

fn sections(totals: &Value) -> Vec<Section> {
    let mut out = Vec::new();
    let mut push = |name: &str, v: Option<&Value>| {
        if let Some(v) = v {
            let mut rows = Vec::new();
            flatten("", v, &mut rows);
            if !rows.is_empty() {
                out.push(Section {
                    name: name.to_string(),
                    rows,
                });
            }
        }
    };
    for (name, key) in [
        ("Packets", "packets"),
        ("TCP", "tcp"),
        ("HTTP", "http"),
        ("IP fragments", "defrag"),
        ("Live capture", "capture"),
    ] {
        push(name, totals.pointer(&format!("/engine/{key}")));
    }
    push("Inventory", totals.get("inventory"));
    out
}

#[derive(Template)]
#[template(path = "sensor.html")]
struct SensorPage {
    chrome: Chrome,
    captures: Vec<crate::store::dashboard::CaptureRow>,
    figures: Vec<Figure>,
    hints: Vec<Hint>,
    sections: Vec<Section>,
    /// Live numbers of a sensor running in this process: (label, value).
    live: Vec<(&'static str, String)>,
}

/// The live numbers shown on the Sensor page when `shadowtap run` serves it.
pub fn live_rows(v: &Value) -> Vec<(&'static str, String)> {
    let n = |p: &str| fmt::num(&(get(v, p) as i64));
    let secs = |p: &str| {
        v.pointer(p)
            .and_then(Value::as_f64)
            .map_or("-".to_string(), |x| format!("{:.0} ms", x * 1000.0))
    };
    let ifaces: Vec<String> = v
        .get("interfaces")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|i| {
            format!(
                "{}: {} packets, kernel drops {}",
                i.get("name").and_then(Value::as_str).unwrap_or("?"),
                fmt::num(&(get(i, "/packets") as i64)),
                fmt::num(&((get(i, "/kernel_dropped") + get(i, "/if_dropped")) as i64))
            )
        })
        .collect();
    let workers: Vec<String> = v
        .get("workers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|w| fmt::num(&(get(w, "/packets") as i64)))
        .collect();
    let uptime = v
        .get("uptime_seconds")
        .and_then(Value::as_f64)
        .unwrap_or(0.0) as u64;
    vec![
        (
            "Uptime",
            format!(
                "{}h {:02}m {:02}s",
                uptime / 3600,
                uptime / 60 % 60,
                uptime % 60
            ),
        ),
        ("Interfaces", ifaces.join("; ")),
        ("Packets per worker", workers.join(" / ")),
        ("Queue drops", n("/queue_dropped")),
        ("Connections tracked now", n("/flows_active")),
        ("Connections evicted", n("/flows_evicted")),
        ("TCP gaps", n("/tcp_gaps")),
        ("HTTP transactions", n("/transactions")),
        ("Endpoints", n("/endpoints")),
        ("Endpoints created since start", n("/endpoints_created")),
        ("Flushes", n("/flushes")),
        ("Flush errors", n("/flush_errors")),
        ("Last flush took", secs("/flush_duration/last_seconds")),
        ("Slowest flush", secs("/flush_duration/max_seconds")),
        (
            "Alerts (new endpoint, shadow, zombie, finding)",
            format!(
                "{} / {} / {} / {}",
                n("/alerts/new_endpoint"),
                n("/alerts/shadow_api"),
                n("/alerts/zombie_api"),
                n("/alerts/finding")
            ),
        ),
        (
            "Alerts suppressed (rate limit, duplicate, queue full)",
            format!(
                "{} / {} / {}",
                n("/alerts_suppressed/rate_limit"),
                n("/alerts_suppressed/duplicate"),
                n("/alerts_suppressed/queue_full")
            ),
        ),
        (
            "Webhook posts (ok, failed)",
            format!("{} / {}", n("/webhook/ok"), n("/webhook/failed")),
        ),
        (
            "Database in use",
            fmt::bytes(&(get(v, "/db/used_bytes") as i64)),
        ),
        (
            "Resident memory / budget",
            format!(
                "{} / {}",
                fmt::bytes(&(get(v, "/rss_bytes") as i64)),
                fmt::bytes(&(get(v, "/memory_budget_bytes") as i64))
            ),
        ),
    ]
}

/// Captures and the sum of their counters.
pub async fn sensor_data(
    state: &AppState,
) -> Result<(Vec<crate::store::dashboard::CaptureRow>, Value), AppError> {
    let captures = state.store().dashboard_captures().await?;
    let mut totals = Value::Object(Default::default());
    for c in &captures {
        sum_json(&mut totals, &c.stats);
    }
    Ok((captures, totals))
}

/// `GET /sensor`.
pub async fn sensor(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
) -> Result<Response, AppError> {
    let (captures, totals) = sensor_data(&state).await?;
    let (figures, hints) = sensor_summary(captures.len(), &totals);
    let page = SensorPage {
        chrome: chrome(&state, &session, "/sensor"),
        live: state
            .sensor()
            .map(|s| live_rows(&s.snapshot()))
            .unwrap_or_default(),
        sections: sections(&totals),
        captures,
        figures,
        hints,
    };
    render(&page)
}

// ---------------------------------------------------------------------------------------------
// Export

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
    state.store().export_sql(&mut out).await?;
    Ok(download(
        out,
        "application/sql; charset=utf-8",
        "shadowtap-inventory.sql",
    ))
}

/// The JSON document.
pub async fn json_doc(state: &AppState) -> Result<Response, AppError> {
    let v = state.store().export_json(None).await?;
    let body = serde_json::to_vec_pretty(&v).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(download(
        body,
        "application/json",
        "shadowtap-inventory.json",
    ))
}

/// The observed OpenAPI document.
pub async fn openapi_doc(state: &AppState) -> Result<Response, AppError> {
    let v = state.store().export_openapi(None).await?;
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
        .store()
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

// ---------------------------------------------------------------------------------------------
// Login

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
        return match throttle.fail(session.client, super::auth::FailureKind::Login) {
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
