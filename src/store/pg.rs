//! A fleet's central inventory on PostgreSQL, read: what `shadowtap endpoints`, `findings`
//! and `export --format csv|json|sarif` list when `--db` is a `postgres://` URL.
//!
//! Everything here reads the public views (`api_*`, the SQL contract, the same columns and
//! values on both backends) and the tables behind an endpoint's details, with the queries of
//! the SQLite reader: [`super::read`]'s listings and [`super::export`]'s CSV writer, JSON
//! rows and detail queries are shared, written once in SQL both dialects read (`$n`
//! placeholders; SQLite's `?n` rewritten by [`pg_placeholders`]). An endpoint's details are
//! read a table at a time for every endpoint (six statements for the whole export), not six
//! per endpoint: a round trip to a server costs what a SQLite call does not.
//!
//! Not on PostgreSQL: `export --format sql` (a SQLite dump; `pg_dump` is PostgreSQL's) and
//! `--format openapi` (it reads the gRPC figures and GraphQL operations a delta does not
//! carry yet). The dashboard reads the centre through [`PgInventory::dashboard`] (the
//! queries of [`super::dashboard`], on [`super::db`]).

use super::dashboard::FindingQuery;
use super::export::{DETAIL_SQL, DetailRows, PUBLIC_VIEWS, row_json, view_as_text_sql, write_csv};
use super::read::{ENDPOINTS_SQL, SENSORS_SQL, SensorRow, endpoint_row, findings_listing_sql};
use super::{EndpointRow, FindingListing, ListFilter, StoreError};
use serde_json::{Value, json};
use sqlx::Row;
use sqlx::postgres::{PgPool, PgPoolOptions};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The transaction-level advisory lock every writer of the centre holds (`central`'s apply,
/// the assessment): one writer at a time.
pub const WRITERS_LOCK: i64 = 18;

/// Whether `db` names a PostgreSQL database (`postgres://` or `postgresql://`) rather than a
/// SQLite file.
pub fn is_postgres_url(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

/// Rewrites SQLite's numbered placeholders (`?1`) into PostgreSQL's (`$1`), outside string
/// literals and quoted names.
pub fn pg_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                if c == q {
                    quote = None;
                }
                out.push(c);
            }
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                out.push(c);
            }
            None if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) => out.push('$'),
            None => out.push(c),
        }
    }
    out
}

