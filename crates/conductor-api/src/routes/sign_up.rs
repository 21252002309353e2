//! `POST /auth/signup`: parse, call the core, render.

use actix_web::{http::header, web, HttpRequest, HttpResponse};
use serde_json::{json, Value};
use signup_core::{Account, AccountId, AccountStatus, NewAccount};
use signup_http::{Checks, Refusal};
use tracing_actix_web::RequestId;

use crate::{
    errors::ConductorError,
    mail,
    wire::{parse_sign_up, ErrorResponse, SignupResponse, UserData},
    ConductorState,
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
    match handle(&req, payload, &state).await {
        Ok(response) => {
            state.context.record_sign_up("created");
            response
        }
        Err(error) => {
            state.context.record_sign_up(error.outcome());
            error.render(&request_id.to_string())
        }
    }
}

async fn handle(
    req: &HttpRequest,
    payload: web::Payload,
    state: &ConductorState,
) -> Result<HttpResponse, ConductorError> {
    let context = &state.context;
    let body = context
        .admit(req, Checks::JSON_WITH_PASSWORD)
        .await?
        .body(req, payload)
        .await
        .map_err(|refusal| match refusal {
            // A body cut short is as malformed as a broken one.
            Refusal::Incomplete => ConductorError::MalformedJson { position: None },
            other => other.into(),
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

    let welcome = mail::welcome(
        parsed.email.as_str(),
        &parsed.first_name,
        parsed.username.as_str(),
        &context.services.site_name,
    )
    .map_err(|e| ConductorError::Unexpected(e.into()))?;
    let new = NewAccount {
        id: AccountId::generate(),
        realm: context.realm.clone(),
        profile: json!({ "first_name": parsed.first_name, "last_name": parsed.last_name }),
        email: parsed.email,
        username: Some(parsed.username),
        password: Some(parsed.password),
        status: AccountStatus::Active,
        confirmation: None,
        mail: Some(welcome),
    };
    let account = context.services.accounts.sign_up(new).await?.account;
    let location = format!("{}/users/{}", context.prefix(), account.id);
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
