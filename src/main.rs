//! The `sluice` binary: the server, the test runner and the benchmarks.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

/// mimalloc: the engine allocates and frees many small buffers per record on every thread,
/// where it is markedly faster than the system allocator (`sluice bench`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

/// How long a test case may take on a Kafka cluster.
const KAFKA_CASE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

#[derive(Subcommand)]
enum Command {
    /// Run the server: ksqlDB's REST API on the embedded store.
    Server {
        /// The address to listen on (else `listeners` in the config file, else 127.0.0.1:8088:
        /// this machine only, until told otherwise).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// A SQL file of statements to run at start-up. The server then runs headless: the
        /// API refuses statements that change the catalog.
        #[arg(long)]
        queries_file: Option<PathBuf>,
        /// A properties file (a ksql-server.properties): ksqlDB's server settings, and
        /// properties applied to every statement; an unknown name stops the start.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Where topics are kept, in segment files synced before each write is acknowledged
        /// (else `ksql.streams.state.dir` in the config file, else ./data).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Keep everything in memory instead: nothing survives a restart.
        #[arg(long, conflicts_with = "data_dir")]
        in_memory: bool,
        /// Keep topics on this Kafka cluster (HOST:PORT,…) instead of the embedded log (else
        /// `bootstrap.servers` in the config file). Servers with the same `ksql.service.id`
        /// share the catalog.
        #[arg(long, conflicts_with = "in_memory")]
        bootstrap_servers: Option<String>,
    },
    /// The SQL shell: statements to a server, answers as tables, query rows as they arrive.
    Shell {
        /// The server's address.
        #[arg(default_value = "http://localhost:8088")]
        server: String,
        /// Run the statements of this file, then exit (non-zero at the first error).
        #[arg(short, long)]
        file: Option<PathBuf>,
        /// Run these statements, then exit (non-zero at the first error).
        #[arg(short, long, conflicts_with = "file")]
        execute: Option<String>,
        /// A variable for `${name}` in the statements, as `name=value` (repeatable).
        #[arg(short, long)]
        define: Vec<String>,
        /// TABULAR or JSON.
        #[arg(long, default_value = "TABULAR", value_parser = ["TABULAR", "JSON", "tabular", "json"])]
        output: String,
        #[command(flatten)]
        login: LoginArgs,
    },
    /// Run ksqlDB test-case files (query-validation-tests format).
    Test {
        /// Files or directories of test-case JSON.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Only run cases whose name contains this text.
        #[arg(long)]
        filter: Option<String>,
        /// Run the cases on this Kafka cluster (HOST:PORT,…), each with topics of its own,
        /// instead of in memory.
        #[arg(long)]
        bootstrap_servers: Option<String>,
    },
    /// Run the throughput and latency benchmarks on Nexmark-like bids and print a markdown
    /// table (see README, "Benchmarks").
    Bench(BenchArgs),
    /// Work with topics.
    Topics {
        #[command(subcommand)]
        command: TopicsCommand,
    },
    /// Manage the users file of BASIC authentication (authentication.users.file).
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Add a user, or replace their password and roles: an Argon2 hash is stored, never the
    /// password.
    Add {
        /// The user's name.
        name: String,
        /// The users file (created, readable by its owner only, if missing).
        #[arg(long)]
        file: PathBuf,
        /// The user's roles, comma-separated (authentication.roles and
        /// authentication.read.only.roles name which may do what).
        #[arg(long, value_delimiter = ',')]
        roles: Vec<String>,
        /// Read the password from the first line of standard input instead of asking.
        #[arg(long)]
        password_stdin: bool,
    },
}

/// Who to be at a server that asks (BASIC authentication), and whom to trust for its TLS.
#[derive(clap::Args)]
struct LoginArgs {
    /// The user name; the password is asked for unless --password gives it.
    #[arg(short = 'u', long)]
    user: Option<String>,
    /// The password (visible to other users of this machine: prefer the prompt).
    #[arg(short = 'p', long, requires = "user")]
    password: Option<String>,
    /// A PEM file of the certificate authorities to trust for an https:// server (else the
    /// public web's).
    #[arg(long)]
    ca_cert: Option<PathBuf>,
}

impl LoginArgs {
    /// The connection to `server`, asking for the password on the terminal when needed.
    fn connection(self, server: &str) -> Result<sluice::client::Connection, String> {
        let credentials = match (self.user, self.password) {
            (None, _) => None,
            (Some(user), Some(password)) => Some((user, password)),
            (Some(user), None) => {
                let password = rpassword::prompt_password(format!("Password for {user}: "))
                    .map_err(|e| format!("Cannot read the password: {e}"))?;
                Some((user, password))
            }
        };
        Ok(sluice::client::Connection {
            server: server.to_string(),
            credentials,
            ca_certificate: self.ca_cert,
        })
    }
}

