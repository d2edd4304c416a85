//! Planning of aggregations: GROUP BY, aggregate functions, HAVING and windows.
//!
//! The input rows are grouped by the GROUP BY expressions (evaluated on the source), each
//! aggregate call gets one accumulator per group (and window), and every change to a group
//! produces a row of the *aggregate scope*: the group columns, then one column per aggregate
//! call, then ROWTIME and, for windowed aggregations, WINDOWSTART and WINDOWEND. The SELECT
//! list and HAVING are rewritten onto that scope (a sub-expression equal to a GROUP BY
//! expression becomes a group column, an aggregate call becomes its result column) and compiled
//! against it.

use std::sync::Arc;

use datafusion::common::ScalarValue;

use super::expr::{Clause, Compiled, ExprCompiler, Scope, ScopeColumn};
use super::{OutputColumn, PlanError, derived_name, same_expr, source_scope};
use crate::catalog::{Catalog, Source};
use crate::functions::aggregate::{self, AggregateFunction, Factory};
use crate::functions::registry::Signature;
use crate::sql::ast::{Expr, Literal, Query, Relation, SelectItem, SourceKind, WindowSpec};
use crate::sql::display::expr_to_sql;
use crate::types::{Column, ColumnKind, Schema, SqlType};

type PResult<T> = Result<T, PlanError>;

fn invalid(message: impl Into<String>) -> PlanError {
    PlanError::Invalid(message.into())
}

/// One aggregate call: the function, its column arguments (compiled on the source scope), its
/// constant arguments and the signature it resolved to.
#[derive(Debug, Clone)]
pub struct AggregateCall {
    pub function: Arc<AggregateFunction>,
    pub args: Vec<Compiled>,
    pub literals: Vec<ScalarValue>,
    pub signature: Signature,
    pub factory: Factory,
    /// The call as ksqlDB prints it (e.g. `COUNT(ROWTIME)`).
    pub display: String,
}

/// A planned aggregation.
#[derive(Debug, Clone)]
pub struct AggregatePlan {
    pub source: Source,
    pub scope: Scope,
    pub filter: Option<Compiled>,
    pub group_by: Vec<Compiled>,
    pub aggregates: Vec<AggregateCall>,
    pub window: Option<WindowSpec>,
    /// The scope of the rows the aggregation produces (see the module docs).
    pub aggregate_scope: Scope,
    pub having: Option<Compiled>,
    /// Key columns first, then value columns, compiled on the aggregate scope.
    pub outputs: Vec<OutputColumn>,
    pub emit: Option<crate::sql::ast::Emit>,
    /// When the aggregation reads a join: the join and its sources.
    pub join: Option<Box<JoinInput>>,
}

/// A join feeding an aggregation.
#[derive(Debug, Clone)]
pub struct JoinInput {
    pub level: super::join::JoinLevel,
    pub inputs: Vec<(Source, Scope)>,
}

impl AggregatePlan {
    pub fn output_schema(&self) -> Schema {
        Schema::new(
            self.outputs
                .iter()
                .map(|o| Column {
                    name: o.name.clone(),
                    ty: o.expr.sql_type(),
                    kind: o.kind,
                    header_key: None,
                })
                .collect(),
        )
    }
}

/// Whether a query aggregates (GROUP BY, or an aggregate function anywhere in it).
pub fn is_aggregation(query: &Query) -> bool {
    !query.group_by.is_empty()
        || query.select.iter().any(|s| match s {
            SelectItem::Expr { expr, .. } => contains_aggregate(expr),
            _ => false,
        })
        || query.having.as_ref().is_some_and(contains_aggregate)
}

fn is_aggregate_call(e: &Expr) -> bool {
    match e {
        Expr::CountStar { .. } => true,
        Expr::Function { name, .. } => aggregate::is_aggregate(name),
        _ => false,
    }
}

/// Whether an expression contains an aggregate call.
pub fn contains_aggregate(e: &Expr) -> bool {
    let mut found = false;
    visit(e, &mut |x| found |= is_aggregate_call(x));
    found
}

