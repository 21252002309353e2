//! A scriptable SMTP server for delivery tests.
//!
//! It speaks enough of RFC 5321 (plus `AUTH PLAIN` and `AUTH LOGIN`) for an SMTP client such
//! as `lettre`'s async transport, and answers each message (each `DATA`) with the next
//! [`Behaviour`] of its script. [`TestSmtpServer::start`] speaks plain SMTP;
//! [`TestSmtpServer::start_tls`] adds TLS, either upgraded with `STARTTLS` or from the first
//! byte ([`TlsMode`]), with a certificate from a CA the test made ([`crate::tls::TestCa`]).
//!
//! ```no_run
//! # async fn example() {
//! use signup_test_support::smtp::{Behaviour, TestSmtpServer};
//! let server = TestSmtpServer::start(vec![Behaviour::Defer]).await;
//! // ... point the code under test at 127.0.0.1:server.port() ...
//! assert!(server.wait_for(1, std::time::Duration::from_secs(2)).await);
//! assert_eq!(server.attempts(), 2);
//! # }
//! ```

use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::{rustls::ServerConfig, TlsAcceptor};

/// How the server answers the end of one message's `DATA`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// 250 after DATA: the message is accepted and recorded.
    Accept,
    /// 451 after DATA (a temporary failure): not recorded.
    Defer,
    /// 550 after DATA (a permanent failure): not recorded.
    Reject,
    /// Close the TCP connection instead of answering DATA's end: not recorded.
    Drop,
    /// Stop answering on this connection (hold it open, reply nothing more) once the DATA
    /// ends: for timeout and lease tests. Not recorded.
    Hang,
}

/// How a [`TestSmtpServer::start_tls`] server offers TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain SMTP that advertises `STARTTLS` in its EHLO reply and upgrades on it (RFC 3207).
    /// Mail sent without upgrading is still accepted, and recorded with `tls: false`, so a
    /// client that falls back to plaintext is caught rather than refused.
    Starttls,
    /// TLS from the first byte ("implicit TLS", SMTPS, RFC 8314).
    Implicit,
}

/// A message the server accepted.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    /// The `MAIL FROM` path, without angle brackets (empty for the null sender `<>`).
    pub from: String,
    /// The `RCPT TO` paths, without angle brackets, in order.
    pub to: Vec<String>,
    /// The message as transferred (headers and body, CRLF line ends), dot-stuffing undone.
    pub data: String,
    /// The user name the connection authenticated as, if it did.
    pub auth_user: Option<String>,
    /// Whether the message came over TLS (implicit, or after `STARTTLS`).
    pub tls: bool,
}

/// A scriptable SMTP server on 127.0.0.1; it stops when dropped.
pub struct TestSmtpServer {
    port: u16,
    shared: Arc<Shared>,
    _task: crate::tcp::ServerTask,
}

#[derive(Debug)]
struct Shared {
    script: Mutex<Script>,
    received: watch::Sender<Vec<ReceivedMail>>,
    /// Why each failed TLS handshake failed, as the server saw it.
    tls_failures: watch::Sender<Vec<String>>,
    /// Connections accepted so far (for the tests of this module).
    connections: AtomicUsize,
}

#[derive(Debug)]
struct Script {
    remaining: VecDeque<Behaviour>,
    attempts: usize,
}

impl Shared {
    /// Counts one DATA transfer and takes its behaviour.
    fn next_behaviour(&self) -> Behaviour {
        let mut script = self.script.lock().unwrap_or_else(|e| e.into_inner());
        script.attempts += 1;
        script.remaining.pop_front().unwrap_or(Behaviour::Accept)
    }
}

impl std::fmt::Debug for TestSmtpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestSmtpServer")
            .field("port", &self.port)
            .field("attempts", &self.attempts())
            .field("received", &self.shared.received.borrow().len())
            .field("tls_failures", &self.shared.tls_failures.borrow().len())
            .finish_non_exhaustive()
    }
}

/// What one connection starts as.
#[derive(Clone)]
enum Security {
    Plain,
    Starttls(TlsAcceptor),
    Implicit(TlsAcceptor),
}

