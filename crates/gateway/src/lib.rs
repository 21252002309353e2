//! signup-gateway: reads the configuration, opens the store, runs the migrations, builds the
//! core services, mounts each enabled flavour, and serves until SIGTERM/SIGINT.
//!
//! ```no_run
//! # async fn run() -> anyhow::Result<()> {
//! let settings = gateway::Settings::load(None)?;
//! let app = gateway::Application::build(settings).await?;
//! println!("listening on port {}", app.port());
//! app.run_until_stopped().await?;
//! # Ok(())
//! # }
//! ```

pub mod settings;
pub mod telemetry;

mod ops;

use std::{net::TcpListener, sync::Arc, time::Duration};

use actix_web::{
    dev::{Server, Service},
    http::header::{HeaderName, HeaderValue},
    web, App, HttpMessage, HttpServer,
};
use anyhow::Context;
use signup_core::{
    outbox::{Mailer, OutboxWorker, WebhookSender},
    store::{redact_url, Store},
    web::LIMITER_SWEEP,
    Metrics, Services,
};
use tokio::sync::watch;
use tracing_actix_web::{RequestId, TracingLogger};

pub use settings::Settings;

/// A built gateway: listening, not yet serving.
pub struct Application {
    port: u16,
    server: Server,
    store: Store,
    services: Services,
    worker: OutboxWorker,
    routes: Vec<String>,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

/// Opens the store named by the settings and applies migrations when configured to.
pub async fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    let store = Store::connect(&settings.database).await?;
    if settings.database.run_migrations {
        store.migrate().await?;
    }
    Ok(store)
}

impl Application {
    /// Binds the listener (port 0 picks a free one) and assembles everything.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        settings.validate()?;
        if settings.tokens.secret.is_none() {
            tracing::warn!(
                "No tokens.secret configured: running with a generated secret. Tokens will not survive a restart. \
                 Set SIGNUP__TOKENS__SECRET (a production profile refuses to start without it)."
            );
        }
        let store = open_store(&settings).await?;
        let metrics = Metrics::new();
        let mut services = Services::new(
            store.clone(),
            &settings.server,
            &settings.hashing,
            &settings.rate_limit,
            &settings.mail,
            metrics.clone(),
        )?;
        services.accounts = services.accounts.with_webhooks(&settings.webhooks);
        let mailer = Mailer::from_settings(&settings.mail)?;
        let worker = OutboxWorker::new(store.clone(), mailer, metrics.clone(), &settings.mail)
            .with_webhooks(WebhookSender::new(&settings.webhooks)?);

        let listener = TcpListener::bind(settings.server.listen)
            .with_context(|| format!("could not listen on {}", settings.server.listen))?;
        let address = listener.local_addr()?;
        let base = public_base(&settings, address);

        let mounts = mounts(&settings, &services)?;
        let mut routes = vec![
            format!("GET  {base}/healthz"),
            format!("GET  {base}/readyz"),
            format!("GET  {base}/metrics"),
            format!("GET  {base}/docs/"),
        ];
        for mount in &mounts {
            for (method, path) in &mount.routes {
                routes.push(format!(
                    "{method:<4} {base}{}{path}   ({})",
                    mount.prefix, mount.openapi.flavour
                ));
            }
            routes.push(format!("GET  {base}{}", mount.openapi.path));
        }
        let ops_state = ops::OpsState::new(
            store.clone(),
            metrics.clone(),
            mounts.iter().map(|m| m.openapi.clone()).collect(),
            mounts
                .iter()
                .map(|m| (m.prefix.clone(), m.openapi.flavour))
                .collect(),
        );
        let mounts = Arc::new(mounts);

        let server = HttpServer::new(move || {
            let ops = ops_state.clone();
            let mut app = App::new()
                .wrap_fn(move |req, srv| {
                    let ops = ops.clone();
                    let request_id = req.extensions().get::<RequestId>().map(ToString::to_string);
                    let started = std::time::Instant::now();
                    let fut = srv.call(req);
                    async move {
                        let mut res = fut.await?;
                        let route = res
                            .request()
                            .match_pattern()
                            .unwrap_or_else(|| "<unmatched>".into());
                        let status = res.status();
                        let values = [ops.flavour_of(&route), route.as_str(), status.as_str()];
                        ops.metrics.http_requests.with_label_values(&values).inc();
                        ops.metrics
                            .http_request_duration
                            .with_label_values(&values)
                            .observe(started.elapsed().as_secs_f64());
                        if let Some(id) = request_id.and_then(|id| HeaderValue::from_str(&id).ok())
                        {
                            res.headers_mut()
                                .insert(HeaderName::from_static("x-request-id"), id);
                        }
                        Ok(res)
                    }
                })
                .wrap(TracingLogger::default())
                .configure(|cfg| ops::configure(cfg, ops_state.clone()));
            for mount in mounts.iter() {
                app = app.service(on_host((mount.scope)(), &mount.host));
            }
            app.default_service(web::to(ops::not_found))
        })
        .listen(listener)?
        .shutdown_timeout(settings.server.shutdown_timeout_secs);
        let server = if settings.server.workers > 0 {
            server.workers(settings.server.workers)
        } else {
            server
        }
        .run();

