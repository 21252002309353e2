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
    /// Where writes run. SQLite: one connection of its own, so its page cache stays valid
    /// (SQLite drops a connection's whole cache when another connection has written; with
    /// writes spread over the pool, every write re-read each page it touched). PostgreSQL:
    /// `pool` again.
    writer: AnyPool,
    /// PostgreSQL: a small pool whose commits do not wait for the WAL flush, for writes a
    /// database crash may lose without harm (see [`Store::relaxed`]). SQLite: `pool` again.
    relaxed: AnyPool,
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

/// The connections of [`Store::relaxed`] on PostgreSQL.
const RELAXED_CONNECTIONS: u32 = 2;

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
        let open = |options: AnyPoolOptions| {
            let url = url.clone();
            async move {
                options.connect(&url).await.with_context(|| {
                    format!(
                        "could not open the {} database {}",
                        backend.name(),
                        redact_url(&settings.url)
                    )
                })
            }
        };
        let (pool, writer) = match backend {
            Backend::Sqlite => {
                // The writer first: it creates the file and turns WAL on.
                let writer = open(sqlite_options(settings, 1)).await?;
                let pool = open(sqlite_options(settings, settings.max_connections)).await?;
                (pool, writer)
            }
            Backend::Postgres => {
                let pool = open(pool_options(settings, settings.max_connections)).await?;
                (pool.clone(), pool)
            }
        };
        let relaxed = match backend {
            Backend::Sqlite => pool.clone(),
            Backend::Postgres => pool_options(settings, RELAXED_CONNECTIONS)
                .after_connect(|conn, _meta| {
                    Box::pin(async move {
                        conn.execute("SET synchronous_commit = off").await?;
                        Ok(())
                    })
                })
                .connect_lazy(&url)
                .with_context(|| format!("invalid database URL {}", redact_url(&settings.url)))?,
        };
        Ok(Self {
            pool,
            writer,
            relaxed,
            backend,
            write_lock: Arc::new(tokio::sync::Mutex::new(())),
            outbox_wake: Arc::new(tokio::sync::Notify::new()),
        })
    }

    /// This store with its writes' commits not waiting for the database to flush them
    /// (PostgreSQL's `synchronous_commit = off`, on at most two connections of their own; on
    /// SQLite, whose commits do not flush anyway, the same store). For the outbox worker: a
    /// lease or a delivery mark lost in a database crash means one more delivery attempt,
    /// which the outbox allows for anyway, and each of its passes then saves two flushes
    /// that the sign-ups' own commits would queue behind.
    pub fn relaxed(&self) -> Self {
        Self {
            pool: self.relaxed.clone(),
            writer: match self.backend {
                Backend::Sqlite => self.writer.clone(),
                Backend::Postgres => self.relaxed.clone(),
            },
            ..self.clone()
        }
    }

    /// Applies the embedded migrations of this backend.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator
            .run(&self.writer)
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

    /// Runs one writing statement and returns its rows. A single statement is atomic, so it
    /// runs as it is, without the round trips of BEGIN and COMMIT; on SQLite under the
    /// process's write lock like every write.
    pub async fn write_statement<'q>(
        &self,
        statement: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> Result<Vec<AnyRow>, sqlx::Error> {
        let _lock = match self.backend {
            Backend::Sqlite => Some(self.write_lock.lock().await),
            Backend::Postgres => None,
        };
        statement.fetch_all(&self.writer).await
    }

    /// Inserts the rows atomically in one round trip: on PostgreSQL one statement (see
    /// [`combined`]); on SQLite, whose several statements are atomic only in a transaction,
    /// `BEGIN IMMEDIATE; ...; COMMIT` as one query under the write lock (see
    /// [`Store::sqlite_transaction`]).
    pub(crate) async fn insert_all(&self, inserts: Vec<Insert>) -> Result<(), sqlx::Error> {
        if self.backend == Backend::Sqlite && inserts.len() > 1 {
            let (sql, args) = combined(Backend::Sqlite, inserts);
            self.sqlite_transaction(&sql, args).await
        } else {
            let (sql, args) = combined(self.backend, inserts);
            self.write_statement(bind_all(sqlx::query(&sql), args))
                .await?;
            Ok(())
        }
    }

    /// Runs the statements `sql` as one SQLite transaction, `BEGIN IMMEDIATE; sql; COMMIT`, in
    /// one call to the connection's thread instead of three (sqlx's `begin`, the statements,
    /// `commit`).
    /// A statement that fails stops the query inside the transaction, which is then rolled
    /// back; a connection that cannot roll back is closed, never handed to the next caller
    /// inside a transaction. The call runs in a task of its own, so a caller dropped halfway
    /// (a client gone) cannot cut the query between its `BEGIN` and its `COMMIT` either.
    async fn sqlite_transaction(&self, sql: &str, args: Vec<Arg>) -> Result<(), sqlx::Error> {
        let sql = format!("BEGIN IMMEDIATE; {sql}; COMMIT");
        let pool = self.writer.clone();
        let lock = Arc::clone(&self.write_lock);
        let task = tokio::spawn(async move {
            let _lock = lock.lock_owned().await;
            let mut conn = pool.acquire().await?;
            let result = bind_all(sqlx::query(&sql), args).execute(&mut *conn).await;
            // ROLLBACK fails too when BEGIN did (no transaction): closing is safe either way.
            if result.is_err() && conn.execute("ROLLBACK").await.is_err() {
                let _ = conn.close().await;
            }
            result.map(drop)
        });
        task.await.unwrap_or_else(|failed| {
            Err(sqlx::Error::Protocol(format!(
                "the write task failed: {failed}"
            )))
        })
    }

    /// Begins a write transaction.
    pub async fn begin_write(&self) -> Result<WriteTx, sqlx::Error> {
        let lock = match self.backend {
            Backend::Sqlite => Some(Arc::clone(&self.write_lock).lock_owned().await),
            Backend::Postgres => None,
        };
        let tx = self.writer.begin().await?;
        Ok(WriteTx { tx, _lock: lock })
    }

    /// The signal an outbox worker of this process waits on.
    pub fn outbox_signal(&self) -> Arc<tokio::sync::Notify> {
        Arc::clone(&self.outbox_wake)
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The pool writes run on: on SQLite one connection of its own, on PostgreSQL [`Self::pool`].
    pub fn writer(&self) -> &AnyPool {
        &self.writer
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn close(&self) {
        self.pool.close().await;
        self.writer.close().await;
        self.relaxed.close().await;
    }
}

/// The pool settings both of a store's pools share.
fn pool_options(settings: &DatabaseSettings, max_connections: u32) -> AnyPoolOptions {
    AnyPoolOptions::new()
        // A broken connection fails its query and is replaced; pinging on every acquire
        // would add a round trip to each query.
        .test_before_acquire(false)
        .max_connections(max_connections.max(1))
        .acquire_timeout(Duration::from_secs(settings.acquire_timeout_secs.max(1)))
}

/// [`pool_options`] with the pragmas every SQLite connection runs first.
fn sqlite_options(settings: &DatabaseSettings, max_connections: u32) -> AnyPoolOptions {
    pool_options(settings, max_connections)
        .min_connections(1)
        .after_connect(|conn, _meta| {
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
        })
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

/// One row to insert: SQL with `$1`, `$2`, ... placeholders and its arguments. A sign-up's
/// rows run together ([`Store::insert_all`]); on PostgreSQL as one statement.
#[derive(Debug)]
pub(crate) struct Insert {
    sql: &'static str,
    args: Vec<Arg>,
}

/// An argument of an [`Insert`].
#[derive(Debug)]
pub(crate) enum Arg {
    Text(String),
    MaybeText(Option<String>),
    Int(i64),
    MaybeInt(Option<i64>),
}

impl Insert {
    pub(crate) fn new(sql: &'static str, args: Vec<Arg>) -> Self {
        Self { sql, args }
    }

    /// Runs this insert on its own (inside the caller's transaction).
    pub(crate) async fn execute(self, conn: &mut sqlx::AnyConnection) -> Result<(), sqlx::Error> {
        insert_in(conn, vec![self]).await
    }
}

/// Inserts the rows on `conn` (inside the caller's transaction) in one call: on PostgreSQL
/// one statement, on SQLite the statements one after the other in one query.
pub(crate) async fn insert_in(
    conn: &mut sqlx::AnyConnection,
    inserts: Vec<Insert>,
) -> Result<(), sqlx::Error> {
    if inserts.is_empty() {
        return Ok(());
    }
    let backend = match conn.backend_name() {
        "PostgreSQL" => Backend::Postgres,
        _ => Backend::Sqlite,
    };
    let (sql, args) = combined(backend, inserts);
    bind_all(sqlx::query(&sql), args).execute(conn).await?;
    Ok(())
}

fn bind_all<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    args: Vec<Arg>,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for arg in args {
        query = match arg {
            Arg::Text(v) => query.bind(v),
            Arg::MaybeText(v) => query.bind(v),
            Arg::Int(v) => query.bind(v),
            Arg::MaybeInt(v) => query.bind(v),
        };
    }
    query
}

/// The inserts as one query, each insert's placeholders moved past the arguments of those
/// before it (SQLite's `$n`, like PostgreSQL's, numbers the whole query's arguments). On
/// PostgreSQL one statement, `WITH w0 AS (first), w1 AS (second) last`: every
/// data-modifying part of a `WITH` runs once, whether or not it is read, and the statement
/// is atomic. SQLite has no data-modifying `WITH`: `first; second; last`.
fn combined(backend: Backend, inserts: Vec<Insert>) -> (String, Vec<Arg>) {
    let last = inserts.len().saturating_sub(1);
    let mut sql = String::new();
    let mut args = Vec::new();
    for (index, insert) in inserts.into_iter().enumerate() {
        let offset = args.len();
        let part = renumbered(insert.sql, offset);
        match (backend, index) {
            (_, 0) if last == 0 => sql.push_str(&part),
            (Backend::Sqlite, 0) => sql.push_str(&part),
            (Backend::Sqlite, _) => sql.push_str(&format!("; {part}")),
            (Backend::Postgres, 0) => sql.push_str(&format!("WITH w0 AS ({part})")),
            (Backend::Postgres, i) if i == last => sql.push_str(&format!(" {part}")),
            (Backend::Postgres, i) => sql.push_str(&format!(", w{i} AS ({part})")),
        }
        args.extend(insert.args);
    }
    (sql, args)
}

/// `sql` with every `$n` placeholder turned into `$(n + offset)`.
fn renumbered(sql: &str, offset: usize) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c != '$' {
            continue;
        }
        let mut digits = String::new();
        while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
            digits.push(*d);
            chars.next();
        }
        match digits.parse::<usize>() {
            Ok(n) => out.push_str(&(n + offset).to_string()),
            Err(_) => out.push_str(&digits),
        }
    }
    out
}

