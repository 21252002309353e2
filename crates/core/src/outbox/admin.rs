//! What an operator sees and revives: undelivered rows and the `retry` of dead ones.

use serde::Serialize;
use sqlx::Row;

use crate::store::{now_millis, Store};

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
            "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = $1, locked_until = NULL, dead_at = NULL WHERE id = $2 AND status = 'dead'",
        )
        .bind(now)
        .bind(id)
        .execute(&mut *tx.tx)
        .await?,
        None => sqlx::query(
            "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = $1, locked_until = NULL, dead_at = NULL WHERE status = 'dead'",
        )
        .bind(now)
        .execute(&mut *tx.tx)
        .await?,
    };
    tx.commit().await?;
    Ok(done.rows_affected())
}
