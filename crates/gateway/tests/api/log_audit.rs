//! Everything the binary logs at `trace` while every flavour's whole flow runs, searched for
//! what must never be written down: passwords, tokens and their digests, secrets, and the
//! SMTP credentials.

use std::time::Duration;

use base64::{engine::general_purpose::STANDARD, Engine};
use serde_json::{json, Value};
use signup_core::tokens::digest;
use signup_test_support::{
    on_each_backend, smtp::TestSmtpServer, webhook::TestWebhookReceiver, Backend,
};

use crate::{
    helpers::{create_db, eventually},
    process::GatewayProcess,
};

const PASSWORD: &str = "Corr3ct-Horse-Battery-Staple!";
const SMTP_PASSWORD: &str = "smtp-Pa55word-never-logged";
const TOKEN_SECRET: &str = "token-secret-of-forty-bytes-never-logged";
const WEBHOOK_SECRET: &str = "whsec-webhook-secret-never-logged";
const CLOUDREVE_SECRET: &str = "cloudreve-link-key-never-logged";

/// What must not be in the log: `(what it is, its text)`.
type Secrets = Vec<(String, String)>;

async fn nothing_secret_reaches_the_log_even_at_trace(backend: Backend) {
    let db = create_db(backend).await;
    let smtp = TestSmtpServer::start(vec![]).await;
    let receiver = TestWebhookReceiver::start(vec![]).await;
    let log = db.dir().join("gateway.log");
    let port = smtp.port().to_string();
    let endpoint = receiver.url();
    let gateway = GatewayProcess::start_logging(
        &db,
        &[
            ("RUST_LOG", "trace"),
            ("SIGNUP__MAIL__TRANSPORT", "smtp"),
            ("SIGNUP__MAIL__SMTP__HOST", "127.0.0.1"),
            ("SIGNUP__MAIL__SMTP__PORT", &port),
            ("SIGNUP__MAIL__SMTP__TLS", "none"),
            ("SIGNUP__MAIL__SMTP__USERNAME", "mailer"),
            ("SIGNUP__MAIL__SMTP__PASSWORD", SMTP_PASSWORD),
            ("SIGNUP__TOKENS__SECRET", TOKEN_SECRET),
            ("SIGNUP__WEBHOOKS__SECRET", WEBHOOK_SECRET),
            ("SIGNUP__WEBHOOKS__ENDPOINTS__CONDUCTOR", &endpoint),
            ("SIGNUP__FLAVOURS__CLOUDREVE__EMAIL_ACTIVE", "true"),
            ("SIGNUP__FLAVOURS__CLOUDREVE__SECRET", CLOUDREVE_SECRET),
        ],
        Some(&log),
    )
    .await;
    let flows = Flows {
        client: reqwest::Client::new(),
        address: &gateway.address,
        smtp: &smtp,
    };

    let auth_plain = STANDARD.encode(format!("\0mailer\0{SMTP_PASSWORD}"));
    let mut secrets: Secrets = [
        ("the password", PASSWORD),
        ("the SMTP password", SMTP_PASSWORD),
        ("the SMTP AUTH PLAIN credentials", auth_plain.as_str()),
        ("the token secret", TOKEN_SECRET),
        ("the webhook secret", WEBHOOK_SECRET),
        ("the Cloudreve link key", CLOUDREVE_SECRET),
    ]
    .map(|(what, secret)| (what.to_string(), secret.to_string()))
    .into();
    let configured = secrets.len();
    flows.conductor(&receiver).await;
    secrets.extend(flows.infera().await);
    secrets.extend(flows.timbu().await);
    secrets.extend(flows.cloudreve().await);
    secrets.extend(flows.zato().await);
    drop(gateway);

    // Every flow handed over every secret it saw.
    let named: Vec<&str> = secrets.iter().map(|(what, _)| what.as_str()).collect();
    assert_eq!(
        named[configured..],
        [
            "the Infera verification token",
            "the Infera verification token's digest",
            "the Timbu sign-up access token",
            "the Timbu sign-up refresh token",
            "the Timbu sign-up refresh token's digest",
            "the Timbu login access token",
            "the Timbu login refresh token",
            "the Timbu login refresh token's digest",
            "the Timbu rotated access token",
            "the Timbu rotated refresh token",
            "the Timbu rotated refresh token's digest",
            "the Cloudreve activation signature",
            "the Zato confirm token",
            "the Zato confirm token's digest",
        ]
    );
    let text = std::fs::read_to_string(&log).unwrap();
    // The log is really there and really at trace.
    assert!(text.contains("Account created"), "{text}");
    assert!(text.contains("TRACE"), "the log holds trace lines");
    for (what, secret) in &secrets {
        assert!(secret.len() >= 16, "{what} is too short to be searched for");
        let line = text
            .lines()
            .find(|l| l.contains(secret.as_str()))
            .unwrap_or_default();
        assert!(
            !text.contains(secret.as_str()),
            "{what} is in the log: {line}"
        );
    }
}

/// The running gateway and its mailbox, as each flavour's flow drives them.
struct Flows<'a> {
    client: reqwest::Client,
    address: &'a str,
    smtp: &'a TestSmtpServer,
}

