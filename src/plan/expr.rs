//! Expressions: typed with ksqlDB's rules, then compiled to DataFusion physical expressions
//! that evaluate a whole batch at a time.
//!
//! The typing is ours (ksqlDB's widening, decimal precision and comparison rules); DataFusion
//! only ever sees operands of the exact types we chose, with explicit casts in between.

use std::sync::Arc;

use datafusion::arrow::compute::CastOptions;
use datafusion::arrow::datatypes::{DataType, Field, Schema as ArrowSchema, SchemaRef};
use datafusion::arrow::util::display::FormatOptions;
use datafusion::common::ScalarValue;
use datafusion::common::config::ConfigOptions;
use datafusion::logical_expr::Operator;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::ScalarFunctionExpr;
use datafusion::physical_expr::expressions::{
    BinaryExpr, CaseExpr, CastExpr, Column, InListExpr, IsNotNullExpr, IsNullExpr, LikeExpr,
    Literal as LiteralExpr, NegativeExpr, NotExpr,
};

use super::PlanError;
use crate::functions::{FunctionRegistry, Kernel, KernelUdf, structural};
use crate::sql::ast::{BinaryOp, Expr, Literal, UnaryOp};
use crate::sql::display::expr_to_sql;
use crate::types::{MAX_DECIMAL_PRECISION, SqlType, StructField, can_widen, common_type};

/// A column visible to expressions: its name, the source (alias) it came from, and its type.
#[derive(Debug, Clone, PartialEq)]
pub struct ScopeColumn {
    pub name: String,
    pub source: Option<String>,
    pub ty: SqlType,
}

/// The columns of the batches an expression is evaluated over, in batch order.
#[derive(Debug, Clone)]
pub struct Scope {
    pub columns: Vec<ScopeColumn>,
    arrow: SchemaRef,
}

impl Scope {
    pub fn new(columns: Vec<ScopeColumn>) -> Scope {
        let fields = columns
            .iter()
            .enumerate()
            .map(|(i, c)| Field::new(format!("c{i}"), c.ty.to_arrow(), true))
            .collect::<Vec<_>>();
        Scope {
            columns,
            arrow: Arc::new(ArrowSchema::new(fields)),
        }
    }

    /// The Arrow schema of the batches: fields are positional (`c0`, `c1`, …) so that names
    /// that differ only in case never collide.
    pub fn arrow_schema(&self) -> &SchemaRef {
        &self.arrow
    }

    /// Finds a column by name and optional source qualifier.
    pub fn resolve(&self, qualifier: Option<&str>, name: &str) -> Option<usize> {
        let mut found = self.columns.iter().enumerate().filter(|(_, c)| {
            c.name == name
                && match qualifier {
                    Some(q) => c.source.as_deref() == Some(q),
                    None => true,
                }
        });
        found.next().map(|(i, _)| i)
    }

    /// Two sources an unqualified name could come from, when it is ambiguous.
    pub fn ambiguity(&self, name: &str) -> Option<(String, String)> {
        let mut sources = self
            .columns
            .iter()
            .filter(|c| c.name == name)
            .filter_map(|c| c.source.as_deref());
        let first = sources.next()?;
        let second = sources.find(|s| *s != first)?;
        Some((first.to_string(), second.to_string()))
    }
}

/// A compiled expression and its SQL type (`None` for an untyped NULL literal).
#[derive(Debug, Clone)]
pub struct Compiled {
    pub expr: Arc<dyn PhysicalExpr>,
    pub ty: Option<SqlType>,
}

impl Compiled {
    /// The type, with an untyped NULL read as STRING (as ksqlDB does in projections).
    pub fn sql_type(&self) -> SqlType {
        self.ty.clone().unwrap_or(SqlType::String)
    }

    /// Marks the scope columns the expression reads (indices past `read` are ignored). Returns
    /// false when it cannot tell: a lambda's bodies read enclosing columns its tree does not
    /// show.
    pub fn mark_columns_read(&self, read: &mut [bool]) -> bool {
        mark_columns_read(&self.expr, read)
    }
}

fn mark_columns_read(expr: &Arc<dyn PhysicalExpr>, read: &mut [bool]) -> bool {
    if expr.is::<crate::functions::lambda::LambdaCall>() {
        return false;
    }
    if let Some(column) = expr.downcast_ref::<Column>() {
        if let Some(slot) = read.get_mut(column.index()) {
            *slot = true;
        }
        return true;
    }
    expr.children()
        .into_iter()
        .all(|child| mark_columns_read(child, read))
}

/// Where an expression appears, for ksqlDB's "SELECT column 'X' cannot be resolved" wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clause {
    Select,
    Where,
    PartitionBy,
    GroupBy,
    Having,
    Values,
}

impl Clause {
    fn name(self) -> &'static str {
        match self {
            Clause::Select => "SELECT",
            Clause::Where => "WHERE",
            Clause::PartitionBy => "PARTITION BY",
            Clause::GroupBy => "GROUP BY",
            Clause::Having => "HAVING",
            Clause::Values => "VALUES",
        }
    }
}

pub struct ExprCompiler<'a> {
    scope: &'a Scope,
    pub(crate) clause: Clause,
    config: Arc<ConfigOptions>,
    /// Compiling a lambda body, where arithmetic on a null operand fails (see
    /// [`NonNullOperand`](crate::functions::lambda::NonNullOperand)).
    in_lambda: bool,
}

type PResult<T> = Result<T, PlanError>;

fn invalid(message: impl Into<String>) -> PlanError {
    PlanError::Invalid(message.into())
}

/// Casts that turn failures into nulls, as ksqlDB's CAST does.
fn cast_options() -> CastOptions<'static> {
    CastOptions {
        safe: true,
        format_options: FormatOptions::default(),
    }
}

