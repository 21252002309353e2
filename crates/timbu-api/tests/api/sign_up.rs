//! `POST /timbu/auth/signup` with `application/json`: every row of the contract.

use serde_json::{json, Value};
use signup_test_support::{on_each_backend, Backend};
use sqlx::Row;

use crate::helpers::{
    assert_server_values, claims, detail, expected_data, set_cookie, spawn_app, spawn_app_with,
    valid_body, PASSWORD,
};

async fn a_json_sign_up_returns_201_with_the_user_and_a_token_pair(backend: Backend) {
    let app = spawn_app(backend).await;

    let response = app.sign_up(&valid_body()).await;

    assert_eq!(response.status().as_u16(), 201);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let cookie = set_cookie(&response);
    let body: Value = response.json().await.unwrap();
    let data = &body["data"];
    assert_server_values(data);
    let access = body["access_token"].as_str().unwrap().to_string();
    let refresh = body["refresh_token"].as_str().unwrap().to_string();
    assert_eq!(
        body,
        json!({
            "data": expected_data(data, json!({"email": "user@example.com", "first_name": "John", "last_name": "Doe"})),
            "access_token": access,
            "refresh_token": refresh,
        })
    );
    // The contract's key order, as sent.
    let keys: Vec<&String> = data.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "id",
            "email",
            "first_name",
            "last_name",
            "phone_number",
            "country_code",
            "country",
            "state",
            "image_url",
            "is_active",
            "is_verified",
            "date_created"
        ]
    );
    assert_eq!(
        cookie,
        format!(
            "refresh_token={refresh}; HttpOnly; SameSite=Lax; Path=/timbu/auth; Max-Age=604800"
        )
    );

    let id = data["id"].as_str().unwrap();
    for (token, kind, ttl) in [(&access, "access", 900), (&refresh, "refresh", 604_800)] {
        let c = claims(token);
        assert_eq!(c["sub"], id);
        assert_eq!(c["user_id"], id);
        assert_eq!(c["type"], kind);
        assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), ttl);
        assert!(c["jti"].as_str().is_some_and(|j| !j.is_empty()));
    }
    let header: Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            access.split('.').next().unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "HS256");

    let uuid = uuid::Uuid::parse_str(id).unwrap().to_string();
    let row = sqlx::query(
        "SELECT realm, email_key, password_hash, status, profile FROM accounts WHERE id = $1",
    )
    .bind(&uuid)
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    assert_eq!(row.get::<String, _>("realm"), "timbu");
    assert_eq!(row.get::<String, _>("email_key"), "user@example.com");
    assert_eq!(row.get::<String, _>("status"), "active");
    let hash: String = row.get("password_hash");
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains(PASSWORD));
    assert_eq!(app.count("SELECT COUNT(*) FROM refresh_tokens").await, 1);
    assert!(app.media_files().is_empty());
}

