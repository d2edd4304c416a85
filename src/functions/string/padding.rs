//! Padding shared by LPAD and RPAD: strings are measured in UTF-16 units (as Java counts
//! them), bytes in bytes; an input longer than the target is cut to it, and an empty or NULL
//! padding or a negative target gives NULL.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, BinaryArray, StringArray};
use datafusion::common::Result as DfResult;

use super::args::{bytes, bytes_at, int_at, ints, rows, str_at, strings};
use super::units;
use crate::functions::BatchBudget;

/// The most bytes one batch's padded values may take (a UTF-16 unit takes at most 3 bytes).
const MAX_BATCH_BYTES: usize = 256 * 1024 * 1024;

/// Whether a row may be padded to `target` (each unit taking at most `unit_bytes`), drawing
/// on the batch's budget; null and logged when it may not.
fn affordable(budget: &mut BatchBudget, row: usize, target: usize, unit_bytes: usize) -> bool {
    budget.take(row, target.saturating_mul(unit_bytes), || {
        format!(
            "PAD: a length of {target} takes more than the {MAX_BATCH_BYTES} bytes one batch of padded values may use"
        )
    })
}

/// Which end the padding goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Side {
    Left,
    Right,
}

/// `(input STRING, length INT, padding STRING)` padded row by row.
pub(super) fn pad_strings(args: &[ArrayRef], side: Side) -> DfResult<ArrayRef> {
    let (input, target, padding) = (strings(&args[0]), ints(&args[1]), strings(&args[2]));
    let mut budget = BatchBudget::new(MAX_BATCH_BYTES);
    let out: StringArray = (0..rows(args))
        .map(|row| {
            let s = str_at(input, row)?;
            let target = usize::try_from(int_at(target, row)?).ok()?;
            let padding = str_at(padding, row).filter(|p| !p.is_empty())?;
            if !affordable(&mut budget, row, target, 3) {
                return None;
            }
            Some(pad(s, target, padding, side))
        })
        .collect();
    Ok(Arc::new(out))
}

/// `(input BYTES, length INT, padding BYTES)` padded row by row.
pub(super) fn pad_bytes(args: &[ArrayRef], side: Side) -> DfResult<ArrayRef> {
    let (input, target, padding) = (bytes(&args[0]), ints(&args[1]), bytes(&args[2]));
    let mut budget = BatchBudget::new(MAX_BATCH_BYTES);
    let out: BinaryArray = (0..rows(args))
        .map(|row| {
            let b = bytes_at(input, row)?;
            let target = usize::try_from(int_at(target, row)?).ok()?;
            let padding = bytes_at(padding, row).filter(|p| !p.is_empty())?;
            if !affordable(&mut budget, row, target, 1) {
                return None;
            }
            if b.len() >= target {
                return Some(b[..target].to_vec());
            }
            let fill = padding.iter().copied().cycle().take(target - b.len());
            Some(match side {
                Side::Left => fill.chain(b.iter().copied()).collect(),
                Side::Right => b.iter().copied().chain(fill).collect(),
            })
        })
        .collect();
    Ok(Arc::new(out))
}

/// `s` padded to `target` UTF-16 units on one side, or cut to `target`.
pub(super) fn pad(s: &str, target: usize, padding: &str, side: Side) -> String {
    match side {
        Side::Left => {
            let fill = repeat(padding, target.saturating_sub(units::len(s)));
            units::prefix(&(fill + s), target).to_string()
        }
        Side::Right => {
            let kept = units::prefix(s, target);
            kept.to_string() + &repeat(padding, target - units::len(kept))
        }
    }
}

/// Repetitions of `padding`, the last one cut, making exactly `length` UTF-16 units.
fn repeat(padding: &str, length: usize) -> String {
    let padding_len = units::len(padding);
    let mut out = String::new();
    let mut len = 0;
    while len < length {
        let missing = length - len;
        if missing >= padding_len {
            out.push_str(padding);
            len += padding_len;
        } else {
            out.push_str(units::prefix(padding, missing));
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Array, Int32Array};

    #[test]
    fn a_length_past_the_batchs_budget_gives_null_and_an_error() {
        crate::functions::take_call_errors();
        let args: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec!["a", "", "b"])),
            Arc::new(Int32Array::from(vec![3, i32::MAX, 2])),
            Arc::new(StringArray::from(vec!["xy", "x", "-"])),
        ];
        let out = pad_strings(&args, Side::Left).unwrap();
        let out = out.as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(out.value(0), "xya");
        assert!(out.is_null(1));
        assert_eq!(out.value(2), "-b");
        let errors = crate::functions::take_call_errors();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].0, 1);
    }
}
