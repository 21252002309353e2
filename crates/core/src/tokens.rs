//! One-time tokens: 192 random bits, URL-safe, stored only as their SHA-256, with an expiry,
//! consumed atomically (of two concurrent uses exactly one wins).

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::AnyConnection;
use zeroize::Zeroizing;

use crate::{
    account::AccountId,
    store::{now_millis, Arg, Insert},
};

/// What a token may be used for; a token of one purpose never serves another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    /// Proves the owner reads the mailbox (verification / activation links).
    ConfirmEmail,
    /// Confirms a sign-up by a token handed out in the sign-up's answer (Zato SSO).
    ConfirmSignUp,
}

impl TokenPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ConfirmEmail => "confirm_email",
            Self::ConfirmSignUp => "confirm_sign_up",
        }
    }
}

/// A freshly minted token: the only place its clear text exists is in the mail it goes into.
pub struct OneTimeToken(Zeroizing<String>);

impl OneTimeToken {
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; 24]);
        rand::rngs::OsRng.fill_bytes(bytes.as_mut());
        Self(Zeroizing::new(URL_SAFE_NO_PAD.encode(bytes.as_ref())))
    }

    /// The URL-safe clear text (32 characters).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn digest(&self) -> String {
        digest(&self.0)
    }
}

impl std::fmt::Debug for OneTimeToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OneTimeToken(<redacted>)")
    }
}

/// Hex SHA-256 of a token's clear text: what the database keeps.
pub fn digest(raw: &str) -> String {
    hex::encode(Sha256::digest(raw.as_bytes()))
}

/// Stores a token, born already used when `spent` (same statement either way).
pub(crate) async fn insert_with_state(
    conn: &mut AnyConnection,
    token: &OneTimeToken,
    account: AccountId,
    purpose: TokenPurpose,
    ttl: std::time::Duration,
    spent: bool,
) -> Result<(), sqlx::Error> {
    insert_row(token, account, purpose, ttl, spent)
        .execute(conn)
        .await
}

/// The row [`insert_with_state`] writes, for a caller that writes several together.
pub(crate) fn insert_row(
    token: &OneTimeToken,
    account: AccountId,
    purpose: TokenPurpose,
    ttl: std::time::Duration,
    spent: bool,
) -> Insert {
    let now = now_millis();
    let expires_at = now.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX));
    Insert::new(
        "INSERT INTO one_time_tokens (token_hash, account_id, purpose, expires_at, consumed_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        vec![
            Arg::Text(token.digest()),
            Arg::Text(account.to_string()),
            Arg::Text(purpose.as_str().to_string()),
            Arg::Int(expires_at),
            Arg::MaybeInt(spent.then_some(now)),
            Arg::Int(now),
        ],
    )
}

/// Marks a token used and returns its account, or `None` when it is unknown, used, expired
/// or of another purpose. One statement, so concurrent uses cannot both win.
pub(crate) async fn consume(
    conn: &mut AnyConnection,
    raw: &str,
    purpose: TokenPurpose,
) -> Result<Option<AccountId>, sqlx::Error> {
    let now = now_millis();
    let account: Option<String> = sqlx::query_scalar(
        "UPDATE one_time_tokens SET consumed_at = $1 \
         WHERE token_hash = $2 AND purpose = $3 AND consumed_at IS NULL AND expires_at > $1 \
         RETURNING account_id",
    )
    .bind(now)
    .bind(digest(raw))
    .bind(purpose.as_str())
    .fetch_optional(conn)
    .await?;
    Ok(account.and_then(|id| id.parse().ok()))
}

/// Whether a token of this purpose exists and was consumed (expired since or not): what a
/// failed [`consume`] checks to tell "already used" from "unknown or expired".
pub(crate) async fn was_used(
    conn: &mut AnyConnection,
    raw: &str,
    purpose: TokenPurpose,
) -> Result<bool, sqlx::Error> {
    let used: Option<i64> = sqlx::query_scalar(
        "SELECT COUNT(*) FROM one_time_tokens \
         WHERE token_hash = $1 AND purpose = $2 AND consumed_at IS NOT NULL",
    )
    .bind(digest(raw))
    .bind(purpose.as_str())
    .fetch_optional(conn)
    .await?;
    Ok(used.unwrap_or(0) > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_192_bit_url_safe_and_distinct() {
        let a = OneTimeToken::generate();
        let b = OneTimeToken::generate();
        assert_eq!(a.as_str().len(), 32);
        assert!(a
            .as_str()
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_ne!(a.as_str(), b.as_str());
        assert_eq!(a.digest(), digest(a.as_str()));
        assert_eq!(a.digest().len(), 64);
        assert_eq!(format!("{a:?}"), "OneTimeToken(<redacted>)");
    }
}