impl<'a> ExprCompiler<'a> {
    pub fn new(scope: &'a Scope, clause: Clause) -> ExprCompiler<'a> {
        ExprCompiler {
            scope,
            clause,
            config: Arc::new(ConfigOptions::default()),
            in_lambda: false,
        }
    }

    pub fn compile(&self, expr: &Expr) -> PResult<Compiled> {
        match expr {
            Expr::Column {
                qualifier,
                name,
                location,
            } => {
                if qualifier.is_none()
                    && let Some((first, second)) = self.scope.ambiguity(name)
                {
                    return Err(invalid(format!(
                        "Exception while preparing statement: Line: {}, Col: {}: Column '{name}' is ambiguous. Could be {first}.{name} or {second}.{name}.",
                        location.line, location.column
                    )));
                }
                let Some(index) = self.scope.resolve(qualifier.as_deref(), name) else {
                    let shown = match qualifier {
                        Some(q) => format!("{q}.{name}"),
                        None => name.clone(),
                    };
                    return Err(invalid(format!(
                        "{} column '{shown}' cannot be resolved.",
                        self.clause.name()
                    )));
                };
                Ok(Compiled {
                    expr: Arc::new(Column::new(&format!("c{index}"), index)),
                    ty: Some(self.scope.columns[index].ty.clone()),
                })
            }
            Expr::Literal(l) => literal(l),
            Expr::TypedLiteral { ty, value } => {
                let s = Compiled {
                    expr: Arc::new(LiteralExpr::new(ScalarValue::Utf8(Some(value.clone())))),
                    ty: Some(SqlType::String),
                };
                Ok(self.cast(s, ty))
            }
            Expr::Binary { op, left, right } => self.binary(*op, left, right),
            Expr::Unary { op, expr: inner } => {
                let c = self.compile(inner)?;
                match op {
                    UnaryOp::Not => {
                        let c = self.expect_boolean(c, inner)?;
                        Ok(Compiled {
                            expr: Arc::new(NotExpr::new(c.expr)),
                            ty: Some(SqlType::Boolean),
                        })
                    }
                    UnaryOp::Plus => Ok(c),
                    UnaryOp::Minus => match &c.ty {
                        Some(t) if t.is_numeric() => Ok(Compiled {
                            expr: Arc::new(NegativeExpr::new(c.expr)),
                            ty: c.ty,
                        }),
                        None => Ok(c),
                        Some(t) => Err(invalid(format!(
                            "Unsupported arithmetic type: {t} for -{}",
                            expr_to_sql(inner)
                        ))),
                    },
                }
            }
            Expr::IsNull {
                expr: inner,
                negated,
            } => {
                let c = self.compile(inner)?;
                let e: Arc<dyn PhysicalExpr> = if *negated {
                    Arc::new(IsNotNullExpr::new(c.expr))
                } else {
                    Arc::new(IsNullExpr::new(c.expr))
                };
                Ok(Compiled {
                    expr: e,
                    ty: Some(SqlType::Boolean),
                })
            }
            Expr::IsDistinctFrom {
                left,
                right,
                negated,
            } => {
                let (l, r, _) = self.comparable(left, right, BinaryOp::Eq)?;
                let op = if *negated {
                    Operator::IsNotDistinctFrom
                } else {
                    Operator::IsDistinctFrom
                };
                Ok(Compiled {
                    expr: Arc::new(BinaryExpr::new(l.expr, op, r.expr)),
                    ty: Some(SqlType::Boolean),
                })
            }
            Expr::Between {
                expr: value,
                low,
                high,
                negated,
            } => {
                let ge = self.binary(BinaryOp::GtEq, value, low)?;
                let le = self.binary(BinaryOp::LtEq, value, high)?;
                let both: Arc<dyn PhysicalExpr> =
                    Arc::new(BinaryExpr::new(ge.expr, Operator::And, le.expr));
                Ok(Compiled {
                    expr: if *negated {
                        Arc::new(NotExpr::new(both))
                    } else {
                        both
                    },
                    ty: Some(SqlType::Boolean),
                })
            }
            Expr::InList {
                expr: value,
                list,
                negated,
            } => self.in_list(value, list, *negated),
            Expr::Like {
                expr: value,
                pattern,
                escape,
                negated,
            } => {
                let v = self.compile(value)?;
                let v = self.expect_string(v, value, "LIKE")?;
                let p = match (&**pattern, escape) {
                    (Expr::Literal(Literal::String(s)), _) => Compiled {
                        expr: Arc::new(LiteralExpr::new(ScalarValue::Utf8(Some(
                            structural::escape_like_pattern(s, *escape),
                        )))),
                        ty: Some(SqlType::String),
                    },
                    (_, None) => {
                        let p = self.compile(pattern)?;
                        self.expect_string(p, pattern, "LIKE")?
                    }
                    (_, Some(e)) => {
                        let p = self.compile(pattern)?;
                        let p = self.expect_string(p, pattern, "LIKE")?;
                        let e = Compiled {
                            expr: Arc::new(LiteralExpr::new(ScalarValue::Utf8(Some(
                                e.to_string(),
                            )))),
                            ty: Some(SqlType::String),
                        };
                        self.call(
                            "like_escape",
                            structural::like_escape,
                            vec![p, e],
                            SqlType::String,
                        )?
                    }
                };
                Ok(Compiled {
                    expr: Arc::new(LikeExpr::new(*negated, false, v.expr, p.expr)),
                    ty: Some(SqlType::Boolean),
                })
            }
            Expr::Case {
                operand,
                whens,
                else_result,
            } => self.case(operand.as_deref(), whens, else_result.as_deref()),
            Expr::Cast { expr: inner, ty } => {
                let c = self.compile(inner)?;
                self.explicit_cast(c, inner, ty)
            }
            Expr::Dereference { expr: base, field } => {
                let b = self.compile(base)?;
                let Some(SqlType::Struct(fields)) = &b.ty else {
                    return Err(invalid(format!(
                        "Expected STRUCT type for {} but got {}",
                        expr_to_sql(base),
                        b.sql_type()
                    )));
                };
                let Some(f) = fields.iter().find(|f| &f.name == field) else {
                    return Err(invalid(format!(
                        "Could not find field '{field}' in '{}'.",
                        expr_to_sql(base)
                    )));
                };
                let ty = f.ty.clone();
                let name = Compiled {
                    expr: Arc::new(LiteralExpr::new(ScalarValue::Utf8(Some(field.clone())))),
                    ty: Some(SqlType::String),
                };
                self.call("get_field", structural::get_field, vec![b, name], ty)
            }
            Expr::Subscript { expr: base, index } => {
                let b = self.compile(base)?;
                let i = self.compile(index)?;
                match b.ty.clone() {
                    Some(SqlType::Array(item)) => {
                        let i = match &i.ty {
                            Some(SqlType::Int | SqlType::Bigint) => i,
                            _ => {
                                return Err(invalid(format!(
                                    "Array index must be an integer: {}",
                                    expr_to_sql(index)
                                )));
                            }
                        };
                        self.call("subscript", structural::subscript, vec![b, i], *item)
                    }
                    Some(SqlType::Map(k, v)) => {
                        let i = self.implicit_cast(i, &k, index)?;
                        self.call("subscript", structural::subscript, vec![b, i], *v)
                    }
                    other => Err(invalid(format!(
                        "Cannot subscript {} of type {}",
                        expr_to_sql(base),
                        other.unwrap_or(SqlType::String)
                    ))),
                }
            }
            Expr::Array(items) => {
                if items.is_empty() {
                    return Err(invalid(
                        "Array constructor cannot be empty. Please supply at least one element (see https://github.com/confluentinc/ksql/issues/4239).",
                    ));
                }
                let refs: Vec<&Expr> = items.iter().collect();
                let (compiled, item_ty) = self.coerce_user_list(&refs)?;
                let Some(item_ty) = item_ty else {
                    return Err(invalid(
                        "Cannot construct an array with all NULL elements (see https://github.com/confluentinc/ksql/issues/4239). As a workaround, you may cast a NULL value to the desired type.",
                    ));
                };
                let args = compiled
                    .into_iter()
                    .map(|c| self.cast(c, &item_ty))
                    .collect::<Vec<_>>();
                self.call(
                    "array",
                    structural::make_array,
                    args,
                    SqlType::Array(Box::new(item_ty)),
                )
            }
            Expr::Map(entries) => {
                if entries.is_empty() {
                    return Err(invalid(
                        "Map constructor cannot be empty. Please supply at least one key value pair (see https://github.com/confluentinc/ksql/issues/4239).",
                    ));
                }
                let key_refs: Vec<&Expr> = entries.iter().map(|(k, _)| k).collect();
                let value_refs: Vec<&Expr> = entries.iter().map(|(_, v)| v).collect();
                let (keys, key_ty) = self.coerce_user_list(&key_refs)?;
                let (values, value_ty) = self.coerce_user_list(&value_refs)?;
                let Some(key_ty) = key_ty else {
                    return Err(invalid("Cannot construct a map with all NULL keys"));
                };
                let Some(value_ty) = value_ty else {
                    return Err(invalid("Cannot construct a map with all NULL values"));
                };
                let mut args = Vec::with_capacity(entries.len() * 2);
                for (k, v) in keys.into_iter().zip(values) {
                    args.push(self.cast(k, &key_ty));
                    args.push(self.cast(v, &value_ty));
                }
                self.call(
                    "map",
                    structural::make_map,
                    args,
                    SqlType::Map(Box::new(key_ty), Box::new(value_ty)),
                )
            }
            Expr::Struct(fields) => {
                for (i, (name, _)) in fields.iter().enumerate() {
                    if fields[..i].iter().any(|(n, _)| n == name) {
                        return Err(invalid(format!(
                            "Duplicate field names found in STRUCT: '{name}'"
                        )));
                    }
                }
                let mut args = Vec::with_capacity(fields.len());
                let mut types = Vec::with_capacity(fields.len());
                for (name, e) in fields {
                    let c = self.compile(e)?;
                    let ty = c.sql_type();
                    types.push(StructField {
                        name: name.clone(),
                        ty: ty.clone(),
                    });
                    args.push(self.cast(c, &ty));
                }
                if args.is_empty() {
                    args.push(Compiled {
                        expr: Arc::new(LiteralExpr::new(ScalarValue::Boolean(None))),
                        ty: Some(SqlType::Boolean),
                    });
                }
                self.call(
                    "struct",
                    structural::make_struct,
                    args,
                    SqlType::Struct(types),
                )
            }
            Expr::Function { name, args, .. } => self.function(name, args),
            Expr::CountStar { .. } => Err(PlanError::Unsupported(
                "Aggregate functions (COUNT) are not supported yet".to_string(),
            )),
            Expr::Lambda { .. } => Err(invalid(
                "A lambda expression is only allowed as an argument of TRANSFORM, FILTER or REDUCE",
            )),
            Expr::IntervalUnit(u) => Err(invalid(format!("Unexpected time unit {u}"))),
            Expr::StructAll(_) => Err(invalid("'->*' is only allowed in a SELECT list")),
        }
    }

    fn function(&self, name: &str, args: &[Expr]) -> PResult<Compiled> {
        if let Some(kind) = lambda_function(name) {
            return self.lambda_call(name, kind, args);
        }
        let Some(function) = FunctionRegistry::global().scalar(name) else {
            return Err(invalid(format!(
                "Can't find any functions with the name '{name}'"
            )));
        };
        let compiled = args
            .iter()
            .map(|a| self.function_argument(a))
            .collect::<PResult<Vec<_>>>()?;
        let types: Vec<Option<SqlType>> = compiled.iter().map(|c| c.ty.clone()).collect();
        let Some((signature, kernel)) = function.resolve(&types) else {
            return Err(invalid(function.unresolved_message(&types)));
        };
        let args = compiled
            .into_iter()
            .zip(&signature.params)
            .map(|(c, t)| self.cast(c, t))
            .collect();
        self.call(function.name, kernel, args, signature.returns)
    }

    /// TRANSFORM, FILTER and REDUCE: the collection, then (for REDUCE) the initial state,
    /// then the lambdas, each compiled on its parameters followed by this scope's columns.
    fn lambda_call(&self, name: &str, base: &str, args: &[Expr]) -> PResult<Compiled> {
        use crate::functions::lambda::{LambdaCall, LambdaKind};
        let lower = name.to_lowercase();
        let bad = |types: &[String]| {
            invalid(format!(
                "Function '{lower}' does not accept parameters ({}).",
                types.join(", ")
            ))
        };
        let Some(first) = args.first() else {
            return Err(bad(&[]));
        };
        let input = self.compile(first)?;
        let input_ty = input.sql_type();
        let reduce = base == "REDUCE";
        let (init, lambdas) = if reduce {
            let Some(init) = args.get(1) else {
                return Err(bad(&[input_ty.to_string()]));
            };
            (Some(self.compile(init)?), &args[2..])
        } else {
            (None, &args[1..])
        };
        let state_ty = init.as_ref().map(|i| i.sql_type());
        // The parameter types each lambda takes.
        let (kind, param_types, body_count): (LambdaKind, Vec<SqlType>, usize) =
            match (base, &input_ty) {
                ("TRANSFORM", SqlType::Array(item)) => {
                    (LambdaKind::TransformArray, vec![(**item).clone()], 1)
                }
                ("TRANSFORM", SqlType::Map(k, v)) => (
                    LambdaKind::TransformMap,
                    vec![(**k).clone(), (**v).clone()],
                    2,
                ),
                ("FILTER", SqlType::Array(item)) => {
                    (LambdaKind::FilterArray, vec![(**item).clone()], 1)
                }
                ("FILTER", SqlType::Map(k, v)) => {
                    (LambdaKind::FilterMap, vec![(**k).clone(), (**v).clone()], 1)
                }
                ("REDUCE", SqlType::Array(item)) => (
                    LambdaKind::ReduceArray,
                    vec![
                        state_ty.clone().unwrap_or(SqlType::String),
                        (**item).clone(),
                    ],
                    1,
                ),
                ("REDUCE", SqlType::Map(k, v)) => (
                    LambdaKind::ReduceMap,
                    vec![
                        state_ty.clone().unwrap_or(SqlType::String),
                        (**k).clone(),
                        (**v).clone(),
                    ],
                    1,
                ),
                _ => return Err(bad(&[input_ty.to_string()])),
            };
        if lambdas.len() != body_count {
            return Err(invalid(format!(
                "Function '{lower}' takes {body_count} lambda expression(s), got {}.",
                lambdas.len()
            )));
        }
        let mut bodies = Vec::with_capacity(body_count);
        let mut body_types = Vec::with_capacity(body_count);
        for lambda in lambdas {
            let Expr::Lambda { params, body } = lambda else {
                return Err(invalid(format!(
                    "Function '{lower}' expects a lambda expression, got {}",
                    expr_to_sql(lambda)
                )));
            };
            if params.len() != param_types.len() {
                return Err(invalid(format!(
                    "Was expecting {} arguments but found {}, {params:?}. Check your lambda statement.",
                    param_types.len(),
                    params.len()
                )));
            }
            let mut columns: Vec<ScopeColumn> = params
                .iter()
                .zip(&param_types)
                .map(|(p, t)| ScopeColumn {
                    name: p.clone(),
                    source: None,
                    ty: t.clone(),
                })
                .collect();
            columns.extend(self.scope.columns.iter().cloned());
            let lambda_scope = Scope::new(columns);
            let compiled = ExprCompiler {
                in_lambda: true,
                ..ExprCompiler::new(&lambda_scope, self.clause)
            }
            .compile(body)?;
            body_types.push(compiled.sql_type());
            bodies.push(compiled);
        }
        let return_ty = match kind {
            LambdaKind::TransformArray => SqlType::Array(Box::new(body_types[0].clone())),
            LambdaKind::TransformMap => SqlType::Map(
                Box::new(body_types[0].clone()),
                Box::new(body_types[1].clone()),
            ),
            LambdaKind::FilterArray | LambdaKind::FilterMap => {
                if body_types[0] != SqlType::Boolean {
                    return Err(invalid(format!(
                        "Function '{lower}' expects a lambda that returns BOOLEAN, got {}",
                        body_types[0]
                    )));
                }
                input_ty.clone()
            }
            LambdaKind::ReduceArray | LambdaKind::ReduceMap => {
                state_ty.clone().unwrap_or(SqlType::String)
            }
        };
        let call = LambdaCall {
            kind,
            input: input.expr,
            init: init.map(|i| i.expr),
            bodies: bodies.into_iter().map(|b| b.expr).collect(),
            params: param_types.iter().map(SqlType::to_arrow).collect(),
            return_type: return_ty.to_arrow(),
        };
        Ok(Compiled {
            expr: Arc::new(call),
            ty: Some(return_ty),
        })
    }

    /// A function argument; a bare time unit (`DAYS` in `DATEADD(DAYS, 1, d)`) that is not a
    /// column is passed as its name.
    fn function_argument(&self, arg: &Expr) -> PResult<Compiled> {
        if let Expr::Column {
            qualifier: None,
            name,
            ..
        } = arg
            && self.scope.resolve(None, name).is_none()
            && crate::sql::parser::time_unit_ms(name).is_some()
        {
            return Ok(Compiled {
                expr: Arc::new(LiteralExpr::new(ScalarValue::Utf8(Some(name.clone())))),
                ty: Some(SqlType::String),
            });
        }
        self.compile(arg)
    }

    fn call(
        &self,
        name: &str,
        kernel: Kernel,
        args: Vec<Compiled>,
        ty: SqlType,
    ) -> PResult<Compiled> {
        let data_type = ty.to_arrow();
        let udf = KernelUdf::udf(name, data_type.clone(), kernel);
        let args = args.into_iter().map(|a| a.expr).collect();
        let expr = ScalarFunctionExpr::new(
            name,
            udf,
            args,
            Arc::new(Field::new(name, data_type, true)),
            self.config.clone(),
        );
        Ok(Compiled {
            expr: Arc::new(expr),
            ty: Some(ty),
        })
    }

    fn expect_boolean(&self, c: Compiled, source: &Expr) -> PResult<Compiled> {
        match &c.ty {
            Some(SqlType::Boolean) => Ok(c),
            None => Ok(self.cast(c, &SqlType::Boolean)),
            Some(t) => Err(invalid(format!(
                "Type mismatch: expected BOOLEAN but got {t} for {}",
                expr_to_sql(source)
            ))),
        }
    }

    fn expect_string(&self, c: Compiled, source: &Expr, what: &str) -> PResult<Compiled> {
        match &c.ty {
            Some(SqlType::String) => Ok(c),
            None => Ok(self.cast(c, &SqlType::String)),
            Some(t) => Err(invalid(format!(
                "Unsupported type for {what}: {t} ({})",
                expr_to_sql(source)
            ))),
        }
    }

    /// Converts a value to `target`, inserting a cast when the types differ.
    pub fn cast(&self, c: Compiled, target: &SqlType) -> Compiled {
        if c.ty.as_ref() == Some(target) {
            return c;
        }
        Compiled {
            expr: Arc::new(CastExpr::new(
                c.expr,
                target.to_arrow(),
                Some(cast_options()),
            )),
            ty: Some(target.clone()),
        }
    }

    /// The implicit conversions ksqlDB applies (numeric widening, NULL to anything).
    pub fn implicit_cast(&self, c: Compiled, target: &SqlType, source: &Expr) -> PResult<Compiled> {
        match &c.ty {
            None => Ok(self.cast(c, target)),
            Some(t) if t == target => Ok(c),
            Some(t) if can_widen(t, target) => Ok(self.cast(c, target)),
            // Structs convert by field name (see `can_coerce_struct`), which Arrow's cast does
            // not do.
            Some(t) if can_coerce_struct(t, target) => self.call(
                "cast",
                crate::functions::cast::cast,
                vec![c],
                target.clone(),
            ),
            Some(t) => Err(invalid(format!(
                "Expected type {target} for {}, but got {t}",
                expr_to_sql(source)
            ))),
        }
    }

    fn explicit_cast(&self, c: Compiled, source: &Expr, target: &SqlType) -> PResult<Compiled> {
        let Some(from) = c.ty.clone() else {
            return Ok(self.cast(c, target));
        };
        if !castable(&from, target) {
            let message = format!("Cast of {from} to {target} is not supported");
            return Err(invalid(if self.clause == Clause::Select {
                format!("Invalid Select: {message}")
            } else {
                message
            }));
        }
        let _ = source;
        if &from == target {
            return Ok(c);
        }
        self.call(
            "cast",
            crate::functions::cast::cast,
            vec![c],
            target.clone(),
        )
    }

    fn binary(&self, op: BinaryOp, left: &Expr, right: &Expr) -> PResult<Compiled> {
        match op {
            BinaryOp::And | BinaryOp::Or => {
                let l = self.compile(left)?;
                let l = self.expect_boolean(l, left)?;
                let r = self.compile(right)?;
                let r = self.expect_boolean(r, right)?;
                let operator = if op == BinaryOp::And {
                    Operator::And
                } else {
                    Operator::Or
                };
                Ok(Compiled {
                    expr: Arc::new(BinaryExpr::new(l.expr, operator, r.expr)),
                    ty: Some(SqlType::Boolean),
                })
            }
            op if op.is_comparison() => {
                if matches!(left, Expr::Literal(Literal::Null))
                    && matches!(right, Expr::Literal(Literal::Null))
                {
                    return Err(invalid(format!(
                        "Comparison with NULL not supported: NULL {} NULL",
                        op.symbol()
                    )));
                }
                let is_null = |e: &Expr| matches!(e, Expr::Literal(Literal::Null));
                if is_null(left) || is_null(right) {
                    let shown = |e: &Expr| -> PResult<String> {
                        if is_null(e) {
                            return Ok("NULL".to_string());
                        }
                        Ok(self
                            .compile(e)?
                            .ty
                            .map_or("NULL".to_string(), |t| t.to_string()))
                    };
                    return Err(invalid(format!(
                        "Comparison with NULL not supported: {} {} {}\nUse 'IS NULL' or 'IS NOT NULL' instead.",
                        shown(left)?,
                        op.symbol(),
                        shown(right)?
                    )));
                }
                let (l, r, _) = self.comparable(left, right, op)?;
                let compared = Compiled {
                    expr: Arc::new(BinaryExpr::new(l.expr, comparison_operator(op), r.expr)),
                    ty: Some(SqlType::Boolean),
                };
                // ksqlDB compares null with anything as false, not unknown.
                self.call(
                    "null_as_false",
                    structural::null_as_false,
                    vec![compared],
                    SqlType::Boolean,
                )
            }
            _ => self.arithmetic(op, left, right),
        }
    }

    /// Compiles both sides of a comparison and brings them to one type.
    fn comparable(
        &self,
        left: &Expr,
        right: &Expr,
        op: BinaryOp,
    ) -> PResult<(Compiled, Compiled, Option<SqlType>)> {
        let l = self.magic_timestamp(left, right)?;
        let r = self.magic_timestamp(right, left)?;
        let mismatch = |lt: &SqlType, rt: &SqlType| {
            invalid(format!(
                "Cannot compare {} ({lt}) to {} ({rt}) with {}.",
                expr_to_sql(left),
                expr_to_sql(right),
                op.ksql_name()
            ))
        };
        let target = match (&l.ty, &r.ty) {
            (None, None) => None,
            (Some(t), None) | (None, Some(t)) => Some(t.clone()),
            (Some(lt), Some(rt)) => {
                if !comparable_types(lt, rt, op) {
                    return Err(mismatch(lt, rt));
                }
                match (lt, rt) {
                    // A string compared to a time type is parsed as that type.
                    (SqlType::String, t @ (SqlType::Timestamp | SqlType::Date | SqlType::Time))
                    | (t @ (SqlType::Timestamp | SqlType::Date | SqlType::Time), SqlType::String) => {
                        Some(t.clone())
                    }
                    _ => Some(common_type(lt, rt).ok_or_else(|| mismatch(lt, rt))?),
                }
            }
        };
        match &target {
            Some(t) => Ok((self.cast(l, t), self.cast(r, t), target)),
            None => Ok((l, r, None)),
        }
    }

    /// A string literal compared to ROWTIME, WINDOWSTART or WINDOWEND is read as a timestamp
    /// and becomes its epoch milliseconds, as ksqlDB rewrites it.
    fn magic_timestamp(&self, expr: &Expr, other: &Expr) -> PResult<Compiled> {
        if let (Expr::Literal(Literal::String(text)), Expr::Column { name, .. }) = (expr, other)
            && matches!(name.as_str(), "ROWTIME" | "WINDOWSTART" | "WINDOWEND")
        {
            let millis = crate::types::time::parse_iso_timestamp(text).ok_or_else(|| {
                invalid(format!(
                    "Failed to parse timestamp '{text}': expected yyyy-MM-dd'T'HH:mm:ss.SSS with an optional time zone"
                ))
            })?;
            return Ok(Compiled {
                expr: Arc::new(LiteralExpr::new(ScalarValue::Int64(Some(millis)))),
                ty: Some(SqlType::Bigint),
            });
        }
        self.compile(expr)
    }

    fn arithmetic(&self, op: BinaryOp, left: &Expr, right: &Expr) -> PResult<Compiled> {
        let l = self.compile(left)?;
        let r = self.compile(right)?;
        let unsupported = |lt: &SqlType, rt: &SqlType| {
            invalid(format!(
                "Error processing expression: {}. Unsupported arithmetic types. {lt} {rt}",
                expr_to_sql(&Expr::binary(op, left.clone(), right.clone()))
            ))
        };
        let is_null = |e: &Expr| matches!(e, Expr::Literal(Literal::Null));
        if op != BinaryOp::Concat && (is_null(left) || is_null(right)) {
            let shown = |e: &Expr, ty: &Option<SqlType>| {
                if is_null(e) {
                    "null".to_string()
                } else {
                    ty.as_ref().map_or("null".to_string(), |t| t.to_string())
                }
            };
            return Err(invalid(format!(
                "Error processing expression: {}. Arithmetic on types {} and {} are not supported.",
                expr_to_sql(&Expr::binary(op, left.clone(), right.clone())),
                shown(left, &l.ty),
                shown(right, &r.ty)
            )));
        }
        let (lt, rt) = match (&l.ty, &r.ty) {
            (Some(lt), Some(rt)) => (lt.clone(), rt.clone()),
            (Some(t), None) | (None, Some(t)) => (t.clone(), t.clone()),
            (None, None) => (SqlType::String, SqlType::String),
        };
        if matches!(op, BinaryOp::Concat)
            || (op == BinaryOp::Plus && lt == SqlType::String && rt == SqlType::String)
        {
            if lt != SqlType::String || rt != SqlType::String {
                return Err(unsupported(&lt, &rt));
            }
            let l = self.cast(l, &SqlType::String);
            let r = self.cast(r, &SqlType::String);
            return Ok(Compiled {
                expr: Arc::new(BinaryExpr::new(l.expr, Operator::StringConcat, r.expr)),
                ty: Some(SqlType::String),
            });
        }
        if !lt.is_numeric() || !rt.is_numeric() {
            return Err(unsupported(&lt, &rt));
        }
        let operator = match op {
            BinaryOp::Plus => Operator::Plus,
            BinaryOp::Minus => Operator::Minus,
            BinaryOp::Multiply => Operator::Multiply,
            BinaryOp::Divide => Operator::Divide,
            BinaryOp::Modulo => Operator::Modulo,
            _ => return Err(unsupported(&lt, &rt)),
        };
        let result = arithmetic_type(op, &lt, &rt);
        let (l, r) = if self.in_lambda {
            let guard = |c: Compiled| Compiled {
                expr: Arc::new(crate::functions::lambda::NonNullOperand { inner: c.expr }),
                ty: c.ty,
            };
            (guard(l), guard(r))
        } else {
            (l, r)
        };
        if let SqlType::Decimal { .. } = result {
            // Let DataFusion compute on the operands as decimals, then fit ksqlDB's type.
            let (lp, ls) = lt.as_decimal().unwrap_or((38, 0));
            let (rp, rs) = rt.as_decimal().unwrap_or((38, 0));
            let l = self.cast(l, &SqlType::decimal(lp, ls));
            let r = self.cast(r, &SqlType::decimal(rp, rs));
            let raw = Compiled {
                expr: Arc::new(BinaryExpr::new(l.expr, operator, r.expr)),
                ty: None,
            };
            let scope_schema = self.scope.arrow_schema();
            let raw_type = raw
                .expr
                .data_type(scope_schema)
                .map_err(|e| PlanError::Internal(e.to_string()))?;
            let raw = Compiled {
                ty: SqlType::from_arrow(&raw_type),
                ..raw
            };
            return Ok(self.cast(raw, &result));
        }
        let l = self.cast(l, &result);
        let r = self.cast(r, &result);
        Ok(Compiled {
            expr: Arc::new(BinaryExpr::new(l.expr, operator, r.expr)),
            ty: Some(result),
        })
    }

    fn in_list(&self, value: &Expr, list: &[Expr], negated: bool) -> PResult<Compiled> {
        let mut all: Vec<&Expr> = vec![value];
        all.extend(list.iter());
        let (mut compiled, target) = self.coerce_user_list(&all).map_err(|e| match e {
            PlanError::Invalid(m) => invalid(format!("Invalid Predicate: {m}")),
            other => other,
        })?;
        let target = target.unwrap_or(SqlType::String);
        let items: Vec<Arc<dyn PhysicalExpr>> = compiled
            .split_off(1)
            .into_iter()
            .map(|c| self.cast(c, &target).expr)
            .collect();
        let v = self.cast(compiled.remove(0), &target);
        if !matches!(
            target,
            SqlType::Array(_) | SqlType::Map(..) | SqlType::Struct(_)
        ) {
            let e = InListExpr::try_new(v.expr, items, negated, self.scope.arrow_schema())
                .map_err(|e| invalid(e.to_string()))?;
            return Ok(Compiled {
                expr: Arc::new(e),
                ty: Some(SqlType::Boolean),
            });
        }
        // Structured values: an OR of equalities.
        let mut any: Option<Arc<dyn PhysicalExpr>> = None;
        for item in items {
            let eq: Arc<dyn PhysicalExpr> =
                Arc::new(BinaryExpr::new(v.expr.clone(), Operator::Eq, item));
            any = Some(match any {
                None => eq,
                Some(prev) => Arc::new(BinaryExpr::new(prev, Operator::Or, eq)),
            });
        }
        let any =
            any.unwrap_or_else(|| Arc::new(LiteralExpr::new(ScalarValue::Boolean(Some(false)))));
        Ok(Compiled {
            expr: if negated {
                Arc::new(NotExpr::new(any))
            } else {
                any
            },
            ty: Some(SqlType::Boolean),
        })
    }

    fn case(
        &self,
        operand: Option<&Expr>,
        whens: &[(Expr, Expr)],
        else_result: Option<&Expr>,
    ) -> PResult<Compiled> {
        let mut conditions = Vec::with_capacity(whens.len());
        for (w, _) in whens {
            let c = match operand {
                Some(o) => self.binary(BinaryOp::Eq, o, w)?,
                None => {
                    let c = self.compile(w)?;
                    self.expect_boolean(c, w)?
                }
            };
            conditions.push(c);
        }
        let results = whens
            .iter()
            .map(|(_, t)| self.compile(t))
            .collect::<PResult<Vec<_>>>()?;
        let otherwise = else_result.map(|e| self.compile(e)).transpose()?;
        let mut all = results.clone();
        all.extend(otherwise.iter().cloned());
        let ty = self
            .common_type_of(&all, "CASE")
            .map_err(|_| {
                invalid("Invalid Case expression. Type for all 'THEN' clauses should be the same.")
            })?
            .ok_or_else(|| invalid("Invalid Case expression. All case branches have NULL type"))?;
        let when_then = conditions
            .into_iter()
            .zip(results)
            .map(|(c, r)| (c.expr, self.cast(r, &ty).expr))
            .collect();
        let otherwise = otherwise.map(|o| self.cast(o, &ty).expr);
        let e = CaseExpr::try_new(None, when_then, otherwise)
            .map_err(|e| PlanError::Internal(e.to_string()))?;
        Ok(Compiled {
            expr: Arc::new(e),
            ty: Some(ty),
        })
    }

    /// One type all the values can be widened to; `None` when all are untyped NULLs.
    fn common_type_of(&self, values: &[Compiled], what: &str) -> PResult<Option<SqlType>> {
        let mut target: Option<SqlType> = None;
        for v in values {
            let Some(t) = &v.ty else { continue };
            target = Some(match target {
                None => t.clone(),
                Some(prev) => common_type(&prev, t).ok_or_else(|| {
                    invalid(format!("invalid input syntax for {what}: {prev} and {t}"))
                })?,
            });
        }
        Ok(target)
    }
}

fn literal(l: &Literal) -> PResult<Compiled> {
    let (value, ty) = match l {
        Literal::Null => {
            return Ok(Compiled {
                expr: Arc::new(LiteralExpr::new(ScalarValue::Null)),
                ty: None,
            });
        }
        Literal::Boolean(b) => (ScalarValue::Boolean(Some(*b)), SqlType::Boolean),
        Literal::Integer(n) => match n.parse::<i32>() {
            Ok(i) => (ScalarValue::Int32(Some(i)), SqlType::Int),
            Err(_) => {
                let i = n
                    .parse::<i64>()
                    .map_err(|_| invalid(format!("Invalid numeric literal: {n}")))?;
                (ScalarValue::Int64(Some(i)), SqlType::Bigint)
            }
        },
        Literal::Decimal(n) => {
            let (unscaled, precision, scale) =
                parse_decimal(n).ok_or_else(|| invalid(format!("Invalid decimal literal: {n}")))?;
            (
                ScalarValue::Decimal128(Some(unscaled), precision, scale as i8),
                SqlType::decimal(precision, scale),
            )
        }
        Literal::Double(n) => {
            let d = n
                .parse::<f64>()
                .map_err(|_| invalid(format!("Invalid numeric literal: {n}")))?;
            (ScalarValue::Float64(Some(d)), SqlType::Double)
        }
        Literal::String(s) => (ScalarValue::Utf8(Some(s.clone())), SqlType::String),
    };
    Ok(Compiled {
        expr: Arc::new(LiteralExpr::new(value)),
        ty: Some(ty),
    })
}

/// `"-12.50"` → (−1250, precision 4, scale 2), as Java's BigDecimal reads it.
pub fn parse_decimal(text: &str) -> Option<(i128, u8, u8)> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
    if !int_part
        .chars()
        .chain(frac_part.chars())
        .all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let all = format!("{int_part}{frac_part}");
    let trimmed = all.trim_start_matches('0');
    let scale = frac_part.len();
    let precision = trimmed.len().max(scale).max(1);
    if precision > MAX_DECIMAL_PRECISION as usize {
        return None;
    }
    let unscaled: i128 = if trimmed.is_empty() {
        0
    } else {
        trimmed.parse().ok()?
    };
    Some((
        if negative { -unscaled } else { unscaled },
        precision as u8,
        scale as u8,
    ))
}

