//! Store: the inventory in one SQLite file (sqlx, WAL, migrations in `migrations/`).
//!
//! Writers merge [`EndpointDelta`]s in short transactions, so readers (the dashboard, `sqlite3`)
//! keep working while an ingest runs. Users query the `api_*` views (see README); the tables
//! behind them are free to change.
//!
//! What it owns: every SQL statement of the program. Other modules call `Store` methods and get
//! typed rows back ([`read`] for the CLI listings, [`dashboard`] for the pages and the JSON
//! API, [`changes`] for the alerts, [`flows`] for call sequences, [`export`], [`retention`],
//! [`spec`] for the assessment against API descriptions); the pool stays private, so a second
//! backend implements these methods and nothing else. What it may not touch: capture, HTTP
//! or the analyses' state — it stores what `analyze` hands it ([`EndpointDelta`]).

mod changes;
pub mod code;
pub mod dashboard;
pub mod db;
pub mod delta;
pub mod export;
mod flows;
mod key;
pub mod marker;
pub mod outbox;
pub mod pg;
pub mod progress;
pub mod read;
pub(crate) mod retemplate;
pub mod retention;
pub mod scope;
pub mod spec;
pub mod tls;
pub mod triage;
pub mod websocket;
mod write;

pub use changes::NewEndpointRow;
pub use flows::{FlowFindingRow, HostFlows, PathRow, TransitionRow};
pub use key::{key_path, read_key_file};
pub use read::{
    ClassifiedEndpoint, DriftListing, EndpointRow, FindingListing, InventoryCounts, ListFilter,
    SpecDiff, UncoveredHost,
};
pub use retemplate::{LearnedTemplateRow, PinRow, RetemplateReport};
pub use triage::{TriageError, TriageEvent, TriageState};
pub(crate) use write::{
    AssessedFinding, finding_severity, hist_bytes, hist_from, merged_body_shape, quantile_ms,
    query_param_rows, upsert_assessed,
};
pub use write::{CaptureRecord, FlushReport, finding_key};

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Errors of the store. Database errors carry sqlx's message for logs; commands show them as
/// they are, the dashboard shows a generic message.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened or queried.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// A migration failed.
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The key file or an export file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Stored data that cannot be read back (a corrupt blob).
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
    /// A file refused as it is (another application's database, an unsafe or corrupt key
    /// file); the reason says what to do.
    #[error("{}: {reason}", path.display())]
    Refused {
        /// The file.
        path: PathBuf,
        /// Why, and what to do.
        reason: String,
    },
}

/// Bounds of the store.
#[derive(Clone, Debug)]
pub struct StoreLimits {
    /// Endpoints kept in the database; new endpoints beyond are counted and dropped.
    pub max_endpoints: i64,
    /// Client rows per endpoint (all clients are still counted by a sketch).
    pub max_clients_per_endpoint: i64,
    /// Transition rows kept; beyond, the least used (fewest calls, then oldest) go.
    pub max_transitions: i64,
    /// Three-call path rows kept; beyond, the least used go.
    pub max_sequence_paths: i64,
    /// Encrypted services (`tls_services`) kept; new ones beyond are counted and dropped.
    pub max_tls_services: i64,
    /// Bytes the fleet's outbox may hold while the centre is unreachable; past them its oldest
    /// deltas are folded together ([`Store::outbox_compact`]).
    pub spool_bytes: u64,
}

impl Default for StoreLimits {
    fn default() -> Self {
        StoreLimits {
            max_endpoints: 100_000,
            max_clients_per_endpoint: 1000,
            max_transitions: 200_000,
            max_sequence_paths: 200_000,
            max_tls_services: 20_000,
            spool_bytes: 256 << 20,
        }
    }
}

/// An open inventory database.
#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
    path: PathBuf,
    limits: StoreLimits,
    /// New rows (endpoints, transitions, paths) are admitted; cleared while the database is
    /// over its size budget (existing rows still update). Shared by clones.
    admit: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// The size budget in bytes of pages in use (0: none), set by the sensor daemon. Shared
    /// by clones.
    budget: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// With `--central`: the fingerprint of the hash key, and every merge also writes its
    /// delta into `outbox` (see [`outbox`]). Shared by clones.
    outbox: std::sync::Arc<std::sync::RwLock<Option<String>>>,
    /// The sensor's health as its owner last reported it ([`Store::set_health`]), carried by
    /// each delta, and whether it changed since the last delta written. Shared by clones.
    health: std::sync::Arc<std::sync::Mutex<(delta::Health, bool)>>,
}

