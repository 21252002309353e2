use base64::{engine::general_purpose::STANDARD, Engine};
use serde_json::{json, Value};
use signup_core::config::Profile;
use signup_test_support::{on_each_backend, Backend};

use crate::helpers::{failure, spawn_app, spawn_app_with, success, valid_body, with_captcha};

fn with_ticket(email: &str, ticket: &str, captcha: &str) -> Value {
    let mut body = valid_body(email);
    body["ticket"] = json!(ticket);
    body["captcha"] = json!(captcha);
    body
}

async fn a_captcha_is_a_png_and_a_ticket_kept_in_the_database(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.get("/api/v4/site/captcha").await;
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body = success(response).await;
    assert_eq!(
        body.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["code", "data", "msg"]
    );
    assert_eq!(
        (body["code"].clone(), body["msg"].clone()),
        (json!(0), json!(""))
    );
    let image = body["data"]["image"].as_str().unwrap();
    let png = STANDARD
        .decode(
            image
                .strip_prefix("data:image/png;base64,")
                .expect("a PNG data URL"),
        )
        .unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    let ticket = body["data"]["ticket"].as_str().unwrap();
    assert_eq!(ticket.len(), 20);
    let answer = app.captcha_answer(ticket).await;
    assert_eq!(answer.chars().count(), 6, "{answer}");
    assert!(answer
        .chars()
        .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase()));
    let (_, other) = app.captcha().await;
    assert_ne!(ticket, other);
}

async fn with_reg_captcha_a_right_answer_in_any_case_lets_the_sign_up_through(backend: Backend) {
    let app = spawn_app_with(backend, with_captcha).await;
    let (_, ticket) = app.captcha().await;
    let answer = app.captcha_answer(&ticket).await.to_uppercase();
    let got = success(
        app.sign_up(&with_ticket("a@example.com", &ticket, &answer))
            .await,
    )
    .await;
    assert_eq!(got["code"], 0, "{got}");
    // Single use: the same ticket and answer again fail.
    let got = failure(
        app.sign_up(&with_ticket("b@example.com", &ticket, &answer))
            .await,
        200,
    )
    .await;
    assert_eq!(got, json!({"code": 40026, "msg": "CAPTCHA not match."}));
}

async fn with_reg_captcha_every_bad_captcha_answers_40026_before_the_body(backend: Backend) {
    let app = spawn_app_with(backend, with_captcha).await;
    let mismatch = json!({"code": 40026, "msg": "CAPTCHA not match."});
    // Missing, empty or mistyped fields, and a body that is no JSON object at all.
    let (_, ticket) = app.captcha().await;
    let bodies = [
        "garbage".to_string(),
        "[]".into(),
        valid_body("a@example.com").to_string(),
        json!({"ticket": "", "captcha": "abc"}).to_string(),
        json!({"ticket": ticket, "captcha": 5}).to_string(),
        json!({"ticket": 7, "captcha": "abc"}).to_string(),
        json!({"ticket": "unknown-ticket", "captcha": "abc", "email": ""}).to_string(),
    ];
    for body in bodies {
        let got = failure(app.post_raw(body.clone(), None).await, 200).await;
        assert_eq!(got, mismatch, "{body}");
    }
    // A wrong answer spends the ticket: the right one fails after it.
    let (_, ticket) = app.captcha().await;
    let answer = app.captcha_answer(&ticket).await;
    let got = failure(
        app.sign_up(&with_ticket("a@example.com", &ticket, "wrong!"))
            .await,
        200,
    )
    .await;
    assert_eq!(got, mismatch);
    let got = failure(
        app.sign_up(&with_ticket("a@example.com", &ticket, &answer))
            .await,
        200,
    )
    .await;
    assert_eq!(got, mismatch);
    // An expired ticket fails.
    let (_, ticket) = app.captcha().await;
    let answer = app.captcha_answer(&ticket).await;
    sqlx::query("UPDATE captcha_tickets SET expires_at = 0")
        .execute(app.store.pool())
        .await
        .unwrap();
    let got = failure(
        app.sign_up(&with_ticket("a@example.com", &ticket, &answer))
            .await,
        200,
    )
    .await;
    assert_eq!(got, mismatch);
    // A right captcha lets the body checks answer.
    let (_, ticket) = app.captcha().await;
    let answer = app.captcha_answer(&ticket).await;
    let got = failure(
        app.post_raw(
            json!({"ticket": ticket, "captcha": answer, "email": ""}).to_string(),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(got, json!({"code": 40001, "msg": "Email cannot be empty"}));
    assert_eq!(app.count("SELECT COUNT(*) FROM accounts").await, 0);
}

async fn a_ticket_expires_after_ten_minutes(backend: Backend) {
    let app = spawn_app(backend).await;
    let before = chrono::Utc::now().timestamp_millis();
    app.captcha().await;
    let expires_at: i64 = sqlx::query_scalar("SELECT expires_at FROM captcha_tickets")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    let ttl = expires_at - before;
    assert!((599_000..=601_000).contains(&ttl), "{ttl}");
}

async fn the_test_answer_answers_every_captcha_and_tickets_stay_single_use(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.flavours.reg_captcha = true;
        s.flavours.captcha_test_answer = Some("E2Etst".into());
    })
    .await;
    let (_, ticket) = app.captcha().await;
    assert_eq!(app.captcha_answer(&ticket).await, "e2etst");
    let got = success(
        app.sign_up(&with_ticket("a@example.com", &ticket, "e2eTST"))
            .await,
    )
    .await;
    assert_eq!(got["code"], 0);
    let got = failure(
        app.sign_up(&with_ticket("b@example.com", &ticket, "E2Etst"))
            .await,
        200,
    )
    .await;
    assert_eq!(got["code"], 40026);
}

async fn the_test_answer_is_refused_in_production(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut services = app.services.clone();
    services.profile = Profile::Production;
    let settings = cloudreve_api::Settings {
        captcha_test_answer: Some("x".into()),
        ..Default::default()
    };
    let error = cloudreve_api::mount(&services, &settings)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("captcha_test_answer"), "{error}");
    assert!(error.contains("production"), "{error}");
    services.profile = Profile::Development;
    assert!(cloudreve_api::mount(&services, &settings).await.is_ok());
}

on_each_backend!(
    a_captcha_is_a_png_and_a_ticket_kept_in_the_database,
    with_reg_captcha_a_right_answer_in_any_case_lets_the_sign_up_through,
    with_reg_captcha_every_bad_captcha_answers_40026_before_the_body,
    a_ticket_expires_after_ten_minutes,
    the_test_answer_answers_every_captcha_and_tickets_stay_single_use,
    the_test_answer_is_refused_in_production,
);
