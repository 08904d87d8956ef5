//! The `govtrail` command: read settings, start logging, run a subcommand.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use govtrail::audit::checkpoint::{CheckpointKey, PublicKey};
use govtrail::audit::verify::VerifyOptions;
use govtrail::auth::{DevTokenRequest, mint_dev_token};
use govtrail::config::Settings;
use govtrail::domain::{Role, Source, Subject};
use govtrail::http::{App, shutdown_signal};
use govtrail::store::Store;
use govtrail::store::migrations::Migrator;

/// mimalloc instead of glibc malloc: verification and export decode on one thread and
/// check on another, and glibc's arena locks and cross-thread frees were the largest
/// cost in their profile (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// govtrail: governance audit trail service on Neo4j.
///
/// Settings come from defaults, then the TOML file given by --config or
/// GOVTRAIL_CONFIG, then GOVTRAIL_* environment variables (see docs/configuration.md).
#[derive(Debug, Parser)]
#[command(name = "govtrail", version, about, long_about)]
struct Cli {
    /// Settings file (TOML); overrides GOVTRAIL_CONFIG.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Apply pending schema migrations, then serve the HTTP API until SIGTERM/SIGINT.
    Serve,
    /// Apply pending schema migrations and exit.
    Migrate,
    /// Replay every governed entity's audit entries and compare the result with the
    /// live graph (replay completeness, docs/architecture.md). Prints one JSON line per mismatching entity on
    /// stdout and a summary on stderr; exits 1 if any entity disagrees.
    CheckReplay,
    /// Verify the audit log as stored: recompute every entry's hash, compare its AUDITS
    /// and PERFORMED_BY edges with what it names, walk every entity's hash chain, and
    /// check the signed checkpoints (chain, signatures under checkpoint_key_file, the
    /// leaves each sealed, coverage, lag bound) against the external witness
    /// (checkpoint_sink), line by line. Prints one JSON line per finding on stdout and a
    /// summary on stderr; exits 1 on any finding (docs/integrity.md).
    Verify,
    /// Write the database's checkpoint chain, as it stands now, into an empty external
    /// witness (checkpoint_sink). Needed once when a witness is added to a deployment
    /// that already has checkpoints: until then the checkpointer refuses to seal on top
    /// of checkpoints no witness holds. Adopting trusts the database as it is at this
    /// moment; run `govtrail verify` first.
    AdoptWitness,
    /// Fill Neo4j with demo or benchmark data: technologies and teams with a skewed,
    /// hashed and chained audit log (a few hot entities, a long tail), written in
    /// batches. Entries are queued for sealing; a running govtrail with a signing key
    /// seals them. Prints what it wrote on stderr.
    Seed {
        /// Entries to write.
        #[arg(long, default_value_t = 10_000)]
        entries: usize,
        /// Hot entities.
        #[arg(long, default_value_t = 3)]
        hot: usize,
        /// Entries per hot entity.
        #[arg(long, default_value_t = 1_000)]
        hot_entries: usize,
        /// Mean entries per tail entity.
        #[arg(long, default_value_t = 20)]
        tail_mean: usize,
    },
    /// Verify a lineage packet offline, with nothing but the packet and the public key:
    /// the envelope signature, the state digest, every entry's hash, the entity's hash
    /// chain, every inclusion proof and every checkpoint signature. Prints the verdict
    /// and each problem; exits 0 if valid, 1 if not, 2 if a file cannot be read.
    /// Needs no Neo4j and no settings.
    VerifyExport {
        /// The packet (the DSSE envelope JSON from /v1/exports/entities/{type}/{id}).
        packet: PathBuf,
        /// The govtrail Ed25519 public key: PEM, or base64 of its 32 bytes
        /// (`publicKeyPem` or `publicKey` of /v1/audit/keys).
        #[arg(long, value_name = "FILE")]
        public_key: PathBuf,
        /// Print the verdict as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print a development JWT signed with the HS256 development secret
    /// (GOVTRAIL_AUTH_HS256_SECRET). Refuses when no development secret is set.
    Token {
        /// Subject (the User id).
        #[arg(long, default_value = "dev-superuser")]
        sub: String,
        /// Role to grant; repeat for several: superuser, governance-admin, approver, integration.
        #[arg(long = "role", default_value = "superuser")]
        roles: Vec<Role>,
        /// Source of an integration: API or SBOM.
        #[arg(long)]
        source: Option<Source>,
        /// Display name claim.
        #[arg(long)]
        name: Option<String>,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 8 * 3600)]
        ttl: u64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::VerifyExport {
        packet,
        public_key,
        json,
    } = &cli.command
    {
        return verify_export(packet, public_key, *json);
    }
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("govtrail: {e}");
            return ExitCode::from(2);
        }
    };
    if let Command::Token {
        sub,
        roles,
        source,
        name,
        ttl,
    } = cli.command
    {
        return token(&settings, &sub, roles, source, name, ttl);
    }
    govtrail::telemetry::init(settings.log_format, &settings.log_filter);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Command::Serve => runtime.block_on(serve(settings)),
        Command::Migrate => runtime.block_on(migrate(settings)),
        Command::Verify => match runtime.block_on(verify(settings)) {
            Ok(0) => Ok(()),
            Ok(_) => return ExitCode::from(1),
            Err(e) => Err(e),
        },
        Command::Seed {
            entries,
            hot,
            hot_entries,
            tail_mean,
        } => runtime.block_on(seed(
            settings,
            govtrail::seed::LogShape {
                total: entries,
                hot,
                hot_entries,
                tail_mean,
            },
        )),
        Command::AdoptWitness => runtime.block_on(adopt_witness(settings)),
        Command::CheckReplay => match runtime.block_on(check_replay(settings)) {
            Ok(0) => Ok(()),
            Ok(_) => return ExitCode::from(1),
            Err(e) => Err(e),
        },
        Command::Token { .. } | Command::VerifyExport { .. } => Ok(()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %govtrail::http::problem::error_chain(e.as_ref()), "govtrail stopped");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: Settings) -> Result<(), Box<dyn std::error::Error>> {
    let app = App::build(settings, Migrator::embedded()?).await?;
    tracing::info!(addr = %app.local_addr()?, "govtrail listening");
    app.run_until(shutdown_signal()).await?;
    tracing::info!("govtrail stopped cleanly");
    Ok(())
}

