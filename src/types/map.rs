//! MAP values as Arrow maps whose keys may be null.
//!
//! ksqlDB's maps take a NULL key (`MAP(NULL := 1)` is written `{"null": 1}`), but an Arrow map's
//! keys may not be null, and Arrow's kernels (take, concat, interleave) rebuild maps through
//! checks that refuse a nullable key field. So each key sits in a one-field struct: the struct
//! is never null, its field may be. Code reads and builds maps through these helpers, which see
//! through the wrapper.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayBuilder, ArrayRef, AsArray, MapArray, NullBufferBuilder, StructArray,
};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::arrow::error::ArrowError;

/// The name of the wrapper struct's only field, which holds the key.
const KEY: &str = "k";

/// The Arrow type of a MAP with these key and value types.
pub fn arrow_type(key: DataType, value: DataType) -> DataType {
    DataType::Map(
        Arc::new(Field::new(
            "entries",
            DataType::Struct(Fields::from(vec![
                Field::new("key", DataType::Struct(key_fields(key)), false),
                Field::new("value", value, true),
            ])),
            false,
        )),
        false,
    )
}

fn key_fields(key: DataType) -> Fields {
    Fields::from(vec![Field::new(KEY, key, true)])
}

/// The key and value types of a map type, seen through the key's wrapper.
pub fn entry_types(map_type: &DataType) -> Option<(&DataType, &DataType)> {
    let DataType::Map(entries, _) = map_type else {
        return None;
    };
    let DataType::Struct(kv) = entries.data_type() else {
        return None;
    };
    let [key, value] = kv.iter().collect::<Vec<_>>()[..] else {
        return None;
    };
    let key = match key.data_type() {
        DataType::Struct(wrapper) if wrapper.len() == 1 && wrapper[0].name() == KEY => {
            wrapper[0].data_type()
        }
        other => other,
    };
    Some((key, value.data_type()))
}

/// The keys of every entry of `map`, unwrapped.
pub fn keys(map: &MapArray) -> &ArrayRef {
    entry_keys(map.entries())
}

/// The keys of map entries (a row's `MapArray::value`, or all of them), unwrapped.
pub fn entry_keys(entries: &StructArray) -> &ArrayRef {
    let wrapped = entries.column(0);
    match wrapped.as_struct_opt() {
        Some(wrapper) if wrapper.num_columns() == 1 => wrapper.column(0),
        _ => wrapped,
    }
}

/// A map array of `map_type` from each row's entry `offsets`, the entries' unwrapped `keys`
/// and their `values`, and which rows are null.
pub fn new_map(
    map_type: &DataType,
    offsets: OffsetBuffer<i32>,
    keys: ArrayRef,
    values: ArrayRef,
    nulls: Option<NullBuffer>,
) -> Result<MapArray, ArrowError> {
    let DataType::Map(entries_field, sorted) = map_type else {
        return Err(ArrowError::InvalidArgumentError(format!(
            "expected a map type, got {map_type}"
        )));
    };
    let DataType::Struct(kv) = entries_field.data_type() else {
        return Err(ArrowError::InvalidArgumentError(format!(
            "map entries must be structs, got {}",
            entries_field.data_type()
        )));
    };
    let DataType::Struct(wrapper) = kv[0].data_type() else {
        return Err(ArrowError::InvalidArgumentError(format!(
            "map keys must be wrapped in a struct, got {}",
            kv[0].data_type()
        )));
    };
    let wrapped: ArrayRef = Arc::new(StructArray::try_new(wrapper.clone(), vec![keys], None)?);
    let entries = StructArray::try_new(kv.clone(), vec![wrapped, values], None)?;
    MapArray::try_new(entries_field.clone(), offsets, entries, nulls, *sorted)
}

/// One map of `map_type` from its entries.
pub fn single_map(
    map_type: &DataType,
    keys: ArrayRef,
    values: ArrayRef,
) -> Result<MapArray, ArrowError> {
    let offsets = OffsetBuffer::from_lengths([keys.len()]);
    new_map(map_type, offsets, keys, values, None)
}

/// Builds a map array row by row, as Arrow's `MapBuilder` does, with ksqlDB's nullable keys.
pub struct Builder<K, V> {
    keys: K,
    values: V,
    offsets: Vec<i32>,
    nulls: NullBufferBuilder,
}

impl<K: ArrayBuilder, V: ArrayBuilder> Builder<K, V> {
    pub fn new(keys: K, values: V) -> Self {
        Builder {
            keys,
            values,
            offsets: vec![0],
            nulls: NullBufferBuilder::new(0),
        }
    }

    /// The builder of the current row's keys.
    pub fn keys(&mut self) -> &mut K {
        &mut self.keys
    }

    /// The builder of the current row's values.
    pub fn values(&mut self) -> &mut V {
        &mut self.values
    }

    /// Ends the current row: a map of the entries appended since the last row, or a null map.
    pub fn append(&mut self, is_valid: bool) {
        // Past 2^31 entries the offsets stop rising; `finish` refuses such a column.
        self.offsets
            .push(i32::try_from(self.keys.len()).unwrap_or(i32::MAX));
        self.nulls.append(is_valid);
    }

    pub fn finish(mut self) -> Result<MapArray, ArrowError> {
        if i32::try_from(self.keys.len()).is_err() {
            return Err(ArrowError::ComputeError(format!(
                "a column of maps may hold at most {} entries in all, not {}",
                i32::MAX,
                self.keys.len()
            )));
        }
        let keys = self.keys.finish();
        let values = self.values.finish();
        let map_type = arrow_type(keys.data_type().clone(), values.data_type().clone());
        let offsets = OffsetBuffer::new(self.offsets.into());
        new_map(&map_type, offsets, keys, values, self.nulls.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int32Array, StringArray};

    #[test]
    fn keys_may_be_null_and_survive_arrow_kernels() {
        let ty = arrow_type(DataType::Utf8, DataType::Int32);
        let keys: ArrayRef = Arc::new(StringArray::from(vec![Some("a"), None, Some("c")]));
        let values: ArrayRef = Arc::new(Int32Array::from(vec![1, 2, 3]));
        let map = new_map(&ty, OffsetBuffer::from_lengths([2, 1]), keys, values, None).unwrap();
        assert_eq!(map.data_type(), &ty);
        assert_eq!(entry_types(&ty), Some((&DataType::Utf8, &DataType::Int32)));
        let taken = datafusion::arrow::compute::take(
            &map,
            &datafusion::arrow::array::UInt32Array::from(vec![0, 1, 0]),
            None,
        )
        .unwrap();
        let joined = datafusion::arrow::compute::concat(&[&taken, &map]).unwrap();
        let joined = joined.as_map();
        assert_eq!(joined.len(), 5);
        let first = joined.value(2);
        let first_keys = entry_keys(&first);
        assert_eq!(first_keys.as_string::<i32>().value(0), "a");
        assert!(first_keys.is_null(1));
    }
}
