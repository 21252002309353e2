//! `POST /auth/login`: one argon2 verification whatever the case, then a new login (a new
//! refresh-token family).

use actix_web::{web, HttpRequest, HttpResponse};
use signup_core::{accounts, AccountStatus, EmailAddress, Login, Password, PasswordPolicy};
use signup_http::Checks;

use crate::{
    auth::{subject, token_headers},
    body,
    errors::TimbuError,
    wire::{parse_login, AuthResponse, Token, UserData, LOGIN_PASSWORD_MAX_CHARS},
    TimbuState,
};

/// Login
#[utoipa::path(
    post,
    path = "/auth/login",
    operation_id = "auth-login",
    tag = "auth",
    request_body(content = crate::wire::LoginRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The user and a new token pair; the refresh token is also set as the `refresh_token` cookie.", body = AuthResponse,
            headers(("Set-Cookie" = String, description = "The refresh cookie"), ("Cache-Control" = String, description = "`no-store`"))),
        (status = 400, description = "There was an error parsing the body", body = crate::wire::DetailResponse),
        (status = 403, description = "Invalid credentials (unknown email or wrong password alike)", body = crate::wire::DetailResponse),
        (status = 415, description = "Unsupported media type", body = crate::wire::DetailResponse),
        (status = 422, description = "Validation Error (`email` or `password` missing or not a string)", body = crate::wire::HttpValidationError),
        (status = 503, description = "Service temporarily overloaded, retry later (`Retry-After`)", body = crate::wire::DetailResponse),
    )
)]
#[tracing::instrument(name = "Timbu login", skip_all)]
pub async fn login(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<TimbuState>,
) -> HttpResponse {
    handle(&req, payload, &state)
        .await
        .unwrap_or_else(|error| error.render())
}

async fn handle(
    req: &HttpRequest,
    payload: web::Payload,
    state: &TimbuState,
) -> Result<HttpResponse, TimbuError> {
    let admitted = state.context.admit(req, Checks::JSON_WITH_PASSWORD).await?;
    let fields = body::json(req, payload, admitted).await?;
    let (email, password) = parse_login(fields).map_err(TimbuError::Invalid)?;
    // No account has an invalid address or an overlong password: refused without a lookup.
    let invalid = || TimbuError::Login(accounts::AuthError::InvalidCredentials);
    let email = EmailAddress::parse(&email).map_err(|_| invalid())?;
    let policy = PasswordPolicy {
        min_chars: 0,
        max_chars: LOGIN_PASSWORD_MAX_CHARS.max(state.password_policy.max_chars),
    };
    let password = Password::parse(password.to_string(), policy).map_err(|_| invalid())?;
    let account = state
        .context
        .services
        .accounts
        .authenticate(&state.context.realm, Login::Email(&email), password)
        .await?;
    if account.status != AccountStatus::Active {
        return Err(invalid());
    }
    let pair = state
        .jwt
        .issue_pair(account.id, &subject(account.id))
        .await?;
    let mut response = HttpResponse::Ok();
    token_headers(&mut response, state.cookie.set(&pair.refresh));
    Ok(response.json(AuthResponse {
        data: UserData::of(&account, |name| state.image_url(name)),
        access_token: Token(pair.access),
        refresh_token: Token(pair.refresh),
    }))
}
