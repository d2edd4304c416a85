//! PI(): Java's `Math.PI`.
//!
//! A call without arguments learns its row count from nothing: the kernel gets no arrays and
//! answers one row, which is right only for single-row batches until the UDF adapter passes
//! the batch's row count on.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Float64Array};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use super::common::rows;
use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "PI",
        category: "MATHEMATICAL",
        description: "Returns an approximate value of pi.",
        overloads: vec![Overload::fixed(&[], SqlType::Double, kernel)],
    }
}

fn kernel(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    Ok(Arc::new(Float64Array::from_value(
        std::f64::consts::PI,
        rows(args),
    )))
}
