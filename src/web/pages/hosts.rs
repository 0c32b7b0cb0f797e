//! The Hosts pages: `GET /hosts` (`templates/hosts.html`), every host with its figures, sortable,
//! searchable and paged, and the service map (which clients call which hosts); `GET
//! /hosts/{host}` (`templates/host.html`), one host: its figures, endpoints by risk (paged), spec
//! coverage, active findings, top clients, recent changes, TLS services and its neighbourhood of
//! the service map. [`host_data`] gathers what both the page and `/api/hosts/{host}` show.

use super::changes::{ChangeView, DEFAULT_SINCE, change_views};
use super::endpoints::{Header, PageLink, pager, sort_headers};
use super::tls::{ServiceView, host_services};
use super::{
    Chrome, FindingView, Kpi, Legend, chrome, endpoints_link, finding_view, kpi, legend, nonempty,
    render,
};
use crate::store::dashboard::{
    ChangeQuery, Changes, Count, EndpointList, EndpointQuery, FindingQuery, FindingRow, HostClient,
    HostList, HostQuery, HostRow, HostSort, ServiceMap, SortKey, StateFilter, Window,
};
use crate::web::api_doc::{self, MAX_HOSTS_PER_PAGE, parse_since};
use crate::web::charts::{self, Bar, Svg};
use crate::web::fmt;
use crate::web::service_map::{self, host_href};
use crate::web::{AppError, AppState, Session};
use askama::Template;
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;

/// Clients and hosts drawn on the Hosts page's service map.
pub const MAP_CLIENTS: i64 = 20;
/// Hosts drawn on the service map.
pub const MAP_HOSTS: i64 = 16;
/// Endpoints per page of a host's page.
pub const HOST_ENDPOINTS_PER_PAGE: i64 = 50;
/// Clients listed on a host's page.
pub const HOST_CLIENTS: i64 = 20;
/// Findings listed on a host's page (the Findings page has them all).
pub const HOST_FINDINGS: i64 = 20;
/// Changes listed on a host's page (the Changes page has them all).
pub const HOST_CHANGES: i64 = 20;

/// Query parameters of the host list (the page and `/api/hosts`).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct HostParams {
    /// Search in the host name.
    pub q: Option<String>,
    /// Sort key.
    pub sort: Option<String>,
    /// `asc` or `desc`.
    pub dir: Option<String>,
    /// Page, from 1.
    pub page: Option<String>,
    /// Hosts per page.
    pub per: Option<String>,
}

impl HostParams {
    /// Checks every parameter (a 400 naming the one that is wrong; the page ignores bad
    /// values instead, like the other lists) and builds the store query: (query, page, per).
    pub fn check(&self) -> Result<(), AppError> {
        api_doc::check(&api_doc::host_params(), |name| {
            match name {
                "q" => &self.q,
                "sort" => &self.sort,
                "dir" => &self.dir,
                "page" => &self.page,
                "per" => &self.per,
                _ => &None,
            }
            .as_deref()
        })
    }

    /// The store query, the page and hosts per page (values it does not take are ignored).
    pub fn to_query(&self) -> (HostQuery, i64, i64) {
        let sort = self
            .sort
            .as_deref()
            .and_then(HostSort::parse)
            .unwrap_or_default();
        let desc = match self.dir.as_deref() {
            Some("asc") => false,
            Some("desc") => true,
            _ => sort.default_desc(),
        };
        let n = |v: &Option<String>, d: i64, lo: i64, hi: i64| {
            v.as_deref()
                .and_then(|v| v.trim().parse::<i64>().ok())
                .unwrap_or(d)
                .clamp(lo, hi)
        };
        let per = n(&self.per, 50, 1, MAX_HOSTS_PER_PAGE);
        let page = n(&self.page, 1, 1, 1_000_000);
        let q = HostQuery {
            q: nonempty(&self.q),
            sort,
            desc,
            offset: (page - 1) * per,
            limit: per,
            window: Window::ALL,
        };
        (q, page, per)
    }

    fn link(&self, changes: &[(&str, String)]) -> String {
        let v = |s: &Option<String>| nonempty(s).unwrap_or_default();
        let mut pairs = vec![
            ("q", v(&self.q)),
            ("sort", v(&self.sort)),
            ("dir", v(&self.dir)),
            ("per", v(&self.per)),
            ("page", v(&self.page)),
        ];
        for (k, val) in changes {
            if let Some(p) = pairs.iter_mut().find(|p| p.0 == *k) {
                p.1 = val.clone();
            }
        }
        format!("/hosts{}", fmt::query(&pairs))
    }
}

