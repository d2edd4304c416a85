//! Records to Arrow: the key, value, headers and pseudo columns of a batch of records decoded
//! into the columns of a query's scope.

use datafusion::arrow::array::new_empty_array;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;

use super::builder::ColumnBuilder;
use super::{ExecError, Headers, batch_of};
use crate::catalog::Source;
use crate::format::{self, Cell};
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

/// Where a source column's value comes from in a record.
#[derive(Clone, Copy)]
enum Origin {
    Key(usize),
    Value(usize),
    Header,
}

/// Decodes `records` for `source`. Records that can't be decoded are returned in `errors`
/// with the reason, and left out of the batch.
///
/// Each record is read into reusable cells first and appended to the column builders only once
/// every check has passed, so a skipped record leaves nothing behind.
/// A record that could not be decoded, and why.
#[derive(Debug)]
pub struct Undecoded<'r> {
    pub record: &'r Record,
    /// The part that could not be read; `None` when the record was read but is unusable (a
    /// table record without a key, an invalid timestamp).
    pub target: Option<Target>,
    pub message: String,
}

/// A record's key or value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Key,
    Value,
}

impl Target {
    /// The word ksqlDB's processing log uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Key => "key",
            Target::Value => "value",
        }
    }
}

fn undecoded(record: &Record, target: Option<Target>, message: String) -> Undecoded<'_> {
    Undecoded {
        record,
        target,
        message,
    }
}

