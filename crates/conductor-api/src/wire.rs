//! The Conductor contract's bodies, exactly as it spells them.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::{Map, Value};
use signup_core::{EmailAddress, Password, PasswordError, PasswordPolicy, Username, UsernameError};
use utoipa::ToSchema;
use validator::{Validate, ValidateArgs, ValidateLength, ValidationError};
use zeroize::Zeroizing;

/// Request body of `POST /auth/signup` (documentation; [`parse_sign_up`] checks the JSON object
/// field by field so that every failing field is reported in the contract's words).
#[derive(Debug, ToSchema)]
#[schema(example = json!({"username":"string","password":"string","email":"hello@example.com","first_name":"string","last_name":"string"}))]
#[allow(dead_code)]
pub struct SignupRequest {
    /// 1 to 50 characters after trimming, no white space or control characters; unique,
    /// case-insensitively.
    #[schema(max_length = 50)]
    username: String,
    /// 8 (configurable) to 100 characters; never trimmed.
    #[schema(max_length = 100)]
    password: String,
    /// A valid address of at most 100 characters; unique, case-insensitively.
    #[schema(max_length = 100, format = Email)]
    email: String,
    #[schema(max_length = 50)]
    first_name: String,
    #[schema(max_length = 50)]
    last_name: String,
}

/// `201 Created` body.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignupResponse {
    pub success: bool,
    #[schema(example = "User created successfully")]
    pub message: &'static str,
    pub data: UserData,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserData {
    #[schema(format = Uuid)]
    pub id: String,
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    /// RFC 3339, UTC.
    #[schema(format = DateTime)]
    pub created_at: String,
}

/// The envelope of every non-2xx answer.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"error":"Conflict","message":"Username already taken","timestamp":"2024-01-15T10:30:00Z","success":false,"details":{"field":"username"}}))]
pub struct ErrorResponse {
    /// Error type or category.
    pub error: &'static str,
    /// Human-readable error message.
    pub message: String,
    /// When the error occurred (RFC 3339, UTC).
    #[schema(format = DateTime)]
    pub timestamp: String,
    /// Always `false`.
    pub success: bool,
    /// Additional error details.
    #[schema(value_type = Object, additional_properties)]
    pub details: Details,
}

/// The envelope's `details`: any JSON object, or the validation sentences, written in
/// contract order straight from the problems (no map is built for a refusal).
#[derive(Debug)]
pub enum Details {
    Json(Value),
    /// `{"validation_errors":{"<field>":"<sentence>",...}}`, one entry per failing field.
    Validation(Vec<(&'static str, String)>),
}

impl From<Value> for Details {
    fn from(value: Value) -> Self {
        Self::Json(value)
    }
}

impl Serialize for Details {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        struct Sentences<'a>(&'a [(&'static str, String)]);
        impl Serialize for Sentences<'_> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_map(self.0.iter().map(|(field, sentence)| (field, sentence)))
            }
        }
        match self {
            Self::Json(value) => value.serialize(serializer),
            Self::Validation(errors) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("validation_errors", &Sentences(errors))?;
                map.end()
            }
        }
    }
}

/// The fields in the order the contract lists them, with the label their sentences use.
const FIELDS: [(&str, &str); 5] = [
    ("username", "Username"),
    ("password", "Password"),
    ("email", "Email"),
    ("first_name", "First name"),
    ("last_name", "Last name"),
];

pub const NAME_MAX_CHARS: usize = 50;
pub const EMAIL_MAX_CHARS: usize = 100;
pub const PASSWORD_MAX_CHARS: usize = 100;
// The same bounds as validator's `length` takes them.
const NAME_MAX: u64 = NAME_MAX_CHARS as u64;
const EMAIL_MAX: u64 = EMAIL_MAX_CHARS as u64;
const PASSWORD_MAX: u64 = PASSWORD_MAX_CHARS as u64;

/// What is wrong with one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    Required,
    NotAString,
    TooShort(usize),
    TooLong(usize),
    WhitespaceOrControl,
    Control,
    InvalidEmail,
}

impl Problem {
    /// The predicate after the field name: `username is required`.
    pub fn predicate(self) -> Cow<'static, str> {
        match self {
            Self::Required => "is required".into(),
            Self::NotAString => "must be a string".into(),
            Self::TooShort(n) => format!("must be at least {n} characters").into(),
            Self::TooLong(n) => format!("must be at most {n} characters").into(),
            Self::WhitespaceOrControl => "must not contain whitespace or control characters".into(),
            Self::Control => "must not contain control characters".into(),
            Self::InvalidEmail => "is not a valid email address".into(),
        }
    }

    /// The sentence under `validation_errors`: `Username is required`.
    pub fn sentence(self, label: &str) -> String {
        match self {
            Self::InvalidEmail => "Invalid email format".into(),
            other => {
                let predicate = other.predicate();
                let mut sentence = String::with_capacity(label.len() + 1 + predicate.len());
                sentence.push_str(label);
                sentence.push(' ');
                sentence.push_str(&predicate);
                sentence
            }
        }
    }
}