/// A host row with its links.
pub struct HostView {
    /// The row.
    pub h: HostRow,
    /// Its page.
    pub href: String,
    /// Its endpoints (`/endpoints?host=`).
    pub endpoints_href: String,
    /// Its active findings (`/findings?host=`).
    pub findings_href: String,
    /// Spec coverage, formatted (`–` when none).
    pub coverage: String,
    /// Its most severe active finding.
    pub max_severity: Option<&'static str>,
    /// Findings per severity, most severe first (severity, count), without zeros.
    pub severities: Vec<(&'static str, i64)>,
}

fn host_view(h: HostRow) -> HostView {
    let q = |k: &str| fmt::query(&[(k, h.host.clone())]);
    HostView {
        href: host_href(&h.host),
        // Every endpoint of the host, static and third-party ones too, as its count here.
        endpoints_href: endpoints_link(&[("host", h.host.clone()), ("scope", "all".into())]),
        findings_href: format!("/findings{}", q("host")),
        coverage: h
            .coverage_pct
            .map_or_else(|| "–".to_string(), |p| format!("{p:.0}%")),
        max_severity: h.max_severity(),
        severities: [
            ("critical", h.critical),
            ("high", h.high),
            ("medium", h.medium),
            ("low", h.low),
            ("info", h.info),
        ]
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .collect(),
        h,
    }
}

#[derive(Template)]
#[template(path = "hosts.html")]
struct HostsPage {
    chrome: Chrome,
    q: String,
    sort: String,
    dir: String,
    headers: Vec<Header>,
    rows: Vec<HostView>,
    total: i64,
    from: i64,
    to: i64,
    pager: Vec<PageLink>,
    prev: Option<String>,
    next: Option<String>,
    map: Svg,
    map_note: String,
}

/// The service map's note: what it shows of how much.
fn map_note(m: &ServiceMap) -> String {
    format!(
        "the busiest {} of {} clients and {} of {} hosts, by requests (client rows kept per endpoint)",
        MAP_CLIENTS.min(m.clients_total),
        fmt::num(&m.clients_total),
        MAP_HOSTS.min(m.hosts_total),
        fmt::num(&m.hosts_total)
    )
}

/// `GET /hosts`.
pub async fn hosts(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Query(p): Query<HostParams>,
) -> Result<Response, AppError> {
    let (mut q, page, per) = p.to_query();
    q.window = session.range.window;
    // The service map and client counts: of all time from the pairs kept by triggers
    // (migration 0017), of a range from the client rows whose span meets it.
    let pairs = state.dash().dashboard_client_pairs(&q.window).await?;
    let HostList { rows, total } = state.dash().dashboard_hosts(&q, &pairs).await?;
    let map = ServiceMap::busiest(&pairs, MAP_CLIENTS, MAP_HOSTS);
    let pages = ((total + per - 1) / per).max(1);
    let cols: [(&str, Option<HostSort>, bool, &str); 9] = [
        ("Host", Some(HostSort::Host), false, "Host name"),
        (
            "Endpoints",
            Some(HostSort::Endpoints),
            true,
            "Endpoints of the host (every one the Endpoints page lists for it)",
        ),
        ("Requests", Some(HostSort::Requests), true, "Requests"),
        (
            "Errors",
            Some(HostSort::Errors),
            true,
            "Responses with status 400 or more",
        ),
        (
            "Spec coverage",
            Some(HostSort::Coverage),
            true,
            "Share of the observed endpoints an imported description documents (documented or zombie) among those classified (documented, zombie, shadow)",
        ),
        (
            "Findings",
            Some(HostSort::Findings),
            false,
            "Active findings by severity",
        ),
        (
            "Risk",
            Some(HostSort::Risk),
            true,
            "Highest risk score of its endpoints (0-100)",
        ),
        ("Clients", None, true, "Distinct client addresses"),
        ("Last seen", Some(HostSort::LastSeen), true, "Last request"),
    ];
    let headers = sort_headers(
        &cols,
        q.sort,
        q.desc,
        HostSort::name,
        HostSort::default_desc,
        |v| p.link(v),
    );
    let page_link =
        |n: i64| p.link(&[("page", if n == 1 { String::new() } else { n.to_string() })]);
    let view = HostsPage {
        chrome: chrome(&state, &session, "/hosts"),
        q: nonempty(&p.q).unwrap_or_default(),
        sort: nonempty(&p.sort).unwrap_or_default(),
        dir: nonempty(&p.dir).unwrap_or_default(),
        headers,
        from: if total == 0 { 0 } else { q.offset + 1 },
        to: q.offset + rows.len() as i64,
        rows: rows.into_iter().map(host_view).collect(),
        total,
        prev: (page > 1).then(|| page_link(page - 1)),
        next: (page < pages).then(|| page_link(page + 1)),
        pager: pager(page, pages, page_link),
        map_note: map_note(&map),
        map: service_map::draw(&map.edges, None),
    };
    render(&view)
}

/// Query of `/hosts/{host}` and `/api/hosts/{host}`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct HostPageParams {
    /// Page of the host's endpoints.
    pub page: Option<String>,
}

