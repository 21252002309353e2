//! The account core against a real store, on SQLite and (when configured) PostgreSQL.

// Test code: a failing unwrap is a failing test, and it prints the error.
#![allow(clippy::unwrap_used)]

mod accounts;
mod at_rest;
mod delivery;
mod jwt;
mod mail_tls;
mod numbered;

use std::time::Duration;

use futures_util::future::join_all;
use serde_json::json;
use signup_core::{
    accounts::ConfirmError,
    config::{DatabaseSettings, HashingSettings},
    hashing::HashingPool,
    store::Store,
    tokens::TokenPurpose,
    AccountId, AccountStatus, Accounts, Confirmation, EmailAddress, Metrics, NewAccount, Realm,
    TokenConfirmError, Username,
};
use signup_test_support::{count, on_each_backend, Backend, TestDatabase};

pub(crate) async fn accounts_on(db: &TestDatabase) -> Accounts {
    let store = Store::connect(&DatabaseSettings {
        url: db.url().into(),
        ..Default::default()
    })
    .await
    .unwrap();
    store.migrate().await.unwrap();
    let hashing = HashingSettings {
        memory_kib: 256,
        iterations: 1,
        workers: 1,
        ..HashingSettings::default()
    };
    Accounts::new(store, HashingPool::new(&hashing, Metrics::new()).unwrap())
}

/// Signs up a pending account whose mail carries a confirmation token; returns the token.
pub(crate) async fn pending_account(accounts: &Accounts, ttl: Duration) -> String {
    let confirmation = Confirmation::new(TokenPurpose::ConfirmEmail, ttl);
    let link = format!("/confirm?token={}", confirmation.token.as_str());
    let mut new = new_pending("ada@example.com", confirmation);
    new.password = None;
    if let Some(mail) = &mut new.mail {
        mail.text = link;
    }
    let signed_up = accounts.sign_up(new).await.unwrap();
    let token = signed_up.confirmation.expect("a token was minted");
    token.as_str().to_string()
}

async fn only_the_token_digest_is_stored(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let accounts = accounts_on(&db).await;
    let token = pending_account(&accounts, Duration::from_secs(3600)).await;
    let pool = accounts.store().pool();
    let digest = signup_core::tokens::digest(&token);
    let sql = format!("SELECT COUNT(*) FROM one_time_tokens WHERE token_hash = '{digest}' AND purpose = 'confirm_email' AND consumed_at IS NULL");
    assert_eq!(count(pool, &sql).await, 1);
    let clear = format!("SELECT COUNT(*) FROM one_time_tokens WHERE token_hash = '{token}'");
    assert_eq!(count(pool, &clear).await, 0);
}

async fn of_concurrent_confirmations_with_one_token_exactly_one_wins(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let accounts = accounts_on(&db).await;
    let token = pending_account(&accounts, Duration::from_secs(3600)).await;

    let attempts = (0..10).map(|_| accounts.confirm(TokenPurpose::ConfirmEmail, &token));
    let results = join_all(attempts).await;

    let confirmed: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(confirmed.len(), 1, "{results:?}");
    assert_eq!(confirmed[0].status, AccountStatus::Active);
    assert!(results
        .iter()
        .filter(|r| r.is_err())
        .all(|r| matches!(r, Err(ConfirmError::InvalidToken))));
    let pool = accounts.store().pool();
    assert_eq!(
        count(
            pool,
            "SELECT COUNT(*) FROM accounts WHERE status = 'active'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            pool,
            "SELECT COUNT(*) FROM one_time_tokens WHERE consumed_at IS NOT NULL"
        )
        .await,
        1
    );
}

async fn an_expired_or_unknown_token_confirms_nothing(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let accounts = accounts_on(&db).await;
    let token = pending_account(&accounts, Duration::ZERO).await;
    assert!(matches!(
        accounts.confirm(TokenPurpose::ConfirmEmail, &token).await,
        Err(ConfirmError::InvalidToken)
    ));
    assert!(matches!(
        accounts
            .confirm(TokenPurpose::ConfirmEmail, "not-a-token")
            .await,
        Err(ConfirmError::InvalidToken)
    ));
    let pool = accounts.store().pool();
    assert_eq!(
        count(
            pool,
            "SELECT COUNT(*) FROM accounts WHERE status = 'pending_verification'"
        )
        .await,
        1
    );
}

