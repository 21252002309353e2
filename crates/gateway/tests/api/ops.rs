use std::time::Duration;

use serde_json::{json, Value};
use signup_test_support::{on_each_backend, Backend};

use crate::helpers::{create_db, eventually, sign_up_body, spawn_gateway};

async fn health_and_readiness_answer(backend: Backend) {
    let db = create_db(backend).await;
    let app = spawn_gateway(&db, |_| {}).await;

    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    assert_eq!(
        health.json::<Value>().await.unwrap(),
        json!({"status": "ok"})
    );

    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status().as_u16(), 200);
    let backend_name = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert_eq!(
        ready.json::<Value>().await.unwrap(),
        json!({"status": "ready", "database": "ok", "migrations": "applied", "backend": backend_name})
    );
}

async fn readiness_fails_when_the_database_is_gone(backend: Backend) {
    let db = create_db(backend).await;
    let app = spawn_gateway(&db, |s| s.database.acquire_timeout_secs = 1).await;
    app.store.close().await;
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status().as_u16(), 503);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["database"], "unreachable");
}

async fn metrics_count_requests_sign_ups_and_hashing(backend: Backend) {
    let db = create_db(backend).await;
    let app = spawn_gateway(&db, |_| {}).await;
    assert_eq!(app.sign_up(&sign_up_body(1)).await.status().as_u16(), 201);
    assert_eq!(app.sign_up(&sign_up_body(1)).await.status().as_u16(), 409);

    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = response.text().await.unwrap();
    for line in [
        r#"signup_http_requests_total{flavour="conductor",route="/conductor/auth/signup",status="201"} 1"#,
        r#"signup_http_requests_total{flavour="conductor",route="/conductor/auth/signup",status="409"} 1"#,
        r#"signup_sign_ups_total{flavour="conductor",outcome="created"} 1"#,
        r#"signup_sign_ups_total{flavour="conductor",outcome="username_taken"} 1"#,
        "signup_hashing_queue_depth 0",
        "signup_hashing_wait_seconds_count 1",
        "signup_hashing_rejected_total 0",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in:\n{text}"
        );
    }
}

async fn every_response_carries_a_request_id(backend: Backend) {
    let db = create_db(backend).await;
    let app = spawn_gateway(&db, |_| {}).await;
    let mut seen = Vec::new();
    for path in ["/healthz", "/conductor/nowhere", "/nowhere"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        let id = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{path}: {id}");
        seen.push(id);
    }
    seen.dedup();
    assert_eq!(seen.len(), 3, "each request has its own id");
}

