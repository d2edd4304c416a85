//! A compact binary encoding of values, for state that outlives the process.
//!
//! Operator state (aggregates' accumulators, join sides' rows, open windows) is written to
//! changelog topics and snapshots in this encoding and read back after a restart. It is ours
//! alone and never leaves Sluice, so it favours speed: little-endian fixed-width integers,
//! length-prefixed bytes, and a tag per [`ScalarValue`] that says its type. Nested values
//! (ARRAY, MAP, STRUCT) and rare types go as a one-row Arrow IPC stream, which carries their
//! full data type.
//!
//! Decoding never trusts its input: a short or malformed buffer is a [`CodecError`], and nesting
//! is bounded by [`MAX_DEPTH`].

use std::collections::{BTreeSet, HashSet};
use std::hash::{BuildHasher, Hash};
use std::io::Cursor;
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{Field, Schema, i256};
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::StreamWriter;
use datafusion::common::ScalarValue;
use smallvec::SmallVec;
use thiserror::Error;

/// How deeply encoded containers may nest.
pub const MAX_DEPTH: u32 = 64;

/// Why bytes could not be decoded.
#[derive(Debug, Error, PartialEq)]
pub enum CodecError {
    #[error("the encoded state ends early")]
    Truncated,
    #[error("unknown value tag {0}")]
    UnknownTag(u8),
    #[error("encoded state nests more than {MAX_DEPTH} levels")]
    TooDeep,
    #[error("invalid encoded state: {0}")]
    Invalid(String),
}

pub type Result<T, E = CodecError> = std::result::Result<T, E>;

/// Bytes being decoded, and how deep the decoder is.
pub struct Input<'a> {
    bytes: &'a [u8],
    depth: u32,
}

impl<'a> Input<'a> {
    pub fn new(bytes: &'a [u8]) -> Input<'a> {
        Input { bytes, depth: 0 }
    }

    /// Whether every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.bytes.len() {
            return Err(CodecError::Truncated);
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        self.take(N)?.try_into().map_err(|_| CodecError::Truncated)
    }

    /// A length prefix, checked against the bytes left so that no allocation is sized by a
    /// corrupt number.
    pub fn length(&mut self) -> Result<usize> {
        let n = u32::decode(self)? as usize;
        if n > self.bytes.len() {
            return Err(CodecError::Truncated);
        }
        Ok(n)
    }

    /// Decodes something nested one level deeper.
    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        if self.depth >= MAX_DEPTH {
            return Err(CodecError::TooDeep);
        }
        self.depth += 1;
        let result = f(self);
        self.depth -= 1;
        result
    }
}

/// A value that can be written in the encoding.
pub trait Encode {
    fn encode(&self, out: &mut Vec<u8>);
}

/// A value that can be read back from the encoding.
pub trait Decode: Sized {
    fn decode(input: &mut Input<'_>) -> Result<Self>;
}

/// Encodes a value into a new buffer.
pub fn to_bytes<T: Encode + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    value.encode(&mut out);
    out
}

/// Decodes a value that must take every byte.
pub fn from_bytes<T: Decode>(bytes: &[u8]) -> Result<T> {
    let mut input = Input::new(bytes);
    let value = T::decode(&mut input)?;
    if !input.is_empty() {
        return Err(CodecError::Invalid("bytes left after the value".into()));
    }
    Ok(value)
}

macro_rules! fixed_width {
    ($($t:ty),*) => {$(
        impl Encode for $t {
            fn encode(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        }

        impl Decode for $t {
            fn decode(input: &mut Input<'_>) -> Result<Self> {
                Ok(<$t>::from_le_bytes(input.array()?))
            }
        }
    )*};
}

fixed_width!(u8, u16, u32, u64, i8, i16, i32, i64, i128, f32, f64);

impl<T: Encode + ?Sized> Encode for &T {
    fn encode(&self, out: &mut Vec<u8>) {
        (**self).encode(out);
    }
}

impl<const N: usize> Encode for [u8; N] {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }
}

impl Encode for bool {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(u8::from(*self));
    }
}

impl Decode for bool {
    fn decode(input: &mut Input<'_>) -> Result<Self> {
        match u8::decode(input)? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(CodecError::Invalid(format!("boolean {other}"))),
        }
    }
}

