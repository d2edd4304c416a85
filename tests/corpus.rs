//! Runs ksqlDB's query-validation-tests corpus through the engine and holds the line: the run
//! fails if fewer cases pass than `tests/corpus-floor.txt` says. Raise the floor as the engine
//! improves; a hung or panicking case is just a failed case.
//!
//! `SLUICE_QTT_FILTER=<text> cargo test --test corpus -- --nocapture` runs only the cases whose
//! name contains the text (and skips the floor check).

use std::path::PathBuf;

const CORPUS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/ksqldb-tests/query-validation-tests"
);

#[test]
fn ksqldb_query_validation_corpus() {
    let floor: usize = include_str!("corpus-floor.txt")
        .trim()
        .parse()
        .expect("tests/corpus-floor.txt holds one number");
    let filter = std::env::var("SLUICE_QTT_FILTER").ok();
    let mut out = Vec::new();
    let summary = sluice::testing::run_paths(&[PathBuf::from(CORPUS)], filter.as_deref(), &mut out);
    print!("{}", String::from_utf8_lossy(&out));
    if filter.is_none() {
        assert!(
            summary.passed >= floor,
            "{} corpus cases passed, fewer than the floor of {floor} in tests/corpus-floor.txt",
            summary.passed
        );
    }
}
