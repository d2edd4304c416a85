//! The statement fuzzer: statements generated from the grammar (queries, CREATE … AS SELECT,
//! INSERT, DDL, SHOW/DESCRIBE/EXPLAIN, DROP, TERMINATE) and mutations of them (characters cut,
//! repeated, swapped or thrown in) go through parse, plan and execution, then the queries they
//! started run. None may panic or take longer than a bound; a refused one is an error like any
//! other. Seeded: a failure names its seed and statement, and `SLUICE_FUZZ_SEED` replays it.

mod support;

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice::engine::Engine;
use sluice::engine::transient::QueryKind;
use sluice::topics::MemoryTopicStore;
use support::Rng;

/// Statements per run.
const STATEMENTS: usize = 100_000;
/// The longest any one statement may take (an unoptimised build, on a loaded machine).
const BOUND: Duration = Duration::from_secs(10);

const COLUMNS: &[&str] = &["I", "B", "D", "S", "DEC", "BO", "ARR", "M", "ST", "TS", "K"];
const FUNCTIONS: &[&str] = &[
    "ABS",
    "CEIL",
    "FLOOR",
    "ROUND",
    "SQRT",
    "LN",
    "EXP",
    "POWER",
    "SIGN",
    "RANDOM",
    "GREATEST",
    "LEAST",
    "LEN",
    "UCASE",
    "LCASE",
    "TRIM",
    "SUBSTRING",
    "CONCAT",
    "CONCAT_WS",
    "REPLACE",
    "INSTR",
    "SPLIT",
    "LPAD",
    "RPAD",
    "REGEXP_EXTRACT",
    "REGEXP_REPLACE",
    "MASK",
    "INITCAP",
    "COALESCE",
    "IFNULL",
    "NULLIF",
    "ARRAY_LENGTH",
    "ARRAY_MAX",
    "ARRAY_MIN",
    "ARRAY_SORT",
    "ARRAY_DISTINCT",
    "ARRAY_CONCAT",
    "ARRAY_CONTAINS",
    "ARRAY_JOIN",
    "SLICE",
    "MAP_KEYS",
    "MAP_VALUES",
    "AS_MAP",
    "ELT",
    "FIELD",
    "CHR",
    "ENCODE",
    "FROM_UNIXTIME",
    "UNIX_TIMESTAMP",
    "TIMESTAMPTOSTRING",
    "STRINGTOTIMESTAMP",
    "PARSE_TIMESTAMP",
    "FORMAT_TIMESTAMP",
    "DATEADD",
    "TIMESTAMPADD",
    "TO_BYTES",
    "FROM_BYTES",
    "JSON_RECORDS",
    "EXTRACTJSONFIELD",
    "TRANSFORM",
    "FILTER",
    "REDUCE",
    "GENERATE_SERIES",
    "ENTRIES",
    "URL_EXTRACT_HOST",
    "NOW",
];
const AGGREGATES: &[&str] = &[
    "COUNT",
    "SUM",
    "MIN",
    "MAX",
    "AVG",
    "TOPK",
    "COLLECT_LIST",
    "COLLECT_SET",
    "LATEST_BY_OFFSET",
    "EARLIEST_BY_OFFSET",
    "HISTOGRAM",
    "STDDEV_SAMP",
    "COUNT_DISTINCT",
];
const TYPES: &[&str] = &[
    "INT",
    "BIGINT",
    "DOUBLE",
    "STRING",
    "BOOLEAN",
    "DECIMAL(4, 2)",
    "DECIMAL(38, 0)",
    "ARRAY<INT>",
    "MAP<STRING, DOUBLE>",
    "STRUCT<A INT>",
    "TIMESTAMP",
    "DATE",
    "TIME",
    "BYTES",
];
const LITERALS: &[&str] = &[
    "0",
    "1",
    "-1",
    "2147483647",
    "-2147483648",
    "2147483648",
    "9223372036854775807",
    "-9223372036854775808",
    "99999999999999999999",
    "0.0",
    "-0.0",
    "1.5",
    "1e308",
    "1e-308",
    "123456789012345678901234567890.123",
    "'a'",
    "''",
    "'%'",
    "'2020-01-01'",
    "'x''y'",
    "NULL",
    "TRUE",
    "FALSE",
    "ARRAY[]",
    "MAP()",
    "TIMESTAMP '2020-01-01T00:00:00'",
];
const OPERATORS: &[&str] = &[
    "+", "-", "*", "/", "%", "||", "=", "<>", "<", ">", "<=", ">=", "AND", "OR",
];

