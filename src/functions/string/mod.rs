//! String and bytes functions.

mod args;
mod chr;
mod codec;
mod concat;
mod concat_ws;
mod elt;
mod encode;
mod field;
mod from_bytes;
mod initcap;
mod instr;
mod java_regex;
mod lcase;
mod len;
mod lpad;
mod mask;
mod mask_keep_left;
mod mask_keep_right;
mod mask_left;
mod mask_right;
mod masker;
mod md5;
mod number_from_bytes;
mod padding;
mod regexp_extract;
mod regexp_extract_all;
mod regexp_replace;
mod regexp_split_to_array;
mod replace;
mod rpad;
mod split;
mod split_to_map;
mod substring;
mod to_bytes;
mod trim;
mod ucase;
mod units;
mod uuid;

use super::registry::ScalarFunction;

pub fn functions() -> Vec<ScalarFunction> {
    vec![
        chr::function(),
        concat::function(),
        concat_ws::function(),
        elt::function(),
        encode::function(),
        field::function(),
        from_bytes::function(),
        initcap::function(),
        instr::function(),
        lcase::function(),
        len::function(),
        lpad::function(),
        mask::function(),
        mask_keep_left::function(),
        mask_keep_right::function(),
        mask_left::function(),
        mask_right::function(),
        md5::function(),
        regexp_extract::function(),
        regexp_extract_all::function(),
        regexp_replace::function(),
        regexp_split_to_array::function(),
        replace::function(),
        rpad::function(),
        split::function(),
        split_to_map::function(),
        substring::function(),
        to_bytes::function(),
        trim::function(),
        ucase::function(),
        uuid::function(),
    ]
    .into_iter()
    .chain(number_from_bytes::functions())
    .collect()
}
