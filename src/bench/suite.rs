//! The suite: each workload × N × caching in a fresh child process, then one markdown table.
//!
//! A process's peak RSS (`VmHWM`) can only grow, so each measurement runs in its own child:
//! the same binary, `sluice bench --single …`, which prints its [`RunReport`] as one JSON line.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::BenchError;
use super::run::{RunReport, TICK};
use super::workload::Workload;

/// What the suite runs: every combination of these.
#[derive(Debug, Clone)]
pub struct SuiteConfig {
    /// The binary to run each measurement with (`std::env::current_exe()`).
    pub exe: PathBuf,
    pub workloads: Vec<Workload>,
    pub events: Vec<u64>,
    pub caching: Vec<bool>,
    /// The latency probe's offered load, events/s.
    pub latency_rate: u64,
    /// Distinct auctions in the bids (groups of the aggregate workload).
    pub keys: i64,
    /// Stream threads, and partitions of the input topics.
    pub threads: usize,
    /// Runs per measurement; the report is the run with the median throughput, and the table
    /// shows the range of all of them.
    pub repeat: usize,
    /// Topics on disk instead of in memory.
    pub disk: bool,
    /// Topics on this Kafka cluster instead.
    pub kafka: Option<String>,
    /// Queries run exactly once.
    pub exactly_once: bool,
}

/// The arguments that make `sluice` run one measurement of `config` and print its report.
pub fn child_args(
    config: &SuiteConfig,
    workload: Workload,
    events: u64,
    caching: bool,
) -> Vec<String> {
    let store = match (&config.kafka, config.disk) {
        (Some(_), _) => "kafka",
        (None, true) => "disk",
        (None, false) => "memory",
    };
    let mut args = vec![
        "bench".to_string(),
        "--single".to_string(),
        "--store".to_string(),
        store.to_string(),
        "--guarantee".to_string(),
        if config.exactly_once {
            "exactly_once_v2"
        } else {
            "at_least_once"
        }
        .to_string(),
        "--workload".to_string(),
        workload.name().to_string(),
        "--events".to_string(),
        events.to_string(),
        "--caching".to_string(),
        if caching { "on" } else { "off" }.to_string(),
        "--latency-rate".to_string(),
        config.latency_rate.to_string(),
        "--keys".to_string(),
        config.keys.to_string(),
        "--threads".to_string(),
        config.threads.to_string(),
    ];
    if let Some(servers) = &config.kafka {
        args.extend(["--bootstrap-servers".to_string(), servers.clone()]);
    }
    args
}

/// Runs every measurement, one child process each, reporting progress on stderr.
pub fn run_suite(config: &SuiteConfig) -> Result<Vec<RunReport>, BenchError> {
    let mut reports = Vec::new();
    for &events in &config.events {
        for &workload in &config.workloads {
            for &caching in &config.caching {
                let mut runs = Vec::with_capacity(config.repeat.max(1));
                for _ in 0..config.repeat.max(1) {
                    runs.push(run_child(config, workload, events, caching)?);
                }
                runs.sort_by(|a, b| a.events_per_second.total_cmp(&b.events_per_second));
                let slowest = runs[0].events_per_second;
                let fastest = runs[runs.len() - 1].events_per_second;
                let count = runs.len();
                let mut report = runs.swap_remove(count / 2);
                if count > 1 {
                    report.events_per_second_range = Some((slowest, fastest));
                }
                reports.push(report);
            }
        }
    }
    Ok(reports)
}

/// One measurement in a child process of its own.
fn run_child(
    config: &SuiteConfig,
    workload: Workload,
    events: u64,
    caching: bool,
) -> Result<RunReport, BenchError> {
    let mode = if caching { "on" } else { "off" };
    let running = format!("bench: {workload}, {events} events, caching {mode}");
    // On a terminal, which workload runs and for how long; elsewhere, a line per run.
    let spinner = indicatif::ProgressBar::new_spinner();
    if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {msg} [{elapsed}]") {
        spinner.set_style(style);
    }
    if spinner.is_hidden() {
        eprintln!("{running} …");
    }
    spinner.set_message(running);
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    let output = Command::new(&config.exe)
        .args(child_args(config, workload, events, caching))
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| BenchError::Child(format!("cannot start: {e}")));
    spinner.finish_and_clear();
    let output = output?;
    if !output.status.success() {
        return Err(BenchError::Child(format!(
            "{workload} ({events} events, caching {mode}) failed: {}",
            output.status
        )));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line)
        .map_err(|e| BenchError::Child(format!("unreadable report {line:?}: {e}")))
}

/// The results as a markdown table, one row per measurement.
pub fn markdown_table(reports: &[RunReport]) -> String {
    let mut out = String::from(
        "| workload | caching | events | keys | threads | seconds | events/s | peak RSS MB | p50 ms | p99 ms | p999 ms |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in reports {
        let rss = r
            .peak_rss_mb
            .map(|m| format!("{m:.0}"))
            .unwrap_or_else(|| "n/a".to_string());
        // A latency with no sample behind it (the probe was skipped, or saw no output).
        let latency = |ms: f64| {
            if r.latency.samples == 0 {
                "n/a".to_string()
            } else {
                format!("{ms:.2}")
            }
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {:.2} | {} | {rss} | {} | {} | {} |",
            r.workload,
            if r.caching { "on" } else { "off" },
            r.events,
            r.keys,
            r.threads,
            r.seconds,
            match r.events_per_second_range {
                Some((low, high)) => format!("{:.0} ({low:.0}–{high:.0})", r.events_per_second),
                None => format!("{:.0}", r.events_per_second),
            },
            latency(r.latency.p50_ms),
            latency(r.latency.p99_ms),
            latency(r.latency.p999_ms),
        );
    }
    out
}

