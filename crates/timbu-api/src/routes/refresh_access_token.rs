//! `GET /auth/refresh-access-token`: spends the presented refresh token (cookie, or
//! `Authorization: Bearer`) and answers a new access token and refresh cookie. A spent token
//! presented again revokes its whole login.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::{
    auth::{account_of, bearer, refresh_cookie, token_headers},
    errors::{TimbuError, Unauthenticated},
    wire::{RefreshResponse, Token, UserData},
    TimbuState,
};

/// Refresh Access Token
#[utoipa::path(
    get,
    path = "/auth/refresh-access-token",
    operation_id = "auth-refresh-access-token",
    tag = "auth",
    security(("refresh_cookie" = []), ("refresh_bearer" = [])),
    responses(
        (status = 200, description = "A new access token; the presented refresh token is spent and a new one set as the `refresh_token` cookie.", body = RefreshResponse,
            headers(("Set-Cookie" = String, description = "The new refresh cookie"), ("Cache-Control" = String, description = "`no-store`"))),
        (status = 401, description = "Unauthenticated: no refresh token, or one that is expired, forged, spent (its whole login is then revoked) or revoked.", body = crate::wire::DetailResponse),
    )
)]
#[tracing::instrument(name = "Timbu token refresh", skip_all)]
pub async fn refresh_access_token(req: HttpRequest, state: web::Data<TimbuState>) -> HttpResponse {
    handle(&req, &state)
        .await
        .unwrap_or_else(|error| error.render())
}

async fn handle(req: &HttpRequest, state: &TimbuState) -> Result<HttpResponse, TimbuError> {
    // An explicit header is the caller's choice; the cookie is what a browser sends anyway.
    let token = match bearer(req) {
        Some(token) => token.to_string(),
        None => refresh_cookie(req).ok_or(Unauthenticated::NoToken)?,
    };
    // The subject must be an account of this realm before the token is spent here.
    let claims = state.jwt.verify_refresh(&token)?;
    let account = account_of(state, &claims.sub).await?;
    let (id, pair) = state.jwt.rotate(&token).await?;
    if id != account.id {
        return Err(TimbuError::Unexpected(anyhow::anyhow!(
            "a refresh token's subject is not the account its row names"
        )));
    }
    let mut response = HttpResponse::Ok();
    token_headers(&mut response, state.cookie.set(&pair.refresh));
    Ok(response.json(RefreshResponse {
        user: UserData::of(&account, |name| state.image_url(name)),
        access_token: Token(pair.access),
        expires_in: pair.access_expires_in,
    }))
}
