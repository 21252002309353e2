//! Prometheus metrics shared by the core, the flavours and the gateway.

use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

/// Every metric the service exports, registered in one registry.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    /// `signup_http_requests_total{flavour,route,status}`
    pub http_requests: IntCounterVec,
    /// `signup_http_request_duration_seconds{flavour,route,status}`
    pub http_request_duration: prometheus::HistogramVec,
    /// `signup_sign_ups_total{flavour,outcome}`
    pub sign_ups: IntCounterVec,
    /// Sign-ups waiting for a hashing worker.
    pub hashing_queue_depth: IntGauge,
    /// Hashes running now.
    pub hashing_running: IntGauge,
    /// Time spent waiting for a hashing worker.
    pub hashing_wait_seconds: Histogram,
    /// Hashes refused because the queue was full.
    pub hashing_rejected: prometheus::IntCounter,
    pub hashing_job_seconds: prometheus::Gauge,
    /// Each password hash's run time.
    pub hashing_run_seconds: Histogram,
    /// The expected wait admitted now (`hashing.max_wait_ms`, lowered while real waits run
    /// past it).
    pub hashing_wait_limit_seconds: prometheus::Gauge,
    /// `signup_outbox_messages_total{kind,result}`: delivered, retried, dead.
    pub outbox_messages: IntCounterVec,
    /// Age of the oldest row still waiting for delivery (0 when none).
    pub outbox_oldest_pending_seconds: prometheus::Gauge,
    /// Rate-limit checks let through because the shared store (Redis) did not answer.
    pub rate_limit_store_unavailable: prometheus::IntCounter,
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let http_requests = IntCounterVec::new(
            Opts::new(
                "signup_http_requests_total",
                "HTTP requests by flavour, route and status.",
            ),
            &["flavour", "route", "status"],
        )
        .expect("static metric definition");
        let http_request_duration = prometheus::HistogramVec::new(
            HistogramOpts::new(
                "signup_http_request_duration_seconds",
                "Time from request to response, by flavour, route and status.",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.06,
                0.07, 0.08, 0.09, 0.1, 0.11, 0.12, 0.13, 0.14, 0.15, 0.175, 0.2, 0.25, 0.3, 0.4,
                0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0,
            ]),
            &["flavour", "route", "status"],
        )
        .expect("static metric definition");
        let sign_ups = IntCounterVec::new(
            Opts::new(
                "signup_sign_ups_total",
                "Sign-up attempts by flavour and outcome.",
            ),
            &["flavour", "outcome"],
        )
        .expect("static metric definition");
        let hashing_queue_depth = IntGauge::new(
            "signup_hashing_queue_depth",
            "Sign-ups waiting for a password-hashing worker.",
        )
        .expect("static metric definition");
        let hashing_running = IntGauge::new(
            "signup_hashing_running",
            "Password hashes being computed now.",
        )
        .expect("static metric definition");
        let hashing_wait_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "signup_hashing_wait_seconds",
                "Time a sign-up waited for a password-hashing worker.",
            )
            .buckets(vec![
                0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
        )
        .expect("static metric definition");
        let hashing_rejected = prometheus::IntCounter::new(
            "signup_hashing_rejected_total",
            "Hash requests refused at once because the wait queue was full.",
        )
        .expect("static metric definition");
        let outbox_messages = IntCounterVec::new(
            Opts::new(
                "signup_outbox_messages_total",
                "Outbox deliveries by kind and result.",
            ),
            &["kind", "result"],
        )
        .expect("static metric definition");
        let hashing_job_seconds = prometheus::Gauge::new(
            "signup_hashing_job_seconds",
            "Moving mean of one password hash's run time: the unit of the wait estimate and of hashing.max_wait_ms's default.",
        )
        .expect("static metric definition");
        let hashing_run_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "signup_hashing_run_seconds",
                "Run time of each password hash on its worker.",
            )
            .buckets(vec![
                0.001, 0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075, 0.1, 0.25, 0.5,
                1.0,
            ]),
        )
        .expect("static metric definition");
        let hashing_wait_limit_seconds = prometheus::Gauge::new(
            "signup_hashing_wait_limit_seconds",
            "The expected wait for a hashing worker admitted now: hashing.max_wait_ms, lowered while real waits run past it.",
        )
        .expect("static metric definition");
        let outbox_oldest_pending_seconds = prometheus::Gauge::new(
            "signup_outbox_oldest_pending_age_seconds",
            "Age of the oldest outbox row still waiting for delivery.",
        )
        .expect("static metric definition");
        let rate_limit_store_unavailable = prometheus::IntCounter::new(
            "signup_rate_limit_store_unavailable_total",
            "Rate-limit checks let through because the shared rate-limit store did not answer.",
        )
        .expect("static metric definition");
        for collector in [
            Box::new(http_requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(http_request_duration.clone()),
            Box::new(sign_ups.clone()),
            Box::new(hashing_queue_depth.clone()),
            Box::new(hashing_running.clone()),
            Box::new(hashing_wait_seconds.clone()),
            Box::new(hashing_rejected.clone()),
            Box::new(hashing_job_seconds.clone()),
            Box::new(hashing_run_seconds.clone()),
            Box::new(hashing_wait_limit_seconds.clone()),
            Box::new(outbox_messages.clone()),
            Box::new(outbox_oldest_pending_seconds.clone()),
            Box::new(rate_limit_store_unavailable.clone()),
        ] {
            registry
                .register(collector)
                .expect("metric names are unique");
        }
        Self {
            registry,
            http_requests,
            http_request_duration,
            sign_ups,
            hashing_queue_depth,
            hashing_running,
            hashing_wait_seconds,
            hashing_rejected,
            hashing_job_seconds,
            hashing_run_seconds,
            hashing_wait_limit_seconds,
            outbox_messages,
            outbox_oldest_pending_seconds,
            rate_limit_store_unavailable,
        }
    }

    /// Counts one sign-up attempt of `flavour` that ended in `outcome`.
    pub fn record_sign_up(&self, flavour: &str, outcome: &str) {
        self.sign_ups.with_label_values(&[flavour, outcome]).inc();
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        // Encoding into a Vec cannot fail for the text format.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buffer);
        String::from_utf8_lossy(&buffer).into_owned()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
