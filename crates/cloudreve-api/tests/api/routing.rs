use serde_json::json;
use signup_test_support::{on_each_backend, Backend};

use crate::helpers::{failure, spawn_app, spawn_app_with, valid_body};

async fn an_unknown_path_inside_the_mount_answers_404_in_the_envelope(backend: Backend) {
    let app = spawn_app(backend).await;
    for path in ["/api/v4/nope", "/", "/api/v4/user/activate"] {
        let got = failure(app.get(path).await, 404).await;
        assert_eq!(got, json!({"code": 404, "msg": "Not found"}), "{path}");
    }
}

async fn a_wrong_method_answers_405_in_the_envelope_with_allow(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.get("/api/v4/user").await;
    assert_eq!(response.headers()["allow"], "POST");
    let got = failure(response, 405).await;
    assert_eq!(got, json!({"code": 405, "msg": "Method not allowed"}));
    let response = app
        .client
        .post(app.url("/cloudreve/api/v4/site/captcha"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["allow"], "GET");
    assert_eq!(failure(response, 405).await["code"], 405);
}

async fn too_many_requests_from_one_address_answer_429_with_retry_after(backend: Backend) {
    let app = spawn_app_with(backend, |c| {
        c.rate_limit.per_ip_per_minute = 1;
        c.rate_limit.burst = 2;
    })
    .await;
    for i in 0..2 {
        let body = app.sign_up(&valid_body(&format!("u{i}@example.com"))).await;
        assert_eq!(body.status().as_u16(), 200);
    }
    let response = app.sign_up(&valid_body("u9@example.com")).await;
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let got = failure(response, 429).await;
    assert_eq!(
        got,
        json!({"code": 429, "msg": "Too many requests, please retry later"})
    );
    // Captcha tickets are rows too: the same allowance.
    assert_eq!(app.get("/api/v4/site/captcha").await.status().as_u16(), 429);
}

on_each_backend!(
    an_unknown_path_inside_the_mount_answers_404_in_the_envelope,
    a_wrong_method_answers_405_in_the_envelope_with_allow,
    too_many_requests_from_one_address_answer_429_with_retry_after,
);
