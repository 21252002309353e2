//! An HTTP receiver for webhook tests: a minimal HTTP/1.1 server that records every request
//! and answers each with the next status of its script, with an empty body.
//!
//! ```no_run
//! # async fn example() {
//! use signup_test_support::webhook::TestWebhookReceiver;
//! let receiver = TestWebhookReceiver::start(vec![503, 200]).await;
//! // ... configure the code under test with receiver.url() ...
//! assert!(receiver.wait_for(2, std::time::Duration::from_secs(2)).await);
//! assert_eq!(receiver.requests()[1].header("content-type"), Some("application/json"));
//! # }
//! ```

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct ReceivedRequest {
    pub method: String,
    /// The request target as sent (path and query).
    pub path: String,
    /// Header names lowercased, values trimmed, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl ReceivedRequest {
    /// The first value of the header `name` (matched case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An HTTP server on 127.0.0.1 that records requests; it stops when dropped.
pub struct TestWebhookReceiver {
    port: u16,
    shared: Arc<Shared>,
    _task: crate::tcp::ServerTask,
}

#[derive(Debug)]
struct Shared {
    statuses: Mutex<VecDeque<u16>>,
    requests: watch::Sender<Vec<ReceivedRequest>>,
}

impl Shared {
    /// Records `request` and takes its status, in one step so both keep the same order.
    fn record(&self, request: ReceivedRequest) -> u16 {
        let mut statuses = self.statuses.lock().unwrap_or_else(|e| e.into_inner());
        let status = statuses.pop_front().unwrap_or(200);
        self.requests.send_modify(|requests| requests.push(request));
        status
    }
}

impl std::fmt::Debug for TestWebhookReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestWebhookReceiver")
            .field("port", &self.port)
            .field("requests", &self.shared.requests.borrow().len())
            .finish_non_exhaustive()
    }
}

impl TestWebhookReceiver {
    /// Listens on 127.0.0.1 at a free port. Each request gets the next status of `statuses`
    /// (when used up: 200), with an empty body (`Content-Length: 0`).
    pub async fn start(statuses: Vec<u16>) -> Self {
        if let Some(bad) = statuses.iter().find(|s| !(200..=599).contains(*s)) {
            panic!("TestWebhookReceiver answers with final statuses (200-599), not {bad}");
        }
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the test webhook receiver");
        let port = listener
            .local_addr()
            .expect("the test webhook receiver's address")
            .port();
        let shared = Arc::new(Shared {
            statuses: Mutex::new(statuses.into()),
            requests: watch::Sender::new(Vec::new()),
        });
        let serving = Arc::clone(&shared);
        let task = crate::tcp::spawn_server(listener, move |stream| {
            let shared = Arc::clone(&serving);
            async move {
                // An I/O error only ends that connection.
                let _ = serve(stream, &shared).await;
            }
        });
        Self {
            port,
            shared,
            _task: task,
        }
    }

    /// `http://127.0.0.1:<port>/hooks` (any path is accepted; this is the one tests use).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hooks", self.port)
    }

    /// Every request received (including those answered with an error status), in order.
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        self.shared.requests.borrow().clone()
    }

    /// Waits up to `limit` until `requests().len() >= n`; returns whether it got there.
    pub async fn wait_for(&self, n: usize, limit: Duration) -> bool {
        crate::tcp::wait_for_len(&self.shared.requests, n, limit).await
    }
}

/// Limits that keep a confused client from eating memory.
const MAX_LINE: usize = 64 * 1024;
const MAX_HEADERS: usize = 256;
const MAX_BODY: usize = 16 * 1024 * 1024;

