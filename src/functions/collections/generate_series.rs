//! GENERATE_SERIES(start, end [, step]): the values from `start` to `end` inclusive, `step`
//! apart (by default 1 or -1, towards `end`). A zero step, a step pointing away from `end` or
//! a null argument (ksqlDB takes Java primitives) fails the call. Arithmetic wraps as Java's
//! does.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Int32Builder, Int64Builder, ListBuilder, PrimitiveArray,
};
use datafusion::arrow::datatypes::{ArrowPrimitiveType, DataType, Int32Type, Int64Type};
use datafusion::common::{Result as DfResult, exec_err};

use crate::functions::BatchBudget;
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

/// The most elements a series may have, and the most all the series of one batch may have
/// together: a row past the latter gives null, with an error (a larger one would exhaust
/// memory, as it does ksqlDB's JVM, or overflow the offsets of Arrow's lists).
const MAX_SIZE: i64 = 10_000_000;
const MAX_BATCH_SIZE: usize = 10_000_000;

/// Whether a row's series fits what is left of the batch's budget; null and logged when not.
fn affordable(budget: &mut BatchBudget, row: usize, size: usize) -> bool {
    budget.take(row, size, || {
        format!(
            "GENERATE_SERIES: the series of one batch may have {MAX_BATCH_SIZE} values in all; this one's {size} are past that"
        )
    })
}

pub fn function() -> ScalarFunction {
    use SqlType::{Bigint, Int};
    let ints = SqlType::Array(Box::new(Int));
    let bigints = SqlType::Array(Box::new(Bigint));
    ScalarFunction {
        name: "GENERATE_SERIES",
        category: "ARRAY",
        description: "Construct an array of a range of values",
        overloads: vec![
            Overload::fixed(&[Int, Int], ints.clone(), int_series),
            Overload::fixed(&[Int, Int, Int], ints, int_series),
            Overload::fixed(&[Bigint, Bigint], bigints.clone(), bigint_series),
            Overload::fixed(&[Bigint, Bigint, Int], bigints, bigint_series),
        ],
    }
}

/// The number of elements from the difference between end and start, and the step, as ksqlDB
/// computes it; the errors it raises.
fn size(diff_sign: i64, step: i32, quotient: i32) -> DfResult<usize> {
    if step == 0 {
        return exec_err!("GENERATE_SERIES step cannot be zero");
    }
    if (diff_sign > 0 && step < 0) || (diff_sign < 0 && step > 0) {
        return exec_err!("GENERATE_SERIES step has wrong sign");
    }
    let size = 1i32.wrapping_add(quotient) as i64;
    if size < 0 {
        return exec_err!("GENERATE_SERIES: Illegal Capacity: {size}");
    }
    if size > MAX_SIZE {
        return exec_err!("GENERATE_SERIES: a series of {size} values is too large");
    }
    Ok(size as usize)
}

fn value<T: ArrowPrimitiveType>(a: &PrimitiveArray<T>, row: usize) -> DfResult<T::Native> {
    if a.is_null(row) {
        return exec_err!("GENERATE_SERIES: a null value can't be passed to a primitive parameter");
    }
    Ok(a.value(row))
}

fn int_series(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let start = args[0].as_primitive::<Int32Type>();
    let end = args[1].as_primitive::<Int32Type>();
    let steps = args.get(2).map(|s| s.as_primitive::<Int32Type>());
    let mut out = ListBuilder::new(Int32Builder::new());
    let mut budget = BatchBudget::new(MAX_BATCH_SIZE);
    for row in 0..start.len() {
        let (s, e) = (value(start, row)?, value(end, row)?);
        let diff = e.wrapping_sub(s);
        let step = match steps {
            Some(steps) => value(steps, row)?,
            None if diff > 0 => 1,
            None => -1,
        };
        let quotient = if step == 0 {
            0
        } else {
            diff.wrapping_div(step)
        };
        let n = size(diff as i64, step, quotient)?;
        if !affordable(&mut budget, row, n) {
            out.append(false);
            continue;
        }
        let mut v = s;
        for _ in 0..n {
            out.values().append_value(v);
            v = v.wrapping_add(step);
        }
        out.append(true);
    }
    Ok(Arc::new(out.finish()))
}

