//! Mail over TLS against the test SMTP server with a certificate from a CA made here: trusted
//! through `mail.smtp.extra_root_certs` it delivers, over STARTTLS and implicit TLS; an
//! untrusted certificate, or a server without STARTTLS, is a temporary failure that ends
//! `dead` with a clear error, and nothing ever goes in plaintext.

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use secrecy::SecretString;
use signup_core::{
    config::{MailSettings, SmtpTls},
    outbox::OutboxWorker,
    Accounts, Metrics,
};
use signup_test_support::{
    on_each_backend,
    smtp::{TestSmtpServer, TlsMode},
    tls::TestCa,
    Backend, TestDatabase,
};

use crate::{
    accounts_on,
    delivery::{sign_up, smtp_settings, status_of_the_only_row, worker},
};

const LIMIT: Duration = Duration::from_secs(5);

/// What the last error of a mail says when the server's certificate is from an unknown CA.
const NOT_TRUSTED: &str = "temporary delivery failure: TLS: the certificate of the SMTP server \
                           127.0.0.1 is not trusted: it is not signed by a known CA";

/// SMTP to 127.0.0.1 (a name the test certificates list) secured as `tls`, trusting the CA
/// certificates in `roots` besides the built-in ones.
fn tls_settings(port: u16, tls: SmtpTls, roots: Option<PathBuf>) -> MailSettings {
    let mut mail = smtp_settings(port);
    mail.smtp.tls = tls;
    mail.smtp.extra_root_certs = roots;
    mail
}

