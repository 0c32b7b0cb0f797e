//! CSV downloads of the dashboard: one public view (`api_*`) at a time, formatted as
//! `export --format csv` writes it.

use crate::store::export::csv_field;
use crate::store::{Store, StoreError};
use sqlx::Row;

impl Store {
    /// One public view (`api_*`) as CSV, formatted as `export --format csv` writes it.
    pub async fn dashboard_view_csv(&self, view: &str) -> Result<Option<String>, StoreError> {
        let Some(view) = super::super::export::PUBLIC_VIEWS
            .iter()
            .find(|v| **v == view)
        else {
            return Ok(None);
        };
        let cols: Vec<String> = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT name FROM pragma_table_info('{view}')"
        )))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| r.get::<String, _>(0))
        .collect();
        let select = format!(
            "SELECT {} FROM {view}",
            cols.iter()
                .map(|c| format!("CAST(\"{}\" AS TEXT)", c.replace('"', "\"\"")))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(select))
            .fetch_all(&self.pool)
            .await?;
        let mut out = cols
            .iter()
            .map(|c| csv_field(c))
            .collect::<Vec<_>>()
            .join(",");
        out.push_str("\r\n");
        for r in rows {
            let line = (0..cols.len())
                .map(|i| {
                    r.get::<Option<String>, _>(i)
                        .map(|v| csv_field(&v))
                        .unwrap_or_default()
                })
                .collect::<Vec<_>>()
                .join(",");
            out.push_str(&line);
            out.push_str("\r\n");
        }
        Ok(Some(out))
    }
}
