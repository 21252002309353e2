//! Captcha tickets: an answer kept under a random ticket in the database, so any instance
//! checks a ticket another issued. A ticket is redeemed once, right or wrong, and expires.

use std::time::Duration;

use rand::{distributions::Alphanumeric, Rng};

use crate::{
    store::{now_millis, Store},
    tokens::digest,
};

/// Stores `answer` (compared case-insensitively later) and returns the ticket that names it:
/// 20 random letters and digits (about 119 bits). Expired tickets are swept on the way.
pub async fn issue(store: &Store, answer: &str, ttl: Duration) -> Result<String, sqlx::Error> {
    let ticket: String = rand::rngs::OsRng
        .sample_iter(&Alphanumeric)
        .take(20)
        .map(char::from)
        .collect();
    let now = now_millis();
    let ttl = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
    let mut tx = store.begin_write().await?;
    sqlx::query("DELETE FROM captcha_tickets WHERE expires_at <= $1")
        .bind(now)
        .execute(&mut *tx.tx)
        .await?;
    sqlx::query(
        "INSERT INTO captcha_tickets (ticket_hash, answer, expires_at) VALUES ($1, $2, $3)",
    )
    .bind(digest(&ticket))
    .bind(answer.to_lowercase())
    .bind(now.saturating_add(ttl))
    .execute(&mut *tx.tx)
    .await?;
    tx.commit().await?;
    Ok(ticket)
}

/// Spends the ticket (whatever the answer) and says whether it was live and `answer` matched
/// it, ignoring case. An unknown, spent or expired ticket is `false`.
pub async fn redeem(store: &Store, ticket: &str, answer: &str) -> Result<bool, sqlx::Error> {
    let mut tx = store.begin_write().await?;
    let row: Option<(String, i64)> = sqlx::query_as(
        "DELETE FROM captcha_tickets WHERE ticket_hash = $1 RETURNING answer, expires_at",
    )
    .bind(digest(ticket))
    .fetch_optional(&mut *tx.tx)
    .await?;
    tx.commit().await?;
    Ok(row.is_some_and(|(expected, expires_at)| {
        expires_at > now_millis() && expected == answer.to_lowercase()
    }))
}
