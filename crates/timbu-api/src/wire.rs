//! Timbu's bodies, exactly as the contract spells them, and the sign-up and login field rules.
//!
//! Fields are read into [`Raw`] values (from a JSON object or from multipart text parts alike)
//! and checked here by hand, in the contract's field order, so that each failing field gets
//! one `{"loc","msg","type"}` item in the contract's words.

use serde::Serialize;
use serde_json::{json, Map, Value};
use signup_core::{Account, AccountStatus, EmailAddress, Password, PasswordError, PasswordPolicy};
use utoipa::ToSchema;
use zeroize::Zeroizing;

/// Longest first name, last name, country and state, in characters.
pub const NAME_MAX_CHARS: usize = 100;
/// Phone numbers: every character counts (`+`, spaces and punctuation included).
pub const PHONE_MIN_CHARS: usize = 4;
pub const PHONE_MAX_CHARS: usize = 20;
/// Longest password a login may present (bounds the work a login can ask for).
pub const LOGIN_PASSWORD_MAX_CHARS: usize = 1024;

/// One field of a sign-up, in the contract's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Email,
    Password,
    FirstName,
    LastName,
    PhoneNumber,
    CountryCode,
    Country,
    State,
}

impl Field {
    /// The contract's order: the order of 422 items, of the schema and of `data`.
    pub const ALL: [Field; 8] = [
        Field::Email,
        Field::Password,
        Field::FirstName,
        Field::LastName,
        Field::PhoneNumber,
        Field::CountryCode,
        Field::Country,
        Field::State,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Password => "password",
            Self::FirstName => "first_name",
            Self::LastName => "last_name",
            Self::PhoneNumber => "phone_number",
            Self::CountryCode => "country_code",
            Self::Country => "country",
            Self::State => "state",
        }
    }

    /// The label the sentences start with.
    pub fn label(self) -> &'static str {
        match self {
            Self::Email => "Email",
            Self::Password => "Password",
            Self::FirstName => "First name",
            Self::LastName => "Last name",
            Self::PhoneNumber => "Phone number",
            Self::CountryCode => "Country code",
            Self::Country => "Country",
            Self::State => "State",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|field| field.name() == name)
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A field as it arrived, before any rule.
#[derive(Default, PartialEq, Eq)]
pub enum Raw {
    #[default]
    Missing,
    /// JSON `null`.
    Null,
    Text(String),
    /// A JSON number, boolean, array or object, or a multipart file part.
    NotText,
}

impl std::fmt::Debug for Raw {
    // A raw field may be the password: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Missing => f.write_str("Missing"),
            Self::Null => f.write_str("Null"),
            Self::Text(_) => f.write_str("Text(<redacted>)"),
            Self::NotText => f.write_str("NotText"),
        }
    }
}

impl From<Option<Value>> for Raw {
    fn from(value: Option<Value>) -> Self {
        match value {
            None => Self::Missing,
            Some(Value::Null) => Self::Null,
            Some(Value::String(text)) => Self::Text(text),
            Some(_) => Self::NotText,
        }
    }
}

/// Every sign-up field as it arrived, wherever from.
#[derive(Debug, Default)]
pub struct RawFields([Raw; 8]);

impl RawFields {
    /// The fields of a JSON object; other keys are ignored.
    pub fn from_json(mut object: Map<String, Value>) -> Self {
        let mut fields = Self::default();
        for field in Field::ALL {
            fields.set(field, object.remove(field.name()).into());
        }
        fields
    }

    /// Sets a field; a repeated field keeps its last value (as FastAPI's form parsing does).
    pub fn set(&mut self, field: Field, raw: Raw) {
        self.0[field.index()] = raw;
    }

    fn take(&mut self, field: Field) -> Raw {
        std::mem::take(&mut self.0[field.index()])
    }
}