/// `sluice bench`'s options.
#[derive(clap::Args)]
struct BenchArgs {
    /// Events per run; several comma-separated counts give a row each.
    #[arg(long, value_delimiter = ',', default_value = "100000")]
    events: Vec<u64>,
    /// The query to measure.
    #[arg(long, default_value = "all",
          value_parser = ["filter", "aggregate", "window", "join", "all"])]
    workload: String,
    /// Sets `ksql.streams.cache.max.bytes.buffering` to 10000000 (on) or 0 (off); `both`
    /// gives a row for each.
    #[arg(long, default_value = "both", value_parser = ["on", "off", "both"])]
    caching: String,
    /// The steady input rate of the latency measurement, in events/s; 0 skips it.
    #[arg(long, default_value_t = sluice::bench::run::DEFAULT_LATENCY_RATE)]
    latency_rate: u64,
    /// Run one measurement in this process and print its report as JSON (what the suite
    /// runs in each child process).
    #[arg(long, hide = true)]
    single: bool,
    /// Distinct auctions the bids reference: the number of groups the aggregate keeps.
    #[arg(long, default_value_t = sluice::bench::generator::AUCTIONS)]
    keys: i64,
    /// Runs per measurement: the table shows the median run and the range of all.
    #[arg(long, default_value_t = 1)]
    repeat: usize,
    /// Stream threads (`ksql.streams.num.stream.threads`): the bids and auctions topics get
    /// as many partitions, and a query that can run one task per partition does.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Where the topics are: in memory, or in the log on disk (a temporary data directory,
    /// every produce synced as the server syncs it).
    #[arg(long, default_value = "memory", value_parser = ["memory", "disk", "kafka"])]
    store: String,
    /// The Kafka cluster of `--store kafka`.
    #[arg(long, required_if_eq("store", "kafka"))]
    bootstrap_servers: Option<String>,
    /// `processing.guarantee` of the measured query: with `exactly_once_v2` each of its
    /// commits (every 100 ms) is one transaction.
    #[arg(long, default_value = "at_least_once", value_parser = ["at_least_once", "exactly_once_v2"])]
    guarantee: String,
    /// Measure pull queries instead: key lookups and a scan of a table of `--pull-keys` keys
    /// whose topic holds `--pull-updates` updates.
    #[arg(long)]
    pull: bool,
    #[arg(long, default_value_t = 1_000_000)]
    pull_keys: u64,
    #[arg(long, default_value_t = 10_000_000)]
    pull_updates: u64,
    #[arg(long, default_value_t = 10_000)]
    pull_lookups: u64,
    /// Measure the API's responsiveness instead: `GET /info` and a pull query by key, timed
    /// over HTTP while `--serve-events` bids are produced and four queries run.
    #[arg(long)]
    serve: bool,
    #[arg(long, default_value_t = 10_000_000)]
    serve_events: u64,
}

