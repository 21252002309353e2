//! The bundle of core services a flavour is built from.

use std::sync::Arc;

use ipnet::IpNet;

use crate::{
    accounts::Accounts,
    config::{HashingSettings, MailSettings, RateLimitSettings, ServerSettings, TokenSettings},
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
    pub confirmation_ttl: std::time::Duration,
}

impl Services {
    /// Builds the services over an open store.
    pub fn new(
        store: Store,
        server: &ServerSettings,
        hashing: &HashingSettings,
        rate_limit: &RateLimitSettings,
        tokens: &TokenSettings,
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
            confirmation_ttl: std::time::Duration::from_secs(tokens.confirmation_ttl_secs),
        })
    }
}
