//! The dashboard's time range ([`Window`]): which rows a page counts when the user picks
//! "last hour", "last 7 days" or a custom range, as SQL conditions every read of the
//! dashboard shares, so that one range gives the same counts on every page.
//!
//! What "in the range" means, by kind of row:
//! - an **endpoint** is in it when it was called within it: its first and last request
//!   bracket the range's edges and, when its activity spans past the range on both sides,
//!   its minute series (`endpoint_minutes`, to the minute) has a call inside. Dormant
//!   operations (never called) are in no range.
//! - a **finding**, a **transition**, a **TLS service** or a **client of an endpoint** is in
//!   it when its span (first to last seen) meets the range: these rows keep no series.
//! - **calls and errors** are the sums of the minutes inside the range (exact to the minute).
//!
//! The figures of a row (an endpoint's requests, a finding's count) stay its totals: the
//! range selects rows, it does not recount them.

use serde::Serialize;

/// Nanoseconds in a minute: the unit of the minute series.
const MINUTE_NS: i64 = 60_000_000_000;

/// A time range of the dashboard: from `from` to `to` (nanoseconds since the epoch, both
/// inclusive; `None`: unbounded on that side). [`Window::ALL`] bounds nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Window {
    /// Start (ns), `None`: since the first request.
    pub from: Option<i64>,
    /// End (ns), `None`: up to now.
    pub to: Option<i64>,
}

impl Window {
    /// No bound: the whole inventory.
    pub const ALL: Window = Window {
        from: None,
        to: None,
    };

    /// Whether this bounds nothing.
    pub fn is_all(&self) -> bool {
        self.from.is_none() && self.to.is_none()
    }

    fn lo(&self) -> i64 {
        self.from.unwrap_or(i64::MIN)
    }

    fn hi(&self) -> i64 {
        self.to.unwrap_or(i64::MAX)
    }

    /// The minutes (since the epoch) the range touches, first and last.
    pub fn minutes(&self) -> (i64, i64) {
        (
            self.lo().div_euclid(MINUTE_NS),
            self.hi().div_euclid(MINUTE_NS),
        )
    }

    /// An SQL condition (in parentheses) that holds for the endpoints `e` (an alias of
    /// `endpoints`) called within the range; `None` for [`Window::ALL`]. The bounds are
    /// integers written into the text, nothing a user typed.
    pub fn endpoint_sql(&self, e: &str) -> Option<String> {
        let (lo, hi) = (self.lo(), self.hi());
        let (mlo, mhi) = self.minutes();
        match (self.from, self.to) {
            (None, None) => None,
            // The last request is the newest: it alone says whether there was one since.
            (Some(_), None) => Some(format!("({e}.last_seen >= {lo})")),
            (None, Some(_)) => Some(format!("({e}.first_seen <= {hi})")),
            (Some(_), Some(_)) => Some(format!(
                "({e}.last_seen >= {lo} AND {e}.first_seen <= {hi} AND ({e}.last_seen <= {hi} OR {e}.first_seen >= {lo} \
                 OR {e}.id NOT IN ({})))",
                idle_sql(mlo, mhi)
            )),
        }
    }

    /// The condition [`Window::endpoint_sql`] wrote before migration 0021: one lookup in the
    /// minute series per endpoint whose calls span the range. Kept to test the gaps against.
    #[cfg(test)]
    fn endpoint_sql_by_minutes(&self, e: &str) -> Option<String> {
        let (lo, hi) = (self.lo(), self.hi());
        let (mlo, mhi) = self.minutes();
        self.endpoint_sql(e)?;
        Some(format!(
            "({e}.last_seen >= {lo} AND {e}.first_seen <= {hi} AND ({e}.last_seen <= {hi} OR {e}.first_seen >= {lo} \
             OR EXISTS (SELECT 1 FROM endpoint_minutes wm WHERE wm.endpoint_id = {e}.id AND wm.minute BETWEEN {mlo} AND {mhi})))"
        ))
    }

    /// An SQL condition (in parentheses) that holds for the rows of `alias` whose span
    /// (`first_seen` to `last_seen`) meets the range; `None` for [`Window::ALL`].
    pub fn span_sql(&self, alias: &str) -> Option<String> {
        let a = alias;
        match (self.from, self.to) {
            (None, None) => None,
            (Some(lo), None) => Some(format!("({a}.last_seen >= {lo})")),
            (None, Some(hi)) => Some(format!("({a}.first_seen <= {hi})")),
            (Some(lo), Some(hi)) => Some(format!(
                "({a}.last_seen >= {lo} AND {a}.first_seen <= {hi})"
            )),
        }
    }

    /// `AND <condition>` of [`Window::endpoint_sql`], or nothing.
    pub fn and_endpoint(&self, e: &str) -> String {
        self.endpoint_sql(e)
            .map(|c| format!(" AND {c}"))
            .unwrap_or_default()
    }

    /// `AND <condition>` of [`Window::span_sql`], or nothing.
    pub fn and_span(&self, alias: &str) -> String {
        self.span_sql(alias)
            .map(|c| format!(" AND {c}"))
            .unwrap_or_default()
    }

