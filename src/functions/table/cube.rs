//! CUBE_EXPLODE(array): every combination of the elements and nulls, as arrays.

use datafusion::common::ScalarValue;

use super::{TableFunction, TableOverload, elements};
use crate::functions::registry::Signature;
use crate::types::SqlType;

pub fn function() -> TableFunction {
    TableFunction {
        name: "CUBE_EXPLODE",
        description: "Takes as argument an array of columns and outputs all possible combinations of them.",
        overloads: vec![TableOverload {
            display: "ARRAY<T> columns",
            resolve: |args| match args {
                [Some(t @ SqlType::Array(_))] => Some(Signature {
                    params: vec![t.clone()],
                    returns: t.clone(),
                }),
                _ => None,
            },
            expand,
        }],
    }
}

/// For n elements, up to 2^n arrays: combination `m` keeps the elements whose bit is set in
/// `m` (the first element is the highest bit) and nulls the others, from all-null upwards. A
/// null element has only one option, so combinations that would keep it are skipped.
fn expand(args: &[ScalarValue], signature: &Signature) -> Result<Vec<ScalarValue>, String> {
    let values = elements(&args[0])?;
    let SqlType::Array(item) = &signature.returns else {
        return Err("CUBE_EXPLODE returns arrays".to_string());
    };
    let item_type = item.to_arrow();
    let null = ScalarValue::try_from(&item_type).map_err(|e| e.to_string())?;
    let n = values.len();
    if n > 20 {
        return Err(format!("CUBE_EXPLODE takes at most 20 columns, got {n}"));
    }
    let mut out = Vec::with_capacity(1 << n);
    for mask in 0..(1u32 << n) {
        let keeps = |i: usize| mask & (1 << (n - 1 - i)) != 0;
        if values
            .iter()
            .enumerate()
            .any(|(i, v)| keeps(i) && v.is_null())
        {
            continue;
        }
        let combination: Vec<ScalarValue> = values
            .iter()
            .enumerate()
            .map(|(i, v)| if keeps(i) { v.clone() } else { null.clone() })
            .collect();
        out.push(ScalarValue::List(ScalarValue::new_list_nullable(
            &combination,
            &item_type,
        )));
    }
    Ok(out)
}