async fn the_openapi_document_and_swagger_ui_are_served(backend: Backend) {
    let db = create_db(backend).await;
    let app = spawn_gateway(&db, |_| {}).await;
    let doc: Value = app
        .client
        .get(app.url("/openapi/conductor.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["servers"], json!([{"url": "/conductor"}]));
    let operation = &doc["paths"]["/auth/signup"]["post"];
    for status in ["201", "400", "409", "413", "415", "429", "500", "503"] {
        assert!(
            operation["responses"][status].is_object(),
            "response {status} documented"
        );
    }
    let request = &doc["components"]["schemas"]["SignupRequest"];
    for field in ["username", "password", "email", "first_name", "last_name"] {
        assert!(
            request["required"]
                .as_array()
                .unwrap()
                .contains(&json!(field)),
            "{field} required"
        );
    }
    assert_eq!(request["properties"]["username"]["maxLength"], 50);
    assert_eq!(request["properties"]["email"]["maxLength"], 100);
    assert_eq!(request["properties"]["email"]["format"], "email");
    let error = &doc["components"]["schemas"]["ErrorResponse"];
    assert_eq!(
        error["required"],
        json!(["error", "message", "timestamp", "success", "details"])
    );
    assert!(doc["info"]["description"]
        .as_str()
        .unwrap()
        .contains("Username must be at most 50 characters"));

    let redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url("/docs"))
        .send()
        .await
        .unwrap();
    assert_eq!(redirect.status().as_u16(), 308);
    assert_eq!(redirect.headers()["location"], "/docs/");
    let docs = app.client.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(docs.status().as_u16(), 200);
    assert!(docs.text().await.unwrap().contains("swagger-ui"));
}

async fn the_worker_delivers_the_welcome_mail_to_the_mail_folder(backend: Backend) {
    let db = create_db(backend).await;
    let app = spawn_gateway(&db, |_| {}).await;
    assert_eq!(app.sign_up(&sign_up_body(7)).await.status().as_u16(), 201);

    let delivered = eventually(Duration::from_secs(10), || async {
        app.count("SELECT COUNT(*) FROM outbox WHERE status = 'delivered'")
            .await
            == 1
    })
    .await;
    assert!(delivered, "the outbox row was delivered");
    let files: Vec<_> = std::fs::read_dir(&app.mail_dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .collect();
    assert_eq!(files.len(), 1);
    let mail = std::fs::read_to_string(files[0].path()).unwrap();
    assert!(mail.contains("To: user7@example.com\r\n"), "{mail}");
    assert!(
        mail.contains("Subject: Welcome to signup-gateway\r\n"),
        "{mail}"
    );
    assert!(mail.contains("your account \"user7\""), "{mail}");
    assert!(!mail.contains("correct horse"), "no password in mail");
}

async fn a_host_guard_limits_the_mount_to_its_host(backend: Backend) {
    let db = create_db(backend).await;
    let app = spawn_gateway(&db, |s| {
        s.flavours.conductor.mount.host = Some("signup.example.org".into())
    })
    .await;

    let elsewhere = app.sign_up(&sign_up_body(1)).await;
    assert_eq!(elsewhere.status().as_u16(), 404);
    assert_eq!(
        elsewhere.json::<Value>().await.unwrap(),
        json!({"error": "Not Found", "path": "/conductor/auth/signup"})
    );

    let matching = app
        .client
        .post(app.url("/conductor/auth/signup"))
        .header("Host", "signup.example.org")
        .json(&sign_up_body(1))
        .send()
        .await
        .unwrap();
    assert_eq!(matching.status().as_u16(), 201);
}

async fn a_flavour_can_be_mounted_elsewhere_or_disabled(backend: Backend) {
    let db = create_db(backend).await;
    let moved = spawn_gateway(&db, |s| s.flavours.conductor.mount.mount = "/api/v2".into()).await;
    let response = moved
        .client
        .post(moved.url("/api/v2/auth/signup"))
        .json(&sign_up_body(1))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    assert!(response.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/api/v2/users/"));

    let db = create_db(backend).await;
    let disabled = spawn_gateway(&db, |s| s.flavours.conductor.mount.enabled = false).await;
    assert_eq!(
        disabled.sign_up(&sign_up_body(1)).await.status().as_u16(),
        404
    );
    assert_eq!(
        disabled
            .client
            .get(disabled.url("/openapi/conductor.json"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        404
    );
}

async fn rate_limits_use_the_forwarded_address_only_from_trusted_proxies(backend: Backend) {
    let db = create_db(backend).await;
    let app = spawn_gateway(&db, |s| {
        s.rate_limit.per_ip_per_minute = 1;
        s.rate_limit.burst = 1;
        s.server.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    let from = |ip: &'static str, n: usize| {
        app.client
            .post(app.url("/conductor/auth/signup"))
            .header("X-Forwarded-For", ip)
            .json(&sign_up_body(n))
            .send()
    };
    assert_eq!(
        from("198.51.100.1", 1).await.unwrap().status().as_u16(),
        201
    );
    let limited = from("198.51.100.1", 2).await.unwrap();
    assert_eq!(limited.status().as_u16(), 429);
    assert!(limited.headers().contains_key("retry-after"));
    // Another client behind the same proxy has its own allowance.
    assert_eq!(
        from("198.51.100.2", 3).await.unwrap().status().as_u16(),
        201
    );
}

on_each_backend!(
    health_and_readiness_answer,
    readiness_fails_when_the_database_is_gone,
    metrics_count_requests_sign_ups_and_hashing,
    every_response_carries_a_request_id,
    the_openapi_document_and_swagger_ui_are_served,
    the_worker_delivers_the_welcome_mail_to_the_mail_folder,
    a_host_guard_limits_the_mount_to_its_host,
    a_flavour_can_be_mounted_elsewhere_or_disabled,
    rate_limits_use_the_forwarded_address_only_from_trusted_proxies,
);

async fn infera_is_mounted_with_its_openapi_document_and_metrics_label(backend: Backend) {
    let db = create_db(backend).await;
    let app = spawn_gateway(&db, |_| {}).await;
    let response = app
        .client
        .post(app.url("/infera/signup_user"))
        .json(&json!({"email": "ada@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.headers().contains_key("x-request-id"));

    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        r#"signup_http_requests_total{flavour="infera",route="/infera/signup_user",status="200"} 1"#,
        r#"signup_sign_ups_total{flavour="infera",outcome="created"} 1"#,
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in:\n{text}"
        );
    }

    let doc: Value = app
        .client
        .get(app.url("/openapi/infera.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["servers"], json!([{"url": "/infera"}]));
    let schemas = &doc["components"]["schemas"];
    assert_eq!(schemas["SignupRequest"]["required"], json!(["email"]));
    assert_eq!(
        schemas["SignupRequest"]["properties"]["email"]["format"],
        "email"
    );
    assert_eq!(
        schemas["SignupRequest"]["properties"]["email"]["title"],
        "Email"
    );
    assert_eq!(
        schemas["HTTPValidationError"]["properties"]["detail"]["items"]["$ref"],
        "#/components/schemas/ValidationError"
    );
    let error = &schemas["ValidationError"];
    assert_eq!(
        error["properties"]["loc"]["items"]["anyOf"],
        json!([{"type": "string"}, {"type": "integer"}])
    );
    for field in ["loc", "msg", "type"] {
        assert!(
            error["required"]
                .as_array()
                .unwrap()
                .contains(&json!(field)),
            "{field} required"
        );
    }
    let post = &doc["paths"]["/signup_user"]["post"];
    assert_eq!(
        post["responses"]["422"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/HTTPValidationError"
    );
    assert!(doc["paths"]["/verify_email"]["get"].is_object());
}

on_each_backend!(infera_is_mounted_with_its_openapi_document_and_metrics_label);

async fn cloudreve_at_the_root_keeps_the_gateway_routes_and_serves_its_openapi_document(
    backend: Backend,
) {
    let db = create_db(backend).await;
    // Two flavours at `/` on every host would shadow each other: Zato steps aside here.
    let app = spawn_gateway(&db, |s| {
        s.flavours.cloudreve.mount.mount = "/".into();
        s.flavours.zato.mount.enabled = false;
    })
    .await;
    let response = app
        .client
        .post(app.url("/api/v4/user"))
        .json(&json!({"email": "ada@example.com", "password": "secret-pw"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        (body["code"].clone(), body["data"]["group"]["name"].clone()),
        (json!(0), json!("Admin"))
    );
    for path in ["/healthz", "/readyz", "/metrics", "/docs/"] {
        let status = app.client.get(app.url(path)).send().await.unwrap().status();
        assert_eq!(status.as_u16(), 200, "{path}");
    }
    let conductor = app.sign_up(&crate::helpers::sign_up_body(1)).await;
    assert_eq!(conductor.status().as_u16(), 201);
    let missing = app.client.get(app.url("/nowhere")).send().await.unwrap();
    assert_eq!(missing.status().as_u16(), 404);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(
        (body["code"].clone(), body["msg"].clone()),
        (json!(404), json!("Not found"))
    );

    let doc: Value = app
        .client
        .get(app.url("/openapi/cloudreve.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["servers"], json!([{"url": "/"}]));
    assert!(doc["paths"]["/api/v4/user"]["post"].is_object());
    assert!(doc["paths"]["/api/v4/user/activate/{id}"]["get"].is_object());
    assert!(doc["paths"]["/api/v4/site/captcha"]["get"].is_object());
    assert!(doc["paths"]["/api/v4/site/config/{section}"]["get"].is_object());
    assert!(doc["components"]["schemas"]["User"].is_object());
}

on_each_backend!(cloudreve_at_the_root_keeps_the_gateway_routes_and_serves_its_openapi_document);
