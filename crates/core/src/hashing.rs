//! Argon2id password hashing on a bounded pool, off the async workers.
//!
//! At most `workers` hashes run at once (each holds `memory_kib` of memory, so memory is
//! bounded by workers x m), at most `queue` more wait for a worker, and a request beyond that
//! is refused at once with [`HashingError::Overloaded`] instead of waiting without bound. So
//! is one whose expected wait is past `max_wait` (see `Inner::record_wait` for how real
//! waits, not only their estimate, are held to it).

use std::{
    sync::{
        atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering},
        mpsc, Arc, Mutex,
    },
    time::{Duration, Instant},
};

use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordVerifier},
    Algorithm, Argon2, Block, Params, Version,
};
use base64::{engine::general_purpose::STANDARD_NO_PAD, Engine};
use rand::RngCore;
use tokio::sync::oneshot;
use zeroize::Zeroize;

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

/// One thread's argon2id hasher: it keeps its `m` KiB of working memory between hashes, so
/// a hash neither allocates nor faults in fresh pages, and memory stays `workers x m`.
pub struct Hasher {
    argon2: Argon2<'static>,
    params: Params,
    memory: Vec<Block>,
    /// Which of the pool's workers owns it (0 outside a pool).
    worker: usize,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl Hasher {
    pub fn new(settings: &HashingSettings) -> anyhow::Result<Self> {
        let params = Params::new(
            settings.memory_kib,
            settings.iterations,
            settings.parallelism,
            None,
        )
        .map_err(|e| anyhow::anyhow!("invalid [hashing] parameters: {e}"))?;
        Ok(Self {
            argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone()),
            memory: vec![Block::default(); params.block_count()],
            params,
            worker: 0,
        })
    }

    /// Hashes with a fresh 128-bit salt and returns the PHC string.
    pub fn hash(&mut self, password: &[u8]) -> Result<String, HashingError> {
        let mut salt = [0u8; 16];
        OsRng.fill_bytes(&mut salt);
        let mut output = [0u8; 32];
        self.argon2
            .hash_password_into_with_memory(password, &salt, &mut output, &mut self.memory)
            .map_err(|e| HashingError::Failed(e.to_string()))?;
        let phc = format!(
            "$argon2id$v=19$m={},t={},p={}${}${}",
            self.params.m_cost(),
            self.params.t_cost(),
            self.params.p_cost(),
            STANDARD_NO_PAD.encode(salt),
            STANDARD_NO_PAD.encode(output),
        );
        output.zeroize();
        Ok(phc)
    }

    /// Whether `password` matches the PHC string (with the parameters the string names).
    pub fn verify(&self, password: &[u8], phc: &str) -> Result<bool, HashingError> {
        let parsed = PasswordHash::new(phc).map_err(|e| HashingError::Failed(e.to_string()))?;
        Ok(self.argon2.verify_password(password, &parsed).is_ok())
    }
}

type Job = Box<dyn FnOnce(&mut Hasher) + Send>;

/// The bounded hashing pool. Cheap to clone; clones share the bounds and the threads, which
/// end when the last clone is dropped.
#[derive(Clone)]
pub struct HashingPool {
    inner: Arc<Inner>,
}

struct Inner {
    jobs: Mutex<mpsc::Sender<Job>>,
    capacity: usize,
    worker_count: usize,
    in_flight: AtomicUsize,
    high_water: AtomicUsize,
    /// Moving mean of a job's run time, in microseconds (seeded by the first hash).
    mean_job_micros: AtomicU64,
    /// When each worker's current job started.
    busy: Busy,
    /// The configured bound on the wait, or `None` for four mean job times.
    max_wait: Option<Duration>,
    /// The share of `max_wait` the wait estimate may reach, in 65,536ths (see
    /// [`Inner::record_wait`]).
    wait_share: AtomicU32,
    /// Verified when an account does not exist, so that path costs what the real one does.
    dummy_hash: String,
    metrics: Metrics,
}

