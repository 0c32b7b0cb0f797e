//! Queries on either backend: one query, written once, run on the SQLite inventory or on the
//! fleet's central inventory on PostgreSQL. The dashboard's reads run on a pool ([`Db`]); the
//! assessment's reads and writes (`store::spec::assess_on`) run in a transaction ([`DbTx`],
//! its [`Conn`]), so a sensor and the centre judge their inventories with the same code.
//!
//! The dashboard's reads ([`super::dashboard`]) are written in SQL both dialects run: numbered
//! placeholders `?1` or `?` (rewritten to `$1` for PostgreSQL by [`super::pg::pg_dialect`],
//! which also makes `LIKE` case-insensitive there, as SQLite's is),
//! `COALESCE` rather than `IFNULL`, `CAST(.. AS BIGINT)` where PostgreSQL would widen a sum to
//! `numeric`, a name on every derived table, `WHERE TRUE` rather than `WHERE 1`. What stays
//! apart is said where it is (`Db::is_pg`).
//!
//! [`DbQuery`] mirrors sqlx's `query()` (bind, then fetch) and [`DbRow`] its rows; a column
//! is read with [`DbRow::get`] into one of the types of [`Col`]. PostgreSQL types its results
//! exactly where SQLite has one integer type: an `int4` (a literal, `length()`) or `int2` reads
//! as `i64`, a `float4` as `f64` and a `bool` as an integer, so a query does not need a cast
//! per column to read the same on both.

use super::StoreError;
use sqlx::postgres::{PgArguments, PgConnection, PgPool, PgRow, Postgres};
use sqlx::sqlite::{Sqlite, SqliteArguments, SqliteConnection, SqlitePool, SqliteRow};
use sqlx::{ColumnIndex, Row, TypeInfo, ValueRef};

/// A connection pool to an inventory: the SQLite file of a sensor, or a fleet's centre.
#[derive(Clone, Debug)]
pub enum Db {
    /// A SQLite inventory.
    Sqlite(SqlitePool),
    /// A central inventory on PostgreSQL.
    Pg(PgPool),
}

/// The SQL dialect of a backend, for the few phrases the two do not share.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Pg,
}

impl Dialect {
    /// `string_agg`/`group_concat` of `expr` with separator `sep` (an SQL string literal),
    /// of distinct values when `distinct`, in the byte order of `expr` on PostgreSQL (SQLite's
    /// follows its input's order: the callers aggregate an ordered subquery, compared as
    /// bytes, SQLite's `BINARY`).
    pub fn string_agg(self, expr: &str, sep: &str, distinct: bool) -> String {
        let d = if distinct { "DISTINCT " } else { "" };
        match self {
            Dialect::Sqlite if distinct && sep == "','" => format!("group_concat(DISTINCT {expr})"),
            Dialect::Sqlite => format!("group_concat({expr}, {sep})"),
            Dialect::Pg => {
                format!("string_agg({d}{expr} COLLATE \"C\", {sep} ORDER BY {expr} COLLATE \"C\")")
            }
        }
    }

    /// `INDEXED BY index` on SQLite (a plan the queries were measured with); nothing on
    /// PostgreSQL, whose planner takes no such hint.
    pub fn indexed_by(self, index: &str) -> String {
        match self {
            Dialect::Sqlite => format!("INDEXED BY {index}"),
            Dialect::Pg => String::new(),
        }
    }

    /// A subquery of the values of the JSON array of strings bound as `param` (`?1`).
    pub fn json_strings(self, param: &str) -> String {
        match self {
            Dialect::Sqlite => format!("SELECT value FROM json_each({param})"),
            Dialect::Pg => format!("SELECT json_array_elements_text(CAST({param} AS json))"),
        }
    }

    /// The position (from 1; 0 when absent) of `needle` in `haystack`: SQLite's `instr`,
    /// PostgreSQL's `strpos`.
    pub fn instr(self, haystack: &str, needle: &str) -> String {
        match self {
            Dialect::Sqlite => format!("instr({haystack}, {needle})"),
            Dialect::Pg => format!("strpos({haystack}, {needle})"),
        }
    }

