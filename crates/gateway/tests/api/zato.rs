//! Zato SSO in the gateway: mounted at the root, answering only inside `/zato/sso`, with its
//! OpenAPI document, metrics label and `[flavours.zato]` settings from the environment.

use gateway::Application;
use serde_json::{json, Value};
use signup_test_support::{on_each_backend, Backend};

use crate::helpers::{create_db, spawn_gateway, test_settings};
use crate::process::GatewayProcess;

fn zato_body(username: &str) -> Value {
    json!({"username": username, "password": "Xk3!vq9Lp-2024", "email": format!("{username}@example.com"),
           "current_app": "CRM", "app_list": ["CRM"]})
}

async fn zato_is_served_at_the_root_and_other_paths_keep_the_gateways_answers(backend: Backend) {
    let db = create_db(backend).await;
    let app = spawn_gateway(&db, |_| {}).await;
    let response = app
        .client
        .post(app.url("/zato/sso/user/signup"))
        .json(&zato_body("ada"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let cid = response.headers()["x-zato-cid"]
        .to_str()
        .unwrap()
        .to_string();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["cid"], cid.as_str());
    assert_eq!(body["status"], "ok");

    let healthz = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(healthz.status().as_u16(), 200);
    for path in ["/nowhere", "/zato", "/zato/ssox", "/zato/other/user/signup"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 404, "{path}");
        assert!(!response.headers().contains_key("x-zato-cid"), "{path}");
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            json!({"error": "Not Found", "path": path}),
            "{path}: the gateway's own 404"
        );
    }
    // Another mount keeps its own answers too.
    let conductor = app
        .client
        .get(app.url("/conductor/auth/signup"))
        .send()
        .await
        .unwrap();
    assert_eq!(conductor.status().as_u16(), 405);
    assert!(!conductor.headers().contains_key("x-zato-cid"));
    // Inside /zato/sso, Zato's 404.
    let inside = app
        .client
        .get(app.url("/zato/sso/nowhere"))
        .send()
        .await
        .unwrap();
    assert_eq!(inside.status().as_u16(), 404);
    let cid = inside.headers()["x-zato-cid"].to_str().unwrap().to_string();
    assert_eq!(
        inside.text().await.unwrap(),
        format!(r#"{{"cid":"{cid}","status":"error","sub_status":["E005001"]}}"#)
    );

    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        r#"signup_http_requests_total{flavour="zato",route="/zato/sso/user/signup",status="200"} 1"#,
        r#"signup_sign_ups_total{flavour="zato",outcome="created"} 1"#,
    ] {
        assert!(metrics.lines().any(|l| l == line), "missing {line:?}");
    }
}

async fn the_zato_openapi_document_has_the_sign_up_and_both_confirm_routes(backend: Backend) {
    let db = create_db(backend).await;
    let app = spawn_gateway(&db, |_| {}).await;
    let doc: Value = app
        .client
        .get(app.url("/openapi/zato.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["servers"], json!([{"url": "/"}]));
    let signup = &doc["paths"]["/zato/sso/user/signup"];
    assert_eq!(signup["post"]["operationId"], "zato.sso.user.signup");
    assert!(signup["patch"].is_object(), "PATCH confirm");
    assert!(doc["paths"]["/zato/sso/user/signup/confirm"]["post"].is_object());
    assert!(signup["post"]["responses"]["403"].is_object());
}

async fn callbacks_without_a_webhook_secret_stop_the_gateway_from_starting(backend: Backend) {
    let db = create_db(backend).await;
    let mut settings = test_settings(&db);
    settings.flavours.zato.signup.callbacks =
        signup_core::config::UrlList(vec!["https://hooks.example.org/zato".into()]);
    let error = Application::build(settings)
        .await
        .expect_err("callbacks need webhooks.secret");
    assert!(
        format!("{error:#}").contains("flavours.zato.signup.callbacks")
            && format!("{error:#}").contains("SIGNUP__WEBHOOKS__SECRET"),
        "{error:#}"
    );
}

async fn zato_settings_come_from_the_environment_with_comma_separated_lists(backend: Backend) {
    let db = create_db(backend).await;
    let gateway = GatewayProcess::start(
        &db,
        &[
            (
                "SIGNUP__FLAVOURS__ZATO__SIGNUP__INFORM_IF_USER_INVALID",
                "true",
            ),
            ("SIGNUP__FLAVOURS__ZATO__APPS__ALL", "CRM,ERP"),
            ("SIGNUP__FLAVOURS__ZATO__APPS__SIGNUP_ALLOWED", "ERP"),
            ("SIGNUP__FLAVOURS__ZATO__PASSWORD__REJECT_LIST", "123456"),
        ],
    )
    .await;
    let client = reqwest::Client::new();
    let post = |body: Value| {
        client
            .post(format!("{}/zato/sso/user/signup", gateway.address))
            .json(&body)
            .send()
    };
    let mut body = zato_body("a b");
    body["current_app"] = json!("ERP");
    body["app_list"] = json!(["ERP"]);
    let refused: Value = post(body.clone()).await.unwrap().json().await.unwrap();
    assert_eq!(
        refused["sub_status"],
        json!(["E001004"]),
        "shown from the environment"
    );
    body["username"] = json!("ada");
    body["email"] = json!("ada@example.com");
    body["password"] = json!("password-is-allowed-now");
    let created = post(body.clone()).await.unwrap();
    assert_eq!(created.status().as_u16(), 200, "{:?}", created.text().await);
    body["username"] = json!("bob");
    body["email"] = json!("bob@example.com");
    body["password"] = json!("x123456x");
    let refused: Value = post(body).await.unwrap().json().await.unwrap();
    assert_eq!(refused["sub_status"], json!(["E003001"]));
}

on_each_backend!(
    zato_is_served_at_the_root_and_other_paths_keep_the_gateways_answers,
    the_zato_openapi_document_has_the_sign_up_and_both_confirm_routes,
    callbacks_without_a_webhook_secret_stop_the_gateway_from_starting,
    zato_settings_come_from_the_environment_with_comma_separated_lists,
);
