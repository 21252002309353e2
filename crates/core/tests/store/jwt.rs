//! JWT pairs against a real store: rotation, reuse detection, concurrent rotations, logout.

use std::time::Duration;

use signup_core::{
    config::DatabaseSettings,
    jwt::{AuthError, InvalidToken, JwtKeys, JwtService, Lifetimes},
    store::{now_millis, Store},
    AccountId,
};
use signup_test_support::{count, on_each_backend, Backend, TestDatabase};
use uuid::Uuid;

const LIFETIMES: Lifetimes = Lifetimes {
    access: Duration::from_secs(900),
    refresh: Duration::from_secs(604_800),
};

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

async fn service_on(db: &TestDatabase, lifetimes: Lifetimes) -> JwtService {
    let keys = JwtKeys::hs256(b"store-test secret of some length").unwrap();
    JwtService::new(store_on(db).await, keys, lifetimes)
}

/// Inserts an account row directly; returns its id and the subject its tokens carry.
async fn account(store: &Store, email: &str) -> (AccountId, String) {
    let id = AccountId(Uuid::now_v7());
    let now = now_millis();
    sqlx::query(
        "INSERT INTO accounts (id, realm, email, email_key, profile, status, created_at, updated_at) \
         VALUES ($1, 'tests', $2, $2, '{}', 'active', $3, $3)",
    )
    .bind(id.to_string())
    .bind(email)
    .bind(now)
    .execute(store.pool())
    .await
    .unwrap();
    (id, id.0.simple().to_string())
}

async fn setup(backend: Backend, lifetimes: Lifetimes) -> (TestDatabase, JwtService, Store) {
    let db = TestDatabase::create(backend).await;
    let store = store_on(&db).await;
    let keys = JwtKeys::hs256(b"store-test secret of some length").unwrap();
    let jwt = JwtService::new(store.clone(), keys, lifetimes);
    (db, jwt, store)
}

fn digest(token: &str) -> String {
    signup_core::tokens::digest(token)
}

async fn a_rotation_spends_the_token_and_continues_the_login(backend: Backend) {
    let (_db, jwt, store) = setup(backend, LIFETIMES).await;
    let (id, subject) = account(&store, "ada@example.com").await;

    let first = jwt.issue_pair(id, &subject).await.unwrap();
    assert_eq!(first.access_expires_in, 900);
    let login = jwt.verify_access(&first.access).unwrap();
    assert_eq!(login.sub, subject);
    assert_eq!(login.user_id, subject);
    assert_eq!(login.exp - login.iat, 900);

    let (rotated_for, second) = jwt.rotate(&first.refresh).await.unwrap();
    assert_eq!(rotated_for, id);
    assert_ne!(second.refresh, first.refresh);
    let next = jwt.verify_access(&second.access).unwrap();
    assert_eq!(next.fam, login.fam, "the same login goes on");
    assert_eq!(next.sub, subject);
    let refresh = jwt.verify_refresh(&second.refresh).unwrap();
    assert_eq!(refresh.fam, login.fam);
    assert_eq!(refresh.exp - refresh.iat, 604_800);

    let pool = store.pool();
    let spent = format!(
        "SELECT COUNT(*) FROM refresh_tokens WHERE token_hash = '{}' AND spent_at IS NOT NULL AND revoked_at IS NULL",
        digest(&first.refresh)
    );
    assert_eq!(count(pool, &spent).await, 1);
    let live = format!(
        "SELECT COUNT(*) FROM refresh_tokens WHERE token_hash = '{}' AND family_id = '{}' AND spent_at IS NULL AND revoked_at IS NULL",
        digest(&second.refresh),
        login.fam
    );
    assert_eq!(count(pool, &live).await, 1);
    let clear = format!(
        "SELECT COUNT(*) FROM refresh_tokens WHERE token_hash IN ('{}', '{}')",
        first.refresh, second.refresh
    );
    assert_eq!(count(pool, &clear).await, 0, "only digests are stored");

    // The new token rotates in turn.
    let (_, third) = jwt.rotate(&second.refresh).await.unwrap();
    assert!(jwt.verify_access(&third.access).is_ok());
}

