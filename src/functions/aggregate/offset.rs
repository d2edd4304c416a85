//! EARLIEST_BY_OFFSET and LATEST_BY_OFFSET: the first or last value(s) of a group in offset
//! order, skipping nulls unless told not to.

use std::collections::VecDeque;

use datafusion::common::ScalarValue;

use super::{Accumulator, AggResult, AggregateContext, AggregateFunction, AggregateOverload, same};
use crate::accumulator_boilerplate;
use crate::functions::registry::Signature;
use crate::types::SqlType;

fn single(args: &[Option<SqlType>]) -> Option<Signature> {
    match args {
        [Some(t)] => Some(Signature {
            params: vec![t.clone()],
            returns: t.clone(),
        }),
        _ => None,
    }
}

fn several(args: &[Option<SqlType>]) -> Option<Signature> {
    match args {
        [Some(t)] => Some(Signature {
            params: vec![t.clone()],
            returns: SqlType::Array(Box::new(t.clone())),
        }),
        _ => None,
    }
}

/// Reads the constant arguments: `(n)`, `(ignoreNulls)` or `(n, ignoreNulls)`.
fn options(ctx: &AggregateContext) -> AggResult<(Option<usize>, bool)> {
    let mut n = None;
    let mut ignore_nulls = true;
    for lit in &ctx.literals {
        match lit {
            ScalarValue::Int32(Some(v)) if *v > 0 => n = Some(*v as usize),
            ScalarValue::Int64(Some(v)) if *v > 0 => n = Some(*v as usize),
            ScalarValue::Int32(Some(_)) | ScalarValue::Int64(Some(_)) => {
                return Err("earliestN/latestN must be called with a positive number".to_string());
            }
            ScalarValue::Boolean(Some(b)) => ignore_nulls = *b,
            other => return Err(format!("Unexpected argument {other}")),
        }
    }
    Ok((n, ignore_nulls))
}

fn make(ctx: &AggregateContext, latest: bool) -> AggResult<Box<dyn Accumulator>> {
    let (n, ignore_nulls) = options(ctx)?;
    Ok(Box::new(ByOffset {
        latest,
        n,
        ignore_nulls,
        values: VecDeque::new(),
        item: ctx.signature.params[0].clone(),
    }))
}

fn earliest(ctx: &AggregateContext) -> AggResult<Box<dyn Accumulator>> {
    make(ctx, false)
}

fn latest(ctx: &AggregateContext) -> AggResult<Box<dyn Accumulator>> {
    make(ctx, true)
}

fn overloads(is_latest: bool) -> Vec<AggregateOverload> {
    let factory: super::Factory = if is_latest { latest } else { earliest };
    vec![
        AggregateOverload::generic("T val", single, factory),
        AggregateOverload::generic("T val, BOOLEAN ignoreNulls", single, factory)
            .with_literals(&[SqlType::Boolean]),
        AggregateOverload::generic("T val, INTEGER n", several, factory)
            .with_literals(&[SqlType::Int]),
        AggregateOverload::generic("T val, INTEGER n, BOOLEAN ignoreNulls", several, factory)
            .with_literals(&[SqlType::Int, SqlType::Boolean]),
    ]
}

pub fn earliest_by_offset() -> AggregateFunction {
    AggregateFunction {
        name: "EARLIEST_BY_OFFSET",
        description: "Returns the earliest value(s) of a column, by offset.",
        overloads: overloads(false),
        supports_undo: false,
    }
}

pub fn latest_by_offset() -> AggregateFunction {
    AggregateFunction {
        name: "LATEST_BY_OFFSET",
        description: "Returns the latest value(s) of a column, by offset.",
        overloads: overloads(true),
        supports_undo: false,
    }
}

#[derive(Debug, Clone)]
struct ByOffset {
    latest: bool,
    /// How many values to keep; `None` returns a single value rather than an array.
    n: Option<usize>,
    ignore_nulls: bool,
    values: VecDeque<ScalarValue>,
    item: SqlType,
}

impl Accumulator for ByOffset {
    fn add(&mut self, args: &[ScalarValue]) -> AggResult<()> {
        let v = &args[0];
        if v.is_null() && self.ignore_nulls {
            return Ok(());
        }
        let keep = self.n.unwrap_or(1);
        if self.latest {
            self.values.push_back(v.clone());
            while self.values.len() > keep {
                self.values.pop_front();
            }
        } else if self.values.len() < keep {
            self.values.push_back(v.clone());
        }
        Ok(())
    }
    fn undo(&mut self, _: &[ScalarValue]) -> AggResult<()> {
        Err("EARLIEST_BY_OFFSET and LATEST_BY_OFFSET cannot undo".to_string())
    }
    fn merge(&mut self, other: &dyn Accumulator) -> AggResult<()> {
        for v in same::<ByOffset>(other)?.values.clone() {
            self.add(&[v])?;
        }
        Ok(())
    }
    fn value(&self) -> ScalarValue {
        let item = self.item.to_arrow();
        let typed = |v: &ScalarValue| {
            if v.is_null() {
                ScalarValue::try_from(&item).unwrap_or(ScalarValue::Null)
            } else {
                v.clone()
            }
        };
        match self.n {
            None => self
                .values
                .front()
                .map(typed)
                .unwrap_or_else(|| ScalarValue::try_from(&item).unwrap_or(ScalarValue::Null)),
            Some(_) => ScalarValue::List(ScalarValue::new_list_nullable(
                &self.values.iter().map(typed).collect::<Vec<_>>(),
                &item,
            )),
        }
    }
    accumulator_boilerplate!();
}