/// Calls `f` on every sub-expression, outermost first.
pub(crate) fn visit(e: &Expr, f: &mut dyn FnMut(&Expr)) {
    e.walk(&mut |x| f(x));
}

/// Rebuilds an expression bottom-up; `f` may replace a node (returning `Some`), in which case
/// its children are not visited.
pub(crate) fn rewrite(
    e: &Expr,
    f: &mut dyn FnMut(&Expr) -> PResult<Option<Expr>>,
) -> PResult<Expr> {
    if let Some(r) = f(e)? {
        return Ok(r);
    }
    let mut go = |x: &Expr| rewrite(x, f);
    Ok(match e {
        Expr::Binary { op, left, right } => Expr::Binary {
            op: *op,
            left: Box::new(go(left)?),
            right: Box::new(go(right)?),
        },
        Expr::IsDistinctFrom {
            left,
            right,
            negated,
        } => Expr::IsDistinctFrom {
            left: Box::new(go(left)?),
            right: Box::new(go(right)?),
            negated: *negated,
        },
        Expr::Unary { op, expr } => Expr::Unary {
            op: *op,
            expr: Box::new(go(expr)?),
        },
        Expr::IsNull { expr, negated } => Expr::IsNull {
            expr: Box::new(go(expr)?),
            negated: *negated,
        },
        Expr::Cast { expr, ty } => Expr::Cast {
            expr: Box::new(go(expr)?),
            ty: ty.clone(),
        },
        Expr::Dereference { expr, field } => Expr::Dereference {
            expr: Box::new(go(expr)?),
            field: field.clone(),
        },
        Expr::Between {
            expr,
            low,
            high,
            negated,
        } => Expr::Between {
            expr: Box::new(go(expr)?),
            low: Box::new(go(low)?),
            high: Box::new(go(high)?),
            negated: *negated,
        },
        Expr::InList {
            expr,
            list,
            negated,
        } => Expr::InList {
            expr: Box::new(go(expr)?),
            list: list.iter().map(&mut go).collect::<PResult<_>>()?,
            negated: *negated,
        },
        Expr::Like {
            expr,
            pattern,
            escape,
            negated,
        } => Expr::Like {
            expr: Box::new(go(expr)?),
            pattern: Box::new(go(pattern)?),
            escape: *escape,
            negated: *negated,
        },
        Expr::Case {
            operand,
            whens,
            else_result,
        } => Expr::Case {
            operand: operand.as_ref().map(|o| go(o).map(Box::new)).transpose()?,
            whens: whens
                .iter()
                .map(|(w, t)| Ok((go(w)?, go(t)?)))
                .collect::<PResult<_>>()?,
            else_result: else_result
                .as_ref()
                .map(|e| go(e).map(Box::new))
                .transpose()?,
        },
        Expr::Subscript { expr, index } => Expr::Subscript {
            expr: Box::new(go(expr)?),
            index: Box::new(go(index)?),
        },
        Expr::Function {
            name,
            args,
            distinct,
            location,
        } => Expr::Function {
            name: name.clone(),
            args: args.iter().map(&mut go).collect::<PResult<_>>()?,
            distinct: *distinct,
            location: *location,
        },
        Expr::Array(items) => Expr::Array(items.iter().map(&mut go).collect::<PResult<_>>()?),
        Expr::Map(entries) => Expr::Map(
            entries
                .iter()
                .map(|(k, v)| Ok((go(k)?, go(v)?)))
                .collect::<PResult<_>>()?,
        ),
        Expr::Struct(fields) => Expr::Struct(
            fields
                .iter()
                .map(|(n, v)| Ok((n.clone(), go(v)?)))
                .collect::<PResult<_>>()?,
        ),
        other => other.clone(),
    })
}

const GROUP_PREFIX: &str = "KSQL_GRP_";
const AGG_PREFIX: &str = "KSQL_AGG_";