async fn reusing_a_spent_refresh_token_revokes_the_whole_family(backend: Backend) {
    let (_db, jwt, store) = setup(backend, LIFETIMES).await;
    let (id, subject) = account(&store, "ada@example.com").await;
    let first = jwt.issue_pair(id, &subject).await.unwrap();
    let (_, second) = jwt.rotate(&first.refresh).await.unwrap();

    assert!(matches!(
        jwt.rotate(&first.refresh).await,
        Err(AuthError::Reused)
    ));
    // The newest token of the family went with it.
    assert!(matches!(
        jwt.rotate(&second.refresh).await,
        Err(AuthError::Reused)
    ));
    let pool = store.pool();
    assert_eq!(
        count(
            pool,
            "SELECT COUNT(*) FROM refresh_tokens WHERE revoked_at IS NULL"
        )
        .await,
        0
    );
    assert_eq!(count(pool, "SELECT COUNT(*) FROM refresh_tokens").await, 2);
}

async fn of_ten_concurrent_rotations_of_one_token_exactly_one_succeeds(backend: Backend) {
    let (_db, jwt, store) = setup(backend, LIFETIMES).await;
    let (id, subject) = account(&store, "ada@example.com").await;
    let pair = jwt.issue_pair(id, &subject).await.unwrap();

    let attempts: Vec<_> = (0..10)
        .map(|_| {
            let jwt = jwt.clone();
            let refresh = pair.refresh.clone();
            tokio::spawn(async move { jwt.rotate(&refresh).await })
        })
        .collect();
    let mut results = Vec::new();
    for attempt in attempts {
        results.push(attempt.await.unwrap());
    }

    let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    assert!(
        results
            .iter()
            .filter(|r| r.is_err())
            .all(|r| matches!(r, Err(AuthError::Reused))),
        "{results:?}"
    );
    // The losers are reuse: the family ends revoked, the winner's new token included.
    let pool = store.pool();
    assert_eq!(count(pool, "SELECT COUNT(*) FROM refresh_tokens").await, 2);
    assert_eq!(
        count(
            pool,
            "SELECT COUNT(*) FROM refresh_tokens WHERE revoked_at IS NULL"
        )
        .await,
        0
    );
    let (_, won) = winners[0];
    assert!(matches!(
        jwt.rotate(&won.refresh).await,
        Err(AuthError::Reused)
    ));
}

async fn logout_revokes_its_login_and_no_other(backend: Backend) {
    let (_db, jwt, store) = setup(backend, LIFETIMES).await;
    let (id, subject) = account(&store, "ada@example.com").await;
    let laptop = jwt.issue_pair(id, &subject).await.unwrap();
    let phone = jwt.issue_pair(id, &subject).await.unwrap();
    let (_, laptop) = jwt.rotate(&laptop.refresh).await.unwrap();

    let claims = jwt.verify_access(&laptop.access).unwrap();
    assert_ne!(claims.fam, jwt.verify_access(&phone.access).unwrap().fam);
    assert_eq!(jwt.revoke_family_of(&claims).await.unwrap(), 2);

    assert!(matches!(
        jwt.rotate(&laptop.refresh).await,
        Err(AuthError::Reused)
    ));
    let (_, phone) = jwt.rotate(&phone.refresh).await.unwrap();

    // A logout with the refresh token's claims works the same way.
    let claims = jwt.verify_refresh(&phone.refresh).unwrap();
    assert_eq!(jwt.revoke_family_of(&claims).await.unwrap(), 2);
    assert!(matches!(
        jwt.rotate(&phone.refresh).await,
        Err(AuthError::Reused)
    ));
    assert_eq!(
        count(
            store.pool(),
            "SELECT COUNT(*) FROM refresh_tokens WHERE revoked_at IS NULL"
        )
        .await,
        0
    );
}

