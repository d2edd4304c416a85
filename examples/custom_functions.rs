//! User-defined functions: a scalar function, an aggregate and a table function written in
//! Rust, registered, and called from SQL.
//!
//! Run it with `cargo run --example custom_functions`.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result as DfResult, ScalarValue};
use sluice::engine::Engine;
use sluice::functions::aggregate::{
    Accumulator, AggResult, AggregateFunction, AggregateOverload, same,
};
use sluice::functions::table::{TableFunction, TableOverload};
use sluice::functions::{Overload, ScalarFunction, Signature};
use sluice::topics::{MemoryTopicStore, fetch_to_end};
use sluice::types::SqlType;

/// REVERSE(s): the string backwards. A kernel works on whole arrays.
fn reverse(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let out: StringArray = args[0]
        .as_string::<i32>()
        .iter()
        .map(|s| s.map(|s| s.chars().rev().collect::<String>()))
        .collect();
    Ok(Arc::new(out))
}

/// PRODUCT(x): the product of a group's values; it can undo, so tables can use it too.
#[derive(Debug, Clone)]
struct Product(i64);

impl Accumulator for Product {
    fn add(&mut self, args: &[ScalarValue]) -> AggResult<()> {
        if let ScalarValue::Int64(Some(v)) = &args[0] {
            self.0 = self.0.wrapping_mul(*v);
        }
        Ok(())
    }
    fn undo(&mut self, args: &[ScalarValue]) -> AggResult<()> {
        match &args[0] {
            ScalarValue::Int64(Some(0)) => Err("cannot undo a product by zero".to_string()),
            ScalarValue::Int64(Some(v)) => {
                self.0 /= v;
                Ok(())
            }
            _ => Ok(()),
        }
    }
    fn merge(&mut self, other: &dyn Accumulator) -> AggResult<()> {
        self.0 = self.0.wrapping_mul(same::<Product>(other)?.0);
        Ok(())
    }
    fn value(&self) -> ScalarValue {
        ScalarValue::Int64(Some(self.0))
    }
    sluice::accumulator_boilerplate!();
}

/// CHARS(s): one row per character.
fn chars(args: &[ScalarValue], _: &Signature) -> Result<Vec<ScalarValue>, String> {
    match &args[0] {
        ScalarValue::Utf8(Some(s)) => Ok(s
            .chars()
            .map(|c| ScalarValue::Utf8(Some(c.to_string())))
            .collect()),
        _ => Ok(Vec::new()),
    }
}

/// Registers the three functions.
pub fn register() {
    sluice::functions::register_scalar(ScalarFunction {
        name: "REVERSE",
        category: "STRING",
        description: "Returns the string backwards.",
        overloads: vec![Overload::fixed(
            &[SqlType::String],
            SqlType::String,
            reverse,
        )],
    });
    sluice::functions::register_aggregate(AggregateFunction {
        name: "PRODUCT",
        description: "Multiplies the values of a column.",
        overloads: vec![AggregateOverload::fixed(
            &[SqlType::Bigint],
            SqlType::Bigint,
            |_| Ok(Box::new(Product(1))),
        )],
        supports_undo: true,
        // The state is the result type itself.
        intermediate: None,
    });
    sluice::functions::register_table(TableFunction {
        name: "CHARS",
        description: "Outputs one row per character of a string.",
        overloads: vec![TableOverload {
            display: "STRING s",
            resolve: |args| match args {
                [Some(SqlType::String)] => Some(Signature {
                    params: vec![SqlType::String],
                    returns: SqlType::String,
                }),
                _ => None,
            },
            expand: chars,
        }],
    });
}

fn main() {
    register();
    let store = Arc::new(MemoryTopicStore::new());
    let mut engine = Engine::new(store.clone());
    let script = "
        CREATE STREAM words (id BIGINT KEY, word STRING, n BIGINT)
            WITH (kafka_topic='words', value_format='JSON', partitions=1);
        CREATE STREAM reversed AS SELECT id, REVERSE(word) AS backwards FROM words;
        CREATE TABLE products AS SELECT word, PRODUCT(n) AS p FROM words GROUP BY word;
        CREATE STREAM letters AS SELECT id, CHARS(word) AS letter FROM words;
        INSERT INTO words (id, word, n) VALUES (1, 'abc', 2);
        INSERT INTO words (id, word, n) VALUES (2, 'abc', 5);
    ";
    if let Err((i, e)) = engine.execute_script(script) {
        eprintln!("statement {} failed: {e}", i + 1);
        std::process::exit(1);
    }
    if let Err(e) = engine.run_until_idle() {
        eprintln!("{e}");
        std::process::exit(1);
    }
    for topic in ["REVERSED", "PRODUCTS", "LETTERS"] {
        let records = fetch_to_end(store.as_ref(), topic, 0, 0).unwrap_or_default();
        for r in records {
            println!(
                "{topic}: {}",
                String::from_utf8_lossy(&r.value.unwrap_or_default())
            );
        }
    }
}
