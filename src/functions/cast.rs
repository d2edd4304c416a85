//! CAST with ksqlDB's (Java's) semantics: narrowing integers wrap, doubles truncate and
//! saturate, strings are parsed leniently, and everything renders to STRING as ksqlDB prints it
//! (`1.0E10`, `[1, 2]`, `{k=v}`, `Struct{A=1}`). A value that can't be converted is an error for
//! that row, which the query nulls and logs.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime};
use datafusion::arrow::array::{Array, ArrayRef, StructArray};
use datafusion::arrow::compute::{CastOptions, cast_with_options};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{DataFusionError, Result as DfResult, ScalarValue};

use super::util::to_array;
use crate::format::text::{
    BigDecimal, base64_encode, java_double_to_string, parse_java_boolean, parse_java_double,
};
use crate::types::SqlType;

const MILLIS_PER_DAY: i64 = 86_400_000;

/// The CAST kernel: the source type is read off the argument, the target is the return type.
pub fn cast(args: &[ArrayRef], return_type: &DataType) -> DfResult<ArrayRef> {
    let input = &args[0];
    let (Some(from), Some(to)) = (
        SqlType::from_arrow(input.data_type()),
        SqlType::from_arrow(return_type),
    ) else {
        return Ok(datafusion::arrow::compute::cast(input, return_type)?);
    };
    if from == to {
        return Ok(input.clone());
    }
    if arrow_matches_java(&from, &to) {
        let options = CastOptions {
            safe: false,
            ..Default::default()
        };
        return Ok(cast_with_options(input, return_type, &options)?);
    }
    let mut out = Vec::with_capacity(input.len());
    for row in 0..input.len() {
        let value = ScalarValue::try_from_array(input, row)?;
        out.push(cast_scalar(&value, &from, &to).map_err(DataFusionError::Execution)?);
    }
    to_array(out, return_type)
}

/// Conversions where Arrow's cast gives exactly what Java gives.
fn arrow_matches_java(from: &SqlType, to: &SqlType) -> bool {
    use SqlType::*;
    matches!(
        (from, to),
        (Int, Bigint | Double)
            | (Bigint, Double)
            | (Int | Bigint, String)
            | (Boolean, String)
            | (Decimal { .. }, Double)
    )
}

