use std::time::Duration;

use gateway::{Application, Settings};
use serde_json::{json, Value};
use signup_core::{store::Store, Services};
use signup_test_support::{Backend, TestDatabase};

pub(crate) struct TestGateway {
    pub address: String,
    pub client: reqwest::Client,
    pub store: Store,
    pub services: Services,
    pub mail_dir: std::path::PathBuf,
}

/// Settings for a test gateway on `db`: a free port, cheap hashing, no rate limit, mail
/// written to files beside the database.
pub(crate) fn test_settings(db: &TestDatabase) -> Settings {
    let mut settings: Settings = signup_test_support::test_settings(db);
    settings.server.listen = "127.0.0.1:0".parse().expect("address");
    settings.server.workers = 2;
    settings.mail.poll_interval_ms = 50;
    settings.flavours.timbu.media_dir = db.dir().join("media");
    settings
}

pub(crate) async fn spawn_gateway(
    db: &TestDatabase,
    tweak: impl FnOnce(&mut Settings),
) -> TestGateway {
    let mut settings = test_settings(db);
    tweak(&mut settings);
    let mail_dir = settings.mail.dir.clone();
    let app = Application::build(settings)
        .await
        .expect("build the gateway");
    let address = format!("http://127.0.0.1:{}", app.port());
    let store = app.store().clone();
    let services = app.services().clone();
    tokio::spawn(app.run_until_stopped());
    TestGateway {
        address,
        client: reqwest::Client::new(),
        store,
        services,
        mail_dir,
    }
}

impl TestGateway {
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub(crate) async fn sign_up(&self, body: &Value) -> reqwest::Response {
        signup_test_support::post_json(&self.client, &self.address, "/conductor/auth/signup", body)
            .await
    }

    pub(crate) async fn count(&self, sql: &str) -> i64 {
        count(&self.store, sql).await
    }
}

pub(crate) async fn count(store: &Store, sql: &str) -> i64 {
    signup_test_support::count(store.pool(), sql).await
}

pub(crate) fn sign_up_body(n: usize) -> Value {
    json!({
        "username": format!("user{n}"),
        "password": "correct horse battery",
        "email": format!("user{n}@example.com"),
        "first_name": "Test",
        "last_name": format!("User {n}"),
    })
}

/// Polls `check` every 50 ms for up to `limit`.
pub(crate) async fn eventually<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

pub(crate) async fn create_db(backend: Backend) -> TestDatabase {
    TestDatabase::create(backend).await
}
