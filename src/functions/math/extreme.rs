//! What GREATEST and LEAST share: ksqlDB's resolution of their per-type variadic overloads, and
//! the kernel that keeps the largest (or smallest) non-null argument of each row.

use std::cmp::Ordering;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BinaryArray, new_null_array};
use datafusion::arrow::compute::is_null;
use datafusion::arrow::compute::kernels::boolean::or_kleene;
use datafusion::arrow::compute::kernels::cmp::{gt, lt};
use datafusion::arrow::compute::kernels::zip::zip;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use crate::functions::Kernel;
use crate::functions::registry::{Overload, Resolver, Signature};
use crate::types::SqlType;
use crate::types::common_type;

/// The types ksqlDB declares an overload for, numeric ones in widening order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Bigint,
    Decimal,
    Double,
    String,
    Bytes,
    Date,
    Time,
    Timestamp,
}

const KINDS: [Kind; 9] = [
    Kind::Int,
    Kind::Bigint,
    Kind::Double,
    Kind::String,
    Kind::Bytes,
    Kind::Date,
    Kind::Time,
    Kind::Timestamp,
    Kind::Decimal,
];

impl Kind {
    fn of(ty: &SqlType) -> Option<Kind> {
        Some(match ty {
            SqlType::Int => Kind::Int,
            SqlType::Bigint => Kind::Bigint,
            SqlType::Decimal { .. } => Kind::Decimal,
            SqlType::Double => Kind::Double,
            SqlType::String => Kind::String,
            SqlType::Bytes => Kind::Bytes,
            SqlType::Date => Kind::Date,
            SqlType::Time => Kind::Time,
            SqlType::Timestamp => Kind::Timestamp,
            _ => return None,
        })
    }

    fn numeric_rank(self) -> Option<u8> {
        match self {
            Kind::Int => Some(0),
            Kind::Bigint => Some(1),
            Kind::Decimal => Some(2),
            Kind::Double => Some(3),
            _ => None,
        }
    }

    /// Whether a parameter of this kind takes an argument of kind `arg`, as it is or (with
    /// `casts`) through ksqlDB's implicit casts.
    fn accepts(self, arg: Kind, casts: bool) -> bool {
        if self == arg {
            return true;
        }
        if !casts {
            return false;
        }
        match (arg.numeric_rank(), self.numeric_rank()) {
            (Some(from), Some(to)) => from <= to,
            _ => {
                arg == Kind::String
                    && matches!(
                        self,
                        Kind::Date | Kind::Time | Kind::Timestamp | Kind::Bytes
                    )
            }
        }
    }

    fn display(self) -> &'static str {
        match self {
            Kind::Int => "INTEGER, INTEGER[]",
            Kind::Bigint => "BIGINT, BIGINT[]",
            Kind::Decimal => "DECIMAL, DECIMAL[]",
            Kind::Double => "DOUBLE, DOUBLE[]",
            Kind::String => "STRING, STRING[]",
            Kind::Bytes => "BYTES, BYTES[]",
            Kind::Date => "DATE, DATE[]",
            Kind::Time => "TIME, TIME[]",
            Kind::Timestamp => "TIMESTAMP, TIMESTAMP[]",
        }
    }
}

/// The one overload kind a call resolves to: the kinds that take every argument as it is, else
/// those that take them with casts. `None` when there is none, or more than one (ambiguous).
fn chosen(args: &[Option<SqlType>]) -> Option<Kind> {
    match candidates(args)?.as_slice() {
        [one] => Some(*one),
        _ => None,
    }
}

/// The overload kinds of the first step (as-is, then with casts) at which any takes every
/// argument; `None` when no step finds one.
fn candidates(args: &[Option<SqlType>]) -> Option<Vec<Kind>> {
    if args.is_empty() {
        return None;
    }
    // The kinds of the typed arguments (untyped NULLs fit every overload); any other type fits
    // none.
    let kinds: Vec<Kind> = args
        .iter()
        .flatten()
        .map(Kind::of)
        .collect::<Option<Vec<_>>>()?;
    [false, true].into_iter().find_map(|casts| {
        let found: Vec<Kind> = KINDS
            .into_iter()
            .filter(|p| kinds.iter().all(|a| p.accepts(*a, casts)))
            .collect();
        (!found.is_empty()).then_some(found)
    })
}

/// Whether more than one overload takes every argument at the first step that any does.
fn ambiguous(args: &[Option<SqlType>]) -> bool {
    !args.is_empty() && chosen(args).is_none() && candidates(args).is_some_and(|c| c.len() > 1)
}

/// The signature of a call when it resolves to `kind`.
fn resolve(args: &[Option<SqlType>], kind: Kind) -> Option<Signature> {
    if chosen(args)? != kind {
        return None;
    }
    let ty = match kind {
        Kind::Int => SqlType::Int,
        Kind::Bigint => SqlType::Bigint,
        Kind::Double => SqlType::Double,
        Kind::String => SqlType::String,
        Kind::Bytes => SqlType::Bytes,
        Kind::Date => SqlType::Date,
        Kind::Time => SqlType::Time,
        Kind::Timestamp => SqlType::Timestamp,
        Kind::Decimal => args.iter().flatten().try_fold(None::<SqlType>, |acc, t| {
            Some(Some(match acc {
                None => t.clone(),
                Some(acc) => common_type(&acc, t)?,
            }))
        })??,
    };
    Some(Signature {
        params: vec![ty.clone(); args.len()],
        returns: ty,
    })
}