/// Converts one value.
pub fn cast_scalar(
    value: &ScalarValue,
    from: &SqlType,
    to: &SqlType,
) -> Result<ScalarValue, String> {
    if value.is_null() {
        return ScalarValue::try_from(&to.to_arrow()).map_err(|e| e.to_string());
    }
    use SqlType as T;
    let fail = || {
        format!(
            "Cannot cast {from} value {} to {to}",
            render(value, from).unwrap_or_default()
        )
    };
    Ok(match (value, to) {
        (_, T::String) => ScalarValue::Utf8(Some(render(value, from)?)),
        (ScalarValue::Utf8(Some(s)), t) => parse(s, t)?,
        (ScalarValue::Int32(Some(v)), t) => from_i64(*v as i64, t).ok_or_else(fail)?,
        (ScalarValue::Int64(Some(v)), t) => from_i64(*v, t).ok_or_else(fail)?,
        (ScalarValue::Float64(Some(v)), t) => from_f64(*v, t)?,
        (ScalarValue::Decimal128(Some(v), _, s), t) => {
            // Java's `BigDecimal.intValue()` / `longValue()`: the integer part, truncated
            // toward zero, then its low 32 or 64 bits (the wrap is Java's).
            let integer = if *s >= 0 {
                v / 10i128.pow(u32::from(s.unsigned_abs()))
            } else {
                v.wrapping_mul(10i128.wrapping_pow(u32::from(s.unsigned_abs())))
            };
            match t {
                T::Int => ScalarValue::Int32(Some(integer as i32)),
                T::Bigint => ScalarValue::Int64(Some(integer as i64)),
                T::Double => ScalarValue::Float64(Some(BigDecimal::from_unscaled(*v, *s).to_f64())),
                T::Decimal { precision, scale } => ScalarValue::Decimal128(
                    Some(
                        BigDecimal::from_unscaled(*v, *s)
                            .to_decimal128_rounded(*precision, *scale)?,
                    ),
                    *precision,
                    *scale as i8,
                ),
                _ => return Err(fail()),
            }
        }
        (ScalarValue::TimestampMillisecond(Some(ms), _), T::Date) => {
            let days = i32::try_from(ms.div_euclid(MILLIS_PER_DAY))
                .map_err(|_| format!("Timestamp {ms} is out of the range of DATE"))?;
            ScalarValue::Date32(Some(days))
        }
        (ScalarValue::TimestampMillisecond(Some(ms), _), T::Time) => {
            ScalarValue::Time32Millisecond(Some(ms.rem_euclid(MILLIS_PER_DAY) as i32))
        }
        (ScalarValue::Date32(Some(d)), T::Timestamp) => {
            ScalarValue::TimestampMillisecond(Some(*d as i64 * MILLIS_PER_DAY), None)
        }
        (ScalarValue::List(list), T::Array(item)) => {
            let T::Array(from_item) = from else {
                return Err(fail());
            };
            let values = list.value(0);
            let mut out = Vec::with_capacity(values.len());
            for i in 0..values.len() {
                let v = ScalarValue::try_from_array(&values, i).map_err(|e| e.to_string())?;
                out.push(cast_scalar(&v, from_item, item)?);
            }
            ScalarValue::List(ScalarValue::new_list_nullable(&out, &item.to_arrow()))
        }
        (ScalarValue::Map(_), T::Map(..)) | (ScalarValue::Struct(_), T::Struct(_)) => {
            // Nested conversions go through the array kernel, one row at a time.
            let array = value.to_array().map_err(|e| e.to_string())?;
            let converted = cast_nested(&array, from, to)?;
            ScalarValue::try_from_array(&converted, 0).map_err(|e| e.to_string())?
        }
        _ => return Err(fail()),
    })
}

/// Casts map and struct arrays element by element.
fn cast_nested(array: &ArrayRef, from: &SqlType, to: &SqlType) -> Result<ArrayRef, String> {
    match (from, to) {
        (SqlType::Struct(ff), SqlType::Struct(tf)) => {
            let structs = array
                .as_any()
                .downcast_ref::<StructArray>()
                .ok_or("not a struct")?;
            let DataType::Struct(fields) = to.to_arrow() else {
                return Err("not a struct type".to_string());
            };
            let mut columns = Vec::with_capacity(tf.len());
            for t in tf {
                let column = match ff.iter().position(|f| f.name == t.name) {
                    Some(i) => cast(&[structs.column(i).clone()], &t.ty.to_arrow())
                        .map_err(|e| e.to_string())?,
                    None => datafusion::arrow::array::new_null_array(&t.ty.to_arrow(), array.len()),
                };
                columns.push(column);
            }
            Ok(Arc::new(
                StructArray::try_new(fields, columns, structs.nulls().cloned())
                    .map_err(|e| e.to_string())?,
            ))
        }
        (SqlType::Map(..), SqlType::Map(..)) => {
            let maps = array
                .as_any()
                .downcast_ref::<datafusion::arrow::array::MapArray>()
                .ok_or("not a map")?;
            let map_type = to.to_arrow();
            let (key_type, value_type) =
                crate::types::map::entry_types(&map_type).ok_or("not a map type")?;
            let keys = cast(&[crate::types::map::keys(maps).clone()], key_type)
                .map_err(|e| e.to_string())?;
            let values = cast(&[maps.values().clone()], value_type).map_err(|e| e.to_string())?;
            Ok(Arc::new(
                crate::types::map::new_map(
                    &map_type,
                    maps.offsets().clone(),
                    keys,
                    values,
                    maps.nulls().cloned(),
                )
                .map_err(|e| e.to_string())?,
            ))
        }
        _ => Err(format!("Cannot cast {from} to {to}")),
    }
}

