//! `POST /auth/logout`: revokes the refresh tokens of the login the access token belongs to
//! (no other login's) and expires the cookie.

use actix_web::{http::header, web, HttpRequest, HttpResponse};
use signup_http::NO_STORE;

use crate::{auth::authenticated, errors::TimbuError, wire::MessageResponse, TimbuState};

/// Logout
#[utoipa::path(
    post,
    path = "/auth/logout",
    operation_id = "auth-logout",
    tag = "auth",
    security(("access_token" = [])),
    responses(
        (status = 200, description = "The login's refresh tokens are revoked and the cookie expired (`Max-Age=0`).", body = MessageResponse),
        (status = 401, description = "Unauthenticated: no access token, or one that is expired, forged or a refresh token.", body = crate::wire::DetailResponse),
    )
)]
#[tracing::instrument(name = "Timbu logout", skip_all)]
pub async fn logout(req: HttpRequest, state: web::Data<TimbuState>) -> HttpResponse {
    handle(&req, &state)
        .await
        .unwrap_or_else(|error| error.render())
}

async fn handle(req: &HttpRequest, state: &TimbuState) -> Result<HttpResponse, TimbuError> {
    let (claims, _) = authenticated(req, state).await?;
    state.jwt.revoke_family_of(&claims).await?;
    Ok(HttpResponse::Ok()
        .insert_header(NO_STORE)
        .append_header((header::SET_COOKIE, state.cookie.clear()))
        .json(MessageResponse {
            message: "User logged out successfully.",
        }))
}
