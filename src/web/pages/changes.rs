//! The Changes page (`GET /changes`, `templates/changes.html`): what was first seen since a
//! time — new endpoints, parameters, auth schemes, sensitive-data classes, TLS client
//! fingerprints and clients — counted per host and kind, then listed grouped by host, paged.
//! The question asked after every deploy.

use super::endpoints::{PageLink, pager};
use super::{Chrome, chrome, nonempty, render};
use crate::store::dashboard::{ChangeKind, ChangeQuery, ChangeRow, Changes, Count, Window};
use crate::web::api_doc::{self, TIME_VALUES, parse_since};
use crate::web::fmt;
use crate::web::service_map::host_href;
use crate::web::{AppError, AppState, Session};
use askama::Template;
use axum::Extension;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

/// The feed's default window: the last 24 hours before the newest request.
pub const DEFAULT_SINCE: &str = "24h";

/// Query parameters of the change feed (the page and `/api/changes`).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ChangeParams {
    /// RFC 3339, or a duration back from the newest request (`24h`).
    pub since: Option<String>,
    /// Only this host.
    pub host: Option<String>,
    /// Only this kind.
    pub kind: Option<String>,
    /// Page, from 1.
    pub page: Option<String>,
    /// Rows per page.
    pub per: Option<String>,
}

impl ChangeParams {
    /// The store query, the page and rows per page. `newest` is the newest request of the
    /// inventory (ns). `strict` (the JSON API): a value a parameter does not take is a 400
    /// naming it; otherwise (the page) such values are ignored like on every page, but for
    /// `since`: a time that cannot be read is a 400 for both, there is no guessing it.
    ///
    /// With a time range picked (`window`, not all time), the feed lists what was first seen
    /// in it: `since` defaults to its start, and nothing after its end is listed.
    pub fn to_query(
        &self,
        newest: Option<i64>,
        default_per: i64,
        strict: bool,
        window: &Window,
    ) -> Result<(ChangeQuery, i64, i64), AppError> {
        if strict {
            self.check()?;
        }
        let since = match nonempty(&self.since) {
            None if !window.is_all() => window.from.unwrap_or(i64::MIN),
            given => {
                let text = given.unwrap_or_else(|| DEFAULT_SINCE.into());
                parse_since(&text, newest.unwrap_or(0)).ok_or_else(|| AppError::InvalidParam {
                    name: "since",
                    allowed: vec![TIME_VALUES.to_string()],
                })?
            }
        };
        let n = |v: &Option<String>, d: i64| {
            v.as_deref()
                .and_then(|v| v.trim().parse::<i64>().ok())
                .unwrap_or(d)
        };
        let per = n(&self.per, default_per).clamp(1, api_doc::MAX_CHANGES_PER_PAGE);
        let page = n(&self.page, 1).clamp(1, 1_000_000);
        let q = ChangeQuery {
            since,
            until: window.to,
            host: nonempty(&self.host),
            kind: nonempty(&self.kind).and_then(|k| ChangeKind::parse(&k)),
            offset: (page - 1) * per,
            limit: per,
        };
        Ok((q, page, per))
    }

    /// Checks every parameter against `/api/changes`'s: a 400 naming the one that is wrong.
    pub fn check(&self) -> Result<(), AppError> {
        api_doc::check(&api_doc::change_params(), |name| {
            match name {
                "since" => &self.since,
                "host" => &self.host,
                "kind" => &self.kind,
                "page" => &self.page,
                "per" => &self.per,
                _ => &None,
            }
            .as_deref()
        })
    }

    fn link(&self, changes: &[(&str, String)]) -> String {
        let v = |s: &Option<String>| nonempty(s).unwrap_or_default();
        let mut pairs = vec![
            ("since", v(&self.since)),
            ("host", v(&self.host)),
            ("kind", v(&self.kind)),
            ("per", v(&self.per)),
            ("page", v(&self.page)),
        ];
        for (k, val) in changes {
            if let Some(p) = pairs.iter_mut().find(|p| p.0 == *k) {
                p.1 = val.clone();
            }
        }
        format!("/changes{}", fmt::query(&pairs))
    }
}

/// A change, ready to show.
pub struct ChangeView {
    /// The row.
    pub c: ChangeRow,
    /// Its kind, in words (singular).
    pub kind_label: &'static str,
    /// Link to the endpoint concerned (or the TLS page for a JA4).
    pub href: Option<String>,
}

/// One host's group: its changes per kind and the page's rows of it.
pub struct HostGroup {
    /// The host.
    pub host: String,
    /// Its page.
    pub href: String,
    /// Its changes per kind, all pages (label, count).
    pub kinds: Vec<(String, i64)>,
    /// Its rows on this page.
    pub rows: Vec<ChangeView>,
}

/// A host's line of the summary table.
pub struct HostSummary {
    /// The host.
    pub name: String,
    /// Its page.
    pub href: String,
    /// The feed filtered on it.
    pub feed_href: String,
    /// Its changes.
    pub total: i64,
    /// Per kind (words, count).
    pub kinds: Vec<(String, i64)>,
}

/// A summary cell: a kind's count and the link that filters on it.
pub struct KindCell {
    /// Words.
    pub label: &'static str,
    /// Changes.
    pub count: i64,
    /// The feed filtered on the kind.
    pub href: String,
    /// The current filter.
    pub active: bool,
}

fn singular(k: ChangeKind) -> &'static str {
    match k {
        ChangeKind::Endpoint => "new endpoint",
        ChangeKind::Parameter => "new parameter",
        ChangeKind::Auth => "new auth scheme",
        ChangeKind::Sensitive => "new sensitive data",
        ChangeKind::TlsClient => "new TLS fingerprint",
        ChangeKind::Client => "new client",
    }
}

