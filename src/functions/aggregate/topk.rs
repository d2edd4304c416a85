//! TOPK(col, otherCols..., k) and TOPKDISTINCT(col, k): the k greatest values of a column,
//! greatest first; nulls in `col` are skipped.
//!
//! TOPK takes INTEGER, BIGINT, DOUBLE or STRING (a DECIMAL widens to DOUBLE, as ksqlDB
//! resolves it). With other columns it returns `ARRAY<STRUCT<sort_col T, col0 …, col1 …>>`,
//! each struct holding the record's other values; among equal values the earlier record comes
//! first, and a new value equal to the k-th is not kept. TOPKDISTINCT also takes DECIMAL, DATE,
//! TIME, TIMESTAMP and BYTES, and keeps each value once. Neither can undo.

use std::cmp::Ordering;

use datafusion::common::ScalarValue;

use super::{
    Accumulator, AggResult, AggregateContext, AggregateFunction, AggregateOverload, java_cmp,
    java_equals, list_value, same, struct_type, struct_value,
};
use crate::accumulator_boilerplate;
use crate::functions::registry::Signature;
use crate::types::SqlType;

/// The name of the sorted column's field in TOPK's structs.
const SORT_FIELD: &str = "sort_col";

/// The type TOPK sorts a column as, if it can.
fn topk_sort_type(t: &SqlType) -> Option<SqlType> {
    match t {
        SqlType::Int | SqlType::Bigint | SqlType::Double | SqlType::String => Some(t.clone()),
        SqlType::Decimal { .. } => Some(SqlType::Double),
        _ => None,
    }
}

fn topk_signature(args: &[Option<SqlType>]) -> Option<Signature> {
    let (first, others) = args.split_first()?;
    let sort = topk_sort_type(first.as_ref()?)?;
    let others = others
        .iter()
        .map(|t| t.clone().unwrap_or(SqlType::String))
        .collect::<Vec<_>>();
    let element = if others.is_empty() {
        sort.clone()
    } else {
        let names: Vec<String> = (0..others.len()).map(|i| format!("col{i}")).collect();
        let mut fields = vec![(SORT_FIELD, sort.clone())];
        fields.extend(names.iter().map(String::as_str).zip(others.iter().cloned()));
        struct_type(&fields)
    };
    let mut params = vec![sort];
    params.extend(others);
    Some(Signature {
        params,
        returns: SqlType::Array(Box::new(element)),
    })
}

/// k, the constant argument.
fn k_of(ctx: &AggregateContext) -> AggResult<i64> {
    match ctx.literals.last() {
        Some(ScalarValue::Int32(Some(k))) => Ok(*k as i64),
        Some(ScalarValue::Int64(Some(k))) => Ok(*k),
        _ => Err("TOPK function should have two arguments.".to_string()),
    }
}

pub fn topk() -> AggregateFunction {
    AggregateFunction {
        name: "TOPK",
        description: "Returns the top k values for a column and other values in those records.",
        overloads: vec![
            AggregateOverload::generic(
                "T val, ANY... otherCols, INTEGER k",
                topk_signature,
                |ctx| {
                    let SqlType::Array(element) = &ctx.signature.returns else {
                        return Err("TOPK must return an array".to_string());
                    };
                    Ok(Box::new(TopK {
                        k: k_of(ctx)?,
                        distinct: false,
                        entries: Vec::new(),
                        element: (**element).clone(),
                        with_others: ctx.signature.params.len() > 1,
                    }))
                },
            )
            .with_literals(&[SqlType::Int]),
        ],
        supports_undo: false,
        intermediate: None,
    }
}

pub fn topk_distinct() -> AggregateFunction {
    AggregateFunction {
        name: "TOPKDISTINCT",
        description: "Computes the top k distinct values for a column, per key.",
        overloads: vec![
            AggregateOverload::generic(
                "T val, INTEGER k",
                |args| match args {
                    [Some(t)]
                        if matches!(
                            t,
                            SqlType::Int
                                | SqlType::Bigint
                                | SqlType::Double
                                | SqlType::String
                                | SqlType::Decimal { .. }
                                | SqlType::Date
                                | SqlType::Time
                                | SqlType::Timestamp
                                | SqlType::Bytes
                        ) =>
                    {
                        Some(Signature {
                            params: vec![t.clone()],
                            returns: SqlType::Array(Box::new(t.clone())),
                        })
                    }
                    _ => None,
                },
                |ctx| {
                    Ok(Box::new(TopK {
                        k: k_of(ctx)?,
                        distinct: true,
                        entries: Vec::new(),
                        element: ctx.signature.params[0].clone(),
                        with_others: false,
                    }))
                },
            )
            .with_literals(&[SqlType::Int]),
        ],
        supports_undo: false,
        intermediate: None,
    }
}

/// One kept record: the sorted value and the record's other values.
#[derive(Debug, Clone)]
struct Entry {
    value: ScalarValue,
    others: Vec<ScalarValue>,
}

impl crate::types::codec::Encode for Entry {
    fn encode(&self, out: &mut Vec<u8>) {
        crate::types::codec::Encode::encode(&(&self.value, &self.others), out);
    }
}

impl crate::types::codec::Decode for Entry {
    fn decode(input: &mut crate::types::codec::Input<'_>) -> crate::types::codec::Result<Self> {
        let (value, others) = crate::types::codec::Decode::decode(input)?;
        Ok(Entry { value, others })
    }
}

