//! The DELIMITED format: one CSV record per key or value, as ksqlDB reads and writes it with
//! Apache Commons CSV 1.4 (`CSVFormat.DEFAULT` with the chosen delimiter).
//!
//! Fields are parsed per column type with Java's parsers, and an empty field is null. Writing
//! quotes a field only when commons-csv's MINIMAL policy says so — which includes any first
//! field that does not start with an ASCII letter or digit, so `-10` is written `"-10"`.

use base64::Engine;
use datafusion::scalar::ScalarValue;

use super::text::{self, BASE64_LENIENT, BigDecimal};
use super::{FormatError, Result, base_type_name};
use crate::types::{Column, SqlType, quote_identifier};

const QUOTE: char = '"';

/// Decodes one record into a value per column.
pub fn deserialize(columns: &[Column], delimiter: char, bytes: &[u8]) -> Result<Vec<ScalarValue>> {
    if columns.is_empty() {
        return Ok(Vec::new());
    }
    check_types(columns).map_err(FormatError::Deserialize)?;
    let text = String::from_utf8_lossy(bytes);
    let fields = parse_first_record(&text, delimiter).map_err(FormatError::Deserialize)?;
    if fields.len() != columns.len() {
        return Err(FormatError::Deserialize(format!(
            "Column count mismatch on deserialization. expected: {}, got: {}",
            columns.len(),
            fields.len()
        )));
    }
    columns
        .iter()
        .zip(&fields)
        .map(|(column, field)| parse_field(field, &column.ty).map_err(FormatError::Deserialize))
        .collect()
}

/// Encodes the values as one record (no line terminator). A null is an empty field.
pub fn serialize(
    columns: &[Column],
    delimiter: char,
    values: &[ScalarValue],
) -> Result<Option<Vec<u8>>> {
    if columns.is_empty() {
        return Ok(None);
    }
    check_types(columns).map_err(FormatError::Serialize)?;
    if values.len() != columns.len() {
        return Err(FormatError::Serialize(format!(
            "Column count mismatch on serialization. expected: {}, got: {}",
            columns.len(),
            values.len()
        )));
    }
    let mut out = String::new();
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            out.push(delimiter);
        }
        // commons-csv writes a null as nothing at all, never quoted.
        if let Some(field) = text::scalar_text(value).map_err(FormatError::Serialize)? {
            print_field(&mut out, &field, delimiter, i == 0);
        }
    }
    Ok(Some(out.into_bytes()))
}

/// DELIMITED carries primitive types only.
pub(crate) fn check_types(columns: &[Column]) -> std::result::Result<(), String> {
    match columns.iter().find(|c| !c.ty.is_primitive()) {
        None => Ok(()),
        Some(c) => Err(format!(
            "The 'DELIMITED' format does not support type '{}', column: {}",
            base_type_name(&c.ty),
            quote_identifier(&c.name)
        )),
    }
}

/// Parses one field with ksqlDB's per-type parser; an empty field is null.
pub(crate) fn parse_field(field: &str, ty: &SqlType) -> std::result::Result<ScalarValue, String> {
    if field.is_empty() {
        return text::null_of(ty);
    }
    let bad = || format!("Invalid value '{field}' for type {ty}");
    let value = match ty {
        SqlType::Boolean => ScalarValue::Boolean(Some(text::parse_java_boolean(field))),
        SqlType::Int => ScalarValue::Int32(Some(text::parse_java_int(field).ok_or_else(bad)?)),
        SqlType::Bigint => ScalarValue::Int64(Some(text::parse_java_long(field).ok_or_else(bad)?)),
        SqlType::Double => {
            ScalarValue::Float64(Some(text::parse_java_double(field).ok_or_else(bad)?))
        }
        SqlType::Decimal { precision, scale } => {
            let decimal = BigDecimal::parse(field).ok_or_else(bad)?;
            let unscaled = decimal.to_decimal128(*precision, *scale)?;
            ScalarValue::Decimal128(Some(unscaled), *precision, *scale as i8)
        }
        SqlType::String => ScalarValue::Utf8(Some(field.to_string())),
        SqlType::Bytes => {
            let bytes = BASE64_LENIENT
                .decode(field)
                .map_err(|_| format!("Value is not a valid Base64 encoded string: {field}"))?;
            ScalarValue::Binary(Some(bytes))
        }
        SqlType::Date => ScalarValue::Date32(Some(text::parse_java_int(field).ok_or_else(bad)?)),
        SqlType::Time => {
            let millis = text::parse_java_long(field).ok_or_else(bad)?;
            ScalarValue::Time32Millisecond(Some(text::time_millis(millis)?))
        }
        SqlType::Timestamp => ScalarValue::TimestampMillisecond(
            Some(text::parse_java_long(field).ok_or_else(bad)?),
            None,
        ),
        SqlType::Array(_) | SqlType::Map(..) | SqlType::Struct(_) => {
            return Err(format!(
                "The 'DELIMITED' format does not support type '{}'",
                base_type_name(ty)
            ));
        }
    };
    Ok(value)
}

