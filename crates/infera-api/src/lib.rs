//! The Infera sign-up flavour: `POST /signup_user` (address only, enumeration-safe) and
//! `GET /verify_email` (the link in the verification mail), with FastAPI's and pydantic v2's
//! exact error bodies.
//!
//! Embed it in any Actix app: build the core from the settings in one call, mount the
//! flavour, and run the background work, which delivers the verification mails.
//!
//! ```no_run
//! use actix_web::{App, HttpServer};
//! use signup_core::{config::Settings, Services};
//!
//! # async fn run() -> anyhow::Result<()> {
//! let settings = Settings::<infera_api::Settings>::default();
//! let (services, background) = Services::start(&settings).await?;
//! let mount = infera_api::mount(&services, &settings.flavours).await?;
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
pub mod pyjson;
pub mod routes;
pub mod wire;

use std::time::Duration;

use actix_web::web;
use serde::{Deserialize, Serialize};
use signup_core::Services;
use signup_http::{Fallback, Mount, MountContext, MountDefaults, MountSettings, Routes};
use utoipa::OpenApi;

/// Name of this flavour in metrics, config and URLs.
pub const FLAVOUR: &str = "infera";

/// This flavour's mount defaults: `/infera`, realm `infera`.
#[derive(Debug)]
pub struct Infera;

impl MountDefaults for Infera {
    const FLAVOUR: &'static str = FLAVOUR;
    const MOUNT: &'static str = "/infera";
}

/// `[flavours.infera]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    #[serde(flatten)]
    pub mount: MountSettings<Infera>,
    /// Lifetime of a verification link.
    pub verification_ttl_secs: u64,
    /// At most one mail per address in this interval.
    pub resend_interval_secs: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            mount: MountSettings::default(),
            verification_ttl_secs: 86_400,
            resend_interval_secs: 600,
        }
    }
}

/// Everything the handlers need.
#[derive(Debug, Clone)]
pub struct InferaState {
    pub(crate) context: MountContext,
    pub(crate) verification_ttl: Duration,
    pub(crate) resend_interval: Duration,
}

impl InferaState {
    /// The link a verification mail carries, on the mount's public base.
    pub fn verification_link(&self, token: &str) -> String {
        self.context.link(&format!("/verify_email?token={token}"))
    }
}

/// The flavour, ready for its host to mount.
pub async fn mount(services: &Services, settings: &Settings) -> anyhow::Result<Mount> {
    let context = MountContext::new(services.clone(), &settings.mount)?;
    let state = InferaState {
        context: context.clone(),
        verification_ttl: Duration::from_secs(settings.verification_ttl_secs),
        resend_interval: Duration::from_secs(settings.resend_interval_secs),
    };
    Ok(Mount::new(&context, openapi(), state, configure))
}

/// The flavour's routes inside its mount; unknown paths and wrong methods answer the way
/// FastAPI does.
pub fn configure(cfg: &mut web::ServiceConfig, state: InferaState) {
    cfg.app_data(web::Data::new(state));
    Routes::new(
        cfg,
        Fallback {
            not_found: errors::not_found,
            method_not_allowed: errors::method_not_allowed,
        },
    )
    .resource("/signup_user", "POST", |r| {
        r.route(web::post().to(routes::signup_user::signup_user))
    })
    .resource("/verify_email", "GET", |r| {
        r.route(web::get().to(routes::verify_email::verify_email))
            .route(web::head().to(routes::verify_email::verify_email))
    });
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Infera: signup",
        description = "Infera's sign-up endpoint, served by signup-gateway."
    ),
    paths(routes::signup_user::signup_user, routes::verify_email::verify_email),
    components(schemas(
        wire::SignupRequest,
        wire::SignupResponse,
        wire::VerifiedResponse,
        wire::DetailResponse,
        wire::HttpValidationError,
        wire::ValidationError
    ))
)]
struct ApiDoc;

/// The flavour's OpenAPI document (its server is set by [`Mount::new`]).
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