/// Runs worker passes until the only row is no longer pending. Between attempts only a
/// backoff of a few milliseconds of wall time passes, which nothing signals: hence the
/// short pause when nothing was due.
async fn until_settled(
    worker: &OutboxWorker,
    accounts: &Accounts,
) -> (String, i64, Option<String>) {
    let deadline = Instant::now() + LIMIT;
    loop {
        let handled = worker.deliver_due().await.unwrap();
        let row = status_of_the_only_row(accounts).await;
        if row.0 != "pending" || Instant::now() > deadline {
            return row;
        }
        if handled == 0 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

async fn a_mail_goes_over_starttls_to_a_server_whose_ca_is_trusted(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let accounts = accounts_on(&db).await;
    let ca = TestCa::new("signup-gateway test CA");
    let server = TestSmtpServer::start_tls(vec![], TlsMode::Starttls, ca.server_config()).await;
    let mut mail = tls_settings(
        server.port(),
        SmtpTls::Starttls,
        Some(ca.write_pem(db.dir())),
    );
    // Credentials only ever cross the upgraded connection.
    mail.smtp.username = "mailer".into();
    mail.smtp.password = Some(SecretString::from("s3cret"));
    let worker = worker(&accounts, &mail, &Metrics::new());
    sign_up(&accounts, 1).await;

    assert_eq!(worker.deliver_due().await.unwrap(), 1);

    assert!(server.wait_for(1, LIMIT).await);
    let received = server.received();
    assert_eq!(received.len(), 1, "delivered once");
    assert!(received[0].tls, "after STARTTLS");
    assert_eq!(received[0].auth_user.as_deref(), Some("mailer"));
    assert_eq!(received[0].to, ["user0@example.com"]);
    assert!(received[0].data.contains("Hello in text"));
    assert!(
        server.tls_failures().is_empty(),
        "{:?}",
        server.tls_failures()
    );
    assert_eq!(
        status_of_the_only_row(&accounts).await,
        ("delivered".into(), 1, None)
    );
}

async fn a_mail_goes_over_implicit_tls_to_a_server_whose_ca_is_in_a_bundle(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let accounts = accounts_on(&db).await;
    let ca = TestCa::new("signup-gateway test CA");
    let unrelated = TestCa::new("some other private CA");
    // One file, several CAs: the server's is the second.
    let bundle = db.dir().join("bundle.pem");
    std::fs::write(&bundle, format!("{}{}", unrelated.pem(), ca.pem())).unwrap();
    let server = TestSmtpServer::start_tls(vec![], TlsMode::Implicit, ca.server_config()).await;
    let mail = tls_settings(server.port(), SmtpTls::Tls, Some(bundle));
    let worker = worker(&accounts, &mail, &Metrics::new());
    sign_up(&accounts, 1).await;

    assert_eq!(worker.deliver_due().await.unwrap(), 1);

    assert!(server.wait_for(1, LIMIT).await);
    let received = server.received();
    assert_eq!(received.len(), 1, "delivered once");
    assert!(received[0].tls, "implicit TLS");
    assert!(received[0].data.contains("Hello in text"));
    assert!(
        server.tls_failures().is_empty(),
        "{:?}",
        server.tls_failures()
    );
    assert_eq!(
        status_of_the_only_row(&accounts).await,
        ("delivered".into(), 1, None)
    );
}

/// The server presents a certificate from a CA the gateway does not trust (it trusts
/// another one): every attempt fails in the handshake, and the mail ends `dead`.
async fn an_untrusted_certificate_ends_dead_and_nothing_goes_in_plaintext(
    backend: Backend,
    mode: TlsMode,
) {
    let db = TestDatabase::create(backend).await;
    let accounts = accounts_on(&db).await;
    let trusted = TestCa::new("the CA the gateway trusts");
    let impostor = TestCa::new("a CA nobody trusts");
    let server = TestSmtpServer::start_tls(vec![], mode, impostor.server_config()).await;
    let tls = match mode {
        TlsMode::Starttls => SmtpTls::Starttls,
        TlsMode::Implicit => SmtpTls::Tls,
    };
    let mail = tls_settings(server.port(), tls, Some(trusted.write_pem(db.dir())));
    let metrics = Metrics::new();
    let worker = worker(&accounts, &mail, &metrics);
    sign_up(&accounts, 1).await;

    let (status, attempts, error) = until_settled(&worker, &accounts).await;

    let error = error.unwrap_or_default();
    assert_eq!(
        (status.as_str(), attempts),
        ("dead", 3),
        "max_attempts = 3: {error}"
    );
    assert!(error.starts_with(NOT_TRUSTED), "{error}");
    assert!(error.contains("UnknownIssuer"), "{error}");
    assert_eq!(
        metrics
            .outbox_messages
            .with_label_values(&["mail", "retried"])
            .get(),
        2,
        "a temporary failure, retried"
    );
    // The server saw three handshakes refused for its certificate, and no message at all.
    assert!(server.wait_for_tls_failures(3, LIMIT).await);
    let failures = server.tls_failures();
    assert_eq!(failures.len(), 3, "{failures:?}");
    assert!(
        failures.iter().all(|f| f.contains("UnknownCA")),
        "the client refused the certificate: {failures:?}"
    );
    assert_eq!(server.attempts(), 0, "no DATA, in plaintext or otherwise");
    assert!(server.received().is_empty());
}

async fn an_untrusted_certificate_over_starttls_ends_dead(backend: Backend) {
    an_untrusted_certificate_ends_dead_and_nothing_goes_in_plaintext(backend, TlsMode::Starttls)
        .await;
}

async fn an_untrusted_certificate_over_implicit_tls_ends_dead(backend: Backend) {
    an_untrusted_certificate_ends_dead_and_nothing_goes_in_plaintext(backend, TlsMode::Implicit)
        .await;
}

async fn starttls_against_a_server_without_it_sends_nothing_in_plaintext(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let accounts = accounts_on(&db).await;
    let ca = TestCa::new("signup-gateway test CA");
    // Plain SMTP: no STARTTLS in its EHLO reply, and it would take mail in plaintext.
    let server = TestSmtpServer::start(vec![]).await;
    let mut mail = tls_settings(
        server.port(),
        SmtpTls::Starttls,
        Some(ca.write_pem(db.dir())),
    );
    mail.smtp.username = "mailer".into();
    mail.smtp.password = Some(SecretString::from("s3cret"));
    let worker = worker(&accounts, &mail, &Metrics::new());
    sign_up(&accounts, 1).await;

    let (status, attempts, error) = until_settled(&worker, &accounts).await;

    let error = error.unwrap_or_default();
    assert_eq!((status.as_str(), attempts), ("dead", 3), "{error}");
    assert!(
        error.starts_with(
            "temporary delivery failure: TLS: the SMTP server 127.0.0.1 does not offer STARTTLS"
        ),
        "{error}"
    );
    assert_eq!(server.attempts(), 0, "no DATA in plaintext");
    assert!(server.received().is_empty());
}

on_each_backend!(
    a_mail_goes_over_starttls_to_a_server_whose_ca_is_trusted,
    a_mail_goes_over_implicit_tls_to_a_server_whose_ca_is_in_a_bundle,
    an_untrusted_certificate_over_starttls_ends_dead,
    an_untrusted_certificate_over_implicit_tls_ends_dead,
    starttls_against_a_server_without_it_sends_nothing_in_plaintext,
);
