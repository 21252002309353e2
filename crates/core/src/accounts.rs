//! The accounts service: each call does one whole use case in one transaction.
//!
//! What a use case sends (a mail, a token) is data the caller prepared before the call: ids
//! and tokens are minted and mails rendered first, so no caller code runs inside a
//! transaction.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use sqlx::{any::AnyRow, AnyConnection, Row};

pub use crate::account::{Account, AccountId, AccountStatus, InvalidRealm, Realm};
use crate::{
    email::EmailAddress,
    hashing::{HashingError, HashingPool, RETRY_AFTER_SECS},
    outbox::{self, AccountEvent, OutgoingMail},
    password::Password,
    store::{
        insert_in, is_unique_violation, now_millis, store_errors_as_overload, Arg, Insert, Store,
    },
    tokens::{self, OneTimeToken, TokenPurpose},
    username::Username,
};

/// A one-time token to store with a new account, and what it will prove.
#[derive(Debug)]
pub struct Confirmation {
    pub token: OneTimeToken,
    pub purpose: TokenPurpose,
    pub ttl: Duration,
}

impl Confirmation {
    /// Mints the token now, so the caller can put it in the mail it renders.
    pub fn new(purpose: TokenPurpose, ttl: Duration) -> Self {
        Self {
            token: OneTimeToken::generate(),
            purpose,
            ttl,
        }
    }
}

/// Everything a sign-up needs, already parsed and rendered. The address is an
/// [`EmailAddress`], or an `Option<EmailAddress>` for a contract where it is optional.
#[derive(Debug)]
pub struct NewAccount<E = EmailAddress> {
    /// Minted by the caller ([`AccountId::generate`]) so its mail can name it.
    pub id: AccountId,
    pub realm: Realm,
    pub email: E,
    pub username: Option<Username>,
    pub password: Option<Password>,
    pub profile: serde_json::Value,
    pub status: AccountStatus,
    /// A one-time token stored with the account (its digest only).
    pub confirmation: Option<Confirmation>,
    /// Queued in the account's transaction.
    pub mail: Option<OutgoingMail>,
}

/// A new account's address: given ([`EmailAddress`]) or optional (`Option<EmailAddress>`).
/// An account without one is stored with an empty `email` and a uniqueness key no address
/// can have (it holds no `@`), so it never clashes with another account.
pub trait NewAccountEmail: sealed::Sealed {
    fn address(&self) -> Option<&EmailAddress>;
}

impl NewAccountEmail for EmailAddress {
    fn address(&self) -> Option<&EmailAddress> {
        Some(self)
    }
}

