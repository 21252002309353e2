//! The Infera sign-up flavour: `POST /signup_user` (address only, enumeration-safe) and
//! `GET /verify_email` (the link in the verification mail), with FastAPI's and pydantic v2's
//! exact error bodies.
//!
//! ```no_run
//! use actix_web::{App, HttpServer};
//! use signup_core::{config, store::Store, Metrics, Services};
//!
//! # async fn run() -> anyhow::Result<()> {
//! let store = Store::connect(&config::DatabaseSettings::default()).await?;
//! store.migrate().await?;
//! let services = Services::new(
//!     store,
//!     &config::ServerSettings::default(),
//!     &config::HashingSettings::default(),
//!     &config::RateLimitSettings::default(),
//!     &config::MailSettings::default(),
//!     Metrics::new(),
//! )?;
//! let state = infera_api::InferaState::new(services, &infera_api::Settings::default())?;
//! HttpServer::new(move || App::new().service(infera_api::service(state.clone())))
//!     .bind(("127.0.0.1", 8080))?
//!     .run()
//!     .await?;
//! # Ok(())
//! # }
//! ```

pub mod errors;
pub mod pyjson;
pub mod routes;
pub mod wire;

use std::time::Duration;

use actix_web::web;
use serde::{Deserialize, Serialize};
use signup_core::{accounts::InvalidRealm, Realm, Services};
use utoipa::OpenApi;

/// Name of this flavour in metrics, config and URLs.
pub const FLAVOUR: &str = "infera";

/// `[flavours.infera]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub enabled: bool,
    pub mount: String,
    pub host: Option<String>,
    pub realm: String,
    /// Lifetime of a verification link.
    pub verification_ttl_secs: u64,
    /// At most one mail per address in this interval.
    pub resend_interval_secs: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            enabled: true,
            mount: "/infera".into(),
            host: None,
            realm: FLAVOUR.into(),
            verification_ttl_secs: 86_400,
            resend_interval_secs: 600,
        }
    }
}

/// Everything the handlers need.
#[derive(Debug, Clone)]
pub struct InferaState {
    services: Services,
    realm: Realm,
    mount: String,
    verification_ttl: Duration,
    resend_interval: Duration,
}

impl InferaState {
    pub fn new(services: Services, settings: &Settings) -> Result<Self, InvalidRealm> {
        Ok(Self {
            services,
            realm: Realm::parse(&settings.realm)?,
            mount: settings.mount.clone(),
            verification_ttl: Duration::from_secs(settings.verification_ttl_secs),
            resend_interval: Duration::from_secs(settings.resend_interval_secs),
        })
    }

    /// The mount without its trailing slash (`""` at the root).
    pub fn mount_prefix(&self) -> &str {
        self.mount.trim_end_matches('/')
    }

    /// The link a verification mail carries.
    pub fn verification_link(&self, token: &str) -> String {
        format!(
            "{}{}/verify_email?token={token}",
            self.services.public_url,
            self.mount_prefix()
        )
    }
}

/// The flavour's routes as one scope at its mount; unknown paths and wrong methods answer
/// the way FastAPI does.
pub fn service(state: InferaState) -> actix_web::Scope {
    let prefix = state.mount_prefix().to_string();
    web::scope(&prefix)
        .app_data(web::Data::new(state))
        .service(
            web::resource("/signup_user")
                .route(web::post().to(routes::signup_user::signup_user))
                .default_service(web::to(errors::method_not_allowed("POST"))),
        )
        .service(
            web::resource("/verify_email")
                .route(web::get().to(routes::verify_email::verify_email))
                .route(web::head().to(routes::verify_email::verify_email))
                .default_service(web::to(errors::method_not_allowed("GET"))),
        )
        .default_service(web::to(errors::not_found))
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

/// The flavour's OpenAPI document, with its server URL set to `mount`.
pub fn openapi(mount: &str) -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    let prefix = mount.trim_end_matches('/');
    doc.servers = Some(vec![utoipa::openapi::Server::new(if prefix.is_empty() {
        "/"
    } else {
        prefix
    })]);
    doc
}
