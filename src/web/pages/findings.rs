//! The Findings page (`GET /findings`, `templates/findings.html`): findings grouped by
//! severity and kind ([`group_findings`], shared with the JSON API), with severity and kind
//! filter chips.

use super::{Chrome, FindingView, chrome, finding_view, nonempty, render};
use crate::store::dashboard::{FindingQuery, FindingRow};
use crate::web::explain::{self, Explanation};
use crate::web::fmt;
use crate::web::{AppError, AppState, Session};
use askama::Template;
use axum::Extension;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Query parameters of the findings page.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct FindingParams {
    /// Severity.
    pub severity: Option<String>,
    /// Kind.
    pub kind: Option<String>,
    /// Host.
    pub host: Option<String>,
    /// Page (from 1; the JSON API).
    pub page: Option<String>,
    /// Findings per page (the JSON API).
    pub per: Option<String>,
}

impl FindingParams {
    /// The store query.
    pub fn to_query(&self) -> FindingQuery {
        FindingQuery {
            severity: nonempty(&self.severity),
            kind: nonempty(&self.kind),
            host: nonempty(&self.host),
            limit: 5000,
            offset: 0,
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
