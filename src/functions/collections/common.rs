//! What the array and map functions share: typing their generic arguments, values compared as
//! the Java objects ksqlDB holds (`equals`/`hashCode` for the set functions, `compareTo` for
//! sorting), and building result lists and maps out of runs of argument elements.

use std::cmp::Ordering;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayData, ArrayRef, AsArray, ListArray, MapArray, MutableArrayData, NullBufferBuilder,
    make_array,
};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Float64Type, Int32Type, Int64Type, Time32MillisecondType,
    TimeUnit, TimestampMillisecondType,
};
use datafusion::common::{Result as DfResult, exec_err};

use crate::functions::registry::Signature;
use crate::types::SqlType;
use crate::types::common_type;

// ---------------------------------------------------------------------------------------------
// Typing

/// The element type of an ARRAY argument: `Some(None)` for an untyped NULL, `None` when the
/// argument is not an array.
pub fn array_element(arg: &Option<SqlType>) -> Option<Option<SqlType>> {
    match arg {
        None => Some(None),
        Some(SqlType::Array(t)) => Some(Some((**t).clone())),
        Some(_) => None,
    }
}

/// The value type of a `MAP<STRING, V>` argument: `Some(None)` for an untyped NULL, `None` when
/// the argument is not such a map.
pub fn string_map_value(arg: &Option<SqlType>) -> Option<Option<SqlType>> {
    match arg {
        None => Some(None),
        Some(SqlType::Map(k, v)) if **k == SqlType::String => Some(Some((**v).clone())),
        Some(_) => None,
    }
}

/// The type bound to a generic `T` by the arguments in its positions (`None` where a position is
/// an untyped NULL): the type they all convert to, STRING when every one is NULL, `None` when
/// they don't agree.
pub fn unify(types: &[Option<SqlType>]) -> Option<SqlType> {
    let mut bound: Option<SqlType> = None;
    for t in types.iter().flatten() {
        bound = Some(match bound {
            None => t.clone(),
            Some(b) => common_type(&b, t)?,
        });
    }
    Some(bound.unwrap_or(SqlType::String))
}

/// `(ARRAY<T>, ARRAY<T>) -> ARRAY<T>`.
pub fn two_arrays(args: &[Option<SqlType>]) -> Option<Signature> {
    let [left, right] = args else { return None };
    let t = unify(&[array_element(left)?, array_element(right)?])?;
    Some(Signature {
        params: vec![array_of(&t), array_of(&t)],
        returns: array_of(&t),
    })
}

pub fn array_of(t: &SqlType) -> SqlType {
    SqlType::Array(Box::new(t.clone()))
}

pub fn string_map_of(t: &SqlType) -> SqlType {
    SqlType::Map(Box::new(SqlType::String), Box::new(t.clone()))
}

// ---------------------------------------------------------------------------------------------
// Values as Java objects

/// A value as the Java object ksqlDB holds for it. Equality and hashing follow Java's `equals`
/// and `hashCode` (a double by its bits, so NaN equals NaN and -0.0 differs from 0.0; a map
/// whatever the order of its entries); the derived ordering only serves to make maps canonical.
/// [`java_compare`] gives `compareTo`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum JavaValue {
    Null,
    Boolean(bool),
    Int(i32),
    Long(i64),
    /// `Double.doubleToLongBits`: the bits, with every NaN the canonical one.
    Double(u64),
    Decimal(i128, i8),
    String(String),
    Bytes(Vec<u8>),
    Date(i32),
    Time(i32),
    Timestamp(i64),
    List(Vec<JavaValue>),
    /// Entries sorted by key (keys are distinct).
    Map(Vec<(JavaValue, JavaValue)>),
    Struct(Vec<JavaValue>),
}

impl JavaValue {
    pub fn is_null(&self) -> bool {
        matches!(self, JavaValue::Null)
    }

    fn double(bits: u64) -> f64 {
        f64::from_bits(bits)
    }

