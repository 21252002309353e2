use serde_json::json;
use signup_test_support::{on_each_backend, Backend};

use crate::helpers::{envelope, spawn_app};

async fn an_unknown_path_in_the_mount_returns_404_in_the_envelope(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app
        .client
        .get(app.url("/conductor/auth/nope"))
        .send()
        .await
        .unwrap();
    let body = envelope(response, 404).await;
    assert_eq!(
        body,
        json!({"error": "Not Found", "message": "No route for GET /conductor/auth/nope", "success": false, "details": {}})
    );
}

async fn a_wrong_method_returns_405_with_allow(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app
        .client
        .get(app.url("/conductor/auth/signup"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["allow"], "POST");
    let body = envelope(response, 405).await;
    assert_eq!(
        body,
        json!({"error": "Method Not Allowed", "message": "Method GET is not allowed on /conductor/auth/signup", "success": false, "details": {}})
    );
    let response = app
        .client
        .put(app.url("/conductor/auth/signup"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 405);
}

on_each_backend!(
    an_unknown_path_in_the_mount_returns_404_in_the_envelope,
    a_wrong_method_returns_405_with_allow,
);
