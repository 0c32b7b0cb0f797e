//! The Findings page (`GET /findings`, `templates/findings.html`): a page of findings (50,
//! most severe first, then most recently seen) grouped by severity and kind
//! ([`group_findings`], shared with the JSON API), filters that combine (severity, kind and
//! state chips, host, a search), a state toggle that says how many are hidden, each finding's
//! triage state with its history and a form to change it (`POST /findings/{id}/triage`,
//! [`triage`]), and the SARIF of the current filter (`GET /findings.sarif`, [`sarif`]).

use super::endpoints::{PageLink, pager};
use super::{Chrome, FindingView, chrome, finding_view, nonempty, render};
use crate::store::dashboard::{FindingQuery, FindingRow, StateFilter, Window};
use crate::store::{Store, TriageError, TriageState};
use crate::web::explain::{self, Explanation};
use crate::web::fmt;
use crate::web::{AppError, AppState, Session};
use askama::Template;
use axum::Extension;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Findings per page of the Findings page.
pub const PAGE_SIZE: i64 = 50;
/// Triage changes shown per finding (the newest).
pub const HISTORY_SHOWN: usize = 10;

/// Query parameters of the findings page (and of `/api/findings`, `/findings.sarif`).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct FindingParams {
    /// Severity.
    pub severity: Option<String>,
    /// Kind.
    pub kind: Option<String>,
    /// Host.
    pub host: Option<String>,
    /// Search in kind, host, path and detail.
    pub q: Option<String>,
    /// Triage state: a state's name, `active` (open and acknowledged), `unsuppressed` (all but
    /// false positives) or `all`.
    pub state: Option<String>,
    /// Page (from 1).
    pub page: Option<String>,
    /// Findings per page (the JSON API).
    pub per: Option<String>,
}

impl FindingParams {
    /// The store query (every finding of the filter: callers set limit and offset), with
    /// `default_state` when no state is asked for. An unknown state is an error naming the
    /// values `state` takes.
    pub fn to_query(&self, default_state: StateFilter) -> Result<FindingQuery, AppError> {
        let state = match nonempty(&self.state) {
            None => default_state,
            Some(s) => StateFilter::parse(&s).ok_or_else(|| AppError::InvalidParam {
                name: "state",
                allowed: StateFilter::names().into_iter().map(String::from).collect(),
            })?,
        };
        Ok(FindingQuery {
            severity: nonempty(&self.severity),
            kind: nonempty(&self.kind),
            host: nonempty(&self.host),
            q: nonempty(&self.q),
            state,
            limit: 100_000,
            offset: 0,
            window: Window::ALL,
        })
    }

    /// The page (from 1; 1 when absent or not a number).
    pub fn page(&self) -> i64 {
        self.page
            .as_deref()
            .and_then(|p| p.trim().parse::<i64>().ok())
            .unwrap_or(1)
            .clamp(1, 1_000_000)
    }

