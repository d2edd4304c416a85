//! ENCODE(string, input_encoding, output_encoding): a string re-encoded between hex, utf8, ascii
//! and base64.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result as DfResult, exec_err};

use super::args::{rows, str_at, strings};
use super::codec;
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    use SqlType::String;
    ScalarFunction {
        name: "ENCODE",
        category: "STRING",
        description: "Takes an input string s, which is encoded as input_encoding, and encodes it as output_encoding. The accepted input and output encodings are: hex, utf8, ascii and base64. Throws exception if provided encodings are not supported.",
        overloads: vec![Overload::fixed(&[String, String, String], String, kernel)],
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let (input, from, to) = (strings(&args[0]), strings(&args[1]), strings(&args[2]));
    let out = (0..rows(args))
        .map(
            |row| match (str_at(input, row), str_at(from, row), str_at(to, row)) {
                (Some(s), Some(from), Some(to)) => encode(s, from, to).map(Some),
                _ => Ok(None),
            },
        )
        .collect::<DfResult<StringArray>>()?;
    Ok(Arc::new(out))
}

#[derive(Clone, Copy)]
enum Kind {
    Hex,
    Utf8,
    Ascii,
    Base64,
}

fn encode(s: &str, from: &str, to: &str) -> DfResult<String> {
    use Kind::*;
    // ksqlDB looks the pair up by the two names run together.
    let key = format!("{}{}", from.to_lowercase(), to.to_lowercase());
    let (from, to) = match key.as_str() {
        "hexascii" => (Hex, Ascii),
        "hexutf8" => (Hex, Utf8),
        "hexbase64" => (Hex, Base64),
        "utf8ascii" => (Utf8, Ascii),
        "utf8hex" => (Utf8, Hex),
        "utf8base64" => (Utf8, Base64),
        "asciiutf8" => (Ascii, Utf8),
        "asciihex" => (Ascii, Hex),
        "asciibase64" => (Ascii, Base64),
        "base64ascii" => (Base64, Ascii),
        "base64utf8" => (Base64, Utf8),
        "base64hex" => (Base64, Hex),
        _ => {
            return exec_err!(
                "Supported input and output encodings are: hex, utf8, ascii and base64"
            );
        }
    };
    let bytes = match from {
        Hex => codec::hex_decode(hex_strip(s).as_ref())?,
        Utf8 => s.as_bytes().to_vec(),
        Ascii => codec::ascii_encode(s),
        Base64 => codec::base64_decode_lenient(s),
    };
    Ok(match to {
        Hex => codec::hex_encode(&bytes, false),
        Utf8 => codec::utf8_decode(&bytes),
        Ascii => codec::ascii_decode(&bytes),
        Base64 => codec::base64_encode(&bytes),
    })
}

/// Hex digits without a `0x` prefix (a `0` is added when that leaves an odd count) or the
/// `X'…'` quoting of a hex literal.
fn hex_strip(s: &str) -> std::borrow::Cow<'_, str> {
    // ksqlDB matches `0x.*` and `[xX]'.*'`, whose `.` stops at line terminators: a string
    // holding one is left as it is.
    let single_line = !s.contains(['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}']);
    if let Some(rest) = s.strip_prefix("0x").filter(|_| single_line) {
        if !s.encode_utf16().count().is_multiple_of(2) {
            format!("0{rest}").into()
        } else {
            rest.into()
        }
    } else if single_line
        && s.len() >= 3
        && (s.starts_with("x'") || s.starts_with("X'"))
        && s.ends_with('\'')
    {
        s[2..s.len() - 1].into()
    } else {
        s.into()
    }
}

#[cfg(test)]
mod tests {
    use super::encode;

    #[test]
    fn re_encodes() {
        assert_eq!(
            encode("4578616d706C6521", "hex", "ascii").unwrap(),
            "Example!"
        );
        assert_eq!(
            encode("0x4578616d706C6521", "hex", "utf8").unwrap(),
            "Example!"
        );
        assert_eq!(
            encode("X'4578616d706C6521'", "HEX", "base64").unwrap(),
            "RXhhbXBsZSE="
        );
        assert_eq!(
            encode("0x578616d706C6521", "hex", "ascii").unwrap(),
            "\u{5}xample!"
        );
        assert_eq!(encode("x''", "hex", "ascii").unwrap(), "");
        assert_eq!(encode("0x", "hex", "ascii").unwrap(), "");
        assert!(encode("0x0x", "hex", "ascii").is_err());
        assert!(encode("X'", "hex", "ascii").is_err());
        assert!(encode("x'578616d706C6521'", "hex", "ascii").is_err());
        assert_eq!(
            encode("c39c6265726d656e736368", "hex", "ascii").unwrap(),
            "\u{FFFD}\u{FFFD}bermensch"
        );
        assert_eq!(encode("\u{395}\u{3bb}", "ascii", "hex").unwrap(), "3f3f");
        assert_eq!(
            encode("zpXOuw==", "base64", "utf8").unwrap(),
            "\u{395}\u{3bb}"
        );
        assert!(encode("abc", "base64", "null").is_err());
        assert!(encode("abc", "hex", "hex").is_err());
        assert_eq!(encode("41", "hexa", "scii").unwrap(), "A");
    }
}
