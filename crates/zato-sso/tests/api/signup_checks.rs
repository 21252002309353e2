//! Every row of the check table, in its order, under both values of every `inform_if_*`
//! flag: exact status and body.

use serde_json::{json, Value};
use signup_test_support::{on_each_backend, Backend};

use crate::helpers::{sign_up_body, spawn_app_with, TestApp};

/// An app with every `inform_if_*` flag set to `inform`, the address required and a zxcvbn
/// minimum of 3, holding user `taken` / `used@example.com`.
async fn app(backend: Backend, inform: bool) -> TestApp {
    let app = spawn_app_with(backend, |s| {
        let z = &mut s.flavours;
        z.signup.inform_if_user_invalid = inform;
        z.signup.inform_if_user_exists = inform;
        z.signup.inform_if_email_invalid = inform;
        z.signup.inform_if_email_exists = inform;
        z.password.inform_if_invalid = inform;
        z.apps.inform_if_app_invalid = inform;
        z.signup.is_email_required = true;
        z.password.min_complexity = 3;
        z.apps.all.0 = vec!["CRM".into(), "ERP".into()];
    })
    .await;
    let mut body = sign_up_body("taken");
    body["email"] = json!("used@example.com");
    app.sign_up(&body).await.confirm_token();
    app
}

fn with(pairs: &[(&str, Value)]) -> Value {
    let mut body = sign_up_body("newcomer");
    for (key, value) in pairs {
        match value {
            Value::String(s) if s == "<absent>" => {
                body.as_object_mut().unwrap().remove(*key);
            }
            _ => body[*key] = value.clone(),
        }
    }
    body
}

fn absent() -> Value {
    json!("<absent>")
}

/// (what, body, the row's code, whether a flag can hide it)
fn cases() -> Vec<(&'static str, Value, &'static str, bool)> {
    let long_name = "n".repeat(129);
    let long_email = format!("{}@example.com", "e".repeat(117));
    vec![
        (
            "current_app missing",
            with(&[("current_app", absent())]),
            "E004001",
            true,
        ),
        (
            "current_app null",
            with(&[("current_app", Value::Null)]),
            "E004001",
            true,
        ),
        (
            "current_app unknown, app_list empty too",
            with(&[("current_app", json!("NOPE")), ("app_list", json!([]))]),
            "E004001",
            true,
        ),
        (
            "current_app of another case",
            with(&[("current_app", json!("crm"))]),
            "E004001",
            true,
        ),
        (
            "app_list missing",
            with(&[("app_list", absent())]),
            "E004002",
            false,
        ),
        (
            "app_list empty",
            with(&[("app_list", json!([]))]),
            "E004002",
            false,
        ),
        (
            "app_list naming an app known but not open to sign-up",
            with(&[("app_list", json!(["CRM", "ERP"]))]),
            "E004002",
            false,
        ),
        (
            "app_list wrong, username missing too",
            with(&[("app_list", json!(["X"])), ("username", absent())]),
            "E004002",
            false,
        ),
        (
            "username missing",
            with(&[("username", absent())]),
            "E001001",
            false,
        ),
        (
            "username null",
            with(&[("username", Value::Null)]),
            "E001001",
            false,
        ),
        (
            "username empty, password short too",
            with(&[("username", json!("")), ("password", json!("x"))]),
            "E001001",
            false,
        ),
        (
            "username 129 characters, with a space too",
            with(&[("username", json!(format!("{long_name} x")))]),
            "E001003",
            true,
        ),
        (
            "username with a leading space",
            with(&[("username", json!(" newcomer"))]),
            "E001004",
            true,
        ),
        (
            "username with a no-break space",
            with(&[("username", json!("new\u{a0}comer"))]),
            "E001004",
            true,
        ),
        (
            "username holding a keyword, any case",
            with(&[("username", json!("MyAdmin"))]),
            "E001001",
            true,
        ),
        (
            "username holding a keyword inside a word",
            with(&[("username", json!("rooted"))]),
            "E001001",
            true,
        ),
        (
            "username taken in another case, password short too",
            with(&[("username", json!("TAKEN")), ("password", json!("x"))]),
            "E001002",
            true,
        ),
        (
            "password missing",
            with(&[("password", absent())]),
            "E003002",
            true,
        ),
        (
            "password null",
            with(&[("password", Value::Null)]),
            "E003002",
            true,
        ),
        (
            "password 7 characters, email bad too",
            with(&[("password", json!("Xk3!vq9")), ("email", json!("bad"))]),
            "E003002",
            true,
        ),
        (
            "password 257 characters",
            with(&[("password", json!("Xk3!".repeat(64) + "x"))]),
            "E003003",
            true,
        ),
        (
            "password holding a rejected entry, any case",
            with(&[("password", json!("myPassWORD99"))]),
            "E003001",
            true,
        ),
        (
            "password too simple for zxcvbn",
            with(&[("password", json!("abcdefgh"))]),
            "E003008",
            true,
        ),
        (
            "email missing while required",
            with(&[("email", absent())]),
            "E002005",
            true,
        ),
        (
            "email empty while required",
            with(&[("email", json!(""))]),
            "E002005",
            true,
        ),
        (
            "email 129 characters",
            with(&[("email", json!(long_email))]),
            "E002003",
            true,
        ),
        (
            "email with a space",
            with(&[("email", json!("new comer@example.com"))]),
            "E002004",
            true,
        ),
        (
            "email with a trailing space",
            with(&[("email", json!("newcomer@example.com "))]),
            "E002004",
            true,
        ),
        (
            "email not an address",
            with(&[("email", json!("newcomer@localhost"))]),
            "E002004",
            true,
        ),
        (
            "email holding a keyword",
            with(&[("email", json!("newcomer@SSO.example.com"))]),
            "E002001",
            true,
        ),
        (
            "email used by another user, in another case",
            with(&[("email", json!("Used@Example.com"))]),
            "E002002",
            true,
        ),
    ]
}

