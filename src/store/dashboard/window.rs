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
                 OR EXISTS (SELECT 1 FROM endpoint_minutes wm WHERE wm.endpoint_id = {e}.id AND wm.minute BETWEEN {mlo} AND {mhi})))"
            )),
        }
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
