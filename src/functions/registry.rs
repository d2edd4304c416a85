//! The function registry: ksqlDB's scalar functions by name, with their overloads.
//!
//! A function is a [`ScalarFunction`]: a name, a description and its overloads. Each
//! [`Overload`] says which argument types it takes (exactly, or through a resolver for generic
//! signatures such as `ARRAY_CONTAINS(ARRAY<T>, T)`), what it returns, and the [`Kernel`] that
//! computes it over whole argument arrays. The planner resolves a call with ksqlDB's rules (an
//! exact match first, then implicit numeric widening), casts the arguments to the chosen
//! parameter types, and wraps the kernel as a DataFusion UDF.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock, RwLock};

use super::Kernel;
use crate::types::SqlType;
use crate::types::can_widen;

/// The types a call is compiled with: each argument is cast to `params[i]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Signature {
    pub params: Vec<SqlType>,
    pub returns: SqlType,
}

/// Picks a signature for the argument types of a call (`None` is an untyped NULL), or `None`
/// when this overload does not apply.
pub type Resolver = fn(&[Option<SqlType>]) -> Option<Signature>;

/// Says whether argument types are ambiguous for a set of overloads (see
/// [`Overload::with_ambiguity`]).
pub type AmbiguityCheck = fn(&[Option<SqlType>]) -> bool;

/// How an overload matches its arguments.
#[derive(Debug, Clone)]
pub enum Params {
    /// Exactly these types; narrower numeric arguments are widened.
    Fixed(Vec<SqlType>),
    /// These types, then any number (zero or more) of the last type.
    Variadic(Vec<SqlType>, SqlType),
    /// Anything the resolver accepts. `display` is the signature shown by DESCRIBE FUNCTION.
    Generic {
        resolve: Resolver,
        display: &'static str,
    },
}

/// One way of calling a function.
#[derive(Debug, Clone)]
pub struct Overload {
    pub params: Params,
    /// The return type of fixed and variadic overloads (generic ones return it from the
    /// resolver).
    pub returns: Option<SqlType>,
    pub kernel: Kernel,
    /// Says whether a call this overload declines is ambiguous rather than unmatched (several
    /// overloads of the same standing take it), so the error can say so as ksqlDB does.
    pub ambiguous: Option<AmbiguityCheck>,
}

impl Overload {
    /// An overload with fixed parameter types.
    pub fn fixed(params: &[SqlType], returns: SqlType, kernel: Kernel) -> Overload {
        Overload {
            params: Params::Fixed(params.to_vec()),
            returns: Some(returns),
            kernel,
            ambiguous: None,
        }
    }

    /// Fixed leading parameters, then any number of `rest`.
    pub fn variadic(
        params: &[SqlType],
        rest: SqlType,
        returns: SqlType,
        kernel: Kernel,
    ) -> Overload {
        Overload {
            params: Params::Variadic(params.to_vec(), rest),
            returns: Some(returns),
            kernel,
            ambiguous: None,
        }
    }

    /// A generic overload typed by `resolve`.
    pub fn generic(display: &'static str, resolve: Resolver, kernel: Kernel) -> Overload {
        Overload {
            params: Params::Generic { resolve, display },
            returns: None,
            kernel,
            ambiguous: None,
        }
    }

    /// The same overload, telling calls it declines as ambiguous when `check` says so.
    pub fn with_ambiguity(mut self, check: AmbiguityCheck) -> Overload {
        self.ambiguous = Some(check);
        self
    }

    /// The signature for these arguments, and how many implicit widenings it needs (fewer is a
    /// better match).
    fn resolve(&self, args: &[Option<SqlType>]) -> Option<(Signature, usize)> {
        let fixed = |params: &[SqlType]| -> Option<usize> {
            if params.len() != args.len() {
                return None;
            }
            let mut widenings = 0;
            for (arg, param) in args.iter().zip(params) {
                match arg {
                    None => {}
                    Some(t) if t == param => {}
                    Some(t) if can_widen(t, param) => widenings += 1,
                    Some(SqlType::Decimal { .. }) if matches!(param, SqlType::Decimal { .. }) => {}
                    _ => return None,
                }
            }
            Some(widenings)
        };
        match &self.params {
            Params::Fixed(params) => {
                let widenings = fixed(params)?;
                Some((
                    Signature {
                        params: with_actual_decimals(params, args),
                        returns: self.returns.clone()?,
                    },
                    widenings,
                ))
            }
            Params::Variadic(params, rest) => {
                if args.len() < params.len() {
                    return None;
                }
                let mut all = params.clone();
                all.extend(std::iter::repeat_n(rest.clone(), args.len() - params.len()));
                let widenings = fixed(&all)?;
                Some((
                    Signature {
                        params: with_actual_decimals(&all, args),
                        returns: self.returns.clone()?,
                    },
                    widenings,
                ))
            }
            Params::Generic { resolve, .. } => resolve(args).map(|s| (s, 0)),
        }
    }

