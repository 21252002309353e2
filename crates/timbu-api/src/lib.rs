//! The Timbu Cloud flavour: `POST /auth/signup` (JSON, or multipart with an image recognised
//! by its content and stored in a media folder), then the token life the sign-up starts:
//! `POST /auth/login`, `GET /auth/refresh-access-token`, `POST /auth/logout`,
//! `GET /users/me`, and `GET /media/<name>` for the stored images. Errors are FastAPI's shapes.
//!
//! Embed it in any Actix app: build the core from the settings in one call and mount the
//! flavour.
//!
//! ```no_run
//! use actix_web::{App, HttpServer};
//! use signup_core::{config::Settings, Services};
//!
//! # async fn run() -> anyhow::Result<()> {
//! let mut settings = Settings::<timbu_api::Settings>::default();
//! settings.flavours.media_dir = "data/media".into();
//! let (services, background) = Services::start(&settings).await?;
//! let mount = timbu_api::mount(&services, &settings.flavours).await?;
//! let running = background.spawn();
//! HttpServer::new(move || App::new().service(mount.scope()))
//!     .bind(("127.0.0.1", 8080))?
//!     .run()
//!     .await?;
//! running.stop().await;
//! # Ok(())
//! # }
//! ```

pub mod auth;
pub mod body;
pub mod errors;
pub mod media;
pub mod routes;
pub mod wire;

use std::path::PathBuf;

use actix_web::web;
use serde::{Deserialize, Serialize};
use signup_core::{
    config::Profile,
    jwt::{JwtKeys, JwtService, Lifetimes},
    PasswordPolicy, Services,
};
use signup_http::{Fallback, Mount, MountContext, MountDefaults, MountSettings, Routes};
use utoipa::{
    openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
    Modify, OpenApi,
};

use crate::{auth::CookiePolicy, media::MediaStore};

/// Name of this flavour in metrics, config and URLs.
pub const FLAVOUR: &str = "timbu";

/// This flavour's mount defaults: `/timbu`, realm `timbu`.
#[derive(Debug)]
pub struct Timbu;

impl MountDefaults for Timbu {
    const FLAVOUR: &'static str = FLAVOUR;
    const MOUNT: &'static str = "/timbu";
}

/// `[flavours.timbu]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    #[serde(flatten)]
    pub mount: MountSettings<Timbu>,
    /// Where uploaded images are stored (several instances may share it).
    pub media_dir: PathBuf,
    /// Largest image accepted, in bytes (exactly this many is accepted).
    pub image_max_bytes: u64,
    /// Shortest and longest password accepted at sign-up, in characters.
    pub password_min_chars: usize,
    pub password_max_chars: usize,
    /// `Secure` on the refresh cookie; unset: on with the production profile, off otherwise.
    pub cookie_secure: Option<bool>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            mount: MountSettings::default(),
            media_dir: PathBuf::from("data/media"),
            image_max_bytes: 5 * 1024 * 1024,
            password_min_chars: 8,
            password_max_chars: 128,
            cookie_secure: None,
        }
    }
}

impl Settings {
    fn password_policy(&self) -> anyhow::Result<PasswordPolicy> {
        if self.password_min_chars == 0 || self.password_min_chars > self.password_max_chars {
            anyhow::bail!(
                "flavours.timbu: password_min_chars must be at least 1 and at most password_max_chars (got {} and {})",
                self.password_min_chars,
                self.password_max_chars
            );
        }
        Ok(PasswordPolicy {
            min_chars: self.password_min_chars,
            max_chars: self.password_max_chars,
        })
    }
}

/// Everything the handlers need.
#[derive(Debug, Clone)]
pub struct TimbuState {
    pub(crate) context: MountContext,
    pub(crate) password_policy: PasswordPolicy,
    pub(crate) media: MediaStore,
    pub(crate) jwt: JwtService,
    pub(crate) cookie: CookiePolicy,
}

impl TimbuState {
    /// The absolute URL a stored image is served at.
    pub fn image_url(&self, name: &str) -> String {
        self.context.link(&format!("/media/{name}"))
    }
}

