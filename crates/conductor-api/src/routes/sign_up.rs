//! `POST /auth/signup`: parse, call the core, render.

use actix_web::{http::header, web, HttpRequest, HttpResponse};
use serde_json::{json, Value};
use signup_core::{
    hashing::RETRY_AFTER_SECS,
    outbox::{html_escape, OutgoingMail},
    web::{has_json_content_type, read_body, BodyError},
    Account, AccountStatus, NewAccount, SignUpError,
};
use tracing_actix_web::RequestId;

use crate::{
    errors::ConductorError,
    wire::{parse_sign_up, ErrorResponse, SignupResponse, UserData},
    ConductorState, FLAVOUR,
};

/// User signup: registers a new user account.
#[utoipa::path(
    post,
    path = "/auth/signup",
    operation_id = "post-auth-signup",
    tag = "auth",
    request_body(content = crate::wire::SignupRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "User created successfully", body = SignupResponse,
            headers(("Location" = String, description = "The new user's resource: `<mount>/users/<id>`"))),
        (status = 400, description = "Invalid request parameter or malformed JSON. `details.validation_errors` holds one sentence per failing field (see the API description for the full list); a malformed body gives `details.line` and `details.column`.", body = ErrorResponse),
        (status = 409, description = "Username already taken (`details.field` = `username`), or Email already registered (`details.field` = `email`). When both are taken the username is reported.", body = ErrorResponse),
        (status = 413, description = "Body larger than the limit (`details.limit_bytes`)", body = ErrorResponse),
        (status = 415, description = "Content-Type must be application/json", body = ErrorResponse),
        (status = 429, description = "Too many sign-up requests from this address (`Retry-After` header)", body = ErrorResponse),
        (status = 500, description = "Internal server error (`details.request_id`)", body = ErrorResponse),
        (status = 503, description = "Server is busy, retry later (`Retry-After` header)", body = ErrorResponse),
    )
)]
#[tracing::instrument(name = "Conductor sign-up", skip_all)]
pub async fn sign_up(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<ConductorState>,
    request_id: RequestId,
) -> HttpResponse {
    let metrics = &state.services.metrics;
    match handle(&req, payload, &state).await {
        Ok(response) => {
            metrics.record_sign_up(FLAVOUR, "created");
            response
        }
        Err(error) => {
            metrics.record_sign_up(FLAVOUR, error.outcome());
            error.render(&request_id.to_string())
        }
    }
}

async fn handle(
    req: &HttpRequest,
    payload: web::Payload,
    state: &ConductorState,
) -> Result<HttpResponse, ConductorError> {
    let services = &state.services;
    services
        .check_sign_up_rate(req)
        .map_err(|retry_after_secs| ConductorError::RateLimited { retry_after_secs })?;
    if !has_json_content_type(req) {
        return Err(ConductorError::UnsupportedMediaType);
    }
    // Shed load before reading the body when no sign-up could be hashed anyway.
    if services.accounts.hasher().is_saturated() {
        return Err(SignUpError::Overloaded {
            retry_after_secs: RETRY_AFTER_SECS,
        }
        .into());
    }
    let body = read_body(req, payload, services.body_limit_bytes)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge { limit } => ConductorError::PayloadTooLarge { limit },
            BodyError::Incomplete(_) => ConductorError::MalformedJson { position: None },
        })?;
    let object = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(object)) => object,
        Ok(_) => return Err(ConductorError::MalformedJson { position: None }),
        Err(e) => {
            let position = (e.line() > 0).then(|| (e.line(), e.column()));
            return Err(ConductorError::MalformedJson { position });
        }
    };
    let parsed = parse_sign_up(object, state.password_policy).map_err(ConductorError::Invalid)?;

    let profile = json!({ "first_name": parsed.first_name, "last_name": parsed.last_name });
    let new = NewAccount {
        realm: state.realm.clone(),
        email: parsed.email,
        username: Some(parsed.username),
        password: Some(parsed.password),
        profile,
        status: AccountStatus::Active,
        confirmation: None,
    };
    let site_name = services.site_name.clone();
    let account = services
        .accounts
        .sign_up(new, |account, _| Some(welcome_mail(account, &site_name)))
        .await?;
    let location = format!("{}/users/{}", state.mount_prefix(), account.id);
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, location))
        .json(SignupResponse {
            success: true,
            message: "User created successfully",
            data: user_data(&account),
        }))
}

fn profile_field(account: &Account, key: &str) -> String {
    account
        .profile
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn user_data(account: &Account) -> UserData {
    UserData {
        id: account.id.to_string(),
        username: account.username.clone().unwrap_or_default(),
        email: account.email.clone(),
        first_name: profile_field(account, "first_name"),
        last_name: profile_field(account, "last_name"),
        created_at: crate::rfc3339(account.created_at),
    }
}

fn welcome_mail(account: &Account, site_name: &str) -> OutgoingMail {
    let first = profile_field(account, "first_name");
    let username = account.username.as_deref().unwrap_or_default();
    OutgoingMail {
        to: account.email.clone(),
        subject: format!("Welcome to {site_name}"),
        text: format!(
            "Hello {first},\n\nyour account \"{username}\" on {site_name} is ready: sign in with \
             your user name and the password you chose.\n\nIf you did not sign up, reply to this mail.\n",
        ),
        html: Some(format!(
            "<!doctype html><html><body><p>Hello {first},</p><p>your account <strong>{username}</strong> on {site} \
             is ready: sign in with your user name and the password you chose.</p>\
             <p>If you did not sign up, reply to this mail.</p></body></html>",
            first = html_escape(&first),
            username = html_escape(username),
            site = html_escape(site_name),
        )),
    }
}