impl NewAccountEmail for Option<EmailAddress> {
    fn address(&self) -> Option<&EmailAddress> {
        self.as_ref()
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::EmailAddress {}
    impl Sealed for Option<super::EmailAddress> {}
}

/// A created account, and the clear text of its one-time token for the caller's answer.
#[derive(Debug)]
pub struct SignedUp {
    pub account: Account,
    pub confirmation: Option<OneTimeToken>,
    /// Its number in the realm (from 1, never reused), when signed up with
    /// [`Accounts::sign_up_numbered`].
    pub seq: Option<i64>,
}

/// Renders the mail of an account from its number in the realm. It runs inside the sign-up
/// transaction (the number exists only there), so it must be pure: no I/O, no waiting.
pub type NumberedMail<'a> =
    Box<dyn FnOnce(i64) -> anyhow::Result<Option<OutgoingMail>> + Send + 'a>;

/// What [`Accounts::activate_numbered`] found.
#[derive(Debug)]
pub enum Activation {
    /// The account was inactive and is now active.
    Activated(Account),
    /// The account exists but was not inactive (already active, banned, ...).
    NotInactive(Account),
    NotFound,
}

/// What a sign-up can end in besides success. Flavours map each to their own wire shape.
#[derive(Debug, thiserror::Error)]
pub enum SignUpError {
    #[error("the user name is taken in this realm")]
    UsernameTaken,
    #[error("the e-mail address is taken in this realm")]
    EmailTaken,
    /// A rule of the realm's sign-up policy refused the account; the text names the rule
    /// (for the log and for flavours whose contract shows it).
    #[error("the sign-up policy refuses this account: {0}")]
    PolicyViolation(String),
    #[error("the service is overloaded")]
    Overloaded { retry_after_secs: u64 },
    #[error("the service is unavailable")]
    Unavailable(#[source] anyhow::Error),
}

#[derive(Debug, thiserror::Error)]
pub enum ConfirmError {
    #[error("the token is unknown, used or expired")]
    InvalidToken,
    #[error("the service is unavailable")]
    Unavailable(#[source] anyhow::Error),
}

/// [`Accounts::confirm_with`]'s failures, for contracts that tell a used token from an
/// unknown or expired one.
#[derive(Debug, thiserror::Error)]
pub enum TokenConfirmError {
    #[error("the token is unknown or expired")]
    UnknownOrExpired,
    /// Already consumed (whether or not it has expired since).
    #[error("the token was already used")]
    AlreadyUsed,
    #[error("the service is unavailable")]
    Unavailable(#[source] anyhow::Error),
}

impl From<sqlx::Error> for TokenConfirmError {
    fn from(e: sqlx::Error) -> Self {
        Self::Unavailable(e.into())
    }
}

/// How a webhook body shows an account: the fields a flavour's contract makes public.
pub type AccountView = fn(&Account) -> serde_json::Value;

/// Extra `account.created` endpoints of one realm, with their view of the account.
#[derive(Debug)]
struct CreatedWebhooks {
    realm: String,
    urls: Vec<String>,
    view: AccountView,
}

store_errors_as_overload!(SignUpError);

/// An enumeration-safe sign-up by address alone (no password). Both mails are rendered
/// before the call; the transaction decides which one goes.
#[derive(Debug)]
pub struct EmailRegistration {
    pub realm: Realm,
    pub email: EmailAddress,
    /// The token `verify_mail` links to; stored (digest only) in every case, born spent
    /// when no link is sent.
    pub token: OneTimeToken,
    /// Lifetime of the verification link.
    pub verification_ttl: Duration,
    /// At most one mail per address per interval.
    pub resend_interval: Duration,
    /// For a new or still unverified address: the link with `token`.
    pub verify_mail: OutgoingMail,
    /// For an address already verified: a notice that an account exists.
    pub notice_mail: OutgoingMail,
}

/// What an enumeration-safe sign-up did. Never shown to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationOutcome {
    Created,
    VerificationResent,
    AlreadyRegisteredNotified,
    /// Inside the resend interval: nothing sent.
    Suppressed,
}

impl RegistrationOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::VerificationResent => "verification_resent",
            Self::AlreadyRegisteredNotified => "already_registered_notified",
            Self::Suppressed => "suppressed",
        }
    }
}

impl From<sqlx::Error> for ConfirmError {
    fn from(e: sqlx::Error) -> Self {
        Self::Unavailable(e.into())
    }
}

/// Which unique name a sign-in names.
#[derive(Debug, Clone, Copy)]
pub enum Login<'a> {
    Email(&'a EmailAddress),
    Username(&'a Username),
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Unknown account or wrong password: deliberately one case.
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("the service is overloaded")]
    Overloaded { retry_after_secs: u64 },
    #[error("the service is unavailable")]
    Unavailable(#[source] anyhow::Error),
}

store_errors_as_overload!(AuthError);

/// The accounts service. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Accounts {
    store: Store,
    hasher: HashingPool,
    /// Realm -> webhook URLs that hear of its accounts.
    webhooks: std::sync::Arc<std::collections::BTreeMap<String, Vec<String>>>,
    /// Whether `webhooks.secret` is configured (the outbox worker can sign).
    webhooks_signed: bool,
    /// A flavour's own endpoints for the accounts created through this handle.
    created_webhooks: Option<std::sync::Arc<CreatedWebhooks>>,
}

const ACCOUNT_COLUMNS: &str = "id, realm, email, username, profile, status, created_at";

impl Accounts {
    pub fn new(store: Store, hasher: HashingPool) -> Self {
        Self {
            store,
            hasher,
            webhooks: Default::default(),
            webhooks_signed: false,
            created_webhooks: None,
        }
    }

    /// Announces account events of each realm to these URLs (through the outbox).
    pub fn with_webhooks(mut self, endpoints: &crate::config::WebhookSettings) -> Self {
        self.webhooks = std::sync::Arc::new(
            endpoints
                .endpoints
                .iter()
                .map(|(realm, urls)| (realm.clone(), urls.0.clone()))
                .collect(),
        );
        self.webhooks_signed = endpoints.secret.is_some();
        self
    }

