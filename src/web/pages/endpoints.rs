//! The Endpoints page (`GET /endpoints`, `templates/endpoints.html`): the filterable, sortable,
//! paged endpoint list, its query parameters ([`EndpointParams`], shared with the JSON API)
//! and the facet options of its filters.

use super::tls::{ServiceView, host_services};
use super::{Chrome, Opt, chrome, endpoints_link, nonempty, render};
use crate::store::dashboard::{
    Count, EndpointListRow, EndpointQuery, Facets, SOURCE_FILTERS, SortKey,
};
use crate::web::charts::{self, Svg};
use crate::web::fmt;
use crate::web::{AppError, AppState, Session};
use askama::Template;
use axum::Extension;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

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
    /// Protocol (`grpc`, `h2`, `http/1.1`, ...).
    pub protocol: Option<String>,
    /// Most severe active finding at least this severe (`critical`, `high`, ...).
    pub min_severity: Option<String>,
    /// Scope (`api`, the default; `static`, `third_party`, `ignored`, or `all`).
    pub scope: Option<String>,
    /// A source that knows it, or a category of the code's join (`SOURCE_FILTERS`).
    pub source: Option<String>,
    /// A sensor that saw it (a fleet's centre).
    pub sensor: Option<String>,
    /// Sort key.
    pub sort: Option<String>,
    /// `asc` or `desc`.
    pub dir: Option<String>,
    /// Page (from 1).
    pub page: Option<String>,
    /// Rows per page.
    pub per: Option<String>,
}

