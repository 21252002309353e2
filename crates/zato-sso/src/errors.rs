//! Every failure of this flavour, in the contract's envelope
//! `{"cid","status":"error","sub_status":[...]}`. Core errors are mapped in one exhaustive
//! `match` ([`ZatoError::render`]): a new core error is a compile error here, not a 500.

use actix_web::{
    http::{header, StatusCode},
    HttpRequest, HttpResponse,
};
use signup_core::{SignUpError, TokenConfirmError};
use signup_http::Refusal;

use crate::{
    cid::Cid,
    policy::{Policy, Refused, Row, Violation},
    wire::{Answer, Code, Malformed},
};

/// Why a request to this flavour failed.
#[derive(Debug, thiserror::Error)]
pub enum ZatoError {
    #[error("too many requests from this address")]
    RateLimited { retry_after_secs: u64 },
    #[error("the body is not declared as JSON")]
    UnsupportedMediaType,
    #[error("the body is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error(transparent)]
    Malformed(#[from] Malformed),
    #[error("the sign-up breaks the rule {:?}", .0.row)]
    Refused(Violation),
    #[error("the confirm token is missing, unknown or expired")]
    UnknownToken,
    #[error("the confirm token was already used")]
    TokenUsed,
    #[error(transparent)]
    SignUp(#[from] SignUpError),
    #[error("unexpected failure")]
    Unexpected(#[source] anyhow::Error),
}

impl From<Refusal> for ZatoError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::RateLimited { retry_after_secs } => Self::RateLimited { retry_after_secs },
            Refusal::UnsupportedMediaType => Self::UnsupportedMediaType,
            Refusal::Overloaded { retry_after_secs } => {
                Self::SignUp(SignUpError::Overloaded { retry_after_secs })
            }
            Refusal::TooLarge { limit } => Self::TooLarge { limit },
            // A body cut short is as malformed as a broken one.
            Refusal::Incomplete => Self::Malformed(Malformed),
        }
    }
}

impl From<Refused> for ZatoError {
    fn from(refused: Refused) -> Self {
        match refused {
            Refused::Violation(violation) => Self::Refused(violation),
            Refused::Lookup(error) => Self::SignUp(error),
        }
    }
}

impl From<TokenConfirmError> for ZatoError {
    fn from(error: TokenConfirmError) -> Self {
        match error {
            TokenConfirmError::UnknownOrExpired => Self::UnknownToken,
            TokenConfirmError::AlreadyUsed => Self::TokenUsed,
            TokenConfirmError::Unavailable(cause) => Self::Unexpected(cause),
        }
    }
}

impl ZatoError {
    /// The `outcome` label of the sign-up counter.
    pub fn outcome(&self) -> &'static str {
        match self {
            Self::RateLimited { .. } => "rate_limited",
            Self::UnsupportedMediaType | Self::TooLarge { .. } | Self::Malformed(_) => "invalid",
            Self::Refused(v) if v.row == Row::UsernameExists => "username_taken",
            Self::Refused(v) if v.row == Row::EmailExists => "email_taken",
            Self::Refused(_) => "policy",
            Self::UnknownToken | Self::TokenUsed => "invalid_token",
            Self::SignUp(SignUpError::UsernameTaken) => "username_taken",
            Self::SignUp(SignUpError::EmailTaken) => "email_taken",
            Self::SignUp(SignUpError::PolicyViolation(_)) => "policy",
            Self::SignUp(SignUpError::Overloaded { .. }) => "overloaded",
            Self::SignUp(SignUpError::Unavailable(_)) | Self::Unexpected(_) => "error",
        }
    }

    /// The answer: HTTP status and `sub_status` per the contract; `policy` decides whether a
    /// taken name found by the core (a lost race) is shown.
    pub fn render(&self, cid: &Cid, policy: &Policy) -> HttpResponse {
        let (status, code, retry_after) = match self {
            Self::RateLimited { retry_after_secs } => (
                StatusCode::TOO_MANY_REQUESTS,
                Code::E005001,
                Some(*retry_after_secs),
            ),
            Self::UnsupportedMediaType => (StatusCode::UNSUPPORTED_MEDIA_TYPE, Code::E005001, None),
            Self::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, Code::E005001, None),
            Self::Malformed(_) => (StatusCode::BAD_REQUEST, Code::E005001, None),
            Self::Refused(violation) => (StatusCode::FORBIDDEN, violation.sub_status(), None),
            Self::UnknownToken => (StatusCode::FORBIDDEN, Code::E005006, None),
            Self::TokenUsed => (StatusCode::FORBIDDEN, Code::E005007, None),
            Self::SignUp(error) => match error {
                SignUpError::UsernameTaken => (
                    StatusCode::FORBIDDEN,
                    policy.violation(Row::UsernameExists).sub_status(),
                    None,
                ),
                SignUpError::EmailTaken => (
                    StatusCode::FORBIDDEN,
                    policy.violation(Row::EmailExists).sub_status(),
                    None,
                ),
                SignUpError::PolicyViolation(_) => (StatusCode::FORBIDDEN, Code::E005001, None),
                SignUpError::Overloaded { retry_after_secs } => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    Code::E005001,
                    Some(*retry_after_secs),
                ),
                SignUpError::Unavailable(_) => {
                    (StatusCode::INTERNAL_SERVER_ERROR, Code::E005001, None)
                }
            },
            Self::Unexpected(_) => (StatusCode::INTERNAL_SERVER_ERROR, Code::E005001, None),
        };
        if status.is_server_error() {
            tracing::error!(
                error.cause_chain = %signup_core::cause_chain(self),
                sub_status = ?code,
                "Zato SSO request failed"
            );
        } else {
            tracing::info!(
                reason = %self,
                sub_status = ?code,
                status = status.as_u16(),
                "Zato SSO request refused"
            );
        }
        let mut response = HttpResponse::build(status).json(Answer::error(cid.as_str(), code));
        if let Some(secs) = retry_after {
            signup_http::retry_after(&mut response, secs);
        }
        response
    }
}

/// Unknown path inside `/zato/sso`.
pub fn not_found(req: &HttpRequest) -> HttpResponse {
    HttpResponse::NotFound().json(Answer::error(Cid::of(req).as_str(), Code::E005001))
}

/// Known path, wrong method.
pub fn method_not_allowed(req: &HttpRequest, allow: &'static str) -> HttpResponse {
    let mut response =
        HttpResponse::MethodNotAllowed().json(Answer::error(Cid::of(req).as_str(), Code::E005001));
    response
        .headers_mut()
        .insert(header::ALLOW, header::HeaderValue::from_static(allow));
    response
}
