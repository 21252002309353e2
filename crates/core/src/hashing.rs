//! Argon2id password hashing on a bounded pool, off the async workers.
//!
//! At most `workers` hashes run at once (each holds `memory_kib` of memory, so memory is
//! bounded by workers x m), at most `queue` more wait for a worker, and a request beyond that
//! is refused at once with [`HashingError::Overloaded`] instead of waiting without bound.

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Instant,
};

use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Algorithm, Argon2, Params, Version,
};
use tokio::sync::Semaphore;

use crate::{config::HashingSettings, metrics::Metrics, password::Password};

/// How long a refused caller is told to wait before trying again.
pub const RETRY_AFTER_SECS: u64 = 1;

#[derive(Debug, thiserror::Error)]
pub enum HashingError {
    #[error("the password hashing queue is full")]
    Overloaded,
    #[error("password hashing failed: {0}")]
    Failed(String),
}

/// The PHC string of an argon2id hash (`$argon2id$v=19$m=...`).
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHashString(String);

impl PasswordHashString {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for PasswordHashString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHashString(<redacted>)")
    }
}

/// The bounded hashing pool. Cheap to clone; clones share the bounds.
#[derive(Clone)]
pub struct HashingPool {
    inner: Arc<Inner>,
}

struct Inner {
    argon2: Argon2<'static>,
    workers: Arc<Semaphore>,
    capacity: usize,
    worker_count: usize,
    in_flight: AtomicUsize,
    high_water: AtomicUsize,
    /// Verified when an account does not exist, so that path costs what the real one does.
    dummy_hash: String,
    metrics: Metrics,
}

impl std::fmt::Debug for HashingPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashingPool")
            .field("workers", &self.inner.worker_count)
            .field("capacity", &self.inner.capacity)
            .field("in_flight", &self.in_flight())
            .finish()
    }
}

/// Counts a waiter on a gauge for as long as it lives (a caller may give up while waiting).
struct GaugeGuard(prometheus::IntGauge);

impl GaugeGuard {
    fn new(gauge: &prometheus::IntGauge) -> Self {
        gauge.inc();
        Self(gauge.clone())
    }
}

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Leaves the pool's admission count when the job ends, however it ends.
struct Admission(Arc<Inner>);

impl Drop for Admission {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl HashingPool {
    pub fn new(settings: &HashingSettings, metrics: Metrics) -> anyhow::Result<Self> {
        let params = Params::new(
            settings.memory_kib,
            settings.iterations,
            settings.parallelism,
            None,
        )
        .map_err(|e| anyhow::anyhow!("invalid [hashing] parameters: {e}"))?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let worker_count = if settings.workers == 0 {
            std::thread::available_parallelism().map_or(1, usize::from)
        } else {
            settings.workers
        };
        let dummy_hash = argon2
            .hash_password(
                b"signup-gateway dummy password",
                &SaltString::generate(&mut OsRng),
            )
            .map_err(|e| anyhow::anyhow!("argon2 self-test failed: {e}"))?
            .to_string();
        Ok(Self {
            inner: Arc::new(Inner {
                argon2,
                workers: Arc::new(Semaphore::new(worker_count)),
                capacity: worker_count + settings.queue,
                worker_count,
                in_flight: AtomicUsize::new(0),
                high_water: AtomicUsize::new(0),
                dummy_hash,
                metrics,
            }),
        })
    }

    /// Hashes a password with a fresh random salt. The password is wiped afterwards.
    pub async fn hash(&self, password: Password) -> Result<PasswordHashString, HashingError> {
        let inner = Arc::clone(&self.inner);
        self.run(move || {
            let salt = SaltString::generate(&mut OsRng);
            inner
                .argon2
                .hash_password(password.expose().as_bytes(), &salt)
                .map(|hash| PasswordHashString(hash.to_string()))
                .map_err(|e| HashingError::Failed(e.to_string()))
        })
        .await?
    }

    /// Checks a password against a stored hash; with no stored hash it checks a dummy one
    /// (and answers `false`), so that an unknown account costs the same as a known one.
    pub async fn verify(
        &self,
        password: Password,
        stored: Option<String>,
    ) -> Result<bool, HashingError> {
        let inner = Arc::clone(&self.inner);
        self.run(move || {
            let known = stored.is_some();
            let phc = stored.unwrap_or_else(|| inner.dummy_hash.clone());
            let parsed =
                PasswordHash::new(&phc).map_err(|e| HashingError::Failed(e.to_string()))?;
            let matches = inner
                .argon2
                .verify_password(password.expose().as_bytes(), &parsed)
                .is_ok();
            Ok(known && matches)
        })
        .await?
    }

