//! Masking shared by MASK, MASK_LEFT, MASK_RIGHT, MASK_KEEP_LEFT and MASK_KEEP_RIGHT: upper-case
//! letters, lower-case letters, digits and other characters are each replaced by their own mask
//! character ('X', 'x', 'n' and '-' by default), or kept when their mask is NULL.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, StringArray};
use datafusion::common::{Result as DfResult, exec_err};

use super::args::{ints, required_int, rows, str_at, strings};
use super::units;
use crate::functions::registry::Overload;
use crate::types::SqlType;

/// The mask character of each kind of character; `None` keeps it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Masker {
    upper: Option<char>,
    lower: Option<char>,
    digit: Option<char>,
    other: Option<char>,
}

impl Default for Masker {
    fn default() -> Masker {
        Masker {
            upper: Some('X'),
            lower: Some('x'),
            digit: Some('n'),
            other: Some('-'),
        }
    }
}

impl Masker {
    /// A masker from the four mask arguments (each null or a single character).
    fn from_masks(masks: [Option<&str>; 4]) -> DfResult<Masker> {
        let [upper, lower, digit, other] = masks.map(mask_character);
        Ok(Masker {
            upper: upper?,
            lower: lower?,
            digit: digit?,
            other: other?,
        })
    }

    fn mask_char(&self, c: char) -> Option<char> {
        if is_upper(c) {
            self.upper
        } else if is_lower(c) {
            self.lower
        } else if is_digit(c) {
            self.digit
        } else {
            self.other
        }
    }

    /// `s` masked.
    pub(super) fn mask(&self, s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        for c in s.chars() {
            out.push(self.mask_char(c).unwrap_or(c));
            // Java masks by UTF-16 unit: the second half of a surrogate pair is an "other"
            // character of its own.
            if c.len_utf16() == 2
                && let Some(m) = self.other
            {
                out.push(m);
            }
        }
        out
    }
}

fn mask_character(mask: Option<&str>) -> DfResult<Option<char>> {
    match mask {
        None => Ok(None),
        Some(m) => {
            let mut chars = m.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) if c.len_utf16() == 1 => Ok(Some(c)),
                _ => exec_err!(
                    "Invalid mask character. Must be only single character, but was '{m}'"
                ),
            }
        }
    }
}

/// An upper-case letter (Unicode category Lu).
fn is_upper(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_uppercase();
    }
    // The Uppercase property, less the symbols and numbers that have it (Other_Uppercase).
    c.is_uppercase()
        && !matches!(c,
            '\u{2160}'..='\u{216F}'
                | '\u{24B6}'..='\u{24CF}'
                | '\u{1F130}'..='\u{1F149}'
                | '\u{1F150}'..='\u{1F169}'
                | '\u{1F170}'..='\u{1F189}')
}

/// A lower-case letter (Unicode category Ll).
fn is_lower(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_lowercase();
    }
    // The Lowercase property, less the modifier letters, symbols and numbers that have it
    // (Other_Lowercase).
    c.is_lowercase()
        && !matches!(c,
            '\u{AA}'
                | '\u{BA}'
                | '\u{2B0}'..='\u{2B8}'
                | '\u{2C0}'..='\u{2C1}'
                | '\u{2E0}'..='\u{2E4}'
                | '\u{345}'
                | '\u{37A}'
                | '\u{10FC}'
                | '\u{1D2C}'..='\u{1D6A}'
                | '\u{1D78}'
                | '\u{1D9B}'..='\u{1DBF}'
                | '\u{2071}'
                | '\u{207F}'
                | '\u{2090}'..='\u{209C}'
                | '\u{2170}'..='\u{217F}'
                | '\u{24D0}'..='\u{24E9}'
                | '\u{2C7C}'..='\u{2C7D}'
                | '\u{A69C}'..='\u{A69D}'
                | '\u{A770}'
                | '\u{A7F2}'..='\u{A7F4}'
                | '\u{A7F8}'..='\u{A7F9}'
                | '\u{AB5C}'..='\u{AB5F}'
                | '\u{AB69}'
                | '\u{10780}'
                | '\u{10783}'..='\u{10785}'
                | '\u{10787}'..='\u{107B0}'
                | '\u{107B2}'..='\u{107BA}'
                | '\u{1E030}'..='\u{1E06D}')
}

/// The first code point of each run of ten decimal digits (Unicode category Nd) beyond ASCII.
const DIGIT_ZEROS: &[u32] = &[
    0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66, 0xDE6,
    0xE50, 0xED0, 0xF20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90, 0x1B50,
    0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10,
    0x104A0, 0x10D30, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0, 0x11650,
    0x116C0, 0x11730, 0x118E0, 0x11950, 0x11C50, 0x11D50, 0x11DA0, 0x11F50, 0x16A60, 0x16AC0,
    0x16B50, 0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0, 0x1E4F0, 0x1E950,
    0x1FBF0,
];

/// A decimal digit (Unicode category Nd).
fn is_digit(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_digit();
    }
    let c = c as u32;
    DIGIT_ZEROS
        .iter()
        .any(|&zero| (zero..zero + 10).contains(&c))
}

/// How a masking function applies a masker to a string and its character count.
pub(super) type Apply = fn(&Masker, &str, usize) -> String;

/// The two overloads of a masking function that takes a character count: `(input, n)` with
/// the default masks, and `(input, n, upper, lower, digit, other)`.
pub(super) fn counted_overloads(
    kernel: fn(&[ArrayRef], &datafusion::arrow::datatypes::DataType) -> DfResult<ArrayRef>,
) -> Vec<Overload> {
    use SqlType::{Int, String};
    vec![
        Overload::fixed(&[String, Int], String, kernel),
        Overload::fixed(
            &[String, Int, String, String, String, String],
            String,
            kernel,
        ),
    ]
}

/// A masking function's kernel: `args` are the input, the character count (when `counted`) and
/// the four masks (when given). A negative count is an error.
pub(super) fn kernel(
    args: &[ArrayRef],
    name: &str,
    counted: bool,
    apply: Apply,
) -> DfResult<ArrayRef> {
    let input = strings(&args[0]);
    let count = counted.then(|| ints(&args[1]));
    let first_mask = if counted { 2 } else { 1 };
    let masks: Vec<_> = args[first_mask.min(args.len())..]
        .iter()
        .map(strings)
        .collect();
    let out = (0..rows(args))
        .map(|row| {
            let masker = if masks.len() == 4 {
                Masker::from_masks(std::array::from_fn(|i| str_at(masks[i], row)))?
            } else {
                Masker::default()
            };
            let count = match count {
                Some(count) => {
                    let n = required_int(count, row, name)?;
                    if n < 0 {
                        return exec_err!(
                            "function {} requires a non-negative number of characters to mask or skip",
                            name.to_lowercase()
                        );
                    }
                    n as usize
                }
                None => 0,
            };
            Ok(str_at(input, row).map(|s| apply(&masker, s, count)))
        })
        .collect::<DfResult<StringArray>>()?;
    Ok(Arc::new(out))
}

/// `s` cut at UTF-16 position `n`.
pub(super) fn split_at(s: &str, n: usize) -> (&str, &str) {
    s.split_at(units::byte_offset(s, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_by_category() {
        let m = Masker::default();
        assert_eq!(m.mask("Ab1 -\u{e9}\u{c9}\u{663}"), "Xxn--xXn");
        let custom = Masker::from_masks([None, Some("*"), None, Some("#")]).unwrap();
        assert_eq!(custom.mask("Ab1!"), "A*1#");
        assert!(Masker::from_masks([Some("ab"), None, None, None]).is_err());
    }
}