impl TestSmtpServer {
    /// Listens on 127.0.0.1 at a free port, plain SMTP only. Each message (each DATA) takes
    /// the next behaviour of the script; when the script is used up, every further message is
    /// `Accept`ed.
    pub async fn start(script: Vec<Behaviour>) -> Self {
        Self::listen(script, Security::Plain).await
    }

    /// Like [`start`](Self::start), with TLS as `mode` says, presenting the certificate of
    /// `config` (see [`crate::tls::TestCa::server_config`]).
    pub async fn start_tls(
        script: Vec<Behaviour>,
        mode: TlsMode,
        config: Arc<ServerConfig>,
    ) -> Self {
        let acceptor = TlsAcceptor::from(config);
        let security = match mode {
            TlsMode::Starttls => Security::Starttls(acceptor),
            TlsMode::Implicit => Security::Implicit(acceptor),
        };
        Self::listen(script, security).await
    }

    async fn listen(script: Vec<Behaviour>, security: Security) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the test SMTP server");
        let port = listener
            .local_addr()
            .expect("the test SMTP server's address")
            .port();
        let shared = Arc::new(Shared {
            script: Mutex::new(Script {
                remaining: script.into(),
                attempts: 0,
            }),
            received: watch::Sender::new(Vec::new()),
            tls_failures: watch::Sender::new(Vec::new()),
            connections: AtomicUsize::new(0),
        });
        let serving = Arc::clone(&shared);
        let task = crate::tcp::spawn_server(listener, move |stream| {
            let shared = Arc::clone(&serving);
            shared.connections.fetch_add(1, Ordering::SeqCst);
            let security = security.clone();
            async move {
                // An I/O error only ends that connection.
                let _ = serve(stream, &shared, security).await;
            }
        });
        Self {
            port,
            shared,
            _task: task,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Accepted messages, in order.
    pub fn received(&self) -> Vec<ReceivedMail> {
        self.shared.received.borrow().clone()
    }

    /// How many DATA transfers were attempted (accepted or not).
    pub fn attempts(&self) -> usize {
        self.shared
            .script
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .attempts
    }

    /// Why each TLS handshake that failed failed (e.g. the client did not trust the
    /// certificate), in order.
    pub fn tls_failures(&self) -> Vec<String> {
        self.shared.tls_failures.borrow().clone()
    }

    /// Waits up to `limit` until `received().len() >= n`; returns whether it got there.
    pub async fn wait_for(&self, n: usize, limit: Duration) -> bool {
        crate::tcp::wait_for_len(&self.shared.received, n, limit).await
    }

    /// Waits up to `limit` until `tls_failures().len() >= n`; returns whether it got there.
    pub async fn wait_for_tls_failures(&self, n: usize, limit: Duration) -> bool {
        crate::tcp::wait_for_len(&self.shared.tls_failures, n, limit).await
    }
}

/// The EHLO reply; `STARTTLS` only where an upgrade is on offer.
fn ehlo_reply(offer_starttls: bool) -> Vec<u8> {
    let mut reply = b"250-localhost test SMTP server\r\n".to_vec();
    if offer_starttls {
        reply.extend_from_slice(b"250-STARTTLS\r\n");
    }
    reply.extend_from_slice(b"250-AUTH PLAIN LOGIN\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n");
    reply
}

/// One connection: plain, upgraded on `STARTTLS`, or TLS from the start.
async fn serve(stream: TcpStream, shared: &Shared, security: Security) -> io::Result<()> {
    match security {
        Security::Plain => {
            session(BufReader::new(stream), shared, Channel::Plain).await?;
        }
        Security::Implicit(acceptor) => {
            if let Some(stream) = handshake(&acceptor, stream, shared).await {
                session(BufReader::new(stream), shared, Channel::Implicit).await?;
            }
        }
        Security::Starttls(acceptor) => {
            let plain = session(BufReader::new(stream), shared, Channel::OfferingStarttls).await?;
            if let Ended::Starttls(stream) = plain {
                if let Some(stream) = handshake(&acceptor, stream, shared).await {
                    session(BufReader::new(stream), shared, Channel::Upgraded).await?;
                }
            }
        }
    }
    Ok(())
}

/// A TLS handshake as the server; a failure is recorded and ends the connection.
async fn handshake(
    acceptor: &TlsAcceptor,
    stream: TcpStream,
    shared: &Shared,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    match acceptor.accept(stream).await {
        Ok(stream) => Some(stream),
        Err(e) => {
            shared
                .tls_failures
                .send_modify(|failures| failures.push(e.to_string()));
            None
        }
    }
}

/// Where one SMTP session runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Channel {
    /// Plain SMTP, no `STARTTLS` on offer.
    Plain,
    /// Plain SMTP that offers `STARTTLS`.
    OfferingStarttls,
    /// TLS from the first byte.
    Implicit,
    /// TLS after `STARTTLS`: no greeting, the client starts with EHLO again.
    Upgraded,
}

