//! Planning: a query resolved against the catalog, its expressions compiled to DataFusion, and
//! its output schema decided by ksqlDB's rules (which columns are keys, how they are named).

pub mod aggregate;
pub mod coerce;
pub mod expr;
pub mod join;

use thiserror::Error;

use crate::catalog::{Catalog, Source};
use crate::sql::ast::{Expr, Literal, Query, Relation, SelectItem, SourceKind};
use crate::sql::display::expr_to_sql;
use crate::types::{Column, ColumnKind, Schema, SqlType};
use expr::{Clause, Compiled, ExprCompiler, Scope, ScopeColumn};

/// Why a query can't be planned.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum PlanError {
    /// The user's query is wrong.
    #[error("{0}")]
    Invalid(String),
    /// The query is valid ksqlDB but Sluice can't run it yet.
    #[error("{0}")]
    Unsupported(String),
    /// A bug in Sluice.
    #[error("Internal error, please report: {0}")]
    Internal(String),
}

type PResult<T> = Result<T, PlanError>;

/// Pseudo columns every source offers, with their types.
pub const PSEUDO_COLUMNS: &[(&str, SqlType)] = &[
    ("ROWTIME", SqlType::Bigint),
    ("ROWPARTITION", SqlType::Int),
    ("ROWOFFSET", SqlType::Bigint),
];

/// Names no projection may produce.
pub const RESERVED_COLUMN_NAMES: &[&str] = &[
    "ROWTIME",
    "ROWPARTITION",
    "ROWOFFSET",
    "WINDOWSTART",
    "WINDOWEND",
];

/// The scope of a single source: its columns, then the pseudo columns.
pub fn source_scope(source: &Source, alias: &str) -> Scope {
    let mut columns: Vec<ScopeColumn> = source
        .schema
        .columns
        .iter()
        .map(|c| ScopeColumn {
            name: c.name.clone(),
            source: Some(alias.to_string()),
            ty: c.ty.clone(),
        })
        .collect();
    columns.extend(pseudo_columns(source, alias));
    Scope::new(columns)
}

/// The pseudo columns of a source: WINDOWSTART and WINDOWEND for windowed sources, then
/// ROWTIME, ROWPARTITION and ROWOFFSET (always the last three columns of a source's scope).
pub fn pseudo_columns(source: &Source, alias: &str) -> Vec<ScopeColumn> {
    let mut columns = Vec::new();
    if source.window.is_some() {
        for name in ["WINDOWSTART", "WINDOWEND"] {
            columns.push(ScopeColumn {
                name: name.to_string(),
                source: Some(alias.to_string()),
                ty: SqlType::Bigint,
            });
        }
    }
    for (name, ty) in PSEUDO_COLUMNS {
        columns.push(ScopeColumn {
            name: name.to_string(),
            source: Some(alias.to_string()),
            ty: ty.clone(),
        });
    }
    columns
}

/// One column a query writes.
#[derive(Debug, Clone)]
pub struct OutputColumn {
    pub name: String,
    pub kind: ColumnKind,
    pub expr: Compiled,
    /// The column's place in the SELECT list (outputs are ordered keys first).
    pub position: usize,
}

/// A stateless query: source → filter → projection (with re-keying) → sink.
#[derive(Debug, Clone)]
pub struct StatelessPlan {
    pub source: Source,
    pub scope: Scope,
    pub filter: Option<Compiled>,
    /// Key columns first, then value columns.
    pub outputs: Vec<OutputColumn>,
    /// Whether the query computes new keys (PARTITION BY) rather than passing keys through.
    pub rekeyed: bool,
    /// Table functions in the projection; the outputs are compiled on their scope.
    pub table_functions: TableFunctionCalls,
}