/// What is wrong with one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    Required,
    NotAString,
    TooShort(usize),
    TooLong(usize),
    Control,
    InvalidEmail,
    PhoneCharacters,
    CountryCodeFormat,
}

impl Problem {
    /// The `msg` of a 422 item for this field.
    pub fn sentence(self, field: Field) -> String {
        let label = field.label();
        match self {
            Self::Required => format!("{label} is required."),
            Self::NotAString => format!("{label} must be a string."),
            Self::TooShort(n) => format!("{label} must be at least {n} characters."),
            Self::TooLong(n) => format!("{label} must be at most {n} characters."),
            Self::Control => format!("{label} must not contain control characters."),
            Self::InvalidEmail => format!("{label} is not a valid email address."),
            Self::PhoneCharacters => format!(
                "{label} may contain only digits, spaces, '-', '(' and ')', with an optional leading '+'."
            ),
            Self::CountryCodeFormat => {
                format!("{label} must be '+' followed by 1 to 4 digits.")
            }
        }
    }
}

/// A failing field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldProblem {
    pub field: Field,
    pub problem: Problem,
}

/// The optional profile fields of a sign-up, trimmed; absent when empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone_number: Option<String>,
    pub country_code: Option<String>,
    pub country: Option<String>,
    pub state: Option<String>,
}

impl Profile {
    /// The account's stored profile, with the stored image's name (not its URL: the public
    /// base may change).
    pub fn to_json(&self, image: Option<&str>) -> Value {
        json!({
            "first_name": self.first_name,
            "last_name": self.last_name,
            "phone_number": self.phone_number,
            "country_code": self.country_code,
            "country": self.country,
            "state": self.state,
            "image": image,
        })
    }
}

/// A sign-up whose every field passed.
#[derive(Debug)]
pub struct ParsedSignUp {
    pub email: EmailAddress,
    pub password: Password,
    pub profile: Profile,
}

/// Checks every field, reporting each failing one (its first failing rule) in field order.
pub fn parse_sign_up(
    mut raw: RawFields,
    policy: PasswordPolicy,
) -> Result<ParsedSignUp, Vec<FieldProblem>> {
    let mut problems = Vec::new();
    let mut check = |field: Field, result: Result<Option<String>, Problem>| match result {
        Ok(value) => value,
        Err(problem) => {
            problems.push(FieldProblem { field, problem });
            None
        }
    };
    // An address of white space alone is as missing as an empty one.
    let email = required_text(raw.take(Field::Email)).and_then(|email| match email.trim() {
        "" => Err(Problem::Required),
        trimmed => Ok(Some(trimmed.to_string())),
    });
    let email = check(Field::Email, email);
    let email = email.and_then(|email| {
        EmailAddress::parse(&email)
            .map_err(|_| {
                check(Field::Email, Err(Problem::InvalidEmail));
            })
            .ok()
    });
    let password = password(raw.take(Field::Password), policy)
        .map_err(|problem| {
            check(Field::Password, Err(problem));
        })
        .ok();
    let profile = Profile {
        first_name: check(Field::FirstName, name(raw.take(Field::FirstName))),
        last_name: check(Field::LastName, name(raw.take(Field::LastName))),
        phone_number: check(
            Field::PhoneNumber,
            phone_number(raw.take(Field::PhoneNumber)),
        ),
        country_code: check(
            Field::CountryCode,
            country_code(raw.take(Field::CountryCode)),
        ),
        country: check(Field::Country, name(raw.take(Field::Country))),
        state: check(Field::State, name(raw.take(Field::State))),
    };
    match (email, password) {
        (Some(email), Some(password)) if problems.is_empty() => Ok(ParsedSignUp {
            email,
            password,
            profile,
        }),
        _ => Err(problems),
    }
}

