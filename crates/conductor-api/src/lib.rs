//! The Conductor API sign-up flavour: `POST /auth/signup` with the Conductor error envelope.
//!
//! Embed it in any Actix app: build the core from the settings in one call, mount the
//! flavour, and run the background work (the outbox worker sends the welcome mail).
//!
//! ```no_run
//! use actix_web::{App, HttpServer};
//! use signup_core::{config::Settings, Services};
//!
//! # async fn run() -> anyhow::Result<()> {
//! let mut settings = Settings::<conductor_api::Settings>::default();
//! settings.database.url = "sqlite://data/my-app.db".into();
//! let (services, background) = Services::start(&settings).await?;
//! let mount = conductor_api::mount(&services, &settings.flavours).await?;
//! let running = background.spawn();
//! HttpServer::new(move || App::new().service(mount.scope()))
//!     .bind(("127.0.0.1", 8080))?
//!     .run()
//!     .await?;
//! running.stop().await;
//! # Ok(())
//! # }
//! ```

pub mod errors;
pub mod mail;
pub mod routes;
pub mod wire;

use actix_web::web;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use signup_core::{PasswordPolicy, Services};
use signup_http::{Fallback, Mount, MountContext, MountDefaults, MountSettings, Routes};
use utoipa::OpenApi;

/// Name of this flavour in metrics, config and URLs.
pub const FLAVOUR: &str = "conductor";

/// This flavour's mount defaults: `/conductor`, realm `conductor`.
#[derive(Debug)]
pub struct Conductor;

impl MountDefaults for Conductor {
    const FLAVOUR: &'static str = FLAVOUR;
    const MOUNT: &'static str = "/conductor";
}

/// `[flavours.conductor]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    #[serde(flatten)]
    pub mount: MountSettings<Conductor>,
    /// Shortest password accepted (the longest is the contract's 100).
    pub password_min_chars: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            mount: MountSettings::default(),
            password_min_chars: 8,
        }
    }
}

/// Everything the handlers need.
#[derive(Debug, Clone)]
pub struct ConductorState {
    pub(crate) context: MountContext,
    pub(crate) password_policy: PasswordPolicy,
}

/// The flavour, ready for its host to mount.
pub async fn mount(services: &Services, settings: &Settings) -> anyhow::Result<Mount> {
    let context = MountContext::new(services.clone(), &settings.mount)?;
    let state = ConductorState {
        context: context.clone(),
        password_policy: PasswordPolicy {
            min_chars: settings.password_min_chars,
            max_chars: wire::PASSWORD_MAX_CHARS,
        },
    };
    Ok(Mount::new(
        &context,
        openapi(settings.password_min_chars),
        state,
        configure,
    ))
}

/// The flavour's routes inside its mount; unknown paths and methods answer in the
/// flavour's envelope.
pub fn configure(cfg: &mut web::ServiceConfig, state: ConductorState) {
    cfg.app_data(web::Data::new(state));
    Routes::new(
        cfg,
        Fallback {
            not_found: errors::not_found,
            method_not_allowed: errors::method_not_allowed,
        },
    )
    .resource("/auth/signup", "POST", |r| {
        r.route(web::post().to(routes::sign_up::sign_up))
    });
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Conductor API: user signup",
        description = "Sign-up endpoint of the Conductor API, served by signup-gateway.",
    ),
    paths(routes::sign_up::sign_up),
    components(schemas(wire::SignupRequest, wire::SignupResponse, wire::UserData, wire::ErrorResponse)),
    tags((name = "auth", description = "Registration"))
)]
struct ApiDoc;

/// The flavour's OpenAPI document (its server is set by [`Mount::new`]).
pub fn openapi(password_min_chars: usize) -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    let sentences = wire::documented_sentences(password_min_chars).join("\n- ");
    doc.info.description = Some(format!(
        "Sign-up endpoint of the Conductor API, served by signup-gateway.\n\n\
         Every non-2xx answer is `{{error, message, timestamp, success: false, details}}`.\n\n\
         Validation sentences (`details.validation_errors`):\n- {sentences}"
    ));
    doc
}

pub(crate) fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub(crate) fn timestamp_now() -> String {
    rfc3339(Utc::now())
}