impl Channel {
    fn tls(self) -> bool {
        matches!(self, Self::Implicit | Self::Upgraded)
    }
}

/// How a session ended.
enum Ended<S> {
    Closed,
    /// The client asked for `STARTTLS` and got `220`: the handshake comes next.
    Starttls(S),
}

/// One SMTP session over `stream`.
async fn session<S>(
    mut stream: BufReader<S>,
    shared: &Shared,
    channel: Channel,
) -> io::Result<Ended<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    if channel != Channel::Upgraded {
        stream
            .write_all(b"220 localhost test SMTP server ready\r\n")
            .await?;
    }
    let mut auth_user: Option<String> = None;
    let mut from: Option<String> = None;
    let mut to: Vec<String> = Vec::new();
    loop {
        let Some(line) = read_line(&mut stream).await? else {
            return Ok(Ended::Closed);
        };
        let (verb, argument) = match line.split_once(' ') {
            Some((verb, argument)) => (verb, argument.trim()),
            None => (line.as_str(), ""),
        };
        match verb.to_ascii_uppercase().as_str() {
            "EHLO" => {
                from = None;
                to.clear();
                stream
                    .write_all(&ehlo_reply(channel == Channel::OfferingStarttls))
                    .await?;
            }
            "HELO" => {
                from = None;
                to.clear();
                stream.write_all(b"250 localhost\r\n").await?;
            }
            "STARTTLS" => {
                if channel.tls() {
                    stream
                        .write_all(b"503 5.5.1 TLS already active\r\n")
                        .await?;
                } else if channel != Channel::OfferingStarttls {
                    stream
                        .write_all(b"502 5.5.1 STARTTLS not offered\r\n")
                        .await?;
                } else {
                    stream
                        .write_all(b"220 2.0.0 Ready to start TLS\r\n")
                        .await?;
                    stream.flush().await?;
                    // Anything pipelined after STARTTLS came in plaintext: drop the connection
                    // rather than carry it into the TLS session (RFC 3207, section 5).
                    if !stream.buffer().is_empty() {
                        return Ok(Ended::Closed);
                    }
                    return Ok(Ended::Starttls(stream.into_inner()));
                }
            }
            "AUTH" => {
                if auth_user.is_some() {
                    stream
                        .write_all(b"503 5.5.1 Already authenticated\r\n")
                        .await?;
                } else if let Some(user) = authenticate(&mut stream, argument).await? {
                    auth_user = Some(user);
                    stream
                        .write_all(b"235 2.7.0 Authentication successful\r\n")
                        .await?;
                }
            }
            "MAIL" => match path_after(argument, "FROM:") {
                Some(path) => {
                    from = Some(path);
                    to.clear();
                    stream.write_all(b"250 2.1.0 OK\r\n").await?;
                }
                None => {
                    stream
                        .write_all(b"501 5.5.4 Syntax: MAIL FROM:<address>\r\n")
                        .await?
                }
            },
            "RCPT" => match path_after(argument, "TO:") {
                _ if from.is_none() => stream.write_all(b"503 5.5.1 MAIL first\r\n").await?,
                Some(path) => {
                    to.push(path);
                    stream.write_all(b"250 2.1.5 OK\r\n").await?;
                }
                None => {
                    stream
                        .write_all(b"501 5.5.4 Syntax: RCPT TO:<address>\r\n")
                        .await?
                }
            },
            "DATA" => {
                if from.is_none() || to.is_empty() {
                    stream.write_all(b"503 5.5.1 RCPT first\r\n").await?;
                    continue;
                }
                stream
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let Some(data) = read_data(&mut stream).await? else {
                    return Ok(Ended::Closed);
                };
                let mail = ReceivedMail {
                    from: from.take().unwrap_or_default(),
                    to: std::mem::take(&mut to),
                    data,
                    auth_user: auth_user.clone(),
                    tls: channel.tls(),
                };
                match shared.next_behaviour() {
                    Behaviour::Accept => {
                        // Recorded before the reply, so a client that saw 250 finds it there.
                        shared.received.send_modify(|received| received.push(mail));
                        stream.write_all(b"250 2.0.0 OK: queued\r\n").await?;
                    }
                    Behaviour::Defer => {
                        stream
                            .write_all(b"451 4.3.0 Temporary failure, try again later\r\n")
                            .await?;
                    }
                    Behaviour::Reject => {
                        stream.write_all(b"550 5.7.1 Message rejected\r\n").await?;
                    }
                    Behaviour::Drop => return Ok(Ended::Closed),
                    Behaviour::Hang => {
                        // Read and ignore whatever comes until the client gives up.
                        let mut sink = [0u8; 1024];
                        while stream.read(&mut sink).await? > 0 {}
                        return Ok(Ended::Closed);
                    }
                }
            }
            "RSET" => {
                from = None;
                to.clear();
                stream.write_all(b"250 2.0.0 OK\r\n").await?;
            }
            "NOOP" => stream.write_all(b"250 2.0.0 OK\r\n").await?,
            "QUIT" => {
                stream.write_all(b"221 2.0.0 Bye\r\n").await?;
                stream.shutdown().await.ok();
                return Ok(Ended::Closed);
            }
            _ => {
                stream
                    .write_all(b"500 5.5.2 Command not recognized\r\n")
                    .await?
            }
        }
    }
}

