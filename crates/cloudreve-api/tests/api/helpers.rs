use std::ops::Deref;

use serde_json::{json, Value};
use signup_core::config::Settings;
use signup_test_support::Backend;

/// The Cloudreve flavour, served as the gateway serves it, on a fresh database.
pub(crate) struct TestApp(signup_test_support::TestApp);

impl Deref for TestApp {
    type Target = signup_test_support::TestApp;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

fn mount_fn() -> signup_test_support::MountFn<cloudreve_api::Settings> {
    |services, settings| Box::pin(cloudreve_api::mount(services, settings))
}

pub(crate) async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

pub(crate) async fn spawn_app_with(
    backend: Backend,
    tweak: impl FnOnce(&mut Settings<cloudreve_api::Settings>),
) -> TestApp {
    TestApp(signup_test_support::spawn_app(backend, mount_fn(), tweak).await)
}

/// A second instance on the first one's database. Either instance's outbox worker may deliver
/// a mail, so both write into the first one's mail folder.
pub(crate) async fn spawn_second(
    first: &TestApp,
    tweak: impl FnOnce(&mut Settings<cloudreve_api::Settings>),
) -> TestApp {
    let mail_dir = first.mail_dir.clone();
    let tweak = move |s: &mut Settings<cloudreve_api::Settings>| {
        tweak(s);
        s.mail.dir = mail_dir;
    };
    TestApp(signup_test_support::spawn_app_on(first.db.share(), mount_fn(), tweak).await)
}

/// `email_active = true`.
pub(crate) fn with_activation(s: &mut Settings<cloudreve_api::Settings>) {
    s.flavours.email_active = true;
}

/// `reg_captcha = true`.
pub(crate) fn with_captcha(s: &mut Settings<cloudreve_api::Settings>) {
    s.flavours.reg_captcha = true;
}

impl TestApp {
    pub(crate) async fn sign_up(&self, body: &Value) -> reqwest::Response {
        signup_test_support::post_json(&self.client, &self.address, "/cloudreve/api/v4/user", body)
            .await
    }

    pub(crate) async fn post_raw(
        &self,
        body: impl Into<reqwest::Body>,
        content_type: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .post(self.url("/cloudreve/api/v4/user"))
            .body(body);
        if let Some(content_type) = content_type {
            request = request.header("Content-Type", content_type);
        }
        request.send().await.expect("request")
    }

    pub(crate) async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(&format!("/cloudreve{path}")))
            .send()
            .await
            .expect("request")
    }

    /// A fresh captcha: `(data URL, ticket)`.
    pub(crate) async fn captcha(&self) -> (String, String) {
        let body = success(self.get("/api/v4/site/captcha").await).await;
        let data = &body["data"];
        (
            data["image"].as_str().expect("image").to_string(),
            data["ticket"].as_str().expect("ticket").to_string(),
        )
    }

    /// The answer stored for a ticket (read from the database, as a test can).
    pub(crate) async fn captcha_answer(&self, ticket: &str) -> String {
        use sqlx::Row;
        sqlx::query("SELECT answer FROM captcha_tickets WHERE ticket_hash = $1")
            .bind(signup_core::tokens::digest(ticket))
            .fetch_one(self.store.pool())
            .await
            .expect("a stored ticket")
            .get("answer")
    }

    /// `GET /api/v4/user/activate/{id}?sign=...`, the sign query-encoded as the frontend does.
    pub(crate) async fn activate(&self, id: &str, sign: Option<&str>) -> reqwest::Response {
        let mut url = format!("/api/v4/user/activate/{id}");
        if let Some(sign) = sign {
            let query = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("sign", sign)
                .finish();
            url = format!("{url}?{query}");
        }
        self.get(&url).await
    }

    /// Signs up and returns the answer's body (code 0 expected).
    pub(crate) async fn signed_up(&self, email: &str) -> Value {
        let body = success(self.sign_up(&valid_body(email)).await).await;
        assert_eq!(body["code"], 0, "{body}");
        body
    }
}

pub(crate) fn valid_body(email: &str) -> Value {
    json!({ "email": email, "password": "secret-pw", "language": "en-US" })
}

/// Checks HTTP 200, the JSON type, and that there is no `correlation_id`; returns the body.
pub(crate) async fn success(response: reqwest::Response) -> Value {
    let body = answer(response, 200).await;
    assert!(body.get("correlation_id").is_none(), "{body}");
    body
}

/// Checks the status and the JSON type; returns the body with its `correlation_id` (a UUID)
/// removed.
pub(crate) async fn failure(response: reqwest::Response, status: u16) -> Value {
    let mut body = answer(response, status).await;
    let cid = body
        .as_object_mut()
        .and_then(|o| o.shift_remove("correlation_id"))
        .and_then(|c| c.as_str().map(str::to_string))
        .unwrap_or_else(|| panic!("a correlation_id in {body}"));
    assert!(uuid::Uuid::parse_str(&cid).is_ok(), "{cid}");
    body
}

async fn answer(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status().as_u16(), status);
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    let text = response.text().await.expect("body");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// The `(id, sign)` of the activation link in a mail, and the link itself.
pub(crate) fn activation_link(mail: &str) -> (String, String, String) {
    let start = mail.find("http://").expect("a link");
    let link: String = mail[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    let url = url::Url::parse(&link).expect("a URL");
    let get = |key: &str| {
        url.query_pairs()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| panic!("{key} in {link}"))
    };
    (get("id"), get("sign"), link)
}

/// The hashids of the contract, with the app's salt.
pub(crate) fn hashids(salt: &str) -> cloudreve_api::hashid::HashIds {
    cloudreve_api::hashid::HashIds::new(salt).expect("hashids")
}
