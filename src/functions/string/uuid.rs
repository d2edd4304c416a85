//! UUID([bytes]): a random (version 4) UUID, or the UUID that 16 bytes hold.

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::args::{bytes, rows};
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "UUID",
        category: "STRING",
        description: "Create a Universally Unique Identifier (UUID) generated according to RFC 4122. A call to UUID() returns a value conforming to UUID version 4, sometimes called \"random UUID\", as described in RFC 4122. A call to UUID(bytes) returns a value conforming to UUID. The value is a 128-bit number represented as a string of five hexadecimal numbers aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee.",
        overloads: vec![
            Overload::fixed(&[], SqlType::String, random),
            Overload::fixed(&[SqlType::Bytes], SqlType::String, from_bytes),
        ],
    }
}

fn random(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let out: StringArray = (0..rows(args))
        .map(|_| {
            let mut b = [0u8; 16];
            b[..8].copy_from_slice(&random_u64().to_be_bytes());
            b[8..].copy_from_slice(&random_u64().to_be_bytes());
            b[6] = (b[6] & 0x0F) | 0x40; // version 4
            b[8] = (b[8] & 0x3F) | 0x80; // IETF variant
            Some(format_uuid(&b))
        })
        .collect();
    Ok(Arc::new(out))
}

fn from_bytes(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let out: StringArray = bytes(&args[0])
        .iter()
        .map(|b| b.filter(|b| b.len() == 16).map(format_uuid))
        .collect();
    Ok(Arc::new(out))
}

/// Random bits: SipHash, keyed from the operating system's randomness once per thread, of a
/// counter.
fn random_u64() -> u64 {
    thread_local! {
        static STATE: (RandomState, Cell<u64>) = (RandomState::new(), Cell::new(0));
    }
    STATE.with(|(keys, counter)| {
        let n = counter.get();
        counter.set(n.wrapping_add(1));
        let mut hasher = keys.build_hasher();
        hasher.write_u64(n);
        hasher.finish()
    })
}

/// 16 bytes as `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
fn format_uuid(b: &[u8]) -> String {
    let mut s = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push_str(&format!("{byte:02x}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_generates() {
        let b: Vec<u8> = (0..16).collect();
        assert_eq!(format_uuid(&b), "00010203-0405-0607-0809-0a0b0c0d0e0f");
        let out = random(&[], &DataType::Utf8).unwrap();
        let s = out
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap()
            .value(0)
            .to_string();
        assert_eq!(s.len(), 36);
        assert_eq!(&s[14..15], "4");
        assert_ne!(random_u64(), random_u64());
    }
}