async fn every_field_is_returned_trimmed_and_empty_optional_ones_are_null(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app
        .sign_up(&json!({
            "email": "  Ada@Example.COM ",
            "password": " spaced password ",
            "first_name": "  Ada ",
            "last_name": "",
            "phone_number": "+1 (234) 567-8901",
            "country_code": "+234",
            "country": "   ",
            "state": null,
            "image": "ignored in JSON",
            "unknown": 1,
        }))
        .await;
    assert_eq!(response.status().as_u16(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["data"],
        expected_data(
            &body["data"],
            json!({"email": "Ada@example.com", "first_name": "Ada", "phone_number": "+1 (234) 567-8901", "country_code": "+234"})
        )
    );
    // The password was kept as sent, spaces included.
    let login = app
        .login(&json!({"email": "ada@example.com", "password": " spaced password "}))
        .await;
    assert_eq!(login.status().as_u16(), 200);
}

async fn lengths_at_the_limits_are_accepted(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app
        .sign_up(&json!({
            "email": "limits@example.com",
            "password": "p".repeat(128),
            "first_name": "é".repeat(100),
            "last_name": "L".repeat(100),
            "phone_number": "1".repeat(20),
            "country_code": "+1234",
            "country": "C".repeat(100),
            "state": "S".repeat(100),
        }))
        .await;
    assert_eq!(response.status().as_u16(), 201);
    let app = spawn_app(backend).await;
    let response = app
        .sign_up(&json!({"email": "short@example.com", "password": "p".repeat(8), "phone_number": "1234"}))
        .await;
    assert_eq!(response.status().as_u16(), 201);
}

/// `(body, [(field, msg)])`: each failing field's item, in field order.
fn invalid_cases() -> Vec<(Value, Vec<(&'static str, String)>)> {
    let with = |field: &str, value: Value| {
        let mut body = valid_body();
        body[field] = value;
        body
    };
    let without = |field: &str| {
        let mut body = valid_body();
        body.as_object_mut().unwrap().remove(field);
        body
    };
    let s = |text: &str| text.to_string();
    vec![
        (json!({}), vec![("email", s("Email is required.")), ("password", s("Password is required."))]),
        (without("email"), vec![("email", s("Email is required."))]),
        (without("password"), vec![("password", s("Password is required."))]),
        (with("email", json!("")), vec![("email", s("Email is required."))]),
        (with("email", json!(" \t ")), vec![("email", s("Email is required."))]),
        (with("email", json!(null)), vec![("email", s("Email is required."))]),
        (with("password", json!("")), vec![("password", s("Password is required."))]),
        (with("email", json!(123)), vec![("email", s("Email must be a string."))]),
        (with("email", json!(["a@b.com"])), vec![("email", s("Email must be a string."))]),
        (with("password", json!(12345678)), vec![("password", s("Password must be a string."))]),
        (with("first_name", json!(true)), vec![("first_name", s("First name must be a string."))]),
        (with("last_name", json!({})), vec![("last_name", s("Last name must be a string."))]),
        (with("phone_number", json!(1234)), vec![("phone_number", s("Phone number must be a string."))]),
        (with("country_code", json!(1)), vec![("country_code", s("Country code must be a string."))]),
        (with("country", json!(1.5)), vec![("country", s("Country must be a string."))]),
        (with("state", json!([])), vec![("state", s("State must be a string."))]),
        (with("email", json!("not-an-address")), vec![("email", s("Email is not a valid email address."))]),
        (with("email", json!("user@localhost")), vec![("email", s("Email is not a valid email address."))]),
        (with("password", json!("short")), vec![("password", s("Password must be at least 8 characters."))]),
        (with("password", json!("ééééééé")), vec![("password", s("Password must be at least 8 characters."))]),
        (with("password", json!("p".repeat(129))), vec![("password", s("Password must be at most 128 characters."))]),
        (with("first_name", json!("x".repeat(101))), vec![("first_name", s("First name must be at most 100 characters."))]),
        (with("last_name", json!("é".repeat(101))), vec![("last_name", s("Last name must be at most 100 characters."))]),
        (with("country", json!("C".repeat(101))), vec![("country", s("Country must be at most 100 characters."))]),
        (with("state", json!("S".repeat(101))), vec![("state", s("State must be at most 100 characters."))]),
        (with("first_name", json!("Jo\u{0}hn")), vec![("first_name", s("First name must not contain control characters."))]),
        (with("last_name", json!("Do\te")), vec![("last_name", s("Last name must not contain control characters."))]),
        (with("country", json!("Nige\u{7f}ria")), vec![("country", s("Country must not contain control characters."))]),
        (with("state", json!("La\u{85}gos")), vec![("state", s("State must not contain control characters."))]),
        (with("phone_number", json!("123")), vec![("phone_number", s("Phone number must be at least 4 characters."))]),
        (with("phone_number", json!("+123 456 789 012 3456")), vec![("phone_number", s("Phone number must be at most 20 characters."))]),
        (with("phone_number", json!("555-CALL")), vec![("phone_number", s("Phone number may contain only digits, spaces, '-', '(' and ')', with an optional leading '+'."))]),
        (with("phone_number", json!("12+345")), vec![("phone_number", s("Phone number may contain only digits, spaces, '-', '(' and ')', with an optional leading '+'."))]),
        (with("phone_number", json!("12\t345")), vec![("phone_number", s("Phone number may contain only digits, spaces, '-', '(' and ')', with an optional leading '+'."))]),
        (with("country_code", json!("234")), vec![("country_code", s("Country code must be '+' followed by 1 to 4 digits."))]),
        (with("country_code", json!("+")), vec![("country_code", s("Country code must be '+' followed by 1 to 4 digits."))]),
        (with("country_code", json!("+12345")), vec![("country_code", s("Country code must be '+' followed by 1 to 4 digits."))]),
        (with("country_code", json!("+1a")), vec![("country_code", s("Country code must be '+' followed by 1 to 4 digits."))]),
        (
            json!({"state": "\u{1}", "country": 7, "country_code": "1", "phone_number": "x",
                   "last_name": "y".repeat(101), "first_name": false, "password": "", "email": "bad"}),
            vec![
                ("email", s("Email is not a valid email address.")),
                ("password", s("Password is required.")),
                ("first_name", s("First name must be a string.")),
                ("last_name", s("Last name must be at most 100 characters.")),
                ("phone_number", s("Phone number must be at least 4 characters.")),
                ("country_code", s("Country code must be '+' followed by 1 to 4 digits.")),
                ("country", s("Country must be a string.")),
                ("state", s("State must not contain control characters.")),
            ],
        ),
    ]
}

pub(crate) fn validation_body(items: &[(&str, String)]) -> Value {
    json!({
        "detail": items
            .iter()
            .map(|(field, msg)| json!({"loc": ["body", field], "msg": msg, "type": "value_error"}))
            .collect::<Vec<_>>()
    })
}

async fn invalid_fields_return_422_with_one_item_per_field_in_field_order(backend: Backend) {
    let app = spawn_app(backend).await;
    for (body, items) in invalid_cases() {
        let response = app.sign_up(&body).await;
        assert_eq!(
            detail(response).await,
            (422, validation_body(&items)),
            "{body}"
        );
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM accounts").await, 0);
}

async fn a_taken_email_returns_400_case_insensitively(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_eq!(app.sign_up(&valid_body()).await.status().as_u16(), 201);
    let mut again = valid_body();
    again["email"] = json!("USER@EXAMPLE.com");
    let response = app.sign_up(&again).await;
    assert_eq!(
        detail(response).await,
        (
            400,
            json!({"detail": "User with this email already exists"})
        )
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM accounts").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM refresh_tokens").await, 1);
}

async fn twenty_concurrent_sign_ups_of_one_address_make_one_account(backend: Backend) {
    let app = spawn_app(backend).await;
    let requests = (0..20).map(|i| {
        let mut body = valid_body();
        body["email"] = json!(if i % 2 == 0 {
            "race@example.com"
        } else {
            "RACE@example.com"
        });
        let app = &app;
        async move {
            let response = app.sign_up(&body).await;
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    });
    let answers = futures_util::future::join_all(requests).await;
    let created = answers.iter().filter(|(s, _)| *s == 201).count();
    assert_eq!(created, 1, "{answers:?}");
    for (status, body) in answers.iter().filter(|(s, _)| *s != 201) {
        assert_eq!(
            (*status, body),
            (
                400,
                &json!({"detail": "User with this email already exists"})
            )
        );
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM accounts").await, 1);
}

async fn a_body_that_is_not_a_json_object_returns_400(backend: Backend) {
    let app = spawn_app(backend).await;
    for body in [
        "{\"email\": ",
        "{\"email\":\"a@b.com\",}",
        "[]",
        "\"text\"",
        "5",
        "null",
        "",
        "{\"email\":\"a@b.com\"} trailing",
    ] {
        let response = app
            .post_raw("/timbu/auth/signup", body, Some("application/json"))
            .await;
        assert_eq!(
            detail(response).await,
            (
                400,
                json!({"detail": "There was an error parsing the body"})
            ),
            "{body:?}"
        );
    }
    let response = app
        .post_raw(
            "/timbu/auth/signup",
            vec![0xff, 0xfe],
            Some("application/json"),
        )
        .await;
    assert_eq!(detail(response).await.0, 400);
}

async fn a_body_that_is_neither_json_nor_multipart_returns_415(backend: Backend) {
    let app = spawn_app(backend).await;
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/mixed; boundary=x"),
        Some("application/xml"),
    ] {
        let response = app
            .post_raw("/timbu/auth/signup", valid_body().to_string(), content_type)
            .await;
        assert_eq!(
            detail(response).await,
            (415, json!({"detail": "Unsupported media type"})),
            "{content_type:?}"
        );
    }
    let response = app
        .post_raw(
            "/timbu/auth/signup",
            valid_body().to_string(),
            Some("application/json; charset=utf-8"),
        )
        .await;
    assert_eq!(response.status().as_u16(), 201);
}

async fn a_json_body_over_the_limit_returns_413(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.server.body_limit_bytes = 256).await;
    let mut body = valid_body();
    body["first_name"] = json!("x".repeat(300));
    let response = app.sign_up(&body).await;
    assert_eq!(
        detail(response).await,
        (
            413,
            json!({"detail": "Request body must not exceed 256 bytes."})
        )
    );
}

async fn an_overloaded_hashing_pool_returns_503_with_retry_after(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.hashing.workers = 1;
        s.hashing.queue = 0;
        s.hashing.memory_kib = 16 * 1024;
        s.hashing.iterations = 4;
    })
    .await;
    let requests = (0..12).map(|i| {
        let mut body = valid_body();
        body["email"] = json!(format!("user{i}@example.com"));
        let app = &app;
        async move { app.sign_up(&body).await }
    });
    let responses = futures_util::future::join_all(requests).await;
    let (mut created, mut refused) = (0, 0);
    for response in responses {
        match response.status().as_u16() {
            201 => created += 1,
            503 => {
                assert_eq!(response.headers()["retry-after"], "1");
                assert_eq!(
                    detail(response).await,
                    (
                        503,
                        json!({"detail": "Service temporarily overloaded, retry later"})
                    )
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
    assert_eq!(app.count("SELECT COUNT(*) FROM accounts").await, created);
}

async fn too_many_requests_from_one_address_return_429(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.rate_limit.per_ip_per_minute = 1;
        s.rate_limit.burst = 1;
    })
    .await;
    assert_eq!(app.sign_up(&valid_body()).await.status().as_u16(), 201);
    let response = app.sign_up(&valid_body()).await;
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(
        detail(response).await,
        (429, json!({"detail": "Too Many Requests"}))
    );
}

async fn a_store_failure_returns_500_without_internals(backend: Backend) {
    let app = spawn_app(backend).await;
    sqlx::query("ALTER TABLE accounts RENAME TO accounts_gone")
        .execute(app.store.pool())
        .await
        .unwrap();
    let response = app.sign_up(&valid_body()).await;
    assert_eq!(
        detail(response).await,
        (500, json!({"detail": "Internal Server Error"}))
    );
}

async fn the_secure_cookie_attribute_follows_the_setting(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.flavours.cookie_secure = Some(true)).await;
    let response = app.sign_up(&valid_body()).await;
    assert!(set_cookie(&response).ends_with("; Max-Age=604800; Secure"));
    let app = spawn_app_with(backend, |s| {
        s.profile = signup_core::config::Profile::Production;
        s.tokens.secret = Some("a production secret of enough length".to_string().into());
        s.tokens.refresh_ttl_secs = 3600;
    })
    .await;
    let response = app.sign_up(&valid_body()).await;
    let cookie = set_cookie(&response);
    assert!(
        cookie.ends_with("; Path=/timbu/auth; Max-Age=3600; Secure"),
        "{cookie}"
    );
}

on_each_backend!(
    a_json_sign_up_returns_201_with_the_user_and_a_token_pair,
    every_field_is_returned_trimmed_and_empty_optional_ones_are_null,
    lengths_at_the_limits_are_accepted,
    invalid_fields_return_422_with_one_item_per_field_in_field_order,
    a_taken_email_returns_400_case_insensitively,
    twenty_concurrent_sign_ups_of_one_address_make_one_account,
    a_body_that_is_not_a_json_object_returns_400,
    a_body_that_is_neither_json_nor_multipart_returns_415,
    a_json_body_over_the_limit_returns_413,
    an_overloaded_hashing_pool_returns_503_with_retry_after,
    too_many_requests_from_one_address_return_429,
    a_store_failure_returns_500_without_internals,
    the_secure_cookie_attribute_follows_the_setting,
);
