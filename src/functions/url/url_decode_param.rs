//! URL_DECODE_PARAM(string): application/x-www-form-urlencoded decoding, as Java's
//! `URLDecoder.decode(s, "UTF-8")`: `+` is a space and runs of `%XX` are UTF-8 bytes
//! (malformed sequences replaced); an incomplete or non-hex escape fails the call.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{DataFusionError, Result as DfResult};

use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "URL_DECODE_PARAM",
        category: "URL",
        description: "Decodes a previously encoded application/x-www-form-urlencoded String",
        overloads: vec![Overload::fixed(&[SqlType::String], SqlType::String, kernel)],
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let out = args[0]
        .as_string::<i32>()
        .iter()
        .map(|s| {
            s.map(decode)
                .transpose()
                .map_err(DataFusionError::Execution)
        })
        .collect::<DfResult<StringArray>>()?;
    Ok(Arc::new(out))
}

fn decode(input: &str) -> Result<String, String> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = String::with_capacity(input.len());
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '+' => {
                out.push(' ');
                i += 1;
            }
            '%' => {
                let mut bytes = Vec::new();
                while i + 2 < chars.len() && chars[i] == '%' {
                    bytes.push(hex_byte(chars[i + 1], chars[i + 2])?);
                    i += 3;
                }
                if i < chars.len() && chars[i] == '%' {
                    return Err("URLDecoder: Incomplete trailing escape (%) pattern".to_string());
                }
                out.push_str(&String::from_utf8_lossy(&bytes));
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// Java's `Integer.parseInt(two chars, 16)`, which also takes a sign: `%+1` is 1 and `%-0`
/// is 0, while a negative value is rejected.
fn hex_byte(a: char, b: char) -> Result<u8, String> {
    let illegal = || {
        format!(
            "URLDecoder: Illegal hex characters in escape (%) pattern - For input string: \"{a}{b}\""
        )
    };
    let value = match (a, b.to_digit(16)) {
        ('+', Some(v)) => v as i32,
        ('-', Some(v)) => -(v as i32),
        (a, Some(low)) => (a.to_digit(16).ok_or_else(illegal)? * 16 + low) as i32,
        _ => return Err(illegal()),
    };
    if value < 0 {
        return Err(
            "URLDecoder: Illegal hex characters in escape (%) pattern - negative value".to_string(),
        );
    }
    Ok(value as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_like_url_decoder() {
        assert_eq!(decode("%3Ffoo+%24bar").unwrap(), "?foo $bar");
        assert_eq!(decode("url%20encoded").unwrap(), "url encoded");
        assert_eq!(decode("%C3%A9").unwrap(), "é");
        assert_eq!(decode("é").unwrap(), "é");
        assert!(decode("%2").is_err());
        assert!(decode("%zz").is_err());
        assert!(decode("%-1").is_err());
        assert_eq!(decode("%+A").unwrap(), "\n");
    }
}