impl Store {
    /// Opens (creating it if missing) a database for writing and brings its schema up to date.
    pub async fn open(path: &Path) -> Result<Store, StoreError> {
        // Another application's database is refused before anything is written to it.
        let kind = marker::check(path).await?;
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts)
            .await
            .map_err(|e| open_error(path, &e))?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|e| match e {
                sqlx::migrate::MigrateError::Execute(e) => open_error(path, &e),
                e => StoreError::Migrate(e),
            })?;
        if kind != marker::Kind::Marked {
            marker::mark(&pool).await?;
        }
        Ok(Store {
            pool,
            path: path.to_path_buf(),
            limits: StoreLimits::default(),
            admit: std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true)),
            budget: std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0)),
            outbox: std::sync::Arc::default(),
            health: std::sync::Arc::default(),
        })
    }

    /// Gathers the statistics SQLite's query planner reads (`ANALYZE`: `sqlite_stat1`,
    /// `sqlite_stat4`). Without them (or with none for an index a migration added) the
    /// planner takes `scope = 'api'`, true of nearly every endpoint, for a selective filter,
    /// walks that index and sorts every endpoint where the index of the sort key reads one
    /// page of rows (at 100,000 endpoints: 120-220 ms instead of under 1 ms). It reads every
    /// table once (about 2 s for 100,000 endpoints with 3,000,000 minutes of series), so it
    /// runs after an ingest and at most hourly in the daemon.
    pub async fn optimize(&self) -> Result<(), StoreError> {
        sqlx::query("ANALYZE").execute(&self.pool).await?;
        Ok(())
    }

    /// Opens an existing database read-only (the dashboard): it never writes, and keeps
    /// reading while another process ingests.
    pub async fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        match std::fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::Refused {
                    path: path.to_path_buf(),
                    reason: format!(
                        "no such inventory; make one with `shadowtap ingest --db {} CAPTURE.pcap`, or give --db an existing inventory",
                        path.display()
                    ),
                });
            }
            Ok(m) if m.is_dir() => {
                return Err(StoreError::Refused {
                    path: path.to_path_buf(),
                    reason: "is a directory; give --db the inventory file".into(),
                });
            }
            _ => {}
        }
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .read_only(true)
            .busy_timeout(Duration::from_secs(30));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(opts)
            .await
            .map_err(|e| open_error(path, &e))?;
        marker::check_read_only(path, &pool).await?;
        Ok(Store {
            pool,
            path: path.to_path_buf(),
            limits: StoreLimits::default(),
            admit: std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true)),
            budget: std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0)),
            outbox: std::sync::Arc::default(),
            health: std::sync::Arc::default(),
        })
    }

    /// Admits new rows or not (see the size budget in `sensor::retention`): when not, merges
    /// still update what exists and count what they could not add.
    pub fn set_admit_new(&self, yes: bool) {
        self.admit.store(yes, std::sync::atomic::Ordering::Relaxed);
    }

    /// Sets the size budget (bytes of pages in use, 0: none): merges add new rows only while
    /// the database fits in 90% of it.
    pub fn set_budget_bytes(&self, bytes: u64) {
        self.budget
            .store(bytes, std::sync::atomic::Ordering::Relaxed);
    }

    /// The size budget (0: none).
    pub fn budget_bytes(&self) -> u64 {
        self.budget.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether new rows are admitted.
    pub fn admits_new(&self) -> bool {
        self.admit.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Sets the bounds.
    pub fn with_limits(mut self, limits: StoreLimits) -> Store {
        self.limits = limits;
        self
    }

    /// The connection pool: the store's own (every query lives in this module, so that a
    /// second backend slots in behind the same methods).
    pub(in crate::store) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Closes the pool (checkpointing the WAL).
    pub async fn close(self) {
        self.pool.close().await;
    }
}

/// A database that could not be opened, named with what to do: SQLite's own words ("(code:
/// 14) unable to open database file") say neither which file nor why.
fn open_error(path: &Path, e: &sqlx::Error) -> StoreError {
    let sqlite = match e {
        sqlx::Error::Database(d) => d.message().to_string(),
        e => e.to_string(),
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let reason = if path.is_dir() {
        "is a directory; give --db the inventory file".to_string()
    } else if !dir.is_dir() {
        format!(
            "cannot create the inventory: directory {} does not exist; create it, or give --db a file in an existing directory",
            dir.display()
        )
    } else {
        format!(
            "cannot open the inventory ({sqlite}); check that the file and its directory are writable by you (the write-ahead log -wal and -shm files sit beside it)"
        )
    };
    StoreError::Refused {
        path: path.to_path_buf(),
        reason,
    }
}

/// The key for keyed hashes of credentials, kept next to the database in `<db>.key` (mode
/// 0600) and created on first use: the database itself never holds it, so a dump or an export
/// cannot be used to test guesses of a captured secret. A key file that is a symbolic link, is
/// not owned by the user running shadowtap, is open to group or others, or does not hold a key
/// is refused (see [`key`]), never replaced.
pub fn hash_key(db: &Path) -> Result<Vec<u8>, StoreError> {
    key::load_or_create(db)
}

/// ISO 8601 text of a stored ns time.
pub fn iso(ns: i64) -> String {
    crate::time::Timestamp(ns).iso8601().to_string()
}
