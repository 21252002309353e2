//! The `gateway` binary as an operator runs it.

use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::Duration,
};

use signup_test_support::{on_each_backend, Backend, TestDatabase};

use crate::helpers::{create_db, eventually, sign_up_body};

const BINARY: &str = env!("CARGO_BIN_EXE_gateway");

/// A running `gateway serve`, killed when dropped.
pub(crate) struct GatewayProcess {
    pub child: Child,
    pub address: String,
}

impl GatewayProcess {
    /// Starts the binary on `db` with a free port and file mail, plus `extra` variables.
    pub(crate) async fn start(db: &TestDatabase, extra: &[(&str, &str)]) -> Self {
        Self::start_logging(db, extra, None).await
    }

    /// [`GatewayProcess::start`], with the log (standard error) written to `log` if given.
    pub(crate) async fn start_logging(
        db: &TestDatabase,
        extra: &[(&str, &str)],
        log: Option<&std::path::Path>,
    ) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut command = Command::new(BINARY);
        command
            .env("SIGNUP__SERVER__LISTEN", format!("127.0.0.1:{port}"))
            .env("SIGNUP__DATABASE__URL", db.url())
            .env("SIGNUP__MAIL__TRANSPORT", "file")
            .env("SIGNUP__MAIL__DIR", db.dir().join("mail"))
            .env("SIGNUP__FLAVOURS__TIMBU__MEDIA_DIR", db.dir().join("media"))
            .env("SIGNUP__MAIL__POLL_INTERVAL_MS", "50")
            .env("SIGNUP__HASHING__MEMORY_KIB", "256")
            .env("SIGNUP__HASHING__ITERATIONS", "1")
            .env("SIGNUP__RATE_LIMIT__PER_IP_PER_MINUTE", "0")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(match log {
                Some(path) => {
                    Stdio::from(std::fs::File::create(path).expect("create the log file"))
                }
                None => Stdio::null(),
            });
        for (key, value) in extra {
            command.env(key, value);
        }
        let child = command.spawn().expect("start the gateway binary");
        let process = Self {
            child,
            address: format!("http://127.0.0.1:{port}"),
        };
        let client = reqwest::Client::new();
        let url = format!("{}/healthz", process.address);
        let up = eventually(Duration::from_secs(30), || {
            let request = client.get(&url).send();
            async move { request.await.is_ok_and(|r| r.status().is_success()) }
        })
        .await;
        assert!(up, "the gateway answered /healthz");
        process
    }

    pub(crate) fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([format!("-{signal}"), self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run_cli(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut command = Command::new(BINARY);
    command.args(args).env("RUST_LOG", "off");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("run the gateway binary")
}

#[test]
fn the_config_command_prints_the_effective_config_with_secrets_masked() {
    let output = run_cli(
        &["config"],
        &[
            ("SIGNUP__TOKENS__SECRET", "super-secret-value-123"),
            ("SIGNUP__MAIL__SMTP__PASSWORD", "smtp-pass-456"),
            ("SIGNUP__HASHING__MEMORY_KIB", "8192"),
            ("SIGNUP__FLAVOURS__CONDUCTOR__MOUNT", "/c"),
        ],
    );
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        !text.contains("super-secret-value-123") && !text.contains("smtp-pass-456"),
        "{text}"
    );
    assert!(text.contains("secret = \"<redacted>\""), "{text}");
    assert!(text.contains("memory_kib = 8192"), "{text}");
    assert!(text.contains("mount = \"/c\""), "{text}");
    assert!(text.contains("url = \"sqlite://data/signup.db\""), "{text}");
}

#[test]
fn an_unknown_configuration_key_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gateway.toml");
    std::fs::write(&file, "[hashing]\nmemory_kb = 1024\n").unwrap();
    let output = run_cli(&["--config", file.to_str().unwrap(), "config"], &[]);
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("memory_kb"), "{stderr}");

    let output = run_cli(&["config"], &[("SIGNUP__SERVER__LISTENING", "x")]);
    assert!(!output.status.success());
    assert!(String::from_utf8(output.stderr)
        .unwrap()
        .contains("listening"));
}

#[test]
fn the_production_profile_refuses_to_start_without_a_token_secret() {
    let output = run_cli(&["config"], &[("SIGNUP__PROFILE", "production")]);
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("needs an explicit token secret"),
        "{stderr}"
    );

    let output = run_cli(
        &["config"],
        &[
            ("SIGNUP__PROFILE", "production"),
            (
                "SIGNUP__TOKENS__SECRET",
                "change-me-to-a-long-random-secret",
            ),
        ],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("tokens.secret is a documented placeholder"),
        "{stderr}"
    );

    let output = run_cli(
        &["config"],
        &[
            ("SIGNUP__PROFILE", "production"),
            (
                "SIGNUP__TOKENS__SECRET",
                "a-long-random-secret-of-at-least-32-bytes",
            ),
        ],
    );
    assert!(output.status.success());
}

