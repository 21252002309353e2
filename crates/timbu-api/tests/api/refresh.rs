//! `GET /timbu/auth/refresh-access-token`: strict rotation, reuse revokes the login.

use serde_json::{json, Value};
use signup_test_support::{on_each_backend, Backend};

use crate::helpers::{claims, detail, now, set_cookie, sign, spawn_app, PASSWORD};

const UNAUTHENTICATED: &str = "Unauthenticated";

async fn unauthenticated(response: reqwest::Response) {
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_eq!(
        detail(response).await,
        (401, json!({"detail": UNAUTHENTICATED}))
    );
}

async fn a_refresh_with_the_cookie_returns_a_new_access_token_and_cookie(backend: Backend) {
    let app = spawn_app(backend).await;
    let signed_up = app.signed_up("ada@example.com").await;
    let refresh = signed_up["refresh_token"].as_str().unwrap();

    let response = app.refresh_with_cookie(refresh).await;

    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let cookie = set_cookie(&response);
    let body: Value = response.json().await.unwrap();
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(
        body,
        json!({"user": signed_up["data"], "access_token": access, "expires_in": 900})
    );
    let next = cookie
        .strip_prefix("refresh_token=")
        .and_then(|rest| rest.split(';').next())
        .unwrap();
    assert_eq!(
        cookie,
        format!("refresh_token={next}; HttpOnly; SameSite=Lax; Path=/timbu/auth; Max-Age=604800")
    );
    assert_ne!(next, refresh);
    assert_eq!(claims(next)["type"], "refresh");
    assert_eq!(claims(next)["fam"], claims(refresh)["fam"]);
    assert_eq!(app.me(Some(access)).await.status().as_u16(), 200);

    // The next token works in turn, as a bearer token too.
    let response = app.refresh_with_bearer(next).await;
    assert_eq!(response.status().as_u16(), 200);
}

async fn a_spent_token_presented_again_revokes_the_whole_login(backend: Backend) {
    let app = spawn_app(backend).await;
    let signed_up = app.signed_up("ada@example.com").await;
    let first = signed_up["refresh_token"].as_str().unwrap();
    // Another login of the same user, which must live on.
    let other: Value = app
        .login(&json!({"email": "ada@example.com", "password": PASSWORD}))
        .await
        .json()
        .await
        .unwrap();

    let response = app.refresh_with_cookie(first).await;
    assert_eq!(response.status().as_u16(), 200);
    let cookie = set_cookie(&response);
    let second = cookie
        .strip_prefix("refresh_token=")
        .and_then(|rest| rest.split(';').next())
        .unwrap()
        .to_string();

    unauthenticated(app.refresh_with_cookie(first).await).await;
    // The winner's new token died with its family.
    unauthenticated(app.refresh_with_cookie(&second).await).await;
    let response = app
        .refresh_with_cookie(other["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(response.status().as_u16(), 200, "another login lives on");
}

async fn ten_concurrent_refreshes_of_one_token_let_exactly_one_through(backend: Backend) {
    let app = spawn_app(backend).await;
    let signed_up = app.signed_up("ada@example.com").await;
    let refresh = signed_up["refresh_token"].as_str().unwrap().to_string();

    let requests = (0..10).map(|_| {
        let app = &app;
        let refresh = refresh.clone();
        async move {
            let response = app.refresh_with_cookie(&refresh).await;
            let status = response.status().as_u16();
            let cookie = response
                .headers()
                .get("set-cookie")
                .map(|v| v.to_str().unwrap().to_string());
            (status, cookie, response.json::<Value>().await.unwrap())
        }
    });
    let answers = futures_util::future::join_all(requests).await;

    let winners: Vec<_> = answers.iter().filter(|(s, _, _)| *s == 200).collect();
    assert_eq!(winners.len(), 1, "{answers:?}");
    for (status, cookie, body) in answers.iter().filter(|(s, _, _)| *s != 200) {
        assert_eq!((*status, body), (401, &json!({"detail": UNAUTHENTICATED})));
        assert!(cookie.is_none());
    }
    let cookie = winners[0].1.as_deref().unwrap();
    let next = cookie
        .strip_prefix("refresh_token=")
        .and_then(|rest| rest.split(';').next())
        .unwrap();
    unauthenticated(app.refresh_with_cookie(next).await).await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM refresh_tokens WHERE revoked_at IS NULL")
            .await,
        0,
        "the family is revoked"
    );
}

async fn missing_expired_forged_and_access_tokens_return_401(backend: Backend) {
    let app = spawn_app(backend).await;
    let signed_up = app.signed_up("ada@example.com").await;
    let access = signed_up["access_token"].as_str().unwrap();
    let refresh = signed_up["refresh_token"].as_str().unwrap();
    let key = app.token_key();
    let mut expired = claims(refresh);
    expired["iat"] = json!(now() - 10_000);
    expired["exp"] = json!(now() - 120);
    let mut tampered: Vec<String> = refresh.split('.').map(str::to_string).collect();
    tampered[2] = tampered[2].chars().rev().collect();

    unauthenticated(
        app.client
            .get(app.url("/timbu/auth/refresh-access-token"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    for token in [
        access.to_string(),
        sign(&expired, &key),
        sign(&claims(refresh), b"another key of thirty-two bytes!"),
        tampered.join("."),
        "not.a.jwt".to_string(),
    ] {
        unauthenticated(app.refresh_with_cookie(&token).await).await;
        unauthenticated(app.refresh_with_bearer(&token).await).await;
    }
    // The real token was never spent by any of these.
    assert_eq!(
        app.refresh_with_cookie(refresh).await.status().as_u16(),
        200
    );
}

on_each_backend!(
    a_refresh_with_the_cookie_returns_a_new_access_token_and_cookie,
    a_spent_token_presented_again_revokes_the_whole_login,
    ten_concurrent_refreshes_of_one_token_let_exactly_one_through,
    missing_expired_forged_and_access_tokens_return_401,
);