/// Rows as views.
pub fn change_views(rows: Vec<ChangeRow>) -> Vec<ChangeView> {
    rows.into_iter()
        .map(|c| ChangeView {
            kind_label: singular(c.kind),
            href: match c.kind {
                ChangeKind::TlsClient => {
                    Some(format!("/tls{}", fmt::query(&[("host", c.host.clone())])))
                }
                _ => c.endpoint_id.map(|id| format!("/endpoints/{id}")),
            },
            c,
        })
        .collect()
}

/// The words of the window: "since 2025-01-31 12:00:00 (24 h before the newest request)".
pub fn window_words(since: i64, newest: Option<i64>) -> String {
    match newest {
        Some(n) if n >= since => format!(
            "since {} ({} before the newest request, {})",
            fmt::ts(&since),
            fmt::duration_ns(n - since),
            fmt::ts(&n)
        ),
        _ => format!("since {}", fmt::ts(&since)),
    }
}

/// Unknown-time counts in words ("12 parameters").
pub fn unknown_words(unknown: &[Count]) -> String {
    unknown
        .iter()
        .map(|c| {
            let what = match (c.key.as_str(), c.count) {
                ("parameter", 1) => "parameter",
                ("parameter", _) => "parameters",
                (_, 1) => "auth scheme row",
                _ => "auth scheme rows",
            };
            format!("{} {what}", fmt::num(&c.count))
        })
        .collect::<Vec<_>>()
        .join(" and ")
}

#[derive(Template)]
#[template(path = "changes.html")]
struct ChangesPage {
    chrome: Chrome,
    d: Changes,
    window: String,
    since: String,
    host: String,
    presets: Vec<(String, &'static str, bool)>,
    kinds: Vec<KindCell>,
    all_kinds: String,
    all_active: bool,
    host_count: i64,
    hosts: Vec<HostSummary>,
    groups: Vec<HostGroup>,
    unknown: String,
    from: i64,
    to: i64,
    pager: Vec<PageLink>,
    prev: Option<String>,
    next: Option<String>,
}

/// `GET /changes`.
pub async fn changes(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Query(p): Query<ChangeParams>,
) -> Result<Response, AppError> {
    let newest = state.dash().dashboard_newest().await?;
    let window = session.range.window;
    let (q, page, per) = p.to_query(newest, 100, false, &window)?;
    let d = state.dash().dashboard_changes(&q).await?;
    let pages = ((d.total + per - 1) / per).max(1);
    let page_link =
        |n: i64| p.link(&[("page", if n == 1 { String::new() } else { n.to_string() })]);
    let since_text = nonempty(&p.since).unwrap_or_default();
    let presets = ["1h", "24h", "7d", "30d"]
        .into_iter()
        .map(|s| {
            let current =
                since_text == s || (since_text.is_empty() && window.is_all() && s == DEFAULT_SINCE);
            (
                p.link(&[("since", s.to_string()), ("page", String::new())]),
                s,
                current,
            )
        })
        .collect();
    let count_of = |k: ChangeKind| {
        d.kinds
            .iter()
            .find(|c| c.key == k.name())
            .map_or(0, |c| c.count)
    };
    let kinds = ChangeKind::ALL
        .into_iter()
        .map(|k| KindCell {
            label: k.label(),
            count: count_of(k),
            href: p.link(&[("kind", k.name().to_string()), ("page", String::new())]),
            active: q.kind == Some(k),
        })
        .collect();
    let kind_words = |c: &Count| {
        let words = match ChangeKind::parse(&c.key) {
            Some(k) if c.count == 1 => k.label_one(),
            Some(k) => k.label(),
            None => "",
        };
        (words.to_string(), c.count)
    };
    let hosts = d
        .hosts
        .iter()
        .map(|h| HostSummary {
            name: h.host.clone(),
            href: host_href(&h.host),
            feed_href: p.link(&[("host", h.host.clone()), ("page", String::new())]),
            total: h.total,
            kinds: h.kinds.iter().map(kind_words).collect(),
        })
        .collect();
    let mut groups: Vec<HostGroup> = Vec::new();
    for v in change_views(d.rows.clone()) {
        if groups.last().is_none_or(|g| g.host != v.c.host) {
            let kinds = d
                .hosts
                .iter()
                .find(|h| h.host == v.c.host)
                .map(|h| h.kinds.iter().map(kind_words).collect())
                .unwrap_or_default();
            groups.push(HostGroup {
                host: v.c.host.clone(),
                href: host_href(&v.c.host),
                kinds,
                rows: Vec::new(),
            });
        }
        if let Some(g) = groups.last_mut() {
            g.rows.push(v);
        }
    }
    let page_view = ChangesPage {
        chrome: chrome(&state, &session, "/changes"),
        window: match (since_text.is_empty(), window.is_all()) {
            (true, false) => format!(
                "first seen in the time range picked ({})",
                crate::web::range::label(&window)
            ),
            _ if window.to.is_some() => format!(
                "{}, up to {}",
                window_words(d.since, d.newest),
                fmt::ts_opt(&window.to)
            ),
            _ => window_words(d.since, d.newest),
        },
        since: since_text,
        host: nonempty(&p.host).unwrap_or_default(),
        presets,
        kinds,
        all_kinds: p.link(&[("kind", String::new()), ("page", String::new())]),
        all_active: q.kind.is_none(),
        host_count: d.hosts.len() as i64,
        hosts,
        groups,
        unknown: unknown_words(&d.unknown),
        from: if d.total == 0 { 0 } else { q.offset + 1 },
        to: q.offset + d.rows.len() as i64,
        prev: (page > 1).then(|| page_link(page - 1)),
        next: (page < pages).then(|| page_link(page + 1)),
        pager: pager(page, pages, page_link),
        d,
    };
    render(&page_view)
}