impl Inner {
    /// Whether a job may join `in_flight` others: within the count and the time bound.
    fn admits(&self, in_flight: usize) -> bool {
        in_flight < self.capacity && self.expected_wait(in_flight) <= self.wait_limit()
    }

    /// The work ahead of a new job, shared by the workers: each admitted job not yet running
    /// takes the mean job time, and each running one what it has left of it. Zero while a
    /// worker is free for it.
    fn expected_wait(&self, in_flight: usize) -> Duration {
        let mean = self.mean_job_micros.load(Ordering::Relaxed);
        let (running, left) = self.busy.running_and_left(mean);
        // Queued, or reserved and still before their hash (a duplicate check, say).
        let waiting = in_flight.saturating_sub(running);
        if running + waiting < self.worker_count {
            return Duration::ZERO;
        }
        let work = (waiting as u64).saturating_mul(mean).saturating_add(left);
        Duration::from_micros(work / self.worker_count.max(1) as u64)
    }

    fn max_wait(&self) -> Duration {
        self.max_wait.unwrap_or_else(|| {
            Duration::from_micros(
                self.mean_job_micros
                    .load(Ordering::Relaxed)
                    .saturating_mul(4),
            )
        })
    }

    /// The expected wait admitted now: `max_wait`, lowered while jobs wait past it.
    fn wait_limit(&self) -> Duration {
        let share = self.wait_share.load(Ordering::Relaxed);
        self.max_wait()
            .mul_f64(f64::from(share) / f64::from(FULL_SHARE))
    }

    /// Holds the real waits, not only their estimate, to `max_wait`. The estimate counts each
    /// job ahead at the mean, and jobs vary (a busy or noisy machine runs some at twice the
    /// mean), so under a full queue many admitted jobs would wait past it. Each job that
    /// waited past `max_wait` lowers the share of it the estimate may reach by a 16th, each
    /// other job raises it by a 99th of that (up to all of it): the share settles where about
    /// 1 job in 100 waits past `max_wait`, whatever the estimate's error, and climbs back
    /// when the waits shorten.
    fn record_wait(&self, waited: Duration) {
        let over = waited > self.max_wait();
        let step = |share: u32| {
            Some(if over {
                share.saturating_sub(SHARE_DOWN)
            } else {
                (share + SHARE_DOWN / 99).min(FULL_SHARE)
            })
        };
        let _ = self
            .wait_share
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, step);
        self.publish_wait_limit();
    }

    fn publish_wait_limit(&self) {
        self.metrics
            .hashing_wait_limit_seconds
            .set(self.wait_limit().as_secs_f64());
    }

    /// Folds one job's run time into the moving mean (weight 1/8; a lost race between two
    /// workers drops one sample, which a mean can afford).
    fn record_job_time(&self, took: Duration) {
        self.metrics.hashing_run_seconds.observe(took.as_secs_f64());
        let sample = micros(took).max(1);
        let mean = self.mean_job_micros.load(Ordering::Relaxed);
        let next = (mean - mean / 8 + sample / 8).max(1);
        self.mean_job_micros.store(next, Ordering::Relaxed);
        self.metrics.hashing_job_seconds.set(next as f64 / 1e6);
    }
}

/// All of `max_wait`, as a share (see [`Inner::record_wait`]).
const FULL_SHARE: u32 = 1 << 16;
/// What one job waiting past `max_wait` takes off the share.
const SHARE_DOWN: u32 = FULL_SHARE / 16;

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// When each worker's current job started: microseconds since an hour before the pool
/// started, so that 0 can mean idle. Lets the wait estimate count what the running jobs have left instead
/// of assuming each is half done.
struct Busy {
    epoch: Instant,
    since: Box<[AtomicU64]>,
}