/// Rewrites a query written for SQLite into PostgreSQL's dialect, outside string literals and
/// quoted names: numbered placeholders `?1` become `$1`, a bare `?` takes one more than the
/// largest number before it (SQLite's rule), and `LIKE` becomes `ILIKE` (SQLite's `LIKE` is
/// case-insensitive for ASCII, PostgreSQL's is not; the dashboard's searches are meant
/// case-insensitive).
pub fn pg_dialect(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut quote: Option<char> = None;
    let mut largest = 0u32;
    let chars: Vec<char> = sql.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
            out.push(c);
            i += 1;
            continue;
        }
        match c {
            '\'' | '"' => {
                quote = Some(c);
                out.push(c);
                i += 1;
            }
            '?' => {
                let start = i + 1;
                let mut j = start;
                while j < chars.len() && chars[j].is_ascii_digit() {
                    j += 1;
                }
                let n = if j > start {
                    chars[start..j]
                        .iter()
                        .collect::<String>()
                        .parse()
                        .unwrap_or(0)
                } else {
                    largest + 1
                };
                largest = largest.max(n);
                out.push('$');
                out.push_str(&n.to_string());
                i = j;
            }
            'L' | 'l'
                if chars[i..].len() >= 4
                    && chars[i..i + 4]
                        .iter()
                        .collect::<String>()
                        .eq_ignore_ascii_case("like")
                    && (i == 0 || !is_word(chars[i - 1]))
                    && chars.get(i + 4).is_none_or(|c| !is_word(*c)) =>
            {
                out.push_str("ILIKE");
                i += 4;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The central inventory, opened for reading.
pub struct PgInventory {
    pool: PgPool,
}

impl PgInventory {
    /// Connects to the central inventory at `url`. Its schema must be this build's (the
    /// centre, `shadowtap central`, migrates it): an older one is refused with what to do.
    ///
    /// The connection reads schema `shadowtap_read` first, then `public`: a reader role
    /// (docs/fleet-roles.sql) sees the inventory's tables only through that schema's views,
    /// which must have been made at this build's schema version too.
    pub async fn open(url: &str) -> Result<PgInventory, StoreError> {
        let opts = sqlx::postgres::PgConnectOptions::from_str(url)?
            .options([("search_path", "shadowtap_read, public")]);
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect_with(opts)
            .await?;
        let wanted = sqlx::migrate!("./migrations/postgres")
            .iter()
            .map(|m| m.version)
            .max()
            .unwrap_or(0);
        // The owner reads the migrations' own record; a reader, the version the read views
        // were made at. Either is enough; a stale one is refused with what to do.
        let applied: Option<i64> =
            sqlx::query_scalar("SELECT max(version) FROM public._sqlx_migrations WHERE success")
                .fetch_one(&pool)
                .await
                .ok()
                .flatten();
        let read_views: Option<i64> =
            sqlx::query_scalar("SELECT version FROM shadowtap_read.schema_version")
                .fetch_one(&pool)
                .await
                .ok();
        let refuse = |reason: String| StoreError::Refused {
            path: PathBuf::from(redacted_url(url)),
            reason,
        };
        let problem = match (applied, read_views) {
            (Some(a), _) if a < wanted => Some(format!(
                "the central inventory's schema is at migration {a} and this build reads {wanted}: \
                 run `shadowtap central --db URL --once` (the centre's own role) to bring it up to date"
            )),
            (_, Some(v)) if v < wanted => Some(format!(
                "the dashboard's read views (schema shadowtap_read) were made at migration {v} and this build reads {wanted}: \
                 run docs/fleet-roles.sql again as the centre's owner"
            )),
            (None, None) => Some(
                "this role can read neither the centre's schema version nor the read views: \
                 run docs/fleet-roles.sql as the centre's owner and grant the role shadowtap_reader"
                    .to_string(),
            ),
            _ => None,
        };
        if let Some(reason) = problem {
            pool.close().await;
            return Err(refuse(reason));
        }
        Ok(PgInventory { pool })
    }

    /// How the centre at `url` is named to a user: the URL without its password.
    pub fn label(url: &str) -> String {
        redacted_url(url)
    }

    /// The dashboard's reads over the centre.
    pub fn dashboard(&self) -> super::dashboard::Dashboard {
        super::dashboard::Dashboard::new(super::db::Db::Pg(self.pool.clone()))
    }

    /// Closes the connections.
    pub async fn close(self) {
        self.pool.close().await;
    }

    /// The fleet's sensors and their health (`api_sensors`).
    pub async fn sensors(&self) -> Result<Vec<SensorRow>, StoreError> {
        Ok(sqlx::query_as(SENSORS_SQL).fetch_all(&self.pool).await?)
    }

    /// Endpoints from `api_endpoints`, by host and path (as [`super::Store::endpoints`]).
    pub async fn endpoints(&self, filter: &ListFilter) -> Result<Vec<EndpointRow>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(pg_placeholders(ENDPOINTS_SQL)))
            .bind(filter.host.as_deref())
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(endpoint_row).collect())
    }

    /// The findings `query` matches, as [`super::Store::findings_listing_matching`] lists
    /// them.
    pub async fn findings_listing_matching(
        &self,
        query: &FindingQuery,
    ) -> Result<Vec<FindingListing>, StoreError> {
        use super::dashboard::findings::like_contains;
        Ok(
            sqlx::query_as(sqlx::AssertSqlSafe(pg_placeholders(&findings_listing_sql(
                query,
            ))))
            .bind(query.severity.as_deref())
            .bind(query.kind.as_deref())
            .bind(query.host.as_deref())
            .bind(query.q.as_deref().map(like_contains))
            .bind(query.state.name())
            .bind(query.limit.max(1))
            .bind(query.offset.max(0))
            .fetch_all(&self.pool)
            .await?,
        )
    }

    /// Writes `<view>.csv` for every public view into `dir`, as
    /// [`super::Store::export_csv_with`] does.
    pub async fn export_csv_with(
        &self,
        dir: &Path,
        include_suppressed: bool,
    ) -> Result<Vec<PathBuf>, StoreError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| StoreError::Io {
                path: path.clone(),
                source,
            }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let mut written = Vec::new();
        for view in PUBLIC_VIEWS {
            let cols: Vec<String> = sqlx::query_scalar(
                "SELECT attname::text FROM pg_attribute
                 WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            )
            .bind(view)
            .fetch_all(&self.pool)
            .await?;
            let rows = sqlx::query(sqlx::AssertSqlSafe(view_as_text_sql(
                view,
                &cols,
                include_suppressed,
            )))
            .fetch_all(&self.pool)
            .await?;
            let path = dir.join(format!("{view}.csv"));
            let f = std::fs::File::create(&path).map_err(io(&path))?;
            write_csv(
                view,
                &cols,
                rows.iter().map(|r| {
                    (0..cols.len())
                        .map(|i| r.get::<Option<String>, _>(i))
                        .collect()
                }),
                std::io::BufWriter::new(f),
            )
            .map_err(|e| match e {
                StoreError::Io { source, .. } => io(&path)(source),
                other => other,
            })?;
            written.push(path);
        }
        Ok(written)
    }

    /// Every endpoint with its details, findings, transitions, paths and captures, as one
    /// JSON document: the document [`super::Store::export_json_with`] writes.
    pub async fn export_json_with(
        &self,
        host: Option<&str>,
        include_suppressed: bool,
    ) -> Result<Value, StoreError> {
        let endpoints = self
            .endpoints(&ListFilter {
                host: host.map(String::from),
            })
            .await?;
        let ids: Vec<i64> = endpoints.iter().map(|e| e.id).collect();
        let mut details: HashMap<i64, DetailRows> = HashMap::new();
        for (i, sql) in DETAIL_SQL.iter().enumerate() {
            // Every endpoint's rows at once, each endpoint's in the query's own order (and its
            // `LIMIT` per endpoint: the busiest clients of each).
            let sql = sql.split_whitespace().collect::<Vec<_>>().join(" ");
            let per = sql.replace("WHERE endpoint_id = $1", "WHERE endpoint_id = x.id");
            let order = sql
                .rsplit_once(" ORDER BY ")
                .map(|(_, o)| o.split(" LIMIT ").next().unwrap_or(o))
                .unwrap_or("1");
            let all = format!(
                "SELECT x.id, d.* FROM unnest($1::bigint[]) AS x(id) CROSS JOIN LATERAL ({per}) d
                 ORDER BY x.id, {order}"
            );
            for r in sqlx::query(sqlx::AssertSqlSafe(all))
                .bind(&ids)
                .fetch_all(&self.pool)
                .await?
            {
                let id: i64 = r.get(0);
                details.entry(id).or_default().add(i, &r, 1);
            }
        }
        let mut out = Vec::with_capacity(endpoints.len());
        for e in endpoints {
            let d = details.remove(&e.id).unwrap_or_default();
            let mut v = serde_json::to_value(&e).map_err(|x| StoreError::Corrupt(x.to_string()))?;
            if let (Value::Object(m), Value::Object(d)) = (&mut v, d.json()) {
                m.extend(d);
            }
            out.push(v);
        }
        let json_rows = async |sql: &'static str| -> Result<Vec<Value>, StoreError> {
            Ok(sqlx::query(sql)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(row_json)
                .collect())
        };
        let findings = json_rows(if include_suppressed {
            "SELECT * FROM api_findings ORDER BY id"
        } else {
            "SELECT * FROM api_findings WHERE triage_state <> 'false_positive' ORDER BY id"
        })
        .await?;
        Ok(json!({
            "generator": format!("shadowtap {}", env!("CARGO_PKG_VERSION")),
            "endpoints": out,
            "findings": findings,
            "transitions": json_rows("SELECT * FROM api_transitions ORDER BY count DESC").await?,
            "sequence_paths": json_rows("SELECT * FROM api_sequence_paths ORDER BY count DESC").await?,
            "captures": json_rows("SELECT * FROM api_captures ORDER BY id").await?,
        }))
    }
}

