//! Aggregate functions (UDAFs): COUNT, SUM, … with ksqlDB's names, types and null handling.
//!
//! An [`AggregateFunction`] resolves a call to a [`Signature`] and creates one [`Accumulator`]
//! per group (and window). The accumulator follows ksqlDB's UDAF contract: `add` a row's
//! arguments, `undo` them when a table row is retracted, `merge` two accumulators when session
//! windows merge, and give the current `value`. A new aggregate is one file here and one line
//! in [`aggregate_functions`].

mod attr;
mod average;
mod collect;
pub mod columnar;
mod correlation;
mod count;
mod histogram;
mod minmax;
mod offset;
mod stddev;
mod sum;
mod topk;

use std::any::Any;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::{Arc, OnceLock, RwLock};

use datafusion::arrow::array::StructArray;
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;

use super::registry::{Params, Signature};
use super::util::to_array;
use crate::types::can_widen;
use crate::types::{SqlType, StructField};

/// Why an accumulator could not take a value.
pub type AggResult<T> = Result<T, String>;

/// The running state of one aggregate for one group.
pub trait Accumulator: Debug + Send {
    /// Adds one row's arguments.
    fn add(&mut self, args: &[ScalarValue]) -> AggResult<()>;
    /// Removes one row's arguments (a retracted table row). Aggregates that can't undo return
    /// an error; the planner rejects them on table sources first.
    fn undo(&mut self, args: &[ScalarValue]) -> AggResult<()>;
    /// Folds another accumulator of the same function into this one (session windows).
    fn merge(&mut self, other: &dyn Accumulator) -> AggResult<()>;
    /// The current result.
    fn value(&self) -> ScalarValue;
    fn clone_box(&self) -> Box<dyn Accumulator>;
    fn as_any(&self) -> &dyn Any;
    /// Writes the running state (not the configuration: an accumulator is restored by making
    /// a fresh one with the same factory and loading into it), for changelogs and snapshots.
    fn save(&self, out: &mut Vec<u8>);
    /// Replaces the running state with one [`Accumulator::save`] wrote.
    fn load(
        &mut self,
        input: &mut crate::types::codec::Input<'_>,
    ) -> crate::types::codec::Result<()>;
}

impl Clone for Box<dyn Accumulator> {
    fn clone(&self) -> Self {
        self.clone_box()
    }
}

/// What an accumulator is created from: the call's signature, its constant arguments (such as
/// TOPK's k, given after the column arguments) and the query's properties.
#[derive(Debug, Clone)]
pub struct AggregateContext {
    pub signature: Signature,
    /// Literal arguments after the column arguments, in order.
    pub literals: Vec<ScalarValue>,
    pub properties: BTreeMap<String, String>,
}

pub type Factory = fn(&AggregateContext) -> AggResult<Box<dyn Accumulator>>;

/// One way of calling an aggregate.
#[derive(Debug, Clone)]
pub struct AggregateOverload {
    /// The column arguments' types.
    pub params: Params,
    pub returns: Option<SqlType>,
    /// The types of the trailing arguments that are constants (literals) rather than columns.
    pub literal_types: Vec<SqlType>,
    pub factory: Factory,
}

impl AggregateOverload {
    pub fn fixed(params: &[SqlType], returns: SqlType, factory: Factory) -> AggregateOverload {
        AggregateOverload {
            params: Params::Fixed(params.to_vec()),
            returns: Some(returns),
            literal_types: Vec::new(),
            factory,
        }
    }

    pub fn generic(
        display: &'static str,
        resolve: super::registry::Resolver,
        factory: Factory,
    ) -> AggregateOverload {
        AggregateOverload {
            params: Params::Generic { resolve, display },
            returns: None,
            literal_types: Vec::new(),
            factory,
        }
    }

    /// The same overload, with trailing constant arguments of these types.
    pub fn with_literals(mut self, types: &[SqlType]) -> AggregateOverload {
        self.literal_types = types.to_vec();
        self
    }

