//! Closed-loop load: `concurrency` workers each issue one operation after another for
//! a fixed time; every latency is kept and summarized.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Throughput and latency of one measured run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stats {
    pub ops: usize,
    pub errors: usize,
    pub seconds: f64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Stats {
    pub fn from(mut latencies: Vec<Duration>, errors: usize, elapsed: Duration) -> Self {
        latencies.sort_unstable();
        let pick = |q: f64| {
            if latencies.is_empty() {
                return 0.0;
            }
            let rank = (q * latencies.len() as f64).ceil() as usize;
            latencies[rank.clamp(1, latencies.len()) - 1].as_secs_f64() * 1000.0
        };
        let seconds = elapsed.as_secs_f64();
        Self {
            ops: latencies.len(),
            errors,
            seconds,
            per_second: latencies.len() as f64 / seconds.max(1e-9),
            p50_ms: pick(0.50),
            p95_ms: pick(0.95),
            p99_ms: pick(0.99),
            max_ms: latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
        }
    }
}

/// Runs `op(worker, iteration)` from `concurrency` workers for `duration`, after a
/// warm-up of a fifth of it (not measured). An `Err` counts as an error, not a sample.
pub async fn closed_loop<F, Fut>(concurrency: usize, duration: Duration, op: F) -> Stats
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send,
{
    let op = Arc::new(op);
    let warmup = duration / 5;
    let start = Instant::now();
    let measure_from = start + warmup;
    let end = measure_from + duration;
    let workers: Vec<_> = (0..concurrency)
        .map(|w| {
            let op = op.clone();
            tokio::spawn(async move {
                let (mut latencies, mut errors, mut first_error) = (Vec::new(), 0, None);
                let mut i = 0u64;
                while Instant::now() < end {
                    let t = Instant::now();
                    let result = op(w, i).await;
                    i += 1;
                    if t < measure_from {
                        continue;
                    }
                    match result {
                        Ok(()) => latencies.push(t.elapsed()),
                        Err(e) => {
                            errors += 1;
                            first_error.get_or_insert(e);
                        }
                    }
                }
                (latencies, errors, first_error)
            })
        })
        .collect();
    let (mut all, mut errors) = (Vec::new(), 0);
    for w in workers {
        if let Ok((latencies, e, first)) = w.await {
            all.extend(latencies);
            errors += e;
            if let Some(first) = first {
                eprintln!("bench: error sample: {first}");
            }
        }
    }
    Stats::from(all, errors, duration)
}

/// Runs `op(i)` `count` times, one after another.
pub async fn sequential<F, Fut>(count: usize, op: F) -> Stats
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let (mut latencies, mut errors) = (Vec::with_capacity(count), 0);
    let start = Instant::now();
    for i in 0..count {
        let t = Instant::now();
        match op(i).await {
            Ok(()) => latencies.push(t.elapsed()),
            Err(e) => {
                if errors == 0 {
                    eprintln!("bench: error sample: {e}");
                }
                errors += 1;
            }
        }
    }
    Stats::from(latencies, errors, start.elapsed())
}
