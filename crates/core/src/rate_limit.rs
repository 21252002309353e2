//! The per-address sign-up rate limit: a token bucket (GCRA) per client address, kept in
//! this process (`governor`) or in Redis, where one atomic script step per request makes
//! every instance spend the same allowance.

use std::{
    net::{IpAddr, Ipv6Addr},
    num::NonZeroU32,
    sync::{
        atomic::{AtomicI64, Ordering},
        Arc,
    },
    time::Duration,
};

use governor::{clock::Clock, DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::sync::OnceCell;

use crate::{
    config::{redact_url, RateLimitSettings, RateLimitStore},
    metrics::Metrics,
};

/// How long to sleep between two [`SignUpLimiter::forget_idle`] calls.
pub const LIMITER_SWEEP: Duration = Duration::from_secs(60);

/// Per-address limit on sign-up requests. IPv6 clients are grouped by /64, since one host
/// usually holds a whole /64.
#[derive(Debug)]
pub enum SignUpLimiter {
    Memory(MemoryLimiter),
    Redis(Box<RedisLimiter>),
}

impl SignUpLimiter {
    /// `None` when the settings turn the limit off.
    pub fn new(settings: &RateLimitSettings, metrics: &Metrics) -> anyhow::Result<Option<Self>> {
        let Some(per_minute) = NonZeroU32::new(settings.per_ip_per_minute) else {
            return Ok(None);
        };
        let burst = NonZeroU32::new(settings.burst).unwrap_or(per_minute);
        Ok(Some(match settings.store {
            RateLimitStore::Memory => Self::Memory(MemoryLimiter::new(per_minute, burst)),
            RateLimitStore::Redis => Self::Redis(Box::new(RedisLimiter::new(
                settings,
                per_minute,
                burst,
                metrics.clone(),
            )?)),
        }))
    }

    /// `Err(seconds to wait)` when the address has used its allowance.
    pub async fn check(&self, ip: IpAddr) -> Result<(), u64> {
        let key = client_key(ip);
        match self {
            Self::Memory(limiter) => limiter.check(key),
            Self::Redis(limiter) => limiter.check(key).await,
        }
    }

    /// Forgets addresses whose allowance is full again (call now and then to bound memory;
    /// Redis expires its keys itself).
    pub fn forget_idle(&self) {
        if let Self::Memory(limiter) = self {
            limiter.limiter.retain_recent();
            limiter.limiter.shrink_to_fit();
        }
    }
}

/// The address an allowance belongs to: IPv4 as is, IPv6 by its /64.
fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            let mut segments = v6.segments();
            segments[4..].fill(0);
            IpAddr::V6(Ipv6Addr::from(segments))
        }
        v4 => v4,
    }
}

/// Seconds to wait, rounded up, never 0.
fn whole_seconds(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

/// Allowances in this process's memory.
#[derive(Debug)]
pub struct MemoryLimiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
}

impl MemoryLimiter {
    fn new(per_minute: NonZeroU32, burst: NonZeroU32) -> Self {
        let quota = Quota::per_minute(per_minute).allow_burst(burst);
        Self {
            limiter: RateLimiter::keyed(quota),
        }
    }

    fn check(&self, key: IpAddr) -> Result<(), u64> {
        self.limiter.check_key(&key).map_err(|not_until| {
            whole_seconds(not_until.wait_time_from(governor::clock::DefaultClock::default().now()))
        })
    }
}

/// One GCRA step, atomic in Redis: the key holds the theoretical arrival time (ms) of the
/// next request; Redis's own clock is used, so instances need not agree on the time.
/// Returns 0 when allowed, else the milliseconds to wait.
const GCRA: &str = r"
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local allow_at = tat - tolerance
if now < allow_at then return allow_at - now end
local next_tat = tat + interval
redis.call('SET', KEYS[1], next_tat, 'PX', next_tat - now + 1000)
return 0
";

/// Allowances in Redis, shared by every instance. When Redis does not answer in time, the
/// request is let through (a sign-up service that refuses everyone because its limiter is
/// down does more harm than one that briefly limits no one), counted, and warned about
/// once a minute.
pub struct RedisLimiter {
    client: redis::Client,
    connection: OnceCell<redis::aio::ConnectionManager>,
    script: redis::Script,
    /// Milliseconds between two requests at the sustained pace.
    interval_ms: u64,
    /// How far ahead of now the arrival time may run: the burst.
    tolerance_ms: u64,
    timeout: Duration,
    prefix: String,
    metrics: Metrics,
    /// Unix seconds of the last warning.
    last_warning: Arc<AtomicI64>,
    /// Unix milliseconds until which Redis is not asked again after it failed, so an
    /// outage costs each request nothing instead of a connection attempt and a timeout.
    skip_until_ms: AtomicI64,
    shown_url: String,
}

impl std::fmt::Debug for RedisLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLimiter")
            .field("url", &self.shown_url)
            .field("interval_ms", &self.interval_ms)
            .field("tolerance_ms", &self.tolerance_ms)
            .finish_non_exhaustive()
    }
}

