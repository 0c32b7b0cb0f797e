//! Triage of findings: a state per finding identity (`findings.dedup_key`, which survives a
//! finding row being re-created), who set it, when and why, and every change in a history.
//!
//! States: `open` (no row, or set back), `acknowledged` (known, not alerted again),
//! `false_positive` (suppressed: hidden by default, left out of alerts and exports) and
//! `resolved`. A resolved finding that is seen again after its resolution (its `last_seen`,
//! packet time, later than the resolution's wall-clock time) re-opens at the next merge
//! ([`reopen_seen_again`], run in the merge's transaction), with a history row by
//! [`SYSTEM_ACTOR`]. A false positive stays suppressed whatever is seen.

use super::db::Db;
use super::{Store, StoreError};
use serde::Serialize;
use sqlx::Row;

/// The triage state of a finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TriageState {
    /// Not triaged yet, or set back to open (the default).
    Open,
    /// Seen and accepted as real; no alert again.
    Acknowledged,
    /// Not a real problem: suppressed in the default views, alerts and exports.
    FalsePositive,
    /// Fixed; re-opens when seen again after the resolution.
    Resolved,
}

impl TriageState {
    /// Every state, in workflow order.
    pub const ALL: [TriageState; 4] = [
        TriageState::Open,
        TriageState::Acknowledged,
        TriageState::FalsePositive,
        TriageState::Resolved,
    ];

    /// The stable name (`open`, `acknowledged`, `false_positive`, `resolved`).
    pub fn name(self) -> &'static str {
        match self {
            TriageState::Open => "open",
            TriageState::Acknowledged => "acknowledged",
            TriageState::FalsePositive => "false_positive",
            TriageState::Resolved => "resolved",
        }
    }

    /// Words for a page.
    pub fn label(self) -> &'static str {
        match self {
            TriageState::Open => "open",
            TriageState::Acknowledged => "acknowledged",
            TriageState::FalsePositive => "false positive",
            TriageState::Resolved => "resolved",
        }
    }

    /// The state named `s` (its stable name; `false-positive` is taken too).
    pub fn parse(s: &str) -> Result<TriageState, TriageError> {
        let t = s.trim().to_ascii_lowercase().replace('-', "_");
        TriageState::ALL
            .into_iter()
            .find(|x| x.name() == t)
            .ok_or_else(|| TriageError::UnknownState(s.chars().take(40).collect()))
    }

    /// The stable names, for messages and parameter checks.
    pub fn names() -> Vec<&'static str> {
        TriageState::ALL.iter().map(|s| s.name()).collect()
    }
}

/// Who re-opens a resolved finding that is seen again.
pub const SYSTEM_ACTOR: &str = "shadowtap";
/// The reason of a re-opening.
pub const REOPEN_REASON: &str = "seen again after resolution";
/// Longest actor name kept (characters).
pub const MAX_ACTOR: usize = 100;
/// Longest reason kept (characters).
pub const MAX_REASON: usize = 2000;

/// Why a triage change was refused.
#[derive(Debug, thiserror::Error)]
pub enum TriageError {
    /// Not one of the states.
    #[error("unknown triage state {0:?}: it takes open, acknowledged, false_positive or resolved")]
    UnknownState(String),
    /// No finding has this id or identity.
    #[error("no finding {0:?} (give a finding id or its dedup key)")]
    NotFound(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for TriageError {
    fn from(e: sqlx::Error) -> Self {
        TriageError::Store(e.into())
    }
}

/// One triage change (a row of the public view `api_finding_triage`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TriageEvent {
    /// History row id.
    pub id: i64,
    /// The finding's identity.
    pub dedup_key: String,
    /// State before.
    pub from_state: String,
    /// State after.
    pub to_state: String,
    /// Who.
    pub actor: String,
    /// Why.
    pub reason: String,
    /// When (wall-clock ns).
    pub at: i64,
}

fn event(r: &sqlx::sqlite::SqliteRow) -> TriageEvent {
    TriageEvent {
        id: r.get(0),
        dedup_key: r.get(1),
        from_state: r.get(2),
        to_state: r.get(3),
        actor: r.get(4),
        reason: r.get(5),
        at: r.get(6),
    }
}

/// An actor or reason as kept: control characters replaced by spaces, trimmed, cut.
fn clean(s: &str, max: usize) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect::<String>()
        .trim()
        .to_string()
}