impl EndpointParams {
    /// The store query, the page number and rows per page; `default_sort` when no (known)
    /// sort key is given (the JSON API: busiest first; the Endpoints page: riskiest first).
    pub fn to_query(&self, default_sort: SortKey) -> (EndpointQuery, i64, i64) {
        let sort = self
            .sort
            .as_deref()
            .and_then(SortKey::parse)
            .unwrap_or(default_sort);
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
            protocol: nonempty(&self.protocol),
            min_severity: nonempty(&self.min_severity),
            scope: nonempty(&self.scope).filter(|s| s != "api"),
            source: nonempty(&self.source),
            sensor: nonempty(&self.sensor),
            sort,
            desc,
            offset: (page - 1) * per,
            limit: per,
            window: Default::default(),
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
            ("protocol", v(&self.protocol)),
            ("min_severity", v(&self.min_severity)),
            ("scope", v(&self.scope)),
            ("source", v(&self.source)),
            ("sensor", v(&self.sensor)),
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
            &self.protocol,
            &self.min_severity,
            &self.scope,
            &self.source,
            &self.sensor,
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

/// The headers of a sortable table: `cols` are (label, sort key if sortable, numeric, tooltip);
/// a sortable header links to its key in its natural direction (`default_desc`), or to the
/// other direction when the list is already sorted by it. One definition for the Endpoints and
/// Hosts lists.
pub fn sort_headers<K: Copy + PartialEq>(
    cols: &[(&'static str, Option<K>, bool, &'static str)],
    current: K,
    desc: bool,
    name: fn(K) -> &'static str,
    default_desc: fn(K) -> bool,
    link: impl Fn(&[(&str, String)]) -> String,
) -> Vec<Header> {
    cols.iter()
        .map(|&(label, key, num, title)| {
            let sorted = match key {
                Some(k) if k == current && desc => "desc",
                Some(k) if k == current => "asc",
                _ => "",
            };
            Header {
                label,
                href: key.map(|k| {
                    let dir = if k == current {
                        if desc { "asc" } else { "desc" }
                    } else if default_desc(k) {
                        "desc"
                    } else {
                        "asc"
                    };
                    link(&[
                        ("sort", name(k).to_string()),
                        ("dir", dir.to_string()),
                        ("page", String::new()),
                    ])
                }),
                sorted,
                num,
                title,
            }
        })
        .collect()
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

/// The page links of a list of `pages` pages showing `page`: the first, the last and two on
/// each side of the current one, with `…` where pages are left out.
pub fn pager(page: i64, pages: i64, link: impl Fn(i64) -> String) -> Vec<PageLink> {
    let mut out = Vec::new();
    let mut last = 0;
    for n in 1..=pages {
        if n == 1 || n == pages || (n - page).abs() <= 2 {
            if last != 0 && n != last + 1 {
                out.push(PageLink {
                    label: "…".into(),
                    href: None,
                    current: false,
                });
            }
            out.push(PageLink {
                label: n.to_string(),
                href: (n != page).then(|| link(n)),
                current: n == page,
            });
            last = n;
        }
    }
    out
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
    /// Link to its host's page.
    pub host_page: String,
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
    severities: Vec<Opt>,
    protocols: Vec<Opt>,
    sources: Vec<Opt>,
    /// The sensor filter's options (empty when no sensor is named in the inventory).
    sensors: Vec<Opt>,
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
    /// The encrypted services of the host filtered on.
    tls_host: Vec<ServiceView>,
    scopes: Vec<Opt>,
    /// What the default list (APIs only) leaves out, in words, and the link that shows it.
    hidden: Option<(String, String)>,
}

/// Scope names as the page says them.
fn scope_label(scope: &str) -> &'static str {
    match scope {
        "api" => "APIs",
        "static" => "Static assets",
        "third_party" => "Third-party",
        "ignored" => "Ignored",
        _ => "Other",
    }
}

/// The scope filter: the APIs by default, each other scope present, every endpoint.
fn scope_options(p: &EndpointParams, facets: &Facets) -> Vec<Opt> {
    let cur = nonempty(&p.scope).unwrap_or_else(|| "api".into());
    let count = |k: &str| {
        facets
            .scopes
            .iter()
            .find(|c| c.key == k)
            .map_or(0, |c| c.count)
    };
    let mut out = vec![Opt {
        value: String::new(),
        label: format!("APIs ({})", count("api")),
        selected: cur == "api",
    }];
    for c in facets.scopes.iter().filter(|c| c.key != "api") {
        out.push(Opt {
            value: c.key.clone(),
            label: format!("{} ({})", scope_label(&c.key), c.count),
            selected: cur == c.key,
        });
    }
    let total: i64 = facets.scopes.iter().map(|c| c.count).sum();
    out.push(Opt {
        value: "all".into(),
        label: format!("Every scope ({total})"),
        selected: cur == "all",
    });
    if !out.iter().any(|o| o.selected) {
        out.push(Opt {
            label: format!("{cur} (none)"),
            value: cur,
            selected: true,
        });
    }
    out
}

/// "3 static assets, 2 third-party endpoints hidden" and a link to them (the default list only).
fn hidden_note(p: &EndpointParams, facets: &Facets) -> Option<(String, String)> {
    if nonempty(&p.scope).is_some_and(|s| s != "api") {
        return None;
    }
    let parts: Vec<String> = facets
        .scopes
        .iter()
        .filter(|c| c.key != "api" && c.count > 0)
        .map(|c| {
            let (one, many) = match c.key.as_str() {
                "static" => ("static asset", "static assets"),
                "third_party" => ("third-party endpoint", "third-party endpoints"),
                _ => ("ignored endpoint", "ignored endpoints"),
            };
            crate::counters::plural(c.count as u64, one, many)
        })
        .collect();
    if parts.is_empty() {
        return None;
    }
    Some((
        format!("{} not listed", parts.join(", ")),
        p.link(&[("scope", "all".into()), ("page", String::new())]),
    ))
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

fn facet_options(p: &EndpointParams, facets: &Facets) -> [Vec<Opt>; 10] {
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
            &p.min_severity,
            "Risk: any",
            vec![
                ("critical".into(), "Critical findings".into()),
                ("high".into(), "High or critical".into()),
                ("medium".into(), "Medium or worse".into()),
                ("low".into(), "Low or worse".into()),
                ("info".into(), "Any active finding".into()),
            ],
        ),
        options(
            &p.protocol,
            "Any protocol",
            facets
                .protocols
                .iter()
                .map(|c| with_count(c, c.key.clone()))
                .collect(),
        ),
        options(
            &p.source,
            "Any source",
            facets
                .sources
                .iter()
                .map(|c| {
                    let label = SOURCE_FILTERS
                        .iter()
                        .find(|(k, _)| *k == c.key)
                        .map_or(c.key.as_str(), |(_, l)| l);
                    with_count(c, label.to_string())
                })
                .collect(),
        ),
        options(
            &p.sensor,
            "Any sensor",
            facets
                .sensors
                .iter()
                .map(|c| with_count(c, fmt::trunc(&c.key, 40)))
                .collect(),
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
    let (mut q, page, per) = p.to_query(SortKey::Risk);
    q.window = session.range.window;
    let list = state.dash().dashboard_endpoints(&q, 24).await?;
    let facets = state.dash().dashboard_facets().await?;
    let pages = ((list.total + per - 1) / per).max(1);
    let cols: [(&str, Option<SortKey>, bool, &str); 15] = [
        ("Method", Some(SortKey::Method), false, "HTTP method"),
        (
            "Endpoint",
            Some(SortKey::Path),
            false,
            "Host and path template",
        ),
        (
            "Risk",
            Some(SortKey::Risk),
            true,
            "Risk score (0-100) and the severity of the most severe active finding",
        ),
        (
            "Class",
            None,
            false,
            "Classification against the imported spec",
        ),
        (
            "Sources",
            None,
            false,
            "Who knows it: the wire, access logs, HAR files, scanned code, an imported spec",
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
            "Calls over the inventory's time range (or the range picked)",
        ),
        ("Last seen", Some(SortKey::LastSeen), true, "Last request"),
    ];
    let headers = sort_headers(
        &cols,
        q.sort,
        q.desc,
        SortKey::name,
        SortKey::default_desc,
        |v| p.link(v),
    );
    let page_link =
        |n: i64| p.link(&[("page", if n == 1 { String::new() } else { n.to_string() })]);
    let pager = pager(page, pages, page_link);
    let rows: Vec<RowView> = list
        .rows
        .into_iter()
        .map(|r| RowView {
            spark: charts::sparkline(&r.activity, 96, 22),
            href: format!("/endpoints/{}", r.id),
            host_href: p.link(&[("host", r.host.clone()), ("page", String::new())]),
            host_page: crate::web::service_map::host_href(&r.host),
            r,
        })
        .collect();
    let [
        hosts,
        classes,
        auths,
        sensitive,
        findings,
        severities,
        protocols,
        sources,
        sensors,
        pers,
    ] = facet_options(&p, &facets);
    let tls_host = match &q.host {
        Some(h) => host_services(&state, h).await?,
        None => Vec::new(),
    };
    let page_view = EndpointsPage {
        chrome: chrome(&state, &session, "/endpoints"),
        q: nonempty(&p.q).unwrap_or_default(),
        hosts,
        classes,
        auths,
        sensitive,
        findings,
        severities,
        protocols,
        sources,
        sensors,
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
        tls_host,
        scopes: scope_options(&p, &facets),
        hidden: hidden_note(&p, &facets),
    };
    render(&page_view)
}