    /// The parameter list as DESCRIBE FUNCTION shows it.
    pub fn display(&self) -> String {
        let join = |types: &[SqlType]| {
            types
                .iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match &self.params {
            Params::Fixed(p) => join(p),
            Params::Variadic(p, rest) => {
                let mut s = join(p);
                if !s.is_empty() {
                    s.push_str(", ");
                }
                s.push_str(&format!("{rest}[]"));
                s
            }
            Params::Generic { display, .. } => display.to_string(),
        }
    }
}

/// One parameter as DESCRIBE FUNCTION lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Argument {
    /// The parameter's name, when the signature gives one.
    pub name: String,
    pub ty: String,
    /// The last parameter of a variadic overload, which takes any number of arguments.
    pub variadic: bool,
}

impl Params {
    /// The parameters one by one.
    pub fn arguments(&self) -> Vec<Argument> {
        let typed = |t: &SqlType, variadic: bool| Argument {
            name: String::new(),
            ty: t.to_string(),
            variadic,
        };
        match self {
            Params::Fixed(p) => p.iter().map(|t| typed(t, false)).collect(),
            Params::Variadic(p, rest) => p
                .iter()
                .map(|t| typed(t, false))
                .chain(std::iter::once(typed(rest, true)))
                .collect(),
            Params::Generic { display, .. } => arguments_of(display),
        }
    }
}

/// The parameters of a displayed signature such as `MAP<STRING, T> input, INT n`: split at the
/// commas outside angle brackets, each a type and an optional name; `T...` or `T[]` is variadic.
pub fn arguments_of(display: &str) -> Vec<Argument> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, c) in display.char_indices() {
        match c {
            '<' | '(' => depth += 1,
            '>' | ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&display[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&display[start..]);
    parts
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|part| {
            // A name follows the type's last closing bracket or its single word.
            let type_end = part.rfind('>').map_or(0, |i| i + 1);
            let (ty, name) = match part[type_end..].rfind(' ') {
                Some(space) => (
                    &part[..type_end + space],
                    part[type_end + space + 1..].trim(),
                ),
                None => (part, ""),
            };
            let ty = ty.trim();
            let (ty, variadic) = match ty.strip_suffix("...").or_else(|| ty.strip_suffix("[]")) {
                Some(inner) => (inner, true),
                None => (ty, false),
            };
            Argument {
                name: name.to_string(),
                ty: ty.to_string(),
                variadic,
            }
        })
        .collect()
}

/// A DECIMAL parameter accepts any DECIMAL argument as it is (no precision change).
fn with_actual_decimals(params: &[SqlType], args: &[Option<SqlType>]) -> Vec<SqlType> {
    params
        .iter()
        .zip(args)
        .map(|(p, a)| match (p, a) {
            (SqlType::Decimal { .. }, Some(d @ SqlType::Decimal { .. })) => d.clone(),
            _ => p.clone(),
        })
        .collect()
}

/// A scalar function with its ksqlDB name and metadata.
#[derive(Debug, Clone)]
pub struct ScalarFunction {
    /// The upper-case name calls use (case-insensitively).
    pub name: &'static str,
    /// The group SHOW FUNCTIONS lists it under (e.g. "STRING", "MATHEMATICAL").
    pub category: &'static str,
    pub description: &'static str,
    pub overloads: Vec<Overload>,
}

impl ScalarFunction {
    /// The best overload for these argument types.
    pub fn resolve(&self, args: &[Option<SqlType>]) -> Option<(Signature, Kernel)> {
        self.overloads
            .iter()
            .filter_map(|o| o.resolve(args).map(|(s, w)| (s, w, o.kernel)))
            .min_by_key(|(_, w, _)| *w)
            .map(|(s, _, k)| (s, k))
    }

    /// Whether a call no overload takes fails because several would take it equally well.
    pub fn is_ambiguous(&self, args: &[Option<SqlType>]) -> bool {
        self.overloads
            .iter()
            .any(|o| o.ambiguous.is_some_and(|check| check(args)))
    }

