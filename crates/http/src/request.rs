//! What a handler reads off a request before its body: the client's address behind trusted
//! proxies and the declared media type.

use std::net::IpAddr;

use actix_web::{http::header, HttpRequest, HttpResponse};
use ipnet::IpNet;

/// The client's address: the peer, or, when the peer is a trusted proxy, the right-most
/// `X-Forwarded-For` entry that is not itself a trusted proxy.
pub fn client_ip(req: &HttpRequest, trusted_proxies: &[IpNet]) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    let trusted = |ip: &IpAddr| trusted_proxies.iter().any(|net| net.contains(ip));
    if !trusted(&peer) {
        return Some(peer);
    }
    let mut client = peer;
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    for hop in forwarded.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !trusted(&ip) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    Some(client)
}

/// The declared media type, lowercased, without parameters (`None` without a header).
pub fn media_type(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::CONTENT_TYPE)?.to_str().ok()?;
    Some(
        value
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase(),
    )
}

/// Whether the request declares a JSON body (`application/json` or `application/*+json`).
pub fn has_json_content_type(req: &HttpRequest) -> bool {
    media_type(req).is_some_and(|essence| {
        essence == "application/json"
            || (essence.starts_with("application/") && essence.ends_with("+json"))
    })
}

/// `Cache-Control: no-store`, on every answer that carries a token or a one-time secret: no
/// cache, shared or the browser's, may keep one. `.insert_header(NO_STORE)` on a builder.
pub const NO_STORE: (header::HeaderName, header::HeaderValue) = (
    header::CACHE_CONTROL,
    header::HeaderValue::from_static("no-store"),
);

/// `Referrer-Policy: no-referrer`, on the answers of routes that take a token in their URL:
/// the page a link opens must not hand that URL on in a `Referer`.
pub const NO_REFERRER: (header::HeaderName, header::HeaderValue) = (
    header::REFERRER_POLICY,
    header::HeaderValue::from_static("no-referrer"),
);

/// Sets one of the header constants above on a finished answer (a builder takes them with
/// `.insert_header`).
pub fn set_header(
    response: &mut HttpResponse,
    (name, value): (header::HeaderName, header::HeaderValue),
) {
    response.headers_mut().insert(name, value);
}

/// Sets `Retry-After` (seconds) on an answer.
pub fn retry_after(response: &mut HttpResponse, secs: u64) {
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxies: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let direct = TestRequest::default()
            .peer_addr("203.0.113.9:4000".parse().unwrap())
            .insert_header(("X-Forwarded-For", "198.51.100.1"))
            .to_http_request();
        assert_eq!(
            client_ip(&direct, &proxies),
            Some("203.0.113.9".parse().unwrap())
        );

        let proxied = TestRequest::default()
            .peer_addr("10.0.0.2:4000".parse().unwrap())
            .insert_header(("X-Forwarded-For", "1.2.3.4, 198.51.100.1, 10.0.0.7"))
            .to_http_request();
        assert_eq!(
            client_ip(&proxied, &proxies),
            Some("198.51.100.1".parse().unwrap())
        );
    }

    #[test]
    fn json_content_types_are_recognised() {
        for (value, json) in [
            ("application/json", true),
            ("Application/JSON; charset=utf-8", true),
            ("application/problem+json", true),
            ("text/plain", false),
            ("application/x-www-form-urlencoded", false),
        ] {
            let req = TestRequest::default()
                .insert_header((header::CONTENT_TYPE, value))
                .to_http_request();
            assert_eq!(has_json_content_type(&req), json, "{value}");
        }
        assert!(!has_json_content_type(
            &TestRequest::default().to_http_request()
        ));
    }
}
