//! `GET /api/v4/site/captcha`: a PNG and the ticket that names its answer in the database.

use actix_web::{web, HttpRequest, HttpResponse};
use base64::{engine::general_purpose::STANDARD, Engine};
use signup_http::{Checks, NO_STORE};

use crate::{
    errors::{correlation_id, success, CloudreveError},
    wire::Captcha,
    CloudreveState, CAPTCHA_TTL,
};

const CAPTCHA_FAILED: &str = "Failed to generate captcha";

/// Get a captcha
///
/// A PNG of six letters and digits, and its ticket: single use (spent by the first check,
/// right or wrong), valid 10 minutes, the answer compared ignoring case. Any gateway instance
/// on the same database checks it.
#[utoipa::path(
    get,
    path = "/api/v4/site/captcha",
    tag = "Site",
    responses(
        (status = 200, description = "`code` 0 with `data` = `{image: \"data:image/png;base64,...\", ticket}`", body = crate::wire::Response,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 429, description = "Too many requests from this address (`Retry-After`), code 429", body = crate::wire::Response),
    )
)]
#[tracing::instrument(name = "Cloudreve captcha", skip_all)]
pub async fn captcha(req: HttpRequest, state: web::Data<CloudreveState>) -> HttpResponse {
    match handle(&req, &state).await {
        Ok(response) => response,
        Err(error) => error.render(correlation_id(&req)),
    }
}

async fn handle(req: &HttpRequest, state: &CloudreveState) -> Result<HttpResponse, CloudreveError> {
    // A ticket is a row: the per-address limit applies as to a sign-up.
    let _admitted = state
        .context
        .admit(req, Checks::ANY_WITHOUT_PASSWORD)
        .await?;
    let fixed = state.captcha_test_answer.clone();
    let failed = |cause: anyhow::Error| CloudreveError::Store {
        msg: CAPTCHA_FAILED,
        cause,
    };
    let drawn = web::block(move || crate::captcha::draw(fixed.as_deref()))
        .await
        .map_err(|e| failed(anyhow::anyhow!("the captcha drawing failed: {e}")))?
        .ok_or_else(|| failed(anyhow::anyhow!("the captcha could not be encoded")))?;
    let ticket =
        signup_core::captcha::issue(state.context.services.store(), &drawn.answer, CAPTCHA_TTL)
            .await
            .map_err(|e| failed(e.into()))?;
    let mut response = success(
        0,
        Some(Captcha {
            image: format!("data:image/png;base64,{}", STANDARD.encode(&drawn.png)),
            ticket,
        }),
    );
    // A ticket is spent once: no cache may hand the same one to a second client.
    signup_http::set_header(&mut response, NO_STORE);
    Ok(response)
}
