use serde_json::{json, Value};
use signup_test_support::{on_each_backend, Backend};
use sqlx::Row;

use crate::helpers::{
    failure, hashids, spawn_app, spawn_app_with, success, valid_body, with_activation,
};

const SALT: &str = "cloudreve-test-salt";

fn admin_group() -> Value {
    json!({"id": "l9Tp", "name": "Admin", "permission": "/f8B", "direct_link_batch_size": 10, "trash_retention": 604800})
}

fn user_group() -> Value {
    json!({"id": "QZf8", "name": "User", "permission": "hAg=", "direct_link_batch_size": 10, "trash_retention": 604800})
}

async fn the_first_sign_up_is_the_realms_admin_with_hashid_ids(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.flavours.hash_id_salt = Some(SALT.into())).await;
    let response = app
        .sign_up(&json!({"email": "  Ada.L@Example.COM ", "password": "secret-pw", "language": "zh-CN", "unknown": [1]}))
        .await;
    let body = success(response).await;
    let created_at = body["data"]["created_at"].as_str().unwrap().to_string();
    assert!(
        chrono::DateTime::parse_from_rfc3339(&created_at).is_ok() && created_at.ends_with("+00:00"),
        "{created_at}"
    );
    assert_eq!(
        serde_json::to_string(&body).unwrap(),
        serde_json::to_string(&json!({
            "code": 0,
            "data": {
                "id": "Y5Tb",
                "email": "ada.l@example.com",
                "nickname": "ada.l",
                "created_at": created_at,
                "anonymous": false,
                "group": admin_group(),
                "status": "active",
                "avatar": null,
                "preferred_theme": null,
                "credit": 0,
                "language": "zh-CN",
            },
            "msg": "",
        }))
        .unwrap(),
        "every key, in order"
    );
    let row = sqlx::query("SELECT email, email_key, status, seq, password_hash FROM accounts")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(row.get::<String, _>("email"), "ada.l@example.com");
    assert_eq!(row.get::<String, _>("status"), "active");
    assert_eq!(row.get::<i64, _>("seq"), 1);
    assert!(row
        .get::<String, _>("password_hash")
        .starts_with("$argon2id$"));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM outbox").await,
        0,
        "no mail without activation"
    );
}

async fn later_sign_ups_get_the_default_group_and_the_next_numbers(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.flavours.hash_id_salt = Some(SALT.into())).await;
    app.signed_up("first@example.com").await;
    let second = app.signed_up("second@example.com").await;
    assert_eq!(second["data"]["id"], "DLfx");
    assert_eq!(second["data"]["group"], user_group());
    assert_eq!(second["data"]["nickname"], "second");

    let anonymous = spawn_app_with(backend, |s| {
        s.flavours.hash_id_salt = Some(SALT.into());
        s.flavours.default_group = 3;
    })
    .await;
    anonymous.signed_up("first@example.com").await;
    let body = anonymous.signed_up("second@example.com").await;
    assert_eq!(
        body["data"]["group"],
        json!({"id": hashids(SALT).id(3, 7), "name": "Anonymous", "permission": "gg==", "direct_link_batch_size": 10, "trash_retention": 604800})
    );
}

