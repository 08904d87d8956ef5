//! Closed-loop load: `concurrency` workers each issue one operation after another for
//! a fixed time; every latency is kept and summarized.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
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
    /// Cores each watched process kept busy while the run was measured (user and
    /// system time over wall time; 2.0 is all of a 2-core machine). Only closed loops.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub cpu_cores: BTreeMap<String, f64>,
}

/// Processes whose CPU time closed loops measure: name and pid.
static WATCHED: Mutex<Vec<(&'static str, u32)>> = Mutex::new(Vec::new());

/// Measures `pid`'s CPU time as `name` in every closed loop from now on (replacing a
/// process watched under the same name).
pub fn watch_cpu(name: &'static str, pid: u32) {
    let mut watched = WATCHED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    watched.retain(|(n, _)| *n != name);
    watched.push((name, pid));
}

/// Clock ticks per second of `/proc/<pid>/stat`'s times.
fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// The CPU seconds (user and system) each watched process has used so far.
fn cpu_seconds() -> Vec<(&'static str, f64)> {
    let watched = WATCHED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    watched
        .into_iter()
        .filter_map(|(name, pid)| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // Fields after the command name (which is in parentheses): utime is the
            // 14th field of the line, stime the 15th.
            let rest = stat.rsplit_once(')')?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let ticks =
                fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
            Some((name, ticks / clock_ticks()))
        })
        .collect()
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
            cpu_cores: BTreeMap::new(),
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
    let cpu = tokio::spawn(async move {
        tokio::time::sleep_until(measure_from.into()).await;
        let before = cpu_seconds();
        tokio::time::sleep_until(end.into()).await;
        let after = cpu_seconds();
        let seconds = duration.as_secs_f64().max(1e-9);
        before
            .into_iter()
            .filter_map(|(name, b)| {
                let (_, a) = after.iter().find(|(n, _)| *n == name)?;
                Some((name.to_owned(), (a - b) / seconds))
            })
            .collect::<BTreeMap<_, _>>()
    });
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
    let mut stats = Stats::from(all, errors, duration);
    stats.cpu_cores = cpu.await.unwrap_or_default();
    stats
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
