//! Struct field access, array and map subscripts, and the ARRAY/MAP/STRUCT constructors.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StructArray, new_null_array};
use datafusion::arrow::buffer::NullBuffer;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result as DfResult, ScalarValue, exec_err};

/// `s->f`: the field named by the second (constant) argument; null where the struct is null.
pub fn get_field(args: &[ArrayRef], return_type: &DataType) -> DfResult<ArrayRef> {
    let (Some(base), Some(name)) = (args.first(), args.get(1)) else {
        return exec_err!("get_field takes a struct and a field name");
    };
    if base.is_empty() {
        return Ok(new_null_array(return_type, 0));
    }
    let name = ScalarValue::try_from_array(name, 0)?;
    let ScalarValue::Utf8(Some(name)) = name else {
        return exec_err!("get_field needs a constant field name");
    };
    let Some(structs) = base.as_struct_opt() else {
        return Ok(new_null_array(return_type, base.len()));
    };
    let Some(field) = structs.column_by_name(&name) else {
        return Ok(new_null_array(return_type, base.len()));
    };
    with_parent_nulls(field, structs.nulls())
}

/// A child array with its parent's nulls applied, so a null struct has null fields.
fn with_parent_nulls(child: &ArrayRef, parent: Option<&NullBuffer>) -> DfResult<ArrayRef> {
    let Some(parent) = parent else {
        return Ok(child.clone());
    };
    let nulls = NullBuffer::union(Some(parent), child.nulls());
    let data = child.to_data().into_builder().nulls(nulls).build()?;
    Ok(datafusion::arrow::array::make_array(data))
}

/// `a[i]` on arrays (1-based; negative counts from the end) and `m[k]` on maps. Out of range
/// or a missing key gives null, as in ksqlDB.
pub fn subscript(args: &[ArrayRef], return_type: &DataType) -> DfResult<ArrayRef> {
    let (Some(base), Some(index)) = (args.first(), args.get(1)) else {
        return exec_err!("subscript takes a container and an index");
    };
    let null = ScalarValue::try_from(return_type)?;
    let mut out = Vec::with_capacity(base.len());
    for row in 0..base.len() {
        let value = if base.is_null(row) || index.is_null(row) {
            null.clone()
        } else {
            match base.data_type() {
                DataType::List(_) => {
                    let items = base.as_list::<i32>().value(row);
                    let i = match ScalarValue::try_from_array(index, row)? {
                        ScalarValue::Int32(Some(i)) => i as i64,
                        ScalarValue::Int64(Some(i)) => i,
                        _ => return exec_err!("array index must be an integer"),
                    };
                    let len = items.len() as i64;
                    let position = if i > 0 { i - 1 } else { len + i };
                    if i == 0 || position < 0 || position >= len {
                        null.clone()
                    } else {
                        ScalarValue::try_from_array(&items, position as usize)?
                    }
                }
                DataType::Map(_, _) => {
                    let entries = base.as_map().value(row);
                    let key = ScalarValue::try_from_array(index, row)?;
                    let keys = crate::types::map::entry_keys(&entries);
                    let values = entries.column(1);
                    let mut found = null.clone();
                    for e in 0..entries.len() {
                        if ScalarValue::try_from_array(keys, e)? == key {
                            found = ScalarValue::try_from_array(values, e)?;
                        }
                    }
                    found
                }
                other => return exec_err!("cannot subscript a value of type {other}"),
            }
        };
        out.push(value);
    }
    to_array(out, return_type)
}

/// `ARRAY[a, b, …]`: one list per row from the argument columns.
pub fn make_array(args: &[ArrayRef], return_type: &DataType) -> DfResult<ArrayRef> {
    let DataType::List(item) = return_type else {
        return exec_err!("make_array must return a list");
    };
    let rows = args.first().map(|a| a.len()).unwrap_or(0);
    let mut out = Vec::with_capacity(rows);
    for row in 0..rows {
        let values = args
            .iter()
            .map(|a| ScalarValue::try_from_array(a, row))
            .collect::<DfResult<Vec<_>>>()?;
        out.push(ScalarValue::List(ScalarValue::new_list_nullable(
            &values,
            item.data_type(),
        )));
    }
    to_array(out, return_type)
}

