//! State across restarts: every kind of stateful query, stopped halfway and started again on the
//! same log, writes what one uninterrupted run writes.
//!
//! Each scenario runs twice over a fresh log: once straight through, and once as two engines
//! one after the other (the second replays the command topic and restores each query's state
//! from its changelog). A clean stop (a commit, then the restart) must give the same records,
//! key by key and in order; a crash (records processed after the last commit, then the restart)
//! may repeat outputs, as at-least-once allows, but must end with the same latest value per key.

use std::collections::BTreeMap;
use std::sync::Arc;

use sluice::engine::Engine;
use sluice::topics::{
    DiskOptions, DiskTopicStore, FlushPolicy, MemoryTopicStore, ProducerRecord, TopicStore,
    fetch_to_end,
};

/// One input record: topic, key, JSON value (`None`: a tombstone), timestamp.
type Input = (&'static str, String, Option<String>, i64);

struct Scenario {
    name: &'static str,
    sql: &'static str,
    output: &'static str,
    inputs: Vec<Input>,
}

/// A small deterministic generator, so that every run sees the same records.
struct Numbers(u64);

impl Numbers {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below
    }
}

const SETTINGS: &str = "SET 'auto.offset.reset'='earliest';\n\
     SET 'cache.max.bytes.buffering'='0';\n";

/// Stream records of `topic`: keys k0..k7, a value V, a name N and a weight W, one per
/// millisecond of `times`.
fn stream_records(topic: &'static str, seed: u64, times: impl Iterator<Item = i64>) -> Vec<Input> {
    let mut numbers = Numbers(seed);
    times
        .map(|ts| {
            let key = format!("k{}", numbers.next(8));
            let value = format!(
                r#"{{"V":{},"N":"n{}","W":{}.5}}"#,
                numbers.next(100),
                numbers.next(5),
                numbers.next(10)
            );
            (topic, key, Some(value), ts)
        })
        .collect()
}

/// Table records of `topic`: keys k0..k5 with a value V and a region R; some deletes.
fn table_records(topic: &'static str, seed: u64, times: impl Iterator<Item = i64>) -> Vec<Input> {
    let mut numbers = Numbers(seed);
    times
        .map(|ts| {
            let key = format!("k{}", numbers.next(6));
            let value = (numbers.next(7) != 0).then(|| {
                format!(
                    r#"{{"V":{},"R":"r{}","F":"k{}"}}"#,
                    numbers.next(100),
                    numbers.next(3),
                    numbers.next(4)
                )
            });
            (topic, key, value, ts)
        })
        .collect()
}

fn merged(mut a: Vec<Input>, b: Vec<Input>) -> Vec<Input> {
    a.extend(b);
    a.sort_by_key(|r| r.3);
    a
}

