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

async fn with_redis_two_instances_share_one_allowance_per_address(backend: Backend) {
    let Some(redis_url) = signup_test_support::redis_url() else {
        eprintln!("skipped: TEST_REDIS_URL is not set");
        return;
    };
    let db = create_db(backend).await;
    // A prefix of this test's own: other tests share the Redis server and the address.
    let prefix = format!("signup-test:{}:", uuid::Uuid::new_v4().simple());
    let shared = |s: &mut gateway::Settings| {
        s.rate_limit.store = signup_core::config::RateLimitStore::Redis;
        s.rate_limit.redis_url = redis_url.clone();
        s.rate_limit.redis_key_prefix = prefix.clone();
        s.rate_limit.per_ip_per_minute = 1;
        s.rate_limit.burst = 3;
    };
    let first = spawn_gateway(&db, shared).await;
    let second = spawn_gateway(&db, shared).await;
    let mut statuses = Vec::new();
    for i in 0..8 {
        let instance = if i % 2 == 0 { &first } else { &second };
        statuses.push(instance.sign_up(&sign_up_body(i)).await.status().as_u16());
    }
    assert_eq!(statuses, vec![201, 201, 201, 429, 429, 429, 429, 429]);
    assert_eq!(first.services.metrics.rate_limit_store_unavailable.get(), 0);
}

on_each_backend!(
    with_redis_two_instances_share_one_allowance_per_address,
    fifty_concurrent_sign_ups_across_two_instances_make_one_account,
    two_instances_deliver_each_mail_once,
);
