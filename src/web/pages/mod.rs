//! The HTML pages: one handler and one askama template struct per page, one file per page.
//!
//! This module owns the page handlers the router mounts and the view types their templates
//! (`templates/*.html`) read: each submodule serves one template, and this file holds what they
//! share (the frame of every page, key figures, legends, bars, finding views, small helpers).
//! Pages read the inventory through [`Store`](crate::store::Store) methods only: no SQL here.
//!
//! Templates receive the store's plain data and call the helpers of [`super::fmt`] to format
//! it; askama escapes everything printed. The only values printed unescaped are
//! [`Svg`](super::charts::Svg)s, built by `charts` and `graph`, which escape their own text.

mod changes;
mod endpoint;
mod endpoints;
mod error;
mod export;
mod findings;
pub mod fleet;
mod hosts;
mod login;
mod overview;
mod sensor;
mod sequences;
mod spec;
mod tls;
mod tls_service;

pub use changes::{ChangeParams, changes};
pub use endpoint::{endpoint, latency};
pub use endpoints::{EndpointParams, endpoints};
pub use error::{error_page, not_found};
pub use export::{
    csv_view, export, export_csv, export_json, export_openapi, export_sql, json_doc, openapi_doc,
    sql_dump,
};
pub use findings::{
    FindingParams, TRIAGE_ON_CENTRE, TriageFailure, apply_triage, findings, group_findings,
    sarif as findings_sarif, triage as findings_triage,
};
pub use fleet::{fleet, fleet_data};
pub use hosts::{
    HOST_ENDPOINTS_PER_PAGE, HostPageParams, HostParams, MAP_CLIENTS, MAP_HOSTS, host, host_data,
    hosts,
};
pub(crate) use login::{ceil_secs, wait_message};
pub use login::{login, login_form, logout};
pub use overview::overview;
pub use sensor::{sensor, sensor_data, sensor_summary};
pub use sequences::{MAX_EDGES, SequenceParams, sequences};
pub use spec::{spec, spec_upload};
pub use tls::{tls, tls_host};
pub use tls_service::tls_service;

use super::charts::Bar;
use super::explain;
use super::fmt;
use super::{AppError, AppState, Session, assets};
use crate::store::dashboard::{Count, FindingRow};
use askama::Template;
use axum::response::{Html, IntoResponse, Response};

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
    /// A sensor runs in this process (`shadowtap run`): the inventory grows while the page
    /// is open, so the page offers to refresh itself.
    pub live: bool,
    /// The time range picker.
    pub range: RangeView,
}

/// The time range picker at the top of every page, and what it says of the page.
pub struct RangeView {
    /// The presets, the one in effect selected.
    pub options: Vec<Opt>,
    /// A custom range is in effect.
    pub custom: bool,
    /// The custom range's start, as typed.
    pub from: String,
    /// The custom range's end, as typed.
    pub to: String,
    /// The range in effect for people (`Last 7 days: 2025-01-24 12:00 UTC to the newest
    /// request`); empty for all time.
    pub label: String,
    /// This page counts what was seen in the range (the pages of one endpoint, one TLS
    /// service, the spec, the sensor and exports show everything).
    pub applies: bool,
    /// The form's target: this page.
    pub action: String,
    /// This page's other query parameters, sent back with the range (the page number
    /// restarts).
    pub hidden: Vec<(String, String)>,
    /// This page over all time.
    pub clear: String,
}

/// Pages whose counts follow the range (`/hosts/{host}` included).
const RANGED_PAGES: [&str; 7] = [
    "/",
    "/endpoints",
    "/hosts",
    "/changes",
    "/findings",
    "/sequences",
    "/tls",
];

fn range_view(session: &Session) -> RangeView {
    use super::range::{self, PRESETS};
    let r = &session.range;
    let preset = r.params.preset();
    let path = session.path.as_str();
    let applies =
        RANGED_PAGES.contains(&path) || path.strip_prefix("/hosts/").is_some_and(|h| !h.is_empty());
    let hidden: Vec<(String, String)> = session
        .query
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "range" | "from" | "to" | "page"))
        .cloned()
        .collect();
    let mut clear_pairs: Vec<(&str, String)> = hidden
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    clear_pairs.push(("range", "all".into()));
    let label = match PRESETS.iter().find(|(v, _)| *v == preset) {
        _ if r.window.is_all() => String::new(),
        Some((_, name)) => format!("{name}: {}", range::label(&r.window)),
        None => range::label(&r.window),
    };
    RangeView {
        options: PRESETS
            .iter()
            .map(|(v, l)| Opt {
                value: v.to_string(),
                label: l.to_string(),
                selected: *v == preset,
            })
            .collect(),
        custom: preset == "custom",
        from: r.params.from.clone().unwrap_or_default(),
        to: r.params.to.clone().unwrap_or_default(),
        label,
        applies,
        action: session.path.clone(),
        clear: format!("{}{}", session.path, fmt::query(&clear_pairs)),
        hidden,
    }
}

const NAV: [(&str, &str); 12] = [
    ("/", "Overview"),
    ("/hosts", "Hosts"),
    ("/endpoints", "Endpoints"),
    ("/changes", "Changes"),
    ("/findings", "Findings"),
    ("/sequences", "Sequences"),
    ("/tls", "TLS"),
    ("/spec", "Spec"),
    ("/sensor", "Sensor"),
    ("/fleet", "Fleet"),
    ("/export", "Export"),
    ("/api/", "API"),
];

fn chrome(state: &AppState, session: &Session, active: &str) -> Chrome {
    Chrome {
        nav: NAV
            .iter()
            .filter(|(h, _)| *h != "/api/")
            // A centre shows its sensors (Fleet); a sensor's own file, itself (Sensor).
            .filter(|(h, _)| {
                *h != if state.dash().is_central() {
                    "/sensor"
                } else {
                    "/fleet"
                }
            })
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
        live: state.sensor().is_some(),
        range: range_view(session),
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
    /// Its triage changes, oldest first (filled where a page shows them).
    pub history: Vec<crate::store::TriageEvent>,
}

fn finding_view(f: FindingRow) -> FindingView {
    FindingView {
        title: explain::explain(&f.kind).title,
        detail: fmt::code_runs(&f.detail),
        href: f.endpoint_id.map(|id| format!("/endpoints/{id}")),
        history: Vec::new(),
        f,
    }
}

/// The reasons of an endpoint's risk score, each finding kind named by its title (the Endpoint
/// page and `GET /api/endpoints/{id}`).
pub fn risk_reasons(r: &crate::store::dashboard::Risk) -> Vec<String> {
    r.reasons(|kind| explain::explain(kind).title.to_string())
}

fn endpoints_link(pairs: &[(&str, String)]) -> String {
    format!("/endpoints{}", fmt::query(pairs))
}

fn nonempty(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.chars().take(512).collect())
}