/// Reads the fields of the first record, as commons-csv's lexer does: leading empty lines are
/// skipped, `""` inside quotes is a quote, whitespace may follow a closing quote, and a quote
/// inside an unquoted field is an ordinary character. Later records are ignored.
pub(crate) fn parse_first_record(
    text: &str,
    delimiter: char,
) -> std::result::Result<Vec<String>, String> {
    let mut chars = text.chars().peekable();
    while matches!(chars.peek(), Some('\r' | '\n')) {
        chars.next();
    }
    if chars.peek().is_none() {
        return Err("No fields in record".to_string());
    }
    let mut fields = Vec::new();
    loop {
        let mut field = String::new();
        // Whether the field ended at a delimiter (so another field follows).
        let more = match chars.peek().copied() {
            Some(c) if c == delimiter => {
                chars.next();
                true
            }
            None | Some('\r' | '\n') => false,
            Some(QUOTE) => {
                chars.next();
                loop {
                    match chars.next() {
                        None => {
                            return Err(
                                "EOF reached before encapsulated token finished".to_string()
                            );
                        }
                        Some(QUOTE) if chars.peek() == Some(&QUOTE) => {
                            chars.next();
                            field.push(QUOTE);
                        }
                        Some(QUOTE) => break,
                        Some(c) => field.push(c),
                    }
                }
                loop {
                    match chars.peek().copied() {
                        Some(c) if c == delimiter => {
                            chars.next();
                            break true;
                        }
                        None | Some('\r' | '\n') => break false,
                        Some(c) if text::is_java_whitespace(c) => {
                            chars.next();
                        }
                        Some(_) => {
                            return Err(
                                "invalid char between encapsulated token and delimiter".to_string()
                            );
                        }
                    }
                }
            }
            Some(_) => loop {
                match chars.peek().copied() {
                    Some(c) if c == delimiter => {
                        chars.next();
                        break true;
                    }
                    None | Some('\r' | '\n') => break false,
                    Some(c) => {
                        chars.next();
                        field.push(c);
                    }
                }
            },
        };
        fields.push(field);
        if !more {
            return Ok(fields);
        }
    }
}

/// Appends one non-null field, quoted only where commons-csv 1.4's MINIMAL policy quotes it.
fn print_field(out: &mut String, value: &str, delimiter: char, first_in_record: bool) {
    if needs_quotes(value, delimiter, first_in_record) {
        out.push(QUOTE);
        for c in value.chars() {
            if c == QUOTE {
                out.push(QUOTE);
            }
            out.push(c);
        }
        out.push(QUOTE);
    } else {
        out.push_str(value);
    }
}

