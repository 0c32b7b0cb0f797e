//! Call flows per host (`shadowtap sequences`): the busiest transitions and three-call paths
//! and the behavioural findings, read from the public views.

use super::{Store, StoreError};
use sqlx::Row;
use std::collections::BTreeMap;

/// One transition as listed.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct TransitionRow {
    /// `METHOD template` of the first call.
    pub from: String,
    /// `METHOD template` of the next call.
    pub to: String,
    /// Times seen.
    pub count: i64,
    /// Clients that made it.
    pub clients: i64,
    /// Mean time between the two calls.
    pub avg_gap_ms: Option<f64>,
}

/// One three-call path as listed.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct PathRow {
    /// `METHOD template` of each call.
    pub steps: [String; 3],
    /// Times seen.
    pub count: i64,
    /// Clients that made it.
    pub clients: i64,
}

/// One behavioural finding as listed.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct FlowFindingRow {
    /// Finding kind.
    pub kind: String,
    /// The client (or `-`).
    pub principal: String,
    /// `METHOD template`.
    pub endpoint: String,
    /// What was found.
    pub detail: String,
}

/// The call flows of one host.
#[derive(Debug, Default, serde::Serialize)]
pub struct HostFlows {
    /// Transitions seen in all.
    pub transitions_total: i64,
    /// The busiest transitions.
    pub transitions: Vec<TransitionRow>,
    /// The busiest three-call paths.
    pub paths: Vec<PathRow>,
    /// Behavioural findings.
    pub findings: Vec<FlowFindingRow>,
}

impl Store {
    /// The main call flows per host (`host`: only that one): the `top` busiest transitions
    /// and three-call paths, and the behavioural findings.
    pub async fn flows(
        &self,
        host: Option<&str>,
        top: usize,
    ) -> Result<BTreeMap<String, HostFlows>, StoreError> {
        let top = top.clamp(1, 10_000) as i64;
        let mut hosts: BTreeMap<String, HostFlows> = BTreeMap::new();
        let totals = sqlx::query(
            "SELECT host, SUM(count) FROM api_transitions WHERE (?1 IS NULL OR host = ?1) GROUP BY host",
        )
        .bind(host)
        .fetch_all(&self.pool)
        .await?;
        for r in totals {
            hosts.entry(r.get(0)).or_default().transitions_total = r.get(1);
        }
        for h in hosts.keys().cloned().collect::<Vec<_>>() {
            let e = hosts.get_mut(&h).expect("listed");
            e.transitions = sqlx::query(
                "SELECT from_method || ' ' || from_path_template, to_method || ' ' || to_path_template, count, clients, avg_gap_ms
                 FROM api_transitions WHERE host = ? ORDER BY count DESC, 1, 2 LIMIT ?",
            )
            .bind(&h)
            .bind(top)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| TransitionRow {
                from: r.get(0),
                to: r.get(1),
                count: r.get(2),
                clients: r.get(3),
                avg_gap_ms: r.get(4),
            })
            .collect();
            e.paths = sqlx::query(
                "SELECT step1_method || ' ' || step1_path_template, step2_method || ' ' || step2_path_template,
                        step3_method || ' ' || step3_path_template, count, clients
                 FROM api_sequence_paths WHERE host = ? ORDER BY count DESC, 1, 2, 3 LIMIT ?",
            )
            .bind(&h)
            .bind(top)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| PathRow {
                steps: [r.get(0), r.get(1), r.get(2)],
                count: r.get(3),
                clients: r.get(4),
            })
            .collect();
            e.findings = sqlx::query(
                "SELECT kind, coalesce(client, '-'), method || ' ' || path_template, detail FROM api_findings
                 WHERE host = ? AND kind IN ('enumeration', 'novel_transition', 'rate_anomaly', 'fingerprint_change')
                 ORDER BY kind, client",
            )
            .bind(&h)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| FlowFindingRow {
                kind: r.get(0),
                principal: r.get(1),
                endpoint: r.get(2),
                detail: r.get(3),
            })
            .collect();
        }
        Ok(hosts)
    }
}
