//! The findings page: findings filtered by severity, kind, host, triage state and a search,
//! most severe first then most recently seen, paged; the per-(severity, kind) counts behind
//! its chips and the per-state counts behind its state toggle.

use super::Dashboard;
use super::{FINDING_COLUMNS, FINDING_JOIN, FindingRow, Window, finding_row, severity_rank_sql};
use crate::store::triage::TriageEvent;
use crate::store::{StoreError, TriageState};
use serde::Serialize;

use std::collections::HashMap;

/// Which triage states a findings list shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub enum StateFilter {
    /// `open` and `acknowledged`: what still needs looking at (the page's default).
    #[default]
    Active,
    /// Every state.
    All,
    /// Every state but `false_positive` (what exports and the CLI list by default).
    NotSuppressed,
    /// Only this state.
    Only(TriageState),
}

impl StateFilter {
    /// The filter named `s`: a state's name, `active` or `all`.
    pub fn parse(s: &str) -> Option<StateFilter> {
        match s.trim() {
            "active" => Some(StateFilter::Active),
            "all" => Some(StateFilter::All),
            "unsuppressed" => Some(StateFilter::NotSuppressed),
            other => TriageState::parse(other).ok().map(StateFilter::Only),
        }
    }

    /// Every name [`StateFilter::parse`] takes.
    pub fn names() -> Vec<&'static str> {
        let mut v = TriageState::names();
        v.extend(["active", "unsuppressed", "all"]);
        v
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            StateFilter::Active => "active",
            StateFilter::All => "all",
            StateFilter::NotSuppressed => "unsuppressed",
            StateFilter::Only(s) => s.name(),
        }
    }
}

/// Filters of the findings list (they combine: every one given must hold).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct FindingQuery {
    /// Only this severity.
    pub severity: Option<String>,
    /// Only this kind.
    pub kind: Option<String>,
    /// Only this host.
    pub host: Option<String>,
    /// Only findings whose kind, host, path template or detail contain this text (case
    /// insensitive for ASCII; `%` and `_` are plain characters).
    pub q: Option<String>,
    /// Which triage states.
    pub state: StateFilter,
    /// At most this many rows (most severe first).
    pub limit: i64,
    /// Rows skipped first (paging).
    pub offset: i64,
    /// Only findings whose span (first to last seen) meets this range.
    pub window: Window,
}