    /// `expr` compared as bytes (SQLite's `BINARY`, PostgreSQL's `"C"` collation, whatever
    /// the database's own): for an order or a `MIN` that must be the same on both.
    pub fn bytes(self, expr: &str) -> String {
        match self {
            Dialect::Sqlite => expr.to_owned(),
            Dialect::Pg => format!("({expr} COLLATE \"C\")"),
        }
    }

    /// An `INSERT` that skips rows conflicting with a unique key: `INSERT OR IGNORE INTO
    /// table` on SQLite; on PostgreSQL the statement must end with `ON CONFLICT DO NOTHING`,
    /// which [`Dialect::or_ignore_end`] gives.
    pub fn insert_or_ignore(self) -> &'static str {
        match self {
            Dialect::Sqlite => "INSERT OR IGNORE INTO",
            Dialect::Pg => "INSERT INTO",
        }
    }

    /// The lesser of two values: SQLite's scalar `min`, PostgreSQL's `LEAST`.
    pub fn least(self, a: &str, b: &str) -> String {
        match self {
            Dialect::Sqlite => format!("min({a}, {b})"),
            Dialect::Pg => format!("LEAST({a}, {b})"),
        }
    }

    /// The greater of two values: SQLite's scalar `max`, PostgreSQL's `GREATEST`.
    pub fn greatest(self, a: &str, b: &str) -> String {
        match self {
            Dialect::Sqlite => format!("max({a}, {b})"),
            Dialect::Pg => format!("GREATEST({a}, {b})"),
        }
    }

    /// The end of an [`Dialect::insert_or_ignore`] statement.
    pub fn or_ignore_end(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Pg => " ON CONFLICT DO NOTHING",
        }
    }
}

impl Db {
    /// Whether this is PostgreSQL (for the few reads that differ: SQLite's query plans).
    pub fn is_pg(&self) -> bool {
        matches!(self, Db::Pg(_))
    }

    /// This backend's dialect.
    pub fn dialect(&self) -> Dialect {
        match self {
            Db::Sqlite(_) => Dialect::Sqlite,
            Db::Pg(_) => Dialect::Pg,
        }
    }

    /// [`Dialect::string_agg`] of this backend.
    pub fn string_agg(&self, expr: &str, sep: &str, distinct: bool) -> String {
        self.dialect().string_agg(expr, sep, distinct)
    }

    /// [`Dialect::indexed_by`] of this backend.
    pub fn indexed_by(&self, index: &str) -> String {
        self.dialect().indexed_by(index)
    }

    /// [`Dialect::json_strings`] of this backend.
    pub fn json_strings(&self, param: &str) -> String {
        self.dialect().json_strings(param)
    }

    /// A query of `sql`, written with SQLite's numbered placeholders (`?1`).
    pub fn query(&self, sql: impl AsRef<str>) -> DbQuery<'_> {
        match self {
            Db::Sqlite(pool) => DbQuery::new(sql.as_ref(), Exec::SqlitePool(pool)),
            Db::Pg(pool) => DbQuery::new(sql.as_ref(), Exec::PgPool(pool)),
        }
    }

    /// Begins a transaction.
    pub async fn begin(&self) -> Result<DbTx, StoreError> {
        Ok(match self {
            Db::Sqlite(pool) => DbTx::Sqlite(pool.begin().await?),
            Db::Pg(pool) => DbTx::Pg(pool.begin().await?),
        })
    }
}

/// A transaction on either backend: [`DbTx::conn`] runs queries in it.
pub enum DbTx {
    /// On SQLite.
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    /// On PostgreSQL.
    Pg(sqlx::Transaction<'static, Postgres>),
}

impl DbTx {
    /// The transaction's connection, to query.
    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            DbTx::Sqlite(tx) => Conn::Sqlite(tx),
            DbTx::Pg(tx) => Conn::Pg(tx),
        }
    }

    /// Commits.
    pub async fn commit(self) -> Result<(), StoreError> {
        match self {
            DbTx::Sqlite(tx) => tx.commit().await?,
            DbTx::Pg(tx) => tx.commit().await?,
        }
        Ok(())
    }
}