async fn logout_of_one_account_leaves_another_accounts_logins(backend: Backend) {
    let (_db, jwt, store) = setup(backend, LIFETIMES).await;
    let (ada, ada_sub) = account(&store, "ada@example.com").await;
    let (bob, bob_sub) = account(&store, "bob@example.com").await;
    let ada_pair = jwt.issue_pair(ada, &ada_sub).await.unwrap();
    let bob_pair = jwt.issue_pair(bob, &bob_sub).await.unwrap();

    let claims = jwt.verify_access(&ada_pair.access).unwrap();
    jwt.revoke_family_of(&claims).await.unwrap();

    let (rotated_for, _) = jwt.rotate(&bob_pair.refresh).await.unwrap();
    assert_eq!(rotated_for, bob);
}

async fn an_expired_refresh_token_is_refused_and_revokes_nothing(backend: Backend) {
    // Born expired in the store; its `exp` is still inside the JWT leeway, so only the
    // store's expiry refuses it.
    let lifetimes = Lifetimes {
        access: Duration::from_secs(900),
        refresh: Duration::ZERO,
    };
    let (_db, jwt, store) = setup(backend, lifetimes).await;
    let (id, subject) = account(&store, "ada@example.com").await;
    let pair = jwt.issue_pair(id, &subject).await.unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;

    assert!(matches!(
        jwt.rotate(&pair.refresh).await,
        Err(AuthError::Invalid(InvalidToken::NotStored))
    ));
    let pool = store.pool();
    assert_eq!(
        count(
            pool,
            "SELECT COUNT(*) FROM refresh_tokens WHERE spent_at IS NULL AND revoked_at IS NULL"
        )
        .await,
        1
    );
}

async fn tokens_of_a_deleted_account_or_of_the_wrong_kind_do_not_rotate(backend: Backend) {
    let (_db, jwt, store) = setup(backend, LIFETIMES).await;
    let (id, subject) = account(&store, "ada@example.com").await;
    let pair = jwt.issue_pair(id, &subject).await.unwrap();

    assert!(matches!(
        jwt.rotate(&pair.access).await,
        Err(AuthError::Invalid(InvalidToken::WrongType { .. }))
    ));
    assert!(matches!(
        jwt.verify_access(&pair.refresh),
        Err(AuthError::Invalid(InvalidToken::WrongType { .. }))
    ));

    sqlx::query("DELETE FROM accounts WHERE id = $1")
        .bind(id.to_string())
        .execute(store.pool())
        .await
        .unwrap();
    assert_eq!(
        count(store.pool(), "SELECT COUNT(*) FROM refresh_tokens").await,
        0,
        "the account's tokens go with it"
    );
    assert!(matches!(
        jwt.rotate(&pair.refresh).await,
        Err(AuthError::Invalid(InvalidToken::NotStored))
    ));
}

async fn a_token_signed_with_another_secret_does_not_rotate(backend: Backend) {
    let (db, jwt, store) = setup(backend, LIFETIMES).await;
    let (id, subject) = account(&store, "ada@example.com").await;
    let other = JwtService::new(
        store.clone(),
        JwtKeys::hs256(b"another secret altogether, 32 b.").unwrap(),
        LIFETIMES,
    );
    let forged = other.issue_pair(id, &subject).await.unwrap();
    assert!(matches!(
        jwt.rotate(&forged.refresh).await,
        Err(AuthError::Invalid(InvalidToken::BadSignature))
    ));
    // Same secret, another service instance (another gateway): tokens interoperate.
    let twin = service_on(&db, LIFETIMES).await;
    let pair = jwt.issue_pair(id, &subject).await.unwrap();
    assert!(twin.rotate(&pair.refresh).await.is_ok());
}

on_each_backend!(
    a_rotation_spends_the_token_and_continues_the_login,
    reusing_a_spent_refresh_token_revokes_the_whole_family,
    of_ten_concurrent_rotations_of_one_token_exactly_one_succeeds,
    logout_revokes_its_login_and_no_other,
    logout_of_one_account_leaves_another_accounts_logins,
    an_expired_refresh_token_is_refused_and_revokes_nothing,
    tokens_of_a_deleted_account_or_of_the_wrong_kind_do_not_rotate,
    a_token_signed_with_another_secret_does_not_rotate,
);
