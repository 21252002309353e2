//! The bundle of core services a flavour is built from.

use std::sync::Arc;

use ipnet::IpNet;

use crate::{
    accounts::Accounts,
    config::{HashingSettings, MailSettings, RateLimitSettings, ServerSettings},
    hashing::HashingPool,
    metrics::Metrics,
    store::Store,
    web::SignUpLimiter,
};

/// What every flavour receives: the accounts service, metrics, and the HTTP policy the
/// operator chose. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Services {
    pub accounts: Accounts,
    pub metrics: Metrics,
    /// Shared by every mounted flavour, so one address has one allowance.
    pub limiter: Option<Arc<SignUpLimiter>>,
    pub trusted_proxies: Arc<[IpNet]>,
    pub body_limit_bytes: usize,
    /// Base of every link handed out, without a trailing slash.
    pub public_url: String,
    pub site_name: String,
}

impl Services {
    /// Builds the services over an open store.
    pub fn new(
        store: Store,
        server: &ServerSettings,
        hashing: &HashingSettings,
        rate_limit: &RateLimitSettings,
        mail: &MailSettings,
        metrics: Metrics,
    ) -> anyhow::Result<Self> {
        let hasher = HashingPool::new(hashing, metrics.clone())?;
        Ok(Self {
            accounts: Accounts::new(store, hasher),
            metrics,
            limiter: SignUpLimiter::new(rate_limit).map(Arc::new),
            trusted_proxies: server.trusted_proxies.clone().into(),
            body_limit_bytes: server.body_limit_bytes,
            public_url: server.public_url.trim_end_matches('/').to_string(),
            site_name: mail.site_name.clone(),
        })
    }
}

impl Services {
    /// Spends one sign-up of the client's allowance (its address found behind the trusted
    /// proxies); `Err(seconds to wait)` when it is used up. Always `Ok` with no limit set.
    pub fn check_sign_up_rate(&self, req: &actix_web::HttpRequest) -> Result<(), u64> {
        match (
            &self.limiter,
            crate::web::client_ip(req, &self.trusted_proxies),
        ) {
            (Some(limiter), Some(ip)) => limiter.check(ip),
            _ => Ok(()),
        }
    }
}
