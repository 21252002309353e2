//! The core built in one call: [`Services::start`] wires the store, accounts, hashing,
//! webhooks, the rate limiter and the outbox worker from the settings, and hands back the
//! [`Background`] work its host must run.

use std::{sync::Arc, time::Duration};

use ipnet::IpNet;
use tokio::{sync::watch, task::JoinHandle};

use crate::{
    accounts::Accounts,
    config::{Profile, Settings, TokenSettings},
    hashing::HashingPool,
    metrics::Metrics,
    outbox::{Mailer, OutboxWorker, WebhookSender},
    rate_limit::{SignUpLimiter, LIMITER_SWEEP},
    secrets::{self, Origin, SecretBytes},
    store::Store,
};

/// Name of the generated token key in the store.
const TOKEN_SECRET: &str = "tokens.secret";

/// What every flavour receives: the accounts service, metrics, the secrets and the HTTP
/// policy the operator chose. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Services {
    pub accounts: Accounts,
    pub metrics: Metrics,
    /// Shared by every mounted flavour, so one address has one allowance.
    pub limiter: Option<Arc<SignUpLimiter>>,
    pub trusted_proxies: Arc<[IpNet]>,
    pub body_limit_bytes: usize,
    /// Base of every link handed out, without a trailing slash (a mount may have its own).
    pub public_url: String,
    pub site_name: String,
    pub profile: Profile,
    pub tokens: TokenSettings,
    /// `tokens.secret`, or the key generated once and shared through the store.
    pub token_key: SecretBytes,
}

/// The work a host runs beside its HTTP server: the outbox worker and the limiter's sweep.
#[derive(Debug)]
pub struct Background {
    worker: OutboxWorker,
    limiter: Option<Arc<SignUpLimiter>>,
}

/// Running background work; [`Running::stop`] ends it after the mail being sent.
#[derive(Debug)]
pub struct Running {
    stop: watch::Sender<bool>,
    worker: JoinHandle<()>,
    sweeper: Option<JoinHandle<()>>,
}

impl Services {
    /// Opens the store (applying the migrations when configured to) and builds the services.
    pub async fn start<F>(settings: &Settings<F>) -> anyhow::Result<(Self, Background)> {
        let store = Store::connect(&settings.database).await?;
        if settings.database.run_migrations {
            store.migrate().await?;
        }
        Self::start_on(store, settings, Metrics::new()).await
    }

    /// Builds the services over a store that is already open and migrated.
    pub async fn start_on<F>(
        store: Store,
        settings: &Settings<F>,
        metrics: Metrics,
    ) -> anyhow::Result<(Self, Background)> {
        let hasher = HashingPool::new(&settings.hashing, metrics.clone())?;
        let accounts = Accounts::new(store.clone(), hasher).with_webhooks(&settings.webhooks);
        let limiter = SignUpLimiter::new(&settings.rate_limit, &metrics)?.map(Arc::new);
        let (token_key, origin) =
            secrets::configured_or_stored(&store, TOKEN_SECRET, settings.tokens.secret.as_ref())
                .await?;
        if origin == Origin::Stored {
            tracing::warn!(
                "No tokens.secret configured: using a key generated once and kept in the database \
                 (every instance on it shares it). Set SIGNUP__TOKENS__SECRET to choose your own; \
                 the production profile requires it."
            );
        }
        let worker = OutboxWorker::new(
            store,
            Mailer::from_settings(&settings.mail)?,
            metrics.clone(),
            &settings.mail,
        )
        .with_webhooks(WebhookSender::new(&settings.webhooks)?);
        let server = &settings.server;
        let services = Self {
            accounts,
            metrics,
            limiter: limiter.clone(),
            trusted_proxies: server.trusted_proxies.clone().into(),
            body_limit_bytes: server.body_limit_bytes,
            public_url: server.public_url.trim_end_matches('/').to_string(),
            site_name: settings.mail.site_name.clone(),
            profile: settings.profile,
            tokens: settings.tokens.clone(),
            token_key,
        };
        // Only an in-process limiter keeps idle entries to forget; Redis expires its own keys.
        let limiter = limiter.filter(|l| matches!(**l, SignUpLimiter::Memory(_)));
        Ok((services, Background { worker, limiter }))
    }

    pub fn store(&self) -> &Store {
        self.accounts.store()
    }

    /// A secret of the given name, generated once and shared through the store (use it for
    /// keys an operator did not configure: HMAC keys, salts).
    pub async fn stored_secret(&self, name: &str) -> anyhow::Result<SecretBytes> {
        secrets::stored(self.store(), name).await
    }
}

impl Background {
    /// Spawns the worker and the sweep on the current Tokio runtime.
    pub fn spawn(self) -> Running {
        let (stop, stop_rx) = watch::channel(false);
        let worker = tokio::spawn(self.worker.run(stop_rx));
        let sweeper = self.limiter.map(|limiter| {
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(LIMITER_SWEEP).await;
                    limiter.forget_idle();
                }
            })
        });
        Running {
            stop,
            worker,
            sweeper,
        }
    }
}

impl Running {
    /// Stops the sweep, and the worker after the mail it is sending (waiting at most 30 s).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Some(sweeper) = self.sweeper {
            sweeper.abort();
        }
        if tokio::time::timeout(Duration::from_secs(30), self.worker)
            .await
            .is_err()
        {
            tracing::warn!("The outbox worker did not stop within 30 s");
        }
    }
}
