//! Admission: what every sign-up request passes before its body is read, in one order no
//! handler can change or skip: the per-address rate limit, then the declared media type
//! (when the flavour requires JSON), then saturation shedding (when the request will hash a
//! password), and only then the body, read up to the limit.

use actix_web::{http::header, web, HttpRequest};
use futures_util::StreamExt;
use signup_core::hashing::RETRY_AFTER_SECS;

use crate::{mount::MountContext, request::has_json_content_type};

/// What a flavour's request needs checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checks {
    /// Refuse a body not declared as JSON (before any work).
    pub json_only: bool,
    /// The request will hash a password: shed it at once while the hashing pool is full.
    pub hashes_password: bool,
}

impl Checks {
    /// A JSON sign-up that hashes a password (Conductor).
    pub const JSON_WITH_PASSWORD: Self = Self {
        json_only: true,
        hashes_password: true,
    };
    /// Any body, nothing hashed (Infera's address-only sign-up).
    pub const ANY_WITHOUT_PASSWORD: Self = Self {
        json_only: false,
        hashes_password: false,
    };
    /// Any declared type (the flavour checks it), with a password to hash.
    pub const ANY_WITH_PASSWORD: Self = Self {
        json_only: false,
        hashes_password: true,
    };
}

/// Why a request was not admitted; each flavour renders it in its own shape.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Refusal {
    #[error("too many sign-up requests from this address")]
    RateLimited { retry_after_secs: u64 },
    #[error("the body is not declared as JSON")]
    UnsupportedMediaType,
    #[error("every password hashing place is taken")]
    Overloaded { retry_after_secs: u64 },
    #[error("the request body is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("the request body could not be read")]
    Incomplete,
}

/// Proof that a request passed the checks before its body: the only way to its body.
#[derive(Debug)]
#[must_use = "an admitted request's body is read through it"]
pub struct Admitted {
    limit: usize,
}

impl MountContext {
    /// Runs the checks before the body, in the order the module documents.
    pub async fn admit(&self, req: &HttpRequest, checks: Checks) -> Result<Admitted, Refusal> {
        let services = &self.services;
        if let (Some(limiter), Some(ip)) = (
            &services.limiter,
            crate::client_ip(req, &services.trusted_proxies),
        ) {
            limiter
                .check(ip)
                .await
                .map_err(|retry_after_secs| Refusal::RateLimited { retry_after_secs })?;
        }
        if checks.json_only && !has_json_content_type(req) {
            return Err(Refusal::UnsupportedMediaType);
        }
        // Shed load before reading the body when no sign-up could be hashed anyway.
        if checks.hashes_password && services.accounts.hasher().is_saturated() {
            return Err(Refusal::Overloaded {
                retry_after_secs: RETRY_AFTER_SECS,
            });
        }
        Ok(Admitted {
            limit: services.body_limit_bytes,
        })
    }
}

impl Admitted {
    /// The largest body this request may send.
    pub fn body_limit(&self) -> usize {
        self.limit
    }

    /// Reads the whole body, refusing it as soon as it exceeds the limit (by its declared
    /// length or while streaming).
    pub async fn body(
        self,
        req: &HttpRequest,
        mut payload: web::Payload,
    ) -> Result<web::Bytes, Refusal> {
        let limit = self.limit;
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|len| len > limit) {
            return Err(Refusal::TooLarge { limit });
        }
        let mut body = web::BytesMut::with_capacity(declared.unwrap_or(0).min(limit));
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|_| Refusal::Incomplete)?;
            if body.len() + chunk.len() > limit {
                return Err(Refusal::TooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    }
}
