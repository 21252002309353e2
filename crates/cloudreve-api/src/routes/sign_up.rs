//! `POST /api/v4/user`: sign-up enabled, then the captcha, then the body, then one core call.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};
use signup_core::{
    outbox::OutgoingMail, AccountId, AccountStatus, EmailAddress, NewAccount, Password,
    PasswordError, PasswordPolicy, SignUpError,
};
use signup_http::Checks;

use crate::{
    errors::{
        correlation_id, success, CloudreveError, INSERT_FAILED, JSON_TYPE_ERROR, PARAMETER_ERROR,
    },
    mail, nickname, CloudreveState, ACTIVATION_TTL, EMAIL_MAX_CHARS, PASSWORD_MAX_CHARS,
    PASSWORD_MIN_CHARS,
};

/// Sign up
///
/// Creates an account from an address and a password. Checks run in this order, the first
/// failure answering: sign-up disabled (40019), captcha when `reg_captcha` (40026), the body
/// (40001: `Parameter error`, `JSON marshall error`, `Email cannot be empty`, `Email format
/// error`, `Password cannot be empty`, `Password too short`, `Password too long`), the
/// address taken by an active or banned user (40032) or by an inactive one (40033, the
/// activation mail is sent again), a store failure (50001 `Failed to insert user row`).
#[utoipa::path(
    post,
    path = "/api/v4/user",
    tag = "User",
    request_body(content = crate::wire::SignUpRequest, content_type = "application/json"),
    params(("X-Cr-Correlation-Id" = Option<String>, Header, description = "Correlation id echoed on failure (a UUID)")),
    responses(
        (status = 200, description = "`code` 0 with `data` = User; `code` 203 (no `data`) when the account waits for its activation link; or a failure code (see above), with `correlation_id`.", body = crate::wire::Response),
        (status = 429, description = "Too many requests from this address (`Retry-After`), code 429", body = crate::wire::Response),
        (status = 503, description = "Server is busy (`Retry-After`), code 50001", body = crate::wire::Response),
    )
)]
#[tracing::instrument(name = "Cloudreve sign-up", skip_all)]
pub async fn sign_up(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<CloudreveState>,
) -> HttpResponse {
    match handle(&req, payload, &state).await {
        Ok((response, outcome)) => {
            state.context.record_sign_up(outcome);
            response
        }
        Err(error) => {
            state.context.record_sign_up(error.outcome());
            error.render(correlation_id(&req))
        }
    }
}

/// A sign-up body that passed the checks.
struct Parsed {
    email: EmailAddress,
    password: Password,
    language: String,
}

async fn handle(
    req: &HttpRequest,
    payload: web::Payload,
    state: &CloudreveState,
) -> Result<(HttpResponse, &'static str), CloudreveError> {
    if !state.register_enabled {
        return Err(CloudreveError::RegisterDisabled);
    }
    let context = &state.context;
    let body = context
        .admit(req, Checks::ANY_WITH_PASSWORD)
        .await?
        .body(req, payload)
        .await?;
    // Upstream binds JSON whatever the Content-Type says.
    let value = serde_json::from_slice::<Value>(&body).ok();
    if state.reg_captcha {
        check_captcha(state, value.as_ref()).await?;
    }
    let parsed = parse(value)?;

    let profile = json!({ "language": parsed.language, "group": state.default_group });
    let status = if state.email_active {
        AccountStatus::Inactive
    } else {
        AccountStatus::Active
    };
    let new = NewAccount {
        id: AccountId::generate(),
        realm: context.realm.clone(),
        email: parsed.email.clone(),
        username: None,
        password: Some(parsed.password),
        profile,
        status,
        confirmation: None,
        mail: None,
    };
    let email_active = state.email_active;
    let address = parsed.email.as_str();
    let render = move |seq| {
        if email_active {
            activation_mail(state, address, seq).map(Some)
        } else {
            Ok(None)
        }
    };
    match context
        .services
        .accounts
        .sign_up_numbered(new, Box::new(render))
        .await
    {
        Ok(_) if email_active => Ok((success::<()>(203, None), "activation_sent")),
        Ok(signed_up) => {
            let seq = signed_up.seq.ok_or_else(|| CloudreveError::Store {
                msg: INSERT_FAILED,
                cause: anyhow::anyhow!("a numbered sign-up returned no number"),
            })?;
            let user = state.user(&signed_up.account, seq);
            Ok((success(0, Some(user)), "created"))
        }
        Err(SignUpError::EmailTaken) => Err(taken(state, &parsed.email).await?),
        Err(other) => Err(other.into()),
    }
}

