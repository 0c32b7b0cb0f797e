//! The Sequences page (`GET /sequences`, `templates/sequences.html`): the graph of transitions
//! between endpoints (at most [`MAX_EDGES`]), its busiest edges, common paths and sequence
//! findings, for one host at a time.

use super::endpoint::TransitionView;
use super::{Chrome, Opt, chrome, nonempty, render};
use crate::web::charts::Svg;
use crate::web::fmt;
use crate::web::graph;
use crate::web::{AppError, AppState, Session};
use askama::Template;
use axum::Extension;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use std::collections::BTreeMap;

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
        .dash()
        .dashboard_sequences(host.as_deref(), MAX_EDGES, &session.range.window)
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