        tracing::info!(
            address = %address,
            database = %redact_url(&settings.database.url),
            backend = store.backend().name(),
            "signup-gateway listening"
        );
        Ok(Self {
            port: address.port(),
            server,
            store,
            services,
            worker,
            routes,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn services(&self) -> &Services {
        &self.services
    }

    /// Every mounted route with its full URL, as the start-up log lists them.
    pub fn routes(&self) -> &[String] {
        &self.routes
    }

    /// Serves until SIGTERM/SIGINT (or the server is stopped): in-flight requests finish,
    /// then the outbox worker stops after the mail it is sending.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        for route in &self.routes {
            tracing::info!("route: {route}");
        }
        let (stop_tx, stop_rx) = watch::channel(false);
        let worker = tokio::spawn(self.worker.run(stop_rx));
        let sweeper = self.services.limiter.clone().map(|limiter| {
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(LIMITER_SWEEP).await;
                    limiter.forget_idle();
                }
            })
        });
        let served = self.server.await;
        tracing::info!("HTTP server stopped; stopping the outbox worker");
        let _ = stop_tx.send(true);
        if tokio::time::timeout(Duration::from_secs(30), worker)
            .await
            .is_err()
        {
            tracing::warn!("The outbox worker did not stop within 30 s");
        }
        if let Some(sweeper) = sweeper {
            sweeper.abort();
        }
        self.store.close().await;
        served.context("the HTTP server failed")
    }
}

/// An enabled flavour: where it is mounted, what it serves, and how to build its scope (once
/// per HTTP worker).
struct Mount {
    prefix: String,
    host: Option<String>,
    /// (method, path inside the mount), for the start-up log.
    routes: Vec<(&'static str, &'static str)>,
    openapi: ops::OpenApiDoc,
    scope: Box<dyn Fn() -> actix_web::Scope + Send + Sync>,
}

/// Every enabled flavour, in mounting order.
fn mounts(settings: &Settings, services: &Services) -> anyhow::Result<Vec<Mount>> {
    let flavours = &settings.flavours;
    let mut mounts = Vec::new();
    if flavours.conductor.enabled {
        let conductor = &flavours.conductor;
        let state = conductor_api::ConductorState::new(services.clone(), conductor)?;
        mounts.push(Mount {
            prefix: state.mount_prefix().to_string(),
            host: conductor.host.clone(),
            routes: vec![("POST", "/auth/signup")],
            openapi: ops::OpenApiDoc {
                flavour: conductor_api::FLAVOUR,
                path: "/openapi/conductor.json",
                document: conductor_api::openapi(&conductor.mount, conductor.password_min_chars),
            },
            scope: Box::new(move || conductor_api::service(state.clone())),
        });
    }
    if flavours.infera.enabled {
        let infera = &flavours.infera;
        let state = infera_api::InferaState::new(services.clone(), infera)?;
        mounts.push(Mount {
            prefix: state.mount_prefix().to_string(),
            host: infera.host.clone(),
            routes: vec![("POST", "/signup_user"), ("GET", "/verify_email?token=...")],
            openapi: ops::OpenApiDoc {
                flavour: infera_api::FLAVOUR,
                path: "/openapi/infera.json",
                document: infera_api::openapi(&infera.mount),
            },
            scope: Box::new(move || infera_api::service(state.clone())),
        });
    }
    Ok(mounts)
}

/// Limits a flavour's scope to one `Host` when the operator asks for it.
fn on_host(scope: actix_web::Scope, host: &Option<String>) -> actix_web::Scope {
    match host {
        Some(host) => scope.guard(actix_web::guard::Host(host.clone())),
        None => scope,
    }
}

/// The base URL routes are listed under: the bound address when the configured one is
/// the default and the port was chosen by the system.
fn public_base(settings: &Settings, bound: std::net::SocketAddr) -> String {
    if settings.server.listen.port() == 0 {
        format!("http://{bound}")
    } else {
        settings.server.public_url.trim_end_matches('/').to_string()
    }
}

/// The README's Rust examples, compiled with the doc tests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeExamples;