impl Flows<'_> {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// The first mail to `address`, once it has arrived.
    async fn mail_to(&self, address: &str) -> String {
        let to = |mail: &signup_test_support::smtp::ReceivedMail| {
            mail.to.iter().any(|to| to.contains(address))
        };
        let arrived = eventually(Duration::from_secs(20), || {
            let found = self.smtp.received().iter().any(to);
            async move { found }
        })
        .await;
        assert!(arrived, "a mail to {address}");
        let mail = self.smtp.received().into_iter().find(to).unwrap();
        mail.data
    }

    /// Conductor: a sign-up with a password, its welcome mail (sent with the SMTP
    /// credentials) and its webhook (signed with the webhook secret).
    async fn conductor(&self, receiver: &TestWebhookReceiver) {
        let created = self
            .post(
                "/conductor/auth/signup",
                &json!({
                    "username": "ada", "password": PASSWORD, "email": "ada@example.com",
                    "first_name": "Ada", "last_name": "Lovelace",
                }),
            )
            .await;
        assert_eq!(created.status().as_u16(), 201);
        self.mail_to("ada@example.com").await;
        assert!(
            receiver.wait_for(1, Duration::from_secs(20)).await,
            "one webhook"
        );
    }

    /// Infera: a sign-up, the verification mail, and its link.
    async fn infera(&self) -> Secrets {
        let registered = self
            .post(
                "/infera/signup_user",
                &json!({"email": "grace@example.com"}),
            )
            .await;
        assert_eq!(registered.status().as_u16(), 200);
        let mail = self.mail_to("grace@example.com").await;
        let token = link_parameter(&mail, "/infera/verify_email?", "token");
        let verified = self
            .client
            .get(self.url("/infera/verify_email"))
            .query(&[("token", &token)])
            .send()
            .await
            .unwrap();
        assert_eq!(verified.status().as_u16(), 200);
        named_with_digest("the Infera verification token", token)
    }

    /// Timbu: a sign-up, a login, a refresh with the cookie, `/users/me` and a logout, after
    /// which the last refresh token is refused.
    async fn timbu(&self) -> Secrets {
        const EMAIL: &str = "linus@example.com";
        let credentials = json!({"email": EMAIL, "password": PASSWORD});
        let mut seen = Secrets::new();

        let signed_up = self.post("/timbu/auth/signup", &credentials).await;
        let (body, refresh) = timbu_tokens(signed_up, 201).await;
        assert_eq!(body["data"]["email"], EMAIL);
        seen.extend(timbu_pair("sign-up", &body, &refresh));

        let logged_in = self.post("/timbu/auth/login", &credentials).await;
        let (body, refresh) = timbu_tokens(logged_in, 200).await;
        assert_eq!(body["data"]["email"], EMAIL);
        seen.extend(timbu_pair("login", &body, &refresh));

        let refreshed = self.timbu_refresh(&refresh).await;
        let (body, refresh) = timbu_tokens(refreshed, 200).await;
        let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["user", "access_token", "expires_in"]);
        assert_eq!(
            (&body["user"]["email"], &body["expires_in"]),
            (&json!(EMAIL), &json!(900))
        );
        let access = body["access_token"].as_str().unwrap().to_string();
        seen.extend(timbu_pair("rotated", &body, &refresh));

        let me = self
            .client
            .get(self.url("/timbu/users/me"))
            .bearer_auth(&access)
            .send()
            .await
            .unwrap();
        assert_eq!(me.status().as_u16(), 200);
        assert_eq!(me.headers()["cache-control"], "no-store");
        assert_eq!(me.json::<Value>().await.unwrap()["data"]["email"], EMAIL);

        let logged_out = self
            .client
            .post(self.url("/timbu/auth/logout"))
            .bearer_auth(&access)
            .send()
            .await
            .unwrap();
        assert_eq!(logged_out.status().as_u16(), 200);
        assert_eq!(
            logged_out.json::<Value>().await.unwrap(),
            json!({"message": "User logged out successfully."})
        );
        let revoked = self.timbu_refresh(&refresh).await;
        assert_eq!(revoked.status().as_u16(), 401);
        assert_eq!(
            revoked.json::<Value>().await.unwrap(),
            json!({"detail": "Unauthenticated"})
        );
        seen
    }

    async fn timbu_refresh(&self, refresh: &str) -> reqwest::Response {
        self.client
            .get(self.url("/timbu/auth/refresh-access-token"))
            .header("Cookie", format!("refresh_token={refresh}"))
            .send()
            .await
            .unwrap()
    }

    /// Cloudreve with activation on: a sign-up that waits (203), the activation mail, its
    /// link, then the account is active (a second sign-up is 40032, not 40033).
    async fn cloudreve(&self) -> Secrets {
        const EMAIL: &str = "margaret@example.com";
        let body = json!({"email": EMAIL, "password": PASSWORD});
        let signed_up = cloudreve_envelope(self.post("/cloudreve/api/v4/user", &body).await).await;
        assert_eq!(signed_up, json!({"code": 203, "msg": ""}));

        let mail = self.mail_to(EMAIL).await;
        let id = link_parameter(&mail, "/session/activate?", "id");
        let sign = link_parameter(&mail, "/session/activate?", "sign");
        let activated = self
            .client
            .get(self.url(&format!("/cloudreve/api/v4/user/activate/{id}")))
            .query(&[("sign", &sign)])
            .send()
            .await
            .unwrap();
        let activated = cloudreve_envelope(activated).await;
        assert_eq!(
            (&activated["code"], &activated["msg"]),
            (&json!(0), &json!(""))
        );
        assert_eq!(
            (&activated["data"]["email"], &activated["data"]["status"]),
            (&json!(EMAIL), &json!("active"))
        );

        let again = cloudreve_envelope(self.post("/cloudreve/api/v4/user", &body).await).await;
        assert_eq!(
            (&again["code"], &again["msg"]),
            (&json!(40032), &json!("Email already in use"))
        );
        // The MAC without its padding: the same text in the link's query and in the clear.
        let (mac, _expires) = sign.split_once(':').expect("`<mac>:<expires>`");
        vec![(
            "the Cloudreve activation signature".into(),
            mac.trim_end_matches('=').to_string(),
        )]
    }

    /// Zato SSO: a sign-up answering its confirm token (`no-store`), the confirmation, and
    /// the same token refused as used.
    async fn zato(&self) -> Secrets {
        let signed_up = self
            .post(
                "/zato/sso/user/signup",
                &json!({"username": "alan", "password": PASSWORD, "email": "alan@example.com",
                        "current_app": "CRM", "app_list": ["CRM"]}),
            )
            .await;
        assert_eq!(signed_up.status().as_u16(), 200);
        assert_eq!(signed_up.headers()["cache-control"], "no-store");
        let body: Value = signed_up.json().await.unwrap();
        assert_eq!(body["status"], "ok");
        let token = body["confirm_token"].as_str().unwrap().to_string();
        assert_eq!(token.len(), 32, "a 32-character confirm token");

        let confirm = json!({"confirm_token": token, "current_app": "CRM"});
        let confirmed = self.post("/zato/sso/user/signup/confirm", &confirm).await;
        assert_eq!(confirmed.status().as_u16(), 200);
        let body: Value = confirmed.json().await.unwrap();
        assert_eq!(body, json!({"cid": body["cid"], "status": "ok"}));
        let used = self.post("/zato/sso/user/signup/confirm", &confirm).await;
        assert_eq!(used.status().as_u16(), 403);
        assert_eq!(
            used.json::<Value>().await.unwrap()["sub_status"],
            json!(["E005007"])
        );
        named_with_digest("the Zato confirm token", token)
    }
}

