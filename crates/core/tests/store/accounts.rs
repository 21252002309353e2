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
use sqlx::{Executor, Row};

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

/// The plan of a lookup by one key on a table of 500 accounts that was never analysed:
/// PostgreSQL's generic plan (what a pooled prepared statement settles on), SQLite's plan.
async fn plan_of(store: &Store, backend: Backend, condition: &str) -> String {
    let mut conn = store.pool().acquire().await.unwrap();
    let lines: Vec<String> = match backend {
        Backend::Postgres => {
            conn.execute("SET plan_cache_mode = force_generic_plan")
                .await
                .unwrap();
            let prepare = format!("PREPARE lookup AS SELECT id FROM accounts WHERE {condition}");
            conn.execute(prepare.as_str()).await.unwrap();
            let lines = sqlx::query_scalar("EXPLAIN EXECUTE lookup('tests', '7')")
                .fetch_all(&mut *conn)
                .await
                .unwrap();
            conn.execute("DEALLOCATE lookup; RESET plan_cache_mode")
                .await
                .unwrap();
            lines
        }
        Backend::Sqlite => {
            let sql = format!(
                "EXPLAIN QUERY PLAN SELECT id FROM accounts WHERE {}",
                condition.replace("$1", "'tests'").replace("$2", "'7'")
            );
            sqlx::query(&sql)
                .fetch_all(&mut *conn)
                .await
                .unwrap()
                .iter()
                .map(|row| row.try_get::<String, _>("detail").unwrap())
                .collect()
        }
    };
    lines.join("\n")
}

async fn a_lookup_by_each_key_reads_its_own_index_whatever_the_statistics(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let store = store_on(&db).await;
    // Two realms, a few numbered accounts, no ANALYZE: every index looks alike to a planner
    // without statistics unless only one of them can serve the condition.
    sqlx::query(
        "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 500) \
         INSERT INTO accounts (id, realm, email, email_key, username, username_key, profile, status, created_at, updated_at, seq) \
         SELECT 'id' || n, CASE WHEN n % 2 = 0 THEN 'tests' ELSE 'other' END, 'u' || n || '@example.com', \
                'u' || n || '@example.com', 'u' || n, 'u' || n, '{}', 'active', 0, 0, \
                CASE WHEN n % 5 = 0 THEN n END FROM g",
    )
    .execute(store.pool())
    .await
    .unwrap();
    for (condition, index, postgres_cond, sqlite_search) in [
        (
            "realm = $1 AND email_key = $2",
            "accounts_email_key_realm",
            "Index Cond: ((email_key = $2) AND (realm = $1))",
            "(email_key=? AND realm=?)",
        ),
        (
            "realm = $1 AND username_key = $2",
            "accounts_username_key_realm",
            "Index Cond: ((username_key = $2) AND (realm = $1))",
            "(username_key=? AND realm=?)",
        ),
        (
            "realm = $1 AND seq = $2",
            "accounts_seq_realm",
            "Index Cond: ((seq = $2) AND (realm = $1))",
            "(seq=? AND realm=?)",
        ),
    ] {
        let plan = plan_of(&store, backend, condition).await;
        let expected = match backend {
            Backend::Postgres => format!("Index Scan using {index} on accounts"),
            Backend::Sqlite => format!("SEARCH accounts USING INDEX {index} {sqlite_search}"),
        };
        assert!(plan.starts_with(&expected), "{condition}: {plan}");
        if backend == Backend::Postgres {
            assert!(plan.contains(postgres_cond), "{condition}: {plan}");
            assert!(!plan.contains("Filter"), "{condition}: {plan}");
        }
    }
}

on_each_backend!(
    a_lookup_by_each_key_reads_its_own_index_whatever_the_statistics,
    authenticate_checks_the_password_and_answers_alike_for_unknown_accounts,
    a_generated_token_key_is_shared_by_every_instance_and_a_configured_one_wins,
    an_unknown_stored_status_is_an_error_not_an_active_account,
);