    /// The Java class of the value, for error messages.
    pub fn class_name(&self) -> &'static str {
        match self {
            JavaValue::Null => "null",
            JavaValue::Boolean(_) => "java.lang.Boolean",
            JavaValue::Int(_) => "java.lang.Integer",
            JavaValue::Long(_) => "java.lang.Long",
            JavaValue::Double(_) => "java.lang.Double",
            JavaValue::Decimal(..) => "java.math.BigDecimal",
            JavaValue::String(_) => "java.lang.String",
            JavaValue::Bytes(_) => "java.nio.HeapByteBuffer",
            JavaValue::Date(_) => "java.sql.Date",
            JavaValue::Time(_) => "java.sql.Time",
            JavaValue::Timestamp(_) => "java.sql.Timestamp",
            JavaValue::List(_) => "java.util.ArrayList",
            JavaValue::Map(_) => "java.util.HashMap",
            JavaValue::Struct(_) => "org.apache.kafka.connect.data.Struct",
        }
    }
}

fn double_bits(v: f64) -> u64 {
    if v.is_nan() {
        0x7ff8_0000_0000_0000
    } else {
        v.to_bits()
    }
}

/// Every element of an array as a Java value (null where the array is null).
pub fn java_values(array: &dyn Array) -> DfResult<Vec<JavaValue>> {
    let n = array.len();
    macro_rules! primitive {
        ($t:ty, $make:expr) => {{
            let a = array.as_primitive::<$t>();
            (0..n)
                .map(|i| {
                    if a.is_null(i) {
                        JavaValue::Null
                    } else {
                        $make(a.value(i))
                    }
                })
                .collect()
        }};
    }
    Ok(match array.data_type() {
        DataType::Null => vec![JavaValue::Null; n],
        DataType::Boolean => {
            let a = array.as_boolean();
            (0..n)
                .map(|i| {
                    if a.is_null(i) {
                        JavaValue::Null
                    } else {
                        JavaValue::Boolean(a.value(i))
                    }
                })
                .collect()
        }
        DataType::Int32 => primitive!(Int32Type, JavaValue::Int),
        DataType::Int64 => primitive!(Int64Type, JavaValue::Long),
        DataType::Float64 => primitive!(Float64Type, |v| JavaValue::Double(double_bits(v))),
        DataType::Decimal128(_, s) => {
            let s = *s;
            primitive!(Decimal128Type, |v| JavaValue::Decimal(v, s))
        }
        DataType::Date32 => primitive!(Date32Type, JavaValue::Date),
        DataType::Time32(TimeUnit::Millisecond) => {
            primitive!(Time32MillisecondType, JavaValue::Time)
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            primitive!(TimestampMillisecondType, JavaValue::Timestamp)
        }
        DataType::Utf8 => {
            let a = array.as_string::<i32>();
            (0..n)
                .map(|i| {
                    if a.is_null(i) {
                        JavaValue::Null
                    } else {
                        JavaValue::String(a.value(i).to_string())
                    }
                })
                .collect()
        }
        DataType::Binary => {
            let a = array.as_binary::<i32>();
            (0..n)
                .map(|i| {
                    if a.is_null(i) {
                        JavaValue::Null
                    } else {
                        JavaValue::Bytes(a.value(i).to_vec())
                    }
                })
                .collect()
        }
        DataType::List(_) => {
            let a = array.as_list::<i32>();
            let items = java_values(a.values().as_ref())?;
            (0..n)
                .map(|i| {
                    if a.is_null(i) {
                        JavaValue::Null
                    } else {
                        let (s, e) = bounds(a.value_offsets(), i);
                        JavaValue::List(items[s..e].to_vec())
                    }
                })
                .collect()
        }
        DataType::Map(..) => {
            let a = array.as_map();
            let keys = java_values(crate::types::map::keys(a).as_ref())?;
            let values = java_values(a.values().as_ref())?;
            (0..n)
                .map(|i| {
                    if a.is_null(i) {
                        return JavaValue::Null;
                    }
                    let (s, e) = bounds(a.value_offsets(), i);
                    let mut entries: Vec<(JavaValue, JavaValue)> = (s..e)
                        .map(|j| (keys[j].clone(), values[j].clone()))
                        .collect();
                    // By key (stably), keeping the last entry for a key as a Java map would.
                    entries.sort_by(|x, y| x.0.cmp(&y.0));
                    let mut unique: Vec<(JavaValue, JavaValue)> = Vec::with_capacity(entries.len());
                    for entry in entries {
                        match unique.last_mut() {
                            Some(last) if last.0 == entry.0 => *last = entry,
                            _ => unique.push(entry),
                        }
                    }
                    JavaValue::Map(unique)
                })
                .collect()
        }
        DataType::Struct(_) => {
            let a = array.as_struct();
            let columns = a
                .columns()
                .iter()
                .map(|c| java_values(c.as_ref()))
                .collect::<DfResult<Vec<_>>>()?;
            (0..n)
                .map(|i| {
                    if a.is_null(i) {
                        JavaValue::Null
                    } else {
                        JavaValue::Struct(columns.iter().map(|c| c[i].clone()).collect())
                    }
                })
                .collect()
        }
        other => return exec_err!("unsupported element type {other}"),
    })
}

