//! Mail delivery: the log, file and SMTP transports.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::Context;
use lettre::{
    message::{Mailbox, MultiPart, SinglePart},
    transport::smtp::{
        authentication::Credentials,
        client::{Certificate, Tls, TlsParameters},
    },
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
};
use rustls::pki_types::{pem::PemObject, CertificateDer};
use secrecy::ExposeSecret;

use super::{DeliveryError, OutgoingMail};
use crate::config::{MailSettings, MailTransport, SmtpSettings, SmtpTls};

/// Where mail goes.
#[derive(Clone)]
pub enum Mailer {
    /// Each mail, links included, becomes a log line (development).
    Log { from: String },
    /// Each mail becomes `<dir>/<outbox id>.eml` (tests, and a local inbox).
    File { dir: PathBuf, from: String },
    /// Each mail goes over SMTP.
    Smtp(Box<SmtpMailer>),
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Log { from } => f.debug_struct("Log").field("from", from).finish(),
            Self::File { dir, from } => f
                .debug_struct("File")
                .field("dir", dir)
                .field("from", from)
                .finish(),
            Self::Smtp(smtp) => f
                .debug_struct("Smtp")
                .field("from", &smtp.from.to_string())
                .finish(),
        }
    }
}

/// An SMTP relay (lettre, async) and the sender.
#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The part after `@` in every `Message-ID`.
    id_domain: String,
    /// A whole send; lettre's own timeout covers only the connection.
    timeout: Duration,
    /// For error messages: the relay, and how the connection is secured.
    host: String,
    tls: SmtpTls,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // No credentials: lettre's transport (which holds them) is left out.
        f.debug_struct("SmtpMailer")
            .field("from", &self.from.to_string())
            .field("host", &self.host)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

impl SmtpMailer {
    pub fn new(settings: &MailSettings) -> anyhow::Result<Self> {
        let smtp = &settings.smtp;
        let plain = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host);
        let mut builder = match smtp.tls {
            SmtpTls::None => plain,
            // Required: a server that does not offer STARTTLS, or whose certificate does not
            // verify, gets no mail; never a fallback to plaintext.
            SmtpTls::Starttls => plain.tls(Tls::Required(tls_parameters(smtp)?)),
            SmtpTls::Tls => plain.tls(Tls::Wrapper(tls_parameters(smtp)?)),
        }
        .port(smtp.port)
        .timeout(Some(Duration::from_secs(smtp.timeout_secs.max(1))));
        if !smtp.username.is_empty() {
            let password = smtp
                .password
                .as_ref()
                .map(|p| p.expose_secret().to_string())
                .unwrap_or_default();
            builder = builder.credentials(Credentials::new(smtp.username.clone(), password));
        }
        let name = if settings.from_name.is_empty() {
            settings.site_name.clone()
        } else {
            settings.from_name.clone()
        };
        let address: lettre::Address = settings
            .from
            .parse()
            .with_context(|| format!("mail.from is not an address: {:?}", settings.from))?;
        Ok(Self {
            transport: builder.build(),
            timeout: Duration::from_secs(smtp.timeout_secs.max(1)),
            id_domain: address.domain().to_string(),
            from: Mailbox::new(Some(name), address),
            host: smtp.host.clone(),
            tls: smtp.tls,
        })
    }

    async fn send(&self, id: &str, mail: &OutgoingMail) -> Result<(), DeliveryError> {
        let to: Mailbox = mail
            .to
            .parse()
            .map_err(|e| DeliveryError::Permanent(format!("recipient {:?}: {e}", mail.to)))?;
        let builder = Message::builder()
            // The outbox row names the mail: a retried mail keeps its Message-ID.
            .message_id(Some(format!("<{id}@{}>", self.id_domain)))
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone());
        let message = match &mail.html {
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(
                mail.text.clone(),
                html.clone(),
            )),
            None => builder.singlepart(SinglePart::plain(mail.text.clone())),
        }
        .map_err(|e| DeliveryError::Permanent(format!("could not build the message: {e}")))?;
        match tokio::time::timeout(self.timeout, self.transport.send(message)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) if e.is_permanent() => Err(DeliveryError::Permanent(e.to_string())),
            // 4xx replies, refused or dropped connections, failed TLS: try again later (a
            // relay's certificate or STARTTLS may be fixed before the attempts run out).
            Ok(Err(e)) => Err(DeliveryError::Transient(self.describe(&e))),
            Err(_) => Err(DeliveryError::Transient(format!(
                "no answer from the SMTP server within {} s",
                self.timeout.as_secs()
            ))),
        }
    }
}

