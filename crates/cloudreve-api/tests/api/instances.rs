//! Two gateway instances on one database: generated secrets, activation links and captcha
//! tickets are shared through it.

use serde_json::json;
use signup_test_support::{on_each_backend, Backend};

use crate::helpers::{
    activation_link, failure, spawn_app_with, spawn_second, success, valid_body, with_activation,
    with_captcha,
};

async fn a_link_mailed_by_one_instance_activates_on_another(backend: Backend) {
    // No salt nor secret configured: both are generated once and kept in the database.
    let first = spawn_app_with(backend, with_activation).await;
    let second = spawn_second(&first, with_activation).await;
    success(first.sign_up(&valid_body("a@example.com")).await).await;
    let (id, sign, _) = activation_link(&first.mails(1).await[0]);
    let body = success(second.activate(&id, Some(&sign)).await).await;
    assert_eq!(body["code"], 0, "{body}");
    assert_eq!(
        body["data"]["id"],
        json!(id),
        "both instances encode ids alike"
    );
    assert_eq!(body["data"]["group"]["name"], "Admin");
    // The second instance numbers on from the first.
    success(second.sign_up(&valid_body("b@example.com")).await).await;
    let (next_id, _, _) = activation_link(&second.mails(2).await[1]);
    assert_ne!(next_id, id);
    let got = failure(first.activate(&id, Some(&sign)).await, 200).await;
    assert_eq!(got["code"], 40034);
}

async fn a_ticket_issued_by_one_instance_is_checked_by_another(backend: Backend) {
    let first = spawn_app_with(backend, with_captcha).await;
    let second = spawn_second(&first, with_captcha).await;
    let (_, ticket) = first.captcha().await;
    let answer = first.captcha_answer(&ticket).await;
    let mut body = valid_body("a@example.com");
    body["ticket"] = json!(ticket);
    body["captcha"] = json!(answer);
    assert_eq!(success(second.sign_up(&body).await).await["code"], 0);
    // Spent on the second: refused on the first.
    body["email"] = json!("b@example.com");
    assert_eq!(
        failure(first.sign_up(&body).await, 200).await["code"],
        40026
    );
}

on_each_backend!(
    a_link_mailed_by_one_instance_activates_on_another,
    a_ticket_issued_by_one_instance_is_checked_by_another,
);
