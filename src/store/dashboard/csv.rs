//! CSV downloads of the dashboard: one public view (`api_*`) at a time, formatted as
//! `export --format csv` writes it.

use super::Dashboard;
use crate::store::StoreError;
use crate::store::export::{view_as_text_sql, write_csv};

impl Dashboard {
    /// One public view (`api_*`) as CSV, formatted as `export --format csv` writes it.
    pub async fn dashboard_view_csv(&self, view: &str) -> Result<Option<String>, StoreError> {
        let Some(view) = super::super::export::PUBLIC_VIEWS
            .iter()
            .find(|v| **v == view)
        else {
            return Ok(None);
        };
        let cols: Vec<String> = if self.db.is_pg() {
            self.db
                .query(
                    "SELECT attname::text FROM pg_attribute
                     WHERE attrelid = to_regclass(?1) AND attnum > 0 AND NOT attisdropped
                     ORDER BY attnum",
                )
                .bind(*view)
                .fetch_all_scalar()
                .await?
        } else {
            self.db
                .query("SELECT name FROM pragma_table_info(?1)")
                .bind(*view)
                .fetch_all_scalar()
                .await?
        };
        let rows = self
            .db
            .query(view_as_text_sql(view, &cols, false))
            .fetch_all()
            .await?;
        let mut out = Vec::new();
        write_csv(
            view,
            &cols,
            rows.iter().map(|r| {
                (0..cols.len())
                    .map(|i| r.get::<Option<String>, _>(i))
                    .collect()
            }),
            &mut out,
        )?;
        String::from_utf8(out)
            .map(Some)
            .map_err(|e| StoreError::Corrupt(format!("{view}: {e}")))
    }
}
