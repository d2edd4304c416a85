//! The runner for ksqlDB's functional test cases (the query-validation-tests JSON format,
//! "QTT"), executed through the [`Engine`](crate::engine::Engine) exactly as ksqlDB's own
//! runner executes and compares them (`../shared/reference/ksqldb-tests-format.md`).
//!
//! ```text
//!  *.json ─model::expand─▶ TestCase ─runner::run_case─▶ Verdict ─▶ "PASS name" / "FAIL name: why"
//!                                        │
//!            topics ─▶ statements ─▶ records::to_producer_record ─▶ run_until_idle
//!            ─▶ records::from_record + compare::value_matches ─▶ post::check
//! ```
//!
//! 1. [`model`] reads files leniently and expands `format`/`config` into cases.
//! 2. [`records`] are the harness's own test serdes: test JSON to record bytes and back.
//! 3. [`compare`] is ksqlDB's `ExpectedRecordComparator`.
//! 4. [`post`] checks the catalog and topics after a run.
//! 5. [`runner`] runs one case on its own thread, with a time bound.
//! 6. [`rest`] runs the REST cases (rest-query-validation-tests: those with `responses` or
//!    `expectedError`) through the server's API instead.

pub mod capture;
pub mod compare;
pub mod model;
pub mod post;
pub mod records;
pub mod rest;
pub mod runner;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use model::{Expanded, TestFile};
use runner::Verdict;

/// How long one case may run before it fails as hung.
pub const DEFAULT_CASE_TIMEOUT: Duration = Duration::from_secs(10);

/// Counts of a run; the closing line prints them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
}

/// What to run, where, and how long each case may take.
#[derive(Clone)]
pub struct RunOptions {
    /// Runs only the cases whose display name contains this text.
    pub filter: Option<String>,
    pub case_timeout: Duration,
    /// A shared log (a Kafka cluster) each case runs in a namespace of; `None`: each case
    /// runs in memory.
    pub log: Option<SharedLog>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            filter: None,
            case_timeout: DEFAULT_CASE_TIMEOUT,
            log: None,
        }
    }
}

/// A log shared by the cases of a run, each given topic and group names of its own.
#[derive(Clone)]
pub struct SharedLog {
    store: std::sync::Arc<dyn crate::topics::TopicStore>,
    run: String,
    cases: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl SharedLog {
    pub fn new(store: std::sync::Arc<dyn crate::topics::TopicStore>) -> SharedLog {
        let run = chrono::Utc::now().format("%Y%m%d%H%M%S%3f").to_string();
        SharedLog {
            store,
            run,
            cases: std::sync::Arc::default(),
        }
    }

    /// The next case's part of the log.
    pub fn namespace(&self) -> crate::topics::namespace::Namespace {
        let case = self
            .cases
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        crate::topics::namespace::Namespace::new(
            std::sync::Arc::clone(&self.store),
            format!("qtt-{}-{case}-", self.run),
        )
    }
}

/// Runs every case of the given files and directories (`*.json`, recursively, in path order),
/// writing `PASS <name>`, `FAIL <name>: <reason>` or `SKIP <name>[: <reason>]` per case and a
/// closing `N passed, N failed, N skipped`.
pub fn run_paths(paths: &[PathBuf], filter: Option<&str>, out: &mut dyn Write) -> Summary {
    let options = RunOptions {
        filter: filter.map(str::to_string),
        ..RunOptions::default()
    };
    run_paths_with(paths, &options, out)
}

/// [`run_paths`] with every option.
pub fn run_paths_with(paths: &[PathBuf], options: &RunOptions, out: &mut dyn Write) -> Summary {
    let mut report = Report {
        out,
        summary: Summary::default(),
    };
    for file in test_files(paths) {
        let file = match file {
            Ok(file) => file,
            Err((path, reason)) => {
                report.fail(&path.display().to_string(), &reason);
                continue;
            }
        };
        let cases = match load_file(&file) {
            Ok(cases) => cases,
            Err(reason) => {
                report.fail(&file.display().to_string(), &reason);
                continue;
            }
        };
        for case in cases {
            let name = match &case {
                Expanded::Run(c) => &c.name,
                Expanded::Skip { name, .. } | Expanded::Invalid { name, .. } => name,
            };
            if options.filter.as_deref().is_some_and(|f| !name.contains(f)) {
                continue;
            }
            match case {
                Expanded::Run(case) => {
                    let name = case.name.clone();
                    let verdict = if case.rest.is_some() {
                        rest::run_case(*case, options.case_timeout)
                    } else {
                        runner::run_case_on(*case, options.case_timeout, options.log.clone())
                    };
                    match verdict {
                        Verdict::Pass => report.pass(&name),
                        Verdict::Fail(reason) => report.fail(&name, &reason),
                    }
                }
                Expanded::Skip { name, reason } => report.skip(&name, reason),
                Expanded::Invalid { name, reason } => report.fail(&name, &reason),
            }
        }
    }
    let s = report.summary;
    report.line(format_args!(
        "{} passed, {} failed, {} skipped",
        s.passed, s.failed, s.skipped
    ));
    s
}

/// Prints one line per case and keeps the counts.
struct Report<'a> {
    out: &'a mut dyn Write,
    summary: Summary,
}

