//! `GET /verify_email?token=...`: the link in the verification mail.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;
use signup_core::tokens::TokenPurpose;

use crate::{
    errors::InferaError,
    wire::{ValidationError, VerifiedResponse},
    InferaState,
};

/// Verify Email
#[utoipa::path(
    get,
    path = "/verify_email",
    operation_id = "verify_email_verify_email_get",
    params(("token" = String, Query, description = "The token from the verification mail")),
    responses(
        (status = 200, description = "The address is verified and the account active", body = VerifiedResponse),
        (status = 400, description = "Invalid or expired verification token (unknown, used or expired)", body = crate::wire::DetailResponse),
        (status = 422, description = "Validation Error", body = crate::wire::HttpValidationError),
    )
)]
#[tracing::instrument(name = "Infera e-mail verification", skip_all)]
pub async fn verify_email(req: HttpRequest, state: web::Data<InferaState>) -> HttpResponse {
    let mut response = match handle(&req, &state).await {
        Ok(response) => response,
        Err(error) => error.render(),
    };
    // The token is in this URL: never hand it on in a `Referer`.
    signup_http::set_header(&mut response, signup_http::NO_REFERRER);
    response
}

async fn handle(req: &HttpRequest, state: &InferaState) -> Result<HttpResponse, InferaError> {
    // Starlette keeps the last of repeated parameters.
    let token = url::form_urlencoded::parse(req.query_string().as_bytes())
        .filter(|(key, _)| key == "token")
        .map(|(_, value)| value.into_owned())
        .last()
        .ok_or_else(|| {
            InferaError::Validation(vec![ValidationError::missing(
                vec!["query".into(), "token".into()],
                Value::Null,
            )])
        })?;
    let account = state
        .context
        .services
        .accounts
        .confirm(TokenPurpose::ConfirmEmail, &token)
        .await?;
    Ok(HttpResponse::Ok().json(VerifiedResponse {
        email: account.email,
        status: "verified",
    }))
}