impl Encode for usize {
    fn encode(&self, out: &mut Vec<u8>) {
        (*self as u64).encode(out);
    }
}

impl Decode for usize {
    fn decode(input: &mut Input<'_>) -> Result<Self> {
        usize::try_from(u64::decode(input)?)
            .map_err(|_| CodecError::Invalid("a size beyond this machine's".into()))
    }
}

/// Writes a length prefix.
pub fn encode_length(n: usize, out: &mut Vec<u8>) {
    // Every container we encode is far below 4 GiB; a larger one is a bug of ours.
    let n = u32::try_from(n).unwrap_or(u32::MAX);
    n.encode(out);
}

/// Writes bytes with their length (a `[u8]` encodes the same way, byte by byte).
pub fn encode_bytes(bytes: &[u8], out: &mut Vec<u8>) {
    encode_length(bytes.len(), out);
    out.extend_from_slice(bytes);
}

/// Reads bytes written by [`encode_bytes`].
pub fn decode_bytes<'a>(input: &mut Input<'a>) -> Result<&'a [u8]> {
    let n = input.length()?;
    input.take(n)
}

impl Encode for str {
    fn encode(&self, out: &mut Vec<u8>) {
        encode_bytes(self.as_bytes(), out);
    }
}

impl Encode for String {
    fn encode(&self, out: &mut Vec<u8>) {
        self.as_str().encode(out);
    }
}

impl Decode for String {
    fn decode(input: &mut Input<'_>) -> Result<Self> {
        let bytes = decode_bytes(input)?;
        String::from_utf8(bytes.to_vec()).map_err(|e| CodecError::Invalid(e.to_string()))
    }
}

impl<T: Encode> Encode for Option<T> {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            None => out.push(0),
            Some(value) => {
                out.push(1);
                value.encode(out);
            }
        }
    }
}

impl<T: Decode> Decode for Option<T> {
    fn decode(input: &mut Input<'_>) -> Result<Self> {
        Ok(match bool::decode(input)? {
            false => None,
            true => Some(T::decode(input)?),
        })
    }
}

impl<T: Encode> Encode for Vec<T> {
    fn encode(&self, out: &mut Vec<u8>) {
        self.as_slice().encode(out);
    }
}

impl<T: Encode> Encode for [T] {
    fn encode(&self, out: &mut Vec<u8>) {
        encode_length(self.len(), out);
        for item in self {
            item.encode(out);
        }
    }
}