#[derive(Debug, Clone)]
struct TopK {
    /// How many to keep; ksqlDB keeps any number when k is negative.
    k: i64,
    distinct: bool,
    /// Greatest first.
    entries: Vec<Entry>,
    /// The result's element type.
    element: SqlType,
    /// Whether the result's elements are structs of the value and the other columns.
    with_others: bool,
}

impl TopK {
    fn full(&self) -> bool {
        self.k >= 0 && self.entries.len() as i64 >= self.k
    }

    fn sort(&mut self) {
        // Stable, like Java's List.sort: equal values keep their order.
        self.entries.sort_by(|a, b| java_cmp(&b.value, &a.value));
    }

    /// Merges two lists greatest first, keeping k (ksqlDB's merger: on a tie the first list's
    /// entry comes first; TOPKDISTINCT keeps equal values once).
    fn merged(&self, one: &[Entry], two: &[Entry]) -> Vec<Entry> {
        let (mut i, mut j) = (0, 0);
        let mut out = Vec::new();
        while self.k < 0 || (out.len() as i64) < self.k {
            match (one.get(i), two.get(j)) {
                (None, None) => break,
                (Some(a), None) => {
                    out.push(a.clone());
                    i += 1;
                }
                (None, Some(b)) => {
                    out.push(b.clone());
                    j += 1;
                }
                (Some(a), Some(b)) => match java_cmp(&a.value, &b.value) {
                    Ordering::Greater => {
                        out.push(a.clone());
                        i += 1;
                    }
                    Ordering::Less => {
                        out.push(b.clone());
                        j += 1;
                    }
                    Ordering::Equal => {
                        out.push(a.clone());
                        i += 1;
                        if self.distinct {
                            j += 1;
                        }
                    }
                },
            }
        }
        out
    }
}

impl Accumulator for TopK {
    fn add(&mut self, args: &[ScalarValue]) -> AggResult<()> {
        let value = &args[0];
        if value.is_null() {
            return Ok(());
        }
        if self.k == 0 {
            return Err("Index -1 out of bounds for length 0".to_string());
        }
        if self.full()
            && self
                .entries
                .last()
                .is_some_and(|last| java_cmp(value, &last.value) != Ordering::Greater)
        {
            return Ok(());
        }
        if self.distinct && self.entries.iter().any(|e| java_equals(&e.value, value)) {
            return Ok(());
        }
        let entry = Entry {
            value: value.clone(),
            others: args[1..].to_vec(),
        };
        if self.full() {
            *self.entries.last_mut().expect("a full list has entries") = entry;
        } else {
            self.entries.push(entry);
        }
        self.sort();
        Ok(())
    }
    fn undo(&mut self, _: &[ScalarValue]) -> AggResult<()> {
        Err("TOPK and TOPKDISTINCT cannot undo".to_string())
    }
    fn merge(&mut self, other: &dyn Accumulator) -> AggResult<()> {
        let other = same::<TopK>(other)?;
        self.entries = self.merged(&self.entries, &other.entries);
        Ok(())
    }
    fn value(&self) -> ScalarValue {
        let values: Vec<ScalarValue> = self
            .entries
            .iter()
            .map(|e| {
                if self.with_others {
                    let mut fields = vec![e.value.clone()];
                    fields.extend(e.others.iter().cloned());
                    struct_value(&self.element, &fields)
                } else {
                    e.value.clone()
                }
            })
            .collect();
        list_value(&self.element, &values)
    }
    accumulator_boilerplate!(entries);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topk(k: i64, distinct: bool) -> TopK {
        TopK {
            k,
            distinct,
            entries: Vec::new(),
            element: SqlType::Int,
            with_others: false,
        }
    }

    fn values(t: &TopK) -> Vec<i32> {
        t.entries
            .iter()
            .map(|e| match e.value {
                ScalarValue::Int32(Some(v)) => v,
                _ => panic!(),
            })
            .collect()
    }

    #[test]
    fn keeps_the_greatest() {
        let mut t = topk(3, false);
        for v in [0, 100, 99, 7, 100] {
            t.add(&[ScalarValue::Int32(Some(v))]).unwrap();
        }
        t.add(&[ScalarValue::Int32(None)]).unwrap();
        assert_eq!(values(&t), vec![100, 100, 99]);
    }

    #[test]
    fn distinct_keeps_each_once() {
        let mut t = topk(3, true);
        for v in [0, 100, 99, 7, 100] {
            t.add(&[ScalarValue::Int32(Some(v))]).unwrap();
        }
        assert_eq!(values(&t), vec![100, 99, 7]);
    }

    #[test]
    fn merges() {
        let mut a = topk(3, true);
        let mut b = topk(3, true);
        for v in [5, 3, 1] {
            a.add(&[ScalarValue::Int32(Some(v))]).unwrap();
        }
        for v in [5, 4] {
            b.add(&[ScalarValue::Int32(Some(v))]).unwrap();
        }
        a.merge(&b).unwrap();
        assert_eq!(values(&a), vec![5, 4, 3]);
    }

    #[test]
    fn signature_with_other_columns() {
        let s = topk_signature(&[Some(SqlType::Bigint), Some(SqlType::String)]).unwrap();
        assert_eq!(
            s.returns.to_string(),
            "ARRAY<STRUCT<`sort_col` BIGINT, `col0` STRING>>"
        );
        let s = topk_signature(&[Some(SqlType::decimal(4, 1))]).unwrap();
        assert_eq!(s.params, vec![SqlType::Double]);
        assert!(topk_signature(&[Some(SqlType::Boolean)]).is_none());
    }
}