/// A connection of either backend, borrowed (a transaction's): the writes of work shared by
/// a sensor's store and the centre (the assessment) run on it.
pub enum Conn<'c> {
    /// SQLite.
    Sqlite(&'c mut SqliteConnection),
    /// PostgreSQL.
    Pg(&'c mut PgConnection),
}

impl Conn<'_> {
    /// This backend's dialect.
    pub fn dialect(&self) -> Dialect {
        match self {
            Conn::Sqlite(_) => Dialect::Sqlite,
            Conn::Pg(_) => Dialect::Pg,
        }
    }

    /// On the centre, takes the writers' lock ([`super::pg::WRITERS_LOCK`]) for the rest of
    /// the transaction: the apply of a delta group, the assessment, a triage change and a
    /// retention step never interleave. Nothing on SQLite, whose one writer is the file's.
    pub async fn lock_writers(&mut self) -> Result<(), StoreError> {
        if let Conn::Pg(_) = self {
            self.query("SELECT pg_advisory_xact_lock(?)")
                .bind(super::pg::WRITERS_LOCK)
                .execute()
                .await?;
        }
        Ok(())
    }

    /// A query of `sql` (SQLite's placeholders, as [`Db::query`]).
    pub fn query(&mut self, sql: impl AsRef<str>) -> DbQuery<'_> {
        match self {
            Conn::Sqlite(c) => DbQuery::new(sql.as_ref(), Exec::SqliteConn(c)),
            Conn::Pg(c) => DbQuery::new(sql.as_ref(), Exec::PgConn(c)),
        }
    }
}

