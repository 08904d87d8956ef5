//! govtrail benchmarks: governed writes against the bare change (the physical limit),
//! a hot entity, history and feed latency as the log grows, as-of state and lineage on
//! a long history, export and verification throughput, and Bolt round trips per
//! change, and SBOM ingest and evaluation. Runs against a Neo4j and a `govtrail serve` it starts itself, prints a
//! table and writes JSON.
//!
//! `cargo bench --bench govtrail` runs the full benchmark (see docs/performance.md for
//! the options after `--`). Without `--bench` — which is how `cargo test` runs this
//! target — it runs a smoke pass with tiny sizes, so the harness keeps working.

#![expect(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "benchmark figures: counts and durations shown as floats"
)]

mod env;
mod load;
mod proxy;
mod sbom;
mod scenarios;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Benchmark options (after `cargo bench --bench govtrail --`).
#[derive(Debug, Clone, Parser)]
#[command(name = "govtrail-bench")]
pub struct Options {
    /// Set by `cargo bench`; without it a smoke pass runs (`cargo test`).
    #[arg(long)]
    bench: bool,
    /// Total entries of the small log (history/feed baseline).
    #[arg(long, default_value_t = 10_000)]
    pub small: usize,
    /// Total entries of the large log.
    #[arg(long, default_value_t = 1_000_000)]
    pub large: usize,
    /// Entries of the entity whose as-of state and lineage are measured.
    #[arg(long, default_value_t = 10_000)]
    pub long_history: usize,
    /// Seconds each throughput run is measured (after a warm-up of a fifth of it).
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    /// Requests per latency measurement.
    #[arg(long, default_value_t = 300)]
    pub requests: usize,
    /// Client concurrency levels.
    #[arg(long, value_delimiter = ',', default_value = "1,8,32")]
    pub concurrency: Vec<usize>,
    /// Where the JSON results go.
    #[arg(long, default_value = "target/bench/results.json")]
    pub out: PathBuf,
    /// Neo4j heap (the embedded server's -Xmx).
    #[arg(long, default_value = "3g")]
    pub neo4j_heap: String,
    /// Neo4j page cache in MiB.
    #[arg(long, default_value_t = 3072)]
    pub neo4j_page_cache_mb: u32,
    /// Components of the SBOM the ingest scenario sends.
    #[arg(long, default_value_t = 20_000)]
    pub sbom_components: usize,
    /// Skip the large log (and what needs it).
    #[arg(long)]
    pub skip_large: bool,
}

impl Options {
    fn smoke(mut self) -> Self {
        self.small = 600;
        self.large = 1_500;
        self.long_history = 300;
        self.seconds = 0.5;
        self.requests = 10;
        self.concurrency = vec![1, 4];
        self.sbom_components = 300;
        self.out = PathBuf::from("target/bench/smoke.json");
        self.neo4j_heap = "768m".into();
        self.neo4j_page_cache_mb = 128;
        self
    }
}

fn main() -> ExitCode {
    let mut options = Options::parse();
    if !options.bench {
        options = options.smoke();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(scenarios::run(&options)) {
        Ok(report) => {
            let text = scenarios::render(&report);
            #[expect(clippy::print_stdout, reason = "the table is the benchmark's output")]
            {
                println!("{text}");
            }
            if let Some(dir) = options.out.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            match std::fs::write(
                &options.out,
                serde_json::to_vec_pretty(&report).unwrap_or_default(),
            ) {
                Ok(()) => {
                    eprintln!("bench: results written to {}", options.out.display());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("bench: {}: {e}", options.out.display());
                    ExitCode::FAILURE
                }
            }
        }
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}