/// Java's `compareTo` between two non-null values of one type, or `None` when the type is not
/// `Comparable` (ARRAY, MAP and STRUCT values).
pub fn java_compare(a: &JavaValue, b: &JavaValue) -> Option<Ordering> {
    use JavaValue::*;
    Some(match (a, b) {
        (Boolean(x), Boolean(y)) => x.cmp(y),
        (Int(x), Int(y)) | (Date(x), Date(y)) | (Time(x), Time(y)) => x.cmp(y),
        (Long(x), Long(y)) | (Timestamp(x), Timestamp(y)) => x.cmp(y),
        (Double(x), Double(y)) => {
            let (dx, dy) = (JavaValue::double(*x), JavaValue::double(*y));
            if dx < dy {
                Ordering::Less
            } else if dx > dy {
                Ordering::Greater
            } else {
                // Equal values, NaNs, or zeros of either sign: by their bits as signed longs.
                (*x as i64).cmp(&(*y as i64))
            }
        }
        (Decimal(x, s), Decimal(y, t)) if s == t => x.cmp(y),
        (Decimal(x, s), Decimal(y, t)) => {
            // Values of one column share a scale; otherwise bring both to the larger scale.
            let scale = (*s).max(*t);
            let up = |v: i128, from: i8| {
                10i128
                    .checked_pow((scale - from) as u32)
                    .and_then(|f| v.checked_mul(f))
            };
            match (up(*x, *s), up(*y, *t)) {
                (Some(x), Some(y)) => x.cmp(&y),
                _ => (*x as f64 / 10f64.powi(*s as i32))
                    .partial_cmp(&(*y as f64 / 10f64.powi(*t as i32)))?,
            }
        }
        // UTF-16 code units, as `String.compareTo`.
        (String(x), String(y)) => x.encode_utf16().cmp(y.encode_utf16()),
        // `ByteBuffer.compareTo`: bytes as signed values.
        (Bytes(x), Bytes(y)) => x.iter().map(|b| *b as i8).cmp(y.iter().map(|b| *b as i8)),
        _ => return None,
    })
}