/// Connects and waits for Neo4j, for the commands that run without the HTTP server.
async fn connect(settings: &Settings) -> Result<Store, Box<dyn std::error::Error>> {
    let mut registry = prometheus_client::registry::Registry::default();
    let metrics = govtrail::metrics::Metrics::register(&mut registry);
    let store = Store::connect(settings, metrics)?;
    store
        .wait_until_reachable(std::time::Duration::from_secs(
            settings.neo4j_startup_wait_secs,
        ))
        .await?;
    Ok(store)
}

async fn adopt_witness(settings: Settings) -> Result<(), Box<dyn std::error::Error>> {
    let Some(path) = settings.checkpoint_sink.clone() else {
        return Err("no witness is configured (checkpoint_sink)".into());
    };
    let store = connect(&settings).await?;
    let witness = govtrail::audit::witness::FileWitness::new(path);
    let written = govtrail::audit::checkpointer::adopt(&store, &witness).await?;
    eprintln!(
        "adopt-witness: {written} checkpoint heads written to {}",
        witness.path().display()
    );
    Ok(())
}

async fn migrate(settings: Settings) -> Result<(), Box<dyn std::error::Error>> {
    let store = connect(&settings).await?;
    let applied = Migrator::embedded()?.run(&store).await?;
    tracing::info!(applied = ?applied, "schema is current");
    for collision in govtrail::store::name_keys::backfill(&store).await? {
        eprintln!(
            "migrate: {} names differ only in case or Unicode form (ids {}); rename all but the first",
            collision.label,
            collision.ids.join(", ")
        );
    }
    Ok(())
}