/// A request that cannot be parsed: answered 400 and the connection closed.
struct BadRequest(&'static str);

/// One connection: requests in turn (keep-alive) until the client closes or asks to.
async fn serve(stream: TcpStream, shared: &Shared) -> io::Result<()> {
    let mut stream = BufReader::new(stream);
    loop {
        match read_request(&mut stream).await? {
            None => return Ok(()),
            Some(Err(BadRequest(why))) => {
                let response = format!(
                    "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{why}",
                    why.len()
                );
                stream.write_all(response.as_bytes()).await?;
                stream.shutdown().await.ok();
                return Ok(());
            }
            Some(Ok((request, keep_alive))) => {
                // Recorded before the response, so a client that got its answer finds it.
                let status = shared.record(request);
                let mut response = format!("HTTP/1.1 {status} {}\r\n", reason(status));
                if status != 204 && status != 304 {
                    response.push_str("Content-Length: 0\r\n");
                }
                if !keep_alive {
                    response.push_str("Connection: close\r\n");
                }
                response.push_str("\r\n");
                stream.write_all(response.as_bytes()).await?;
                if !keep_alive {
                    stream.shutdown().await.ok();
                    return Ok(());
                }
            }
        }
    }
}

type Parsed = Result<(ReceivedRequest, bool), BadRequest>;

/// Reads one request and whether the connection stays open after it; `None` when the
/// client closed the connection between requests.
async fn read_request(stream: &mut BufReader<TcpStream>) -> io::Result<Option<Parsed>> {
    // Empty lines before a request line are to be ignored (RFC 9112, 2.2).
    let request_line = loop {
        match read_line(stream).await? {
            None => return Ok(None),
            Some(Err(bad)) => return Ok(Some(Err(bad))),
            Some(Ok(line)) if line.is_empty() => continue,
            Some(Ok(line)) => break line,
        }
    };
    let mut parts = request_line.split(' ').filter(|p| !p.is_empty());
    let (Some(method), Some(path), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Ok(Some(Err(BadRequest("malformed request line"))));
    };
    let (method, path, version) = (method.to_owned(), path.to_owned(), version.to_owned());
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Ok(Some(Err(BadRequest("unsupported HTTP version"))));
    }

    let mut headers: Vec<(String, String)> = Vec::new();
    loop {
        let line = match read_line(stream).await? {
            None => return Err(eof()),
            Some(Err(bad)) => return Ok(Some(Err(bad))),
            Some(Ok(line)) => line,
        };
        if line.is_empty() {
            break;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Ok(Some(Err(BadRequest("malformed header line"))));
        };
        if headers.len() == MAX_HEADERS {
            return Ok(Some(Err(BadRequest("too many headers"))));
        }
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }

    let has_token = |name: &str, token: &str| {
        headers
            .iter()
            .filter(|(n, _)| n == name)
            .flat_map(|(_, v)| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    };
    let keep_alive = if version == "HTTP/1.1" {
        !has_token("connection", "close")
    } else {
        has_token("connection", "keep-alive")
    };
    let chunked = has_token("transfer-encoding", "chunked");
    let mut lengths = headers.iter().filter(|(n, _)| n == "content-length");
    let content_length = match (lengths.next(), lengths.next()) {
        (None, _) => None,
        (Some((_, value)), None) => match value.parse::<usize>() {
            Ok(length) if length <= MAX_BODY => Some(length),
            _ => return Ok(Some(Err(BadRequest("bad Content-Length")))),
        },
        (Some(_), Some(_)) => return Ok(Some(Err(BadRequest("several Content-Length")))),
    };
    if chunked && content_length.is_some() {
        return Ok(Some(Err(BadRequest(
            "both Transfer-Encoding and Content-Length",
        ))));
    }
    if has_token("expect", "100-continue") {
        stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
    }

    let body = if chunked {
        match read_chunked(stream).await? {
            Ok(body) => body,
            Err(bad) => return Ok(Some(Err(bad))),
        }
    } else {
        let mut body = vec![0; content_length.unwrap_or(0)];
        stream.read_exact(&mut body).await?;
        body
    };
    let request = ReceivedRequest {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    Ok(Some(Ok((request, keep_alive))))
}

/// A `Transfer-Encoding: chunked` body, trailers skipped.
async fn read_chunked(
    stream: &mut BufReader<TcpStream>,
) -> io::Result<Result<Vec<u8>, BadRequest>> {
    let mut body = Vec::new();
    loop {
        let size_line = match read_line(stream).await? {
            None => return Err(eof()),
            Some(Err(bad)) => return Ok(Err(bad)),
            Some(Ok(line)) => line,
        };
        let size = size_line.split(';').next().unwrap_or_default().trim();
        let Ok(size) = usize::from_str_radix(size, 16) else {
            return Ok(Err(BadRequest("bad chunk size")));
        };
        if size == 0 {
            // Trailers, up to the empty line.
            loop {
                match read_line(stream).await? {
                    None => return Err(eof()),
                    Some(Err(bad)) => return Ok(Err(bad)),
                    Some(Ok(line)) if line.is_empty() => return Ok(Ok(body)),
                    Some(Ok(_)) => {}
                }
            }
        }
        if body.len() + size > MAX_BODY {
            return Ok(Err(BadRequest("body too large")));
        }
        let start = body.len();
        body.resize(start + size, 0);
        stream.read_exact(&mut body[start..]).await?;
        match read_line(stream).await? {
            None => return Err(eof()),
            Some(Ok(line)) if line.is_empty() => {}
            Some(_) => return Ok(Err(BadRequest("chunk not followed by CRLF"))),
        }
    }
}

/// One line without its line end; `None` at the end of the stream.
async fn read_line(
    stream: &mut BufReader<TcpStream>,
) -> io::Result<Option<Result<String, BadRequest>>> {
    let mut line = Vec::new();
    let read = (&mut *stream)
        .take(MAX_LINE as u64)
        .read_until(b'\n', &mut line)
        .await?;
    if read == 0 {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') {
        if read < MAX_LINE {
            return Err(eof());
        }
        return Ok(Some(Err(BadRequest("line too long"))));
    }
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(Some(Ok(String::from_utf8_lossy(&line).into_owned())))
}

fn eof() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "connection closed mid-request",
    )
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        413 => "Content Too Large",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: Duration = Duration::from_secs(2);

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn answers_the_scripted_statuses_and_records_requests() {
        let receiver = TestWebhookReceiver::start(vec![500, 200]).await;
        assert!(receiver.url().ends_with("/hooks"));
        let client = reqwest::Client::new();
        let mut statuses = Vec::new();
        for attempt in 1..=3 {
            let response = client
                .post(receiver.url())
                .header("X-Signature", format!("sha256=abc{attempt}"))
                .header("X-Event-Id", "evt-1")
                .json(&serde_json::json!({"event": "signup.created", "attempt": attempt}))
                .send()
                .await
                .expect("request");
            statuses.push(response.status().as_u16());
            assert_eq!(response.text().await.unwrap(), "");
        }
        assert_eq!(statuses, [500, 200, 200]);
        assert!(receiver.wait_for(3, LIMIT).await);
        let requests = receiver.requests();
        assert_eq!(requests.len(), 3);
        for (i, request) in requests.iter().enumerate() {
            let attempt = i + 1;
            assert_eq!(request.method, "POST");
            assert_eq!(request.path, "/hooks");
            assert_eq!(request.header("content-type"), Some("application/json"));
            assert_eq!(
                request.header("X-Signature"),
                Some(format!("sha256=abc{attempt}").as_str())
            );
            assert_eq!(request.header("x-event-id"), Some("evt-1"));
            assert!(request.headers.iter().all(|(n, _)| *n == n.to_lowercase()));
            let body: serde_json::Value = serde_json::from_str(&request.body).unwrap();
            assert_eq!(
                body,
                serde_json::json!({"event": "signup.created", "attempt": attempt})
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_requests_are_all_recorded() {
        let receiver = TestWebhookReceiver::start(vec![503; 5]).await;
        let client = reqwest::Client::new();
        let sends = (0..20).map(|i| {
            let client = client.clone();
            let url = receiver.url();
            async move {
                client
                    .post(url)
                    .json(&serde_json::json!({ "n": i }))
                    .send()
                    .await
                    .expect("request")
                    .status()
                    .as_u16()
            }
        });
        let mut handles = Vec::new();
        for send in sends {
            handles.push(tokio::spawn(send));
        }
        let mut statuses = Vec::new();
        for handle in handles {
            statuses.push(handle.await.unwrap());
        }
        assert_eq!(statuses.iter().filter(|s| **s == 503).count(), 5);
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 15);
        let mut seen: Vec<i64> = receiver
            .requests()
            .iter()
            .map(|r| {
                serde_json::from_str::<serde_json::Value>(&r.body).unwrap()["n"]
                    .as_i64()
                    .unwrap()
            })
            .collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..20).collect::<Vec<_>>());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn parses_pipelined_chunked_and_closing_requests() {
        let receiver = TestWebhookReceiver::start(vec![202, 404]).await;
        let mut stream = TcpStream::connect(("127.0.0.1", receiver.port))
            .await
            .unwrap();
        // Three requests in one write: Content-Length, chunked, then one asking to close.
        stream
            .write_all(
                b"POST /hooks?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello\
                  PUT /other HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\
                  3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\nTrailer: x\r\n\r\n\
                  GET /last HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
            )
            .await
            .unwrap();
        let mut responses = String::new();
        tokio::time::timeout(LIMIT, stream.read_to_string(&mut responses))
            .await
            .expect("the server closes after the last request")
            .unwrap();
        assert_eq!(
            responses,
            "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n\
             HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n\
             HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        let requests = receiver.requests();
        let summary: Vec<(&str, &str, &str)> = requests
            .iter()
            .map(|r| (r.method.as_str(), r.path.as_str(), r.body.as_str()))
            .collect();
        assert_eq!(
            summary,
            [
                ("POST", "/hooks?x=1", "hello"),
                ("PUT", "/other", "abcdefg"),
                ("GET", "/last", "")
            ]
        );
        assert_eq!(requests[2].header("connection"), Some("close"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn wait_for_times_out_and_the_receiver_stops_when_dropped() {
        let receiver = TestWebhookReceiver::start(vec![]).await;
        assert!(!receiver.wait_for(1, Duration::from_millis(50)).await);
        let url = receiver.url();
        drop(receiver);
        let client = reqwest::Client::new();
        let mut refused = false;
        for _ in 0..100 {
            if client.post(&url).body("x").send().await.is_err() {
                refused = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(refused, "the listener closed");
    }
}