/// `compareTo`, or the error ksqlDB's cast to `Comparable` raises for values that aren't.
pub fn compare_or_fail(a: &JavaValue, b: &JavaValue, function: &str) -> DfResult<Ordering> {
    match java_compare(a, b) {
        Some(o) => Ok(o),
        None => exec_err!(
            "{function}: {} cannot be cast to java.lang.Comparable",
            a.class_name()
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// Argument access

/// The start and end (exclusive) of row `i` given its offsets.
pub fn bounds(offsets: &[i32], i: usize) -> (usize, usize) {
    (offsets[i] as usize, offsets[i + 1] as usize)
}

/// An ARRAY argument.
pub fn list_arg<'a>(a: &'a ArrayRef, function: &str) -> DfResult<&'a ListArray> {
    match a.as_list_opt::<i32>() {
        Some(l) => Ok(l),
        None => exec_err!("{function} expects an ARRAY, got {}", a.data_type()),
    }
}

/// A MAP argument.
pub fn map_arg<'a>(a: &'a ArrayRef, function: &str) -> DfResult<&'a MapArray> {
    match a.as_map_opt() {
        Some(m) => Ok(m),
        None => exec_err!("{function} expects a MAP, got {}", a.data_type()),
    }
}

/// Each map's keys or values (`part` picks which) as an array of the `return_type` list:
/// MAP_KEYS and MAP_VALUES. The entries are reused, not copied.
pub fn map_part_as_list(
    arg: &ArrayRef,
    return_type: &DataType,
    function: &str,
    part: fn(&MapArray) -> &ArrayRef,
) -> DfResult<ArrayRef> {
    let map = map_arg(arg, function)?;
    let DataType::List(field) = return_type else {
        return exec_err!("{function} returns an array");
    };
    let mut items = part(map).clone();
    if items.data_type() != field.data_type() {
        items = cast(&items, field.data_type())?;
    }
    let list = ListArray::try_new(
        field.clone(),
        map.offsets().clone(),
        items,
        map.nulls().cloned(),
    )?;
    Ok(Arc::new(list))
}

/// The elements of row `row` of a list, or `None` when it is null.
pub fn row_range(list: &ListArray, row: usize) -> Option<(usize, usize)> {
    list.is_valid(row)
        .then(|| bounds(list.value_offsets(), row))
}

// ---------------------------------------------------------------------------------------------
// Building results

/// The elements at `picks` of `values` (null where a pick is `None`), as one array.
pub fn pick(values: &ArrayRef, picks: &[Option<usize>]) -> DfResult<ArrayRef> {
    let data = values.to_data();
    let mut out = MutableArrayData::new(vec![&data], true, picks.len());
    for p in picks {
        match p {
            Some(i) => out.try_extend(0, *i, *i + 1)?,
            None => out.try_extend_nulls(1)?,
        }
    }
    Ok(make_array(out.freeze()))
}

/// `ARRAY<T> -> T`.
pub fn array_to_element(args: &[Option<SqlType>]) -> Option<Signature> {
    let [array] = args else { return None };
    let t = array_element(array)?.unwrap_or(SqlType::String);
    Some(Signature {
        params: vec![array_of(&t)],
        returns: t,
    })
}

/// The position of the first greatest (`Ordering::Greater`) or least (`Ordering::Less`)
/// non-null element of each row, as ARRAY_MAX and ARRAY_MIN pick it.
pub fn extreme(list: &ListArray, want: Ordering, function: &str) -> DfResult<Vec<Option<usize>>> {
    let values = java_values(list.values().as_ref())?;
    let mut picks = Vec::with_capacity(list.len());
    for row in 0..list.len() {
        let mut best: Option<usize> = None;
        if let Some((s, e)) = row_range(list, row) {
            for i in s..e {
                if values[i].is_null() {
                    continue;
                }
                best = match best {
                    None => Some(i),
                    Some(b) if compare_or_fail(&values[i], &values[b], function)? == want => {
                        Some(i)
                    }
                    keep => keep,
                };
            }
        }
        picks.push(best);
    }
    Ok(picks)
}

/// Builds a list column row by row out of elements copied from source arrays (all of the
/// element type of the result).
pub struct ListOut<'a> {
    elements: MutableArrayData<'a>,
    offsets: Vec<i32>,
    nulls: NullBufferBuilder,
    len: usize,
}

