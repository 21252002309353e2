//! Tokens on the wire: the refresh cookie, the `Authorization: Bearer` header, and the
//! account a token names.

use actix_web::{http::header, HttpRequest, HttpResponseBuilder};
use signup_core::{jwt, Account, AccountId};
use signup_http::NO_STORE;
use uuid::Uuid;

use crate::{
    errors::{TimbuError, Unauthenticated},
    TimbuState,
};

/// Name of the refresh cookie.
pub const REFRESH_COOKIE: &str = "refresh_token";

/// How the refresh cookie is set: its path (`<mount>/auth`) and whether it is `Secure`.
#[derive(Debug, Clone)]
pub struct CookiePolicy {
    pub path: String,
    pub secure: bool,
    pub max_age_secs: u64,
}

impl CookiePolicy {
    /// `refresh_token=<JWT>; HttpOnly; SameSite=Lax; Path=<mount>/auth; Max-Age=<ttl>[; Secure]`.
    pub fn set(&self, token: &str) -> String {
        self.render(token, self.max_age_secs)
    }

    /// The same cookie, expired at once (logout).
    pub fn clear(&self) -> String {
        self.render("", 0)
    }

    fn render(&self, value: &str, max_age: u64) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!(
            "{REFRESH_COOKIE}={value}; HttpOnly; SameSite=Lax; Path={}; Max-Age={max_age}{secure}",
            self.path
        )
    }
}

/// Adds the headers every answer that carries a token has: `Cache-Control: no-store`, and the
/// cookie.
pub fn token_headers(builder: &mut HttpResponseBuilder, cookie: String) {
    builder
        .insert_header(NO_STORE)
        .append_header((header::SET_COOKIE, cookie));
}

/// The token of `Authorization: Bearer <token>`, if the request has one.
pub fn bearer(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The refresh cookie's value, if the request has one.
pub fn refresh_cookie(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == REFRESH_COOKIE && !value.is_empty())
        .map(|(_, value)| value.trim_matches('"').to_string())
}

/// The account a token's subject names, when it exists in this mount's realm.
pub async fn account_of(state: &TimbuState, subject: &str) -> Result<Account, TimbuError> {
    let id = parse_subject(subject).ok_or(Unauthenticated::UnknownAccount)?;
    let account = state
        .context
        .services
        .accounts
        .find(id)
        .await
        .map_err(jwt::AuthError::from)?
        .filter(|account| account.realm == state.context.realm.as_str())
        .ok_or(Unauthenticated::UnknownAccount)?;
    Ok(account)
}

/// The account named by the request's access token (`Authorization: Bearer`).
pub async fn authenticated(
    req: &HttpRequest,
    state: &TimbuState,
) -> Result<(jwt::AccessClaims, Account), TimbuError> {
    let token = bearer(req).ok_or(Unauthenticated::NoToken)?;
    let claims = state.jwt.verify_access(token)?;
    let account = account_of(state, &claims.sub).await?;
    Ok((claims, account))
}

/// The subject as Timbu spells ids: the UUID's 32 lowercase hex digits.
pub fn subject(id: AccountId) -> String {
    id.0.simple().to_string()
}

fn parse_subject(subject: &str) -> Option<AccountId> {
    let simple = subject.len() == 32
        && subject
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    simple
        .then(|| Uuid::try_parse(subject).ok())
        .flatten()
        .map(AccountId)
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    #[test]
    fn the_cookie_is_spelled_as_the_contract_says() {
        let mut policy = CookiePolicy {
            path: "/timbu/auth".into(),
            secure: false,
            max_age_secs: 604_800,
        };
        assert_eq!(
            policy.set("a.b.c"),
            "refresh_token=a.b.c; HttpOnly; SameSite=Lax; Path=/timbu/auth; Max-Age=604800"
        );
        policy.secure = true;
        assert_eq!(
            policy.clear(),
            "refresh_token=; HttpOnly; SameSite=Lax; Path=/timbu/auth; Max-Age=0; Secure"
        );
    }

    #[test]
    fn bearer_tokens_and_cookies_are_read_leniently() {
        let req = TestRequest::default()
            .insert_header((header::AUTHORIZATION, "bearer  x.y.z "))
            .insert_header((header::COOKIE, "a=1; refresh_token=r.s.t; b=2"))
            .to_http_request();
        assert_eq!(bearer(&req), Some("x.y.z"));
        assert_eq!(refresh_cookie(&req).as_deref(), Some("r.s.t"));
        let req = TestRequest::default()
            .insert_header((header::AUTHORIZATION, "Basic dXNlcjpwYXNz"))
            .insert_header((header::COOKIE, "refresh_token="))
            .to_http_request();
        assert_eq!(bearer(&req), None);
        assert_eq!(refresh_cookie(&req), None);
    }

    #[test]
    fn only_simple_lowercase_uuids_are_subjects() {
        let id = AccountId::generate();
        assert_eq!(parse_subject(&subject(id)), Some(id));
        assert_eq!(parse_subject(&id.to_string()), None);
        assert_eq!(parse_subject(&subject(id).to_uppercase()), None);
        assert_eq!(parse_subject(""), None);
    }
}