/// A one-time token and the digest it is stored as, both named after `what`.
fn named_with_digest(what: &str, token: String) -> Secrets {
    let stored = digest(&token);
    vec![
        (what.to_string(), token),
        (format!("{what}'s digest"), stored),
    ]
}

/// A Timbu answer carrying tokens, checked (its status, `no-store`, the refresh cookie):
/// its body, and the refresh token of its cookie.
async fn timbu_tokens(response: reqwest::Response, status: u16) -> (Value, String) {
    assert_eq!(response.status().as_u16(), status);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let refresh = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .strip_prefix("refresh_token=")
        .and_then(|cookie| cookie.split(';').next())
        .expect("the refresh cookie")
        .to_string();
    (response.json().await.unwrap(), refresh)
}

/// The tokens a Timbu answer issued at `stage`, with the digest the refresh token is stored
/// as (the core keeps refresh tokens only as their digest).
fn timbu_pair(stage: &str, body: &Value, refresh: &str) -> Secrets {
    let access = body["access_token"].as_str().expect("an access token");
    if let Some(in_body) = body.get("refresh_token") {
        assert!(
            in_body == refresh,
            "the {stage} cookie holds the answer's refresh token"
        );
    }
    vec![
        (
            format!("the Timbu {stage} access token"),
            access.to_string(),
        ),
        (
            format!("the Timbu {stage} refresh token"),
            refresh.to_string(),
        ),
        (
            format!("the Timbu {stage} refresh token's digest"),
            digest(refresh),
        ),
    ]
}

/// A Cloudreve answer: HTTP 200 whatever the outcome, the envelope in its body.
async fn cloudreve_envelope(response: reqwest::Response) -> Value {
    assert_eq!(response.status().as_u16(), 200);
    response.json().await.unwrap()
}

/// The query parameter `key` of the first link in a mail whose path ends with `path`
/// (quoted-printable aware).
fn link_parameter(mail: &str, path: &str, key: &str) -> String {
    let unfolded = mail.replace("=\r\n", "").replace("=3D", "=");
    let start = unfolded.find(path).expect("a link");
    let link: String = unfolded[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && !matches!(c, '"' | '<'))
        .collect();
    let link = reqwest::Url::parse(&format!("http://mail.invalid{link}")).expect("a link");
    link.query_pairs()
        .find(|(name, _)| name == key)
        .map(|(_, value)| value.into_owned())
        .expect(key)
}

on_each_backend!(nothing_secret_reaches_the_log_even_at_trace);
