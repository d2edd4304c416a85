//! SQL types as ksqlDB names them, and their Arrow representation.
//!
//! Every value in Sluice travels as an Arrow array; [`SqlType::to_arrow`] fixes the mapping, and
//! [`SqlType::from_arrow`] recovers the SQL type of an expression's result.

pub mod codec;
pub mod coercion;
pub mod map;
pub mod time;

pub use coercion::{can_widen, common_type};

use std::fmt;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field as ArrowField, TimeUnit};

/// The largest precision Sluice computes with: DECIMAL values are Arrow `Decimal128`.
pub const MAX_DECIMAL_PRECISION: u8 = 38;

/// The largest precision a DECIMAL may be declared with. Wider declarations than
/// [`MAX_DECIMAL_PRECISION`] plan (their types resolve, their errors read as ksqlDB's) but a
/// query or insert that would read or write one is refused; see [`SqlType::wide_decimal`].
pub const MAX_DECLARED_DECIMAL_PRECISION: u8 = 76;

/// A ksqlDB SQL type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SqlType {
    Boolean,
    Int,
    Bigint,
    Double,
    Decimal { precision: u8, scale: u8 },
    String,
    Bytes,
    Date,
    Time,
    Timestamp,
    Array(Box<SqlType>),
    Map(Box<SqlType>, Box<SqlType>),
    Struct(Vec<StructField>),
}

/// One named field of a STRUCT.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StructField {
    pub name: String,
    pub ty: SqlType,
}

impl SqlType {
    pub fn decimal(precision: u8, scale: u8) -> SqlType {
        SqlType::Decimal { precision, scale }
    }

    pub fn is_numeric(&self) -> bool {
        matches!(
            self,
            SqlType::Int | SqlType::Bigint | SqlType::Double | SqlType::Decimal { .. }
        )
    }

    pub fn is_primitive(&self) -> bool {
        !matches!(
            self,
            SqlType::Array(_) | SqlType::Map(..) | SqlType::Struct(_)
        )
    }

    /// True when the type is, or contains, a MAP.
    pub fn contains_map(&self) -> bool {
        match self {
            SqlType::Map(..) => true,
            SqlType::Array(inner) => inner.contains_map(),
            SqlType::Struct(fields) => fields.iter().any(|f| f.ty.contains_map()),
            _ => false,
        }
    }

    /// A DECIMAL read from a schema, its parameters checked as ksqlDB's
    /// `DecimalUtil.validateParameters` checks them.
    pub fn checked_decimal(precision: u8, scale: u8) -> Result<SqlType, String> {
        if precision < 1 {
            return Err(format!(
                "DECIMAL precision must be >= 1: DECIMAL({precision},{scale})"
            ));
        }
        if scale > precision {
            return Err(format!(
                "DECIMAL scale must be <= precision: DECIMAL({precision},{scale})"
            ));
        }
        Ok(SqlType::Decimal { precision, scale })
    }

    /// The first DECIMAL in this type (itself or nested) that is wider than Sluice computes
    /// with, if any.
    pub fn wide_decimal(&self) -> Option<&SqlType> {
        match self {
            SqlType::Decimal { precision, .. } if *precision > MAX_DECIMAL_PRECISION => Some(self),
            SqlType::Array(inner) => inner.wide_decimal(),
            SqlType::Map(key, value) => key.wide_decimal().or_else(|| value.wide_decimal()),
            SqlType::Struct(fields) => fields.iter().find_map(|f| f.ty.wide_decimal()),
            _ => None,
        }
    }

    /// The Arrow type values of this SQL type are stored as.
    pub fn to_arrow(&self) -> DataType {
        match self {
            SqlType::Boolean => DataType::Boolean,
            SqlType::Int => DataType::Int32,
            SqlType::Bigint => DataType::Int64,
            SqlType::Double => DataType::Float64,
            SqlType::Decimal { precision, scale } if *precision > MAX_DECIMAL_PRECISION => {
                DataType::Decimal256(*precision, *scale as i8)
            }
            SqlType::Decimal { precision, scale } => DataType::Decimal128(*precision, *scale as i8),
            SqlType::String => DataType::Utf8,
            SqlType::Bytes => DataType::Binary,
            SqlType::Date => DataType::Date32,
            SqlType::Time => DataType::Time32(TimeUnit::Millisecond),
            SqlType::Timestamp => DataType::Timestamp(TimeUnit::Millisecond, None),
            SqlType::Array(inner) => {
                DataType::List(Arc::new(ArrowField::new("item", inner.to_arrow(), true)))
            }
            SqlType::Map(key, value) => map::arrow_type(key.to_arrow(), value.to_arrow()),
            SqlType::Struct(fields) => DataType::Struct(
                fields
                    .iter()
                    .map(|f| ArrowField::new(&f.name, f.ty.to_arrow(), true))
                    .collect::<Vec<_>>()
                    .into(),
            ),
        }
    }