impl Busy {
    fn new(workers: usize) -> Self {
        Self {
            epoch: Instant::now(),
            since: (0..workers).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    fn now(&self) -> u64 {
        micros(self.epoch.elapsed()).saturating_add(3_600_000_000)
    }

    fn start(&self, worker: usize) {
        self.since[worker].store(self.now(), Ordering::Relaxed);
    }

    fn stop(&self, worker: usize) {
        self.since[worker].store(0, Ordering::Relaxed);
    }

    /// How many jobs run now, and the time they have left in all if each takes `mean`
    /// microseconds (one past it is expected to end any moment: nothing left).
    fn running_and_left(&self, mean: u64) -> (usize, u64) {
        let now = self.now();
        self.since
            .iter()
            .map(|since| since.load(Ordering::Relaxed))
            .filter(|&since| since != 0)
            .fold((0, 0), |(running, left), since| {
                let elapsed = now.saturating_sub(since);
                (running + 1, left + mean.saturating_sub(elapsed))
            })
    }
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

/// A place in the pool (running or waiting), held from [`HashingPool::reserve`] until the
/// job it is spent on ends, or until it is dropped unspent.
pub struct Reservation {
    inner: Arc<Inner>,
    /// When the place was taken: the wait a worker ends is counted from here.
    at: Instant,
}

impl std::fmt::Debug for Reservation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Reservation")
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.inner.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl HashingPool {
    /// Starts `workers` hashing threads (0 = one per core).
    pub fn new(settings: &HashingSettings, metrics: Metrics) -> anyhow::Result<Self> {
        let worker_count = if settings.workers == 0 {
            std::thread::available_parallelism().map_or(1, usize::from)
        } else {
            settings.workers
        };
        let mut first = Hasher::new(settings)?;
        let started = Instant::now();
        let dummy_hash = first.hash(b"signup-gateway dummy password")?;
        let first_hash_micros = micros(started.elapsed());
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        let mut hashers = vec![first];
        for _ in 1..worker_count {
            hashers.push(Hasher::new(settings)?);
        }
        for (n, mut hasher) in hashers.into_iter().enumerate() {
            hasher.worker = n;
            let receiver = Arc::clone(&receiver);
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || {
                    // Hashing yields to request handling: with every core hashing, requests
                    // (and the cheap 503s) still get the CPU the moment they need it.
                    let _ = thread_priority::set_current_thread_priority(
                        thread_priority::ThreadPriority::Min,
                    );
                    loop {
                        let job = match receiver.lock() {
                            Ok(jobs) => jobs.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(&mut hasher),
                            Err(_) => return, // every pool handle is gone
                        }
                    }
                })?;
        }
        metrics
            .hashing_job_seconds
            .set(first_hash_micros.max(1) as f64 / 1e6);
        let pool = Self {
            inner: Arc::new(Inner {
                jobs: Mutex::new(sender),
                capacity: worker_count + settings.queue,
                worker_count,
                in_flight: AtomicUsize::new(0),
                high_water: AtomicUsize::new(0),
                mean_job_micros: AtomicU64::new(first_hash_micros.max(1)),
                busy: Busy::new(worker_count),
                max_wait: (settings.max_wait_ms > 0)
                    .then(|| Duration::from_millis(settings.max_wait_ms)),
                wait_share: AtomicU32::new(FULL_SHARE),
                dummy_hash,
                metrics,
            }),
        };
        pool.inner.publish_wait_limit();
        Ok(pool)
    }

    /// Hashes a password with a fresh random salt. The password is wiped afterwards.
    pub async fn hash(&self, password: Password) -> Result<PasswordHashString, HashingError> {
        self.hash_reserved(self.reserve()?, password).await
    }

    /// [`HashingPool::hash`] in a place reserved earlier.
    pub async fn hash_reserved(
        &self,
        reservation: Reservation,
        password: Password,
    ) -> Result<PasswordHashString, HashingError> {
        self.run_reserved(reservation, move |hasher| {
            hasher
                .hash(password.expose().as_bytes())
                .map(PasswordHashString)
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
        let dummy = self.inner.dummy_hash.clone();
        self.run(move |hasher| {
            let known = stored.is_some();
            let phc = stored.unwrap_or(dummy);
            let matches = hasher.verify(password.expose().as_bytes(), &phc)?;
            Ok(known && matches)
        })
        .await?
    }

    /// Runs a CPU-bound job on a hashing thread: refused at once when `workers + queue` jobs
    /// are already admitted, otherwise queued. A job whose caller gives up still runs, and
    /// still counts against the bound until it ends.
    pub async fn run<T, F>(&self, job: F) -> Result<T, HashingError>
    where
        F: FnOnce(&mut Hasher) -> T + Send + 'static,
        T: Send + 'static,
    {
        self.run_reserved(self.reserve()?, job).await
    }

    /// Runs a job in a place reserved earlier (see [`HashingPool::reserve`]).
    pub async fn run_reserved<T, F>(
        &self,
        admission: Reservation,
        job: F,
    ) -> Result<T, HashingError>
    where
        F: FnOnce(&mut Hasher) -> T + Send + 'static,
        T: Send + 'static,
    {
        let metrics = self.inner.metrics.clone();
        let inner = Arc::clone(&self.inner);
        let (reply, answer) = oneshot::channel();
        let queued_at = Instant::now();
        metrics.hashing_queue_depth.inc();
        let job: Job = Box::new(move |hasher| {
            metrics.hashing_queue_depth.dec();
            metrics
                .hashing_wait_seconds
                .observe(queued_at.elapsed().as_secs_f64());
            metrics.hashing_running.inc();
            inner.record_wait(admission.at.elapsed());
            let ran = Instant::now();
            let worker = hasher.worker;
            inner.busy.start(worker);
            let result = job(hasher);
            // Idle again before the place is given back: an estimate made in between counts
            // this job as waiting (too much), never as nothing.
            inner.busy.stop(worker);
            inner.record_job_time(ran.elapsed());
            metrics.hashing_running.dec();
            drop(admission);
            let _ = reply.send(result);
        });
        self.inner
            .jobs
            .lock()
            .map_err(|_| HashingError::Failed("hashing pool poisoned".into()))?
            .send(job)
            .map_err(|_| HashingError::Failed("hashing threads are gone".into()))?;
        answer
            .await
            .map_err(|_| HashingError::Failed("a hashing thread failed".into()))
    }

    /// Takes a place in the pool now, or fails with `Overloaded` at once. Callers reserve
    /// before doing work that is only worth doing if the hash can run.
    pub fn reserve(&self) -> Result<Reservation, HashingError> {
        let inner = &self.inner;
        let admitted = inner
            .in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                inner.admits(n).then_some(n + 1)
            });
        match admitted {
            Ok(previous) => {
                inner.high_water.fetch_max(previous + 1, Ordering::AcqRel);
                Ok(Reservation {
                    inner: Arc::clone(inner),
                    at: Instant::now(),
                })
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

    /// The most jobs ever admitted at once: never above the capacity (workers plus queue).
    pub fn high_water(&self) -> usize {
        self.inner.high_water.load(Ordering::Acquire)
    }

    /// Whether a new job would be refused now (every place taken, or too long a wait): a
    /// cheap early answer for callers that want to shed load before reading a request (the
    /// reservation still decides).
    pub fn is_saturated(&self) -> bool {
        !self.inner.admits(self.in_flight())
    }

    /// The wait a job admitted now could expect before a worker takes it.
    pub fn expected_wait(&self) -> Duration {
        self.inner.expected_wait(self.in_flight())
    }

    /// The configured bound on the wait (or its default, four mean hash times).
    pub fn max_wait(&self) -> Duration {
        self.inner.max_wait()
    }

    /// The longest expected wait admitted now: [`HashingPool::max_wait`], lowered while jobs
    /// wait past it.
    pub fn wait_limit(&self) -> Duration {
        self.inner.wait_limit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::password::PasswordPolicy;
    use futures_util::FutureExt;
    use std::sync::mpsc;

    fn tiny(workers: usize, queue: usize) -> HashingPool {
        // Only the count bounds these pools: their tests block jobs on purpose.
        timed(workers, queue, u64::MAX / 2)
    }

    /// A pool of cheap hashes bounded in time by `max_wait_ms` as well.
    fn timed(workers: usize, queue: usize, max_wait_ms: u64) -> HashingPool {
        let settings = HashingSettings {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
            workers,
            queue,
            max_wait_ms,
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
        let seeded = metrics.hashing_job_seconds.get();
        assert!(seeded > 0.0, "the first hash seeds the mean");
        assert!(!pool.verify(password("correct horse"), None).await.unwrap());
        // The dummy path went through the pool like a real verification.
        assert_eq!(metrics.hashing_wait_seconds.get_sample_count(), 1);
        // The gauge shows the mean the wait estimate uses, updated by that job.
        let mean = pool.inner.mean_job_micros.load(Ordering::Relaxed);
        assert_eq!(metrics.hashing_job_seconds.get(), mean as f64 / 1e6);
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
                pool.run(move |_| {
                    let _ = rx.lock().map(|rx| rx.recv());
                })
                .await
            }));
        }
        let metrics = pool.inner.metrics.clone();
        while pool.in_flight() < 3 || metrics.hashing_running.get() < 1 {
            tokio::task::yield_now().await;
        }
        // The fourth is answered without waiting for anything.
        let refused = pool.run(|_| ()).now_or_never();
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
        pool.run(|_| ()).await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_job_whose_expected_wait_exceeds_the_budget_is_refused_before_the_queue_is_full() {
        let pool = timed(1, 100, 250);
        // Teach the pool that a job takes 100 ms.
        pool.inner.mean_job_micros.store(100_000, Ordering::Relaxed);
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let release_rx = Arc::new(std::sync::Mutex::new(release_rx));
        let mut admitted = Vec::new();
        let mut refused = 0;
        for _ in 0..10 {
            let rx = Arc::clone(&release_rx);
            match pool.reserve() {
                Ok(reservation) => {
                    let pool = pool.clone();
                    admitted.push(tokio::spawn(async move {
                        pool.run_reserved(reservation, move |_| {
                            let _ = rx.lock().map(|rx| rx.recv());
                        })
                        .await
                    }));
                }
                Err(HashingError::Overloaded) => refused += 1,
                Err(other) => panic!("{other}"),
            }
        }
        // One runs and two wait (0, 100 and 200 ms ahead); a fourth would wait 300 ms, less
        // what the running job has done since it started.
        assert_eq!((admitted.len(), refused), (3, 7));
        assert!(pool.is_saturated());
        let wait = pool.expected_wait();
        assert!(
            wait > Duration::from_millis(250) && wait <= Duration::from_millis(300),
            "{wait:?}"
        );
        assert_eq!(pool.max_wait(), Duration::from_millis(250));
        for _ in 0..3 {
            release_tx.send(()).unwrap();
        }
        for job in admitted {
            job.await.unwrap().unwrap();
        }
        assert!(!pool.is_saturated());
    }

    #[test]
    fn waits_past_the_budget_lower_the_wait_admitted_until_waits_shorten() {
        let pool = timed(1, 100, 150);
        let inner = &pool.inner;
        let limit_gauge = || inner.metrics.hashing_wait_limit_seconds.get();
        assert_eq!(limit_gauge(), 0.15);
        // A job takes 40 ms and none runs yet: a job joining three others waits 120 ms,
        // one joining four 160.
        inner.mean_job_micros.store(40_000, Ordering::Relaxed);
        assert!(inner.admits(3));
        assert!(!inner.admits(4));

        // Four jobs waited past 150 ms: the estimate may now reach 3/4 of it, 112.5 ms.
        for _ in 0..4 {
            inner.record_wait(Duration::from_millis(151));
        }
        assert_eq!(pool.wait_limit(), Duration::from_micros(112_500));
        assert_eq!(limit_gauge(), pool.wait_limit().as_secs_f64());
        assert_eq!(pool.max_wait(), Duration::from_millis(150));
        assert!(inner.admits(2));
        assert!(
            !inner.admits(3),
            "the place that expects 120 ms is refused now"
        );
        let held: Vec<_> = (0..3).map(|_| pool.reserve().unwrap()).collect();
        assert!(matches!(pool.reserve(), Err(HashingError::Overloaded)));
        drop(held);

        // A wait of the budget itself is within it, and 99 such waits undo about one over:
        // 112.5 + 9.4 ms.
        for _ in 0..99 {
            inner.record_wait(Duration::from_millis(150));
        }
        let limit = pool.wait_limit();
        assert!(
            limit > Duration::from_millis(121) && limit < Duration::from_millis(122),
            "{limit:?}"
        );
        assert!(inner.admits(3));
        // Short waits never raise it past the budget.
        for _ in 0..1000 {
            inner.record_wait(Duration::ZERO);
        }
        assert_eq!(pool.wait_limit(), Duration::from_millis(150));
        assert_eq!(limit_gauge(), pool.wait_limit().as_secs_f64());
        assert!(!inner.admits(4));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_job_counts_its_wait_from_its_reservation() {
        let pool = timed(1, 10, 20);
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let first = tokio::spawn({
            let pool = pool.clone();
            async move {
                pool.run(move |_| {
                    let _ = release_rx.recv();
                })
                .await
            }
        });
        while pool.inner.metrics.hashing_running.get() < 1 {
            tokio::task::yield_now().await;
        }
        // The second place is held past the budget before its job can start.
        let second = pool.reserve().unwrap();
        tokio::time::sleep(Duration::from_millis(25)).await;
        release_tx.send(()).unwrap();
        first.await.unwrap().unwrap();
        pool.run_reserved(second, |_| ()).await.unwrap();
        assert!(pool.wait_limit() < Duration::from_millis(20));
        assert_eq!(
            pool.inner.metrics.hashing_wait_limit_seconds.get(),
            pool.wait_limit().as_secs_f64()
        );
        assert_eq!(pool.inner.metrics.hashing_run_seconds.get_sample_count(), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_running_job_counts_for_what_it_has_left_of_the_mean() {
        let pool = tiny(2, 10);
        pool.inner.mean_job_micros.store(100_000, Ordering::Relaxed);
        let busy = &pool.inner.busy;
        let started_ago = |micros: u64| busy.now() - micros;
        // One worker 60 ms into its job, the other idle: a free worker takes the next job.
        busy.since[0].store(started_ago(60_000), Ordering::Relaxed);
        assert_eq!(pool.inner.expected_wait(1), Duration::ZERO);
        // The other 10 ms into its own: 40 + 90 ms left, shared by two workers.
        busy.since[1].store(started_ago(10_000), Ordering::Relaxed);
        let near = |wait: Duration, millis: u64| {
            let expected = Duration::from_millis(millis);
            assert!(
                wait <= expected && wait + Duration::from_millis(5) > expected,
                "{wait:?} for {expected:?}"
            );
        };
        near(pool.inner.expected_wait(2), 65);
        // One more admitted and waiting adds a whole job's time.
        near(pool.inner.expected_wait(3), 115);
        // A job past the mean is expected to end any moment.
        busy.since[0].store(started_ago(150_000), Ordering::Relaxed);
        near(pool.inner.expected_wait(2), 45);
        busy.stop(0);
        busy.stop(1);
        assert_eq!(pool.inner.expected_wait(0), Duration::ZERO);
    }
}
