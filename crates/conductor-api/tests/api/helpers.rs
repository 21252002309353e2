use std::net::TcpListener;

use actix_web::{App, HttpServer};
use serde_json::Value;
use signup_core::{
    config::{HashingSettings, MailSettings, RateLimitSettings, ServerSettings},
    store::Store,
    Metrics, Services,
};
use signup_test_support::{Backend, TestDatabase};
use tracing_actix_web::TracingLogger;

/// What a test may change before the app starts.
pub struct TestConfig {
    pub hashing: HashingSettings,
    pub rate_limit: RateLimitSettings,
    pub server: ServerSettings,
    pub conductor: conductor_api::Settings,
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub store: Store,
    pub services: Services,
    pub db: TestDatabase,
}

/// Cheap argon2 parameters, so tests spend their time on behaviour.
pub fn fast_hashing() -> HashingSettings {
    HashingSettings {
        memory_kib: 256,
        iterations: 1,
        parallelism: 1,
        workers: 2,
        queue: 64,
    }
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_app_with(backend: Backend, tweak: impl FnOnce(&mut TestConfig)) -> TestApp {
    let mut config = TestConfig {
        hashing: fast_hashing(),
        rate_limit: RateLimitSettings {
            per_ip_per_minute: 0,
            burst: 0,
        },
        server: ServerSettings::default(),
        conductor: conductor_api::Settings::default(),
    };
    tweak(&mut config);
    let db = TestDatabase::create(backend).await;
    let store = Store::connect(&signup_core::config::DatabaseSettings {
        url: db.url().to_string(),
        ..Default::default()
    })
    .await
    .expect("open the test store");
    store.migrate().await.expect("migrate the test store");
    let services = Services::new(
        store.clone(),
        &config.server,
        &config.hashing,
        &config.rate_limit,
        &MailSettings::default(),
        Metrics::new(),
    )
    .expect("services");
    let state =
        conductor_api::ConductorState::new(services.clone(), &config.conductor).expect("state");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let port = listener.local_addr().expect("local address").port();
    let server = HttpServer::new(move || {
        App::new()
            .wrap(TracingLogger::default())
            .service(conductor_api::service(state.clone()))
    })
    .workers(2)
    .listen(listener)
    .expect("listen")
    .run();
    tokio::spawn(server);
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        client: reqwest::Client::new(),
        store,
        services,
        db,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn sign_up(&self, body: &Value) -> reqwest::Response {
        signup_test_support::post_json(&self.client, &self.address, "/conductor/auth/signup", body)
            .await
    }

    pub async fn post_raw(
        &self,
        body: impl Into<reqwest::Body>,
        content_type: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .post(self.url("/conductor/auth/signup"))
            .body(body);
        if let Some(content_type) = content_type {
            request = request.header("Content-Type", content_type);
        }
        request.send().await.expect("request")
    }

    pub async fn count(&self, sql: &str) -> i64 {
        signup_test_support::count(self.store.pool(), sql).await
    }
}

/// A valid sign-up body; tests change what they need.
pub fn valid_body() -> Value {
    serde_json::json!({
        "username": "ada",
        "password": "correct horse battery",
        "email": "ada@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
    })
}

/// Checks the envelope's fixed parts and returns it without its timestamp.
pub async fn envelope(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status().as_u16(), status);
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    let mut body: Value = response.json().await.expect("JSON body");
    let timestamp = body
        .as_object_mut()
        .and_then(|o| o.remove("timestamp"))
        .and_then(|t| t.as_str().map(str::to_string))
        .expect("a timestamp");
    assert!(
        chrono::DateTime::parse_from_rfc3339(&timestamp).is_ok() && timestamp.ends_with('Z'),
        "timestamp {timestamp:?} is RFC 3339 UTC"
    );
    body
}