    fn literals_match(&self, literals: &[Option<SqlType>]) -> bool {
        self.literal_types.len() == literals.len()
            && self
                .literal_types
                .iter()
                .zip(literals)
                .all(|(want, got)| got.as_ref().is_none_or(|g| g == want || can_widen(g, want)))
    }

    fn resolve(&self, args: &[Option<SqlType>]) -> Option<(Signature, usize)> {
        match &self.params {
            Params::Fixed(params) => {
                if params.len() != args.len() {
                    return None;
                }
                let mut widenings = 0;
                let mut actual = Vec::with_capacity(params.len());
                for (a, p) in args.iter().zip(params) {
                    match a {
                        None => actual.push(p.clone()),
                        Some(t) if t == p => actual.push(p.clone()),
                        Some(d @ SqlType::Decimal { .. })
                            if matches!(p, SqlType::Decimal { .. }) =>
                        {
                            actual.push(d.clone())
                        }
                        Some(t) if can_widen(t, p) => {
                            widenings += 1;
                            actual.push(p.clone())
                        }
                        _ => return None,
                    }
                }
                let returns = match (&self.returns, actual.first()) {
                    (Some(SqlType::Decimal { .. }), Some(d @ SqlType::Decimal { .. })) => d.clone(),
                    (Some(r), _) => r.clone(),
                    (None, _) => return None,
                };
                Some((
                    Signature {
                        params: actual,
                        returns,
                    },
                    widenings,
                ))
            }
            Params::Variadic(..) => None,
            Params::Generic { resolve, .. } => resolve(args).map(|s| (s, 0)),
        }
    }
}

/// The type of the state an aggregate keeps for a signature (ksqlDB's "aggregate type").
pub type IntermediateType = fn(&Signature) -> SqlType;

/// An aggregate function with its ksqlDB name and metadata.
#[derive(Debug, Clone)]
pub struct AggregateFunction {
    pub name: &'static str,
    pub description: &'static str,
    pub overloads: Vec<AggregateOverload>,
    /// Whether it can undo, and so aggregate a table (ksqlDB: TableAggregationFunction).
    pub supports_undo: bool,
    /// The type of its intermediate state, which ksqlDB keeps in the aggregation's state
    /// store, serialized in the value format: a format that can't hold it (DELIMITED can hold
    /// no ARRAY, MAP or STRUCT) makes ksqlDB reject the query with "One of the functions used
    /// in the statement has an intermediate type that the value format can not handle. …".
    /// `None`: the same as the result type.
    pub intermediate: Option<IntermediateType>,
}

impl AggregateFunction {
    /// Picks an overload for the column argument types and the types of the trailing constant
    /// arguments.
    pub fn resolve(
        &self,
        column_args: &[Option<SqlType>],
        literals: &[Option<SqlType>],
    ) -> Option<(Signature, Factory)> {
        self.overloads
            .iter()
            .filter(|o| o.literals_match(literals))
            .filter_map(|o| o.resolve(column_args).map(|(s, w)| (s, w, o.factory)))
            .min_by_key(|(_, w, _)| *w)
            .map(|(s, _, f)| (s, f))
    }

    /// The type of the state kept for a resolved call (see [`AggregateFunction::intermediate`]).
    pub fn intermediate_type(&self, signature: &Signature) -> SqlType {
        match self.intermediate {
            Some(f) => f(signature),
            None => signature.returns.clone(),
        }
    }

    /// How many trailing literal arguments the overloads may take.
    pub fn literal_counts(&self) -> Vec<usize> {
        let mut counts: Vec<usize> = self
            .overloads
            .iter()
            .map(|o| o.literal_types.len())
            .collect();
        counts.sort_unstable();
        counts.dedup();
        counts
    }
}