impl Report<'_> {
    fn line(&mut self, text: std::fmt::Arguments<'_>) {
        // The report is best-effort output; a closed stdout must not abort the run, and the
        // returned Summary still carries the result.
        let _ = writeln!(self.out, "{text}");
    }

    fn pass(&mut self, name: &str) {
        self.summary.passed += 1;
        self.line(format_args!("PASS {name}"));
    }

    fn fail(&mut self, name: &str, reason: &str) {
        self.summary.failed += 1;
        // One line per case: multi-line messages are folded.
        let reason = reason.replace("\r\n", " | ").replace('\n', " | ");
        self.line(format_args!("FAIL {name}: {reason}"));
    }

    fn skip(&mut self, name: &str, reason: Option<&str>) {
        self.summary.skipped += 1;
        match reason {
            Some(reason) => self.line(format_args!("SKIP {name}: {reason}")),
            None => self.line(format_args!("SKIP {name}")),
        }
    }
}

/// The `*.json` files under the given paths, sorted, each directory walked recursively.
fn test_files(paths: &[PathBuf]) -> Vec<Result<PathBuf, (PathBuf, String)>> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found = Vec::new();
            if let Err(e) = walk(path, &mut found) {
                out.push(Err((path.clone(), format!("cannot read directory: {e}"))));
            }
            found.sort();
            out.extend(found.into_iter().map(Ok));
        } else if path.is_file() {
            out.push(Ok(path.clone()));
        } else {
            out.push(Err((path.clone(), "no such file or directory".to_string())));
        }
    }
    out
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, found)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            found.push(path);
        }
    }
    Ok(())
}

/// The directory of ksqlDB's REST test suite: every case of a file under it is a REST case, as
/// ksqlDB's `RestQueryTranslationTest` loads that directory.
pub const REST_SUITE_DIRECTORY: &str = "rest-query-validation-tests";

/// Reads a test file and expands its cases. `//` and `/* */` comments are allowed, as ksqlDB's
/// loader allows them. Cases of files under [`REST_SUITE_DIRECTORY`] are REST cases.
pub fn load_file(path: &Path) -> Result<Vec<Expanded>, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("cannot read test file: {e}"))?;
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let rest_suite = path.parent().is_some_and(|dir| {
        dir.components()
            .any(|c| c.as_os_str() == REST_SUITE_DIRECTORY)
    });
    parse_file_in(&stem, &text, rest_suite)
}

/// Parses a test file's text; `stem` names its cases.
pub fn parse_file(stem: &str, text: &str) -> Result<Vec<Expanded>, String> {
    parse_file_in(stem, text, false)
}

