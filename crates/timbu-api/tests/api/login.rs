//! `POST /timbu/auth/login`.

use serde_json::{json, Value};
use signup_test_support::{on_each_backend, Backend};

use crate::{
    helpers::{claims, detail, set_cookie, spawn_app, PASSWORD},
    sign_up::validation_body,
};

async fn a_login_returns_200_with_the_sign_up_shape_and_a_new_login(backend: Backend) {
    let app = spawn_app(backend).await;
    let signed_up = app.signed_up("ada@example.com").await;

    let response = app
        .login(&json!({"email": "  ADA@example.COM ", "password": PASSWORD}))
        .await;

    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let cookie = set_cookie(&response);
    let body: Value = response.json().await.unwrap();
    let refresh = body["refresh_token"].as_str().unwrap();
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(
        body,
        json!({"data": signed_up["data"], "access_token": access, "refresh_token": refresh})
    );
    assert_eq!(
        cookie,
        format!(
            "refresh_token={refresh}; HttpOnly; SameSite=Lax; Path=/timbu/auth; Max-Age=604800"
        )
    );
    assert_eq!(claims(access)["type"], "access");
    assert_ne!(
        claims(refresh)["fam"],
        claims(signed_up["refresh_token"].as_str().unwrap())["fam"],
        "a login is a family of its own"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM refresh_tokens").await, 2);
}

async fn a_wrong_password_and_an_unknown_email_both_return_403(backend: Backend) {
    let app = spawn_app(backend).await;
    app.signed_up("ada@example.com").await;
    for body in [
        json!({"email": "ada@example.com", "password": "wrong password"}),
        json!({"email": "nobody@example.com", "password": PASSWORD}),
        json!({"email": "not-an-address", "password": PASSWORD}),
        json!({"email": "ada@example.com", "password": "p".repeat(5000)}),
    ] {
        let response = app.login(&body).await;
        assert_eq!(
            detail(response).await,
            (403, json!({"detail": "Invalid credentials"})),
            "{body}"
        );
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM refresh_tokens").await, 1);
}

async fn an_unknown_email_costs_one_hash_verification_too(backend: Backend) {
    let app = spawn_app(backend).await;
    app.signed_up("ada@example.com").await;
    let before = app.services.metrics.hashing_wait_seconds.get_sample_count();
    app.login(&json!({"email": "nobody@example.com", "password": PASSWORD}))
        .await;
    let unknown = app.services.metrics.hashing_wait_seconds.get_sample_count() - before;
    app.login(&json!({"email": "ada@example.com", "password": "wrong password"}))
        .await;
    let wrong = app.services.metrics.hashing_wait_seconds.get_sample_count() - before - unknown;
    assert_eq!((unknown, wrong), (1, 1));
}

async fn malformed_login_bodies_get_the_sign_up_shapes(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.login(&json!({})).await;
    assert_eq!(
        detail(response).await,
        (
            422,
            validation_body(&[
                ("email", "Email is required.".into()),
                ("password", "Password is required.".into())
            ])
        )
    );
    let response = app.login(&json!({"email": 1, "password": ""})).await;
    assert_eq!(
        detail(response).await,
        (
            422,
            validation_body(&[
                ("email", "Email must be a string.".into()),
                ("password", "Password is required.".into())
            ])
        )
    );
    let response = app
        .post_raw("/timbu/auth/login", "{broken", Some("application/json"))
        .await;
    assert_eq!(
        detail(response).await,
        (
            400,
            json!({"detail": "There was an error parsing the body"})
        )
    );
    for content_type in [None, Some("text/plain")] {
        let response = app
            .post_raw(
                "/timbu/auth/login",
                r#"{"email":"a@b.com","password":"x"}"#,
                content_type,
            )
            .await;
        assert_eq!(
            detail(response).await,
            (415, json!({"detail": "Unsupported media type"}))
        );
    }
}

on_each_backend!(
    a_login_returns_200_with_the_sign_up_shape_and_a_new_login,
    a_wrong_password_and_an_unknown_email_both_return_403,
    an_unknown_email_costs_one_hash_verification_too,
    malformed_login_bodies_get_the_sign_up_shapes,
);