/// Decodes a counted sequence into `push`; the count is bounded by the bytes left, since
/// every item takes at least one.
fn decode_items(
    input: &mut Input<'_>,
    mut push: impl FnMut(&mut Input<'_>) -> Result<()>,
) -> Result<()> {
    let n = input.length()?;
    input.nested(|input| (0..n).try_for_each(|_| push(input)))
}

impl<T: Decode> Decode for Vec<T> {
    fn decode(input: &mut Input<'_>) -> Result<Self> {
        let mut items = Vec::new();
        decode_items(input, |input| {
            items.push(T::decode(input)?);
            Ok(())
        })?;
        Ok(items)
    }
}

impl<const N: usize> Encode for SmallVec<[u8; N]> {
    fn encode(&self, out: &mut Vec<u8>) {
        encode_bytes(self, out);
    }
}

impl<const N: usize> Decode for SmallVec<[u8; N]> {
    fn decode(input: &mut Input<'_>) -> Result<Self> {
        Ok(SmallVec::from_slice(decode_bytes(input)?))
    }
}

impl<T: Encode> Encode for BTreeSet<T> {
    fn encode(&self, out: &mut Vec<u8>) {
        encode_length(self.len(), out);
        for item in self {
            item.encode(out);
        }
    }
}

impl<T: Decode + Ord> Decode for BTreeSet<T> {
    fn decode(input: &mut Input<'_>) -> Result<Self> {
        let mut items = BTreeSet::new();
        decode_items(input, |input| {
            items.insert(T::decode(input)?);
            Ok(())
        })?;
        Ok(items)
    }
}

impl<T: Encode, S> Encode for HashSet<T, S> {
    fn encode(&self, out: &mut Vec<u8>) {
        encode_length(self.len(), out);
        for item in self {
            item.encode(out);
        }
    }
}

impl<T: Decode + Eq + Hash, S: BuildHasher + Default> Decode for HashSet<T, S> {
    fn decode(input: &mut Input<'_>) -> Result<Self> {
        let mut items = HashSet::default();
        decode_items(input, |input| {
            items.insert(T::decode(input)?);
            Ok(())
        })?;
        Ok(items)
    }
}

macro_rules! tuple {
    ($($name:ident),+) => {
        impl<$($name: Encode),+> Encode for ($($name,)+) {
            #[allow(non_snake_case)]
            fn encode(&self, out: &mut Vec<u8>) {
                let ($($name,)+) = self;
                $($name.encode(out);)+
            }
        }

        impl<$($name: Decode),+> Decode for ($($name,)+) {
            fn decode(input: &mut Input<'_>) -> Result<Self> {
                Ok(($($name::decode(input)?,)+))
            }
        }
    };
}

/// Implements [`Encode`] and [`Decode`] for an enum whose variants hold fields by position:
/// a tag byte, then the fields.
#[macro_export]
macro_rules! codec_for_enum {
    ($ty:ident { $($variant:ident($($field:ident: $field_ty:ty),*) = $tag:literal),+ $(,)? }) => {
        impl $crate::types::codec::Encode for $ty {
            fn encode(&self, out: &mut Vec<u8>) {
                match self {
                    $($ty::$variant($($field),*) => {
                        out.push($tag);
                        $($crate::types::codec::Encode::encode($field, out);)*
                    })+
                }
            }
        }

        impl $crate::types::codec::Decode for $ty {
            fn decode(
                input: &mut $crate::types::codec::Input<'_>,
            ) -> $crate::types::codec::Result<Self> {
                match <u8 as $crate::types::codec::Decode>::decode(input)? {
                    $($tag => Ok($ty::$variant(
                        $(<$field_ty as $crate::types::codec::Decode>::decode(input)?),*
                    )),)+
                    other => Err($crate::types::codec::CodecError::UnknownTag(other)),
                }
            }
        }
    };
}

tuple!(A, B);
tuple!(A, B, C);

/// Tags of [`ScalarValue`]s; every other type goes as [`NESTED`].
mod tag {
    pub const NULL: u8 = 0;
    pub const BOOLEAN: u8 = 1;
    pub const INT32: u8 = 2;
    pub const INT64: u8 = 3;
    pub const FLOAT64: u8 = 4;
    pub const DECIMAL128: u8 = 5;
    pub const DECIMAL256: u8 = 6;
    pub const UTF8: u8 = 7;
    pub const BINARY: u8 = 8;
    pub const DATE32: u8 = 9;
    pub const TIME32_MS: u8 = 10;
    pub const TIMESTAMP_MS: u8 = 11;
    /// A one-row Arrow IPC stream (ARRAY, MAP, STRUCT and any rarer type).
    pub const NESTED: u8 = 12;
}

impl Encode for ScalarValue {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            ScalarValue::Null => out.push(tag::NULL),
            ScalarValue::Boolean(v) => {
                out.push(tag::BOOLEAN);
                v.encode(out);
            }
            ScalarValue::Int32(v) => {
                out.push(tag::INT32);
                v.encode(out);
            }
            ScalarValue::Int64(v) => {
                out.push(tag::INT64);
                v.encode(out);
            }
            ScalarValue::Float64(v) => {
                out.push(tag::FLOAT64);
                v.encode(out);
            }
            ScalarValue::Decimal128(v, precision, scale) => {
                out.push(tag::DECIMAL128);
                (*precision, *scale).encode(out);
                v.encode(out);
            }
            ScalarValue::Decimal256(v, precision, scale) => {
                out.push(tag::DECIMAL256);
                (*precision, *scale).encode(out);
                v.map(|v| v.to_le_bytes()).encode(out);
            }
            ScalarValue::Utf8(v) => {
                out.push(tag::UTF8);
                v.encode(out);
            }
            ScalarValue::Binary(v) => {
                out.push(tag::BINARY);
                encode_optional_bytes(v.as_deref(), out);
            }
            ScalarValue::Date32(v) => {
                out.push(tag::DATE32);
                v.encode(out);
            }
            ScalarValue::Time32Millisecond(v) => {
                out.push(tag::TIME32_MS);
                v.encode(out);
            }
            ScalarValue::TimestampMillisecond(v, zone) => {
                out.push(tag::TIMESTAMP_MS);
                v.encode(out);
                zone.as_deref().map(str::to_string).encode(out);
            }
            other => {
                out.push(tag::NESTED);
                encode_as_ipc(other, out);
            }
        }
    }
}

