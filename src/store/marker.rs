//! Which SQLite files are shadowtap inventories: `PRAGMA application_id`.
//!
//! A new inventory is marked with [`APPLICATION_ID`] when it is created; an inventory made
//! before the mark existed (our migrations table, with our first migration, and our
//! `captures` table) is marked when it is next opened for writing. Any other non-empty file is
//! refused before anything is written to it: opening it for writing would otherwise turn it
//! into WAL mode and add 30 tables to another application's database.

use super::StoreError;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};
use sqlx::{ConnectOptions, Connection, Row};
use std::path::Path;

/// `application_id` of a shadowtap inventory: "STAP".
pub const APPLICATION_ID: i32 = 0x5354_4150;

/// What a file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// Missing, empty, or an SQLite database without any table: becomes an inventory.
    New,
    /// A marked inventory.
    Marked,
    /// An inventory of a version without the mark.
    Unmarked,
}

fn refused(path: &Path, reason: String) -> StoreError {
    StoreError::Refused {
        path: path.to_path_buf(),
        reason,
    }
}

/// What `path` is; an error for anything shadowtap must not write to. Reads only (without
/// changing the journal mode).
pub(super) async fn check(path: &Path) -> Result<Kind, StoreError> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Kind::New),
        Err(e) => {
            return Err(StoreError::Io {
                path: path.to_path_buf(),
                source: e,
            });
        }
        Ok(m) if m.is_file() && m.len() == 0 => return Ok(Kind::New),
        Ok(m) if !m.is_file() => {
            return Err(refused(
                path,
                "is not a regular file; give --db the path of an inventory file".into(),
            ));
        }
        Ok(_) => {}
    }
    let mut conn = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .connect()
        .await?;
    let id: i32 = match sqlx::query("PRAGMA application_id")
        .fetch_one(&mut conn)
        .await
    {
        Ok(r) => r.get(0),
        Err(e) => {
            let _ = conn.close().await;
            return Err(refused(
                path,
                format!(
                    "is not an SQLite database ({e}); shadowtap does not overwrite it. Give --db a new file or a shadowtap inventory"
                ),
            ));
        }
    };
    let kind = if id == APPLICATION_ID {
        Kind::Marked
    } else {
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )
        .fetch_all(&mut conn)
        .await?;
        let ours = id == 0
            && tables.iter().any(|t| t == "_sqlx_migrations")
            && tables.iter().any(|t| t == "captures")
            && sqlx::query_scalar::<_, String>(
                "SELECT description FROM _sqlx_migrations WHERE version = 1",
            )
            .fetch_optional(&mut conn)
            .await
            .ok()
            .flatten()
            .is_some_and(|d| d == "inventory");
        if ours {
            Kind::Unmarked
        } else if id == 0 && tables.is_empty() {
            Kind::New
        } else {
            let _ = conn.close().await;
            let mut list: Vec<&str> = tables.iter().map(String::as_str).take(5).collect();
            if tables.len() > 5 {
                list.push("...");
            }
            return Err(refused(
                path,
                format!(
                    "is the SQLite database of another application (application_id {id:#x}, \
                     {} table(s): {}), not a shadowtap inventory; shadowtap does not convert \
                     it. Give --db a new file or a shadowtap inventory",
                    tables.len(),
                    list.join(", ")
                ),
            ));
        }
    };
    let _ = conn.close().await;
    Ok(kind)
}

/// Marks an inventory (after its migrations ran).
pub(super) async fn mark(pool: &SqlitePool) -> Result<(), StoreError> {
    // Built from a constant: nothing from outside reaches this statement.
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "PRAGMA application_id = {APPLICATION_ID}"
    )))
    .execute(pool)
    .await?;
    Ok(())
}

/// Checks a database opened read-only: a marked inventory, or one of a version without the
/// mark.
pub(super) async fn check_read_only(path: &Path, pool: &SqlitePool) -> Result<(), StoreError> {
    let id: i32 = sqlx::query_scalar("PRAGMA application_id")
        .fetch_one(pool)
        .await
        .map_err(|e| {
            refused(
                path,
                format!("is not an SQLite database ({e}); give --db a shadowtap inventory"),
            )
        })?;
    if id == APPLICATION_ID {
        return Ok(());
    }
    let ours: Option<String> = if id == 0 {
        sqlx::query_scalar("SELECT description FROM _sqlx_migrations WHERE version = 1")
            .fetch_optional(pool)
            .await
            .ok()
            .flatten()
    } else {
        None
    };
    if ours.as_deref() == Some("inventory") {
        return Ok(());
    }
    Err(refused(
        path,
        format!(
            "is not a shadowtap inventory (application_id {id:#x}); give --db a file made by \
             `shadowtap ingest` or `shadowtap run`"
        ),
    ))
}
