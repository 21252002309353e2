//! `GET /timbu/users/me`.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde_json::{json, Value};
use signup_test_support::{on_each_backend, Backend};

use crate::helpers::{claims, detail, now, sign, spawn_app};

async fn the_current_user_is_returned_for_an_access_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let signed_up = app.signed_up("ada@example.com").await;
    let response = app
        .me(Some(signed_up["access_token"].as_str().unwrap()))
        .await;
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(
        detail(response).await,
        (200, json!({"data": signed_up["data"]}))
    );
}

async fn every_unusable_token_returns_401(backend: Backend) {
    let app = spawn_app(backend).await;
    let signed_up = app.signed_up("ada@example.com").await;
    let access = signed_up["access_token"].as_str().unwrap();
    let key = app.token_key();
    let valid = claims(access);

    let mut expired = valid.clone();
    expired["iat"] = json!(now() - 10_000);
    expired["exp"] = json!(now() - 120);
    let mut within_leeway = valid.clone();
    within_leeway["exp"] = json!(now() - 30);
    let mut forged_subject = valid.clone();
    forged_subject["sub"] = json!("0".repeat(32));
    let forged_payload = {
        let parts: Vec<&str> = access.split('.').collect();
        let mut other = valid.clone();
        other["exp"] = json!(now() + 1_000_000);
        format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&other).unwrap()),
            parts[2]
        )
    };
    let alg_none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&valid).unwrap())
    );
    let hs512 = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS512),
        &valid,
        &jsonwebtoken::EncodingKey::from_secret(&key),
    )
    .unwrap();

    let cases: Vec<(&str, Option<String>)> = vec![
        ("no token", None),
        ("expired", Some(sign(&expired, &key))),
        ("forged payload", Some(forged_payload)),
        ("alg none", Some(alg_none)),
        (
            "wrong key",
            Some(sign(&valid, b"another key of thirty-two bytes!")),
        ),
        ("another algorithm", Some(hs512)),
        (
            "refresh token",
            Some(signed_up["refresh_token"].as_str().unwrap().to_string()),
        ),
        ("unknown account", Some(sign(&forged_subject, &key))),
        ("garbage", Some("garbage".into())),
    ];
    for (case, token) in cases {
        let response = app.me(token.as_deref()).await;
        assert_eq!(response.headers()["www-authenticate"], "Bearer", "{case}");
        assert_eq!(
            detail(response).await,
            (401, json!({"detail": "Unauthenticated"})),
            "{case}"
        );
    }
    let response = app.me(Some(&sign(&within_leeway, &key))).await;
    assert_eq!(response.status().as_u16(), 200, "60 s of leeway");
}

async fn a_token_of_a_deleted_account_returns_401(backend: Backend) {
    let app = spawn_app(backend).await;
    let signed_up: Value = app.signed_up("ada@example.com").await;
    let access = signed_up["access_token"].as_str().unwrap();
    sqlx::query("DELETE FROM refresh_tokens")
        .execute(app.store.pool())
        .await
        .unwrap();
    sqlx::query("DELETE FROM accounts")
        .execute(app.store.pool())
        .await
        .unwrap();
    assert_eq!(
        detail(app.me(Some(access)).await).await,
        (401, json!({"detail": "Unauthenticated"}))
    );
    assert_eq!(
        detail(app.logout(Some(access)).await).await,
        (401, json!({"detail": "Unauthenticated"}))
    );
}

on_each_backend!(
    the_current_user_is_returned_for_an_access_token,
    every_unusable_token_returns_401,
    a_token_of_a_deleted_account_returns_401,
);