/// `s` as a LIKE pattern that matches it anywhere, with `\` as the escape character.
pub(in crate::store) fn like_contains(s: &str) -> String {
    let mut p = String::with_capacity(s.len() + 2);
    p.push('%');
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// The WHERE clause of a [`FindingQuery`] over `findings f` and `finding_triage t`, binding
/// ?1 severity, ?2 kind, ?3 host, ?4 search pattern, ?5 state filter name.
pub(in crate::store) const FILTER: &str = "WHERE (?1 IS NULL OR f.severity = ?1) AND (?2 IS NULL OR f.kind = ?2) AND (?3 IS NULL OR f.host = ?3)
    AND (?4 IS NULL OR f.kind LIKE ?4 ESCAPE '\\' OR f.host LIKE ?4 ESCAPE '\\' OR f.path_template LIKE ?4 ESCAPE '\\' OR f.detail LIKE ?4 ESCAPE '\\')
    AND (?5 = 'all' OR (?5 = 'active' AND coalesce(t.state, 'open') IN ('open', 'acknowledged'))
         OR (?5 = 'unsuppressed' AND coalesce(t.state, 'open') <> 'false_positive') OR coalesce(t.state, 'open') = ?5)";

const COUNT_JOIN: &str = "FROM findings f LEFT JOIN finding_triage t ON t.dedup_key = f.dedup_key";

impl Dashboard {
    /// A page of findings, most severe first, then most recently seen; with how many match.
    pub async fn dashboard_findings(
        &self,
        query: &FindingQuery,
    ) -> Result<(Vec<FindingRow>, i64), StoreError> {
        let sev = severity_rank_sql("f.severity");
        let pattern = query.q.as_deref().map(like_contains);
        let fw = query.window.and_span("f");
        let total: i64 = self
            .db
            .query(format!("SELECT COUNT(*) {COUNT_JOIN} {FILTER}{fw}"))
            .bind(query.severity.as_deref())
            .bind(query.kind.as_deref())
            .bind(query.host.as_deref())
            .bind(pattern.as_deref())
            .bind(query.state.name())
            .fetch_scalar()
            .await?;
        let rows = self
            .db
            .query(format!(
                "SELECT {FINDING_COLUMNS} {FINDING_JOIN} {FILTER}{fw}
             ORDER BY {sev}, f.last_seen DESC, f.id LIMIT ?6 OFFSET ?7"
            ))
            .bind(query.severity.as_deref())
            .bind(query.kind.as_deref())
            .bind(query.host.as_deref())
            .bind(pattern.as_deref())
            .bind(query.state.name())
            .bind(query.limit.clamp(1, 100_000))
            .bind(query.offset.max(0))
            .fetch_all()
            .await?
            .iter()
            .map(finding_row)
            .collect();
        Ok((rows, total))
    }

    /// How many findings match `query` in each triage state, whatever its state filter
    /// (for the page's state toggle: how many are hidden).
    pub async fn dashboard_finding_states(
        &self,
        query: &FindingQuery,
    ) -> Result<Vec<(TriageState, i64)>, StoreError> {
        let pattern = query.q.as_deref().map(like_contains);
        let fw = query.window.and_span("f");
        let counts: HashMap<String, i64> = self
            .db
            .query(format!(
                "SELECT coalesce(t.state, 'open'), COUNT(*) {COUNT_JOIN} {FILTER}{fw} GROUP BY 1"
            ))
            .bind(query.severity.as_deref())
            .bind(query.kind.as_deref())
            .bind(query.host.as_deref())
            .bind(pattern.as_deref())
            .bind("all")
            .fetch_all()
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        Ok(TriageState::ALL
            .into_iter()
            .map(|s| (s, counts.get(s.name()).copied().unwrap_or(0)))
            .collect())
    }

    /// The triage histories of `keys` (finding identities), oldest change first, at most
    /// `per_key` newest changes each.
    pub async fn dashboard_triage_histories(
        &self,
        keys: &[String],
        per_key: usize,
    ) -> Result<HashMap<String, Vec<TriageEvent>>, StoreError> {
        let mut out: HashMap<String, Vec<TriageEvent>> = HashMap::new();
        if keys.is_empty() {
            return Ok(out);
        }
        let list = serde_json::to_string(keys).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let keys_sql = self.db.json_strings("?1");
        let rows = self.db.query(format!("SELECT id, dedup_key, from_state, to_state, actor, reason, at FROM finding_triage_history
             WHERE dedup_key IN ({keys_sql}) ORDER BY id DESC"))
        .bind(list)
        .fetch_all()
        .await?;
        for r in &rows {
            let e = TriageEvent {
                id: r.get(0),
                dedup_key: r.get(1),
                from_state: r.get(2),
                to_state: r.get(3),
                actor: r.get(4),
                reason: r.get(5),
                at: r.get(6),
            };
            let v = out.entry(e.dedup_key.clone()).or_default();
            if v.len() < per_key {
                v.push(e);
            }
        }
        for v in out.values_mut() {
            v.reverse();
        }
        Ok(out)
    }

    /// Findings per (severity, kind) whose span meets `window`, most severe first (for the
    /// findings page's chips).
    pub async fn dashboard_finding_counts(
        &self,
        window: &Window,
    ) -> Result<Vec<(String, String, i64)>, StoreError> {
        let sev = severity_rank_sql("severity");
        let fw = window.and_span("f");
        Ok(self.db.query(format!(
            "SELECT severity, kind, COUNT(*) FROM findings f WHERE TRUE{fw} GROUP BY severity, kind ORDER BY {sev}, kind"
        ))
        .fetch_all()
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_contains("a%b_c\\"), "%a\\%b\\_c\\\\%");
        assert_eq!(like_contains(""), "%%");
    }

    #[test]
    fn state_filters_parse() {
        assert_eq!(StateFilter::parse("all"), Some(StateFilter::All));
        assert_eq!(
            StateFilter::parse("false_positive"),
            Some(StateFilter::Only(TriageState::FalsePositive))
        );
        assert_eq!(StateFilter::parse("bogus"), None);
    }
}