impl SmtpMailer {
    /// lettre's error, led by what an operator needs to know when TLS was the problem.
    fn describe(&self, error: &lettre::transport::smtp::Error) -> String {
        let host = &self.host;
        if let Some(tls) = rustls_error(error) {
            use rustls::{CertificateError, Error as TlsError};
            let why = match tls {
                TlsError::InvalidCertificate(CertificateError::UnknownIssuer) => format!(
                    "the certificate of the SMTP server {host} is not trusted: it is not \
                     signed by a known CA (a private CA goes in mail.smtp.extra_root_certs)"
                ),
                TlsError::InvalidCertificate(
                    CertificateError::NotValidForName
                    | CertificateError::NotValidForNameContext { .. },
                ) => format!(
                    "the certificate of the SMTP server is not valid for the name {host} \
                     (mail.smtp.host must be a name the certificate lists)"
                ),
                TlsError::InvalidCertificate(
                    CertificateError::Expired | CertificateError::ExpiredContext { .. },
                ) => format!("the certificate of the SMTP server {host} has expired"),
                TlsError::InvalidCertificate(_) => {
                    format!("the certificate of the SMTP server {host} is not trusted")
                }
                _ => format!("the TLS handshake with the SMTP server {host} failed"),
            };
            return format!("TLS: {why}; {error}");
        }
        if self.tls == SmtpTls::Starttls
            && error.is_client()
            && error.to_string().contains("STARTTLS")
        {
            return format!(
                "TLS: the SMTP server {host} does not offer STARTTLS and mail.smtp.tls = \
                 \"starttls\" sends nothing in plaintext; {error}"
            );
        }
        error.to_string()
    }
}

/// The rustls error under a lettre error, if a TLS handshake failed. (lettre wraps it in an
/// `io::Error`, whose `source` skips the error it carries, hence the look inside each one.)
fn rustls_error<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(tls) = error.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(tls) = error
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return Some(tls);
        }
        next = error.source();
    }
    None
}

/// The TLS parameters for `starttls` and `tls`: the built-in roots, plus the CAs of
/// `mail.smtp.extra_root_certs`.
fn tls_parameters(smtp: &SmtpSettings) -> anyhow::Result<TlsParameters> {
    let mut builder = TlsParameters::builder(smtp.host.clone());
    if let Some(path) = &smtp.extra_root_certs {
        for cert in read_root_certs(path)? {
            builder = builder.add_root_certificate(cert);
        }
    }
    let parameters = builder.build_rustls();
    match &smtp.extra_root_certs {
        Some(path) => parameters.with_context(|| {
            format!(
                "mail.smtp.extra_root_certs: a certificate in {} is not a usable CA",
                path.display()
            )
        }),
        None => parameters.context("could not set up TLS for mail.smtp"),
    }
}

/// The certificates of a PEM file: at least one, each a well-formed `CERTIFICATE` block.
fn read_root_certs(path: &Path) -> anyhow::Result<Vec<Certificate>> {
    let pem = std::fs::read(path).with_context(|| {
        format!(
            "mail.smtp.extra_root_certs: could not read {}",
            path.display()
        )
    })?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            anyhow::anyhow!(
                "mail.smtp.extra_root_certs: {} is not a PEM file of certificates: {e}",
                path.display()
            )
        })?;
    if certs.is_empty() {
        anyhow::bail!(
            "mail.smtp.extra_root_certs: {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            path.display()
        );
    }
    certs
        .into_iter()
        .map(|der| {
            Certificate::from_der(der.to_vec()).with_context(|| {
                format!(
                    "mail.smtp.extra_root_certs: a certificate in {}",
                    path.display()
                )
            })
        })
        .collect()
}

impl Mailer {
    pub fn from_settings(settings: &MailSettings) -> anyhow::Result<Self> {
        match settings.transport {
            MailTransport::Log => Ok(Self::Log {
                from: settings.from.clone(),
            }),
            MailTransport::File => {
                std::fs::create_dir_all(&settings.dir).with_context(|| {
                    format!(
                        "could not create the mail folder {}",
                        settings.dir.display()
                    )
                })?;
                Ok(Self::File {
                    dir: settings.dir.clone(),
                    from: settings.from.clone(),
                })
            }
            MailTransport::Smtp => Ok(Self::Smtp(Box::new(SmtpMailer::new(settings)?))),
        }
    }