/// Runs an `AUTH` exchange. `Some(user)` when it succeeded (the caller replies 235); `None`
/// when it failed and the failure was already answered.
async fn authenticate<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut BufReader<S>,
    argument: &str,
) -> io::Result<Option<String>> {
    let mut words = argument.split_whitespace();
    let mechanism = words.next().unwrap_or_default().to_ascii_uppercase();
    let initial = words.next();
    match mechanism.as_str() {
        "PLAIN" => {
            let response = match initial {
                Some("=") => String::new(),
                Some(response) => response.to_owned(),
                None => {
                    stream.write_all(b"334 \r\n").await?;
                    required_line(stream).await?
                }
            };
            if response == "*" {
                return fail(stream, b"501 5.7.0 Authentication cancelled\r\n").await;
            }
            let Some(decoded) = decode(&response) else {
                return fail(stream, b"501 5.5.2 Invalid base64\r\n").await;
            };
            // authorization identity NUL authentication identity NUL password
            let fields: Vec<&[u8]> = decoded.split(|b| *b == 0).collect();
            match fields.as_slice() {
                [_, user, _] => Ok(Some(String::from_utf8_lossy(user).into_owned())),
                _ => fail(stream, b"535 5.7.8 Malformed PLAIN credentials\r\n").await,
            }
        }
        "LOGIN" => {
            let user = match initial {
                Some(user) => user.to_owned(),
                None => {
                    // base64 of "Username:"
                    stream.write_all(b"334 VXNlcm5hbWU6\r\n").await?;
                    required_line(stream).await?
                }
            };
            if user == "*" {
                return fail(stream, b"501 5.7.0 Authentication cancelled\r\n").await;
            }
            let Some(user) = decode(&user) else {
                return fail(stream, b"501 5.5.2 Invalid base64\r\n").await;
            };
            // base64 of "Password:"
            stream.write_all(b"334 UGFzc3dvcmQ6\r\n").await?;
            let password = required_line(stream).await?;
            if password == "*" {
                return fail(stream, b"501 5.7.0 Authentication cancelled\r\n").await;
            }
            if decode(&password).is_none() {
                return fail(stream, b"501 5.5.2 Invalid base64\r\n").await;
            }
            Ok(Some(String::from_utf8_lossy(&user).into_owned()))
        }
        _ => {
            fail(
                stream,
                b"504 5.5.4 Unrecognized authentication mechanism\r\n",
            )
            .await
        }
    }
}