/// The flavour, ready for its host to mount: the media folder is created if needed and
/// cleared of the temporary files a killed process left.
pub async fn mount(services: &Services, settings: &Settings) -> anyhow::Result<Mount> {
    let context = MountContext::new(services.clone(), &settings.mount)?;
    let password_policy = settings.password_policy()?;
    if settings.image_max_bytes == 0 {
        anyhow::bail!("flavours.timbu.image_max_bytes must be at least 1");
    }
    let media = MediaStore::open(settings.media_dir.clone(), settings.image_max_bytes).await?;
    let keys = JwtKeys::hs256(services.token_key.expose())?;
    let lifetimes = Lifetimes::from(&services.tokens);
    let jwt = JwtService::new(services.store().clone(), keys, lifetimes);
    let cookie = CookiePolicy {
        path: format!("{}/auth", context.prefix()),
        secure: settings
            .cookie_secure
            .unwrap_or(services.profile == Profile::Production),
        max_age_secs: lifetimes.refresh.as_secs(),
    };
    let state = TimbuState {
        context: context.clone(),
        password_policy,
        media,
        jwt,
        cookie,
    };
    Ok(Mount::new(&context, openapi(settings), state, configure))
}

/// The flavour's routes inside its mount; unknown paths and wrong methods answer the way
/// FastAPI does.
pub fn configure(cfg: &mut web::ServiceConfig, state: TimbuState) {
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
    })
    .resource("/auth/login", "POST", |r| {
        r.route(web::post().to(routes::login::login))
    })
    .resource("/auth/refresh-access-token", "GET", |r| {
        r.route(web::get().to(routes::refresh_access_token::refresh_access_token))
    })
    .resource("/auth/logout", "POST", |r| {
        r.route(web::post().to(routes::logout::logout))
    })
    .resource("/users/me", "GET", |r| {
        r.route(web::get().to(routes::users_me::users_me))
    })
    .resource("/media/{name}", "GET, HEAD", |r| {
        r.route(web::get().to(routes::media::media))
            .route(web::head().to(routes::media::media))
    });
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Timbu Cloud: authentication",
        description = "Timbu's sign-up and token endpoints, served by signup-gateway."
    ),
    paths(
        routes::sign_up::sign_up,
        routes::login::login,
        routes::refresh_access_token::refresh_access_token,
        routes::logout::logout,
        routes::users_me::users_me,
        routes::media::media,
    ),
    components(schemas(
        wire::SignupRequest,
        wire::SignupForm,
        wire::LoginRequest,
        wire::UserData,
        wire::AuthResponse,
        wire::RefreshResponse,
        wire::UserResponse,
        wire::MessageResponse,
        wire::DetailResponse,
        wire::HttpValidationError,
        wire::ValidationError,
    )),
    modifiers(&Security),
    tags((name = "auth", description = "Sign-up and tokens"), (name = "users"), (name = "media"))
)]
struct ApiDoc;

/// The bearer access token and the refresh cookie.
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "access_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("An access token (`type: access`), HS256."))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "refresh_cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                auth::REFRESH_COOKIE,
                "The refresh token set by sign-up, login and refresh (`HttpOnly`, path `<mount>/auth`).",
            ))),
        );
        components.add_security_scheme(
            "refresh_bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A refresh token (`type: refresh`) instead of the cookie.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The flavour's OpenAPI document for these settings (its server is set by [`Mount::new`]).
pub fn openapi(settings: &Settings) -> utoipa::openapi::OpenApi {
    use utoipa::openapi::{schema::Schema, RefOr};
    let mut doc = ApiDoc::openapi();
    let policy = PasswordPolicy {
        min_chars: settings.password_min_chars,
        max_chars: settings.password_max_chars,
    };
    // The configured bounds, where the derive could only write the defaults.
    if let Some(components) = &mut doc.components {
        for name in ["SignupRequest", "SignupForm"] {
            if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(name) {
                if let Some(RefOr::T(Schema::Object(password))) =
                    object.properties.get_mut("password")
                {
                    password.min_length = Some(policy.min_chars);
                    password.max_length = Some(policy.max_chars);
                }
            }
        }
    }
    let sentences = wire::documented_sentences(policy).join("\n- ");
    doc.info.description = Some(format!(
        "Timbu's sign-up and token endpoints, served by signup-gateway.\n\n\
         Errors are `{{\"detail\": \"<sentence>\"}}`; validation errors (422) are \
         `{{\"detail\": [{{\"loc\": [\"body\", \"<field>\"], \"msg\": \"<sentence>\", \"type\": \"value_error\"}}]}}`, \
         one item per failing field in the order email, password, first_name, last_name, \
         phone_number, country_code, country, state.\n\n\
         Images: PNG, JPEG, GIF, WebP, BMP, TIFF, ICO or AVIF, recognised by their content, \
         at most {} bytes.\n\n\
         Validation sentences:\n- {sentences}",
        settings.image_max_bytes
    ));
    doc
}