impl<'a> ListOut<'a> {
    pub fn new(sources: Vec<&'a ArrayData>, rows: usize) -> ListOut<'a> {
        let capacity = sources.iter().map(|s| s.len()).sum();
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        ListOut {
            elements: MutableArrayData::new(sources, true, capacity),
            offsets,
            nulls: NullBufferBuilder::new(rows),
            len: 0,
        }
    }

    /// Appends elements `start..end` of source `source` to the current row.
    pub fn extend(&mut self, source: usize, start: usize, end: usize) -> DfResult<()> {
        if end > start {
            self.grow(end - start)?;
            self.elements.try_extend(source, start, end)?;
        }
        Ok(())
    }

    /// Appends a null element to the current row.
    pub fn push_null(&mut self) -> DfResult<()> {
        self.grow(1)?;
        self.elements.try_extend_nulls(1)?;
        Ok(())
    }

    /// Counts `more` elements, refusing a column past the 32-bit offsets of Arrow's lists.
    fn grow(&mut self, more: usize) -> DfResult<()> {
        let len = self.len + more;
        if i32::try_from(len).is_err() {
            return exec_err!(
                "a column of arrays may hold at most {} elements in all",
                i32::MAX
            );
        }
        self.len = len;
        Ok(())
    }

    /// The offset of the elements appended so far (below 2^31: see [`Self::grow`]).
    fn offset(&self) -> i32 {
        i32::try_from(self.len).unwrap_or(i32::MAX)
    }

    /// Ends the current row as a list of the elements appended since the last row.
    pub fn end_row(&mut self) {
        self.offsets.push(self.offset());
        self.nulls.append_non_null();
    }

    /// Adds a null row (any elements appended since the last row stay unreferenced).
    pub fn null_row(&mut self) {
        self.offsets.push(self.offset());
        self.nulls.append_null();
    }

    pub fn finish(mut self, return_type: &DataType) -> DfResult<ArrayRef> {
        let DataType::List(field) = return_type else {
            return exec_err!("expected a list return type, got {return_type}");
        };
        let mut elements = make_array(self.elements.freeze());
        if elements.data_type() != field.data_type() {
            elements = cast(&elements, field.data_type())?;
        }
        let list = ListArray::try_new(
            field.clone(),
            OffsetBuffer::new(self.offsets.into()),
            elements,
            self.nulls.finish(),
        )?;
        Ok(Arc::new(list))
    }
}

/// Builds a `MAP<STRING, V>` column row by row out of keys and values copied from source arrays.
pub struct MapOut<'a> {
    keys: ListOut<'a>,
    values: ListOut<'a>,
}

impl<'a> MapOut<'a> {
    pub fn new(
        key_sources: Vec<&'a ArrayData>,
        value_sources: Vec<&'a ArrayData>,
        rows: usize,
    ) -> MapOut<'a> {
        MapOut {
            keys: ListOut::new(key_sources, rows),
            values: ListOut::new(value_sources, rows),
        }
    }

    /// Appends an entry: key `key` of key source `ks`, and value `value` of value source `vs`
    /// (`None` for a null value).
    pub fn push(&mut self, ks: usize, key: usize, value: Option<(usize, usize)>) -> DfResult<()> {
        self.keys.extend(ks, key, key + 1)?;
        match value {
            Some((vs, v)) => self.values.extend(vs, v, v + 1),
            None => self.values.push_null(),
        }
    }

    pub fn end_row(&mut self) {
        self.keys.end_row();
        self.values.end_row();
    }

    pub fn null_row(&mut self) {
        self.keys.null_row();
        self.values.null_row();
    }

    pub fn finish(self, return_type: &DataType) -> DfResult<ArrayRef> {
        let Some((key_type, value_type)) = crate::types::map::entry_types(return_type) else {
            return exec_err!("expected a map return type, got {return_type}");
        };
        let key_list = self.keys.finish(&DataType::List(Arc::new(
            datafusion::arrow::datatypes::Field::new("item", key_type.clone(), true),
        )))?;
        let value_list = self.values.finish(&DataType::List(Arc::new(
            datafusion::arrow::datatypes::Field::new("item", value_type.clone(), true),
        )))?;
        let key_list = key_list.as_list::<i32>();
        let value_list = value_list.as_list::<i32>();
        let map = crate::types::map::new_map(
            return_type,
            key_list.offsets().clone(),
            key_list.values().clone(),
            value_list.values().clone(),
            key_list.nulls().cloned(),
        )?;
        Ok(Arc::new(map))
    }
}

