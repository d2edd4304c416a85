//! COLLECT_LIST(col) and COLLECT_SET(col): the values of a group (nulls included) as an
//! array, in arrival order. Their sizes are limited by the properties
//! `ksql.functions.collect_list.limit` and `ksql.functions.collect_set.limit` (unlimited when
//! unset or negative); values beyond the limit are dropped. COLLECT_LIST can undo (removing
//! the last occurrence of the value), so it aggregates tables; COLLECT_SET can't.

use datafusion::common::ScalarValue;

use super::{
    Accumulator, AggResult, AggregateContext, AggregateFunction, AggregateOverload, java_equals,
    list_value, same,
};
use crate::accumulator_boilerplate;
use crate::functions::registry::Signature;
use crate::types::SqlType;

/// How many values a collection keeps unless configured otherwise: no limit.
const DEFAULT_LIMIT: usize = i32::MAX as usize;

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
        // An INT, as ksqlDB's config declares it: a value outside one is no limit given.
        .and_then(|v| v.trim().parse::<i32>().ok())
        .map(|v| usize::try_from(v).unwrap_or(DEFAULT_LIMIT))
        .unwrap_or(DEFAULT_LIMIT)
}

pub fn collect_list() -> AggregateFunction {
    AggregateFunction {
        name: "COLLECT_LIST",
        description: "Gather all of the values from an input grouping into a single Array field.",
        overloads: vec![AggregateOverload::generic("T val", array_of, |ctx| {
            Ok(Box::new(Collect {
                values: Vec::new(),
                distinct: false,
                limit: limit(ctx, "ksql.functions.collect_list.limit"),
                item: ctx.signature.params[0].clone(),
            }))
        })],
        supports_undo: true,
        intermediate: None,
    }
}

pub fn collect_set() -> AggregateFunction {
    AggregateFunction {
        name: "COLLECT_SET",
        description: "Gather all of the distinct values from an input grouping into a single Array.",
        overloads: vec![AggregateOverload::generic("T val", array_of, |ctx| {
            Ok(Box::new(Collect {
                values: Vec::new(),
                distinct: true,
                limit: limit(ctx, "ksql.functions.collect_set.limit"),
                item: ctx.signature.params[0].clone(),
            }))
        })],
        supports_undo: false,
        intermediate: None,
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
        if self.values.len() >= self.limit
            || (self.distinct && self.values.iter().any(|x| java_equals(x, v)))
        {
            return Ok(());
        }
        self.values.push(v.clone());
        Ok(())
    }
    fn undo(&mut self, args: &[ScalarValue]) -> AggResult<()> {
        if let Some(i) = self.values.iter().rposition(|x| java_equals(x, &args[0])) {
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
        list_value(&self.item, &self.values)
    }
    accumulator_boilerplate!(values);
}