/// A failing field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    pub field: &'static str,
    pub label: &'static str,
    pub problem: Problem,
}

/// A sign-up request whose every field passed.
#[derive(Debug)]
pub struct ParsedSignUp {
    pub username: Username,
    pub password: Password,
    pub email: EmailAddress,
    pub first_name: String,
    pub last_name: String,
}

/// Checks every field of the JSON object, reporting each failing one in contract order.
pub fn parse_sign_up(
    mut object: Map<String, Value>,
    policy: PasswordPolicy,
) -> Result<ParsedSignUp, Vec<FieldProblem>> {
    // Presence and type are decided by hand: serde cannot name them in the contract's words.
    let mut problems: [Option<Problem>; FIELDS.len()] = [None; FIELDS.len()];
    let raw: [Option<String>; FIELDS.len()] =
        std::array::from_fn(|index| match object.remove(FIELDS[index].0) {
            Some(Value::String(value)) => Some(value),
            None | Some(Value::Null) => {
                problems[index] = Some(Problem::Required);
                None
            }
            Some(_) => {
                problems[index] = Some(Problem::NotAString);
                None
            }
        });
    let [username, password, email, first_name, last_name] = raw;
    let password = password.map(Zeroizing::new);

    // What the rules see: text fields trimmed, the password as sent.
    let values: [Option<&str>; FIELDS.len()] = [
        username.as_deref().map(str::trim),
        password.as_deref().map(String::as_str),
        email.as_deref().map(str::trim),
        first_name.as_deref().map(str::trim),
        last_name.as_deref().map(str::trim),
    ];
    let fields = SignUpFields {
        username: values[0],
        password: values[1].map(Redacted),
        email: values[2],
        first_name: values[3],
        last_name: values[4],
    };
    if let Err(errors) = fields.validate_with_args(&policy) {
        let by_field = errors.field_errors();
        // The contract's field order, not the map's.
        for (index, (field, _)) in FIELDS.iter().enumerate() {
            let Some(errors) = by_field.get(*field) else {
                continue;
            };
            let chars = values[index].map_or(0, |value| value.chars().count());
            let problem = errors
                .iter()
                .filter_map(|error| problem_of(error, chars))
                .min_by_key(|problem| precedence(*problem));
            debug_assert!(problem.is_some(), "a rule on `{field}` without a problem");
            problems[index] = problem;
        }
    }

    // The typed values come from their own parsers, which the rules above already satisfy.
    let [p_username, p_password, p_email, p_first_name, p_last_name] = &mut problems;
    let username = build(p_username, values[0], |u| {
        Username::parse(u, NAME_MAX_CHARS).map_err(|e| match e {
            UsernameError::Empty => Problem::Required,
            UsernameError::TooLong { max } => Problem::TooLong(max),
            UsernameError::InvalidCharacter => Problem::WhitespaceOrControl,
        })
    });
    let email = build(p_email, values[2], |e| {
        EmailAddress::parse(e).map_err(|_| Problem::InvalidEmail)
    });
    let first_name = build(p_first_name, values[3], |n| Ok(n.to_string()));
    let last_name = build(p_last_name, values[4], |n| Ok(n.to_string()));
    let policy = PasswordPolicy {
        max_chars: PASSWORD_MAX_CHARS,
        ..policy
    };
    let password = build(p_password, password, |mut p| {
        Password::parse(std::mem::take(&mut *p), policy).map_err(|e| match e {
            PasswordError::TooShort { min } => Problem::TooShort(min),
            PasswordError::TooLong { max } => Problem::TooLong(max),
        })
    });

    match (username, password, email, first_name, last_name) {
        (Some(username), Some(password), Some(email), Some(first_name), Some(last_name))
            if problems.iter().all(Option::is_none) =>
        {
            Ok(ParsedSignUp {
                username,
                password,
                email,
                first_name,
                last_name,
            })
        }
        _ => Err(FIELDS
            .iter()
            .zip(problems)
            .filter_map(|(&(field, label), problem)| {
                Some(FieldProblem {
                    field,
                    label,
                    problem: problem?,
                })
            })
            .collect()),
    }
}

/// Parses a field that arrived and passed its rules, recording the parser's objection if any.
fn build<V, T>(
    problem: &mut Option<Problem>,
    value: Option<V>,
    parse: impl FnOnce(V) -> Result<T, Problem>,
) -> Option<T> {
    if problem.is_some() {
        return None;
    }
    parse(value?).map_err(|p| *problem = Some(p)).ok()
}

