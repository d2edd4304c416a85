//! The `sluice` binary: the server and the test runner.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};

use sluice::engine::Engine;
use sluice::topics::MemoryTopicStore;

#[derive(Parser)]
#[command(
    name = "sluice",
    version,
    about = "A streaming SQL database server that speaks ksqlDB"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server: execute a file of persistent queries and keep them running.
    Server {
        /// A SQL file of statements to run at start-up (headless mode).
        #[arg(long)]
        queries_file: Option<PathBuf>,
        /// Print each query's counters every this many seconds.
        #[arg(long, default_value_t = 5)]
        report_every: u64,
    },
    /// Run ksqlDB test-case files (query-validation-tests format).
    Test {
        /// Files or directories of test-case JSON.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Only run cases whose name contains this text.
        #[arg(long)]
        filter: Option<String>,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Server {
            queries_file,
            report_every,
        } => server(queries_file, report_every),
        Command::Test { paths, filter } => {
            let mut out = std::io::stdout().lock();
            let summary = sluice::testing::run_paths(&paths, filter.as_deref(), &mut out);
            let _ = out.flush();
            if summary.failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn server(queries_file: Option<PathBuf>, report_every: u64) -> ExitCode {
    let store = Arc::new(MemoryTopicStore::new());
    let mut engine = Engine::new(store);
    if let Some(path) = &queries_file {
        let sql = match std::fs::read_to_string(path) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("Cannot read {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        };
        if let Err((index, e)) = engine.execute_script(&sql) {
            eprintln!("Statement {} of {} failed: {e}", index + 1, path.display());
            return ExitCode::FAILURE;
        }
    }
    println!(
        "Sluice is running {} persistent quer{} (headless). Press Ctrl-C to stop.",
        engine.catalog().queries().count(),
        if engine.catalog().queries().count() == 1 {
            "y"
        } else {
            "ies"
        }
    );
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("Cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        let mut report = tokio::time::interval(Duration::from_secs(report_every.max(1)));
        let shutdown = tokio::signal::ctrl_c();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                _ = tick.tick() => {
                    if let Err(e) = engine.run_until_idle() {
                        eprintln!("A query failed: {e}");
                    }
                }
                _ = report.tick() => {
                    for (id, stats) in engine.query_stats() {
                        println!(
                            "{id}: {} records in, {} out, {} skipped",
                            stats.records_in, stats.records_out, stats.records_skipped
                        );
                    }
                }
            }
        }
        println!("Shutting down.");
    });
    ExitCode::SUCCESS
}
