//! Confirming a sign-up on both routes: every answer, the stored statuses, and a race.

use serde_json::{json, Value};
use signup_test_support::{on_each_backend, Backend};

use crate::helpers::{sign_up_body, spawn_app, spawn_app_with, TestApp};

fn confirm_body(token: &str) -> Value {
    json!({"confirm_token": token, "current_app": "CRM"})
}

async fn signed_up(app: &TestApp, username: &str) -> String {
    app.sign_up(&sign_up_body(username)).await.confirm_token()
}

async fn a_token_confirms_once_on_either_route_and_then_is_e005007(backend: Backend) {
    let app = spawn_app(backend).await;
    for (patch, user) in [(true, "by.patch"), (false, "by.post")] {
        let token = signed_up(&app, user).await;
        app.confirm(patch, &confirm_body(&token)).await.assert_ok();
        let profile = app.profile(user).await;
        assert_eq!(profile["sign_up_status"], "final");
        assert_eq!(
            profile["approval_status"], "before_decision",
            "approval untouched"
        );
        assert!(profile["sign_up_confirm_time"].is_string());
        assert_eq!(app.status_of(user).await, "active");
        for again in [true, false] {
            app.confirm(again, &confirm_body(&token))
                .await
                .assert_error(403, "E005007");
        }
    }
}

async fn a_missing_unknown_or_expired_token_is_e005006(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.flavours.signup.confirm_token_expiry_secs = 0).await;
    let expired = signed_up(&app, "late").await;
    for patch in [true, false] {
        for body in [
            confirm_body(&expired),
            confirm_body("AB_d86fF-6_UBq4g7npP0mS-i3HfGfpJ"),
            confirm_body(""),
            json!({"current_app": "CRM"}),
            json!({"confirm_token": null, "current_app": "CRM"}),
        ] {
            app.confirm(patch, &body).await.assert_error(403, "E005006");
        }
    }
    assert_eq!(
        app.profile("late").await["sign_up_status"],
        "before_confirmation"
    );
}

async fn a_used_token_stays_e005007_after_its_expiry(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = signed_up(&app, "ada").await;
    app.confirm(true, &confirm_body(&token)).await.assert_ok();
    sqlx::query("UPDATE one_time_tokens SET expires_at = 0")
        .execute(app.store.pool())
        .await
        .unwrap();
    app.confirm(false, &confirm_body(&token))
        .await
        .assert_error(403, "E005007");
}

async fn an_invalid_current_app_is_e004001_before_the_token(backend: Backend) {
    for inform in [true, false] {
        let app = spawn_app_with(backend, |s| s.flavours.apps.inform_if_app_invalid = inform).await;
        let code = if inform { "E004001" } else { "E005001" };
        let token = signed_up(&app, "ada").await;
        for patch in [true, false] {
            for body in [
                json!({"confirm_token": token, "current_app": "NOPE"}),
                json!({"confirm_token": token}),
                json!({"confirm_token": "unknown", "current_app": null}),
            ] {
                app.confirm(patch, &body).await.assert_error(403, code);
            }
        }
        // The token was not spent by the refusals.
        app.confirm(true, &confirm_body(&token)).await.assert_ok();
    }
}

async fn a_malformed_confirmation_is_400_e005001(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = signed_up(&app, "ada").await;
    for patch in [true, false] {
        for body in [
            json!({"confirm_token": 5, "current_app": "CRM"}),
            json!({"confirm_token": token, "current_app": ["CRM"]}),
            json!([token]),
        ] {
            app.confirm(patch, &body).await.assert_error(400, "E005001");
        }
        let method = if patch {
            reqwest::Method::PATCH
        } else {
            reqwest::Method::POST
        };
        let path = if patch {
            crate::helpers::SIGNUP
        } else {
            crate::helpers::CONFIRM
        };
        app.send(method, path, "{")
            .await
            .assert_error(400, "E005001");
    }
    app.confirm(false, &confirm_body(&token)).await.assert_ok();
}

async fn of_ten_concurrent_confirmations_exactly_one_is_ok(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = signed_up(&app, "racer").await;
    let replies = futures_util::future::join_all((0..10).map(|i| {
        let app = &app;
        let body = confirm_body(&token);
        async move { app.confirm(i % 2 == 0, &body).await }
    }))
    .await;
    let ok: Vec<_> = replies.iter().filter(|r| r.status == 200).collect();
    assert_eq!(ok.len(), 1, "{replies:?}");
    ok[0].assert_ok();
    for reply in replies.iter().filter(|r| r.status != 200) {
        reply.assert_error(403, "E005007");
    }
    assert_eq!(app.profile("racer").await["sign_up_status"], "final");
}

on_each_backend!(
    a_token_confirms_once_on_either_route_and_then_is_e005007,
    a_missing_unknown_or_expired_token_is_e005006,
    a_used_token_stays_e005007_after_its_expiry,
    an_invalid_current_app_is_e004001_before_the_token,
    a_malformed_confirmation_is_400_e005001,
    of_ten_concurrent_confirmations_exactly_one_is_ok,
);