impl RedisLimiter {
    fn new(
        settings: &RateLimitSettings,
        per_minute: NonZeroU32,
        burst: NonZeroU32,
        metrics: Metrics,
    ) -> anyhow::Result<Self> {
        let client = redis::Client::open(settings.redis_url.as_str()).map_err(|e| {
            anyhow::anyhow!(
                "rate_limit.redis_url {} is not a Redis URL: {e}",
                redact_url(&settings.redis_url)
            )
        })?;
        let interval_ms = 60_000 / u64::from(per_minute.get());
        Ok(Self {
            client,
            connection: OnceCell::new(),
            script: redis::Script::new(GCRA),
            interval_ms,
            tolerance_ms: interval_ms * u64::from(burst.get() - 1),
            timeout: Duration::from_millis(settings.redis_timeout_ms.max(1)),
            prefix: settings.redis_key_prefix.clone(),
            metrics,
            last_warning: Arc::new(AtomicI64::new(i64::MIN)),
            skip_until_ms: AtomicI64::new(i64::MIN),
            shown_url: redact_url(&settings.redis_url),
        })
    }

    async fn check(&self, key: IpAddr) -> Result<(), u64> {
        let now_ms = chrono::Utc::now().timestamp_millis();
        if now_ms < self.skip_until_ms.load(Ordering::Relaxed) {
            self.let_through("unreachable a moment ago");
            return Ok(());
        }
        match tokio::time::timeout(self.timeout, self.step(key)).await {
            Ok(Ok(0)) => Ok(()),
            Ok(Ok(wait_ms)) => Err(whole_seconds(Duration::from_millis(wait_ms))),
            Ok(Err(error)) => {
                self.unavailable(&error.to_string());
                Ok(())
            }
            Err(_) => {
                self.unavailable("no answer in time");
                Ok(())
            }
        }
    }

    async fn step(&self, key: IpAddr) -> redis::RedisResult<u64> {
        let connection = self
            .connection
            .get_or_try_init(|| self.client.get_connection_manager())
            .await?;
        let mut connection = connection.clone();
        self.script
            .key(format!("{}{key}", self.prefix))
            .arg(self.interval_ms)
            .arg(self.tolerance_ms)
            .invoke_async(&mut connection)
            .await
    }

    /// Redis failed this request: skip it for a second, and let the request through.
    fn unavailable(&self, why: &str) {
        let retry_at = chrono::Utc::now().timestamp_millis() + 1000;
        self.skip_until_ms.store(retry_at, Ordering::Relaxed);
        self.let_through(why);
    }

    /// Counts a request let through, and warns at most once a minute.
    fn let_through(&self, why: &str) {
        self.metrics.rate_limit_store_unavailable.inc();
        let now = chrono::Utc::now().timestamp();
        let last = self.last_warning.load(Ordering::Relaxed);
        if now.saturating_sub(last) >= 60
            && self
                .last_warning
                .compare_exchange(last, now, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                redis = %self.shown_url,
                error = why,
                "Rate limit store unavailable: letting sign-ups through unlimited"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(per_minute: u32, burst: u32) -> RateLimitSettings {
        RateLimitSettings {
            per_ip_per_minute: per_minute,
            burst,
            ..RateLimitSettings::default()
        }
    }

    #[tokio::test]
    async fn the_limiter_allows_the_burst_then_says_how_long_to_wait() {
        let limiter = SignUpLimiter::new(&settings(2, 3), &Metrics::new())
            .unwrap()
            .unwrap();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(limiter.check(ip).await, Ok(()));
        }
        let wait = limiter.check(ip).await.unwrap_err();
        assert!((1..=30).contains(&wait), "{wait}");
        assert_eq!(limiter.check("192.0.2.2".parse().unwrap()).await, Ok(()));
        assert!(SignUpLimiter::new(&settings(0, 5), &Metrics::new())
            .unwrap()
            .is_none());
    }

    #[tokio::test]
    async fn ipv6_clients_share_their_64() {
        let limiter = SignUpLimiter::new(&settings(1, 1), &Metrics::new())
            .unwrap()
            .unwrap();
        assert_eq!(limiter.check("2001:db8::1".parse().unwrap()).await, Ok(()));
        assert!(limiter
            .check("2001:db8::ffff".parse().unwrap())
            .await
            .is_err());
        assert_eq!(
            limiter.check("2001:db8:0:1::1".parse().unwrap()).await,
            Ok(())
        );
    }

    #[tokio::test]
    async fn an_unreachable_redis_lets_requests_through_and_counts_them() {
        let metrics = Metrics::new();
        let limiter = SignUpLimiter::new(
            &RateLimitSettings {
                store: RateLimitStore::Redis,
                // Nothing listens on port 1.
                redis_url: "redis://127.0.0.1:1".into(),
                ..settings(1, 1)
            },
            &metrics,
        )
        .unwrap()
        .unwrap();
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(limiter.check(ip).await, Ok(()));
        }
        assert_eq!(metrics.rate_limit_store_unavailable.get(), 3);
    }
}
