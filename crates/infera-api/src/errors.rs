//! Every non-2xx answer of this flavour, FastAPI style. Core errors are mapped in one
//! exhaustive `match`.

use actix_web::{
    http::{header, StatusCode},
    HttpRequest, HttpResponse,
};
use signup_core::{accounts::ConfirmError, SignUpError};
use signup_http::Refusal;

use crate::wire::{DetailResponse, HttpValidationError, ValidationError};

#[derive(Debug, thiserror::Error)]
pub enum InferaError {
    #[error("request validation failed")]
    Validation(Vec<ValidationError>),
    #[error("the body could not be decoded")]
    BodyNotText,
    #[error("the body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("too many sign-up requests from this address")]
    RateLimited { retry_after_secs: u64 },
    #[error("invalid or expired verification token")]
    InvalidToken,
    #[error(transparent)]
    SignUp(#[from] SignUpError),
    #[error("unexpected failure")]
    Unexpected(#[source] anyhow::Error),
}

impl From<ConfirmError> for InferaError {
    fn from(e: ConfirmError) -> Self {
        match e {
            ConfirmError::InvalidToken => Self::InvalidToken,
            ConfirmError::Unavailable(cause) => Self::Unexpected(cause),
        }
    }
}

impl From<Refusal> for InferaError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::RateLimited { retry_after_secs } => Self::RateLimited { retry_after_secs },
            Refusal::Overloaded { retry_after_secs } => {
                Self::SignUp(SignUpError::Overloaded { retry_after_secs })
            }
            Refusal::TooLarge { limit } => Self::PayloadTooLarge { limit },
            // Starlette cannot decode what it could not read, nor a type it was never told.
            Refusal::Incomplete | Refusal::UnsupportedMediaType => Self::BodyNotText,
        }
    }
}

impl InferaError {
    /// The `outcome` label of the sign-up counter.
    pub fn outcome(&self) -> &'static str {
        match self {
            Self::Validation(_)
            | Self::BodyNotText
            | Self::PayloadTooLarge { .. }
            | Self::InvalidToken => "invalid",
            Self::RateLimited { .. } => "rate_limited",
            Self::SignUp(SignUpError::Overloaded { .. }) => "overloaded",
            // Infera never reports a taken address; if one reaches here it is a bug.
            Self::SignUp(
                SignUpError::EmailTaken
                | SignUpError::UsernameTaken
                | SignUpError::PolicyViolation(_)
                | SignUpError::Unavailable(_),
            )
            | Self::Unexpected(_) => "error",
        }
    }

    pub fn render(&self) -> HttpResponse {
        let (status, detail, retry_after) = match self {
            Self::Validation(items) => {
                return HttpResponse::UnprocessableEntity().json(HttpValidationError {
                    detail: items
                        .iter()
                        .map(|item| ValidationError {
                            kind: item.kind,
                            loc: item.loc.clone(),
                            msg: item.msg.clone(),
                            input: item.input.clone(),
                            ctx: item.ctx.clone(),
                        })
                        .collect(),
                })
            }
            Self::BodyNotText => (
                StatusCode::BAD_REQUEST,
                "There was an error parsing the body",
                None,
            ),
            Self::PayloadTooLarge { .. } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "Request body too large",
                None,
            ),
            Self::RateLimited { retry_after_secs } => (
                StatusCode::TOO_MANY_REQUESTS,
                "Too Many Requests",
                Some(*retry_after_secs),
            ),
            Self::InvalidToken => (
                StatusCode::BAD_REQUEST,
                "Invalid or expired verification token",
                None,
            ),
            Self::SignUp(error) => match error {
                SignUpError::Overloaded { retry_after_secs } => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Service temporarily overloaded, retry later",
                    Some(*retry_after_secs),
                ),
                SignUpError::EmailTaken
                | SignUpError::UsernameTaken
                | SignUpError::PolicyViolation(_)
                | SignUpError::Unavailable(_) => internal(self),
            },
            Self::Unexpected(_) => internal(self),
        };
        let mut response = detail_response(status, detail);
        if let Some(secs) = retry_after {
            signup_http::retry_after(&mut response, secs);
        }
        response
    }
}

fn internal(error: &InferaError) -> (StatusCode, &'static str, Option<u64>) {
    tracing::error!(error.cause_chain = ?signup_core::cause_chain(error), "Infera request failed");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "Internal Server Error",
        None,
    )
}

pub fn detail_response(status: StatusCode, detail: &str) -> HttpResponse {
    HttpResponse::build(status).json(DetailResponse {
        detail: detail.to_string(),
    })
}

/// Unknown path inside the mount.
pub fn not_found(_req: &HttpRequest) -> HttpResponse {
    detail_response(StatusCode::NOT_FOUND, "Not Found")
}

/// Known path, wrong method: Starlette's answer with the allowed method.
pub fn method_not_allowed(_req: &HttpRequest, allow: &'static str) -> HttpResponse {
    let mut response = detail_response(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
    response
        .headers_mut()
        .insert(header::ALLOW, header::HeaderValue::from_static(allow));
    response
}
