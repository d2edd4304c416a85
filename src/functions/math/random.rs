//! RANDOM(): a DOUBLE in [0.0, 1.0), uniformly distributed, different on every row.
//!
//! Like PI, a call without arguments gets no arrays and answers one row (see pi.rs).

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Float64Array};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::common::rows;
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "RANDOM",
        category: "MATHEMATICAL",
        description: "Returns a random number greater than or equal to 0.0 and less than 1.0.",
        overloads: vec![Overload::fixed(&[], SqlType::Double, kernel)],
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    let out: Float64Array = (0..rows(args)).map(|_| Some(next_double())).collect();
    Ok(Arc::new(out))
}

thread_local! {
    /// A SplitMix64 state per thread, seeded from the process's random hasher keys.
    static STATE: Cell<u64> = Cell::new({
        let mut h = RandomState::new().build_hasher();
        h.write_u64(0x5eed);
        h.finish()
    });
}

/// The next uniform double in [0, 1): 53 random bits scaled by 2^-53.
fn next_double() -> f64 {
    STATE.with(|s| {
        let state = s.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        s.set(state);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_in_range_and_varies() {
        let values: Vec<f64> = (0..1000).map(|_| next_double()).collect();
        assert!(values.iter().all(|v| (0.0..1.0).contains(v)));
        assert!(values.windows(2).any(|w| w[0] != w[1]));
    }
}
