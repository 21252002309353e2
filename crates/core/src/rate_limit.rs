//! The per-address sign-up rate limit (token bucket, `governor`), kept in this process.

use std::{
    net::{IpAddr, Ipv6Addr},
    num::NonZeroU32,
    time::Duration,
};

use governor::{clock::Clock, DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::RateLimitSettings;

/// Per-address limit on sign-up requests (token bucket, `governor`). IPv6 clients are
/// grouped by /64, since one host usually holds a whole /64.
#[derive(Debug)]
pub struct SignUpLimiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
}

impl SignUpLimiter {
    /// `None` when the settings turn the limit off.
    pub fn new(settings: &RateLimitSettings) -> Option<Self> {
        let per_minute = NonZeroU32::new(settings.per_ip_per_minute)?;
        let burst = NonZeroU32::new(settings.burst).unwrap_or(per_minute);
        let quota = Quota::per_minute(per_minute).allow_burst(burst);
        Some(Self {
            limiter: RateLimiter::keyed(quota),
        })
    }

    /// `Err(seconds to wait)` when the address has used its allowance.
    pub fn check(&self, ip: IpAddr) -> Result<(), u64> {
        let key = match ip {
            IpAddr::V6(v6) => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                IpAddr::V6(Ipv6Addr::from(segments))
            }
            v4 => v4,
        };
        self.limiter.check_key(&key).map_err(|not_until| {
            let wait = not_until.wait_time_from(governor::clock::DefaultClock::default().now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
    }

    /// Forgets addresses whose allowance is full again (call now and then to bound memory).
    pub fn forget_idle(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

/// How long to sleep between two [`SignUpLimiter::forget_idle`] calls.
pub const LIMITER_SWEEP: Duration = Duration::from_secs(60);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limiter_allows_the_burst_then_says_how_long_to_wait() {
        let limiter = SignUpLimiter::new(&RateLimitSettings {
            per_ip_per_minute: 2,
            burst: 3,
        })
        .unwrap();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(limiter.check(ip), Ok(()));
        }
        let wait = limiter.check(ip).unwrap_err();
        assert!((1..=30).contains(&wait), "{wait}");
        assert_eq!(limiter.check("192.0.2.2".parse().unwrap()), Ok(()));
        assert!(SignUpLimiter::new(&RateLimitSettings {
            per_ip_per_minute: 0,
            burst: 5
        })
        .is_none());
    }
}