fn comparison_operator(op: BinaryOp) -> Operator {
    match op {
        BinaryOp::Eq => Operator::Eq,
        BinaryOp::NotEq => Operator::NotEq,
        BinaryOp::Lt => Operator::Lt,
        BinaryOp::LtEq => Operator::LtEq,
        BinaryOp::Gt => Operator::Gt,
        _ => Operator::GtEq,
    }
}

fn comparable_types(l: &SqlType, r: &SqlType, op: BinaryOp) -> bool {
    use SqlType::*;
    let time = |t: &SqlType| matches!(t, Timestamp | Date | Time);
    match (l, r) {
        (a, b) if a.is_numeric() && b.is_numeric() => true,
        (String, String) | (Boolean, Boolean) | (Bytes, Bytes) => true,
        (String, t) | (t, String) if time(t) => true,
        (a, b) if time(a) && time(b) => true,
        (Array(_), Array(_)) | (Map(..), Map(..)) | (Struct(_), Struct(_)) => {
            l == r && matches!(op, BinaryOp::Eq | BinaryOp::NotEq)
        }
        _ => false,
    }
}

/// The lambda function a name calls, if it is one.
fn lambda_function(name: &str) -> Option<&'static str> {
    match name.to_uppercase().as_str() {
        "TRANSFORM" => Some("TRANSFORM"),
        "FILTER" => Some("FILTER"),
        "REDUCE" => Some("REDUCE"),
        _ => None,
    }
}

