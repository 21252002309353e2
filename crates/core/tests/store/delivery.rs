//! Delivery through the outbox against real peers on loopback: an SMTP server that accepts,
//! defers, rejects, drops or hangs, and an HTTP receiver for webhooks.

use std::time::Duration;

use secrecy::SecretString;
use serde_json::{json, Value};
use signup_core::{
    config::{MailSettings, MailTransport, SmtpTls, UrlList, WebhookSettings},
    outbox::{self, webhook_signature, Mailer, OutboxWorker, OutgoingMail, WebhookSender},
    tokens::TokenPurpose,
    AccountId, AccountStatus, Accounts, Confirmation, EmailAddress, Metrics, NewAccount, Realm,
};
use signup_test_support::{
    count, on_each_backend,
    smtp::{Behaviour, TestSmtpServer},
    webhook::TestWebhookReceiver,
    Backend, TestDatabase,
};

use crate::accounts_on;

pub(crate) fn smtp_settings(port: u16) -> MailSettings {
    let mut mail = MailSettings {
        transport: MailTransport::Smtp,
        from: "signup@example.org".into(),
        max_attempts: 3,
        retry_base_ms: 1,
        lease_secs: 1,
        ..MailSettings::default()
    };
    mail.smtp.host = "127.0.0.1".into();
    mail.smtp.port = port;
    mail.smtp.tls = SmtpTls::None;
    mail.smtp.timeout_secs = 2;
    mail
}

pub(crate) fn worker(accounts: &Accounts, mail: &MailSettings, metrics: &Metrics) -> OutboxWorker {
    OutboxWorker::new(
        accounts.store().clone(),
        Mailer::from_settings(mail).unwrap(),
        metrics.clone(),
        mail,
    )
}

/// Signs up `n` accounts whose sign-up queues a mail with a text and an HTML part.
pub(crate) async fn sign_up(accounts: &Accounts, n: usize) {
    for i in 0..n {
        let email = format!("user{i}@example.com");
        let new = NewAccount {
            id: AccountId::generate(),
            realm: Realm::parse("tests").unwrap(),
            email: EmailAddress::parse(&email).unwrap(),
            username: None,
            password: None,
            profile: json!({}),
            status: AccountStatus::Active,
            confirmation: None,
            mail: Some(OutgoingMail {
                to: email,
                subject: "Welcome".into(),
                text: "Hello in text".into(),
                html: Some("<p>Hello in HTML</p>".into()),
            }),
        };
        accounts.sign_up(new).await.unwrap();
    }
}

