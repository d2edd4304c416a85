//! The stateless stage: filter, then projection (which may re-key), one output row per input
//! row that passes.

use datafusion::arrow::array::{Array, AsArray, BooleanArray};
use datafusion::arrow::compute::filter_record_batch;
use datafusion::arrow::datatypes::Int64Type;
use datafusion::common::ScalarValue;

use super::decode::DecodedBatch;
use super::sink::{RowMeta, SinkRows};
use super::{ExecError, Reporter, evaluate};
use crate::plan::StatelessPlan;

pub fn process(
    plan: &StatelessPlan,
    decoded: DecodedBatch,
    reporter: &mut Reporter<'_>,
) -> Result<SinkRows, ExecError> {
    let DecodedBatch {
        batch,
        headers,
        tombstone,
        null_key,
        positions,
    } = decoded;
    // Filter: rows where the predicate is true survive; an error counts as false, and a
    // tombstone never passes a filter.
    let (batch, keep) = match &plan.filter {
        None => (batch, vec![true; positions.len()]),
        Some(filter) => {
            let mask = evaluate(filter, &batch, &positions, reporter)?;
            let mask = mask
                .as_boolean_opt()
                .cloned()
                .unwrap_or_else(|| BooleanArray::from(vec![false; batch.num_rows()]));
            let keep: Vec<bool> = (0..mask.len())
                .map(|i| mask.is_valid(i) && mask.value(i) && !tombstone[i])
                .collect();
            let filtered = filter_record_batch(&batch, &BooleanArray::from(keep.clone()))
                .map_err(ExecError::internal)?;
            (filtered, keep)
        }
    };
    let kept: Vec<usize> = (0..keep.len()).filter(|&i| keep[i]).collect();
    if kept.is_empty() {
        return Ok(SinkRows::default());
    }
    let kept_positions: Vec<(u32, u64)> = kept.iter().map(|&i| positions[i]).collect();
    // Table functions turn each row into as many rows as their longest output.
    let (batch, kept) = if plan.table_functions.calls.is_empty() {
        (batch, kept)
    } else {
        expand(plan, &batch, &kept, &kept_positions, reporter)?
    };
    let kept_positions: Vec<(u32, u64)> = kept.iter().map(|&i| positions[i]).collect();
    let mut columns = Vec::with_capacity(plan.outputs.len());
    for output in &plan.outputs {
        columns.push(evaluate(&output.expr, &batch, &kept_positions, reporter)?);
    }
    let rowtime = batch.column(plan.scope.columns.len() - 3).clone();
    let rowtime = rowtime.as_primitive_opt::<Int64Type>();
    // A windowed source's records keep their windows.
    let window_columns = plan.source.window.map(|_| {
        let n = plan.scope.columns.len();
        (batch.column(n - 5).clone(), batch.column(n - 4).clone())
    });
    let mut rows = Vec::with_capacity(kept.len());
    for (row, &original) in kept.iter().enumerate() {
        rows.push((
            row,
            RowMeta {
                tombstone: tombstone[original],
                null_key: null_key[original] && !plan.rekeyed,
                timestamp: rowtime.map(|a| a.value(row)).unwrap_or(0),
                headers: headers[original].clone(),
                window: window_columns.as_ref().and_then(|(s, e)| {
                    let s = s.as_primitive_opt::<Int64Type>()?;
                    let e = e.as_primitive_opt::<Int64Type>()?;
                    (s.is_valid(row) && e.is_valid(row)).then(|| (s.value(row), e.value(row)))
                }),
                position: positions[original],
            },
        ));
    }
    Ok(SinkRows::Columns { columns, rows })
}

/// Expands rows through the table functions: returns the expanded batch (source columns
/// repeated, then one column per table function) and, for each expanded row, the index of the
/// original row it came from.
fn expand(
    plan: &StatelessPlan,
    batch: &datafusion::arrow::record_batch::RecordBatch,
    kept: &[usize],
    positions: &[(u32, u64)],
    reporter: &mut Reporter<'_>,
) -> Result<(datafusion::arrow::record_batch::RecordBatch, Vec<usize>), ExecError> {
    let calls = &plan.table_functions.calls;
    let mut args = Vec::with_capacity(calls.len());
    for call in calls {
        args.push(
            call.args
                .iter()
                .map(|a| evaluate(a, batch, positions, reporter))
                .collect::<Result<Vec<_>, _>>()?,
        );
    }
    let mut take: Vec<u32> = Vec::new();
    let mut origin: Vec<usize> = Vec::new();
    let mut produced: Vec<Vec<ScalarValue>> = vec![Vec::new(); calls.len()];
    for row in 0..batch.num_rows() {
        let mut lists = Vec::with_capacity(calls.len());
        let mut failed = false;
        for (call, call_args) in calls.iter().zip(&args) {
            let values = call_args
                .iter()
                .map(|a| ScalarValue::try_from_array(a, row))
                .collect::<Result<Vec<_>, _>>()
                .map_err(ExecError::internal)?;
            match (call.expand)(&values, &call.signature) {
                Ok(list) => lists.push(list),
                Err(e) => {
                    reporter.expression_error(
                        format!("Error in table function {}: {e}", call.name),
                        positions[row],
                    );
                    failed = true;
                    break;
                }
            }
        }
        if failed {
            continue;
        }
        let longest = lists.iter().map(Vec::len).max().unwrap_or(0);
        for i in 0..longest {
            take.push(row as u32);
            origin.push(kept[row]);
            for (c, list) in lists.iter().enumerate() {
                produced[c].push(list.get(i).cloned().unwrap_or(ScalarValue::Null));
            }
        }
    }
    let indices = datafusion::arrow::array::UInt32Array::from(take);
    let mut columns = Vec::with_capacity(plan.table_functions.scope.columns.len());
    for column in batch.columns() {
        columns.push(
            datafusion::arrow::compute::take(column.as_ref(), &indices, None)
                .map_err(ExecError::internal)?,
        );
    }
    for (call, values) in calls.iter().zip(produced) {
        columns.push(
            crate::functions::util::to_array(values, &call.signature.returns.to_arrow())
                .map_err(ExecError::internal)?,
        );
    }
    let expanded = super::batch_of(
        plan.table_functions.scope.arrow_schema(),
        columns,
        origin.len(),
    )?;
    Ok((expanded, origin))
}