    /// The SQL type of an Arrow type, when it has one.
    pub fn from_arrow(data_type: &DataType) -> Option<SqlType> {
        Some(match data_type {
            DataType::Boolean => SqlType::Boolean,
            DataType::Int8 | DataType::Int16 | DataType::Int32 => SqlType::Int,
            DataType::Int64 => SqlType::Bigint,
            DataType::Float32 | DataType::Float64 => SqlType::Double,
            DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => {
                SqlType::decimal(*p, (*s).max(0) as u8)
            }
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => SqlType::String,
            DataType::Binary | DataType::LargeBinary | DataType::BinaryView => SqlType::Bytes,
            DataType::Date32 => SqlType::Date,
            DataType::Time32(_) | DataType::Time64(_) => SqlType::Time,
            DataType::Timestamp(_, _) => SqlType::Timestamp,
            DataType::List(f) | DataType::LargeList(f) => {
                SqlType::Array(Box::new(SqlType::from_arrow(f.data_type())?))
            }
            DataType::Map(..) => {
                let (key, value) = map::entry_types(data_type)?;
                SqlType::Map(
                    Box::new(SqlType::from_arrow(key)?),
                    Box::new(SqlType::from_arrow(value)?),
                )
            }
            DataType::Struct(fields) => SqlType::Struct(
                fields
                    .iter()
                    .map(|f| {
                        Some(StructField {
                            name: f.name().clone(),
                            ty: SqlType::from_arrow(f.data_type())?,
                        })
                    })
                    .collect::<Option<Vec<_>>>()?,
            ),
            DataType::Null => SqlType::String,
            _ => return None,
        })
    }

    /// The precision and scale a value of this type needs as a DECIMAL (ksqlDB's widening).
    pub fn as_decimal(&self) -> Option<(u8, u8)> {
        match self {
            SqlType::Int => Some((10, 0)),
            SqlType::Bigint => Some((19, 0)),
            SqlType::Decimal { precision, scale } => Some((*precision, *scale)),
            _ => None,
        }
    }
}

impl fmt::Display for SqlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SqlType::Boolean => f.write_str("BOOLEAN"),
            SqlType::Int => f.write_str("INTEGER"),
            SqlType::Bigint => f.write_str("BIGINT"),
            SqlType::Double => f.write_str("DOUBLE"),
            SqlType::Decimal { precision, scale } => write!(f, "DECIMAL({precision}, {scale})"),
            SqlType::String => f.write_str("STRING"),
            SqlType::Bytes => f.write_str("BYTES"),
            SqlType::Date => f.write_str("DATE"),
            SqlType::Time => f.write_str("TIME"),
            SqlType::Timestamp => f.write_str("TIMESTAMP"),
            SqlType::Array(inner) => write!(f, "ARRAY<{inner}>"),
            SqlType::Map(k, v) => write!(f, "MAP<{k}, {v}>"),
            SqlType::Struct(fields) => {
                f.write_str("STRUCT<")?;
                for (i, field) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{} {}", quote_identifier(&field.name), field.ty)?;
                }
                f.write_str(">")
            }
        }
    }
}

/// Renders an identifier as ksqlDB prints it in schemas: always back-quoted.
pub fn quote_identifier(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// What part of a record a column comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnKind {
    Key,
    Value,
    /// HEADERS, or a column bound to one header with `HEADER('name')`.
    Header,
}

/// A column of a stream or table.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Column {
    pub name: String,
    pub ty: SqlType,
    pub kind: ColumnKind,
    /// For a column declared `HEADER('k')`: the header key it is bound to.
    pub header_key: Option<String>,
}

impl Column {
    pub fn key(name: impl Into<String>, ty: SqlType) -> Column {
        Column {
            name: name.into(),
            ty,
            kind: ColumnKind::Key,
            header_key: None,
        }
    }

    pub fn value(name: impl Into<String>, ty: SqlType) -> Column {
        Column {
            name: name.into(),
            ty,
            kind: ColumnKind::Value,
            header_key: None,
        }
    }
}

/// The logical schema of a source: key columns first, then value (and header) columns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schema {
    pub columns: Vec<Column>,
}

impl Schema {
    pub fn new(columns: Vec<Column>) -> Schema {
        Schema { columns }
    }

    pub fn key_columns(&self) -> impl Iterator<Item = &Column> {
        self.columns.iter().filter(|c| c.kind == ColumnKind::Key)
    }

    pub fn value_columns(&self) -> impl Iterator<Item = &Column> {
        self.columns.iter().filter(|c| c.kind == ColumnKind::Value)
    }

    pub fn header_columns(&self) -> impl Iterator<Item = &Column> {
        self.columns.iter().filter(|c| c.kind == ColumnKind::Header)
    }

    pub fn find(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// ksqlDB's rendering, e.g. `` `ID` BIGINT KEY, `NAME` STRING ``.
    pub fn to_sql(&self) -> String {
        self.columns
            .iter()
            .map(|c| {
                let suffix = match (c.kind, &c.header_key) {
                    (ColumnKind::Key, _) => " KEY".to_string(),
                    (ColumnKind::Header, Some(k)) => format!(" HEADER('{k}')"),
                    (ColumnKind::Header, None) => " HEADERS".to_string(),
                    (ColumnKind::Value, _) => String::new(),
                };
                format!("{} {}{}", quote_identifier(&c.name), c.ty, suffix)
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The type of the HEADERS pseudo column: `ARRAY<STRUCT<KEY STRING, VALUE BYTES>>`.
pub fn headers_type() -> SqlType {
    SqlType::Array(Box::new(SqlType::Struct(vec![
        StructField {
            name: "KEY".into(),
            ty: SqlType::String,
        },
        StructField {
            name: "VALUE".into(),
            ty: SqlType::Bytes,
        },
    ])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_ksqldb() {
        let t = SqlType::Struct(vec![StructField {
            name: "A".into(),
            ty: SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::decimal(4, 2))),
        }]);
        assert_eq!(t.to_string(), "STRUCT<`A` MAP<STRING, DECIMAL(4, 2)>>");
    }

    #[test]
    fn arrow_round_trip() {
        for t in [
            SqlType::Int,
            SqlType::Timestamp,
            SqlType::Array(Box::new(SqlType::Bytes)),
            SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Double)),
            headers_type(),
        ] {
            assert_eq!(SqlType::from_arrow(&t.to_arrow()), Some(t));
        }
    }
}
