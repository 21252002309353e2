//! The Conductor API sign-up flavour: `POST /auth/signup` with the Conductor error envelope.
//!
//! Mount it in any Actix app with [`service`]: it needs a [`signup_core::Services`] (the
//! account core) and this flavour's [`Settings`].
//!
//! ```no_run
//! use actix_web::{App, HttpServer};
//! use signup_core::{config, store::Store, Metrics, Services};
//!
//! # async fn run() -> anyhow::Result<()> {
//! let database = config::DatabaseSettings { url: "sqlite://data/my-app.db".into(), ..Default::default() };
//! let store = Store::connect(&database).await?;
//! store.migrate().await?;
//! let services = Services::new(
//!     store,
//!     &config::ServerSettings::default(),
//!     &config::HashingSettings::default(),
//!     &config::RateLimitSettings::default(),
//!     &config::MailSettings::default(),
//!     Metrics::new(),
//! )?;
//! let state = conductor_api::ConductorState::new(services, &conductor_api::Settings::default())?;
//! HttpServer::new(move || App::new().service(conductor_api::service(state.clone())))
//!     .bind(("127.0.0.1", 8080))?
//!     .run()
//!     .await?;
//! # Ok(())
//! # }
//! ```
//! (Outbox rows are delivered by [`signup_core::outbox::OutboxWorker`]; the gateway runs one.)

pub mod errors;
pub mod routes;
pub mod wire;

use actix_web::web;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use signup_core::{accounts::InvalidRealm, PasswordPolicy, Realm, Services};
use utoipa::OpenApi;

/// Name of this flavour in metrics, config and URLs.
pub const FLAVOUR: &str = "conductor";

/// `[flavours.conductor]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub enabled: bool,
    /// Path prefix of the mount.
    pub mount: String,
    /// Serve only requests for this `Host`.
    pub host: Option<String>,
    /// Realm the accounts are created in.
    pub realm: String,
    /// Shortest password accepted (the longest is the contract's 100).
    pub password_min_chars: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            enabled: true,
            mount: "/conductor".into(),
            host: None,
            realm: FLAVOUR.into(),
            password_min_chars: 8,
        }
    }
}

/// Everything the handlers need.
#[derive(Debug, Clone)]
pub struct ConductorState {
    services: Services,
    realm: Realm,
    mount: String,
    password_policy: PasswordPolicy,
}

impl ConductorState {
    pub fn new(services: Services, settings: &Settings) -> Result<Self, InvalidRealm> {
        Ok(Self {
            services,
            realm: Realm::parse(&settings.realm)?,
            mount: settings.mount.clone(),
            password_policy: PasswordPolicy {
                min_chars: settings.password_min_chars,
                max_chars: wire::PASSWORD_MAX_CHARS,
            },
        })
    }

    /// The mount without its trailing slash (`""` at the root).
    pub fn mount_prefix(&self) -> &str {
        self.mount.trim_end_matches('/')
    }
}

/// The flavour's routes as one scope at its mount; unknown paths and methods inside it
/// answer in the flavour's envelope.
pub fn service(state: ConductorState) -> actix_web::Scope {
    let prefix = state.mount_prefix().to_string();
    web::scope(&prefix)
        .app_data(web::Data::new(state))
        .service(
            web::resource("/auth/signup")
                .route(web::post().to(routes::sign_up::sign_up))
                .default_service(web::to(errors::method_not_allowed)),
        )
        .default_service(web::to(errors::not_found))
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

/// The flavour's OpenAPI document, with its server URL set to `mount`.
pub fn openapi(mount: &str, password_min_chars: usize) -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    let sentences = wire::documented_sentences(password_min_chars).join("\n- ");
    doc.info.description = Some(format!(
        "Sign-up endpoint of the Conductor API, served by signup-gateway.\n\n\
         Every non-2xx answer is `{{error, message, timestamp, success: false, details}}`.\n\n\
         Validation sentences (`details.validation_errors`):\n- {sentences}"
    ));
    let prefix = mount.trim_end_matches('/');
    doc.servers = Some(vec![utoipa::openapi::Server::new(if prefix.is_empty() {
        "/"
    } else {
        prefix
    })]);
    doc
}

pub(crate) fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub(crate) fn timestamp_now() -> String {
    rfc3339(Utc::now())
}
