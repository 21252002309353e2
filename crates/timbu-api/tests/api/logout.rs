//! `POST /timbu/auth/logout`.

use serde_json::{json, Value};
use signup_test_support::{on_each_backend, Backend};

use crate::helpers::{detail, set_cookie, spawn_app, PASSWORD};

async fn a_logout_revokes_that_login_only_and_expires_the_cookie(backend: Backend) {
    let app = spawn_app(backend).await;
    let signed_up = app.signed_up("ada@example.com").await;
    let other: Value = app
        .login(&json!({"email": "ada@example.com", "password": PASSWORD}))
        .await
        .json()
        .await
        .unwrap();

    let response = app
        .logout(Some(signed_up["access_token"].as_str().unwrap()))
        .await;

    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        set_cookie(&response),
        "refresh_token=; HttpOnly; SameSite=Lax; Path=/timbu/auth; Max-Age=0"
    );
    assert_eq!(
        detail(response).await,
        (200, json!({"message": "User logged out successfully."}))
    );
    let response = app
        .refresh_with_cookie(signed_up["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(response.status().as_u16(), 401);
    let response = app
        .refresh_with_cookie(other["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(response.status().as_u16(), 200, "the other login lives on");
}

async fn a_logout_without_an_access_token_returns_401(backend: Backend) {
    let app = spawn_app(backend).await;
    let signed_up = app.signed_up("ada@example.com").await;
    for token in [
        None,
        Some(signed_up["refresh_token"].as_str().unwrap()),
        Some("garbage"),
    ] {
        let response = app.logout(token).await;
        assert_eq!(
            detail(response).await,
            (401, json!({"detail": "Unauthenticated"})),
            "{token:?}"
        );
    }
    // Nothing was revoked.
    let response = app
        .refresh_with_cookie(signed_up["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(response.status().as_u16(), 200);
}

on_each_backend!(
    a_logout_revokes_that_login_only_and_expires_the_cookie,
    a_logout_without_an_access_token_returns_401,
);
