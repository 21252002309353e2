//! The Conductor contract's bodies, exactly as it spells them.

use serde::Serialize;
use serde_json::{Map, Value};
use signup_core::{EmailAddress, Password, PasswordError, PasswordPolicy, Username, UsernameError};
use utoipa::ToSchema;

/// Request body of `POST /auth/signup` (documentation; the handler parses by hand so that
/// every failing field is reported in the contract's words).
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
    pub details: Value,
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
    pub fn predicate(self) -> String {
        match self {
            Self::Required => "is required".into(),
            Self::NotAString => "must be a string".into(),
            Self::TooShort(n) => format!("must be at least {n} characters"),
            Self::TooLong(n) => format!("must be at most {n} characters"),
            Self::WhitespaceOrControl => "must not contain whitespace or control characters".into(),
            Self::Control => "must not contain control characters".into(),
            Self::InvalidEmail => "is not a valid email address".into(),
        }
    }

    /// The sentence under `validation_errors`: `Username is required`.
    pub fn sentence(self, label: &str) -> String {
        match self {
            Self::InvalidEmail => "Invalid email format".into(),
            other => format!("{label} {}", other.predicate()),
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
    let mut problems = Vec::new();
    let mut take = |index: usize| -> Option<String> {
        let (field, label) = FIELDS[index];
        let problem = match object.remove(field) {
            None | Some(Value::Null) => Problem::Required,
            Some(Value::String(s)) => return Some(s),
            Some(_) => Problem::NotAString,
        };
        problems.push(FieldProblem {
            field,
            label,
            problem,
        });
        None
    };
    let raw: Vec<Option<String>> = (0..FIELDS.len()).map(&mut take).collect();
    let mut fail = |index: usize, problem: Problem| {
        let (field, label) = FIELDS[index];
        problems.push(FieldProblem {
            field,
            label,
            problem,
        });
    };
    let mut raw = raw.into_iter();
    let (username, password, email, first_name, last_name) = (
        raw.next().flatten(),
        raw.next().flatten(),
        raw.next().flatten(),
        raw.next().flatten(),
        raw.next().flatten(),
    );

    let username = username.and_then(|u| {
        Username::parse(&u, NAME_MAX_CHARS)
            .map_err(|e| {
                fail(
                    0,
                    match e {
                        UsernameError::Empty => Problem::Required,
                        UsernameError::TooLong { max } => Problem::TooLong(max),
                        UsernameError::InvalidCharacter => Problem::WhitespaceOrControl,
                    },
                );
            })
            .ok()
    });
    let password = password.and_then(|p| {
        if p.is_empty() {
            fail(1, Problem::Required);
            return None;
        }
        let policy = PasswordPolicy {
            max_chars: PASSWORD_MAX_CHARS,
            ..policy
        };
        Password::parse(p, policy)
            .map_err(|e| {
                fail(
                    1,
                    match e {
                        PasswordError::TooShort { min } => Problem::TooShort(min),
                        PasswordError::TooLong { max } => Problem::TooLong(max),
                    },
                );
            })
            .ok()
    });
    let email = email.and_then(|e| {
        let trimmed = e.trim();
        let problem = if trimmed.is_empty() {
            Problem::Required
        } else if trimmed.chars().count() > EMAIL_MAX_CHARS {
            Problem::TooLong(EMAIL_MAX_CHARS)
        } else {
            match EmailAddress::parse(trimmed) {
                Ok(email) => return Some(email),
                Err(_) => Problem::InvalidEmail,
            }
        };
        fail(2, problem);
        None
    });
    let mut name = |index: usize, raw: Option<String>| {
        let value = raw?.trim().to_string();
        let problem = if value.is_empty() {
            Problem::Required
        } else if value.chars().count() > NAME_MAX_CHARS {
            Problem::TooLong(NAME_MAX_CHARS)
        } else if value.chars().any(char::is_control) {
            Problem::Control
        } else {
            return Some(value);
        };
        fail(index, problem);
        None
    };
    let first_name = name(3, first_name);
    let last_name = name(4, last_name);

    match (username, password, email, first_name, last_name) {
        (Some(username), Some(password), Some(email), Some(first_name), Some(last_name))
            if problems.is_empty() =>
        {
            Ok(ParsedSignUp {
                username,
                password,
                email,
                first_name,
                last_name,
            })
        }
        _ => {
            let order = |p: &FieldProblem| FIELDS.iter().position(|(f, _)| *f == p.field);
            problems.sort_by_key(order);
            Err(problems)
        }
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
