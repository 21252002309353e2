//! Test plumbing: every test runs against a fresh database on SQLite, and on PostgreSQL when
//! `TEST_POSTGRES_URL` names a server (the database is created for the test and dropped after).
//! With `SIGNUP_REQUIRE_POSTGRES=1` a PostgreSQL test without that URL fails instead of
//! passing quietly, which is how CI proves the PostgreSQL tests ran.
//!
//! ```
//! async fn creates_a_database(backend: signup_test_support::Backend) {
//!     let db = signup_test_support::TestDatabase::create(backend).await;
//!     assert!(db.url().starts_with("sqlite://") || db.url().starts_with("postgres"));
//! }
//! signup_test_support::on_each_backend!(creates_a_database);
//! ```

use sqlx::{Connection, Executor};

pub use app::{spawn_app, spawn_app_on, test_settings, MountFn, TestApp};

/// The database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Environment variable naming a PostgreSQL server whose user may create databases.
pub const POSTGRES_URL_VAR: &str = "TEST_POSTGRES_URL";
/// Set to 1 to turn a missing `TEST_POSTGRES_URL` into a failure.
pub const REQUIRE_POSTGRES_VAR: &str = "SIGNUP_REQUIRE_POSTGRES";

impl Backend {
    /// Whether tests on this backend can run here; panics when PostgreSQL is required and absent.
    pub fn available(self) -> bool {
        match self {
            Self::Sqlite => true,
            Self::Postgres => {
                let configured = std::env::var(POSTGRES_URL_VAR).is_ok_and(|v| !v.is_empty());
                let required = std::env::var(REQUIRE_POSTGRES_VAR).is_ok_and(|v| v == "1");
                assert!(
                    configured || !required,
                    "{REQUIRE_POSTGRES_VAR}=1 but {POSTGRES_URL_VAR} is not set"
                );
                configured
            }
        }
    }
}

/// Environment variable naming the Redis server of the shared rate-limit tests.
pub const REDIS_URL_VAR: &str = "TEST_REDIS_URL";
/// Set to 1 to turn a missing `TEST_REDIS_URL` into a failure.
pub const REQUIRE_REDIS_VAR: &str = "SIGNUP_REQUIRE_REDIS";

/// The Redis URL tests may use, or `None` (then they skip); panics when Redis is required
/// and not configured.
pub fn redis_url() -> Option<String> {
    let url = std::env::var(REDIS_URL_VAR).ok().filter(|v| !v.is_empty());
    let required = std::env::var(REQUIRE_REDIS_VAR).is_ok_and(|v| v == "1");
    assert!(
        url.is_some() || !required,
        "{REQUIRE_REDIS_VAR}=1 but {REDIS_URL_VAR} is not set"
    );
    url
}

/// A database that exists for one test.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    backend: Backend,
    /// Holds the SQLite file (and anything else the test puts beside it).
    dir: tempfile::TempDir,
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    /// Creates an empty database on `backend`.
    pub async fn create(backend: Backend) -> Self {
        let dir = tempfile::tempdir().expect("temporary folder");
        match backend {
            Backend::Sqlite => Self {
                url: format!("sqlite://{}", dir.path().join("signup.db").display()),
                backend,
                dir,
                postgres: None,
            },
            Backend::Postgres => {
                let admin_url = std::env::var(POSTGRES_URL_VAR).expect("TEST_POSTGRES_URL");
                let name = format!("signup_test_{}", uuid::Uuid::new_v4().simple());
                let mut admin = sqlx::PgConnection::connect(&admin_url)
                    .await
                    .expect("connect to TEST_POSTGRES_URL");
                admin
                    .execute(format!("CREATE DATABASE \"{name}\"").as_str())
                    .await
                    .expect("create the test database");
                admin.close().await.ok();
                let mut url = url::Url::parse(&admin_url).expect("TEST_POSTGRES_URL is a URL");
                url.set_path(&name);
                Self {
                    url: url.to_string(),
                    backend,
                    dir,
                    postgres: Some((admin_url, name)),
                }
            }
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The same database under a second handle with a folder of its own (for a second
    /// instance's mail); the original still drops the database, so it must live longer.
    pub fn share(&self) -> Self {
        Self {
            url: self.url.clone(),
            backend: self.backend,
            dir: tempfile::tempdir().expect("temporary folder"),
            postgres: None,
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A folder that lives as long as the database (mail, config files).
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.postgres.take() else {
            return;
        };
        // Drop may run inside a runtime; a thread of its own can block on one of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut admin = sqlx::PgConnection::connect(&admin_url).await.ok()?;
                admin
                    .execute(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)").as_str())
                    .await
                    .ok()?;
                admin.close().await.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("warning: could not drop a PostgreSQL test database");
        }
    }
}

/// Turns `async fn name(backend: Backend)` functions into two tests each,
/// `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! on_each_backend {
    ($($test:ident),+ $(,)?) => {
        $(
            mod $test {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$test($crate::Backend::Sqlite).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if $crate::Backend::Postgres.available() {
                        super::$test($crate::Backend::Postgres).await;
                    } else {
                        eprintln!("skipped: TEST_POSTGRES_URL is not set");
                    }
                }
            }
        )+
    };
}

/// `SELECT COUNT(*) ...` on a store's pool.
pub async fn count(pool: &sqlx::AnyPool, sql: &str) -> i64 {
    use sqlx::Row;
    sqlx::query(sql)
        .fetch_one(pool)
        .await
        .expect("count query")
        .try_get::<i64, _>(0)
        .expect("a count")
}

/// Asserts that a race of sign-ups for one name ended in exactly one 201, every other
/// request in 409.
pub fn assert_one_created_others_conflict(statuses: &[u16]) {
    let created = statuses.iter().filter(|s| **s == 201).count();
    let conflicts = statuses.iter().filter(|s| **s == 409).count();
    assert_eq!(created, 1, "exactly one 201: {statuses:?}");
    assert_eq!(
        conflicts,
        statuses.len() - 1,
        "every other answer 409: {statuses:?}"
    );
}

/// POSTs JSON to a running test server.
pub async fn post_json(
    client: &reqwest::Client,
    address: &str,
    path: &str,
    body: &serde_json::Value,
) -> reqwest::Response {
    client
        .post(format!("{address}{path}"))
        .json(body)
        .send()
        .await
        .expect("request")
}

mod app;
pub mod smtp;
mod tcp;
pub mod tls;
pub mod webhook;
