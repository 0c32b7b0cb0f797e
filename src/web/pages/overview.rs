//! The Overview page (`GET /`, `templates/overview.html`): first what to fix first (active
//! critical and high findings grouped by endpoint, riskiest first), then key figures, traffic
//! over time, classification, findings by severity, the busiest hosts and the newest findings.

use super::{
    Chrome, FindingView, Kpi, Legend, bars, chrome, endpoints_link, finding_view, kpi, legend,
    render,
};
use crate::store::dashboard::{FixFirst, Overview};
use crate::web::charts::{self, Bar, Svg};
use crate::web::explain;
use crate::web::fmt;
use crate::web::{AppError, AppState, Session};
use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::response::Response;

/// A group of "fix these first", ready to show.
struct FixView {
    g: FixFirst,
    /// The endpoint's findings (None: no endpoint in the inventory).
    href: Option<String>,
    /// The kinds' titles, most severe first.
    titles: Vec<&'static str>,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    chrome: Chrome,
    fix: Vec<FixView>,
    /// `/findings` filtered on the critical ones and on the high ones.
    fix_links: [String; 2],
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
    let d = state.overview(&session.range.window).await?;
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
            href: Some("/hosts".into()),
            ..kpi("Hosts", fmt::num(&t.hosts), "hosts with endpoints".into())
        },
        Kpi {
            href: Some("/endpoints".into()),
            ..kpi(
                "Endpoints",
                fmt::num(&t.endpoints),
                if classified {
                    format!(
                        "{} called, {} shadow or zombie",
                        fmt::num(&t.observed),
                        fmt::num(&shadow)
                    )
                } else if t.observed < t.endpoints {
                    format!("{} called", fmt::num(&t.observed))
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
    let fix = d
        .fix_first
        .groups
        .iter()
        .cloned()
        .map(|g| FixView {
            href: g.endpoint_id.map(|id| format!("/endpoints/{id}#findings")),
            titles: g.kinds.iter().map(|k| explain::explain(k).title).collect(),
            g,
        })
        .collect();
    let severity_link = |s: &str| format!("/findings{}", fmt::query(&[("severity", s.into())]));
    let page = OverviewPage {
        chrome: chrome(&state, &session, "/"),
        fix,
        fix_links: [severity_link("critical"), severity_link("high")],
        kpis,
        traffic: charts::responsive(
            charts::time_series(&d.minutes, 1400, 240, 120),
            charts::time_series(&d.minutes, charts::NARROW, 220, 36),
        ),
        class_bar: charts::stacked(&bars(&d.classification, |_| None), 600, 14),
        class_legend: legend(&d.classification, class_link),
        classified,
        severity: {
            let b = bars(&d.severity, |k| {
                Some(format!(
                    "/findings{}",
                    fmt::query(&[("severity", k.into())])
                ))
            });
            charts::responsive(charts::hbars(&b, 680), charts::hbars(&b, charts::NARROW))
        },
        hosts: {
            let b: Vec<Bar> = d
                .hosts
                .iter()
                .map(|c| Bar {
                    label: c.key.clone(),
                    value: c.count,
                    class: "host",
                    href: Some(crate::web::service_map::host_href(&c.key)),
                })
                .collect();
            charts::responsive(charts::hbars(&b, 1400), charts::hbars(&b, charts::NARROW))
        },
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
