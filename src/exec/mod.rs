//! Execution: persistent queries running over Arrow record batches.
//!
//! A query reads a batch of records from its source topic, decodes them into the columns of its
//! scope, evaluates the filter and the projection with DataFusion over the whole batch, and
//! appends the encoded results to its sink topic. A record that can't be decoded, or whose
//! expression fails, is reported to the processing log and the query goes on.

pub mod decode;

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray};
use datafusion::arrow::compute::filter_record_batch;
use datafusion::arrow::record_batch::{RecordBatch, RecordBatchOptions};
use datafusion::common::ScalarValue;
use thiserror::Error;

use crate::format::{self, FormatSpec};
use crate::plan::StatelessPlan;
use crate::plan::expr::Compiled;
use crate::sql::ast::SourceKind;
use crate::topics::{Header, ProducerRecord, TopicError, TopicStore};
use crate::types::Column;
pub use decode::DecodeOptions;
use decode::DecodedBatch;

/// Failures that stop a query step (bad records never do).
#[derive(Debug, Error)]
pub enum ExecError {
    #[error(transparent)]
    Topic(#[from] TopicError),
    /// A failure the query's configuration says must stop it.
    #[error("{0}")]
    Fatal(String),
    #[error("Internal error, please report: {0}")]
    Internal(String),
}

/// One entry of the processing log: a record or value that a query skipped or nulled.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessingLogEntry {
    pub query_id: String,
    pub message: String,
    pub topic: String,
    pub partition: u32,
    pub offset: u64,
}

/// Counters a query keeps about itself.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryStats {
    pub records_in: u64,
    pub records_out: u64,
    pub records_skipped: u64,
    pub expression_errors: u64,
}

/// Where and how a query writes its output.
#[derive(Debug, Clone)]
pub struct Sink {
    pub topic: String,
    pub key_columns: Vec<Column>,
    pub value_columns: Vec<Column>,
    pub key_format: FormatSpec,
    pub value_format: FormatSpec,
    pub value_wrapped: bool,
    /// The output column (index into the plan's outputs) that gives the record timestamp.
    pub timestamp_output: Option<usize>,
    /// Whether the sink is a table: then a null value row is written as a tombstone.
    pub kind: SourceKind,
}

/// A running persistent query.
pub struct PersistentQuery {
    pub id: String,
    plan: StatelessPlan,
    sink: Sink,
    /// The next record to read from the source topic, in arrival order.
    position: u64,
    options: DecodeOptions,
    pub stats: QueryStats,
}

/// How many records a query takes per step.
const BATCH_SIZE: usize = 1024;

impl PersistentQuery {
    pub fn new(
        id: String,
        plan: StatelessPlan,
        sink: Sink,
        options: DecodeOptions,
    ) -> PersistentQuery {
        PersistentQuery {
            id,
            plan,
            sink,
            position: 0,
            options,
            stats: QueryStats::default(),
        }
    }

    pub fn source_topic(&self) -> &str {
        &self.plan.source.topic
    }

    pub fn sink_topic(&self) -> &str {
        &self.sink.topic
    }

    /// Processes the next batch of input. Returns how many records were read.
    pub fn step(
        &mut self,
        store: &dyn TopicStore,
        log: &mut Vec<ProcessingLogEntry>,
    ) -> Result<usize, ExecError> {
        let (records, next) =
            store.read_in_arrival_order(&self.plan.source.topic, self.position, BATCH_SIZE)?;
        self.position = next;
        if records.is_empty() {
            return Ok(0);
        }
        let read = records.len();
        self.stats.records_in += read as u64;
        let mut errors = Vec::new();
        let decoded = decode::decode(
            &self.plan.source,
            &self.plan.scope,
            &records,
            &self.options,
            &mut errors,
        )?;
        self.stats.records_skipped += errors.len() as u64;
        for (record, message) in errors {
            log.push(self.log_entry(message, record.partition, record.offset));
        }
        if let Some(batch) = decoded {
            self.process(batch, store, log)?;
        }
        Ok(read)
    }

    fn log_entry(&self, message: String, partition: u32, offset: u64) -> ProcessingLogEntry {
        ProcessingLogEntry {
            query_id: self.id.clone(),
            message,
            topic: self.plan.source.topic.clone(),
            partition,
            offset,
        }
    }