async fn ten_racing_first_sign_ups_make_exactly_one_admin(backend: Backend) {
    let app = spawn_app(backend).await;
    let requests = (0..10).map(|i| {
        let app = &app;
        async move {
            success(
                app.sign_up(&valid_body(&format!("racer{i}@example.com")))
                    .await,
            )
            .await
        }
    });
    let bodies = futures_util::future::join_all(requests).await;
    let admins = bodies
        .iter()
        .filter(|b| b["data"]["group"]["name"] == "Admin")
        .count();
    assert_eq!(admins, 1, "{bodies:?}");
    let ids: std::collections::BTreeSet<String> = bodies
        .iter()
        .map(|b| b["data"]["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 10, "every id distinct");
    let seqs: Vec<i64> = sqlx::query_scalar("SELECT seq FROM accounts ORDER BY seq")
        .fetch_all(app.store.pool())
        .await
        .unwrap();
    assert_eq!(seqs, (1..=10).collect::<Vec<i64>>());
}

async fn ten_racing_sign_ups_of_one_address_make_one_account(backend: Backend) {
    let app = spawn_app(backend).await;
    let requests = (0..10).map(|_| {
        let app = &app;
        async move {
            app.sign_up(&valid_body("same@example.com"))
                .await
                .json::<Value>()
                .await
                .unwrap()
        }
    });
    let bodies = futures_util::future::join_all(requests).await;
    let codes: Vec<_> = bodies.iter().map(|b| b["code"].as_i64().unwrap()).collect();
    assert_eq!(codes.iter().filter(|c| **c == 0).count(), 1, "{codes:?}");
    assert_eq!(
        codes.iter().filter(|c| **c == 40032).count(),
        9,
        "{codes:?}"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM accounts").await, 1);
    // The losers' numbers were rolled back with their transactions.
    let next = app.signed_up("next@example.com").await;
    let seq: i64 = sqlx::query_scalar("SELECT seq FROM accounts WHERE email = 'next@example.com'")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(seq, 2, "{next}");
}

async fn a_number_is_never_reused(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.flavours.hash_id_salt = Some(SALT.into())).await;
    app.signed_up("a@example.com").await;
    app.signed_up("b@example.com").await;
    sqlx::query("DELETE FROM accounts WHERE email = 'b@example.com'")
        .execute(app.store.pool())
        .await
        .unwrap();
    let third = app.signed_up("c@example.com").await;
    assert_eq!(third["data"]["id"], "PvSd", "[3, 1]");
}

async fn every_body_check_answers_its_row_with_a_correlation_id(backend: Backend) {
    let app = spawn_app(backend).await;
    let long = format!("{}@example.com", "a".repeat(89));
    let cases: Vec<(String, Option<&str>, &str)> = vec![
        (String::new(), None, "Parameter error"),
        (
            "not json".into(),
            Some("application/json"),
            "Parameter error",
        ),
        (
            "{\"email\":".into(),
            Some("application/json"),
            "Parameter error",
        ),
        ("null".into(), Some("application/json"), "Parameter error"),
        ("[]".into(), Some("application/json"), "Parameter error"),
        (
            "\"a@example.com\"".into(),
            Some("application/json"),
            "Parameter error",
        ),
        ("42".into(), Some("application/json"), "Parameter error"),
        (
            r#"{"email":["a@example.com"],"password":"secret-pw"}"#.into(),
            None,
            "JSON marshall error",
        ),
        (
            r#"{"email":"a@example.com","password":123456}"#.into(),
            None,
            "JSON marshall error",
        ),
        (
            r#"{"email":"","password":true,"language":"en-US"}"#.into(),
            None,
            "JSON marshall error",
        ),
        (
            r#"{"email":"a@example.com","password":"secret-pw","language":{}}"#.into(),
            None,
            "JSON marshall error",
        ),
        (
            "{}".into(),
            Some("application/json"),
            "Email cannot be empty",
        ),
        (
            r#"{"email":"","password":""}"#.into(),
            None,
            "Email cannot be empty",
        ),
        (
            r#"{"email":null,"password":"secret-pw"}"#.into(),
            None,
            "Email cannot be empty",
        ),
        (
            r#"{"email":"  ","password":"secret-pw"}"#.into(),
            None,
            "Email cannot be empty",
        ),
        (
            r#"{"email":"not-an-address","password":""}"#.into(),
            None,
            "Email format error",
        ),
        (
            r#"{"email":"a@","password":"secret-pw"}"#.into(),
            None,
            "Email format error",
        ),
        (
            format!(r#"{{"email":"{long}","password":"secret-pw"}}"#),
            None,
            "Email format error",
        ),
        (
            r#"{"email":"a@example.com"}"#.into(),
            None,
            "Password cannot be empty",
        ),
        (
            r#"{"email":"a@example.com","password":null}"#.into(),
            None,
            "Password cannot be empty",
        ),
        (
            r#"{"email":"a@example.com","password":""}"#.into(),
            None,
            "Password cannot be empty",
        ),
        (
            r#"{"email":"a@example.com","password":"12345"}"#.into(),
            None,
            "Password too short",
        ),
        (
            r#"{"email":"a@example.com","password":"ééééé"}"#.into(),
            None,
            "Password too short",
        ),
        (
            format!(
                r#"{{"email":"a@example.com","password":"{}"}}"#,
                "p".repeat(65)
            ),
            None,
            "Password too long",
        ),
    ];
    for (body, content_type, msg) in cases {
        let response = app.post_raw(body.clone(), content_type).await;
        let got = failure(response, 200).await;
        assert_eq!(got, json!({"code": 40001, "msg": msg}), "{body}");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM accounts").await, 0);
}

async fn the_bounds_are_counted_in_characters_and_the_content_type_is_not_checked(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let exactly_100 = format!("{}@example.com", "b".repeat(88));
    let cases = [
        json!({"email": exactly_100, "password": "éééééé"}),
        json!({"email": "c@example.com", "password": "é".repeat(64), "language": null}),
        json!({"email": "d@example.com", "password": "secret-pw", "language": "", "captcha": 5, "ticket": ["x"]}),
    ];
    for body in cases {
        let response = app.post_raw(body.to_string(), Some("text/plain")).await;
        let got = success(response).await;
        assert_eq!(got["code"], 0, "{body}: {got}");
        assert_eq!(got["data"]["language"], "en-US");
    }
}

async fn sign_up_disabled_answers_40019_before_any_other_check(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.flavours.register_enabled = false;
        s.flavours.reg_captcha = true;
    })
    .await;
    for body in [
        "garbage",
        r#"{"email":"a@example.com","password":"secret-pw"}"#,
    ] {
        let got = failure(app.post_raw(body, None).await, 200).await;
        assert_eq!(
            got,
            json!({"code": 40019, "msg": "This feature is not enabled"})
        );
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM accounts").await, 0);
}

async fn an_address_of_an_active_or_banned_user_answers_40032(backend: Backend) {
    let app = spawn_app(backend).await;
    app.signed_up("taken@example.com").await;
    let got = failure(app.sign_up(&valid_body(" TAKEN@example.com")).await, 200).await;
    assert_eq!(got, json!({"code": 40032, "msg": "Email already in use"}));
    sqlx::query("UPDATE accounts SET status = 'banned'")
        .execute(app.store.pool())
        .await
        .unwrap();
    let got = failure(app.sign_up(&valid_body("taken@example.com")).await, 200).await;
    assert_eq!(got, json!({"code": 40032, "msg": "Email already in use"}));
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox").await, 0, "no mail");
}

async fn an_address_of_an_inactive_user_answers_40033_and_mails_the_link_again(backend: Backend) {
    let app = spawn_app_with(backend, with_activation).await;
    let first = success(app.sign_up(&valid_body("late@example.com")).await).await;
    assert_eq!(first, json!({"code": 203, "msg": ""}));
    let hash_before: String = sqlx::query_scalar("SELECT password_hash FROM accounts")
        .fetch_one(app.store.pool())
        .await
        .unwrap();

    let mut again = valid_body("Late@Example.com");
    again["password"] = json!("another-password");
    let got = failure(app.sign_up(&again).await, 200).await;
    assert_eq!(
        got,
        json!({"code": 40033, "msg": "User is not activated, activation email has been resent"})
    );
    let mails = app.mails(2).await;
    assert_eq!(mails.len(), 2);
    for mail in &mails {
        assert!(mail.contains("To: late@example.com"), "{mail}");
        assert!(mail.contains("/session/activate?id="), "{mail}");
    }
    let hash_after: String = sqlx::query_scalar("SELECT password_hash FROM accounts")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(hash_before, hash_after, "the stored password is unchanged");
    assert_eq!(app.count("SELECT COUNT(*) FROM accounts").await, 1);
}

async fn an_inactive_user_gets_40033_even_with_activation_now_off(backend: Backend) {
    let app = spawn_app(backend).await;
    app.signed_up("old@example.com").await;
    sqlx::query("UPDATE accounts SET status = 'inactive'")
        .execute(app.store.pool())
        .await
        .unwrap();
    let got = failure(app.sign_up(&valid_body("old@example.com")).await, 200).await;
    assert_eq!(got["code"], 40033);
    let mails = app.mails(1).await;
    assert!(
        mails[0].contains("Subject: [Cloudreve] Confirm your account"),
        "{}",
        mails[0]
    );
}

async fn with_activation_the_account_is_inactive_and_its_mail_queued_in_the_same_transaction(
    backend: Backend,
) {
    let app = spawn_app_with(backend, with_activation).await;
    let response = app.sign_up(&valid_body("new@example.com")).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.text().await.unwrap(), r#"{"code":203,"msg":""}"#);
    let row = sqlx::query("SELECT a.status AS status, o.kind AS kind FROM accounts a JOIN outbox o ON o.account_id = a.id")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(row.get::<String, _>("status"), "inactive");
    assert_eq!(row.get::<String, _>("kind"), "mail");
    // A failing outbox insert rolls the account back with it.
    sqlx::query("DROP TABLE outbox")
        .execute(app.store.pool())
        .await
        .unwrap();
    let got = failure(app.sign_up(&valid_body("other@example.com")).await, 200).await;
    assert_eq!(
        got,
        json!({"code": 50001, "msg": "Failed to insert user row"})
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM accounts").await, 1);
}

async fn a_valid_correlation_id_is_echoed_and_an_invalid_one_replaced(backend: Backend) {
    let app = spawn_app(backend).await;
    let cid = "b4351ecc-ee1a-4455-bc94-2c3dbcc58538";
    let response = app
        .client
        .post(app.url("/cloudreve/api/v4/user"))
        .header("X-Cr-Correlation-Id", cid)
        .body("{}")
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        serde_json::to_string(&body).unwrap(),
        format!(r#"{{"code":40001,"msg":"Email cannot be empty","correlation_id":"{cid}"}}"#)
    );
    let response = app
        .client
        .post(app.url("/cloudreve/api/v4/user"))
        .header("X-Cr-Correlation-Id", "not-a-uuid")
        .body("{}")
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    let got = body["correlation_id"].as_str().unwrap();
    assert_ne!(got, "not-a-uuid");
    assert_eq!(uuid::Uuid::parse_str(got).unwrap().get_version_num(), 4);
}

async fn a_store_failure_answers_50001_without_internals(backend: Backend) {
    let app = spawn_app(backend).await;
    sqlx::query("DROP TABLE realm_sequences")
        .execute(app.store.pool())
        .await
        .unwrap();
    let response = app.sign_up(&valid_body("a@example.com")).await;
    let got = failure(response, 200).await;
    assert_eq!(
        got,
        json!({"code": 50001, "msg": "Failed to insert user row"})
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM accounts").await, 0);
}

async fn an_overloaded_hashing_pool_answers_503_with_retry_after(backend: Backend) {
    let app = spawn_app_with(backend, |c| {
        c.hashing.workers = 1;
        c.hashing.queue = 0;
        c.hashing.memory_kib = 16 * 1024;
        c.hashing.iterations = 4;
    })
    .await;
    let requests = (0..12).map(|i| {
        let app = &app;
        async move {
            app.sign_up(&valid_body(&format!("user{i}@example.com")))
                .await
        }
    });
    let responses = futures_util::future::join_all(requests).await;
    let (mut created, mut refused) = (0, 0);
    for response in responses {
        match response.status().as_u16() {
            200 => {
                assert_eq!(success(response).await["code"], 0);
                created += 1;
            }
            503 => {
                assert_eq!(response.headers()["retry-after"], "1");
                let got = failure(response, 503).await;
                assert_eq!(
                    got,
                    json!({"code": 50001, "msg": "Server is busy, please retry later"})
                );
                refused += 1;
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert!(
        created >= 1 && refused >= 1,
        "created {created}, refused {refused}"
    );
}

on_each_backend!(
    the_first_sign_up_is_the_realms_admin_with_hashid_ids,
    later_sign_ups_get_the_default_group_and_the_next_numbers,
    ten_racing_first_sign_ups_make_exactly_one_admin,
    ten_racing_sign_ups_of_one_address_make_one_account,
    a_number_is_never_reused,
    every_body_check_answers_its_row_with_a_correlation_id,
    the_bounds_are_counted_in_characters_and_the_content_type_is_not_checked,
    sign_up_disabled_answers_40019_before_any_other_check,
    an_address_of_an_active_or_banned_user_answers_40032,
    an_address_of_an_inactive_user_answers_40033_and_mails_the_link_again,
    an_inactive_user_gets_40033_even_with_activation_now_off,
    with_activation_the_account_is_inactive_and_its_mail_queued_in_the_same_transaction,
    a_valid_correlation_id_is_echoed_and_an_invalid_one_replaced,
    a_store_failure_answers_50001_without_internals,
    an_overloaded_hashing_pool_answers_503_with_retry_after,
);
