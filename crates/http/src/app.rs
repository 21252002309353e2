//! The request layers every host puts around its mounts: a request id on every log line and
//! answer (`X-Request-Id`), `X-Content-Type-Options: nosniff` on every answer, the tracing
//! span, and the HTTP metrics labelled by flavour.

use std::sync::Arc;

use actix_web::{
    body::MessageBody,
    dev::{Service, ServiceFactory, ServiceRequest, ServiceResponse},
    http::header::{HeaderName, HeaderValue},
    App, Error, HttpMessage,
};
use signup_core::Metrics;
use tracing_actix_web::{RequestId, TracingLogger};

use crate::{span::RedactedRootSpan, Mount};

/// Mount prefix -> flavour, longest prefix first, for the metrics label.
#[derive(Debug)]
struct Labels(Vec<(String, &'static str)>);

impl Labels {
    fn new(mounts: &[Mount]) -> Self {
        let mut labels: Vec<_> = mounts
            .iter()
            .map(|m| (m.prefix().to_string(), m.flavour()))
            .collect();
        labels.sort_by_key(|(prefix, _)| std::cmp::Reverse(prefix.len()));
        Self(labels)
    }

    /// Which flavour a matched route pattern belongs to (`gateway` for the host's own).
    fn flavour_of(&self, pattern: &str) -> &'static str {
        self.0
            .iter()
            .find(|(prefix, _)| {
                pattern
                    .strip_prefix(prefix.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            })
            .map_or("gateway", |(_, flavour)| flavour)
    }
}

/// An app with the request layers, the host's own routes (health, metrics, documents: tried
/// first, so a root mount cannot swallow them) and every mount in the order given (use
/// [`crate::arrange`]). The host adds its fallback with `.default_service`.
pub fn app(
    mounts: &[Mount],
    metrics: &Metrics,
    host_routes: impl FnOnce(&mut actix_web::web::ServiceConfig),
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = Error,
        InitError = (),
    >,
> {
    let labels = Arc::new(Labels::new(mounts));
    let metrics = metrics.clone();
    let mut app = App::new()
        .wrap_fn(move |req, srv| {
            let labels = Arc::clone(&labels);
            let metrics = metrics.clone();
            let request_id = req.extensions().get::<RequestId>().map(ToString::to_string);
            let started = std::time::Instant::now();
            let fut = srv.call(req);
            async move {
                let mut res = fut.await?;
                let route = res
                    .request()
                    .match_pattern()
                    .unwrap_or_else(|| "<unmatched>".into());
                let status = res.status();
                let values = [labels.flavour_of(&route), route.as_str(), status.as_str()];
                metrics.http_requests.with_label_values(&values).inc();
                metrics
                    .http_request_duration
                    .with_label_values(&values)
                    .observe(started.elapsed().as_secs_f64());
                // No answer of ours is meant to be sniffed into another type.
                res.headers_mut().insert(
                    HeaderName::from_static("x-content-type-options"),
                    HeaderValue::from_static("nosniff"),
                );
                if let Some(id) = request_id.and_then(|id| HeaderValue::from_str(&id).ok()) {
                    res.headers_mut()
                        .insert(HeaderName::from_static("x-request-id"), id);
                }
                Ok(res)
            }
        })
        .wrap(TracingLogger::<RedactedRootSpan>::new())
        .configure(host_routes);
    for mount in mounts {
        app = app.service(mount.scope());
    }
    app
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_route_belongs_to_the_longest_matching_prefix() {
        let labels = Labels(vec![
            ("/conductor".into(), "conductor"),
            ("".into(), "zato"),
        ]);
        assert_eq!(labels.flavour_of("/conductor/auth/signup"), "conductor");
        assert_eq!(labels.flavour_of("/conductorx"), "zato");
        assert_eq!(labels.flavour_of("/zato/sso/user/signup"), "zato");
    }
}
