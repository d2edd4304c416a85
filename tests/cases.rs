//! Sluice's own test cases, as data: every file under `tests/cases` (ksqlDB's QTT or REST
//! test-case JSON) must pass. Add a case by adding JSON, no Rust.
//!
//! `SLUICE_CASES_FILTER=<text> cargo test --test cases -- --nocapture` runs only the cases
//! whose name contains the text.

use std::path::PathBuf;

const CASES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cases");

#[test]
fn sluice_cases_all_pass() {
    let filter = std::env::var("SLUICE_CASES_FILTER").ok();
    let mut out = Vec::new();
    let summary = sluice::testing::run_paths(&[PathBuf::from(CASES)], filter.as_deref(), &mut out);
    let report = String::from_utf8_lossy(&out);
    print!("{report}");
    assert!(summary.passed > 0, "no cases ran:\n{report}");
    assert_eq!(summary.failed, 0, "{report}");
    assert_eq!(summary.skipped, 0, "{report}");
}