async fn every_row_answers_its_code_when_informing_and_e005001_when_not(backend: Backend) {
    for inform in [true, false] {
        let app = app(backend, inform).await;
        for (what, body, code, hideable) in cases() {
            let expected = if inform || !hideable { code } else { "E005001" };
            let reply = app.sign_up(&body).await;
            assert_eq!(
                (reply.status, reply.body["sub_status"][0].as_str()),
                (403, Some(expected)),
                "{what} (inform = {inform}): {}",
                reply.text
            );
            reply.assert_error(403, expected);
        }
        assert_eq!(
            app.count("SELECT COUNT(*) FROM accounts").await,
            1,
            "only `taken`"
        );
        // The same app accepts the valid body the cases were made from.
        app.sign_up(&with(&[])).await.confirm_token();
    }
}

async fn with_the_templates_defaults_the_user_rows_are_hidden_and_the_password_rows_shown(
    backend: Backend,
) {
    let app = spawn_app_with(backend, |_| {}).await;
    app.sign_up(&sign_up_body("taken")).await.confirm_token();
    for (body, code) in [
        (with(&[("username", json!("taken"))]), "E005001"),
        (with(&[("username", json!("a b"))]), "E005001"),
        (with(&[("username", json!("zato.user"))]), "E005001"),
        (with(&[("email", json!("taken@example.com"))]), "E005001"),
        (with(&[("email", json!("bad"))]), "E005001"),
        (with(&[("password", json!("short"))]), "E003002"),
        (with(&[("password", json!("qwerty-qwerty"))]), "E003001"),
        (with(&[("current_app", json!("NOPE"))]), "E004001"),
        (with(&[("username", json!(""))]), "E001001"),
    ] {
        app.sign_up(&body).await.assert_error(403, code);
    }
    // Complexity is off (0) and the address optional.
    app.sign_up(&with(&[
        ("password", json!("abcdefgh")),
        ("email", absent()),
    ]))
    .await
    .confirm_token();
}

async fn wrong_json_is_400_e005001_before_any_rule(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.flavours.signup.inform_if_user_invalid = true).await;
    let bad_types = [
        ("username", json!(5)),
        ("username", json!(["a"])),
        ("password", json!(12345678)),
        ("password", json!({"a": 1})),
        ("email", json!(true)),
        ("current_app", json!(["CRM"])),
        ("app_list", json!("CRM")),
        ("app_list", json!(["CRM", 1])),
    ];
    for (key, value) in bad_types {
        // Every other field also fails a rule: the type is the first row.
        let mut body = json!({"username": " admin", "current_app": "NOPE"});
        body[key] = value;
        app.sign_up(&body).await.assert_error(400, "E005001");
    }
    for raw in [
        "",
        "not json",
        "[1]",
        "\"x\"",
        "null",
        "{\"username\":\"a\"",
    ] {
        app.send(reqwest::Method::POST, crate::helpers::SIGNUP, raw)
            .await
            .assert_error(400, "E005001");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM accounts").await, 0);
}

on_each_backend!(
    every_row_answers_its_code_when_informing_and_e005001_when_not,
    with_the_templates_defaults_the_user_rows_are_hidden_and_the_password_rows_shown,
    wrong_json_is_400_e005001_before_any_rule,
);