/// What the table's numbers mean, and which latency rows measure a backlog.
pub fn notes(reports: &[RunReport]) -> String {
    let mut out = String::new();
    let profile = if cfg!(debug_assertions) {
        "dev profile (unoptimized): expect these numbers to be an order of magnitude or more below a release build"
    } else {
        "release profile"
    };
    let _ = writeln!(out, "- Build: {profile}.");
    if reports.iter().any(|r| r.disk) {
        let _ = writeln!(
            out,
            "- Topics on disk (`--store disk`): the log in a temporary data directory, each load \
             produce synced before it is acknowledged, the query's outputs synced at its commit."
        );
    }
    if reports.iter().any(|r| r.kafka) {
        let _ = writeln!(
            out,
            "- Topics on Kafka (`--store kafka`): the load produced with `acks=all` before the \
             measurement, the query reading through the store's consumers and writing through \
             its idempotent producer."
        );
    }
    if reports.iter().any(|r| r.exactly_once) {
        let _ = writeln!(
            out,
            "- `--guarantee exactly_once_v2`: the query commits every 100 ms, each commit one \
             transaction of its outputs, state changes and offsets, which readers see only once \
             it is committed; the latency rows include that wait."
        );
    }
    let _ = writeln!(
        out,
        "- events/s is per core with `threads` = 1: the engine runs each persistent query \
         synchronously on one thread inside `run_until_idle()`. With `threads` = T the input \
         topics have T partitions and a query that can run a task per partition runs them on T \
         threads (filter, aggregate and join can; window groups by another column, so it \
         runs on one)."
    );
    let _ = writeln!(
        out,
        "- seconds: time for `run_until_idle()` to consume the N pre-loaded events (loading and \
         planning excluded). Peak RSS: the child process's VmHWM after that run."
    );
    let _ = writeln!(
        out,
        "- caching on/off sets `ksql.streams.cache.max.bytes.buffering` to 10000000/0."
    );
    for off in reports.iter().filter(|r| !r.caching) {
        let on = reports
            .iter()
            .find(|r| r.caching && r.workload == off.workload && r.events == off.events);
        let Some(on) = on else { continue };
        if on.records_out == off.records_out {
            let _ = writeln!(
                out,
                "  - {} ({} events): {} output records in both modes: a stream result is not \
                 cached (the record cache holds table updates, as in ksqlDB).",
                off.workload, off.events, off.records_out
            );
        } else {
            let _ = writeln!(
                out,
                "  - {} ({} events): {} output records with caching on, {} with it off.",
                off.workload, off.events, on.records_out, off.records_out
            );
        }
    }
    if let Some(first) = reports.first() {
        let _ = writeln!(
            out,
            "- Latency: {} events offered at {} events/s ({} per {} ms batch); latency = end of \
             the run that wrote the output record − the time its input batch was due.",
            first.latency.events,
            first.latency.offered_rate,
            (first.latency.offered_rate as u128 * TICK.as_micros() / 1_000_000),
            TICK.as_millis()
        );
    }
    for r in reports {
        let rate = r.latency.achieved_rate;
        if rate < 0.95 * r.latency.offered_rate as f64 {
            let _ = writeln!(
                out,
                "- {} (caching {}, {} events): kept up with only {rate:.0} of the {} events/s \
                 offered, so its latencies measure the growing backlog.",
                r.workload,
                if r.caching { "on" } else { "off" },
                r.events,
                r.latency.offered_rate
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::run::LatencyReport;

    #[test]
    fn the_table_has_a_row_per_report() {
        let report = RunReport {
            workload: "filter".to_string(),
            events: 100_000,
            keys: 10_000,
            threads: 1,
            disk: false,
            kafka: false,
            exactly_once: false,
            caching: true,
            seconds: 1.5,
            events_per_second: 66_666.7,
            events_per_second_range: None,
            records_out: 813,
            peak_rss_mb: Some(101.4),
            latency: LatencyReport {
                offered_rate: 100_000,
                events: 100_000,
                samples: 813,
                achieved_rate: 50_000.0,
                p50_ms: 1.234,
                p99_ms: 5.0,
                p999_ms: 9.0,
                max_ms: 9.5,
            },
        };
        let table = markdown_table(std::slice::from_ref(&report));
        assert!(
            table.contains(
                "| filter | on | 100000 | 10000 | 1 | 1.50 | 66667 | 101 | 1.23 | 5.00 | 9.00 |"
            ),
            "{table}"
        );
        // No latency sample: n/a, not a latency of zero.
        let unmeasured = RunReport {
            latency: LatencyReport::default(),
            ..report.clone()
        };
        assert!(
            markdown_table(&[unmeasured]).contains("| 101 | n/a | n/a | n/a |"),
            "a latency without samples"
        );
        let json = serde_json::to_string(&report).unwrap();
        assert_eq!(serde_json::from_str::<RunReport>(&json).unwrap(), report);
        let off = RunReport {
            caching: false,
            ..report.clone()
        };
        let repeated = RunReport {
            events_per_second_range: Some((50_000.0, 70_000.4)),
            ..report.clone()
        };
        assert!(
            markdown_table(&[repeated]).contains("| 66667 (50000–70000) |"),
            "the median and the range of repeated runs"
        );
        let notes = notes(&[off, report]);
        assert!(notes.contains("kept up with only 50000"), "{notes}");
        assert!(
            notes.contains("813 output records in both modes"),
            "{notes}"
        );
    }
}
