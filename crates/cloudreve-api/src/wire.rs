//! Cloudreve's bodies as the contract spells them: the `{code, data, msg, error,
//! correlation_id}` envelope, the `User` and its `Group`, the captcha and the site configs.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// The envelope of every answer, keys in upstream's order; `data` only when there is some,
/// `correlation_id` only on failures, `error` never (no debug mode).
#[derive(Debug, Serialize)]
pub struct Envelope<T> {
    pub code: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<T>,
    pub msg: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<uuid::Uuid>,
}

/// The envelope, for the OpenAPI document: HTTP 200 with `code` 0 on success, a Cloudreve
/// error code otherwise (see each operation).
#[derive(Debug, ToSchema)]
#[schema(title = "Response")]
#[allow(dead_code)]
pub struct Response {
    /// `0` success, `203` activation mail sent, otherwise an error code.
    code: i32,
    /// The operation's result, absent when there is none.
    #[schema(value_type = Option<Object>)]
    data: Option<Value>,
    /// Human-readable message, may be empty.
    msg: String,
    /// Correlation id of a failed request.
    #[schema(value_type = Option<String>, format = Uuid)]
    correlation_id: Option<String>,
}

/// `POST /api/v4/user` body (documentation; the handler reads the JSON itself).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct SignUpRequest {
    /// Account email (at most 100 characters).
    #[schema(example = "example@cloudreve.org", format = Email)]
    email: String,
    /// Account password, 6 to 64 characters.
    #[schema(example = "P@ssw0rd", min_length = 6, max_length = 64)]
    password: String,
    /// UI and e-mail language (default `en-US`).
    #[schema(example = "en-US")]
    language: Option<String>,
    /// What the user read in the captcha image (when `reg_captcha` is on).
    #[schema(example = "z3ds")]
    captcha: Option<String>,
    /// The ticket of that captcha, from `GET /api/v4/site/captcha`.
    #[schema(example = "4qXv7KmbYajJ0yFDKcmJ")]
    ticket: Option<String>,
}

/// A user, as upstream's `User` (hashid ids).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct User {
    #[schema(example = "6JIo")]
    pub id: String,
    pub email: String,
    pub nickname: String,
    /// RFC 3339 with offset.
    #[schema(example = "2023-08-06T19:21:59+00:00")]
    pub created_at: String,
    pub anonymous: bool,
    pub group: Group,
    /// `active` or `inactive`.
    #[schema(example = "active")]
    pub status: &'static str,
    #[schema(value_type = Option<String>)]
    pub avatar: Option<()>,
    #[schema(value_type = Option<String>)]
    pub preferred_theme: Option<()>,
    pub credit: i64,
    #[schema(example = "en-US")]
    pub language: String,
}

/// A user group.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Group {
    #[schema(example = "1AI8")]
    pub id: String,
    #[schema(example = "User")]
    pub name: &'static str,
    /// Permission bitset, base64.
    #[schema(example = "hAg=")]
    pub permission: &'static str,
    pub direct_link_batch_size: i64,
    pub trash_retention: i64,
}

/// `data` of `GET /api/v4/site/captcha`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Captcha {
    /// `data:image/png;base64,...`
    pub image: String,
    pub ticket: String,
}

/// `data` of `GET /api/v4/site/config/login`.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginConfig {
    pub register_enabled: bool,
    pub reg_captcha: bool,
    pub login_captcha: bool,
    pub forget_captcha: bool,
    pub authn: bool,
    pub tos_url: &'static str,
    pub privacy_policy_url: &'static str,
}

/// `data` of `GET /api/v4/site/config/basic`.
#[derive(Debug, Serialize, ToSchema)]
pub struct BasicConfig {
    pub title: String,
    pub logo: &'static str,
    pub logo_light: &'static str,
    /// A JSON string: `{"#1976d2": {"light": {...}, "dark": {...}}}`.
    pub themes: &'static str,
    pub default_theme: &'static str,
    pub captcha_type: &'static str,
    #[schema(value_type = Object)]
    pub custom_html: Value,
    pub user: AnonymousUser,
}

/// The session user the basic config describes: nobody signed in.
#[derive(Debug, Serialize, ToSchema)]
pub struct AnonymousUser {
    pub id: &'static str,
    pub anonymous: bool,
    pub group: Group,
}

/// The default theme set, as upstream installs it.
pub const THEMES: &str = r##"{"#1976d2":{"light":{"palette":{"primary":{"main":"#1976d2","light":"#42a5f5","dark":"#1565c0"},"secondary":{"main":"#9c27b0","light":"#ba68c8","dark":"#7b1fa2"}}},"dark":{"palette":{"primary":{"main":"#90caf9","light":"#e3f2fd","dark":"#42a5f5"},"secondary":{"main":"#ce93d8","light":"#f3e5f5","dark":"#ab47bc"}}}}}"##;