/// A login's email and password. Only presence and type are the client's mistakes (422); an
/// address or password no account can have is left to the credentials check.
pub fn parse_login(mut raw: RawFields) -> Result<(String, Zeroizing<String>), Vec<FieldProblem>> {
    let email = required_text(raw.take(Field::Email)).and_then(|email| match email.trim() {
        "" => Err(Problem::Required),
        trimmed => Ok(trimmed.to_string()),
    });
    let password = required_text(raw.take(Field::Password)).map(Zeroizing::new);
    match (email, password) {
        (Ok(email), Ok(password)) => Ok((email, password)),
        (email, password) => Err([
            (Field::Email, email.err()),
            (Field::Password, password.err()),
        ]
        .into_iter()
        .filter_map(|(field, problem)| {
            Some(FieldProblem {
                field,
                problem: problem?,
            })
        })
        .collect()),
    }
}

/// A required string: absent, `null` or empty (only white space for anything but the
/// password, which is never trimmed: that check is the caller's) is "required".
fn required_text(raw: Raw) -> Result<String, Problem> {
    match raw {
        Raw::Missing | Raw::Null => Err(Problem::Required),
        Raw::NotText => Err(Problem::NotAString),
        Raw::Text(text) if text.is_empty() => Err(Problem::Required),
        Raw::Text(text) => Ok(text),
    }
}

fn password(raw: Raw, policy: PasswordPolicy) -> Result<Password, Problem> {
    let text = required_text(raw)?;
    Password::parse(text, policy).map_err(|e| match e {
        PasswordError::TooShort { min } => Problem::TooShort(min),
        PasswordError::TooLong { max } => Problem::TooLong(max),
    })
}

/// An optional string, trimmed: `null`, `""` and white space alone are absent.
fn optional_text(raw: Raw) -> Result<Option<String>, Problem> {
    match raw {
        Raw::Missing | Raw::Null => Ok(None),
        Raw::NotText => Err(Problem::NotAString),
        Raw::Text(text) => {
            let trimmed = text.trim();
            Ok((!trimmed.is_empty()).then(|| trimmed.to_string()))
        }
    }
}

/// Unicode general category Cc: C0, DEL and C1 (TAB, U+0085 included).
fn has_control(value: &str) -> bool {
    value.chars().any(char::is_control)
}

fn name(raw: Raw) -> Result<Option<String>, Problem> {
    let Some(value) = optional_text(raw)? else {
        return Ok(None);
    };
    if value.chars().count() > NAME_MAX_CHARS {
        return Err(Problem::TooLong(NAME_MAX_CHARS));
    }
    if has_control(&value) {
        return Err(Problem::Control);
    }
    Ok(Some(value))
}

fn phone_number(raw: Raw) -> Result<Option<String>, Problem> {
    let Some(value) = optional_text(raw)? else {
        return Ok(None);
    };
    let chars = value.chars().count();
    if chars < PHONE_MIN_CHARS {
        return Err(Problem::TooShort(PHONE_MIN_CHARS));
    }
    if chars > PHONE_MAX_CHARS {
        return Err(Problem::TooLong(PHONE_MAX_CHARS));
    }
    let rest = value.strip_prefix('+').unwrap_or(&value);
    if !rest
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')'))
    {
        return Err(Problem::PhoneCharacters);
    }
    Ok(Some(value))
}

fn country_code(raw: Raw) -> Result<Option<String>, Problem> {
    let Some(value) = optional_text(raw)? else {
        return Ok(None);
    };
    let valid = value.strip_prefix('+').is_some_and(|digits| {
        (1..=4).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
    });
    if !valid {
        return Err(Problem::CountryCodeFormat);
    }
    Ok(Some(value))
}

