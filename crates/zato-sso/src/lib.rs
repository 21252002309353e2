//! The Zato SSO sign-up flavour: `POST /zato/sso/user/signup` with sso.conf's policy (the
//! check table of the contract, in its order, each code shown or hidden by its
//! `inform_if_*` setting), its confirmation (`PATCH /zato/sso/user/signup` and
//! `POST /zato/sso/user/signup/confirm`), the `{cid, status, sub_status}` envelope with the
//! cid in `X-Zato-CID` and on every log line, and `signup.callbacks` as signed webhooks.
//!
//! Mounted at `/` by default: it answers only inside `/zato/sso`, so the host's other paths
//! keep their own answers.
//!
//! ```no_run
//! use actix_web::{App, HttpServer};
//! use signup_core::{config::Settings, Services};
//!
//! # async fn run() -> anyhow::Result<()> {
//! let mut settings = Settings::<zato_sso::Settings>::default();
//! settings.flavours.signup.inform_if_user_exists = true;
//! let (services, background) = Services::start(&settings).await?;
//! let mount = zato_sso::mount(&services, &settings.flavours).await?;
//! let running = background.spawn();
//! HttpServer::new(move || App::new().service(mount.scope()))
//!     .bind(("127.0.0.1", 8080))?
//!     .run()
//!     .await?;
//! running.stop().await;
//! # Ok(())
//! # }
//! ```
//!
//! The policy is data; the first failing row of the table answers:
//!
//! ```
//! use zato_sso::policy::{Policy, Row};
//! use zato_sso::wire::Code;
//!
//! let policy = Policy::new(&zato_sso::Settings::default()).unwrap();
//! // sso.conf's template hides "user exists" and shows password problems.
//! assert_eq!(policy.violation(Row::UsernameExists).sub_status(), Code::E005001);
//! assert_eq!(policy.violation(Row::PasswordTooShort).sub_status(), Code::E003002);
//! ```

pub mod cid;
pub mod errors;
pub mod policy;
pub mod routes;
pub mod settings;
pub mod wire;

use std::{sync::Arc, time::Duration};

use actix_web::web;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};
use signup_core::{Account, Accounts, Services};
use signup_http::{Fallback, Mount, MountContext, MountDefaults, Routes};
use utoipa::OpenApi;

pub use settings::Settings;

/// Name of this flavour in metrics, config and URLs.
pub const FLAVOUR: &str = "zato";

/// Where the flavour's paths live, whatever its mount.
pub const SCOPE: &str = "/zato/sso";

/// This flavour's mount defaults: `/` (its paths are under `/zato/sso`), realm `zato`.
#[derive(Debug)]
pub struct Zato;

impl MountDefaults for Zato {
    const FLAVOUR: &'static str = FLAVOUR;
    const MOUNT: &'static str = "/";
}

/// Everything the handlers need.
#[derive(Debug, Clone)]
pub struct ZatoState {
    pub(crate) context: MountContext,
    pub(crate) policy: Arc<policy::Policy>,
    /// The core's accounts, announcing new users to `signup.callbacks`.
    pub(crate) accounts: Accounts,
    pub(crate) confirm_token_ttl: Duration,
    pub(crate) approval_needed: bool,
}

/// The flavour, ready for its host to mount. Refuses to start when `signup.callbacks` are
/// configured without `webhooks.secret` to sign them.
pub async fn mount(services: &Services, settings: &Settings) -> anyhow::Result<Mount> {
    let context = MountContext::new(services.clone(), &settings.mount)?;
    let policy = policy::Policy::new(settings)?;
    let accounts = services
        .accounts
        .with_realm_webhooks(
            &context.realm,
            settings.signup.callbacks.0.clone(),
            callback_view,
        )
        .map_err(|e| anyhow::anyhow!("flavours.zato.signup.callbacks: {e}"))?;
    let state = ZatoState {
        context: context.clone(),
        policy: Arc::new(policy),
        accounts,
        confirm_token_ttl: Duration::from_secs(settings.signup.confirm_token_expiry_secs),
        approval_needed: settings.signup.is_approval_needed,
    };
    Ok(Mount::new(&context, openapi(), state, configure))
}

/// The flavour's routes: one scope at `/zato/sso` with the cid layer and the Zato 404 and
/// 405; nothing outside it, so a root mount leaves every other path to its host.
pub fn configure(cfg: &mut web::ServiceConfig, state: ZatoState) {
    cfg.service(
        web::scope(SCOPE)
            .app_data(web::Data::new(state))
            .configure(|cfg| {
                Routes::new(
                    cfg,
                    Fallback {
                        not_found: errors::not_found,
                        method_not_allowed: errors::method_not_allowed,
                    },
                )
                .resource("/user/signup", "POST, PATCH", |r| {
                    r.route(web::post().to(routes::signup::sign_up))
                        .route(web::patch().to(routes::confirm::confirm_patch))
                })
                .resource("/user/signup/confirm", "POST", |r| {
                    r.route(web::post().to(routes::confirm::confirm_post))
                });
            })
            .wrap_fn(cid::layer),
    );
}

/// What `signup.callbacks` receive of a new user (the `account` of the webhook body): its
/// public fields, never a password, hash or token.
pub fn callback_view(account: &Account) -> Value {
    let profile = |key: &str| account.profile.get(key).cloned().unwrap_or(Value::Null);
    json!({
        "user_id": account.id.to_string(),
        "username": account.username,
        "email": (!account.email.is_empty()).then_some(&account.email),
        "sign_up_status": profile("sign_up_status"),
        "approval_status": profile("approval_status"),
        "created_at": rfc3339(account.created_at),
    })
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Zato SSO: user signup",
        description = "Zato SSO's sign-up and its confirmation, served by signup-gateway. \
            Every answer is `{cid, status, sub_status?, confirm_token?}` with the cid also in \
            the `X-Zato-CID` header; a failure has `status: \"error\"` and one `sub_status` code."
    ),
    paths(
        routes::signup::sign_up,
        routes::confirm::confirm_patch,
        routes::confirm::confirm_post
    ),
    components(schemas(wire::SignupRequest, wire::ConfirmRequest, wire::Answer, wire::Code)),
    tags((name = "user", description = "Self sign-up"))
)]
struct ApiDoc;

/// The flavour's OpenAPI document (its server is set by [`Mount::new`]).
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

pub(crate) fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}