/// One generic overload per type, each taking the calls that resolve to it.
pub(super) fn overloads(kernel: Kernel) -> Vec<Overload> {
    let resolvers: [(Kind, Resolver); 9] = [
        (Kind::Int, |a| resolve(a, Kind::Int)),
        (Kind::Bigint, |a| resolve(a, Kind::Bigint)),
        (Kind::Double, |a| resolve(a, Kind::Double)),
        (Kind::String, |a| resolve(a, Kind::String)),
        (Kind::Bytes, |a| resolve(a, Kind::Bytes)),
        (Kind::Date, |a| resolve(a, Kind::Date)),
        (Kind::Time, |a| resolve(a, Kind::Time)),
        (Kind::Timestamp, |a| resolve(a, Kind::Timestamp)),
        (Kind::Decimal, |a| resolve(a, Kind::Decimal)),
    ];
    resolvers
        .into_iter()
        .map(|(kind, resolver)| {
            Overload::generic(kind.display(), resolver, kernel).with_ambiguity(ambiguous)
        })
        .collect()
}

/// Per row, the argument that compares `want` (Greater or Less) to all others, skipping nulls;
/// the first such argument on ties. All arguments have the result's type.
pub(super) fn extreme(
    args: &[ArrayRef],
    return_type: &DataType,
    want: Ordering,
) -> DfResult<ArrayRef> {
    let Some(first) = args.first() else {
        return Ok(new_null_array(return_type, 1));
    };
    if matches!(return_type, DataType::Binary) {
        return Ok(extreme_bytes(args, want));
    }
    let mut acc = first.clone();
    for next in &args[1..] {
        let better = if want == Ordering::Greater {
            gt(next, &acc)?
        } else {
            lt(next, &acc)?
        };
        let take = or_kleene(&is_null(&acc)?, &better)?;
        acc = zip(&take, next, &acc)?;
    }
    Ok(acc)
}

/// BYTES compare as Java's `ByteBuffer.compareTo` does: byte by byte as *signed* values, then
/// by length.
fn extreme_bytes(args: &[ArrayRef], want: Ordering) -> ArrayRef {
    let arrays: Vec<&BinaryArray> = args.iter().map(|a| a.as_binary::<i32>()).collect();
    let rows = arrays[0].len();
    let out: BinaryArray = (0..rows)
        .map(|row| {
            let mut best: Option<&[u8]> = None;
            for a in &arrays {
                if a.is_null(row) {
                    continue;
                }
                let v = a.value(row);
                best = match best {
                    Some(b) if signed_cmp(v, b) != want => Some(b),
                    _ => Some(v),
                };
            }
            best
        })
        .collect();
    Arc::new(out)
}

fn signed_cmp(a: &[u8], b: &[u8]) -> Ordering {
    a.iter().map(|x| *x as i8).cmp(b.iter().map(|x| *x as i8))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Float64Array, Int32Array};

    fn resolves(args: &[Option<SqlType>]) -> Option<SqlType> {
        KINDS
            .into_iter()
            .find_map(|k| resolve(args, k))
            .map(|s| s.returns)
    }

    #[test]
    fn resolves_like_ksqldb() {
        use SqlType::*;
        assert_eq!(resolves(&[Some(Int), None, Some(Int)]), Some(Int));
        assert_eq!(resolves(&[Some(Int), Some(Bigint)]), None);
        assert_eq!(
            resolves(&[
                Some(Int),
                Some(Bigint),
                Some(SqlType::decimal(4, 2)),
                Some(Double)
            ]),
            Some(Double)
        );
        assert_eq!(resolves(&[Some(Date), Some(String)]), Some(Date));
        assert_eq!(resolves(&[Some(String), Some(Int)]), None);
        assert_eq!(resolves(&[None, None]), None);
        assert_eq!(resolves(&[]), None);
        assert_eq!(
            resolves(&[Some(SqlType::decimal(9, 2)), Some(SqlType::decimal(7, 6))]),
            Some(SqlType::decimal(13, 6))
        );
    }

    #[test]
    fn skips_nulls_and_orders_doubles_like_java() {
        let a: ArrayRef = Arc::new(Float64Array::from(vec![Some(1.0), None, Some(-0.0), None]));
        let b: ArrayRef = Arc::new(Float64Array::from(vec![
            Some(f64::NAN),
            Some(2.0),
            Some(0.0),
            None,
        ]));
        let g = extreme(
            &[a.clone(), b.clone()],
            &DataType::Float64,
            Ordering::Greater,
        )
        .unwrap();
        let g = g.as_primitive::<datafusion::arrow::datatypes::Float64Type>();
        assert!(g.value(0).is_nan());
        assert_eq!(g.value(1), 2.0);
        assert!(g.value(2).is_sign_positive());
        assert!(g.is_null(3));
        let i: ArrayRef = Arc::new(Int32Array::from(vec![Some(3), None]));
        let j: ArrayRef = Arc::new(Int32Array::from(vec![Some(1), Some(5)]));
        let l = extreme(&[i, j], &DataType::Int32, Ordering::Less).unwrap();
        assert_eq!(
            l.as_primitive::<datafusion::arrow::datatypes::Int32Type>()
                .values(),
            &[1, 5]
        );
    }

    #[test]
    fn bytes_compare_signed() {
        assert_eq!(signed_cmp(&[0x80], &[0x7f]), Ordering::Less);
        assert_eq!(signed_cmp(b"ab", b"a"), Ordering::Greater);
    }
}