/// Every built-in aggregate function.
pub fn aggregate_functions() -> Vec<AggregateFunction> {
    vec![
        attr::function(),
        average::function(),
        collect::collect_list(),
        collect::collect_set(),
        correlation::function(),
        count::count(),
        count::count_distinct(),
        histogram::function(),
        minmax::max(),
        minmax::min(),
        offset::earliest_by_offset(),
        offset::latest_by_offset(),
        stddev::stddev_samp(),
        stddev::stddev_sample(),
        sum::function(),
        sum::sum_list(),
        topk::topk(),
        topk::topk_distinct(),
    ]
}

fn registry() -> &'static RwLock<BTreeMap<String, Arc<AggregateFunction>>> {
    static REGISTRY: OnceLock<RwLock<BTreeMap<String, Arc<AggregateFunction>>>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        RwLock::new(
            aggregate_functions()
                .into_iter()
                .map(|f| (f.name.to_uppercase(), Arc::new(f)))
                .collect(),
        )
    })
}

/// The aggregate function with this name (case-insensitive).
pub fn lookup(name: &str) -> Option<Arc<AggregateFunction>> {
    registry()
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(&name.to_uppercase())
        .cloned()
}

/// Every aggregate function, built-in and user-defined.
pub fn all() -> Vec<Arc<AggregateFunction>> {
    registry()
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .values()
        .cloned()
        .collect()
}

/// Adds (or replaces) an aggregate function.
pub fn register(function: AggregateFunction) {
    registry()
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .insert(function.name.to_uppercase(), Arc::new(function));
}

/// Whether a name is an aggregate function.
pub fn is_aggregate(name: &str) -> bool {
    lookup(name).is_some()
}

/// Downcasts the other accumulator in a merge.
pub fn same<T: 'static>(other: &dyn Accumulator) -> AggResult<&T> {
    other
        .as_any()
        .downcast_ref::<T>()
        .ok_or_else(|| "cannot merge accumulators of different functions".to_string())
}

/// A STRUCT type from (name, type) pairs.
pub(crate) fn struct_type(fields: &[(&str, SqlType)]) -> SqlType {
    SqlType::Struct(
        fields
            .iter()
            .map(|(name, ty)| StructField {
                name: name.to_string(),
                ty: ty.clone(),
            })
            .collect(),
    )
}

/// A null of a SQL type.
pub(crate) fn typed_null(ty: &SqlType) -> ScalarValue {
    ScalarValue::try_from(&ty.to_arrow()).unwrap_or(ScalarValue::Null)
}

/// An ARRAY value of `item`s (nulls typed as the item type).
pub(crate) fn list_value(item: &SqlType, values: &[ScalarValue]) -> ScalarValue {
    let data_type = item.to_arrow();
    match to_array(values.to_vec(), &data_type) {
        Ok(array) => ScalarValue::List(Arc::new(datafusion::arrow::array::ListArray::new(
            Arc::new(datafusion::arrow::datatypes::Field::new(
                "item", data_type, true,
            )),
            OffsetBuffer::from_lengths([values.len()]),
            array,
            None,
        ))),
        Err(_) => typed_null(&SqlType::Array(Box::new(item.clone()))),
    }
}

/// A STRUCT value of a STRUCT type, one value per field.
pub(crate) fn struct_value(ty: &SqlType, values: &[ScalarValue]) -> ScalarValue {
    let DataType::Struct(fields) = ty.to_arrow() else {
        return ScalarValue::Null;
    };
    let arrays = fields
        .iter()
        .zip(values)
        .map(|(f, v)| to_array(vec![v.clone()], f.data_type()))
        .collect::<Result<Vec<_>, _>>();
    match arrays.map(|a| StructArray::try_new(fields, a, None)) {
        Ok(Ok(array)) => ScalarValue::Struct(Arc::new(array)),
        _ => typed_null(ty),
    }
}