/// `From<sqlx::Error>` for a core error with `Overloaded { retry_after_secs }` and
/// `Unavailable(anyhow::Error)`: every connection busy is saturation, answered like a full
/// hashing pool (retry later), not a broken store.
macro_rules! store_errors_as_overload {
    ($error:ty) => {
        impl From<sqlx::Error> for $error {
            fn from(e: sqlx::Error) -> Self {
                match e {
                    sqlx::Error::PoolTimedOut => Self::Overloaded {
                        retry_after_secs: $crate::hashing::RETRY_AFTER_SECS,
                    },
                    other => Self::Unavailable(other.into()),
                }
            }
        }
    };
}
pub(crate) use store_errors_as_overload;

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
    fn inserts_combine_into_one_statement_with_their_placeholders_moved() {
        let insert = |sql, n: i64| Insert::new(sql, (0..n).map(Arg::Int).collect());
        let three = || {
            vec![
                insert("INSERT INTO a (x, y) VALUES ($1, $2)", 2),
                insert("INSERT INTO b (x) VALUES ($1)", 1),
                insert("INSERT INTO c (x, y, z) VALUES ($1, $2, $3)", 3),
            ]
        };
        let (sql, args) = combined(Backend::Postgres, three());
        assert_eq!(
            sql,
            "WITH w0 AS (INSERT INTO a (x, y) VALUES ($1, $2)), \
             w1 AS (INSERT INTO b (x) VALUES ($3)) \
             INSERT INTO c (x, y, z) VALUES ($4, $5, $6)"
        );
        assert_eq!(args.len(), 6);
        let (sql, args) = combined(Backend::Sqlite, three());
        assert_eq!(
            sql,
            "INSERT INTO a (x, y) VALUES ($1, $2); \
             INSERT INTO b (x) VALUES ($3); \
             INSERT INTO c (x, y, z) VALUES ($4, $5, $6)"
        );
        assert_eq!(args.len(), 6);
        for backend in [Backend::Postgres, Backend::Sqlite] {
            let (alone, _) = combined(backend, vec![insert("INSERT INTO a (x) VALUES ($1)", 1)]);
            assert_eq!(alone, "INSERT INTO a (x) VALUES ($1)");
        }
        assert_eq!(
            renumbered("VALUES ($9, $10, $5)", 3),
            "VALUES ($12, $13, $8)"
        );
    }

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