fn needs_quotes(value: &str, delimiter: char, first_in_record: bool) -> bool {
    let Some(first) = value.chars().next() else {
        // An empty first field is quoted so that a lone empty field is not an empty line.
        return first_in_record;
    };
    if first_in_record && !first.is_ascii_alphanumeric() {
        return true;
    }
    // Anything up to '#' (space, '!', '"', '#') at the start of a field.
    if first <= '#' {
        return true;
    }
    if value
        .chars()
        .any(|c| c == '\n' || c == '\r' || c == QUOTE || c == delimiter)
    {
        return true;
    }
    value.chars().next_back().is_some_and(|last| last <= ' ')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, ty: SqlType) -> Column {
        Column::value(name, ty)
    }

    fn read(columns: &[Column], text: &str) -> Result<Vec<ScalarValue>> {
        deserialize(columns, ',', text.as_bytes())
    }

    fn write(columns: &[Column], delimiter: char, values: &[ScalarValue]) -> String {
        let bytes = serialize(columns, delimiter, values)
            .expect("serializes")
            .expect("has bytes");
        String::from_utf8(bytes).expect("utf-8")
    }

    fn fields(text: &str) -> Vec<String> {
        parse_first_record(text, ',').unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }

    #[test]
    fn splits_records_like_commons_csv() {
        assert_eq!(fields("a,b,c"), ["a", "b", "c"]);
        assert_eq!(fields("a,,c"), ["a", "", "c"]);
        assert_eq!(fields("a,"), ["a", ""]);
        assert_eq!(fields(","), ["", ""]);
        assert_eq!(fields("\"foo\",\"bar\""), ["foo", "bar"]);
        assert_eq!(fields("\"a,b\",\"say \"\"hi\"\"\""), ["a,b", "say \"hi\""]);
        assert_eq!(fields("\"multi\nline\",x"), ["multi\nline", "x"]);
        assert_eq!(fields("\"a\"  ,b"), ["a", "b"]);
        assert_eq!(fields("ab\"c,d"), ["ab\"c", "d"]);
        assert_eq!(fields(" a , b "), [" a ", " b "]);
        assert_eq!(fields("\r\n\nfirst,1\r\nsecond,2"), ["first", "1"]);
        assert_eq!(fields("x\r\n"), ["x"]);
        assert_eq!(fields("\"\""), [""]);
        assert_eq!(
            parse_first_record("foo,bar;baz", ';').unwrap(),
            ["foo,bar", "baz"]
        );
        assert_eq!(parse_first_record("a\tb", '\t').unwrap(), ["a", "b"]);
    }

    #[test]
    fn rejects_malformed_records() {
        for bad in ["", "\n\r\n", "\"open", "\"a\"b,c"] {
            assert!(parse_first_record(bad, ',').is_err(), "{bad:?}");
        }
    }

    #[test]
    fn reads_each_type() {
        let columns = [
            col("B", SqlType::Boolean),
            col("I", SqlType::Int),
            col("L", SqlType::Bigint),
            col("D", SqlType::Double),
            col("DEC", SqlType::decimal(33, 16)),
            col("S", SqlType::String),
            col("BY", SqlType::Bytes),
            col("DAY", SqlType::Date),
            col("T", SqlType::Time),
            col("TS", SqlType::Timestamp),
        ];
        let row = read(
            &columns,
            "TRUE,-7,998877665544332211,1.5,\"-12345.12\",zero,dmFyaWF0aW9ucw,-10,10,1234",
        )
        .unwrap();
        assert_eq!(
            row,
            vec![
                ScalarValue::Boolean(Some(true)),
                ScalarValue::Int32(Some(-7)),
                ScalarValue::Int64(Some(998877665544332211)),
                ScalarValue::Float64(Some(1.5)),
                ScalarValue::Decimal128(Some(-123451200000000000000), 33, 16),
                ScalarValue::Utf8(Some("zero".into())),
                ScalarValue::Binary(Some(b"variations".to_vec())),
                ScalarValue::Date32(Some(-10)),
                ScalarValue::Time32Millisecond(Some(10)),
                ScalarValue::TimestampMillisecond(Some(1234), None),
            ]
        );
        // Empty fields are null, typed per column.
        let nulls = read(&columns, ",,,,,,,,,").unwrap();
        assert_eq!(nulls[0], ScalarValue::Boolean(None));
        assert_eq!(nulls[4], ScalarValue::Decimal128(None, 33, 16));
        assert_eq!(nulls[5], ScalarValue::Utf8(None));
        // Java's Boolean.parseBoolean: anything but "true" is false.
        let b = read(&[col("B", SqlType::Boolean)], "yes").unwrap();
        assert_eq!(b, vec![ScalarValue::Boolean(Some(false))]);
    }

    #[test]
    fn rejects_bad_fields() {
        let bad = |ty: SqlType, field: &str| {
            let err = read(&[col("X", ty.clone())], field);
            assert!(err.is_err(), "{field:?} as {ty} should fail");
        };
        bad(SqlType::Int, "1.5");
        bad(SqlType::Int, "2147483648");
        bad(SqlType::Bigint, "x");
        bad(SqlType::Double, "one");
        bad(SqlType::decimal(4, 2), "123");
        bad(SqlType::decimal(4, 2), "1.234");
        bad(SqlType::Bytes, "!!");
        bad(SqlType::Time, "-1");
        bad(SqlType::Date, "1.0");
        let err = read(&[col("A", SqlType::Int), col("B", SqlType::Int)], "1,2,3");
        assert_eq!(
            err.unwrap_err().to_string(),
            "Column count mismatch on deserialization. expected: 2, got: 3"
        );
        let err = read(&[col("A", SqlType::Array(Box::new(SqlType::Int)))], "1");
        assert_eq!(
            err.unwrap_err().to_string(),
            "The 'DELIMITED' format does not support type 'ARRAY', column: `A`"
        );
        // Invalid UTF-8 is replaced, as Java's decoder does, rather than failing.
        let row = deserialize(&[col("S", SqlType::String)], ',', b"a\xffb").unwrap();
        assert_eq!(row, vec![ScalarValue::Utf8(Some("a\u{fffd}b".into()))]);
    }

    #[test]
    fn writes_each_type() {
        let columns = [
            col("B", SqlType::Boolean),
            col("I", SqlType::Int),
            col("D", SqlType::Double),
            col("DEC", SqlType::decimal(6, 4)),
            col("S", SqlType::String),
            col("BY", SqlType::Bytes),
            col("DAY", SqlType::Date),
            col("T", SqlType::Time),
            col("TS", SqlType::Timestamp),
            col("N", SqlType::String),
        ];
        let values = [
            ScalarValue::Boolean(Some(true)),
            ScalarValue::Int32(Some(-3)),
            ScalarValue::Float64(Some(1e10)),
            ScalarValue::Decimal128(Some(100000), 6, 4),
            ScalarValue::Utf8(Some("zero".into())),
            ScalarValue::Binary(Some(b"variations".to_vec())),
            ScalarValue::Date32(Some(-10)),
            ScalarValue::Time32Millisecond(Some(10)),
            ScalarValue::TimestampMillisecond(Some(1234), None),
            ScalarValue::Utf8(None),
        ];
        let text = write(&columns, ',', &values);
        assert_eq!(
            text,
            "true,-3,1.0E10,10.0000,zero,dmFyaWF0aW9ucw==,-10,10,1234,"
        );
        assert_eq!(read(&columns, &text).unwrap(), values.to_vec());
    }

    #[test]
    fn quotes_only_when_commons_csv_does() {
        let one = |value: &str| {
            write(
                &[col("S", SqlType::String)],
                ',',
                &[ScalarValue::Utf8(Some(value.into()))],
            )
        };
        // First field: anything not starting with an ASCII letter or digit.
        assert_eq!(
            one("-12345.1200000000000000"),
            "\"-12345.1200000000000000\""
        );
        assert_eq!(one("0.12"), "0.12");
        assert_eq!(one(".12"), "\".12\"");
        assert_eq!(one("ébc"), "\"ébc\"");
        assert_eq!(one(""), "\"\"");
        assert_eq!(one("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(one("a,b"), "\"a,b\"");
        assert_eq!(one("trailing "), "\"trailing \"");
        assert_eq!(one("two\nlines"), "\"two\nlines\"");

        let two = |value: &str| {
            write(
                &[col("A", SqlType::Int), col("S", SqlType::String)],
                '|',
                &[
                    ScalarValue::Int32(Some(1)),
                    ScalarValue::Utf8(Some(value.into())),
                ],
            )
        };
        // Later fields: only a start up to '#', a delimiter, quote or line break, or a
        // trailing space or control character.
        assert_eq!(two("-5"), "1|-5");
        assert_eq!(two(""), "1|");
        assert_eq!(two("#tag"), "1|\"#tag\"");
        assert_eq!(two(" lead"), "1|\" lead\"");
        assert_eq!(two("a,b"), "1|a,b");
        assert_eq!(two("a|b"), "1|\"a|b\"");
        assert_eq!(two("ébc"), "1|ébc");

        // A null first field is written as nothing, unquoted.
        let nulls = write(
            &[col("A", SqlType::Int), col("B", SqlType::Int)],
            ',',
            &[ScalarValue::Int32(None), ScalarValue::Int32(Some(0))],
        );
        assert_eq!(nulls, ",0");
    }

    #[test]
    fn round_trips_decimals_with_scale() {
        let columns = [
            col("ID", SqlType::String),
            col("V", SqlType::decimal(33, 16)),
        ];
        for (input, output) in [
            (
                "a,12345678987654321.2345678987654321",
                "a,12345678987654321.2345678987654321",
            ),
            ("a,.12", "a,0.1200000000000000"),
            ("a,-12345.12", "a,-12345.1200000000000000"),
            ("a,0", "a,0.0000000000000000"),
        ] {
            let row = read(&columns, input).unwrap();
            assert_eq!(write(&columns, ',', &row), output);
        }
    }

    #[test]
    fn edge_cases() {
        assert!(read(&[], "anything").unwrap().is_empty());
        assert_eq!(serialize(&[], ',', &[]).unwrap(), None);
        let single = [col("V", SqlType::Int)];
        assert_eq!(write(&single, ',', &[ScalarValue::Int32(None)]), "");
        assert!(read(&single, "").is_err());
        assert!(serialize(&single, ',', &[]).is_err());
    }
}
