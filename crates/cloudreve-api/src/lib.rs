//! The Cloudreve v4 sign-up flavour: `POST /api/v4/user` with its check order, a graphic
//! captcha whose tickets live in the database, e-mail activation through an HMAC-signed link,
//! and the two site configs the real Cloudreve web frontend reads before its sign-up form.
//! Every answer is Cloudreve's `{code, data, msg, correlation_id}` envelope.
//!
//! Embed it in any Actix app: build the core from the settings in one call, mount the
//! flavour, and run the background work (the outbox worker sends the activation mails).
//!
//! ```no_run
//! use actix_web::{App, HttpServer};
//! use signup_core::{config::Settings, Services};
//!
//! # async fn run() -> anyhow::Result<()> {
//! let mut settings = Settings::<cloudreve_api::Settings>::default();
//! settings.flavours.email_active = true;
//! let (services, background) = Services::start(&settings).await?;
//! let mount = cloudreve_api::mount(&services, &settings.flavours).await?;
//! let running = background.spawn();
//! HttpServer::new(move || App::new().service(mount.scope()))
//!     .bind(("127.0.0.1", 8080))?
//!     .run()
//!     .await?;
//! running.stop().await;
//! # Ok(())
//! # }
//! ```

pub mod captcha;
pub mod errors;
pub mod hashid;
pub mod mail;
pub mod routes;
pub mod sign;
pub mod wire;

use std::time::Duration;

use actix_web::web;
use chrono::{DateTime, SecondsFormat, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};
use signup_core::{config::Profile, Account, AccountStatus, Services};
use signup_http::{Fallback, Mount, MountContext, MountDefaults, MountSettings, Routes};
use utoipa::OpenApi;

use crate::{
    hashid::HashIds,
    sign::Signer,
    wire::{Group, User},
};

/// Name of this flavour in metrics, config and URLs.
pub const FLAVOUR: &str = "cloudreve";

/// Lifetime of an activation link.
pub const ACTIVATION_TTL: Duration = Duration::from_secs(24 * 3600);
/// Lifetime of a captcha ticket.
pub const CAPTCHA_TTL: Duration = Duration::from_secs(600);
/// The password bounds of the seed, in characters.
pub const PASSWORD_MIN_CHARS: usize = 6;
pub const PASSWORD_MAX_CHARS: usize = 64;
/// The longest address upstream stores.
pub const EMAIL_MAX_CHARS: usize = 100;

/// This flavour's mount defaults: `/cloudreve`, realm `cloudreve`.
#[derive(Debug)]
pub struct Cloudreve;

impl MountDefaults for Cloudreve {
    const FLAVOUR: &'static str = FLAVOUR;
    const MOUNT: &'static str = "/cloudreve";
}

/// `[flavours.cloudreve]`: upstream's site settings that sign-up reads.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    #[serde(flatten)]
    pub mount: MountSettings<Cloudreve>,
    /// Accept new sign-ups (else 40019).
    pub register_enabled: bool,
    /// New accounts are inactive until their activation link is opened.
    pub email_active: bool,
    /// Sign-up requires the graphic captcha.
    pub reg_captcha: bool,
    /// Group of new accounts (1 Admin, 2 User, 3 Anonymous); the realm's first is Admin.
    pub default_group: u64,
    /// Base of the activation links (default: the mount's public base); a path is kept.
    pub site_url: Option<String>,
    /// The site's name: the basic config's `title` and the mails' subject.
    pub site_title: String,
    /// Hashids salt; generated once and kept in the database when not set.
    #[serde(serialize_with = "mask_secret")]
    pub hash_id_salt: Option<SecretString>,
    /// HMAC key of the activation links; generated once and kept in the database when not set.
    #[serde(serialize_with = "mask_secret")]
    pub secret: Option<SecretString>,
    /// Development only: every captcha's answer is this text (for end-to-end tests).
    pub captcha_test_answer: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            mount: MountSettings::default(),
            register_enabled: true,
            email_active: false,
            reg_captcha: false,
            default_group: 2,
            site_url: None,
            site_title: "Cloudreve".into(),
            hash_id_salt: None,
            secret: None,
            captcha_test_answer: None,
        }
    }
}

fn mask_secret<S: Serializer>(secret: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    match secret {
        Some(_) => s.serialize_some("<redacted>"),
        None => s.serialize_none(),
    }
}

/// Everything the handlers need.
#[derive(Debug, Clone)]
pub struct CloudreveState {
    pub(crate) context: MountContext,
    pub(crate) register_enabled: bool,
    pub(crate) email_active: bool,
    pub(crate) reg_captcha: bool,
    pub(crate) default_group: u64,
    pub(crate) site_url: String,
    pub(crate) site_title: String,
    pub(crate) ids: HashIds,
    pub(crate) signer: Signer,
    pub(crate) captcha_test_answer: Option<String>,
}

