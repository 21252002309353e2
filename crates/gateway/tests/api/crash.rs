//! SIGKILL during a burst: every answered 201 has its row, every account its mail, and the
//! mail of the accounts committed before the crash is delivered after a restart.

use std::time::Duration;

use serde_json::Value;
use signup_core::{config::DatabaseSettings, store::Store};
use signup_test_support::{on_each_backend, Backend};
use sqlx::Row;

use crate::{
    helpers::{count, create_db, eventually, sign_up_body},
    process::GatewayProcess,
};

async fn sigkill_during_a_burst_loses_no_answered_sign_up_and_no_mail(backend: Backend) {
    let db = create_db(backend).await;
    let env = [
        ("SIGNUP__HASHING__MEMORY_KIB", "4096"),
        ("SIGNUP__HASHING__QUEUE", "512"),
        // The burst must queue, not be shed: this test is about what a kill loses.
        ("SIGNUP__HASHING__MAX_WAIT_MS", "600000"),
        ("SIGNUP__MAIL__LEASE_SECS", "2"),
    ];
    let gateway = GatewayProcess::start(&db, &env).await;
    let client = reqwest::Client::new();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for n in 0..150 {
        let request = client
            .post(format!("{}/conductor/auth/signup", gateway.address))
            .json(&sign_up_body(n))
            .send();
        let tx = tx.clone();
        tokio::spawn(async move {
            let answer = match request.await {
                Ok(response) if response.status().as_u16() == 201 => response
                    .json::<Value>()
                    .await
                    .ok()
                    .and_then(|b| b["data"]["id"].as_str().map(str::to_string)),
                _ => None,
            };
            let _ = tx.send(answer);
        });
    }
    drop(tx);

    let mut answered = Vec::new();
    let mut finished = 0;
    while let Some(answer) = rx.recv().await {
        finished += 1;
        if let Some(id) = answer {
            answered.push(id);
        }
        if answered.len() == 20 {
            break;
        }
    }
    drop(gateway); // SIGKILL
    while let Some(answer) = rx.recv().await {
        finished += 1;
        answered.extend(answer);
    }
    assert_eq!(finished, 150);
    assert!(
        answered.len() >= 20 && answered.len() < 150,
        "the kill landed mid-burst ({} answered)",
        answered.len()
    );

    let store = Store::connect(&DatabaseSettings {
        url: db.url().into(),
        ..Default::default()
    })
    .await
    .unwrap();
    for id in &answered {
        let found = sqlx::query("SELECT COUNT(*) FROM accounts WHERE id = $1")
            .bind(id)
            .fetch_one(store.pool())
            .await
            .unwrap()
            .get::<i64, _>(0);
        assert_eq!(found, 1, "answered account {id} is stored");
    }
    let orphans = count(&store, "SELECT COUNT(*) FROM outbox o LEFT JOIN accounts a ON a.id = o.account_id WHERE a.id IS NULL").await;
    assert_eq!(orphans, 0, "no outbox row without its account");
    let unmailed = count(&store, "SELECT COUNT(*) FROM accounts a WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.account_id = a.id)").await;
    assert_eq!(unmailed, 0, "no account without its mail");

    // A new instance delivers whatever the killed one had not.
    let accounts = count(&store, "SELECT COUNT(*) FROM accounts").await;
    let _restarted = GatewayProcess::start(&db, &env).await;
    let drained = eventually(Duration::from_secs(30), || {
        let store = store.clone();
        async move {
            count(
                &store,
                "SELECT COUNT(*) FROM outbox WHERE status = 'delivered'",
            )
            .await
                == accounts
        }
    })
    .await;
    assert!(drained, "every queued mail was delivered after the restart");
}

on_each_backend!(sigkill_during_a_burst_loses_no_answered_sign_up_and_no_mail);
