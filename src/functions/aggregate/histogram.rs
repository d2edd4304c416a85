//! HISTOGRAM(col): a `MAP<STRING, BIGINT>` of each distinct string to the number of times it
//! occurs. At most 1000 distinct strings are counted; later ones are ignored. Undoing a value
//! decrements its count and drops it at zero, so it aggregates tables.

use datafusion::common::ScalarValue;

use super::{Accumulator, AggResult, AggregateFunction, AggregateOverload, map_value, same};
use crate::accumulator_boilerplate;
use crate::types::SqlType;

/// How many distinct values a histogram counts.
const LIMIT: usize = 1000;

pub fn function() -> AggregateFunction {
    AggregateFunction {
        name: "HISTOGRAM",
        description: "Returns a map of each distinct String from the input Stream or Table and how many times each occurs. \nThis version limits the size of the resultant Map to 1000 entries. Any entries added beyond this limit will be ignored.",
        overloads: vec![AggregateOverload::fixed(
            &[SqlType::String],
            SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Bigint)),
            |_| Ok(Box::new(Histogram::default())),
        )],
        supports_undo: true,
        intermediate: None,
    }
}

#[derive(Debug, Clone, Default)]
struct Histogram {
    /// Values and their counts, in first-seen order.
    counts: Vec<(String, i64)>,
}

impl Histogram {
    fn add_count(&mut self, value: &str, n: i64) {
        if let Some(entry) = self.counts.iter_mut().find(|(v, _)| v == value) {
            entry.1 += n;
        } else if self.counts.len() < LIMIT {
            self.counts.push((value.to_string(), n));
        }
    }
}

/// The string of a row's argument; a null has no place in a map's keys and is not counted.
fn string_arg(args: &[ScalarValue]) -> Option<&str> {
    match args.first() {
        Some(ScalarValue::Utf8(Some(s))) => Some(s),
        _ => None,
    }
}

impl Accumulator for Histogram {
    fn add(&mut self, args: &[ScalarValue]) -> AggResult<()> {
        if let Some(s) = string_arg(args) {
            self.add_count(s, 1);
        }
        Ok(())
    }
    fn undo(&mut self, args: &[ScalarValue]) -> AggResult<()> {
        if let Some(s) = string_arg(args)
            && let Some(i) = self.counts.iter().position(|(v, _)| v == s)
        {
            self.counts[i].1 -= 1;
            if self.counts[i].1 < 1 {
                self.counts.remove(i);
            }
        }
        Ok(())
    }
    fn merge(&mut self, other: &dyn Accumulator) -> AggResult<()> {
        for (v, n) in &same::<Histogram>(other)?.counts {
            self.add_count(v, *n);
        }
        Ok(())
    }
    fn value(&self) -> ScalarValue {
        let entries: Vec<(ScalarValue, ScalarValue)> = self
            .counts
            .iter()
            .map(|(v, n)| {
                (
                    ScalarValue::Utf8(Some(v.clone())),
                    ScalarValue::Int64(Some(*n)),
                )
            })
            .collect();
        map_value(
            &SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Bigint)),
            &entries,
        )
    }
    accumulator_boilerplate!(counts);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> [ScalarValue; 1] {
        [ScalarValue::Utf8(Some(v.to_string()))]
    }

    #[test]
    fn counts_and_undoes() {
        let mut h = Histogram::default();
        h.add(&s("foo")).unwrap();
        h.add(&s("bar")).unwrap();
        h.add(&s("foo")).unwrap();
        h.add(&[ScalarValue::Utf8(None)]).unwrap();
        assert_eq!(h.counts, vec![("foo".into(), 2), ("bar".into(), 1)]);
        h.undo(&s("bar")).unwrap();
        assert_eq!(h.counts, vec![("foo".into(), 2)]);
        assert!(matches!(h.value(), ScalarValue::Map(_)));
    }

    #[test]
    fn limits_distinct_values() {
        let mut h = Histogram::default();
        for i in 0..LIMIT + 5 {
            h.add(&s(&i.to_string())).unwrap();
        }
        h.add(&s("0")).unwrap();
        assert_eq!(h.counts.len(), LIMIT);
        assert_eq!(h.counts[0].1, 2);
    }
}
