//! The `sluice` binary: the server and the test runner.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    /// Run the server: ksqlDB's REST API on the embedded store.
    Server {
        /// The address to listen on.
        #[arg(long, default_value = "0.0.0.0:8088")]
        listen: std::net::SocketAddr,
        /// A SQL file of statements to run at start-up. The server then runs headless: the
        /// API refuses statements that change the catalog.
        #[arg(long)]
        queries_file: Option<PathBuf>,
        /// A properties file (`name=value` lines) applied to every statement.
        #[arg(long)]
        config: Option<PathBuf>,
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
            listen,
            queries_file,
            config,
        } => server(listen, queries_file, config),
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

fn server(
    listen: std::net::SocketAddr,
    queries_file: Option<PathBuf>,
    config: Option<PathBuf>,
) -> ExitCode {
    let mut properties = std::collections::BTreeMap::new();
    if let Some(path) = &config {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("Cannot read {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        };
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match line.split_once('=') {
                Some((k, v)) => {
                    properties.insert(k.trim().to_string(), v.trim().to_string());
                }
                None => {
                    eprintln!("{}: not a name=value line: {line}", path.display());
                    return ExitCode::FAILURE;
                }
            }
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("Cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let config = sluice::server::ServerConfig {
        listen,
        queries_file,
        properties,
    };
    match runtime.block_on(sluice::server::serve(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
