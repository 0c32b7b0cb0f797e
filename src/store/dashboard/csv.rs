//! CSV downloads of the dashboard: one public view (`api_*`) at a time, formatted as
//! `export --format csv` writes it.

use crate::store::{Store, StoreError};

impl Store {
    /// One public view (`api_*`) as CSV, formatted as `export --format csv` writes it.
    pub async fn dashboard_view_csv(&self, view: &str) -> Result<Option<String>, StoreError> {
        let Some(view) = super::super::export::PUBLIC_VIEWS
            .iter()
            .find(|v| **v == view)
        else {
            return Ok(None);
        };
        let mut out = Vec::new();
        self.write_view_csv(view, &mut out).await?;
        String::from_utf8(out)
            .map(Some)
            .map_err(|e| StoreError::Corrupt(format!("{view}: {e}")))
    }
}
