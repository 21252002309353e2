//! `signup-bench argon2 SECONDS [THREADS]` prints the raw argon2id rate of this machine on
//! `THREADS` threads (default: all cores), with the gateway's `[hashing]` parameters (read from
//! `SIGNUP__HASHING__*` like the gateway).
//! `signup-bench bare ADDRESS` serves a bare Actix handler that answers every
//! `POST /conductor/auth/signup` with a small 400 JSON body: the ceiling the gateway's
//! rejected-request path is compared with.

use std::time::{Duration, Instant};

use actix_web::{web, App, HttpResponse, HttpServer};
use signup_core::{config::HashingSettings, hashing::Hasher};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("argon2") => {
            let seconds = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(5.0);
            let cores = std::thread::available_parallelism().map_or(1, usize::from);
            let threads = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(cores);
            argon2_rate(seconds, threads.max(1));
            Ok(())
        }
        Some("bare") => bare(args.get(2).map_or("127.0.0.1:18081", String::as_str)),
        _ => {
            eprintln!(
                "usage: signup-bench argon2 [SECONDS [THREADS]] | signup-bench bare [ADDRESS]"
            );
            std::process::exit(2);
        }
    }
}

fn hashing_settings() -> HashingSettings {
    let defaults = HashingSettings::default();
    let var = |name: &str, default: u32| {
        std::env::var(format!("SIGNUP__HASHING__{name}"))
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    HashingSettings {
        memory_kib: var("MEMORY_KIB", defaults.memory_kib),
        iterations: var("ITERATIONS", defaults.iterations),
        parallelism: var("PARALLELISM", defaults.parallelism),
        ..defaults
    }
}

/// Hashes on `threads` threads for `seconds` and prints `key=value` lines.
fn argon2_rate(seconds: f64, threads: usize) {
    let settings = hashing_settings();
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let counts: Vec<u64> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let settings = settings.clone();
                scope.spawn(move || {
                    // The same hasher the gateway's pool threads use, minus the pool.
                    let Ok(mut hasher) = Hasher::new(&settings) else {
                        return 0;
                    };
                    let mut n = 0u64;
                    while Instant::now() < deadline {
                        let _ = hasher.hash(b"benchmark password");
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or(0)).collect()
    });
    let elapsed = started.elapsed().as_secs_f64();
    let total: u64 = counts.iter().sum();
    println!("argon2_threads={threads}");
    println!(
        "argon2_params=m={},t={},p={}",
        settings.memory_kib, settings.iterations, settings.parallelism
    );
    println!("argon2_hashes_per_sec={:.1}", total as f64 / elapsed);
    println!(
        "argon2_ms_per_hash={:.2}",
        elapsed * 1000.0 * threads as f64 / total.max(1) as f64
    );
}

#[actix_web::main]
async fn bare(address: &str) -> std::io::Result<()> {
    HttpServer::new(|| {
        App::new().route(
            "/conductor/auth/signup",
            // Reads the body like the gateway does, so keep-alive works the same way.
            web::post().to(|_body: web::Bytes| async {
                HttpResponse::BadRequest()
                    .content_type("application/json")
                    .body(r#"{"error":"Bad Request"}"#)
            }),
        )
    })
    .bind(address)?
    .run()
    .await
}