    /// The error for a call no overload takes: ksqlDB's "ambiguous" or "does not accept"
    /// message, with the argument types as it prints them.
    pub fn unresolved_message(&self, args: &[Option<SqlType>]) -> String {
        let shown = args
            .iter()
            .map(|t| {
                t.as_ref()
                    .map_or_else(|| "null".to_string(), |t| t.to_string())
            })
            .collect::<Vec<_>>()
            .join(", ");
        let name = self.name.to_lowercase();
        if self.is_ambiguous(args) {
            format!(
                "Function '{name}' cannot be resolved due to ambiguous method parameters ({shown}).\n\
                 Use CAST() to explicitly cast your parameters to one of the supported function calls."
            )
        } else {
            format!("Function '{name}' does not accept parameters ({shown}).")
        }
    }
}

/// Every scalar function, by upper-case name. Built-ins are registered when the registry is
/// first used; user-defined functions are added with [`FunctionRegistry::register`].
pub struct FunctionRegistry {
    scalars: RwLock<BTreeMap<String, Arc<ScalarFunction>>>,
}

impl FunctionRegistry {
    fn new() -> FunctionRegistry {
        let mut scalars = BTreeMap::new();
        for f in super::scalar_functions() {
            scalars.insert(f.name.to_uppercase(), Arc::new(f));
        }
        FunctionRegistry {
            scalars: RwLock::new(scalars),
        }
    }

    /// The process-wide registry.
    pub fn global() -> &'static FunctionRegistry {
        static REGISTRY: OnceLock<FunctionRegistry> = OnceLock::new();
        REGISTRY.get_or_init(FunctionRegistry::new)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Arc<ScalarFunction>>> {
        // Registration never panics half-way, so a poisoned lock still holds a whole map.
        self.scalars.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn scalar(&self, name: &str) -> Option<Arc<ScalarFunction>> {
        self.read().get(&name.to_uppercase()).cloned()
    }

    pub fn scalars(&self) -> Vec<Arc<ScalarFunction>> {
        self.read().values().cloned().collect()
    }

    /// Adds (or replaces) a scalar function; later statements can call it.
    pub fn register(&self, function: ScalarFunction) {
        self.scalars
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(function.name.to_uppercase(), Arc::new(function));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::ArrayRef;
    use datafusion::arrow::datatypes::DataType;

    fn noop(args: &[ArrayRef], _: &DataType) -> datafusion::common::Result<ArrayRef> {
        Ok(args[0].clone())
    }

    #[test]
    fn displayed_signatures_split_into_named_arguments() {
        let args = arguments_of("MAP<STRING, T> input, INT n, DECIMAL, T...");
        let shown: Vec<(&str, &str, bool)> = args
            .iter()
            .map(|a| (a.name.as_str(), a.ty.as_str(), a.variadic))
            .collect();
        assert_eq!(
            shown,
            [
                ("input", "MAP<STRING, T>", false),
                ("n", "INT", false),
                ("", "DECIMAL", false),
                ("", "T", true)
            ]
        );
        assert!(arguments_of("").is_empty());
    }

    #[test]
    fn exact_matches_beat_widening() {
        let f = ScalarFunction {
            name: "F",
            category: "TEST",
            description: "",
            overloads: vec![
                Overload::fixed(&[SqlType::Bigint], SqlType::Bigint, noop),
                Overload::fixed(&[SqlType::Int], SqlType::Int, noop),
                Overload::fixed(&[SqlType::Double], SqlType::Double, noop),
            ],
        };
        let (s, _) = f.resolve(&[Some(SqlType::Int)]).unwrap();
        assert_eq!(s.returns, SqlType::Int);
        let (s, _) = f.resolve(&[Some(SqlType::decimal(4, 2))]).unwrap();
        assert_eq!(s.returns, SqlType::Double);
        assert!(f.resolve(&[Some(SqlType::String)]).is_none());
    }

    #[test]
    fn variadic_takes_any_number() {
        let f = ScalarFunction {
            name: "G",
            category: "TEST",
            description: "",
            overloads: vec![Overload::variadic(
                &[],
                SqlType::String,
                SqlType::String,
                noop,
            )],
        };
        assert!(f.resolve(&[]).is_some());
        assert!(f.resolve(&[Some(SqlType::String), None]).is_some());
    }
}
