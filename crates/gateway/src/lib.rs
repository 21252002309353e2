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

use std::net::TcpListener;

use actix_web::{dev::Server, web, HttpServer};
use anyhow::Context;
use signup_core::{
    services::Background,
    store::{redact_url, Store},
    Services,
};

pub use settings::{Flavours, Settings};

/// A built gateway: listening, not yet serving.
pub struct Application {
    port: u16,
    server: Server,
    services: Services,
    background: Background,
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
        let (services, background) = Services::start(&settings).await?;
        let mounts = settings.flavours.mounts(&services).await?;

        let listener = TcpListener::bind(settings.server.listen)
            .with_context(|| format!("could not listen on {}", settings.server.listen))?;
        let address = listener.local_addr()?;
        let base = public_base(&settings, address);
        let mut routes = vec![
            format!("GET  {base}/healthz"),
            format!("GET  {base}/readyz"),
            format!("GET  {base}/metrics"),
            format!("GET  {base}/docs/"),
        ];
        for mount in &mounts {
            for (method, path) in mount.routes() {
                routes.push(format!(
                    "{method:<4} {base}{}{path}   ({})",
                    mount.prefix(),
                    mount.flavour()
                ));
            }
            routes.push(format!("GET  {base}{}", mount.openapi_path()));
        }
        let ops_state = ops::OpsState::new(
            services.store().clone(),
            services.metrics.clone(),
            mounts
                .iter()
                .map(|m| ops::OpenApiDoc {
                    flavour: m.flavour(),
                    // Swagger UI keeps `'static` URLs: a few bytes per mount, once per build.
                    path: Box::leak(m.openapi_path().into_boxed_str()),
                    document: m.openapi().clone(),
                })
                .collect(),
        );
        let metrics = services.metrics.clone();
        let server = HttpServer::new(move || {
            let ops = ops_state.clone();
            signup_http::app(&mounts, &metrics, move |cfg| ops::configure(cfg, ops))
                .default_service(web::to(ops::not_found))
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
            backend = services.store().backend().name(),
            "signup-gateway listening"
        );
        Ok(Self {
            port: address.port(),
            server,
            services,
            background,
            routes,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn store(&self) -> &Store {
        self.services.store()
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
        let running = self.background.spawn();
        let served = self.server.await;
        tracing::info!("HTTP server stopped; stopping the outbox worker");
        running.stop().await;
        self.services.store().close().await;
        served.context("the HTTP server failed")
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