// Parsed once per run: the size of its largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum TopicsCommand {
    /// Append a file of lines to a topic, one record per line (as kafka-console-producer or
    /// `kcat -P` do), through a running server.
    Produce {
        /// The topic; created if missing.
        topic: String,
        /// The file of lines; standard input if absent.
        file: Option<PathBuf>,
        /// Create a missing topic with this many partitions (an existing one must match).
        #[arg(long)]
        partitions: Option<u32>,
        /// Key each record by this field: a JSON field name, or a 1-based DELIMITED position.
        #[arg(long)]
        key: Option<String>,
        /// How the key field is written: as KAFKA STRING, BIGINT or INT.
        #[arg(long, default_value = "string", value_parser = ["string", "bigint", "int"])]
        key_format: String,
        /// What each line is.
        #[arg(long, default_value = "json", value_parser = ["json", "delimited"])]
        format: String,
        /// The DELIMITED field separator.
        #[arg(long, default_value = ",")]
        delimiter: String,
        /// The server to send the records to.
        #[arg(long, default_value = "http://localhost:8088")]
        server: String,
        #[command(flatten)]
        login: LoginArgs,
        /// Write straight into a data directory that no server holds.
        #[arg(long, conflicts_with = "server")]
        data_dir: Option<PathBuf>,
    },
    /// List the topics of a stopped server's data directory.
    List {
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
    },
    /// Show a topic's configs and each partition's offsets.
    Describe {
        topic: String,
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
    },
    /// Print a topic's records, one line each (partition, offset, timestamp, key, value).
    Dump {
        topic: String,
        /// Stop after this many records.
        #[arg(long)]
        limit: Option<u64>,
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
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
            data_dir,
            in_memory,
            bootstrap_servers,
        } => server(
            listen,
            queries_file,
            config,
            data_dir,
            in_memory,
            bootstrap_servers,
        ),
        Command::Shell {
            server,
            file,
            execute,
            define,
            output,
            login,
        } => sluice::shell::run(sluice::shell::ShellOptions {
            connection: match login.connection(&server) {
                Ok(connection) => connection,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::FAILURE;
                }
            },
            file,
            execute,
            define,
            output: sluice::shell::OutputFormat::parse(&output)
                .unwrap_or(sluice::shell::OutputFormat::Tabular),
        }),
        Command::Test {
            paths,
            filter,
            bootstrap_servers,
        } => {
            let mut options = sluice::testing::RunOptions {
                filter,
                ..Default::default()
            };
            if let Some(servers) = bootstrap_servers {
                let mut kafka = sluice::topics::KafkaOptions::new(servers);
                // Cases drop topics; a run leaves its own behind rather than delete others'.
                kafka.delete_topics = false;
                match sluice::topics::KafkaTopicStore::connect(kafka) {
                    Ok(store) => {
                        options.log = Some(sluice::testing::SharedLog::new(Arc::new(store)));
                        // Every case creates topics and waits for the cluster's answers.
                        options.case_timeout = KAFKA_CASE_TIMEOUT;
                    }
                    Err(e) => {
                        eprintln!("Cannot use the Kafka cluster: {e}");
                        return ExitCode::FAILURE;
                    }
                }
            }
            let mut out = std::io::stdout().lock();
            let summary = sluice::testing::run_paths_with(&paths, &options, &mut out);
            let _ = out.flush();
            if summary.failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Command::Bench(args) => bench(&args),
        Command::Users {
            command:
                UsersCommand::Add {
                    name,
                    file,
                    roles,
                    password_stdin,
                },
        } => match add_user(&name, &file, &roles, password_stdin) {
            Ok(()) => {
                eprintln!("{name} is in {}", file.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        },
        Command::Topics {
            command: TopicsCommand::List { data_dir },
        } => offline_report(|out| sluice::offline::list(&data_dir, out)),
        Command::Topics {
            command: TopicsCommand::Describe { topic, data_dir },
        } => offline_report(|out| sluice::offline::describe(&data_dir, &topic, out)),
        Command::Topics {
            command:
                TopicsCommand::Dump {
                    topic,
                    limit,
                    data_dir,
                },
        } => offline_report(|out| sluice::offline::dump(&data_dir, &topic, limit, out)),
        Command::Topics {
            command:
                TopicsCommand::Produce {
                    topic,
                    file,
                    partitions,
                    key,
                    key_format,
                    format,
                    delimiter,
                    server,
                    login,
                    data_dir,
                },
        } => {
            let (input, size): (Box<dyn std::io::BufRead>, Option<u64>) = match &file {
                Some(path) => match std::fs::File::open(path) {
                    Ok(f) => {
                        let size = f.metadata().ok().map(|m| m.len());
                        let reader = std::io::BufReader::with_capacity(1 << 20, f);
                        (Box::new(reader), size)
                    }
                    Err(e) => {
                        eprintln!("Cannot open {}: {e}", path.display());
                        return ExitCode::FAILURE;
                    }
                },
                None => (Box::new(std::io::stdin().lock()), None),
            };
            // Bytes read, their rate, the time left and the records appended, on a terminal.
            let bar = produce_progress(size);
            let input = Box::new(bar.wrap_read(input));
            let progress = |records: u64| bar.set_message(format!("{records} records"));
            // Straight into a stopped server's data directory, or through a running server.
            let result = match data_dir {
                Some(dir) => sluice::topics::load::LoadOptions::parse(
                    Some(&format),
                    Some(&delimiter),
                    key.as_deref(),
                    Some(&key_format),
                    partitions,
                )
                .map_err(|e| e.to_string())
                .and_then(|options| {
                    sluice::offline::produce(&dir, &topic, &options, input, progress)
                        .map_err(|e| e.to_string())
                }),
                None => {
                    let options = sluice::client::ProduceOptions {
                        partitions,
                        key,
                        key_format: Some(key_format),
                        format: Some(format),
                        delimiter: Some(delimiter),
                    };
                    login
                        .connection(&server)
                        .and_then(|connection| {
                            sluice::client::KsqlClient::connect(&connection)
                                .map_err(|e| e.to_string())
                        })
                        .and_then(|client| {
                            client
                                .produce(&topic, &options, input, progress)
                                .map_err(|e| e.to_string())
                        })
                }
            };
            bar.finish_and_clear();
            match result {
                Ok(count) => {
                    eprintln!("Appended {count} records to {topic}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// The progress bar of `sluice topics produce`: of the file's bytes when its size is known,
/// else a spinner; drawn on standard error when it is a terminal, hidden otherwise.
fn produce_progress(size: Option<u64>) -> indicatif::ProgressBar {
    let (bar, template) = match size {
        Some(size) => (
            indicatif::ProgressBar::new(size),
            "{bar:30} {bytes}/{total_bytes} ({binary_bytes_per_sec}, ETA {eta}) {msg}",
        ),
        None => (
            indicatif::ProgressBar::new_spinner(),
            "{spinner} {bytes} ({binary_bytes_per_sec}) {msg}",
        ),
    };
    if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}

/// Runs an offline topics command that writes to standard output.
fn offline_report(
    report: impl FnOnce(&mut std::io::StdoutLock<'static>) -> Result<(), sluice::offline::OfflineError>,
) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match report(&mut out).and_then(|()| out.flush().map_err(Into::into)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

fn bench(args: &BenchArgs) -> ExitCode {
    if args.serve {
        let config = sluice::bench::serve::ServeConfig {
            events: args.serve_events,
            probe_every: std::time::Duration::from_millis(5),
        };
        return match sluice::bench::serve::run_serve(&config) {
            Ok(r) => {
                println!(
                    "| events | stream threads | busy s | request | samples | p50 ms | p99 ms | max ms |\n\
                     |---:|---:|---:|---|---:|---:|---:|---:|"
                );
                for (name, l) in [("GET /info", &r.info), ("pull by key", &r.pull)] {
                    println!(
                        "| {} | {} | {:.1} | {name} | {} | {:.2} | {:.2} | {:.2} |",
                        r.events,
                        r.threads,
                        r.busy_secs,
                        l.samples,
                        l.p50_us as f64 / 1000.0,
                        l.p99_us as f64 / 1000.0,
                        l.max_us as f64 / 1000.0
                    );
                }
                println!("\npeak RSS {} MB, {} build", r.peak_rss_mb, r.profile);
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        };
    }
    if args.pull {
        let config = sluice::bench::pull::PullConfig {
            keys: args.pull_keys,
            updates: args.pull_updates,
            lookups: args.pull_lookups,
        };
        return match sluice::bench::pull::run_pull(&config) {
            Ok(report) => {
                println!(
                    "| keys | updates | index s | lookups | p50 µs | p99 µs | p999 µs | scan ms (rows) | peak RSS MB | profile |\n\
                     |---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n\
                     | {} | {} | {:.2} | {} | {} | {} | {} | {} ({}) | {} | {} |",
                    report.keys,
                    report.updates,
                    report.index_secs,
                    report.lookups,
                    report.lookup_p50_us,
                    report.lookup_p99_us,
                    report.lookup_p999_us,
                    report.scan_ms,
                    report.scan_rows,
                    report.peak_rss_mb,
                    report.profile
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        };
    }
    let (events, workload, caching, latency_rate, single) = (
        &args.events[..],
        args.workload.as_str(),
        args.caching.as_str(),
        args.latency_rate,
        args.single,
    );
    let (keys, repeat, threads) = (args.keys.max(1), args.repeat.max(1), args.threads.max(1));
    use sluice::bench::{RunConfig, SuiteConfig, Workload};
    let workloads = Workload::parse_selection(workload).unwrap_or_default();
    let caching = match caching {
        "on" => vec![true],
        "off" => vec![false],
        _ => vec![false, true],
    };
    if single {
        let ([workload], [events], [caching]) = (&workloads[..], events, &caching[..]) else {
            eprintln!("--single takes one workload, one --events count and --caching on|off");
            return ExitCode::FAILURE;
        };
        let config = RunConfig {
            latency_rate,
            keys,
            threads,
            disk: args.store == "disk",
            kafka: args.bootstrap_servers.clone(),
            exactly_once: args.guarantee == "exactly_once_v2",
            ..RunConfig::new(*workload, *events, *caching)
        };
        return match sluice::bench::run_single(&config) {
            Ok(report) => match serde_json::to_string(&report) {
                Ok(line) => {
                    println!("{line}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("Cannot write the report: {e}");
                    ExitCode::FAILURE
                }
            },
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        };
    }
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            eprintln!("Cannot find this binary to run the benchmarks with: {e}");
            return ExitCode::FAILURE;
        }
    };
    let config = SuiteConfig {
        exe,
        workloads,
        events: events.to_vec(),
        caching,
        latency_rate,
        keys,
        threads,
        repeat,
        disk: args.store == "disk",
        kafka: args.bootstrap_servers.clone(),
        exactly_once: args.guarantee == "exactly_once_v2",
    };
    match sluice::bench::run_suite(&config) {
        Ok(reports) => {
            print!(
                "{}\n{}",
                sluice::bench::markdown_table(&reports),
                sluice::bench::suite::notes(&reports)
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// `sluice users add`: the user's line, hashed, replacing any earlier line of theirs.
fn add_user(
    name: &str,
    file: &std::path::Path,
    roles: &[String],
    stdin: bool,
) -> Result<(), String> {
    if name.is_empty() || name.contains([':', '=', ',', '\n']) || name.trim() != name {
        return Err(format!(
            "'{name}' cannot be a user name: no ':', '=', ',' or surrounding spaces"
        ));
    }
    if let Some(role) = roles
        .iter()
        .find(|r| r.trim().is_empty() || r.contains(['\n', ':', '$']))
    {
        return Err(format!("'{role}' cannot be a role"));
    }
    let password = if stdin {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .map_err(|e| format!("Cannot read the password: {e}"))?;
        line.trim_end_matches(['\r', '\n']).to_string()
    } else {
        let first = rpassword::prompt_password(format!("Password for {name}: "))
            .map_err(|e| format!("Cannot read the password: {e}"))?;
        let again = rpassword::prompt_password("Again: ")
            .map_err(|e| format!("Cannot read the password: {e}"))?;
        if first != again {
            return Err("The two passwords differ; nothing was changed".to_string());
        }
        first
    };
    if password.is_empty() {
        return Err("The password is empty; nothing was changed".to_string());
    }
    let hash = sluice::server::auth::hash_password(&password)?;
    let existing = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(format!("Cannot read {}: {e}", file.display())),
    };
    let mut lines: Vec<String> = existing
        .lines()
        .filter(|line| {
            let user = line.split_once([':', '=']).map(|(user, _)| user.trim());
            line.trim_start().starts_with('#') || user != Some(name)
        })
        .map(str::to_string)
        .collect();
    lines.push(sluice::server::auth::users_line(name, &hash, roles));
    let mut text = lines.join("\n");
    text.push('\n');
    // Checked as the server will read it, then swapped in whole.
    sluice::server::auth::Users::parse(&text, &file.display().to_string())
        .map_err(|e| e.to_string())?;
    let temporary = file.with_extension("new");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options
        .open(&temporary)
        .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&temporary, file));
    written.map_err(|e| format!("Cannot write {}: {e}", file.display()))
}

fn server(
    listen: Option<std::net::SocketAddr>,
    queries_file: Option<PathBuf>,
    config: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    in_memory: bool,
    bootstrap_servers: Option<String>,
) -> ExitCode {
    // A write past a file-size limit (RLIMIT_FSIZE) then fails with an error the log reports,
    // instead of the signal killing the server.
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to "ignore" at start-up, before any thread runs.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    let settings = match &config {
        Some(path) => match sluice::server::settings::read(path) {
            Ok(settings) => settings,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        },
        None => sluice::server::settings::Settings::default(),
    };
    for note in &settings.notes {
        eprintln!("note: {note}");
    }
    let listen = listen
        .or(settings.listen)
        .unwrap_or_else(|| std::net::SocketAddr::from(([127, 0, 0, 1], 8088)));
    let data_dir = data_dir
        .or(settings.data_dir)
        .unwrap_or_else(|| PathBuf::from("data"));
    let storage = match bootstrap_servers.or(settings.bootstrap_servers) {
        Some(servers) if in_memory => {
            eprintln!(
                "--in-memory keeps topics in this process, bootstrap.servers={servers} on a Kafka cluster: choose one"
            );
            return ExitCode::FAILURE;
        }
        None if in_memory => sluice::server::Storage::Memory,
        Some(servers) => {
            let mut options = sluice::topics::KafkaOptions::new(servers);
            options.client = settings.kafka_client;
            if let Some(delete) = settings.delete_topics {
                options.delete_topics = delete;
            }
            sluice::server::Storage::Kafka(options, data_dir)
        }
        None => sluice::server::Storage::Disk(data_dir),
    };
    let properties = settings.properties;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(sluice::sql::THREAD_STACK_BYTES)
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
        storage,
        keystore: settings.keystore,
        authentication: settings.authentication,
        max_connections: settings.max_connections,
        max_concurrent_requests: settings.max_concurrent_requests,
    };
    match runtime.block_on(sluice::server::serve(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