fn scenarios() -> Vec<Scenario> {
    let stream = "CREATE STREAM s (id STRING KEY, v INT, n STRING, w DOUBLE) \
                  WITH (kafka_topic='s', value_format='JSON', partitions=2);\n";
    let table = "CREATE TABLE t (id STRING PRIMARY KEY, v INT, r STRING, f STRING) \
                 WITH (kafka_topic='t', value_format='JSON', partitions=2);\n";
    let other = "CREATE STREAM o (id STRING KEY, v INT, n STRING, w DOUBLE) \
                 WITH (kafka_topic='o', value_format='JSON', partitions=2);\n";
    let s = || stream_records("s", 7, (0..300).map(|i| 1000 + i * 37));
    vec![
        Scenario {
            name: "columnar aggregates by key",
            sql: "CREATE TABLE agg AS SELECT id, COUNT(*) c, SUM(v) sv, AVG(w) aw, MIN(v) mn, \
                  MAX(w) mx FROM s GROUP BY id;",
            output: "AGG",
            inputs: s(),
        },
        Scenario {
            name: "row-wise aggregates by a value column",
            sql: "CREATE TABLE agg AS SELECT n, TOPK(v, 2) top, COLLECT_LIST(id) ids, \
                  COLLECT_SET(id) idset, LATEST_BY_OFFSET(v) latest, EARLIEST_BY_OFFSET(v, 2) \
                  earliest, HISTOGRAM(id) h, STDDEV_SAMP(w) sd, COUNT_DISTINCT(id) cd, \
                  CORRELATION(w, CAST(v AS DOUBLE)) corr, SUM(CAST(v AS DECIMAL(10, 2))) dec \
                  FROM s GROUP BY n;",
            output: "AGG",
            inputs: s(),
        },
        Scenario {
            name: "tumbling and hopping windows",
            sql: "CREATE TABLE tumbling AS SELECT id, COUNT(*) c, SUM(v) sv FROM s \
                  WINDOW TUMBLING (SIZE 1 SECOND, GRACE PERIOD 2 SECONDS) GROUP BY id;\n\
                  CREATE TABLE hopping AS SELECT n, COUNT(*) c, MAX(v) mx FROM s \
                  WINDOW HOPPING (SIZE 3 SECONDS, ADVANCE BY 1 SECOND, GRACE PERIOD 0 SECONDS) \
                  GROUP BY n;",
            output: "HOPPING",
            inputs: s(),
        },
        Scenario {
            name: "session windows",
            sql: "CREATE TABLE sessions AS SELECT id, COUNT(*) c, COLLECT_LIST(v) vs FROM s \
                  WINDOW SESSION (300 MILLISECONDS, GRACE PERIOD 1 SECOND) GROUP BY id;",
            output: "SESSIONS",
            inputs: s(),
        },
        Scenario {
            name: "EMIT FINAL",
            sql: "CREATE TABLE closed AS SELECT id, COUNT(*) c, SUM(v) sv FROM s \
                  WINDOW TUMBLING (SIZE 4 MILLISECONDS, GRACE PERIOD 0 MILLISECONDS) GROUP BY id \
                  EMIT FINAL;",
            output: "CLOSED",
            inputs: stream_records("s", 67, 1000..1300),
        },
        Scenario {
            name: "an aggregation of a table",
            sql: "CREATE TABLE regions AS SELECT r, COUNT(*) c, SUM(v) sv FROM t GROUP BY r;",
            output: "REGIONS",
            inputs: table_records("t", 11, (0..300).map(|i| 1000 + i * 37)),
        },
        Scenario {
            name: "a stream-table join",
            sql: "CREATE STREAM enriched AS SELECT s.id, s.v, t.v AS tv, t.r FROM s \
                  LEFT JOIN t ON s.id = t.id;",
            output: "ENRICHED",
            inputs: merged(
                table_records("t", 13, (0..150).map(|i| 1000 + i * 74)),
                stream_records("s", 17, (0..300).map(|i| 1001 + i * 37)),
            ),
        },
        Scenario {
            name: "a table-table outer join",
            sql: "CREATE TABLE t2 (id STRING PRIMARY KEY, v INT, r STRING, f STRING) \
                  WITH (kafka_topic='t2', value_format='JSON', partitions=2);\n\
                  CREATE TABLE joined AS SELECT ROWKEY, t.v AS a, t2.v AS b FROM t \
                  FULL OUTER JOIN t2 ON t.id = t2.id;",
            output: "JOINED",
            inputs: merged(
                table_records("t", 19, (0..200).map(|i| 1000 + i * 50)),
                table_records("t2", 23, (0..200).map(|i| 1001 + i * 50)),
            ),
        },
        Scenario {
            name: "a stream-stream outer join with a grace period",
            sql: "CREATE STREAM pairs AS SELECT ROWKEY, s.v AS a, o.v AS b FROM s \
                  FULL OUTER JOIN o WITHIN (200 MILLISECONDS, 100 MILLISECONDS) GRACE PERIOD \
                  100 MILLISECONDS ON s.id = o.id;",
            output: "PAIRS",
            inputs: merged(
                stream_records("s", 29, (0..200).map(|i| 1000 + i * 60)),
                stream_records("o", 31, (0..200).map(|i| 1030 + i * 60)),
            ),
        },
        Scenario {
            name: "a foreign-key join",
            sql: "CREATE TABLE t2 (id STRING PRIMARY KEY, v INT, r STRING, f STRING) \
                  WITH (kafka_topic='t2', value_format='JSON', partitions=2);\n\
                  CREATE TABLE fk AS SELECT t.id, t.v AS a, t2.r AS b FROM t \
                  JOIN t2 ON t.f = t2.id;",
            output: "FK",
            inputs: merged(
                table_records("t", 37, (0..200).map(|i| 1000 + i * 50)),
                table_records("t2", 41, (0..200).map(|i| 1001 + i * 50)),
            ),
        },
        Scenario {
            name: "an aggregation over a join",
            sql: "CREATE TABLE totals AS SELECT t.r, COUNT(*) c, SUM(s.v) sv FROM s \
                  JOIN t ON s.id = t.id GROUP BY t.r;",
            output: "TOTALS",
            inputs: merged(
                table_records("t", 43, (0..100).map(|i| 1000 + i * 111)),
                stream_records("s", 47, (0..300).map(|i| 1001 + i * 37)),
            ),
        },
        Scenario {
            name: "three streams joined",
            sql: "CREATE STREAM p (id STRING KEY, v INT, n STRING, w DOUBLE) \
                  WITH (kafka_topic='p', value_format='JSON', partitions=2);\n\
                  CREATE STREAM three AS SELECT s.id, s.v AS a, o.v AS b, p.v AS c FROM s \
                  JOIN o WITHIN 300 MILLISECONDS ON s.id = o.id \
                  LEFT JOIN p WITHIN 300 MILLISECONDS ON s.id = p.id;",
            output: "THREE",
            inputs: merged(
                merged(
                    stream_records("s", 53, (0..150).map(|i| 1000 + i * 80)),
                    stream_records("o", 59, (0..150).map(|i| 1020 + i * 80)),
                ),
                stream_records("p", 61, (0..150).map(|i| 1040 + i * 80)),
            ),
        },
    ]
    .into_iter()
    .map(|mut scenario| {
        scenario.sql =
            Box::leak(format!("{SETTINGS}{stream}{table}{other}{}", scenario.sql).into_boxed_str());
        scenario
    })
    .collect()
}