impl HostPageParams {
    /// Checks the parameters against `/api/hosts/{host}`'s.
    pub fn check(&self) -> Result<(), AppError> {
        api_doc::check(&api_doc::one_host_params(), |name| match name {
            "page" => self.page.as_deref(),
            _ => None,
        })
    }

    fn page(&self) -> i64 {
        self.page
            .as_deref()
            .and_then(|v| v.trim().parse::<i64>().ok())
            .unwrap_or(1)
            .clamp(1, 1_000_000)
    }
}

/// Everything about one host.
pub struct HostData {
    /// Its figures.
    pub row: HostRow,
    /// A page of its endpoints, riskiest first.
    pub endpoints: EndpointList,
    /// That page's number.
    pub page: i64,
    /// Its active findings, most severe first (at most [`HOST_FINDINGS`]), and how many.
    pub findings: (Vec<FindingRow>, i64),
    /// Its busiest clients.
    pub clients: Vec<HostClient>,
    /// What it gained in the last 24 hours before the newest request.
    pub changes: Changes,
    /// Its neighbourhood of the service map.
    pub map: ServiceMap,
}

/// Gathers what the page and the API show of `host` (`NotFound` when no endpoint has it).
///
/// With a time range (`window`, not all time), what was seen in it: a host none of whose
/// endpoints was called in the range shows zeros (it is still a host of the inventory).
pub async fn host_data(
    state: &AppState,
    host: &str,
    page: i64,
    window: &Window,
) -> Result<HostData, AppError> {
    let store = state.dash();
    let row = match store.dashboard_host(host, window).await? {
        Some(r) => r,
        None if !window.is_all() && store.dashboard_host(host, &Window::ALL).await?.is_some() => {
            HostRow {
                host: host.to_string(),
                ..HostRow::default()
            }
        }
        None => return Err(AppError::NotFound),
    };
    let eq = EndpointQuery {
        window: *window,
        host: Some(host.to_string()),
        sort: SortKey::Risk,
        desc: true,
        offset: (page - 1) * HOST_ENDPOINTS_PER_PAGE,
        limit: HOST_ENDPOINTS_PER_PAGE,
        ..EndpointQuery::default()
    };
    let endpoints = store.dashboard_endpoints(&eq, 0).await?;
    let findings = store
        .dashboard_findings(&FindingQuery {
            host: Some(host.to_string()),
            state: StateFilter::Active,
            limit: HOST_FINDINGS,
            offset: 0,
            window: *window,
            ..FindingQuery::default()
        })
        .await?;
    let clients = store
        .dashboard_host_clients(host, HOST_CLIENTS, window)
        .await?;
    let newest = store.dashboard_newest().await?;
    // What it gained: in the last 24 hours, or in the range picked.
    let since = match window.from {
        Some(from) => from,
        None if window.is_all() => parse_since(DEFAULT_SINCE, newest.unwrap_or(0)).unwrap_or(0),
        None => i64::MIN,
    };
    let changes = store
        .dashboard_changes(&ChangeQuery {
            since,
            until: window.to,
            host: Some(host.to_string()),
            kind: None,
            offset: 0,
            limit: HOST_CHANGES,
        })
        .await?;
    let map = store
        .dashboard_service_map(host, MAP_CLIENTS, MAP_HOSTS)
        .await?;
    Ok(HostData {
        row,
        endpoints,
        page,
        findings,
        clients,
        changes,
        map,
    })
}

#[derive(Template)]
#[template(path = "host.html")]
struct HostPage {
    chrome: Chrome,
    v: HostView,
    kpis: Vec<Kpi>,
    class_bar: Svg,
    class_legend: Vec<Legend>,
    endpoints: EndpointList,
    from: i64,
    to: i64,
    pager: Vec<PageLink>,
    prev: Option<String>,
    next: Option<String>,
    risk_href: String,
    findings: Vec<FindingView>,
    findings_total: i64,
    more_findings: bool,
    more_changes: bool,
    clients: Vec<HostClient>,
    changes: Vec<ChangeView>,
    changes_total: i64,
    changes_window: String,
    changes_href: String,
    sequences_href: String,
    tls_host: Vec<ServiceView>,
    map: Svg,
}

