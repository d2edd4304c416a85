//! COUNT(*), COUNT(col) and COUNT_DISTINCT(col).

use std::collections::HashMap;

use datafusion::common::ScalarValue;

use super::{Accumulator, AggResult, AggregateContext, AggregateFunction, AggregateOverload, same};
use crate::accumulator_boilerplate;
use crate::functions::registry::Signature;
use crate::types::SqlType;

pub fn count() -> AggregateFunction {
    AggregateFunction {
        name: "COUNT",
        description: "Counts records (COUNT(*)) or non-null values (COUNT(col)).",
        overloads: vec![
            AggregateOverload::generic(
                "",
                |args| {
                    args.is_empty().then(|| Signature {
                        params: vec![],
                        returns: SqlType::Bigint,
                    })
                },
                |_| Ok(Box::new(Count::default())),
            ),
            AggregateOverload::generic(
                "T val",
                |args| match args {
                    [t] => Some(Signature {
                        params: vec![t.clone().unwrap_or(SqlType::String)],
                        returns: SqlType::Bigint,
                    }),
                    _ => None,
                },
                |_| Ok(Box::new(Count::default())),
            ),
        ],
        supports_undo: true,
    }
}

#[derive(Debug, Clone, Default)]
struct Count {
    count: i64,
}

impl Count {
    fn counts(args: &[ScalarValue]) -> bool {
        args.first().is_none_or(|a| !a.is_null())
    }
}

impl Accumulator for Count {
    fn add(&mut self, args: &[ScalarValue]) -> AggResult<()> {
        if Self::counts(args) {
            self.count += 1;
        }
        Ok(())
    }
    fn undo(&mut self, args: &[ScalarValue]) -> AggResult<()> {
        if Self::counts(args) {
            self.count -= 1;
        }
        Ok(())
    }
    fn merge(&mut self, other: &dyn Accumulator) -> AggResult<()> {
        self.count += same::<Count>(other)?.count;
        Ok(())
    }
    fn value(&self) -> ScalarValue {
        ScalarValue::Int64(Some(self.count))
    }
    accumulator_boilerplate!();
}

pub fn count_distinct() -> AggregateFunction {
    AggregateFunction {
        name: "COUNT_DISTINCT",
        description: "Returns the approximate number of unique values of a column.",
        overloads: vec![AggregateOverload::generic(
            "T val",
            |args| match args {
                [t] => Some(Signature {
                    params: vec![t.clone().unwrap_or(SqlType::String)],
                    returns: SqlType::Bigint,
                }),
                _ => None,
            },
            |_: &AggregateContext| Ok(Box::new(CountDistinct::default())),
        )],
        supports_undo: false,
    }
}

#[derive(Debug, Clone, Default)]
struct CountDistinct {
    seen: HashMap<ScalarValue, u64>,
}

impl Accumulator for CountDistinct {
    fn add(&mut self, args: &[ScalarValue]) -> AggResult<()> {
        if let Some(v) = args.first().filter(|v| !v.is_null()) {
            *self.seen.entry(v.clone()).or_default() += 1;
        }
        Ok(())
    }
    fn undo(&mut self, _: &[ScalarValue]) -> AggResult<()> {
        Err("COUNT_DISTINCT cannot undo".to_string())
    }
    fn merge(&mut self, other: &dyn Accumulator) -> AggResult<()> {
        for (k, n) in &same::<CountDistinct>(other)?.seen {
            *self.seen.entry(k.clone()).or_default() += n;
        }
        Ok(())
    }
    fn value(&self) -> ScalarValue {
        ScalarValue::Int64(Some(self.seen.len() as i64))
    }
    accumulator_boilerplate!();
}
