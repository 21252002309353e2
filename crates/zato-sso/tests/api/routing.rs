//! Wrong methods and unknown paths inside `/zato/sso`, in the Zato envelope; nothing outside.

use reqwest::Method;
use signup_test_support::{on_each_backend, Backend};

use crate::helpers::{spawn_app, CONFIRM, SIGNUP};

async fn wrong_methods_are_405_with_allow_and_unknown_paths_404(backend: Backend) {
    let app = spawn_app(backend).await;
    for method in [Method::GET, Method::PUT, Method::DELETE] {
        let reply = app.send(method, SIGNUP, "").await;
        reply.assert_error(405, "E005001");
        assert_eq!(reply.allow.as_deref(), Some("POST, PATCH"));
    }
    for method in [Method::GET, Method::PATCH] {
        let reply = app.send(method, CONFIRM, "").await;
        reply.assert_error(405, "E005001");
        assert_eq!(reply.allow.as_deref(), Some("POST"));
    }
    for path in [
        "/zato/sso/nowhere",
        "/zato/sso",
        "/zato/sso/user",
        "/zato/sso/user/signup/x",
    ] {
        app.send(Method::POST, path, "{}")
            .await
            .assert_error(404, "E005001");
    }
}

async fn paths_outside_zato_sso_are_left_to_the_host(backend: Backend) {
    let app = spawn_app(backend).await;
    for path in [
        "/",
        "/healthz",
        "/zato",
        "/zato/ssox",
        "/conductor/auth/signup",
    ] {
        let reply = app.send(Method::GET, path, "").await;
        assert_eq!(reply.status, 404, "{path}");
        assert_eq!(reply.cid_header, None, "{path}");
        assert_eq!(reply.text, "", "{path}: the host's own 404, not Zato's");
    }
}

async fn every_answer_has_its_own_cid(backend: Backend) {
    let app = spawn_app(backend).await;
    let a = app.send(Method::GET, "/zato/sso/x", "").await.cid();
    let b = app.send(Method::GET, "/zato/sso/x", "").await.cid();
    assert_ne!(a, b);
}

on_each_backend!(
    wrong_methods_are_405_with_allow_and_unknown_paths_404,
    paths_outside_zato_sso_are_left_to_the_host,
    every_answer_has_its_own_cid,
);
