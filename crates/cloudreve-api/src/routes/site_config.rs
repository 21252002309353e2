//! `GET /api/v4/site/config/{section}`: what the real frontend reads before its forms.
//! `login` is the sign-in/sign-up section; any other section is `basic`, as upstream.

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::{
    errors::success,
    group,
    wire::{AnonymousUser, BasicConfig, LoginConfig, THEMES},
    CloudreveState,
};

/// Public site settings
///
/// `login`: `register_enabled`, `reg_captcha` and the other switches of the sign-in page
/// (`email_active` is not exposed: clients learn of it from code 203). `basic` (any other
/// section): title, logos, themes, captcha type and the anonymous session user.
#[utoipa::path(
    get,
    path = "/api/v4/site/config/{section}",
    tag = "Site",
    params(("section" = String, Path, description = "`login`, or `basic` (any other value)")),
    responses(
        (status = 200, description = "`code` 0 with `data` = LoginConfig or BasicConfig", body = crate::wire::Response),
    )
)]
pub async fn site_config(
    section: web::Path<String>,
    state: web::Data<CloudreveState>,
) -> HttpResponse {
    if section.as_str() == "login" {
        return success(
            0,
            Some(LoginConfig {
                register_enabled: state.register_enabled,
                reg_captcha: state.reg_captcha,
                login_captcha: false,
                forget_captcha: false,
                authn: false,
                tos_url: "",
                privacy_policy_url: "",
            }),
        );
    }
    success(
        0,
        Some(BasicConfig {
            title: state.site_title.clone(),
            // Files the frontend's build ships; an empty logo never stops loading.
            logo: "/static/img/logo.svg",
            logo_light: "/static/img/logo_light.svg",
            themes: THEMES,
            default_theme: "#1976d2",
            captcha_type: "normal",
            custom_html: json!({}),
            user: AnonymousUser {
                id: "",
                anonymous: true,
                group: group(&state.ids, 3),
            },
        }),
    )
}