/// Whether CAST(from AS to) is allowed.
fn castable(from: &SqlType, to: &SqlType) -> bool {
    use SqlType::*;
    match (from, to) {
        (a, b) if a == b => true,
        (a, b) if a.is_numeric() && b.is_numeric() => true,
        (_, String) => true,
        (String, b) => b.is_primitive(),
        (Timestamp, Date | Time) | (Date, Timestamp) => true,
        (Int | Bigint, Timestamp) => true,
        (Array(a), Array(b)) => castable(a, b),
        (Map(ak, av), Map(bk, bv)) => castable(ak, bk) && castable(av, bv),
        (Struct(_), Struct(_)) => true,
        _ => false,
    }
}

/// Whether a value holding structs converts to `to` as ksqlDB coerces inserted values: the
/// struct fields both types name must convert, target fields the value lacks are null, and
/// fields the target lacks are dropped.
fn can_coerce_struct(from: &SqlType, to: &SqlType) -> bool {
    use SqlType::*;
    match (from, to) {
        (Struct(a), Struct(b)) => a.iter().all(|f| {
            b.iter()
                .find(|t| t.name == f.name)
                .is_none_or(|t| can_widen(&f.ty, &t.ty) || can_coerce_struct(&f.ty, &t.ty))
        }),
        (Array(a), Array(b)) => can_coerce_struct(a, b),
        (Map(ak, av), Map(bk, bv)) => can_widen(ak, bk) && can_coerce_struct(av, bv),
        _ => false,
    }
}