    /// `AND` a condition on a `minute` column (minutes since the epoch) inside the range, or
    /// nothing.
    pub fn and_minute(&self, col: &str) -> String {
        if self.is_all() {
            return String::new();
        }
        let (lo, hi) = self.minutes();
        format!(" AND {col} BETWEEN {lo} AND {hi}")
    }
}

/// Levels of `endpoint_gaps` (migration 0021): a gap `hi - lo` minutes long is on level
/// `floor(log4(hi - lo))`, 0 to 20.
const GAP_LEVELS: u32 = 21;

/// The endpoints idle through the minutes `mlo..=mhi` although called before and after
/// them: those with a gap (`endpoint_gaps`, migration 0021) from before `mlo` to after `mhi`.
/// One range scan of the (lvl, lo) index per level: a gap of level k is shorter than
/// 4^(k+1) minutes, so one that reaches past `mhi` starts after `mhi - 4^(k+1)`.
fn idle_sql(mlo: i64, mhi: i64) -> String {
    (0..GAP_LEVELS)
        .map(|k| {
            let start = mhi.saturating_sub(4i64.pow(k + 1));
            format!(
                "SELECT endpoint_id FROM endpoint_gaps WHERE lvl = {k} AND lo > {start} AND lo < {mlo} AND hi > {mhi}"
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
}

#[cfg(test)]
mod tests {
    use super::Window;
    use crate::store::Store;

    /// The range's conditions on real rows: an endpoint called before and after a range but
    /// not inside it is out; one called inside is in; open ends need no series.
    #[tokio::test]
    async fn endpoints_called_within_the_range() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("w.db")).await.unwrap();
        let pool = store.pool();
        let m = 60_000_000_000i64;
        // Endpoint 1: calls at minutes 10 and 50. Endpoint 2: minutes 10, 30, 50.
        for (id, minutes) in [(1i64, vec![10i64, 50]), (2, vec![10, 30, 50])] {
            sqlx::query(
                "INSERT INTO endpoints (id, host, method, path_template, first_seen, last_seen, request_count)
                 VALUES (?, 'h', 'GET', ?, ?, ?, ?)",
            )
            .bind(id)
            .bind(format!("/e{id}"))
            .bind(minutes[0] * m)
            .bind(minutes.last().unwrap() * m)
            .bind(minutes.len() as i64)
            .execute(pool)
            .await
            .unwrap();
            for minute in minutes {
                sqlx::query("INSERT INTO endpoint_minutes VALUES (?, ?, 1, 0)")
                    .bind(id)
                    .bind(minute)
                    .execute(pool)
                    .await
                    .unwrap();
            }
        }
        let ids = |w: Window| async move {
            let cond = w.endpoint_sql("e").unwrap_or_else(|| "1".into());
            sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!(
                "SELECT id FROM endpoints e WHERE {cond} ORDER BY id"
            )))
            .fetch_all(pool)
            .await
            .unwrap()
        };
        let w = |from: Option<i64>, to: Option<i64>| Window {
            from: from.map(|x| x * m),
            to: to.map(|x| x * m),
        };
        assert_eq!(ids(Window::ALL).await, vec![1, 2]);
        assert_eq!(ids(w(Some(20), Some(40))).await, vec![2], "inside only");
        assert_eq!(ids(w(Some(45), None)).await, vec![1, 2]);
        assert_eq!(ids(w(Some(51), None)).await, Vec::<i64>::new());
        assert_eq!(ids(w(None, Some(9))).await, Vec::<i64>::new());
        assert_eq!(ids(w(Some(0), Some(10))).await, vec![1, 2], "edge minute");
    }
}

#[cfg(test)]
mod gap_tests {
    use super::{GAP_LEVELS, Window};
    use crate::store::Store;
    use std::collections::{BTreeSet, HashMap};

    const M: i64 = 60_000_000_000;