/// A MAP value of a MAP type from its entries, in order.
pub(crate) fn map_value(ty: &SqlType, entries: &[(ScalarValue, ScalarValue)]) -> ScalarValue {
    let map_type = ty.to_arrow();
    let Some((key_type, value_type)) = crate::types::map::entry_types(&map_type) else {
        return ScalarValue::Null;
    };
    let keys = to_array(entries.iter().map(|(k, _)| k.clone()).collect(), key_type);
    let values = to_array(entries.iter().map(|(_, v)| v.clone()).collect(), value_type);
    let (Ok(keys), Ok(values)) = (keys, values) else {
        return typed_null(ty);
    };
    match crate::types::map::single_map(&map_type, keys, values) {
        Ok(map) => ScalarValue::Map(Arc::new(map)),
        Err(_) => typed_null(ty),
    }
}

/// Orders two non-null values of one type as Java's `compareTo` does in ksqlDB: doubles with
/// `Double.compare` (NaN above everything, -0.0 below 0.0), strings by UTF-16 code units, bytes
/// as signed bytes (`ByteBuffer.compareTo`), the others by value.
pub(crate) fn java_cmp(a: &ScalarValue, b: &ScalarValue) -> Ordering {
    use ScalarValue as S;
    match (a, b) {
        (S::Float64(Some(x)), S::Float64(Some(y))) => java_double_cmp(*x, *y),
        (S::Utf8(Some(x)), S::Utf8(Some(y))) => x.encode_utf16().cmp(y.encode_utf16()),
        (S::Binary(Some(x)), S::Binary(Some(y))) => {
            x.iter().map(|b| *b as i8).cmp(y.iter().map(|b| *b as i8))
        }
        (S::Decimal128(Some(x), _, sx), S::Decimal128(Some(y), _, sy)) if sx != sy => {
            // Bring both to the larger scale (ksqlDB compares BigDecimals by value).
            let scale = (*sx).max(*sy);
            let up = |v: i128, s: i8| v.checked_mul(10i128.pow((scale - s) as u32));
            match (up(*x, *sx), up(*y, *sy)) {
                (Some(x), Some(y)) => x.cmp(&y),
                _ => a.partial_cmp(b).unwrap_or(Ordering::Equal),
            }
        }
        _ => a.partial_cmp(b).unwrap_or(Ordering::Equal),
    }
}

/// Java's `Double.compare`.
pub(crate) fn java_double_cmp(x: f64, y: f64) -> Ordering {
    match (x.is_nan(), y.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => x.total_cmp(&y),
    }
}

/// Java's `equals` on boxed values: like [`java_cmp`] being equal, but doubles by their bits
/// (NaN equals NaN, 0.0 differs from -0.0) and nulls equal to each other.
pub(crate) fn java_equals(a: &ScalarValue, b: &ScalarValue) -> bool {
    match (a, b) {
        (ScalarValue::Float64(Some(x)), ScalarValue::Float64(Some(y))) => {
            java_double_cmp(*x, *y) == Ordering::Equal
        }
        _ if a.is_null() || b.is_null() => a.is_null() && b.is_null(),
        _ => a == b,
    }
}