async fn the_mail_and_the_account_commit_together(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let accounts = accounts_on(&db).await;
    pending_account(&accounts, Duration::from_secs(60)).await;
    let pool = accounts.store().pool();
    assert_eq!(count(pool, "SELECT COUNT(*) FROM outbox o JOIN accounts a ON a.id = o.account_id WHERE o.status = 'pending'").await, 1);
}

async fn confirm_with_sets_profile_keys_and_tells_a_used_token_from_an_unknown_one(
    backend: Backend,
) {
    let db = TestDatabase::create(backend).await;
    let accounts = accounts_on(&db).await;
    let token = pending_account(&accounts, Duration::from_secs(3600)).await;
    let mut profile = serde_json::Map::new();
    profile.insert("stage".into(), json!("final"));
    let account = accounts
        .confirm_with(TokenPurpose::ConfirmEmail, &token, profile.clone())
        .await
        .unwrap();
    assert_eq!(account.status, AccountStatus::Active);
    assert_eq!(account.profile, json!({"stage": "final"}));
    let stored = accounts.find(account.id).await.unwrap().unwrap();
    assert_eq!(stored.profile, json!({"stage": "final"}));
    assert!(matches!(
        accounts
            .confirm_with(TokenPurpose::ConfirmEmail, &token, profile.clone())
            .await,
        Err(TokenConfirmError::AlreadyUsed)
    ));
    assert!(matches!(
        accounts
            .confirm_with(TokenPurpose::ConfirmSignUp, &token, profile.clone())
            .await,
        Err(TokenConfirmError::UnknownOrExpired)
    ));
    assert!(matches!(
        accounts
            .confirm_with(TokenPurpose::ConfirmEmail, "unknown", profile)
            .await,
        Err(TokenConfirmError::UnknownOrExpired)
    ));
}

async fn accounts_without_an_address_do_not_clash_and_are_found_by_user_name(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let accounts = accounts_on(&db).await;
    let realm = Realm::parse("tests").unwrap();
    for name in ["ada", "bob"] {
        let new = NewAccount {
            id: AccountId::generate(),
            realm: realm.clone(),
            email: None::<EmailAddress>,
            username: Some(Username::parse(name, 50).unwrap()),
            password: None,
            profile: json!({}),
            status: AccountStatus::Active,
            confirmation: None,
            mail: None,
        };
        let account = accounts.sign_up(new).await.unwrap().account;
        assert_eq!(account.email, "");
    }
    let found = accounts
        .find_by_username(&realm, &Username::parse("ADA", 50).unwrap())
        .await
        .unwrap();
    assert_eq!(found.and_then(|a| a.username).as_deref(), Some("ada"));
    let taken = NewAccount {
        id: AccountId::generate(),
        realm,
        email: None::<EmailAddress>,
        username: Some(Username::parse("Bob", 50).unwrap()),
        password: None,
        profile: json!({}),
        status: AccountStatus::Active,
        confirmation: None,
        mail: None,
    };
    assert!(matches!(
        accounts.sign_up(taken).await,
        Err(signup_core::SignUpError::UsernameTaken)
    ));
}

async fn realm_webhooks_need_a_secret(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let accounts = accounts_on(&db).await;
    let realm = Realm::parse("tests").unwrap();
    let view: signup_core::AccountView = |a| json!({"id": a.id.to_string()});
    assert!(accounts.with_realm_webhooks(&realm, vec![], view).is_ok());
    let error = accounts
        .with_realm_webhooks(&realm, vec!["https://hooks.example.org/x".into()], view)
        .unwrap_err();
    assert!(error.to_string().contains("webhooks.secret"), "{error}");
}

/// A sign-up of `address` with a mail and a confirmation token.
fn new_pending(address: &str, confirmation: Confirmation) -> NewAccount {
    NewAccount {
        id: AccountId::generate(),
        realm: Realm::parse("tests").unwrap(),
        email: EmailAddress::parse(address).unwrap(),
        username: None,
        password: Some(
            signup_core::password::Password::parse(
                "correct horse battery".into(),
                Default::default(),
            )
            .unwrap(),
        ),
        profile: json!({}),
        status: AccountStatus::PendingVerification,
        confirmation: Some(confirmation),
        mail: Some(signup_core::outbox::OutgoingMail {
            to: address.into(),
            subject: "Confirm".into(),
            text: "/confirm".into(),
            html: None,
        }),
    }
}

