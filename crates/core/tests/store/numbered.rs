//! Numbered accounts (per-realm numbers, activation by number) and captcha tickets.

use std::time::Duration;

use serde_json::json;
use signup_core::{
    captcha, outbox::OutgoingMail, AccountId, AccountStatus, Accounts, Activation, EmailAddress,
    NewAccount, Realm,
};
use signup_test_support::{count, on_each_backend, Backend, TestDatabase};

use crate::accounts_on;

fn new_account(realm: &str, email: &str, status: AccountStatus) -> NewAccount {
    NewAccount {
        id: AccountId::generate(),
        realm: Realm::parse(realm).unwrap(),
        email: EmailAddress::parse(email).unwrap(),
        username: None,
        password: None,
        profile: json!({}),
        status,
        confirmation: None,
        mail: None,
    }
}

fn mail_for(seq: i64) -> anyhow::Result<Option<OutgoingMail>> {
    Ok(Some(OutgoingMail {
        to: "x@example.com".into(),
        subject: format!("number {seq}"),
        text: format!("number {seq}"),
        html: None,
    }))
}

async fn sign_up(accounts: &Accounts, realm: &str, email: &str, status: AccountStatus) -> i64 {
    accounts
        .sign_up_numbered(new_account(realm, email, status), Box::new(mail_for))
        .await
        .unwrap()
        .seq
        .unwrap()
}

async fn each_realm_numbers_its_accounts_from_one_and_the_mail_knows_the_number(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let accounts = accounts_on(&db).await;
    assert_eq!(
        sign_up(&accounts, "a", "1@example.com", AccountStatus::Active).await,
        1
    );
    assert_eq!(
        sign_up(&accounts, "a", "2@example.com", AccountStatus::Active).await,
        2
    );
    assert_eq!(
        sign_up(&accounts, "b", "1@example.com", AccountStatus::Active).await,
        1
    );
    let subjects: Vec<String> =
        sqlx::query_scalar("SELECT payload FROM outbox ORDER BY created_at, id")
            .fetch_all(accounts.store().pool())
            .await
            .unwrap();
    assert_eq!(subjects.len(), 3);
    assert!(subjects[1].contains("number 2"), "{subjects:?}");
    // Plain sign-ups stay unnumbered.
    let plain = accounts
        .sign_up(new_account("a", "3@example.com", AccountStatus::Active))
        .await
        .unwrap();
    assert_eq!(plain.seq, None);
    // A failing render rolls the account and its number back.
    let failed = accounts
        .sign_up_numbered(
            new_account("a", "4@example.com", AccountStatus::Active),
            Box::new(|_| Err(anyhow::anyhow!("no template"))),
        )
        .await;
    assert!(failed.is_err());
    assert_eq!(
        sign_up(&accounts, "a", "5@example.com", AccountStatus::Active).await,
        3
    );
    assert_eq!(
        count(
            accounts.store().pool(),
            "SELECT COUNT(*) FROM accounts WHERE realm = 'a'"
        )
        .await,
        4
    );
}

async fn activation_by_number_succeeds_once_and_names_what_it_found(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let accounts = accounts_on(&db).await;
    let realm = Realm::parse("a").unwrap();
    let seq = sign_up(&accounts, "a", "1@example.com", AccountStatus::Inactive).await;
    let results =
        futures_util::future::join_all((0..10).map(|_| accounts.activate_numbered(&realm, seq)))
            .await;
    let activated = results
        .iter()
        .filter(|r| matches!(r, Ok(Activation::Activated(a)) if a.status == AccountStatus::Active))
        .count();
    let refused = results
        .iter()
        .filter(|r| matches!(r, Ok(Activation::NotInactive(_))))
        .count();
    assert_eq!((activated, refused), (1, 9));
    assert!(matches!(
        accounts.activate_numbered(&realm, 99).await,
        Ok(Activation::NotFound)
    ));
    let other = Realm::parse("b").unwrap();
    assert!(matches!(
        accounts.activate_numbered(&other, seq).await,
        Ok(Activation::NotFound)
    ));
}

async fn a_resend_goes_only_to_an_inactive_account(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let accounts = accounts_on(&db).await;
    let realm = Realm::parse("a").unwrap();
    sign_up(&accounts, "a", "in@example.com", AccountStatus::Inactive).await;
    sign_up(&accounts, "a", "act@example.com", AccountStatus::Active).await;
    let before = count(accounts.store().pool(), "SELECT COUNT(*) FROM outbox").await;
    let email = EmailAddress::parse("IN@example.com").unwrap();
    let found = accounts
        .resend_for_inactive(&realm, &email, Box::new(mail_for))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (found.0.status, found.1),
        (AccountStatus::Inactive, Some(1))
    );
    let email = EmailAddress::parse("act@example.com").unwrap();
    let found = accounts
        .resend_for_inactive(&realm, &email, Box::new(mail_for))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.0.status, AccountStatus::Active);
    let email = EmailAddress::parse("none@example.com").unwrap();
    assert!(accounts
        .resend_for_inactive(&realm, &email, Box::new(mail_for))
        .await
        .unwrap()
        .is_none());
    let after = count(accounts.store().pool(), "SELECT COUNT(*) FROM outbox").await;
    assert_eq!(after - before, 1, "one mail, to the inactive account");
}

async fn a_captcha_ticket_is_spent_by_its_first_check(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let accounts = accounts_on(&db).await;
    let store = accounts.store();
    let ttl = Duration::from_secs(600);
    let ticket = captcha::issue(store, "AbC123", ttl).await.unwrap();
    assert!(captcha::redeem(store, &ticket, "abc123").await.unwrap());
    assert!(
        !captcha::redeem(store, &ticket, "abc123").await.unwrap(),
        "spent"
    );
    let ticket = captcha::issue(store, "AbC123", ttl).await.unwrap();
    assert!(!captcha::redeem(store, &ticket, "wrong").await.unwrap());
    assert!(
        !captcha::redeem(store, &ticket, "AbC123").await.unwrap(),
        "spent by a wrong answer"
    );
    let expired = captcha::issue(store, "x", Duration::ZERO).await.unwrap();
    assert!(!captcha::redeem(store, &expired, "x").await.unwrap());
    assert!(!captcha::redeem(store, "unknown", "x").await.unwrap());
    // Issuing sweeps expired tickets.
    captcha::issue(store, "y", Duration::ZERO).await.unwrap();
    captcha::issue(store, "z", ttl).await.unwrap();
    assert_eq!(
        count(store.pool(), "SELECT COUNT(*) FROM captcha_tickets").await,
        1
    );
}

on_each_backend!(
    each_realm_numbers_its_accounts_from_one_and_the_mail_knows_the_number,
    activation_by_number_succeeds_once_and_names_what_it_found,
    a_resend_goes_only_to_an_inactive_account,
    a_captcha_ticket_is_spent_by_its_first_check,
);
