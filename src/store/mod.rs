//! Store: the inventory in one SQLite file (sqlx, WAL, migrations in `migrations/`).
//!
//! Writers merge [`EndpointDelta`]s in short transactions, so readers (the dashboard, `sqlite3`)
//! keep working while an ingest runs. Users query the `api_*` views (see README); the tables
//! behind them are free to change.

pub mod dashboard;
pub mod export;
pub mod read;
mod retemplate;
mod write;

pub use read::{EndpointRow, ListFilter};
pub use retemplate::{LearnedTemplateRow, PinRow, RetemplateReport};
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
}

/// Bounds of the store.
#[derive(Clone, Debug)]
pub struct StoreLimits {
    /// Endpoints kept in the database; new endpoints beyond are counted and dropped.
    pub max_endpoints: i64,
    /// Client rows per endpoint (all clients are still counted by a sketch).
    pub max_clients_per_endpoint: i64,
}

impl Default for StoreLimits {
    fn default() -> Self {
        StoreLimits {
            max_endpoints: 100_000,
            max_clients_per_endpoint: 1000,
        }
    }
}

/// An open inventory database.
#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
    path: PathBuf,
    limits: StoreLimits,
}

impl Store {
    /// Opens (creating it if missing) a database for writing and brings its schema up to date.
    pub async fn open(path: &Path) -> Result<Store, StoreError> {
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
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Store {
            pool,
            path: path.to_path_buf(),
            limits: StoreLimits::default(),
        })
    }

    /// Opens an existing database read-only (the dashboard): it never writes, and keeps
    /// reading while another process ingests.
    pub async fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        if !path.exists() {
            return Err(StoreError::Io {
                path: path.to_path_buf(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no such inventory (run `shadowtap ingest` first)",
                ),
            });
        }
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .read_only(true)
            .busy_timeout(Duration::from_secs(30));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(opts)
            .await?;
        Ok(Store {
            pool,
            path: path.to_path_buf(),
            limits: StoreLimits::default(),
        })
    }

    /// Sets the bounds.
    pub fn with_limits(mut self, limits: StoreLimits) -> Store {
        self.limits = limits;
        self
    }

    /// The connection pool, for queries of other modules.
    pub fn pool(&self) -> &SqlitePool {
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

/// The key for keyed hashes of credentials, kept next to the database in `<db>.key` (mode
/// 0600) and created on first use: the database itself never holds it, so a dump or an export
/// cannot be used to test guesses of a captured secret.
pub fn hash_key(db: &Path) -> Result<Vec<u8>, StoreError> {
    let mut path = db.as_os_str().to_owned();
    path.push(".key");
    let path = PathBuf::from(path);
    let io = |source| StoreError::Io {
        path: path.clone(),
        source,
    };
    if let Ok(text) = std::fs::read_to_string(&path) {
        if let Some(key) = hex_decode(text.trim()) {
            if key.len() >= 16 {
                return Ok(key);
            }
        }
    }
    let mut key = vec![0u8; 32];
    {
        use std::io::Read;
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut key))
            .map_err(io)?;
    }
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    #[cfg(unix)]
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .map_err(io)?;
        f.write_all(hex.as_bytes()).map_err(io)?;
    }
    #[cfg(not(unix))]
    std::fs::write(&path, hex).map_err(io)?;
    Ok(key)
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// ISO 8601 text of a stored ns time.
pub fn iso(ns: i64) -> String {
    crate::time::Timestamp(ns).iso8601().to_string()
}