/// Writes a value as a one-row Arrow IPC stream, which carries its whole data type.
fn encode_as_ipc(value: &ScalarValue, out: &mut Vec<u8>) {
    let mut stream = Vec::new();
    let written = value.to_array().ok().and_then(|array| {
        let schema = Arc::new(Schema::new(vec![Field::new(
            "v",
            array.data_type().clone(),
            true,
        )]));
        let batch = RecordBatch::try_new(Arc::clone(&schema), vec![array]).ok()?;
        let mut writer = StreamWriter::try_new(&mut stream, &schema).ok()?;
        writer.write(&batch).ok()?;
        writer.finish().ok()
    });
    // Arrow writes every array it can build; an empty stream decodes as an error, so a value
    // that could not be written is never silently read back as another.
    if written.is_none() {
        stream.clear();
    }
    encode_bytes(&stream, out);
}

/// Writes bytes that may be null.
pub fn encode_optional_bytes(bytes: Option<&[u8]>, out: &mut Vec<u8>) {
    match bytes {
        None => out.push(0),
        Some(bytes) => {
            out.push(1);
            encode_bytes(bytes, out);
        }
    }
}

/// Reads bytes written by [`encode_optional_bytes`].
pub fn decode_optional_bytes<'a>(input: &mut Input<'a>) -> Result<Option<&'a [u8]>> {
    Ok(match bool::decode(input)? {
        false => None,
        true => Some(decode_bytes(input)?),
    })
}

fn decode_ipc(bytes: &[u8]) -> Result<ScalarValue> {
    let invalid = |e: &dyn std::fmt::Display| CodecError::Invalid(e.to_string());
    let mut reader = StreamReader::try_new(Cursor::new(bytes), None).map_err(|e| invalid(&e))?;
    let batch = reader
        .next()
        .ok_or_else(|| CodecError::Invalid("an empty value stream".into()))?
        .map_err(|e| invalid(&e))?;
    if batch.num_columns() != 1 || batch.num_rows() != 1 {
        return Err(CodecError::Invalid(
            "a value stream of the wrong shape".into(),
        ));
    }
    ScalarValue::try_from_array(batch.column(0), 0).map_err(|e| invalid(&e))
}

