use futures_util::future::join_all;
use serde_json::json;
use signup_test_support::{on_each_backend, Backend};

use crate::helpers::{create_db, sign_up_body, spawn_gateway};

async fn fifty_concurrent_sign_ups_across_two_instances_make_one_account(backend: Backend) {
    let db = create_db(backend).await;
    let first = spawn_gateway(&db, |_| {}).await;
    let second = spawn_gateway(&db, |_| {}).await;

    let requests = (0..50).map(|i| {
        let mut body = sign_up_body(i);
        body["username"] = json!("contested");
        let instance = if i % 2 == 0 { &first } else { &second };
        async move { instance.sign_up(&body).await.status().as_u16() }
    });
    let statuses = join_all(requests).await;

    assert_eq!(statuses.len(), 50);
    signup_test_support::assert_one_created_others_conflict(&statuses);
    assert_eq!(first.count("SELECT COUNT(*) FROM accounts").await, 1);
    assert_eq!(second.count("SELECT COUNT(*) FROM outbox").await, 1);
}

async fn two_instances_deliver_each_mail_once(backend: Backend) {
    let db = create_db(backend).await;
    let first = spawn_gateway(&db, |_| {}).await;
    let second = spawn_gateway(&db, |_| {}).await;
    let requests = (0..20).map(|i| {
        let instance = if i % 2 == 0 { &first } else { &second };
        async move { instance.sign_up(&sign_up_body(i)).await.status().as_u16() }
    });
    assert!(join_all(requests).await.iter().all(|s| *s == 201));

    let all_delivered = crate::helpers::eventually(std::time::Duration::from_secs(15), || async {
        first
            .count("SELECT COUNT(*) FROM outbox WHERE status = 'delivered'")
            .await
            == 20
    })
    .await;
    assert!(all_delivered);
    // Both instances share one mail folder here: one file per outbox row, none sent twice.
    let files = std::fs::read_dir(&first.mail_dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .count();
    assert_eq!(files, 20);
    let delivered_once = first
        .services
        .metrics
        .outbox_messages
        .with_label_values(&["mail", "delivered"])
        .get()
        + second
            .services
            .metrics
            .outbox_messages
            .with_label_values(&["mail", "delivered"])
            .get();
    assert_eq!(
        delivered_once, 20,
        "each row was sent by exactly one instance"
    );
}

on_each_backend!(
    fifty_concurrent_sign_ups_across_two_instances_make_one_account,
    two_instances_deliver_each_mail_once,
);