fn from_i64(v: i64, to: &SqlType) -> Option<ScalarValue> {
    Some(match to {
        SqlType::Int => ScalarValue::Int32(Some(v as i32)),
        SqlType::Bigint => ScalarValue::Int64(Some(v)),
        SqlType::Double => ScalarValue::Float64(Some(v as f64)),
        SqlType::Decimal { precision, scale } => {
            let d = BigDecimal::from_unscaled(v as i128, 0);
            ScalarValue::Decimal128(
                Some(d.to_decimal128(*precision, *scale).ok()?),
                *precision,
                *scale as i8,
            )
        }
        SqlType::Timestamp => ScalarValue::TimestampMillisecond(Some(v), None),
        _ => return None,
    })
}

fn from_f64(v: f64, to: &SqlType) -> Result<ScalarValue, String> {
    Ok(match to {
        // Java's (int)/(long) conversions: truncate toward zero, saturate, NaN is 0.
        SqlType::Int => ScalarValue::Int32(Some(v as i32)),
        SqlType::Bigint => ScalarValue::Int64(Some(v as i64)),
        SqlType::Decimal { precision, scale } => {
            let text = java_double_to_string(v);
            let d = BigDecimal::parse(&text)
                .or_else(|| BigDecimal::parse(&format!("{v}")))
                .ok_or_else(|| format!("Cannot cast {text} to {to}"))?;
            ScalarValue::Decimal128(
                Some(d.to_decimal128_rounded(*precision, *scale)?),
                *precision,
                *scale as i8,
            )
        }
        _ => return Err(format!("Cannot cast DOUBLE to {to}")),
    })
}

fn parse(s: &str, to: &SqlType) -> Result<ScalarValue, String> {
    let t = s.trim();
    let bad = || format!("Cannot cast '{s}' to {to}");
    Ok(match to {
        SqlType::Boolean => ScalarValue::Boolean(Some(parse_java_boolean(t))),
        SqlType::Int => ScalarValue::Int32(Some(t.parse::<i32>().map_err(|_| bad())?)),
        SqlType::Bigint => ScalarValue::Int64(Some(t.parse::<i64>().map_err(|_| bad())?)),
        SqlType::Double => ScalarValue::Float64(Some(parse_java_double(t).ok_or_else(bad)?)),
        SqlType::Decimal { precision, scale } => {
            let d = BigDecimal::parse(t).ok_or_else(bad)?;
            ScalarValue::Decimal128(
                Some(d.to_decimal128_rounded(*precision, *scale)?),
                *precision,
                *scale as i8,
            )
        }
        SqlType::Bytes => ScalarValue::Binary(Some(t.as_bytes().to_vec())),
        SqlType::Date => {
            let d = NaiveDate::parse_from_str(t, "%Y-%m-%d").map_err(|_| bad())?;
            let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).ok_or_else(bad)?;
            ScalarValue::Date32(Some((d - epoch).num_days() as i32))
        }
        SqlType::Time => {
            let time = NaiveTime::parse_from_str(t, "%H:%M:%S%.f")
                .or_else(|_| NaiveTime::parse_from_str(t, "%H:%M"))
                .map_err(|_| bad())?;
            let ms = time
                .signed_duration_since(NaiveTime::MIN)
                .num_milliseconds();
            ScalarValue::Time32Millisecond(Some(ms as i32))
        }
        SqlType::Timestamp => {
            let ms = DateTime::parse_from_rfc3339(t)
                .map(|d| d.timestamp_millis())
                .or_else(|_| {
                    NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f")
                        .or_else(|_| NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M"))
                        .map(|d| d.and_utc().timestamp_millis())
                })
                .map_err(|_| bad())?;
            ScalarValue::TimestampMillisecond(Some(ms), None)
        }
        _ => return Err(bad()),
    })
}

