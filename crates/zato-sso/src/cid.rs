//! The correlation id: 24 lowercase hex characters (96 bits from the operating system's
//! random source), minted for every request inside `/zato/sso`, recorded on the request's
//! span (so every log line of the request carries it), put in the body by the handlers and
//! in the `X-Zato-CID` header of every answer by [`layer`].

use actix_web::{
    body::MessageBody,
    dev::{Service, ServiceRequest, ServiceResponse},
    http::header::{HeaderName, HeaderValue},
    HttpMessage, HttpRequest,
};
use rand::RngCore;
use tracing::Instrument;

/// The header carrying the cid on every answer.
pub const HEADER: &str = "x-zato-cid";

/// One request's correlation id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cid(String);

impl Cid {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(hex::encode(bytes))
    }

    /// The request's cid ([`layer`] minted it; a new one if the request did not pass it).
    pub fn of(req: &HttpRequest) -> Self {
        req.extensions()
            .get::<Cid>()
            .cloned()
            .unwrap_or_else(Self::generate)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Cid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The `wrap_fn` of the flavour's scope: mints the cid, runs the request inside a span that
/// carries it, and sets `X-Zato-CID` on the answer (404 and 405 included).
pub fn layer<S, B>(
    req: ServiceRequest,
    service: &S,
) -> impl std::future::Future<Output = Result<ServiceResponse<B>, actix_web::Error>>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let cid = Cid::generate();
    req.extensions_mut().insert(cid.clone());
    let span = tracing::info_span!("Zato SSO request", cid = %cid);
    let call = span.in_scope(|| service.call(req));
    async move {
        let mut response = call.await?;
        if let Ok(value) = HeaderValue::from_str(cid.as_str()) {
            response
                .headers_mut()
                .insert(HeaderName::from_static(HEADER), value);
        }
        Ok(response)
    }
    .instrument(span)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cids_are_24_lowercase_hex_characters_and_distinct() {
        let a = Cid::generate();
        let b = Cid::generate();
        assert_eq!(a.as_str().len(), 24);
        assert!(a
            .as_str()
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)));
        assert_ne!(a, b);
    }
}
