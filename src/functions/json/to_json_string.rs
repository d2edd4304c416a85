//! TO_JSON_STRING(value): any value as JSON text, the way ksqlDB prepares it for Jackson:
//! DATE as `"yyyy-MM-dd"`, TIME as `LocalTime.toString()` (`"16:43:40"`, or `"16:43"` on a whole
//! minute), TIMESTAMP as `"yyyy-MM-dd'T'HH:mm:ss.SSS"` in UTC, BYTES as base64, DECIMAL in plain
//! digits, DOUBLE as Java prints it (non-finite values quoted), STRUCT fields and MAP entries
//! sorted by name (map keys as Java's `toString()` of the key). A null is `null`.

use std::sync::Arc;

use base64::Engine;
use chrono::{DateTime, Datelike, NaiveDate, Timelike};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringArray};
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
    Time32MillisecondType, TimeUnit, TimestampMillisecondType,
};
use datafusion::common::{DataFusionError, Result as DfResult, ScalarValue, exec_err};
use serde_json::Value;

use super::common::{Decimal, java_string_cmp, quote_into};
use crate::format::json::{scalar_to_json, to_bytes};
use crate::functions::registry::{Overload, ScalarFunction, Signature};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "TO_JSON_STRING",
        category: "JSON",
        description: "Given any ksqlDB type returns the equivalent JSON string.",
        overloads: vec![Overload::generic("T input", resolve, kernel)],
    }
}

fn resolve(args: &[Option<SqlType>]) -> Option<Signature> {
    let [arg] = args else { return None };
    Some(Signature {
        params: vec![arg.clone().unwrap_or(SqlType::String)],
        returns: SqlType::String,
    })
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let input = &args[0];
    let out = (0..input.len())
        .map(|row| {
            let mut text = String::new();
            render(input.as_ref(), row, &mut text)?;
            Ok(Some(text))
        })
        .collect::<DfResult<StringArray>>()?;
    Ok(Arc::new(out))
}

/// Writes the value at `row` of `array` as JSON.
fn render(array: &dyn Array, row: usize, out: &mut String) -> DfResult<()> {
    if array.is_null(row) {
        out.push_str("null");
        return Ok(());
    }
    match array.data_type() {
        DataType::Null => out.push_str("null"),
        DataType::Boolean => out.push_str(if array.as_boolean().value(row) {
            "true"
        } else {
            "false"
        }),
        DataType::Int8 => out.push_str(&array.as_primitive::<Int8Type>().value(row).to_string()),
        DataType::Int16 => out.push_str(&array.as_primitive::<Int16Type>().value(row).to_string()),
        DataType::Int32 => out.push_str(&array.as_primitive::<Int32Type>().value(row).to_string()),
        DataType::Int64 => out.push_str(&array.as_primitive::<Int64Type>().value(row).to_string()),
        DataType::Float64 => {
            let v = array.as_primitive::<Float64Type>().value(row);
            let text = java_double(v)?;
            if v.is_finite() {
                out.push_str(&text);
            } else {
                quote_into(&text, out);
            }
        }
        DataType::Decimal128(_, scale) => {
            let v = array.as_primitive::<Decimal128Type>().value(row);
            out.push_str(&Decimal::from_unscaled(v, *scale as i64).plain());
        }
        DataType::Utf8 => quote_into(array.as_string::<i32>().value(row), out),
        DataType::LargeUtf8 => quote_into(array.as_string::<i64>().value(row), out),
        DataType::Binary => quote_into(&base64(array.as_binary::<i32>().value(row)), out),
        DataType::Date32 => {
            let days = array.as_primitive::<Date32Type>().value(row);
            quote_into(&local_date(days as i64)?, out);
        }
        DataType::Time32(TimeUnit::Millisecond) => {
            let millis = array.as_primitive::<Time32MillisecondType>().value(row);
            quote_into(&local_time(millis as i64), out);
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            let millis = array.as_primitive::<TimestampMillisecondType>().value(row);
            quote_into(&timestamp(millis)?, out);
        }
        DataType::List(_) => {
            let items = array.as_list::<i32>().value(row);
            out.push('[');
            for i in 0..items.len() {
                if i > 0 {
                    out.push(',');
                }
                render(items.as_ref(), i, out)?;
            }
            out.push(']');
        }
        DataType::Struct(fields) => {
            let columns = array.as_struct().columns();
            let mut order: Vec<usize> = (0..fields.len()).collect();
            order.sort_by(|a, b| java_string_cmp(fields[*a].name(), fields[*b].name()));
            out.push('{');
            for (n, i) in order.into_iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                quote_into(fields[i].name(), out);
                out.push(':');
                render(columns[i].as_ref(), row, out)?;
            }
            out.push('}');
        }
        DataType::Map(_, _) => {
            let entries = array.as_map().value(row);
            let (keys, values) = (crate::types::map::entry_keys(&entries), entries.column(1));
            // A TreeMap by the keys' text: sorted, and a later entry replaces an equal key.
            let mut sorted: Vec<(String, usize)> = Vec::with_capacity(entries.len());
            for i in 0..entries.len() {
                let key = key_text(keys.as_ref(), i)?;
                match sorted.binary_search_by(|(k, _)| java_string_cmp(k, &key)) {
                    Ok(at) => sorted[at].1 = i,
                    Err(at) => sorted.insert(at, (key, i)),
                }
            }
            out.push('{');
            for (n, (key, i)) in sorted.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                quote_into(key, out);
                out.push(':');
                render(values.as_ref(), *i, out)?;
            }
            out.push('}');
        }
        other => return exec_err!("TO_JSON_STRING cannot render a value of type {other}"),
    }
    Ok(())
}

