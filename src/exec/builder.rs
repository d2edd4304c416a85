//! Column builders for decoded records: each common SQL type appends straight into its Arrow
//! builder, so a decoded BIGINT or STRING costs no `ScalarValue` and no heap allocation; the
//! nested types collect `ScalarValue`s and are converted once per batch.

use datafusion::arrow::array::{
    ArrayBuilder, ArrayRef, BooleanBuilder, Decimal128Builder, Float64Builder, Int32Builder,
    Int64Builder, StringBuilder, TimestampMillisecondBuilder, new_empty_array, new_null_array,
};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;

use super::ExecError;
use crate::format::Cell;
use crate::types::SqlType;

/// The builder of one column of a decoded batch.
pub enum ColumnBuilder {
    Boolean(BooleanBuilder),
    Int(Int32Builder),
    Long(Int64Builder),
    Timestamp(TimestampMillisecondBuilder),
    Double(Float64Builder),
    Decimal(Decimal128Builder, DataType),
    Text(StringBuilder),
    Other(Vec<ScalarValue>, DataType),
    /// A column the query never reads: only counted, and all null.
    Unread(DataType, usize),
}

impl ColumnBuilder {
    pub fn new(ty: &SqlType, capacity: usize) -> ColumnBuilder {
        match ty {
            SqlType::Boolean => ColumnBuilder::Boolean(BooleanBuilder::with_capacity(capacity)),
            SqlType::Int => ColumnBuilder::Int(Int32Builder::with_capacity(capacity)),
            SqlType::Bigint => ColumnBuilder::Long(Int64Builder::with_capacity(capacity)),
            SqlType::Timestamp => {
                ColumnBuilder::Timestamp(TimestampMillisecondBuilder::with_capacity(capacity))
            }
            SqlType::Double => ColumnBuilder::Double(Float64Builder::with_capacity(capacity)),
            SqlType::Decimal { .. } => ColumnBuilder::Decimal(
                Decimal128Builder::with_capacity(capacity).with_data_type(ty.to_arrow()),
                ty.to_arrow(),
            ),
            SqlType::String => {
                ColumnBuilder::Text(StringBuilder::with_capacity(capacity, capacity * 16))
            }
            other => ColumnBuilder::Other(Vec::with_capacity(capacity), other.to_arrow()),
        }
    }

    /// A builder for a column the query never reads.
    pub fn unread(ty: &SqlType) -> ColumnBuilder {
        ColumnBuilder::Unread(ty.to_arrow(), 0)
    }

    pub fn is_unread(&self) -> bool {
        matches!(self, ColumnBuilder::Unread(..))
    }

    /// Appends a cell read for a column of type `ty` (this builder's type).
    pub fn append(&mut self, cell: Cell<'_>, ty: &SqlType) -> Result<(), ExecError> {
        match (self, cell) {
            (ColumnBuilder::Unread(_, count), _) => *count += 1,
            (ColumnBuilder::Other(values, _), Cell::Null) => values.push(Cell::Null.to_scalar(ty)),
            (builder, Cell::Null) => builder.append_null(),
            (ColumnBuilder::Boolean(b), Cell::Boolean(v)) => b.append_value(v),
            (ColumnBuilder::Int(b), Cell::Int(v)) => b.append_value(v),
            (ColumnBuilder::Long(b), Cell::Long(v)) => b.append_value(v),
            (ColumnBuilder::Timestamp(b), Cell::Long(v)) => b.append_value(v),
            (ColumnBuilder::Double(b), Cell::Double(v)) => b.append_value(v),
            (ColumnBuilder::Decimal(b, _), Cell::Decimal(v)) => b.append_value(v),
            (ColumnBuilder::Text(b), Cell::Text(v)) => b.append_value(v),
            (builder, Cell::Scalar(v)) => return builder.append_scalar(*v),
            (builder, other) => return builder.append_scalar(other.to_scalar(ty)),
        }
        Ok(())
    }

    fn append_null(&mut self) {
        match self {
            ColumnBuilder::Boolean(b) => b.append_null(),
            ColumnBuilder::Int(b) => b.append_null(),
            ColumnBuilder::Long(b) => b.append_null(),
            ColumnBuilder::Timestamp(b) => b.append_null(),
            ColumnBuilder::Double(b) => b.append_null(),
            ColumnBuilder::Decimal(b, _) => b.append_null(),
            ColumnBuilder::Text(b) => b.append_null(),
            ColumnBuilder::Other(values, data_type) => {
                values.push(ScalarValue::try_from(&*data_type).unwrap_or(ScalarValue::Null))
            }
            ColumnBuilder::Unread(_, count) => *count += 1,
        }
    }

