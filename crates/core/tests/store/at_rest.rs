//! What stays in the database once mail is delivered: never a live link.

use std::time::Duration;

use signup_core::{
    config::{MailSettings, MailTransport},
    outbox::{self, Mailer, OutboxWorker},
    Accounts, Metrics,
};
use signup_test_support::{on_each_backend, Backend, TestDatabase};
use sqlx::Row;

use crate::{accounts_on, pending_account};

/// Every text column of every row of the tables that may hold account data, as one string.
async fn everything_stored(accounts: &Accounts) -> String {
    let mut all = String::new();
    for (table, columns) in [
        (
            "outbox",
            "id, kind, payload, status, COALESCE(last_error, '')",
        ),
        ("one_time_tokens", "token_hash, account_id, purpose"),
        (
            "accounts",
            "id, email, COALESCE(password_hash, ''), profile, status",
        ),
    ] {
        let sql = format!("SELECT {columns} FROM {table}");
        for row in sqlx::query(&sql)
            .fetch_all(accounts.store().pool())
            .await
            .unwrap()
        {
            for i in 0..row.len() {
                all.push_str(&row.get::<String, _>(i));
                all.push('\n');
            }
        }
    }
    all
}

fn file_mail(db: &TestDatabase) -> MailSettings {
    MailSettings {
        transport: MailTransport::File,
        dir: db.dir().join("mail"),
        max_attempts: 1,
        ..MailSettings::default()
    }
}

async fn a_delivered_mail_leaves_no_live_link_in_the_database(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let accounts = accounts_on(&db).await;
    let token = pending_account(&accounts, Duration::from_secs(600)).await;
    assert!(
        everything_stored(&accounts).await.contains(&token),
        "before delivery the queued mail holds the link"
    );
    let mail = file_mail(&db);
    let worker = OutboxWorker::new(
        accounts.store().clone(),
        Mailer::from_settings(&mail).unwrap(),
        Metrics::new(),
        &mail,
    );
    assert_eq!(worker.deliver_due().await.unwrap(), 1);

    let delivered: Vec<_> = std::fs::read_dir(&mail.dir).unwrap().collect();
    assert_eq!(delivered.len(), 1);
    let sent = std::fs::read_to_string(delivered[0].as_ref().unwrap().path()).unwrap();
    assert!(sent.contains(&token), "the mail itself carried the link");
    let stored = everything_stored(&accounts).await;
    assert!(!stored.contains(&token), "no stored value holds the token");
    // The operator's view keeps the recipient and the status.
    let row = sqlx::query("SELECT status, payload FROM outbox")
        .fetch_one(accounts.store().pool())
        .await
        .unwrap();
    assert_eq!(row.get::<String, _>("status"), "delivered");
    let payload: serde_json::Value =
        serde_json::from_str(&row.get::<String, _>("payload")).unwrap();
    assert_eq!(
        payload,
        serde_json::json!({"to": "ada@example.com", "subject": "Confirm", "text": "", "html": null, "wiped": true})
    );
}

async fn a_dead_mail_keeps_its_body_for_the_retention_then_loses_it(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let accounts = accounts_on(&db).await;
    let token = pending_account(&accounts, Duration::from_secs(600)).await;
    // A mail folder that cannot be created: every delivery fails, and one attempt is all.
    std::fs::write(db.dir().join("not-a-folder"), b"").unwrap();
    let mut mail = file_mail(&db);
    let broken = Mailer::File {
        dir: db.dir().join("not-a-folder").join("mail"),
        from: "x@example.org".into(),
    };
    mail.dead_retention_days = 7;
    let keeping = OutboxWorker::new(
        accounts.store().clone(),
        broken.clone(),
        Metrics::new(),
        &mail,
    );
    keeping.deliver_due().await.unwrap();
    assert_eq!(outbox::list(accounts.store(), true).await.unwrap().len(), 1);
    assert_eq!(keeping.wipe_expired_dead().await.unwrap(), 0);
    assert!(
        everything_stored(&accounts).await.contains(&token),
        "kept for a retry"
    );

    mail.dead_retention_days = 0;
    let wiping = OutboxWorker::new(accounts.store().clone(), broken, Metrics::new(), &mail);
    assert_eq!(wiping.wipe_expired_dead().await.unwrap(), 1);
    assert!(!everything_stored(&accounts).await.contains(&token));
    let dead = outbox::list(accounts.store(), true).await.unwrap();
    assert_eq!(dead[0].target, "ada@example.com");

    // Revived, a wiped mail sends nothing and says why.
    assert_eq!(outbox::retry(accounts.store(), None).await.unwrap(), 1);
    let working = OutboxWorker::new(
        accounts.store().clone(),
        Mailer::from_settings(&file_mail(&db)).unwrap(),
        Metrics::new(),
        &file_mail(&db),
    );
    working.deliver_due().await.unwrap();
    let dead = outbox::list(accounts.store(), true).await.unwrap();
    assert_eq!(
        dead[0].last_error.as_deref(),
        Some("permanent delivery failure: the body was wiped after its retention: nothing left to send")
    );
    assert!(std::fs::read_dir(db.dir().join("mail"))
        .unwrap()
        .next()
        .is_none());
}

on_each_backend!(
    a_delivered_mail_leaves_no_live_link_in_the_database,
    a_dead_mail_keeps_its_body_for_the_retention_then_loses_it,
);