/// Every sentence a 422 can carry for a sign-up, for the OpenAPI description.
pub fn documented_sentences(policy: PasswordPolicy) -> Vec<String> {
    let mut out = Vec::new();
    for field in Field::ALL {
        let problems: &[Problem] = match field {
            Field::Email => &[
                Problem::Required,
                Problem::NotAString,
                Problem::InvalidEmail,
            ],
            Field::Password => &[
                Problem::Required,
                Problem::NotAString,
                Problem::TooShort(policy.min_chars),
                Problem::TooLong(policy.max_chars),
            ],
            Field::PhoneNumber => &[
                Problem::NotAString,
                Problem::TooShort(PHONE_MIN_CHARS),
                Problem::TooLong(PHONE_MAX_CHARS),
                Problem::PhoneCharacters,
            ],
            Field::CountryCode => &[Problem::NotAString, Problem::CountryCodeFormat],
            Field::FirstName | Field::LastName | Field::Country | Field::State => &[
                Problem::NotAString,
                Problem::TooLong(NAME_MAX_CHARS),
                Problem::Control,
            ],
        };
        for problem in problems {
            out.push(format!("`{}`: {}", field.name(), problem.sentence(field)));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Bodies on the wire.

/// A bearer secret in a body: serialized as itself, never `Debug`-printed.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Token(pub String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// `POST /auth/signup` as `application/json` (documentation; the handler reads the object
/// field by field).
#[derive(Debug, ToSchema)]
#[schema(example = json!({"email":"user@example.com","password":"password123","first_name":"John","last_name":"Doe"}))]
#[allow(dead_code)]
pub struct SignupRequest {
    /// A valid address; unique per realm, case-insensitively.
    #[schema(format = Email)]
    email: String,
    /// 8 to 128 characters (configurable); never trimmed.
    #[schema(min_length = 8, max_length = 128)]
    password: String,
    /// At most 100 characters, no control characters; `""` or white space alone is absent.
    #[schema(max_length = 100)]
    first_name: Option<String>,
    #[schema(max_length = 100)]
    last_name: Option<String>,
    /// Digits, spaces, `-`, `(`, `)`, optional leading `+`; 4 to 20 characters in all.
    #[schema(min_length = 4, max_length = 20, pattern = r"^\+?[0-9 ()-]*$")]
    phone_number: Option<String>,
    /// `+` followed by 1 to 4 digits.
    #[schema(pattern = r"^\+[0-9]{1,4}$", example = "+234")]
    country_code: Option<String>,
    #[schema(max_length = 100)]
    country: Option<String>,
    #[schema(max_length = 100)]
    state: Option<String>,
}

/// `POST /auth/signup` as `multipart/form-data`: the same fields as text parts, and an
/// optional image file.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct SignupForm {
    #[schema(format = Email)]
    email: String,
    #[schema(min_length = 8, max_length = 128)]
    password: String,
    #[schema(max_length = 100)]
    first_name: Option<String>,
    #[schema(max_length = 100)]
    last_name: Option<String>,
    #[schema(min_length = 4, max_length = 20, pattern = r"^\+?[0-9 ()-]*$")]
    phone_number: Option<String>,
    #[schema(pattern = r"^\+[0-9]{1,4}$")]
    country_code: Option<String>,
    #[schema(max_length = 100)]
    country: Option<String>,
    #[schema(max_length = 100)]
    state: Option<String>,
    /// PNG, JPEG, GIF, WebP, BMP, TIFF, ICO or AVIF, recognised by its content; at most
    /// `image_max_bytes` (5 MiB by default). An empty file part is no image.
    #[schema(value_type = Option<String>, format = Binary)]
    image: Option<Vec<u8>>,
}

/// `POST /auth/login` body.
#[derive(Debug, ToSchema)]
#[schema(example = json!({"email":"user@example.com","password":"password123"}))]
#[allow(dead_code)]
pub struct LoginRequest {
    #[schema(format = Email)]
    email: String,
    password: String,
}

/// A user as every answer shows it. Unset fields are `null`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserData {
    /// The account's UUID, 32 lowercase hex digits.
    #[schema(
        example = "55f32599549e48d9ad12b3c082012ad1",
        pattern = "^[0-9a-f]{32}$"
    )]
    pub id: String,
    #[schema(format = Email)]
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone_number: Option<String>,
    pub country_code: Option<String>,
    pub country: Option<String>,
    pub state: Option<String>,
    /// Where the stored image is served (absolute).
    pub image_url: Option<String>,
    pub is_active: bool,
    pub is_verified: bool,
    /// RFC 3339, UTC (`Z`).
    #[schema(format = DateTime)]
    pub date_created: String,
}

