use gateway::Application;
use serde_json::json;
use signup_test_support::{on_each_backend, Backend};

use crate::helpers::{create_db, spawn_gateway, test_settings};

async fn two_mounts_at_one_prefix_refuse_to_start_naming_both(backend: Backend) {
    let db = create_db(backend).await;
    let mut settings = test_settings(&db);
    settings.flavours.infera.mount.mount = "/conductor/".into();
    let error = Application::build(settings).await.unwrap_err().to_string();
    assert_eq!(
        error,
        "the mounts of conductor at /conductor on every host and infera at /conductor on every host \
         would shadow each other: give one another mount or a distinct host"
    );
}

async fn a_mount_at_the_root_does_not_swallow_the_others(backend: Backend) {
    let db = create_db(backend).await;
    // Zato is mounted at `/` by default; Infera joins it there on a host of its own.
    let app = spawn_gateway(&db, |s| {
        s.flavours.infera.mount.mount = "/".into();
        s.flavours.infera.mount.host = Some("api.infera.example".into());
    })
    .await;
    let conductor = app.sign_up(&crate::helpers::sign_up_body(1)).await;
    assert_eq!(conductor.status().as_u16(), 201);
    let infera = app
        .client
        .post(app.url("/signup_user"))
        .header("Host", "api.infera.example")
        .json(&json!({"email": "ada@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(infera.status().as_u16(), 200);
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    let elsewhere = app.client.get(app.url("/nowhere")).send().await.unwrap();
    assert_eq!(elsewhere.status().as_u16(), 404);
    assert_eq!(
        elsewhere.json::<serde_json::Value>().await.unwrap(),
        json!({"error": "Not Found", "path": "/nowhere"})
    );
}

async fn a_mount_with_its_own_public_url_mails_links_on_it(backend: Backend) {
    let db = create_db(backend).await;
    let app = spawn_gateway(&db, |s| {
        s.server.public_url = "https://gateway.example".into();
        s.flavours.infera.mount.public_url = Some("https://signup.infera.example/".into());
    })
    .await;
    let answer = app
        .client
        .post(app.url("/infera/signup_user"))
        .json(&json!({"email": "ada@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    let mail_dir = app.mail_dir.clone();
    let delivered = crate::helpers::eventually(std::time::Duration::from_secs(10), || {
        let dir = mail_dir.clone();
        async move {
            std::fs::read_dir(dir).is_ok_and(|d| {
                d.filter_map(Result::ok)
                    .any(|e| e.path().extension().is_some_and(|x| x == "eml"))
            })
        }
    })
    .await;
    assert!(delivered, "the verification mail was delivered");
    let mail = std::fs::read_dir(&app.mail_dir)
        .unwrap()
        .filter_map(Result::ok)
        .find(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .unwrap();
    assert!(
        mail.contains("https://signup.infera.example/infera/verify_email?token="),
        "{mail}"
    );
    assert!(!mail.contains("https://gateway.example"), "{mail}");
}

async fn a_mount_public_url_must_be_http(backend: Backend) {
    let db = create_db(backend).await;
    let mut settings = test_settings(&db);
    settings.flavours.conductor.mount.public_url = Some("signup.example".into());
    let error = Application::build(settings).await.unwrap_err().to_string();
    assert_eq!(
        error,
        "flavours.conductor.public_url must start with http:// or https:// (got \"signup.example\")"
    );
}

on_each_backend!(
    two_mounts_at_one_prefix_refuse_to_start_naming_both,
    a_mount_at_the_root_does_not_swallow_the_others,
    a_mount_with_its_own_public_url_mails_links_on_it,
    a_mount_public_url_must_be_http,
);
