//! Differential test: the same requests to a real FastAPI app (tests/reference/app.py, run
//! by uvicorn with the interpreter named by `INFERA_REFERENCE_PYTHON`) and to this flavour;
//! status and body must be equal byte for byte. Skipped when the variable is unset, unless
//! `SIGNUP_REQUIRE_REFERENCE=1` (CI sets both).

use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::Duration,
};

use crate::helpers::{answer, spawn_app, Answer};

struct Reference(Child);

impl Drop for Reference {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn start_reference(python: &str) -> (Reference, String) {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/reference");
    let child = Command::new(python)
        .args([
            "-m",
            "uvicorn",
            "app:app",
            "--app-dir",
            app_dir,
            "--port",
            &port.to_string(),
            "--log-level",
            "warning",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start uvicorn");
    let reference = Reference(child);
    let address = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client.get(format!("{address}/docs")).send().await.is_ok() {
            return (reference, address);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the FastAPI reference did not start");
}

/// Bodies whose answers must match: every 422 row, broken JSON with multi-byte text before
/// the fault, addresses valid and not, and bodies of other content types.
fn cases() -> Vec<(Vec<u8>, Option<&'static str>)> {
    let json = |s: &str| (s.as_bytes().to_vec(), Some("application/json"));
    let mut cases = vec![
        json(""),
        json("null"),
        json("{}"),
        json("[]"),
        json("5"),
        json(r#""x""#),
        json(r#"{"b":1,"a":"é","n":null}"#),
        json(r#"{"email":123}"#),
        json(r#"{"email":true}"#),
        json(r#"{"email":null}"#),
        json(r#"{"email":["a@b.com"]}"#),
        json(r#"{"email":{"x":1}}"#),
        json(r#"{"email":1.5}"#),
        json(r#"{"email": }"#),
        json(r#"{"email":"a@b.com",}"#),
        json(r#"{"email" "x"}"#),
        json(r#"{"email": "abc"#),
        json(r#"{"émail": }"#),
        json(r#"{"e":"日本語",}"#),
        json(r#"{"name":"Zoë 🎉", "email" 5}"#),
        json("["),
        json(r#"{"email":"a@b.com"} x"#),
        json("{\"email\":\"a\tb\"}"),
        json(r#"{"email":"\q"}"#),
        json("  "),
        json("{'email': 'x'}"),
        json("{\"email\":\"ada@example.com\"}\n{}"),
        json("\u{feff}{\"email\":\"ada@example.com\"}"),
        (
            br#"{"email":"ada@example.com"}"#.to_vec(),
            Some("text/plain"),
        ),
        (
            b"email=ada@example.com".to_vec(),
            Some("application/x-www-form-urlencoded"),
        ),
        (
            br#"{"email":"ada@example.com"}"#.to_vec(),
            Some("application/vnd.infera+json"),
        ),
        (br#"{"email":"ada@example.com"}"#.to_vec(), None),
        (b"".to_vec(), None),
    ];
    let addresses = [
        "jsmith@example.com",
        "  Ada@Example.COM ",
        "Ada Lovelace <ada@example.com>",
        "\"Ada\" <ada@example.com>",
        "foobar",
        "@example.com",
        "x@",
        "foobar@localhost",
        "foobar@127.0.0.1",
        "f oo@example.com",
        "a..b@example.com",
        ".a@example.com",
        "a.@example.com",
        "user@example.test",
        "user@printer.local",
        "user@x.onion",
        "ñoñó@example.com",
        "用户@例子.广告",
        "user@BÜCHER.de",
        "user@xn--bcher-kva.de",
        "postmaster@Example.com",
        "\"quoted\"@example.com",
        "user@[127.0.0.1]",
        "a@b_c.com",
        "a@-b.com",
        "a@b-.com",
        "a<b>@example.com",
        "a\\b@example.com",
    ];
    for address in addresses {
        cases.push((
            serde_json::json!({ "email": address })
                .to_string()
                .into_bytes(),
            Some("application/json"),
        ));
    }
    let long_label = format!("a@{}.com", "x".repeat(64));
    let long_local = format!("{}@example.com", "a".repeat(242));
    let too_long = format!("{}@example.com", "a".repeat(243));
    let huge = "a".repeat(2049);
    for address in [long_label, long_local, too_long, huge] {
        cases.push((
            serde_json::json!({ "email": address })
                .to_string()
                .into_bytes(),
            Some("application/json"),
        ));
    }
    cases
}

async fn send(
    client: &reqwest::Client,
    url: &str,
    body: &[u8],
    content_type: Option<&str>,
) -> Answer {
    let mut request = client.post(url).body(body.to_vec());
    if let Some(content_type) = content_type {
        request = request.header("Content-Type", content_type);
    }
    answer(request.send().await.expect("request")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_equals_fastapis_byte_for_byte() {
    let Some(python) = std::env::var("INFERA_REFERENCE_PYTHON")
        .ok()
        .filter(|p| !p.is_empty())
    else {
        assert!(
            std::env::var("SIGNUP_REQUIRE_REFERENCE").as_deref() != Ok("1"),
            "SIGNUP_REQUIRE_REFERENCE=1 but INFERA_REFERENCE_PYTHON is not set"
        );
        eprintln!("skipped: INFERA_REFERENCE_PYTHON is not set");
        return;
    };
    let (_reference, reference) = start_reference(&python).await;
    let app = spawn_app(signup_test_support::Backend::Sqlite).await;
    let client = reqwest::Client::new();
    let mut mismatches = Vec::new();
    for (body, content_type) in cases() {
        let theirs = send(
            &client,
            &format!("{reference}/signup_user"),
            &body,
            content_type,
        )
        .await;
        let ours = send(&client, &app.url("/signup_user"), &body, content_type).await;
        if (theirs.status, &theirs.body) != (ours.status, &ours.body) {
            mismatches.push(format!(
                "body {:?} ({content_type:?})\n  fastapi: {} {}\n  ours:    {} {}",
                String::from_utf8_lossy(&body),
                theirs.status,
                theirs.body,
                ours.status,
                ours.body
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}
