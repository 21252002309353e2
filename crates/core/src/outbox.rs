//! The outbox: every message a sign-up promises is a row written in the sign-up's own
//! transaction, and a worker delivers the rows afterwards, with retries. A crash between
//! commit and delivery loses nothing: the row waits for the next worker.

use std::{path::PathBuf, sync::Arc, time::Duration};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Row};
use tokio::sync::{watch, Notify};
use uuid::Uuid;

use crate::{
    accounts::AccountId,
    config::{MailSettings, MailTransport},
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
#[derive(Debug, Clone)]
pub enum Mailer {
    /// Each mail, links included, becomes a log line (development).
    Log { from: String },
    /// Each mail becomes `<dir>/<outbox id>.eml` (tests, and a local inbox).
    File { dir: PathBuf, from: String },
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
                    format!("could not create the mail folder {}", settings.dir.display())
                })?;
                Ok(Self::File {
                    dir: settings.dir.clone(),
                    from: settings.from.clone(),
                })
            }
            MailTransport::Smtp => anyhow::bail!(
                "mail.transport = \"smtp\" is not available in this version; use \"log\" or \"file\""
            ),
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
    metrics: Metrics,
    max_attempts: u32,
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
            metrics,
            max_attempts: settings.max_attempts.max(1),
            poll_interval: Duration::from_millis(settings.poll_interval_ms.max(10)),
            lease: Duration::from_secs(settings.lease_secs.max(1)),
            wake,
        }
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
                _ = shutdown.changed() => {}
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
        match row.kind.as_str() {
            "mail" => match serde_json::from_str::<OutgoingMail>(&row.payload) {
                Ok(mail) => self.mailer.send(&row.id, &mail).await,
                Err(e) => Err(DeliveryError::Permanent(format!("unreadable payload: {e}"))),
            },
            other => Err(DeliveryError::Permanent(format!("unknown kind {other:?}"))),
        }
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
        .bind(now_millis() + backoff_millis(row.attempts))
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

/// Exponential backoff with jitter: about 2^attempts seconds, capped at an hour.
fn backoff_millis(attempts: i64) -> i64 {
    let exp = u32::try_from(attempts.clamp(0, 12)).unwrap_or(12);
    let base = 1000i64.saturating_mul(1 << exp).min(3_600_000);
    let jitter = rand::random::<u32>() % 1000;
    base + i64::from(jitter)
}