/// Where the inputs' timestamps start: an hour ago, on a whole minute, so that the log's
/// retention (seven days) keeps every record when it is cleaned.
static EPOCH: std::sync::LazyLock<i64> = std::sync::LazyLock::new(|| {
    let hour_ago = chrono::Utc::now().timestamp_millis() - 3_600_000;
    hour_ago - hour_ago % 60_000
});

fn produce(store: &dyn TopicStore, inputs: &[Input]) {
    for (topic, key, value, ts) in inputs {
        let record = ProducerRecord {
            key: Some(key.as_bytes().to_vec()),
            value: value.as_ref().map(|v| v.as_bytes().to_vec()),
            timestamp: *EPOCH + *ts,
            ..Default::default()
        };
        store.produce(topic, vec![record]).expect("produced");
    }
}

fn start(store: &Arc<dyn TopicStore>) -> Engine {
    let mut engine = Engine::new(Arc::clone(store));
    engine.recover_from_command_topic().expect("recovered");
    engine
}

fn memory() -> Arc<dyn TopicStore> {
    Arc::new(MemoryTopicStore::new())
}

/// The log on disk with small segments, so that changelogs roll and compact.
fn disk(dir: &std::path::Path) -> Arc<dyn TopicStore> {
    let options = DiskOptions {
        segment_bytes: 4096,
        flush: FlushPolicy::Os,
    };
    Arc::new(DiskTopicStore::open(dir, options).expect("the log opens"))
}

/// Compacts (and applies retention to) every topic of the log on disk.
fn clean(dir: &std::path::Path) {
    let store = DiskTopicStore::open(
        dir,
        DiskOptions {
            segment_bytes: 4096,
            flush: FlushPolicy::Os,
        },
    )
    .expect("the log opens");
    store
        .clean(chrono::Utc::now().timestamp_millis())
        .expect("cleaned");
}

/// The output's records by key: each key's values and timestamps, in order.
type ByKey = BTreeMap<Vec<u8>, Vec<(Option<String>, i64)>>;

fn output(store: &dyn TopicStore, topic: &str) -> ByKey {
    let described = store.describe_topic(topic).expect("output");
    let mut by_key = ByKey::new();
    for (partition, start) in (0..).zip(described.start_offsets) {
        for r in fetch_to_end(store, topic, partition, start).expect("fetched") {
            let value = r.value.map(|v| String::from_utf8_lossy(&v).into_owned());
            by_key
                .entry(r.key.map(|k| k.to_vec()).unwrap_or_default())
                .or_default()
                .push((value, r.timestamp));
        }
    }
    by_key
}

fn latest(by_key: &ByKey) -> BTreeMap<Vec<u8>, Option<String>> {
    by_key
        .iter()
        .map(|(k, values)| (k.clone(), values.last().and_then(|(v, _)| v.clone())))
        .collect()
}

/// How the queries run: at least once, or exactly once (each commit one transaction).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Guarantee {
    AtLeastOnce,
    ExactlyOnce,
}

fn create_queries(engine: &mut Engine, scenario: &Scenario, guarantee: Guarantee) {
    if guarantee == Guarantee::ExactlyOnce {
        engine.set_property("processing.guarantee", "exactly_once_v2");
    }
    engine.execute_script(scenario.sql).expect("statements run");
}