/// Runs worker passes until nothing is due or `passes` ran, waiting out short backoffs.
async fn drain(worker: &OutboxWorker, passes: usize) {
    for _ in 0..passes {
        worker.deliver_due().await.unwrap();
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

pub(crate) async fn status_of_the_only_row(accounts: &Accounts) -> (String, i64, Option<String>) {
    use sqlx::Row;
    let row = sqlx::query("SELECT status, attempts, last_error FROM outbox")
        .fetch_one(accounts.store().pool())
        .await
        .unwrap();
    (
        row.get("status"),
        row.get("attempts"),
        row.get("last_error"),
    )
}

async fn smtp_delivers_each_mail_once_as_multipart_with_a_stable_message_id(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let accounts = accounts_on(&db).await;
    let server = TestSmtpServer::start(vec![]).await;
    let metrics = Metrics::new();
    let worker = worker(&accounts, &smtp_settings(server.port()), &metrics);
    sign_up(&accounts, 1).await;
    let id: String = sqlx::query_scalar("SELECT id FROM outbox")
        .fetch_one(accounts.store().pool())
        .await
        .unwrap();

    drain(&worker, 3).await;

    let received = server.received();
    assert_eq!(received.len(), 1, "delivered once");
    assert_eq!(received[0].from, "signup@example.org");
    assert_eq!(received[0].to, vec!["user0@example.com".to_string()]);
    let data = &received[0].data;
    assert!(
        data.contains(&format!("Message-ID: <{id}@example.org>")),
        "{data}"
    );
    assert!(
        data.contains("From: signup-gateway <signup@example.org>"),
        "{data}"
    );
    assert!(data.contains("multipart/alternative"), "{data}");
    assert!(
        data.contains("Hello in text") && data.contains("<p>Hello in HTML</p>"),
        "{data}"
    );
    assert_eq!(
        status_of_the_only_row(&accounts).await,
        ("delivered".into(), 1, None)
    );
    assert_eq!(
        metrics
            .outbox_messages
            .with_label_values(&["mail", "delivered"])
            .get(),
        1
    );
}

async fn a_deferred_or_dropped_mail_is_retried_then_delivered(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let accounts = accounts_on(&db).await;
    let server = TestSmtpServer::start(vec![Behaviour::Defer, Behaviour::Drop]).await;
    let metrics = Metrics::new();
    let worker = worker(&accounts, &smtp_settings(server.port()), &metrics);
    sign_up(&accounts, 1).await;

    worker.deliver_due().await.unwrap();
    let (status, attempts, error) = status_of_the_only_row(&accounts).await;
    assert_eq!((status.as_str(), attempts), ("pending", 1));
    assert!(
        error.unwrap_or_default().contains("451"),
        "the 4xx reply is kept as the last error"
    );

    drain(&worker, 6).await;
    assert_eq!(
        server.attempts(),
        3,
        "451, dropped connection, then accepted"
    );
    assert_eq!(server.received().len(), 1);
    assert_eq!(
        status_of_the_only_row(&accounts).await,
        ("delivered".into(), 3, None)
    );
    assert_eq!(
        metrics
            .outbox_messages
            .with_label_values(&["mail", "retried"])
            .get(),
        2
    );
}

async fn a_rejected_mail_is_dead_at_once_and_an_operator_can_retry_it(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let accounts = accounts_on(&db).await;
    let server = TestSmtpServer::start(vec![Behaviour::Reject]).await;
    let metrics = Metrics::new();
    let worker = worker(&accounts, &smtp_settings(server.port()), &metrics);
    sign_up(&accounts, 1).await;

    drain(&worker, 3).await;
    let (status, attempts, error) = status_of_the_only_row(&accounts).await;
    assert_eq!((status.as_str(), attempts), ("dead", 1));
    assert!(error.unwrap_or_default().contains("550"));
    assert_eq!(
        metrics
            .outbox_messages
            .with_label_values(&["mail", "dead"])
            .get(),
        1
    );
    let dead = outbox::list(accounts.store(), true).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].target, "user0@example.com");

    assert_eq!(
        outbox::retry(accounts.store(), Some(&dead[0].id))
            .await
            .unwrap(),
        1
    );
    drain(&worker, 2).await;
    assert_eq!(server.received().len(), 1);
    assert_eq!(status_of_the_only_row(&accounts).await.0, "delivered");
}

async fn a_mail_that_keeps_failing_is_dead_after_the_attempt_limit(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let accounts = accounts_on(&db).await;
    let server = TestSmtpServer::start(vec![Behaviour::Defer; 10]).await;
    let metrics = Metrics::new();
    let worker = worker(&accounts, &smtp_settings(server.port()), &metrics);
    sign_up(&accounts, 1).await;

    drain(&worker, 8).await;
    let (status, attempts, error) = status_of_the_only_row(&accounts).await;
    assert_eq!((status.as_str(), attempts), ("dead", 3), "max_attempts = 3");
    assert!(error.unwrap_or_default().contains("451"));
    assert_eq!(server.attempts(), 3);
    assert_eq!(server.received().len(), 0);
}

