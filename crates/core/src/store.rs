//! The store: one SQL schema on SQLite (embedded default) or PostgreSQL (many instances),
//! chosen by the URL. Queries are written once in portable SQL through sqlx's `Any` driver.

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use sqlx::{
    any::{AnyPoolOptions, AnyRow},
    migrate::Migrator,
    AnyPool, Executor,
};

pub use crate::config::redact_url;
use crate::config::DatabaseSettings;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/postgres");

/// Which database the store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> anyhow::Result<Self> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            anyhow::bail!(
                "database.url must start with sqlite:// or postgres:// (got {:?})",
                redact_url(url)
            )
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// A connection pool plus what the backend needs to write safely.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite has one writer: writers of this process queue here instead of spinning on
    /// `SQLITE_BUSY`. Other processes on the same file are covered by `busy_timeout`.
    write_lock: Arc<tokio::sync::Mutex<()>>,
    /// Rung after a commit that queued outbox rows, so the worker need not wait for its poll.
    outbox_wake: Arc<tokio::sync::Notify>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish()
    }
}

/// A write transaction; on SQLite it also holds the process's write lock.
pub struct WriteTx {
    pub tx: sqlx::Transaction<'static, sqlx::Any>,
    _lock: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl std::fmt::Debug for WriteTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteTx").finish_non_exhaustive()
    }
}

impl WriteTx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }
}

impl Store {
    /// Opens the pool (creating an SQLite file and its folder if missing).
    pub async fn connect(settings: &DatabaseSettings) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(&settings.url)?;
        let url = match backend {
            Backend::Sqlite => prepare_sqlite_url(&settings.url)?,
            Backend::Postgres => settings.url.clone(),
        };
        let mut options = AnyPoolOptions::new()
            // A broken connection fails its query and is replaced; pinging on every acquire
            // would add a round trip to each query.
            .test_before_acquire(false)
            .max_connections(settings.max_connections.max(1))
            .acquire_timeout(Duration::from_secs(settings.acquire_timeout_secs.max(1)));
        if backend == Backend::Sqlite {
            options = options.min_connections(1).after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA synchronous = NORMAL").await?;
                    conn.execute("PRAGMA busy_timeout = 5000").await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    // Overwrite deleted and updated content, so a wiped mail body is gone
                    // from the file, not only from the table.
                    conn.execute("PRAGMA secure_delete = ON").await?;
                    Ok(())
                })
            });
        }
        let pool = options.connect(&url).await.with_context(|| {
            format!(
                "could not open the {} database {}",
                backend.name(),
                redact_url(&settings.url)
            )
        })?;
        Ok(Self {
            pool,
            backend,
            write_lock: Arc::new(tokio::sync::Mutex::new(())),
            outbox_wake: Arc::new(tokio::sync::Notify::new()),
        })
    }

    /// Applies the embedded migrations of this backend.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator
            .run(&self.pool)
            .await
            .context("could not apply the database migrations")
    }

    /// Whether every embedded migration has been applied.
    pub async fn migrations_applied(&self) -> anyhow::Result<bool> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        let expected = migrator
            .iter()
            .filter(|m| m.migration_type.is_up_migration())
            .count();
        let applied: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success = TRUE")
                .fetch_one(&self.pool)
                .await
                .context("could not read the migration table")?;
        Ok(usize::try_from(applied).unwrap_or(0) >= expected)
    }

    /// Round-trips a trivial query.
    pub async fn ping(&self) -> anyhow::Result<()> {
        let _: AnyRow = sqlx::query("SELECT 1").fetch_one(&self.pool).await?;
        Ok(())
    }

    /// Begins a write transaction.
    pub async fn begin_write(&self) -> Result<WriteTx, sqlx::Error> {
        let lock = match self.backend {
            Backend::Sqlite => Some(Arc::clone(&self.write_lock).lock_owned().await),
            Backend::Postgres => None,
        };
        let tx = self.pool.begin().await?;
        Ok(WriteTx { tx, _lock: lock })
    }

    /// The signal an outbox worker of this process waits on.
    pub fn outbox_signal(&self) -> Arc<tokio::sync::Notify> {
        Arc::clone(&self.outbox_wake)
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// `sqlite://data/signup.db` -> the same with `mode=rwc`, after creating `data/`.
fn prepare_sqlite_url(url: &str) -> anyhow::Result<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path != ":memory:" && !path.is_empty() {
        if let Some(parent) = std::path::Path::new(path).parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("could not create the folder {}", parent.display()))?;
            }
        }
    }
    let has_mode = query.split('&').any(|pair| pair.starts_with("mode="));
    Ok(match (query.is_empty(), has_mode) {
        (_, true) => url.to_string(),
        (true, false) => format!("{url}?mode=rwc"),
        (false, false) => format!("{url}&mode=rwc"),
    })
}

/// Unix milliseconds now.
pub fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Whether an sqlx error is a unique-index violation.
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .is_some_and(|db| db.is_unique_violation())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_gain_create_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/signup.db");
        let url = format!("sqlite://{}", path.display());
        assert_eq!(prepare_sqlite_url(&url).unwrap(), format!("{url}?mode=rwc"));
        assert!(path.parent().unwrap().is_dir());
        assert_eq!(
            prepare_sqlite_url("sqlite://x.db?mode=ro").unwrap(),
            "sqlite://x.db?mode=ro"
        );
    }

    #[test]
    fn passwords_in_urls_are_redacted() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/signup"),
            "postgres://app:redacted@db:5432/signup"
        );
        assert_eq!(
            redact_url("sqlite://data/signup.db"),
            "sqlite://data/signup.db"
        );
    }
}
