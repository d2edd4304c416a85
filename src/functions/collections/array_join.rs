//! ARRAY_JOIN(array [, delimiter]): the elements of an array as text (as Java's `toString`,
//! `null` for a null element) joined by a delimiter (`,` by default; a null delimiter joins
//! with nothing). Only BOOLEAN, INT, BIGINT, DOUBLE, DECIMAL and STRING elements can be joined:
//! another kind of element fails the call. Null for a null array.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result as DfResult, exec_err};

use super::common::{JavaValue, array_element, array_of, java_values, list_arg, row_range};
use crate::format::text::{BigDecimal, java_double_to_string};
use crate::functions::registry::{Overload, ScalarFunction, Signature};
use crate::types::SqlType;

const DEFAULT_DELIMITER: &str = ",";

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "ARRAY_JOIN",
        category: "ARRAY",
        description: "joins the array elements into a flat string representation",
        overloads: vec![
            Overload::generic("ARRAY<T> array", resolve, kernel),
            Overload::generic("ARRAY<T> array, STRING delimiter", resolve, kernel),
        ],
    }
}

fn resolve(args: &[Option<SqlType>]) -> Option<Signature> {
    let (array, delimiter) = match args {
        [array] => (array, None),
        [array, delimiter] => (array, Some(delimiter)),
        _ => return None,
    };
    let t = array_element(array)?.unwrap_or(SqlType::String);
    let mut params = vec![array_of(&t)];
    if let Some(delimiter) = delimiter {
        if !matches!(delimiter, None | Some(SqlType::String)) {
            return None;
        }
        params.push(SqlType::String);
    }
    Some(Signature {
        params,
        returns: SqlType::String,
    })
}

/// An element as `toString` renders it, or the error ksqlDB raises for unsupported kinds.
fn render(value: &JavaValue, out: &mut String) -> DfResult<()> {
    match value {
        JavaValue::Null => out.push_str("null"),
        JavaValue::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        JavaValue::Int(v) => out.push_str(&v.to_string()),
        JavaValue::Long(v) => out.push_str(&v.to_string()),
        JavaValue::Double(bits) => out.push_str(&java_double_to_string(f64::from_bits(*bits))),
        JavaValue::Decimal(v, s) => {
            out.push_str(&BigDecimal::from_unscaled(*v, *s).to_java_string())
        }
        JavaValue::String(s) => out.push_str(s),
        other => {
            return exec_err!(
                "error: hit element of type {} which is currently not supported",
                other.class_name()
            );
        }
    }
    Ok(())
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let list = list_arg(&args[0], "ARRAY_JOIN")?;
    let delimiters = args.get(1).map(|d| d.as_string::<i32>());
    let values = java_values(list.values().as_ref())?;
    let mut out = StringBuilder::new();
    let mut text = String::new();
    for row in 0..list.len() {
        let Some((s, e)) = row_range(list, row) else {
            out.append_null();
            continue;
        };
        let delimiter = match delimiters {
            None => DEFAULT_DELIMITER,
            Some(d) if d.is_null(row) => "",
            Some(d) => d.value(row),
        };
        text.clear();
        for (n, value) in values[s..e].iter().enumerate() {
            if n > 0 {
                text.push_str(delimiter);
            }
            render(value, &mut text)?;
        }
        out.append_value(&text);
    }
    Ok(Arc::new(out.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functions::collections::common::testing::{column, int_lists};
    use datafusion::arrow::array::StringArray;
    use datafusion::common::ScalarValue;

    fn joined(args: &[ArrayRef]) -> Vec<Option<String>> {
        let out = kernel(args, &DataType::Utf8).unwrap();
        out.as_string::<i32>()
            .iter()
            .map(|s| s.map(str::to_string))
            .collect()
    }

    #[test]
    fn joins() {
        let lists = int_lists(vec![
            Some(vec![Some(1), None, Some(-42)]),
            Some(vec![]),
            None,
            Some(vec![Some(1), Some(2)]),
        ]);
        assert_eq!(
            joined(std::slice::from_ref(&lists)),
            vec![
                Some("1,null,-42".to_string()),
                Some(String::new()),
                None,
                Some("1,2".to_string())
            ]
        );
        let delimiters: ArrayRef = Arc::new(StringArray::from(vec![
            Some("|"),
            Some("|"),
            Some("|"),
            None,
        ]));
        assert_eq!(
            joined(&[lists, delimiters]),
            vec![
                Some("1|null|-42".to_string()),
                Some(String::new()),
                None,
                Some("12".to_string())
            ]
        );
    }

    #[test]
    fn renders_as_java() {
        let doubles = column(vec![ScalarValue::List(ScalarValue::new_list_nullable(
            &[
                ScalarValue::Float64(Some(0.0)),
                ScalarValue::Float64(Some(1e10)),
                ScalarValue::Float64(Some(-23.42)),
            ],
            &DataType::Float64,
        ))]);
        assert_eq!(
            joined(&[doubles]),
            vec![Some("0.0,1.0E10,-23.42".to_string())]
        );
        let dates = column(vec![ScalarValue::List(ScalarValue::new_list_nullable(
            &[ScalarValue::Date32(Some(1))],
            &DataType::Date32,
        ))]);
        assert!(kernel(&[dates], &DataType::Utf8).is_err());
    }
}
