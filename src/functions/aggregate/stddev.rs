//! STDDEV_SAMP(col) and STDDEV_SAMPLE(col), on INTEGER, BIGINT and DOUBLE (a DECIMAL widens to
//! DOUBLE), as DOUBLE; nulls are skipped, and fewer than two values give 0.0.
//!
//! ksqlDB's STDDEV_SAMP returns the sample *variance* (its documentation says so); STDDEV_SAMPLE
//! returns the sample standard deviation. Both keep a sum (in the argument's type, wrapping
//! around on overflow like Java's), a count and M2, updated with the Youngs-Cramer algorithm
//! exactly as ksqlDB does, including its arithmetic (Java integer arithmetic where it uses it),
//! so that results agree to the last bit. ksqlDB has no STDDEV_POP nor a plain STDDEV.

use datafusion::common::ScalarValue;

use super::{Accumulator, AggResult, AggregateFunction, AggregateOverload, same, struct_type};
use crate::accumulator_boilerplate;
use crate::functions::registry::Signature;
use crate::types::SqlType;

fn function(name: &'static str, description: &'static str, root: bool) -> AggregateFunction {
    let factories: [super::Factory; 2] = [
        |ctx| Ok(Box::new(StdDev::new(&ctx.signature.params[0], false))),
        |ctx| Ok(Box::new(StdDev::new(&ctx.signature.params[0], true))),
    ];
    let factory = factories[root as usize];
    AggregateFunction {
        name,
        description,
        overloads: vec![
            AggregateOverload::fixed(&[SqlType::Bigint], SqlType::Double, factory),
            AggregateOverload::fixed(&[SqlType::Int], SqlType::Double, factory),
            AggregateOverload::fixed(&[SqlType::Double], SqlType::Double, factory),
        ],
        supports_undo: true,
        intermediate: Some(intermediate),
    }
}

pub fn stddev_samp() -> AggregateFunction {
    function(
        "STDDEV_SAMP",
        "Returns the sample standard deviation of the column. Applicable only to numeric types.",
        false,
    )
}

pub fn stddev_sample() -> AggregateFunction {
    function(
        "STDDEV_SAMPLE",
        "Returns the sample standard deviation of the column. Applicable only to numeric types.",
        true,
    )
}

