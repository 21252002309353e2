//! Confirming a sign-up: `PATCH /zato/sso/user/signup` (upstream's channel) and
//! `POST /zato/sso/user/signup/confirm` (the path upstream documents), one use case.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Map};
use signup_core::tokens::TokenPurpose;
use signup_http::Checks;

use crate::{
    cid::Cid,
    errors::ZatoError,
    policy::Row,
    wire::{Answer, ConfirmFields},
    ZatoState,
};

/// User.confirm_signup, on upstream's channel.
#[utoipa::path(
    patch,
    path = "/zato/sso/user/signup",
    operation_id = "zato.sso.user.signup.confirm.patch",
    tag = "user",
    request_body(content = crate::wire::ConfirmRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Confirmed: `{cid, status: \"ok\"}`; the user's `sign_up_status` is `final`", body = Answer),
        (status = 400, description = "Malformed body: `[\"E005001\"]`", body = Answer),
        (status = 403, description = "`current_app` invalid: `[\"E004001\"]` (`[\"E005001\"]` when `apps.inform_if_app_invalid = false`); token missing, unknown or expired: `[\"E005006\"]`; token already used: `[\"E005007\"]`", body = Answer),
        (status = 500, description = "Unexpected: `[\"E005001\"]`", body = Answer),
    )
)]
#[tracing::instrument(name = "Zato SSO sign-up confirmation", skip_all)]
pub async fn confirm_patch(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<ZatoState>,
) -> HttpResponse {
    confirm(req, payload, state).await
}

/// User.confirm_signup, on the documented path.
#[utoipa::path(
    post,
    path = "/zato/sso/user/signup/confirm",
    operation_id = "zato.sso.user.signup.confirm",
    tag = "user",
    request_body(content = crate::wire::ConfirmRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Confirmed: `{cid, status: \"ok\"}`; the user's `sign_up_status` is `final`", body = Answer),
        (status = 400, description = "Malformed body: `[\"E005001\"]`", body = Answer),
        (status = 403, description = "`current_app` invalid: `[\"E004001\"]` (`[\"E005001\"]` when `apps.inform_if_app_invalid = false`); token missing, unknown or expired: `[\"E005006\"]`; token already used: `[\"E005007\"]`", body = Answer),
        (status = 405, description = "Another method: `[\"E005001\"]`, `Allow: POST`", body = Answer),
        (status = 500, description = "Unexpected: `[\"E005001\"]`", body = Answer),
    )
)]
#[tracing::instrument(name = "Zato SSO sign-up confirmation", skip_all)]
pub async fn confirm_post(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<ZatoState>,
) -> HttpResponse {
    confirm(req, payload, state).await
}

async fn confirm(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<ZatoState>,
) -> HttpResponse {
    let cid = Cid::of(&req);
    match handle(&req, payload, &state).await {
        Ok(()) => HttpResponse::Ok().json(Answer::ok(cid.as_str(), None)),
        Err(error) => error.render(&cid, &state.policy),
    }
}

async fn handle(
    req: &HttpRequest,
    payload: web::Payload,
    state: &ZatoState,
) -> Result<(), ZatoError> {
    let body = state
        .context
        .admit(req, Checks::ANY_WITHOUT_PASSWORD)
        .await?
        .body(req, payload)
        .await?;
    let fields = ConfirmFields::parse(&body)?;
    // As upstream: the application first, then the token.
    if !state.policy.knows_app(fields.current_app.as_deref()) {
        return Err(ZatoError::Refused(state.policy.violation(Row::CurrentApp)));
    }
    let token = fields.confirm_token.ok_or(ZatoError::UnknownToken)?;
    let mut profile = Map::new();
    profile.insert("sign_up_status".into(), json!("final"));
    profile.insert(
        "sign_up_confirm_time".into(),
        json!(crate::rfc3339(chrono::Utc::now())),
    );
    let account = state
        .accounts
        .confirm_with(TokenPurpose::ConfirmSignUp, &token, profile)
        .await?;
    tracing::info!(account_id = %account.id, "Sign-up confirmed");
    Ok(())
}