fn expression(rng: &mut Rng, depth: usize) -> String {
    if depth == 0 {
        return if rng.below(2) == 0 {
            rng.pick(COLUMNS).to_string()
        } else {
            rng.pick(LITERALS).to_string()
        };
    }
    let d = depth - 1;
    match rng.below(16) {
        0 | 1 => rng.pick(COLUMNS).to_string(),
        2 => rng.pick(LITERALS).to_string(),
        3 | 4 => format!(
            "{} {} {}",
            expression(rng, d),
            rng.pick(OPERATORS),
            expression(rng, d)
        ),
        5 => format!("NOT {}", expression(rng, d)),
        6 => format!("-{}", expression(rng, d)),
        7 | 8 => {
            let args: Vec<String> = (0..rng.below(4)).map(|_| expression(rng, d)).collect();
            format!("{}({})", rng.pick(FUNCTIONS), args.join(", "))
        }
        9 => format!(
            "CASE WHEN {} THEN {} ELSE {} END",
            expression(rng, d),
            expression(rng, d),
            expression(rng, d)
        ),
        10 => format!("CAST({} AS {})", expression(rng, d), rng.pick(TYPES)),
        11 => format!(
            "{} BETWEEN {} AND {}",
            expression(rng, d),
            expression(rng, d),
            expression(rng, d)
        ),
        12 => format!(
            "{} IN ({}, {})",
            expression(rng, d),
            expression(rng, d),
            expression(rng, d)
        ),
        13 => rng
            .pick(&[
                "ARR[1]",
                "ARR[-1]",
                "ARR[0]",
                "ARR[2147483647]",
                "M['k']",
                "ST->A",
                "ST->B",
            ])
            .to_string(),
        14 => format!(
            "TRANSFORM(ARR, x => {})",
            expression(rng, d).replace("I", "x")
        ),
        _ => format!("{} IS NULL", expression(rng, d)),
    }
}

/// A statement from the grammar, over the sources `S` (a stream) and `T` (a table).
fn statement(rng: &mut Rng, n: usize) -> String {
    let e = |rng: &mut Rng| {
        let depth = rng.below(4);
        expression(rng, depth)
    };
    match rng.below(14) {
        0..=2 => format!(
            "SELECT {}, {} AS X FROM S WHERE {};",
            e(rng),
            e(rng),
            e(rng)
        ),
        3 => format!("SELECT * FROM T WHERE K = {};", e(rng)),
        4 => format!(
            "CREATE STREAM X{n} AS SELECT {} AS A, {} AS B FROM S WHERE {};",
            e(rng),
            e(rng),
            e(rng)
        ),
        5 => format!(
            "CREATE TABLE Y{n} AS SELECT {} AS G, {}({}) AS V FROM S {}GROUP BY {};",
            e(rng),
            rng.pick(AGGREGATES),
            e(rng),
            rng.pick(&[
                "",
                "WINDOW TUMBLING (SIZE 1 SECOND) ",
                "WINDOW HOPPING (SIZE 10 SECONDS, ADVANCE BY 5 SECONDS) ",
                "WINDOW SESSION (30 SECONDS) ",
            ]),
            e(rng)
        ),
        6 => format!(
            "CREATE STREAM J{n} AS SELECT S.K, {} AS A FROM S {} JOIN T ON S.K = T.K;",
            e(rng),
            rng.pick(&["", "LEFT"])
        ),
        7 | 8 => format!(
            "INSERT INTO S (K, I, B, D, S, DEC, BO, ARR, M, ST) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {});",
            e(rng),
            e(rng),
            e(rng),
            e(rng),
            e(rng),
            e(rng),
            e(rng),
            e(rng),
            e(rng),
            e(rng)
        ),
        9 => format!(
            "CREATE STREAM Z{n} (K STRING KEY, V {}) WITH (kafka_topic='z{n}', value_format='{}', partitions={});",
            rng.pick(TYPES),
            rng.pick(&[
                "JSON",
                "AVRO",
                "PROTOBUF",
                "DELIMITED",
                "KAFKA",
                "JSON_SR",
                "NONE",
                "XML"
            ]),
            rng.pick(&["1", "2", "0", "-1"])
        ),
        10 => rng
            .pick(&[
                "SHOW STREAMS;",
                "SHOW TABLES EXTENDED;",
                "SHOW QUERIES;",
                "SHOW TOPICS;",
                "SHOW PROPERTIES;",
                "SHOW FUNCTIONS;",
                "DESCRIBE S EXTENDED;",
                "DESCRIBE T;",
                "DESCRIBE FUNCTION SUBSTRING;",
                "LIST TYPES;",
            ])
            .to_string(),
        11 => rng
            .pick(&[
                "TERMINATE ALL;",
                "DROP STREAM IF EXISTS X1;",
                "DROP TABLE IF EXISTS Y2 DELETE TOPIC;",
            ])
            .to_string(),
        12 => format!("EXPLAIN SELECT {} FROM S;", e(rng)),
        _ => format!(
            "SET '{}'='{}';",
            rng.pick(&[
                "auto.offset.reset",
                "ksql.streams.cache.max.bytes.buffering",
                "processing.guarantee",
                "nonsense"
            ]),
            rng.pick(&["earliest", "0", "-1", "exactly_once_v2", "x"])
        ),
    }
}

