//! `GET /users/me`: the account the access token names.

use actix_web::{web, HttpRequest, HttpResponse};
use signup_http::NO_STORE;

use crate::{
    auth::authenticated,
    errors::TimbuError,
    wire::{UserData, UserResponse},
    TimbuState,
};

/// Current User
#[utoipa::path(
    get,
    path = "/users/me",
    operation_id = "users-me",
    tag = "users",
    security(("access_token" = [])),
    responses(
        (status = 200, description = "The signed-in user", body = UserResponse),
        (status = 401, description = "Unauthenticated: no access token, or one that is expired, forged or a refresh token, or its account no longer exists.", body = crate::wire::DetailResponse),
    )
)]
#[tracing::instrument(name = "Timbu current user", skip_all)]
pub async fn users_me(req: HttpRequest, state: web::Data<TimbuState>) -> HttpResponse {
    handle(&req, &state)
        .await
        .unwrap_or_else(|error| error.render())
}

async fn handle(req: &HttpRequest, state: &TimbuState) -> Result<HttpResponse, TimbuError> {
    let (_, account) = authenticated(req, state).await?;
    Ok(HttpResponse::Ok()
        .insert_header(NO_STORE)
        .json(UserResponse {
            data: UserData::of(&account, |name| state.image_url(name)),
        }))
}
