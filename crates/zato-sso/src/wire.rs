//! The contract's bodies: what a client sends (parsed from any JSON object, whatever its
//! Content-Type) and the one answer envelope, `{cid, status, sub_status?, confirm_token?}`.

use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;
use zeroize::Zeroizing;

/// A `sub_status` code the flavour can answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub enum Code {
    /// `username.invalid`: missing, empty, or holding a rejected keyword.
    E001001,
    /// `username.exists`.
    E001002,
    /// `username.too_long`.
    E001003,
    /// `username.has_whitespace`.
    E001004,
    /// `email.invalid`: holds a rejected keyword.
    E002001,
    /// `email.exists`.
    E002002,
    /// `email.too_long`.
    E002003,
    /// `email.has_whitespace`, or not a valid address.
    E002004,
    /// `email.missing`.
    E002005,
    /// `password.invalid`: contains an entry of the reject list.
    E003001,
    /// `password.too_short` (or missing).
    E003002,
    /// `password.too_long`.
    E003003,
    /// `password.not_complex_enough`.
    E003008,
    /// `app_list.invalid`: `current_app` unknown.
    E004001,
    /// `app_list.no_signup`.
    E004002,
    /// `auth.not_allowed`: the generic code (malformed, hidden, overloaded, unexpected).
    E005001,
    /// `auth.no_such_sign_up_token`: unknown or expired.
    E005006,
    /// `auth.sign_up_confirmed`: the token was already used.
    E005007,
}

/// Every answer: `status` is `ok` or `error`; `sub_status` only on an error; `confirm_token`
/// only on a successful sign-up.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Answer {
    /// Correlation id: 24 lowercase hex characters, also the `X-Zato-CID` header.
    #[schema(example = "259529171ff77ce4c8b26e11")]
    pub cid: String,
    #[schema(example = "ok")]
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_status: Option<Vec<Code>>,
    /// 24 random bytes, base64url without padding (32 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "AB_d86fF-6_UBq4g7npP0mS-i3HfGfpJ")]
    pub confirm_token: Option<String>,
}

impl Answer {
    pub fn ok(cid: &str, confirm_token: Option<String>) -> Self {
        Self {
            cid: cid.to_string(),
            status: "ok",
            sub_status: None,
            confirm_token,
        }
    }

    pub fn error(cid: &str, code: Code) -> Self {
        Self {
            cid: cid.to_string(),
            status: "error",
            sub_status: Some(vec![code]),
            confirm_token: None,
        }
    }
}

/// The body is not JSON, not an object, or a field has the wrong type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the body is not a JSON object of the contract's field types")]
pub struct Malformed;

/// `POST /zato/sso/user/signup`, as documented (for the OpenAPI document).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct SignupRequest {
    #[schema(example = "my.username")]
    username: String,
    #[schema(example = "8CpzwqsiaQO.U.pOKOjsxhoGHAlJ8KaX6wq0CH6NKUvTYuPQP5Tw")]
    password: String,
    #[schema(example = "my.username@example.com")]
    email: Option<String>,
    #[schema(example = "CRM")]
    current_app: String,
    #[schema(example = json!(["CRM"]))]
    app_list: Vec<String>,
}

/// A confirmation: `PATCH /zato/sso/user/signup` or `POST /zato/sso/user/signup/confirm`.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct ConfirmRequest {
    #[schema(example = "AB_d86fF-6_UBq4g7npP0mS-i3HfGfpJ")]
    confirm_token: String,
    #[schema(example = "CRM")]
    current_app: String,
}

/// A sign-up's fields after the type check: absent and `null` are `None`.
pub struct SignUpFields {
    pub username: Option<String>,
    pub password: Option<Zeroizing<String>>,
    pub email: Option<String>,
    pub current_app: Option<String>,
    pub app_list: Option<Vec<String>>,
}