    /// Delivers one mail; `id` is its outbox row, stable across retries.
    pub async fn send(&self, id: &str, mail: &OutgoingMail) -> Result<(), DeliveryError> {
        match self {
            Self::Log { from } => {
                tracing::info!(
                    outbox_id = %id, %from, to = %mail.to, subject = %mail.subject,
                    "Mail (log transport):\n{}", mail.text
                );
                Ok(())
            }
            Self::File { dir, from } => {
                let message = render_eml(id, from, mail);
                let final_path = dir.join(format!("{id}.eml"));
                let temp_path = dir.join(format!(".{id}.eml.tmp"));
                // Write then rename, so a reader never sees half a mail.
                tokio::fs::write(&temp_path, message)
                    .await
                    .map_err(|e| DeliveryError::Transient(e.to_string()))?;
                tokio::fs::rename(&temp_path, &final_path)
                    .await
                    .map_err(|e| DeliveryError::Transient(e.to_string()))
            }
            Self::Smtp(smtp) => smtp.send(id, mail).await,
        }
    }
}

fn render_eml(id: &str, from: &str, mail: &OutgoingMail) -> String {
    format!(
        "Message-ID: <{id}@signup-gateway>\r\nDate: {date}\r\nFrom: {from}\r\nTo: {to}\r\nSubject: {subject}\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}",
        date = chrono::Utc::now().to_rfc2822(),
        to = mail.to,
        subject = mail.subject,
        body = mail.text.replace('\n', "\r\n"),
    )
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;

    fn smtp(tls: SmtpTls, roots: Option<PathBuf>) -> MailSettings {
        let mut mail = MailSettings {
            transport: MailTransport::Smtp,
            from: "signup@example.org".into(),
            ..MailSettings::default()
        };
        mail.smtp.tls = tls;
        mail.smtp.extra_root_certs = roots;
        mail
    }

    fn start_up_error(mail: &MailSettings) -> String {
        format!("{:#}", Mailer::from_settings(mail).expect_err("refused"))
    }

    #[test]
    fn an_unreadable_root_file_stops_the_start_naming_it() {
        let missing = PathBuf::from("/nonexistent/relay-ca.pem");
        for tls in [SmtpTls::Starttls, SmtpTls::Tls] {
            let error = start_up_error(&smtp(tls, Some(missing.clone())));
            assert!(
                error.starts_with(
                    "mail.smtp.extra_root_certs: could not read /nonexistent/relay-ca.pem"
                ),
                "{error}"
            );
        }
    }

    #[test]
    fn a_root_file_without_pem_certificates_stops_the_start_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            ("empty.pem", "".to_owned()),
            ("text.pem", "not a certificate\n".to_owned()),
            (
                "key.pem",
                "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n"
                    .to_owned(),
            ),
        ];
        for (name, content) in cases {
            let path = dir.path().join(name);
            std::fs::write(&path, content).unwrap();
            let error = start_up_error(&smtp(SmtpTls::Starttls, Some(path.clone())));
            assert!(
                error.contains(&format!(
                    "mail.smtp.extra_root_certs: {} holds no PEM certificate",
                    path.display()
                )),
                "{name}: {error}"
            );
        }
        // A CERTIFICATE block whose content is not a certificate.
        let path = dir.path().join("garbage.pem");
        std::fs::write(
            &path,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let error = start_up_error(&smtp(SmtpTls::Tls, Some(path.clone())));
        assert!(
            error.contains(&format!(
                "mail.smtp.extra_root_certs: a certificate in {} is not a usable CA",
                path.display()
            )),
            "{error}"
        );
    }

    // lettre's pool lives on the Tokio runtime.
    #[tokio::test]
    async fn plain_smtp_does_not_read_the_root_file() {
        let mail = smtp(SmtpTls::None, Some("/nonexistent/relay-ca.pem".into()));
        assert!(Mailer::from_settings(&mail).is_ok());
    }

    #[tokio::test]
    async fn the_debug_form_holds_no_credentials() {
        let mut mail = smtp(SmtpTls::Starttls, None);
        mail.smtp.username = "mailer".into();
        mail.smtp.password = Some(SecretString::from("hunter2-smtp"));
        let mailer = Mailer::from_settings(&mail).unwrap();
        let shown = format!("{mailer:?} {:?}", mail.smtp);
        assert!(!shown.contains("hunter2-smtp"), "{shown}");
    }
}
