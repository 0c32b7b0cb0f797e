//! An endpoint's risk: the score and most severe active finding stored on its row, what they
//! are made of ([`Risk`], for the endpoint page), and the overview's "fix these first" list
//! ([`FixFirst`]).
//!
//! The one definition of the score is the view `endpoint_risk` of migration 0012; triggers
//! keep `endpoints.risk_score`, `endpoints.max_severity` and `endpoints.exposure` current, so
//! the endpoint list sorts and filters by risk through an index (whatever the inventory's
//! size) and a triage change shows at once. Only active findings count ([`ACTIVE_FINDING`]):
//!
//! | part | points |
//! |---|---|
//! | most severe active finding | critical 80, high 60, medium 40, low 20, info or none 0 |
//! | each further active finding | critical 3, high 2, medium 1 (at most 6 in all) |
//! | no authentication observed | 4 |
//! | sensitive data in responses | 3 |
//! | an external client (outside private, loopback, link-local and shared ranges) | 2 |
//! | shadow or zombie | 4 |
//!
//! The score is at most 100 and its band (the tens) is the severity: a critical endpoint always
//! outranks a high one, and endpoints of one band rank by exposure and classification.

use super::Dashboard;
use super::{ACTIVE_FINDING, Window, severity_rank_sql};
use crate::store::StoreError;
use serde::Serialize;

/// `endpoints.exposure`: no authentication observed (every request came without credentials).
pub const EXPOSURE_NO_AUTH: i64 = 4;
/// `endpoints.exposure`: sensitive data seen in responses.
pub const EXPOSURE_SENSITIVE_OUT: i64 = 2;
/// `endpoints.exposure`: called from an address outside the private ranges.
pub const EXPOSURE_EXTERNAL: i64 = 1;

/// Severities, most severe first: a `min_severity` filter keeps the endpoints whose most severe
/// active finding is this one or one before it.
pub const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "info"];

/// The condition on `e` (`endpoints`) of a `min_severity` filter: its most severe active
/// finding is `min` or more severe (nothing matches an unknown severity).
pub fn min_severity_sql(min: &str) -> &'static str {
    match min {
        "critical" => "e.max_severity = 'critical'",
        "high" => "e.max_severity IN ('critical', 'high')",
        "medium" => "e.max_severity IN ('critical', 'high', 'medium')",
        "low" => "e.max_severity IN ('critical', 'high', 'medium', 'low')",
        "info" => "e.max_severity IS NOT NULL",
        _ => "0",
    }
}

/// Active findings of one kind and severity on an endpoint.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RiskFinding {
    /// Severity.
    pub severity: String,
    /// Kind.
    pub kind: String,
    /// Findings of this kind (one per client or per detail).
    pub count: i64,
}

/// What an endpoint's risk score is made of.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Risk {
    /// The score, 0 to 100 (see the module's table).
    pub score: i64,
    /// Severity of the most severe active finding (`None`: no active finding).
    pub max_severity: Option<String>,
    /// Active findings per kind, most severe first.
    pub findings: Vec<RiskFinding>,
    /// No authentication observed.
    pub no_auth: bool,
    /// Sensitive data classes seen in responses.
    pub sensitive_out: Vec<String>,
    /// Called from an external address.
    pub external_clients: bool,
    /// The classification, when it weighs (`shadow`, `zombie`).
    pub undocumented: Option<String>,
    /// Its scope when it is not `api` (`static`, `third_party`, `ignored`), with the reason:
    /// then only its findings count (see `migrations/0013_scope.sql`).
    pub outside_api: Option<(String, String)>,
}

impl Risk {
    /// The reasons of the score, in short words, most weighty first: one per kind of active
    /// finding (`title` names a kind), then the exposure and the classification.
    pub fn reasons(&self, title: impl Fn(&str) -> String) -> Vec<String> {
        let mut out: Vec<String> = self
            .findings
            .iter()
            .map(|f| match f.count {
                1 => format!("{}: {}", f.severity, title(&f.kind)),
                n => format!("{}: {} ({n} findings)", f.severity, title(&f.kind)),
            })
            .collect();
        if self.no_auth {
            out.push("no authentication observed".into());
        }
        if !self.sensitive_out.is_empty() {
            out.push(format!(
                "sensitive data: {} in responses",
                self.sensitive_out.join(", ").replace('_', " ")
            ));
        }
        if self.external_clients {
            out.push("called from external addresses".into());
        }
        match self.undocumented.as_deref() {
            Some("shadow") => out.push("shadow (undocumented)".into()),
            Some("zombie") => out.push("zombie (deprecated or superseded, still called)".into()),
            _ => {}
        }
        if let Some((scope, why)) = &self.outside_api {
            out.push(format!(
                "{}: {why} (only its findings count)",
                scope.replace('_', "-")
            ));
        }
        out
    }
}

