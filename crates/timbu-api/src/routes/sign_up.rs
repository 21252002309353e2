//! `POST /auth/signup`: admit, read the body (JSON, or multipart with the image streamed to a
//! temporary file), check the fields, one core call, publish the image, issue the tokens.

use actix_web::{web, HttpRequest, HttpResponse};
use signup_core::{AccountId, AccountStatus, NewAccount};
use signup_http::{has_json_content_type, media_type, Checks};

use crate::{
    auth::{subject, token_headers},
    body::{self, Submitted},
    errors::TimbuError,
    wire::{parse_sign_up, AuthResponse, Token, UserData},
    TimbuState,
};

/// User Signup
#[utoipa::path(
    post,
    path = "/auth/signup",
    operation_id = "auth-signup",
    tag = "auth",
    request_body(
        description = "The new user's details: JSON, or `multipart/form-data` with the same fields as text parts and an optional `image` file.",
        content(
            (crate::wire::SignupRequest = "application/json"),
            (crate::wire::SignupForm = "multipart/form-data"),
        )
    ),
    responses(
        (status = 201, description = "Successful Response. Returns the created user and tokens; the refresh token is also set as the `refresh_token` cookie (`HttpOnly; SameSite=Lax; Path=<mount>/auth`).", body = AuthResponse,
            headers(("Set-Cookie" = String, description = "`refresh_token=<JWT>; HttpOnly; SameSite=Lax; Path=<mount>/auth; Max-Age=<refresh_ttl_secs>` (+ `Secure`)"),
                    ("Cache-Control" = String, description = "`no-store`"))),
        (status = 400, description = "`User with this email already exists`, `There was an error parsing the body`, or the image is not a PNG, JPEG, GIF, WebP, BMP, TIFF, ICO or AVIF file.", body = crate::wire::DetailResponse),
        (status = 413, description = "`Image must not exceed N bytes.` or `Request body must not exceed N bytes.`", body = crate::wire::DetailResponse),
        (status = 415, description = "`Unsupported media type`: neither JSON nor multipart/form-data.", body = crate::wire::DetailResponse),
        (status = 422, description = "Validation Error: one item per failing field, in field order.", body = crate::wire::HttpValidationError),
        (status = 429, description = "Too many requests from this address (`Retry-After`).", body = crate::wire::DetailResponse),
        (status = 500, description = "Internal Server Error", body = crate::wire::DetailResponse),
        (status = 503, description = "Service temporarily overloaded, retry later (`Retry-After`).", body = crate::wire::DetailResponse),
    )
)]
#[tracing::instrument(name = "Timbu sign-up", skip_all)]
pub async fn sign_up(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<TimbuState>,
) -> HttpResponse {
    match handle(&req, payload, &state).await {
        Ok(response) => {
            state.context.record_sign_up("created");
            response
        }
        Err(error) => {
            state.context.record_sign_up(error.outcome());
            error.render()
        }
    }
}

async fn handle(
    req: &HttpRequest,
    payload: web::Payload,
    state: &TimbuState,
) -> Result<HttpResponse, TimbuError> {
    let context = &state.context;
    let admitted = context.admit(req, Checks::ANY_WITH_PASSWORD).await?;
    let Submitted { fields, image } = if has_json_content_type(req) {
        Submitted {
            fields: body::json(req, payload, admitted).await?,
            image: None,
        }
    } else if media_type(req).as_deref() == Some("multipart/form-data") {
        body::multipart(req, payload, admitted, &state.media).await?
    } else {
        return Err(TimbuError::UnsupportedMediaType);
    };
    // From here on, an error drops `image`, which removes its temporary file.
    let parsed = parse_sign_up(fields, state.password_policy).map_err(TimbuError::Invalid)?;

    let new = NewAccount {
        id: AccountId::generate(),
        realm: context.realm.clone(),
        profile: parsed
            .profile
            .to_json(image.as_ref().map(|image| image.name())),
        email: parsed.email,
        username: None,
        password: Some(parsed.password),
        status: AccountStatus::Active,
        confirmation: None,
        mail: None,
    };
    let account = context.services.accounts.sign_up(new).await?.account;
    // Committed: only now does the image get its name.
    if let Some(image) = image {
        let name = image.name().to_string();
        if let Err(error) = image.publish().await {
            // The account exists and its answer follows; the image URL will answer 404.
            tracing::error!(%error, image = %name, account_id = %account.id, "Could not publish an uploaded image");
        }
    }
    let pair = state
        .jwt
        .issue_pair(account.id, &subject(account.id))
        .await?;
    let mut response = HttpResponse::Created();
    token_headers(&mut response, state.cookie.set(&pair.refresh));
    Ok(response.json(AuthResponse {
        data: UserData::of(&account, |name| state.image_url(name)),
        access_token: Token(pair.access),
        refresh_token: Token(pair.refresh),
    }))
}