    /// A small xorshift: the same sequence on every run.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self, n: u64) -> i64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n) as i64
        }
    }

    /// Endpoints with call series that are sparse, bursty or dense, written in random order
    /// (out-of-order captures), multi-row and one by one, upserted as the store does, with
    /// retention deleting the oldest minutes and endpoints deleted: after every step, the
    /// range condition read through `endpoint_gaps` selects the same endpoints as one
    /// lookup per endpoint in the minute series, over ranges of every size; and the gaps
    /// stay well formed (at least one idle minute, on the right level, never overlapping).
    #[tokio::test]
    async fn gaps_select_what_the_minute_series_does() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("g.db")).await.unwrap();
        let pool = store.pool();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut series: HashMap<i64, BTreeSet<i64>> = HashMap::new();
        let mut cutoff = 0i64;
        for step in 0..60 {
            // Up to 12 endpoints, each step adding calls to a few of them.
            for _ in 0..4 {
                let id = rng.next(12) + 1;
                let style = id % 3;
                let n = 1 + rng.next(6);
                let mut minutes: Vec<i64> = (0..n)
                    .map(|_| match style {
                        0 => rng.next(400),          // sparse over the whole span
                        1 => 100 + rng.next(20) * 2, // bursty, every other minute
                        _ => cutoff + rng.next(40),  // dense, recent
                    })
                    .filter(|m| *m >= cutoff)
                    .collect();
                if minutes.is_empty() {
                    continue;
                }
                minutes.sort();
                minutes.dedup();
                let (first, last) = (minutes[0], *minutes.last().unwrap());
                sqlx::query(
                    "INSERT INTO endpoints (id, host, method, path_template, first_seen, last_seen, request_count)
                     VALUES (?1, 'h', 'GET', '/e' || ?1, ?2, ?3, 1)
                     ON CONFLICT (id) DO UPDATE SET first_seen = min(first_seen, excluded.first_seen),
                        last_seen = max(last_seen, excluded.last_seen)",
                )
                .bind(id)
                .bind(first * M + rng.next(M as u64))
                .bind(last * M + rng.next(M as u64))
                .execute(pool)
                .await
                .unwrap();
                // Out of order, and sometimes in one statement.
                for i in (1..minutes.len()).rev() {
                    let j = rng.next(i as u64 + 1) as usize;
                    minutes.swap(i, j);
                }
                let upsert = "ON CONFLICT (endpoint_id, minute) DO UPDATE SET count = count + excluded.count";
                if rng.next(2) == 0 {
                    let values = minutes
                        .iter()
                        .map(|m| format!("({id}, {m}, 1, 0)"))
                        .collect::<Vec<_>>()
                        .join(", ");
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "INSERT INTO endpoint_minutes (endpoint_id, minute, count, errors) VALUES {values} {upsert}"
                    )))
                    .execute(pool)
                    .await
                    .unwrap();
                } else {
                    for m in &minutes {
                        sqlx::query(sqlx::AssertSqlSafe(format!(
                            "INSERT INTO endpoint_minutes (endpoint_id, minute, count, errors) VALUES (?, ?, 1, 0) {upsert}"
                        )))
                        .bind(id)
                        .bind(m)
                        .execute(pool)
                        .await
                        .unwrap();
                    }
                }
                series.entry(id).or_default().extend(minutes);
            }
            // Retention: the oldest minutes go, in one statement.
            if step % 7 == 6 {
                cutoff += 30 + rng.next(40);
                sqlx::query("DELETE FROM endpoint_minutes WHERE minute < ?")
                    .bind(cutoff)
                    .execute(pool)
                    .await
                    .unwrap();
            }
            // An endpoint deleted now and then (re-templated away): its rows and gaps go.
            if step % 11 == 10 {
                let id = rng.next(12) + 1;
                sqlx::query("DELETE FROM endpoints WHERE id = ?")
                    .bind(id)
                    .execute(pool)
                    .await
                    .unwrap();
                series.remove(&id);
            }
            check_gaps(&store).await;
            for _ in 0..25 {
                let a = rng.next(520) - 20;
                let len = [0, 1, 2, 5, 30, 120, 600][rng.next(7) as usize];
                let w = Window {
                    from: Some(a * M + rng.next(M as u64)),
                    to: Some((a + len) * M + rng.next(M as u64)),
                };
                let ids = |sql: String| async move {
                    sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!(
                        "SELECT id FROM endpoints e WHERE {sql} ORDER BY id"
                    )))
                    .fetch_all(pool)
                    .await
                    .unwrap()
                };
                assert_eq!(
                    ids(w.endpoint_sql("e").unwrap()).await,
                    ids(w.endpoint_sql_by_minutes("e").unwrap()).await,
                    "step {step}, range {w:?} ({} endpoints)",
                    series.len()
                );
            }
        }
        let gaps: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM endpoint_gaps")
            .fetch_one(pool)
            .await
            .unwrap();
        assert!(gaps > 10, "the series had idle stretches: {gaps} gaps");
    }

    /// Every gap at least one idle minute long, on its level, with no call inside it, and
    /// no two gaps of an endpoint overlapping.
    async fn check_gaps(store: &Store) {
        let pool = store.pool();
        let rows: Vec<(i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT endpoint_id, lo, hi, lvl FROM endpoint_gaps ORDER BY endpoint_id, lo",
        )
        .fetch_all(pool)
        .await
        .unwrap();
        let mut prev: Option<(i64, i64)> = None;
        for (e, lo, hi, lvl) in rows {
            assert!(hi - lo >= 2, "gap ({e}, {lo}, {hi}) has no idle minute");
            let level = (0..GAP_LEVELS as i64)
                .rfind(|k| hi - lo >= 4i64.pow(*k as u32))
                .unwrap();
            assert_eq!(lvl, level, "gap ({e}, {lo}, {hi})");
            if let Some((pe, phi)) = prev
                && pe == e
            {
                assert!(lo >= phi, "gaps of {e} overlap at {lo}");
            }
            prev = Some((e, hi));
            let inside: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM endpoint_minutes WHERE endpoint_id = ? AND minute > ? AND minute < ?",
            )
            .bind(e)
            .bind(lo)
            .bind(hi)
            .fetch_one(pool)
            .await
            .unwrap();
            assert_eq!(inside, 0, "gap ({e}, {lo}, {hi}) holds a call");
        }
    }
}
