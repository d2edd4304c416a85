//! Planning of joins between two sources: stream-stream (windowed), stream-table, table-table
//! on the primary key, and foreign-key table-table joins.
//!
//! A joined row is the left source's columns and pseudo columns, then the right's, then the
//! synthetic `ROWKEY` (the join key). WHERE and the projection are compiled against that
//! *join scope*. Column names follow ksqlDB: `SELECT *` and qualified references name columns
//! `<alias>_<column>`; the output key is the projected join expression, or `ROWKEY` when the
//! join criteria match no source column (and for full outer joins).

use super::expr::{Clause, Compiled, ExprCompiler, Scope, ScopeColumn};
use super::{OutputColumn, PSEUDO_COLUMNS, PlanError};
use crate::catalog::{Catalog, Source};
use crate::sql::ast::{BinaryOp, Expr, Join, JoinType, Query, Relation, SelectItem, SourceKind};
use crate::sql::display::expr_to_sql;
use crate::types::{Column, ColumnKind, Schema, SqlType};

type PResult<T> = Result<T, PlanError>;

fn invalid(message: impl Into<String>) -> PlanError {
    PlanError::Invalid(message.into())
}

/// The kind of join, by the kinds of its inputs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum JoinKind {
    /// Records join when their timestamps are within the window: left.ts - before <= right.ts
    /// <= left.ts + after.
    StreamStream {
        before_ms: i64,
        after_ms: i64,
        grace_ms: Option<i64>,
    },
    StreamTable,
    TableTable,
    /// A table-table join whose left expression is the right table's primary key.
    ForeignKey,
}

/// A source input of a join (the right input of every join, and the left of the innermost).
#[derive(Debug, Clone)]
pub struct JoinSide {
    pub source: Source,
    pub alias: String,
    /// The source's own scope (its columns and pseudo columns).
    pub scope: Scope,
    /// The join expression, compiled on the side's own scope.
    pub key: Compiled,
    /// The join expression as written.
    pub key_expr: Expr,
}

/// The left input of a join: a source, or the result of an inner join (n-way joins nest to
/// the left).
#[derive(Debug, Clone)]
pub enum JoinLeft {
    Source { source: Box<Source>, alias: String },
    Join(Box<JoinLevel>),
}

/// One binary join.
#[derive(Debug, Clone)]
pub struct JoinLevel {
    pub left: JoinLeft,
    /// The left input's columns: a source's scope, or the inner join's joined columns.
    pub left_scope: Scope,
    /// The left join expression, compiled on `left_scope`.
    pub left_key: Compiled,
    pub left_key_expr: Expr,
    pub right: JoinSide,
    pub join_type: JoinType,
    pub kind: JoinKind,
    /// Both sources are windowed: records join only within the same window, and the result
    /// keeps it.
    pub windowed: Option<crate::catalog::WindowInfo>,
    pub key_type: SqlType,
    /// The joined columns: the left input's, then the right source's.
    pub joined: Scope,
}

impl JoinLevel {
    /// How many source inputs this join (with its inner joins) reads.
    pub fn input_count(&self) -> usize {
        match &self.left {
            JoinLeft::Source { .. } => 2,
            JoinLeft::Join(inner) => inner.input_count() + 1,
        }
    }

    /// Joins of tables produce a table; anything with a stream produces a stream.
    pub fn result_kind(&self) -> SourceKind {
        match self.kind {
            JoinKind::TableTable | JoinKind::ForeignKey => SourceKind::Table,
            _ => SourceKind::Stream,
        }
    }

    /// The sides each join of this tree must find co-partitioned, outermost first: the alias
    /// that names each side (a nested join is named by its leftmost source) and the topic
    /// whose partition count it has (a nested join has its right source's). Foreign-key joins
    /// need no co-partitioning.
    pub fn co_partitioned(&self) -> Vec<[(String, String); 2]> {
        let mut pairs = Vec::new();
        let mut level = self;
        loop {
            let left = match &level.left {
                JoinLeft::Source { source, alias } => (alias.clone(), source.topic.clone()),
                JoinLeft::Join(inner) => (inner.leftmost_alias(), inner.right.source.topic.clone()),
            };
            if level.kind != JoinKind::ForeignKey {
                let right = (level.right.alias.clone(), level.right.source.topic.clone());
                pairs.push([left, right]);
            }
            match &level.left {
                JoinLeft::Join(inner) => level = inner,
                JoinLeft::Source { .. } => return pairs,
            }
        }
    }

    fn leftmost_alias(&self) -> String {
        match &self.left {
            JoinLeft::Source { alias, .. } => alias.clone(),
            JoinLeft::Join(inner) => inner.leftmost_alias(),
        }
    }

    /// The join expressions the result is keyed by, qualified, innermost first: those of the
    /// inner joins too, unless this join re-keys their result on another expression.
    fn join_expressions(&self, out: &mut Vec<String>) {
        let left_alias = self.left_alias_of(&self.left_key_expr);
        let left = qualified(&self.left_key_expr, &left_alias);
        if let JoinLeft::Join(inner) = &self.left {
            inner.join_expressions(out);
            if !out.contains(&left) {
                out.clear();
            }
        }
        // Only column references can name the key; an expression side leaves it to the other.
        let right = qualified(&self.right.key_expr, &self.right.alias);
        let sides = [(&self.left_key_expr, left), (&self.right.key_expr, right)];
        for (expr, e) in sides {
            if matches!(expr, Expr::Column { .. }) && !out.contains(&e) {
                out.push(e);
            }
        }
    }

