//! Columnar state for the most common aggregates: COUNT, SUM, AVG, MIN and MAX of INTEGER,
//! BIGINT and DOUBLE.
//!
//! Where an [`Accumulator`](super::Accumulator) is one boxed object per group that takes a
//! row of `ScalarValue`s, a [`GroupsAccumulator`] keeps one aggregate's state for every group in
//! typed vectors indexed by a group's slot, reads its arguments straight from Arrow arrays and
//! writes its results into one. A batch of changes costs one virtual call per aggregate instead
//! of several per change. Each type here computes exactly what its row-wise sibling does (the
//! tests check them against each other), so an operator may use either.

use std::cmp::Ordering;
use std::fmt::Debug;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, PrimitiveArray};
use datafusion::arrow::buffer::NullBuffer;
use datafusion::arrow::datatypes::{ArrowPrimitiveType, Float64Type, Int32Type, Int64Type};

use super::{AggResult, java_double_cmp};
use crate::functions::registry::Signature;
use crate::types::SqlType;
use crate::types::codec::{self, CodecError, Decode, Encode, Input};

/// One change an aggregation applies: the argument row and the slot of the group it joins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    pub row: u32,
    pub group: u32,
}

/// One aggregate's state for all the groups of an operator, by slot.
pub trait GroupsAccumulator: Debug + Send {
    /// Makes room for slots `0..count`; new slots start empty.
    fn resize(&mut self, count: usize);
    /// Empties a slot, which is about to hold another group.
    fn reset(&mut self, group: usize);
    /// Adds each change's argument row to its group, in order, and returns for each change
    /// the value of its group right after it.
    fn update(&mut self, args: &[ArrayRef], changes: &[Change]) -> AggResult<ArrayRef>;
    /// Writes one group's running state, for changelogs and snapshots.
    fn save(&self, group: usize, out: &mut Vec<u8>);
    /// Sets one group's running state (its slot made room for) to what `save` wrote.
    fn load(&mut self, group: usize, input: &mut Input<'_>) -> codec::Result<()>;
}

/// The element of a per-group vector that a restored group goes to.
fn slot_of<T>(values: &mut [T], group: usize) -> codec::Result<&mut T> {
    values
        .get_mut(group)
        .ok_or_else(|| CodecError::Invalid(format!("group slot {group} was never made")))
}

/// Writes one group's element of a per-group vector.
fn save_slot<T: Encode + Copy + Default>(values: &[T], group: usize, out: &mut Vec<u8>) {
    values.get(group).copied().unwrap_or_default().encode(out);
}

/// Reads one group's element of a per-group vector, written by [`save_slot`].
fn load_slot<T: Decode>(
    values: &mut [T],
    group: usize,
    input: &mut Input<'_>,
) -> codec::Result<()> {
    *slot_of(values, group)? = T::decode(input)?;
    Ok(())
}

/// The columnar state of a resolved aggregate call, when its function and argument types
/// have one.
pub fn groups_accumulator(
    function: &str,
    signature: &Signature,
) -> Option<Box<dyn GroupsAccumulator>> {
    let param = signature.params.first();
    Some(match (function, param) {
        ("COUNT", None) => Box::new(Count::new(false)),
        ("COUNT", Some(_)) => Box::new(Count::new(true)),
        ("SUM", Some(SqlType::Int)) => Box::new(Sum::<Int32Type>::default()),
        ("SUM", Some(SqlType::Bigint)) => Box::new(Sum::<Int64Type>::default()),
        ("SUM", Some(SqlType::Double)) => Box::new(Sum::<Float64Type>::default()),
        ("AVG", Some(SqlType::Int)) => Box::new(Average::<Int32Type>::default()),
        ("AVG", Some(SqlType::Bigint)) => Box::new(Average::<Int64Type>::default()),
        ("AVG", Some(SqlType::Double)) => Box::new(Average::<Float64Type>::default()),
        ("MIN" | "MAX", Some(ty)) => {
            let keep = if function == "MAX" {
                Ordering::Greater
            } else {
                Ordering::Less
            };
            match ty {
                SqlType::Int => Box::new(Extreme::<Int32Type>::new(keep)),
                SqlType::Bigint => Box::new(Extreme::<Int64Type>::new(keep)),
                SqlType::Double => Box::new(Extreme::<Float64Type>::new(keep)),
                _ => return None,
            }
        }
        _ => return None,
    })
}

/// The numbers the columnar aggregates work on, with ksqlDB's arithmetic: integer sums wrap
/// around as Java's do, and doubles compare as `Double.compare`.
pub trait Number: ArrowPrimitiveType<Native: Encode + Decode> + Debug + Send {
    fn wrapping_add(a: Self::Native, b: Self::Native) -> Self::Native;
    fn compare(a: Self::Native, b: Self::Native) -> Ordering;
    fn to_f64(v: Self::Native) -> f64;
}

/// Integers: sums wrap around, as Java's do.
macro_rules! integer_number {
    ($type:ty, $native:ty) => {
        impl Number for $type {
            fn wrapping_add(a: $native, b: $native) -> $native {
                a.wrapping_add(b)
            }
            fn compare(a: $native, b: $native) -> Ordering {
                a.cmp(&b)
            }
            fn to_f64(v: $native) -> f64 {
                v as f64
            }
        }
    };
}

integer_number!(Int32Type, i32);
integer_number!(Int64Type, i64);

impl Number for Float64Type {
    fn wrapping_add(a: f64, b: f64) -> f64 {
        a + b
    }
    fn compare(a: f64, b: f64) -> Ordering {
        java_double_cmp(a, b)
    }
    fn to_f64(v: f64) -> f64 {
        v
    }
}

/// The first argument as an array of `T`.
fn argument<T: ArrowPrimitiveType>(args: &[ArrayRef]) -> AggResult<&PrimitiveArray<T>> {
    args.first()
        .and_then(|a| a.as_primitive_opt::<T>())
        .ok_or_else(|| format!("expected an argument of type {}", T::DATA_TYPE))
}

fn slot(change: &Change) -> usize {
    change.group as usize
}

/// COUNT(*) (`checks_nulls` false) or COUNT(col), which skips nulls.
#[derive(Debug)]
struct Count {
    checks_nulls: bool,
    counts: Vec<i64>,
}

impl Count {
    fn new(checks_nulls: bool) -> Count {
        Count {
            checks_nulls,
            counts: Vec::new(),
        }
    }
}

impl GroupsAccumulator for Count {
    fn resize(&mut self, count: usize) {
        self.counts.resize(count, 0);
    }
    fn reset(&mut self, group: usize) {
        self.counts[group] = 0;
    }
    fn save(&self, group: usize, out: &mut Vec<u8>) {
        save_slot(&self.counts, group, out);
    }
    fn load(&mut self, group: usize, input: &mut Input<'_>) -> codec::Result<()> {
        load_slot(&mut self.counts, group, input)
    }
    fn update(&mut self, args: &[ArrayRef], changes: &[Change]) -> AggResult<ArrayRef> {
        let nulls = match (self.checks_nulls, args.first()) {
            (true, Some(a)) => a.logical_nulls(),
            (true, None) => return Err("COUNT(col) without its argument".to_string()),
            (false, _) => None,
        };
        let mut out = Vec::with_capacity(changes.len());
        for change in changes {
            let count = &mut self.counts[slot(change)];
            if nulls
                .as_ref()
                .is_none_or(|n| n.is_valid(change.row as usize))
            {
                *count += 1;
            }
            out.push(*count);
        }
        Ok(Arc::new(PrimitiveArray::<Int64Type>::from(out)))
    }
}

/// SUM: nulls are skipped; the sum of nothing is 0.
#[derive(Debug)]
struct Sum<T: Number> {
    sums: Vec<T::Native>,
}

impl<T: Number> Default for Sum<T> {
    fn default() -> Self {
        Sum { sums: Vec::new() }
    }
}

impl<T: Number> GroupsAccumulator for Sum<T> {
    fn resize(&mut self, count: usize) {
        self.sums.resize(count, T::Native::default());
    }
    fn reset(&mut self, group: usize) {
        self.sums[group] = T::Native::default();
    }
    fn save(&self, group: usize, out: &mut Vec<u8>) {
        save_slot(&self.sums, group, out);
    }
    fn load(&mut self, group: usize, input: &mut Input<'_>) -> codec::Result<()> {
        load_slot(&mut self.sums, group, input)
    }
    fn update(&mut self, args: &[ArrayRef], changes: &[Change]) -> AggResult<ArrayRef> {
        let values = argument::<T>(args)?;
        let mut out = Vec::with_capacity(changes.len());
        for change in changes {
            let sum = &mut self.sums[slot(change)];
            let row = change.row as usize;
            if values.is_valid(row) {
                *sum = T::wrapping_add(*sum, values.value(row));
            }
            out.push(*sum);
        }
        Ok(Arc::new(PrimitiveArray::<T>::from_iter_values(out)))
    }
}

/// AVG: the sum (in the argument's type) and count of the non-null values; 0.0 for none.
#[derive(Debug)]
struct Average<T: Number> {
    sums: Vec<T::Native>,
    counts: Vec<i64>,
}

impl<T: Number> Default for Average<T> {
    fn default() -> Self {
        Average {
            sums: Vec::new(),
            counts: Vec::new(),
        }
    }
}

impl<T: Number> GroupsAccumulator for Average<T> {
    fn resize(&mut self, count: usize) {
        self.sums.resize(count, T::Native::default());
        self.counts.resize(count, 0);
    }
    fn reset(&mut self, group: usize) {
        self.sums[group] = T::Native::default();
        self.counts[group] = 0;
    }
    fn save(&self, group: usize, out: &mut Vec<u8>) {
        save_slot(&self.sums, group, out);
        save_slot(&self.counts, group, out);
    }
    fn load(&mut self, group: usize, input: &mut Input<'_>) -> codec::Result<()> {
        load_slot(&mut self.sums, group, input)?;
        load_slot(&mut self.counts, group, input)
    }
    fn update(&mut self, args: &[ArrayRef], changes: &[Change]) -> AggResult<ArrayRef> {
        let values = argument::<T>(args)?;
        let mut out = Vec::with_capacity(changes.len());
        for change in changes {
            let (group, row) = (slot(change), change.row as usize);
            let (sum, count) = (&mut self.sums[group], &mut self.counts[group]);
            if values.is_valid(row) {
                *sum = T::wrapping_add(*sum, values.value(row));
                *count += 1;
            }
            out.push(if *count == 0 {
                0.0
            } else {
                T::to_f64(*sum) / *count as f64
            });
        }
        Ok(Arc::new(PrimitiveArray::<Float64Type>::from(out)))
    }
}

/// MIN or MAX: nulls are skipped; null until a value arrives; on a tie the earlier value stays.
#[derive(Debug)]
struct Extreme<T: Number> {
    /// `Greater` for MAX, `Less` for MIN: how a new value must compare to replace the kept one.
    keep: Ordering,
    values: Vec<T::Native>,
    present: Vec<bool>,
}

impl<T: Number> Extreme<T> {
    fn new(keep: Ordering) -> Extreme<T> {
        Extreme {
            keep,
            values: Vec::new(),
            present: Vec::new(),
        }
    }
}

impl<T: Number> GroupsAccumulator for Extreme<T> {
    fn resize(&mut self, count: usize) {
        self.values.resize(count, T::Native::default());
        self.present.resize(count, false);
    }
    fn reset(&mut self, group: usize) {
        self.present[group] = false;
    }
    fn save(&self, group: usize, out: &mut Vec<u8>) {
        let present = self.present.get(group).copied().unwrap_or(false);
        present
            .then(|| self.values.get(group).copied().unwrap_or_default())
            .encode(out);
    }
    fn load(&mut self, group: usize, input: &mut Input<'_>) -> codec::Result<()> {
        let value: Option<T::Native> = Decode::decode(input)?;
        *slot_of(&mut self.present, group)? = value.is_some();
        *slot_of(&mut self.values, group)? = value.unwrap_or_default();
        Ok(())
    }
    fn update(&mut self, args: &[ArrayRef], changes: &[Change]) -> AggResult<ArrayRef> {
        let values = argument::<T>(args)?;
        let mut out = Vec::with_capacity(changes.len());
        let mut valid = Vec::with_capacity(changes.len());
        for change in changes {
            let (group, row) = (slot(change), change.row as usize);
            if values.is_valid(row) {
                let v = values.value(row);
                if !self.present[group] || T::compare(v, self.values[group]) == self.keep {
                    self.values[group] = v;
                    self.present[group] = true;
                }
            }
            out.push(self.values[group]);
            valid.push(self.present[group]);
        }
        let nulls = NullBuffer::from(valid);
        let nulls = (nulls.null_count() > 0).then_some(nulls);
        Ok(Arc::new(PrimitiveArray::<T>::new(out.into(), nulls)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functions::aggregate::{AggregateContext, lookup};
    use datafusion::common::ScalarValue;

    /// A deterministic stream of values, some null.
    fn values(ty: &SqlType, seed: u64, len: usize) -> ArrayRef {
        let mut state = seed;
        let mut next = move || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        let mut draw = |len| -> Vec<Option<u64>> {
            (0..len)
                .map(|_| {
                    let v = next();
                    (v % 7 != 0).then_some(v)
                })
                .collect()
        };
        match ty {
            SqlType::Int => Arc::new(PrimitiveArray::<Int32Type>::from(
                draw(len)
                    .into_iter()
                    .map(|v| v.map(|v| v as i32))
                    .collect::<Vec<_>>(),
            )),
            SqlType::Bigint => Arc::new(PrimitiveArray::<Int64Type>::from(
                draw(len)
                    .into_iter()
                    .map(|v| v.map(|v| v as i64))
                    .collect::<Vec<_>>(),
            )),
            _ => Arc::new(PrimitiveArray::<Float64Type>::from(
                draw(len)
                    .into_iter()
                    .map(|v| {
                        v.map(|v| match v % 11 {
                            0 => f64::NAN,
                            1 => -0.0,
                            2 => 0.0,
                            _ => (v % 1000) as f64 / 7.0 - 70.0,
                        })
                    })
                    .collect::<Vec<_>>(),
            )),
        }
    }

    /// Runs a call both ways over the same changes: the columnar results must equal the
    /// row-wise accumulators' value after each change.
    fn agrees(name: &str, ty: Option<SqlType>) {
        let function = lookup(name).expect("a built-in aggregate");
        let arg_types: Vec<Option<SqlType>> = ty.iter().cloned().map(Some).collect();
        let (signature, factory) = function.resolve(&arg_types, &[]).expect("resolves");
        let mut columnar = groups_accumulator(name, &signature).expect("columnar");
        let rows = 500;
        let args: Vec<ArrayRef> = ty.iter().map(|t| values(t, 42, rows)).collect();
        let groups = 7usize;
        columnar.resize(groups);
        let context = AggregateContext {
            signature: signature.clone(),
            literals: Vec::new(),
            properties: Default::default(),
        };
        let mut rowwise: Vec<_> = (0..groups).map(|_| factory(&context).unwrap()).collect();
        let changes: Vec<Change> = (0..rows as u32)
            .map(|row| Change {
                row,
                group: (row * 31 + row / 5) % groups as u32,
            })
            .collect();
        let out = columnar.update(&args, &changes).unwrap();
        for (i, change) in changes.iter().enumerate() {
            let row_args: Vec<ScalarValue> = args
                .iter()
                .map(|a| ScalarValue::try_from_array(a, change.row as usize).unwrap())
                .collect();
            let acc = &mut rowwise[change.group as usize];
            acc.add(&row_args).unwrap();
            let got = ScalarValue::try_from_array(&out, i).unwrap();
            let want = acc.value();
            // A null is a null whatever its type; NaN equals NaN here.
            if !(got.is_null() && want.is_null()) {
                assert_eq!(format!("{got:?}"), format!("{want:?}"), "{name} change {i}");
            }
        }
        columnar.reset(3);
        let again = columnar.update(&args, &changes[..1]).unwrap();
        assert_eq!(again.len(), 1);
    }

    #[test]
    fn columnar_aggregates_agree_with_the_row_accumulators() {
        agrees("COUNT", None);
        for ty in [SqlType::Int, SqlType::Bigint, SqlType::Double] {
            for name in ["COUNT", "SUM", "AVG", "MIN", "MAX"] {
                agrees(name, Some(ty.clone()));
            }
        }
    }

    #[test]
    fn only_the_common_calls_are_columnar() {
        let signature = |params: Vec<SqlType>, returns| Signature { params, returns };
        assert!(
            groups_accumulator("MAX", &signature(vec![SqlType::String], SqlType::String)).is_none()
        );
        assert!(
            groups_accumulator(
                "SUM",
                &signature(vec![SqlType::decimal(4, 2)], SqlType::decimal(4, 2))
            )
            .is_none()
        );
        assert!(groups_accumulator("TOPK", &signature(vec![SqlType::Int], SqlType::Int)).is_none());
    }
}