/// `STRUCT<SUM type, COUNT BIGINT, M2 DOUBLE>`.
fn intermediate(signature: &Signature) -> SqlType {
    struct_type(&[
        ("SUM", signature.params[0].clone()),
        ("COUNT", SqlType::Bigint),
        ("M2", SqlType::Double),
    ])
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Total {
    Int(i32),
    Bigint(i64),
    Double(f64),
}

crate::codec_for_enum!(Total {
    Int(v: i32) = 0,
    Bigint(v: i64) = 1,
    Double(v: f64) = 2,
});

#[derive(Debug, Clone)]
struct StdDev {
    sum: Total,
    count: i64,
    m2: f64,
    /// STDDEV_SAMPLE: the square root of the variance.
    root: bool,
}

impl StdDev {
    fn new(ty: &SqlType, root: bool) -> StdDev {
        let sum = match ty {
            SqlType::Int => Total::Int(0),
            SqlType::Bigint => Total::Bigint(0),
            _ => Total::Double(0.0),
        };
        StdDev {
            sum,
            count: 0,
            m2: 0.0,
            root,
        }
    }

    /// ksqlDB's `createDelta`: `value * (count + 1) - (sum + value)`.
    fn delta(&self, v: &ScalarValue) -> AggResult<f64> {
        let next = self.count.wrapping_add(1);
        Ok(match (self.sum, v) {
            (Total::Int(s), ScalarValue::Int32(Some(x))) => (*x as i64)
                .wrapping_mul(next)
                .wrapping_sub(s.wrapping_add(*x) as i64)
                as f64,
            (Total::Bigint(s), ScalarValue::Int64(Some(x))) => {
                x.wrapping_mul(next).wrapping_sub(s.wrapping_add(*x)) as f64
            }
            (Total::Double(s), ScalarValue::Float64(Some(x))) => x * next as f64 - (s + x),
            (s, v) => return Err(format!("STDDEV cannot add {v:?} to {s:?}")),
        })
    }

    fn shifted_sum(&self, v: &ScalarValue, negate: bool) -> Total {
        match (self.sum, v) {
            (Total::Int(s), ScalarValue::Int32(Some(x))) => Total::Int(if negate {
                s.wrapping_sub(*x)
            } else {
                s.wrapping_add(*x)
            }),
            (Total::Bigint(s), ScalarValue::Int64(Some(x))) => Total::Bigint(if negate {
                s.wrapping_sub(*x)
            } else {
                s.wrapping_add(*x)
            }),
            (Total::Double(s), ScalarValue::Float64(Some(x))) => {
                Total::Double(if negate { s - x } else { s + x })
            }
            (s, _) => s,
        }
    }

    /// The difference of the two means, as ksqlDB's merge computes it: STDDEV_SAMP divides
    /// integer sums with Java's integer division, STDDEV_SAMPLE in doubles.
    fn mean_difference(&self, other: &StdDev) -> f64 {
        let (c1, c2) = (self.count, other.count);
        match (self.sum, other.sum) {
            (Total::Int(a), Total::Int(b)) if !self.root => {
                ((a as i64).wrapping_div(c1)).wrapping_sub((b as i64).wrapping_div(c2)) as f64
            }
            (Total::Bigint(a), Total::Bigint(b)) if !self.root => {
                a.wrapping_div(c1).wrapping_sub(b.wrapping_div(c2)) as f64
            }
            (a, b) => {
                let f = |t: Total| match t {
                    Total::Int(v) => v as f64,
                    Total::Bigint(v) => v as f64,
                    Total::Double(v) => v,
                };
                f(a) / c1 as f64 - f(b) / c2 as f64
            }
        }
    }
}

impl Accumulator for StdDev {
    fn add(&mut self, args: &[ScalarValue]) -> AggResult<()> {
        let v = &args[0];
        if v.is_null() {
            return Ok(());
        }
        let new_count = self.count.wrapping_add(1);
        let new_m2 = if new_count - 1 > 0 {
            let delta = self.delta(v)?;
            delta * delta / new_count.wrapping_mul(new_count - 1) as f64
        } else {
            0.0
        };
        self.sum = self.shifted_sum(v, false);
        self.count = new_count;
        self.m2 += new_m2;
        Ok(())
    }
    fn undo(&mut self, args: &[ScalarValue]) -> AggResult<()> {
        let v = &args[0];
        if v.is_null() {
            return Ok(());
        }
        let new_count = self.count.wrapping_sub(1);
        let new_m2 = if new_count > 0 {
            let delta = self.delta(v)?;
            delta * delta / new_count.wrapping_mul(new_count + 1) as f64
        } else {
            0.0
        };
        self.sum = self.shifted_sum(v, true);
        self.count = new_count;
        self.m2 -= new_m2;
        Ok(())
    }
    fn merge(&mut self, other: &dyn Accumulator) -> AggResult<()> {
        let o = same::<StdDev>(other)?;
        let new_count = self.count.wrapping_add(o.count);
        let m2 = if self.count == 0 || o.count == 0 {
            self.m2 + o.m2
        } else {
            let inner = self.mean_difference(o);
            self.m2
                + o.m2
                + self.count.wrapping_mul(o.count) as f64 * inner * inner / new_count as f64
        };
        self.sum = match (self.sum, o.sum) {
            (Total::Int(a), Total::Int(b)) => Total::Int(a.wrapping_add(b)),
            (Total::Bigint(a), Total::Bigint(b)) => Total::Bigint(a.wrapping_add(b)),
            (Total::Double(a), Total::Double(b)) => Total::Double(a + b),
            (a, b) => return Err(format!("STDDEV cannot merge {b:?} into {a:?}")),
        };
        self.count = new_count;
        self.m2 = m2;
        Ok(())
    }
    fn value(&self) -> ScalarValue {
        if self.count < 2 {
            return ScalarValue::Float64(Some(0.0));
        }
        let variance = self.m2 / (self.count - 1) as f64;
        ScalarValue::Float64(Some(if self.root { variance.sqrt() } else { variance }))
    }
    accumulator_boilerplate!(sum, count, m2);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(s: &StdDev) -> f64 {
        match s.value() {
            ScalarValue::Float64(Some(v)) => v,
            _ => panic!(),
        }
    }

    #[test]
    fn matches_ksqldb_sample_stddev() {
        // standarddeviation.json, "stddev_sample int", key 0.
        let mut s = StdDev::new(&SqlType::Int, true);
        let expected = [
            0.0,
            7.0710678118654755,
            5.131601439446884,
            4.193248541803041,
        ];
        for (v, e) in [0, 10, 7, 6].into_iter().zip(expected) {
            s.add(&[ScalarValue::Int32(Some(v))]).unwrap();
            assert_eq!(value(&s), e);
        }
        s.undo(&[ScalarValue::Int32(Some(6))]).unwrap();
        assert!((value(&s) - 5.131601439446884).abs() < 1e-12);
    }

    #[test]
    fn samp_is_the_variance() {
        let mut s = StdDev::new(&SqlType::Double, false);
        for v in [10.0, 12.0, 13.0, 14.0, 16.0] {
            s.add(&[ScalarValue::Float64(Some(v))]).unwrap();
        }
        assert_eq!(value(&s), 5.0);
    }

    #[test]
    fn merge_combines() {
        let mut a = StdDev::new(&SqlType::Double, true);
        let mut b = StdDev::new(&SqlType::Double, true);
        let mut all = StdDev::new(&SqlType::Double, true);
        for v in [1.0, 2.0, 3.0] {
            a.add(&[ScalarValue::Float64(Some(v))]).unwrap();
            all.add(&[ScalarValue::Float64(Some(v))]).unwrap();
        }
        for v in [10.0, 20.0] {
            b.add(&[ScalarValue::Float64(Some(v))]).unwrap();
            all.add(&[ScalarValue::Float64(Some(v))]).unwrap();
        }
        a.merge(&b).unwrap();
        assert!((value(&a) - value(&all)).abs() < 1e-9);
    }
}
