//! TIMESUB(unit, interval, time): a TIME moved back by a number of time units, wrapping
//! around midnight.

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "TIMESUB",
        category: "DATE / TIME",
        description: "Subtracts a duration from a TIME value.",
        overloads: vec![Overload::fixed(
            &[SqlType::String, SqlType::Int, SqlType::Time],
            SqlType::Time,
            subtract,
        )],
    }
}

fn subtract(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    super::timeadd::shift(args, -1)
}
