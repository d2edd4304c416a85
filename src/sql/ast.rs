//! The statements and expressions of ksqlDB's dialect.
//!
//! Identifiers are stored already normalised: unquoted ones upper-cased, quoted ones as written.

use std::collections::BTreeMap;
use std::fmt;

use crate::types::SqlType;

/// A position in the statement text (1-based line and column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Location {
    pub line: u64,
    pub column: u64,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}:{}", self.line, self.column)
    }
}

/// A parsed statement together with the text it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedStatement {
    pub statement: Statement,
    /// The statement's own text, trimmed, with its terminating semicolon.
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    Stream,
    Table,
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SourceKind::Stream => "STREAM",
            SourceKind::Table => "TABLE",
        })
    }
}

/// A `WITH (...)` property value.
#[derive(Debug, Clone, PartialEq)]
pub enum PropertyValue {
    String(String),
    Number(String),
    Boolean(bool),
}

impl PropertyValue {
    /// The value as text, as ksqlDB reads properties.
    pub fn as_text(&self) -> String {
        match self {
            PropertyValue::String(s) | PropertyValue::Number(s) => s.clone(),
            PropertyValue::Boolean(b) => b.to_string(),
        }
    }
}

/// `WITH (...)` properties keyed by upper-cased name.
pub type Properties = BTreeMap<String, PropertyValue>;

/// How a declared column is bound to the record.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnConstraint {
    None,
    Key,
    PrimaryKey,
    Headers,
    Header(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDef {
    pub name: String,
    pub ty: SqlType,
    pub constraint: ColumnConstraint,
    pub location: Location,
}

/// `CREATE [OR REPLACE] [SOURCE] STREAM|TABLE [IF NOT EXISTS] name (columns) WITH (...)`.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateSource {
    pub kind: SourceKind,
    pub name: String,
    pub columns: Vec<ColumnDef>,
    pub properties: Properties,
    pub or_replace: bool,
    pub if_not_exists: bool,
    pub read_only: bool,
}