/// Whether an output expression is an aggregate call's result as it is.
pub fn is_aggregate_result(expr: &Compiled, scope: &Scope) -> bool {
    expr.expr
        .downcast_ref::<datafusion::physical_expr::expressions::Column>()
        .and_then(|c| scope.columns.get(c.index()))
        .is_some_and(|c| c.name.starts_with(AGG_PREFIX))
}

fn internal_column(name: String) -> Expr {
    Expr::Column {
        qualifier: None,
        name,
        location: Default::default(),
    }
}

/// Plans an aggregation over one source.
pub fn plan_aggregate(
    query: &Query,
    catalog: &Catalog,
    sink_name: &str,
    properties: &std::collections::BTreeMap<String, String>,
    transient: bool,
) -> PResult<AggregatePlan> {
    let (source, alias, scope, join) = match &query.from {
        Relation::Source { name, alias, .. } => {
            let source = catalog
                .source(name)
                .cloned()
                .ok_or_else(|| invalid(format!("{name} does not exist.")))?;
            let alias = alias.clone().unwrap_or_else(|| name.clone());
            let scope = source_scope(&source, &alias);
            (source, alias, scope, None)
        }
        Relation::Join(_) => {
            // The aggregation reads the join's result: all joined columns, then the result's
            // ROWTIME, ROWPARTITION and ROWOFFSET.
            let (level, inputs) = super::join::plan_join_input(&query.from, catalog)?;
            if level.result_kind() != SourceKind::Stream {
                return Err(PlanError::Unsupported(
                    "Aggregations over table-table joins are not supported yet".to_string(),
                ));
            }
            let mut columns = level.joined.columns.clone();
            for (name, ty) in super::PSEUDO_COLUMNS {
                columns.push(ScopeColumn {
                    name: name.to_string(),
                    source: None,
                    ty: ty.clone(),
                });
            }
            let mut source = inputs[0].0.clone();
            source.kind = SourceKind::Stream;
            source.window = None;
            let alias = source.name.clone();
            (
                source,
                alias,
                Scope::new(columns),
                Some(Box::new(JoinInput { level, inputs })),
            )
        }
    };

    if query.group_by.is_empty() && transient {
        // A transient query aggregates the whole input as one group.
        let mut grouped = query.clone();
        grouped.group_by = vec![Expr::Literal(Literal::Integer("1".to_string()))];
        return plan_aggregate(&grouped, catalog, sink_name, properties, transient);
    }
    if query.group_by.is_empty() {
        let select_exprs = || {
            query.select.iter().filter_map(|s| match s {
                SelectItem::Expr { expr, .. } => Some(expr),
                _ => None,
            })
        };
        // Columns selected outside any aggregate have no group to come from.
        let ungrouped: Vec<String> = select_exprs()
            .filter(|e| {
                let (mut aggregates, mut columns) = (false, false);
                visit(e, &mut |x| {
                    aggregates |= is_aggregate_call(x);
                    columns |= matches!(x, Expr::Column { .. });
                });
                columns && !aggregates
            })
            .map(expr_to_sql)
            .collect();
        if !ungrouped.is_empty() {
            return Err(invalid(format!(
                "Non-aggregate SELECT expression(s) not part of GROUP BY: {}\nEither add the column(s) to the GROUP BY or remove them from the SELECT.",
                ungrouped.join(", ")
            )));
        }
        let calls: Vec<String> = select_exprs()
            .flat_map(|e| {
                let mut found = Vec::new();
                visit(e, &mut |x| {
                    if is_aggregate_call(x) {
                        found.push(display_call(x));
                    }
                });
                found
            })
            .collect();
        return Err(invalid(format!(
            "CREATE TABLE AS SELECT statement does not support aggregate function [{}] without a GROUP BY clause.",
            calls.join(", ")
        )));
    }

    if source.value_format.kind == crate::format::FormatKind::Kafka {
        return Err(invalid(format!(
            "Source(s) {} are using the 'KAFKA' value format. This format does not yet support GROUP BY.",
            source.name
        )));
    }
    // Every function called must exist (otherwise its columns would read as ungrouped).
    let mut unknown = None;
    for item in &query.select {
        if let SelectItem::Expr { expr, .. } = item {
            visit(expr, &mut |x| {
                if let Expr::Function { name, .. } = x
                    && unknown.is_none()
                    && !aggregate::is_aggregate(name)
                    && crate::functions::FunctionRegistry::global()
                        .scalar(name)
                        .is_none()
                    && crate::functions::table::lookup(name).is_none()
                    && !matches!(
                        name.to_uppercase().as_str(),
                        "TRANSFORM" | "FILTER" | "REDUCE"
                    )
                {
                    unknown = Some(name.clone());
                }
            });
        }
    }
    if let Some(name) = unknown {
        return Err(invalid(format!(
            "Can't find any functions with the name '{name}'"
        )));
    }

    // Window bounds are columns of a windowed aggregation's result, not of its input.
    let bound_in = |exprs: &mut dyn Iterator<Item = &Expr>| {
        let mut found = None;
        for e in exprs {
            visit(e, &mut |x| {
                if let Expr::Column {
                    qualifier: None,
                    name,
                    ..
                } = x
                    && found.is_none()
                    && matches!(name.as_str(), "WINDOWSTART" | "WINDOWEND")
                    && !scope.columns.iter().any(|c| &c.name == name)
                {
                    found = Some(name.clone());
                }
            });
        }
        found
    };
    if query.window.is_some()
        && let Some(name) = bound_in(&mut query.where_clause.iter())
    {
        return Err(invalid(format!(
            "Error in WHERE expression: Unknown column {name}."
        )));
    }
    let filter = match &query.where_clause {
        Some(w) => Some(
            ExprCompiler::new(&scope, Clause::Where)
                .compile(w)
                .map_err(|e| match e {
                    PlanError::Invalid(m) if !m.contains("cannot be resolved") => {
                        let m = if join.is_some() {
                            super::join::joined_names(&m, w)
                        } else {
                            m
                        };
                        invalid(format!("Error in WHERE expression: {m}"))
                    }
                    other => other,
                })?,
        ),
        None => None,
    };

    // As in ksqlDB, a windowed aggregation of a join does not offer its window bounds.
    if query.window.is_some() && join.is_some() {
        let mut selected = query.select.iter().filter_map(|item| match item {
            SelectItem::Expr { expr, .. } => Some(expr),
            _ => None,
        });
        if let Some(name) = bound_in(&mut selected) {
            return Err(invalid(format!(
                "SELECT column '{name}' cannot be resolved."
            )));
        }
    }
    if query.window.is_some() {
        let bound = bound_in(&mut query.group_by.iter().chain(query.having.as_ref()));
        if let Some(name) = bound {
            return Err(invalid(format!(
                "Window bounds column {name} can only be used in the SELECT clause of windowed aggregations"
            )));
        }
    } else if bound_in(&mut query.group_by.iter()).is_some() {
        let selected = query.select.iter().find_map(|item| match item {
            SelectItem::Expr {
                expr: Expr::Column { name, .. },
                alias: None,
            } if matches!(name.as_str(), "WINDOWSTART" | "WINDOWEND") => Some(name),
            _ => None,
        });
        if let Some(name) = selected {
            return Err(invalid(format!(
                "Reserved column name in select: `{name}`. Please remove or alias the column."
            )));
        }
    }

    // GROUP BY expressions, deduplicated.
    let mut group_exprs: Vec<Expr> = Vec::new();
    for g in &query.group_by {
        let mut aggregate_name = None;
        visit(g, &mut |x| {
            if is_aggregate_call(x) && aggregate_name.is_none() {
                aggregate_name = Some(match x {
                    Expr::Function { name, .. } => name.to_uppercase(),
                    _ => "COUNT".to_string(),
                });
            }
        });
        if let Some(name) = aggregate_name {
            return Err(invalid(format!(
                "GROUP BY does not support aggregate functions: {name} is an aggregate function."
            )));
        }
        if group_exprs.iter().any(|x| same_expr(x, g)) {
            let shown = match g {
                Expr::Column { name, .. } => format!("{alias}.{name}"),
                other => expr_to_sql(other),
            };
            return Err(invalid(format!("Duplicate GROUP BY expression: {shown}")));
        }
        group_exprs.push(g.clone());
    }
    let group_by = group_exprs
        .iter()
        .map(|g| ExprCompiler::new(&scope, Clause::GroupBy).compile(g))
        .collect::<PResult<Vec<_>>>()?;

    // Aggregate calls, from the select list and HAVING.
    let mut calls: Vec<(Expr, AggregateCall)> = Vec::new();
    let mut collect = |e: &Expr| -> PResult<()> {
        let mut found = Vec::new();
        visit(e, &mut |x| {
            if is_aggregate_call(x) {
                found.push(x.clone());
            }
        });
        for call in found {
            if calls.iter().any(|(c, _)| same_expr(c, &call)) {
                continue;
            }
            let planned = plan_call(&call, &scope, &source, properties)?;
            calls.push((call, planned));
        }
        Ok(())
    };
    for item in &query.select {
        if let SelectItem::Expr { expr, .. } = item {
            collect(expr)?;
        }
    }
    if let Some(h) = &query.having {
        collect(h)?;
    }
    if calls.is_empty() {
        return Err(invalid(
            "GROUP BY requires aggregate functions in either the SELECT or HAVING clause.",
        ));
    }
    if source.kind == SourceKind::Table {
        let not_undoable: Vec<&str> = calls
            .iter()
            .filter(|(_, c)| !c.function.supports_undo)
            .map(|(_, c)| c.function.name)
            .collect();
        if !not_undoable.is_empty() {
            let listed = match not_undoable.as_slice() {
                [one] => one.to_string(),
                [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
                [] => String::new(),
            };
            return Err(invalid(format!(
                "The aggregation function{} {listed} cannot be applied to a table source, only to a stream source.",
                if not_undoable.len() > 1 { "s" } else { "" }
            )));
        }
    }

    // The aggregate scope.
    let mut columns = Vec::new();
    for (i, g) in group_by.iter().enumerate() {
        columns.push(ScopeColumn {
            name: format!("{GROUP_PREFIX}{i}"),
            source: None,
            ty: g.sql_type(),
        });
    }
    for (i, (_, c)) in calls.iter().enumerate() {
        columns.push(ScopeColumn {
            name: format!("{AGG_PREFIX}{i}"),
            source: None,
            ty: c.signature.returns.clone(),
        });
    }
    columns.push(ScopeColumn {
        name: "ROWTIME".to_string(),
        source: None,
        ty: SqlType::Bigint,
    });
    if query.window.is_some() {
        for name in ["WINDOWSTART", "WINDOWEND"] {
            columns.push(ScopeColumn {
                name: name.to_string(),
                source: None,
                ty: SqlType::Bigint,
            });
        }
    }
    let aggregate_scope = Scope::new(columns);

    // Rewrites an expression onto the aggregate scope.
    let windowed = query.window.is_some();
    let onto_aggregates = |e: &Expr, clause: &str| -> PResult<Expr> {
        rewrite(e, &mut |x| {
            if let Some(i) = group_exprs.iter().position(|g| same_expr(g, x)) {
                return Ok(Some(internal_column(format!("{GROUP_PREFIX}{i}"))));
            }
            if is_aggregate_call(x) {
                let i = calls
                    .iter()
                    .position(|(c, _)| same_expr(c, x))
                    .ok_or_else(|| PlanError::Internal("aggregate call not planned".into()))?;
                return Ok(Some(internal_column(format!("{AGG_PREFIX}{i}"))));
            }
            if let Expr::Column { name, .. } = x {
                if windowed && matches!(name.as_str(), "WINDOWSTART" | "WINDOWEND") {
                    return Ok(Some(internal_column(name.clone())));
                }
                let which = if clause == "HAVING" {
                    "HAVING expression"
                } else {
                    "SELECT expression(s)"
                };
                return Err(invalid(format!(
                    "Non-aggregate {which} not part of GROUP BY: {}",
                    expr_to_sql(x)
                )));
            }
            Ok(None)
        })
    };

    // Every select item must be built from GROUP BY expressions and aggregates.
    let ungrouped: Vec<String> = query
        .select
        .iter()
        .filter_map(|item| match item {
            SelectItem::Expr { expr, .. } => Some(expr),
            _ => None,
        })
        .filter(|expr| onto_aggregates(expr, "SELECT").is_err())
        .map(expr_to_sql)
        .collect();
    if !ungrouped.is_empty() {
        return Err(invalid(format!(
            "Non-aggregate SELECT expression(s) not part of GROUP BY: {}\nEither add the column(s) to the GROUP BY or remove them from the SELECT.",
            ungrouped.join(", ")
        )));
    }

    let having = match &query.having {
        Some(h) => {
            let rewritten = onto_aggregates(h, "HAVING")?;
            let c = ExprCompiler::new(&aggregate_scope, Clause::Having)
                .compile(&rewritten)
                .map_err(|e| match e {
                    PlanError::Invalid(m) => {
                        let m = undo_internal_names(&m, &group_exprs, &calls);
                        let m = if join.is_some() {
                            super::join::joined_names(&m, h)
                        } else {
                            m
                        };
                        invalid(format!("Error in HAVING expression: {m}"))
                    }
                    other => other,
                })?;
            Some(c)
        }
        None => None,
    };

    let outputs = project_aggregate(
        query,
        &source,
        &alias,
        sink_name,
        &group_exprs,
        &aggregate_scope,
        &onto_aggregates,
        transient,
    )?;

    Ok(AggregatePlan {
        source,
        scope,
        filter,
        group_by,
        aggregates: calls.into_iter().map(|(_, c)| c).collect(),
        window: query.window.clone(),
        aggregate_scope,
        having,
        outputs,
        emit: query.emit,
        join,
    })
}

/// Puts the user's expressions back into messages that mention internal columns.
fn undo_internal_names(message: &str, groups: &[Expr], calls: &[(Expr, AggregateCall)]) -> String {
    let mut m = message.to_string();
    for (i, (_, c)) in calls.iter().enumerate().rev() {
        m = m.replace(&format!("{AGG_PREFIX}{i}"), &c.display);
    }
    for (i, g) in groups.iter().enumerate().rev() {
        m = m.replace(&format!("{GROUP_PREFIX}{i}"), &expr_to_sql(g));
    }
    m
}

/// `COUNT(*)` as ksqlDB displays it: `COUNT(ROWTIME)`.
fn display_call(e: &Expr) -> String {
    match e {
        Expr::CountStar { .. } => "COUNT(ROWTIME)".to_string(),
        Expr::Function { name, args, .. }
            if args.is_empty() && name.eq_ignore_ascii_case("COUNT") =>
        {
            "COUNT(ROWTIME)".to_string()
        }
        other => expr_to_sql(other),
    }
}

fn literal_value(e: &Expr) -> Option<(ScalarValue, SqlType)> {
    match e {
        Expr::Literal(Literal::Integer(n)) => match n.parse::<i32>() {
            Ok(i) => Some((ScalarValue::Int32(Some(i)), SqlType::Int)),
            Err(_) => n
                .parse::<i64>()
                .ok()
                .map(|i| (ScalarValue::Int64(Some(i)), SqlType::Bigint)),
        },
        Expr::Literal(Literal::Boolean(b)) => {
            Some((ScalarValue::Boolean(Some(*b)), SqlType::Boolean))
        }
        Expr::Literal(Literal::String(s)) => {
            Some((ScalarValue::Utf8(Some(s.clone())), SqlType::String))
        }
        Expr::Literal(Literal::Double(d)) => d
            .parse::<f64>()
            .ok()
            .map(|v| (ScalarValue::Float64(Some(v)), SqlType::Double)),
        _ => None,
    }
}

fn plan_call(
    call: &Expr,
    scope: &Scope,
    source: &Source,
    properties: &std::collections::BTreeMap<String, String>,
) -> PResult<AggregateCall> {
    // The aggregation's state is kept in the source's value format.
    let value_format = source.value_format.kind;
    let (name, args): (String, Vec<Expr>) = match call {
        Expr::CountStar { .. } => ("COUNT".to_string(), Vec::new()),
        Expr::Function { name, args, .. } => (name.clone(), args.clone()),
        _ => return Err(PlanError::Internal("not an aggregate call".into())),
    };
    let function = aggregate::lookup(&name)
        .ok_or_else(|| invalid(format!("Can't find any functions with the name '{name}'")))?;
    for a in &args {
        if contains_aggregate(a) {
            return Err(invalid(format!(
                "Aggregate functions can not be nested: {}",
                expr_to_sql(call)
            )));
        }
    }
    let compiler = ExprCompiler::new(scope, Clause::Select);
    // Try the most constant arguments first: TOPK(col, 3) takes 3 as a constant.
    let mut counts = function.literal_counts();
    counts.sort_unstable_by(|a, b| b.cmp(a));
    let mut last_types = Vec::new();
    for n in counts {
        if n > args.len() {
            continue;
        }
        let (column_args, literal_args) = args.split_at(args.len() - n);
        let Some(literals) = literal_args
            .iter()
            .map(literal_value)
            .collect::<Option<Vec<_>>>()
        else {
            continue;
        };
        let compiled = column_args
            .iter()
            .map(|a| compiler.compile(a))
            .collect::<PResult<Vec<_>>>()?;
        let types: Vec<Option<SqlType>> = compiled.iter().map(|c| c.ty.clone()).collect();
        let literal_types: Vec<Option<SqlType>> =
            literals.iter().map(|(_, t)| Some(t.clone())).collect();
        last_types = types.iter().chain(literal_types.iter()).cloned().collect();
        if let Some((signature, factory)) = function.resolve(&types, &literal_types) {
            let args = compiled
                .into_iter()
                .zip(&signature.params)
                .map(|(c, t)| compiler.cast(c, t))
                .collect();
            let display = display_call(call);
            // Check the accumulator can be created with these constants.
            let context = aggregate::AggregateContext {
                signature: signature.clone(),
                literals: literals.iter().map(|(v, _)| v.clone()).collect(),
                properties: properties.clone(),
            };
            factory(&context).map_err(invalid)?;
            if value_format == crate::format::FormatKind::Delimited
                && !function.intermediate_type(&signature).is_primitive()
            {
                return Err(invalid(
                    "One of the functions used in the statement has an intermediate type that the value format can not handle. Please remove the function or change the format.",
                ));
            }
            return Ok(AggregateCall {
                function,
                args,
                literals: context.literals,
                signature,
                factory,
                display,
            });
        }
    }
    // An overload taking trailing constants was called with an expression in their place.
    for n in function.literal_counts() {
        if n == 0 || n >= args.len() {
            continue;
        }
        let first_literal = args.len() - n;
        if let Some((i, arg)) = args
            .iter()
            .enumerate()
            .skip(first_literal)
            .find(|(_, a)| literal_value(a).is_none())
        {
            return Err(invalid(format!(
                "Parameter {} passed to function {} must be a literal constant, but was expression: '{}'",
                i + 1,
                name.to_uppercase(),
                expr_to_sql(arg)
            )));
        }
    }
    let shown = last_types
        .iter()
        .map(|t| {
            t.as_ref()
                .map(|t| t.to_string())
                .unwrap_or_else(|| "NULL".into())
        })
        .collect::<Vec<_>>()
        .join(", ");
    Err(invalid(format!(
        "Function '{}' does not accept parameters ({shown}).",
        name.to_lowercase()
    )))
}

/// Output columns of an aggregation: the select items, rewritten onto the aggregate scope;
/// those that are GROUP BY expressions are the key.
// The planner's context is passed piecewise so each piece stays borrowed, not cloned.
#[allow(clippy::too_many_arguments)]
fn project_aggregate(
    query: &Query,
    source: &Source,
    alias: &str,
    sink_name: &str,
    group_exprs: &[Expr],
    aggregate_scope: &Scope,
    onto_aggregates: &dyn Fn(&Expr, &str) -> PResult<Expr>,
    transient: bool,
) -> PResult<Vec<OutputColumn>> {
    struct Item {
        name: String,
        expr: Expr,
        aliased: bool,
    }
    let mut items: Vec<Item> = Vec::new();
    let mut generated = 0usize;
    for s in &query.select {
        match s {
            SelectItem::Wildcard | SelectItem::QualifiedWildcard(_) => {
                for c in &source.schema.columns {
                    items.push(Item {
                        name: c.name.clone(),
                        expr: Expr::Column {
                            qualifier: Some(alias.to_string()),
                            name: c.name.clone(),
                            location: Default::default(),
                        },
                        aliased: false,
                    });
                }
            }
            SelectItem::Expr { expr, alias: a } => {
                let (name, aliased) = match (a, derived_name(expr)) {
                    (Some(a), _) => (a.clone(), true),
                    (None, Some(n)) => (n, false),
                    (None, None) => {
                        let n = loop {
                            let candidate = format!("KSQL_COL_{generated}");
                            generated += 1;
                            if !items.iter().any(|i| i.name == candidate)
                                && source.schema.find(&candidate).is_none()
                            {
                                break candidate;
                            }
                        };
                        (n, false)
                    }
                };
                items.push(Item {
                    name,
                    expr: expr.clone(),
                    aliased,
                });
            }
        }
    }
    for item in &items {
        super::check_reserved_name(&item.name, item.aliased)?;
    }

    // Keys: the items that are GROUP BY expressions, in GROUP BY order.
    let mut key_of_group: Vec<Option<usize>> = vec![None; group_exprs.len()];
    for (i, item) in items.iter().enumerate() {
        if let Some(g) = group_exprs.iter().position(|g| same_expr(g, &item.expr)) {
            if let Some(first) = key_of_group[g] {
                return Err(invalid(format!(
                    "The projection contains a key column more than once: `{}` and `{}`.",
                    items[first].name, item.name
                )));
            }
            key_of_group[g] = Some(i);
        }
    }
    let missing: Vec<String> = group_exprs
        .iter()
        .zip(&key_of_group)
        .filter(|(_, k)| k.is_none())
        .map(|(g, _)| expr_to_sql(g))
        .collect();
    if !missing.is_empty() && !transient {
        let listed = match missing.as_slice() {
            [one] => one.clone(),
            [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
            [] => String::new(),
        };
        return Err(invalid(format!(
            "The query used to build `{sink_name}` must include the grouping expression{} {listed} in its projection (eg, SELECT {}...).",
            if missing.len() > 1 { "s" } else { "" },
            missing.join(", ")
        )));
    }

    let compiler = ExprCompiler::new(aggregate_scope, Clause::Select);
    let mut outputs = Vec::with_capacity(items.len());
    for i in key_of_group.iter().flatten() {
        let item = &items[*i];
        let rewritten = onto_aggregates(&item.expr, "SELECT")?;
        outputs.push(OutputColumn {
            name: item.name.clone(),
            kind: ColumnKind::Key,
            expr: compiler.compile(&rewritten)?,
            position: *i,
        });
    }
    for (i, item) in items.iter().enumerate() {
        if key_of_group.contains(&Some(i)) {
            continue;
        }
        let rewritten = onto_aggregates(&item.expr, "SELECT")?;
        outputs.push(OutputColumn {
            name: item.name.clone(),
            kind: ColumnKind::Value,
            expr: compiler.compile(&rewritten)?,
            position: i,
        });
    }
    if !transient && !outputs.iter().any(|o| o.kind == ColumnKind::Value) {
        return Err(invalid("The projection contains no value columns."));
    }
    Ok(outputs)
}
