//! The outbox: every message a sign-up promises is a row written in the sign-up's own
//! transaction, and a worker delivers the rows afterwards, with retries. A crash between
//! commit and delivery loses nothing: the row waits for the next worker.

use std::{path::PathBuf, sync::Arc, time::Duration};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Row};
use tokio::sync::{watch, Notify};
use uuid::Uuid;

use hmac::{Hmac, Mac};
use lettre::{
    message::{Mailbox, MultiPart, SinglePart},
    transport::smtp::authentication::Credentials,
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

use crate::{
    account::{Account, AccountId},
    config::{MailSettings, MailTransport, SmtpTls, WebhookSettings},
    metrics::Metrics,
    store::{now_millis, Backend, Store},
};

/// Rows claimed per pass.
const BATCH: i64 = 64;
/// After a wake-up, wait this long (at most) so that one pass takes the rows of many commits.
const COALESCE: Duration = Duration::from_millis(100);

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

/// Escapes text for an HTML body.
pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
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

/// What a webhook row keeps: where to POST and the exact body (signed at delivery).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct WebhookPayload {
    url: String,
    event: String,
    body: String,
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
    enqueue(conn, urls, event, account, deliver, default_view).await
}

/// Writes one webhook row per URL, delivered, whose body shows the account through `view`
/// (a flavour's public fields).
pub(crate) async fn enqueue_webhooks_viewed(
    conn: &mut AnyConnection,
    urls: &[String],
    event: AccountEvent,
    account: &Account,
    view: fn(&Account) -> serde_json::Value,
) -> Result<(), sqlx::Error> {
    enqueue(conn, urls, event, account, true, view).await
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

async fn enqueue(
    conn: &mut AnyConnection,
    urls: &[String],
    event: AccountEvent,
    account: &Account,
    deliver: bool,
    view: fn(&Account) -> serde_json::Value,
) -> Result<(), sqlx::Error> {
    let now = now_millis();
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
        sqlx::query(
            "INSERT INTO outbox (id, account_id, kind, payload, status, attempts, next_attempt_at, created_at) \
             VALUES ($1, $2, 'webhook', $3, $4, 0, $5, $5)",
        )
        .bind(id.to_string())
        .bind(account.id.to_string())
        .bind(payload)
        .bind(if deliver { "pending" } else { "suppressed" })
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
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
    let id = Uuid::now_v7();
    let now = now_millis();
    let payload = serde_json::to_string(mail).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    sqlx::query(
        "INSERT INTO outbox (id, account_id, kind, payload, status, attempts, next_attempt_at, created_at) \
         VALUES ($1, $2, 'mail', $3, $4, 0, $5, $5)",
    )
    .bind(id.to_string())
    .bind(account.map(|a| a.to_string()))
    .bind(payload)
    .bind(if deliver { "pending" } else { "suppressed" })
    .bind(now)
    .execute(conn)
    .await?;
    Ok(id)
}

/// Where mail goes.
#[derive(Clone)]
pub enum Mailer {
    /// Each mail, links included, becomes a log line (development).
    Log { from: String },
    /// Each mail becomes `<dir>/<outbox id>.eml` (tests, and a local inbox).
    File { dir: PathBuf, from: String },
    /// Each mail goes over SMTP.
    Smtp(Box<SmtpMailer>),
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Log { from } => f.debug_struct("Log").field("from", from).finish(),
            Self::File { dir, from } => f
                .debug_struct("File")
                .field("dir", dir)
                .field("from", from)
                .finish(),
            Self::Smtp(smtp) => f
                .debug_struct("Smtp")
                .field("from", &smtp.from.to_string())
                .finish(),
        }
    }
}

