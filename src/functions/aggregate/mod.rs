//! Aggregate functions (UDAFs): COUNT, SUM, … with ksqlDB's names, types and null handling.
//!
//! An [`AggregateFunction`] resolves a call to a [`Signature`] and creates one [`Accumulator`]
//! per group (and window). The accumulator follows ksqlDB's UDAF contract: `add` a row's
//! arguments, `undo` them when a table row is retracted, `merge` two accumulators when session
//! windows merge, and give the current `value`. A new aggregate is one file here and one line
//! in [`aggregate_functions`].

mod average;
mod collect;
mod count;
mod minmax;
mod offset;
mod sum;

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::{Arc, OnceLock};

use datafusion::common::ScalarValue;

use super::registry::{Params, Signature};
use crate::plan::expr::can_widen;
use crate::types::SqlType;

/// Why an accumulator could not take a value.
pub type AggResult<T> = Result<T, String>;

/// The running state of one aggregate for one group.
pub trait Accumulator: Debug + Send {
    /// Adds one row's arguments.
    fn add(&mut self, args: &[ScalarValue]) -> AggResult<()>;
    /// Removes one row's arguments (a retracted table row). Aggregates that can't undo return
    /// an error; the planner rejects them on table sources first.
    fn undo(&mut self, args: &[ScalarValue]) -> AggResult<()>;
    /// Folds another accumulator of the same function into this one (session windows).
    fn merge(&mut self, other: &dyn Accumulator) -> AggResult<()>;
    /// The current result.
    fn value(&self) -> ScalarValue;
    fn clone_box(&self) -> Box<dyn Accumulator>;
    fn as_any(&self) -> &dyn Any;
}

impl Clone for Box<dyn Accumulator> {
    fn clone(&self) -> Self {
        self.clone_box()
    }
}

/// What an accumulator is created from: the call's signature, its constant arguments (such as
/// TOPK's k, given after the column arguments) and the query's properties.
#[derive(Debug, Clone)]
pub struct AggregateContext {
    pub signature: Signature,
    /// Literal arguments after the column arguments, in order.
    pub literals: Vec<ScalarValue>,
    pub properties: BTreeMap<String, String>,
}

pub type Factory = fn(&AggregateContext) -> AggResult<Box<dyn Accumulator>>;

/// One way of calling an aggregate.
#[derive(Debug, Clone)]
pub struct AggregateOverload {
    /// The column arguments' types.
    pub params: Params,
    pub returns: Option<SqlType>,
    /// The types of the trailing arguments that are constants (literals) rather than columns.
    pub literal_types: Vec<SqlType>,
    pub factory: Factory,
}

impl AggregateOverload {
    pub fn fixed(params: &[SqlType], returns: SqlType, factory: Factory) -> AggregateOverload {
        AggregateOverload {
            params: Params::Fixed(params.to_vec()),
            returns: Some(returns),
            literal_types: Vec::new(),
            factory,
        }
    }

    pub fn generic(
        display: &'static str,
        resolve: super::registry::Resolver,
        factory: Factory,
    ) -> AggregateOverload {
        AggregateOverload {
            params: Params::Generic { resolve, display },
            returns: None,
            literal_types: Vec::new(),
            factory,
        }
    }

    /// The same overload, with trailing constant arguments of these types.
    pub fn with_literals(mut self, types: &[SqlType]) -> AggregateOverload {
        self.literal_types = types.to_vec();
        self
    }

    fn literals_match(&self, literals: &[Option<SqlType>]) -> bool {
        self.literal_types.len() == literals.len()
            && self
                .literal_types
                .iter()
                .zip(literals)
                .all(|(want, got)| got.as_ref().is_none_or(|g| g == want || can_widen(g, want)))
    }