/// `CREATE [OR REPLACE] STREAM|TABLE name [WITH (...)] AS SELECT ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateAsSelect {
    pub kind: SourceKind,
    pub name: String,
    pub properties: Properties,
    pub query: Query,
    pub or_replace: bool,
    pub if_not_exists: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ShowKind {
    Streams,
    Tables,
    /// SHOW TOPICS hides ksqlDB's hidden topics (`ksql.hidden.topics`); SHOW ALL TOPICS not.
    Topics {
        all: bool,
    },
    Queries,
    Properties,
    Types,
    Functions,
    Variables,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AssertKind {
    /// `ASSERT [NOT EXISTS] TOPIC name [WITH (...)] [TIMEOUT ...]`.
    Topic {
        name: String,
        properties: Properties,
        exists: bool,
    },
    /// `ASSERT [NOT EXISTS] SCHEMA ...`.
    Schema { exists: bool },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    CreateSource(CreateSource),
    CreateAsSelect(CreateAsSelect),
    InsertInto {
        target: String,
        properties: Properties,
        query: Query,
    },
    InsertValues {
        target: String,
        columns: Option<Vec<String>>,
        values: Vec<Expr>,
    },
    /// `ALTER STREAM|TABLE name ADD [COLUMN] col type, …`: new value columns.
    Alter {
        kind: SourceKind,
        name: String,
        columns: Vec<(String, SqlType)>,
    },
    Drop {
        kind: SourceKind,
        name: String,
        if_exists: bool,
        delete_topic: bool,
    },
    CreateType {
        name: String,
        ty: SqlType,
        if_not_exists: bool,
    },
    DropType {
        name: String,
        if_exists: bool,
    },
    Set {
        name: String,
        value: String,
    },
    Unset {
        name: String,
    },
    Define {
        name: String,
        value: String,
    },
    Undefine {
        name: String,
    },
    Show {
        kind: ShowKind,
        extended: bool,
    },
    DescribeSource {
        name: String,
        extended: bool,
    },
    DescribeFunction {
        name: String,
    },
    DescribeStreams {
        kind: SourceKind,
        extended: bool,
    },
    Explain(ExplainTarget),
    Terminate {
        query_id: Option<String>,
    },
    Query(Query),
    Assert(AssertKind),
    Print {
        topic: String,
        from_beginning: bool,
        /// Every `interval`th record is printed (INTERVAL or SAMPLE; 1 when absent).
        interval: Option<u64>,
        limit: Option<u64>,
    },
}

impl Statement {
    /// Whether the statement only reads: queries, listings and descriptions, and the settings
    /// that last one request. A read-only user may run these and nothing else.
    pub fn only_reads(&self) -> bool {
        matches!(
            self,
            Statement::Query(_)
                | Statement::Print { .. }
                | Statement::Show { .. }
                | Statement::DescribeSource { .. }
                | Statement::DescribeFunction { .. }
                | Statement::DescribeStreams { .. }
                | Statement::Explain(_)
                | Statement::Assert(_)
                | Statement::Set { .. }
                | Statement::Unset { .. }
        )
    }

    /// Whether the statement adds, changes or removes sources, types or queries: a command,
    /// applied in order and numbered (ksqlDB's command topic).
    pub fn changes_catalog(&self) -> bool {
        matches!(
            self,
            Statement::CreateSource(_)
                | Statement::CreateAsSelect(_)
                | Statement::InsertInto { .. }
                | Statement::Drop { .. }
                | Statement::Alter { .. }
                | Statement::CreateType { .. }
                | Statement::DropType { .. }
                | Statement::Terminate { .. }
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExplainTarget {
    QueryId(String),
    Statement(Box<Statement>),
}

/// A SELECT.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub select: Vec<SelectItem>,
    pub from: Relation,
    pub window: Option<WindowSpec>,
    pub where_clause: Option<Expr>,
    pub group_by: Vec<Expr>,
    pub partition_by: Vec<Expr>,
    pub having: Option<Expr>,
    pub emit: Option<Emit>,
    pub limit: Option<u64>,
    pub location: Location,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emit {
    Changes,
    Final,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SelectItem {
    /// `expr [AS alias]`.
    Expr { expr: Expr, alias: Option<String> },
    /// `*`.
    Wildcard,
    /// `source.*`.
    QualifiedWildcard(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Relation {
    Source {
        name: String,
        alias: Option<String>,
        location: Location,
    },
    Join(Box<Join>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinType {
    Inner,
    Left,
    Right,
    Full,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Join {
    pub left: Relation,
    pub right: Relation,
    pub join_type: JoinType,
    pub on: Expr,
    pub within: Option<JoinWindow>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JoinWindow {
    pub before_ms: i64,
    pub after_ms: i64,
    pub grace_ms: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowType {
    Tumbling,
    Hopping,
    Session,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowSpec {
    pub window_type: WindowType,
    pub size_ms: i64,
    pub advance_ms: Option<i64>,
    pub retention_ms: Option<i64>,
    pub grace_ms: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Plus,
    Minus,
    Multiply,
    Divide,
    Modulo,
    Concat,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    And,
    Or,
}

impl BinaryOp {
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Eq
                | BinaryOp::NotEq
                | BinaryOp::Lt
                | BinaryOp::LtEq
                | BinaryOp::Gt
                | BinaryOp::GtEq
        )
    }

    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Plus => "+",
            BinaryOp::Minus => "-",
            BinaryOp::Multiply => "*",
            BinaryOp::Divide => "/",
            BinaryOp::Modulo => "%",
            BinaryOp::Concat => "||",
            BinaryOp::Eq => "=",
            BinaryOp::NotEq => "<>",
            BinaryOp::Lt => "<",
            BinaryOp::LtEq => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::GtEq => ">=",
            BinaryOp::And => "AND",
            BinaryOp::Or => "OR",
        }
    }

    /// ksqlDB's name for a comparison, as its error messages use it.
    pub fn ksql_name(self) -> &'static str {
        match self {
            BinaryOp::Eq => "EQUAL",
            BinaryOp::NotEq => "NOT_EQUAL",
            BinaryOp::Lt => "LESS_THAN",
            BinaryOp::LtEq => "LESS_THAN_OR_EQUAL",
            BinaryOp::Gt => "GREATER_THAN",
            BinaryOp::GtEq => "GREATER_THAN_OR_EQUAL",
            BinaryOp::Plus => "ADD",
            BinaryOp::Minus => "SUBTRACT",
            BinaryOp::Multiply => "MULTIPLY",
            BinaryOp::Divide => "DIVIDE",
            BinaryOp::Modulo => "MODULUS",
            BinaryOp::Concat => "CONCAT",
            BinaryOp::And => "AND",
            BinaryOp::Or => "OR",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Minus,
    Plus,
    Not,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Null,
    Boolean(bool),
    /// An integer literal, as written (INT when it fits, else BIGINT).
    Integer(String),
    /// A literal with a decimal point and no exponent: a DECIMAL in ksqlDB.
    Decimal(String),
    /// A literal with an exponent: a DOUBLE.
    Double(String),
    String(String),
}

/// An expression. Column references are unresolved names until planning.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Column {
        qualifier: Option<String>,
        name: String,
        location: Location,
    },
    Literal(Literal),
    /// `TIMESTAMP '...'`, `DATE '...'`, `TIME '...'`.
    TypedLiteral {
        ty: SqlType,
        value: String,
    },
    Binary {
        op: BinaryOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    Unary {
        op: UnaryOp,
        expr: Box<Expr>,
    },
    IsNull {
        expr: Box<Expr>,
        negated: bool,
    },
    IsDistinctFrom {
        left: Box<Expr>,
        right: Box<Expr>,
        negated: bool,
    },
    Between {
        expr: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
        negated: bool,
    },
    InList {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    Like {
        expr: Box<Expr>,
        pattern: Box<Expr>,
        escape: Option<char>,
        negated: bool,
    },
    Case {
        operand: Option<Box<Expr>>,
        whens: Vec<(Expr, Expr)>,
        else_result: Option<Box<Expr>>,
    },
    Cast {
        expr: Box<Expr>,
        ty: SqlType,
    },
    /// `expr->field`.
    Dereference {
        expr: Box<Expr>,
        field: String,
    },
    /// `expr[index]`.
    Subscript {
        expr: Box<Expr>,
        index: Box<Expr>,
    },
    Function {
        name: String,
        args: Vec<Expr>,
        distinct: bool,
        location: Location,
    },
    /// `COUNT(*)`.
    CountStar {
        location: Location,
    },
    /// `(x, y) => body`.
    Lambda {
        params: Vec<String>,
        body: Box<Expr>,
    },
    /// `ARRAY[a, b]`.
    Array(Vec<Expr>),
    /// `MAP(k := v, ...)`.
    Map(Vec<(Expr, Expr)>),
    /// `STRUCT(name := v, ...)`.
    Struct(Vec<(String, Expr)>),
    /// A time unit argument such as `DAYS` in `DATEADD(DAYS, 1, d)`.
    IntervalUnit(String),
    /// `x->*` in a projection.
    StructAll(Box<Expr>),
}

impl Expr {
    /// Calls `f` on this expression and every expression inside it, outermost first.
    pub fn walk<'e>(&'e self, f: &mut dyn FnMut(&'e Expr)) {
        f(self);
        match self {
            Expr::Column { .. }
            | Expr::Literal(_)
            | Expr::TypedLiteral { .. }
            | Expr::CountStar { .. }
            | Expr::IntervalUnit(_) => {}
            Expr::Binary { left, right, .. } | Expr::IsDistinctFrom { left, right, .. } => {
                left.walk(f);
                right.walk(f);
            }
            Expr::Unary { expr, .. }
            | Expr::IsNull { expr, .. }
            | Expr::Cast { expr, .. }
            | Expr::Dereference { expr, .. }
            | Expr::StructAll(expr) => expr.walk(f),
            Expr::Between {
                expr, low, high, ..
            } => {
                expr.walk(f);
                low.walk(f);
                high.walk(f);
            }
            Expr::InList { expr, list, .. } => {
                expr.walk(f);
                list.iter().for_each(|e| e.walk(f));
            }
            Expr::Like { expr, pattern, .. } => {
                expr.walk(f);
                pattern.walk(f);
            }
            Expr::Case {
                operand,
                whens,
                else_result,
            } => {
                if let Some(o) = operand {
                    o.walk(f);
                }
                for (w, t) in whens {
                    w.walk(f);
                    t.walk(f);
                }
                if let Some(e) = else_result {
                    e.walk(f);
                }
            }
            Expr::Subscript { expr, index } => {
                expr.walk(f);
                index.walk(f);
            }
            Expr::Function { args, .. } | Expr::Array(args) => args.iter().for_each(|e| e.walk(f)),
            Expr::Lambda { body, .. } => body.walk(f),
            Expr::Map(entries) => {
                for (k, v) in entries {
                    k.walk(f);
                    v.walk(f);
                }
            }
            Expr::Struct(fields) => fields.iter().for_each(|(_, e)| e.walk(f)),
        }
    }

    pub fn binary(op: BinaryOp, left: Expr, right: Expr) -> Expr {
        Expr::Binary {
            op,
            left: Box::new(left),
            right: Box::new(right),
        }
    }
}