/// Where a query runs: a pool, or a borrowed connection.
enum Exec<'a> {
    SqlitePool(&'a SqlitePool),
    SqliteConn(&'a mut SqliteConnection),
    PgPool(&'a PgPool),
    PgConn(&'a mut PgConnection),
}

/// Runs `$q.$method($exec)` on whichever executor `$exec` is, for a query of that backend.
macro_rules! run_on {
    ($q:expr, $exec:expr, $method:ident, $sqlite:pat => $s:expr, $pg:pat => $p:expr) => {
        match ($q, $exec) {
            (Built::Sqlite(q), Exec::SqlitePool(e)) => {
                let $sqlite = q.$method(e).await;
                $s
            }
            (Built::Sqlite(q), Exec::SqliteConn(e)) => {
                let $sqlite = q.$method(e).await;
                $s
            }
            (Built::Pg(q), Exec::PgPool(e)) => {
                let $pg = q.$method(e).await;
                $p
            }
            (Built::Pg(q), Exec::PgConn(e)) => {
                let $pg = q.$method(e).await;
                $p
            }
            _ => unreachable!("a query is built for its executor's backend"),
        }
    };
}

enum Built {
    Sqlite(sqlx::query::Query<'static, Sqlite, SqliteArguments>),
    Pg(sqlx::query::Query<'static, Postgres, PgArguments>),
}

/// A query being built: [`DbQuery::bind`] its arguments in order, then fetch.
pub struct DbQuery<'a> {
    built: Built,
    exec: Exec<'a>,
    /// PostgreSQL's text of the query, logged when the server refuses it (a query of the
    /// dashboard written in SQLite's dialect only is a bug to see at once).
    pg_sql: Option<String>,
}

/// A value bound to a query, owned, with its SQL type (a NULL is typed too: PostgreSQL
/// compares `$1 IS NULL OR host = $1` only when `$1` has a type).
#[derive(Clone, Debug, PartialEq)]
pub enum Arg {
    /// An integer or NULL.
    Int(Option<i64>),
    /// A float or NULL.
    Real(Option<f64>),
    /// Text or NULL.
    Text(Option<String>),
    /// Bytes or NULL.
    Blob(Option<Vec<u8>>),
}

macro_rules! arg_from {
    ($($t:ty => $v:ident, $conv:expr);* $(;)?) => {$(
        impl From<$t> for Arg {
            fn from(x: $t) -> Arg {
                #[allow(clippy::redundant_closure_call)]
                Arg::$v(($conv)(x))
            }
        }
    )*};
}

arg_from! {
    i64 => Int, Some;
    Option<i64> => Int, |x| x;
    i32 => Int, |x: i32| Some(i64::from(x));
    u32 => Int, |x: u32| Some(i64::from(x));
    bool => Int, |x: bool| Some(i64::from(x));
    f64 => Real, Some;
    Option<f64> => Real, |x| x;
    String => Text, Some;
    Option<String> => Text, |x| x;
    &str => Text, |x: &str| Some(x.to_owned());
    &String => Text, |x: &String| Some(x.clone());
    Option<&str> => Text, |x: Option<&str>| x.map(str::to_owned);
    Option<&String> => Text, |x: Option<&String>| x.cloned();
    Vec<u8> => Blob, Some;
    Option<Vec<u8>> => Blob, |x| x;
}

impl<'a> DbQuery<'a> {
    fn new(sql: &str, exec: Exec<'a>) -> Self {
        match exec {
            Exec::SqlitePool(_) | Exec::SqliteConn(_) => DbQuery {
                built: Built::Sqlite(sqlx::query::<Sqlite>(sqlx::AssertSqlSafe(sql.to_owned()))),
                exec,
                pg_sql: None,
            },
            Exec::PgPool(_) | Exec::PgConn(_) => {
                let text = super::pg::pg_dialect(sql);
                DbQuery {
                    built: Built::Pg(sqlx::query::<Postgres>(sqlx::AssertSqlSafe(text.clone()))),
                    exec,
                    pg_sql: Some(text),
                }
            }
        }
    }

    /// Binds the next argument.
    pub fn bind(self, value: impl Into<Arg>) -> Self {
        let value = value.into();
        let built = match self.built {
            Built::Sqlite(q) => Built::Sqlite(match value {
                Arg::Int(x) => q.bind(x),
                Arg::Real(x) => q.bind(x),
                Arg::Text(x) => q.bind(x),
                Arg::Blob(x) => q.bind(x),
            }),
            Built::Pg(q) => Built::Pg(match value {
                Arg::Int(x) => q.bind(x),
                Arg::Real(x) => q.bind(x),
                Arg::Text(x) => q.bind(x),
                Arg::Blob(x) => q.bind(x),
            }),
        };
        DbQuery { built, ..self }
    }

    /// Runs a statement; the number of rows it changed.
    pub async fn execute(self) -> Result<u64, StoreError> {
        let sql = self.pg_sql;
        Ok(run_on!(self.built, self.exec, execute,
            r => r?.rows_affected(),
            r => logged(r, sql)?.rows_affected()))
    }

    /// Every row.
    pub async fn fetch_all(self) -> Result<Vec<DbRow>, StoreError> {
        let sql = self.pg_sql;
        Ok(run_on!(self.built, self.exec, fetch_all,
            r => r?.into_iter().map(DbRow::Sqlite).collect(),
            r => logged(r, sql)?.into_iter().map(DbRow::Pg).collect()))
    }

    /// The first row, if any.
    pub async fn fetch_optional(self) -> Result<Option<DbRow>, StoreError> {
        let sql = self.pg_sql;
        Ok(run_on!(self.built, self.exec, fetch_optional,
            r => r?.map(DbRow::Sqlite),
            r => logged(r, sql)?.map(DbRow::Pg)))
    }

    /// The one row (an error when there is none).
    pub async fn fetch_one(self) -> Result<DbRow, StoreError> {
        let sql = self.pg_sql;
        Ok(run_on!(self.built, self.exec, fetch_one,
            r => DbRow::Sqlite(r?),
            r => DbRow::Pg(logged(r, sql)?)))
    }

    /// The first column of the one row.
    pub async fn fetch_scalar<T: for<'r> Col<'r>>(self) -> Result<T, StoreError> {
        Ok(self.fetch_one().await?.try_get(0usize)?)
    }

    /// The first column of the first row, if any.
    pub async fn fetch_optional_scalar<T: for<'r> Col<'r>>(self) -> Result<Option<T>, StoreError> {
        match self.fetch_optional().await? {
            Some(r) => Ok(Some(r.try_get(0usize)?)),
            None => Ok(None),
        }
    }
}

/// A value read from a row to be bound again (a page's last sort key).
#[derive(Clone, Debug, PartialEq)]
pub enum DbValue {
    /// Text.
    Text(String),
    /// An integer.
    Int(i64),
    /// A float.
    Real(f64),
}

impl DbQuery<'_> {
    /// Binds a value read from a row.
    pub fn bind_value(self, v: &DbValue) -> Self {
        match v {
            DbValue::Text(s) => self.bind(s.as_str()),
            DbValue::Int(i) => self.bind(*i),
            DbValue::Real(x) => self.bind(*x),
        }
    }
}

/// A PostgreSQL result, its query logged when the server refused it (not for "no row").
fn logged<T>(r: Result<T, sqlx::Error>, sql: Option<String>) -> Result<T, sqlx::Error> {
    if let Err(e @ sqlx::Error::Database(_)) = &r {
        tracing::warn!(error = %e, sql = sql.as_deref().unwrap_or(""), "the centre refused a query");
    }
    r
}

/// A row of either backend.
pub enum DbRow {
    /// From SQLite.
    Sqlite(SqliteRow),
    /// From PostgreSQL.
    Pg(PgRow),
}

/// A column index both backends' rows take: a position or a name.
pub trait Idx: ColumnIndex<SqliteRow> + ColumnIndex<PgRow> + std::fmt::Debug + Copy {}
impl Idx for usize {}
impl Idx for &str {}

impl DbRow {
    /// The column `i` as `T`.
    ///
    /// # Panics
    /// When the column is missing or its value is not a `T`: a bug of the query that reads
    /// it (as sqlx's own `Row::get`).
    pub fn get<'r, T: Col<'r>, I: Idx>(&'r self, i: I) -> T {
        self.try_get(i)
            .unwrap_or_else(|e| panic!("column {i:?} of a dashboard query: {e}"))
    }

    /// Column `i` as a value to bind again; `None` when NULL (or unreadable).
    pub fn value(&self, i: usize) -> Option<DbValue> {
        match self {
            DbRow::Sqlite(r) => {
                let raw = r.try_get_raw(i).ok()?;
                if raw.is_null() {
                    return None;
                }
                match raw.type_info().name() {
                    "INTEGER" => r.try_get(i).ok().map(DbValue::Int),
                    "REAL" => r.try_get(i).ok().map(DbValue::Real),
                    _ => r.try_get(i).ok().map(DbValue::Text),
                }
            }
            DbRow::Pg(r) => {
                let (ty, null) = pg_type(r, i).ok()?;
                if null {
                    return None;
                }
                match ty.as_str() {
                    "INT8" | "INT4" | "INT2" | "BOOL" => pg_i64(r, i).ok()?.map(DbValue::Int),
                    "NUMERIC" => pg_f64(r, i).ok()?.map(DbValue::Real),
                    "FLOAT8" | "FLOAT4" => pg_f64(r, i).ok()?.map(DbValue::Real),
                    _ => r.try_get(i).ok().map(DbValue::Text),
                }
            }
        }
    }

    /// The column `i` as `T`, or why not.
    pub fn try_get<'r, T: Col<'r>, I: Idx>(&'r self, i: I) -> Result<T, sqlx::Error> {
        match self {
            DbRow::Sqlite(r) => T::from_sqlite(r, i),
            DbRow::Pg(r) => T::from_pg(r, i),
        }
    }
}

/// A type a column reads into on both backends.
pub trait Col<'r>: Sized {
    /// From a SQLite row.
    fn from_sqlite<I: Idx>(row: &'r SqliteRow, i: I) -> Result<Self, sqlx::Error>;
    /// From a PostgreSQL row.
    fn from_pg<I: Idx>(row: &'r PgRow, i: I) -> Result<Self, sqlx::Error>;
}

/// The PostgreSQL type name of column `i`, and whether its value is NULL.
fn pg_type<I: Idx>(row: &PgRow, i: I) -> Result<(String, bool), sqlx::Error> {
    let v = row.try_get_raw(i)?;
    Ok((v.type_info().name().to_owned(), v.is_null()))
}

/// A `numeric` (PostgreSQL's `SUM` of `bigint`, `AVG`) as a float, from its binary form:
/// digit count, weight, sign and scale (16-bit each), then base-10,000 digits.
fn pg_numeric<I: Idx>(row: &PgRow, i: I) -> Result<f64, sqlx::Error> {
    let raw = row.try_get_raw(i)?;
    let bytes = raw.as_bytes().map_err(|e| sqlx::Error::ColumnDecode {
        index: format!("{i:?}"),
        source: e,
    })?;
    let bad = || sqlx::Error::ColumnDecode {
        index: format!("{i:?}"),
        source: "malformed numeric".into(),
    };
    let word = |k: usize| -> Result<u16, sqlx::Error> {
        let b = bytes.get(2 * k..2 * k + 2).ok_or_else(bad)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    };
    let ndigits = usize::from(word(0)?);
    let weight = i32::from(word(1)? as i16);
    let sign = word(2)?;
    if sign == 0xC000 {
        return Ok(f64::NAN);
    }
    let mut v = 0f64;
    for k in 0..ndigits {
        let exp = weight - k as i32;
        v += f64::from(word(4 + k)?) * 10_000f64.powi(exp);
    }
    Ok(if sign == 0x4000 { -v } else { v })
}

fn pg_i64<I: Idx>(row: &PgRow, i: I) -> Result<Option<i64>, sqlx::Error> {
    let (ty, null) = pg_type(row, i)?;
    if null {
        return Ok(None);
    }
    Ok(Some(match ty.as_str() {
        "NUMERIC" => pg_numeric(row, i)?.round() as i64,
        "INT4" => row.try_get::<i32, _>(i)?.into(),
        "INT2" => row.try_get::<i16, _>(i)?.into(),
        "BOOL" => row.try_get::<bool, _>(i)?.into(),
        _ => row.try_get::<i64, _>(i)?,
    }))
}

fn pg_f64<I: Idx>(row: &PgRow, i: I) -> Result<Option<f64>, sqlx::Error> {
    let (ty, null) = pg_type(row, i)?;
    if null {
        return Ok(None);
    }
    Ok(Some(match ty.as_str() {
        "NUMERIC" => pg_numeric(row, i)?,
        "FLOAT4" => row.try_get::<f32, _>(i)?.into(),
        "INT8" => row.try_get::<i64, _>(i)? as f64,
        "INT4" => row.try_get::<i32, _>(i)?.into(),
        _ => row.try_get::<f64, _>(i)?,
    }))
}

fn null_error<I: Idx>(i: I) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: format!("{i:?}"),
        source: "unexpected NULL".into(),
    }
}

impl<'r> Col<'r> for Option<i64> {
    fn from_sqlite<I: Idx>(row: &'r SqliteRow, i: I) -> Result<Self, sqlx::Error> {
        row.try_get(i)
    }
    fn from_pg<I: Idx>(row: &'r PgRow, i: I) -> Result<Self, sqlx::Error> {
        pg_i64(row, i)
    }
}

impl<'r> Col<'r> for i64 {
    fn from_sqlite<I: Idx>(row: &'r SqliteRow, i: I) -> Result<Self, sqlx::Error> {
        row.try_get(i)
    }
    fn from_pg<I: Idx>(row: &'r PgRow, i: I) -> Result<Self, sqlx::Error> {
        pg_i64(row, i)?.ok_or_else(|| null_error(i))
    }
}

impl<'r> Col<'r> for Option<f64> {
    fn from_sqlite<I: Idx>(row: &'r SqliteRow, i: I) -> Result<Self, sqlx::Error> {
        row.try_get(i)
    }
    fn from_pg<I: Idx>(row: &'r PgRow, i: I) -> Result<Self, sqlx::Error> {
        pg_f64(row, i)
    }
}

impl<'r> Col<'r> for f64 {
    fn from_sqlite<I: Idx>(row: &'r SqliteRow, i: I) -> Result<Self, sqlx::Error> {
        row.try_get(i)
    }
    fn from_pg<I: Idx>(row: &'r PgRow, i: I) -> Result<Self, sqlx::Error> {
        pg_f64(row, i)?.ok_or_else(|| null_error(i))
    }
}

impl<'r> Col<'r> for bool {
    fn from_sqlite<I: Idx>(row: &'r SqliteRow, i: I) -> Result<Self, sqlx::Error> {
        row.try_get(i)
    }
    fn from_pg<I: Idx>(row: &'r PgRow, i: I) -> Result<Self, sqlx::Error> {
        Ok(pg_i64(row, i)?.ok_or_else(|| null_error(i))? != 0)
    }
}

/// Types read the same way on both backends (text and bytes).
macro_rules! same_on_both {
    ($($t:ty),*) => {$(
        impl<'r> Col<'r> for $t {
            fn from_sqlite<I: Idx>(row: &'r SqliteRow, i: I) -> Result<Self, sqlx::Error> {
                row.try_get(i)
            }
            fn from_pg<I: Idx>(row: &'r PgRow, i: I) -> Result<Self, sqlx::Error> {
                row.try_get(i)
            }
        }
    )*};
}

same_on_both!(
    String,
    Option<String>,
    &'r str,
    Option<&'r str>,
    Vec<u8>,
    Option<Vec<u8>>,
    &'r [u8],
    Option<&'r [u8]>
);

/// Reads a whole row into a tuple (the rows `query_as` gave).
pub trait FromDbRow: Sized {
    /// From the row's first columns.
    fn from_db_row(row: &DbRow) -> Result<Self, sqlx::Error>;
}

macro_rules! tuple_from_row {
    ($($t:ident $n:tt),*) => {
        impl<$($t: for<'r> Col<'r>),*> FromDbRow for ($($t,)*) {
            fn from_db_row(row: &DbRow) -> Result<Self, sqlx::Error> {
                Ok(($(row.try_get::<$t, usize>($n)?,)*))
            }
        }
    };
}

tuple_from_row!(A 0);
tuple_from_row!(A 0, B 1);
tuple_from_row!(A 0, B 1, C 2);
tuple_from_row!(A 0, B 1, C 2, D 3);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4);
tuple_from_row!(A 0, B 1, C 2, D 3, E 4, F 5);

impl DbQuery<'_> {
    /// Every row as a tuple.
    pub async fn fetch_all_as<T: FromDbRow>(self) -> Result<Vec<T>, StoreError> {
        let rows = self.fetch_all().await?;
        Ok(rows
            .iter()
            .map(T::from_db_row)
            .collect::<Result<Vec<T>, _>>()?)
    }

    /// Every row's first column.
    pub async fn fetch_all_scalar<T: for<'r> Col<'r>>(self) -> Result<Vec<T>, StoreError> {
        let rows = self.fetch_all().await?;
        Ok(rows
            .iter()
            .map(|r| r.try_get(0usize))
            .collect::<Result<Vec<T>, _>>()?)
    }

    /// The first row as a tuple, if any.
    pub async fn fetch_optional_as<T: FromDbRow>(self) -> Result<Option<T>, StoreError> {
        match self.fetch_optional().await? {
            Some(r) => Ok(Some(T::from_db_row(&r)?)),
            None => Ok(None),
        }
    }

    /// The one row as a tuple.
    pub async fn fetch_one_as<T: FromDbRow>(self) -> Result<T, StoreError> {
        Ok(T::from_db_row(&self.fetch_one().await?)?)
    }
}
