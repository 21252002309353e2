use serde_json::{json, Value};
use signup_test_support::{on_each_backend, Backend};
use sqlx::Row;

use crate::helpers::{envelope, spawn_app, valid_body};

async fn a_valid_sign_up_returns_201_with_the_user_and_its_location(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut body = valid_body();
    body["email"] = json!("  Ada@Example.COM ");
    body["first_name"] = json!("  Ada ");

    let response = app.sign_up(&body).await;

    assert_eq!(response.status().as_u16(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let body: Value = response.json().await.unwrap();
    let id = body["data"]["id"].as_str().unwrap().to_string();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    assert_eq!(location, format!("/conductor/users/{id}"));
    let created_at = body["data"]["created_at"].as_str().unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(created_at).is_ok() && created_at.ends_with('Z'));
    assert_eq!(
        body,
        json!({
            "success": true,
            "message": "User created successfully",
            "data": {
                "id": id,
                "username": "ada",
                "email": "Ada@example.com",
                "first_name": "Ada",
                "last_name": "Lovelace",
                "created_at": created_at,
            }
        })
    );

    let row = sqlx::query("SELECT realm, email_key, username_key, password_hash, status, profile FROM accounts WHERE id = $1")
        .bind(&id)
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(row.get::<String, _>("realm"), "conductor");
    assert_eq!(row.get::<String, _>("email_key"), "ada@example.com");
    assert_eq!(row.get::<String, _>("username_key"), "ada");
    assert_eq!(row.get::<String, _>("status"), "active");
    let hash: String = row.get("password_hash");
    assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
    assert!(!hash.contains("correct horse"));
    let profile: Value = serde_json::from_str(&row.get::<String, _>("profile")).unwrap();
    assert_eq!(
        profile,
        json!({"first_name": "Ada", "last_name": "Lovelace"})
    );
}

async fn a_sign_up_queues_a_welcome_mail_in_the_outbox(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.sign_up(&valid_body()).await;
    assert_eq!(response.status().as_u16(), 201);
    let id = response.json::<Value>().await.unwrap()["data"]["id"]
        .as_str()
        .unwrap()
        .to_string();

    // The worker may deliver it already (it polls every 20 ms), which wipes its body: the
    // row says which account it is for, and the mail itself is read once delivered.
    let row = sqlx::query("SELECT account_id, kind, status, payload FROM outbox")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(row.get::<Option<String>, _>("account_id"), Some(id));
    assert_eq!(row.get::<String, _>("kind"), "mail");
    let status = row.get::<String, _>("status");
    assert!(status == "pending" || status == "delivered", "{status}");
    assert!(
        !row.get::<String, _>("payload").contains("correct horse"),
        "the password never reaches the outbox"
    );
    let mail = &app.mails(1).await[0];
    assert!(mail.contains("To: ada@example.com\r\n"), "{mail}");
    assert!(
        mail.contains("Subject: Welcome to signup-gateway\r\n"),
        "{mail}"
    );
    assert!(mail.contains("\"ada\""), "{mail}");
    assert!(!mail.contains("correct horse"));
}

async fn a_taken_username_returns_409_and_creates_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_eq!(app.sign_up(&valid_body()).await.status().as_u16(), 201);
    let mut again = valid_body();
    again["username"] = json!("ADA");
    again["email"] = json!("other@example.com");

    let body = envelope(app.sign_up(&again).await, 409).await;

    assert_eq!(
        body,
        json!({"error": "Conflict", "message": "Username already taken", "success": false, "details": {"field": "username"}})
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM accounts").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox").await, 1);
}

async fn a_taken_email_returns_409_case_insensitively(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_eq!(app.sign_up(&valid_body()).await.status().as_u16(), 201);
    let mut again = valid_body();
    again["username"] = json!("ada2");
    again["email"] = json!("ADA@EXAMPLE.com");

    let body = envelope(app.sign_up(&again).await, 409).await;

    assert_eq!(
        body,
        json!({"error": "Conflict", "message": "Email already registered", "success": false, "details": {"field": "email"}})
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM accounts").await, 1);
}

async fn when_both_are_taken_the_username_is_reported(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_eq!(app.sign_up(&valid_body()).await.status().as_u16(), 201);
    let body = envelope(app.sign_up(&valid_body()).await, 409).await;
    assert_eq!(body["message"], "Username already taken");
    assert_eq!(body["details"], json!({"field": "username"}));
}

async fn a_taken_name_costs_no_hashing(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_eq!(app.sign_up(&valid_body()).await.status().as_u16(), 201);
    let hashed = app.services.metrics.hashing_wait_seconds.get_sample_count();
    assert_eq!(app.sign_up(&valid_body()).await.status().as_u16(), 409);
    assert_eq!(
        app.services.metrics.hashing_wait_seconds.get_sample_count(),
        hashed
    );
}

async fn fifty_concurrent_sign_ups_of_one_username_make_one_account(backend: Backend) {
    let app = spawn_app(backend).await;
    let requests = (0..50).map(|i| {
        let mut body = valid_body();
        body["email"] = json!(format!("racer{i}@example.com"));
        let app = &app;
        async move { app.sign_up(&body).await.status().as_u16() }
    });
    let statuses = futures_util::future::join_all(requests).await;

    assert_eq!(statuses.len(), 50);
    signup_test_support::assert_one_created_others_conflict(&statuses);
    assert_eq!(app.count("SELECT COUNT(*) FROM accounts").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox").await, 1);
}

async fn the_same_address_may_sign_up_in_two_realms(backend: Backend) {
    let first = spawn_app(backend).await;
    assert_eq!(first.sign_up(&valid_body()).await.status().as_u16(), 201);
    // The same address in another realm of the same database.
    let new = signup_core::NewAccount {
        id: signup_core::AccountId::generate(),
        realm: signup_core::Realm::parse("conductor-eu").unwrap(),
        email: signup_core::EmailAddress::parse("ada@example.com").unwrap(),
        username: Some(signup_core::Username::parse("ada", 50).unwrap()),
        password: None,
        profile: json!({}),
        status: signup_core::AccountStatus::Active,
        confirmation: None,
        mail: None,
    };
    first.services.accounts.sign_up(new).await.unwrap();
    assert_eq!(
        first
            .count("SELECT COUNT(*) FROM accounts WHERE email_key = 'ada@example.com'")
            .await,
        2
    );
}

on_each_backend!(
    a_valid_sign_up_returns_201_with_the_user_and_its_location,
    a_sign_up_queues_a_welcome_mail_in_the_outbox,
    a_taken_username_returns_409_and_creates_nothing,
    a_taken_email_returns_409_case_insensitively,
    when_both_are_taken_the_username_is_reported,
    a_taken_name_costs_no_hashing,
    fifty_concurrent_sign_ups_of_one_username_make_one_account,
    the_same_address_may_sign_up_in_two_realms,
);
