//! Every non-2xx answer of this flavour, in the contract's envelope. Core errors are mapped
//! in one exhaustive `match`: a new core error is a compile error here, not a 500.

use actix_web::{
    http::{header, StatusCode},
    HttpRequest, HttpResponse,
};
use serde_json::json;
use signup_core::SignUpError;
use signup_http::Refusal;

use crate::wire::{Details, ErrorResponse, FieldProblem};

/// Why a request to this flavour failed.
#[derive(Debug, thiserror::Error)]
pub enum ConductorError {
    #[error("too many sign-up requests from this address")]
    RateLimited { retry_after_secs: u64 },
    #[error("the body is not declared as JSON")]
    UnsupportedMediaType,
    #[error("the body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("the body is not a JSON object")]
    MalformedJson { position: Option<(usize, usize)> },
    #[error("invalid fields")]
    Invalid(Vec<FieldProblem>),
    #[error(transparent)]
    SignUp(#[from] SignUpError),
    #[error("unexpected failure")]
    Unexpected(#[source] anyhow::Error),
}

impl From<Refusal> for ConductorError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::RateLimited { retry_after_secs } => Self::RateLimited { retry_after_secs },
            Refusal::UnsupportedMediaType => Self::UnsupportedMediaType,
            Refusal::Overloaded { retry_after_secs } => {
                Self::SignUp(SignUpError::Overloaded { retry_after_secs })
            }
            Refusal::TooLarge { limit } => Self::PayloadTooLarge { limit },
            Refusal::Incomplete => Self::MalformedJson { position: None },
        }
    }
}

impl ConductorError {
    /// The `outcome` label of the sign-up counter.
    pub fn outcome(&self) -> &'static str {
        match self {
            Self::RateLimited { .. } => "rate_limited",
            Self::UnsupportedMediaType
            | Self::PayloadTooLarge { .. }
            | Self::MalformedJson { .. }
            | Self::Invalid(_) => "invalid",
            Self::SignUp(SignUpError::UsernameTaken) => "username_taken",
            Self::SignUp(SignUpError::EmailTaken) => "email_taken",
            Self::SignUp(SignUpError::PolicyViolation(_)) => "policy",
            Self::SignUp(SignUpError::Overloaded { .. }) => "overloaded",
            Self::SignUp(SignUpError::Unavailable(_)) | Self::Unexpected(_) => "error",
        }
    }

    /// Renders the error; `request_id` goes into a 500's details so support can find the log.
    pub fn render(&self, request_id: &str) -> HttpResponse {
        let (status, message, details, retry_after): (StatusCode, String, Details, Option<u64>) =
            match self {
                Self::RateLimited { retry_after_secs } => (
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many sign-up requests, retry later".into(),
                    json!({ "retry_after_seconds": retry_after_secs }).into(),
                    Some(*retry_after_secs),
                ),
                Self::UnsupportedMediaType => (
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "Content-Type must be application/json".into(),
                    json!({}).into(),
                    None,
                ),
                Self::PayloadTooLarge { limit } => (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("Request body must not exceed {limit} bytes"),
                    json!({ "limit_bytes": limit }).into(),
                    None,
                ),
                Self::MalformedJson { position } => (
                    StatusCode::BAD_REQUEST,
                    "Malformed JSON body".into(),
                    position
                        .map_or_else(
                            || json!({}),
                            |(line, column)| json!({ "line": line, "column": column }),
                        )
                        .into(),
                    None,
                ),
                Self::Invalid(problems) => {
                    let errors = problems
                        .iter()
                        .map(|p| (p.field, p.problem.sentence(p.label)))
                        .collect();
                    let message = problems.first().map_or_else(
                        || "Invalid request parameter".to_string(),
                        |p| {
                            format!(
                                "Invalid request parameter: {} {}",
                                p.field,
                                p.problem.predicate()
                            )
                        },
                    );
                    (
                        StatusCode::BAD_REQUEST,
                        message,
                        Details::Validation(errors),
                        None,
                    )
                }
                Self::SignUp(error) => match error {
                    SignUpError::UsernameTaken => (
                        StatusCode::CONFLICT,
                        "Username already taken".into(),
                        json!({ "field": "username" }).into(),
                        None,
                    ),
                    SignUpError::EmailTaken => (
                        StatusCode::CONFLICT,
                        "Email already registered".into(),
                        json!({ "field": "email" }).into(),
                        None,
                    ),
                    SignUpError::PolicyViolation(rule) => (
                        StatusCode::BAD_REQUEST,
                        format!("Invalid request parameter: {rule}"),
                        json!({}).into(),
                        None,
                    ),
                    SignUpError::Overloaded { retry_after_secs } => (
                        StatusCode::SERVICE_UNAVAILABLE,
                        "Server is busy, retry later".into(),
                        json!({ "retry_after_seconds": retry_after_secs }).into(),
                        Some(*retry_after_secs),
                    ),
                    SignUpError::Unavailable(_) => unexpected(request_id),
                },
                Self::Unexpected(_) => unexpected(request_id),
            };
        if status.is_server_error() {
            tracing::error!(error.cause_chain = ?signup_core::cause_chain(self), "Sign-up failed");
        }
        let mut response = envelope(status, message, details);
        if let Some(secs) = retry_after {
            signup_http::retry_after(&mut response, secs);
        }
        response
    }
}

fn unexpected(request_id: &str) -> (StatusCode, String, Details, Option<u64>) {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "An unexpected error occurred".into(),
        json!({ "request_id": request_id }).into(),
        None,
    )
}

/// The error category the contract names for a status.
fn category(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        429 => "Too Many Requests",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    }
}

/// `{"error","message","timestamp","success":false,"details"}` with the given status.
pub fn envelope(status: StatusCode, message: String, details: impl Into<Details>) -> HttpResponse {
    HttpResponse::build(status).json(ErrorResponse {
        error: category(status),
        message,
        timestamp: crate::timestamp_now(),
        success: false,
        details: details.into(),
    })
}

/// Unknown path inside the mount.
pub fn not_found(req: &HttpRequest) -> HttpResponse {
    envelope(
        StatusCode::NOT_FOUND,
        format!("No route for {} {}", req.method(), req.path()),
        json!({}),
    )
}

/// Known path, wrong method.
pub fn method_not_allowed(req: &HttpRequest, allow: &'static str) -> HttpResponse {
    let mut response = envelope(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("Method {} is not allowed on {}", req.method(), req.path()),
        json!({}),
    );
    response
        .headers_mut()
        .insert(header::ALLOW, header::HeaderValue::from_static(allow));
    response
}