/// ksqlDB's result type of `l op r` for numeric operands.
fn arithmetic_type(op: BinaryOp, l: &SqlType, r: &SqlType) -> SqlType {
    use SqlType::*;
    match (l, r) {
        (Double, _) | (_, Double) => Double,
        (Decimal { .. }, _) | (_, Decimal { .. }) => {
            let (p1, s1) = l.as_decimal().unwrap_or((19, 0));
            let (p2, s2) = r.as_decimal().unwrap_or((19, 0));
            let (p1, s1, p2, s2) = (p1 as i32, s1 as i32, p2 as i32, s2 as i32);
            let (precision, scale) = match op {
                BinaryOp::Plus | BinaryOp::Minus => {
                    let scale = s1.max(s2);
                    ((p1 - s1).max(p2 - s2) + scale + 1, scale)
                }
                BinaryOp::Multiply => (p1 + p2 + 1, s1 + s2),
                BinaryOp::Divide => {
                    let scale = 6.max(s1 + p2 + 1);
                    (p1 - s1 + s2 + scale, scale)
                }
                _ => {
                    let scale = s1.max(s2);
                    ((p1 - s1).min(p2 - s2) + scale, scale)
                }
            };
            let precision = precision.clamp(1, MAX_DECIMAL_PRECISION as i32);
            let scale = scale.clamp(0, precision);
            SqlType::decimal(precision as u8, scale as u8)
        }
        (Bigint, _) | (_, Bigint) => Bigint,
        _ => Int,
    }
}

/// The Arrow data type of a compiled expression over a scope.
pub fn data_type_of(c: &Compiled, scope: &Scope) -> Result<DataType, PlanError> {
    c.expr
        .data_type(scope.arrow_schema())
        .map_err(|e| PlanError::Internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_literals_keep_their_scale() {
        assert_eq!(parse_decimal("12.50"), Some((1250, 4, 2)));
        assert_eq!(parse_decimal("-0.05"), Some((-5, 2, 2)));
        assert_eq!(parse_decimal("0.0"), Some((0, 1, 1)));
    }

    #[test]
    fn widening_follows_ksqldb() {
        assert_eq!(
            common_type(&SqlType::Int, &SqlType::Bigint),
            Some(SqlType::Bigint)
        );
        assert_eq!(
            common_type(&SqlType::Int, &SqlType::decimal(4, 2)),
            Some(SqlType::decimal(12, 2))
        );
        assert_eq!(common_type(&SqlType::String, &SqlType::Int), None);
    }

    #[test]
    fn like_escape_is_translated() {
        assert_eq!(
            structural::escape_like_pattern("a!%b%", Some('!')),
            "a\\%b%"
        );
        assert_eq!(structural::escape_like_pattern("a\\b", None), "a\\\\b");
    }
}
