//! `spawn_app`: one flavour served the way the gateway serves it (the core built by
//! [`Services::start`], the request layers of [`signup_http::app`], the outbox worker
//! running), on a fresh database and a free port.

use std::{future::Future, net::TcpListener, path::PathBuf, pin::Pin, time::Duration};

use actix_web::HttpServer;
use signup_core::{
    config::{MailTransport, Settings},
    services::Running,
    store::Store,
    Services,
};
use signup_http::Mount;

use crate::{Backend, TestDatabase};

/// A flavour's `mount` constructor, boxed: `|s, f| Box::pin(conductor_api::mount(s, f))`.
pub type MountFn<F> =
    for<'a> fn(&'a Services, &'a F) -> Pin<Box<dyn Future<Output = anyhow::Result<Mount>> + 'a>>;

/// Settings for a test app on `db`: cheap hashing with a generous wait budget, no rate limit, mail written to files
/// beside the database and picked up at once, links on `http://signup.test.example`.
pub fn test_settings<F: Default>(db: &TestDatabase) -> Settings<F> {
    let mut settings = Settings::<F>::default();
    settings.server.public_url = "http://signup.test.example".into();
    settings.database.url = db.url().to_string();
    settings.hashing.memory_kib = 256;
    settings.hashing.iterations = 1;
    settings.hashing.workers = 2;
    // Tests race many sign-ups on purpose; the time budget is for real hash times (tests
    // that exercise shedding set their own bounds).
    settings.hashing.max_wait_ms = 10_000;
    settings.rate_limit.per_ip_per_minute = 0;
    settings.rate_limit.burst = 0;
    settings.mail.transport = MailTransport::File;
    settings.mail.dir = db.dir().join("mail");
    settings.mail.poll_interval_ms = 20;
    settings
}

/// A running flavour on a fresh database.
#[derive(Debug)]
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub services: Services,
    pub store: Store,
    pub mail_dir: PathBuf,
    /// The outbox worker; it stops when this is dropped with the test.
    _background: Running,
    /// Last, so the database outlives everything that uses it.
    pub db: TestDatabase,
}

/// Serves the flavour `mount` builds, with `tweak` applied to [`test_settings`].
pub async fn spawn_app<F: Default>(
    backend: Backend,
    mount: MountFn<F>,
    tweak: impl FnOnce(&mut Settings<F>),
) -> TestApp {
    spawn_app_on(TestDatabase::create(backend).await, mount, tweak).await
}

/// [`spawn_app`] on a given database: with [`TestDatabase::share`], a second instance on the
/// database of a first (as N gateways on one PostgreSQL).
pub async fn spawn_app_on<F: Default>(
    db: TestDatabase,
    mount: MountFn<F>,
    tweak: impl FnOnce(&mut Settings<F>),
) -> TestApp {
    let mut settings = test_settings::<F>(&db);
    tweak(&mut settings);
    let (services, background) = Services::start(&settings)
        .await
        .expect("start the core services");
    let mounts = signup_http::arrange(vec![mount(&services, &settings.flavours)
        .await
        .expect("mount the flavour")])
    .expect("arrange the mount");
    let metrics = services.metrics.clone();
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let port = listener.local_addr().expect("local address").port();
    let server = HttpServer::new(move || signup_http::app(&mounts, &metrics, |_| {}))
        .workers(2)
        .shutdown_timeout(1)
        .listen(listener)
        .expect("listen")
        .run();
    tokio::spawn(server);
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        client: reqwest::Client::new(),
        store: services.store().clone(),
        services,
        mail_dir: settings.mail.dir.clone(),
        _background: background.spawn(),
        db,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// `SELECT COUNT(*) ...` on the app's store.
    pub async fn count(&self, sql: &str) -> i64 {
        crate::count(self.store.pool(), sql).await
    }

    /// Waits (up to 10 s) until `n` mails were delivered, and returns every mail's text,
    /// oldest first.
    pub async fn mails(&self, n: usize) -> Vec<String> {
        for _ in 0..400 {
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
