//! ATTR(col): the group's single value of a column (of any type), or null when the column
//! holds more than one distinct value (null counts as a value). It counts each distinct value,
//! so it can undo and aggregate tables: once retractions leave a single value, that value is
//! the result again.

use datafusion::common::ScalarValue;

use super::{
    Accumulator, AggResult, AggregateFunction, AggregateOverload, java_equals, same, struct_type,
    typed_null,
};
use crate::accumulator_boilerplate;
use crate::functions::registry::Signature;
use crate::types::SqlType;

pub fn function() -> AggregateFunction {
    AggregateFunction {
        name: "ATTR",
        description: "The ATTR() aggregation indicates there are multiple values, but only one was expected. For example, if aggregating against a table that semantically should have only one value for a column given a key, this aggregation enables users to indicate that they expect only a single value.\n\nIf the aggregation encounters more than a single value for the expected singular column, the entire aggregation will return null.",
        overloads: vec![AggregateOverload::generic(
            "T val",
            |args| match args {
                [Some(t)] => Some(Signature {
                    params: vec![t.clone()],
                    returns: t.clone(),
                }),
                _ => None,
            },
            |ctx| {
                Ok(Box::new(Attr {
                    entries: Vec::new(),
                    ty: ctx.signature.params[0].clone(),
                }))
            },
        )],
        supports_undo: true,
        // A list of the values with their counts.
        intermediate: Some(|signature| {
            SqlType::Array(Box::new(struct_type(&[
                ("VALUE", signature.params[0].clone()),
                ("COUNT", SqlType::Int),
            ])))
        }),
    }
}

#[derive(Debug, Clone)]
struct Attr {
    /// Each distinct value seen and how many times it is present (never below zero).
    entries: Vec<(ScalarValue, i32)>,
    ty: SqlType,
}

impl Attr {
    fn update(&mut self, value: &ScalarValue, count: i32) {
        if let Some(entry) = self.entries.iter_mut().find(|(v, _)| java_equals(v, value)) {
            entry.1 = entry.1.wrapping_add(count).max(0);
        } else if count > 0 {
            self.entries.push((value.clone(), count));
        }
    }
}

impl Accumulator for Attr {
    fn add(&mut self, args: &[ScalarValue]) -> AggResult<()> {
        self.update(&args[0], 1);
        Ok(())
    }
    fn undo(&mut self, args: &[ScalarValue]) -> AggResult<()> {
        self.update(&args[0], -1);
        Ok(())
    }
    fn merge(&mut self, other: &dyn Accumulator) -> AggResult<()> {
        for (v, n) in &same::<Attr>(other)?.entries {
            self.update(v, *n);
        }
        Ok(())
    }
    fn value(&self) -> ScalarValue {
        let mut present = self.entries.iter().filter(|(_, n)| *n > 0);
        match (present.next(), present.next()) {
            (Some((v, _)), None) if !v.is_null() => v.clone(),
            _ => typed_null(&self.ty),
        }
    }
    accumulator_boilerplate!(entries);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: Option<&str>) -> [ScalarValue; 1] {
        [ScalarValue::Utf8(v.map(str::to_string))]
    }

    #[test]
    fn single_value_or_null() {
        let mut a = Attr {
            entries: Vec::new(),
            ty: SqlType::String,
        };
        a.add(&s(Some("1"))).unwrap();
        assert_eq!(a.value(), s(Some("1"))[0]);
        a.add(&s(None)).unwrap();
        assert_eq!(a.value(), s(None)[0]);
        a.undo(&s(None)).unwrap();
        assert_eq!(a.value(), s(Some("1"))[0]);
        a.undo(&s(Some("1"))).unwrap();
        a.undo(&s(Some("1"))).unwrap();
        assert_eq!(a.value(), s(None)[0]);
        a.add(&s(Some("2"))).unwrap();
        assert_eq!(a.value(), s(Some("2"))[0]);
    }
}
