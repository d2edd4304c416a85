//! COLLECT_LIST(col) and COLLECT_SET(col): the values of a group as an array.

use datafusion::common::ScalarValue;

use super::{Accumulator, AggResult, AggregateContext, AggregateFunction, AggregateOverload, same};
use crate::accumulator_boilerplate;
use crate::functions::registry::Signature;
use crate::types::SqlType;

/// How many values a collection keeps unless configured otherwise.
const DEFAULT_LIMIT: usize = 1000;

fn array_of(args: &[Option<SqlType>]) -> Option<Signature> {
    match args {
        [Some(t)] => Some(Signature {
            params: vec![t.clone()],
            returns: SqlType::Array(Box::new(t.clone())),
        }),
        _ => None,
    }
}

fn limit(ctx: &AggregateContext, property: &str) -> usize {
    ctx.properties
        .get(property)
        .and_then(|v| v.parse::<i64>().ok())
        .map(|v| if v < 0 { usize::MAX } else { v as usize })
        .unwrap_or(DEFAULT_LIMIT)
}

pub fn collect_list() -> AggregateFunction {
    AggregateFunction {
        name: "COLLECT_LIST",
        description: "Gathers all the values of a column into an array, in arrival order.",
        overloads: vec![AggregateOverload::generic("T val", array_of, |ctx| {
            Ok(Box::new(Collect {
                values: Vec::new(),
                distinct: false,
                limit: limit(ctx, "ksql.functions.collect_list.limit"),
                item: ctx.signature.params[0].clone(),
            }))
        })],
        supports_undo: true,
    }
}

pub fn collect_set() -> AggregateFunction {
    AggregateFunction {
        name: "COLLECT_SET",
        description: "Gathers the distinct values of a column into an array.",
        overloads: vec![AggregateOverload::generic("T val", array_of, |ctx| {
            Ok(Box::new(Collect {
                values: Vec::new(),
                distinct: true,
                limit: limit(ctx, "ksql.functions.collect_set.limit"),
                item: ctx.signature.params[0].clone(),
            }))
        })],
        supports_undo: true,
    }
}

#[derive(Debug, Clone)]
struct Collect {
    values: Vec<ScalarValue>,
    distinct: bool,
    limit: usize,
    item: SqlType,
}

impl Accumulator for Collect {
    fn add(&mut self, args: &[ScalarValue]) -> AggResult<()> {
        let v = &args[0];
        if self.values.len() >= self.limit || (self.distinct && self.values.contains(v)) {
            return Ok(());
        }
        self.values.push(v.clone());
        Ok(())
    }
    fn undo(&mut self, args: &[ScalarValue]) -> AggResult<()> {
        if let Some(i) = self.values.iter().position(|x| x == &args[0]) {
            self.values.remove(i);
        }
        Ok(())
    }
    fn merge(&mut self, other: &dyn Accumulator) -> AggResult<()> {
        for v in same::<Collect>(other)?.values.clone() {
            self.add(&[v])?;
        }
        Ok(())
    }
    fn value(&self) -> ScalarValue {
        ScalarValue::List(ScalarValue::new_list_nullable(
            &self
                .values
                .iter()
                .map(|v| {
                    if v.is_null() {
                        ScalarValue::try_from(&self.item.to_arrow()).unwrap_or(ScalarValue::Null)
                    } else {
                        v.clone()
                    }
                })
                .collect::<Vec<_>>(),
            &self.item.to_arrow(),
        ))
    }
    accumulator_boilerplate!();
}