/// An SMTP relay (lettre, async) and the sender.
#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The part after `@` in every `Message-ID`.
    id_domain: String,
    /// A whole send; lettre's own timeout covers only the connection.
    timeout: Duration,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl SmtpMailer {
    pub fn new(settings: &MailSettings) -> anyhow::Result<Self> {
        let smtp = &settings.smtp;
        let mut builder = match smtp.tls {
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host),
            SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)
                .context("invalid mail.smtp.host for STARTTLS")?,
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host)
                .context("invalid mail.smtp.host for TLS")?,
        }
        .port(smtp.port)
        .timeout(Some(Duration::from_secs(smtp.timeout_secs.max(1))));
        if !smtp.username.is_empty() {
            let password = smtp
                .password
                .as_ref()
                .map(|p| p.expose_secret().to_string())
                .unwrap_or_default();
            builder = builder.credentials(Credentials::new(smtp.username.clone(), password));
        }
        let name = if settings.from_name.is_empty() {
            settings.site_name.clone()
        } else {
            settings.from_name.clone()
        };
        let address: lettre::Address = settings
            .from
            .parse()
            .with_context(|| format!("mail.from is not an address: {:?}", settings.from))?;
        Ok(Self {
            transport: builder.build(),
            timeout: Duration::from_secs(smtp.timeout_secs.max(1)),
            id_domain: address.domain().to_string(),
            from: Mailbox::new(Some(name), address),
        })
    }

    async fn send(&self, id: &str, mail: &OutgoingMail) -> Result<(), DeliveryError> {
        let to: Mailbox = mail
            .to
            .parse()
            .map_err(|e| DeliveryError::Permanent(format!("recipient {:?}: {e}", mail.to)))?;
        let builder = Message::builder()
            // The outbox row names the mail: a retried mail keeps its Message-ID.
            .message_id(Some(format!("<{id}@{}>", self.id_domain)))
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone());
        let message = match &mail.html {
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(
                mail.text.clone(),
                html.clone(),
            )),
            None => builder.singlepart(SinglePart::plain(mail.text.clone())),
        }
        .map_err(|e| DeliveryError::Permanent(format!("could not build the message: {e}")))?;
        match tokio::time::timeout(self.timeout, self.transport.send(message)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) if e.is_permanent() => Err(DeliveryError::Permanent(e.to_string())),
            // 4xx replies, refused or dropped connections: try again later.
            Ok(Err(e)) => Err(DeliveryError::Transient(e.to_string())),
            Err(_) => Err(DeliveryError::Transient(format!(
                "no answer from the SMTP server within {} s",
                self.timeout.as_secs()
            ))),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("temporary delivery failure: {0}")]
    Transient(String),
    #[error("permanent delivery failure: {0}")]
    Permanent(String),
}

impl Mailer {
    pub fn from_settings(settings: &MailSettings) -> anyhow::Result<Self> {
        match settings.transport {
            MailTransport::Log => Ok(Self::Log {
                from: settings.from.clone(),
            }),
            MailTransport::File => {
                std::fs::create_dir_all(&settings.dir).with_context(|| {
                    format!(
                        "could not create the mail folder {}",
                        settings.dir.display()
                    )
                })?;
                Ok(Self::File {
                    dir: settings.dir.clone(),
                    from: settings.from.clone(),
                })
            }
            MailTransport::Smtp => Ok(Self::Smtp(Box::new(SmtpMailer::new(settings)?))),
        }
    }

    /// Delivers one mail; `id` is its outbox row, stable across retries.
    pub async fn send(&self, id: &str, mail: &OutgoingMail) -> Result<(), DeliveryError> {
        match self {
            Self::Log { from } => {
                tracing::info!(
                    outbox_id = %id, %from, to = %mail.to, subject = %mail.subject,
                    "Mail (log transport):\n{}", mail.text
                );
                Ok(())
            }
            Self::File { dir, from } => {
                let message = render_eml(id, from, mail);
                let final_path = dir.join(format!("{id}.eml"));
                let temp_path = dir.join(format!(".{id}.eml.tmp"));
                // Write then rename, so a reader never sees half a mail.
                tokio::fs::write(&temp_path, message)
                    .await
                    .map_err(|e| DeliveryError::Transient(e.to_string()))?;
                tokio::fs::rename(&temp_path, &final_path)
                    .await
                    .map_err(|e| DeliveryError::Transient(e.to_string()))
            }
            Self::Smtp(smtp) => smtp.send(id, mail).await,
        }
    }
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

