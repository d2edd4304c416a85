//! Runs ksqlDB's rest-query-validation-tests corpus (RQTT) through the server's REST API, in
//! process, and holds the line: the run fails if fewer cases pass than
//! `tests/rest-corpus-floor.txt` says. Raise the floor as the server improves; a hung or
//! panicking case is just a failed case.
//!
//! `SLUICE_RQTT_FILTER=<text> cargo test --test rest_corpus -- --nocapture` runs only the cases
//! whose name contains the text (and skips the floor check).

use std::path::PathBuf;

const CORPUS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/ksqldb-tests/rest-query-validation-tests"
);

#[test]
fn ksqldb_rest_query_validation_corpus() {
    let floor: usize = include_str!("rest-corpus-floor.txt")
        .trim()
        .parse()
        .expect("tests/rest-corpus-floor.txt holds one number");
    let filter = std::env::var("SLUICE_RQTT_FILTER").ok();
    let mut out = Vec::new();
    let summary = sluice::testing::run_paths(&[PathBuf::from(CORPUS)], filter.as_deref(), &mut out);
    print!("{}", String::from_utf8_lossy(&out));
    if filter.is_none() {
        assert!(
            summary.passed >= floor,
            "{} REST corpus cases passed, fewer than the floor of {floor} in tests/rest-corpus-floor.txt",
            summary.passed
        );
    }
}