async fn a_claimed_row_of_a_dead_instance_is_sent_by_another_after_its_lease(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let accounts = accounts_on(&db).await;
    let hanging = TestSmtpServer::start(vec![Behaviour::Hang]).await;
    let mut slow = smtp_settings(hanging.port());
    slow.smtp.timeout_secs = 60;
    // Long enough that the lease still holds when the second instance first looks, even on a
    // loaded machine.
    slow.lease_secs = 3;
    let first = worker(&accounts, &slow, &Metrics::new());
    sign_up(&accounts, 1).await;

    // The first instance claims the row and stalls mid-send; then it dies.
    let doomed = tokio::spawn(async move { first.deliver_due().await });
    for _ in 0..200 {
        if hanging.attempts() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(hanging.attempts(), 1);
    doomed.abort();

    let healthy = TestSmtpServer::start(vec![]).await;
    let second = worker(&accounts, &smtp_settings(healthy.port()), &Metrics::new());
    assert_eq!(
        second.deliver_due().await.unwrap(),
        0,
        "the lease still holds the row"
    );
    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert_eq!(second.deliver_due().await.unwrap(), 1, "the lease ran out");
    assert_eq!(healthy.received().len(), 1);
    assert_eq!(hanging.received().len(), 0);
    assert_eq!(status_of_the_only_row(&accounts).await.0, "delivered");
}

async fn two_instances_deliver_every_mail_exactly_once(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let accounts = accounts_on(&db).await;
    let server = TestSmtpServer::start(vec![]).await;
    let mail = smtp_settings(server.port());
    let (a, b) = (
        worker(&accounts, &mail, &Metrics::new()),
        worker(&accounts, &mail, &Metrics::new()),
    );
    sign_up(&accounts, 30).await;

    let pass = |w: OutboxWorker| async move {
        for _ in 0..10 {
            w.deliver_due().await.unwrap();
        }
    };
    tokio::join!(pass(a), pass(b));

    assert!(server.wait_for(30, Duration::from_secs(5)).await);
    let mut ids: Vec<String> = server
        .received()
        .iter()
        .filter_map(|m| {
            m.data
                .lines()
                .find(|l| l.starts_with("Message-ID:"))
                .map(String::from)
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 30, "30 distinct mails");
    assert_eq!(server.received().len(), 30, "none sent twice");
    assert_eq!(
        count(
            accounts.store().pool(),
            "SELECT COUNT(*) FROM outbox WHERE status = 'delivered'"
        )
        .await,
        30
    );
}

async fn webhooks_are_signed_retried_and_carry_no_secrets(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let receiver = TestWebhookReceiver::start(vec![503]).await;
    let settings = WebhookSettings {
        secret: Some(SecretString::from("whsec-test")),
        endpoints: [("tests".to_string(), UrlList(vec![receiver.url()]))]
            .into_iter()
            .collect(),
        timeout_secs: 5,
    };
    let accounts = accounts_on(&db).await.with_webhooks(&settings);
    let mail = MailSettings {
        retry_base_ms: 1,
        ..MailSettings::default()
    };
    let metrics = Metrics::new();
    let worker = OutboxWorker::new(
        accounts.store().clone(),
        Mailer::Log {
            from: "x@example.org".into(),
        },
        metrics.clone(),
        &mail,
    )
    .with_webhooks(WebhookSender::new(&settings).unwrap());

    let new = NewAccount {
        id: AccountId::generate(),
        realm: Realm::parse("tests").unwrap(),
        email: EmailAddress::parse("ada@example.com").unwrap(),
        username: None,
        password: Some(
            signup_core::Password::parse("correct horse battery".into(), Default::default())
                .unwrap(),
        ),
        profile: json!({"first_name": "Ada"}),
        status: AccountStatus::PendingVerification,
        confirmation: Some(Confirmation::new(
            TokenPurpose::ConfirmEmail,
            Duration::from_secs(600),
        )),
        mail: None,
    };
    let signed_up = accounts.sign_up(new).await.unwrap();
    let account = signed_up.account;
    let raw_token = signed_up
        .confirmation
        .map(|t| t.as_str().to_string())
        .unwrap_or_default();
    drain(&worker, 4).await;

    let requests = receiver.requests();
    assert_eq!(requests.len(), 2, "a 503, then delivered");
    assert_eq!(
        metrics
            .outbox_messages
            .with_label_values(&["webhook", "retried"])
            .get(),
        1
    );
    let delivered = &requests[1];
    assert_eq!(delivered.method, "POST");
    assert_eq!(delivered.header("content-type"), Some("application/json"));
    let timestamp: i64 = delivered
        .header("x-signature-timestamp")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        delivered.header("x-signature"),
        Some(webhook_signature(b"whsec-test", timestamp, &delivered.body).as_str())
    );
    assert_ne!(
        delivered.header("x-signature"),
        Some(webhook_signature(b"other", timestamp, &delivered.body).as_str())
    );
    let body: Value = serde_json::from_str(&delivered.body).unwrap();
    assert_eq!(body["event"], "account.created");
    assert_eq!(body["account"]["id"], account.id.to_string());
    assert_eq!(body["account"]["email"], "ada@example.com");
    assert_eq!(body["account"]["status"], "pending_verification");
    assert!(
        !delivered.body.contains("correct horse")
            && !delivered.body.contains("argon2")
            && !delivered.body.contains(&raw_token)
    );

    accounts
        .confirm(TokenPurpose::ConfirmEmail, &raw_token)
        .await
        .unwrap();
    drain(&worker, 2).await;
    let requests = receiver.requests();
    assert_eq!(requests.len(), 3);
    let confirmed: Value = serde_json::from_str(&requests[2].body).unwrap();
    assert_eq!(confirmed["event"], "account.confirmed");
    assert_eq!(confirmed["account"]["status"], "active");
    assert_eq!(
        requests[2].header("x-webhook-event"),
        Some("account.confirmed")
    );
}

async fn a_webhook_refused_with_a_4xx_is_dead_at_once(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let receiver = TestWebhookReceiver::start(vec![410]).await;
    let settings = WebhookSettings {
        secret: Some(SecretString::from("whsec-test")),
        endpoints: [("tests".to_string(), UrlList(vec![receiver.url()]))]
            .into_iter()
            .collect(),
        timeout_secs: 5,
    };
    let accounts = accounts_on(&db).await.with_webhooks(&settings);
    let worker = OutboxWorker::new(
        accounts.store().clone(),
        Mailer::Log {
            from: "x@example.org".into(),
        },
        Metrics::new(),
        &MailSettings::default(),
    )
    .with_webhooks(WebhookSender::new(&settings).unwrap());
    sign_up(&accounts, 1).await;
    drain(&worker, 3).await;
    assert_eq!(receiver.requests().len(), 1);
    let dead = outbox::list(accounts.store(), true).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].kind, "webhook");
    assert!(dead[0]
        .last_error
        .as_deref()
        .unwrap_or_default()
        .contains("410"));
}

