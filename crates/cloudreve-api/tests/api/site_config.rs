use serde_json::json;
use signup_test_support::{on_each_backend, Backend};

use crate::helpers::{hashids, spawn_app_with, success};

async fn the_login_config_says_what_the_sign_up_form_needs(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.flavours.reg_captcha = true;
        s.flavours.email_active = true;
    })
    .await;
    let body = success(app.get("/api/v4/site/config/login").await).await;
    assert_eq!(
        serde_json::to_string(&body).unwrap(),
        r#"{"code":0,"data":{"register_enabled":true,"reg_captcha":true,"login_captcha":false,"forget_captcha":false,"authn":false,"tos_url":"","privacy_policy_url":""},"msg":""}"#
    );
}

async fn the_basic_config_has_title_logos_themes_and_the_anonymous_user(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.flavours.site_title = "My Drive".into();
        s.flavours.hash_id_salt = Some("salt".into());
    })
    .await;
    let body = success(app.get("/api/v4/site/config/basic").await).await;
    let themes: serde_json::Value =
        serde_json::from_str(body["data"]["themes"].as_str().unwrap()).unwrap();
    assert!(themes["#1976d2"]["light"].is_object() && themes["#1976d2"]["dark"].is_object());
    assert_eq!(
        body,
        json!({"code": 0, "msg": "", "data": {
            "title": "My Drive",
            "logo": "/static/img/logo.svg",
            "logo_light": "/static/img/logo_light.svg",
            "themes": body["data"]["themes"],
            "default_theme": "#1976d2",
            "captcha_type": "normal",
            "custom_html": {},
            "user": {"id": "", "anonymous": true, "group": {
                "id": hashids("salt").id(3, 7), "name": "Anonymous", "permission": "gg==",
                "direct_link_batch_size": 10, "trash_retention": 604800
            }}
        }})
    );
    // Any other section is the basic one, as upstream.
    let other = success(app.get("/api/v4/site/config/anything").await).await;
    assert_eq!(other, body);
}

on_each_backend!(
    the_login_config_says_what_the_sign_up_form_needs,
    the_basic_config_has_title_logos_themes_and_the_anonymous_user,
);
