//! EARLIEST_BY_OFFSET and LATEST_BY_OFFSET: the first or last value(s) of a group in offset
//! order, skipping nulls unless told not to.

use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};

use datafusion::common::ScalarValue;

use super::{
    Accumulator, AggResult, AggregateContext, AggregateFunction, AggregateOverload, list_value,
    same, struct_type, typed_null,
};
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
fn options(ctx: &AggregateContext, latest: bool) -> AggResult<(Option<usize>, bool)> {
    let mut n = None;
    let mut ignore_nulls = true;
    for lit in &ctx.literals {
        match lit {
            ScalarValue::Int32(Some(v)) if *v > 0 => n = Some(*v as usize),
            ScalarValue::Int64(Some(v)) if *v > 0 => n = Some(*v as usize),
            ScalarValue::Int32(Some(_)) | ScalarValue::Int64(Some(_)) => {
                return Err(format!(
                    "{}N must be 1 or greater",
                    if latest { "latest" } else { "earliest" }
                ));
            }
            ScalarValue::Boolean(Some(b)) => ignore_nulls = *b,
            other => return Err(format!("Unexpected argument {other}")),
        }
    }
    Ok((n, ignore_nulls))
}

fn make(ctx: &AggregateContext, latest: bool) -> AggResult<Box<dyn Accumulator>> {
    let (n, ignore_nulls) = options(ctx, latest)?;
    Ok(Box::new(ByOffset::new(
        latest,
        n,
        ignore_nulls,
        ctx.signature.params[0].clone(),
    )))
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

/// `STRUCT<SEQ BIGINT, VAL type>`, or an ARRAY of them for the N forms.
fn intermediate(signature: &Signature) -> SqlType {
    let entry = |t: &SqlType| struct_type(&[("SEQ", SqlType::Bigint), ("VAL", t.clone())]);
    match &signature.returns {
        SqlType::Array(_) if signature.returns != signature.params[0] => {
            SqlType::Array(Box::new(entry(&signature.params[0])))
        }
        _ => entry(&signature.params[0]),
    }
}

pub fn earliest_by_offset() -> AggregateFunction {
    AggregateFunction {
        name: "EARLIEST_BY_OFFSET",
        description: "This function returns the oldest N values for the column, computed by offset.",
        overloads: overloads(false),
        supports_undo: false,
        intermediate: Some(intermediate),
    }
}

pub fn latest_by_offset() -> AggregateFunction {
    AggregateFunction {
        name: "LATEST_BY_OFFSET",
        description: "This function returns the latest N values for the column, computed by offset.",
        overloads: overloads(true),
        supports_undo: false,
        intermediate: Some(intermediate),
    }
}

/// The order records were aggregated in, across all groups: merging (session windows) keeps
/// the earliest or latest values by it, as ksqlDB does with its sequence numbers.
static SEQUENCE: AtomicU64 = AtomicU64::new(0);

fn next_sequence() -> u64 {
    SEQUENCE.fetch_add(1, AtomicOrdering::Relaxed)
}

#[derive(Debug, Clone)]
struct Entry {
    sequence: u64,
    value: ScalarValue,
}

impl crate::types::codec::Encode for Entry {
    fn encode(&self, out: &mut Vec<u8>) {
        crate::types::codec::Encode::encode(&(self.sequence, &self.value), out);
    }
}

impl crate::types::codec::Decode for Entry {
    /// A restored entry keeps its sequence number, and numbers given later come after it.
    fn decode(input: &mut crate::types::codec::Input<'_>) -> crate::types::codec::Result<Self> {
        let (sequence, value): (u64, ScalarValue) = crate::types::codec::Decode::decode(input)?;
        SEQUENCE.fetch_max(sequence.saturating_add(1), AtomicOrdering::Relaxed);
        Ok(Entry { sequence, value })
    }
}

impl Entry {
    fn new(value: ScalarValue) -> Entry {
        Entry {
            sequence: next_sequence(),
            value,
        }
    }
}

#[derive(Debug, Clone)]
struct ByOffset {
    latest: bool,
    /// How many values to keep; `None` returns a single value rather than an array.
    n: Option<usize>,
    ignore_nulls: bool,
    /// In sequence order. A single LATEST_BY_OFFSET always has one entry (null at first, as in
    /// ksqlDB, whose initial state is a null value with a sequence number).
    entries: Vec<Entry>,
    item: SqlType,
}

impl ByOffset {
    fn new(latest: bool, n: Option<usize>, ignore_nulls: bool, item: SqlType) -> ByOffset {
        let entries = if latest && n.is_none() {
            vec![Entry::new(typed_null(&item))]
        } else {
            Vec::new()
        };
        ByOffset {
            latest,
            n,
            ignore_nulls,
            entries,
            item,
        }
    }
}

impl Accumulator for ByOffset {
    fn add(&mut self, args: &[ScalarValue]) -> AggResult<()> {
        let v = &args[0];
        if v.is_null() && self.ignore_nulls {
            return Ok(());
        }
        match (self.latest, self.n) {
            (false, None) => {
                if self.entries.is_empty() {
                    self.entries.push(Entry::new(v.clone()));
                }
            }
            (true, None) => self.entries = vec![Entry::new(v.clone())],
            (false, Some(n)) => {
                if self.entries.len() < n {
                    self.entries.push(Entry::new(v.clone()));
                }
            }
            (true, Some(n)) => {
                self.entries.push(Entry::new(v.clone()));
                if self.entries.len() > n {
                    self.entries.drain(..self.entries.len() - n);
                }
            }
        }
        Ok(())
    }
    fn undo(&mut self, _: &[ScalarValue]) -> AggResult<()> {
        Err("EARLIEST_BY_OFFSET and LATEST_BY_OFFSET cannot undo".to_string())
    }
    fn merge(&mut self, other: &dyn Accumulator) -> AggResult<()> {
        let other = same::<ByOffset>(other)?;
        match (self.latest, self.n) {
            (false, None) => {
                // The entry with the lower sequence.
                if let Some(o) = other.entries.first()
                    && self.entries.first().is_none_or(|s| o.sequence < s.sequence)
                {
                    self.entries = vec![o.clone()];
                }
            }
            (true, None) => {
                let (Some(mine), Some(theirs)) = (self.entries.first(), other.entries.first())
                else {
                    if self.entries.is_empty() {
                        self.entries = other.entries.clone();
                    }
                    return Ok(());
                };
                // With nulls ignored a non-null value beats a null one; then the later wins,
                // and on a tie this one.
                let theirs_wins =
                    if self.ignore_nulls && (mine.value.is_null() || theirs.value.is_null()) {
                        mine.value.is_null() && !theirs.value.is_null()
                    } else {
                        theirs.sequence > mine.sequence
                    };
                if theirs_wins {
                    self.entries = vec![theirs.clone()];
                }
            }
            (_, Some(n)) => {
                // ksqlDB sorts both lists' entries by sequence and keeps the first n, for
                // LATEST_BY_OFFSET too.
                self.entries.extend(other.entries.iter().cloned());
                self.entries.sort_by_key(|e| e.sequence);
                self.entries.truncate(n);
            }
        }
        Ok(())
    }
    fn value(&self) -> ScalarValue {
        match self.n {
            None => self
                .entries
                .first()
                .map(|e| e.value.clone())
                .filter(|v| !v.is_null())
                .unwrap_or_else(|| typed_null(&self.item)),
            Some(_) => list_value(
                &self.item,
                &self
                    .entries
                    .iter()
                    .map(|e| e.value.clone())
                    .collect::<Vec<_>>(),
            ),
        }
    }
    accumulator_boilerplate!(entries);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(v: i32) -> [ScalarValue; 1] {
        [ScalarValue::Int32(Some(v))]
    }

    fn null() -> [ScalarValue; 1] {
        [ScalarValue::Int32(None)]
    }

    #[test]
    fn merging_keeps_earliest_by_sequence() {
        let mut a = ByOffset::new(false, None, true, SqlType::Int);
        let mut b = ByOffset::new(false, None, true, SqlType::Int);
        b.add(&int(1)).unwrap();
        a.add(&int(2)).unwrap();
        a.merge(&b).unwrap();
        assert_eq!(a.value(), ScalarValue::Int32(Some(1)));
    }

    #[test]
    fn merging_latest_prefers_values_over_nulls() {
        let mut a = ByOffset::new(true, None, true, SqlType::Int);
        let mut b = ByOffset::new(true, None, true, SqlType::Int);
        b.add(&int(1)).unwrap();
        a.add(&null()).unwrap();
        let mut merged = ByOffset::new(true, None, true, SqlType::Int);
        merged.merge(&b).unwrap();
        merged.merge(&a).unwrap();
        assert_eq!(merged.value(), ScalarValue::Int32(Some(1)));

        let mut c = ByOffset::new(true, None, false, SqlType::Int);
        let mut d = ByOffset::new(true, None, false, SqlType::Int);
        c.add(&int(1)).unwrap();
        d.add(&null()).unwrap();
        c.merge(&d).unwrap();
        assert_eq!(c.value(), ScalarValue::Int32(None));
    }

    #[test]
    fn latest_n_keeps_the_last() {
        let mut a = ByOffset::new(true, Some(2), false, SqlType::Int);
        for v in [1, 2, 3] {
            a.add(&int(v)).unwrap();
        }
        a.add(&null()).unwrap();
        assert_eq!(
            a.value(),
            list_value(
                &SqlType::Int,
                &[ScalarValue::Int32(Some(3)), ScalarValue::Int32(None)]
            )
        );
    }
}