    /// The alias an unqualified column of the left join expression belongs to.
    fn left_alias_of(&self, e: &Expr) -> String {
        if let Expr::Column {
            qualifier: Some(q), ..
        } = e
        {
            return q.clone();
        }
        if let Expr::Column { name, .. } = e
            && let Some(c) = self
                .left_scope
                .columns
                .iter()
                .find(|c| &c.name == name && c.source.is_some())
        {
            return c.source.clone().unwrap_or_default();
        }
        match &self.left {
            JoinLeft::Source { alias, .. } => alias.clone(),
            JoinLeft::Join(inner) => inner.right.alias.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct JoinPlan {
    pub top: JoinLevel,
    /// The sources read, in input order, with the scope each is decoded into.
    pub inputs: Vec<(Source, Scope)>,
    /// The joined columns of all sources, then ROWKEY.
    pub scope: Scope,
    pub filter: Option<Compiled>,
    /// Key columns first, then value columns, compiled on the join scope.
    pub outputs: Vec<OutputColumn>,
    /// PARTITION BY gives the result its own key; otherwise the key is the join key.
    pub rekeyed: bool,
}

impl JoinPlan {
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

    pub fn result_kind(&self) -> SourceKind {
        self.top.result_kind()
    }
}

fn side_scope(source: &Source, alias: &str) -> Vec<ScopeColumn> {
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
    columns.extend(super::pseudo_columns(source, alias));
    columns
}

fn relation_source(r: &Relation, catalog: &Catalog) -> PResult<(Source, String)> {
    match r {
        Relation::Source { name, alias, .. } => {
            let source = catalog
                .source(name)
                .cloned()
                .ok_or_else(|| invalid(format!("{name} does not exist.")))?;
            Ok((source, alias.clone().unwrap_or_else(|| name.clone())))
        }
        Relation::Join(_) => Err(PlanError::Unsupported(
            "Joins of more than two sources are not supported yet".to_string(),
        )),
    }
}

/// Which sides an expression references: (left, right).
fn references(e: &Expr, left: &Scope, right: &Scope) -> PResult<(bool, bool)> {
    let mut l = false;
    let mut r = false;
    let mut error = None;
    walk_columns(e, &mut |qualifier, name| {
        let in_left = left.resolve(qualifier, name).is_some();
        let in_right = right.resolve(qualifier, name).is_some();
        match (in_left, in_right) {
            (true, true) if qualifier.is_none() => {
                error.get_or_insert_with(|| {
                    let lq = left.columns[0].source.clone().unwrap_or_default();
                    let rq = right.columns[0].source.clone().unwrap_or_default();
                    let mut at = String::new();
                    super::aggregate::visit(e, &mut |x| {
                        if let Expr::Column {
                            qualifier: None,
                            name: n,
                            location,
                        } = x
                            && n == name
                            && at.is_empty()
                        {
                            at = format!("Line: {}, Col: {}: ", location.line, location.column);
                        }
                    });
                    invalid(format!(
                        "Exception while preparing statement: {at}Column '{name}' is ambiguous. Could be {lq}.{name} or {rq}.{name}."
                    ))
                });
            }
            (true, _) => l = true,
            (_, true) => r = true,
            (false, false) => {
                error.get_or_insert_with(|| match qualifier {
                    Some(q)
                        if !left
                            .columns
                            .iter()
                            .chain(&right.columns)
                            .any(|c| c.source.as_deref() == Some(q)) =>
                    {
                        invalid(format!(
                            "Failed to prepare statement: '{q}' is not a valid stream/table name or alias."
                        ))
                    }
                    _ => invalid(format!(
                        "JOIN ON column '{}' cannot be resolved.",
                        match qualifier {
                            Some(q) => format!("{q}.{name}"),
                            None => name.to_string(),
                        }
                    )),
                });
            }
        }
    });
    match error {
        Some(e) => Err(e),
        None => Ok((l, r)),
    }
}

fn walk_columns(e: &Expr, f: &mut dyn FnMut(Option<&str>, &str)) {
    match e {
        Expr::Column {
            qualifier, name, ..
        } => f(qualifier.as_deref(), name),
        Expr::Binary { left, right, .. } | Expr::IsDistinctFrom { left, right, .. } => {
            walk_columns(left, f);
            walk_columns(right, f);
        }
        Expr::Unary { expr, .. }
        | Expr::IsNull { expr, .. }
        | Expr::Cast { expr, .. }
        | Expr::Dereference { expr, .. } => walk_columns(expr, f),
        Expr::Subscript { expr, index } => {
            walk_columns(expr, f);
            walk_columns(index, f);
        }
        Expr::Function { args, .. } | Expr::Array(args) => {
            args.iter().for_each(|a| walk_columns(a, f))
        }
        Expr::Case {
            operand,
            whens,
            else_result,
        } => {
            if let Some(o) = operand {
                walk_columns(o, f);
            }
            for (w, t) in whens {
                walk_columns(w, f);
                walk_columns(t, f);
            }
            if let Some(e) = else_result {
                walk_columns(e, f);
            }
        }
        _ => {}
    }
}

fn join_type_text(t: JoinType) -> &'static str {
    match t {
        JoinType::Inner => "[INNER] JOIN",
        JoinType::Left => "LEFT [OUTER] JOIN",
        JoinType::Right => "RIGHT [OUTER] JOIN",
        JoinType::Full => "[FULL] OUTER JOIN",
    }
}

/// An expression with its columns qualified by the side's alias, as ksqlDB prints join
/// expressions.
fn qualified(e: &Expr, alias: &str) -> String {
    fn qualify(e: &Expr, alias: &str) -> Expr {
        match e {
            Expr::Column {
                qualifier: None,
                name,
                location,
            } => Expr::Column {
                qualifier: Some(alias.to_string()),
                name: name.clone(),
                location: *location,
            },
            Expr::Cast { expr, ty } => Expr::Cast {
                expr: Box::new(qualify(expr, alias)),
                ty: ty.clone(),
            },
            Expr::Dereference { expr, field } => Expr::Dereference {
                expr: Box::new(qualify(expr, alias)),
                field: field.clone(),
            },
            Expr::Binary { op, left, right } => {
                Expr::binary(*op, qualify(left, alias), qualify(right, alias))
            }
            Expr::Function {
                name,
                args,
                distinct,
                location,
            } => Expr::Function {
                name: name.clone(),
                args: args.iter().map(|a| qualify(a, alias)).collect(),
                distinct: *distinct,
                location: *location,
            },
            other => other.clone(),
        }
    }
    expr_to_sql(&qualify(e, alias))
}

/// Whether an expression is the whole primary key of a source: a join on one expression can't
/// cover a key of several columns.
fn is_key_column(e: &Expr, side: &Source) -> bool {
    side.key_columns().len() == 1
        && matches!(e, Expr::Column { name, .. } if side.schema.find(name).is_some_and(|c| c.kind == ColumnKind::Key))
}

pub fn plan_join(
    query: &Query,
    catalog: &Catalog,
    sink_name: &str,
    transient: bool,
) -> PResult<JoinPlan> {
    check_criteria(&query.from)?;
    let mut inputs = Vec::new();
    let mut sources: Vec<(Source, String)> = Vec::new();
    let top = plan_level(&query.from, catalog, &mut inputs, &mut sources)?;

    // The synthetic key's name: ROWKEY, or ROWKEY_n when the sources use that name.
    let taken = |n: &str| sources.iter().any(|(s, _)| s.schema.find(n).is_some());
    let mut rowkey = "ROWKEY".to_string();
    let mut n = 1;
    while taken(&rowkey) {
        rowkey = format!("ROWKEY_{n}");
        n += 1;
    }
    let mut columns = top.joined.columns.clone();
    columns.push(ScopeColumn {
        name: rowkey.clone(),
        source: None,
        ty: top.key_type.clone(),
    });
    let scope = Scope::new(columns);

    let filter = match &query.where_clause {
        Some(w) => Some(
            ExprCompiler::new(&scope, Clause::Where)
                .compile(w)
                .map_err(|e| match e {
                    PlanError::Invalid(m) if !m.contains("cannot be resolved") => invalid(format!(
                        "Error in WHERE expression: {}",
                        joined_names(&m, w)
                    )),
                    other => other,
                })?,
        ),
        None => None,
    };

    let synthetic = (top.join_type == JoinType::Full
        || (!matches!(top.left_key_expr, Expr::Column { .. })
            && !matches!(top.right.key_expr, Expr::Column { .. })))
    .then_some(rowkey.as_str());
    let mut join_expressions = Vec::new();
    top.join_expressions(&mut join_expressions);
    let outputs = project_join(
        query,
        sink_name,
        &scope,
        &sources,
        &top,
        &join_expressions,
        synthetic,
        transient,
    )?;
    Ok(JoinPlan {
        top,
        inputs,
        scope,
        filter,
        outputs,
        rekeyed: !transient && !query.partition_by.is_empty(),
    })
}

/// Plans the joins of a FROM clause without a projection, for an aggregation that reads
/// the joined rows: the join and the sources in input order.
pub fn plan_join_input(
    relation: &Relation,
    catalog: &Catalog,
) -> PResult<(JoinLevel, Vec<(Source, Scope)>)> {
    check_criteria(relation)?;
    let mut inputs = Vec::new();
    let mut sources = Vec::new();
    let level = plan_level(relation, catalog, &mut inputs, &mut sources)?;
    Ok((level, inputs))
}

/// A message about an expression over a join, with its qualified columns named as the join's
/// result names them (`I1.BAR` reads `I1_BAR`), as ksqlDB reports them.
pub(crate) fn joined_names(message: &str, expr: &Expr) -> String {
    let mut message = message.to_string();
    expr.walk(&mut |x| {
        if let Expr::Column {
            qualifier: Some(q),
            name,
            ..
        } = x
        {
            message = message.replace(&format!("{q}.{name}"), &format!("{q}_{name}"));
        }
    });
    message
}

/// Checks, for every join before any is planned, that each side of its ON clause names one
/// source (by qualifier), not the same one, and that one of them is the source it joins.
fn check_criteria(relation: &Relation) -> PResult<()> {
    let Relation::Join(join) = relation else {
        return Ok(());
    };
    check_criteria(&join.left)?;
    let Relation::Source { name, alias, .. } = &join.right else {
        return Ok(());
    };
    let right_name = alias.clone().unwrap_or_else(|| name.clone());
    let Expr::Binary {
        op: BinaryOp::Eq,
        left,
        right,
    } = &join.on
    else {
        return Ok(());
    };
    // The single qualifier a side uses, if every column of it is qualified alike.
    let qualifier_of = |e: &Expr| {
        let mut found: Option<Option<String>> = None;
        walk_columns(e, &mut |q, _| {
            let q = q.map(str::to_string);
            found = match &found {
                None => Some(q),
                Some(f) if *f == q => Some(q),
                Some(_) => Some(None),
            };
        });
        found.flatten()
    };
    let (Some(l), Some(r)) = (qualifier_of(left), qualifier_of(right)) else {
        return Ok(());
    };
    if l == r {
        return Err(invalid(format!(
            "Each side of the join must reference exactly one source and not the same source. Left side references `{l}` and right references `{r}`"
        )));
    }
    if l != right_name && r != right_name {
        return Err(invalid(format!(
            "A join criteria is expected to reference the source (`{right_name}`) in the FROM clause, instead the right source references `{r}` and the left source references `{l}`"
        )));
    }
    Ok(())
}

/// Checks the sources a join reads: no source twice, no KAFKA values, compatible windows.
fn check_sources(
    left_input: &JoinLeft,
    sources: &[(Source, String)],
    right_source: &Source,
    nested: bool,
) -> PResult<()> {
    if sources.iter().any(|(s, _)| s.name == right_source.name) {
        return Err(invalid(if nested {
            format!(
                "N-way joins do not support multiple occurrences of the same source. Source: '{}'",
                right_source.name
            )
        } else {
            format!(
                "Can not join '{}' to '{}': self joins are not yet supported.",
                right_source.name, right_source.name
            )
        }));
    }
    let kafka: Vec<&str> = sources
        .iter()
        .map(|(s, _)| s)
        .chain(std::iter::once(right_source))
        .filter(|s| s.value_format.kind == crate::format::FormatKind::Kafka)
        .map(|s| s.name.as_str())
        .collect();
    if !kafka.is_empty() {
        return Err(invalid(format!(
            "Source(s) {} are using the 'KAFKA' value format. This format does not yet support JOIN.",
            kafka.join(", ")
        )));
    }
    let JoinLeft::Source {
        source: left_source,
        ..
    } = left_input
    else {
        if right_source.window.is_some() || sources.iter().any(|(s, _)| s.window.is_some()) {
            return Err(invalid(
                "Joins of more than two windowed sources are not supported yet.",
            ));
        }
        return Ok(());
    };
    let kind = |w: &crate::catalog::WindowInfo| format!("{:?}", w.window_type).to_uppercase();
    match (left_source.window, right_source.window) {
        (Some(w), None) | (None, Some(w)) => {
            let (windowed, plain) = if left_source.window.is_some() {
                (&left_source.name, &right_source.name)
            } else {
                (&right_source.name, &left_source.name)
            };
            Err(invalid(format!(
                "Can not join windowed source to non-windowed source.\n`{windowed}` is {} windowed\n`{plain}` is not windowed",
                kind(&w)
            )))
        }
        (Some(l), Some(r))
            if l.window_type != r.window_type
                && (l.window_type == crate::sql::ast::WindowType::Session
                    || r.window_type == crate::sql::ast::WindowType::Session) =>
        {
            Err(invalid(format!(
                "Incompatible windowed sources.\nLeft source: {}\nRight source: {}\nSession windowed sources can only be joined to other session windowed sources, and may still not result in expected behaviour as session bounds must be an exact match for the join to work\nHopping and tumbling windowed sources can only be joined to other hopping and tumbling windowed sources",
                kind(&l),
                kind(&r)
            )))
        }
        // Keys of windows of different sizes don't match without re-keying the records.
        (Some(l), Some(r)) if l.size_ms != r.size_ms => Err(invalid(
            "Implicit repartitioning of windowed sources is not supported. See https://github.com/confluentinc/ksql/issues/4385.",
        )),
        _ => Ok(()),
    }
}

/// Plans one join of a (left-deep) join tree.
fn plan_level(
    relation: &Relation,
    catalog: &Catalog,
    inputs: &mut Vec<(Source, Scope)>,
    sources: &mut Vec<(Source, String)>,
) -> PResult<JoinLevel> {
    let Relation::Join(join) = relation else {
        return Err(PlanError::Internal("not a join".into()));
    };
    let Join {
        left,
        right,
        join_type,
        on,
        within,
    } = join.as_ref();
    let (left_input, left_scope, left_kind, left_name) = match left {
        Relation::Source { .. } => {
            let (source, alias) = relation_source(left, catalog)?;
            let scope = Scope::new(side_scope(&source, &alias));
            inputs.push((source.clone(), scope.clone()));
            sources.push((source.clone(), alias.clone()));
            let kind = source.kind;
            let name = source.name.clone();
            (
                JoinLeft::Source {
                    source: Box::new(source),
                    alias,
                },
                scope,
                kind,
                name,
            )
        }
        Relation::Join(_) => {
            let inner = plan_level(left, catalog, inputs, sources)?;
            let scope = inner.joined.clone();
            let kind = inner.result_kind();
            let name = inner.right.source.name.clone();
            (JoinLeft::Join(Box::new(inner)), scope, kind, name)
        }
    };
    let nested = matches!(left_input, JoinLeft::Join(_));
    let (right_source, right_alias) = relation_source(right, catalog)?;
    check_sources(&left_input, sources, &right_source, nested)?;
    let right_scope = Scope::new(side_scope(&right_source, &right_alias));
    inputs.push((right_source.clone(), right_scope.clone()));
    sources.push((right_source.clone(), right_alias.clone()));

    // The ON clause: one equality between an expression of each side.
    let Expr::Binary {
        op: BinaryOp::Eq,
        left: a,
        right: b,
    } = on
    else {
        return Err(invalid(format!(
            "Invalid join condition: joins on multiple conditions are not yet supported. Got {}.",
            expr_to_sql(on)
        )));
    };
    // An unknown qualifier anywhere in the condition is reported before anything else.
    let mut unknown = None;
    walk_columns(on, &mut |qualifier, _| {
        if let Some(q) = qualifier
            && unknown.is_none()
            && !left_scope
                .columns
                .iter()
                .chain(&right_scope.columns)
                .any(|c| c.source.as_deref() == Some(q))
        {
            unknown = Some(q.to_string());
        }
    });
    if let Some(q) = unknown {
        return Err(invalid(format!(
            "Failed to prepare statement: '{q}' is not a valid stream/table name or alias."
        )));
    }
    let (a_left, a_right) = references(a, &left_scope, &right_scope)?;
    let (b_left, b_right) = references(b, &left_scope, &right_scope)?;
    let flipped = matches!(
        (a_left, a_right, b_left, b_right),
        (false, true, true, false)
    );
    let (left_expr, right_expr) = match (a_left, a_right, b_left, b_right) {
        (true, false, false, true) => ((**a).clone(), (**b).clone()),
        (false, true, true, false) => ((**b).clone(), (**a).clone()),
        _ => {
            let bad = if (a_left == a_right) || !(a_left || a_right) {
                a
            } else {
                b
            };
            return Err(invalid(format!(
                "Invalid comparison expression '{}' in join '{}'. Each side of the join comparision must contain references from exactly one source.",
                expr_to_sql(bad),
                expr_to_sql(on)
            )));
        }
    };
    let left_alias = match (&left_input, &left_expr) {
        (
            _,
            Expr::Column {
                qualifier: Some(q), ..
            },
        ) => q.clone(),
        (JoinLeft::Source { alias, .. }, _) => alias.clone(),
        (JoinLeft::Join(_), Expr::Column { name, .. }) => left_scope
            .columns
            .iter()
            .find(|c| &c.name == name)
            .and_then(|c| c.source.clone())
            .unwrap_or_default(),
        (JoinLeft::Join(_), _) => String::new(),
    };
    let left_is_key = match &left_expr {
        Expr::Column {
            name, qualifier, ..
        } => sources.iter().any(|(s, a)| {
            qualifier.as_ref().is_none_or(|q| q == a)
                && s.schema
                    .find(name)
                    .is_some_and(|c| c.kind == ColumnKind::Key)
                // Joining on part of a multi-column key is a foreign-key join.
                && s.schema.key_columns().count() == 1
                && s.name != right_source.name
        }),
        _ => false,
    };

    let kind = match (left_kind, right_source.kind) {
        (SourceKind::Stream, SourceKind::Stream) => {
            let Some(w) = within else {
                return Err(invalid(
                    "Stream-Stream joins must have a WITHIN clause specified. None was provided. To learn about how to specify a WITHIN clause with a stream-stream join, please visit: https://docs.confluent.io/current/ksql/docs/syntax-reference.html#create-stream-as-select",
                ));
            };
            JoinKind::StreamStream {
                before_ms: w.before_ms,
                after_ms: w.after_ms,
                grace_ms: w.grace_ms,
            }
        }
        (SourceKind::Stream, SourceKind::Table) => {
            if within.is_some() {
                return Err(invalid(
                    "A window definition was provided for a Stream-Table join. These joins are not windowed. Please drop the window definition (i.e. the WITHIN clause) and try to execute your Stream-Table join again.",
                ));
            }
            if matches!(join_type, JoinType::Full | JoinType::Right) {
                let name = if *join_type == JoinType::Full {
                    "full-outer"
                } else {
                    "right"
                };
                return Err(invalid(format!(
                    "Invalid join type: {name} join not supported for stream-table join. Got {} {} {}.",
                    left_name,
                    join_type_text(*join_type),
                    right_source.name
                )));
            }
            if !is_key_column(&right_expr, &right_source) {
                return Err(invalid(format!(
                    "Invalid join condition: stream-table joins require to join on the table's primary key. Got {} = {}.",
                    qualified(&left_expr, &left_alias),
                    qualified(&right_expr, &right_alias)
                )));
            }
            JoinKind::StreamTable
        }
        (SourceKind::Table, SourceKind::Stream) => {
            return Err(invalid(format!(
                "Invalid join order: table-stream joins are not supported; only stream-table joins. Got {} {} {}.",
                // A join's result is named by the source its join expression comes from.
                if nested { &left_alias } else { &left_name },
                join_type_text(*join_type),
                right_source.name
            )));
        }
        (SourceKind::Table, SourceKind::Table) => {
            if !is_key_column(&right_expr, &right_source) {
                let (l, r) = (
                    qualified(&left_expr, &left_alias),
                    qualified(&right_expr, &right_alias),
                );
                let (first, second) = if flipped { (r, l) } else { (l, r) };
                return Err(invalid(format!(
                    "Invalid join condition: table-table joins require to join on the primary key of the right input table. Got {first} = {second}."
                )));
            }
            if left_is_key {
                JoinKind::TableTable
            } else if nested {
                return Err(invalid(format!(
                    "Invalid join condition: foreign-key table-table joins are not supported as part of n-way joins. Got {} = {}.",
                    qualified(&left_expr, &left_alias),
                    qualified(&right_expr, &right_alias)
                )));
            } else {
                if *join_type == JoinType::Right {
                    return Err(invalid(
                        "RIGHT OUTER JOIN on a foreign key is not supported",
                    ));
                }
                if *join_type == JoinType::Full {
                    return Err(invalid("FULL OUTER JOIN on a foreign key is not supported"));
                }
                let left_windowed = matches!(&left_input, JoinLeft::Source { source, .. } if source.window.is_some());
                if left_windowed || right_source.window.is_some() {
                    return Err(invalid(
                        "Foreign-key table-table joins are not supported on windowed tables.",
                    ));
                }
                JoinKind::ForeignKey
            }
        }
    };

    let left_key = ExprCompiler::new(&left_scope, Clause::Select).compile(&left_expr)?;
    let right_key = ExprCompiler::new(&right_scope, Clause::Select).compile(&right_expr)?;
    let key_type = left_key.sql_type();
    let right_type = right_key.sql_type();
    // The join key becomes a record key, and maps have no stable serialized form.
    if key_type.contains_map() {
        let name = match &left_expr {
            Expr::Column { name, .. } => format!("{left_alias}_{name}"),
            _ => "KSQL_COL_0".to_string(),
        };
        return Err(invalid(format!(
            "Map keys, including types that contain maps, are not supported as they may lead to unexpected behavior due to inconsistent serialization. Key column name: `{name}`. Column type: {key_type}. See https://github.com/confluentinc/ksql/issues/6621 for more."
        )));
    }
    if key_type != right_type {
        return Err(invalid(format!(
            "Invalid join condition: types don't match. Got {}{{{key_type}}} = {}{{{right_type}}}.",
            qualified(&left_expr, &left_alias),
            qualified(&right_expr, &right_alias)
        )));
    }
    let windowed = match &left_input {
        JoinLeft::Source { source, .. } => source.window.filter(|_| right_source.window.is_some()),
        JoinLeft::Join(_) => None,
    };
    let mut joined = left_scope.columns.clone();
    joined.extend(right_scope.columns.clone());
    Ok(JoinLevel {
        windowed,
        left: left_input,
        left_scope,
        left_key,
        left_key_expr: left_expr,
        right: JoinSide {
            source: right_source,
            alias: right_alias,
            scope: right_scope,
            key: right_key,
            key_expr: right_expr,
        },
        join_type: *join_type,
        kind,
        key_type,
        joined: Scope::new(joined),
    })
}

/// A named item of a join's projection.
struct Item {
    name: String,
    expr: Expr,
}

/// The positions of the items whose expression, resolved to its source, reads as `sql`.
fn items_resolving_to(items: &[Item], resolve: &dyn Fn(&Expr) -> String, sql: &str) -> Vec<usize> {
    items
        .iter()
        .enumerate()
        .filter(|(_, item)| resolve(&item.expr) == sql)
        .map(|(i, _)| i)
        .collect()
}

/// The next `KSQL_COL_n` name no item has yet.
fn generated_name(items: &[Item], generated: &mut usize) -> String {
    loop {
        let candidate = format!("KSQL_COL_{generated}");
        *generated += 1;
        if !items.iter().any(|i| i.name == candidate) {
            return candidate;
        }
    }
}

/// The projection's items compiled on the join scope: the `keys` (in their order), then every
/// other item as a value.
fn keyed_outputs(items: &[Item], keys: &[usize], scope: &Scope) -> PResult<Vec<OutputColumn>> {
    let compiler = ExprCompiler::new(scope, Clause::Select);
    let output = |i: usize, kind: ColumnKind| -> PResult<OutputColumn> {
        Ok(OutputColumn {
            name: items[i].name.clone(),
            kind,
            expr: compiler.compile(&items[i].expr)?,
            position: i,
        })
    };
    let mut outputs = Vec::with_capacity(items.len());
    for &i in keys {
        outputs.push(output(i, ColumnKind::Key)?);
    }
    for i in (0..items.len()).filter(|i| !keys.contains(i)) {
        outputs.push(output(i, ColumnKind::Value)?);
    }
    Ok(outputs)
}

/// The outputs of a join whose result is re-partitioned: the PARTITION BY expressions are the
/// key, in their order, each named as the projection names it (with `SELECT *`, an expression
/// the projection lacks is added); every other item is a value.
fn project_partitioned(
    mut items: Vec<Item>,
    exprs: &[Expr],
    scope: &Scope,
    sink_name: &str,
    top: &JoinLevel,
    star: bool,
    resolve: &dyn Fn(&Expr) -> String,
) -> PResult<Vec<OutputColumn>> {
    if top.result_kind() == SourceKind::Table {
        return Err(invalid(
            "Unsupported operation: PARTITION BY on a table. Use GROUP BY instead.",
        ));
    }
    let is_null = |e: &Expr| matches!(e, Expr::Literal(crate::sql::ast::Literal::Null));
    if exprs.len() > 1 && exprs.iter().any(is_null) {
        return Err(invalid(
            "Cannot PARTITION BY multiple columns including NULL",
        ));
    }
    let mut keys: Vec<usize> = Vec::new();
    let mut generated = 0usize;
    for p in exprs.iter().filter(|e| !is_null(e)) {
        ExprCompiler::new(scope, Clause::PartitionBy).compile(p)?;
        let wanted = resolve(p);
        let matching = items_resolving_to(&items, resolve, &wanted);
        match matching.as_slice() {
            [] if star => {
                let name = generated_name(&items, &mut generated);
                items.push(Item {
                    name,
                    expr: p.clone(),
                });
                keys.push(items.len() - 1);
            }
            [] => {
                return Err(invalid(format!(
                    "The query used to build `{sink_name}` must include the partitioning expression {wanted} in its projection (eg, SELECT {wanted}...)."
                )));
            }
            [one] => keys.push(*one),
            [first, second, ..] => {
                return Err(invalid(format!(
                    "The projection contains a key column (`{}`) more than once, aliased as: {} and {}.",
                    wanted.replacen('.', "_", 1),
                    items[*first].name,
                    items[*second].name
                )));
            }
        }
    }
    keyed_outputs(&items, &keys, scope)
}

/// Output columns of a join and which one is the key.
// The planner's context is passed piecewise so each piece stays borrowed, not cloned.
#[allow(clippy::too_many_arguments)]
fn project_join(
    query: &Query,
    sink_name: &str,
    scope: &Scope,
    sources: &[(Source, String)],
    top: &JoinLevel,
    join_expressions: &[String],
    synthetic: Option<&str>,
    transient: bool,
) -> PResult<Vec<OutputColumn>> {
    let kind = top.kind;
    let in_both = |name: &str| {
        let pseudo = PSEUDO_COLUMNS.iter().any(|(p, _)| *p == name);
        pseudo
            || sources
                .iter()
                .filter(|(s, _)| s.schema.find(name).is_some())
                .count()
                > 1
    };
    let partition_by =
        (!transient && !query.partition_by.is_empty()).then_some(&query.partition_by);
    let item = |alias: &str, name: &str| Item {
        name: format!("{alias}_{name}"),
        expr: Expr::Column {
            qualifier: Some(alias.to_string()),
            name: name.to_string(),
            location: Default::default(),
        },
    };
    let star = |source: &Source, alias: &str| -> Vec<Item> {
        if partition_by.is_none() {
            // A windowed source's window bounds follow its key.
            let keys = source.schema.key_columns().map(|c| c.name.as_str());
            let bounds = ["WINDOWSTART", "WINDOWEND"]
                .into_iter()
                .filter(|_| source.window.is_some());
            let values = source
                .schema
                .columns
                .iter()
                .filter(|c| c.kind != ColumnKind::Key)
                .map(|c| c.name.as_str());
            return keys
                .chain(bounds)
                .chain(values)
                .map(|name| item(alias, name))
                .collect();
        }
        // Re-partitioned join results are projected from the joined rows, which hold each
        // source's value columns, its system columns, then its key columns.
        let values = source.schema.value_columns().map(|c| c.name.as_str());
        let system = PSEUDO_COLUMNS.iter().map(|(name, _)| *name);
        let keys = source.schema.key_columns().map(|c| c.name.as_str());
        values
            .chain(system)
            .chain(keys)
            .map(|name| item(alias, name))
            .collect()
    };
    let mut items: Vec<Item> = Vec::new();
    let mut generated = 0usize;
    let mut unqualified_star = false;
    for s in &query.select {
        match s {
            SelectItem::Wildcard => {
                unqualified_star = true;
                for (source, alias) in sources {
                    items.extend(star(source, alias));
                }
            }
            SelectItem::QualifiedWildcard(q) => match sources.iter().find(|(_, a)| a == q) {
                Some((source, alias)) => items.extend(star(source, alias)),
                None => {
                    return Err(invalid(format!(
                        "'{q}' is not a valid stream/table name or alias."
                    )));
                }
            },
            SelectItem::Expr {
                expr: Expr::StructAll(base),
                ..
            } => {
                let c = ExprCompiler::new(scope, Clause::Select).compile(base)?;
                let Some(SqlType::Struct(fields)) = c.ty else {
                    return Err(invalid(format!(
                        "Expected STRUCT type for {}->*",
                        expr_to_sql(base)
                    )));
                };
                for f in fields {
                    items.push(Item {
                        name: f.name.clone(),
                        expr: Expr::Dereference {
                            expr: base.clone(),
                            field: f.name,
                        },
                    });
                }
            }
            SelectItem::Expr { expr, alias } => {
                let name = match (alias, expr) {
                    (Some(a), _) => a.clone(),
                    (
                        None,
                        Expr::Column {
                            qualifier: Some(q),
                            name,
                            ..
                        },
                    ) if in_both(name) => format!("{q}_{name}"),
                    (None, Expr::Column { name, .. }) => name.clone(),
                    (None, Expr::Dereference { field, .. }) => field.clone(),
                    (None, _) => generated_name(&items, &mut generated),
                };
                items.push(Item {
                    name,
                    expr: expr.clone(),
                });
            }
        }
    }
    for item in &items {
        super::check_reserved_name(&item.name, false)?;
    }

    // Resolves an unqualified column to the side that has it, for comparing expressions.
    let resolve = |e: &Expr| -> String {
        let resolved = match e {
            Expr::Column {
                qualifier: None,
                name,
                location,
            } => match scope
                .columns
                .iter()
                .find(|c| &c.name == name && c.source.is_some())
                .and_then(|c| c.source.clone())
            {
                Some(q) => Expr::Column {
                    qualifier: Some(q),
                    name: name.clone(),
                    location: *location,
                },
                None => e.clone(),
            },
            other => other.clone(),
        };
        expr_to_sql(&resolved)
    };

    if let Some(exprs) = partition_by {
        return project_partitioned(
            items,
            exprs,
            scope,
            sink_name,
            top,
            unqualified_star,
            &resolve,
        );
    }

    let key_indices: Vec<usize> = if transient {
        // A push or pull query writes no topic: any projection goes.
        Vec::new()
    } else {
        match (synthetic, kind) {
            (Some(rowkey), _) => {
                let found = items.iter().position(|item| {
                matches!(&item.expr, Expr::Column { qualifier: None, name, .. } if name == rowkey)
            });
                match found {
                    Some(i) => vec![i],
                    None if unqualified_star => {
                        // `SELECT *` carries the synthetic key implicitly.
                        items.insert(
                            0,
                            Item {
                                name: rowkey.to_string(),
                                expr: Expr::Column {
                                    qualifier: None,
                                    name: rowkey.to_string(),
                                    location: Default::default(),
                                },
                            },
                        );
                        vec![0]
                    }
                    None => {
                        return Err(invalid(format!(
                            "Key missing from projection (ie, SELECT). See https://cnfl.io/2LV7ouS.\nThe query used to build `{sink_name}` must include the join expression {rowkey} in its projection (eg, SELECT {rowkey}...).\n{rowkey} was added as a synthetic key column because the join criteria did not match any source column."
                        )));
                    }
                }
            }
            (None, JoinKind::ForeignKey) => {
                // The result of a foreign-key join is keyed by the left table's primary key.
                let (left_source, left_alias) = (&sources[0].0, sources[0].1.as_str());
                // Every primary key column must be projected.
                if let Some(missing) = left_source.schema.key_columns().find(|c| {
                    let wanted = format!("{left_alias}.{}", c.name);
                    !items.iter().any(|item| resolve(&item.expr) == wanted)
                }) {
                    return Err(invalid(format!(
                        "Primary key column missing in projection. For foreign-key table-table joins, the projection must include all primary key columns from the left input table (`{left_alias}`). Missing column: `{}`.",
                        missing.name
                    )));
                }
                // Each primary key column, in the table's order, is a key of the result.
                let mut keys = Vec::new();
                for pk in left_source.schema.key_columns() {
                    let pk_sql = format!("{left_alias}.{}", pk.name);
                    let matching = items_resolving_to(&items, &resolve, &pk_sql);
                    match matching.as_slice() {
                        [one] => keys.push(*one),
                        [first, second, ..] => {
                            let mut names =
                                [items[*first].name.clone(), items[*second].name.clone()];
                            names.sort();
                            return Err(invalid(format!(
                                "The projection contains a key column (`{left_alias}_{}`) more than once, aliased as: {} and {}.",
                                pk.name, names[0], names[1]
                            )));
                        }
                        // Checked above: every primary key column is projected.
                        [] => {}
                    }
                }
                keys
            }
            (None, _) => {
                let mut key: Option<(usize, String)> = None;
                // The join key is named by the projected join expression that the joins list
                // first (left sides before right ones).
                let rank = |r: &str| join_expressions.iter().position(|e| e == r);
                for (i, item) in items.iter().enumerate() {
                    let resolved = resolve(&item.expr);
                    let Some(r) = rank(&resolved) else {
                        continue;
                    };
                    match &key {
                        None => key = Some((i, resolved)),
                        Some((_, first)) if rank(first).is_some_and(|f| r < f) => {
                            key = Some((i, resolved));
                        }
                        Some((k, first)) if *first == resolved => {
                            let internal = first.replacen('.', "_", 1);
                            let mut names = [items[*k].name.clone(), item.name.clone()];
                            names.sort();
                            return Err(invalid(format!(
                                "The projection contains a key column (`{internal}`) more than once, aliased as: {} and {}.",
                                names[0], names[1]
                            )));
                        }
                        _ => {}
                    }
                }
                match key {
                    Some((i, _)) => vec![i],
                    None => {
                        let listed = match join_expressions {
                            [one] => one.clone(),
                            [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
                            [] => String::new(),
                        };
                        let example = join_expressions.first().cloned().unwrap_or_default();
                        return Err(invalid(format!(
                            "The query used to build `{sink_name}` must include the join expression{} {listed} in its projection (eg, SELECT {example}...).",
                            if join_expressions.len() > 1 { "s" } else { "" }
                        )));
                    }
                }
            }
        }
    };

    keyed_outputs(&items, &key_indices, scope)
}