    /// Runs a CPU-bound job on the pool: refused at once when `workers + queue` jobs are
    /// already admitted, otherwise waits for a worker and runs on a blocking thread.
    pub async fn run<T, F>(&self, job: F) -> Result<T, HashingError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let admission = self.admit()?;
        let metrics = &self.inner.metrics;
        let queued_at = Instant::now();
        let waiting = GaugeGuard::new(&metrics.hashing_queue_depth);
        let permit = Arc::clone(&self.inner.workers).acquire_owned().await;
        drop(waiting);
        let permit = permit.map_err(|_| HashingError::Failed("hashing pool closed".into()))?;
        metrics
            .hashing_wait_seconds
            .observe(queued_at.elapsed().as_secs_f64());
        let running = metrics.hashing_running.clone();
        // The permit and the admission travel with the job: if the caller goes away, the
        // hash still finishes before its worker slot is given back.
        tokio::task::spawn_blocking(move || {
            running.inc();
            let result = job();
            running.dec();
            drop(permit);
            drop(admission);
            result
        })
        .await
        .map_err(|e| HashingError::Failed(e.to_string()))
    }

    fn admit(&self) -> Result<Admission, HashingError> {
        let inner = &self.inner;
        let admitted = inner
            .in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < inner.capacity).then_some(n + 1)
            });
        match admitted {
            Ok(previous) => {
                inner.high_water.fetch_max(previous + 1, Ordering::AcqRel);
                Ok(Admission(Arc::clone(inner)))
            }
            Err(_) => {
                inner.metrics.hashing_rejected.inc();
                Err(HashingError::Overloaded)
            }
        }
    }

    /// Jobs admitted now (running plus waiting).
    pub fn in_flight(&self) -> usize {
        self.inner.in_flight.load(Ordering::Acquire)
    }

    /// The most jobs ever admitted at once: never above [`HashingPool::capacity`].
    pub fn high_water(&self) -> usize {
        self.inner.high_water.load(Ordering::Acquire)
    }

    /// `workers + queue`.
    pub fn capacity(&self) -> usize {
        self.inner.capacity
    }

    pub fn workers(&self) -> usize {
        self.inner.worker_count
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::password::PasswordPolicy;
    use futures_util::FutureExt;
    use std::sync::mpsc;

    fn tiny(workers: usize, queue: usize) -> HashingPool {
        let settings = HashingSettings {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
            workers,
            queue,
        };
        HashingPool::new(&settings, Metrics::new()).unwrap()
    }

    fn password(raw: &str) -> Password {
        Password::parse(raw.into(), PasswordPolicy::default()).unwrap()
    }

    #[tokio::test]
    async fn a_hash_verifies_and_a_wrong_password_does_not() {
        let pool = tiny(1, 1);
        let hash = pool.hash(password("correct horse")).await.unwrap();
        assert!(hash.as_str().starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert!(pool
            .verify(password("correct horse"), Some(hash.as_str().into()))
            .await
            .unwrap());
        assert!(!pool
            .verify(password("wrong horse!"), Some(hash.as_str().into()))
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn an_unknown_account_verifies_the_dummy_hash_and_fails() {
        let pool = tiny(1, 1);
        let metrics = pool.inner.metrics.clone();
        assert!(!pool.verify(password("correct horse"), None).await.unwrap());
        // The dummy path went through the pool like a real verification.
        assert_eq!(metrics.hashing_wait_seconds.get_sample_count(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn past_workers_plus_queue_the_pool_refuses_at_once() {
        let pool = tiny(1, 2);
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let release_rx = Arc::new(std::sync::Mutex::new(release_rx));
        let mut admitted = Vec::new();
        for _ in 0..3 {
            let rx = Arc::clone(&release_rx);
            let pool = pool.clone();
            admitted.push(tokio::spawn(async move {
                pool.run(move || {
                    let _ = rx.lock().map(|rx| rx.recv());
                })
                .await
            }));
        }
        while pool.in_flight() < 3 {
            tokio::task::yield_now().await;
        }
        // The fourth is answered without waiting for anything.
        let refused = pool.run(|| ()).now_or_never();
        assert!(matches!(refused, Some(Err(HashingError::Overloaded))));
        assert_eq!(pool.inner.metrics.hashing_rejected.get(), 1);
        assert_eq!(pool.inner.metrics.hashing_queue_depth.get(), 2);
        for _ in 0..3 {
            release_tx.send(()).unwrap();
        }
        for job in admitted {
            job.await.unwrap().unwrap();
        }
        assert_eq!(pool.high_water(), 3);
        assert_eq!(pool.in_flight(), 0);
        pool.run(|| ()).await.unwrap();
    }
}