/// `url` without its password, for messages.
fn redacted_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            u.to_string()
        }
        Err(_) => "the central inventory".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dialect_numbers_bare_placeholders_and_folds_like() {
        assert_eq!(
            pg_dialect(
                "SELECT a FROM t WHERE a LIKE ? ESCAPE '\\' AND b = ?3 AND c = ? AND d = 'LIKE ?' AND likely = ?1"
            ),
            "SELECT a FROM t WHERE a ILIKE $1 ESCAPE '\\' AND b = $3 AND c = $4 AND d = 'LIKE ?' AND likely = $1"
        );
        assert_eq!(pg_dialect("x NOT like ?"), "x NOT ILIKE $1");
    }

    #[test]
    fn placeholders_are_rewritten_outside_quotes_only() {
        assert_eq!(
            pg_placeholders(
                "SELECT a FROM t WHERE (?1 IS NULL OR a = ?1) AND b = '?2' AND \"?3\" = ?12"
            ),
            "SELECT a FROM t WHERE ($1 IS NULL OR a = $1) AND b = '?2' AND \"?3\" = $12"
        );
        assert_eq!(pg_placeholders("a ? b"), "a ? b");
    }

    #[test]
    fn a_password_never_reaches_a_message() {
        assert_eq!(
            redacted_url("postgres://tap:s3cret@centre/inventory"),
            "postgres://tap:***@centre/inventory"
        );
        assert!(!redacted_url("postgres://tap:s3cret@[::1/inv").contains("s3cret"));
    }
}
