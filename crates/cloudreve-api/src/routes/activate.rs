//! `GET /api/v4/user/activate/{id}?sign=...`: the link of the activation mail (the frontend's
//! `/session/activate` page calls it).

use actix_web::{web, HttpRequest, HttpResponse};
use signup_core::{accounts::ConfirmError, Activation};

use crate::{
    errors::{correlation_id, success, CloudreveError},
    hashid, CloudreveState,
};

/// Upstream's message when the status could not be written.
const UPDATE_FAILED: &str = "Failed to update user status";

/// Activate a user
///
/// Checks the signature of the path first (403 `expire timestamp is missing`, 40071 `sign
/// expired`, 40005 `signature expired`, 40071 `invalid sign`), then the id (40001 `Failed to
/// parse object ID`), then the user (40021 `User not found`, 40034 `This user cannot be
/// activated`); on success `data` is the User, now `active`.
#[utoipa::path(
    get,
    path = "/api/v4/user/activate/{id}",
    tag = "User",
    params(
        ("id" = String, Path, description = "The user's hashid"),
        ("sign" = String, Query, description = "`<base64url MAC>:<expires>` from the activation mail"),
    ),
    responses(
        (status = 200, description = "`code` 0 with `data` = User (active), or a failure code (see above) with `correlation_id`", body = crate::wire::Response),
    )
)]
#[tracing::instrument(name = "Cloudreve activation", skip_all)]
pub async fn activate(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<CloudreveState>,
) -> HttpResponse {
    let mut response = match handle(&req, &path, &state).await {
        Ok(response) => response,
        Err(error) => error.render(correlation_id(&req)),
    };
    // The signature is in this URL: never hand it on in a `Referer`.
    signup_http::set_header(&mut response, signup_http::NO_REFERRER);
    response
}

async fn handle(
    req: &HttpRequest,
    id: &str,
    state: &CloudreveState,
) -> Result<HttpResponse, CloudreveError> {
    // Like Go's `Query().Get`: the first `sign`.
    let sign = url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(key, _)| key == "sign")
        .map(|(_, value)| value.into_owned());
    let now = chrono::Utc::now().timestamp();
    state
        .signer
        .check(&format!("/api/v4/user/activate/{id}"), sign.as_deref(), now)?;
    let seq = state
        .ids
        .number(id, hashid::USER)
        .and_then(|n| i64::try_from(n).ok())
        .ok_or(CloudreveError::BadObjectId)?;
    let activation = state
        .context
        .services
        .accounts
        .activate_numbered(&state.context.realm, seq)
        .await
        .map_err(|e| CloudreveError::Store {
            msg: UPDATE_FAILED,
            cause: match e {
                ConfirmError::Unavailable(cause) => cause,
                ConfirmError::InvalidToken => anyhow::anyhow!("no token is involved here"),
            },
        })?;
    match activation {
        Activation::Activated(account) => Ok(success(0, Some(state.user(&account, seq)))),
        Activation::NotInactive(_) => Err(CloudreveError::CannotActivate),
        Activation::NotFound => Err(CloudreveError::UserNotFound),
    }
}
