//! Webhook delivery: the signed POST and what a webhook row keeps.

use std::time::Duration;

use anyhow::Context;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::DeliveryError;
use crate::config::WebhookSettings;

/// What a webhook row keeps: where to POST and the exact body (signed at delivery).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct WebhookPayload {
    pub(super) url: String,
    pub(super) event: String,
    pub(super) body: String,
}

/// Signs and POSTs webhook rows.
#[derive(Clone)]
pub struct WebhookSender {
    client: reqwest::Client,
    secret: SecretString,
}

impl std::fmt::Debug for WebhookSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSender")
    }
}

/// Header carrying `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub const SIGNATURE_HEADER: &str = "X-Signature";
/// Header carrying the Unix time (seconds) the signature covers.
pub const SIGNATURE_TIMESTAMP_HEADER: &str = "X-Signature-Timestamp";

/// `sha256=<hex>` over `"<timestamp>.<body>"`: what a receiver recomputes to check a webhook.
pub fn webhook_signature(secret: &[u8], timestamp: i64, body: &str) -> String {
    // HMAC accepts keys of any length.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

impl WebhookSender {
    /// `None` when no secret is configured (then no endpoint may be either).
    pub fn new(settings: &WebhookSettings) -> anyhow::Result<Option<Self>> {
        let Some(secret) = settings.secret.clone() else {
            return Ok(None);
        };
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(settings.timeout_secs.max(1)))
            .user_agent("signup-gateway-webhooks")
            .build()
            .context("could not build the webhook HTTP client")?;
        Ok(Some(Self { client, secret }))
    }

    pub(super) async fn send(
        &self,
        id: &str,
        payload: &WebhookPayload,
    ) -> Result<(), DeliveryError> {
        let timestamp = chrono::Utc::now().timestamp();
        let signature = webhook_signature(
            self.secret.expose_secret().as_bytes(),
            timestamp,
            &payload.body,
        );
        let response = self
            .client
            .post(&payload.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature)
            .header(SIGNATURE_TIMESTAMP_HEADER, timestamp.to_string())
            .header("X-Webhook-Id", id)
            .header("X-Webhook-Event", &payload.event)
            .body(payload.body.clone())
            .send()
            .await
            .map_err(|e| DeliveryError::Transient(format!("POST {}: {e}", payload.url)))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let error = format!("POST {} answered {status}", payload.url);
        // Like SMTP: the receiver's temporary states are retried, its refusals are final.
        if status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429 {
            Err(DeliveryError::Transient(error))
        } else {
            Err(DeliveryError::Permanent(error))
        }
    }
}