    /// A handle whose sign-ups in `realm` also announce `account.created` to `urls` (through
    /// the outbox, signed, retried), the account shown by `view`. For a flavour's own
    /// callback list; fails when no `webhooks.secret` is configured to sign them.
    pub fn with_realm_webhooks(
        &self,
        realm: &Realm,
        urls: Vec<String>,
        view: AccountView,
    ) -> anyhow::Result<Self> {
        let mut accounts = self.clone();
        if urls.is_empty() {
            return Ok(accounts);
        }
        if !self.webhooks_signed {
            anyhow::bail!(
                "webhook URLs are configured but webhooks.secret is not: set SIGNUP__WEBHOOKS__SECRET"
            );
        }
        accounts.created_webhooks = Some(std::sync::Arc::new(CreatedWebhooks {
            realm: realm.as_str().to_string(),
            urls,
            view,
        }));
        Ok(accounts)
    }

    fn webhook_urls(&self, realm: &str) -> &[String] {
        self.webhooks.get(realm).map_or(&[], Vec::as_slice)
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn hasher(&self) -> &HashingPool {
        &self.hasher
    }

    /// Creates an account and queues its mail in one transaction.
    ///
    /// Taken names are found before any hashing (a duplicate costs no argon2 time); the
    /// unique indexes still decide races, so concurrent sign-ups of one name make one account.
    #[tracing::instrument(name = "Signing up a new account", skip_all, fields(realm = %new.realm.as_str()))]
    pub async fn sign_up<E: NewAccountEmail>(
        &self,
        new: NewAccount<E>,
    ) -> Result<SignedUp, SignUpError> {
        self.create(new, None).await
    }

    /// [`Self::sign_up`] that also numbers the account in its realm (1, 2, ...; never reused,
    /// allocated race-free in the transaction, so exactly one account is a realm's first) and
    /// queues the mail `mail` renders from that number, in the same transaction.
    #[tracing::instrument(name = "Signing up a new numbered account", skip_all, fields(realm = %new.realm.as_str()))]
    pub async fn sign_up_numbered(
        &self,
        new: NewAccount,
        mail: NumberedMail<'_>,
    ) -> Result<SignedUp, SignUpError> {
        self.create(new, Some(mail)).await
    }

    async fn create<E: NewAccountEmail>(
        &self,
        new: NewAccount<E>,
        numbered: Option<NumberedMail<'_>>,
    ) -> Result<SignedUp, SignUpError> {
        let overloaded = |e: HashingError| match e {
            HashingError::Overloaded => SignUpError::Overloaded {
                retry_after_secs: RETRY_AFTER_SECS,
            },
            HashingError::Failed(msg) => SignUpError::Unavailable(anyhow::anyhow!(msg)),
        };
        // The place in the hashing pool comes first: when the pool is full, refusing costs
        // nothing, not even the duplicate query.
        let reservation = match &new.password {
            Some(_) => Some(self.hasher.reserve().map_err(overloaded)?),
            None => None,
        };
        let username_key = new.username.as_ref().map(|u| u.key().to_string());
        let email = new.email.address();
        let email_key = email.map_or_else(|| format!("none:{}", new.id), |e| e.key().to_string());
        if let Some(taken) = self
            .find_taken(&new.realm, &email_key, username_key.as_deref())
            .await?
        {
            return Err(taken);
        }
        let password_hash = match (new.password, reservation) {
            (Some(password), Some(reservation)) => Some(
                self.hasher
                    .hash_reserved(reservation, password)
                    .await
                    .map_err(overloaded)?,
            ),
            _ => None,
        };
        let now = now_millis();
        let account = Account {
            id: new.id,
            realm: new.realm.as_str().to_string(),
            email: email.map_or_else(String::new, |e| e.as_str().to_string()),
            username: new.username.as_ref().map(|u| u.as_str().to_string()),
            profile: new.profile,
            status: new.status,
            created_at: from_millis(now),
        };
        let account_row = |seq: Option<i64>| {
            Insert::new(
                "INSERT INTO accounts (id, realm, email, email_key, username, username_key, password_hash, profile, status, created_at, updated_at, seq) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11)",
                vec![
                    Arg::Text(account.id.to_string()),
                    Arg::Text(account.realm.clone()),
                    Arg::Text(account.email.clone()),
                    Arg::Text(email_key.clone()),
                    Arg::MaybeText(account.username.clone()),
                    Arg::MaybeText(username_key.clone()),
                    Arg::MaybeText(password_hash.as_ref().map(|h| h.as_str().to_string())),
                    Arg::Text(account.profile.to_string()),
                    Arg::Text(account.status.as_str().to_string()),
                    Arg::Int(now),
                    Arg::MaybeInt(seq),
                ],
            )
        };
        // What the account brings along: its token, its webhooks, its mail.
        let mut rows = Vec::new();
        if let Some(confirmation) = &new.confirmation {
            rows.push(tokens::insert_row(
                &confirmation.token,
                account.id,
                confirmation.purpose,
                confirmation.ttl,
                false,
            ));
        }
        let urls = self.webhook_urls(&account.realm);
        rows.extend(outbox::webhook_rows(
            urls,
            AccountEvent::Created,
            &account,
            true,
            None,
        )?);
        let mut announced = !urls.is_empty();
        if let Some(extra) = self
            .created_webhooks
            .as_deref()
            .filter(|extra| extra.realm == account.realm)
        {
            rows.extend(outbox::webhook_rows(
                &extra.urls,
                AccountEvent::Created,
                &account,
                true,
                Some(extra.view),
            )?);
            announced = true;
        }
        let mut mailed = false;
        if let Some(message) = &new.mail {
            rows.push(outbox::mail_row(Some(account.id), message, true)?.1);
            mailed = true;
        }
        let written = match numbered {
            // One atomic write, in one round trip on PostgreSQL.
            None => {
                rows.insert(0, account_row(None));
                self.store.insert_all(rows).await.map(|()| None)
            }
            // The number is allocated in the transaction and the mail rendered from it.
            Some(render) => {
                let mut tx = self.store.begin_write().await?;
                let seq = next_seq(&mut tx.tx, &account.realm).await?;
                rows.insert(0, account_row(Some(seq)));
                if let Some(message) = render(seq).map_err(SignUpError::Unavailable)? {
                    rows.push(outbox::mail_row(Some(account.id), &message, true)?.1);
                    mailed = true;
                }
                let written = insert_in(&mut tx.tx, rows).await;
                if written.is_ok() {
                    tx.commit().await?;
                }
                written.map(|()| Some(seq))
            }
        };
        let seq = match written {
            Ok(seq) => seq,
            // Lost a race: say which name the winner took.
            Err(error) if is_unique_violation(&error) => {
                return Err(self
                    .find_taken(&new.realm, &email_key, username_key.as_deref())
                    .await?
                    .unwrap_or(SignUpError::EmailTaken));
            }
            Err(error) => return Err(error.into()),
        };
        if mailed || announced {
            self.store.outbox_signal().notify_one();
        }
        tracing::info!(account_id = %account.id, "Account created");
        Ok(SignedUp {
            account,
            confirmation: new.confirmation.map(|c| c.token),
            seq,
        })
    }

    /// Signs up an address without revealing whether it was known: the same statements run
    /// in one transaction whatever the case (an insert that may do nothing, a read, a token
    /// row, an outbox row, a stamp), and only their values differ. A token is always minted
    /// (born used when no link is sent), and an outbox row always written (`suppressed` when
    /// no mail may go), so a new, a pending and a verified address cost the same work.
    #[tracing::instrument(name = "Registering an address", skip_all, fields(realm = %registration.realm.as_str()))]
    pub async fn register_email(
        &self,
        registration: EmailRegistration,
    ) -> Result<(Account, RegistrationOutcome), SignUpError> {
        let now = now_millis();
        let new_id = AccountId::generate();
        let realm = registration.realm.as_str();
        let interval = i64::try_from(registration.resend_interval.as_millis()).unwrap_or(i64::MAX);
        let token = &registration.token;

        let mut tx = self.store.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO accounts (id, realm, email, email_key, username, username_key, password_hash, profile, status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, NULL, NULL, NULL, '{}', 'pending_verification', $5, $5) \
             ON CONFLICT (realm, email_key) DO NOTHING",
        )
        .bind(new_id.to_string())
        .bind(realm)
        .bind(registration.email.as_str())
        .bind(registration.email.key())
        .bind(now)
        .execute(&mut *tx.tx)
        .await?
        .rows_affected()
            == 1;
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS}, last_notified_at FROM accounts WHERE realm = $1 AND email_key = $2"
        );
        let row = sqlx::query(&sql)
            .bind(realm)
            .bind(registration.email.key())
            .fetch_one(&mut *tx.tx)
            .await?;
        let account = account_from_row(&row)?;
        let last_notified: Option<i64> = row.try_get("last_notified_at")?;
        let may_mail =
            inserted || last_notified.is_none_or(|at| now.saturating_sub(at) >= interval);
        let outcome = match (inserted, account.status, may_mail) {
            (true, _, _) => RegistrationOutcome::Created,
            (false, _, false) => RegistrationOutcome::Suppressed,
            (false, AccountStatus::PendingVerification, true) => {
                RegistrationOutcome::VerificationResent
            }
            (false, AccountStatus::Active, true) => RegistrationOutcome::AlreadyRegisteredNotified,
            (false, status, true) => {
                return Err(SignUpError::Unavailable(anyhow::anyhow!(
                    "an address-only account is {}, which this use case never writes",
                    status.as_str()
                )))
            }
        };
        let sends_link = matches!(
            outcome,
            RegistrationOutcome::Created | RegistrationOutcome::VerificationResent
        );
        let mail = if outcome == RegistrationOutcome::AlreadyRegisteredNotified {
            &registration.notice_mail
        } else {
            &registration.verify_mail
        };
        tokens::insert_with_state(
            &mut tx.tx,
            token,
            account.id,
            TokenPurpose::ConfirmEmail,
            registration.verification_ttl,
            !sends_link,
        )
        .await?;
        outbox::enqueue_mail_with_status(&mut tx.tx, Some(account.id), mail, may_mail).await?;
        // Webhook rows are written in every case too, delivered only for a new account.
        let created = outcome == RegistrationOutcome::Created;
        let urls = self.webhook_urls(&account.realm);
        outbox::enqueue_webhooks(&mut tx.tx, urls, AccountEvent::Created, &account, created)
            .await?;
        sqlx::query(
            "UPDATE accounts SET last_notified_at = CASE WHEN $1 THEN $2 ELSE last_notified_at END WHERE id = $3",
        )
        .bind(may_mail)
        .bind(now)
        .bind(account.id.to_string())
        .execute(&mut *tx.tx)
        .await?;
        tx.commit().await?;
        if may_mail {
            self.store.outbox_signal().notify_one();
        }
        tracing::info!(account_id = %account.id, outcome = outcome.as_str(), "Address registered");
        Ok((account, outcome))
    }

    /// Consumes a one-time token and activates its account.
    pub async fn confirm(
        &self,
        purpose: TokenPurpose,
        raw_token: &str,
    ) -> Result<Account, ConfirmError> {
        self.confirm_with(purpose, raw_token, serde_json::Map::new())
            .await
            .map_err(|e| match e {
                TokenConfirmError::UnknownOrExpired | TokenConfirmError::AlreadyUsed => {
                    ConfirmError::InvalidToken
                }
                TokenConfirmError::Unavailable(cause) => ConfirmError::Unavailable(cause),
            })
    }

    /// Consumes a one-time token, activates its account and sets the `profile` keys given,
    /// in one transaction; a failure says whether the token was used or unknown/expired.
    #[tracing::instrument(name = "Confirming an account", skip_all)]
    pub async fn confirm_with(
        &self,
        purpose: TokenPurpose,
        raw_token: &str,
        profile: serde_json::Map<String, serde_json::Value>,
    ) -> Result<Account, TokenConfirmError> {
        let mut tx = self.store.begin_write().await?;
        let Some(id) = tokens::consume(&mut tx.tx, raw_token, purpose).await? else {
            return Err(if tokens::was_used(&mut tx.tx, raw_token, purpose).await? {
                TokenConfirmError::AlreadyUsed
            } else {
                TokenConfirmError::UnknownOrExpired
            });
        };
        let mut account = fetch_account(&mut tx.tx, id)
            .await?
            .ok_or(TokenConfirmError::UnknownOrExpired)?;
        account.status = AccountStatus::Active;
        if !profile.is_empty() {
            match &mut account.profile {
                serde_json::Value::Object(fields) => fields.extend(profile),
                other => *other = serde_json::Value::Object(profile),
            }
        }
        sqlx::query(
            "UPDATE accounts SET status = 'active', profile = $1, updated_at = $2 WHERE id = $3",
        )
        .bind(account.profile.to_string())
        .bind(now_millis())
        .bind(id.to_string())
        .execute(&mut *tx.tx)
        .await?;
        let urls = self.webhook_urls(&account.realm);
        outbox::enqueue_webhooks(&mut tx.tx, urls, AccountEvent::Confirmed, &account, true).await?;
        tx.commit().await?;
        if !urls.is_empty() {
            self.store.outbox_signal().notify_one();
        }
        Ok(account)
    }

    /// When the realm's account for `email` is inactive, queues the mail `mail` renders from
    /// its number (an activation link sent again); whatever its status, returns the account
    /// and its number, or `None` when the address has no account.
    #[tracing::instrument(name = "Re-sending an activation mail", skip_all, fields(realm = %realm.as_str()))]
    pub async fn resend_for_inactive(
        &self,
        realm: &Realm,
        email: &EmailAddress,
        mail: NumberedMail<'_>,
    ) -> Result<Option<(Account, Option<i64>)>, SignUpError> {
        let mut tx = self.store.begin_write().await?;
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS}, seq FROM accounts WHERE realm = $1 AND email_key = $2"
        );
        let Some(row) = sqlx::query(&sql)
            .bind(realm.as_str())
            .bind(email.key())
            .fetch_optional(&mut *tx.tx)
            .await?
        else {
            return Ok(None);
        };
        let account = account_from_row(&row)?;
        let seq: Option<i64> = row.try_get("seq")?;
        let Some(number) = seq.filter(|_| account.status == AccountStatus::Inactive) else {
            return Ok(Some((account, seq)));
        };
        if let Some(message) = mail(number).map_err(SignUpError::Unavailable)? {
            outbox::enqueue_mail(&mut tx.tx, Some(account.id), &message).await?;
            tx.commit().await?;
            self.store.outbox_signal().notify_one();
            tracing::info!(account_id = %account.id, "Activation mail queued again");
        }
        Ok(Some((account, seq)))
    }

    /// Activates the realm's account numbered `seq` if it is inactive, in one atomic update
    /// (of concurrent activations exactly one succeeds).
    #[tracing::instrument(name = "Activating a numbered account", skip_all, fields(realm = %realm.as_str()))]
    pub async fn activate_numbered(
        &self,
        realm: &Realm,
        seq: i64,
    ) -> Result<Activation, ConfirmError> {
        let mut tx = self.store.begin_write().await?;
        let activated = sqlx::query(
            "UPDATE accounts SET status = 'active', updated_at = $1 \
             WHERE realm = $2 AND seq = $3 AND status = 'inactive'",
        )
        .bind(now_millis())
        .bind(realm.as_str())
        .bind(seq)
        .execute(&mut *tx.tx)
        .await?
        .rows_affected()
            == 1;
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE realm = $1 AND seq = $2");
        let row = sqlx::query(&sql)
            .bind(realm.as_str())
            .bind(seq)
            .fetch_optional(&mut *tx.tx)
            .await?;
        let Some(account) = row.map(|r| account_from_row(&r)).transpose()? else {
            return Ok(Activation::NotFound);
        };
        if !activated {
            return Ok(Activation::NotInactive(account));
        }
        let urls = self.webhook_urls(&account.realm);
        outbox::enqueue_webhooks(&mut tx.tx, urls, AccountEvent::Confirmed, &account, true).await?;
        tx.commit().await?;
        if !urls.is_empty() {
            self.store.outbox_signal().notify_one();
        }
        tracing::info!(account_id = %account.id, "Account activated");
        Ok(Activation::Activated(account))
    }

    /// Finds an account by its id.
    pub async fn find(&self, id: AccountId) -> Result<Option<Account>, sqlx::Error> {
        let mut conn = self.store.pool().acquire().await?;
        fetch_account(&mut conn, id).await
    }

    /// Finds an account of a realm by address.
    pub async fn find_by_email(
        &self,
        realm: &Realm,
        email: &EmailAddress,
    ) -> Result<Option<Account>, sqlx::Error> {
        let sql =
            format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE realm = $1 AND email_key = $2");
        let row = sqlx::query(&sql)
            .bind(realm.as_str())
            .bind(email.key())
            .fetch_optional(self.store.pool())
            .await?;
        row.map(|r| account_from_row(&r)).transpose()
    }

    /// Finds an account of a realm by user name (compared by its case-insensitive key).
    pub async fn find_by_username(
        &self,
        realm: &Realm,
        username: &Username,
    ) -> Result<Option<Account>, sqlx::Error> {
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE realm = $1 AND username_key = $2"
        );
        let row = sqlx::query(&sql)
            .bind(realm.as_str())
            .bind(username.key())
            .fetch_optional(self.store.pool())
            .await?;
        row.map(|r| account_from_row(&r)).transpose()
    }

    /// Checks a password for the account a login names. An unknown account verifies a dummy
    /// hash, so both failures cost one argon2 verification and answer alike.
    #[tracing::instrument(name = "Authenticating an account", skip_all, fields(realm = %realm.as_str()))]
    pub async fn authenticate(
        &self,
        realm: &Realm,
        login: Login<'_>,
        password: Password,
    ) -> Result<Account, AuthError> {
        let (column, key) = match login {
            Login::Email(email) => ("email_key", email.key()),
            Login::Username(name) => ("username_key", name.key()),
        };
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS}, password_hash FROM accounts WHERE realm = $1 AND {column} = $2"
        );
        let row = sqlx::query(&sql)
            .bind(realm.as_str())
            .bind(key)
            .fetch_optional(self.store.pool())
            .await?;
        let (account, stored) = match &row {
            Some(row) => (
                Some(account_from_row(row)?),
                row.try_get::<Option<String>, _>("password_hash")?,
            ),
            None => (None, None),
        };
        let matches = self
            .hasher
            .verify(password, stored)
            .await
            .map_err(|e| match e {
                HashingError::Overloaded => AuthError::Overloaded {
                    retry_after_secs: RETRY_AFTER_SECS,
                },
                HashingError::Failed(msg) => AuthError::Unavailable(anyhow::anyhow!(msg)),
            })?;
        match account {
            Some(account) if matches => Ok(account),
            _ => Err(AuthError::InvalidCredentials),
        }
    }

    /// Which of the names is already taken in the realm; the user name wins when both are.
    async fn find_taken(
        &self,
        realm: &Realm,
        email_key: &str,
        username_key: Option<&str>,
    ) -> Result<Option<SignUpError>, SignUpError> {
        // Two lookups, each on its own unique index, so the cost never depends on the
        // planner's statistics (an OR can become a scan of the whole realm).
        let rows = sqlx::query(
            "SELECT email_key, username_key FROM accounts WHERE realm = $1 AND email_key = $2 \
             UNION ALL \
             SELECT email_key, username_key FROM accounts WHERE realm = $1 AND username_key = $3",
        )
        .bind(realm.as_str())
        .bind(email_key)
        .bind(username_key.map(str::to_string))
        .fetch_all(self.store.pool())
        .await?;
        let mut email_taken = false;
        for row in rows {
            let taken_username: Option<String> = row.try_get("username_key")?;
            if username_key.is_some() && taken_username.as_deref() == username_key {
                return Ok(Some(SignUpError::UsernameTaken));
            }
            let taken_email: String = row.try_get("email_key")?;
            email_taken |= taken_email == email_key;
        }
        Ok(email_taken.then_some(SignUpError::EmailTaken))
    }
}