/// The activation mail of user `seq`, its link valid for 24 hours from now.
fn activation_mail(state: &CloudreveState, email: &str, seq: i64) -> anyhow::Result<OutgoingMail> {
    let expires = chrono::Utc::now().timestamp() + ACTIVATION_TTL.as_secs() as i64;
    let link = state.activation_link(seq, expires);
    Ok(mail::activation(
        email,
        &nickname(email),
        &link,
        &state.site_title,
    )?)
}

/// The address is taken: 40033 (the activation mail sent again) when its user is inactive,
/// else 40032.
async fn taken(
    state: &CloudreveState,
    email: &EmailAddress,
) -> Result<CloudreveError, CloudreveError> {
    let address = email.as_str();
    let found = state
        .context
        .services
        .accounts
        .resend_for_inactive(
            &state.context.realm,
            email,
            Box::new(move |seq| activation_mail(state, address, seq).map(Some)),
        )
        .await?;
    Ok(match found {
        Some((account, Some(_))) if account.status == AccountStatus::Inactive => {
            CloudreveError::ActivationResent
        }
        _ => CloudreveError::EmailInUse,
    })
}

/// Upstream's captcha middleware: the body's `ticket` and `captcha` strings; a missing,
/// mistyped, wrong, expired or spent one is 40026. The ticket is spent either way.
async fn check_captcha(
    state: &CloudreveState,
    value: Option<&Value>,
) -> Result<(), CloudreveError> {
    let Some(Value::Object(object)) = value else {
        return Err(CloudreveError::CaptchaMismatch);
    };
    let text = |key: &str| match object.get(key) {
        None | Some(Value::Null) => Ok(""),
        Some(Value::String(s)) => Ok(s.as_str()),
        Some(_) => Err(CloudreveError::CaptchaMismatch),
    };
    let (ticket, answer) = (text("ticket")?, text("captcha")?);
    if ticket.is_empty() {
        return Err(CloudreveError::CaptchaMismatch);
    }
    let store = state.context.services.store();
    let matched = signup_core::captcha::redeem(store, ticket, answer)
        .await
        .map_err(|e| CloudreveError::Store {
            msg: INSERT_FAILED,
            cause: e.into(),
        })?;
    if matched {
        Ok(())
    } else {
        Err(CloudreveError::CaptchaMismatch)
    }
}

/// The body's checks in upstream's order: a JSON object, the types of its fields, then the
/// address, then the password; the first failure only.
fn parse(value: Option<Value>) -> Result<Parsed, CloudreveError> {
    let param = CloudreveError::Param;
    let Some(Value::Object(mut object)) = value else {
        return Err(param(PARAMETER_ERROR));
    };
    for key in ["email", "password", "language"] {
        if !matches!(object.get(key), None | Some(Value::Null | Value::String(_))) {
            return Err(param(JSON_TYPE_ERROR));
        }
    }
    let email = take_string(&mut object, "email");
    let email = email.trim().to_lowercase();
    if email.is_empty() {
        return Err(param("Email cannot be empty"));
    }
    if email.chars().count() > EMAIL_MAX_CHARS {
        return Err(param("Email format error"));
    }
    let email = EmailAddress::parse(&email).map_err(|_| param("Email format error"))?;
    let password = take_string(&mut object, "password");
    if password.is_empty() {
        return Err(param("Password cannot be empty"));
    }
    let policy = PasswordPolicy {
        min_chars: PASSWORD_MIN_CHARS,
        max_chars: PASSWORD_MAX_CHARS,
    };
    let password = Password::parse(password, policy).map_err(|e| match e {
        PasswordError::TooShort { .. } => param("Password too short"),
        PasswordError::TooLong { .. } => param("Password too long"),
    })?;
    let language = match take_string(&mut object, "language") {
        language if language.is_empty() => "en-US".to_string(),
        language => language,
    };
    Ok(Parsed {
        email,
        password,
        language,
    })
}

