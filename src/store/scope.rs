//! Scope: every endpoint's `scope` (`api`, `static`, `third_party`, `ignored`), decided at
//! every assessment from what the store holds (response media types, query parameters, the
//! hosts of imported API descriptions) and the rules of the configuration's `[hosts]` section
//! (table `scope_rules`); the rule itself is [`crate::analyze::scope`].
//!
//! What follows from a scope, here and in [`super::spec::assess`]:
//!
//! * `static` and `third_party` endpoints raise no `shadow_api`, `zombie_api` or
//!   `auth_inconsistent` finding (browsers send their cookies with every file), and no
//!   `uncovered_host` counts them; an `unauthenticated_sensitive_data` finding of a `static`
//!   endpoint is ranked `low`, with the reason in its detail (a file's content is the same for
//!   every visitor, published on purpose: an e-mail address in a script is not a leak of a
//!   user's data).
//! * `ignored` endpoints keep their rows (they are traffic) but lose every finding about them,
//!   and the merge stores no new one.
//! * The dashboard, the JSON API and the classification counts leave every scope but `api` out
//!   by default.

use super::db::{Conn, Db};
use super::{Store, StoreError};
use crate::analyze::scope::{EndpointFacts, IgnoreRule, Scope, ScopeRules};
use std::collections::HashMap;

/// Finding kinds ranked `low` on a static endpoint.
pub const STATIC_LOWERED_KINDS: [&str; 1] = ["unauthenticated_sensitive_data"];

/// The words a lowered finding's detail ends with (before the reason); also how a lowered
/// finding is recognised.
pub const LOWERED_NOTE: &str = " Ranked low: the endpoint serves static content";

/// Endpoints per scope after an assessment.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ScopeCounts {
    /// API endpoints.
    pub api: u64,
    /// Static content.
    pub static_assets: u64,
    /// Endpoints of hosts that are not ours.
    pub third_party: u64,
    /// Endpoints matched by an ignore rule.
    pub ignored: u64,
    /// Of the static, third-party and ignored endpoints, those called at least once.
    pub observed_apart: u64,
}

impl Store {
    /// Replaces the stored host ownership and ignore rules (the `[hosts]` section). The
    /// next assessment applies them.
    pub async fn set_scope_rules(&self, rules: &ScopeRules) -> Result<(), StoreError> {
        set_scope_rules_on(&self.db(), rules).await
    }

    /// Endpoints per scope (observed ones and dormant operations alike).
    pub async fn scope_counts(&self) -> Result<ScopeCounts, StoreError> {
        self.dashboard().scope_counts().await
    }
}

