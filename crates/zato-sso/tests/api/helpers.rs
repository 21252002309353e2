use std::ops::Deref;

use serde_json::{json, Value};
use signup_core::config::Settings;
use signup_test_support::Backend;

/// The Zato flavour, served as the gateway serves it, on a fresh database.
pub(crate) struct TestApp(signup_test_support::TestApp);

impl Deref for TestApp {
    type Target = signup_test_support::TestApp;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

pub(crate) async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

pub(crate) async fn spawn_app_with(
    backend: Backend,
    tweak: impl FnOnce(&mut Settings<zato_sso::Settings>),
) -> TestApp {
    TestApp(
        signup_test_support::spawn_app(
            backend,
            |services, settings| Box::pin(zato_sso::mount(services, settings)),
            tweak,
        )
        .await,
    )
}

/// An answer: status, the headers the contract names, the body as text and as JSON.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: u16,
    pub cid_header: Option<String>,
    pub retry_after: Option<String>,
    pub allow: Option<String>,
    pub content_type: Option<String>,
    pub cache_control: Option<String>,
    pub text: String,
    pub body: Value,
}

impl Reply {
    /// The cid of the body, checked: 24 lowercase hex characters, equal to `X-Zato-CID`.
    pub(crate) fn cid(&self) -> String {
        let cid = self.body["cid"]
            .as_str()
            .expect("a cid in the body")
            .to_string();
        assert_eq!(cid.len(), 24, "{cid}");
        assert!(
            cid.chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)),
            "{cid}"
        );
        assert_eq!(self.cid_header.as_deref(), Some(cid.as_str()), "X-Zato-CID");
        cid
    }

    /// Asserts the exact error answer: status, and the body byte for byte.
    #[track_caller]
    pub(crate) fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{}", self.text);
        let cid = self.cid();
        assert_eq!(
            self.text,
            format!(r#"{{"cid":"{cid}","status":"error","sub_status":["{code}"]}}"#)
        );
        assert_eq!(self.content_type.as_deref(), Some("application/json"));
    }

    /// Asserts a successful confirmation: `{"cid","status":"ok"}`.
    #[track_caller]
    pub(crate) fn assert_ok(&self) {
        assert_eq!(self.status, 200, "{}", self.text);
        let cid = self.cid();
        assert_eq!(self.text, format!(r#"{{"cid":"{cid}","status":"ok"}}"#));
    }

    /// Asserts a successful sign-up, kept out of every cache, and returns its confirm token.
    #[track_caller]
    pub(crate) fn confirm_token(&self) -> String {
        assert_eq!(self.status, 200, "{}", self.text);
        assert_eq!(self.cache_control.as_deref(), Some("no-store"));
        let cid = self.cid();
        let token = self.body["confirm_token"]
            .as_str()
            .expect("a confirm token")
            .to_string();
        assert_eq!(token.len(), 32, "{token}");
        assert!(token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_eq!(
            self.text,
            format!(r#"{{"cid":"{cid}","status":"ok","confirm_token":"{token}"}}"#)
        );
        token
    }
}

pub(crate) async fn reply(response: reqwest::Response) -> Reply {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(String::from)
    };
    let (cid_header, retry_after, allow, content_type, cache_control) = (
        header("x-zato-cid"),
        header("retry-after"),
        header("allow"),
        header("content-type"),
        header("cache-control"),
    );
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        cid_header,
        retry_after,
        allow,
        content_type,
        cache_control,
        text,
        body,
    }
}

/// A valid sign-up of `username` (and `username@example.com`).
pub(crate) fn sign_up_body(username: &str) -> Value {
    json!({
        "username": username,
        "password": "Xk3!vq9Lp-2024",
        "email": format!("{username}@example.com"),
        "current_app": "CRM",
        "app_list": ["CRM"],
    })
}

pub(crate) const SIGNUP: &str = "/zato/sso/user/signup";
pub(crate) const CONFIRM: &str = "/zato/sso/user/signup/confirm";

impl TestApp {
    pub(crate) async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: impl Into<reqwest::Body>,
    ) -> Reply {
        reply(
            self.client
                .request(method, self.url(path))
                .body(body)
                .send()
                .await
                .expect("request"),
        )
        .await
    }

    pub(crate) async fn sign_up(&self, body: &Value) -> Reply {
        self.send(reqwest::Method::POST, SIGNUP, body.to_string())
            .await
    }

    /// `PATCH /zato/sso/user/signup` (`patch`) or `POST /zato/sso/user/signup/confirm`.
    pub(crate) async fn confirm(&self, patch: bool, body: &Value) -> Reply {
        if patch {
            self.send(reqwest::Method::PATCH, SIGNUP, body.to_string())
                .await
        } else {
            self.send(reqwest::Method::POST, CONFIRM, body.to_string())
                .await
        }
    }

    /// The stored profile of a user.
    pub(crate) async fn profile(&self, username: &str) -> Value {
        use sqlx::Row;
        let row = sqlx::query("SELECT profile FROM accounts WHERE username = $1")
            .bind(username)
            .fetch_one(self.store.pool())
            .await
            .expect("the account");
        serde_json::from_str(&row.try_get::<String, _>("profile").unwrap()).unwrap()
    }

    pub(crate) async fn status_of(&self, username: &str) -> String {
        use sqlx::Row;
        sqlx::query("SELECT status FROM accounts WHERE username = $1")
            .bind(username)
            .fetch_one(self.store.pool())
            .await
            .expect("the account")
            .try_get("status")
            .unwrap()
    }
}