    fn process(
        &mut self,
        decoded: DecodedBatch,
        store: &dyn TopicStore,
        log: &mut Vec<ProcessingLogEntry>,
    ) -> Result<(), ExecError> {
        let DecodedBatch {
            batch,
            headers,
            tombstone,
            null_key,
            positions,
        } = decoded;
        // Filter: rows where the predicate is true survive; an error counts as false.
        let (batch, headers, tombstone, null_key, positions) = match self.plan.filter.clone() {
            None => (batch, headers, tombstone, null_key, positions),
            Some(filter) => {
                let mask = self.evaluate(&filter, &batch, &positions, log)?;
                let mask = mask
                    .as_boolean_opt()
                    .cloned()
                    .unwrap_or_else(|| BooleanArray::from(vec![false; batch.num_rows()]));
                let mask = BooleanArray::from(
                    (0..mask.len())
                        .map(|i| mask.is_valid(i) && mask.value(i) && !tombstone[i])
                        .collect::<Vec<_>>(),
                );
                let filtered = filter_record_batch(&batch, &mask)
                    .map_err(|e| ExecError::Internal(e.to_string()))?;
                let keep = |i: usize| mask.value(i);
                (
                    filtered,
                    select(headers, keep),
                    select(tombstone, keep),
                    select(null_key, keep),
                    select(positions, keep),
                )
            }
        };
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let mut columns = Vec::with_capacity(self.plan.outputs.len());
        for output in self.plan.outputs.clone() {
            columns.push(self.evaluate(&output.expr, &batch, &positions, log)?);
        }
        let rowtime = batch.column(self.plan.scope.columns.len() - 3).clone();
        let key_count = self.sink.key_columns.len();
        let mut out = Vec::with_capacity(batch.num_rows());
        for row in 0..batch.num_rows() {
            let values = columns
                .iter()
                .map(|c| ScalarValue::try_from_array(c, row))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| ExecError::Internal(e.to_string()))?;
            // A key whose columns are all null is written as a null key.
            // A record without a key keeps having none, unless the query re-keys it.
            let key = if key_count == 0
                || (null_key[row] && !self.plan.rekeyed)
                || (values[..key_count].iter().all(ScalarValue::is_null)
                    && (key_count == 1 || self.sink.key_format.kind != format::FormatKind::Json))
            {
                None
            } else {
                match format::serialize(
                    &self.sink.key_format,
                    &self.sink.key_columns,
                    key_count > 1,
                    &values[..key_count],
                ) {
                    Ok(k) => k,
                    Err(e) => {
                        self.stats.expression_errors += 1;
                        let (p, o) = positions[row];
                        log.push(self.log_entry(e.to_string(), p, o));
                        continue;
                    }
                }
            };
            let value = if tombstone[row] {
                None
            } else {
                match format::serialize(
                    &self.sink.value_format,
                    &self.sink.value_columns,
                    self.sink.value_wrapped,
                    &values[key_count..],
                ) {
                    Ok(v) => v,
                    Err(e) => {
                        self.stats.expression_errors += 1;
                        let (p, o) = positions[row];
                        log.push(self.log_entry(e.to_string(), p, o));
                        continue;
                    }
                }
            };
            let timestamp = match self.sink.timestamp_output {
                Some(i) => match timestamp_of(&values[i]) {
                    Some(t) if t >= 0 => t,
                    _ => {
                        let (p, o) = positions[row];
                        log.push(self.log_entry(
                            "Invalid timestamp in the sink's TIMESTAMP column".to_string(),
                            p,
                            o,
                        ));
                        continue;
                    }
                },
                None => rowtime
                    .as_primitive_opt::<datafusion::arrow::datatypes::Int64Type>()
                    .map(|a| a.value(row))
                    .unwrap_or(0),
            };
            out.push(ProducerRecord {
                key,
                value,
                timestamp,
                headers: headers[row].clone(),
                partition: None,
            });
        }
        self.stats.records_out += out.len() as u64;
        store.append(&self.sink.topic, out)?;
        Ok(())
    }

    /// Evaluates an expression over a batch. If the batch fails as a whole, each row is
    /// evaluated alone, and the rows that fail become null and are logged.
    fn evaluate(
        &mut self,
        expr: &Compiled,
        batch: &RecordBatch,
        positions: &[(u32, u64)],
        log: &mut Vec<ProcessingLogEntry>,
    ) -> Result<ArrayRef, ExecError> {
        let rows = batch.num_rows();
        match expr.expr.evaluate(batch).and_then(|v| v.into_array(rows)) {
            Ok(a) => Ok(a),
            Err(_) => {
                let data_type = expr.sql_type().to_arrow();
                let mut values = Vec::with_capacity(rows);
                for (row, &(p, o)) in positions.iter().enumerate().take(rows) {
                    let one = batch.slice(row, 1);
                    let v = expr
                        .expr
                        .evaluate(&one)
                        .and_then(|v| v.into_array(1))
                        .and_then(|a| ScalarValue::try_from_array(&a, 0));
                    match v {
                        Ok(v) => values.push(v),
                        Err(e) => {
                            self.stats.expression_errors += 1;
                            log.push(self.log_entry(
                                format!("Error computing expression: {e}"),
                                p,
                                o,
                            ));
                            values.push(
                                ScalarValue::try_from(&data_type)
                                    .map_err(|e| ExecError::Internal(e.to_string()))?,
                            );
                        }
                    }
                }
                let array = ScalarValue::iter_to_array(values)
                    .map_err(|e| ExecError::Internal(e.to_string()))?;
                Ok(array)
            }
        }
    }
}

fn select<T>(items: Vec<T>, keep: impl Fn(usize) -> bool) -> Vec<T> {
    items
        .into_iter()
        .enumerate()
        .filter(|(i, _)| keep(*i))
        .map(|(_, t)| t)
        .collect()
}

/// A value used as a record timestamp: BIGINT or TIMESTAMP milliseconds.
fn timestamp_of(value: &ScalarValue) -> Option<i64> {
    match value {
        ScalarValue::Int64(Some(v)) => Some(*v),
        ScalarValue::Int32(Some(v)) => Some(*v as i64),
        ScalarValue::TimestampMillisecond(Some(v), _) => Some(*v),
        _ => None,
    }
}

/// An empty batch with the given columns.
pub fn batch_of(
    schema: &datafusion::arrow::datatypes::SchemaRef,
    columns: Vec<ArrayRef>,
    rows: usize,
) -> Result<RecordBatch, ExecError> {
    RecordBatch::try_new_with_options(
        Arc::clone(schema),
        columns,
        &RecordBatchOptions::new().with_row_count(Some(rows)),
    )
    .map_err(|e| ExecError::Internal(e.to_string()))
}

/// Headers of a record, forwarded unchanged to what it produces.
pub type Headers = Vec<Header>;
