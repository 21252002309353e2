use serde_json::{json, Value};
use signup_test_support::{on_each_backend, Backend};

use crate::helpers::{envelope, spawn_app, spawn_app_with, valid_body};

fn with(field: &str, value: Value) -> Value {
    let mut body = valid_body();
    body[field] = value;
    body
}

fn without(field: &str) -> Value {
    let mut body = valid_body();
    body.as_object_mut().unwrap().remove(field);
    body
}

async fn invalid_fields_return_400_with_every_failing_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let cases: Vec<(Value, &str, Value)> = vec![
        (
            without("username"),
            "username is required",
            json!({"username": "Username is required"}),
        ),
        (
            with("username", json!("   ")),
            "username is required",
            json!({"username": "Username is required"}),
        ),
        (
            with("username", json!(42)),
            "username must be a string",
            json!({"username": "Username must be a string"}),
        ),
        (
            with("username", json!("x".repeat(51))),
            "username must be at most 50 characters",
            json!({"username": "Username must be at most 50 characters"}),
        ),
        (
            with("username", json!("ada lovelace")),
            "username must not contain whitespace or control characters",
            json!({"username": "Username must not contain whitespace or control characters"}),
        ),
        (
            with("password", json!("short")),
            "password must be at least 8 characters",
            json!({"password": "Password must be at least 8 characters"}),
        ),
        (
            with("password", json!("ééééééé")),
            "password must be at least 8 characters",
            json!({"password": "Password must be at least 8 characters"}),
        ),
        (
            with("password", json!("x".repeat(101))),
            "password must be at most 100 characters",
            json!({"password": "Password must be at most 100 characters"}),
        ),
        (
            with("password", Value::Null),
            "password is required",
            json!({"password": "Password is required"}),
        ),
        (
            with("email", json!("not-an-address")),
            "email is not a valid email address",
            json!({"email": "Invalid email format"}),
        ),
        (
            with("email", json!("ada@localhost")),
            "email is not a valid email address",
            json!({"email": "Invalid email format"}),
        ),
        (
            with("email", json!(format!("{}@example.com", "a".repeat(90)))),
            "email must be at most 100 characters",
            json!({"email": "Email must be at most 100 characters"}),
        ),
        (
            with("first_name", json!("")),
            "first_name is required",
            json!({"first_name": "First name is required"}),
        ),
        (
            with("last_name", json!("Love\u{7}lace")),
            "last_name must not contain control characters",
            json!({"last_name": "Last name must not contain control characters"}),
        ),
        (
            with("last_name", json!("é".repeat(51))),
            "last_name must be at most 50 characters",
            json!({"last_name": "Last name must be at most 50 characters"}),
        ),
        (
            json!({}),
            "username is required",
            json!({
                "username": "Username is required",
                "password": "Password is required",
                "email": "Email is required",
                "first_name": "First name is required",
                "last_name": "Last name is required",
            }),
        ),
        (
            json!({"username": "ada", "password": 1, "email": "bad", "first_name": "A", "last_name": "B"}),
            "password must be a string",
            json!({"password": "Password must be a string", "email": "Invalid email format"}),
        ),
    ];
    for (body, predicate, errors) in cases {
        let response = app.sign_up(&body).await;
        let got = envelope(response, 400).await;
        assert_eq!(
            got,
            json!({
                "error": "Bad Request",
                "message": format!("Invalid request parameter: {predicate}"),
                "success": false,
                "details": {"validation_errors": errors},
            }),
            "body: {body}"
        );
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM accounts").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox").await, 0);
}

async fn lengths_at_the_limits_are_accepted(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = json!({
        "username": "é".repeat(50),
        "password": "p".repeat(100),
        "email": format!("{}@example.com", "a".repeat(88)),
        "first_name": "ü".repeat(50),
        "last_name": "L",
    });
    let response = app.sign_up(&body).await;
    assert_eq!(
        response.status().as_u16(),
        201,
        "{:?}",
        response.text().await
    );
}

async fn a_broken_json_body_returns_400_with_its_position(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app
        .post_raw(
            "{\"username\": \"ada\",\n  \"password\": }",
            Some("application/json"),
        )
        .await;
    let body = envelope(response, 400).await;
    assert_eq!(
        body,
        json!({"error": "Bad Request", "message": "Malformed JSON body", "success": false, "details": {"line": 2, "column": 15}})
    );
}