/// One table function call: its function, arguments (on the source scope) and signature.
#[derive(Debug, Clone)]
pub struct TableFunctionCall {
    pub name: String,
    pub args: Vec<Compiled>,
    pub signature: crate::functions::registry::Signature,
    pub expand: crate::functions::table::Expand,
    /// The call as written, to find it in the projection.
    pub call: Expr,
}

/// The table functions of a query and the scope of the expanded rows: the source's columns,
/// then one column per call (`KSQL_TF_n`).
#[derive(Debug, Clone)]
pub struct TableFunctionCalls {
    pub calls: Vec<TableFunctionCall>,
    pub scope: Scope,
}

const TABLE_FUNCTION_PREFIX: &str = "KSQL_TF_";

impl TableFunctionCalls {
    fn plan(query: &Query, scope: &Scope) -> PResult<TableFunctionCalls> {
        let mut found: Vec<Expr> = Vec::new();
        for item in &query.select {
            if let SelectItem::Expr { expr, .. } = item {
                aggregate::visit(expr, &mut |e| {
                    if let Expr::Function { name, .. } = e
                        && crate::functions::table::lookup(name).is_some()
                        && !found.iter().any(|f| same_expr(f, e))
                    {
                        found.push(e.clone());
                    }
                });
            }
        }
        let mut calls = Vec::with_capacity(found.len());
        let mut columns = scope.columns.clone();
        for (i, call) in found.into_iter().enumerate() {
            let Expr::Function { name, args, .. } = &call else {
                continue;
            };
            let Some(function) = crate::functions::table::lookup(name) else {
                continue;
            };
            let compiler = ExprCompiler::new(scope, Clause::Select);
            let compiled = args
                .iter()
                .map(|a| compiler.compile(a))
                .collect::<PResult<Vec<_>>>()?;
            let types: Vec<Option<SqlType>> = compiled.iter().map(|c| c.ty.clone()).collect();
            let Some((signature, expand)) = function.resolve(&types) else {
                let shown = types
                    .iter()
                    .map(|t| {
                        t.as_ref()
                            .map(|t| t.to_string())
                            .unwrap_or_else(|| "null".into())
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(PlanError::Invalid(format!(
                    "Function '{}' does not accept parameters ({shown}).\nValid alternatives are:\n{}",
                    name.to_lowercase(),
                    function.alternatives().join("\n")
                )));
            };
            let args = compiled
                .into_iter()
                .zip(&signature.params)
                .map(|(c, t)| compiler.cast(c, t))
                .collect();
            columns.push(expr::ScopeColumn {
                name: format!("{TABLE_FUNCTION_PREFIX}{i}"),
                source: None,
                ty: signature.returns.clone(),
            });
            calls.push(TableFunctionCall {
                name: function.name.to_string(),
                args,
                signature,
                expand,
                call,
            });
        }
        Ok(TableFunctionCalls {
            calls,
            scope: Scope::new(columns),
        })
    }

    /// The expression with each table function call replaced by its column.
    fn rewrite(&self, e: &Expr) -> Expr {
        if self.calls.is_empty() {
            return e.clone();
        }
        aggregate::rewrite(e, &mut |x| {
            Ok(self
                .calls
                .iter()
                .position(|c| same_expr(&c.call, x))
                .map(|i| Expr::Column {
                    qualifier: None,
                    name: format!("{TABLE_FUNCTION_PREFIX}{i}"),
                    location: Default::default(),
                }))
        })
        .unwrap_or_else(|_| e.clone())
    }
}

impl StatelessPlan {
    /// The schema of what the query writes.
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

/// A planned persistent query.
#[derive(Debug, Clone)]
pub enum QueryPlan {
    Stateless(StatelessPlan),
    Aggregate(aggregate::AggregatePlan),
    Join(Box<join::JoinPlan>),
}

impl QueryPlan {
    /// The sources the query reads, with the scope each is decoded into.
    pub fn inputs(&self) -> Vec<(Source, Scope)> {
        match self {
            QueryPlan::Stateless(p) => vec![(p.source.clone(), p.scope.clone())],
            QueryPlan::Aggregate(p) => match &p.join {
                Some(join) => join.inputs.clone(),
                None => vec![(p.source.clone(), p.scope.clone())],
            },
            QueryPlan::Join(p) => p.inputs.clone(),
        }
    }

    /// The join sides that must have equal partition counts (see
    /// [`join::JoinLevel::co_partitioned`]); none when the query reads no join.
    pub fn co_partitioned(&self) -> Vec<[(String, String); 2]> {
        match self {
            QueryPlan::Stateless(_) => Vec::new(),
            QueryPlan::Aggregate(p) => p
                .join
                .as_ref()
                .map(|j| j.level.co_partitioned())
                .unwrap_or_default(),
            QueryPlan::Join(p) => p.top.co_partitioned(),
        }
    }

    /// Whether every partition of the inputs can be processed on its own: the query keeps no
    /// state, or keys its state by what its inputs are partitioned by (an aggregation grouped
    /// by exactly its source's key, a join of two sources on their keys).
    pub fn partitionable(&self) -> bool {
        match self {
            QueryPlan::Stateless(_) => true,
            QueryPlan::Aggregate(p) => {
                let keys = p.source.schema.key_columns().count();
                let mut grouped: Vec<usize> = p
                    .group_by
                    .iter()
                    .filter_map(|g| key_column(g, &p.source))
                    .collect();
                grouped.sort_unstable();
                grouped.dedup();
                p.join.is_none() && keys > 0 && grouped.len() == keys && p.group_by.len() == keys
            }
            QueryPlan::Join(p) => {
                let level = &p.top;
                let join::JoinLeft::Source { source, .. } = &level.left else {
                    return false;
                };
                level.kind != join::JoinKind::ForeignKey
                    && !p.rekeyed
                    && key_column(&level.left_key, source).is_some()
                    && key_column(&level.right.key, &level.right.source).is_some()
            }
        }
    }

    /// Per value column of the result: whether it is an aggregate's result, whose decimals
    /// ksqlDB writes at their full scale (they come out of the aggregation's state).
    pub fn exact_scale_values(&self) -> Vec<bool> {
        let QueryPlan::Aggregate(p) = self else {
            return Vec::new();
        };
        p.outputs
            .iter()
            .filter(|o| o.kind == ColumnKind::Value)
            .map(|o| aggregate::is_aggregate_result(&o.expr, &p.aggregate_scope))
            .collect()
    }

    /// The first (left) source.
    pub fn source(&self) -> &Source {
        match self {
            QueryPlan::Stateless(p) => &p.source,
            QueryPlan::Aggregate(p) => &p.source,
            QueryPlan::Join(p) => &p.inputs[0].0,
        }
    }

    pub fn output_schema(&self) -> Schema {
        match self {
            QueryPlan::Stateless(p) => p.output_schema(),
            QueryPlan::Aggregate(p) => p.output_schema(),
            QueryPlan::Join(p) => p.output_schema(),
        }
    }

    /// What the query produces: aggregations produce tables; otherwise the source's kind.
    pub fn result_kind(&self) -> SourceKind {
        match self {
            QueryPlan::Stateless(p) => p.source.kind,
            QueryPlan::Aggregate(_) => SourceKind::Table,
            QueryPlan::Join(p) => p.result_kind(),
        }
    }

    /// The window of the result's keys.
    pub fn window(&self) -> Option<crate::catalog::WindowInfo> {
        match self {
            QueryPlan::Stateless(p) => p.source.window,
            QueryPlan::Join(p) => p.top.windowed,
            QueryPlan::Aggregate(p) => p.window.as_ref().map(|w| crate::catalog::WindowInfo {
                window_type: w.window_type,
                size_ms: match w.window_type {
                    crate::sql::ast::WindowType::Session => None,
                    _ => Some(w.size_ms),
                },
            }),
        }
    }
}

/// Plans a query: an aggregation or a stateless transformation.
pub fn plan_query(
    query: &Query,
    catalog: &Catalog,
    sink_name: &str,
    properties: &std::collections::BTreeMap<String, String>,
) -> PResult<QueryPlan> {
    plan_query_with(query, catalog, sink_name, properties, false)
}

/// Plans a query; a `transient` query (push or pull) writes no topic, so its projection need
/// not carry the key.
pub fn plan_query_with(
    query: &Query,
    catalog: &Catalog,
    sink_name: &str,
    properties: &std::collections::BTreeMap<String, String>,
    transient: bool,
) -> PResult<QueryPlan> {
    let plan = plan_query_shape(query, catalog, sink_name, properties, transient)?;
    for (source, _) in plan.inputs() {
        refuse_wide_decimals(&source.schema, &source.name)?;
    }
    refuse_wide_decimals(&plan.output_schema(), sink_name)?;
    Ok(plan)
}

/// Refuses a schema with a DECIMAL wider than Sluice computes with: it plans, so that type
/// errors read as ksqlDB's, but its values cannot be read or written yet.
pub fn refuse_wide_decimals(schema: &Schema, source: &str) -> PResult<()> {
    for column in &schema.columns {
        if let Some(wide) = column.ty.wide_decimal() {
            return Err(PlanError::Unsupported(format!(
                "{wide} is not supported yet: DECIMAL values are limited to {} digits \
                 (column `{}` of `{source}`).",
                crate::types::MAX_DECIMAL_PRECISION,
                column.name
            )));
        }
    }
    Ok(())
}

fn plan_query_shape(
    query: &Query,
    catalog: &Catalog,
    sink_name: &str,
    properties: &std::collections::BTreeMap<String, String>,
    transient: bool,
) -> PResult<QueryPlan> {
    if query.emit == Some(crate::sql::ast::Emit::Final)
        && !(aggregate::is_aggregation(query) && query.window.is_some())
    {
        return Err(PlanError::Invalid(
            "EMIT FINAL is only supported for windowed aggregations.".to_string(),
        ));
    }
    if let Relation::Source { name, .. } = &query.from
        && !transient
        && catalog
            .source(name)
            .is_some_and(|s| s.kind == SourceKind::Table && s.window.is_some())
    {
        return Err(PlanError::Invalid(
            "KSQL does not support persistent queries on windowed tables.".to_string(),
        ));
    }
    if matches!(query.from, Relation::Join(_)) && !aggregate::is_aggregation(query) {
        return join::plan_join(query, catalog, sink_name, transient)
            .map(|p| QueryPlan::Join(Box::new(p)));
    }
    if aggregate::is_aggregation(query) {
        return aggregate::plan_aggregate(query, catalog, sink_name, properties, transient)
            .map(QueryPlan::Aggregate);
    }
    plan_stateless_with(query, catalog, sink_name, transient).map(QueryPlan::Stateless)
}

/// The source key column an expression reads as it is, if it is one.
fn key_column(expr: &expr::Compiled, source: &Source) -> Option<usize> {
    let column = expr
        .expr
        .downcast_ref::<datafusion::physical_expr::expressions::Column>()?;
    let index = column.index();
    (source.schema.columns.get(index)?.kind == ColumnKind::Key).then_some(index)
}

/// Refuses a projected column that takes a reserved name (ROWTIME, WINDOWSTART, …), in
/// ksqlDB's words for an alias and for a bare column.
pub(crate) fn check_reserved_name(name: &str, aliased: bool) -> PResult<()> {
    if !RESERVED_COLUMN_NAMES.contains(&name) {
        return Ok(());
    }
    Err(PlanError::Invalid(if aliased {
        format!("`{name}` is a reserved column name. You cannot use it as an alias for a column.")
    } else {
        format!("Reserved column name in select: `{name}`. Please remove or alias the column.")
    }))
}

/// Plans a query that reads one source and needs no state.
pub fn plan_stateless(query: &Query, catalog: &Catalog, sink_name: &str) -> PResult<StatelessPlan> {
    plan_stateless_with(query, catalog, sink_name, false)
}

fn plan_stateless_with(
    query: &Query,
    catalog: &Catalog,
    sink_name: &str,
    transient: bool,
) -> PResult<StatelessPlan> {
    let (source_name, alias) = match &query.from {
        Relation::Source { name, alias, .. } => (name.clone(), alias.clone()),
        Relation::Join(_) => {
            return Err(PlanError::Unsupported(
                "Joins are not supported yet".to_string(),
            ));
        }
    };
    let source = catalog
        .source(&source_name)
        .cloned()
        .ok_or_else(|| PlanError::Invalid(format!("{source_name} does not exist.")))?;
    if query.window.is_some() {
        return Err(PlanError::Unsupported(
            "Windowed aggregations are not supported yet".to_string(),
        ));
    }
    if !query.group_by.is_empty() || query.having.is_some() {
        return Err(PlanError::Unsupported(
            "GROUP BY aggregations are not supported yet".to_string(),
        ));
    }
    let alias = alias.unwrap_or_else(|| source_name.clone());
    let scope = source_scope(&source, &alias);

    let filter = match &query.where_clause {
        Some(w) => {
            let c = ExprCompiler::new(&scope, Clause::Where)
                .compile(w)
                .map_err(|e| match e {
                    PlanError::Invalid(m) if !m.contains("cannot be resolved") => {
                        PlanError::Invalid(format!("Error in WHERE expression: {m}"))
                    }
                    other => other,
                })?;
            match c.ty {
                Some(SqlType::Boolean) | None => Some(c),
                Some(t) => {
                    return Err(PlanError::Invalid(format!(
                        "Type error in WHERE expression: Should evaluate to boolean but is {} ({t}) instead.",
                        expr_to_sql(w)
                    )));
                }
            }
        }
        None => None,
    };

    let table_functions = TableFunctionCalls::plan(query, &scope)?;
    let outputs = project(
        query,
        &source,
        &scope,
        &alias,
        sink_name,
        &table_functions,
        transient,
    )?;
    Ok(StatelessPlan {
        source,
        scope,
        filter,
        outputs,
        rekeyed: !query.partition_by.is_empty(),
        table_functions,
    })
}

/// A select item with its expression resolved and its output name decided.
struct NamedItem {
    name: String,
    expr: Expr,
    aliased: bool,
}

fn column_ref(name: &str, alias: &str) -> Expr {
    Expr::Column {
        qualifier: Some(alias.to_string()),
        name: name.to_string(),
        location: Default::default(),
    }
}

/// The name ksqlDB derives for an unaliased select expression, if it derives one.
pub(crate) fn derived_name(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Column { name, .. } => Some(name.clone()),
        Expr::Dereference { field, .. } => Some(field.clone()),
        _ => None,
    }
}

/// Structural equality of expressions, ignoring source positions and qualifiers.
pub(crate) fn same_expr(a: &Expr, b: &Expr) -> bool {
    strip(a) == strip(b)
}

fn strip(e: &Expr) -> String {
    fn unqualify(e: &Expr) -> Expr {
        match e {
            Expr::Column { name, .. } => Expr::Column {
                qualifier: None,
                name: name.clone(),
                location: Default::default(),
            },
            Expr::Dereference { expr, field } => Expr::Dereference {
                expr: Box::new(unqualify(expr)),
                field: field.clone(),
            },
            Expr::Function {
                name,
                args,
                distinct,
                ..
            } => Expr::Function {
                name: name.to_uppercase(),
                args: args.iter().map(unqualify).collect(),
                distinct: *distinct,
                location: Default::default(),
            },
            Expr::Binary { op, left, right } => {
                Expr::binary(*op, unqualify(left), unqualify(right))
            }
            other => other.clone(),
        }
    }
    expr_to_sql(&unqualify(e))
}

fn project(
    query: &Query,
    source: &Source,
    scope: &Scope,
    alias: &str,
    sink_name: &str,
    table_functions: &TableFunctionCalls,
    transient: bool,
) -> PResult<Vec<OutputColumn>> {
    let partition_by: Option<&[Expr]> = if query.partition_by.is_empty() {
        None
    } else {
        Some(&query.partition_by)
    };
    let partition_by_null = matches!(partition_by, Some([Expr::Literal(Literal::Null)]));
    if let Some(exprs) = partition_by {
        if exprs.len() > 1
            && exprs
                .iter()
                .any(|e| matches!(e, Expr::Literal(Literal::Null)))
        {
            return Err(PlanError::Invalid(
                "Cannot PARTITION BY multiple columns including NULL".to_string(),
            ));
        }
        // PARTITION BY applies to the input: its columns must be source columns.
        for e in exprs
            .iter()
            .filter(|e| !matches!(e, Expr::Literal(Literal::Null)))
        {
            if let Err(PlanError::Invalid(message)) =
                ExprCompiler::new(scope, Clause::PartitionBy).compile(e)
            {
                let alias_hint = match e {
                    Expr::Column { name, .. }
                        if message.contains("cannot be resolved")
                            && query.select.iter().any(|s| matches!(s, SelectItem::Expr { alias: Some(a), .. } if a == name)) =>
                    {
                        format!(
                            " '{name}' must be a column in the source schema since PARTITION BY is applied on the input."
                        )
                    }
                    _ => String::new(),
                };
                return Err(PlanError::Invalid(format!("{message}{alias_hint}")));
            }
        }
    }
    if source.kind == SourceKind::Table && partition_by.is_some() {
        return Err(PlanError::Invalid(
            "Unsupported operation: PARTITION BY on a table. Use GROUP BY instead.".to_string(),
        ));
    }
    let key_names: Vec<String> = source
        .schema
        .key_columns()
        .map(|c| c.name.clone())
        .collect();
    let value_names: Vec<String> = source
        .schema
        .columns
        .iter()
        .filter(|c| c.kind != ColumnKind::Key)
        .map(|c| c.name.clone())
        .collect();

    // Expand the select list into named items.
    let mut items: Vec<NamedItem> = Vec::new();
    let mut generated = 0usize;
    let star_columns = |qualifier: Option<&str>| -> Vec<String> {
        if qualifier.is_some_and(|q| q != alias) {
            return Vec::new();
        }
        match partition_by {
            // After re-keying, the old key columns travel in the value.
            Some(p) if !partition_by_null => {
                let new_keys: Vec<String> = p
                    .iter()
                    .filter_map(|e| match e {
                        Expr::Column { name, .. } => Some(name.clone()),
                        _ => None,
                    })
                    .collect();
                value_names
                    .iter()
                    .chain(key_names.iter())
                    .filter(|n| !new_keys.contains(n))
                    .cloned()
                    .collect()
            }
            _ => key_names
                .iter()
                .chain(value_names.iter())
                .cloned()
                .collect(),
        }
    };
    for item in &query.select {
        match item {
            SelectItem::Wildcard => {
                for name in star_columns(None) {
                    items.push(NamedItem {
                        expr: column_ref(&name, alias),
                        name,
                        aliased: false,
                    });
                }
            }
            SelectItem::QualifiedWildcard(q) => {
                if q != alias {
                    return Err(PlanError::Invalid(format!(
                        "'{q}' is not a valid stream/table name or alias."
                    )));
                }
                for name in star_columns(Some(q)) {
                    items.push(NamedItem {
                        expr: column_ref(&name, alias),
                        name,
                        aliased: false,
                    });
                }
            }
            SelectItem::Expr {
                expr: Expr::StructAll(base),
                ..
            } => {
                let c = ExprCompiler::new(scope, Clause::Select).compile(base)?;
                let Some(SqlType::Struct(fields)) = c.ty else {
                    return Err(PlanError::Invalid(format!(
                        "Expected STRUCT type for {}->*",
                        expr_to_sql(base)
                    )));
                };
                for f in fields {
                    items.push(NamedItem {
                        name: f.name.clone(),
                        expr: Expr::Dereference {
                            expr: base.clone(),
                            field: f.name,
                        },
                        aliased: false,
                    });
                }
            }
            SelectItem::Expr { expr, alias: a } => {
                let (name, aliased) = match (a, derived_name(expr)) {
                    (Some(a), _) => (a.clone(), true),
                    // A struct field takes the field's name, made unique against the source's
                    // columns and the names already chosen (`B`, `B_1`, …).
                    (None, Some(n)) if matches!(expr, Expr::Dereference { .. }) => {
                        let taken = |c: &str| {
                            source.schema.find(c).is_some() || items.iter().any(|i| i.name == c)
                        };
                        let mut candidate = n.clone();
                        let mut suffix = 1;
                        while taken(&candidate) {
                            candidate = format!("{n}_{suffix}");
                            suffix += 1;
                        }
                        (candidate, false)
                    }
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
                items.push(NamedItem {
                    name,
                    expr: expr.clone(),
                    aliased,
                });
            }
        }
    }
    for item in &items {
        check_reserved_name(&item.name, item.aliased)?;
    }

    // Decide which items are keys.
    let mut is_key = vec![false; items.len()];
    match partition_by {
        Some(_) if partition_by_null => {}
        Some(exprs) => {
            for p in exprs {
                let matching: Vec<usize> = items
                    .iter()
                    .enumerate()
                    .filter(|(_, i)| same_expr(&i.expr, p))
                    .map(|(i, _)| i)
                    .collect();
                match matching.as_slice() {
                    [] => {
                        // `SELECT *` keeps a partitioning column as the key under its own name.
                        let star = query.select.iter().any(|s| {
                            matches!(s, SelectItem::Wildcard | SelectItem::QualifiedWildcard(_))
                        });
                        let name = derived_name(p);
                        if star {
                            let name = name.unwrap_or_else(|| {
                                let n = format!("KSQL_COL_{generated}");
                                generated += 1;
                                n
                            });
                            items.push(NamedItem {
                                name,
                                expr: p.clone(),
                                aliased: false,
                            });
                            is_key.push(true);
                        } else {
                            let shown = partition_expr_sql(p, alias);
                            return Err(PlanError::Invalid(format!(
                                "The query used to build `{sink_name}` must include the partitioning expression {shown} in its projection (eg, SELECT {shown}...)."
                            )));
                        }
                    }
                    [one] => is_key[*one] = true,
                    [first, second, ..] => {
                        return Err(PlanError::Invalid(format!(
                            "The projection contains a key column (`{}`) more than once, aliased as: {} and {}.",
                            derived_name(p).unwrap_or_else(|| expr_to_sql(p)),
                            items[*first].name,
                            items[*second].name
                        )));
                    }
                }
            }
        }
        None => {
            let mut key_items: Vec<(String, usize)> = Vec::new();
            for (i, item) in items.iter().enumerate() {
                if let Expr::Column { name, .. } = &item.expr
                    && key_names.contains(name)
                {
                    if let Some((_, first)) = key_items.iter().find(|(n, _)| n == name) {
                        return Err(PlanError::Invalid(format!(
                            "The projection contains a key column more than once: `{}` and `{}`.",
                            items[*first].name, item.name
                        )));
                    }
                    key_items.push((name.clone(), i));
                    is_key[i] = true;
                }
            }
            // A table must keep its whole key; a stream may drop it, but not half of it.
            let partial = !key_items.is_empty() && key_items.len() < key_names.len();
            if !transient
                && ((source.kind == SourceKind::Table && key_items.len() < key_names.len())
                    || partial)
            {
                let names: Vec<&str> = key_names.iter().map(String::as_str).collect();
                let listed = match names.as_slice() {
                    [one] => one.to_string(),
                    [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
                    [] => String::new(),
                };
                return Err(PlanError::Invalid(format!(
                    "The query used to build `{sink_name}` must include the key column{} {listed} in its projection (eg, SELECT {}...).",
                    if names.len() > 1 { "s" } else { "" },
                    names.join(", ")
                )));
            }
        }
    }

    // Re-keyed outputs order their keys as the PARTITION BY lists them.
    if let Some(exprs) = partition_by {
        let rank = |item: &NamedItem| {
            exprs
                .iter()
                .position(|p| same_expr(&item.expr, p))
                .unwrap_or(usize::MAX)
        };
        let mut order: Vec<usize> = (0..items.len()).collect();
        order.sort_by_key(|&i| {
            if is_key[i] {
                rank(&items[i])
            } else {
                usize::MAX
            }
        });
        let mut reordered_items = Vec::with_capacity(items.len());
        let mut reordered_keys = Vec::with_capacity(items.len());
        let mut slots: Vec<Option<NamedItem>> = items.into_iter().map(Some).collect();
        for i in order.iter().copied().filter(|&i| is_key[i]) {
            if let Some(item) = slots[i].take() {
                reordered_items.push(item);
                reordered_keys.push(true);
            }
        }
        for (i, slot) in slots.into_iter().enumerate() {
            if let Some(item) = slot {
                reordered_items.push(item);
                reordered_keys.push(is_key[i]);
            }
        }
        items = reordered_items;
        is_key = reordered_keys;
    }

    let mut keys = Vec::new();
    let mut values = Vec::new();
    for (position, (item, key)) in items.iter().zip(is_key).enumerate() {
        let expr = table_functions.rewrite(&item.expr);
        let compiled = ExprCompiler::new(&table_functions.scope, Clause::Select).compile(&expr)?;
        let out = OutputColumn {
            name: item.name.clone(),
            kind: if key {
                ColumnKind::Key
            } else {
                ColumnKind::Value
            },
            expr: compiled,
            position,
        };
        if key {
            keys.push(out);
        } else {
            values.push(out);
        }
    }
    // Duplicate output names are ambiguous.
    let mut seen = std::collections::HashSet::new();
    for o in keys.iter().chain(values.iter()) {
        if !seen.insert(o.name.clone()) {
            return Err(PlanError::Invalid(format!(
                "Duplicate value columns found in schema: `{}`",
                o.name
            )));
        }
    }
    if values.is_empty() && !transient {
        return Err(PlanError::Invalid(
            "The projection contains no value columns.".to_string(),
        ));
    }
    keys.extend(values);
    Ok(keys)
}

/// `ABS(INPUT.ID)`: an expression as ksqlDB shows it in "must include" messages.
fn partition_expr_sql(e: &Expr, alias: &str) -> String {
    fn qualify(e: &Expr, alias: &str) -> Expr {
        match e {
            Expr::Column { name, .. } => Expr::Column {
                qualifier: Some(alias.to_string()),
                name: name.clone(),
                location: Default::default(),
            },
            Expr::Dereference { expr, field } => Expr::Dereference {
                expr: Box::new(qualify(expr, alias)),
                field: field.clone(),
            },
            Expr::Function {
                name,
                args,
                distinct,
                location,
            } => Expr::Function {
                name: name.to_uppercase(),
                args: args.iter().map(|a| qualify(a, alias)).collect(),
                distinct: *distinct,
                location: *location,
            },
            Expr::Binary { op, left, right } => {
                Expr::binary(*op, qualify(left, alias), qualify(right, alias))
            }
            other => other.clone(),
        }
    }
    expr_to_sql(&qualify(e, alias))
}
