//! The outbox: every message a sign-up promises is a row written in the sign-up's own
//! transaction, and a worker delivers the rows afterwards, with retries. A crash between
//! commit and delivery loses nothing: the row waits for the next worker.
//!
//! Here: what the account use cases write (the row types and the enqueue functions).
//! Delivery is in `outbox/worker.rs` (claiming, backoff), `outbox/mail.rs` and
//! `outbox/webhook.rs`; the operator's list and retry in `outbox/admin.rs`.

mod admin;
mod mail;
mod webhook;
mod worker;

use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;
use uuid::Uuid;

pub use admin::{list, retry, OutboxEntry};
pub use mail::{Mailer, SmtpMailer};
pub use webhook::{webhook_signature, WebhookSender, SIGNATURE_HEADER, SIGNATURE_TIMESTAMP_HEADER};
pub use worker::OutboxWorker;

use crate::{
    account::{Account, AccountId},
    store::{now_millis, Arg, Insert},
};
use webhook::WebhookPayload;

/// A mail as the outbox keeps it: rendered when the sign-up happened.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutgoingMail {
    pub to: String,
    pub subject: String,
    pub text: String,
    /// The HTML alternative; sent as `multipart/alternative` with `text` when present.
    #[serde(default)]
    pub html: Option<String>,
}

impl OutgoingMail {
    /// The stored form of this mail without its body (which may carry a live link): the
    /// recipient and subject stay for operators, and the row is never sent again.
    pub(crate) fn wiped_payload(&self) -> serde_json::Value {
        serde_json::json!({
            "to": self.to,
            "subject": self.subject,
            "text": "",
            "html": null,
            "wiped": true,
        })
    }

    /// Whether a stored payload is one [`OutgoingMail::wiped_payload`] wrote.
    pub(crate) fn is_wiped(payload: &str) -> bool {
        #[derive(Deserialize)]
        struct Marker {
            #[serde(default)]
            wiped: bool,
        }
        serde_json::from_str::<Marker>(payload).is_ok_and(|m| m.wiped)
    }
}

impl std::fmt::Debug for OutgoingMail {
    // The body may carry a one-time link: keep it out of debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutgoingMail")
            .field("to", &self.to)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// An account event a webhook receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountEvent {
    Created,
    Confirmed,
}

impl AccountEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "account.created",
            Self::Confirmed => "account.confirmed",
        }
    }
}

/// Why one delivery failed: a transient failure is retried, a permanent one is final.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("temporary delivery failure: {0}")]
    Transient(String),
    #[error("permanent delivery failure: {0}")]
    Permanent(String),
}

/// Writes one webhook row per URL inside the caller's transaction: delivered when
/// `deliver`, kept as `suppressed` otherwise (the same statements either way). The body
/// carries the account's public fields, never a password or token.
pub(crate) async fn enqueue_webhooks(
    conn: &mut AnyConnection,
    urls: &[String],
    event: AccountEvent,
    account: &Account,
    deliver: bool,
) -> Result<(), sqlx::Error> {
    crate::store::insert_in(conn, webhook_rows(urls, event, account, deliver, None)?).await
}

/// The account as the gateway's own webhooks show it.
fn default_view(account: &Account) -> serde_json::Value {
    serde_json::json!({
        "id": account.id.to_string(),
        "realm": account.realm,
        "email": account.email,
        "username": account.username,
        "status": account.status.as_str(),
        "profile": account.profile,
        "created_at": account.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    })
}

/// The rows [`enqueue_webhooks`] writes, for a caller that writes several together; `view`
/// shows the account in the body (a flavour's public fields), `None` the gateway's own view.
pub(crate) fn webhook_rows(
    urls: &[String],
    event: AccountEvent,
    account: &Account,
    deliver: bool,
    view: Option<fn(&Account) -> serde_json::Value>,
) -> Result<Vec<Insert>, sqlx::Error> {
    let view = view.unwrap_or(default_view);
    let now = now_millis();
    let mut rows = Vec::with_capacity(urls.len());
    for url in urls {
        let id = Uuid::now_v7();
        let body = serde_json::json!({
            "id": id.to_string(),
            "event": event.as_str(),
            "occurred_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "account": view(account),
        });
        let payload = WebhookPayload {
            url: url.clone(),
            event: event.as_str().into(),
            body: body.to_string(),
        };
        let payload =
            serde_json::to_string(&payload).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        rows.push(Insert::new(
            "INSERT INTO outbox (id, account_id, kind, payload, status, attempts, next_attempt_at, created_at) \
             VALUES ($1, $2, 'webhook', $3, $4, 0, $5, $5)",
            vec![
                Arg::Text(id.to_string()),
                Arg::Text(account.id.to_string()),
                Arg::Text(payload),
                Arg::Text(status(deliver).into()),
                Arg::Int(now),
            ],
        ));
    }
    Ok(rows)
}

fn status(deliver: bool) -> &'static str {
    if deliver {
        "pending"
    } else {
        "suppressed"
    }
}

/// Writes a mail row inside the caller's transaction.
pub(crate) async fn enqueue_mail(
    conn: &mut AnyConnection,
    account: Option<AccountId>,
    mail: &OutgoingMail,
) -> Result<Uuid, sqlx::Error> {
    enqueue_mail_with_status(conn, account, mail, true).await
}

/// Writes a mail row that is delivered when `deliver`, or kept as `suppressed` (never sent)
/// otherwise: the same statement either way.
pub(crate) async fn enqueue_mail_with_status(
    conn: &mut AnyConnection,
    account: Option<AccountId>,
    mail: &OutgoingMail,
    deliver: bool,
) -> Result<Uuid, sqlx::Error> {
    let (id, row) = mail_row(account, mail, deliver)?;
    row.execute(conn).await?;
    Ok(id)
}

/// The row [`enqueue_mail_with_status`] writes, for a caller that writes several together.
pub(crate) fn mail_row(
    account: Option<AccountId>,
    mail: &OutgoingMail,
    deliver: bool,
) -> Result<(Uuid, Insert), sqlx::Error> {
    let id = Uuid::now_v7();
    let now = now_millis();
    let payload = serde_json::to_string(mail).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let row = Insert::new(
        "INSERT INTO outbox (id, account_id, kind, payload, status, attempts, next_attempt_at, created_at) \
         VALUES ($1, $2, 'mail', $3, $4, 0, $5, $5)",
        vec![
            Arg::Text(id.to_string()),
            Arg::MaybeText(account.map(|a| a.to_string())),
            Arg::Text(payload),
            Arg::Text(status(deliver).into()),
            Arg::Int(now),
        ],
    );
    Ok((id, row))
}
