use std::{ops::Deref, path::PathBuf};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};
use signup_core::config::Settings;
use signup_test_support::Backend;

/// The image limit the tests run with.
pub(crate) const IMAGE_MAX: usize = 1024;

/// The Timbu flavour, served as the gateway serves it, on a fresh database, with a media
/// folder of its own and a 1 KiB image limit.
pub(crate) struct TestApp {
    inner: signup_test_support::TestApp,
    pub media_dir: PathBuf,
    /// Holds the media folder for the test's life.
    _media_root: tempfile::TempDir,
}

impl Deref for TestApp {
    type Target = signup_test_support::TestApp;
    fn deref(&self) -> &Self::Target {
        &self.inner
    }
}

pub(crate) async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

pub(crate) async fn spawn_app_with(
    backend: Backend,
    tweak: impl FnOnce(&mut Settings<timbu_api::Settings>),
) -> TestApp {
    let media_root = tempfile::tempdir().expect("a temporary folder");
    let mut media_dir = media_root.path().join("media");
    let inner = signup_test_support::spawn_app(
        backend,
        |services, settings| Box::pin(timbu_api::mount(services, settings)),
        |settings| {
            settings.flavours.image_max_bytes = IMAGE_MAX as u64;
            settings.flavours.media_dir = media_dir.clone();
            tweak(settings);
            media_dir = settings.flavours.media_dir.clone();
        },
    )
    .await;
    TestApp {
        inner,
        media_dir,
        _media_root: media_root,
    }
}

impl TestApp {
    pub(crate) async fn sign_up(&self, body: &Value) -> reqwest::Response {
        signup_test_support::post_json(&self.client, &self.address, "/timbu/auth/signup", body)
            .await
    }

    pub(crate) async fn sign_up_form(&self, form: Form) -> reqwest::Response {
        self.client
            .post(self.url("/timbu/auth/signup"))
            .multipart(form)
            .send()
            .await
            .expect("request")
    }

    pub(crate) async fn post_raw(
        &self,
        path: &str,
        body: impl Into<reqwest::Body>,
        content_type: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self.client.post(self.url(path)).body(body);
        if let Some(content_type) = content_type {
            request = request.header("Content-Type", content_type);
        }
        request.send().await.expect("request")
    }

    pub(crate) async fn login(&self, body: &Value) -> reqwest::Response {
        signup_test_support::post_json(&self.client, &self.address, "/timbu/auth/login", body).await
    }

    /// A sign-up of `email` with the valid password; returns the 201 body.
    pub(crate) async fn signed_up(&self, email: &str) -> Value {
        let response = self
            .sign_up(&json!({"email": email, "password": PASSWORD}))
            .await;
        assert_eq!(response.status().as_u16(), 201);
        response.json().await.expect("JSON body")
    }

    pub(crate) async fn refresh_with_cookie(&self, refresh: &str) -> reqwest::Response {
        self.client
            .get(self.url("/timbu/auth/refresh-access-token"))
            .header("Cookie", format!("refresh_token={refresh}"))
            .send()
            .await
            .expect("request")
    }

    pub(crate) async fn refresh_with_bearer(&self, refresh: &str) -> reqwest::Response {
        self.client
            .get(self.url("/timbu/auth/refresh-access-token"))
            .bearer_auth(refresh)
            .send()
            .await
            .expect("request")
    }

    pub(crate) async fn me(&self, access: Option<&str>) -> reqwest::Response {
        let mut request = self.client.get(self.url("/timbu/users/me"));
        if let Some(token) = access {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request")
    }

    pub(crate) async fn logout(&self, access: Option<&str>) -> reqwest::Response {
        let mut request = self.client.post(self.url("/timbu/auth/logout"));
        if let Some(token) = access {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request")
    }

    /// Every entry of the media folder, temporary files included, sorted.
    pub(crate) fn media_files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.media_dir)
            .map(|dir| {
                dir.filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// The key tokens are signed with (generated and stored, as no secret is configured).
    pub(crate) fn token_key(&self) -> Vec<u8> {
        self.services.token_key.expose().to_vec()
    }
}

pub(crate) const PASSWORD: &str = "password123";

/// The seed's example.
pub(crate) fn valid_body() -> Value {
    json!({"email": "user@example.com", "password": PASSWORD, "first_name": "John", "last_name": "Doe"})
}

/// A multipart form with the valid fields.
pub(crate) fn valid_form() -> Form {
    Form::new()
        .text("email", "user@example.com")
        .text("password", PASSWORD)
        .text("first_name", "John")
        .text("last_name", "Doe")
}

/// An image part as a browser sends it: a file name and a declared type (neither is trusted).
pub(crate) fn image_part(bytes: Vec<u8>, file_name: &str, declared: &str) -> Part {
    Part::bytes(bytes)
        .file_name(file_name.to_string())
        .mime_str(declared)
        .expect("a MIME type")
}

/// A PNG signature padded to `len` bytes (content sniffing reads the signature only).
pub(crate) fn png(len: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0".to_vec();
    let mut i = 0u8;
    while bytes.len() < len {
        bytes.push(i);
        i = i.wrapping_add(7);
    }
    bytes.truncate(len);
    bytes
}

/// The status, the `{"detail": ...}` body, and `Content-Type: application/json`.
pub(crate) async fn detail(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json"),
        "status {status}"
    );
    (status, response.json().await.expect("JSON body"))
}

/// A JWT's claims, unverified.
pub(crate) fn claims(token: &str) -> Value {
    let part = token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON")
}

/// The value of the `refresh_token` cookie a response sets.
pub(crate) fn set_cookie(response: &reqwest::Response) -> String {
    let headers: Vec<_> = response.headers().get_all("set-cookie").iter().collect();
    assert_eq!(headers.len(), 1, "one Set-Cookie");
    headers[0].to_str().expect("ASCII").to_string()
}

/// A 201 `data` with the server-chosen values of `actual` and the given fields; every other
/// field `null` (the contract's field order, which serde_json keeps).
pub(crate) fn expected_data(actual: &Value, fields: Value) -> Value {
    let mut data = json!({
        "id": actual["id"],
        "email": null,
        "first_name": null,
        "last_name": null,
        "phone_number": null,
        "country_code": null,
        "country": null,
        "state": null,
        "image_url": null,
        "is_active": true,
        "is_verified": false,
        "date_created": actual["date_created"],
    });
    for (key, value) in fields.as_object().expect("an object") {
        data[key] = value.clone();
    }
    data
}

/// Checks the server-chosen values of a `data`: a 32-hex id and an RFC 3339 UTC date.
pub(crate) fn assert_server_values(data: &Value) {
    let id = data["id"].as_str().expect("an id");
    assert!(
        id.len() == 32
            && id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "{id}"
    );
    let created = data["date_created"].as_str().expect("a date");
    assert!(
        chrono::DateTime::parse_from_rfc3339(created).is_ok() && created.ends_with('Z'),
        "{created}"
    );
}

/// Signs `claims` with HS256 and `key`.
pub(crate) fn sign(claims: &Value, key: &[u8]) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(key),
    )
    .expect("sign")
}

pub(crate) fn now() -> i64 {
    chrono::Utc::now().timestamp()
}
