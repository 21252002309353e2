use std::{net::TcpListener, path::PathBuf, time::Duration};

use actix_web::{App, HttpServer};
use signup_core::{
    config::{HashingSettings, MailSettings, MailTransport, RateLimitSettings, ServerSettings},
    outbox::{Mailer, OutboxWorker},
    store::Store,
    Metrics, Services,
};
use signup_test_support::{Backend, TestDatabase};

pub struct TestConfig {
    pub infera: infera_api::Settings,
    pub database: signup_core::config::DatabaseSettings,
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub store: Store,
    pub mail_dir: PathBuf,
    /// Kept alive for the test: dropping it removes the database.
    pub _db: TestDatabase,
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_app_with(backend: Backend, tweak: impl FnOnce(&mut TestConfig)) -> TestApp {
    let db = TestDatabase::create(backend).await;
    let mut config = TestConfig {
        infera: infera_api::Settings::default(),
        database: signup_core::config::DatabaseSettings {
            url: db.url().to_string(),
            ..Default::default()
        },
    };
    tweak(&mut config);
    let store = Store::connect(&config.database)
        .await
        .expect("open the test store");
    store.migrate().await.expect("migrate");
    let mail = MailSettings {
        transport: MailTransport::File,
        dir: db.dir().join("mail"),
        poll_interval_ms: 20,
        ..MailSettings::default()
    };
    let metrics = Metrics::new();
    let server_settings = ServerSettings {
        public_url: "http://signup.test.example".into(),
        ..ServerSettings::default()
    };
    let services = Services::new(
        store.clone(),
        &server_settings,
        &HashingSettings {
            memory_kib: 256,
            iterations: 1,
            workers: 1,
            ..HashingSettings::default()
        },
        &RateLimitSettings {
            per_ip_per_minute: 0,
            burst: 0,
        },
        &mail,
        metrics.clone(),
    )
    .expect("services");
    let worker = OutboxWorker::new(
        store.clone(),
        Mailer::from_settings(&mail).expect("mailer"),
        metrics,
        &mail,
    );
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        worker.run(stop_rx).await;
        drop(stop);
    });
    let state = infera_api::InferaState::new(services, &config.infera).expect("state");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    let server = HttpServer::new(move || App::new().service(infera_api::service(state.clone())))
        .workers(2)
        .listen(listener)
        .expect("listen")
        .run();
    tokio::spawn(server);
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        client: reqwest::Client::new(),
        store,
        mail_dir: mail.dir,
        _db: db,
    }
}

/// A response's status, `Content-Type` and body text.
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}/infera{path}", self.address)
    }

    /// POSTs raw bytes to `/signup_user` with the given Content-Type.
    pub async fn post(&self, body: impl Into<reqwest::Body>, content_type: Option<&str>) -> Answer {
        let mut request = self.client.post(self.url("/signup_user")).body(body);
        if let Some(content_type) = content_type {
            request = request.header("Content-Type", content_type);
        }
        answer(request.send().await.expect("request")).await
    }

    pub async fn sign_up(&self, email: &str) -> Answer {
        self.post(
            serde_json::json!({ "email": email }).to_string(),
            Some("application/json"),
        )
        .await
    }

    pub async fn verify(&self, query: &str) -> Answer {
        answer(
            self.client
                .get(self.url(&format!("/verify_email{query}")))
                .send()
                .await
                .expect("request"),
        )
        .await
    }

    pub async fn count(&self, sql: &str) -> i64 {
        signup_test_support::count(self.store.pool(), sql).await
    }

    /// Waits for the `n`th delivered mail and returns every mail file's text, oldest first.
    pub async fn mails(&self, n: usize) -> Vec<String> {
        for _ in 0..200 {
            let mut files: Vec<_> = std::fs::read_dir(&self.mail_dir)
                .map(|dir| {
                    dir.filter_map(Result::ok)
                        .map(|e| e.path())
                        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                        .collect()
                })
                .unwrap_or_default();
            if files.len() >= n {
                files.sort(); // outbox ids are UUID v7: time-ordered
                return files
                    .iter()
                    .map(|p| std::fs::read_to_string(p).expect("mail"))
                    .collect();
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("fewer than {n} mails were delivered");
    }
}

pub async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = response.text().await.expect("body");
    Answer {
        status,
        content_type,
        body,
    }
}

/// The verification link in a mail, made relative to the test server.
pub fn link_query(mail: &str) -> String {
    let start = mail
        .find("/infera/verify_email?token=")
        .expect("a verification link");
    let link: String = mail[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    link.trim_start_matches("/infera/verify_email").to_string()
}
