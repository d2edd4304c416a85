//! Records to Arrow: the key, value, headers and pseudo columns of a batch of records decoded
//! into the columns of a query's scope.

use datafusion::arrow::array::{ArrayRef, new_empty_array};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;

use super::{ExecError, Headers, batch_of};
use crate::catalog::Source;
use crate::format;
use crate::plan::expr::Scope;
use crate::sql::ast::SourceKind;
use crate::topics::Record;
use crate::types::{ColumnKind, SqlType};

/// How a query treats records it can't read.
#[derive(Debug, Clone, Copy, Default)]
pub struct DecodeOptions {
    /// `ksql.timestamp.throw.on.invalid`: an unreadable timestamp stops the query.
    pub throw_on_invalid_timestamp: bool,
}

/// Decoded records: one row per record that could be decoded.
pub struct DecodedBatch {
    pub batch: datafusion::arrow::record_batch::RecordBatch,
    pub headers: Vec<Headers>,
    /// Rows whose record had a null value (a tombstone).
    pub tombstone: Vec<bool>,
    /// Rows whose record had a null key.
    pub null_key: Vec<bool>,
    /// (partition, offset) of each row's record.
    pub positions: Vec<(u32, u64)>,
}

impl DecodedBatch {
    pub fn num_rows(&self) -> usize {
        self.batch.num_rows()
    }

    /// The batch of row `index` alone.
    pub fn row(&self, index: usize) -> DecodedBatch {
        DecodedBatch {
            batch: self.batch.slice(index, 1),
            headers: vec![self.headers[index].clone()],
            tombstone: vec![self.tombstone[index]],
            null_key: vec![self.null_key[index]],
            positions: vec![self.positions[index]],
        }
    }
}

/// Decodes `records` for `source`. Records that can't be decoded are returned in `errors`
/// with the reason, and left out of the batch.
pub fn decode<'r>(
    source: &Source,
    scope: &Scope,
    records: &'r [Record],
    options: &DecodeOptions,
    errors: &mut Vec<(&'r Record, String)>,
) -> Result<Option<DecodedBatch>, ExecError> {
    let key_columns = source.key_columns();
    let value_columns = source.value_columns();
    let column_count = scope.columns.len();
    let mut columns: Vec<Vec<ScalarValue>> = vec![Vec::with_capacity(records.len()); column_count];
    let mut headers = Vec::with_capacity(records.len());
    let mut tombstone = Vec::with_capacity(records.len());
    let mut null_key = Vec::with_capacity(records.len());
    let mut positions = Vec::with_capacity(records.len());
    let nulls: Vec<ScalarValue> = scope
        .columns
        .iter()
        .map(|c| ScalarValue::try_from(&c.ty.to_arrow()))
        .collect::<Result<_, _>>()
        .map_err(|e| ExecError::Internal(e.to_string()))?;

    for record in records {
        if source.kind == SourceKind::Table && record.key.is_none() {
            errors.push((
                record,
                "Skipping a table record with a null key".to_string(),
            ));
            continue;
        }
        // A windowed key carries its window after the key bytes.
        let (key_bytes, window) = match (&source.window, record.key.as_deref()) {
            (Some(info), Some(bytes)) => match split_window(bytes, info) {
                Some((k, w)) => (Some(k), Some(w)),
                None => {
                    errors.push((
                        record,
                        "Failed to deserialize windowed key: too short".to_string(),
                    ));
                    continue;
                }
            },
            (_, bytes) => (bytes, None),
        };
        let key = match format::deserialize(
            &source.key_format,
            &key_columns,
            key_columns.len() > 1,
            key_bytes,
        ) {
            Ok(k) => k,
            Err(e) => {
                errors.push((record, format!("Failed to deserialize key: {e}")));
                continue;
            }
        };
        let value = match format::deserialize(
            &source.value_format,
            &value_columns,
            source.value_wrapped(),
            record.value.as_deref(),
        ) {
            Ok(v) => v,
            Err(e) => {
                errors.push((record, format!("Failed to deserialize value: {e}")));
                continue;
            }
        };
        let mut key_values = key.into_iter().flatten();
        let mut value_values = value.as_ref().map(|v| v.iter().cloned());
        let mut row = Vec::with_capacity(column_count);
        for (i, column) in source.schema.columns.iter().enumerate() {
            let v = match column.kind {
                ColumnKind::Key => key_values.next(),
                ColumnKind::Value => value_values.as_mut().and_then(|v| v.next()),
                ColumnKind::Header => Some(header_value(record, column.header_key.as_deref())),
            };
            row.push(v.unwrap_or_else(|| nulls[i].clone()));
        }
        let mut timestamp = record.timestamp;
        if let Some(ts_column) = &source.timestamp_column
            && value.is_some()
        {
            let index = source
                .schema
                .columns
                .iter()
                .position(|c| &c.name == ts_column);
            if let Some((v, ty)) = index.map(|i| (&row[i], &source.schema.columns[i].ty)) {
                match extract_timestamp(v, ty, source.timestamp_format.as_deref()) {
                    Some(t) => timestamp = t,
                    None => {
                        if options.throw_on_invalid_timestamp {
                            return Err(ExecError::Fatal(format!(
                                "Fatal user code error in TimestampExtractor callback for record (partition {}, offset {}): invalid timestamp in column {ts_column}",
                                record.partition, record.offset
                            )));
                        }
                        errors.push((record, format!("Invalid timestamp in column {ts_column}")));
                        continue;
                    }
                }
            }
        }
        if timestamp < 0 {
            errors.push((record, format!("Invalid negative timestamp: {timestamp}")));
            continue;
        }
        if source.window.is_some() {
            let (start, end) = match window {
                Some((s, e)) => (Some(s), Some(e)),
                None => (None, None),
            };
            row.push(ScalarValue::Int64(start));
            row.push(ScalarValue::Int64(end));
        }
        row.push(ScalarValue::Int64(Some(timestamp)));
        row.push(ScalarValue::Int32(Some(record.partition as i32)));
        row.push(ScalarValue::Int64(Some(record.offset as i64)));
        for (column, v) in columns.iter_mut().zip(row) {
            column.push(v);
        }
        headers.push(record.headers.clone());
        tombstone.push(value.is_none());
        null_key.push(record.key.is_none());
        positions.push((record.partition, record.offset));
    }
    if positions.is_empty() {
        return Ok(None);
    }
    let rows = positions.len();
    let arrays = columns
        .into_iter()
        .zip(&scope.columns)
        .map(|(values, c)| to_array(values, &c.ty.to_arrow()))
        .collect::<Result<Vec<_>, _>>()?;
    let batch = batch_of(scope.arrow_schema(), arrays, rows)?;
    Ok(Some(DecodedBatch {
        batch,
        headers,
        tombstone,
        null_key,
        positions,
    }))
}