/// `GET /hosts/{host}`.
pub async fn host(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(name): Path<String>,
    Query(p): Query<HostPageParams>,
) -> Result<Response, AppError> {
    let page = p.page();
    let d = host_data(&state, &name, page, &session.range.window).await?;
    let v = host_view(d.row.clone());
    let h = &d.row;
    let pages =
        ((d.endpoints.total + HOST_ENDPOINTS_PER_PAGE - 1) / HOST_ENDPOINTS_PER_PAGE).max(1);
    let page_link = |n: i64| {
        format!(
            "{}{}#endpoints",
            v.href,
            fmt::query(&[("page", if n == 1 { String::new() } else { n.to_string() })])
        )
    };
    let mut kpis = vec![
        Kpi {
            href: Some(v.endpoints_href.clone()),
            ..kpi(
                "Endpoints",
                fmt::num(&h.endpoints),
                format!("{} called", fmt::num(&h.observed)),
            )
        },
        kpi(
            "Calls",
            fmt::short(&h.requests),
            format!(
                "{} errors ({})",
                fmt::num(&h.errors),
                fmt::pct(&h.errors, &h.requests)
            ),
        ),
        Kpi {
            href: Some("/spec".into()),
            ..kpi(
                "Spec coverage",
                v.coverage.clone(),
                if h.coverage_pct.is_some() {
                    format!(
                        "{} shadow, {} zombie, {} dormant",
                        fmt::num(&h.shadow),
                        fmt::num(&h.zombie),
                        fmt::num(&h.dormant)
                    )
                } else {
                    "no imported description covers it".into()
                },
            )
        },
        Kpi {
            href: Some(v.findings_href.clone()),
            tone: match v.max_severity {
                Some("critical") => "bad",
                Some("high") => "warn",
                _ => "",
            },
            ..kpi(
                "Findings",
                fmt::num(&h.findings),
                format!(
                    "{} critical, {} high",
                    fmt::num(&h.critical),
                    fmt::num(&h.high)
                ),
            )
        },
        kpi(
            "Max risk",
            h.max_risk.to_string(),
            "of its endpoints, 0-100".into(),
        ),
        kpi("Clients", fmt::num(&h.clients), "distinct addresses".into()),
    ];
    if h.shadow + h.zombie > 0 {
        kpis[2].tone = "warn";
    }
    let classes: Vec<Count> = [
        ("documented", h.documented),
        ("shadow", h.shadow),
        ("zombie", h.zombie),
        ("dormant", h.dormant),
        ("uncovered", h.uncovered),
        ("unclassified", h.unclassified),
    ]
    .into_iter()
    .filter(|(_, n)| *n > 0)
    .map(|(k, n)| Count {
        key: k.into(),
        count: n,
    })
    .collect();
    let class_link =
        |k: &str| endpoints_link(&[("host", h.host.clone()), ("class", k.to_string())]);
    let class_bar = charts::stacked(
        &classes
            .iter()
            .map(|c| Bar {
                label: c.key.clone(),
                value: c.count,
                class: fmt::badge(&c.key),
                href: None,
            })
            .collect::<Vec<_>>(),
        600,
        14,
    );
    let tls_host = host_services(&state, &h.host).await?;
    let offset = (d.page - 1) * HOST_ENDPOINTS_PER_PAGE;
    let view = HostPage {
        chrome: chrome(&state, &session, "/hosts"),
        kpis,
        class_bar,
        class_legend: legend(&classes, class_link),
        from: if d.endpoints.total == 0 {
            0
        } else {
            offset + 1
        },
        to: offset + d.endpoints.rows.len() as i64,
        prev: (page > 1).then(|| page_link(page - 1)),
        next: (page < pages).then(|| page_link(page + 1)),
        pager: pager(page, pages, page_link),
        risk_href: endpoints_link(&[
            ("host", h.host.clone()),
            ("sort", "risk".into()),
            ("scope", "all".into()),
        ]),
        more_findings: d.findings.1 > d.findings.0.len() as i64,
        more_changes: d.changes.total > d.changes.rows.len() as i64,
        findings: d.findings.0.into_iter().map(finding_view).collect(),
        findings_total: d.findings.1,
        clients: d.clients,
        changes_total: d.changes.total,
        changes_window: if session.range.window.is_all() {
            super::changes::window_words(d.changes.since, d.changes.newest)
        } else {
            format!(
                "in the time range picked ({})",
                crate::web::range::label(&session.range.window)
            )
        },
        changes: change_views(d.changes.rows),
        changes_href: format!("/changes{}", fmt::query(&[("host", h.host.clone())])),
        sequences_href: format!("/sequences{}", fmt::query(&[("host", h.host.clone())])),
        tls_host,
        map: service_map::draw(&d.map.edges, Some(&h.host)),
        endpoints: d.endpoints,
        v,
    };
    render(&view)
}
