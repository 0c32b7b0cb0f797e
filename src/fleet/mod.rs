//! The fleet (issue 18, docs/fleet.md): sensors ship their flushes' deltas to a central
//! inventory on PostgreSQL, which applies them with the store's merge semantics.
//!
//! - [`wire`]: a delta's serialised form (versioned, bounded, never panics on bad bytes); it
//!   lives in the store (`store::delta`), whose merge writes it into the outbox.
//! - [`ship`]: the sensor's side, outbox rows into the centre's `deltas` table.
//! - [`central`]: the centre's side, deltas applied in order, one transaction each.
//! - `retemplate`: the centre's re-templating across sensors (one endpoint of what several
//!   sensors learned apart).

pub mod central;
mod retemplate;
pub mod ship;
pub use crate::store::delta as wire;

/// Errors of the fleet's two sides.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// The central database could not be reached or queried.
    #[error("central database: {0}")]
    Db(#[from] sqlx::Error),
    /// The central schema could not be brought up to date.
    #[error("central database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The local store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The centre's assessment failed.
    #[error("central assessment: {0}")]
    Assess(#[from] crate::store::spec::SpecError),
}
