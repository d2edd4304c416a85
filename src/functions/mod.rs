//! Functions as DataFusion scalar UDFs that carry ksqlDB's names and semantics.
//!
//! The planner types every call itself (ksqlDB's rules, not DataFusion's coercions), so a
//! function here is a kernel over whole argument arrays plus the return type the planner
//! computed: [`KernelUdf`] adapts such a kernel to DataFusion's `ScalarUDFImpl`.

pub mod aggregate;
pub mod cast;
pub mod collections;
pub mod conditional;
pub mod datetime;
pub mod json;
pub mod lambda;
pub mod math;
pub mod registry;
pub mod string;
pub mod structural;
pub mod table;
pub mod url;
pub mod util;

use std::sync::Arc;

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result as DfResult;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature as DfSignature,
    Volatility,
};

pub use registry::{FunctionRegistry, Overload, ScalarFunction, Signature};

/// Registers a user-defined scalar function: later statements can call it by name.
///
/// A function is a [`ScalarFunction`] with one or more [`Overload`]s, each a parameter list, a
/// return type and a [`Kernel`] over whole Arrow arrays. See `examples/custom_functions.rs`.
pub fn register_scalar(function: ScalarFunction) {
    FunctionRegistry::global().register(function);
}

/// Registers a user-defined aggregate: an [`aggregate::AggregateFunction`] whose overloads
/// create one [`aggregate::Accumulator`] per group.
pub fn register_aggregate(function: aggregate::AggregateFunction) {
    aggregate::register(function);
}

/// Registers a user-defined table function: a [`table::TableFunction`] that expands a row's
/// arguments into zero or more values.
pub fn register_table(function: table::TableFunction) {
    table::register(function);
}

/// Every built-in scalar function: each family lists its own.
pub fn scalar_functions() -> Vec<ScalarFunction> {
    let mut all = Vec::new();
    all.extend(collections::functions());
    all.extend(conditional::functions());
    all.extend(datetime::functions());
    all.extend(json::functions());
    all.extend(math::functions());
    all.extend(string::functions());
    all.extend(url::functions());
    all
}

/// A kernel: the argument arrays (all of the batch's length) and the return type.
pub type Kernel = fn(&[ArrayRef], &DataType) -> DfResult<ArrayRef>;

/// A scalar function given by a kernel and the return type its call site was typed with.
#[derive(Debug)]
pub struct KernelUdf {
    name: String,
    return_type: DataType,
    kernel: Kernel,
    signature: DfSignature,
}

impl KernelUdf {
    pub fn udf(name: &str, return_type: DataType, kernel: Kernel) -> Arc<ScalarUDF> {
        Arc::new(ScalarUDF::new_from_impl(KernelUdf {
            name: name.to_string(),
            return_type,
            kernel,
            signature: DfSignature::variadic_any(Volatility::Immutable),
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

    fn signature(&self) -> &DfSignature {
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
        if arrays.is_empty() && rows != 1 {
            // A kernel without arguments can't see the batch's length: call it once per row
            // (which also gives volatile functions such as UUID() a value per row).
            let parts = (0..rows)
                .map(|_| (self.kernel)(&[], &self.return_type))
                .collect::<DfResult<Vec<_>>>()?;
            let refs: Vec<&dyn datafusion::arrow::array::Array> =
                parts.iter().map(|a| a.as_ref()).collect();
            if refs.is_empty() {
                return Ok(ColumnarValue::Array(
                    datafusion::arrow::array::new_empty_array(&self.return_type),
                ));
            }
            return Ok(ColumnarValue::Array(datafusion::arrow::compute::concat(
                &refs,
            )?));
        }
        match (self.kernel)(&arrays, &self.return_type) {
            Ok(array) => Ok(ColumnarValue::Array(array)),
            Err(_) => self.call_per_row(&arrays, rows).map(ColumnarValue::Array),
        }
    }
}

thread_local! {
    /// Errors of single function calls in the expression being evaluated: (row, message).
    static CALL_ERRORS: std::cell::RefCell<Vec<(usize, String)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Records that a function's call for `row` gave null in place of failing (its message is
/// logged as the call's error).
pub(crate) fn record_call_error(row: usize, message: String) {
    CALL_ERRORS.with(|errors| errors.borrow_mut().push((row, message)));
}

/// How much a function may build for one batch: functions whose result is sized by an
/// argument (LPAD's length, GENERATE_SERIES's range) draw on it row by row, and a row that
/// would overdraw it gives null with an error instead of taking the memory (or overflowing
/// the 32-bit offsets of Arrow's arrays).
pub(crate) struct BatchBudget {
    left: usize,
}

impl BatchBudget {
    pub(crate) fn new(limit: usize) -> BatchBudget {
        BatchBudget { left: limit }
    }

    /// Takes `amount` for `row` if it is left; if not, records the row's error (the call
    /// then gives null for it).
    pub(crate) fn take(
        &mut self,
        row: usize,
        amount: usize,
        refusal: impl FnOnce() -> String,
    ) -> bool {
        match self.left.checked_sub(amount) {
            Some(left) => {
                self.left = left;
                true
            }
            None => {
                record_call_error(row, refusal());
                false
            }
        }
    }
}

/// Takes the errors of the function calls that returned null in place of failing, since the
/// last time they were taken.
pub fn take_call_errors() -> Vec<(usize, String)> {
    CALL_ERRORS.with(|errors| std::mem::take(&mut *errors.borrow_mut()))
}

impl KernelUdf {
    /// As ksqlDB does, a call that fails for one row gives null for that row (and the error is
    /// logged), so the rest of the expression still applies: `COALESCE(PARSE_DATE(x, f), y)`
    /// falls back to `y`.
    fn call_per_row(&self, arrays: &[ArrayRef], rows: usize) -> DfResult<ArrayRef> {
        let mut parts = Vec::with_capacity(rows);
        for row in 0..rows {
            let args: Vec<ArrayRef> = arrays.iter().map(|a| a.slice(row, 1)).collect();
            match (self.kernel)(&args, &self.return_type) {
                Ok(part) => parts.push(part),
                Err(e) => {
                    CALL_ERRORS.with(|errors| {
                        errors
                            .borrow_mut()
                            .push((row, format!("{}: {e}", self.name.to_uppercase())))
                    });
                    parts.push(datafusion::arrow::array::new_null_array(
                        &self.return_type,
                        1,
                    ));
                }
            }
        }
        let refs: Vec<&dyn datafusion::arrow::array::Array> =
            parts.iter().map(|a| a.as_ref()).collect();
        if refs.is_empty() {
            return Ok(datafusion::arrow::array::new_empty_array(&self.return_type));
        }
        Ok(datafusion::arrow::compute::concat(&refs)?)
    }
}
