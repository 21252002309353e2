use signup_test_support::{on_each_backend, Backend};

use crate::helpers::{answer, spawn_app};

async fn unknown_paths_and_wrong_methods_answer_like_fastapi(backend: Backend) {
    let app = spawn_app(backend).await;
    let not_found = answer(app.client.get(app.url("/nowhere")).send().await.unwrap()).await;
    assert_eq!(
        (not_found.status, not_found.body.as_str()),
        (404, r#"{"detail":"Not Found"}"#)
    );

    let response = app
        .client
        .get(app.url("/signup_user"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["allow"], "POST");
    let wrong = answer(response).await;
    assert_eq!(
        (wrong.status, wrong.body.as_str()),
        (405, r#"{"detail":"Method Not Allowed"}"#)
    );

    let response = app
        .client
        .post(app.url("/verify_email"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["allow"], "GET");
    assert_eq!(answer(response).await.status, 405);
}

on_each_backend!(unknown_paths_and_wrong_methods_answer_like_fastapi);
