//! `POST /signup_user`: validate like FastAPI + pydantic, then register the address without
//! revealing whether it was known.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;
use signup_core::{
    outbox::{html_escape, OutgoingMail},
    web::{has_json_content_type, read_body, BodyError},
    Account, EmailAddress, EmailRegistration, RegistrationMail,
};

use crate::{
    errors::InferaError,
    pyjson::{self, Decoded},
    wire::{SignupResponse, ValidationError},
    InferaState, FLAVOUR,
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
    let metrics = &state.services.metrics;
    match handle(&req, payload, &state).await {
        Ok((response, outcome)) => {
            metrics.record_sign_up(FLAVOUR, outcome);
            response
        }
        Err(error) => {
            metrics.record_sign_up(FLAVOUR, error.outcome());
            error.render()
        }
    }
}

async fn handle(
    req: &HttpRequest,
    payload: web::Payload,
    state: &InferaState,
) -> Result<(HttpResponse, &'static str), InferaError> {
    let services = &state.services;
    services
        .check_sign_up_rate(req)
        .map_err(|retry_after_secs| InferaError::RateLimited { retry_after_secs })?;
    let body = read_body(req, payload, services.body_limit_bytes)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge { limit } => InferaError::PayloadTooLarge { limit },
            BodyError::Incomplete(_) => InferaError::BodyNotText,
        })?;
    let raw = email_field(req, &body)?;
    let email = EmailAddress::parse_pydantic(&raw).map_err(|e| {
        InferaError::Validation(vec![ValidationError::invalid_email(&raw, &e.reason())])
    })?;

    let registration = EmailRegistration {
        realm: state.realm.clone(),
        email: email.clone(),
        verification_ttl: state.verification_ttl,
        resend_interval: state.resend_interval,
    };
    let (_, outcome) = services
        .accounts
        .register_email(registration, |account, mail| {
            render_mail(state, account, mail)
        })
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

fn render_mail(state: &InferaState, account: &Account, mail: RegistrationMail<'_>) -> OutgoingMail {
    let site = &state.services.site_name;
    let email = &account.email;
    match mail {
        RegistrationMail::Verify(token) => {
            let hours = state.verification_ttl.as_secs().div_ceil(3600);
            let link = state.verification_link(token.as_str());
            OutgoingMail {
                to: email.clone(),
                subject: format!("Verify your email address for {site}"),
                text: format!(
                    "Hello,\n\nplease confirm that {email} is your address by opening this link within {hours} hours:\n\n\
                     {link}\n\nIf you did not sign up for {site}, ignore this mail: nothing happens without the link.\n",
                ),
                html: Some(format!(
                    "<!doctype html><html><body><p>Hello,</p><p>please confirm that {email} is your address \
                     within {hours} hours:</p><p><a href=\"{link}\">Verify my email address</a></p>\
                     <p>If you did not sign up for {site}, ignore this mail: nothing happens without the link.</p></body></html>",
                    email = html_escape(email),
                    link = html_escape(&link),
                    site = html_escape(site),
                )),
            }
        }
        RegistrationMail::AlreadyRegistered => OutgoingMail {
            to: email.clone(),
            subject: format!("You already have an account on {site}"),
            text: format!(
                "Hello,\n\nsomeone, perhaps you, tried to sign up for {site} with {email}. This address already \
                 has a verified account, so nothing was changed.\n\nIf it was not you, you can ignore this mail.\n",
            ),
            html: Some(format!(
                "<!doctype html><html><body><p>Hello,</p><p>someone, perhaps you, tried to sign up for {site} with \
                 {email}. This address already has a verified account, so nothing was changed.</p>\
                 <p>If it was not you, you can ignore this mail.</p></body></html>",
                email = html_escape(email),
                site = html_escape(site),
            )),
        },
    }
}