impl UserData {
    /// `image_url` maps the stored image's name to its absolute URL.
    pub fn of(account: &Account, image_url: impl FnOnce(&str) -> String) -> Self {
        let text = |key: &str| {
            account
                .profile
                .get(key)
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        Self {
            id: account.id.0.simple().to_string(),
            email: account.email.clone(),
            first_name: text("first_name"),
            last_name: text("last_name"),
            phone_number: text("phone_number"),
            country_code: text("country_code"),
            country: text("country"),
            state: text("state"),
            image_url: text("image").map(|name| image_url(&name)),
            is_active: account.status == AccountStatus::Active,
            is_verified: false,
            date_created: account
                .created_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        }
    }
}

/// `201` of a sign-up and `200` of a login.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthResponse {
    pub data: UserData,
    #[schema(value_type = String)]
    pub access_token: Token,
    #[schema(value_type = String)]
    pub refresh_token: Token,
}

/// `200` of `GET /auth/refresh-access-token`.
#[derive(Debug, Serialize, ToSchema)]
pub struct RefreshResponse {
    pub user: UserData,
    #[schema(value_type = String)]
    pub access_token: Token,
    /// Lifetime of the access token in seconds (`tokens.access_ttl_secs`).
    #[schema(example = 900)]
    pub expires_in: u64,
}

/// `200` of `GET /users/me`.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserResponse {
    pub data: UserData,
}

/// `200` of `POST /auth/logout`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageResponse {
    #[schema(example = "User logged out successfully.")]
    pub message: &'static str,
}

/// Every error but a validation error: `{"detail": "<sentence>"}`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"detail": "User with this email already exists"}))]
pub struct DetailResponse {
    pub detail: String,
}

/// `422`: one item per failing field, in field order.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = HTTPValidationError, example = json!({"detail":[{"loc":["body","email"],"msg":"Email is required.","type":"value_error"}]}))]
pub struct HttpValidationError {
    pub detail: Vec<ValidationError>,
}

/// One failing field: exactly `loc`, `msg`, `type`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ValidationError {
    /// `["body", "<field>"]`.
    pub loc: Vec<&'static str>,
    pub msg: String,
    /// Always `value_error`.
    #[serde(rename = "type")]
    #[schema(example = "value_error")]
    pub kind: &'static str,
}