impl std::fmt::Debug for SignUpFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignUpFields")
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("email", &self.email)
            .field("current_app", &self.current_app)
            .field("app_list", &self.app_list)
            .finish()
    }
}

impl SignUpFields {
    pub fn parse(body: &[u8]) -> Result<Self, Malformed> {
        let mut object = object(body)?;
        // Every type is checked before any rule runs: a wrong type is the table's first row.
        let username = string(&mut object, "username")?;
        let password = string(&mut object, "password")?.map(Zeroizing::new);
        let email = string(&mut object, "email")?;
        let current_app = string(&mut object, "current_app")?;
        let app_list = match object.remove("app_list") {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) => Some(
                items
                    .into_iter()
                    .map(|item| match item {
                        Value::String(s) => Ok(s),
                        _ => Err(Malformed),
                    })
                    .collect::<Result<_, _>>()?,
            ),
            Some(_) => return Err(Malformed),
        };
        Ok(Self {
            username,
            password,
            email,
            current_app,
            app_list,
        })
    }
}

/// A confirmation's fields after the type check.
pub struct ConfirmFields {
    pub confirm_token: Option<Zeroizing<String>>,
    pub current_app: Option<String>,
}

impl std::fmt::Debug for ConfirmFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfirmFields")
            .field(
                "confirm_token",
                &self.confirm_token.as_ref().map(|_| "<redacted>"),
            )
            .field("current_app", &self.current_app)
            .finish()
    }
}

impl ConfirmFields {
    pub fn parse(body: &[u8]) -> Result<Self, Malformed> {
        let mut object = object(body)?;
        Ok(Self {
            confirm_token: string(&mut object, "confirm_token")?.map(Zeroizing::new),
            current_app: string(&mut object, "current_app")?,
        })
    }
}

fn object(body: &[u8]) -> Result<Map<String, Value>, Malformed> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Ok(object),
        _ => Err(Malformed),
    }
}

/// A string field taken out of the body: absent or `null` is `None`, another type malformed.
fn string(object: &mut Map<String, Value>, key: &str) -> Result<Option<String>, Malformed> {
    match object.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_and_null_fields_are_missing_and_other_types_malformed() {
        let fields = SignUpFields::parse(br#"{"username":null,"app_list":null,"x":1}"#).unwrap();
        assert!(fields.username.is_none() && fields.app_list.is_none());
        for body in [
            &br#"[]"#[..],
            br#""x""#,
            br#"{"username":1}"#,
            br#"{"password":["a"]}"#,
            br#"{"email":{}}"#,
            br#"{"current_app":true}"#,
            br#"{"app_list":"CRM"}"#,
            br#"{"app_list":["CRM",1]}"#,
            br#"{"username":"a""#,
            b"",
        ] {
            assert_eq!(
                SignUpFields::parse(body).unwrap_err(),
                Malformed,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        assert!(ConfirmFields::parse(br#"{"confirm_token":5}"#).is_err());
    }

    #[test]
    fn secrets_are_not_printed() {
        let fields = SignUpFields::parse(br#"{"username":"u","password":"hunter22"}"#).unwrap();
        assert!(!format!("{fields:?}").contains("hunter22"));
        let fields = ConfirmFields::parse(br#"{"confirm_token":"tok-123"}"#).unwrap();
        assert!(!format!("{fields:?}").contains("tok-123"));
    }

    #[test]
    fn answers_have_the_contracts_keys_in_order() {
        let ok = serde_json::to_string(&Answer::ok("c", Some("t".into()))).unwrap();
        assert_eq!(ok, r#"{"cid":"c","status":"ok","confirm_token":"t"}"#);
        let ok = serde_json::to_string(&Answer::ok("c", None)).unwrap();
        assert_eq!(ok, r#"{"cid":"c","status":"ok"}"#);
        let error = serde_json::to_string(&Answer::error("c", Code::E001002)).unwrap();
        assert_eq!(
            error,
            r#"{"cid":"c","status":"error","sub_status":["E001002"]}"#
        );
    }
}