/// [`Store::set_scope_rules`] on either backend (the centre's rules judge the fleet).
pub async fn set_scope_rules_on(db: &Db, rules: &ScopeRules) -> Result<(), StoreError> {
    let mut tx = db.begin().await?;
    let c = &mut tx.conn();
    c.query("DELETE FROM scope_rules").execute().await?;
    for (kind, hosts) in [("owned", &rules.owned), ("third_party", &rules.third_party)] {
        for h in hosts {
            c.query("INSERT INTO scope_rules (kind, host) VALUES (?, ?)")
                .bind(kind)
                .bind(h)
                .execute()
                .await?;
        }
    }
    for r in &rules.ignore {
        c.query("INSERT INTO scope_rules (kind, host, path) VALUES ('ignore', ?, ?)")
            .bind(r.host.as_deref())
            .bind(r.path.as_deref())
            .execute()
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The stored rules, with the hosts of the imported descriptions.
async fn rules(c: &mut Conn<'_>) -> Result<ScopeRules, StoreError> {
    let mut out = ScopeRules::default();
    for r in c
        .query("SELECT kind, host, path FROM scope_rules ORDER BY id")
        .fetch_all()
        .await?
    {
        let host: Option<String> = r.get(1);
        match r.get::<&str, _>(0) {
            "owned" => out.owned.extend(host),
            "third_party" => out.third_party.extend(host),
            "ignore" => out.ignore.push(IgnoreRule {
                host,
                path: r.get(2),
            }),
            _ => {}
        }
    }
    out.spec_hosts = c
        .query(
            "SELECT DISTINCT host FROM spec_operations WHERE host IS NOT NULL
             UNION SELECT observed FROM spec_hosts",
        )
        .fetch_all_scalar()
        .await?;
    Ok(out)
}

/// Decides every endpoint's scope and stores the changed ones; then the findings follow
/// (lowered on static endpoints, removed on ignored ones). Returns the scope of every
/// endpoint by id. Runs on a sensor's store and on the centre alike.
pub(super) async fn assess_scope(c: &mut Conn<'_>) -> Result<HashMap<i64, Scope>, StoreError> {
    let rules = rules(c).await?;
    let rows = c
        .query(
            "SELECT id, host, method, path_template, scope, scope_reason, example_path
             FROM endpoints ORDER BY id",
        )
        .fetch_all()
        .await?;
    // Media types of 2xx responses, and query parameter names, per endpoint (read apart and
    // joined here: the two backends aggregate text differently).
    let mut media: HashMap<i64, Vec<(String, i64)>> = HashMap::new();
    for r in c
        .query(
            "SELECT endpoint_id, content_type, count FROM endpoint_bodies
             WHERE direction = 'response' AND status BETWEEN 200 AND 299",
        )
        .fetch_all()
        .await?
    {
        if let (Some(t), Some(n)) = (r.get::<Option<String>, _>(1), r.get::<Option<i64>, _>(2)) {
            media.entry(r.get(0)).or_default().push((t, n));
        }
    }
    let mut params: HashMap<i64, Vec<String>> = HashMap::new();
    for r in c
        .query("SELECT endpoint_id, name FROM endpoint_params WHERE location = 'query'")
        .fetch_all()
        .await?
    {
        if let Some(name) = r.get::<Option<String>, _>(1) {
            params.entry(r.get(0)).or_default().push(name);
        }
    }
    let facts: Vec<EndpointFacts<'_>> = rows
        .iter()
        .map(|r| {
            let id: i64 = r.get(0);
            EndpointFacts {
                host: r.get(1),
                method: r.get(2),
                template: r.get(3),
                example_path: r.get(6),
                ok_media: media
                    .get(&id)
                    .map(|m| m.iter().map(|(t, n)| (t.as_str(), *n)).collect())
                    .unwrap_or_default(),
                query_params: params
                    .get(&id)
                    .map(|p| p.iter().map(String::as_str).collect())
                    .unwrap_or_default(),
            }
        })
        .collect();
    let scopes = rules.scopes(&facts);
    let mut out = HashMap::with_capacity(rows.len());
    for (r, (scope, reason)) in rows.iter().zip(scopes) {
        let id: i64 = r.get(0);
        let (old, old_reason): (&str, Option<String>) = (r.get(4), r.get(5));
        if old != scope.name() || old_reason != reason {
            c.query("UPDATE endpoints SET scope = ?, scope_reason = ? WHERE id = ?")
                .bind(scope.name())
                .bind(reason)
                .bind(id)
                .execute()
                .await?;
        }
        out.insert(id, scope);
    }
    adjust_findings(c).await?;
    Ok(out)
}

/// Findings follow the scopes: removed on ignored endpoints, ranked low on static ones (and
/// back to their kind's severity when the endpoint is no longer static).
pub(super) async fn adjust_findings(c: &mut Conn<'_>) -> Result<(), StoreError> {
    c.query(
        "DELETE FROM findings WHERE method IS NOT NULL AND EXISTS (SELECT 1 FROM endpoints e
            WHERE e.host = findings.host AND e.method = findings.method
              AND e.path_template = findings.path_template AND e.scope = 'ignored')",
    )
    .execute()
    .await?;
    let d = c.dialect();
    let has_note = d.instr("detail", "?2");
    for kind in STATIC_LOWERED_KINDS {
        c.query(format!(
            "UPDATE findings SET severity = 'low',
                detail = detail || ?2 || ' (' || (SELECT COALESCE(e.scope_reason, '') FROM endpoints e
                    WHERE e.host = findings.host AND e.method = findings.method AND e.path_template = findings.path_template)
                    || '): published to every visitor, not one user''s data.'
             WHERE kind = ?1 AND {has_note} = 0 AND EXISTS (SELECT 1 FROM endpoints e
                WHERE e.host = findings.host AND e.method = findings.method
                  AND e.path_template = findings.path_template AND e.scope = 'static')"
        ))
        .bind(kind)
        .bind(LOWERED_NOTE)
        .execute()
        .await?;
        // A detail the merge wrote again (without the note) keeps the low severity: the note
        // is added above. An endpoint no longer static gets its kind's severity back.
        c.query(format!(
            "UPDATE findings SET severity = ?3,
                detail = CASE WHEN {has_note} > 0 THEN substr(detail, 1, {has_note} - 1) ELSE detail END
             WHERE kind = ?1 AND severity = 'low' AND NOT EXISTS (SELECT 1 FROM endpoints e
                WHERE e.host = findings.host AND e.method = findings.method
                  AND e.path_template = findings.path_template AND e.scope = 'static')"
        ))
        .bind(kind)
        .bind(LOWERED_NOTE)
        .bind(crate::analyze::posture::severity(kind).name())
        .execute()
        .await?;
    }
    Ok(())
}
