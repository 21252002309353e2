//! Everything the binary logs at `trace` while every flavour's whole flow runs, searched for
//! what must never be written down: passwords, tokens and their digests, secrets, and the
//! SMTP credentials.

use std::time::Duration;

use base64::{engine::general_purpose::STANDARD, Engine};
use serde_json::json;
use signup_test_support::{
    on_each_backend, smtp::TestSmtpServer, webhook::TestWebhookReceiver, Backend,
};

use crate::{helpers::create_db, process::GatewayProcess};

const PASSWORD: &str = "Corr3ct-Horse-Battery-Staple!";
const SMTP_PASSWORD: &str = "smtp-Pa55word-never-logged";
const TOKEN_SECRET: &str = "token-secret-of-forty-bytes-never-logged";
const WEBHOOK_SECRET: &str = "whsec-webhook-secret-never-logged";

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
        ],
        Some(&log),
    )
    .await;
    let client = reqwest::Client::new();

    // Conductor: a sign-up with a password, its welcome mail and its webhook.
    let created = client
        .post(format!("{}/conductor/auth/signup", gateway.address))
        .json(&json!({
            "username": "ada", "password": PASSWORD, "email": "ada@example.com",
            "first_name": "Ada", "last_name": "Lovelace",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);

    // Infera: a sign-up, the verification mail, and its link.
    let registered = client
        .post(format!("{}/infera/signup_user", gateway.address))
        .json(&json!({"email": "grace@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status().as_u16(), 200);
    assert!(smtp.wait_for(2, Duration::from_secs(20)).await, "two mails");
    assert!(
        receiver.wait_for(1, Duration::from_secs(20)).await,
        "one webhook"
    );
    let mails = smtp.received();
    let verification = mails
        .iter()
        .find(|m| m.to.iter().any(|to| to.contains("grace@example.com")))
        .expect("the verification mail");
    let token = link_token(&verification.data);
    let verified = client
        .get(format!(
            "{}/infera/verify_email?token={token}",
            gateway.address
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(verified.status().as_u16(), 200);
    drop(gateway);

    let text = std::fs::read_to_string(&log).unwrap();
    // The log is really there and really at trace.
    assert!(text.contains("Account created"), "{text}");
    assert!(text.contains("TRACE"), "the log holds trace lines");
    let digest = signup_core::tokens::digest(&token);
    let auth_plain = STANDARD.encode(format!("\0mailer\0{SMTP_PASSWORD}"));
    for (what, secret) in [
        ("the password", PASSWORD),
        ("the SMTP password", SMTP_PASSWORD),
        ("the SMTP AUTH PLAIN credentials", auth_plain.as_str()),
        ("the token secret", TOKEN_SECRET),
        ("the webhook secret", WEBHOOK_SECRET),
        ("the verification token", token.as_str()),
        ("the verification token's digest", digest.as_str()),
    ] {
        let line = text
            .lines()
            .find(|l| l.contains(secret))
            .unwrap_or_default();
        assert!(!text.contains(secret), "{what} is in the log: {line}");
    }
}

/// The `token` parameter of the verification link in a mail (quoted-printable aware).
fn link_token(mail: &str) -> String {
    let unfolded = mail.replace("=\r\n", "").replace("=3D", "=");
    let start = unfolded.find("verify_email?token=").expect("a link") + "verify_email?token=".len();
    unfolded[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

on_each_backend!(nothing_secret_reaches_the_log_even_at_trace);