/// `MAP(k1 := v1, …)`: arguments alternate keys and values.
pub fn make_map(args: &[ArrayRef], return_type: &DataType) -> DfResult<ArrayRef> {
    let Some((key_type, value_type)) = crate::types::map::entry_types(return_type) else {
        return exec_err!("make_map must return a map");
    };
    let rows = args.first().map(|a| a.len()).unwrap_or(0);
    let mut offsets = vec![0i32];
    let mut keys = Vec::new();
    let mut values = Vec::new();
    for row in 0..rows {
        let mut count = 0;
        for pair in args.chunks(2) {
            let [k, v] = pair else {
                return exec_err!("map constructor needs key/value pairs");
            };
            // A NULL key is a key like any other, as in the Java map ksqlDB builds.
            let key = ScalarValue::try_from_array(k, row)?;
            let value = ScalarValue::try_from_array(v, row)?;
            // A later entry for the same key replaces the earlier one.
            let start = *offsets.last().unwrap_or(&0) as usize;
            if let Some(i) = keys[start..].iter().position(|x| *x == key) {
                values[start + i] = value;
                continue;
            }
            keys.push(key);
            values.push(value);
            count += 1;
        }
        offsets.push(offsets.last().unwrap_or(&0) + count);
    }
    let map = crate::types::map::new_map(
        return_type,
        datafusion::arrow::buffer::OffsetBuffer::new(offsets.into()),
        to_array(keys, key_type)?,
        to_array(values, value_type)?,
        None,
    )?;
    Ok(Arc::new(map))
}

/// `STRUCT(a := x, …)`: the field names come from the return type.
pub fn make_struct(args: &[ArrayRef], return_type: &DataType) -> DfResult<ArrayRef> {
    let DataType::Struct(fields) = return_type else {
        return exec_err!("make_struct must return a struct");
    };
    if fields.is_empty() {
        // The planner passes one placeholder argument so that the row count is known.
        let rows = args.first().map(|a| a.len()).unwrap_or(0);
        return Ok(Arc::new(StructArray::new_empty_fields(rows, None)));
    }
    Ok(Arc::new(StructArray::try_new(
        fields.clone(),
        args.to_vec(),
        None,
    )?))
}

fn to_array(values: Vec<ScalarValue>, data_type: &DataType) -> DfResult<ArrayRef> {
    if values.is_empty() {
        return Ok(new_null_array(data_type, 0));
    }
    let array = ScalarValue::iter_to_array(values)?;
    if array.data_type() != data_type {
        return Ok(datafusion::arrow::compute::cast(&array, data_type)?);
    }
    Ok(array)
}

/// A boolean column with nulls read as false.
pub fn null_as_false(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let Some(input) = args.first().and_then(|a| a.as_boolean_opt()) else {
        return exec_err!("null_as_false takes a boolean");
    };
    let out: datafusion::arrow::array::BooleanArray =
        input.iter().map(|v| Some(v.unwrap_or(false))).collect();
    Ok(Arc::new(out))
}

/// Rewrites LIKE patterns that use an ESCAPE character into Arrow's syntax (where `\\`
/// escapes), row by row: the second argument is the escape character.
pub fn like_escape(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let (Some(patterns), Some(escape)) = (args.first(), args.get(1)) else {
        return exec_err!("like_escape takes a pattern and an escape character");
    };
    let escape = if escape.is_empty() {
        None
    } else {
        match ScalarValue::try_from_array(escape, 0)? {
            ScalarValue::Utf8(Some(e)) => e.chars().next(),
            _ => None,
        }
    };
    let out: datafusion::arrow::array::StringArray = patterns
        .as_string::<i32>()
        .iter()
        .map(|p| p.map(|p| escape_like_pattern(p, escape)))
        .collect();
    Ok(Arc::new(out))
}

/// A ksqlDB LIKE pattern (with an optional ESCAPE character) in Arrow's syntax.
pub fn escape_like_pattern(pattern: &str, escape: Option<char>) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if Some(c) == escape {
            if let Some(next) = chars.next() {
                if matches!(next, '%' | '_' | '\\') {
                    out.push('\\');
                }
                out.push(next);
            }
        } else if c == '\\' {
            out.push_str("\\\\");
        } else {
            out.push(c);
        }
    }
    out
}
