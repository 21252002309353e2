//! Every non-2xx answer of this flavour, FastAPI style: `{"detail": "<sentence>"}`, or the
//! 422 list. Core errors are mapped in one exhaustive `match`: a new core error is a compile
//! error here, not a 500.

use actix_web::{
    http::{header, StatusCode},
    HttpRequest, HttpResponse,
};
use signup_core::{accounts, jwt, SignUpError};
use signup_http::Refusal;

use crate::wire::{DetailResponse, FieldProblem, HttpValidationError, ValidationError};

/// Why a request without a usable token was refused: for the log; the client only ever sees
/// `Unauthenticated`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unauthenticated {
    #[error("no token was presented")]
    NoToken,
    #[error("the token's subject is not an account of this realm")]
    UnknownAccount,
}

/// Why a request to this flavour failed.
#[derive(Debug, thiserror::Error)]
pub enum TimbuError {
    #[error("invalid fields")]
    Invalid(Vec<FieldProblem>),
    #[error("the body could not be parsed")]
    MalformedBody,
    #[error("the body is neither JSON nor multipart/form-data")]
    UnsupportedMediaType,
    #[error("the request body is larger than {limit} bytes")]
    BodyTooLarge { limit: usize },
    #[error("the image is larger than {limit} bytes")]
    ImageTooLarge { limit: u64 },
    #[error("the image part is not a recognised raster image")]
    NotAnImage,
    #[error("too many requests from this address")]
    RateLimited { retry_after_secs: u64 },
    #[error("every password hashing place is taken")]
    Overloaded { retry_after_secs: u64 },
    #[error(transparent)]
    SignUp(#[from] SignUpError),
    #[error(transparent)]
    Login(#[from] accounts::AuthError),
    #[error(transparent)]
    Token(#[from] jwt::AuthError),
    #[error(transparent)]
    Unauthenticated(#[from] Unauthenticated),
    #[error("unexpected failure")]
    Unexpected(#[source] anyhow::Error),
}

impl From<Refusal> for TimbuError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::RateLimited { retry_after_secs } => Self::RateLimited { retry_after_secs },
            Refusal::UnsupportedMediaType => Self::UnsupportedMediaType,
            Refusal::Overloaded { retry_after_secs } => Self::Overloaded { retry_after_secs },
            Refusal::TooLarge { limit } => Self::BodyTooLarge { limit },
            Refusal::Incomplete => Self::MalformedBody,
        }
    }
}

const OVERLOADED: &str = "Service temporarily overloaded, retry later";
const INTERNAL: &str = "Internal Server Error";
const UNAUTHENTICATED: &str = "Unauthenticated";

impl TimbuError {
    /// The `outcome` label of the sign-up counter.
    pub fn outcome(&self) -> &'static str {
        match self {
            Self::Invalid(_)
            | Self::MalformedBody
            | Self::UnsupportedMediaType
            | Self::BodyTooLarge { .. }
            | Self::ImageTooLarge { .. }
            | Self::NotAnImage => "invalid",
            Self::RateLimited { .. } => "rate_limited",
            Self::Overloaded { .. } | Self::SignUp(SignUpError::Overloaded { .. }) => "overloaded",
            Self::SignUp(SignUpError::EmailTaken) => "email_taken",
            Self::SignUp(
                SignUpError::UsernameTaken
                | SignUpError::PolicyViolation(_)
                | SignUpError::Unavailable(_),
            )
            | Self::Login(_)
            | Self::Token(_)
            | Self::Unauthenticated(_)
            | Self::Unexpected(_) => "error",
        }
    }

    /// The contract's answer.
    pub fn render(&self) -> HttpResponse {
        let (status, detail, retry_after): (StatusCode, String, Option<u64>) = match self {
            Self::Invalid(problems) => {
                return HttpResponse::UnprocessableEntity().json(HttpValidationError {
                    detail: problems.iter().map(ValidationError::from).collect(),
                })
            }
            Self::MalformedBody => (
                StatusCode::BAD_REQUEST,
                "There was an error parsing the body".into(),
                None,
            ),
            Self::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported media type".into(),
                None,
            ),
            Self::BodyTooLarge { limit } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("Request body must not exceed {limit} bytes."),
                None,
            ),
            Self::ImageTooLarge { limit } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("Image must not exceed {limit} bytes."),
                None,
            ),
            Self::NotAnImage => (
                StatusCode::BAD_REQUEST,
                "Image must be a PNG, JPEG, GIF, WebP, BMP, TIFF, ICO or AVIF file.".into(),
                None,
            ),
            Self::RateLimited { retry_after_secs } => (
                StatusCode::TOO_MANY_REQUESTS,
                "Too Many Requests".into(),
                Some(*retry_after_secs),
            ),
            Self::Overloaded { retry_after_secs } => overloaded(*retry_after_secs),
            Self::SignUp(error) => match error {
                SignUpError::EmailTaken => (
                    StatusCode::BAD_REQUEST,
                    "User with this email already exists".into(),
                    None,
                ),
                SignUpError::Overloaded { retry_after_secs } => overloaded(*retry_after_secs),
                // Timbu has no user names and no realm policy: either is a bug.
                SignUpError::UsernameTaken
                | SignUpError::PolicyViolation(_)
                | SignUpError::Unavailable(_) => internal(self),
            },
            Self::Login(error) => match error {
                accounts::AuthError::InvalidCredentials => {
                    (StatusCode::FORBIDDEN, "Invalid credentials".into(), None)
                }
                accounts::AuthError::Overloaded { retry_after_secs } => {
                    overloaded(*retry_after_secs)
                }
                accounts::AuthError::Unavailable(_) => internal(self),
            },
            Self::Token(error) => match error {
                jwt::AuthError::Invalid(_) | jwt::AuthError::Reused => unauthenticated(self),
                jwt::AuthError::Overloaded { retry_after_secs } => overloaded(*retry_after_secs),
                jwt::AuthError::Unavailable(_) => internal(self),
            },
            Self::Unauthenticated(_) => unauthenticated(self),
            Self::Unexpected(_) => internal(self),
        };
        let mut response = detail_response(status, &detail);
        if let Some(secs) = retry_after {
            signup_http::retry_after(&mut response, secs);
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

fn overloaded(retry_after_secs: u64) -> (StatusCode, String, Option<u64>) {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        OVERLOADED.into(),
        Some(retry_after_secs),
    )
}

fn unauthenticated(error: &TimbuError) -> (StatusCode, String, Option<u64>) {
    tracing::info!(reason = %signup_core::cause_chain(error), "Unauthenticated request");
    (StatusCode::UNAUTHORIZED, UNAUTHENTICATED.into(), None)
}

fn internal(error: &TimbuError) -> (StatusCode, String, Option<u64>) {
    tracing::error!(error.cause_chain = ?signup_core::cause_chain(error), "Timbu request failed");
    (StatusCode::INTERNAL_SERVER_ERROR, INTERNAL.into(), None)
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

/// Known path, wrong method, with the allowed ones.
pub fn method_not_allowed(_req: &HttpRequest, allow: &'static str) -> HttpResponse {
    let mut response = detail_response(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
    response
        .headers_mut()
        .insert(header::ALLOW, header::HeaderValue::from_static(allow));
    response
}