pub fn decode<'r>(
    source: &Source,
    scope: &Scope,
    records: &'r [Record],
    options: &DecodeOptions,
    read: Option<&[bool]>,
    errors: &mut Vec<Undecoded<'r>>,
) -> Result<Option<DecodedBatch>, ExecError> {
    let key_columns = source.key_columns();
    let value_columns = source.value_columns();
    let mut key_reader =
        format::RowReader::new(&source.key_format, &key_columns, key_columns.len() > 1);
    let mut value_reader =
        format::RowReader::new(&source.value_format, &value_columns, source.value_wrapped());
    let (mut keys_seen, mut values_seen) = (0, 0);
    let origins: Vec<Origin> = source
        .schema
        .columns
        .iter()
        .map(|column| match column.kind {
            ColumnKind::Key => {
                keys_seen += 1;
                Origin::Key(keys_seen - 1)
            }
            ColumnKind::Value => {
                values_seen += 1;
                Origin::Value(values_seen - 1)
            }
            ColumnKind::Header => Origin::Header,
        })
        .collect();
    let timestamp_column = source.timestamp_column.as_ref().and_then(|name| {
        let index = source.schema.columns.iter().position(|c| &c.name == name)?;
        Some((index, name))
    });
    // Columns the query never reads are still decoded (a bad value skips the record, as in
    // ksqlDB) but not built.
    let mut builders: Vec<ColumnBuilder> = scope
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| match read.and_then(|r| r.get(i)) {
            Some(false) => ColumnBuilder::unread(&c.ty),
            _ => ColumnBuilder::new(&c.ty, records.len()),
        })
        .collect();
    let mut key_cells: Vec<Cell<'r>> = Vec::with_capacity(key_columns.len());
    let mut value_cells: Vec<Cell<'r>> = Vec::with_capacity(value_columns.len());
    let mut headers = Vec::with_capacity(records.len());
    let mut tombstone = Vec::with_capacity(records.len());
    let mut null_key = Vec::with_capacity(records.len());
    let mut positions = Vec::with_capacity(records.len());

    for record in records {
        if source.kind == SourceKind::Table && record.key.is_none() {
            errors.push(undecoded(
                record,
                None,
                "Skipping a table record with a null key".to_string(),
            ));
            continue;
        }
        // A windowed key carries its window after the key bytes.
        let (key_bytes, window) = match (&source.window, record.key.as_deref()) {
            (Some(info), Some(bytes)) => match split_window(bytes, info) {
                Some((k, w)) => (Some(k), Some(w)),
                None => {
                    errors.push(undecoded(
                        record,
                        Some(Target::Key),
                        "Failed to deserialize windowed key: too short".to_string(),
                    ));
                    continue;
                }
            },
            (_, bytes) => (bytes, None),
        };
        let has_key = match key_reader.read(key_bytes, &mut key_cells) {
            Ok(present) => present,
            Err(e) => {
                errors.push(undecoded(
                    record,
                    Some(Target::Key),
                    format!("Failed to deserialize key: {e}"),
                ));
                continue;
            }
        };
        let has_value = match value_reader.read(record.value.as_deref(), &mut value_cells) {
            Ok(present) => present,
            Err(e) => {
                errors.push(undecoded(
                    record,
                    Some(Target::Value),
                    format!("Failed to deserialize value: {e}"),
                ));
                continue;
            }
        };
        let cell_of = |origin: Origin| -> Option<&Cell<'r>> {
            match origin {
                Origin::Key(i) if has_key => key_cells.get(i),
                Origin::Value(i) if has_value => value_cells.get(i),
                _ => None,
            }
        };
        let mut timestamp = record.timestamp;
        if let Some((index, name)) = timestamp_column
            && has_value
        {
            let column = &source.schema.columns[index];
            let value = cell_of(origins[index])
                .map(|cell| cell.to_scalar(&column.ty))
                .unwrap_or(ScalarValue::Null);
            match extract_timestamp(&value, &column.ty, source.timestamp_format.as_deref()) {
                Some(t) => timestamp = t,
                None => {
                    if options.throw_on_invalid_timestamp {
                        return Err(ExecError::Fatal(format!(
                            "Fatal user code error in TimestampExtractor callback for record (partition {}, offset {}): invalid timestamp in column {name}",
                            record.partition, record.offset
                        )));
                    }
                    let message = format!("Invalid timestamp in column {name}");
                    errors.push(undecoded(record, None, message));
                    continue;
                }
            }
        }
        if timestamp < 0 {
            let message = format!("Invalid negative timestamp: {timestamp}");
            errors.push(undecoded(record, None, message));
            continue;
        }

        let mut builders = builders.iter_mut();
        for ((column, origin), builder) in source
            .schema
            .columns
            .iter()
            .zip(&origins)
            .zip(&mut builders)
        {
            if builder.is_unread() {
                builder.append(Cell::Null, &column.ty)?;
                continue;
            }
            let cell = match *origin {
                Origin::Key(i) if has_key => key_cells.get_mut(i).map(std::mem::take),
                Origin::Value(i) if has_value => value_cells.get_mut(i).map(std::mem::take),
                Origin::Header if !builder.is_unread() => Some(Cell::Scalar(Box::new(
                    header_value(record, column.header_key.as_deref()),
                ))),
                _ => None,
            };
            builder.append(cell.unwrap_or_default(), &column.ty)?;
        }
        let mut system = |cell: Cell<'r>| -> Result<(), ExecError> {
            match builders.next() {
                Some(builder) => builder.append(cell, &SqlType::Bigint),
                None => Err(ExecError::Internal("scope without system columns".into())),
            }
        };
        if source.window.is_some() {
            let (start, end) = match window {
                Some((s, e)) => (Cell::Long(s), Cell::Long(e)),
                None => (Cell::Null, Cell::Null),
            };
            system(start)?;
            system(end)?;
        }
        system(Cell::Long(timestamp))?;
        system(Cell::Int(record.partition as i32))?;
        system(Cell::Long(record.offset as i64))?;
        headers.push(record.headers.clone());
        tombstone.push(!has_value);
        null_key.push(record.key.is_none());
        positions.push((record.partition, record.offset));
    }
    if positions.is_empty() {
        return Ok(None);
    }
    let rows = positions.len();
    let arrays = builders
        .into_iter()
        .map(ColumnBuilder::finish)
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
