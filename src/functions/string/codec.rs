//! The text encodings of ENCODE, TO_BYTES and FROM_BYTES: hex, utf8, ascii and base64, with
//! the Java libraries' behaviour on malformed input.

use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use datafusion::common::{Result as DfResult, exec_err};

/// One of the encodings TO_BYTES and FROM_BYTES accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Encoding {
    Hex,
    Utf8,
    Ascii,
    Base64,
}

impl Encoding {
    /// The encoding named (in any case).
    pub(super) fn named(name: &str) -> DfResult<Encoding> {
        Ok(match name.to_ascii_lowercase().as_str() {
            "hex" => Encoding::Hex,
            "utf8" => Encoding::Utf8,
            "ascii" => Encoding::Ascii,
            "base64" => Encoding::Base64,
            _ => {
                return exec_err!(
                    "Unknown encoding type '{name}'. Supported formats are 'hex', 'utf8', 'ascii', and 'base64'."
                );
            }
        })
    }
}

/// Hex digits (either case) to bytes; an odd count or a non-hex character is an error.
pub(super) fn hex_decode(s: &str) -> DfResult<Vec<u8>> {
    if !s.chars().count().is_multiple_of(2) {
        return exec_err!("Odd number of characters: '{s}'");
    }
    let digits = s.as_bytes();
    let digit = |i: usize| -> DfResult<u8> {
        match (digits[i] as char).to_digit(16) {
            Some(d) if digits[i].is_ascii() => Ok(d as u8),
            _ => exec_err!("Illegal hexadecimal character in '{s}'"),
        }
    };
    (0..digits.len() / 2)
        .map(|i| Ok((digit(2 * i)? << 4) | digit(2 * i + 1)?))
        .collect()
}

/// Bytes as hex digits, lower or upper case.
pub(super) fn hex_encode(bytes: &[u8], upper: bool) -> String {
    const LOWER: &[u8; 16] = b"0123456789abcdef";
    const UPPER: &[u8; 16] = b"0123456789ABCDEF";
    let digits = if upper { UPPER } else { LOWER };
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(digits[(b >> 4) as usize] as char);
        s.push(digits[(b & 0xF) as usize] as char);
    }
    s
}

/// Base64 with padding, on one line.
pub(super) fn base64_encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Java's `Base64.getDecoder()`: the standard alphabet only, padding optional but correct when
/// present.
pub(super) fn base64_decode_strict(s: &str) -> DfResult<Vec<u8>> {
    const ENGINE: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    match ENGINE.decode(s) {
        Ok(b) => Ok(b),
        Err(e) => exec_err!("Illegal base64 value '{s}': {e}"),
    }
}

/// Commons Codec's lenient base64 decoding: characters outside the standard and URL-safe
/// alphabets are skipped, decoding stops at the first '=', and incomplete trailing bits are
/// dropped.
pub(super) fn base64_decode_lenient(s: &str) -> Vec<u8> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut bits = 0u32;
    let mut count = 0;
    for c in s.bytes() {
        if c == b'=' {
            break;
        }
        let Some(v) = value(c) else { continue };
        bits = bits << 6 | v;
        count += 1;
        if count == 4 {
            out.extend_from_slice(&[(bits >> 16) as u8, (bits >> 8) as u8, bits as u8]);
            bits = 0;
            count = 0;
        }
    }
    match count {
        2 => out.push((bits >> 4) as u8),
        3 => out.extend_from_slice(&[(bits >> 10) as u8, (bits >> 2) as u8]),
        _ => {}
    }
    out
}

/// Java's US-ASCII decoding: every byte above 0x7F becomes U+FFFD.
pub(super) fn ascii_decode(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| if b.is_ascii() { b as char } else { '\u{FFFD}' })
        .collect()
}

/// Java's US-ASCII encoding: every character beyond ASCII becomes '?'.
pub(super) fn ascii_encode(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| if c.is_ascii() { c as u8 } else { b'?' })
        .collect()
}

/// Java's UTF-8 decoding: malformed sequences become U+FFFD.
pub(super) fn utf8_decode(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A string's bytes in an encoding (TO_BYTES).
pub(super) fn decode(s: &str, encoding: Encoding) -> DfResult<Vec<u8>> {
    Ok(match encoding {
        Encoding::Hex => hex_decode(s)?,
        Encoding::Utf8 => s.as_bytes().to_vec(),
        Encoding::Ascii => ascii_encode(s),
        Encoding::Base64 => base64_decode_strict(s)?,
    })
}

/// Bytes as a string in an encoding (FROM_BYTES); hex is upper case.
pub(super) fn encode(bytes: &[u8], encoding: Encoding) -> String {
    match encoding {
        Encoding::Hex => hex_encode(bytes, true),
        Encoding::Utf8 => utf8_decode(bytes),
        Encoding::Ascii => ascii_decode(bytes),
        Encoding::Base64 => base64_encode(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex() {
        assert_eq!(hex_decode("1aB2").unwrap(), vec![0x1a, 0xb2]);
        assert_eq!(hex_decode("").unwrap(), Vec::<u8>::new());
        assert!(hex_decode("abc").is_err());
        assert!(hex_decode("0x").is_err());
        assert!(hex_decode("\u{e9}\u{e9}").is_err());
        assert_eq!(hex_encode(&[0x1a, 0xb2], true), "1AB2");
        assert_eq!(hex_encode(&[0x1a, 0xb2], false), "1ab2");
    }

    #[test]
    fn base64() {
        assert_eq!(base64_decode_strict("IQ==").unwrap(), b"!");
        assert_eq!(base64_decode_strict("IQ").unwrap(), b"!");
        assert!(base64_decode_strict("I").is_err());
        assert!(base64_decode_strict("I Q==").is_err());
        assert_eq!(base64_decode_lenient("RXhh bXBs\nZSE="), b"Example!");
        assert_eq!(base64_decode_lenient("IQ"), b"!");
        assert_eq!(base64_decode_lenient("I"), b"");
        assert_eq!(base64_encode(b"Example!"), "RXhhbXBsZSE=");
    }

    #[test]
    fn ascii() {
        assert_eq!(ascii_encode("a\u{e9}"), b"a?");
        assert_eq!(ascii_decode(&[0x41, 0xC3]), "A\u{FFFD}");
    }
}
