//! The record fuzzer: random and mutated bytes, keys and values, thrown at every format's
//! decoder through a query that reads them. No record may panic the query or the process;
//! every record that cannot be read is skipped and written to the processing log, and the
//! query goes on to read the good record after them. Seeded: a failure names its format, seed
//! and case, and runs again the same with `SLUICE_FUZZ_SEED`.

mod support;

use std::sync::Arc;

use sluice::engine::Engine;
use sluice::topics::{MemoryTopicStore, ProducerRecord, Record, TopicStore, fetch_to_end};
use support::Rng;

/// Records thrown at each format.
const CASES: usize = 20_000;

const RICH: &str = "(K STRING KEY, I INT, B BIGINT, D DOUBLE, S STRING, DEC DECIMAL(10, 2), BO BOOLEAN, ARR ARRAY<INT>, M MAP<STRING, INT>, ST STRUCT<A INT, B STRING>, TS TIMESTAMP)";
const RICH_ROW: &str = "(K, I, B, D, S, DEC, BO, ARR, M, ST, TS) VALUES ('{k}', 1, 2, 3.5, 'text ''quoted''', 12.34, true, ARRAY[1, 2], MAP('x' := 1), STRUCT(A := 1, B := 'b'), FROM_UNIXTIME(1577836800000))";
const FLAT: &str =
    "(K STRING KEY, I INT, B BIGINT, D DOUBLE, S STRING, DEC DECIMAL(10, 2), BO BOOLEAN)";
const FLAT_ROW: &str = "(K, I, B, D, S, DEC, BO) VALUES ('{k}', 1, 2, 3.5, 'text', 12.34, true)";

/// Each format, with the columns and an INSERT of a good row for it.
fn formats() -> Vec<(&'static str, &'static str, &'static str)> {
    vec![
        (
            "KAFKA",
            "(K STRING KEY, V BIGINT)",
            "(K, V) VALUES ('{k}', 7)",
        ),
        ("JSON", RICH, RICH_ROW),
        ("DELIMITED", FLAT, FLAT_ROW),
        ("AVRO", RICH, RICH_ROW),
        ("PROTOBUF", RICH, RICH_ROW),
        ("JSON_SR", RICH, RICH_ROW),
    ]
}

/// A record to throw: random bytes, or a good record mangled.
fn mangle(rng: &mut Rng, good: &[Record]) -> ProducerRecord {
    let pick = |rng: &mut Rng| {
        let r = &good[rng.below(good.len())];
        (
            r.key.as_deref().unwrap_or_default().to_vec(),
            r.value.as_deref().unwrap_or_default().to_vec(),
        )
    };
    let (mut key, mut value) = pick(rng);
    let part = rng.below(3);
    let mutate = |bytes: &mut Vec<u8>, rng: &mut Rng| match rng.below(8) {
        0 => {
            let n = rng.below(64);
            *bytes = rng.bytes(n);
        }
        1 if !bytes.is_empty() => {
            let at = rng.below(bytes.len());
            bytes[at] ^= 1 << rng.below(8);
        }
        2 => {
            let keep = rng.below(bytes.len() + 1);
            bytes.truncate(keep);
        }
        3 => {
            let n = rng.below(16) + 1;
            let extra = rng.bytes(n);
            let at = rng.below(bytes.len() + 1);
            bytes.splice(at..at, extra);
        }
        4 if !bytes.is_empty() => {
            let at = rng.below(bytes.len());
            bytes[at] = [0x00, 0xFF, 0x7F, 0x80, b'"', b'{', b'[', b','][rng.below(8)];
        }
        5 => {
            // A schema-registry frame: magic byte, a schema id, then anything.
            let mut framed = vec![0u8];
            framed.extend_from_slice(&(rng.next_u64() as u32 % 8).to_be_bytes());
            let n = rng.below(32);
            framed.extend(rng.bytes(n));
            *bytes = framed;
        }
        6 => {
            let cut = rng.below(bytes.len() + 1);
            bytes.extend_from_within(..cut);
        }
        _ => bytes.clear(),
    };
    if part != 1 {
        mutate(&mut value, rng);
    }
    if part != 0 {
        mutate(&mut key, rng);
    }
    ProducerRecord {
        key: (rng.below(10) != 0).then_some(key),
        value: (rng.below(20) != 0).then_some(value),
        timestamp: {
            let shift = rng.below(64);
            (rng.next_u64() as i64) >> shift
        },
        ..Default::default()
    }
}

