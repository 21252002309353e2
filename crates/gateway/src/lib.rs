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

use std::{net::TcpListener, time::Duration};

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
            &settings.tokens,
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

        let flavours = &settings.flavours;
        let conductor = flavours
            .conductor
            .enabled
            .then(|| conductor_api::ConductorState::new(services.clone(), &flavours.conductor))
            .transpose()?;
        let infera = flavours
            .infera
            .enabled
            .then(|| infera_api::InferaState::new(services.clone(), &flavours.infera))
            .transpose()?;
        let mut openapi = Vec::new();
        let mut labels = Vec::new();
        let mut routes = vec![
            format!("GET  {base}/healthz"),
            format!("GET  {base}/readyz"),
            format!("GET  {base}/metrics"),
            format!("GET  {base}/docs/"),
        ];
        if let Some(state) = &conductor {
            let prefix = state.mount_prefix();
            routes.push(format!("POST {base}{prefix}/auth/signup   (conductor)"));
            routes.push(format!("GET  {base}/openapi/conductor.json"));
            labels.push((prefix.to_string(), conductor_api::FLAVOUR));
            openapi.push(ops::OpenApiDoc {
                flavour: conductor_api::FLAVOUR,
                path: "/openapi/conductor.json",
                document: conductor_api::openapi(
                    &flavours.conductor.mount,
                    flavours.conductor.password_min_chars,
                ),
            });
        }
        if let Some(state) = &infera {
            let prefix = state.mount_prefix();
            routes.push(format!("POST {base}{prefix}/signup_user   (infera)"));
            routes.push(format!(
                "GET  {base}{prefix}/verify_email?token=...   (infera)"
            ));
            routes.push(format!("GET  {base}/openapi/infera.json"));
            labels.push((prefix.to_string(), infera_api::FLAVOUR));
            openapi.push(ops::OpenApiDoc {
                flavour: infera_api::FLAVOUR,
                path: "/openapi/infera.json",
                document: infera_api::openapi(&flavours.infera.mount),
            });
        }
        let ops_state = ops::OpsState::new(store.clone(), metrics.clone(), openapi, labels);
        let conductor_host = flavours.conductor.host.clone();
        let infera_host = flavours.infera.host.clone();

        let server = HttpServer::new(move || {
            let metrics = ops_state.metrics.clone();
            let labels = ops_state.clone();
            let mut app = App::new()
                .wrap_fn(move |req, srv| {
                    let metrics = metrics.clone();
                    let labels = labels.clone();
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
                        let values = [labels.flavour_of(&route), route.as_str(), status.as_str()];
                        metrics.http_requests.with_label_values(&values).inc();
                        metrics
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
            if let Some(state) = &conductor {
                app = app.service(on_host(
                    conductor_api::service(state.clone()),
                    &conductor_host,
                ));
            }
            if let Some(state) = &infera {
                app = app.service(on_host(infera_api::service(state.clone()), &infera_host));
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