/// A DOUBLE as Java's `Double.toString` prints it (`1.0`, `1.5E10`, `NaN`).
fn java_double(v: f64) -> DfResult<String> {
    let failed = |e: crate::format::FormatError| DataFusionError::Execution(e.to_string());
    let json = scalar_to_json(&ScalarValue::Float64(Some(v)), &SqlType::Double).map_err(failed)?;
    Ok(match json {
        Value::String(s) => s,
        number => String::from_utf8_lossy(&to_bytes(&number).map_err(failed)?).into_owned(),
    })
}

fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Java's `LocalDate.toString()` for days since the epoch.
fn local_date(days: i64) -> DfResult<String> {
    let Some(date) = NaiveDate::from_ymd_opt(1970, 1, 1)
        .and_then(|epoch| epoch.checked_add_signed(chrono::Duration::days(days)))
    else {
        return exec_err!("DATE out of range: {days}");
    };
    let year = date.year();
    let year_text = if year.abs() < 1000 {
        if year < 0 {
            format!("-{:04}", -year)
        } else {
            format!("{year:04}")
        }
    } else if year > 9999 {
        format!("+{year}")
    } else {
        year.to_string()
    };
    Ok(format!("{year_text}-{:02}-{:02}", date.month(), date.day()))
}

/// Java's `LocalTime.ofSecondOfDay(millis / 1000).toString()`: seconds only when not zero.
fn local_time(millis: i64) -> String {
    let seconds = (millis / 1000).rem_euclid(86_400);
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if s == 0 {
        format!("{h:02}:{m:02}")
    } else {
        format!("{h:02}:{m:02}:{s:02}")
    }
}

/// A TIMESTAMP formatted with `yyyy-MM-dd'T'HH:mm:ss.SSS` in UTC (year of era, `+` beyond four
/// digits).
fn timestamp(millis: i64) -> DfResult<String> {
    let Some(t) = DateTime::from_timestamp_millis(millis) else {
        return exec_err!("TIMESTAMP out of range: {millis}");
    };
    let year = t.year();
    let year_of_era = if year <= 0 { 1 - year } else { year };
    let year_text = if year_of_era > 9999 {
        format!("+{year_of_era}")
    } else {
        format!("{year_of_era:04}")
    };
    Ok(format!(
        "{year_text}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}",
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.timestamp_subsec_millis()
    ))
}

/// A map key as Java's `toString()` of the object ksqlDB holds.
fn key_text(keys: &dyn Array, i: usize) -> DfResult<String> {
    if keys.is_null(i) {
        return Ok("null".to_string());
    }
    Ok(match keys.data_type() {
        DataType::Utf8 => keys.as_string::<i32>().value(i).to_string(),
        DataType::Boolean => keys.as_boolean().value(i).to_string(),
        DataType::Int32 => keys.as_primitive::<Int32Type>().value(i).to_string(),
        DataType::Int64 => keys.as_primitive::<Int64Type>().value(i).to_string(),
        DataType::Float64 => java_double(keys.as_primitive::<Float64Type>().value(i))?,
        DataType::Decimal128(_, scale) => {
            let v = keys.as_primitive::<Decimal128Type>().value(i);
            Decimal::from_unscaled(v, *scale as i64).scientific()
        }
        DataType::Date32 => local_date(keys.as_primitive::<Date32Type>().value(i) as i64)?,
        DataType::Time32(TimeUnit::Millisecond) => {
            let millis = keys.as_primitive::<Time32MillisecondType>().value(i) as i64;
            let seconds = (millis / 1000).rem_euclid(86_400);
            format!(
                "{:02}:{:02}:{:02}",
                seconds / 3600,
                seconds / 60 % 60,
                seconds % 60
            )
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            // java.sql.Timestamp.toString(): fractional seconds without trailing zeros.
            let millis = keys.as_primitive::<TimestampMillisecondType>().value(i);
            let Some(t) = DateTime::from_timestamp_millis(millis) else {
                return exec_err!("TIMESTAMP out of range: {millis}");
            };
            let fraction = t.timestamp_subsec_millis();
            let fraction = if fraction == 0 {
                "0".to_string()
            } else {
                format!("{fraction:03}").trim_end_matches('0').to_string()
            };
            format!("{}.{fraction}", t.format("%Y-%m-%d %H:%M:%S"))
        }
        DataType::Binary => {
            let n = keys.as_binary::<i32>().value(i).len();
            format!("java.nio.HeapByteBuffer[pos=0 lim={n} cap={n}]")
        }
        _ => {
            let mut text = String::new();
            render(keys, i, &mut text)?;
            text
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_times_like_java() {
        assert_eq!(local_time(60_220_000), "16:43:40");
        assert_eq!(local_time(60_180_000), "16:43");
        assert_eq!(local_date(1000).unwrap(), "1972-09-27");
        assert_eq!(local_date(2_932_897).unwrap(), "+10000-01-01");
        assert_eq!(
            timestamp(60_220_000_000).unwrap(),
            "1971-11-28T23:46:40.000"
        );
        assert_eq!(java_double(1.5e10).unwrap(), "1.5E10");
        assert_eq!(java_double(f64::NAN).unwrap(), "NaN");
    }
}