    /// Appends a value of the column's type (or one that casts to it).
    pub fn append_scalar(&mut self, value: ScalarValue) -> Result<(), ExecError> {
        match (&mut *self, value) {
            (ColumnBuilder::Unread(_, count), _) => *count += 1,
            (ColumnBuilder::Other(values, _), v) => values.push(v),
            (builder, v) if v.is_null() => builder.append_null(),
            (ColumnBuilder::Boolean(b), ScalarValue::Boolean(v)) => b.append_option(v),
            (ColumnBuilder::Int(b), ScalarValue::Int32(v)) => b.append_option(v),
            (ColumnBuilder::Long(b), ScalarValue::Int64(v)) => b.append_option(v),
            (ColumnBuilder::Timestamp(b), ScalarValue::TimestampMillisecond(v, _)) => {
                b.append_option(v)
            }
            (ColumnBuilder::Double(b), ScalarValue::Float64(v)) => b.append_option(v),
            (
                ColumnBuilder::Decimal(b, DataType::Decimal128(precision, scale)),
                ScalarValue::Decimal128(v, p, s),
            ) if p == *precision && s == *scale => b.append_option(v),
            (ColumnBuilder::Text(b), ScalarValue::Utf8(v)) => b.append_option(v),
            (builder, v) => {
                let target = builder.data_type();
                let cast = v.cast_to(&target).map_err(ExecError::internal)?;
                if cast.data_type() == v.data_type() {
                    return Err(ExecError::Internal(format!(
                        "a {} value for a column of type {target}",
                        v.data_type()
                    )));
                }
                return builder.append_scalar(cast);
            }
        }
        Ok(())
    }

    fn data_type(&self) -> DataType {
        match self {
            ColumnBuilder::Boolean(_) => DataType::Boolean,
            ColumnBuilder::Int(_) => DataType::Int32,
            ColumnBuilder::Long(_) => DataType::Int64,
            ColumnBuilder::Timestamp(_) => SqlType::Timestamp.to_arrow(),
            ColumnBuilder::Double(_) => DataType::Float64,
            ColumnBuilder::Decimal(_, data_type) => data_type.clone(),
            ColumnBuilder::Text(_) => DataType::Utf8,
            ColumnBuilder::Other(_, data_type) | ColumnBuilder::Unread(data_type, _) => {
                data_type.clone()
            }
        }
    }

    pub fn finish(self) -> Result<ArrayRef, ExecError> {
        Ok(match self {
            ColumnBuilder::Boolean(mut b) => ArrayBuilder::finish(&mut b),
            ColumnBuilder::Int(mut b) => ArrayBuilder::finish(&mut b),
            ColumnBuilder::Long(mut b) => ArrayBuilder::finish(&mut b),
            ColumnBuilder::Timestamp(mut b) => ArrayBuilder::finish(&mut b),
            ColumnBuilder::Double(mut b) => ArrayBuilder::finish(&mut b),
            ColumnBuilder::Decimal(mut b, _) => ArrayBuilder::finish(&mut b),
            ColumnBuilder::Text(mut b) => ArrayBuilder::finish(&mut b),
            ColumnBuilder::Unread(data_type, count) => new_null_array(&data_type, count),
            ColumnBuilder::Other(values, data_type) => {
                if values.is_empty() {
                    return Ok(new_empty_array(&data_type));
                }
                let array = ScalarValue::iter_to_array(values).map_err(ExecError::internal)?;
                if array.data_type() != &data_type {
                    datafusion::arrow::compute::cast(&array, &data_type)
                        .map_err(ExecError::internal)?
                } else {
                    array
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::datatypes::{Decimal128Type, Int64Type};

    #[test]
    fn decimals_of_another_scale_are_rescaled() {
        let ty = SqlType::Decimal {
            precision: 5,
            scale: 2,
        };
        let mut builder = ColumnBuilder::new(&ty, 3);
        builder
            .append_scalar(ScalarValue::Decimal128(Some(15), 4, 1))
            .unwrap();
        builder.append(Cell::Decimal(250), &ty).unwrap();
        builder.append(Cell::Null, &ty).unwrap();
        let array = builder.finish().unwrap();
        let decimals = array.as_primitive::<Decimal128Type>();
        assert_eq!(decimals.value(0), 150);
        assert_eq!(decimals.value(1), 250);
        assert!(decimals.is_null(2));
    }

    #[test]
    fn cells_and_scalars_of_every_kind_build_their_column() {
        let mut longs = ColumnBuilder::new(&SqlType::Bigint, 3);
        longs.append(Cell::Long(7), &SqlType::Bigint).unwrap();
        longs.append_scalar(ScalarValue::Int32(Some(8))).unwrap();
        longs
            .append(Cell::Text("x".into()), &SqlType::Bigint)
            .unwrap_err();
        let array = longs.finish().unwrap();
        assert_eq!(
            array.as_primitive::<Int64Type>().values().to_vec(),
            vec![7, 8]
        );

        let list = SqlType::Array(Box::new(SqlType::Int));
        let mut lists = ColumnBuilder::new(&list, 2);
        lists.append(Cell::Null, &list).unwrap();
        let array = lists.finish().unwrap();
        assert_eq!(array.data_type(), &list.to_arrow());
        assert!(array.is_null(0));
    }
}