    async fn send(&self, id: &str, payload: &WebhookPayload) -> Result<(), DeliveryError> {
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

fn render_eml(id: &str, from: &str, mail: &OutgoingMail) -> String {
    format!(
        "Message-ID: <{id}@signup-gateway>\r\nDate: {date}\r\nFrom: {from}\r\nTo: {to}\r\nSubject: {subject}\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}",
        date = chrono::Utc::now().to_rfc2822(),
        to = mail.to,
        subject = mail.subject,
        body = mail.text.replace('\n', "\r\n"),
    )
}

/// Delivers due outbox rows until told to stop.
#[derive(Debug, Clone)]
pub struct OutboxWorker {
    store: Store,
    mailer: Mailer,
    webhooks: Option<WebhookSender>,
    metrics: Metrics,
    max_attempts: u32,
    retry_base: Duration,
    poll_interval: Duration,
    lease: Duration,
    wake: Arc<Notify>,
}

/// One claimed row.
struct Claimed {
    id: String,
    kind: String,
    payload: String,
    attempts: i64,
}

impl OutboxWorker {
    pub fn new(store: Store, mailer: Mailer, metrics: Metrics, settings: &MailSettings) -> Self {
        let wake = store.outbox_signal();
        Self {
            store,
            mailer,
            webhooks: None,
            metrics,
            max_attempts: settings.max_attempts.max(1),
            retry_base: Duration::from_millis(settings.retry_base_ms.max(1)),
            poll_interval: Duration::from_millis(settings.poll_interval_ms.max(10)),
            lease: Duration::from_secs(settings.lease_secs.max(1)),
            wake,
        }
    }

    /// Delivers `webhook` rows with this sender.
    pub fn with_webhooks(mut self, webhooks: Option<WebhookSender>) -> Self {
        self.webhooks = webhooks;
        self
    }

    /// Runs until `shutdown` turns true; a mail being sent then is finished first.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        tracing::info!("Outbox worker started");
        loop {
            if *shutdown.borrow() {
                break;
            }
            let delivered = match self.deliver_due().await {
                Ok(n) => n,
                Err(error) => {
                    tracing::warn!(error = %format!("{error:#}"), "Outbox pass failed");
                    0
                }
            };
            if delivered > 0 {
                continue;
            }
            tokio::select! {
                // A dropped sender means the host is gone: stop as if told to.
                changed = shutdown.changed() => if changed.is_err() { break },
                () = self.wake.notified() => {
                    tokio::time::sleep(COALESCE.min(self.poll_interval)).await;
                }
                () = tokio::time::sleep(self.poll_interval) => {}
            }
        }
        tracing::info!("Outbox worker stopped");
    }

    /// Claims and delivers one batch of due rows; returns how many it handled.
    pub async fn deliver_due(&self) -> anyhow::Result<usize> {
        self.record_oldest_pending().await?;
        let claimed = self.claim().await?;
        let count = claimed.len();
        let mut delivered = Vec::with_capacity(count);
        for row in claimed {
            match self.send(&row).await {
                Ok(()) => delivered.push(row),
                Err(error) => self.record_failure(&row, &error).await?,
            }
        }
        self.record_delivered(&delivered).await?;
        Ok(count)
    }

    async fn claim(&self) -> anyhow::Result<Vec<Claimed>> {
        let now = now_millis();
        let lease_end = now + i64::try_from(self.lease.as_millis()).unwrap_or(60_000);
        let lock = match self.store.backend() {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE outbox SET locked_until = $1, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $2 \
             AND (locked_until IS NULL OR locked_until < $2) ORDER BY next_attempt_at LIMIT $3 {lock}) \
             RETURNING id, kind, payload, attempts"
        );
        let mut tx = self.store.begin_write().await?;
        let rows = sqlx::query(&sql)
            .bind(lease_end)
            .bind(now)
            .bind(BATCH)
            .fetch_all(&mut *tx.tx)
            .await
            .context("could not claim outbox rows")?;
        tx.commit().await?;
        rows.into_iter()
            .map(|row| {
                Ok(Claimed {
                    id: row.try_get("id")?,
                    kind: row.try_get("kind")?,
                    payload: row.try_get("payload")?,
                    attempts: row.try_get("attempts")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .context("unexpected outbox row")
    }

    async fn send(&self, row: &Claimed) -> Result<(), DeliveryError> {
        let unreadable =
            |e: serde_json::Error| DeliveryError::Permanent(format!("unreadable payload: {e}"));
        match row.kind.as_str() {
            "mail" => {
                let mail =
                    serde_json::from_str::<OutgoingMail>(&row.payload).map_err(unreadable)?;
                self.mailer.send(&row.id, &mail).await
            }
            "webhook" => {
                let payload =
                    serde_json::from_str::<WebhookPayload>(&row.payload).map_err(unreadable)?;
                match &self.webhooks {
                    Some(sender) => sender.send(&row.id, &payload).await,
                    None => Err(DeliveryError::Transient(
                        "webhooks.secret is not configured".into(),
                    )),
                }
            }
            other => Err(DeliveryError::Permanent(format!("unknown kind {other:?}"))),
        }
    }

    /// Sets the gauge of the oldest undelivered row's age.
    async fn record_oldest_pending(&self) -> anyhow::Result<()> {
        let oldest: Option<i64> =
            sqlx::query_scalar("SELECT MIN(created_at) FROM outbox WHERE status = 'pending'")
                .fetch_one(self.store.pool())
                .await?;
        let age = oldest.map_or(0.0, |at| (now_millis() - at).max(0) as f64 / 1000.0);
        self.metrics.outbox_oldest_pending_seconds.set(age);
        Ok(())
    }

    /// Marks a batch delivered in one statement.
    async fn record_delivered(&self, rows: &[Claimed]) -> anyhow::Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let placeholders: Vec<String> = (2..rows.len() + 2).map(|n| format!("${n}")).collect();
        let sql = format!(
            "UPDATE outbox SET status = 'delivered', delivered_at = $1, locked_until = NULL, last_error = NULL \
             WHERE id IN ({})",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(&sql).bind(now_millis());
        for row in rows {
            query = query.bind(&row.id);
        }
        let mut tx = self.store.begin_write().await?;
        query.execute(&mut *tx.tx).await?;
        tx.commit().await?;
        for row in rows {
            self.metrics
                .outbox_messages
                .with_label_values(&[&row.kind, "delivered"])
                .inc();
        }
        Ok(())
    }

    /// Schedules a retry with backoff, or marks the row dead.
    async fn record_failure(&self, row: &Claimed, error: &DeliveryError) -> anyhow::Result<()> {
        let exhausted = row.attempts >= i64::from(self.max_attempts);
        let dead = exhausted || matches!(error, DeliveryError::Permanent(_));
        let result = if dead { "dead" } else { "retried" };
        tracing::warn!(outbox_id = %row.id, attempts = row.attempts, %error, result, "Outbox delivery failed");
        let mut tx = self.store.begin_write().await?;
        sqlx::query(
            "UPDATE outbox SET status = $1, next_attempt_at = $2, locked_until = NULL, last_error = $3 WHERE id = $4",
        )
        .bind(if dead { "dead" } else { "pending" })
        .bind(now_millis() + backoff_millis(self.retry_base, row.attempts))
        .bind(error.to_string())
        .bind(&row.id)
        .execute(&mut *tx.tx)
        .await?;
        tx.commit().await?;
        self.metrics
            .outbox_messages
            .with_label_values(&[&row.kind, result])
            .inc();
        Ok(())
    }
}

/// Exponential backoff with jitter: `base x 2^(attempts - 1)`, capped at an hour, plus up to
/// half of that again at random so that many failed rows do not retry in lockstep.
fn backoff_millis(base: Duration, attempts: i64) -> i64 {
    let exp = u32::try_from((attempts - 1).clamp(0, 20)).unwrap_or(20);
    let base = i64::try_from(base.as_millis()).unwrap_or(1000);
    let delay = base.saturating_mul(1i64 << exp).min(3_600_000);
    let jitter = rand::random::<u64>() % (u64::try_from(delay / 2).unwrap_or(0) + 1);
    delay + i64::try_from(jitter).unwrap_or(0)
}

/// One outbox row, as an operator sees it.
#[derive(Debug, Clone, Serialize)]
pub struct OutboxEntry {
    pub id: String,
    pub kind: String,
    pub status: String,
    pub attempts: i64,
    /// The mail's recipient or the webhook's URL.
    pub target: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub next_attempt_at: chrono::DateTime<chrono::Utc>,
    pub last_error: Option<String>,
}

/// Undelivered rows (`pending` and `dead`), or only the `dead` ones, oldest first.
pub async fn list(store: &Store, dead_only: bool) -> anyhow::Result<Vec<OutboxEntry>> {
    let filter = if dead_only {
        "status = 'dead'"
    } else {
        "status IN ('pending', 'dead')"
    };
    let sql = format!(
        "SELECT id, kind, status, attempts, payload, created_at, next_attempt_at, last_error FROM outbox WHERE {filter} ORDER BY created_at, id"
    );
    let rows = sqlx::query(&sql).fetch_all(store.pool()).await?;
    let at = |ms: i64| chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default();
    rows.iter()
        .map(|row| {
            let kind: String = row.try_get("kind")?;
            let payload: String = row.try_get("payload")?;
            let target = serde_json::from_str::<serde_json::Value>(&payload)
                .ok()
                .and_then(|p| {
                    p.get(if kind == "webhook" { "url" } else { "to" })
                        .and_then(|v| v.as_str())
                        .map(String::from)
                })
                .unwrap_or_default();
            Ok(OutboxEntry {
                id: row.try_get("id")?,
                kind,
                status: row.try_get("status")?,
                attempts: row.try_get("attempts")?,
                target,
                created_at: at(row.try_get("created_at")?),
                next_attempt_at: at(row.try_get("next_attempt_at")?),
                last_error: row.try_get("last_error")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

/// Puts one `dead` row (or, with `None`, every dead row) back in the queue, due now and with
/// a fresh attempt count. Returns how many rows it revived.
pub async fn retry(store: &Store, id: Option<&str>) -> anyhow::Result<u64> {
    let now = now_millis();
    let mut tx = store.begin_write().await?;
    let done = match id {
        Some(id) => sqlx::query(
            "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = $1, locked_until = NULL WHERE id = $2 AND status = 'dead'",
        )
        .bind(now)
        .bind(id)
        .execute(&mut *tx.tx)
        .await?,
        None => sqlx::query(
            "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = $1, locked_until = NULL WHERE status = 'dead'",
        )
        .bind(now)
        .execute(&mut *tx.tx)
        .await?,
    };
    tx.commit().await?;
    Ok(done.rows_affected())
}
