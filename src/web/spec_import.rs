//! The one place where the dashboard (Spec page upload, `/api/spec`) and `shadowtap demo` import
//! an OpenAPI document.
//!
//! The dashboard holds the inventory read-only; an import opens a separate writable store for
//! the call and closes it, and the read-only pool sees the result on its next query.

use crate::store::Store;
use crate::store::spec::{ImportReport, SpecError};
use std::path::Path;

/// What an import did.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ImportOutcome {
    /// One sentence for the page.
    pub summary: String,
    /// The import report, as JSON (for the API).
    pub report: serde_json::Value,
}

/// Why an import failed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ImportError {
    /// This build cannot import specs.
    #[error(
        "spec import is not available in this build of shadowtap; the document was not imported"
    )]
    Unavailable,
    /// The document is not a usable OpenAPI/Swagger description (message shown to the user).
    #[error("the document could not be imported: {0}")]
    Invalid(String),
    /// The database could not be written.
    #[error("the inventory could not be written: {0}")]
    Store(String),
}

/// Whether this build can import specs.
pub const AVAILABLE: bool = true;

/// Imports `content` (a YAML or JSON document named `name`) into the inventory at `db`, through
/// [`crate::store::spec::import`] on a writable store opened for the call.
pub async fn import_spec(
    db: &Path,
    name: &str,
    content: &[u8],
) -> Result<ImportOutcome, ImportError> {
    let store = Store::open(db)
        .await
        .map_err(|e| ImportError::Store(e.to_string()))?;
    let result = crate::store::spec::import(&store, name, content).await;
    store.close().await;
    let report = result.map_err(|e| match e {
        SpecError::Store(e) => ImportError::Store(e.to_string()),
        other => ImportError::Invalid(other.to_string()),
    })?;
    Ok(ImportOutcome {
        summary: summary(&report),
        report: serde_json::to_value(&report).unwrap_or_default(),
    })
}

/// One sentence about an import.
pub fn summary(r: &ImportReport) -> String {
    let a = &r.assessment;
    let what = if r.title.is_empty() {
        r.format.clone()
    } else if r.version.is_empty() {
        format!("{} ({})", r.title, r.format)
    } else {
        format!("{} {} ({})", r.title, r.version, r.format)
    };
    format!(
        "{}{what}: {}. Endpoints now: {}.",
        if r.already_imported {
            "Already imported, re-assessed "
        } else {
            "Imported "
        },
        crate::counters::plural(r.operations as u64, "operation", "operations"),
        a.summary()
    )
}
