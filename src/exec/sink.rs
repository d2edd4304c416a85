//! The sink: output rows encoded with the sink's formats into records.

use datafusion::arrow::array::{Array, ArrayRef};
use datafusion::common::ScalarValue;

use super::{ExecError, Headers, Reporter};
use crate::catalog::WindowInfo;
use crate::format::{self, FormatKind, FormatSpec};
use crate::sql::ast::WindowType;
use crate::topics::ProducerRecord;
use crate::types::codec::{self, Decode, Encode, Input};
use crate::types::{Column, SqlType};

/// How to write one output row.
#[derive(Debug, Clone)]
pub struct RowMeta {
    /// Write a tombstone (null value) for this key.
    pub tombstone: bool,
    /// Write a null key (the input had none and the query does not re-key).
    pub null_key: bool,
    pub timestamp: i64,
    pub headers: Headers,
    /// The window of a windowed key: (start, end).
    pub window: Option<(i64, i64)>,
    pub position: (u32, u64),
}

/// One row a stage wants written: the output columns' values (keys first), and how to write
/// them.
#[derive(Debug, Clone)]
pub struct SinkRow {
    pub values: Vec<ScalarValue>,
    pub meta: RowMeta,
}

impl Encode for RowMeta {
    fn encode(&self, out: &mut Vec<u8>) {
        (self.tombstone, self.null_key, self.timestamp).encode(out);
        (&self.headers, self.window, self.position).encode(out);
    }
}

impl Decode for RowMeta {
    fn decode(input: &mut Input<'_>) -> codec::Result<Self> {
        let (tombstone, null_key, timestamp) = Decode::decode(input)?;
        let (headers, window, position) = Decode::decode(input)?;
        Ok(RowMeta {
            tombstone,
            null_key,
            timestamp,
            headers,
            window,
            position,
        })
    }
}

impl Encode for SinkRow {
    fn encode(&self, out: &mut Vec<u8>) {
        (&self.values, &self.meta).encode(out);
    }
}

impl Decode for SinkRow {
    fn decode(input: &mut Input<'_>) -> codec::Result<Self> {
        let (values, meta) = Decode::decode(input)?;
        Ok(SinkRow { values, meta })
    }
}

/// What a stage hands on: rows of values, or the output columns of a batch with, for each row
/// to write, its index in them and its [`RowMeta`], so that the sink reads each value straight
/// from its array.
#[derive(Debug, Clone)]
pub enum SinkRows {
    Rows(Vec<SinkRow>),
    Columns {
        columns: Vec<ArrayRef>,
        rows: Vec<(usize, RowMeta)>,
    },
}

impl Default for SinkRows {
    fn default() -> Self {
        SinkRows::Rows(Vec::new())
    }
}

impl From<Vec<SinkRow>> for SinkRows {
    fn from(rows: Vec<SinkRow>) -> Self {
        SinkRows::Rows(rows)
    }
}