/// The identity (`dedup_key`) of the finding named by `finding` (its id, digits, or its dedup
/// key) in inventory `db` (a sensor's file or the centre).
pub async fn finding_dedup_key_on(db: &Db, finding: &str) -> Result<Option<String>, StoreError> {
    let f = finding.trim();
    if let Ok(id) = f.parse::<i64>()
        && let Some(k) = db
            .query("SELECT dedup_key FROM findings WHERE id = ?")
            .bind(id)
            .fetch_optional_scalar()
            .await?
    {
        return Ok(Some(k));
    }
    db.query("SELECT dedup_key FROM findings WHERE dedup_key = ?")
        .bind(f)
        .fetch_optional_scalar()
        .await
}

/// [`Store::set_triage`] on inventory `db`: a sensor's file, or the fleet's centre (as its
/// owner role; on the centre the change waits for the writers' lock, so it never lands in
/// the middle of an applied group of deltas or an assessment).
pub async fn set_triage_on(
    db: &Db,
    finding: &str,
    state: TriageState,
    actor: &str,
    reason: &str,
    at: i64,
) -> Result<TriageEvent, TriageError> {
    let key = finding_dedup_key_on(db, finding)
        .await?
        .ok_or_else(|| TriageError::NotFound(finding.chars().take(80).collect()))?;
    let actor = match clean(actor, MAX_ACTOR) {
        a if a.is_empty() => "unknown".to_string(),
        a => a,
    };
    let reason = clean(reason, MAX_REASON);
    let mut tx = db.begin().await?;
    let mut c = tx.conn();
    c.lock_writers().await?;
    let from: String = c
        .query("SELECT coalesce((SELECT state FROM finding_triage WHERE dedup_key = ?), 'open')")
        .bind(&key)
        .fetch_scalar()
        .await?;
    c.query(
        "INSERT INTO finding_triage (dedup_key, state, actor, reason, at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (dedup_key) DO UPDATE SET state = ?2, actor = ?3, reason = ?4, at = ?5",
    )
    .bind(&key)
    .bind(state.name())
    .bind(&actor)
    .bind(&reason)
    .bind(at)
    .execute()
    .await?;
    let id: i64 = c
        .query(
            "INSERT INTO finding_triage_history (dedup_key, from_state, to_state, actor, reason, at)
             VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(&key)
        .bind(&from)
        .bind(state.name())
        .bind(&actor)
        .bind(&reason)
        .bind(at)
        .fetch_scalar()
        .await?;
    tx.commit().await?;
    Ok(TriageEvent {
        id,
        dedup_key: key,
        from_state: from,
        to_state: state.name().into(),
        actor,
        reason,
        at,
    })
}

impl Store {
    /// The identity (`dedup_key`) of the finding named by `finding`: its id (digits) or its
    /// dedup key.
    pub async fn finding_dedup_key(&self, finding: &str) -> Result<Option<String>, StoreError> {
        finding_dedup_key_on(&self.db(), finding).await
    }

    /// Sets the triage state of the finding named by `finding` (id or dedup key) at `at`
    /// (wall-clock ns), with who and why; records the change in the history (also when the
    /// state does not change: a new reason is a change of its own). Returns the change.
    pub async fn set_triage(
        &self,
        finding: &str,
        state: TriageState,
        actor: &str,
        reason: &str,
        at: i64,
    ) -> Result<TriageEvent, TriageError> {
        set_triage_on(&self.db(), finding, state, actor, reason, at).await
    }

    /// The triage state of a finding identity (`open` when never triaged).
    pub async fn triage_state(&self, dedup_key: &str) -> Result<TriageState, StoreError> {
        let s: Option<String> =
            sqlx::query_scalar("SELECT state FROM finding_triage WHERE dedup_key = ?")
                .bind(dedup_key)
                .fetch_optional(&self.pool)
                .await?;
        Ok(s.and_then(|s| TriageState::parse(&s).ok())
            .unwrap_or(TriageState::Open))
    }

    /// The triage history of a finding identity, oldest first (at most `limit` newest).
    pub async fn triage_history(
        &self,
        dedup_key: &str,
        limit: i64,
    ) -> Result<Vec<TriageEvent>, StoreError> {
        let mut v: Vec<TriageEvent> = sqlx::query(
            "SELECT id, dedup_key, from_state, to_state, actor, reason, at FROM finding_triage_history
             WHERE dedup_key = ? ORDER BY id DESC LIMIT ?",
        )
        .bind(dedup_key)
        .bind(limit.max(1))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(event)
        .collect();
        v.reverse();
        Ok(v)
    }

    /// History rows with an id above `after`, in id order, at most `limit` (for the daemon's
    /// alerts: re-openings).
    pub async fn triage_events_after(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<TriageEvent>, StoreError> {
        Ok(sqlx::query(
            "SELECT id, dedup_key, from_state, to_state, actor, reason, at FROM finding_triage_history
             WHERE id > ? ORDER BY id LIMIT ?",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(event)
        .collect())
    }

    /// The id of the newest history row (0 without any).
    pub async fn last_triage_event(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT coalesce(max(id), 0) FROM finding_triage_history")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Whether a finding identity is in a state that silences alerts (`acknowledged`,
    /// `false_positive`).
    pub async fn triage_silenced(&self, key: &str) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM finding_triage WHERE dedup_key = ? AND state IN ('acknowledged', 'false_positive')",
        )
        .bind(key)
        .fetch_one(&self.pool)
        .await?;
        Ok(n > 0)
    }
}

/// Re-opens every resolved finding seen again after its resolution (its `last_seen` later
/// than the resolution's time), at `now` (wall-clock ns), by [`SYSTEM_ACTOR`] with
/// [`REOPEN_REASON`]; returns how many. Runs inside a merge's transaction.
pub(super) async fn reopen_seen_again(
    c: &mut super::db::Conn<'_>,
    now: i64,
) -> Result<u64, StoreError> {
    const SEEN_AGAIN: &str = "t.state = 'resolved' AND EXISTS (SELECT 1 FROM findings f WHERE f.dedup_key = t.dedup_key AND f.last_seen > t.at)";
    c.query(format!(
        "INSERT INTO finding_triage_history (dedup_key, from_state, to_state, actor, reason, at)
         SELECT t.dedup_key, 'resolved', 'open', ?1, ?2, ?3 FROM finding_triage t WHERE {SEEN_AGAIN}"
    ))
    .bind(SYSTEM_ACTOR)
    .bind(REOPEN_REASON)
    .bind(now)
    .execute()
    .await?;
    c.query(format!(
        "UPDATE finding_triage AS t SET state = 'open', actor = ?1, reason = ?2, at = ?3 WHERE {SEEN_AGAIN}"
    ))
    .bind(SYSTEM_ACTOR)
    .bind(REOPEN_REASON)
    .bind(now)
    .execute()
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::inventory::InventoryDrain;

    const T0: i64 = 1_700_000_000 * 1_000_000_000;
    const SEC: i64 = 1_000_000_000;

    async fn store_with_findings() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).await.unwrap();
        for (kind, key) in [("credentials_in_url", "k1"), ("verbose_errors", "k2")] {
            sqlx::query(
                "INSERT INTO findings (kind, severity, host, method, path_template, detail, first_seen, last_seen, dedup_key)
                 VALUES (?, 'high', 'api.test', 'GET', '/x', 'd', ?, ?, ?)",
            )
            .bind(kind)
            .bind(T0)
            .bind(T0)
            .bind(key)
            .execute(&store.pool)
            .await
            .unwrap();
        }
        (dir, store)
    }

    async fn seen_at(store: &Store, key: &str, t: i64) {
        sqlx::query("UPDATE findings SET last_seen = ?, count = count + 1 WHERE dedup_key = ?")
            .bind(t)
            .bind(key)
            .execute(&store.pool)
            .await
            .unwrap();
        // A merge (an empty one here) is where re-opening happens.
        store.merge(&InventoryDrain::default()).await.unwrap();
    }

    #[test]
    fn states_parse_and_name() {
        for s in TriageState::ALL {
            assert_eq!(TriageState::parse(s.name()).unwrap(), s);
        }
        assert_eq!(
            TriageState::parse("False-Positive").unwrap(),
            TriageState::FalsePositive
        );
        let e = TriageState::parse("closed").unwrap_err().to_string();
        assert!(
            e.contains("open, acknowledged, false_positive or resolved"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn changes_state_by_id_or_key_and_keeps_history() {
        let (_d, store) = store_with_findings().await;
        assert_eq!(store.triage_state("k1").await.unwrap(), TriageState::Open);
        let id: i64 = sqlx::query_scalar("SELECT id FROM findings WHERE dedup_key = 'k1'")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        let e = store
            .set_triage(
                &id.to_string(),
                TriageState::Acknowledged,
                "ann",
                "ticket 12",
                T0 + SEC,
            )
            .await
            .unwrap();
        assert_eq!(
            (e.from_state.as_str(), e.to_state.as_str()),
            ("open", "acknowledged")
        );
        store
            .set_triage(
                "k1",
                TriageState::Resolved,
                "bob\u{1b}[31m",
                "fixed\nin 1.2",
                T0 + 2 * SEC,
            )
            .await
            .unwrap();
        assert_eq!(
            store.triage_state("k1").await.unwrap(),
            TriageState::Resolved
        );
        let h = store.triage_history("k1", 10).await.unwrap();
        assert_eq!(h.len(), 2);
        assert_eq!(h[1].from_state, "acknowledged");
        assert_eq!(h[1].actor, "bob [31m");
        assert_eq!(h[1].reason, "fixed in 1.2");
        let view: Vec<(i64, String, String)> =
            sqlx::query_as("SELECT finding_id, to_state, at FROM api_finding_triage ORDER BY id")
                .fetch_all(&store.pool)
                .await
                .unwrap();
        assert_eq!(view.len(), 2);
        assert_eq!(view[0].0, id);
        assert_eq!(view[1].2, "2023-11-14T22:13:22.000Z");
        let states: Vec<(String, String)> =
            sqlx::query_as("SELECT kind, triage_state FROM api_findings ORDER BY id")
                .fetch_all(&store.pool)
                .await
                .unwrap();
        assert_eq!(states[0].1, "resolved");
        assert_eq!(states[1].1, "open");
        assert!(matches!(
            store
                .set_triage("nope", TriageState::Open, "a", "", T0)
                .await,
            Err(TriageError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn resolved_reopens_when_seen_again_after_resolution() {
        let (_d, store) = store_with_findings().await;
        store
            .set_triage("k1", TriageState::Resolved, "ann", "fixed", T0 + 10 * SEC)
            .await
            .unwrap();
        // Seen again, but the traffic is older than the resolution: stays resolved.
        seen_at(&store, "k1", T0 + 5 * SEC).await;
        assert_eq!(
            store.triage_state("k1").await.unwrap(),
            TriageState::Resolved
        );
        // Seen after it: open again, by shadowtap, and the history says so.
        seen_at(&store, "k1", T0 + 20 * SEC).await;
        assert_eq!(store.triage_state("k1").await.unwrap(), TriageState::Open);
        let h = store.triage_history("k1", 10).await.unwrap();
        let last = h.last().unwrap();
        assert_eq!(
            (
                last.from_state.as_str(),
                last.to_state.as_str(),
                last.actor.as_str(),
                last.reason.as_str()
            ),
            ("resolved", "open", SYSTEM_ACTOR, REOPEN_REASON)
        );
        // Once: a later merge adds no history row.
        store.merge(&InventoryDrain::default()).await.unwrap();
        assert_eq!(store.triage_history("k1", 10).await.unwrap().len(), 2);
        assert!(store.last_triage_event().await.unwrap() >= last.id);
    }

    #[tokio::test]
    async fn false_positive_stays_suppressed() {
        let (_d, store) = store_with_findings().await;
        store
            .set_triage(
                "k2",
                TriageState::FalsePositive,
                "ann",
                "test traffic",
                T0 + SEC,
            )
            .await
            .unwrap();
        seen_at(&store, "k2", T0 + 100 * SEC).await;
        assert_eq!(
            store.triage_state("k2").await.unwrap(),
            TriageState::FalsePositive
        );
        assert!(store.triage_silenced("k2").await.unwrap());
        assert!(!store.triage_silenced("k1").await.unwrap());
        // The row re-created under the same identity keeps its state.
        sqlx::query("DELETE FROM findings WHERE dedup_key = 'k2'")
            .execute(&store.pool)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO findings (kind, severity, detail, first_seen, last_seen, dedup_key)
             VALUES ('verbose_errors', 'medium', 'd', 1, 1, 'k2')",
        )
        .execute(&store.pool)
        .await
        .unwrap();
        let s: String = sqlx::query_scalar(
            "SELECT triage_state FROM api_findings WHERE kind = 'verbose_errors'",
        )
        .fetch_one(&store.pool)
        .await
        .unwrap();
        assert_eq!(s, "false_positive");
    }

    #[tokio::test]
    async fn dashboard_filters_combine_and_search_escapes() {
        use crate::store::dashboard::{FindingQuery, StateFilter};
        let (_d, store) = store_with_findings().await;
        store
            .set_triage("k2", TriageState::FalsePositive, "ann", "", T0 + SEC)
            .await
            .unwrap();
        let q = |state, q: Option<&str>| FindingQuery {
            state,
            q: q.map(String::from),
            limit: 50,
            ..Default::default()
        };
        let (rows, total) = store
            .dashboard()
            .dashboard_findings(&q(StateFilter::Active, None))
            .await
            .unwrap();
        assert_eq!((rows.len(), total), (1, 1));
        assert_eq!(rows[0].triage_state, "open");
        let (_, total) = store
            .dashboard()
            .dashboard_findings(&q(StateFilter::All, None))
            .await
            .unwrap();
        assert_eq!(total, 2);
        let (rows, _) = store
            .dashboard()
            .dashboard_findings(&q(
                StateFilter::Only(TriageState::FalsePositive),
                Some("VERBOSE"),
            ))
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].triage_by.as_deref(), Some("ann"));
        // `_` is a plain character: "credentials_in" matches, "credentials%in" does not.
        let (_, n) = store
            .dashboard()
            .dashboard_findings(&q(StateFilter::All, Some("ls_in")))
            .await
            .unwrap();
        assert_eq!(n, 1);
        let (_, n) = store
            .dashboard()
            .dashboard_findings(&q(StateFilter::All, Some("s%i")))
            .await
            .unwrap();
        assert_eq!(n, 0);
        let states = store
            .dashboard()
            .dashboard_finding_states(&q(StateFilter::Active, None))
            .await
            .unwrap();
        assert!(states.contains(&(TriageState::FalsePositive, 1)));
        let h = store
            .dashboard()
            .dashboard_triage_histories(&["k2".to_string(), "k1".to_string()], 5)
            .await
            .unwrap();
        assert_eq!(h.get("k2").map(Vec::len), Some(1));
        assert!(!h.contains_key("k1"));
    }
}