/// Splits a windowed key into the inner key and its window (start, end): time windows append
/// the start; session windows the end, then the start.
fn split_window<'b>(
    bytes: &'b [u8],
    info: &crate::catalog::WindowInfo,
) -> Option<(&'b [u8], (i64, i64))> {
    let read = |b: &[u8]| -> Option<i64> { Some(i64::from_be_bytes(b.try_into().ok()?)) };
    match info.window_type {
        crate::sql::ast::WindowType::Session => {
            let split = bytes.len().checked_sub(16)?;
            let end = read(&bytes[split..split + 8])?;
            let start = read(&bytes[split + 8..])?;
            Some((&bytes[..split], (start, end)))
        }
        _ => {
            let split = bytes.len().checked_sub(8)?;
            let start = read(&bytes[split..])?;
            let end = start.saturating_add(info.size_ms.unwrap_or(0));
            Some((&bytes[..split], (start, end)))
        }
    }
}

fn to_array(values: Vec<ScalarValue>, data_type: &DataType) -> Result<ArrayRef, ExecError> {
    if values.is_empty() {
        return Ok(new_empty_array(data_type));
    }
    let array =
        ScalarValue::iter_to_array(values).map_err(|e| ExecError::Internal(e.to_string()))?;
    if array.data_type() != data_type {
        return datafusion::arrow::compute::cast(&array, data_type)
            .map_err(|e| ExecError::Internal(e.to_string()));
    }
    Ok(array)
}

/// The HEADERS column (all headers) or a `HEADER('k')` column (the last header with key `k`).
fn header_value(record: &Record, key: Option<&str>) -> ScalarValue {
    match key {
        Some(k) => ScalarValue::Binary(
            record
                .headers
                .iter()
                .rev()
                .find(|h| h.key == k)
                .and_then(|h| h.value.clone()),
        ),
        None => {
            let ty = crate::types::headers_type();
            let SqlType::Array(item) = &ty else {
                return ScalarValue::Null;
            };
            let item_type = item.to_arrow();
            let DataType::Struct(fields) = &item_type else {
                return ScalarValue::Null;
            };
            let structs: Vec<ScalarValue> = record
                .headers
                .iter()
                .map(|h| {
                    ScalarValue::Struct(std::sync::Arc::new(
                        datafusion::arrow::array::StructArray::new(
                            fields.clone(),
                            vec![
                                ScalarValue::Utf8(Some(h.key.clone()))
                                    .to_array()
                                    .unwrap_or_else(|_| new_empty_array(&DataType::Utf8)),
                                ScalarValue::Binary(h.value.clone())
                                    .to_array()
                                    .unwrap_or_else(|_| new_empty_array(&DataType::Binary)),
                            ],
                            None,
                        ),
                    ))
                })
                .collect();
            ScalarValue::List(ScalarValue::new_list_nullable(&structs, &item_type))
        }
    }
}

/// The timestamp a `TIMESTAMP=` column gives, in ms.
pub(crate) fn extract_timestamp(
    value: &ScalarValue,
    ty: &SqlType,
    format: Option<&str>,
) -> Option<i64> {
    match (value, ty) {
        (ScalarValue::Int64(Some(v)), _) => Some(*v),
        (ScalarValue::TimestampMillisecond(Some(v), _), _) => Some(*v),
        (ScalarValue::Utf8(Some(s)), SqlType::String) => {
            crate::functions::datetime::TimestampFormat::new(format?)
                .ok()?
                .parse(s)
                .ok()
        }
        _ => None,
    }
}