impl SinkRows {
    pub fn len(&self) -> usize {
        match self {
            SinkRows::Rows(rows) => rows.len(),
            SinkRows::Columns { rows, .. } => rows.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The rows with their values, for the consumers that keep or reorder rows.
    pub fn into_rows(self) -> Result<Vec<SinkRow>, ExecError> {
        match self {
            SinkRows::Rows(rows) => Ok(rows),
            SinkRows::Columns { columns, rows } => rows
                .into_iter()
                .map(|(index, meta)| {
                    Ok(SinkRow {
                        values: format::row_scalars(&columns, index)
                            .map_err(ExecError::internal)?,
                        meta,
                    })
                })
                .collect(),
        }
    }
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
    /// The output column (index into the outputs) that gives the record timestamp.
    pub timestamp_output: Option<usize>,
    /// How a STRING timestamp column is parsed.
    pub timestamp_format: Option<String>,
    pub window: Option<WindowInfo>,
    /// The sink topic's partition count: a windowed key is partitioned by its key alone, as
    /// Kafka Streams' windowed partitioner does, so every window of a key shares a partition.
    pub partitions: Option<u32>,
    /// The value columns whose decimals are written at their full scale (aggregate results).
    pub exact_scale: Vec<bool>,
    /// For each output column, the (result, sink) types of a value that must be cast on its way
    /// to a sink of wider types (INSERT INTO); empty when no column needs it.
    pub widened: Vec<Option<(SqlType, SqlType)>>,
}

impl Sink {
    /// Casts a row's values to the sink's types; false (logged) when one does not fit.
    fn widen(&self, row: &mut SinkRow, reporter: &mut Reporter<'_>) -> bool {
        for (value, cast) in row.values.iter_mut().zip(&self.widened) {
            let Some((from, to)) = cast else {
                continue;
            };
            match crate::functions::cast::cast_scalar(value, from, to) {
                Ok(v) => *value = v,
                Err(e) => {
                    reporter.expression_error(e, row.meta.position);
                    return false;
                }
            }
        }
        true
    }

    /// Encodes rows into records. Rows that can't be encoded are logged and skipped.
    pub fn encode(
        &self,
        rows: impl Into<SinkRows>,
        reporter: &mut Reporter<'_>,
    ) -> Result<Vec<ProducerRecord>, ExecError> {
        let key_count = self.key_columns.len();
        match rows.into() {
            SinkRows::Columns { columns, rows } if self.widened.is_empty() => {
                let (keys, values) = columns.split_at(key_count.min(columns.len()));
                let key_nulls: Vec<_> = keys.iter().map(|k| k.logical_nulls()).collect();
                let mut out = Vec::with_capacity(rows.len());
                for (row, meta) in rows {
                    let all_null = key_nulls
                        .iter()
                        .all(|n| n.as_ref().is_some_and(|n| n.is_null(row)));
                    let key = || {
                        format::serialize_arrays(
                            &self.key_format,
                            &self.key_columns,
                            key_count > 1,
                            keys,
                            row,
                            &[],
                        )
                    };
                    let value = || {
                        format::serialize_arrays(
                            &self.value_format,
                            &self.value_columns,
                            self.value_wrapped,
                            values,
                            row,
                            &self.exact_scale,
                        )
                    };
                    let column_value = |i: usize| {
                        columns
                            .get(i)
                            .and_then(|c| ScalarValue::try_from_array(c, row).ok())
                            .unwrap_or(ScalarValue::Null)
                    };
                    out.extend(self.record(meta, all_null, key, value, column_value, reporter));
                }
                Ok(out)
            }
            SinkRows::Rows(rows) => self.encode_rows(rows, reporter),
            columns => self.encode_rows(columns.into_rows()?, reporter),
        }
    }

    fn encode_rows(
        &self,
        rows: Vec<SinkRow>,
        reporter: &mut Reporter<'_>,
    ) -> Result<Vec<ProducerRecord>, ExecError> {
        let key_count = self.key_columns.len();
        let mut out = Vec::with_capacity(rows.len());
        for mut row in rows {
            if !self.widened.is_empty() && !self.widen(&mut row, reporter) {
                continue;
            }
            let SinkRow { values, meta } = row;
            let (keys, rest) = values.split_at(key_count.min(values.len()));
            let all_null = keys.iter().all(ScalarValue::is_null);
            let key =
                || format::serialize(&self.key_format, &self.key_columns, key_count > 1, keys);
            let value = || {
                format::serialize_with_scales(
                    &self.value_format,
                    &self.value_columns,
                    self.value_wrapped,
                    rest,
                    &self.exact_scale,
                )
            };
            let column_value = |i: usize| values.get(i).cloned().unwrap_or(ScalarValue::Null);
            out.extend(self.record(meta, all_null, key, value, column_value, reporter));
        }
        Ok(out)
    }

    /// One row's record: its key (windowed, if the sink is) and value, partition and
    /// timestamp. `None` (logged) when a part of it cannot be written.
    fn record(
        &self,
        meta: RowMeta,
        all_null_keys: bool,
        key: impl FnOnce() -> format::Result<Option<Vec<u8>>>,
        value: impl FnOnce() -> format::Result<Option<Vec<u8>>>,
        column_value: impl Fn(usize) -> ScalarValue,
        reporter: &mut Reporter<'_>,
    ) -> Option<ProducerRecord> {
        let key_count = self.key_columns.len();
        // A JSON key of several columns is an object even when they are all null.
        let key = if key_count == 0
            || meta.null_key
            || (all_null_keys && (key_count == 1 || self.key_format.kind != FormatKind::Json))
        {
            None
        } else {
            match key() {
                Ok(k) => k,
                Err(e) => {
                    reporter.expression_error(e.to_string(), meta.position);
                    return None;
                }
            }
        };
        let partition = match (&key, meta.window, self.partitions) {
            (Some(k), Some(_), Some(count)) if count > 0 => {
                Some(crate::topics::partition_for_key(k, count))
            }
            _ => None,
        };
        let key = match (key, meta.window, &self.window) {
            (Some(mut k), Some((start, end)), Some(info)) => {
                if info.window_type == WindowType::Session {
                    k.extend_from_slice(&end.to_be_bytes());
                }
                k.extend_from_slice(&start.to_be_bytes());
                Some(k)
            }
            (k, _, _) => k,
        };
        let value = if meta.tombstone {
            None
        } else {
            match value() {
                Ok(v) => v,
                Err(e) => {
                    reporter.expression_error(e.to_string(), meta.position);
                    return None;
                }
            }
        };
        let timestamp = match self.timestamp_output.filter(|_| !meta.tombstone) {
            Some(i) => match self.timestamp_of(i, &column_value(i)) {
                Some(t) if t >= 0 => t,
                _ => {
                    reporter.skipped(
                        "Invalid timestamp in the sink's TIMESTAMP column".to_string(),
                        meta.position,
                    );
                    return None;
                }
            },
            None => meta.timestamp,
        };
        Some(ProducerRecord {
            key,
            value,
            timestamp,
            headers: meta.headers,
            partition,
        })
    }
}

impl Sink {
    /// The record timestamp an output column gives: BIGINT or TIMESTAMP milliseconds, or a
    /// STRING parsed with the sink's TIMESTAMP_FORMAT.
    fn timestamp_of(&self, output: usize, value: &ScalarValue) -> Option<i64> {
        match value {
            ScalarValue::Utf8(_) => {
                let ty = self
                    .key_columns
                    .iter()
                    .chain(&self.value_columns)
                    .nth(output)
                    .map(|c| &c.ty)?;
                super::decode::extract_timestamp(value, ty, self.timestamp_format.as_deref())
            }
            other => timestamp_of(other),
        }
    }
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
