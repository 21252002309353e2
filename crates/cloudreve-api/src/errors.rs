//! Every failure of this flavour, as Cloudreve answers it: HTTP 200 with a code and message
//! in the envelope (and a `correlation_id`), except overload (503), rate limit (429), unknown
//! path (404) and wrong method (405). Core errors are mapped in one exhaustive `match`.

use actix_web::{
    http::{header, StatusCode},
    HttpRequest, HttpResponse,
};
use signup_core::SignUpError;
use signup_http::Refusal;
use uuid::Uuid;

use crate::{sign::SignError, wire::Envelope};

/// The header a client may name its correlation id in.
pub const CORRELATION_HEADER: &str = "X-Cr-Correlation-Id";

/// Why a request to this flavour failed.
#[derive(Debug, thiserror::Error)]
pub enum CloudreveError {
    #[error("sign-up is disabled")]
    RegisterDisabled,
    #[error("the captcha was missing, wrong, expired or spent")]
    CaptchaMismatch,
    /// A 40001 with one of upstream's parameter messages.
    #[error("invalid parameter: {0}")]
    Param(&'static str),
    #[error("the address belongs to an active or banned user")]
    EmailInUse,
    #[error("the address belongs to an inactive user; the activation mail was sent again")]
    ActivationResent,
    #[error("the expiry of the sign is missing")]
    SignTimestampMissing,
    #[error("the expiry of the sign is not a number")]
    SignTimestampInvalid,
    #[error("the sign has expired")]
    SignExpired,
    #[error("the sign does not match")]
    SignInvalid,
    #[error("the id is not a user id")]
    BadObjectId,
    #[error("no such user")]
    UserNotFound,
    #[error("the user is not inactive")]
    CannotActivate,
    #[error("too many requests from this address")]
    RateLimited { retry_after_secs: u64 },
    #[error(transparent)]
    SignUp(#[from] SignUpError),
    /// A store or rendering failure; the message is upstream's for the operation.
    #[error("{msg}")]
    Store {
        msg: &'static str,
        #[source]
        cause: anyhow::Error,
    },
}

impl From<SignError> for CloudreveError {
    fn from(e: SignError) -> Self {
        match e {
            SignError::TimestampMissing => Self::SignTimestampMissing,
            SignError::BadTimestamp => Self::SignTimestampInvalid,
            SignError::Expired => Self::SignExpired,
            SignError::Invalid => Self::SignInvalid,
        }
    }
}

impl From<Refusal> for CloudreveError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::RateLimited { retry_after_secs } => Self::RateLimited { retry_after_secs },
            Refusal::Overloaded { retry_after_secs } => {
                Self::SignUp(SignUpError::Overloaded { retry_after_secs })
            }
            // Upstream binds whatever arrives: an unreadable or oversized body is not JSON.
            Refusal::TooLarge { .. } | Refusal::Incomplete | Refusal::UnsupportedMediaType => {
                Self::Param(PARAMETER_ERROR)
            }
        }
    }
}

/// Upstream's message for a body that is not a JSON object.
pub const PARAMETER_ERROR: &str = "Parameter error";
/// Upstream's message for a field of the wrong JSON type.
pub const JSON_TYPE_ERROR: &str = "JSON marshall error";
/// Upstream's message for a failed sign-up insert.
pub const INSERT_FAILED: &str = "Failed to insert user row";