    /// `path` with the current filters, `set` replacing some of them (an empty value drops
    /// the parameter).
    fn link(&self, path: &str, set: &[(&str, String)]) -> String {
        let get = |name: &str, v: &Option<String>| {
            set.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| nonempty(v).unwrap_or_default())
        };
        format!(
            "{path}{}",
            fmt::query(&[
                ("q", get("q", &self.q)),
                ("severity", get("severity", &self.severity)),
                ("kind", get("kind", &self.kind)),
                ("host", get("host", &self.host)),
                ("state", get("state", &self.state)),
                ("page", get("page", &self.page)),
            ])
        )
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

/// Groups findings by (severity, kind), most severe first; within a group, in the order given.
pub fn group_findings(rows: Vec<FindingRow>) -> Vec<FindingGroup> {
    group_views(rows.into_iter().map(finding_view).collect())
}

fn group_views(views: Vec<FindingView>) -> Vec<FindingGroup> {
    let mut groups: BTreeMap<(u8, String, String), Vec<FindingView>> = BTreeMap::new();
    for v in views {
        groups
            .entry((
                explain::severity_rank(&v.f.severity),
                v.f.kind.clone(),
                v.f.severity.clone(),
            ))
            .or_default()
            .push(v);
    }
    groups
        .into_iter()
        .map(|((_, kind, severity), items)| FindingGroup {
            explanation: explain::explain(&kind),
            occurrences: items.iter().map(|v| v.f.count).sum(),
            items,
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

/// A choice of the triage form.
pub struct StateOption {
    /// The state's name (the form value).
    pub value: &'static str,
    /// Words.
    pub label: &'static str,
}

#[derive(Template)]
#[template(path = "findings.html")]
struct FindingsPage {
    chrome: Chrome,
    groups: Vec<FindingGroup>,
    total: i64,
    chips: Vec<Chip>,
    kinds: Vec<Chip>,
    states: Vec<Chip>,
    /// Findings of the other filters hidden by the state filter.
    hidden: i64,
    show_hidden_href: String,
    filtered: bool,
    all_href: String,
    q: String,
    host: String,
    severity: String,
    kind: String,
    state: String,
    sarif_href: String,
    /// Where a triage form sends the browser back to.
    back: String,
    options: Vec<StateOption>,
    from: i64,
    to: i64,
    pager: Vec<PageLink>,
    prev: Option<String>,
    next: Option<String>,
}

/// `GET /findings`.
pub async fn findings(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Query(p): Query<FindingParams>,
) -> Result<Response, AppError> {
    let mut q = p.to_query(StateFilter::Active)?;
    q.window = session.range.window;
    let page = p.page();
    q.limit = PAGE_SIZE;
    q.offset = (page - 1) * PAGE_SIZE;
    let store = state.dash();
    let (rows, total) = store.dashboard_findings(&q).await?;
    let per_state = store.dashboard_finding_states(&q).await?;
    let keys: Vec<String> = rows.iter().map(|r| r.dedup_key.clone()).collect();
    let mut histories = store
        .dashboard_triage_histories(&keys, HISTORY_SHOWN)
        .await?;
    let mut by_sev: BTreeMap<(u8, String), i64> = BTreeMap::new();
    let mut by_kind: BTreeMap<(u8, String), i64> = BTreeMap::new();
    for (severity, kind, n) in store.dashboard_finding_counts(&q.window).await? {
        let rank = explain::severity_rank(&severity);
        *by_sev.entry((rank, severity)).or_default() += n;
        *by_kind.entry((rank, kind)).or_default() += n;
    }
    let first = String::new();
    // A chip toggles its filter and keeps the others; any change goes back to page 1.
    let toggle = |name: &str, value: &str, current: Option<&str>| {
        let v = if current == Some(value) {
            String::new()
        } else {
            value.to_string()
        };
        p.link("/findings", &[(name, v), ("page", first.clone())])
    };
    let chips = by_sev
        .into_iter()
        .map(|((_, s), n)| Chip {
            href: toggle("severity", &s, q.severity.as_deref()),
            active: q.severity.as_deref() == Some(s.as_str()),
            class: fmt::badge(&s),
            label: s,
            count: n,
        })
        .collect();
    let kinds = by_kind
        .into_iter()
        .map(|((_, k), n)| Chip {
            href: toggle("kind", &k, q.kind.as_deref()),
            active: q.kind.as_deref() == Some(k.as_str()),
            class: "kind",
            label: explain::explain(&k).title.to_string(),
            count: n,
        })
        .collect();
    let count_of = |f: StateFilter| -> i64 {
        per_state
            .iter()
            .filter(|(s, _)| match f {
                StateFilter::All => true,
                StateFilter::Active => {
                    matches!(s, TriageState::Open | TriageState::Acknowledged)
                }
                StateFilter::NotSuppressed => *s != TriageState::FalsePositive,
                StateFilter::Only(x) => *s == x,
            })
            .map(|(_, n)| n)
            .sum()
    };
    let state_link = |f: StateFilter| {
        p.link(
            "/findings",
            &[
                (
                    "state",
                    if f == StateFilter::Active {
                        String::new()
                    } else {
                        f.name().to_string()
                    },
                ),
                ("page", first.clone()),
            ],
        )
    };
    let mut state_filters = vec![StateFilter::Active];
    state_filters.extend(TriageState::ALL.into_iter().map(StateFilter::Only));
    state_filters.push(StateFilter::All);
    let states = state_filters
        .into_iter()
        .map(|f| Chip {
            label: match f {
                StateFilter::Active => "needs attention".to_string(),
                StateFilter::All => "all states".to_string(),
                StateFilter::NotSuppressed => "all but false positives".to_string(),
                StateFilter::Only(s) => s.label().to_string(),
            },
            class: match f {
                StateFilter::Only(s) => fmt::badge(s.name()),
                _ => "kind",
            },
            count: count_of(f),
            href: state_link(f),
            active: q.state == f,
        })
        .collect();
    let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let page_link = |n: i64| {
        p.link(
            "/findings",
            &[("page", if n == 1 { String::new() } else { n.to_string() })],
        )
    };
    let pager = pager(page, pages, page_link);
    let views: Vec<FindingView> = rows
        .into_iter()
        .map(|r| {
            let history = histories.remove(&r.dedup_key).unwrap_or_default();
            let mut v = finding_view(r);
            v.history = history;
            v
        })
        .collect();
    let shown = views.len() as i64;
    let hidden = count_of(StateFilter::All) - total;
    let view = FindingsPage {
        chrome: chrome(&state, &session, "/findings"),
        groups: group_views(views),
        total,
        chips,
        kinds,
        states,
        // What the default view leaves out (another state filter is the user's own choice).
        hidden: if q.state == StateFilter::Active {
            hidden
        } else {
            0
        },
        show_hidden_href: state_link(StateFilter::All),
        filtered: q.severity.is_some()
            || q.kind.is_some()
            || q.host.is_some()
            || q.q.is_some()
            || q.state != StateFilter::Active,
        all_href: "/findings".into(),
        q: q.q.clone().unwrap_or_default(),
        host: q.host.clone().unwrap_or_default(),
        severity: q.severity.clone().unwrap_or_default(),
        kind: q.kind.clone().unwrap_or_default(),
        state: if q.state == StateFilter::Active {
            String::new()
        } else {
            q.state.name().to_string()
        },
        sarif_href: p.link("/findings.sarif", &[("page", String::new())]),
        back: p.link("/findings", &[]),
        options: TriageState::ALL
            .into_iter()
            .map(|s| StateOption {
                value: s.name(),
                label: s.label(),
            })
            .collect(),
        from: if shown == 0 { 0 } else { q.offset + 1 },
        to: q.offset + shown,
        prev: (page > 1).then(|| page_link(page - 1)),
        next: (page < pages).then(|| page_link(page + 1)),
        pager,
    };
    render(&view)
}

/// `GET /findings.sarif`: the findings of the current filter (the page's parameters, every
/// page) as SARIF 2.1.0, false positives as suppressed results.
pub async fn sarif(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Query(p): Query<FindingParams>,
) -> Result<Response, AppError> {
    let mut q = p.to_query(StateFilter::Active)?;
    // The findings the page lists: its time range too.
    q.window = session.range.window;
    let rows = match state.inventory() {
        crate::web::Inventory::Local(store) => store.findings_listing_matching(&q).await?,
        crate::web::Inventory::Central(c) => c.findings_listing_matching(&q).await?,
    };
    let body = serde_json::to_vec_pretty(&crate::web::sarif::sarif(&rows))
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let mut resp = (StatusCode::OK, body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/sarif+json"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"shadowtap-findings.sarif\""),
    );
    Ok(resp)
}

/// The triage form (`POST /findings/{id}/triage`; CSRF checked by the guard).
#[derive(Debug, Default, Deserialize)]
pub struct TriageForm {
    /// The new state.
    pub state: String,
    /// Why.
    #[serde(default)]
    pub reason: String,
    /// Who (optional: the dashboard has no user names; `dashboard` when absent).
    #[serde(default)]
    pub by: String,
    /// The findings page to go back to (a `/findings` URL; anything else is ignored).
    #[serde(default)]
    pub back: String,
}

/// Why a triage change through the dashboard failed, for its caller to answer.
#[derive(Debug)]
pub enum TriageFailure {
    /// The state is not one of the four.
    BadState,
    /// No such finding.
    NotFound,
    /// The inventory could not be written (logged).
    Store,
    /// The dashboard shows a fleet's centre, which takes no triage.
    OnCentre,
}

/// What a centre refuses when asked to triage.
pub const TRIAGE_ON_CENTRE: &str = "Triage";

/// Sets the triage state of finding `id` through a writable store opened for the call (the
/// dashboard holds the inventory read-only, like the spec upload does).
pub async fn apply_triage(
    state: &AppState,
    id: i64,
    new_state: &str,
    reason: &str,
    by: &str,
) -> Result<crate::store::TriageEvent, TriageFailure> {
    let s = TriageState::parse(new_state).map_err(|_| TriageFailure::BadState)?;
    let by = match by.trim() {
        "" => "dashboard",
        b => b,
    };
    let Some(local) = state.store() else {
        return Err(TriageFailure::OnCentre);
    };
    let store = Store::open(local.path()).await.map_err(|e| {
        tracing::error!(error = %e, "dashboard: triage: the inventory could not be opened for writing");
        TriageFailure::Store
    })?;
    let r = store
        .set_triage(
            &id.to_string(),
            s,
            by,
            reason,
            crate::time::Timestamp::now().as_nanos(),
        )
        .await;
    store.close().await;
    r.map_err(|e| match e {
        TriageError::NotFound(_) => TriageFailure::NotFound,
        TriageError::UnknownState(_) => TriageFailure::BadState,
        TriageError::Store(e) => {
            tracing::error!(error = %e, "dashboard: triage failed");
            TriageFailure::Store
        }
    })
}

/// `POST /findings/{id}/triage`: changes the state, then 303 back to the findings page.
pub async fn triage(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Form(form): Form<TriageForm>,
) -> Result<Response, AppError> {
    match apply_triage(&state, id, &form.state, &form.reason, &form.by).await {
        Ok(_) => {}
        Err(TriageFailure::BadState) => {
            return Err(AppError::InvalidParam {
                name: "state",
                allowed: TriageState::names().into_iter().map(String::from).collect(),
            });
        }
        Err(TriageFailure::NotFound) => return Err(AppError::NotFound),
        Err(TriageFailure::OnCentre) => return Err(AppError::OnCentre(TRIAGE_ON_CENTRE)),
        Err(TriageFailure::Store) => {
            return Err(AppError::Internal(
                "triage: the inventory could not be written".into(),
            ));
        }
    }
    let back = if (form.back == "/findings" || form.back.starts_with("/findings?"))
        && !form.back.contains(['\r', '\n', '#'])
    {
        form.back
    } else {
        "/findings".to_string()
    };
    let location = format!("{back}#finding-{id}");
    let mut resp = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}
