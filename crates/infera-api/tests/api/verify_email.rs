use futures_util::future::join_all;
use signup_test_support::{on_each_backend, Backend};

use crate::helpers::{link_query, spawn_app, spawn_app_with};

const INVALID: &str = r#"{"detail":"Invalid or expired verification token"}"#;

async fn a_missing_token_is_a_query_validation_error(backend: Backend) {
    let app = spawn_app(backend).await;
    let expected = r#"{"detail":[{"type":"missing","loc":["query","token"],"msg":"Field required","input":null}]}"#;
    for query in ["", "?other=1"] {
        let answer = app.verify(query).await;
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (422, expected),
            "{query}"
        );
    }
}

async fn unknown_and_empty_tokens_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    for query in [
        "?token=nope",
        "?token=",
        "?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ] {
        let answer = app.verify(query).await;
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (400, INVALID),
            "{query}"
        );
    }
}

async fn an_expired_link_is_refused_and_the_account_stays_pending(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.flavours.verification_ttl_secs = 0).await;
    assert_eq!(app.sign_up("ada@example.com").await.status, 200);
    let mails = app.mails(1).await;
    let answer = app.verify(&link_query(&mails[0])).await;
    assert_eq!((answer.status, answer.body.as_str()), (400, INVALID));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM accounts WHERE status = 'pending_verification'")
            .await,
        1
    );
}

async fn of_concurrent_clicks_on_one_link_exactly_one_verifies(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_eq!(app.sign_up("ada@example.com").await.status, 200);
    let query = link_query(&app.mails(1).await[0]);
    let answers = join_all((0..8).map(|_| app.verify(&query))).await;
    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 400).count(),
        7,
        "{statuses:?}"
    );
}

async fn the_link_answer_keeps_its_token_out_of_referers_and_is_never_sniffed(backend: Backend) {
    let app = spawn_app(backend).await;
    for query in ["?token=unknown", ""] {
        let response = app
            .client
            .get(app.url(&format!("/verify_email{query}")))
            .send()
            .await
            .unwrap();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(String::from)
        };
        assert_eq!(header("referrer-policy").as_deref(), Some("no-referrer"));
        assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"));
    }
}

on_each_backend!(
    the_link_answer_keeps_its_token_out_of_referers_and_is_never_sniffed,
    a_missing_token_is_a_query_validation_error,
    unknown_and_empty_tokens_are_refused,
    an_expired_link_is_refused_and_the_account_stays_pending,
    of_concurrent_clicks_on_one_link_exactly_one_verifies,
);
