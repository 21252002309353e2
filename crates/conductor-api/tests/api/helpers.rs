use std::ops::Deref;

use serde_json::Value;
use signup_core::config::Settings;
use signup_test_support::Backend;

/// The Conductor flavour, served as the gateway serves it, on a fresh database.
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
    tweak: impl FnOnce(&mut Settings<conductor_api::Settings>),
) -> TestApp {
    TestApp(
        signup_test_support::spawn_app(
            backend,
            |services, settings| Box::pin(conductor_api::mount(services, settings)),
            tweak,
        )
        .await,
    )
}

impl TestApp {
    pub(crate) async fn sign_up(&self, body: &Value) -> reqwest::Response {
        signup_test_support::post_json(&self.client, &self.address, "/conductor/auth/signup", body)
            .await
    }

    pub(crate) async fn post_raw(
        &self,
        body: impl Into<reqwest::Body>,
        content_type: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .post(self.url("/conductor/auth/signup"))
            .body(body);
        if let Some(content_type) = content_type {
            request = request.header("Content-Type", content_type);
        }
        request.send().await.expect("request")
    }
}

/// A valid sign-up body; tests change what they need.
pub(crate) fn valid_body() -> Value {
    serde_json::json!({
        "username": "ada",
        "password": "correct horse battery",
        "email": "ada@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
    })
}

/// Checks the envelope's fixed parts and returns it without its timestamp.
pub(crate) async fn envelope(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status().as_u16(), status);
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    let mut body: Value = response.json().await.expect("JSON body");
    let timestamp = body
        .as_object_mut()
        .and_then(|o| o.remove("timestamp"))
        .and_then(|t| t.as_str().map(str::to_string))
        .expect("a timestamp");
    assert!(
        chrono::DateTime::parse_from_rfc3339(&timestamp).is_ok() && timestamp.ends_with('Z'),
        "timestamp {timestamp:?} is RFC 3339 UTC"
    );
    body
}
