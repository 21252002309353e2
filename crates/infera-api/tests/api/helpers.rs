use std::ops::Deref;

use signup_core::config::Settings;
use signup_test_support::Backend;

/// The Infera flavour, served as the gateway serves it, on a fresh database.
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
    tweak: impl FnOnce(&mut Settings<infera_api::Settings>),
) -> TestApp {
    TestApp(
        signup_test_support::spawn_app(
            backend,
            |services, settings| Box::pin(infera_api::mount(services, settings)),
            |settings| {
                // One hashing thread is plenty: this flavour hashes nothing.
                settings.hashing.workers = 1;
                tweak(settings);
            },
        )
        .await,
    )
}

/// A response's status, `Content-Type` and body text.
pub(crate) struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

impl TestApp {
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}/infera{path}", self.address)
    }

    pub(crate) async fn post(
        &self,
        body: impl Into<reqwest::Body>,
        content_type: Option<&str>,
    ) -> Answer {
        let mut request = self.client.post(self.url("/signup_user")).body(body);
        if let Some(content_type) = content_type {
            request = request.header("Content-Type", content_type);
        }
        answer(request.send().await.expect("request")).await
    }

    pub(crate) async fn sign_up(&self, email: &str) -> Answer {
        self.post(
            serde_json::json!({ "email": email }).to_string(),
            Some("application/json"),
        )
        .await
    }

    pub(crate) async fn verify(&self, query: &str) -> Answer {
        answer(
            self.client
                .get(self.url(&format!("/verify_email{query}")))
                .send()
                .await
                .expect("request"),
        )
        .await
    }
}

pub(crate) async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = response.text().await.expect("body");
    Answer {
        status,
        content_type,
        body,
    }
}

/// The verification link in a mail, made relative to the test server.
pub(crate) fn link_query(mail: &str) -> String {
    let start = mail
        .find("/infera/verify_email?token=")
        .expect("a verification link");
    let link: String = mail[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    link.trim_start_matches("/infera/verify_email").to_string()
}
