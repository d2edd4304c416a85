//! Java's view of a string: a sequence of UTF-16 code units, which `String.length()` counts
//! and string positions index. ksqlDB's functions measure and cut strings in these units, so
//! these helpers translate between them and the byte offsets of a Rust `str`.
//!
//! Java can cut a surrogate pair in two; a Rust string cannot hold half a character, so a
//! position inside a pair is moved to the end of the pair.

/// The length of `s` in UTF-16 code units.
pub(super) fn len(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.encode_utf16().count()
    }
}

/// The byte offset of UTF-16 position `units` in `s` (the end of `s` when past it).
pub(super) fn byte_offset(s: &str, units: usize) -> usize {
    if s.is_ascii() {
        return units.min(s.len());
    }
    let mut seen = 0;
    for (i, c) in s.char_indices() {
        if seen >= units {
            return i;
        }
        seen += c.len_utf16();
    }
    s.len()
}

/// The UTF-16 position of byte offset `byte` of `s`.
pub(super) fn position(s: &str, byte: usize) -> usize {
    len(&s[..byte])
}

/// The first `units` UTF-16 code units of `s`.
pub(super) fn prefix(s: &str, units: usize) -> &str {
    &s[..byte_offset(s, units)]
}

/// `s` from UTF-16 position `units` on.
pub(super) fn suffix(s: &str, units: usize) -> &str {
    &s[byte_offset(s, units)..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_utf16_units() {
        assert_eq!(len("abc"), 3);
        assert_eq!(len("h\u{e9}"), 2);
        assert_eq!(len("\u{1F600}x"), 3);
        assert_eq!(byte_offset("\u{1F600}x", 2), 4);
        assert_eq!(byte_offset("\u{1F600}x", 1), 4);
        assert_eq!(byte_offset("\u{e9}x", 1), 2);
        assert_eq!(byte_offset("ab", 5), 2);
        assert_eq!(position("\u{1F600}x", 4), 2);
        assert_eq!(prefix("h\u{e9}llo", 2), "h\u{e9}");
        assert_eq!(suffix("h\u{e9}llo", 2), "llo");
    }
}