/// Implements the boilerplate of an accumulator: `clone_box`, `as_any`, and `save` / `load`
/// of the fields named, its running state.
#[macro_export]
macro_rules! accumulator_boilerplate {
    // The accumulator's whole value is its running state.
    (whole) => {
        fn clone_box(&self) -> Box<dyn $crate::functions::aggregate::Accumulator> {
            Box::new(self.clone())
        }
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
        fn save(&self, out: &mut Vec<u8>) {
            $crate::types::codec::Encode::encode(self, out);
        }
        fn load(
            &mut self,
            input: &mut $crate::types::codec::Input<'_>,
        ) -> $crate::types::codec::Result<()> {
            *self = $crate::types::codec::Decode::decode(input)?;
            Ok(())
        }
    };
    ($($state:tt),*) => {
        fn clone_box(&self) -> Box<dyn $crate::functions::aggregate::Accumulator> {
            Box::new(self.clone())
        }
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
        fn save(&self, out: &mut Vec<u8>) {
            $($crate::types::codec::Encode::encode(&self.$state, out);)*
        }
        fn load(
            &mut self,
            input: &mut $crate::types::codec::Input<'_>,
        ) -> $crate::types::codec::Result<()> {
            $(self.$state = $crate::types::codec::Decode::decode(input)?;)*
            Ok(())
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(
        name: &str,
        args: &[SqlType],
        literals: &[ScalarValue],
    ) -> Option<(Signature, Box<dyn Accumulator>)> {
        let function = lookup(name)?;
        let column_args: Vec<Option<SqlType>> = args.iter().cloned().map(Some).collect();
        let literal_types: Vec<Option<SqlType>> = literals
            .iter()
            .map(|l| SqlType::from_arrow(&l.data_type()))
            .collect();
        let (signature, factory) = function.resolve(&column_args, &literal_types)?;
        let acc = factory(&AggregateContext {
            signature: signature.clone(),
            literals: literals.to_vec(),
            properties: BTreeMap::new(),
        })
        .ok()?;
        Some((signature, acc))
    }

    #[test]
    fn resolves_ksqldb_signatures() {
        let returns = |name, args: &[SqlType], literals: &[ScalarValue]| {
            call(name, args, literals).map(|(s, _)| s.returns.to_string())
        };
        let k = [ScalarValue::Int32(Some(3))];
        assert_eq!(
            returns("topk", &[SqlType::Int], &k).as_deref(),
            Some("ARRAY<INTEGER>")
        );
        assert_eq!(
            returns("TOPK", &[SqlType::decimal(4, 1)], &k).as_deref(),
            Some("ARRAY<DOUBLE>")
        );
        assert_eq!(returns("TOPK", &[SqlType::Int], &[]), None);
        assert_eq!(
            returns("TOPKDISTINCT", &[SqlType::decimal(4, 1)], &k).as_deref(),
            Some("ARRAY<DECIMAL(4, 1)>")
        );
        assert_eq!(returns("TOPKDISTINCT", &[SqlType::Boolean], &k), None);
        assert_eq!(
            returns("HISTOGRAM", &[SqlType::String], &[]).as_deref(),
            Some("MAP<STRING, BIGINT>")
        );
        assert_eq!(returns("HISTOGRAM", &[SqlType::Int], &[]), None);
        assert_eq!(
            returns("AVG", &[SqlType::decimal(4, 1)], &[]).as_deref(),
            Some("DOUBLE")
        );
        assert_eq!(
            returns("SUM", &[SqlType::decimal(4, 1)], &[]).as_deref(),
            Some("DECIMAL(4, 1)")
        );
        assert_eq!(
            returns("CORRELATION", &[SqlType::Int, SqlType::Double], &[]).as_deref(),
            Some("DOUBLE")
        );
        assert_eq!(
            returns(
                "SUM_LIST",
                &[SqlType::Array(Box::new(SqlType::Bigint))],
                &[]
            )
            .as_deref(),
            Some("BIGINT")
        );
        assert_eq!(returns("STDDEV_SAMP", &[SqlType::String], &[]), None);
        assert_eq!(returns("STDDEV_POP", &[SqlType::Double], &[]), None);
        assert_eq!(
            returns(
                "EARLIEST_BY_OFFSET",
                &[SqlType::Int],
                &[ScalarValue::Int32(Some(2))]
            )
            .as_deref(),
            Some("ARRAY<INTEGER>")
        );
    }

    #[test]
    fn table_support_follows_ksqldb() {
        let undoable: Vec<&str> = aggregate_functions()
            .into_iter()
            .filter(|f| f.supports_undo)
            .map(|f| f.name)
            .collect();
        assert_eq!(
            undoable,
            vec![
                "ATTR",
                "AVG",
                "COLLECT_LIST",
                "CORRELATION",
                "COUNT",
                "HISTOGRAM",
                "STDDEV_SAMP",
                "STDDEV_SAMPLE",
                "SUM",
                "SUM_LIST"
            ]
        );
    }

    #[test]
    fn intermediate_types() {
        let intermediate = |name, args: &[SqlType], literals: &[ScalarValue]| {
            let (signature, _) = call(name, args, literals).unwrap();
            lookup(name)
                .unwrap()
                .intermediate_type(&signature)
                .to_string()
        };
        assert_eq!(
            intermediate("AVG", &[SqlType::Int], &[]),
            "STRUCT<`SUM` INTEGER, `COUNT` BIGINT>"
        );
        assert_eq!(intermediate("SUM", &[SqlType::Int], &[]), "INTEGER");
        assert_eq!(
            intermediate("LATEST_BY_OFFSET", &[SqlType::Int], &[]),
            "STRUCT<`SEQ` BIGINT, `VAL` INTEGER>"
        );
        assert_eq!(
            intermediate(
                "LATEST_BY_OFFSET",
                &[SqlType::Int],
                &[ScalarValue::Int32(Some(2))]
            ),
            "ARRAY<STRUCT<`SEQ` BIGINT, `VAL` INTEGER>>"
        );
        assert_eq!(
            intermediate("COUNT_DISTINCT", &[SqlType::String], &[]),
            "ARRAY<INTEGER>"
        );
    }

    #[test]
    fn collect_limits_and_undo() {
        let mut props = BTreeMap::new();
        props.insert(
            "ksql.functions.collect_list.limit".to_string(),
            "2".to_string(),
        );
        let function = lookup("COLLECT_LIST").unwrap();
        let (signature, factory) = function.resolve(&[Some(SqlType::Int)], &[]).unwrap();
        let mut acc = factory(&AggregateContext {
            signature,
            literals: vec![],
            properties: props,
        })
        .unwrap();
        let int = |v: Option<i32>| [ScalarValue::Int32(v)];
        acc.add(&int(Some(1))).unwrap();
        acc.add(&int(None)).unwrap();
        acc.add(&int(Some(3))).unwrap();
        assert_eq!(
            acc.value(),
            list_value(
                &SqlType::Int,
                &[int(Some(1))[0].clone(), int(None)[0].clone()]
            )
        );

        let (_, mut list) = call("COLLECT_LIST", &[SqlType::Int], &[]).unwrap();
        for v in [1, 2, 1, 3] {
            list.add(&int(Some(v))).unwrap();
        }
        list.undo(&int(Some(1))).unwrap();
        let ints = |v: &[i32]| {
            list_value(
                &SqlType::Int,
                &v.iter()
                    .map(|v| ScalarValue::Int32(Some(*v)))
                    .collect::<Vec<_>>(),
            )
        };
        assert_eq!(list.value(), ints(&[1, 2, 3]));

        let (_, mut set) = call("COLLECT_SET", &[SqlType::Int], &[]).unwrap();
        for v in [1, 2, 1, 3] {
            set.add(&int(Some(v))).unwrap();
        }
        assert_eq!(set.value(), ints(&[1, 2, 3]));
    }

    #[test]
    fn compares_like_java() {
        let d = |v: f64| ScalarValue::Float64(Some(v));
        assert_eq!(java_cmp(&d(f64::NAN), &d(f64::INFINITY)), Ordering::Greater);
        assert_eq!(java_cmp(&d(-0.0), &d(0.0)), Ordering::Less);
        let s = |v: &str| ScalarValue::Utf8(Some(v.to_string()));
        // U+FF61 sorts after U+1F600 in UTF-8 but before it in UTF-16.
        assert_eq!(java_cmp(&s("\u{ff61}"), &s("\u{1f600}")), Ordering::Greater);
        let b = |v: &[u8]| ScalarValue::Binary(Some(v.to_vec()));
        assert_eq!(java_cmp(&b(&[0x80]), &b(&[0x01])), Ordering::Less);

        let (_, mut max) = call("MAX", &[SqlType::Double], &[]).unwrap();
        for v in [1.0, f64::NAN, 2.0] {
            max.add(&[d(v)]).unwrap();
        }
        assert!(matches!(max.value(), ScalarValue::Float64(Some(v)) if v.is_nan()));
    }
}