/// A value as ksqlDB's CAST(… AS STRING) prints it.
pub fn render(value: &ScalarValue, ty: &SqlType) -> Result<String, String> {
    if value.is_null() {
        return Ok("null".to_string());
    }
    Ok(match (value, ty) {
        (ScalarValue::Boolean(Some(b)), _) => b.to_string(),
        (ScalarValue::Int32(Some(v)), _) => v.to_string(),
        (ScalarValue::Int64(Some(v)), _) => v.to_string(),
        (ScalarValue::Float64(Some(v)), _) => java_double_to_string(*v),
        (ScalarValue::Decimal128(Some(v), _, s), _) => {
            BigDecimal::from_unscaled(*v, *s).to_plain_string()
        }
        (ScalarValue::Utf8(Some(s)), _) => s.clone(),
        (ScalarValue::Binary(Some(b)), _) => base64_encode(b),
        (ScalarValue::Date32(Some(d)), _) => {
            let date = NaiveDate::from_ymd_opt(1970, 1, 1)
                .and_then(|e| e.checked_add_signed(chrono::Duration::days(*d as i64)))
                .ok_or("date out of range")?;
            date.format("%Y-%m-%d").to_string()
        }
        (ScalarValue::Time32Millisecond(Some(ms)), _) => {
            // Java's `LocalTime.toString()`: seconds only when set, milliseconds only when set.
            let time = NaiveTime::MIN + chrono::Duration::milliseconds(*ms as i64);
            match (ms % 60_000, ms % 1000) {
                (0, _) => time.format("%H:%M").to_string(),
                (_, 0) => time.format("%H:%M:%S").to_string(),
                _ => time.format("%H:%M:%S%.3f").to_string(),
            }
        }
        (ScalarValue::TimestampMillisecond(Some(ms), _), _) => DateTime::from_timestamp_millis(*ms)
            .ok_or("timestamp out of range")?
            .format("%Y-%m-%dT%H:%M:%S%.3f")
            .to_string(),
        (ScalarValue::List(list), SqlType::Array(item)) => {
            let values = list.value(0);
            let mut parts = Vec::with_capacity(values.len());
            for i in 0..values.len() {
                let v = ScalarValue::try_from_array(&values, i).map_err(|e| e.to_string())?;
                parts.push(render(&v, item)?);
            }
            format!("[{}]", parts.join(", "))
        }
        (ScalarValue::Map(map), SqlType::Map(k, v)) => {
            let entries = map.value(0);
            let mut parts = Vec::with_capacity(entries.len());
            for i in 0..entries.len() {
                let key = ScalarValue::try_from_array(crate::types::map::entry_keys(&entries), i)
                    .map_err(|e| e.to_string())?;
                let val =
                    ScalarValue::try_from_array(entries.column(1), i).map_err(|e| e.to_string())?;
                parts.push(format!("{}={}", render(&key, k)?, render(&val, v)?));
            }
            format!("{{{}}}", parts.join(", "))
        }
        (ScalarValue::Struct(s), SqlType::Struct(fields)) => {
            let mut parts = Vec::new();
            for (i, f) in fields.iter().enumerate() {
                let v = ScalarValue::try_from_array(s.column(i), 0).map_err(|e| e.to_string())?;
                if !v.is_null() {
                    parts.push(format!("{}={}", f.name, render(&v, &f.ty)?));
                }
            }
            format!("Struct{{{}}}", parts.join(","))
        }
        (other, _) => other.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_to_integers_keeps_javas_low_bits() {
        let decimal = SqlType::Decimal {
            precision: 21,
            scale: 1,
        };
        // 10^20 + 0.9: the integer part is 10^20, past 64 bits.
        let value = ScalarValue::Decimal128(Some(1_000_000_000_000_000_000_009), 21, 1);
        assert_eq!(
            cast_scalar(&value, &decimal, &SqlType::Bigint),
            Ok(ScalarValue::Int64(Some(7_766_279_631_452_241_920)))
        );
        assert_eq!(
            cast_scalar(&value, &decimal, &SqlType::Int),
            Ok(ScalarValue::Int32(Some(1_661_992_960)))
        );
        let negative = ScalarValue::Decimal128(Some(-129), 4, 1);
        let small = SqlType::Decimal {
            precision: 4,
            scale: 1,
        };
        assert_eq!(
            cast_scalar(&negative, &small, &SqlType::Int),
            Ok(ScalarValue::Int32(Some(-12)))
        );
    }
}
