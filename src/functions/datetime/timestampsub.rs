//! TIMESTAMPSUB(unit, interval, timestamp): a TIMESTAMP moved back by a number of time units.

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;

use crate::functions::registry::{Overload, ScalarFunction};
use crate::types::SqlType;

pub fn function() -> ScalarFunction {
    ScalarFunction {
        name: "TIMESTAMPSUB",
        category: "DATE / TIME",
        description: "Subtracts a duration from a TIMESTAMP value.",
        overloads: vec![Overload::fixed(
            &[SqlType::String, SqlType::Int, SqlType::Timestamp],
            SqlType::Timestamp,
            subtract,
        )],
    }
}

fn subtract(args: &[ArrayRef], _: &DataType) -> DfResult<ArrayRef> {
    super::timestampadd::shift(args, -1)
}
