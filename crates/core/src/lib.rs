//! The account core of signup-gateway, shared by every API flavour.
//!
//! Values are parsed once at the edge into types that carry their rules ([`EmailAddress`],
//! [`Username`], [`Password`]); [`accounts::Accounts`] does each use case in one transaction
//! over a [`store::Store`] (SQLite or PostgreSQL); passwords are hashed with argon2id on a
//! bounded [`hashing::HashingPool`]; mail goes through a transactional [`outbox`].
//! Nothing here knows any flavour's wire contract.
//!
//! ```
//! use signup_core::{EmailAddress, EmailError, Password, PasswordPolicy, Username};
//!
//! let email = EmailAddress::parse("  Jane.Doe@Example.COM ").unwrap();
//! assert_eq!(email.as_str(), "Jane.Doe@example.com");
//! assert_eq!(email.key(), "jane.doe@example.com");
//! assert_eq!(EmailAddress::parse("jane@localhost"), Err(EmailError::NoPeriodInDomain));
//!
//! let name = Username::parse("Alice", 50).unwrap();
//! assert_eq!(name.key(), "alice");
//!
//! let password = Password::parse("correct horse".into(), PasswordPolicy::default()).unwrap();
//! assert_eq!(format!("{password:?}"), "Password(<redacted>)");
//! ```

pub mod account;
pub mod accounts;
pub mod captcha;
pub mod config;
pub mod email;
pub mod hashing;
pub mod jwt;
pub mod metrics;
pub mod outbox;
pub mod password;
pub mod rate_limit;
pub mod secrets;
pub mod services;
pub mod store;
pub mod tokens;
pub mod username;

pub use account::{Account, AccountId, AccountStatus, Realm};
pub use accounts::{
    AccountView, Accounts, Activation, AuthError, Confirmation, EmailRegistration, Login,
    NewAccount, NewAccountEmail, NumberedMail, RegistrationOutcome, SignUpError, SignedUp,
    TokenConfirmError,
};
pub use email::{EmailAddress, EmailError};
pub use metrics::Metrics;
pub use password::{Password, PasswordError, PasswordPolicy};
pub use services::{Background, Services};
pub use username::{Username, UsernameError};

/// An error and every source under it, `: `-separated: for the log, never for a client.
pub fn cause_chain(error: &dyn std::error::Error) -> String {
    let mut chain = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    chain
}