impl From<&FieldProblem> for ValidationError {
    fn from(p: &FieldProblem) -> Self {
        Self {
            loc: vec!["body", p.field.name()],
            msg: p.problem.sentence(p.field),
            kind: "value_error",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(body: Value) -> Vec<(&'static str, String)> {
        let Value::Object(object) = body else {
            panic!("not an object: {body}")
        };
        let policy = PasswordPolicy {
            min_chars: 8,
            max_chars: 128,
        };
        match parse_sign_up(RawFields::from_json(object), policy) {
            Ok(_) => Vec::new(),
            Err(problems) => problems
                .iter()
                .map(|p| (p.field.name(), p.problem.sentence(p.field)))
                .collect(),
        }
    }

    fn valid() -> Value {
        json!({"email": "ada@example.com", "password": "correct horse"})
    }

    fn with(field: &str, value: Value) -> Value {
        let mut body = valid();
        body[field] = value;
        body
    }

    #[test]
    fn each_rule_has_its_sentence() {
        let cases: Vec<(Value, Vec<(&str, &str)>)> = vec![
            (valid(), vec![]),
            (json!({}), vec![("email", "Email is required."), ("password", "Password is required.")]),
            (with("email", json!("  ")), vec![("email", "Email is required.")]),
            (with("email", json!(123)), vec![("email", "Email must be a string.")]),
            (with("email", json!("nope")), vec![("email", "Email is not a valid email address.")]),
            (with("password", json!("")), vec![("password", "Password is required.")]),
            (with("password", json!("  ")), vec![("password", "Password must be at least 8 characters.")]),
            (with("password", json!("x".repeat(129))), vec![("password", "Password must be at most 128 characters.")]),
            (with("password", json!(["x"])), vec![("password", "Password must be a string.")]),
            (with("first_name", json!("é".repeat(101))), vec![("first_name", "First name must be at most 100 characters.")]),
            (with("last_name", json!("Love\u{85}lace")), vec![("last_name", "Last name must not contain control characters.")]),
            (with("country", json!("a\tb")), vec![("country", "Country must not contain control characters.")]),
            (with("state", json!("a\u{7f}b")), vec![("state", "State must not contain control characters.")]),
            (with("state", json!(true)), vec![("state", "State must be a string.")]),
            (with("phone_number", json!("123")), vec![("phone_number", "Phone number must be at least 4 characters.")]),
            (with("phone_number", json!("+1 (234) 567-89012345")), vec![("phone_number", "Phone number must be at most 20 characters.")]),
            (with("phone_number", json!("12+34")), vec![("phone_number", "Phone number may contain only digits, spaces, '-', '(' and ')', with an optional leading '+'.")]),
            (with("phone_number", json!("+1 (234) 567-8901")), vec![]),
            (with("country_code", json!("234")), vec![("country_code", "Country code must be '+' followed by 1 to 4 digits.")]),
            (with("country_code", json!("+12345")), vec![("country_code", "Country code must be '+' followed by 1 to 4 digits.")]),
            (with("country_code", json!("+٣")), vec![("country_code", "Country code must be '+' followed by 1 to 4 digits.")]),
            (with("country_code", json!("+1")), vec![]),
            (with("first_name", json!(null)), vec![]),
            (with("first_name", json!(" \t ")), vec![]),
        ];
        for (body, expected) in cases {
            let expected: Vec<(&str, String)> = expected
                .into_iter()
                .map(|(f, m)| (f, m.to_string()))
                .collect();
            assert_eq!(problems(body.clone()), expected, "{body}");
        }
    }

    #[test]
    fn failing_fields_come_in_the_contracts_order() {
        let body = json!({"state": 1, "country": 1, "country_code": 1, "phone_number": 1,
                          "last_name": 1, "first_name": 1, "password": 1, "email": 1});
        let order: Vec<_> = problems(body).into_iter().map(|(f, _)| f).collect();
        assert_eq!(
            order,
            [
                "email",
                "password",
                "first_name",
                "last_name",
                "phone_number",
                "country_code",
                "country",
                "state"
            ]
        );
    }

    #[test]
    fn optional_fields_are_trimmed_and_empty_ones_absent() {
        let mut body = valid();
        body["first_name"] = json!("  Ada ");
        body["last_name"] = json!("");
        body["password"] = json!(" correct horse ");
        let Value::Object(object) = body else {
            unreachable!()
        };
        let parsed =
            parse_sign_up(RawFields::from_json(object), PasswordPolicy::default()).unwrap();
        assert_eq!(parsed.profile.first_name.as_deref(), Some("Ada"));
        assert_eq!(parsed.profile.last_name, None);
        assert_eq!(parsed.password.expose(), " correct horse ");
    }

    #[test]
    fn raw_fields_and_tokens_never_print_their_text() {
        let raw = Raw::Text("secret password".into());
        assert_eq!(format!("{raw:?}"), "Text(<redacted>)");
        assert_eq!(format!("{:?}", Token("a.b.c".into())), "Token(<redacted>)");
    }
}
