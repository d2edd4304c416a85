//! POWER(base, exponent): `Math.pow` over DOUBLEs (INT and BIGINT widen).

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::common::{double_overloads2, map_double2};
use crate::functions::registry::ScalarFunction;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "POWER",
        category: "MATHEMATICAL",
        description: "Given a base and an exponent, returns the result of the base raised to the exponent.",
        overloads: double_overloads2(kernel),
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    map_double2(args, java_pow)
}

/// Java's `Math.pow` where it differs from C's `pow`: a NaN exponent gives NaN even for a base
/// of 1, and an infinite exponent with a base of ±1 gives NaN.
fn java_pow(base: f64, exponent: f64) -> f64 {
    if exponent.is_nan() || (exponent.is_infinite() && base.abs() == 1.0) {
        return f64::NAN;
    }
    base.powf(exponent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_java_special_cases() {
        assert!(java_pow(1.0, f64::NAN).is_nan());
        assert!(java_pow(-1.0, f64::INFINITY).is_nan());
        assert_eq!(java_pow(f64::NAN, 0.0), 1.0);
        assert_eq!(java_pow(2.0, 10.0), 1024.0);
    }
}