impl Decode for ScalarValue {
    fn decode(input: &mut Input<'_>) -> Result<Self> {
        Ok(match u8::decode(input)? {
            tag::NULL => ScalarValue::Null,
            tag::BOOLEAN => ScalarValue::Boolean(Decode::decode(input)?),
            tag::INT32 => ScalarValue::Int32(Decode::decode(input)?),
            tag::INT64 => ScalarValue::Int64(Decode::decode(input)?),
            tag::FLOAT64 => ScalarValue::Float64(Decode::decode(input)?),
            tag::DECIMAL128 => {
                let (precision, scale) = Decode::decode(input)?;
                ScalarValue::Decimal128(Decode::decode(input)?, precision, scale)
            }
            tag::DECIMAL256 => {
                let (precision, scale) = Decode::decode(input)?;
                let value = match bool::decode(input)? {
                    false => None,
                    true => Some(i256::from_le_bytes(input.array()?)),
                };
                ScalarValue::Decimal256(value, precision, scale)
            }
            tag::UTF8 => ScalarValue::Utf8(Decode::decode(input)?),
            tag::BINARY => ScalarValue::Binary(decode_optional_bytes(input)?.map(<[u8]>::to_vec)),
            tag::DATE32 => ScalarValue::Date32(Decode::decode(input)?),
            tag::TIME32_MS => ScalarValue::Time32Millisecond(Decode::decode(input)?),
            tag::TIMESTAMP_MS => {
                let value = Decode::decode(input)?;
                let zone = Option::<String>::decode(input)?.map(Arc::from);
                ScalarValue::TimestampMillisecond(value, zone)
            }
            tag::NESTED => decode_ipc(decode_bytes(input)?)?,
            other => return Err(CodecError::UnknownTag(other)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{SqlType, StructField};
    use datafusion::arrow::array::Array;

    fn round_trip(value: &ScalarValue) -> ScalarValue {
        from_bytes(&to_bytes(value)).expect("decodes")
    }

    fn nested_values() -> Vec<ScalarValue> {
        let list = ScalarValue::new_list_nullable(
            &[ScalarValue::Int32(Some(1)), ScalarValue::Int32(None)],
            &datafusion::arrow::datatypes::DataType::Int32,
        );
        let struct_type = SqlType::Struct(vec![
            StructField {
                name: "A".into(),
                ty: SqlType::String,
            },
            StructField {
                name: "B".into(),
                ty: SqlType::Array(Box::new(SqlType::Bigint)),
            },
        ]);
        let empty_struct =
            ScalarValue::try_from(&struct_type.to_arrow()).expect("a null struct of the type");
        vec![ScalarValue::List(list), empty_struct]
    }

    #[test]
    fn every_sql_type_survives_a_round_trip() {
        let mut values = vec![
            ScalarValue::Null,
            ScalarValue::Boolean(Some(true)),
            ScalarValue::Boolean(None),
            ScalarValue::Int32(Some(i32::MIN)),
            ScalarValue::Int64(Some(i64::MAX)),
            ScalarValue::Int64(None),
            ScalarValue::Float64(Some(-0.5)),
            ScalarValue::Decimal128(Some(-12345), 10, 2),
            ScalarValue::Decimal256(Some(i256::from_i128(7)), 60, 3),
            ScalarValue::Utf8(Some("héllo".into())),
            ScalarValue::Utf8(None),
            ScalarValue::Binary(Some(vec![0, 255])),
            ScalarValue::Date32(Some(19000)),
            ScalarValue::Time32Millisecond(Some(1000)),
            ScalarValue::TimestampMillisecond(Some(1_600_000_000_000), None),
            ScalarValue::UInt8(Some(3)),
        ];
        values.extend(nested_values());
        for value in &values {
            let back = round_trip(value);
            assert_eq!(&back, value);
            assert_eq!(back.data_type(), value.data_type());
        }
    }

    #[test]
    fn a_map_survives_a_round_trip() {
        let map_type = SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Int)).to_arrow();
        let array = datafusion::arrow::array::new_null_array(&map_type, 1);
        let value = ScalarValue::try_from_array(&array, 0).expect("a map");
        let back = round_trip(&value);
        assert_eq!(back.data_type(), map_type);
        assert!(back.to_array().expect("an array").is_null(0));
    }

    #[test]
    fn containers_survive_a_round_trip() {
        let value = (
            vec![Some("a".to_string()), None],
            BTreeSet::from([vec![1u8], vec![2, 3]]),
            SmallVec::<[u8; 32]>::from_slice(&[9, 8, 7]),
        );
        type Containers = (Vec<Option<String>>, BTreeSet<Vec<u8>>, SmallVec<[u8; 32]>);
        let back: Containers = from_bytes(&to_bytes(&value)).expect("decodes");
        assert_eq!(back, value);
    }

    #[test]
    fn short_or_corrupt_bytes_are_errors_not_panics() {
        let bytes = to_bytes(&vec![ScalarValue::Utf8(Some("abc".into())); 3]);
        for cut in 0..bytes.len() {
            assert!(from_bytes::<Vec<ScalarValue>>(&bytes[..cut]).is_err());
        }
        // A length far beyond the buffer allocates nothing.
        let mut huge = Vec::new();
        u32::MAX.encode(&mut huge);
        assert_eq!(from_bytes::<Vec<u64>>(&huge), Err(CodecError::Truncated));
        assert_eq!(
            from_bytes::<ScalarValue>(&[200]),
            Err(CodecError::UnknownTag(200))
        );
        // Random bytes never panic.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..2000 {
            let len = (seed % 40) as usize;
            let junk: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    (seed % 16) as u8
                })
                .collect();
            let _ = from_bytes::<Vec<ScalarValue>>(&junk);
        }
    }

    #[test]
    fn nesting_is_bounded() {
        let mut input = Input::new(&[]);
        input.depth = MAX_DEPTH;
        assert_eq!(input.nested(|_| Ok(())), Err(CodecError::TooDeep));
    }
}
