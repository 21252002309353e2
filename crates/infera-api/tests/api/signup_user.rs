use signup_test_support::{on_each_backend, Backend};

use crate::helpers::{link_query, spawn_app, spawn_app_with};

const ACCEPTED: &str = r#"{"email":"ada@example.com","status":"pending_verification","message":"Check your inbox to verify your email address."}"#;

async fn a_new_address_gets_200_and_a_verification_mail_whose_link_verifies_it(backend: Backend) {
    let app = spawn_app(backend).await;

    let answer = app.sign_up("ada@example.com").await;
    assert_eq!((answer.status, answer.body.as_str()), (200, ACCEPTED));
    assert_eq!(answer.content_type, "application/json");
    assert_eq!(app.count("SELECT COUNT(*) FROM accounts WHERE realm = 'infera' AND status = 'pending_verification' AND password_hash IS NULL").await, 1);

    let mails = app.mails(1).await;
    assert!(mails[0].contains("To: ada@example.com\r\n"), "{}", mails[0]);
    assert!(mails[0].contains("Subject: Verify your email address for signup-gateway\r\n"));
    assert!(
        mails[0].contains("http://signup.test.example/infera/verify_email?token="),
        "{}",
        mails[0]
    );
    let query = link_query(&mails[0]);

    let verified = app.verify(&query).await;
    assert_eq!(
        (verified.status, verified.body.as_str()),
        (200, r#"{"email":"ada@example.com","status":"verified"}"#)
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM accounts WHERE status = 'active'")
            .await,
        1
    );

    let again = app.verify(&query).await;
    assert_eq!(
        (again.status, again.body.as_str()),
        (400, r#"{"detail":"Invalid or expired verification token"}"#)
    );
}

async fn new_pending_and_verified_addresses_get_the_same_answer_and_the_same_work(
    backend: Backend,
) {
    let app = spawn_app_with(backend, |c| c.flavours.resend_interval_secs = 0).await;

    let mut answers = Vec::new();
    let mut rows = Vec::new();
    // new
    answers.push(app.sign_up("ada@example.com").await);
    rows.push((
        app.count("SELECT COUNT(*) FROM one_time_tokens").await,
        app.count("SELECT COUNT(*) FROM outbox").await,
    ));
    // pending
    answers.push(app.sign_up("ada@example.com").await);
    rows.push((
        app.count("SELECT COUNT(*) FROM one_time_tokens").await,
        app.count("SELECT COUNT(*) FROM outbox").await,
    ));
    // verified
    let mails = app.mails(2).await;
    assert_eq!(app.verify(&link_query(&mails[0])).await.status, 200);
    answers.push(app.sign_up("ada@example.com").await);
    rows.push((
        app.count("SELECT COUNT(*) FROM one_time_tokens").await,
        app.count("SELECT COUNT(*) FROM outbox").await,
    ));

    for answer in &answers {
        assert_eq!((answer.status, answer.body.as_str()), (200, ACCEPTED));
    }
    // Each case minted exactly one token row and wrote exactly one outbox row.
    assert_eq!(rows, vec![(1, 1), (2, 2), (3, 3)]);
    assert_eq!(app.count("SELECT COUNT(*) FROM accounts").await, 1);

    let mails = app.mails(3).await;
    assert!(
        mails[1].contains("Subject: Verify your email address"),
        "pending: the link again"
    );
    assert!(
        mails[2].contains("Subject: You already have an account on signup-gateway"),
        "{}",
        mails[2]
    );
    assert!(
        !mails[2].contains("verify_email?token="),
        "the notice carries no link"
    );
}

async fn inside_the_resend_interval_nothing_more_is_sent(backend: Backend) {
    let app = spawn_app(backend).await; // default interval: 10 minutes
    for _ in 0..3 {
        let answer = app.sign_up("ada@example.com").await;
        assert_eq!((answer.status, answer.body.as_str()), (200, ACCEPTED));
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM outbox WHERE status = 'suppressed'")
            .await,
        2
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM one_time_tokens WHERE consumed_at IS NULL")
            .await,
        1,
        "only the mailed link is usable"
    );
    assert_eq!(app.mails(1).await.len(), 1);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.mails(1).await.len(), 1, "no second mail was delivered");
}

async fn the_answer_carries_the_normalised_address(backend: Backend) {
    let app = spawn_app(backend).await;
    let answer = app.sign_up("  Ada.Lovelace@EXAMPLE.Com ").await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.body,
        r#"{"email":"Ada.Lovelace@example.com","status":"pending_verification","message":"Check your inbox to verify your email address."}"#
    );
    let again = app.sign_up("ada.lovelace@example.com").await;
    assert_eq!(again.status, 200);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM accounts").await,
        1,
        "one account per address, case-insensitively"
    );
}

async fn extra_keys_are_ignored(backend: Backend) {
    let app = spawn_app(backend).await;
    let answer = app
        .post(
            r#"{"name":"Ada","email":"ada@example.com","admin":true}"#,
            Some("application/json"),
        )
        .await;
    assert_eq!((answer.status, answer.body.as_str()), (200, ACCEPTED));
}

async fn a_store_failure_returns_fastapis_500(backend: Backend) {
    let app = spawn_app(backend).await;
    sqlx::query("DROP TABLE outbox")
        .execute(app.store.pool())
        .await
        .unwrap();
    let answer = app.sign_up("ada@example.com").await;
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (500, r#"{"detail":"Internal Server Error"}"#)
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM accounts").await, 0);
}

async fn a_saturated_store_returns_503_with_retry_after(backend: Backend) {
    let app = spawn_app_with(backend, |c| {
        c.database.max_connections = 1;
        c.database.acquire_timeout_secs = 1;
    })
    .await;
    // The sign-up's transaction runs on the writer (on PostgreSQL the one pool).
    let held = app.store.writer().acquire().await.unwrap();
    let response = app
        .client
        .post(app.url("/signup_user"))
        .json(&serde_json::json!({"email": "ada@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"detail":"Service temporarily overloaded, retry later"}"#
    );
    drop(held);
}

on_each_backend!(
    a_new_address_gets_200_and_a_verification_mail_whose_link_verifies_it,
    new_pending_and_verified_addresses_get_the_same_answer_and_the_same_work,
    inside_the_resend_interval_nothing_more_is_sent,
    the_answer_carries_the_normalised_address,
    extra_keys_are_ignored,
    a_store_failure_returns_fastapis_500,
    a_saturated_store_returns_503_with_retry_after,
);