/// Sign-ups wait for their commit to reach the disk; the outbox worker's leases and marks,
/// which a crash may lose for the price of one more attempt, do not (on PostgreSQL; SQLite's
/// commits never wait for a flush in WAL mode with `synchronous = NORMAL`).
async fn only_the_outbox_worker_commits_without_waiting_for_the_flush(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let accounts = accounts_on(&db).await;
    let store = accounts.store();
    let relaxed = store.relaxed();
    match backend {
        Backend::Postgres => {
            for (pool, expected) in [(store.pool(), "on"), (relaxed.pool(), "off")] {
                let setting: String = sqlx::query_scalar("SHOW synchronous_commit")
                    .fetch_one(pool)
                    .await
                    .unwrap();
                assert_eq!(setting, expected);
            }
        }
        Backend::Sqlite => {
            for pool in [store.pool(), relaxed.pool()] {
                let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
                    .fetch_one(pool)
                    .await
                    .unwrap();
                assert_eq!(synchronous, 1, "NORMAL");
            }
        }
    }
    // The worker writes through the relaxed store: a queued mail is claimed and marked.
    sign_up(&accounts, 1).await;
    let mail = MailSettings {
        transport: MailTransport::Log,
        ..MailSettings::default()
    };
    let delivered = worker(&accounts, &mail, &Metrics::new())
        .deliver_due()
        .await
        .unwrap();
    assert_eq!(delivered, 1);
    assert_eq!(
        count(
            store.pool(),
            "SELECT COUNT(*) FROM outbox WHERE status = 'delivered'"
        )
        .await,
        1
    );
}

on_each_backend!(
    only_the_outbox_worker_commits_without_waiting_for_the_flush,
    smtp_delivers_each_mail_once_as_multipart_with_a_stable_message_id,
    a_deferred_or_dropped_mail_is_retried_then_delivered,
    a_rejected_mail_is_dead_at_once_and_an_operator_can_retry_it,
    a_mail_that_keeps_failing_is_dead_after_the_attempt_limit,
    a_claimed_row_of_a_dead_instance_is_sent_by_another_after_its_lease,
    two_instances_deliver_every_mail_exactly_once,
    webhooks_are_signed_retried_and_carry_no_secrets,
    a_webhook_refused_with_a_4xx_is_dead_at_once,
);