async fn the_migrate_command_prepares_the_database(backend: Backend) {
    let db = create_db(backend).await;
    let output = run_cli(&["migrate"], &[("SIGNUP__DATABASE__URL", db.url())]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let store = signup_core::store::Store::connect(&signup_core::config::DatabaseSettings {
        url: db.url().into(),
        ..Default::default()
    })
    .await
    .unwrap();
    assert!(store.migrations_applied().await.unwrap());
}

async fn sigterm_lets_an_in_flight_sign_up_finish_then_exits(backend: Backend) {
    let db = create_db(backend).await;
    // Slow hashes, so the request is still being served when the signal arrives.
    let mut gateway = GatewayProcess::start(
        &db,
        &[
            ("SIGNUP__HASHING__MEMORY_KIB", "65536"),
            ("SIGNUP__HASHING__ITERATIONS", "6"),
        ],
    )
    .await;
    let client = reqwest::Client::new();
    let request = client
        .post(format!("{}/conductor/auth/signup", gateway.address))
        .json(&sign_up_body(1))
        .send();
    let in_flight = tokio::spawn(request);
    tokio::time::sleep(Duration::from_millis(150)).await;
    gateway.signal("TERM");

    let response = in_flight
        .await
        .unwrap()
        .expect("the in-flight request was answered");
    assert_eq!(response.status().as_u16(), 201);
    let exited = eventually(Duration::from_secs(20), || {
        let done = gateway.child.try_wait().ok().flatten();
        async move { done.is_some() }
    })
    .await;
    assert!(exited, "the gateway exited after SIGTERM");
    assert!(gateway.child.wait().unwrap().success());
}

on_each_backend!(
    the_migrate_command_prepares_the_database,
    sigterm_lets_an_in_flight_sign_up_finish_then_exits
);

async fn operators_list_and_retry_dead_outbox_rows(backend: Backend) {
    let db = create_db(backend).await;
    let url = [("SIGNUP__DATABASE__URL", db.url())];
    assert!(run_cli(&["migrate"], &url).status.success());
    let store = signup_core::store::Store::connect(&signup_core::config::DatabaseSettings {
        url: db.url().into(),
        ..Default::default()
    })
    .await
    .unwrap();
    for (id, status) in [
        ("0001-dead", "dead"),
        ("0002-pending", "pending"),
        ("0003-dead", "dead"),
    ] {
        sqlx::query(
            "INSERT INTO outbox (id, account_id, kind, payload, status, attempts, next_attempt_at, last_error, created_at) \
             VALUES ($1, NULL, 'mail', '{\"to\":\"ada@example.com\",\"subject\":\"s\",\"text\":\"t\"}', $2, 8, 0, '550 mailbox unavailable', 0)",
        )
        .bind(id)
        .bind(status)
        .execute(store.pool())
        .await
        .unwrap();
    }

    let listed = run_cli(&["outbox", "list", "--dead"], &url);
    assert!(listed.status.success());
    let text = String::from_utf8(listed.stdout).unwrap();
    assert!(
        text.contains("0001-dead") && text.contains("0003-dead") && !text.contains("0002-pending"),
        "{text}"
    );
    assert!(
        text.contains("ada@example.com") && text.contains("550 mailbox unavailable"),
        "{text}"
    );
    assert!(text.contains("2 row(s)"), "{text}");
    let all = String::from_utf8(run_cli(&["outbox", "list"], &url).stdout).unwrap();
    assert!(
        all.contains("0002-pending") && all.contains("3 row(s)"),
        "{all}"
    );

    let one = run_cli(&["outbox", "retry", "0001-dead"], &url);
    assert!(one.status.success());
    assert_eq!(
        String::from_utf8(one.stdout).unwrap(),
        "1 row(s) queued again\n"
    );
    let missing = run_cli(&["outbox", "retry", "0002-pending"], &url);
    assert!(!missing.status.success(), "only dead rows are revived");
    let rest = run_cli(&["outbox", "retry", "--all-dead"], &url);
    assert_eq!(
        String::from_utf8(rest.stdout).unwrap(),
        "1 row(s) queued again\n"
    );
    let dead = signup_test_support::count(
        store.pool(),
        "SELECT COUNT(*) FROM outbox WHERE status = 'dead'",
    )
    .await;
    let fresh = signup_test_support::count(
        store.pool(),
        "SELECT COUNT(*) FROM outbox WHERE status = 'pending' AND attempts = 0",
    )
    .await;
    assert_eq!((dead, fresh), (0, 2));
}

on_each_backend!(operators_list_and_retry_dead_outbox_rows);

#[test]
fn webhook_endpoints_without_a_secret_are_refused() {
    let output = run_cli(
        &["config"],
        &[(
            "SIGNUP__WEBHOOKS__ENDPOINTS__CONDUCTOR",
            "https://hooks.example.org/a",
        )],
    );
    assert!(!output.status.success());
    assert!(String::from_utf8(output.stderr)
        .unwrap()
        .contains("webhooks.secret"));
    let output = run_cli(
        &["config"],
        &[
            (
                "SIGNUP__WEBHOOKS__ENDPOINTS__CONDUCTOR",
                "https://hooks.example.org/a,https://hooks.example.org/b",
            ),
            ("SIGNUP__WEBHOOKS__SECRET", "whsec-123456"),
        ],
    );
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.contains("https://hooks.example.org/b") && !text.contains("whsec-123456"),
        "{text}"
    );
}