async fn verify(settings: Settings) -> Result<usize, Box<dyn std::error::Error>> {
    let store = connect(&settings).await?;
    let keys: Vec<PublicKey> = settings
        .checkpoint_key_file
        .as_deref()
        .map(|path| CheckpointKey::from_pem_file(path, settings.checkpoint_key_id.clone()))
        .transpose()?
        .iter()
        .map(PublicKey::from)
        .collect();
    let options = VerifyOptions::new(
        &keys,
        settings.checkpoint_sink.clone(),
        std::time::Duration::from_secs(settings.unsealed_lag_bound_secs),
    );
    let report = govtrail::audit::verify::verify(&store, &options).await?;
    for finding in &report.findings {
        #[expect(
            clippy::print_stdout,
            reason = "the findings are this command's output"
        )]
        {
            println!("{}", serde_json::to_string(finding).unwrap_or_default());
        }
    }
    eprintln!(
        "verify: {} entries, {} entity chains, {} checkpoints, {} findings",
        report.entries,
        report.chains,
        report.checkpoints,
        report.findings.len()
    );
    Ok(report.findings.len())
}

#[expect(
    clippy::cast_precision_loss,
    reason = "a rate printed with no decimals"
)]
async fn seed(
    settings: Settings,
    shape: govtrail::seed::LogShape,
) -> Result<(), Box<dyn std::error::Error>> {
    let store = connect(&settings).await?;
    Migrator::embedded()?.run(&store).await?;
    let started = std::time::Instant::now();
    let mut seeder =
        govtrail::seed::Seeder::new(store, rand::random(), chrono::Duration::days(30)).await?;
    let entities = govtrail::seed::seed_log(&mut seeder, &shape).await?;
    let elapsed = started.elapsed().as_secs_f64();
    eprintln!(
        "seed: {} entries over {} entities in {elapsed:.1} s ({:.0} entries/s)",
        shape.total,
        entities.len(),
        shape.total as f64 / elapsed.max(1e-9)
    );
    Ok(())
}

async fn check_replay(settings: Settings) -> Result<usize, Box<dyn std::error::Error>> {
    let store = connect(&settings).await?;
    let summary = govtrail::history::replay::check_all(&store, |mismatch| {
        #[expect(
            clippy::print_stdout,
            reason = "the mismatches are this command's output"
        )]
        {
            println!("{}", serde_json::to_string(mismatch).unwrap_or_default());
        }
    })
    .await?;
    eprintln!(
        "check-replay: {} entities checked, {} inconsistent",
        summary.checked, summary.mismatches
    );
    Ok(summary.mismatches)
}

fn verify_export(packet: &std::path::Path, public_key: &std::path::Path, json: bool) -> ExitCode {
    use govtrail::export::offline::{read_public_key, verify_packet};
    let read = |path: &std::path::Path| {
        std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
    };
    let key = read(public_key).and_then(|bytes| {
        read_public_key(&String::from_utf8_lossy(&bytes))
            .map_err(|e| format!("{}: {e}", public_key.display()))
    });
    let (bytes, key) = match (read(packet), key) {
        (Ok(bytes), Ok(key)) => (bytes, key),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("govtrail verify-export: {e}");
            return ExitCode::from(2);
        }
    };
    let verdict = verify_packet(&bytes, &key);
    let text = if json {
        serde_json::to_string_pretty(&verdict).unwrap_or_default()
    } else {
        verdict.render(&govtrail::export::offline::key_id(&key))
    };
    #[expect(clippy::print_stdout, reason = "the verdict is this command's output")]
    {
        println!("{}", text.trim_end());
    }
    if verdict.valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn token(
    settings: &Settings,
    sub: &str,
    roles: Vec<Role>,
    source: Option<Source>,
    name: Option<String>,
    ttl: u64,
) -> ExitCode {
    let subject = match Subject::parse(sub) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("govtrail token: --sub {e}");
            return ExitCode::from(2);
        }
    };
    let request = DevTokenRequest {
        subject,
        roles,
        source,
        name,
        ttl_secs: ttl,
    };
    match mint_dev_token(settings, &request) {
        Ok(token) => {
            #[expect(clippy::print_stdout, reason = "the token is this command's output")]
            {
                println!("{token}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("govtrail token: {e}");
            ExitCode::from(2)
        }
    }
}