impl CloudreveError {
    /// The `outcome` label of the sign-up counter.
    pub fn outcome(&self) -> &'static str {
        match self {
            Self::RegisterDisabled => "disabled",
            Self::CaptchaMismatch => "captcha",
            Self::Param(_) => "invalid",
            Self::EmailInUse => "email_taken",
            Self::ActivationResent => "activation_resent",
            Self::RateLimited { .. } => "rate_limited",
            Self::SignUp(SignUpError::Overloaded { .. }) => "overloaded",
            Self::SignUp(SignUpError::EmailTaken) => "email_taken",
            Self::SignTimestampMissing
            | Self::SignTimestampInvalid
            | Self::SignExpired
            | Self::SignInvalid
            | Self::BadObjectId
            | Self::UserNotFound
            | Self::CannotActivate => "invalid",
            Self::SignUp(
                SignUpError::UsernameTaken
                | SignUpError::PolicyViolation(_)
                | SignUpError::Unavailable(_),
            )
            | Self::Store { .. } => "error",
        }
    }

    /// `(HTTP status, code, msg, Retry-After)`.
    fn parts(&self) -> (StatusCode, i32, &'static str, Option<u64>) {
        let ok = StatusCode::OK;
        match self {
            Self::RegisterDisabled => (ok, 40019, "This feature is not enabled", None),
            Self::CaptchaMismatch => (ok, 40026, "CAPTCHA not match.", None),
            Self::Param(msg) => (ok, 40001, msg, None),
            Self::EmailInUse => (ok, 40032, "Email already in use", None),
            Self::ActivationResent => (
                ok,
                40033,
                "User is not activated, activation email has been resent",
                None,
            ),
            Self::SignTimestampMissing => (ok, 403, "expire timestamp is missing", None),
            Self::SignTimestampInvalid => (ok, 40071, "sign expired", None),
            Self::SignExpired => (ok, 40005, "signature expired", None),
            Self::SignInvalid => (ok, 40071, "invalid sign", None),
            Self::BadObjectId => (ok, 40001, "Failed to parse object ID", None),
            Self::UserNotFound => (ok, 40021, "User not found", None),
            Self::CannotActivate => (ok, 40034, "This user cannot be activated", None),
            Self::RateLimited { retry_after_secs } => (
                StatusCode::TOO_MANY_REQUESTS,
                429,
                "Too many requests, please retry later",
                Some(*retry_after_secs),
            ),
            Self::SignUp(error) => match error {
                SignUpError::Overloaded { retry_after_secs } => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    50001,
                    "Server is busy, please retry later",
                    Some(*retry_after_secs),
                ),
                SignUpError::EmailTaken => (ok, 40032, "Email already in use", None),
                // Cloudreve has no user names or policy rules: reaching here is a store fault.
                SignUpError::UsernameTaken
                | SignUpError::PolicyViolation(_)
                | SignUpError::Unavailable(_) => (ok, 50001, INSERT_FAILED, None),
            },
            Self::Store { msg, .. } => (ok, 50001, msg, None),
        }
    }

    /// The answer, with `correlation_id`; faults go to the log with their cause chain.
    pub fn render(&self, correlation_id: Uuid) -> HttpResponse {
        let (status, code, msg, retry_after) = self.parts();
        if code == 50001 {
            tracing::error!(
                error.cause_chain = ?signup_core::cause_chain(self),
                correlation_id = %correlation_id,
                "Cloudreve request failed"
            );
        }
        let mut response = failure(status, code, msg, correlation_id);
        if let Some(secs) = retry_after {
            signup_http::retry_after(&mut response, secs);
        }
        response
    }
}

/// The request's correlation id: a valid UUID in `X-Cr-Correlation-Id`, else a new v4.
pub fn correlation_id(req: &HttpRequest) -> Uuid {
    req.headers()
        .get(CORRELATION_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| Uuid::parse_str(v.trim()).ok())
        .unwrap_or_else(Uuid::new_v4)
}

/// A failure envelope.
pub fn failure(status: StatusCode, code: i32, msg: &str, correlation_id: Uuid) -> HttpResponse {
    HttpResponse::build(status).json(Envelope::<()> {
        code,
        data: None,
        msg: msg.to_string(),
        error: None,
        correlation_id: Some(correlation_id),
    })
}

/// A success envelope (`code` 0 or 203), without `correlation_id`.
pub fn success<T: serde::Serialize>(code: i32, data: Option<T>) -> HttpResponse {
    HttpResponse::Ok().json(Envelope {
        code,
        data,
        msg: String::new(),
        error: None,
        correlation_id: None,
    })
}

/// Unknown path inside the mount.
pub fn not_found(req: &HttpRequest) -> HttpResponse {
    failure(StatusCode::NOT_FOUND, 404, "Not found", correlation_id(req))
}

/// Known path, wrong method.
pub fn method_not_allowed(req: &HttpRequest, allow: &'static str) -> HttpResponse {
    let mut response = failure(
        StatusCode::METHOD_NOT_ALLOWED,
        405,
        "Method not allowed",
        correlation_id(req),
    );
    response
        .headers_mut()
        .insert(header::ALLOW, header::HeaderValue::from_static(allow));
    response
}
