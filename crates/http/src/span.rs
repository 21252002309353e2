//! The root span of every request: what an operator needs to follow a request (method,
//! route, path, client, request id, status), and never the query string's values, which
//! carry one-time tokens (`/verify_email?token=...`, `/activate/...?sign=...`).

use actix_web::{
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    Error, HttpMessage,
};
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RequestId, RootSpanBuilder};

/// [`RootSpanBuilder`] whose `http.target` keeps the path and the query's keys only.
#[derive(Debug)]
pub struct RedactedRootSpan;

impl RootSpanBuilder for RedactedRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        // Every value is computed inside the macro: when the span is filtered out (a level
        // above `info`), none of them costs anything.
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = request.match_pattern().as_deref().unwrap_or("default"),
            http.target = %redacted_target(request.path(), request.query_string()),
            http.client_ip = %request.peer_addr().map(|a| a.ip().to_string()).unwrap_or_default(),
            http.status_code = tracing::field::Empty,
            otel.kind = "server",
            otel.status_code = tracing::field::Empty,
            request_id = %request
                .extensions()
                .get::<RequestId>()
                .map(ToString::to_string)
                .unwrap_or_default(),
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

/// `path?key=…&other=…`: the query's keys, never its values.
fn redacted_target(path: &str, query: &str) -> String {
    if query.is_empty() {
        return path.to_string();
    }
    let keys: Vec<String> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let key = pair.split('=').next().unwrap_or_default();
            format!("{key}=…")
        })
        .collect();
    format!("{path}?{}", keys.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_never_reach_the_span() {
        assert_eq!(redacted_target("/healthz", ""), "/healthz");
        assert_eq!(
            redacted_target("/infera/verify_email", "token=abc123&x=1"),
            "/infera/verify_email?token=…&x=…"
        );
        assert_eq!(redacted_target("/a", "flag&&b=c=d"), "/a?flag=…&b=…");
    }
}
