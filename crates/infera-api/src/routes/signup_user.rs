//! `POST /signup_user`: validate like FastAPI + pydantic, then register the address without
//! revealing whether it was known.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;
use signup_core::{tokens::OneTimeToken, EmailAddress, EmailRegistration};
use signup_http::{has_json_content_type, Checks};

use crate::{
    errors::InferaError,
    mail,
    pyjson::{self, Decoded},
    wire::{SignupResponse, ValidationError},
    InferaState,
};

/// Signup
#[utoipa::path(
    post,
    path = "/signup_user",
    operation_id = "signup_user_signup_user_post",
    request_body(content = crate::wire::SignupRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Successful Response. The same answer for a new, a pending and an already verified address.", body = SignupResponse),
        (status = 422, description = "Validation Error", body = crate::wire::HttpValidationError),
        (status = 503, description = "Service temporarily overloaded (`Retry-After`)", body = crate::wire::DetailResponse),
    )
)]
#[tracing::instrument(name = "Infera sign-up", skip_all)]
pub async fn signup_user(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<InferaState>,
) -> HttpResponse {
    match handle(&req, payload, &state).await {
        Ok((response, outcome)) => {
            state.context.record_sign_up(outcome);
            response
        }
        Err(error) => {
            state.context.record_sign_up(error.outcome());
            error.render()
        }
    }
}

async fn handle(
    req: &HttpRequest,
    payload: web::Payload,
    state: &InferaState,
) -> Result<(HttpResponse, &'static str), InferaError> {
    let context = &state.context;
    let body = context
        .admit(req, Checks::ANY_WITHOUT_PASSWORD)
        .await?
        .body(req, payload)
        .await?;
    let raw = email_field(req, &body)?;
    let email = EmailAddress::parse_pydantic(&raw).map_err(|e| {
        InferaError::Validation(vec![ValidationError::invalid_email(&raw, &e.reason())])
    })?;

    let site = &context.services.site_name;
    let token = OneTimeToken::generate();
    let hours = state.verification_ttl.as_secs().div_ceil(3600);
    let link = state.verification_link(token.as_str());
    let rendered = mail::verify(email.as_str(), &link, hours, site)
        .and_then(|verify| Ok((verify, mail::already_registered(email.as_str(), site)?)));
    let (verify_mail, notice_mail) = rendered.map_err(|e| InferaError::Unexpected(e.into()))?;
    let registration = EmailRegistration {
        realm: context.realm.clone(),
        email: email.clone(),
        token,
        verification_ttl: state.verification_ttl,
        resend_interval: state.resend_interval,
        verify_mail,
        notice_mail,
    };
    let (_, outcome) = context
        .services
        .accounts
        .register_email(registration)
        .await?;
    let response = HttpResponse::Ok().json(SignupResponse {
        email: email.as_str().to_string(),
        status: "pending_verification",
        message: "Check your inbox to verify your email address.",
    });
    Ok((response, outcome.as_str()))
}

/// The `email` field, or the 422 FastAPI would give for this body.
fn email_field(req: &HttpRequest, body: &[u8]) -> Result<String, InferaError> {
    let invalid = |item| InferaError::Validation(vec![item]);
    if body.is_empty() {
        return Err(invalid(ValidationError::missing(
            vec!["body".into()],
            Value::Null,
        )));
    }
    if !has_json_content_type(req) {
        // FastAPI hands a non-JSON body to the model as raw text: not an object.
        let text = std::str::from_utf8(body).map_err(|_| InferaError::BodyNotText)?;
        return Err(invalid(ValidationError::model_attributes_type(
            Value::String(text.into()),
        )));
    }
    let value = match pyjson::decode(body) {
        Decoded::Value(value) => value,
        Decoded::Invalid { msg, pos } => {
            return Err(invalid(ValidationError::json_invalid(pos, msg)))
        }
        Decoded::NotText => return Err(InferaError::BodyNotText),
    };
    match value {
        Value::Object(mut object) => match object.get("email") {
            None => Err(invalid(ValidationError::missing(
                vec!["body".into(), "email".into()],
                Value::Object(object),
            ))),
            Some(Value::String(_)) => match object.swap_remove("email") {
                Some(Value::String(email)) => Ok(email),
                _ => Err(InferaError::Unexpected(anyhow::anyhow!(
                    "email field vanished"
                ))),
            },
            Some(other) => Err(invalid(ValidationError::string_type(
                vec!["body".into(), "email".into()],
                other.clone(),
            ))),
        },
        other => Err(invalid(ValidationError::model_attributes_type(other))),
    }
}