async fn fail<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut BufReader<S>,
    reply: &[u8],
) -> io::Result<Option<String>> {
    stream.write_all(reply).await?;
    Ok(None)
}

fn decode(text: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()
}

/// The address of `FROM:<address> PARAMETERS` (prefix matched case-insensitively).
fn path_after(argument: &str, prefix: &str) -> Option<String> {
    let head = argument.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = argument[prefix.len()..].trim_start();
    if let Some(bracketed) = rest.strip_prefix('<') {
        let end = bracketed.find('>')?;
        Some(bracketed[..end].to_owned())
    } else {
        let path = rest.split_whitespace().next()?;
        Some(path.to_owned())
    }
}

/// One command line without its line end; `None` at the end of the stream.
async fn read_line<S: AsyncRead + Unpin>(stream: &mut BufReader<S>) -> io::Result<Option<String>> {
    let mut line = Vec::new();
    if stream.read_until(b'\n', &mut line).await? == 0 {
        return Ok(None);
    }
    while matches!(line.last(), Some(b'\n' | b'\r')) {
        line.pop();
    }
    Ok(Some(String::from_utf8_lossy(&line).into_owned()))
}

/// A line the exchange cannot go on without.
async fn required_line<S: AsyncRead + Unpin>(stream: &mut BufReader<S>) -> io::Result<String> {
    read_line(stream).await?.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed mid-exchange",
        )
    })
}