    fn resolve(&self, args: &[Option<SqlType>]) -> Option<(Signature, usize)> {
        match &self.params {
            Params::Fixed(params) => {
                if params.len() != args.len() {
                    return None;
                }
                let mut widenings = 0;
                let mut actual = Vec::with_capacity(params.len());
                for (a, p) in args.iter().zip(params) {
                    match a {
                        None => actual.push(p.clone()),
                        Some(t) if t == p => actual.push(p.clone()),
                        Some(d @ SqlType::Decimal { .. })
                            if matches!(p, SqlType::Decimal { .. }) =>
                        {
                            actual.push(d.clone())
                        }
                        Some(t) if can_widen(t, p) => {
                            widenings += 1;
                            actual.push(p.clone())
                        }
                        _ => return None,
                    }
                }
                let returns = match (&self.returns, actual.first()) {
                    (Some(SqlType::Decimal { .. }), Some(d @ SqlType::Decimal { .. })) => d.clone(),
                    (Some(r), _) => r.clone(),
                    (None, _) => return None,
                };
                Some((
                    Signature {
                        params: actual,
                        returns,
                    },
                    widenings,
                ))
            }
            Params::Variadic(..) => None,
            Params::Generic { resolve, .. } => resolve(args).map(|s| (s, 0)),
        }
    }
}

/// An aggregate function with its ksqlDB name and metadata.
#[derive(Debug, Clone)]
pub struct AggregateFunction {
    pub name: &'static str,
    pub description: &'static str,
    pub overloads: Vec<AggregateOverload>,
    /// Whether it can undo, and so aggregate a table (ksqlDB: TableAggregationFunction).
    pub supports_undo: bool,
}

impl AggregateFunction {
    /// Picks an overload for the column argument types and the types of the trailing constant
    /// arguments.
    pub fn resolve(
        &self,
        column_args: &[Option<SqlType>],
        literals: &[Option<SqlType>],
    ) -> Option<(Signature, Factory)> {
        self.overloads
            .iter()
            .filter(|o| o.literals_match(literals))
            .filter_map(|o| o.resolve(column_args).map(|(s, w)| (s, w, o.factory)))
            .min_by_key(|(_, w, _)| *w)
            .map(|(s, _, f)| (s, f))
    }

    /// How many trailing literal arguments the overloads may take.
    pub fn literal_counts(&self) -> Vec<usize> {
        let mut counts: Vec<usize> = self
            .overloads
            .iter()
            .map(|o| o.literal_types.len())
            .collect();
        counts.sort_unstable();
        counts.dedup();
        counts
    }
}

/// Every built-in aggregate function.
pub fn aggregate_functions() -> Vec<AggregateFunction> {
    vec![
        average::function(),
        collect::collect_list(),
        collect::collect_set(),
        count::count(),
        count::count_distinct(),
        minmax::max(),
        minmax::min(),
        offset::earliest_by_offset(),
        offset::latest_by_offset(),
        sum::function(),
    ]
}

/// The aggregate functions, by upper-case name.
pub fn lookup(name: &str) -> Option<&'static Arc<AggregateFunction>> {
    static REGISTRY: OnceLock<BTreeMap<&'static str, Arc<AggregateFunction>>> = OnceLock::new();
    REGISTRY
        .get_or_init(|| {
            aggregate_functions()
                .into_iter()
                .map(|f| (f.name, Arc::new(f)))
                .collect()
        })
        .get(name.to_uppercase().as_str())
}

/// Whether a name is an aggregate function.
pub fn is_aggregate(name: &str) -> bool {
    lookup(name).is_some()
}

/// Downcasts the other accumulator in a merge.
pub fn same<T: 'static>(other: &dyn Accumulator) -> AggResult<&T> {
    other
        .as_any()
        .downcast_ref::<T>()
        .ok_or_else(|| "cannot merge accumulators of different functions".to_string())
}

/// Implements the boilerplate `clone_box` and `as_any` of an accumulator.
#[macro_export]
macro_rules! accumulator_boilerplate {
    () => {
        fn clone_box(&self) -> Box<dyn $crate::functions::aggregate::Accumulator> {
            Box::new(self.clone())
        }
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
    };
}
