//! The worker: claims due rows under a lease, delivers them, and schedules retries with
//! backoff.

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use sqlx::Row;
use tokio::sync::{watch, Notify};

use super::{
    mail::Mailer,
    webhook::{WebhookPayload, WebhookSender},
    DeliveryError, OutgoingMail,
};
use crate::{
    config::MailSettings,
    metrics::Metrics,
    store::{now_millis, Backend, Store},
};

/// Rows claimed per pass.
const BATCH: i64 = 64;
const BATCH_ROWS: usize = BATCH as usize;
/// How often the running worker refreshes the oldest-pending gauge (one query).
const GAUGE_INTERVAL: Duration = Duration::from_secs(1);
/// After a wake-up, wait this long (at most) so that one pass takes the rows of many commits.
const COALESCE: Duration = Duration::from_millis(100);

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
    dead_retention: Duration,
    wake: Arc<Notify>,
}

/// How often a running worker wipes the bodies of dead rows past their retention.
const DEAD_SWEEP: Duration = Duration::from_secs(60);

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
            // Leases and marks may be lost in a database crash: one more attempt, no harm.
            store: store.relaxed(),
            mailer,
            webhooks: None,
            metrics,
            max_attempts: settings.max_attempts.max(1),
            retry_base: Duration::from_millis(settings.retry_base_ms.max(1)),
            poll_interval: Duration::from_millis(settings.poll_interval_ms.max(10)),
            lease: Duration::from_secs(settings.lease_secs.max(1)),
            dead_retention: Duration::from_secs(
                settings.dead_retention_days.saturating_mul(86_400),
            ),
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
        let mut last_sweep: Option<tokio::time::Instant> = None;
        let mut last_gauge: Option<tokio::time::Instant> = None;
        loop {
            if *shutdown.borrow() {
                break;
            }
            if last_sweep.is_none_or(|at| at.elapsed() >= DEAD_SWEEP) {
                last_sweep = Some(tokio::time::Instant::now());
                if let Err(error) = self.wipe_expired_dead().await {
                    tracing::warn!(error = %format!("{error:#}"), "Wiping dead mail bodies failed");
                }
            }
            if last_gauge.is_none_or(|at| at.elapsed() >= GAUGE_INTERVAL) {
                last_gauge = Some(tokio::time::Instant::now());
                if let Err(error) = self.record_oldest_pending().await {
                    tracing::warn!(error = %format!("{error:#}"), "Reading the outbox's age failed");
                }
            }
            let handled = match self.deliver_batch().await {
                Ok(n) => n,
                Err(error) => {
                    tracing::warn!(error = %format!("{error:#}"), "Outbox pass failed");
                    0
                }
            };
            // A full batch may have left due rows behind; a partial one took them all, and
            // the next commit wakes the worker.
            if handled >= BATCH_ROWS {
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

    /// Claims and delivers one batch of due rows; returns how many it handled. Also sets the
    /// gauge of the oldest undelivered row's age, which the running worker refreshes at most
    /// once a second.
    pub async fn deliver_due(&self) -> anyhow::Result<usize> {
        self.record_oldest_pending().await?;
        self.deliver_batch().await
    }

    async fn deliver_batch(&self) -> anyhow::Result<usize> {
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
        let rows = self
            .store
            .write_statement(sqlx::query(&sql).bind(lease_end).bind(now).bind(BATCH))
            .await
            .context("could not claim outbox rows")?;
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
                if OutgoingMail::is_wiped(&row.payload) {
                    return Err(DeliveryError::Permanent(
                        "the body was wiped after its retention: nothing left to send".into(),
                    ));
                }
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

    /// Marks a batch delivered in one statement, wiping each mail's body on the way: a
    /// delivered verification link must not stay readable in the database.
    async fn record_delivered(&self, rows: &[Claimed]) -> anyhow::Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut query_args: Vec<String> = Vec::new();
        let mut cases = String::new();
        let mut ids = Vec::with_capacity(rows.len());
        for row in rows {
            query_args.push(row.id.clone());
            let id_at = query_args.len() + 1;
            ids.push(format!("${id_at}"));
            if let Some(wiped) = wiped_payload(&row.kind, &row.payload) {
                query_args.push(wiped);
                cases.push_str(&format!(" WHEN ${id_at} THEN ${}", query_args.len() + 1));
            }
        }
        let payload = if cases.is_empty() {
            "payload".to_string()
        } else {
            format!("CASE id{cases} ELSE payload END")
        };
        let sql = format!(
            "UPDATE outbox SET status = 'delivered', delivered_at = $1, locked_until = NULL, last_error = NULL, \
             payload = {payload} WHERE id IN ({})",
            ids.join(", ")
        );
        let mut query = sqlx::query(&sql).bind(now_millis());
        for arg in query_args {
            query = query.bind(arg);
        }
        self.store.write_statement(query).await?;
        for row in rows {
            self.metrics
                .outbox_messages
                .with_label_values(&[&row.kind, "delivered"])
                .inc();
        }
        Ok(())
    }

    /// Wipes the bodies of mails dead for longer than `mail.dead_retention_days`; returns
    /// how many it wiped.
    pub async fn wipe_expired_dead(&self) -> anyhow::Result<u64> {
        let cutoff =
            now_millis() - i64::try_from(self.dead_retention.as_millis()).unwrap_or(i64::MAX);
        let rows = sqlx::query(
            "SELECT id, payload FROM outbox WHERE kind = 'mail' AND status = 'dead' AND dead_at <= $1",
        )
        .bind(cutoff)
        .fetch_all(self.store.pool())
        .await?;
        let mut wiped = 0;
        let mut tx = self.store.begin_write().await?;
        for row in rows {
            let id: String = row.try_get("id")?;
            let payload: String = row.try_get("payload")?;
            // A wiped row leaves the sweep (`dead_at` cleared), so it is read once, not every
            // minute for ever.
            let without_body = wiped_payload("mail", &payload);
            let counts = without_body.is_some();
            let changed = sqlx::query(
                "UPDATE outbox SET payload = COALESCE($1, payload), dead_at = NULL WHERE id = $2 AND status = 'dead'",
            )
            .bind(without_body)
            .bind(&id)
            .execute(&mut *tx.tx)
            .await?
            .rows_affected();
            if counts {
                wiped += changed;
            }
        }
        tx.commit().await?;
        Ok(wiped)
    }

    /// Schedules a retry with backoff, or marks the row dead.
    async fn record_failure(&self, row: &Claimed, error: &DeliveryError) -> anyhow::Result<()> {
        let exhausted = row.attempts >= i64::from(self.max_attempts);
        let dead = exhausted || matches!(error, DeliveryError::Permanent(_));
        let result = if dead { "dead" } else { "retried" };
        tracing::warn!(outbox_id = %row.id, attempts = row.attempts, %error, result, "Outbox delivery failed");
        self.store
            .write_statement(
                sqlx::query(
                    "UPDATE outbox SET status = $1, next_attempt_at = $2, locked_until = NULL, last_error = $3, dead_at = $4 WHERE id = $5",
                )
                .bind(if dead { "dead" } else { "pending" })
                .bind(now_millis() + backoff_millis(self.retry_base, row.attempts))
                .bind(error.to_string())
                .bind(dead.then(now_millis))
                .bind(&row.id),
            )
            .await?;
        self.metrics
            .outbox_messages
            .with_label_values(&[&row.kind, result])
            .inc();
        Ok(())
    }
}

/// A mail row's payload without its body, or `None` when there is nothing to wipe (a
/// webhook, whose body holds no secret, or a mail already wiped).
fn wiped_payload(kind: &str, payload: &str) -> Option<String> {
    if kind != "mail" {
        return None;
    }
    if OutgoingMail::is_wiped(payload) {
        return None;
    }
    let mail = serde_json::from_str::<OutgoingMail>(payload).ok()?;
    Some(mail.wiped_payload().to_string())
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
