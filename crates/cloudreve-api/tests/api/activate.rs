use serde_json::json;
use signup_test_support::{on_each_backend, Backend};

use crate::helpers::{activation_link, failure, hashids, spawn_app_with, success, valid_body};

const SALT: &str = "cloudreve-test-salt";
const SECRET: &str = "test-secret-key";

fn configured(s: &mut signup_core::config::Settings<cloudreve_api::Settings>) {
    s.flavours.email_active = true;
    s.flavours.hash_id_salt = Some(SALT.into());
    s.flavours.secret = Some(SECRET.into());
}

fn sign(id: &str, expires: i64) -> String {
    cloudreve_api::sign::Signer::new(SECRET.as_bytes())
        .sign(&format!("/api/v4/user/activate/{id}"), expires)
}

fn in_a_day() -> i64 {
    chrono::Utc::now().timestamp() + 86_400
}

async fn the_mailed_link_activates_the_account_once(backend: Backend) {
    let app = spawn_app_with(backend, configured).await;
    success(app.sign_up(&valid_body("Ada@Example.com")).await).await;
    let mails = app.mails(1).await;
    assert!(mails[0].contains("Subject: [Cloudreve] Confirm your account"));
    assert!(mails[0].contains("valid for 24 hours"));
    let (id, sign, link) = activation_link(&mails[0]);
    assert_eq!(id, "Y5Tb");
    assert!(
        link.starts_with("http://signup.test.example/cloudreve/session/activate?id=Y5Tb&sign="),
        "{link}"
    );
    assert!(
        link.contains("%3D%3A") || link.contains("%3A"),
        "percent-encoded: {link}"
    );
    let (mac, expires) = sign.split_once(':').unwrap();
    let expires: i64 = expires.parse().unwrap();
    assert!((in_a_day() - expires).abs() <= 5, "valid 24 h");
    assert_eq!(
        sign,
        self::sign("Y5Tb", expires),
        "HMAC over the literal API path: {mac}"
    );

    let body = success(app.activate(&id, Some(&sign)).await).await;
    let created_at = body["data"]["created_at"].clone();
    assert_eq!(
        body,
        json!({"code": 0, "msg": "", "data": {
            "id": "Y5Tb", "email": "ada@example.com", "nickname": "ada", "created_at": created_at,
            "anonymous": false,
            "group": {"id": "l9Tp", "name": "Admin", "permission": "/f8B", "direct_link_batch_size": 10, "trash_retention": 604800},
            "status": "active", "avatar": null, "preferred_theme": null, "credit": 0, "language": "en-US"
        }})
    );
    let status: String = sqlx::query_scalar("SELECT status FROM accounts")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(status, "active");
    let again = failure(app.activate(&id, Some(&sign)).await, 200).await;
    assert_eq!(
        again,
        json!({"code": 40034, "msg": "This user cannot be activated"})
    );
}

async fn every_bad_activation_answers_its_row(backend: Backend) {
    let app = spawn_app_with(backend, configured).await;
    success(app.sign_up(&valid_body("a@example.com")).await).await;
    let ids = hashids(SALT);
    let user = ids.id(1, 1);
    let missing = json!({"code": 403, "msg": "expire timestamp is missing"});
    let cases = [
        (user.clone(), None, missing.clone()),
        (user.clone(), Some(String::new()), missing.clone()),
        (user.clone(), Some("abcdef".into()), missing.clone()),
        (user.clone(), Some("abcdef:".into()), missing.clone()),
        (
            user.clone(),
            Some("abcdef:12x".into()),
            json!({"code": 40071, "msg": "sign expired"}),
        ),
        (
            user.clone(),
            Some(sign(&user, 1_000)),
            json!({"code": 40005, "msg": "signature expired"}),
        ),
        (
            user.clone(),
            Some(sign(&ids.id(2, 1), in_a_day())),
            json!({"code": 40071, "msg": "invalid sign"}),
        ),
        (
            user.clone(),
            Some(sign(&user, in_a_day()).replace(':', "x:")),
            json!({"code": 40071, "msg": "invalid sign"}),
        ),
        (
            "nope".into(),
            Some(sign("nope", in_a_day())),
            json!({"code": 40001, "msg": "Failed to parse object ID"}),
        ),
        (
            ids.id(1, 7),
            Some(sign(&ids.id(1, 7), in_a_day())),
            json!({"code": 40001, "msg": "Failed to parse object ID"}),
        ),
        (
            ids.id(99, 1),
            Some(sign(&ids.id(99, 1), in_a_day())),
            json!({"code": 40021, "msg": "User not found"}),
        ),
    ];
    for (id, sign, expected) in cases {
        let got = failure(app.activate(&id, sign.as_deref()).await, 200).await;
        assert_eq!(got, expected, "{id} {sign:?}");
    }
    sqlx::query("UPDATE accounts SET status = 'banned'")
        .execute(app.store.pool())
        .await
        .unwrap();
    let got = failure(
        app.activate(&user, Some(&sign(&user, in_a_day()))).await,
        200,
    )
    .await;
    assert_eq!(
        got,
        json!({"code": 40034, "msg": "This user cannot be activated"})
    );
}

async fn ten_concurrent_activations_activate_once(backend: Backend) {
    let app = spawn_app_with(backend, configured).await;
    success(app.sign_up(&valid_body("a@example.com")).await).await;
    let (id, sign, _) = activation_link(&app.mails(1).await[0]);
    let requests = (0..10).map(|_| {
        let (app, id, sign) = (&app, &id, &sign);
        async move {
            app.activate(id, Some(sign))
                .await
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    });
    let codes: Vec<i64> = futures_util::future::join_all(requests)
        .await
        .iter()
        .map(|b| b["code"].as_i64().unwrap())
        .collect();
    assert_eq!(codes.iter().filter(|c| **c == 0).count(), 1, "{codes:?}");
    assert_eq!(
        codes.iter().filter(|c| **c == 40034).count(),
        9,
        "{codes:?}"
    );
}

async fn a_site_url_with_a_path_prefixes_the_links(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        configured(s);
        s.flavours.site_url = Some("https://files.example.org/drive/".into());
    })
    .await;
    success(app.sign_up(&valid_body("a@example.com")).await).await;
    let (id, sign, link) = activation_link(&app.mails(1).await[0].replace("https://", "http://"));
    assert!(
        link.starts_with("http://files.example.org/drive/session/activate?id="),
        "{link}"
    );
    // The signed path is the literal API path whatever the prefix.
    assert_eq!(
        success(app.activate(&id, Some(&sign)).await).await["code"],
        0
    );
}

async fn the_activation_answer_keeps_its_signature_out_of_referers(backend: Backend) {
    let app = spawn_app_with(backend, configured).await;
    let user = hashids(SALT).id(1, 1);
    for query in [format!("?sign={}", sign(&user, in_a_day())), String::new()] {
        let response = app
            .get(&format!("/api/v4/user/activate/{user}{query}"))
            .await;
        assert_eq!(
            response
                .headers()
                .get("referrer-policy")
                .and_then(|v| v.to_str().ok()),
            Some("no-referrer")
        );
    }
}

on_each_backend!(
    the_activation_answer_keeps_its_signature_out_of_referers,
    the_mailed_link_activates_the_account_once,
    every_bad_activation_answers_its_row,
    ten_concurrent_activations_activate_once,
    a_site_url_with_a_path_prefixes_the_links,
);