fn straight_run(scenario: &Scenario, guarantee: Guarantee) -> ByKey {
    let store = memory();
    let mut engine = start(&store);
    create_queries(&mut engine, scenario, guarantee);
    produce(store.as_ref(), &scenario.inputs);
    engine.run_until_idle().expect("ran");
    engine.commit().expect("committed");
    output(store.as_ref(), scenario.output)
}

/// The log a run writes to.
#[derive(Clone, Copy)]
enum Log<'a> {
    Memory,
    /// On disk, reopened between the runs.
    Disk(&'a std::path::Path),
    /// On disk, reopened and compacted between the runs.
    Compacted(&'a std::path::Path),
}

/// Runs the first part of the inputs, stops (committing first, unless `crash`), and runs the
/// rest on a new engine.
fn interrupted_run(scenario: &Scenario, crash: bool, log: Log<'_>, guarantee: Guarantee) -> ByKey {
    let open = || match log {
        Log::Memory => memory(),
        Log::Disk(dir) | Log::Compacted(dir) => disk(dir),
    };
    let mut store = open();
    let (first, second) = scenario.inputs.split_at(scenario.inputs.len() / 2);
    let (first, uncommitted) = first.split_at(first.len() / 2);
    {
        let mut engine = start(&store);
        create_queries(&mut engine, scenario, guarantee);
        produce(store.as_ref(), first);
        engine.run_until_idle().expect("ran");
        engine.commit().expect("committed");
        produce(store.as_ref(), uncommitted);
        engine.run_until_idle().expect("ran");
        if !crash {
            engine.commit().expect("committed");
        }
    }
    match log {
        Log::Memory => {}
        Log::Disk(_) => {
            drop(store);
            store = open();
        }
        Log::Compacted(dir) => {
            drop(store);
            clean(dir);
            store = open();
        }
    }
    let mut engine = start(&store);
    produce(store.as_ref(), second);
    engine.run_until_idle().expect("ran after the restart");
    engine.commit().expect("committed");
    output(store.as_ref(), scenario.output)
}

#[test]
fn a_clean_restart_writes_what_one_run_writes() {
    for scenario in scenarios() {
        let expected = straight_run(&scenario, Guarantee::AtLeastOnce);
        assert!(!expected.is_empty(), "{}: no output", scenario.name);
        let actual = interrupted_run(&scenario, false, Log::Memory, Guarantee::AtLeastOnce);
        assert_eq!(actual, expected, "{}", scenario.name);
    }
}

#[test]
fn after_a_crash_every_key_ends_with_the_same_value() {
    for scenario in scenarios() {
        let expected = latest(&straight_run(&scenario, Guarantee::AtLeastOnce));
        let actual = latest(&interrupted_run(
            &scenario,
            true,
            Log::Memory,
            Guarantee::AtLeastOnce,
        ));
        assert_eq!(actual, expected, "{}", scenario.name);
    }
}

/// On the log on disk, reopened and cleaned between the runs: the changelogs (and the tables'
/// topics) are compacted, so only each key's latest value is compared.
#[test]
fn on_the_log_on_disk_restarts_after_compaction_end_with_the_same_values() {
    for scenario in scenarios() {
        let expected = latest(&straight_run(&scenario, Guarantee::AtLeastOnce));
        for crash in [false, true] {
            let dir = tempfile::tempdir().expect("a directory");
            let actual = latest(&interrupted_run(
                &scenario,
                crash,
                Log::Compacted(dir.path()),
                Guarantee::AtLeastOnce,
            ));
            assert_eq!(actual, expected, "{} (crash: {crash})", scenario.name);
        }
    }
}

/// Under exactly-once a crash repeats nothing: what the first engine processed after its last
/// commit was never written, so the restart writes each record once, and the whole output is
/// what one run writes, in memory and on disk.
#[test]
fn under_exactly_once_a_crash_writes_what_one_run_writes() {
    for scenario in scenarios() {
        let expected = straight_run(&scenario, Guarantee::ExactlyOnce);
        assert_eq!(
            expected,
            straight_run(&scenario, Guarantee::AtLeastOnce),
            "{}: exactly-once changes the output",
            scenario.name
        );
        let actual = interrupted_run(&scenario, true, Log::Memory, Guarantee::ExactlyOnce);
        assert_eq!(actual, expected, "{}", scenario.name);
        // On disk, without compaction between the runs, so every record is compared.
        let dir = tempfile::tempdir().expect("a directory");
        let actual = interrupted_run(
            &scenario,
            true,
            Log::Disk(dir.path()),
            Guarantee::ExactlyOnce,
        );
        assert_eq!(actual, expected, "{} (on disk)", scenario.name);
    }
}
