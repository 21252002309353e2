//! The cid on every log line of its request, and no secret in any line.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde_json::json;
use signup_test_support::{on_each_backend, Backend};

use crate::helpers::{sign_up_body, spawn_app};

/// Every log line of this test binary, as JSON, from the first call on.
fn captured() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&logs);
        let _ = tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || Writer(Arc::clone(&sink)))
            .try_init();
        logs
    })
    .clone()
}

struct Writer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Writer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn lines(logs: &Arc<Mutex<Vec<u8>>>) -> Vec<String> {
    String::from_utf8_lossy(&logs.lock().unwrap())
        .lines()
        .map(String::from)
        .collect()
}

async fn every_log_line_of_a_request_carries_its_cid_and_no_secret(backend: Backend) {
    let logs = captured();
    let app = spawn_app(backend).await;
    let body = sign_up_body("logged");
    let created = app.sign_up(&body).await;
    let token = created.confirm_token();
    let created_cid = created.cid();
    let mut short = sign_up_body("refused");
    short["password"] = json!("shortpw");
    let refused = app.sign_up(&short).await;
    refused.assert_error(403, "E003002");
    let refused_cid = refused.cid();
    let confirmed = app
        .confirm(true, &json!({"confirm_token": token, "current_app": "CRM"}))
        .await;
    confirmed.assert_ok();
    let confirmed_cid = confirmed.cid();
    tokio::time::sleep(Duration::from_millis(100)).await;

    let all = lines(&logs);
    let line = |cid: &str, message: &str| {
        all.iter()
            .find(|l| l.contains(message) && l.contains(cid))
            .cloned()
    };
    assert!(
        line(&created_cid, "Account created").is_some(),
        "core's line under the cid"
    );
    assert!(line(&refused_cid, "Zato SSO request refused").is_some());
    assert!(line(&confirmed_cid, "Sign-up confirmed").is_some());
    for l in &all {
        for secret in [
            body["password"].as_str().unwrap(),
            "shortpw",
            token.as_str(),
        ] {
            assert!(!l.contains(secret), "a secret in the log: {l}");
        }
    }
}

on_each_backend!(every_log_line_of_a_request_carries_its_cid_and_no_secret);