/// Caps the test's address space, so that an allocation sized by a count in a record fails
/// here as it would on a machine without overcommit, instead of passing by luck.
fn cap_address_space(bytes: u64) {
    let limit = libc::rlimit {
        rlim_cur: bytes,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: setrlimit reads the struct we pass; lowering the soft limit is always allowed.
    let status = unsafe { libc::setrlimit(libc::RLIMIT_AS, &limit) };
    assert_eq!(status, 0, "setrlimit");
}

#[test]
fn no_record_of_any_format_panics_a_query_and_each_bad_one_is_logged() {
    cap_address_space(8 << 30);
    let seed: u64 = std::env::var("SLUICE_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_F00D);
    for (index, (format, columns, row)) in (1u64..).zip(formats()) {
        let store = Arc::new(MemoryTopicStore::new());
        let mut engine = Engine::new(store.clone());
        engine.set_property("auto.offset.reset", "earliest");
        let insert = |engine: &mut Engine, key: &str| {
            engine
                .execute_script(&format!("INSERT INTO SRC {};", row.replace("{k}", key)))
                .unwrap_or_else(|e| panic!("{format}: a good row: {e:?}"));
        };
        engine
            .execute_script(&format!(
                "CREATE STREAM SRC {columns} WITH (kafka_topic='src', format='{format}', partitions=1);\n\
                 CREATE STREAM COPY AS SELECT * FROM SRC;"
            ))
            .unwrap_or_else(|e| panic!("{format}: {e:?}"));
        for key in ["a", "bb", ""] {
            insert(&mut engine, key);
        }
        let good = fetch_to_end(store.as_ref(), "src", 0, 0).unwrap();
        let mut rng = Rng::new(seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        for case in 0..CASES {
            let record = mangle(&mut rng, &good);
            store
                .produce("src", vec![record])
                .unwrap_or_else(|e| panic!("{format} case {case}: {e}"));
        }
        engine
            .run_until_idle()
            .unwrap_or_else(|e| panic!("{format} (seed {seed}): the query failed: {e:?}"));
        // The query goes on: a good record after the bad ones is copied.
        insert(&mut engine, "last");
        engine.run_until_idle().unwrap();
        let copied = fetch_to_end(store.as_ref(), "COPY", 0, 0).unwrap();
        let last = copied.last().expect("copied records");
        assert!(
            last.key.as_deref().is_some_and(|k| !k.is_empty()),
            "{format}: the good record after the bad ones was not copied"
        );
        let stats = engine.query_stats();
        let (_, stats) = &stats[0];
        assert_eq!(
            stats.records_in,
            (good.len() + CASES + 1) as u64,
            "{format}"
        );
        assert!(
            stats.records_skipped > 0,
            "{format}: nothing was skipped: {stats:?}, log: {:?}",
            engine.processing_log().first()
        );
        // Every skipped record is in the processing log (it keeps the last 10,000).
        let logged = engine.processing_log().len() as u64;
        assert!(
            logged >= stats.records_skipped.min(10_000),
            "{format}: {} skipped, {logged} logged",
            stats.records_skipped
        );
        eprintln!(
            "{format}: {CASES} records thrown, {} skipped and logged, {} read",
            stats.records_skipped,
            stats.records_in - stats.records_skipped
        );
    }
}
