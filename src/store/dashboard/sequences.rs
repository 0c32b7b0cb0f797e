//! The sequences page: the transition graph of one host (its endpoints and transitions), its
//! most frequent runs of three calls, and the sequence findings.

use super::Dashboard;
use super::{Count, Window, counts};
use crate::store::StoreError;
use serde::Serialize;

/// An endpoint of the sequence graph.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GraphNode {
    /// Endpoint id.
    pub id: i64,
    /// Host.
    pub host: String,
    /// Method.
    pub method: String,
    /// Path template.
    pub path_template: String,
    /// Requests.
    pub request_count: i64,
}

/// A transition of the sequence graph.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GraphEdge {
    /// Source endpoint.
    pub from: i64,
    /// Target endpoint.
    pub to: i64,
    /// Times.
    pub count: i64,
    /// Distinct clients.
    pub clients: i64,
}

/// Transitions of one host.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Sequences {
    /// Hosts that have transitions (number of transitions made), busiest first.
    pub hosts: Vec<Count>,
    /// The host shown.
    pub host: Option<String>,
    /// Its endpoints that take part in a transition.
    pub nodes: Vec<GraphNode>,
    /// Its transitions, busiest first.
    pub edges: Vec<GraphEdge>,
    /// Transitions of the host left out (beyond the edge cap).
    pub edges_omitted: i64,
    /// Its most frequent runs of three calls.
    pub paths: Vec<SequencePath>,
    /// Behavioural findings about its principals (enumeration, novel transitions, rate
    /// anomalies, fingerprint changes).
    pub findings: Vec<SequenceFinding>,
}

/// A run of three consecutive calls.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SequencePath {
    /// The three endpoints: (id, method, path template).
    pub steps: Vec<(i64, String, String)>,
    /// Times.
    pub count: i64,
    /// Distinct principals.
    pub clients: i64,
}

/// A behavioural finding about a principal.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SequenceFinding {
    /// Finding id.
    pub id: i64,
    /// Kind.
    pub kind: String,
    /// Severity.
    pub severity: String,
    /// Principal.
    pub principal: String,
    /// Endpoint method.
    pub method: String,
    /// Endpoint template.
    pub path_template: String,
    /// Plain words.
    pub detail: String,
}

impl Dashboard {
    /// The transitions of one host (the busiest host when `host` is `None`), at most
    /// `max_edges` of them, busiest first; transitions, three-call paths and findings whose
    /// span meets `window`.
    pub async fn dashboard_sequences(
        &self,
        host: Option<&str>,
        max_edges: i64,
        window: &Window,
    ) -> Result<Sequences, StoreError> {
        let (xw, pw, fw) = (
            window.and_span("x"),
            window.and_span("p"),
            window.and_span("findings"),
        );
        let hosts = counts(
            &self.db.query(format!(
                "SELECT f.host, SUM(x.count) AS n FROM transitions x JOIN endpoints f ON f.id = x.from_endpoint
                 WHERE TRUE{xw} GROUP BY f.host ORDER BY n DESC, f.host LIMIT 500"
            ))
            .fetch_all()
            .await?,
        );
        let host = match host {
            Some(h) => Some(h.to_string()),
            None => hosts.first().map(|c| c.key.clone()),
        };
        let Some(h) = host.clone() else {
            return Ok(Sequences {
                hosts,
                host,
                nodes: Vec::new(),
                edges: Vec::new(),
                edges_omitted: 0,
                paths: Vec::new(),
                findings: Vec::new(),
            });
        };
        let all: i64 = self.db.query(format!(
            "SELECT COUNT(*) FROM transitions x JOIN endpoints f ON f.id = x.from_endpoint WHERE f.host = ?{xw}"
        ))
        .bind(&h)
        .fetch_scalar()
        .await?;
        let edges: Vec<GraphEdge> = self
            .db
            .query(format!(
                "SELECT x.from_endpoint, x.to_endpoint, x.count, x.clients
             FROM transitions x JOIN endpoints f ON f.id = x.from_endpoint
             WHERE f.host = ?{xw} ORDER BY x.count DESC, x.from_endpoint, x.to_endpoint LIMIT ?"
            ))
            .bind(&h)
            .bind(max_edges)
            .fetch_all()
            .await?
            .iter()
            .map(|r| GraphEdge {
                from: r.get(0),
                to: r.get(1),
                count: r.get(2),
                clients: r.get(3),
            })
            .collect();
        let mut ids: Vec<i64> = edges.iter().flat_map(|e| [e.from, e.to]).collect();
        ids.sort_unstable();
        ids.dedup();
        let nodes = if ids.is_empty() {
            Vec::new()
        } else {
            let list = ids
                .iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(",");
            self.db.query(format!(
                "SELECT id, host, method, path_template, request_count FROM endpoints WHERE id IN ({list}) ORDER BY id"
            ))
            .fetch_all()
            .await?
            .iter()
            .map(|r| GraphNode {
                id: r.get(0),
                host: r.get(1),
                method: r.get(2),
                path_template: r.get(3),
                request_count: r.get(4),
            })
            .collect()
        };
        let paths = self.db.query(format!(
            "SELECT a.id, a.method, a.path_template, b.id, b.method, b.path_template, c.id, c.method, c.path_template,
                    p.count, p.clients
             FROM sequence_paths p JOIN endpoints a ON a.id = p.step1 JOIN endpoints b ON b.id = p.step2
             JOIN endpoints c ON c.id = p.step3
             WHERE a.host = ?{pw} ORDER BY p.count DESC, p.step1, p.step2, p.step3 LIMIT 20"
        ))
        .bind(&h)
        .fetch_all()
        .await?
        .iter()
        .map(|r| SequencePath {
            steps: (0..3)
                .map(|i| (r.get(3 * i), r.get(3 * i + 1), r.get(3 * i + 2)))
                .collect(),
            count: r.get(9),
            clients: r.get(10),
        })
        .collect();
        let findings = self.db.query(format!(
            "SELECT id, kind, severity, coalesce(client, ''), coalesce(method, ''), coalesce(path_template, ''), detail
             FROM findings WHERE host = ?{fw}
               AND kind IN ('enumeration', 'novel_transition', 'rate_anomaly', 'fingerprint_change')
             ORDER BY last_seen DESC, id LIMIT 100"
        ))
        .bind(&h)
        .fetch_all()
        .await?
        .iter()
        .map(|r| SequenceFinding {
            id: r.get(0),
            kind: r.get(1),
            severity: r.get(2),
            principal: r.get(3),
            method: r.get(4),
            path_template: r.get(5),
            detail: r.get(6),
        })
        .collect();
        Ok(Sequences {
            hosts,
            host,
            edges_omitted: all - edges.len() as i64,
            nodes,
            edges,
            paths,
            findings,
        })
    }
}