async fn a_json_body_that_is_not_an_object_returns_400(backend: Backend) {
    let app = spawn_app(backend).await;
    for raw in ["[1, 2]", "\"ada\"", "null", "42"] {
        let body = envelope(app.post_raw(raw, Some("application/json")).await, 400).await;
        assert_eq!(
            body,
            json!({"error": "Bad Request", "message": "Malformed JSON body", "success": false, "details": {}}),
            "{raw}"
        );
    }
}

async fn a_body_that_is_not_json_returns_415(backend: Backend) {
    let app = spawn_app(backend).await;
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let response = app.post_raw(valid_body().to_string(), content_type).await;
        let body = envelope(response, 415).await;
        assert_eq!(
            body,
            json!({"error": "Unsupported Media Type", "message": "Content-Type must be application/json", "success": false, "details": {}}),
            "{content_type:?}"
        );
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM accounts").await, 0);
}

async fn a_body_over_the_limit_returns_413(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.server.body_limit_bytes = 1024).await;
    let mut body = valid_body();
    body["padding"] = json!("x".repeat(2000));
    let response = app.sign_up(&body).await;
    let got = envelope(response, 413).await;
    assert_eq!(
        got,
        json!({"error": "Payload Too Large", "message": "Request body must not exceed 1024 bytes", "success": false, "details": {"limit_bytes": 1024}})
    );
}

async fn an_overloaded_hashing_pool_returns_503_with_retry_after(backend: Backend) {
    // One worker, no queue, and hashes slow enough that requests overlap.
    let app = spawn_app_with(backend, |c| {
        c.hashing.workers = 1;
        c.hashing.queue = 0;
        c.hashing.memory_kib = 16 * 1024;
        c.hashing.iterations = 4;
    })
    .await;
    let requests = (0..12).map(|i| {
        let mut body = valid_body();
        body["username"] = json!(format!("user{i}"));
        body["email"] = json!(format!("user{i}@example.com"));
        let app = &app;
        async move { app.sign_up(&body).await }
    });
    let responses = futures_util::future::join_all(requests).await;
    let mut created = 0;
    let mut refused = 0;
    for response in responses {
        match response.status().as_u16() {
            201 => created += 1,
            503 => {
                assert_eq!(response.headers()["retry-after"], "1");
                let body = envelope(response, 503).await;
                assert_eq!(
                    body,
                    json!({"error": "Service Unavailable", "message": "Server is busy, retry later", "success": false, "details": {"retry_after_seconds": 1}})
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
    assert_eq!(
        app.services.accounts.hasher().high_water(),
        1,
        "the pool never admitted more than its bound"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM accounts").await, created);
}

async fn too_many_sign_ups_from_one_address_return_429(backend: Backend) {
    let app = spawn_app_with(backend, |c| {
        c.rate_limit.per_ip_per_minute = 1;
        c.rate_limit.burst = 2;
    })
    .await;
    for i in 0..2 {
        let mut body = valid_body();
        body["username"] = json!(format!("user{i}"));
        body["email"] = json!(format!("user{i}@example.com"));
        assert_eq!(app.sign_up(&body).await.status().as_u16(), 201);
    }
    let response = app.sign_up(&valid_body()).await;
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let body = envelope(response, 429).await;
    assert_eq!(
        body,
        json!({"error": "Too Many Requests", "message": "Too many sign-up requests, retry later", "success": false, "details": {"retry_after_seconds": retry_after}})
    );
}

async fn a_store_failure_returns_500_without_internals_and_keeps_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    // Break the outbox so the sign-up transaction fails after the account insert.
    sqlx::query("DROP TABLE outbox")
        .execute(app.store.pool())
        .await
        .unwrap();

    let response = app.sign_up(&valid_body()).await;
    let body = envelope(response, 500).await;

    let request_id = body["details"]["request_id"].as_str().unwrap().to_string();
    assert!(uuid::Uuid::parse_str(&request_id).is_ok(), "{request_id}");
    assert_eq!(
        body,
        json!({"error": "Internal Server Error", "message": "An unexpected error occurred", "success": false, "details": {"request_id": request_id}})
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM accounts").await,
        0,
        "the account insert was rolled back"
    );
}

on_each_backend!(
    invalid_fields_return_400_with_every_failing_field,
    lengths_at_the_limits_are_accepted,
    a_broken_json_body_returns_400_with_its_position,
    a_json_body_that_is_not_an_object_returns_400,
    a_body_that_is_not_json_returns_415,
    a_body_over_the_limit_returns_413,
    an_overloaded_hashing_pool_returns_503_with_retry_after,
    too_many_sign_ups_from_one_address_return_429,
    a_store_failure_returns_500_without_internals_and_keeps_nothing,
);
