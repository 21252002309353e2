//! `signup.callbacks`: each URL receives the signed `account.created` webhook through the
//! outbox, retried until delivered, never holding a password, hash or token.

use std::time::Duration;

use secrecy::SecretString;
use serde_json::{json, Value};
use signup_core::{config::UrlList, outbox::webhook_signature, Services};
use signup_test_support::{on_each_backend, webhook::TestWebhookReceiver, Backend, TestDatabase};

use crate::helpers::{sign_up_body, spawn_app_with};

const SECRET: &str = "whsec-zato-test";

async fn each_callback_gets_the_signed_new_user_after_a_503(backend: Backend) {
    let first = TestWebhookReceiver::start(vec![503]).await;
    let second = TestWebhookReceiver::start(vec![]).await;
    let urls = vec![first.url(), second.url()];
    let app = spawn_app_with(backend, |s| {
        s.webhooks.secret = Some(SecretString::from(SECRET));
        s.mail.retry_base_ms = 50;
        s.flavours.signup.callbacks = UrlList(urls);
    })
    .await;
    let body = sign_up_body("hooked");
    let token = app.sign_up(&body).await.confirm_token();

    assert!(
        first.wait_for(2, Duration::from_secs(10)).await,
        "retried after the 503"
    );
    assert!(second.wait_for(1, Duration::from_secs(10)).await);
    let attempts = first.requests();
    assert_eq!(
        attempts[0].header("x-webhook-id"),
        attempts[1].header("x-webhook-id"),
        "one event, delivered twice"
    );
    for request in attempts.iter().chain(second.requests().iter()) {
        assert_eq!(request.method, "POST");
        assert_eq!(request.header("x-webhook-event"), Some("account.created"));
        let timestamp: i64 = request
            .header("x-signature-timestamp")
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(
            request.header("x-signature"),
            Some(webhook_signature(SECRET.as_bytes(), timestamp, &request.body).as_str())
        );
        for secret in [body["password"].as_str().unwrap(), token.as_str(), "argon2"] {
            assert!(!request.body.contains(secret), "{}", request.body);
        }
        let event: Value = serde_json::from_str(&request.body).unwrap();
        assert_eq!(event["event"], "account.created");
        let user = &event["account"];
        let keys: Vec<&str> = user
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "user_id",
                "username",
                "email",
                "sign_up_status",
                "approval_status",
                "created_at"
            ]
        );
        assert_eq!(user["username"], "hooked");
        assert_eq!(user["email"], "hooked@example.com");
        assert_eq!(user["sign_up_status"], "before_confirmation");
        assert_eq!(user["approval_status"], "before_decision");
    }
    // Every row delivered; the confirmation does not call the sign-up callbacks.
    app.confirm(true, &json!({"confirm_token": token, "current_app": "CRM"}))
        .await
        .assert_ok();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(first.requests().len(), 2);
    assert_eq!(second.requests().len(), 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM outbox WHERE kind = 'webhook' AND status = 'delivered'")
            .await,
        2
    );
}

async fn a_refused_sign_up_calls_no_callback_and_a_user_without_address_has_email_null(
    backend: Backend,
) {
    let receiver = TestWebhookReceiver::start(vec![]).await;
    let url = receiver.url();
    let app = spawn_app_with(backend, |s| {
        s.webhooks.secret = Some(SecretString::from(SECRET));
        s.flavours.signup.callbacks = UrlList(vec![url]);
    })
    .await;
    let mut short = sign_up_body("refused");
    short["password"] = json!("short");
    app.sign_up(&short).await.assert_error(403, "E003002");
    let mut body = sign_up_body("noaddress");
    body.as_object_mut().unwrap().remove("email");
    app.sign_up(&body).await.confirm_token();
    assert!(receiver.wait_for(1, Duration::from_secs(10)).await);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let requests = receiver.requests();
    assert_eq!(requests.len(), 1);
    let event: Value = serde_json::from_str(&requests[0].body).unwrap();
    assert_eq!(event["account"]["username"], "noaddress");
    assert_eq!(event["account"]["email"], Value::Null);
}

async fn callbacks_without_a_webhook_secret_refuse_to_mount(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let mut settings = signup_test_support::test_settings::<zato_sso::Settings>(&db);
    settings.flavours.signup.callbacks = UrlList(vec!["https://hooks.example.org/zato".into()]);
    let (services, _background) = Services::start(&settings).await.unwrap();
    let error = zato_sso::mount(&services, &settings.flavours)
        .await
        .expect_err("no secret to sign with");
    assert_eq!(
        error.to_string(),
        "flavours.zato.signup.callbacks: webhook URLs are configured but webhooks.secret is not: set SIGNUP__WEBHOOKS__SECRET"
    );
}

on_each_backend!(
    each_callback_gets_the_signed_new_user_after_a_503,
    a_refused_sign_up_calls_no_callback_and_a_user_without_address_has_email_null,
    callbacks_without_a_webhook_secret_refuse_to_mount,
);
