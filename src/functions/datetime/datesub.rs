//! DATESUB(unit, interval, date): a DATE moved back by a number of time units.

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "DATESUB",
        category: "DATE / TIME",
        description: "Subtracts a duration from a DATE value.",
        overloads: vec![Overload::fixed(
            &[SqlType::String, SqlType::Int, SqlType::Date],
            SqlType::Date,
            subtract,
        )],
    }
}

fn subtract(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    super::dateadd::shift(args, -1)
}