/// Conductor's per-field rules. Lengths count characters: validator counts `chars()`.
#[derive(Validate)]
#[validate(context = PasswordPolicy)]
struct SignUpFields<'a> {
    #[validate(
        length(min = 1, max = NAME_MAX),
        custom(function = no_whitespace_or_control)
    )]
    username: Option<&'a str>,
    #[validate(
        length(min = 1, max = PASSWORD_MAX),
        custom(function = long_enough, use_context)
    )]
    password: Option<Redacted<'a>>,
    #[validate(
        length(min = 1, max = EMAIL_MAX),
        custom(function = email_address)
    )]
    email: Option<&'a str>,
    #[validate(
        length(min = 1, max = NAME_MAX),
        custom(function = no_control)
    )]
    first_name: Option<&'a str>,
    #[validate(
        length(min = 1, max = NAME_MAX),
        custom(function = no_control)
    )]
    last_name: Option<&'a str>,
}

/// The password as the rules see it: validator copies a failing value into its error, so this
/// one serializes as a placeholder.
#[derive(Clone, Copy)]
struct Redacted<'a>(&'a str);

impl ValidateLength<u64> for Redacted<'_> {
    fn length(&self) -> Option<u64> {
        Some(self.0.chars().count() as u64)
    }
}

impl Serialize for Redacted<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("<redacted>")
    }
}

const WHITESPACE_OR_CONTROL: &str = "whitespace_or_control";
const CONTROL: &str = "control";
const INVALID_EMAIL: &str = "invalid_email";
const TOO_SHORT: &str = "too_short";

fn no_whitespace_or_control(value: &str) -> Result<(), ValidationError> {
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ValidationError::new(WHITESPACE_OR_CONTROL));
    }
    Ok(())
}

fn no_control(value: &str) -> Result<(), ValidationError> {
    if value.chars().any(char::is_control) {
        return Err(ValidationError::new(CONTROL));
    }
    Ok(())
}

fn email_address(value: &str) -> Result<(), ValidationError> {
    EmailAddress::parse(value)
        .map(drop)
        .map_err(|_| ValidationError::new(INVALID_EMAIL))
}

/// The configurable minimum (the maximum is the contract's and sits on the field).
fn long_enough(password: &Redacted<'_>, policy: &PasswordPolicy) -> Result<(), ValidationError> {
    if password.0.chars().count() >= policy.min_chars {
        return Ok(());
    }
    let mut error = ValidationError::new(TOO_SHORT);
    error.add_param("min".into(), &policy.min_chars);
    Err(error)
}

/// The contract's problem for one of validator's errors on a value of `chars` characters.
fn problem_of(error: &ValidationError, chars: usize) -> Option<Problem> {
    let bound = |name: &str| {
        let n = error.params.get(name)?.as_u64()?;
        usize::try_from(n).ok()
    };
    match error.code.as_ref() {
        // validator's own code. Every `length` rule has `min = 1`: below it, the field is empty.
        "length" if chars == 0 => Some(Problem::Required),
        "length" => match (bound("min"), bound("max")) {
            (Some(min), _) if chars < min => Some(Problem::TooShort(min)),
            (_, Some(max)) if chars > max => Some(Problem::TooLong(max)),
            _ => None,
        },
        TOO_SHORT => bound("min").map(Problem::TooShort),
        WHITESPACE_OR_CONTROL => Some(Problem::WhitespaceOrControl),
        CONTROL => Some(Problem::Control),
        INVALID_EMAIL => Some(Problem::InvalidEmail),
        _ => None,
    }
}

/// Which of a field's failures it reports: the first rule in the contract's order (presence,
/// type, minimum, maximum, content), whatever order validator ran them in.
fn precedence(problem: Problem) -> u8 {
    match problem {
        Problem::Required => 0,
        Problem::NotAString => 1,
        Problem::TooShort(_) => 2,
        Problem::TooLong(_) => 3,
        Problem::WhitespaceOrControl | Problem::Control | Problem::InvalidEmail => 4,
    }
}

