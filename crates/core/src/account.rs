//! What an account is: its identity, its realm, its status and its stored fields. The
//! services that change accounts live in [`crate::accounts`]; the outbox and the tokens only
//! need these types, so they import this module and never the service.

use std::fmt;

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// An account's identity: a UUID v7 (time-ordered, so inserts stay at the index's end).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AccountId(pub Uuid);

impl AccountId {
    /// A new identity, minted before the account's transaction so a flavour can put it in
    /// what it renders (a mail, a link) before the core writes anything.
    pub fn generate() -> Self {
        Self(Uuid::now_v7())
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for AccountId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(Self)
    }
}

/// A namespace of accounts: an address or user name may hold one account per realm.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Realm(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a realm is 1 to 64 characters of a-z, 0-9, '-', '_' and '.' (got {0:?})")]
pub struct InvalidRealm(String);

impl Realm {
    pub fn parse(raw: &str) -> Result<Self, InvalidRealm> {
        let valid = (1..=64).contains(&raw.len())
            && raw
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c));
        if valid {
            Ok(Self(raw.to_string()))
        } else {
            Err(InvalidRealm(raw.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Every state an account of the five contracts can be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountStatus {
    /// May sign in.
    Active,
    /// Signed up by address; the verification link has not been opened (Infera).
    PendingVerification,
    /// Waiting for its activation link (Cloudreve's `inactive`).
    Inactive,
    /// Shut out by an operator (Cloudreve's `banned`).
    Banned,
    /// Signed up, the confirmation token not yet presented (Zato's `before_confirmation`).
    PendingConfirmation,
}

/// A stored status this build does not know: a newer schema, or a corrupted row.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown account status {0:?}")]
pub struct UnknownStatus(pub String);

impl AccountStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::PendingVerification => "pending_verification",
            Self::Inactive => "inactive",
            Self::Banned => "banned",
            Self::PendingConfirmation => "pending_confirmation",
        }
    }

    /// The status a stored value names; an unknown one is an error, never `Active`.
    pub fn parse(raw: &str) -> Result<Self, UnknownStatus> {
        Ok(match raw {
            "active" => Self::Active,
            "pending_verification" => Self::PendingVerification,
            "inactive" => Self::Inactive,
            "banned" => Self::Banned,
            "pending_confirmation" => Self::PendingConfirmation,
            other => return Err(UnknownStatus(other.to_string())),
        })
    }
}

/// An account as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    pub id: AccountId,
    pub realm: String,
    pub email: String,
    pub username: Option<String>,
    /// Flavour-specific fields (names, nickname, ...), as a JSON object.
    pub profile: serde_json::Value,
    pub status: AccountStatus,
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_round_trips_and_an_unknown_one_is_an_error() {
        for status in [
            AccountStatus::Active,
            AccountStatus::PendingVerification,
            AccountStatus::Inactive,
            AccountStatus::Banned,
            AccountStatus::PendingConfirmation,
        ] {
            assert_eq!(AccountStatus::parse(status.as_str()), Ok(status));
        }
        assert_eq!(
            AccountStatus::parse("suspended"),
            Err(UnknownStatus("suspended".into()))
        );
        assert!(AccountStatus::parse("").is_err());
    }

    #[test]
    fn realms_are_short_lowercase_names() {
        assert!(Realm::parse("timbu").is_ok());
        assert!(Realm::parse("a.b-c_1").is_ok());
        assert!(Realm::parse("").is_err());
        assert!(Realm::parse("Timbu").is_err());
        assert!(Realm::parse(&"x".repeat(65)).is_err());
    }
}
