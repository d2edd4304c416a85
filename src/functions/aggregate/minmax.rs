//! MIN(col) and MAX(col): nulls are skipped; null until a value arrives. Values compare as
//! ksqlDB's Java `compareTo` does (see [`java_cmp`]); on a tie the value kept is the earlier.

use std::cmp::Ordering;

use datafusion::common::ScalarValue;

use super::{Accumulator, AggResult, AggregateFunction, AggregateOverload, java_cmp, same};
use crate::accumulator_boilerplate;
use crate::functions::registry::Signature;
use crate::types::SqlType;

fn comparable(t: &SqlType) -> bool {
    t.is_numeric()
        || matches!(
            t,
            SqlType::String | SqlType::Date | SqlType::Time | SqlType::Timestamp | SqlType::Bytes
        )
}

fn function(name: &'static str, description: &'static str, keep: Ordering) -> AggregateFunction {
    let factory = match keep {
        Ordering::Greater => |_: &super::AggregateContext| -> AggResult<Box<dyn Accumulator>> {
            Ok(Box::new(Extreme {
                keep: Ordering::Greater,
                current: None,
            }))
        },
        _ => |_: &super::AggregateContext| -> AggResult<Box<dyn Accumulator>> {
            Ok(Box::new(Extreme {
                keep: Ordering::Less,
                current: None,
            }))
        },
    };
    AggregateFunction {
        name,
        description,
        overloads: vec![AggregateOverload::generic(
            "T val",
            |args| match args {
                [Some(t)] if comparable(t) => Some(Signature {
                    params: vec![t.clone()],
                    returns: t.clone(),
                }),
                _ => None,
            },
            factory,
        )],
        supports_undo: false,
        intermediate: None,
    }
}

pub fn max() -> AggregateFunction {
    function(
        "MAX",
        "Computes the maximum value for a key.",
        Ordering::Greater,
    )
}

pub fn min() -> AggregateFunction {
    function(
        "MIN",
        "Computes the minimum value for a key.",
        Ordering::Less,
    )
}

#[derive(Debug, Clone)]
struct Extreme {
    keep: Ordering,
    current: Option<ScalarValue>,
}

impl Accumulator for Extreme {
    fn add(&mut self, args: &[ScalarValue]) -> AggResult<()> {
        let v = &args[0];
        if v.is_null() {
            return Ok(());
        }
        let replace = match &self.current {
            None => true,
            Some(c) => java_cmp(v, c) == self.keep,
        };
        if replace {
            self.current = Some(v.clone());
        }
        Ok(())
    }
    fn undo(&mut self, _: &[ScalarValue]) -> AggResult<()> {
        Err("MIN and MAX cannot undo".to_string())
    }
    fn merge(&mut self, other: &dyn Accumulator) -> AggResult<()> {
        if let Some(v) = &same::<Extreme>(other)?.current {
            self.add(std::slice::from_ref(v))?;
        }
        Ok(())
    }
    fn value(&self) -> ScalarValue {
        self.current.clone().unwrap_or(ScalarValue::Null)
    }
    accumulator_boilerplate!(current);
}