/// Active critical and high findings of one endpoint (or of a host, for findings about no
/// endpoint), for the overview.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FixFirst {
    /// The endpoint's id (`None`: the findings are about a host, or a path not in the inventory).
    pub endpoint_id: Option<i64>,
    /// Host.
    pub host: Option<String>,
    /// Method.
    pub method: Option<String>,
    /// Path template.
    pub path_template: Option<String>,
    /// The endpoint's risk score (the severity band when there is no endpoint).
    pub risk_score: i64,
    /// Most severe (`critical` or `high`).
    pub max_severity: String,
    /// Critical and high findings.
    pub count: i64,
    /// Their kinds, most severe first.
    pub kinds: Vec<String>,
}

/// The "fix these first" list: the groups and how many there are in all.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct FixFirstList {
    /// The riskiest groups (at most the limit asked).
    pub groups: Vec<FixFirst>,
    /// Groups in all.
    pub total: i64,
    /// Critical and high findings in all.
    pub findings: i64,
}

impl Dashboard {
    /// What the risk score of endpoint `id` is made of (`None`: no such endpoint).
    pub async fn dashboard_risk(&self, id: i64) -> Result<Option<Risk>, StoreError> {
        let Some(e) = self.db.query("SELECT risk_score, max_severity, exposure, classification, scope, COALESCE(scope_reason, '') FROM endpoints WHERE id = ?",)
        .bind(id)
        .fetch_optional()
        .await?
        else {
            return Ok(None);
        };
        let sev = severity_rank_sql("f.severity");
        let findings = self
            .db
            .query(format!(
                "SELECT f.severity, f.kind, COUNT(*) FROM findings f JOIN endpoints e
               ON e.host = f.host AND e.method = f.method AND e.path_template = f.path_template
             WHERE e.id = ? AND {ACTIVE_FINDING}
             GROUP BY f.severity, f.kind ORDER BY MIN({sev}), COUNT(*) DESC, f.kind"
            ))
            .bind(id)
            .fetch_all()
            .await?
            .iter()
            .map(|r| RiskFinding {
                severity: r.get(0),
                kind: r.get(1),
                count: r.get(2),
            })
            .collect();
        let sensitive_out = self.db.query("SELECT DISTINCT class FROM endpoint_sensitive
             WHERE endpoint_id = ? AND location IN ('response_header', 'response_body') ORDER BY class",)
        .bind(id)
        .fetch_all_scalar()
        .await?;
        let classification: Option<String> = e.get(3);
        let scope: String = e.get(4);
        // Outside the APIs, only the findings count (the view endpoint_risk of 0013).
        let api = scope == "api";
        let exposure: i64 = if api { e.get(2) } else { 0 };
        Ok(Some(Risk {
            score: e.get(0),
            max_severity: e.get(1),
            findings,
            no_auth: exposure & EXPOSURE_NO_AUTH != 0,
            sensitive_out: if api { sensitive_out } else { Vec::new() },
            external_clients: exposure & EXPOSURE_EXTERNAL != 0,
            undocumented: classification.filter(|c| api && (c == "shadow" || c == "zombie")),
            outside_api: (!api).then(|| (scope, e.get(5))),
        }))
    }

    /// Active critical and high findings grouped by endpoint, riskiest first, at most `limit`
    /// groups. Read per endpoint and kind (a few rows per endpoint with such findings), grouped
    /// here.
    /// Only findings whose span meets `window` count.
    pub async fn dashboard_fix_first(
        &self,
        limit: usize,
        window: &Window,
    ) -> Result<FixFirstList, StoreError> {
        let sev = severity_rank_sql("f.severity");
        let fw = window.and_span("f");
        let rows = self.db.query(format!(
            "SELECT e.id, f.host, f.method, f.path_template, e.risk_score, f.kind, MIN({sev}), COUNT(*)
             FROM findings f
             LEFT JOIN endpoints e ON e.host = f.host AND e.method = f.method AND e.path_template = f.path_template
             WHERE f.severity IN ('critical', 'high') AND {ACTIVE_FINDING}{fw}
             GROUP BY f.host, f.method, f.path_template, f.kind, e.id, e.risk_score
             ORDER BY f.host, f.method, f.path_template, MIN({sev}), f.kind"
        ))
        .fetch_all()
        .await?;
        let mut groups: Vec<FixFirst> = Vec::new();
        let mut findings = 0;
        for r in &rows {
            let (host, method, path): (Option<String>, Option<String>, Option<String>) =
                (r.get(1), r.get(2), r.get(3));
            let top: i64 = r.get(6);
            let n: i64 = r.get(7);
            findings += n;
            let severity = if top == 0 { "critical" } else { "high" };
            match groups.last_mut() {
                Some(g) if g.host == host && g.method == method && g.path_template == path => {
                    g.count += n;
                    g.kinds.push(r.get(5));
                    if top == 0 {
                        g.max_severity = severity.to_string();
                    }
                }
                _ => groups.push(FixFirst {
                    endpoint_id: r.get(0),
                    risk_score: r.get::<Option<i64>, _>(4).unwrap_or(if top == 0 {
                        80
                    } else {
                        60
                    }),
                    host,
                    method,
                    path_template: path,
                    max_severity: severity.to_string(),
                    count: n,
                    kinds: vec![r.get(5)],
                }),
            }
        }
        groups.sort_by(|a, b| {
            (a.max_severity != "critical")
                .cmp(&(b.max_severity != "critical"))
                .then(b.risk_score.cmp(&a.risk_score))
                .then(b.count.cmp(&a.count))
                .then(a.host.cmp(&b.host))
                .then(a.path_template.cmp(&b.path_template))
                .then(a.method.cmp(&b.method))
        });
        let total = groups.len() as i64;
        groups.truncate(limit);
        Ok(FixFirstList {
            groups,
            total,
            findings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn every_severity_has_a_filter() {
        for s in SEVERITIES {
            assert!(min_severity_sql(s).contains("max_severity"), "{s}");
        }
        assert_eq!(min_severity_sql("severe"), "0");
    }

    /// Each input of the score, written as the store writes it, moves the stored score by
    /// its points at once (the triggers of migration 0012), and the stored row always equals
    /// the view `endpoint_risk`.
    #[tokio::test]
    async fn the_stored_score_follows_every_input() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).await.unwrap();
        let pool = &store.pool;
        let run = |sql: &'static str| async move {
            sqlx::query(sql).execute(pool).await.unwrap();
        };
        let risk = || async {
            let r = store.dashboard().dashboard_risk(1).await.unwrap().unwrap();
            let drift: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM endpoints e JOIN endpoint_risk r ON r.endpoint_id = e.id
                 WHERE e.risk_score <> r.risk_score OR e.max_severity IS NOT r.max_severity
                    OR e.exposure <> r.exposure",
            )
            .fetch_one(pool)
            .await
            .unwrap();
            assert_eq!(drift, 0, "stored = defined");
            (r.score, r.max_severity)
        };
        run("INSERT INTO endpoints (id, host, method, path_template) VALUES (1, 'api.test', 'GET', '/x')").await;
        assert_eq!(risk().await, (0, None));
        run("INSERT INTO endpoint_auth (endpoint_id, scheme, location, count) VALUES (1, 'none', '', 1)").await;
        assert_eq!(risk().await.0, 4, "no authentication observed");
        run("INSERT INTO endpoint_sensitive VALUES (1, 'email', 'request_body', 'to', 1, 'a***', 0, 0)").await;
        assert_eq!(risk().await.0, 4, "sensitive data in a request only");
        run("INSERT INTO endpoint_sensitive VALUES (1, 'email', 'response_body', 'user.email', 1, 'a***', 0, 0)").await;
        assert_eq!(risk().await.0, 7, "sensitive data in responses");
        run("INSERT INTO endpoint_clients VALUES (1, '10.1.2.3', 1, 0, 0), (1, 'fd00::1', 1, 0, 0), (1, '172.20.0.1', 1, 0, 0)").await;
        assert_eq!(risk().await.0, 7, "private clients");
        run("INSERT INTO endpoint_clients VALUES (1, '203.0.113.9', 1, 0, 0)").await;
        assert_eq!(risk().await.0, 9, "an external client");
        run("UPDATE endpoints SET classification = 'shadow' WHERE id = 1").await;
        assert_eq!(risk().await.0, 13, "shadow");
        run("INSERT INTO findings (kind, severity, host, method, path_template, detail, first_seen, last_seen, dedup_key)
             VALUES ('jwt_alg_none_accepted', 'critical', 'api.test', 'GET', '/x', 'd', 0, 0, 'k1'),
                    ('credentials_in_url', 'high', 'api.test', 'GET', '/x', 'd', 0, 0, 'k2'),
                    ('jwt_weak_secret', 'critical', 'api.test', 'GET', '/x', 'd', 0, 0, 'k3'),
                    ('verbose_errors', 'medium', 'api.test', 'GET', '/y', 'd', 0, 0, 'k4')").await;
        // 80 + (3 + 2 + 3 - 3) + 13.
        assert_eq!(risk().await, (98, Some("critical".into())));
        run("INSERT INTO finding_triage VALUES ('k1', 'false_positive', 't', '', 0), ('k3', 'resolved', 't', '', 0)").await;
        assert_eq!(
            risk().await,
            (73, Some("high".into())),
            "only active findings count"
        );
        run("UPDATE finding_triage SET state = 'acknowledged' WHERE dedup_key = 'k3'").await;
        assert_eq!(risk().await, (80 + 2 + 13, Some("critical".into())));
        run("DELETE FROM finding_triage").await;
        run("INSERT INTO findings (kind, severity, host, method, path_template, detail, first_seen, last_seen, dedup_key)
             VALUES ('a', 'critical', 'api.test', 'GET', '/x', 'd', 0, 0, 'k5'), ('b', 'critical', 'api.test', 'GET', '/x', 'd', 0, 0, 'k6')").await;
        assert_eq!(
            risk().await.0,
            80 + 6 + 13,
            "further findings add at most 6"
        );
        run("DELETE FROM findings WHERE severity = 'critical'").await;
        run("INSERT INTO endpoint_auth (endpoint_id, scheme, location, count) VALUES (1, 'bearer_jwt', 'authorization', 1)").await;
        run("DELETE FROM endpoint_clients WHERE client = '203.0.113.9'").await;
        assert_eq!(risk().await, (60 + 3 + 4, Some("high".into())));
        run("UPDATE findings SET path_template = '/y' WHERE dedup_key = 'k2'").await;
        assert_eq!(risk().await, (7, None), "the finding moved to another path");
        // Outside the APIs only findings count: a static file fetched without credentials
        // scores nothing for it.
        run("UPDATE endpoints SET scope = 'static' WHERE id = 1").await;
        assert_eq!(risk().await, (0, None), "static: exposure does not count");
        run("UPDATE findings SET path_template = '/x' WHERE dedup_key = 'k2'").await;
        assert_eq!(
            risk().await,
            (60, Some("high".into())),
            "static: its findings count"
        );
        run("UPDATE endpoints SET scope = 'api' WHERE id = 1").await;
        assert_eq!(risk().await.0, 60 + 3 + 4, "back to an API");
        store.close().await;
    }

    #[test]
    fn reasons_in_words() {
        let r = Risk {
            score: 97,
            max_severity: Some("critical".into()),
            findings: vec![
                RiskFinding {
                    severity: "critical".into(),
                    kind: "jwt_alg_none_accepted".into(),
                    count: 1,
                },
                RiskFinding {
                    severity: "high".into(),
                    kind: "credentials_in_url".into(),
                    count: 2,
                },
            ],
            no_auth: true,
            sensitive_out: vec!["email".into(), "credit_card".into()],
            external_clients: true,
            undocumented: Some("shadow".into()),
            outside_api: None,
        };
        assert_eq!(
            r.reasons(|k| k.to_uppercase()),
            [
                "critical: JWT_ALG_NONE_ACCEPTED",
                "high: CREDENTIALS_IN_URL (2 findings)",
                "no authentication observed",
                "sensitive data: email, credit card in responses",
                "called from external addresses",
                "shadow (undocumented)",
            ]
        );
    }
}
