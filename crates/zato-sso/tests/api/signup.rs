//! `POST /zato/sso/user/signup`: success, what is stored, and the answers outside the table.

use serde_json::json;
use sha2::{Digest, Sha256};
use signup_test_support::{on_each_backend, Backend};
use sqlx::Row;

use crate::helpers::{sign_up_body, spawn_app, spawn_app_with, SIGNUP};

async fn a_valid_sign_up_answers_200_with_a_confirm_token_stored_only_as_its_digest(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let token = app
        .sign_up(&sign_up_body("my.username"))
        .await
        .confirm_token();
    let row = sqlx::query(
        "SELECT t.token_hash, t.purpose, t.expires_at - t.created_at AS ttl, a.status, a.email, a.password_hash \
         FROM one_time_tokens t JOIN accounts a ON a.id = t.account_id WHERE a.username = $1",
    )
    .bind("my.username")
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    let digest = hex::encode(Sha256::digest(token.as_bytes()));
    assert_eq!(row.try_get::<String, _>("token_hash").unwrap(), digest);
    assert_eq!(
        row.try_get::<String, _>("purpose").unwrap(),
        "confirm_sign_up"
    );
    assert_eq!(row.try_get::<i64, _>("ttl").unwrap(), 172_800_000);
    assert_eq!(
        row.try_get::<String, _>("status").unwrap(),
        "pending_confirmation"
    );
    assert_eq!(
        row.try_get::<String, _>("email").unwrap(),
        "my.username@example.com"
    );
    assert!(row
        .try_get::<String, _>("password_hash")
        .unwrap()
        .starts_with("$argon2id$"));
    let clear = format!("SELECT COUNT(*) FROM one_time_tokens WHERE token_hash = '{token}'");
    assert_eq!(app.count(&clear).await, 0, "the clear token is not stored");
    assert_eq!(
        app.profile("my.username").await,
        json!({"sign_up_status": "before_confirmation", "approval_status": "before_decision",
               "approval_status_mod_by": "auto"})
    );
}

async fn without_approval_needed_a_new_user_is_approved_and_the_expiry_is_configurable(
    backend: Backend,
) {
    let app = spawn_app_with(backend, |s| {
        s.flavours.signup.is_approval_needed = false;
        s.flavours.signup.confirm_token_expiry_secs = 60;
    })
    .await;
    app.sign_up(&sign_up_body("ada")).await.confirm_token();
    assert_eq!(app.profile("ada").await["approval_status"], "approved");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM one_time_tokens WHERE expires_at - created_at = 60000")
            .await,
        1
    );
}

async fn the_body_is_json_whatever_its_content_type_and_the_address_is_optional(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut body = sign_up_body("plain");
    body.as_object_mut().unwrap().remove("email");
    let response = app
        .client
        .post(app.url(SIGNUP))
        .header("Content-Type", "text/plain")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    crate::helpers::reply(response).await.confirm_token();
    // Two users without an address do not clash; extra keys are ignored.
    let mut body = sign_up_body("plain2");
    body["email"] = json!(null);
    body["confirm_token"] = json!("ignored");
    app.sign_up(&body).await.confirm_token();
    assert_eq!(
        app.count("SELECT COUNT(*) FROM accounts WHERE email = ''")
            .await,
        2
    );
}

async fn a_body_over_the_limit_is_413_e005001(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.server.body_limit_bytes = 512).await;
    let mut body = sign_up_body("big");
    body["padding"] = json!("x".repeat(1000));
    app.sign_up(&body).await.assert_error(413, "E005001");
}

async fn an_overloaded_pool_is_503_e005001_with_retry_after_after_every_rule(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.hashing.workers = 1;
        s.hashing.queue = 0;
    })
    .await;
    let held = app
        .services
        .accounts
        .hasher()
        .reserve()
        .expect("the only place");
    let reply = app.sign_up(&sign_up_body("busy")).await;
    reply.assert_error(503, "E005001");
    assert_eq!(reply.retry_after.as_deref(), Some("1"));
    // A body failing a row still gets its row: overload is the table's last row.
    let mut short = sign_up_body("busy");
    short["password"] = json!("short");
    let reply = app.sign_up(&short).await;
    reply.assert_error(403, "E003002");
    assert_eq!(reply.retry_after, None);
    drop(held);
    app.sign_up(&sign_up_body("busy")).await.confirm_token();
}

async fn a_store_failure_is_500_e005001(backend: Backend) {
    let app = spawn_app(backend).await;
    sqlx::query("DROP TABLE one_time_tokens")
        .execute(app.store.pool())
        .await
        .unwrap();
    app.sign_up(&sign_up_body("ada"))
        .await
        .assert_error(500, "E005001");
    assert_eq!(app.count("SELECT COUNT(*) FROM accounts").await, 0);
}

async fn too_many_requests_from_one_address_are_429_e005001(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.rate_limit.per_ip_per_minute = 1;
        s.rate_limit.burst = 1;
    })
    .await;
    app.sign_up(&sign_up_body("first")).await.confirm_token();
    let reply = app.sign_up(&sign_up_body("second")).await;
    reply.assert_error(429, "E005001");
    assert!(reply.retry_after.is_some());
}

async fn concurrent_sign_ups_of_one_name_make_one_user(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.flavours.signup.inform_if_user_exists = true).await;
    let replies = futures_util::future::join_all((0..8).map(|i| {
        let mut body = sign_up_body("racer");
        body["email"] = json!(format!("racer{i}@example.com"));
        let app = &app;
        async move { app.sign_up(&body).await }
    }))
    .await;
    let ok = replies.iter().filter(|r| r.status == 200).count();
    assert_eq!(ok, 1, "{replies:?}");
    for reply in replies.iter().filter(|r| r.status != 200) {
        reply.assert_error(403, "E001002");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM accounts").await, 1);
}

on_each_backend!(
    a_valid_sign_up_answers_200_with_a_confirm_token_stored_only_as_its_digest,
    without_approval_needed_a_new_user_is_approved_and_the_expiry_is_configurable,
    the_body_is_json_whatever_its_content_type_and_the_address_is_optional,
    a_body_over_the_limit_is_413_e005001,
    an_overloaded_pool_is_503_e005001_with_retry_after_after_every_rule,
    a_store_failure_is_500_e005001,
    too_many_requests_from_one_address_are_429_e005001,
    concurrent_sign_ups_of_one_name_make_one_user,
);