/// The realm's next account number: one upsert, so concurrent sign-ups queue on the realm's
/// row and each gets its own number; a rolled-back sign-up gives its number back.
async fn next_seq(conn: &mut AnyConnection, realm: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO realm_sequences (realm, last_seq) VALUES ($1, 1) \
         ON CONFLICT (realm) DO UPDATE SET last_seq = realm_sequences.last_seq + 1 \
         RETURNING last_seq",
    )
    .bind(realm)
    .fetch_one(conn)
    .await
}

async fn fetch_account(
    conn: &mut AnyConnection,
    id: AccountId,
) -> Result<Option<Account>, sqlx::Error> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1");
    let row = sqlx::query(&sql)
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    row.map(|r| account_from_row(&r)).transpose()
}

fn account_from_row(row: &AnyRow) -> Result<Account, sqlx::Error> {
    let id: String = row.try_get("id")?;
    let profile: String = row.try_get("profile")?;
    let status: String = row.try_get("status")?;
    Ok(Account {
        id: id.parse().map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        realm: row.try_get("realm")?,
        email: row.try_get("email")?,
        username: row.try_get("username")?,
        profile: serde_json::from_str(&profile).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        status: AccountStatus::parse(&status).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        created_at: from_millis(row.try_get("created_at")?),
    })
}

fn from_millis(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}
