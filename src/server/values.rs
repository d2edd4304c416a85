//! Row values as ksqlDB's REST API writes them: JSON, with TIMESTAMP, DATE and TIME as text.

use chrono::{DateTime, NaiveDate, NaiveTime};
use datafusion::common::ScalarValue;
use serde_json::Value;

use crate::format::json::scalar_to_json;
use crate::types::SqlType;

/// One column value of a result row.
pub fn rest_value(value: &ScalarValue, ty: &SqlType) -> Value {
    if value.is_null() {
        return Value::Null;
    }
    match (value, ty) {
        (ScalarValue::TimestampMillisecond(Some(ms), _), _) => DateTime::from_timestamp_millis(*ms)
            .map(|d| Value::String(d.format("%Y-%m-%dT%H:%M:%S%.3f").to_string()))
            .unwrap_or(Value::Null),
        (ScalarValue::Date32(Some(days)), _) => NaiveDate::from_ymd_opt(1970, 1, 1)
            .and_then(|e| e.checked_add_signed(chrono::Duration::days(*days as i64)))
            .map(|d| Value::String(d.format("%Y-%m-%d").to_string()))
            .unwrap_or(Value::Null),
        (ScalarValue::Time32Millisecond(Some(ms)), _) => {
            let t = NaiveTime::MIN + chrono::Duration::milliseconds(*ms as i64);
            Value::String(t.format("%H:%M:%S").to_string())
        }
        _ => scalar_to_json(value, ty).unwrap_or(Value::Null),
    }
}

/// A result's schema as ksqlDB's header shows it: `` `ID` STRING KEY, `V` INTEGER ``.
pub fn schema_text(columns: &[crate::engine::transient::ResultColumn], mark_keys: bool) -> String {
    columns
        .iter()
        .map(|c| {
            format!(
                "{} {}{}",
                crate::types::quote_identifier(&c.name),
                c.ty,
                if mark_keys && c.key { " KEY" } else { "" }
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}