fn bigint_series(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let start = args[0].as_primitive::<Int64Type>();
    let end = args[1].as_primitive::<Int64Type>();
    let steps = args.get(2).map(|s| s.as_primitive::<Int32Type>());
    let mut out = ListBuilder::new(Int64Builder::new());
    let mut budget = BatchBudget::new(MAX_BATCH_SIZE);
    for row in 0..start.len() {
        let (s, e) = (value(start, row)?, value(end, row)?);
        let diff = e.wrapping_sub(s);
        let step = match steps {
            Some(steps) => value(steps, row)?,
            None if diff > 0 => 1,
            None => -1,
        };
        // Java: `1 + (int) (diff / step)`.
        let quotient = if step == 0 {
            0
        } else {
            diff.wrapping_div(step as i64) as i32
        };
        let n = size(diff.signum(), step, quotient)?;
        if !affordable(&mut budget, row, n) {
            out.append(false);
            continue;
        }
        let mut v = s;
        for _ in 0..n {
            out.values().append_value(v);
            v = v.wrapping_add(step as i64);
        }
        out.append(true);
    }
    Ok(Arc::new(out.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int32Array, Int64Array};

    fn ints(args: Vec<Vec<i32>>) -> DfResult<Vec<Vec<i64>>> {
        let args: Vec<ArrayRef> = args
            .into_iter()
            .map(|a| Arc::new(Int32Array::from(a)) as ArrayRef)
            .collect();
        let out = int_series(&args, &DataType::Null)?;
        Ok(out
            .as_list::<i32>()
            .iter()
            .map(|l| {
                l.unwrap()
                    .as_primitive::<Int32Type>()
                    .values()
                    .iter()
                    .map(|v| *v as i64)
                    .collect()
            })
            .collect())
    }

    #[test]
    fn one_batchs_series_share_a_bound_and_the_row_past_it_is_null() {
        crate::functions::take_call_errors();
        let args: Vec<ArrayRef> = vec![
            Arc::new(Int32Array::from(vec![1, 1, 1])),
            Arc::new(Int32Array::from(vec![6_000_000, 6_000_000, 3])),
        ];
        let out = int_series(&args, &DataType::Null).unwrap();
        let lists = out.as_list::<i32>();
        assert_eq!(lists.value(0).len(), 6_000_000);
        assert!(lists.is_null(1));
        assert_eq!(lists.value(2).len(), 3);
        let errors = crate::functions::take_call_errors();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].0, 1);
        assert!(errors[0].1.contains("10000000 values in all"), "{errors:?}");
    }

    #[test]
    fn int_series_as_ksqldb() {
        assert_eq!(
            ints(vec![vec![0, -2, 4, 4, 0], vec![3, 1, 3, 0, 0]]).unwrap(),
            vec![
                vec![0, 1, 2, 3],
                vec![-2, -1, 0, 1],
                vec![4, 3],
                vec![4, 3, 2, 1, 0],
                vec![0]
            ]
        );
        assert_eq!(
            ints(vec![
                vec![-2, 0, 9, 1],
                vec![1, 9, 0, -2],
                vec![2, 3, -3, -2]
            ])
            .unwrap(),
            vec![vec![-2, 0], vec![0, 3, 6, 9], vec![9, 6, 3, 0], vec![1, -1]]
        );
        assert!(ints(vec![vec![0], vec![10], vec![0]]).is_err());
        assert!(ints(vec![vec![0], vec![10], vec![-1]]).is_err());
    }

    #[test]
    fn bigint_series_as_ksqldb() {
        let args: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(vec![9, 5_000_000_000])),
            Arc::new(Int64Array::from(vec![0, 5_000_000_002])),
            Arc::new(Int32Array::from(vec![-3, 1])),
        ];
        let out = bigint_series(&args, &DataType::Null).unwrap();
        let rows: Vec<Vec<i64>> = out
            .as_list::<i32>()
            .iter()
            .map(|l| l.unwrap().as_primitive::<Int64Type>().values().to_vec())
            .collect();
        assert_eq!(
            rows,
            vec![
                vec![9, 6, 3, 0],
                vec![5_000_000_000, 5_000_000_001, 5_000_000_002]
            ]
        );
        let nulls: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(vec![None::<i64>])),
            Arc::new(Int64Array::from(vec![Some(1)])),
        ];
        assert!(bigint_series(&nulls, &DataType::Null).is_err());
    }
}
