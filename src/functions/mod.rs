//! Functions as DataFusion scalar UDFs that carry ksqlDB's names and semantics.
//!
//! The planner types every call itself (ksqlDB's rules, not DataFusion's coercions), so a
//! function here is a kernel over whole argument arrays plus the return type the planner
//! computed: [`KernelUdf`] adapts such a kernel to DataFusion's `ScalarUDFImpl`.

pub mod structural;

use std::sync::Arc;

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

/// A kernel: the argument arrays (all of the batch's length) and the return type.
pub type Kernel = fn(&[ArrayRef], &DataType) -> DfResult<ArrayRef>;

/// A scalar function given by a kernel and the return type its call site was typed with.
#[derive(Debug)]
pub struct KernelUdf {
    name: String,
    return_type: DataType,
    kernel: Kernel,
    signature: Signature,
}

impl KernelUdf {
    pub fn udf(name: &str, return_type: DataType, kernel: Kernel) -> Arc<ScalarUDF> {
        Arc::new(ScalarUDF::new_from_impl(KernelUdf {
            name: name.to_string(),
            return_type,
            kernel,
            signature: Signature::variadic_any(Volatility::Immutable),
        }))
    }
}

// Two instances are the same function when name and return type agree; the kernel is
// determined by the name.
impl PartialEq for KernelUdf {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.return_type == other.return_type
    }
}

impl Eq for KernelUdf {}

impl std::hash::Hash for KernelUdf {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        self.return_type.hash(state);
    }
}

impl ScalarUDFImpl for KernelUdf {
    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(self.return_type.clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let rows = args.number_rows;
        let arrays = args
            .args
            .into_iter()
            .map(|a| a.into_array(rows))
            .collect::<DfResult<Vec<_>>>()?;
        Ok(ColumnarValue::Array((self.kernel)(
            &arrays,
            &self.return_type,
        )?))
    }
}
