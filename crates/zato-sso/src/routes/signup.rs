//! `POST /zato/sso/user/signup`: admit, parse, run the check table, one core call, render.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;
use signup_core::{
    tokens::TokenPurpose, AccountId, AccountStatus, Accounts, Confirmation, EmailAddress,
    NewAccount, Realm, SignUpError, Username,
};
use signup_http::{Checks, NO_STORE};

use crate::{
    cid::Cid,
    errors::ZatoError,
    policy::Registry,
    wire::{Answer, SignUpFields},
    ZatoState,
};

/// User.signup: creates a user, answering the token that confirms the sign-up.
#[utoipa::path(
    post,
    path = "/zato/sso/user/signup",
    operation_id = "zato.sso.user.signup",
    tag = "user",
    request_body(content = crate::wire::SignupRequest, content_type = "application/json",
        description = "Read as JSON whatever the Content-Type."),
    responses(
        (status = 200, description = "Created: `{cid, status: \"ok\", confirm_token}`", body = Answer,
            headers(("X-Zato-CID" = String, description = "The cid of the body"), ("Cache-Control" = String, description = "`no-store`"))),
        (status = 400, description = "Body not JSON, not an object, or a field of the wrong type: `[\"E005001\"]`", body = Answer),
        (status = 403, description = "A rule of the check table, first failure wins: `E004001` (or `E005001`), `E004002`, `E001001`, `E001003`*, `E001004`*, `E001002`*, `E003002`**, `E003003`**, `E003001`**, `E003008`**, `E002005`***, `E002003`***, `E002004`***, `E002001`***, `E002002`***. Starred codes are `E005001` unless the matching `inform_if_*` setting is true.", body = Answer),
        (status = 405, description = "Another method: `[\"E005001\"]`, `Allow: POST, PATCH`", body = Answer),
        (status = 413, description = "Body over the limit: `[\"E005001\"]`", body = Answer),
        (status = 429, description = "Too many requests from this address: `[\"E005001\"]`, `Retry-After`", body = Answer),
        (status = 500, description = "Unexpected: `[\"E005001\"]`", body = Answer),
        (status = 503, description = "Overloaded: `[\"E005001\"]`, `Retry-After`", body = Answer),
    )
)]
#[tracing::instrument(name = "Zato SSO sign-up", skip_all)]
pub async fn sign_up(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<ZatoState>,
) -> HttpResponse {
    let cid = Cid::of(&req);
    match handle(&req, payload, &state).await {
        Ok(confirm_token) => {
            state.context.record_sign_up("created");
            HttpResponse::Ok()
                .insert_header(NO_STORE)
                .json(Answer::ok(cid.as_str(), Some(confirm_token)))
        }
        Err(error) => {
            state.context.record_sign_up(error.outcome());
            error.render(&cid, &state.policy)
        }
    }
}

async fn handle(
    req: &HttpRequest,
    payload: web::Payload,
    state: &ZatoState,
) -> Result<String, ZatoError> {
    let context = &state.context;
    // No early shedding: an overloaded pool is the table's last row, after every rule.
    let body = context
        .admit(req, Checks::ANY_WITHOUT_PASSWORD)
        .await?
        .body(req, payload)
        .await?;
    let fields = SignUpFields::parse(&body)?;
    let registry = Directory {
        accounts: &state.accounts,
        realm: &context.realm,
    };
    let accepted = state.policy.check(fields, &registry).await?;
    let approval_status = if state.approval_needed {
        "before_decision"
    } else {
        "approved"
    };
    let new = NewAccount {
        id: AccountId::generate(),
        realm: context.realm.clone(),
        email: accepted.email,
        username: Some(accepted.username),
        password: Some(accepted.password),
        profile: json!({
            "sign_up_status": "before_confirmation",
            "approval_status": approval_status,
            "approval_status_mod_by": "auto",
        }),
        status: AccountStatus::PendingConfirmation,
        confirmation: Some(Confirmation::new(
            TokenPurpose::ConfirmSignUp,
            state.confirm_token_ttl,
        )),
        mail: None,
    };
    let signed_up = state.accounts.sign_up(new).await?;
    let token = signed_up.confirmation.ok_or_else(|| {
        ZatoError::Unexpected(anyhow::anyhow!("the core returned no confirm token"))
    })?;
    Ok(token.as_str().to_string())
}

/// The realm's accounts, for the two rows that look names up.
struct Directory<'a> {
    accounts: &'a Accounts,
    realm: &'a Realm,
}

impl Registry for Directory<'_> {
    async fn username_taken(&self, username: &Username) -> Result<bool, SignUpError> {
        Ok(self
            .accounts
            .find_by_username(self.realm, username)
            .await?
            .is_some())
    }

    async fn email_taken(&self, email: &EmailAddress) -> Result<bool, SignUpError> {
        Ok(self
            .accounts
            .find_by_email(self.realm, email)
            .await?
            .is_some())
    }
}