/// A string field (already type-checked), `""` when absent or `null`.
fn take_string(object: &mut Map<String, Value>, key: &str) -> String {
    match object.remove(key) {
        Some(Value::String(s)) => s,
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(body: &str) -> String {
        match parse(serde_json::from_str(body).ok()) {
            Ok(_) => "ok".into(),
            Err(CloudreveError::Param(msg)) => msg.into(),
            Err(other) => format!("{other:?}"),
        }
    }

    #[test]
    fn the_body_checks_report_the_first_failure_in_upstream_order() {
        let long_email = format!("{}@example.com", "a".repeat(89));
        let cases = [
            ("", "Parameter error"),
            ("{", "Parameter error"),
            ("null", "Parameter error"),
            ("[]", "Parameter error"),
            ("\"x\"", "Parameter error"),
            ("12", "Parameter error"),
            (r#"{"email":1,"password":""}"#, "JSON marshall error"),
            (r#"{"email":"","password":123}"#, "JSON marshall error"),
            (
                r#"{"email":"a@example.com","password":"secret1","language":5}"#,
                "JSON marshall error",
            ),
            ("{}", "Email cannot be empty"),
            (
                r#"{"email":null,"password":"secret1"}"#,
                "Email cannot be empty",
            ),
            (
                r#"{"email":"   ","password":"secret1"}"#,
                "Email cannot be empty",
            ),
            (r#"{"email":"nope","password":""}"#, "Email format error"),
            (
                &format!(r#"{{"email":"{long_email}","password":"secret1"}}"#),
                "Email format error",
            ),
            (r#"{"email":"a@example.com"}"#, "Password cannot be empty"),
            (
                r#"{"email":"a@example.com","password":null}"#,
                "Password cannot be empty",
            ),
            (
                r#"{"email":"a@example.com","password":"12345"}"#,
                "Password too short",
            ),
            (
                r#"{"email":"a@example.com","password":"ééééé"}"#,
                "Password too short",
            ),
            (r#"{"email":"a@example.com","password":"éééééé"}"#, "ok"),
            (
                &format!(
                    r#"{{"email":"a@example.com","password":"{}"}}"#,
                    "x".repeat(65)
                ),
                "Password too long",
            ),
            (
                &format!(
                    r#"{{"email":"a@example.com","password":"{}"}}"#,
                    "é".repeat(64)
                ),
                "ok",
            ),
            (
                r#"{"email":" A@Example.COM ","password":"secret1","captcha":5,"extra":[]}"#,
                "ok",
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(message(body), expected, "{body}");
        }
        let exactly_100 = format!("{}@example.com", "a".repeat(88));
        assert_eq!(
            message(&format!(
                r#"{{"email":"{exactly_100}","password":"secret1"}}"#
            )),
            "ok"
        );
    }

    #[test]
    fn the_address_is_trimmed_and_lowercased_and_the_language_defaults() {
        let parsed = parse(
            serde_json::from_str(
                r#"{"email":" A@Example.COM ","password":"secret1","language":""}"#,
            )
            .ok(),
        )
        .ok()
        .unwrap();
        assert_eq!(parsed.email.as_str(), "a@example.com");
        assert_eq!(parsed.language, "en-US");
    }
}
