//! Infera's bodies, as FastAPI and pydantic v2 spell them.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// `POST /signup_user` body (documentation; the handler validates like pydantic).
#[derive(Debug, ToSchema)]
#[schema(title = "SignupRequest", example = json!({"email": "jsmith@example.com"}))]
#[allow(dead_code)]
pub struct SignupRequest {
    #[schema(schema_with = email_schema)]
    email: String,
}

/// The `200` answer, the same whether the address was new, pending or verified.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignupResponse {
    pub email: String,
    #[schema(example = "pending_verification")]
    pub status: &'static str,
    #[schema(example = "Check your inbox to verify your email address.")]
    pub message: &'static str,
}

/// The `200` answer of `GET /verify_email`.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerifiedResponse {
    pub email: String,
    #[schema(example = "verified")]
    pub status: &'static str,
}

/// FastAPI's `{"detail": "..."}` for every non-422 error.
#[derive(Debug, Serialize, ToSchema)]
pub struct DetailResponse {
    pub detail: String,
}

/// FastAPI's 422 body.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = HTTPValidationError, title = "HTTPValidationError")]
pub struct HttpValidationError {
    #[schema(schema_with = detail_schema)]
    pub detail: Vec<ValidationError>,
}

/// One pydantic error: keys in pydantic's order, `ctx` only when present.
#[derive(Debug, Serialize, ToSchema)]
#[schema(title = "ValidationError")]
pub struct ValidationError {
    #[serde(rename = "type")]
    #[schema(schema_with = error_type_schema)]
    pub kind: &'static str,
    #[schema(schema_with = location_schema)]
    pub loc: Vec<Value>,
    #[schema(schema_with = message_schema)]
    pub msg: String,
    #[schema(value_type = Object)]
    pub input: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub ctx: Option<Value>,
}

// FastAPI titles every property; utoipa has no field-level title, hence these builders.

fn titled_string(title: &str) -> utoipa::openapi::schema::ObjectBuilder {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .title(Some(title))
}

fn email_schema() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{KnownFormat, SchemaFormat};
    titled_string("Email")
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Email)))
        .build()
}

fn error_type_schema() -> utoipa::openapi::schema::Object {
    titled_string("Error Type").build()
}

fn message_schema() -> utoipa::openapi::schema::Object {
    titled_string("Message").build()
}

fn detail_schema() -> utoipa::openapi::schema::Array {
    utoipa::openapi::schema::ArrayBuilder::new()
        .title(Some("Detail"))
        .items(utoipa::openapi::Ref::from_schema_name("ValidationError"))
        .build()
}

/// `loc`: an array of field names and indexes, as FastAPI documents it.
fn location_schema() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{AnyOfBuilder, ArrayBuilder, ObjectBuilder, Type};
    ArrayBuilder::new()
        .title(Some("Location"))
        .items(
            AnyOfBuilder::new()
                .item(ObjectBuilder::new().schema_type(Type::String))
                .item(ObjectBuilder::new().schema_type(Type::Integer)),
        )
        .build()
}

impl ValidationError {
    pub fn missing(loc: Vec<Value>, input: Value) -> Self {
        Self {
            kind: "missing",
            loc,
            msg: "Field required".into(),
            input,
            ctx: None,
        }
    }

    pub fn json_invalid(position: usize, error: &str) -> Self {
        Self {
            kind: "json_invalid",
            loc: vec!["body".into(), position.into()],
            msg: "JSON decode error".into(),
            input: Value::Object(Default::default()),
            ctx: Some(serde_json::json!({ "error": error })),
        }
    }

    pub fn string_type(loc: Vec<Value>, input: Value) -> Self {
        Self {
            kind: "string_type",
            loc,
            msg: "Input should be a valid string".into(),
            input,
            ctx: None,
        }
    }

    pub fn model_attributes_type(input: Value) -> Self {
        Self {
            kind: "model_attributes_type",
            loc: vec!["body".into()],
            msg: "Input should be a valid dictionary or object to extract fields from".into(),
            input,
            ctx: None,
        }
    }

    pub fn invalid_email(input: &str, reason: &str) -> Self {
        Self {
            kind: "value_error",
            loc: vec!["body".into(), "email".into()],
            msg: format!("value is not a valid email address: {reason}"),
            input: Value::String(input.to_string()),
            ctx: Some(serde_json::json!({ "reason": reason })),
        }
    }
}
