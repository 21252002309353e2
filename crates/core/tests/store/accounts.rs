//! Sign-in, generated secrets and stored statuses.

use serde_json::json;
use signup_core::{
    config::{DatabaseSettings, HashingSettings, Settings},
    hashing::HashingPool,
    store::Store,
    AccountId, AccountStatus, Accounts, AuthError, EmailAddress, Login, Metrics, NewAccount,
    Password, Realm, Services, Username,
};
use signup_test_support::{on_each_backend, Backend, TestDatabase};

use crate::accounts_on;

async fn store_on(db: &TestDatabase) -> Store {
    let store = Store::connect(&DatabaseSettings {
        url: db.url().into(),
        ..Default::default()
    })
    .await
    .unwrap();
    store.migrate().await.unwrap();
    store
}

fn password(raw: &str) -> Password {
    Password::parse(raw.into(), Default::default()).unwrap()
}

async fn authenticate_checks_the_password_and_answers_alike_for_unknown_accounts(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let metrics = Metrics::new();
    let hashing = HashingSettings {
        memory_kib: 256,
        iterations: 1,
        workers: 1,
        ..HashingSettings::default()
    };
    let accounts = Accounts::new(
        store_on(&db).await,
        HashingPool::new(&hashing, metrics.clone()).unwrap(),
    );
    let verifications = || metrics.hashing_wait_seconds.get_sample_count();
    let realm = Realm::parse("tests").unwrap();
    let email = EmailAddress::parse("Ada@Example.com").unwrap();
    let created = accounts
        .sign_up(NewAccount {
            id: AccountId::generate(),
            realm: realm.clone(),
            email: email.clone(),
            username: Some(Username::parse("ada", 50).unwrap()),
            password: Some(password("correct horse battery")),
            profile: json!({}),
            status: AccountStatus::Active,
            confirmation: None,
            mail: None,
        })
        .await
        .unwrap()
        .account;

    let by_email = EmailAddress::parse("ada@example.com").unwrap();
    let found = accounts
        .authenticate(
            &realm,
            Login::Email(&by_email),
            password("correct horse battery"),
        )
        .await
        .unwrap();
    assert_eq!(found.id, created.id);
    let by_name = Username::parse("ADA", 50).unwrap();
    let found = accounts
        .authenticate(
            &realm,
            Login::Username(&by_name),
            password("correct horse battery"),
        )
        .await
        .unwrap();
    assert_eq!(found.id, created.id);

    let before = verifications();
    let wrong = accounts
        .authenticate(&realm, Login::Email(&email), password("wrong password!"))
        .await;
    assert!(
        matches!(wrong, Err(AuthError::InvalidCredentials)),
        "{wrong:?}"
    );
    let unknown = EmailAddress::parse("nobody@example.com").unwrap();
    let missing = accounts
        .authenticate(
            &realm,
            Login::Email(&unknown),
            password("correct horse battery"),
        )
        .await;
    assert!(
        matches!(missing, Err(AuthError::InvalidCredentials)),
        "{missing:?}"
    );
    let other_realm = Realm::parse("elsewhere").unwrap();
    let elsewhere = accounts
        .authenticate(
            &other_realm,
            Login::Email(&email),
            password("correct horse battery"),
        )
        .await;
    assert!(matches!(elsewhere, Err(AuthError::InvalidCredentials)));
    // Each attempt ran exactly one verification, unknown accounts included.
    assert_eq!(verifications() - before, 3);
}

async fn a_generated_token_key_is_shared_by_every_instance_and_a_configured_one_wins(
    backend: Backend,
) {
    let db = TestDatabase::create(backend).await;
    let mut settings = Settings::<signup_core::config::NoFlavours>::default();
    settings.hashing.memory_kib = 256;
    settings.hashing.iterations = 1;
    settings.hashing.workers = 1;
    let (first, _) = Services::start_on(store_on(&db).await, &settings, Metrics::new())
        .await
        .unwrap();
    let (second, _) = Services::start_on(store_on(&db).await, &settings, Metrics::new())
        .await
        .unwrap();
    assert_eq!(first.token_key.expose().len(), 32);
    assert_eq!(first.token_key.expose(), second.token_key.expose());
    assert_eq!(
        format!("{:?}", first.token_key),
        "SecretBytes(<32 bytes redacted>)"
    );
    let stored = first.stored_secret("cloudreve.hmac").await.unwrap();
    assert_ne!(stored.expose(), first.token_key.expose());
    assert_eq!(
        second
            .stored_secret("cloudreve.hmac")
            .await
            .unwrap()
            .expose(),
        stored.expose()
    );

    settings.tokens.secret = Some("an operator's own secret of 32+ bytes".to_string().into());
    let (configured, _) = Services::start_on(store_on(&db).await, &settings, Metrics::new())
        .await
        .unwrap();
    assert_eq!(
        configured.token_key.expose(),
        b"an operator's own secret of 32+ bytes"
    );
}

async fn an_unknown_stored_status_is_an_error_not_an_active_account(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let accounts = accounts_on(&db).await;
    let id = AccountId::generate();
    sqlx::query(
        "INSERT INTO accounts (id, realm, email, email_key, profile, status, created_at, updated_at) \
         VALUES ($1, 'tests', 'a@example.com', 'a@example.com', '{}', 'suspended', 0, 0)",
    )
    .bind(id.to_string())
    .execute(accounts.store().pool())
    .await
    .unwrap();
    let error = accounts.find(id).await.unwrap_err().to_string();
    assert!(
        error.contains("unknown account status \"suspended\""),
        "{error}"
    );
}

on_each_backend!(
    authenticate_checks_the_password_and_answers_alike_for_unknown_accounts,
    a_generated_token_key_is_shared_by_every_instance_and_a_configured_one_wins,
    an_unknown_stored_status_is_an_error_not_an_active_account,
);
