//! User-defined functions: registered in Rust, called from SQL, listed by SHOW FUNCTIONS.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, Int64Array};
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::common::{Result as DfResult, ScalarValue};
use sluice::engine::{Engine, Listing, Outcome};
use sluice::functions::aggregate::{
    Accumulator, AggResult, AggregateFunction, AggregateOverload, same,
};
use sluice::functions::table::{TableFunction, TableOverload};
use sluice::functions::{Overload, ScalarFunction, Signature};
use sluice::topics::{MemoryTopicStore, TopicStore};
use sluice::types::SqlType;

fn triple(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let out: Int64Array = args[0]
        .as_primitive::<Int64Type>()
        .iter()
        .map(|v| v.map(|v| v * 3))
        .collect();
    Ok(Arc::new(out))
}

#[derive(Debug, Clone)]
struct Longest(Option<String>);

impl Accumulator for Longest {
    fn add(&mut self, args: &[ScalarValue]) -> AggResult<()> {
        if let ScalarValue::Utf8(Some(s)) = &args[0]
            && self.0.as_ref().is_none_or(|l| s.len() > l.len())
        {
            self.0 = Some(s.clone());
        }
        Ok(())
    }
    fn undo(&mut self, _: &[ScalarValue]) -> AggResult<()> {
        Err("LONGEST cannot undo".to_string())
    }
    fn merge(&mut self, other: &dyn Accumulator) -> AggResult<()> {
        if let Some(s) = &same::<Longest>(other)?.0 {
            self.add(&[ScalarValue::Utf8(Some(s.clone()))])?;
        }
        Ok(())
    }
    fn value(&self) -> ScalarValue {
        ScalarValue::Utf8(self.0.clone())
    }
    sluice::accumulator_boilerplate!();
}

fn register() {
    sluice::functions::register_scalar(ScalarFunction {
        name: "TRIPLE",
        category: "MATHEMATICAL",
        description: "Multiplies by three.",
        overloads: vec![Overload::fixed(&[SqlType::Bigint], SqlType::Bigint, triple)],
    });
    sluice::functions::register_aggregate(AggregateFunction {
        name: "LONGEST",
        description: "The longest string of a group.",
        overloads: vec![AggregateOverload::fixed(
            &[SqlType::String],
            SqlType::String,
            |_| Ok(Box::new(Longest(None))),
        )],
        supports_undo: false,
        intermediate: None,
    });
    sluice::functions::register_table(TableFunction {
        name: "REPEAT_ROW",
        description: "Outputs the value n times.",
        overloads: vec![TableOverload {
            display: "STRING s, BIGINT n",
            resolve: |args| match args {
                [Some(SqlType::String), Some(SqlType::Bigint | SqlType::Int)] => Some(Signature {
                    params: vec![SqlType::String, SqlType::Bigint],
                    returns: SqlType::String,
                }),
                _ => None,
            },
            expand: |args, _| match (&args[0], &args[1]) {
                (s, ScalarValue::Int64(Some(n))) => Ok(vec![s.clone(); (*n).max(0) as usize]),
                _ => Ok(Vec::new()),
            },
        }],
    });
}

fn values(store: &dyn TopicStore, topic: &str) -> Vec<String> {
    let records = all_records(store, topic);
    records
        .into_iter()
        .map(|r| String::from_utf8(r.value.unwrap().to_vec()).unwrap())
        .collect()
}

#[test]
fn user_defined_functions_run_in_queries_and_are_listed() {
    register();
    let store = Arc::new(MemoryTopicStore::new());
    let mut engine = Engine::new(store.clone());
    engine
        .execute_script(
            "CREATE STREAM s (id BIGINT KEY, word STRING, n BIGINT) WITH (kafka_topic='s', value_format='JSON', partitions=1);
             CREATE STREAM tripled AS SELECT id, TRIPLE(n) AS t FROM s;
             CREATE TABLE longest AS SELECT id, LONGEST(word) AS w FROM s GROUP BY id;
             CREATE STREAM repeated AS SELECT id, REPEAT_ROW(word, n) AS r FROM s;
             INSERT INTO s (id, word, n) VALUES (1, 'ab', 2);
             INSERT INTO s (id, word, n) VALUES (1, 'abcd', 1);",
        )
        .unwrap();
    engine.run_until_idle().unwrap();
    assert_eq!(
        values(store.as_ref(), "TRIPLED"),
        [r#"{"T":6}"#, r#"{"T":3}"#]
    );
    assert_eq!(
        values(store.as_ref(), "LONGEST"),
        [r#"{"W":"ab"}"#, r#"{"W":"abcd"}"#]
    );
    assert_eq!(
        values(store.as_ref(), "REPEATED"),
        [r#"{"R":"ab"}"#, r#"{"R":"ab"}"#, r#"{"R":"abcd"}"#]
    );

    let listed = engine.execute_script("SHOW FUNCTIONS;").unwrap();
    let Outcome::Listing(Listing::Functions(functions)) = &listed[0] else {
        panic!("SHOW FUNCTIONS gives a listing of functions")
    };
    let names: Vec<&str> = functions.iter().map(|f| f.name.as_str()).collect();
    for name in [
        "TRIPLE",
        "LONGEST",
        "REPEAT_ROW",
        "SUBSTRING",
        "COUNT",
        "EXPLODE",
    ] {
        assert!(names.contains(&name), "{name} is not listed");
    }
    let described = engine.execute_script("DESCRIBE FUNCTION triple;").unwrap();
    let Outcome::Listing(Listing::Function(described)) = &described[0] else {
        panic!("DESCRIBE FUNCTION gives a function's description")
    };
    assert_eq!(described.name, "TRIPLE");
    assert_eq!(described.overloads[0].returns, "BIGINT");
}

/// Every record of a topic, partition by partition.
fn all_records(store: &dyn TopicStore, topic: &str) -> Vec<sluice::topics::Record> {
    let partitions = store.describe_topic(topic).unwrap().config.partitions;
    (0..partitions)
        .flat_map(|p| sluice::topics::fetch_to_end(store, topic, p, 0).unwrap())
        .collect()
}
