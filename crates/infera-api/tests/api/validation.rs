//! Every 422 row of the contract, byte for byte (compact JSON, pydantic's key order).
//! Expected bodies for broken JSON were produced by CPython 3.11's `json` module.

use signup_test_support::{on_each_backend, Backend};

use crate::helpers::spawn_app;

fn detail(items: &str) -> String {
    format!(r#"{{"detail":[{items}]}}"#)
}

fn json_invalid(pos: usize, error: &str) -> String {
    detail(&format!(
        r#"{{"type":"json_invalid","loc":["body",{pos}],"msg":"JSON decode error","input":{{}},"ctx":{{"error":"{error}"}}}}"#
    ))
}

fn invalid_email(input: &str, reason: &str) -> String {
    detail(&format!(
        r#"{{"type":"value_error","loc":["body","email"],"msg":"value is not a valid email address: {reason}","input":"{input}","ctx":{{"reason":"{reason}"}}}}"#
    ))
}

async fn broken_json_reports_pythons_message_at_the_character_offset(backend: Backend) {
    let app = spawn_app(backend).await;
    let cases: &[(&str, usize, &str)] = &[
        (r#"{"email": }"#, 10, "Expecting value"),
        (
            r#"{"email":"a@b.com",}"#,
            19,
            "Expecting property name enclosed in double quotes",
        ),
        (r#"{"email" "x"}"#, 9, "Expecting ':' delimiter"),
        (r#"{"email": "abc"#, 10, "Unterminated string starting at"),
        (r#"{"émail": }"#, 10, "Expecting value"),
        (
            r#"{"e":"日本語",}"#,
            11,
            "Expecting property name enclosed in double quotes",
        ),
        (
            r#"{"name":"Zoë 🎉", "email" 5}"#,
            25,
            "Expecting ':' delimiter",
        ),
        ("[", 1, "Expecting value"),
        (r#"{"email":"a@b.com"} x"#, 20, "Extra data"),
        ("{\"email\":\"a\tb\"}", 11, "Invalid control character at"),
        (r#"{"email":"\q"}"#, 10, r"Invalid \\escape"),
        ("  ", 2, "Expecting value"),
        (
            "{'email': 'x'}",
            1,
            "Expecting property name enclosed in double quotes",
        ),
    ];
    for (body, pos, error) in cases {
        let answer = app.post(body.to_string(), Some("application/json")).await;
        assert_eq!(answer.status, 422, "{body}");
        assert_eq!(answer.content_type, "application/json");
        assert_eq!(answer.body, json_invalid(*pos, error), "{body}");
    }
}

async fn a_missing_body_is_field_required(backend: Backend) {
    let app = spawn_app(backend).await;
    let expected =
        detail(r#"{"type":"missing","loc":["body"],"msg":"Field required","input":null}"#);
    for (body, content_type) in [
        ("", Some("application/json")),
        ("", None),
        ("", Some("text/plain")),
    ] {
        let answer = app.post(body, content_type).await;
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (422, expected.as_str()),
            "{body:?} {content_type:?}"
        );
    }
}

async fn an_object_without_email_echoes_the_whole_object(backend: Backend) {
    let app = spawn_app(backend).await;
    for (body, input) in [
        ("{}", "{}"),
        (r#"{"b":1,"a":"é","n":null}"#, r#"{"b":1,"a":"é","n":null}"#),
    ] {
        let answer = app.post(body, Some("application/json")).await;
        let expected = detail(&format!(
            r#"{{"type":"missing","loc":["body","email"],"msg":"Field required","input":{input}}}"#
        ));
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (422, expected.as_str()),
            "{body}"
        );
    }
}

async fn an_email_that_is_not_a_string_is_string_type(backend: Backend) {
    let app = spawn_app(backend).await;
    for input in ["123", "true", "null", r#"["a@b.com"]"#, r#"{"x":1}"#, "1.5"] {
        let answer = app
            .post(format!(r#"{{"email":{input}}}"#), Some("application/json"))
            .await;
        let expected = detail(&format!(
            r#"{{"type":"string_type","loc":["body","email"],"msg":"Input should be a valid string","input":{input}}}"#
        ));
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (422, expected.as_str()),
            "{input}"
        );
    }
}

async fn a_body_that_is_not_an_object_is_model_attributes_type(backend: Backend) {
    let app = spawn_app(backend).await;
    let item = |input: &str| {
        detail(&format!(
            r#"{{"type":"model_attributes_type","loc":["body"],"msg":"Input should be a valid dictionary or object to extract fields from","input":{input}}}"#
        ))
    };
    for body in ["null", "[]", r#""x""#, "5", r#"["a@b.com"]"#] {
        let answer = app.post(body, Some("application/json")).await;
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (422, item(body).as_str()),
            "{body}"
        );
    }
    // A body that is not declared as JSON is handed to the model as text.
    let answer = app
        .post(
            "email=ada@example.com",
            Some("application/x-www-form-urlencoded"),
        )
        .await;
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (422, item(r#""email=ada@example.com""#).as_str())
    );
    let answer = app
        .post(r#"{"email":"ada@example.com"}"#, Some("text/plain"))
        .await;
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (422, item(r#""{\"email\":\"ada@example.com\"}""#).as_str())
    );
    let answer = app.post(r#"{"email":"ada@example.com"}"#, None).await;
    assert_eq!(answer.status, 422, "no Content-Type: not parsed as JSON");
    // Any application/*+json is JSON.
    let answer = app
        .post(
            r#"{"email":"ada@example.com"}"#,
            Some("application/vnd.infera+json"),
        )
        .await;
    assert_eq!(answer.status, 200);
}

async fn invalid_addresses_give_email_validators_reason(backend: Backend) {
    let app = spawn_app(backend).await;
    let cases = [
        ("foobar", "An email address must have an @-sign."),
        ("@example.com", "There must be something before the @-sign."),
        ("x@", "There must be something after the @-sign."),
        ("foobar@localhost", "The part after the @-sign is not valid. It should have a period."),
        ("foobar@127.0.0.1", "The part after the @-sign is not valid. It is not within a valid top-level domain."),
        ("f oo@example.com", "The email address contains invalid characters before the @-sign: SPACE."),
        ("a..b@example.com", "An email address cannot have two periods in a row."),
        ("user@example.test", "The part after the @-sign is a special-use or reserved name that cannot be used with email."),
        ("user@printer.local", "The part after the @-sign is a special-use or reserved name that cannot be used with email."),
    ];
    for (input, reason) in cases {
        let answer = app.sign_up(input).await;
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (422, invalid_email(input, reason).as_str()),
            "{input}"
        );
    }
    let long = "a".repeat(2049);
    let answer = app.sign_up(&long).await;
    assert_eq!(
        answer.body,
        invalid_email(&long, "Length must not exceed 2048 characters")
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM accounts").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox").await, 0);
}

async fn bytes_that_are_not_text_get_fastapis_400(backend: Backend) {
    let app = spawn_app(backend).await;
    let answer = app
        .post(vec![b'{', 0xff, 0xfe, b'}'], Some("application/json"))
        .await;
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (400, r#"{"detail":"There was an error parsing the body"}"#)
    );
}

on_each_backend!(
    broken_json_reports_pythons_message_at_the_character_offset,
    a_missing_body_is_field_required,
    an_object_without_email_echoes_the_whole_object,
    an_email_that_is_not_a_string_is_string_type,
    a_body_that_is_not_an_object_is_model_attributes_type,
    invalid_addresses_give_email_validators_reason,
    bytes_that_are_not_text_get_fastapis_400,
);