/// A sign-up's rows are written as one transaction in one call (on SQLite `BEGIN; ...;
/// COMMIT` as one query): when a statement after the account's fails, the account is undone
/// with it, and the connection that ran it is not left inside the transaction.
async fn a_sign_up_failing_halfway_writes_nothing_and_the_next_commits(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let accounts = accounts_on(&db).await;
    pending_account(&accounts, Duration::from_secs(60)).await;
    let pool = accounts.store().pool();
    // The token this sign-up will insert after its account row is taken already.
    let confirmation = Confirmation::new(TokenPurpose::ConfirmEmail, Duration::from_secs(60));
    sqlx::query(
        "INSERT INTO one_time_tokens (token_hash, account_id, purpose, expires_at, created_at) \
         SELECT $1, id, 'confirm_email', 0, 0 FROM accounts",
    )
    .bind(signup_core::tokens::digest(confirmation.token.as_str()))
    .execute(pool)
    .await
    .unwrap();
    let failed = accounts
        .sign_up(new_pending("grace@example.com", confirmation))
        .await;
    assert!(failed.is_err(), "{failed:?}");
    let grace = "SELECT COUNT(*) FROM accounts WHERE email = 'grace@example.com'";
    assert_eq!(count(pool, grace).await, 0);
    assert_eq!(count(pool, "SELECT COUNT(*) FROM outbox").await, 1);
    // The next sign-up commits, and other connections see it.
    let confirmation = Confirmation::new(TokenPurpose::ConfirmEmail, Duration::from_secs(60));
    accounts
        .sign_up(new_pending("grace@example.com", confirmation))
        .await
        .unwrap();
    assert_eq!(count(pool, grace).await, 1);
    assert_eq!(count(pool, "SELECT COUNT(*) FROM outbox").await, 2);
}

/// Drops `future` at its `pendings`-th suspension, like a request whose client went away.
async fn dropped_after<F: std::future::Future>(future: F, pendings: usize) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    let mut left = pendings;
    std::future::poll_fn(|cx| match future.as_mut().poll(cx) {
        std::task::Poll::Ready(output) => std::task::Poll::Ready(Some(output)),
        std::task::Poll::Pending if left == 0 => std::task::Poll::Ready(None),
        std::task::Poll::Pending => {
            left -= 1;
            std::task::Poll::Pending
        }
    })
    .await
}

/// A sign-up dropped at any await (a client gone mid-request) leaves its account with its
/// mail or neither, and the store keeps writing.
async fn a_sign_up_dropped_at_any_point_commits_whole_or_not_at_all(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let accounts = accounts_on(&db).await;
    for pendings in 0..40 {
        let confirmation = Confirmation::new(TokenPurpose::ConfirmEmail, Duration::from_secs(60));
        let address = format!("dropped{pendings}@example.com");
        dropped_after(
            accounts.sign_up(new_pending(&address, confirmation)),
            pendings,
        )
        .await;
    }
    let confirmation = Confirmation::new(TokenPurpose::ConfirmEmail, Duration::from_secs(60));
    accounts
        .sign_up(new_pending("last@example.com", confirmation))
        .await
        .unwrap();
    let pool = accounts.store().pool();
    // One statement, so a dropped sign-up's write that commits meanwhile cannot skew it.
    let partial = "SELECT COUNT(*) FROM accounts a \
                   WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.account_id = a.id) \
                   OR NOT EXISTS (SELECT 1 FROM one_time_tokens t WHERE t.account_id = a.id)";
    assert_eq!(count(pool, partial).await, 0);
    let last = "SELECT COUNT(*) FROM accounts WHERE email = 'last@example.com'";
    assert_eq!(count(pool, last).await, 1);
}

on_each_backend!(
    only_the_token_digest_is_stored,
    of_concurrent_confirmations_with_one_token_exactly_one_wins,
    an_expired_or_unknown_token_confirms_nothing,
    the_mail_and_the_account_commit_together,
    confirm_with_sets_profile_keys_and_tells_a_used_token_from_an_unknown_one,
    accounts_without_an_address_do_not_clash_and_are_found_by_user_name,
    realm_webhooks_need_a_secret,
    a_sign_up_failing_halfway_writes_nothing_and_the_next_commits,
    a_sign_up_dropped_at_any_point_commits_whole_or_not_at_all,
);