/// Every sentence a 400 can carry, for the OpenAPI description.
pub fn documented_sentences(min_password: usize) -> Vec<String> {
    let mut out = Vec::new();
    for (field, label) in FIELDS {
        let problems: &[Problem] = match field {
            "username" => &[
                Problem::Required,
                Problem::NotAString,
                Problem::TooLong(NAME_MAX_CHARS),
                Problem::WhitespaceOrControl,
            ],
            "password" => &[
                Problem::Required,
                Problem::NotAString,
                Problem::TooShort(min_password),
                Problem::TooLong(PASSWORD_MAX_CHARS),
            ],
            "email" => &[
                Problem::Required,
                Problem::NotAString,
                Problem::TooLong(EMAIL_MAX_CHARS),
                Problem::InvalidEmail,
            ],
            _ => &[
                Problem::Required,
                Problem::NotAString,
                Problem::TooLong(NAME_MAX_CHARS),
                Problem::Control,
            ],
        };
        for problem in problems {
            out.push(format!("`{field}`: {}", problem.sentence(label)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn problems(body: Value, min_chars: usize) -> Vec<(&'static str, Problem)> {
        let Value::Object(object) = body else {
            panic!("not an object: {body}")
        };
        let policy = PasswordPolicy {
            min_chars,
            max_chars: PASSWORD_MAX_CHARS,
        };
        match parse_sign_up(object, policy) {
            Ok(_) => Vec::new(),
            Err(problems) => problems.into_iter().map(|p| (p.field, p.problem)).collect(),
        }
    }

    fn valid() -> Value {
        json!({"username": "ada", "password": "correct horse", "email": "ada@example.com",
               "first_name": "Ada", "last_name": "Lovelace"})
    }

    fn with(field: &str, value: Value) -> Value {
        let mut body = valid();
        body[field] = value;
        body
    }

    #[test]
    fn each_field_reports_its_first_failing_rule_only() {
        let long_spaced = format!("{} x", "a".repeat(50));
        let long_invalid = format!("{}@localhost", "a".repeat(95));
        // (body, password minimum, expected problems)
        type Case = (Value, usize, Vec<(&'static str, Problem)>);
        let cases: Vec<Case> = vec![
            (valid(), 8, vec![]),
            (
                with("username", json!(long_spaced)),
                8,
                vec![("username", Problem::TooLong(50))],
            ),
            (
                with("username", json!(" \u{7} ")),
                8,
                vec![("username", Problem::WhitespaceOrControl)],
            ),
            (
                with("password", json!("")),
                8,
                vec![("password", Problem::Required)],
            ),
            (
                with("password", json!("")),
                0,
                vec![("password", Problem::Required)],
            ),
            (
                with("password", json!("  ")),
                8,
                vec![("password", Problem::TooShort(8))],
            ),
            (
                with("password", json!("x".repeat(110))),
                120,
                vec![("password", Problem::TooShort(120))],
            ),
            (
                with("password", json!("x".repeat(101))),
                8,
                vec![("password", Problem::TooLong(100))],
            ),
            (
                with("email", json!(long_invalid)),
                8,
                vec![("email", Problem::TooLong(100))],
            ),
            (
                with("email", json!("  ")),
                8,
                vec![("email", Problem::Required)],
            ),
            (
                with("first_name", json!(format!("{}\u{7}", "é".repeat(50)))),
                8,
                vec![("first_name", Problem::TooLong(50))],
            ),
            (
                with("last_name", json!(" Love\u{85}lace ")),
                8,
                vec![("last_name", Problem::Control)],
            ),
        ];
        for (body, min_chars, expected) in cases {
            assert_eq!(problems(body.clone(), min_chars), expected, "{body}");
        }
    }

    #[test]
    fn failing_fields_come_in_the_contracts_order_whatever_the_bodys() {
        let body = json!({"last_name": "", "first_name": 7, "email": "bad", "password": null,
                          "username": "a b"});
        assert_eq!(
            problems(body, 8),
            vec![
                ("username", Problem::WhitespaceOrControl),
                ("password", Problem::Required),
                ("email", Problem::InvalidEmail),
                ("first_name", Problem::NotAString),
                ("last_name", Problem::Required),
            ]
        );
    }

    #[test]
    fn accepted_fields_are_trimmed_except_the_password() {
        let mut body = valid();
        body["username"] = json!("  ada ");
        body["password"] = json!(" correct horse ");
        body["first_name"] = json!(" Ada\t");
        let Value::Object(object) = body else {
            unreachable!()
        };
        let parsed = parse_sign_up(object, PasswordPolicy::default()).unwrap();
        assert_eq!(parsed.username.as_str(), "ada");
        assert_eq!(parsed.password.expose(), " correct horse ");
        assert_eq!(parsed.first_name, "Ada");
    }

    #[test]
    fn a_rejected_password_is_not_copied_into_validators_errors() {
        let fields = SignUpFields {
            username: None,
            password: Some(Redacted("secret")),
            email: None,
            first_name: None,
            last_name: None,
        };
        let errors = fields
            .validate_with_args(&PasswordPolicy::default())
            .unwrap_err();
        let printed = format!("{errors:?}");
        assert!(printed.contains("<redacted>"), "{printed}");
        assert!(!printed.contains("secret"), "{printed}");
    }
}