#[cfg(test)]
pub mod testing {
    //! Building arguments and reading results in kernel tests.

    use datafusion::arrow::array::ArrayRef;
    use datafusion::common::ScalarValue;

    use super::java_values;

    /// A column of `ARRAY<INT>` values.
    pub fn int_lists(rows: Vec<Option<Vec<Option<i32>>>>) -> ArrayRef {
        std::sync::Arc::new(datafusion::arrow::array::ListArray::from_iter_primitive::<
            datafusion::arrow::datatypes::Int32Type,
            _,
            _,
        >(rows))
    }

    /// A column of scalar values (all of one type).
    pub fn column(values: Vec<ScalarValue>) -> ArrayRef {
        ScalarValue::iter_to_array(values).unwrap()
    }

    /// A result as Java values, row by row.
    pub fn show(array: &ArrayRef) -> Vec<super::JavaValue> {
        java_values(array.as_ref()).unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use JavaValue as J;

    #[test]
    fn compares_as_java() {
        let d = |v: f64| J::Double(double_bits(v));
        assert_eq!(java_compare(&d(-0.0), &d(0.0)), Some(Ordering::Less));
        assert_eq!(
            java_compare(&d(f64::NAN), &d(1e300)),
            Some(Ordering::Greater)
        );
        assert_eq!(
            java_compare(&d(f64::NAN), &d(-f64::NAN)),
            Some(Ordering::Equal)
        );
        assert_eq!(java_compare(&d(-1.5), &d(-2.0)), Some(Ordering::Greater));
        let s = |v: &str| J::String(v.to_string());
        assert_eq!(java_compare(&s("Food"), &s("foo")), Some(Ordering::Less));
        // U+FF61 sorts after a supplementary character in UTF-8 but before it in UTF-16.
        assert_eq!(
            java_compare(&s("\u{ff61}"), &s("\u{1f600}")),
            Some(Ordering::Greater)
        );
        assert_eq!(
            java_compare(&J::Bytes(vec![0x80]), &J::Bytes(vec![0x01])),
            Some(Ordering::Less)
        );
        assert_eq!(java_compare(&J::List(vec![]), &J::List(vec![])), None);
    }

    #[test]
    fn equals_as_java() {
        assert_eq!(
            J::Double(double_bits(f64::NAN)),
            J::Double(double_bits(-f64::NAN))
        );
        assert_ne!(J::Double(double_bits(0.0)), J::Double(double_bits(-0.0)));
    }

    #[test]
    fn maps_equal_whatever_their_order() {
        use datafusion::arrow::array::{Int32Builder, StringBuilder};
        let mut b = crate::types::map::Builder::new(StringBuilder::new(), Int32Builder::new());
        b.keys().append_value("a");
        b.values().append_value(1);
        b.keys().append_value("b");
        b.values().append_value(2);
        b.append(true);
        b.keys().append_value("b");
        b.values().append_value(2);
        b.keys().append_value("a");
        b.values().append_value(1);
        b.append(true);
        let values = java_values(&b.finish().unwrap()).unwrap();
        assert_eq!(values[0], values[1]);
    }

    #[test]
    fn typing() {
        assert_eq!(unify(&[None, None]), Some(SqlType::String));
        assert_eq!(
            unify(&[Some(SqlType::Int), None, Some(SqlType::Bigint)]),
            Some(SqlType::Bigint)
        );
        assert_eq!(unify(&[Some(SqlType::Int), Some(SqlType::String)]), None);
        assert_eq!(array_element(&Some(SqlType::Int)), None);
    }
}