/// [`parse_file`] for a file of the REST suite when `rest_suite` is set: then every case is a
/// REST case, whether or not it lists `responses`.
pub fn parse_file_in(stem: &str, text: &str, rest_suite: bool) -> Result<Vec<Expanded>, String> {
    let file: TestFile = serde_json::from_str(&strip_comments(text))
        .map_err(|e| format!("invalid test file: {e}"))?;
    if file.tests.is_empty() {
        return Err("invalid test file: 'tests' is empty".to_string());
    }
    let mut cases = Vec::new();
    for raw in &file.tests {
        match model::parse_case(stem, raw) {
            Ok(node) => cases.extend(model::expand_in(stem, &node, rest_suite)),
            Err((name, reason)) => cases.push(Expanded::Invalid { name, reason }),
        }
    }
    Ok(cases)
}

/// Blanks out `//` line comments and `/* */` block comments outside JSON strings.
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                '\\' => {
                    if let Some(escaped) = chars.next() {
                        out.push(escaped);
                    }
                }
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match (c, chars.peek()) {
            ('"', _) => {
                in_string = true;
                out.push(c);
            }
            ('/', Some('/')) => while chars.next_if(|n| *n != '\n').is_some() {},
            ('/', Some('*')) => {
                chars.next();
                let mut previous = ' ';
                for n in chars.by_ref() {
                    if previous == '*' && n == '/' {
                        break;
                    }
                    // Keep line breaks so serde_json's error positions stay right.
                    if n == '\n' {
                        out.push('\n');
                    }
                    previous = n;
                }
                out.push(' ');
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_are_stripped_outside_strings() {
        let text = "{\"a\": \"//x/*y*/\", // note\n \"b\": /* c */ 1}";
        let value: serde_json::Value = serde_json::from_str(&strip_comments(text)).unwrap();
        assert_eq!(value["a"], "//x/*y*/");
        assert_eq!(value["b"], 1);
    }

    #[test]
    fn a_file_reports_each_case() {
        let text = r#"{"tests": [
            {"name": "runs", "statements": ["S"], "inputs": [{"topic": "t", "value": 1}]},
            {"name": "off", "enabled": false, "statements": ["S"]},
            {"name": "broken", "statements": ["S"], "inputs": [{"topic": "t"}]}
        ]}"#;
        let cases = parse_file("f", text).unwrap();
        assert!(matches!(&cases[0], Expanded::Run(c) if c.name == "f - runs"));
        assert!(matches!(&cases[1], Expanded::Skip { name, .. } if name == "f - off"));
        assert!(matches!(&cases[2], Expanded::Invalid { name, .. } if name == "f - broken"));
        assert!(parse_file("f", r#"{"tests": []}"#).is_err());
    }

    #[test]
    fn run_paths_prints_one_line_per_case_and_a_summary() {
        let fixtures = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/src/testing/fixtures"));
        let missing = fixtures.join("no-such-file.json");
        let mut out = Vec::new();
        let summary = run_paths(&[fixtures, missing], None, &mut out);
        assert_eq!(
            summary,
            Summary {
                passed: 1,
                failed: 3,
                skipped: 1
            }
        );
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0] == "PASS sample - passes", "{text}");
        assert_eq!(lines[1], "SKIP sample - disabled");
        // The REST case goes to the REST runner; its statement `S` is not SQL.
        assert!(
            lines[2].starts_with("FAIL sample - rest: Server failed to execute statement"),
            "{text}"
        );
        assert!(
            lines[3].starts_with("FAIL sample - invalid: invalid test case"),
            "{text}"
        );
        assert!(
            lines[4].starts_with("FAIL ") && lines[4].contains("no-such-file.json"),
            "{text}"
        );
        assert_eq!(lines[5], "1 passed, 3 failed, 1 skipped");

        let mut filtered = Vec::new();
        let fixtures = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/src/testing/fixtures"));
        let summary = run_paths(&[fixtures], Some("disabled"), &mut filtered);
        assert_eq!(
            summary,
            Summary {
                passed: 0,
                failed: 0,
                skipped: 1
            }
        );
    }
}