/// The message after `354`, up to the lone `.` line, dot-stuffing undone; `None` when the
/// stream ends first.
async fn read_data<S: AsyncRead + Unpin>(stream: &mut BufReader<S>) -> io::Result<Option<String>> {
    let mut data = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if stream.read_until(b'\n', &mut line).await? == 0 {
            return Ok(None);
        }
        if line == b".\r\n" || line == b".\n" {
            return Ok(Some(String::from_utf8_lossy(&data).into_owned()));
        }
        let content = line.strip_prefix(b".").unwrap_or(&line);
        data.extend_from_slice(content);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lettre::message::Mailbox;
    use lettre::transport::smtp::authentication::{Credentials, Mechanism};
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

    fn transport(server: &TestSmtpServer) -> AsyncSmtpTransport<Tokio1Executor> {
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
            .port(server.port())
            .timeout(Some(Duration::from_secs(2)))
            .build()
    }

    fn message(to: &str, subject: &str, body: &str) -> Message {
        Message::builder()
            .from("Sign-up <noreply@example.test>".parse::<Mailbox>().unwrap())
            .to(to.parse::<Mailbox>().unwrap())
            .subject(subject)
            .body(body.to_owned())
            .unwrap()
    }

    const LIMIT: Duration = Duration::from_secs(2);

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn accepts_and_records_a_message() {
        let server = TestSmtpServer::start(vec![]).await;
        let mail = message(
            "alice@example.test",
            "Confirm your sign-up",
            "Hello Alice\r\n.a line that starts with a dot\r\nBye\r\n",
        );
        transport(&server).send(mail).await.expect("accepted");
        assert!(server.wait_for(1, LIMIT).await);
        let received = server.received();
        assert_eq!(received.len(), 1);
        let mail = &received[0];
        assert_eq!(mail.from, "noreply@example.test");
        assert_eq!(mail.to, vec!["alice@example.test".to_owned()]);
        assert!(mail.data.contains("Subject: Confirm your sign-up\r\n"));
        assert!(mail.data.contains("Hello Alice"));
        assert!(mail.data.contains("\r\n.a line that starts with a dot\r\n"));
        assert!(!mail.data.contains("\r\n..a line"), "dot-stuffing undone");
        assert_eq!(mail.auth_user, None);
        assert_eq!(server.attempts(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn defers_then_accepts() {
        let server = TestSmtpServer::start(vec![Behaviour::Defer]).await;
        let smtp = transport(&server);
        let error = smtp
            .send(message("bob@example.test", "First try", "one"))
            .await
            .expect_err("451");
        assert!(error.is_transient(), "{error}");
        assert!(server.received().is_empty());
        smtp.send(message("bob@example.test", "Second try", "two"))
            .await
            .expect("accepted after the script");
        assert!(server.wait_for(1, LIMIT).await);
        assert_eq!(server.attempts(), 2);
        let received = server.received();
        assert_eq!(received.len(), 1);
        assert!(received[0].data.contains("Subject: Second try"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn rejects_permanently() {
        let server = TestSmtpServer::start(vec![Behaviour::Reject]).await;
        let error = transport(&server)
            .send(message("carol@example.test", "Nope", "body"))
            .await
            .expect_err("550");
        assert!(error.is_permanent(), "{error}");
        assert_eq!(server.attempts(), 1);
        assert!(server.received().is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dropped_connection_is_an_error() {
        let server = TestSmtpServer::start(vec![Behaviour::Drop]).await;
        let smtp = transport(&server);
        let error = smtp
            .send(message("dave@example.test", "Lost", "body"))
            .await
            .expect_err("connection dropped");
        assert!(!error.is_permanent(), "{error}");
        assert_eq!(server.attempts(), 1);
        assert!(server.received().is_empty());
        // The server keeps serving new connections.
        smtp.send(message("dave@example.test", "Again", "body"))
            .await
            .expect("accepted");
        assert_eq!(server.received().len(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hang_holds_the_connection_silently() {
        let server = TestSmtpServer::start(vec![Behaviour::Hang, Behaviour::Hang]).await;
        // lettre's own timeout covers connecting only, so the caller bounds the send.
        let sent = tokio::time::timeout(
            Duration::from_millis(200),
            transport(&server).send(message("erin@example.test", "Silence", "body")),
        )
        .await;
        assert!(sent.is_err(), "no answer to DATA: {sent:?}");
        assert_eq!(server.attempts(), 1);

        // Neither a reply nor a close after the hung DATA.
        let mut stream = BufReader::new(
            TcpStream::connect(("127.0.0.1", server.port()))
                .await
                .unwrap(),
        );
        expect(&mut stream, "", "220").await;
        expect(&mut stream, "HELO client\r\n", "250").await;
        expect(&mut stream, "MAIL FROM:<a@example.test>\r\n", "250").await;
        expect(&mut stream, "RCPT TO:<b@example.test>\r\n", "250").await;
        expect(&mut stream, "DATA\r\n", "354").await;
        stream
            .write_all(b"Subject: x\r\n\r\nbody\r\n.\r\nNOOP\r\n")
            .await
            .unwrap();
        let mut buffer = [0u8; 64];
        let read = tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buffer)).await;
        assert!(read.is_err(), "still open and silent: {read:?}");
        assert_eq!(server.attempts(), 2);
        assert!(server.received().is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn records_the_plain_auth_user() {
        let server = TestSmtpServer::start(vec![]).await;
        let smtp = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
            .port(server.port())
            .credentials(Credentials::new("mailer".into(), "s3cret".into()))
            .authentication(vec![Mechanism::Plain])
            .build();
        smtp.send(message("frank@example.test", "Auth", "body"))
            .await
            .expect("accepted");
        assert_eq!(server.received()[0].auth_user.as_deref(), Some("mailer"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn records_the_login_auth_user() {
        let server = TestSmtpServer::start(vec![]).await;
        let smtp = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
            .port(server.port())
            .credentials(Credentials::new("login-user".into(), "pa55".into()))
            .authentication(vec![Mechanism::Login])
            .build();
        smtp.send(message("grace@example.test", "Auth", "body"))
            .await
            .expect("accepted");
        assert_eq!(
            server.received()[0].auth_user.as_deref(),
            Some("login-user")
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn several_messages_over_one_pooled_connection() {
        let server = TestSmtpServer::start(vec![Behaviour::Accept, Behaviour::Reject]).await;
        let smtp = transport(&server);
        smtp.send(message("a@example.test", "One", "1"))
            .await
            .expect("first");
        // lettre gives up on a connection after any error reply, so the rejection ends the
        // first connection and the next three messages share a second one.
        let error = smtp
            .send(message("b@example.test", "Two", "2"))
            .await
            .expect_err("rejected");
        assert!(error.is_permanent());
        for (i, to) in ["c@example.test", "d@example.test", "e@example.test"]
            .iter()
            .enumerate()
        {
            smtp.send(message(to, &format!("Pooled {i}"), "body"))
                .await
                .expect("accepted");
        }
        assert!(server.wait_for(4, LIMIT).await);
        let received = server.received();
        let recipients: Vec<&str> = received.iter().map(|m| m.to[0].as_str()).collect();
        assert_eq!(
            recipients,
            [
                "a@example.test",
                "c@example.test",
                "d@example.test",
                "e@example.test"
            ]
        );
        assert_eq!(server.attempts(), 5);
        // lettre's pool decides how many connections it opens (timing-dependent, usually 2:
        // one until the rejection, one reused); at least one carried several messages.
        let connections = server.shared.connections.load(Ordering::SeqCst);
        assert!(
            connections < server.attempts(),
            "{connections} connections for 5 messages"
        );
    }

    fn tls_transport(
        server: &TestSmtpServer,
        ca: &crate::tls::TestCa,
        mode: TlsMode,
    ) -> AsyncSmtpTransport<Tokio1Executor> {
        use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
        let parameters = TlsParameters::builder("localhost".into())
            .add_root_certificate(Certificate::from_pem(ca.pem().as_bytes()).unwrap())
            .build_rustls()
            .unwrap();
        let tls = match mode {
            TlsMode::Starttls => Tls::Required(parameters),
            TlsMode::Implicit => Tls::Wrapper(parameters),
        };
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("localhost")
            .port(server.port())
            .tls(tls)
            .timeout(Some(Duration::from_secs(2)))
            .build()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn speaks_starttls_and_implicit_tls_and_records_it() {
        let ca = crate::tls::TestCa::new("test CA");
        for mode in [TlsMode::Starttls, TlsMode::Implicit] {
            let server = TestSmtpServer::start_tls(vec![], mode, ca.server_config()).await;
            tls_transport(&server, &ca, mode)
                .send(message("tls@example.test", "Secure", "body"))
                .await
                .unwrap_or_else(|e| panic!("{mode:?}: {e}"));
            let received = server.received();
            assert_eq!(received.len(), 1, "{mode:?}");
            assert!(received[0].tls, "{mode:?}");
            assert!(server.tls_failures().is_empty());
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn starttls_mode_takes_plaintext_mail_and_says_so() {
        let ca = crate::tls::TestCa::new("test CA");
        let server = TestSmtpServer::start_tls(vec![], TlsMode::Starttls, ca.server_config()).await;
        let mut stream = BufReader::new(
            TcpStream::connect(("127.0.0.1", server.port()))
                .await
                .unwrap(),
        );
        expect(&mut stream, "", "220").await;
        let mut ehlo = String::new();
        stream.write_all(b"EHLO client\r\n").await.unwrap();
        loop {
            let mut line = String::new();
            stream.read_line(&mut line).await.unwrap();
            ehlo.push_str(&line);
            if line.as_bytes().get(3) != Some(&b'-') {
                break;
            }
        }
        assert!(ehlo.contains("250-STARTTLS\r\n"), "{ehlo}");
        expect(&mut stream, "MAIL FROM:<a@example.test>\r\n", "250").await;
        expect(&mut stream, "RCPT TO:<b@example.test>\r\n", "250").await;
        expect(&mut stream, "DATA\r\n", "354").await;
        expect(&mut stream, "Subject: clear\r\n\r\nbody\r\n.\r\n", "250").await;
        assert!(!server.received()[0].tls, "a plaintext fallback shows");
        // A plain server does not offer STARTTLS at all.
        let plain = TestSmtpServer::start(vec![]).await;
        let mut stream = BufReader::new(
            TcpStream::connect(("127.0.0.1", plain.port()))
                .await
                .unwrap(),
        );
        expect(&mut stream, "", "220").await;
        expect(&mut stream, "STARTTLS\r\n", "502").await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn records_a_refused_handshake() {
        let ca = crate::tls::TestCa::new("trusted CA");
        let impostor = crate::tls::TestCa::new("impostor CA");
        let server =
            TestSmtpServer::start_tls(vec![], TlsMode::Implicit, impostor.server_config()).await;
        let error = tls_transport(&server, &ca, TlsMode::Implicit)
            .send(message("tls@example.test", "Secure", "body"))
            .await
            .expect_err("untrusted");
        assert!(error.to_string().contains("UnknownIssuer"), "{error}");
        assert!(server.wait_for_tls_failures(1, LIMIT).await);
        assert!(server.tls_failures()[0].contains("UnknownCA"));
        assert_eq!(server.attempts(), 0);
    }

    /// Sends `send` (unless empty) and reads one reply, checking its code.
    async fn expect(stream: &mut BufReader<TcpStream>, send: &str, code: &str) {
        if !send.is_empty() {
            stream.write_all(send.as_bytes()).await.unwrap();
        }
        let mut reply = String::new();
        loop {
            reply.clear();
            stream.read_line(&mut reply).await.unwrap();
            assert!(reply.starts_with(code), "{send:?} got {reply:?}");
            if reply.as_bytes().get(3) != Some(&b'-') {
                break;
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn speaks_smtp_to_a_raw_client() {
        let server = TestSmtpServer::start(vec![]).await;
        let mut stream = BufReader::new(
            TcpStream::connect(("127.0.0.1", server.port()))
                .await
                .unwrap(),
        );
        expect(&mut stream, "", "220").await;
        expect(&mut stream, "EHLO client\r\n", "250").await;
        expect(&mut stream, "FOO\r\n", "500").await;
        expect(&mut stream, "DATA\r\n", "503").await;
        expect(&mut stream, "AUTH LOGIN\r\n", "334").await;
        expect(&mut stream, "dXNlcg==\r\n", "334").await;
        expect(&mut stream, "cGFzcw==\r\n", "235").await;
        expect(&mut stream, "mail from:<>\r\n", "250").await;
        expect(&mut stream, "RCPT TO:<x@example.test>\r\n", "250").await;
        expect(&mut stream, "RCPT TO:<y@example.test>\r\n", "250").await;
        expect(&mut stream, "NOOP\r\n", "250").await;
        expect(&mut stream, "DATA\r\n", "354").await;
        expect(&mut stream, "Subject: raw\r\n\r\n..dot\r\n.\r\n", "250").await;
        expect(&mut stream, "RSET\r\n", "250").await;
        expect(&mut stream, "QUIT\r\n", "221").await;
        let received = server.received();
        assert_eq!(received.len(), 1);
        assert_eq!(received[0].from, "");
        assert_eq!(received[0].to, ["x@example.test", "y@example.test"]);
        assert_eq!(received[0].data, "Subject: raw\r\n\r\n.dot\r\n");
        assert_eq!(received[0].auth_user.as_deref(), Some("user"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn stops_when_dropped() {
        let server = TestSmtpServer::start(vec![]).await;
        let port = server.port();
        drop(server);
        let mut refused = false;
        for _ in 0..100 {
            if TcpStream::connect(("127.0.0.1", port)).await.is_err() {
                refused = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(refused, "the listener closed");
    }
}