/// The flavour, ready for its host to mount.
pub async fn mount(services: &Services, settings: &Settings) -> anyhow::Result<Mount> {
    let context = MountContext::new(services.clone(), &settings.mount)?;
    if !(1..=3).contains(&settings.default_group) {
        anyhow::bail!(
            "flavours.cloudreve.default_group must be 1 (Admin), 2 (User) or 3 (Anonymous), got {}",
            settings.default_group
        );
    }
    if let Some(answer) = &settings.captcha_test_answer {
        if services.profile == Profile::Production {
            anyhow::bail!(
                "flavours.cloudreve.captcha_test_answer makes every captcha answerable: it is refused with profile = \"production\""
            );
        }
        if answer.is_empty() {
            anyhow::bail!("flavours.cloudreve.captcha_test_answer must not be empty");
        }
        tracing::warn!(
            "flavours.cloudreve.captcha_test_answer is set: every captcha has that answer"
        );
    }
    if let Some(url) = &settings.site_url {
        url::Url::parse(url)
            .map_err(|e| anyhow::anyhow!("flavours.cloudreve.site_url {url:?}: {e}"))?;
    }
    let realm = context.realm.as_str().to_string();
    let salt = match &settings.hash_id_salt {
        Some(salt) => salt.expose_secret().to_string(),
        None => hex::encode(
            services
                .stored_secret(&format!("cloudreve.{realm}.hash_id_salt"))
                .await?
                .expose(),
        ),
    };
    let signer = match &settings.secret {
        Some(secret) => Signer::new(secret.expose_secret().as_bytes()),
        None => Signer::new(
            services
                .stored_secret(&format!("cloudreve.{realm}.secret"))
                .await?
                .expose(),
        ),
    };
    let site_url = settings
        .site_url
        .clone()
        .unwrap_or_else(|| context.link(""))
        .trim_end_matches('/')
        .to_string();
    let state = CloudreveState {
        context: context.clone(),
        register_enabled: settings.register_enabled,
        email_active: settings.email_active,
        reg_captcha: settings.reg_captcha,
        default_group: settings.default_group,
        site_url,
        site_title: settings.site_title.clone(),
        ids: HashIds::new(&salt)?,
        signer,
        captcha_test_answer: settings.captcha_test_answer.clone(),
    };
    Ok(Mount::new(&context, openapi(), state, configure))
}

/// The flavour's routes inside its mount; unknown paths and wrong methods answer in the
/// envelope.
pub fn configure(cfg: &mut web::ServiceConfig, state: CloudreveState) {
    cfg.app_data(web::Data::new(state));
    Routes::new(
        cfg,
        Fallback {
            not_found: errors::not_found,
            method_not_allowed: errors::method_not_allowed,
        },
    )
    .resource("/api/v4/user", "POST", |r| {
        r.route(web::post().to(routes::sign_up::sign_up))
    })
    .resource("/api/v4/user/activate/{id}", "GET", |r| {
        r.route(web::get().to(routes::activate::activate))
    })
    .resource("/api/v4/site/captcha", "GET", |r| {
        r.route(web::get().to(routes::captcha::captcha))
    })
    .resource("/api/v4/site/config/{section}", "GET", |r| {
        r.route(web::get().to(routes::site_config::site_config))
    });
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Cloudreve v4: sign-up",
        description = "Cloudreve v4's sign-up, captcha, activation and public site config, served by signup-gateway.\n\n\
            Every answer is HTTP 200 with `{code, data?, msg, correlation_id?}` (`code` 0 on success, \
            `correlation_id` on every failure, from a valid UUID in `X-Cr-Correlation-Id` or new), except: \
            hashing overload (503 + `Retry-After`, code 50001), the per-address rate limit (429 + `Retry-After`, \
            code 429), an unknown path (404, code 404) and a wrong method (405, code 405)."
    ),
    paths(
        routes::sign_up::sign_up,
        routes::activate::activate,
        routes::captcha::captcha,
        routes::site_config::site_config
    ),
    components(schemas(
        wire::Response,
        wire::SignUpRequest,
        wire::User,
        wire::Group,
        wire::Captcha,
        wire::LoginConfig,
        wire::BasicConfig,
        wire::AnonymousUser
    )),
    tags((name = "User"), (name = "Site"))
)]
struct ApiDoc;

/// The flavour's OpenAPI document (its server is set by [`Mount::new`]).
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// Group `gid` as upstream installs it.
pub(crate) fn group(ids: &HashIds, gid: u64) -> Group {
    let (name, permission) = match gid {
        1 => ("Admin", "/f8B"),
        3 => ("Anonymous", "gg=="),
        _ => ("User", "hAg="),
    };
    Group {
        id: ids.id(gid, hashid::GROUP),
        name,
        permission,
        direct_link_batch_size: 10,
        trash_retention: 604_800,
    }
}

impl CloudreveState {
    /// The `User` of an account numbered `seq`: the realm's first is Admin.
    pub(crate) fn user(&self, account: &Account, seq: i64) -> User {
        let number = u64::try_from(seq).unwrap_or_default();
        let gid = if number == 1 {
            1
        } else {
            account
                .profile
                .get("group")
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(self.default_group)
        };
        let language = account
            .profile
            .get("language")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("en-US")
            .to_string();
        User {
            id: self.ids.id(number, hashid::USER),
            email: account.email.clone(),
            nickname: nickname(&account.email),
            created_at: rfc3339(account.created_at),
            anonymous: false,
            group: group(&self.ids, gid),
            status: match account.status {
                AccountStatus::Active => "active",
                AccountStatus::Banned => "manual_banned",
                AccountStatus::Inactive
                | AccountStatus::PendingVerification
                | AccountStatus::PendingConfirmation => "inactive",
            },
            avatar: None,
            preferred_theme: None,
            credit: 0,
            language,
        }
    }

    /// The activation link of user `seq`, signed until `expires` (Unix seconds).
    pub(crate) fn activation_link(&self, seq: i64, expires: i64) -> String {
        let id = self
            .ids
            .id(u64::try_from(seq).unwrap_or_default(), hashid::USER);
        let sign = self
            .signer
            .sign(&format!("/api/v4/user/activate/{id}"), expires);
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("id", &id)
            .append_pair("sign", &sign)
            .finish();
        format!("{}/session/activate?{query}", self.site_url)
    }
}

/// The lowercased local part of an address.
pub(crate) fn nickname(email: &str) -> String {
    email
        .rsplit_once('@')
        .map_or(email, |(local, _)| local)
        .to_lowercase()
}

pub(crate) fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, false)
}
