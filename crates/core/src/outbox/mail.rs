//! Mail delivery: the log, file and SMTP transports.

use std::{path::PathBuf, time::Duration};

use anyhow::Context;
use lettre::{
    message::{Mailbox, MultiPart, SinglePart},
    transport::smtp::authentication::Credentials,
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
};
use secrecy::ExposeSecret;

use super::{DeliveryError, OutgoingMail};
use crate::config::{MailSettings, MailTransport, SmtpTls};

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
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl SmtpMailer {
    pub fn new(settings: &MailSettings) -> anyhow::Result<Self> {
        let smtp = &settings.smtp;
        let mut builder = match smtp.tls {
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host),
            SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)
                .context("invalid mail.smtp.host for STARTTLS")?,
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host)
                .context("invalid mail.smtp.host for TLS")?,
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
            // 4xx replies, refused or dropped connections: try again later.
            Ok(Err(e)) => Err(DeliveryError::Transient(e.to_string())),
            Err(_) => Err(DeliveryError::Transient(format!(
                "no answer from the SMTP server within {} s",
                self.timeout.as_secs()
            ))),
        }
    }
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