/// A statement with characters cut, repeated, swapped or thrown in.
fn mutate(rng: &mut Rng, text: &str) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for _ in 0..=rng.below(3) {
        if chars.is_empty() {
            break;
        }
        let at = rng.below(chars.len());
        match rng.below(5) {
            0 => {
                let end = (at + rng.below(8) + 1).min(chars.len());
                chars.drain(at..end);
            }
            1 => {
                let end = (at + rng.below(8) + 1).min(chars.len());
                let piece: Vec<char> = chars[at..end].to_vec();
                chars.splice(at..at, piece);
            }
            2 => {
                let other = rng.below(chars.len());
                chars.swap(at, other);
            }
            3 => {
                let thrown = "()[],;'\"`*+-/<>=!@#$%^&{}|\\:.~?\n\t€0xZ"
                    .chars()
                    .collect::<Vec<_>>();
                chars.insert(at, thrown[rng.below(thrown.len())]);
            }
            _ => chars.truncate(at),
        }
    }
    chars.into_iter().collect()
}

fn fresh_engine() -> Engine {
    let mut engine = Engine::new(Arc::new(MemoryTopicStore::new()));
    engine.set_property("auto.offset.reset", "earliest");
    engine
        .execute_script(
            "CREATE STREAM S (K STRING KEY, I INT, B BIGINT, D DOUBLE, S STRING, DEC DECIMAL(10, 2), BO BOOLEAN, ARR ARRAY<INT>, M MAP<STRING, INT>, ST STRUCT<A INT, B STRING>, TS TIMESTAMP) WITH (kafka_topic='s', value_format='JSON', partitions=1);\n\
             CREATE TABLE T (K STRING PRIMARY KEY, V INT) WITH (kafka_topic='t', value_format='JSON', partitions=1);\n\
             INSERT INTO S (K, I, B, D, S, DEC, BO, ARR, M, ST) VALUES ('a', 1, 2, 3.5, 'x', 1.25, true, ARRAY[1, NULL], MAP('k' := 1), STRUCT(A := 1, B := 'b'));\n\
             INSERT INTO T (K, V) VALUES ('a', 1);",
        )
        .expect("the fixture runs");
    engine
}

/// Runs one statement as the server would: queries planned and answered, the rest executed.
/// Returns whether it ran.
fn run(engine: &mut Engine, text: &str) -> bool {
    if text.trim_start().to_uppercase().starts_with("SELECT") {
        match engine.parse_query(text, &BTreeMap::new()) {
            Ok(QueryKind::Pull(query)) => engine.pull_query(&query, text, &BTreeMap::new()).is_ok(),
            Ok(_) | Err(_) => false,
        }
    } else {
        engine.execute_script(text).is_ok()
    }
}

#[test]
fn no_statement_panics_or_hangs() {
    let seed: u64 = std::env::var("SLUICE_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0xF00D_5EED);
    // On a thread with the server's stack, as statements run in the server.
    std::thread::Builder::new()
        .stack_size(sluice::sql::THREAD_STACK_BYTES)
        .spawn(move || {
            let mut rng = Rng::new(seed);
            let mut engine = fresh_engine();
            let mut ran = 0usize;
            for n in 0..STATEMENTS {
                let generated = statement(&mut rng, n);
                let text = if rng.below(2) == 0 {
                    generated
                } else {
                    mutate(&mut rng, &generated)
                };
                let started = Instant::now();
                let outcome = catch_unwind(AssertUnwindSafe(|| {
                    let ok = run(&mut engine, &text);
                    if n % 50 == 0 {
                        let _ = engine.run_until_idle();
                    }
                    ok
                }));
                match outcome {
                    Ok(ok) => ran += usize::from(ok),
                    Err(_) => panic!("seed {seed}, statement {n} panicked: {text}"),
                }
                assert!(
                    started.elapsed() < BOUND,
                    "seed {seed}, statement {n} took {:?}: {text}",
                    started.elapsed()
                );
                // A fresh catalog now and then, so that queries do not pile up.
                if n % 2_000 == 1_999 {
                    engine = fresh_engine();
                }
            }
            // The generator reaches planning and execution, not only the parser's errors.
            eprintln!("{STATEMENTS} statements, {ran} ran, the rest were refused");
            assert!(ran > STATEMENTS / 10, "only {ran} statements ran");
        })
        .expect("a thread")
        .join()
        .expect("the fuzzer ran");
}
