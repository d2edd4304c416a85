//! A recursive-descent parser for ksqlDB's statements and expressions, over sqlparser's tokens.
//!
//! sqlparser's own parser cannot express ksqlDB's dialect (KEY columns, `WITH` source
//! properties, `EMIT CHANGES`, `WINDOW TUMBLING`, `->` dereference, `:=` constructors, lambdas),
//! so the grammar in `grammar/ksql.ebnf` is implemented here by hand.

use std::collections::BTreeMap;

use super::ast::*;
use super::error::ParseError;
use super::lexer::{Tok, Token};
use crate::types::{MAX_DECLARED_DECIMAL_PRECISION, SqlType, StructField};

/// Words that end an expression or a select item and so can't be bare aliases.
const RESERVED: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "GROUP",
    "BY",
    "HAVING",
    "PARTITION",
    "WINDOW",
    "EMIT",
    "LIMIT",
    "AS",
    "AND",
    "OR",
    "NOT",
    "JOIN",
    "LEFT",
    "RIGHT",
    "FULL",
    "OUTER",
    "INNER",
    "ON",
    "WITHIN",
    "IS",
    "NULL",
    "BETWEEN",
    "IN",
    "LIKE",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "CAST",
    "TRUE",
    "FALSE",
    "WITH",
    "ESCAPE",
    "VALUES",
    "DISTINCT",
];

/// Resolves the name of a custom type (`CREATE TYPE`) while parsing.
pub type TypeResolver<'a> = &'a dyn Fn(&str) -> Option<SqlType>;

pub struct Parser<'a> {
    tokens: Vec<Token>,
    pos: usize,
    types: TypeResolver<'a>,
    /// How deep the expression or type being parsed nests (see [`MAX_NESTING`]).
    depth: usize,
}

/// How deep an expression or a type may nest. Parentheses, NOT, signs, CASE, casts,
/// subscripts, dereferences, constructors, lambdas and function calls each count a level, and
/// so does each operator of a chain (`a + b + c` is a tree two deep). Every stage after the
/// parser (planning, evaluation, dropping the tree) walks these trees recursively: the bound
/// keeps them all within their threads' stacks.
pub const MAX_NESTING: usize = 128;

type PResult<T> = Result<T, ParseError>;

impl<'a> Parser<'a> {
    pub fn new(tokens: Vec<Token>, types: TypeResolver<'a>) -> Parser<'a> {
        Parser {
            tokens,
            pos: 0,
            types,
            depth: 0,
        }
    }

    // ---- token helpers -------------------------------------------------------------------

    fn peek(&self) -> &Token {
        let i = self.pos.min(self.tokens.len() - 1);
        &self.tokens[i]
    }

    fn peek_at(&self, n: usize) -> &Token {
        let i = (self.pos + n).min(self.tokens.len() - 1);
        &self.tokens[i]
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if self.pos < self.tokens.len() {
            self.pos += 1;
        }
        t
    }

    fn location(&self) -> Location {
        self.peek().location
    }

    /// Whether the next token is the unquoted keyword `kw`.
    fn at_keyword(&self, kw: &str) -> bool {
        is_keyword(self.peek(), kw)
    }

    fn at_keyword_n(&self, n: usize, kw: &str) -> bool {
        is_keyword(self.peek_at(n), kw)
    }

    fn eat_keyword(&mut self, kw: &str) -> bool {
        if self.at_keyword(kw) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn eat_keywords(&mut self, kws: &[&str]) -> bool {
        if kws
            .iter()
            .enumerate()
            .all(|(i, kw)| self.at_keyword_n(i, kw))
        {
            self.pos += kws.len();
            true
        } else {
            false
        }
    }

    fn expect_keyword(&mut self, kw: &str) -> PResult<()> {
        if self.eat_keyword(kw) {
            Ok(())
        } else {
            Err(self.unexpected(&format!("'{kw}'")))
        }
    }

    fn at_sym(&self, sym: &str) -> bool {
        matches!(&self.peek().tok, Tok::Sym(s) if *s == sym)
    }

    fn eat_sym(&mut self, sym: &str) -> bool {
        if self.at_sym(sym) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect_sym(&mut self, sym: &str) -> PResult<()> {
        if self.eat_sym(sym) {
            return Ok(());
        }
        // `>>` closes two nested type parameter lists.
        if sym == ">" && self.at_sym(">>") {
            let location = self.location();
            self.tokens[self.pos] = Token {
                tok: Tok::Sym(">"),
                location: Location {
                    line: location.line,
                    column: location.column + 1,
                },
            };
            return Ok(());
        }
        // A list separator where a parenthesis should close: ksqlDB's parser reports the
        // token it would insert.
        if sym == ")" && self.at_sym(",") {
            return Err(ParseError::new(
                "Syntax Error\nmissing ')' at ','".to_string(),
                self.peek().location,
            ));
        }
        Err(self.unexpected(&format!("'{sym}'")))
    }

    /// Goes a level deeper into an expression or type, refusing to pass [`MAX_NESTING`]. A
    /// failed parse is thrown away, so only the way out of a successful one calls `leave`.
    fn enter(&mut self) -> PResult<()> {
        if self.depth >= MAX_NESTING {
            return Err(ParseError::new(
                format!(
                    "The statement nests expressions or types more than {MAX_NESTING} levels deep, which is more than Sluice accepts"
                ),
                self.peek().location,
            ));
        }
        self.depth += 1;
        Ok(())
    }

    fn leave(&mut self, levels: usize) {
        self.depth -= levels;
    }

    fn unexpected(&self, expected: &str) -> ParseError {
        let t = self.peek();
        if t.tok == Tok::Eof {
            return ParseError::new(
                format!("Syntax Error\nUnexpected end of statement, expecting {expected}"),
                t.location,
            );
        }
        ParseError::new(
            format!(
                "Syntax Error\nSyntax error at or near '{}', expecting {expected}",
                t.describe()
            ),
            t.location,
        )
    }

    /// An identifier: unquoted ones are upper-cased, quoted ones kept as written.
    fn identifier(&mut self) -> PResult<String> {
        match &self.peek().tok {
            Tok::Word { value, quoted } => {
                let name = if *quoted {
                    value.clone()
                } else {
                    value.to_uppercase()
                };
                self.pos += 1;
                Ok(name)
            }
            _ => Err(self.unexpected("an identifier")),
        }
    }

    /// A source or type name: an identifier that may also be written as a number-led word.
    fn name(&mut self) -> PResult<String> {
        self.identifier()
    }

    fn at_reserved(&self) -> bool {
        match &self.peek().tok {
            Tok::Word {
                value,
                quoted: false,
            } => RESERVED.iter().any(|r| value.eq_ignore_ascii_case(r)),
            _ => false,
        }
    }

    // ---- statements ----------------------------------------------------------------------

    /// Parses exactly one statement, followed by an optional `;`.
    pub fn parse_statement(&mut self) -> PResult<Statement> {
        let statement = self.statement()?;
        self.eat_sym(";");
        if self.peek().tok != Tok::Eof {
            return Err(self.unexpected("';'"));
        }
        Ok(statement)
    }

    fn statement(&mut self) -> PResult<Statement> {
        let t = self.peek().clone();
        let Tok::Word {
            value,
            quoted: false,
        } = &t.tok
        else {
            return Err(ParseError::new(
                format!("Syntax Error\nUnknown statement '{}'", t.describe()),
                t.location,
            ));
        };
        match value.to_uppercase().as_str() {
            "CREATE" => self.create(),
            "INSERT" => self.insert(),
            "DROP" => self.drop(),
            "ALTER" => self.alter(),
            "SET" => {
                self.next();
                let name = self.string_literal()?;
                self.expect_sym("=")?;
                let value = self.string_literal()?;
                Ok(Statement::Set { name, value })
            }
            "UNSET" => {
                self.next();
                let name = self.string_literal()?;
                Ok(Statement::Unset { name })
            }
            "DEFINE" => {
                self.next();
                let name = self.raw_identifier()?;
                self.expect_sym("=")?;
                let value = self.string_literal()?;
                Ok(Statement::Define { name, value })
            }
            "UNDEFINE" => {
                self.next();
                let name = self.raw_identifier()?;
                Ok(Statement::Undefine { name })
            }
            "SHOW" | "LIST" => self.show(),
            "DESCRIBE" => self.describe(),
            "EXPLAIN" => {
                self.next();
                if self.at_keyword("SELECT")
                    || self.at_keyword("CREATE")
                    || self.at_keyword("INSERT")
                {
                    Ok(Statement::Explain(ExplainTarget::Statement(Box::new(
                        self.statement()?,
                    ))))
                } else {
                    Ok(Statement::Explain(ExplainTarget::QueryId(self.query_id()?)))
                }
            }
            "TERMINATE" => {
                self.next();
                if self.eat_keyword("ALL") {
                    Ok(Statement::Terminate { query_id: None })
                } else {
                    Ok(Statement::Terminate {
                        query_id: Some(self.query_id()?),
                    })
                }
            }
            "SELECT" => Ok(Statement::Query(self.query()?)),
            "ASSERT" => self.assert(),
            "PRINT" => {
                self.next();
                let topic = match &self.peek().tok {
                    Tok::Str(s) => {
                        let s = s.clone();
                        self.next();
                        s
                    }
                    _ => self.raw_identifier()?,
                };
                let from_beginning = self.eat_keywords(&["FROM", "BEGINNING"]);
                let interval = if self.eat_keyword("INTERVAL") || self.eat_keyword("SAMPLE") {
                    Some(self.int_count("INTERVAL")?)
                } else {
                    None
                };
                let limit = if self.eat_keyword("LIMIT") {
                    Some(self.int_count("LIMIT")?)
                } else {
                    None
                };
                Ok(Statement::Print {
                    topic,
                    from_beginning,
                    interval,
                    limit,
                })
            }
            _ => Err(ParseError::new(
                format!("Syntax Error\nUnknown statement '{}'", value),
                t.location,
            )),
        }
    }

    fn query_id(&mut self) -> PResult<String> {
        match &self.peek().tok {
            Tok::Word { value, .. } => {
                let v = value.clone();
                self.next();
                Ok(v)
            }
            Tok::Str(s) => {
                let v = s.clone();
                self.next();
                Ok(v)
            }
            _ => Err(self.unexpected("a query id")),
        }
    }

    /// An identifier kept exactly as written (variable names, topic names).
    fn raw_identifier(&mut self) -> PResult<String> {
        match &self.peek().tok {
            Tok::Word { value, .. } => {
                let v = value.clone();
                self.next();
                Ok(v)
            }
            _ => Err(self.unexpected("an identifier")),
        }
    }

    fn string_literal(&mut self) -> PResult<String> {
        match &self.peek().tok {
            Tok::Str(s) => {
                let s = s.clone();
                self.next();
                Ok(s)
            }
            _ => Err(self.unexpected("a string literal")),
        }
    }

    /// A clause's count (LIMIT, INTERVAL): an INT, as ksqlDB reads it.
    fn int_count(&mut self, clause: &str) -> PResult<u64> {
        let location = self.peek().location;
        let value = self.unsigned()?;
        if value > i32::MAX as u64 {
            return Err(ParseError::new(
                format!("{clause} must be at most {}, not {value}", i32::MAX),
                location,
            ));
        }
        Ok(value)
    }

    fn unsigned(&mut self) -> PResult<u64> {
        let t = self.peek().clone();
        match &t.tok {
            Tok::Number(n) => {
                self.next();
                n.parse::<u64>().map_err(|_| {
                    ParseError::new(
                        format!("Syntax Error\nInvalid integer value: {n}"),
                        t.location,
                    )
                })
            }
            _ => Err(self.unexpected("INTEGER_VALUE")),
        }
    }

    fn create(&mut self) -> PResult<Statement> {
        self.expect_keyword("CREATE")?;
        let or_replace = self.eat_keywords(&["OR", "REPLACE"]);
        let read_only = self.eat_keyword("SOURCE");
        let kind = if self.eat_keyword("STREAM") {
            SourceKind::Stream
        } else if self.eat_keyword("TABLE") {
            SourceKind::Table
        } else if !read_only && self.eat_keyword("TYPE") {
            let if_not_exists = self.eat_keywords(&["IF", "NOT", "EXISTS"]);
            let name = self.name()?;
            self.expect_keyword("AS")?;
            let ty = self.data_type()?;
            return Ok(Statement::CreateType {
                name,
                ty,
                if_not_exists,
            });
        } else {
            return Err(self.unexpected("STREAM, TABLE or TYPE"));
        };
        let if_not_exists = self.eat_keywords(&["IF", "NOT", "EXISTS"]);
        let name = self.name()?;
        let columns = if self.at_sym("(") {
            self.column_defs()?
        } else {
            Vec::new()
        };
        let properties = self.with_properties()?;
        if self.eat_keyword("AS") {
            if !columns.is_empty() || read_only {
                return Err(self.unexpected("SELECT"));
            }
            let query = self.query()?;
            return Ok(Statement::CreateAsSelect(CreateAsSelect {
                kind,
                name,
                properties,
                query,
                or_replace,
                if_not_exists,
            }));
        }
        Ok(Statement::CreateSource(CreateSource {
            kind,
            name,
            columns,
            properties,
            or_replace,
            if_not_exists,
            read_only,
        }))
    }

    fn column_defs(&mut self) -> PResult<Vec<ColumnDef>> {
        self.expect_sym("(")?;
        let mut columns = Vec::new();
        loop {
            let location = self.location();
            let name = self.identifier()?;
            let ty = self.data_type()?;
            let constraint = if self.eat_keywords(&["PRIMARY", "KEY"]) {
                ColumnConstraint::PrimaryKey
            } else if self.eat_keyword("KEY") {
                ColumnConstraint::Key
            } else if self.eat_keyword("HEADERS") {
                ColumnConstraint::Headers
            } else if self.eat_keyword("HEADER") {
                self.expect_sym("(")?;
                let key = self.string_literal()?;
                self.expect_sym(")")?;
                ColumnConstraint::Header(key)
            } else {
                ColumnConstraint::None
            };
            columns.push(ColumnDef {
                name,
                ty,
                constraint,
                location,
            });
            if !self.eat_sym(",") {
                break;
            }
        }
        if !self.eat_sym(")") {
            return Err(self.expecting_list(&["','", "')'"]));
        }
        Ok(columns)
    }

    fn expecting_list(&self, options: &[&str]) -> ParseError {
        ParseError::new(
            format!("Syntax Error\nExpecting {{{}}}", options.join(", ")),
            self.location(),
        )
    }

    fn with_properties(&mut self) -> PResult<Properties> {
        let mut properties = BTreeMap::new();
        if !self.eat_keyword("WITH") {
            return Ok(properties);
        }
        self.expect_sym("(")?;
        loop {
            let name = match &self.peek().tok {
                Tok::Word { value, .. } => value.to_uppercase(),
                Tok::Str(s) => s.to_uppercase(),
                _ => return Err(self.unexpected("a property name")),
            };
            self.next();
            self.expect_sym("=")?;
            let negative = self.eat_sym("-");
            let value = match &self.peek().tok {
                Tok::Str(s) => PropertyValue::String(s.clone()),
                Tok::Number(n) if negative => PropertyValue::Number(format!("-{n}")),
                Tok::Number(n) => PropertyValue::Number(n.clone()),
                Tok::Word {
                    value,
                    quoted: false,
                } if value.eq_ignore_ascii_case("true") => PropertyValue::Boolean(true),
                Tok::Word {
                    value,
                    quoted: false,
                } if value.eq_ignore_ascii_case("false") => PropertyValue::Boolean(false),
                _ => return Err(self.unexpected("a literal")),
            };
            self.next();
            properties.insert(name, value);
            if !self.eat_sym(",") {
                break;
            }
        }
        self.expect_sym(")")?;
        Ok(properties)
    }

    fn insert(&mut self) -> PResult<Statement> {
        self.expect_keyword("INSERT")?;
        self.expect_keyword("INTO")?;
        let target = self.name()?;
        let columns = if self.at_sym("(") {
            self.next();
            let mut cols = vec![self.identifier()?];
            while self.eat_sym(",") {
                cols.push(self.identifier()?);
            }
            self.expect_sym(")")?;
            Some(cols)
        } else {
            None
        };
        if self.eat_keyword("VALUES") {
            let values = self.value_list()?;
            return Ok(Statement::InsertValues {
                target,
                columns,
                values,
            });
        }
        if columns.is_some() {
            return Err(self.unexpected("VALUES"));
        }
        let properties = self.with_properties()?;
        let query = self.query()?;
        Ok(Statement::InsertInto {
            target,
            properties,
            query,
        })
    }

    fn value_list(&mut self) -> PResult<Vec<Expr>> {
        self.expect_sym("(")?;
        let mut values = Vec::new();
        if !self.at_sym(")") {
            values.push(self.expr()?);
            while self.eat_sym(",") {
                values.push(self.expr()?);
            }
        }
        self.expect_sym(")")?;
        Ok(values)
    }

    fn alter(&mut self) -> PResult<Statement> {
        self.expect_keyword("ALTER")?;
        let kind = if self.eat_keyword("STREAM") {
            SourceKind::Stream
        } else if self.eat_keyword("TABLE") {
            SourceKind::Table
        } else {
            return Err(self.unexpected("STREAM or TABLE"));
        };
        let name = self.name()?;
        let mut columns = Vec::new();
        loop {
            self.expect_keyword("ADD")?;
            self.eat_keyword("COLUMN");
            let column = self.identifier()?;
            let ty = self.data_type()?;
            columns.push((column, ty));
            if !self.eat_sym(",") {
                break;
            }
        }
        Ok(Statement::Alter {
            kind,
            name,
            columns,
        })
    }

    fn drop(&mut self) -> PResult<Statement> {
        self.expect_keyword("DROP")?;
        let kind = if self.eat_keyword("STREAM") {
            SourceKind::Stream
        } else if self.eat_keyword("TABLE") {
            SourceKind::Table
        } else if self.eat_keyword("TYPE") {
            let if_exists = self.eat_keywords(&["IF", "EXISTS"]);
            let name = self.name()?;
            return Ok(Statement::DropType { name, if_exists });
        } else {
            return Err(self.unexpected("STREAM, TABLE or TYPE"));
        };
        let if_exists = self.eat_keywords(&["IF", "EXISTS"]);
        let name = self.name()?;
        let delete_topic = self.eat_keywords(&["DELETE", "TOPIC"]);
        Ok(Statement::Drop {
            kind,
            name,
            if_exists,
            delete_topic,
        })
    }

    fn show(&mut self) -> PResult<Statement> {
        self.next();
        let kind = match self.identifier()?.as_str() {
            "STREAMS" => ShowKind::Streams,
            "TABLES" => ShowKind::Tables,
            "TOPICS" => ShowKind::Topics { all: false },
            "QUERIES" => ShowKind::Queries,
            "PROPERTIES" => ShowKind::Properties,
            "TYPES" => ShowKind::Types,
            "FUNCTIONS" => ShowKind::Functions,
            "VARIABLES" => ShowKind::Variables,
            "ALL" if self.eat_keyword("TOPICS") => ShowKind::Topics { all: true },
            _ => {
                self.pos -= 1;
                return Err(self.unexpected(
                    "STREAMS, TABLES, TOPICS, QUERIES, PROPERTIES, TYPES, FUNCTIONS or VARIABLES",
                ));
            }
        };
        let extended = self.eat_keyword("EXTENDED");
        Ok(Statement::Show { kind, extended })
    }

    fn describe(&mut self) -> PResult<Statement> {
        self.next();
        if self.eat_keyword("FUNCTION") {
            let name = self.identifier()?;
            return Ok(Statement::DescribeFunction { name });
        }
        if self.at_keyword("STREAMS") || self.at_keyword("TABLES") {
            let kind = if self.eat_keyword("STREAMS") {
                SourceKind::Stream
            } else {
                self.next();
                SourceKind::Table
            };
            let extended = self.eat_keyword("EXTENDED");
            return Ok(Statement::DescribeStreams { kind, extended });
        }
        let name = self.name()?;
        let extended = self.eat_keyword("EXTENDED");
        Ok(Statement::DescribeSource { name, extended })
    }

    fn assert(&mut self) -> PResult<Statement> {
        self.expect_keyword("ASSERT")?;
        let exists = !self.eat_keywords(&["NOT", "EXISTS"]);
        if self.eat_keyword("TOPIC") {
            let name = match &self.peek().tok {
                Tok::Str(s) => {
                    let s = s.clone();
                    self.next();
                    s
                }
                _ => self.raw_identifier()?,
            };
            let properties = self.with_properties()?;
            self.skip_timeout()?;
            return Ok(Statement::Assert(AssertKind::Topic {
                name,
                properties,
                exists,
            }));
        }
        if self.eat_keyword("SCHEMA") {
            while !matches!(self.peek().tok, Tok::Eof | Tok::Sym(";")) {
                self.next();
            }
            return Ok(Statement::Assert(AssertKind::Schema { exists }));
        }
        // ASSERT VALUES / STREAM / TABLE belong to ksqlDB's test tool, not to its server.
        let t = self.peek();
        Err(ParseError::without_location(format!(
            "Syntax error at or near '{}' at line {}:{}",
            t.describe(),
            t.location.line,
            t.location.column
        )))
    }

    fn skip_timeout(&mut self) -> PResult<()> {
        if self.eat_keyword("TIMEOUT") {
            self.unsigned()?;
            self.time_unit()?;
        }
        Ok(())
    }

    // ---- queries -------------------------------------------------------------------------

    pub fn query(&mut self) -> PResult<Query> {
        let location = self.location();
        self.expect_keyword("SELECT")?;
        let mut select = vec![self.select_item()?];
        while self.eat_sym(",") {
            select.push(self.select_item()?);
        }
        self.expect_keyword("FROM")?;
        let from = self.relation()?;
        let window = if self.eat_keyword("WINDOW") {
            Some(self.window_spec()?)
        } else {
            None
        };
        let where_clause = if self.eat_keyword("WHERE") {
            Some(self.expr()?)
        } else {
            None
        };
        let group_by = if self.eat_keywords(&["GROUP", "BY"]) {
            self.expr_list_maybe_parenthesised()?
        } else {
            Vec::new()
        };
        let partition_by = if self.eat_keywords(&["PARTITION", "BY"]) {
            self.expr_list_maybe_parenthesised()?
        } else {
            Vec::new()
        };
        let having = if self.eat_keyword("HAVING") {
            Some(self.expr()?)
        } else {
            None
        };
        let emit = if self.eat_keyword("EMIT") {
            if self.eat_keyword("CHANGES") {
                Some(Emit::Changes)
            } else if self.eat_keyword("FINAL") {
                Some(Emit::Final)
            } else {
                return Err(self.unexpected("CHANGES or FINAL"));
            }
        } else {
            None
        };
        let limit = if self.eat_keyword("LIMIT") {
            if self.at_sym("-") {
                let kind = if emit.is_some() { "Push" } else { "Pull" };
                return Err(ParseError::without_location(format!(
                    "{kind} queries don't support negative integers in the LIMIT clause. See https://cnfl.io/queries for more info."
                )));
            }
            Some(self.int_count("LIMIT")?)
        } else {
            None
        };
        Ok(Query {
            select,
            from,
            window,
            where_clause,
            group_by,
            partition_by,
            having,
            emit,
            limit,
            location,
        })
    }

    /// `a, b` or `(a, b)`; a parenthesised single expression is just that expression. The
    /// items are value expressions: `GROUP BY a AND b` is a syntax error, as in ksqlDB.
    fn expr_list_maybe_parenthesised(&mut self) -> PResult<Vec<Expr>> {
        let start = self.pos;
        if self.eat_sym("(") {
            if self.eat_sym(")") {
                return Ok(Vec::new());
            }
            let mut list = vec![self.additive()?];
            let mut several = false;
            while self.eat_sym(",") {
                several = true;
                list.push(self.additive()?);
            }
            if several && self.eat_sym(")") && !self.continues_expression() {
                return Ok(list);
            }
            self.pos = start;
        }
        let mut list = vec![self.additive()?];
        while self.eat_sym(",") {
            list.push(self.additive()?);
        }
        Ok(list)
    }

    fn continues_expression(&self) -> bool {
        matches!(&self.peek().tok, Tok::Sym(s) if !matches!(*s, ";" | ")"))
            || (!self.at_reserved() && matches!(self.peek().tok, Tok::Word { .. }))
    }

    fn select_item(&mut self) -> PResult<SelectItem> {
        if self.eat_sym("*") {
            return Ok(SelectItem::Wildcard);
        }
        if let (Tok::Word { .. }, Tok::Sym("."), Tok::Sym("*")) =
            (&self.peek().tok, &self.peek_at(1).tok, &self.peek_at(2).tok)
        {
            let source = self.identifier()?;
            self.next();
            self.next();
            return Ok(SelectItem::QualifiedWildcard(source));
        }
        let expr = self.expr()?;
        let expr = if self.at_sym("->") && matches!(self.peek_at(1).tok, Tok::Sym("*")) {
            self.next();
            self.next();
            Expr::StructAll(Box::new(expr))
        } else {
            expr
        };
        let alias = if self.eat_keyword("AS")
            || (matches!(self.peek().tok, Tok::Word { .. }) && !self.at_reserved())
        {
            Some(self.identifier()?)
        } else {
            None
        };
        Ok(SelectItem::Expr { expr, alias })
    }

    fn relation(&mut self) -> PResult<Relation> {
        let mut left = self.aliased_relation()?;
        loop {
            let join_type = if self.eat_keyword("JOIN") || self.eat_keywords(&["INNER", "JOIN"]) {
                JoinType::Inner
            } else if self.eat_keywords(&["LEFT", "JOIN"])
                || self.eat_keywords(&["LEFT", "OUTER", "JOIN"])
            {
                JoinType::Left
            } else if self.eat_keywords(&["RIGHT", "JOIN"])
                || self.eat_keywords(&["RIGHT", "OUTER", "JOIN"])
            {
                JoinType::Right
            } else if self.eat_keywords(&["FULL", "JOIN"])
                || self.eat_keywords(&["FULL", "OUTER", "JOIN"])
                || self.eat_keywords(&["OUTER", "JOIN"])
            {
                JoinType::Full
            } else {
                return Ok(left);
            };
            let right = self.aliased_relation()?;
            let within = if self.eat_keyword("WITHIN") {
                Some(self.join_window()?)
            } else {
                None
            };
            self.expect_keyword("ON")?;
            let on = self.expr()?;
            left = Relation::Join(Box::new(Join {
                left,
                right,
                join_type,
                on,
                within,
            }));
        }
    }

    fn aliased_relation(&mut self) -> PResult<Relation> {
        let location = self.location();
        let name = self.name()?;
        let alias = if self.eat_keyword("AS")
            || (matches!(self.peek().tok, Tok::Word { .. }) && !self.at_reserved())
        {
            Some(self.identifier()?)
        } else {
            None
        };
        Ok(Relation::Source {
            name,
            alias,
            location,
        })
    }

    fn join_window(&mut self) -> PResult<JoinWindow> {
        let (before_ms, after_ms) = if self.eat_sym("(") {
            let before = self.duration()?;
            self.expect_sym(",")?;
            let after = self.duration()?;
            self.expect_sym(")")?;
            (before, after)
        } else {
            let d = self.duration()?;
            (d, d)
        };
        let grace_ms = if self.eat_keywords(&["GRACE", "PERIOD"]) {
            Some(self.duration()?)
        } else {
            None
        };
        Ok(JoinWindow {
            before_ms,
            after_ms,
            grace_ms,
        })
    }

    fn window_spec(&mut self) -> PResult<WindowSpec> {
        let location = self.location();
        let spec = self.window_clauses()?;
        check_window(&spec).map_err(|message| ParseError::new(message, location))?;
        Ok(spec)
    }

    fn window_clauses(&mut self) -> PResult<WindowSpec> {
        // A window may be named: `WINDOW w TUMBLING (…)`.
        if !["TUMBLING", "HOPPING", "SESSION"]
            .iter()
            .any(|kw| self.at_keyword(kw))
            && ["TUMBLING", "HOPPING", "SESSION"]
                .iter()
                .any(|kw| self.at_keyword_n(1, kw))
        {
            self.identifier()?;
        }
        let window_type = match self.identifier()?.as_str() {
            "TUMBLING" => WindowType::Tumbling,
            "HOPPING" => WindowType::Hopping,
            "SESSION" => WindowType::Session,
            _ => {
                self.pos -= 1;
                return Err(self.unexpected("TUMBLING, HOPPING or SESSION"));
            }
        };
        self.expect_sym("(")?;
        let mut spec = WindowSpec {
            window_type,
            size_ms: 0,
            advance_ms: None,
            retention_ms: None,
            grace_ms: None,
        };
        if window_type == WindowType::Session {
            spec.size_ms = self.duration()?;
        }
        loop {
            if window_type != WindowType::Session && self.eat_keyword("SIZE") {
                spec.size_ms = self.duration()?;
            } else if self.eat_keywords(&["ADVANCE", "BY"]) {
                spec.advance_ms = Some(self.duration()?);
            } else if self.eat_keyword("RETENTION") {
                spec.retention_ms = Some(self.duration()?);
            } else if self.eat_keywords(&["GRACE", "PERIOD"]) {
                spec.grace_ms = Some(self.duration()?);
            } else if self.eat_sym(",") {
                continue;
            } else {
                break;
            }
        }
        self.expect_sym(")")?;
        Ok(spec)
    }

    /// `30 SECONDS` as milliseconds; one longer than milliseconds can count is refused.
    fn duration(&mut self) -> PResult<i64> {
        let location = self.location();
        let amount = self.unsigned()?;
        let unit_ms = self.time_unit()?;
        i64::try_from(amount)
            .ok()
            .and_then(|a| a.checked_mul(unit_ms))
            .ok_or_else(|| {
                ParseError::new(
                    format!(
                        "Invalid duration: {amount} of that unit is more than {} milliseconds",
                        i64::MAX
                    ),
                    location,
                )
            })
    }

    fn time_unit(&mut self) -> PResult<i64> {
        let location = self.location();
        let unit = self.identifier()?;
        time_unit_ms(&unit).ok_or_else(|| {
            ParseError::new(
                format!("Syntax Error\nUnknown time unit: '{unit}'"),
                location,
            )
        })
    }

    // ---- types ---------------------------------------------------------------------------

    pub fn data_type(&mut self) -> PResult<SqlType> {
        self.enter()?;
        let ty = self.nested_type();
        self.leave(1);
        ty
    }

    fn nested_type(&mut self) -> PResult<SqlType> {
        let location = self.location();
        let word = match &self.peek().tok {
            Tok::Word { value, quoted } => {
                if *quoted {
                    value.clone()
                } else {
                    value.to_uppercase()
                }
            }
            _ => return Err(self.unexpected("a type")),
        };
        self.next();
        let simple = matches!(
            word.as_str(),
            "BOOLEAN"
                | "INT"
                | "INTEGER"
                | "BIGINT"
                | "DOUBLE"
                | "STRING"
                | "VARCHAR"
                | "BYTES"
                | "DATE"
                | "TIME"
                | "TIMESTAMP"
        );
        if simple && self.at_sym("(") {
            // `VARCHAR(STRING)`: ksqlDB's grammar allows parameters after any simple type.
            self.next();
            loop {
                match &self.peek().tok {
                    Tok::Number(_) => {}
                    Tok::Word {
                        value,
                        quoted: false,
                    } if value.eq_ignore_ascii_case("STRING") => {}
                    _ => return Err(self.expecting_list(&["'STRING'", "INTEGER_VALUE"])),
                }
                self.next();
                if !self.eat_sym(",") {
                    break;
                }
            }
            self.expect_sym(")")?;
            if !matches!(word.as_str(), "STRING" | "VARCHAR") {
                return Err(ParseError::new(
                    format!("Syntax Error\nType {word} does not take parameters"),
                    location,
                ));
            }
        }
        Ok(match word.as_str() {
            "BOOLEAN" => SqlType::Boolean,
            "INT" | "INTEGER" => SqlType::Int,
            "BIGINT" => SqlType::Bigint,
            "DOUBLE" => SqlType::Double,
            "STRING" => SqlType::String,
            "VARCHAR" => SqlType::String,
            "BYTES" => SqlType::Bytes,
            "DATE" => SqlType::Date,
            "TIME" => SqlType::Time,
            "TIMESTAMP" => SqlType::Timestamp,
            "DECIMAL" => {
                self.expect_sym("(")?;
                let p = self.type_param()?;
                self.expect_sym(",")?;
                let s = self.type_param()?;
                self.expect_sym(")")?;
                if p == 0 || p > MAX_DECLARED_DECIMAL_PRECISION as u64 {
                    return Err(ParseError::new(
                        format!(
                            "DECIMAL precision must be between 1 and {MAX_DECLARED_DECIMAL_PRECISION}: {p}"
                        ),
                        location,
                    ));
                }
                if s > p {
                    return Err(ParseError::new(
                        format!(
                            "DECIMAL precision must be >= scale: DECIMAL({p},{s}). Please specify a scale lower than or equal to the precision."
                        ),
                        location,
                    ));
                }
                SqlType::decimal(p as u8, s as u8)
            }
            "ARRAY" => {
                self.expect_sym("<")?;
                let inner = self.data_type()?;
                self.expect_sym(">")?;
                SqlType::Array(Box::new(inner))
            }
            "MAP" => {
                self.expect_sym("<")?;
                let k = self.data_type()?;
                self.expect_sym(",")?;
                let v = self.data_type()?;
                self.expect_sym(">")?;
                SqlType::Map(Box::new(k), Box::new(v))
            }
            "STRUCT" => {
                self.expect_sym("<")?;
                let mut fields = Vec::new();
                if !self.at_sym(">") {
                    loop {
                        let name = match &self.peek().tok {
                            Tok::Word { value, quoted } => {
                                if *quoted {
                                    value.clone()
                                } else {
                                    value.to_uppercase()
                                }
                            }
                            _ => return Err(self.unexpected("a field name")),
                        };
                        self.next();
                        let ty = self.data_type()?;
                        fields.push(StructField { name, ty });
                        if !self.eat_sym(",") {
                            break;
                        }
                    }
                }
                self.expect_sym(">")?;
                SqlType::Struct(fields)
            }
            "NULL" => {
                return Err(ParseError::new(
                    format!(
                        "Syntax Error\nSyntax error at or near 'NULL' at line {}:{}",
                        location.line, location.column
                    ),
                    location,
                ));
            }
            other => match (self.types)(other) {
                Some(t) => t,
                None => {
                    return Err(ParseError::new(format!("Unknown type: {other}"), location));
                }
            },
        })
    }

    fn type_param(&mut self) -> PResult<u64> {
        match &self.peek().tok {
            Tok::Number(_) => self.unsigned(),
            _ => Err(self.expecting_list(&["'STRING'", "INTEGER_VALUE"])),
        }
    }

    // ---- expressions ---------------------------------------------------------------------

    pub fn expr(&mut self) -> PResult<Expr> {
        self.or_expr()
    }

    /// Every sub-expression (parenthesised, an argument, a CASE branch …) is parsed from here,
    /// a level deeper.
    fn or_expr(&mut self) -> PResult<Expr> {
        self.enter()?;
        let mut levels = 1;
        let mut left = self.and_expr()?;
        while self.eat_keyword("OR") {
            self.enter()?;
            levels += 1;
            let right = self.and_expr()?;
            left = Expr::binary(BinaryOp::Or, left, right);
        }
        self.leave(levels);
        Ok(left)
    }

    fn and_expr(&mut self) -> PResult<Expr> {
        let mut levels = 0;
        let mut left = self.not_expr()?;
        while self.eat_keyword("AND") {
            self.enter()?;
            levels += 1;
            let right = self.not_expr()?;
            left = Expr::binary(BinaryOp::And, left, right);
        }
        self.leave(levels);
        Ok(left)
    }

    fn not_expr(&mut self) -> PResult<Expr> {
        if self.eat_keyword("NOT") {
            self.enter()?;
            let inner = self.not_expr()?;
            self.leave(1);
            return Ok(Expr::Unary {
                op: UnaryOp::Not,
                expr: Box::new(inner),
            });
        }
        self.predicate()
    }

    fn predicate(&mut self) -> PResult<Expr> {
        let left = self.additive()?;
        let op = match &self.peek().tok {
            Tok::Sym("=") => Some(BinaryOp::Eq),
            Tok::Sym("<>") => Some(BinaryOp::NotEq),
            Tok::Sym("<") => Some(BinaryOp::Lt),
            Tok::Sym("<=") => Some(BinaryOp::LtEq),
            Tok::Sym(">") => Some(BinaryOp::Gt),
            Tok::Sym(">=") => Some(BinaryOp::GtEq),
            _ => None,
        };
        if let Some(op) = op {
            self.next();
            let right = self.additive()?;
            return Ok(Expr::binary(op, left, right));
        }
        if self.eat_keyword("IS") {
            let negated = self.eat_keyword("NOT");
            if self.eat_keyword("NULL") {
                return Ok(Expr::IsNull {
                    expr: Box::new(left),
                    negated,
                });
            }
            if self.eat_keywords(&["DISTINCT", "FROM"]) {
                let right = self.additive()?;
                return Ok(Expr::IsDistinctFrom {
                    left: Box::new(left),
                    right: Box::new(right),
                    negated,
                });
            }
            return Err(self.unexpected("NULL or DISTINCT FROM"));
        }
        let negated = if self.at_keyword("NOT")
            && (self.at_keyword_n(1, "BETWEEN")
                || self.at_keyword_n(1, "IN")
                || self.at_keyword_n(1, "LIKE"))
        {
            self.next();
            true
        } else {
            false
        };
        if self.eat_keyword("BETWEEN") {
            let low = self.additive()?;
            self.expect_keyword("AND")?;
            let high = self.additive()?;
            return Ok(Expr::Between {
                expr: Box::new(left),
                low: Box::new(low),
                high: Box::new(high),
                negated,
            });
        }
        if self.eat_keyword("IN") {
            self.expect_sym("(")?;
            let mut list = vec![self.expr()?];
            while self.eat_sym(",") {
                list.push(self.expr()?);
            }
            self.expect_sym(")")?;
            return Ok(Expr::InList {
                expr: Box::new(left),
                list,
                negated,
            });
        }
        if self.eat_keyword("LIKE") {
            let pattern = self.additive()?;
            let escape = if self.eat_keyword("ESCAPE") {
                let location = self.location();
                let s = self.string_literal()?;
                let mut chars = s.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => Some(c),
                    _ => {
                        return Err(ParseError::new(
                            format!("Escape string must be a single character: '{s}'"),
                            location,
                        ));
                    }
                }
            } else {
                None
            };
            return Ok(Expr::Like {
                expr: Box::new(left),
                pattern: Box::new(pattern),
                escape,
                negated,
            });
        }
        if negated {
            return Err(self.unexpected("BETWEEN, IN or LIKE"));
        }
        Ok(left)
    }

    fn additive(&mut self) -> PResult<Expr> {
        let mut levels = 0;
        let mut left = self.multiplicative()?;
        loop {
            let op = match &self.peek().tok {
                Tok::Sym("+") => BinaryOp::Plus,
                Tok::Sym("-") => BinaryOp::Minus,
                Tok::Sym("||") => BinaryOp::Concat,
                _ => {
                    self.leave(levels);
                    return Ok(left);
                }
            };
            self.next();
            self.enter()?;
            levels += 1;
            let right = self.multiplicative()?;
            left = Expr::binary(op, left, right);
        }
    }

    fn multiplicative(&mut self) -> PResult<Expr> {
        let mut levels = 0;
        let mut left = self.unary()?;
        loop {
            let op = match &self.peek().tok {
                Tok::Sym("*") => BinaryOp::Multiply,
                Tok::Sym("/") => BinaryOp::Divide,
                Tok::Sym("%") => BinaryOp::Modulo,
                _ => {
                    self.leave(levels);
                    return Ok(left);
                }
            };
            self.next();
            self.enter()?;
            levels += 1;
            let right = self.unary()?;
            left = Expr::binary(op, left, right);
        }
    }

    fn unary(&mut self) -> PResult<Expr> {
        if self.at_sym("-") || self.at_sym("+") {
            self.enter()?;
            let signed = self.signed();
            self.leave(1);
            return signed;
        }
        self.postfix()
    }

    /// A sign and what it applies to.
    fn signed(&mut self) -> PResult<Expr> {
        if self.eat_sym("-") {
            let inner = self.unary()?;
            // Fold the sign into numeric literals so that i64::MIN is representable.
            return Ok(match inner {
                Expr::Literal(Literal::Integer(n)) if !n.starts_with('-') => {
                    Expr::Literal(Literal::Integer(format!("-{n}")))
                }
                Expr::Literal(Literal::Decimal(n)) if !n.starts_with('-') => {
                    Expr::Literal(Literal::Decimal(format!("-{n}")))
                }
                Expr::Literal(Literal::Double(n)) if !n.starts_with('-') => {
                    Expr::Literal(Literal::Double(format!("-{n}")))
                }
                other => Expr::Unary {
                    op: UnaryOp::Minus,
                    expr: Box::new(other),
                },
            });
        }
        if self.eat_sym("+") {
            let inner = self.unary()?;
            return Ok(Expr::Unary {
                op: UnaryOp::Plus,
                expr: Box::new(inner),
            });
        }
        self.postfix()
    }

    fn postfix(&mut self) -> PResult<Expr> {
        let mut levels = 0;
        let mut expr = self.primary()?;
        loop {
            if (self.at_sym("->") && !matches!(self.peek_at(1).tok, Tok::Sym("*")))
                || self.at_sym("[")
            {
                self.enter()?;
                levels += 1;
            }
            if self.at_sym("->") && !matches!(self.peek_at(1).tok, Tok::Sym("*")) {
                self.next();
                let field = self.identifier()?;
                expr = Expr::Dereference {
                    expr: Box::new(expr),
                    field,
                };
            } else if self.eat_sym("[") {
                let index = self.expr()?;
                self.expect_sym("]")?;
                expr = Expr::Subscript {
                    expr: Box::new(expr),
                    index: Box::new(index),
                };
            } else {
                self.leave(levels);
                return Ok(expr);
            }
        }
    }

    fn primary(&mut self) -> PResult<Expr> {
        let t = self.peek().clone();
        match &t.tok {
            Tok::Number(n) => {
                self.next();
                number_literal(n, t.location)
            }
            Tok::Str(s) => {
                self.next();
                Ok(Expr::Literal(Literal::String(s.clone())))
            }
            Tok::Sym("(") => {
                if let Some(lambda) = self.try_lambda()? {
                    return Ok(lambda);
                }
                self.next();
                let e = self.expr()?;
                self.expect_sym(")")?;
                Ok(e)
            }
            Tok::Word { value, quoted } => {
                let upper = value.to_uppercase();
                if !quoted {
                    match upper.as_str() {
                        "NULL" => {
                            self.next();
                            return Ok(Expr::Literal(Literal::Null));
                        }
                        "TRUE" => {
                            self.next();
                            return Ok(Expr::Literal(Literal::Boolean(true)));
                        }
                        "FALSE" => {
                            self.next();
                            return Ok(Expr::Literal(Literal::Boolean(false)));
                        }
                        "CASE" => return self.case_expr(),
                        "CAST" if matches!(self.peek_at(1).tok, Tok::Sym("(")) => {
                            self.next();
                            self.next();
                            let e = self.expr()?;
                            self.expect_keyword("AS")?;
                            let ty = self.data_type()?;
                            self.expect_sym(")")?;
                            return Ok(Expr::Cast {
                                expr: Box::new(e),
                                ty,
                            });
                        }
                        "ARRAY" if matches!(self.peek_at(1).tok, Tok::Sym("[")) => {
                            self.next();
                            self.next();
                            let mut items = Vec::new();
                            if !self.at_sym("]") {
                                items.push(self.expr()?);
                                while self.eat_sym(",") {
                                    items.push(self.expr()?);
                                }
                            }
                            self.expect_sym("]")?;
                            return Ok(Expr::Array(items));
                        }
                        "MAP" if matches!(self.peek_at(1).tok, Tok::Sym("(")) => {
                            self.next();
                            self.next();
                            let mut entries = Vec::new();
                            if !self.at_sym(")") {
                                loop {
                                    let k = self.expr()?;
                                    self.expect_sym(":=")?;
                                    let v = self.expr()?;
                                    entries.push((k, v));
                                    if !self.eat_sym(",") {
                                        break;
                                    }
                                }
                            }
                            self.expect_sym(")")?;
                            return Ok(Expr::Map(entries));
                        }
                        "STRUCT" if matches!(self.peek_at(1).tok, Tok::Sym("(")) => {
                            self.next();
                            self.next();
                            let mut fields = Vec::new();
                            if !self.at_sym(")") {
                                loop {
                                    let name = self.identifier()?;
                                    self.expect_sym(":=")?;
                                    let v = self.expr()?;
                                    fields.push((name, v));
                                    if !self.eat_sym(",") {
                                        break;
                                    }
                                }
                            }
                            self.expect_sym(")")?;
                            return Ok(Expr::Struct(fields));
                        }
                        _ => {}
                    }
                    if RESERVED.contains(&upper.as_str())
                        && !matches!(self.peek_at(1).tok, Tok::Sym("("))
                    {
                        return Err(self.unexpected("an expression"));
                    }
                }
                if matches!(self.peek_at(1).tok, Tok::Sym("=>")) {
                    let param = self.identifier()?;
                    self.next();
                    let body = self.expr()?;
                    return Ok(Expr::Lambda {
                        params: vec![param],
                        body: Box::new(body),
                    });
                }
                if matches!(self.peek_at(1).tok, Tok::Sym("(")) {
                    return self.function_call();
                }
                let name = self.identifier()?;
                if self.at_sym(".") && matches!(self.peek_at(1).tok, Tok::Word { .. }) {
                    self.next();
                    let column = self.identifier()?;
                    return Ok(Expr::Column {
                        qualifier: Some(name),
                        name: column,
                        location: t.location,
                    });
                }
                Ok(Expr::Column {
                    qualifier: None,
                    name,
                    location: t.location,
                })
            }
            _ => Err(self.unexpected("an expression")),
        }
    }

    /// `(a, b) => body`, when the parenthesis starts one.
    fn try_lambda(&mut self) -> PResult<Option<Expr>> {
        let start = self.pos;
        self.next();
        let mut params = Vec::new();
        loop {
            match &self.peek().tok {
                Tok::Word { .. } => params.push(self.identifier()?),
                _ => {
                    self.pos = start;
                    return Ok(None);
                }
            }
            if !self.eat_sym(",") {
                break;
            }
        }
        if !(self.eat_sym(")") && self.eat_sym("=>")) {
            self.pos = start;
            return Ok(None);
        }
        let body = self.expr()?;
        Ok(Some(Expr::Lambda {
            params,
            body: Box::new(body),
        }))
    }

    fn function_call(&mut self) -> PResult<Expr> {
        let location = self.location();
        let name = self.identifier()?;
        self.expect_sym("(")?;
        if self.at_sym("*") && matches!(self.peek_at(1).tok, Tok::Sym(")")) {
            self.next();
            self.next();
            // `COUNT(*)` counts rows; any other `F(*)` is a call without arguments.
            if name == "COUNT" {
                return Ok(Expr::CountStar { location });
            }
            return Ok(Expr::Function {
                name,
                args: Vec::new(),
                distinct: false,
                location,
            });
        }
        let distinct = self.eat_keyword("DISTINCT");
        let mut args = Vec::new();
        if !self.at_sym(")") {
            args.push(self.expr()?);
            while self.eat_sym(",") {
                args.push(self.expr()?);
            }
        }
        self.expect_sym(")")?;
        Ok(Expr::Function {
            name,
            args,
            distinct,
            location,
        })
    }

    fn case_expr(&mut self) -> PResult<Expr> {
        self.expect_keyword("CASE")?;
        let operand = if self.at_keyword("WHEN") {
            None
        } else {
            Some(Box::new(self.expr()?))
        };
        let mut whens = Vec::new();
        while self.eat_keyword("WHEN") {
            let cond = self.expr()?;
            self.expect_keyword("THEN")?;
            let result = self.expr()?;
            whens.push((cond, result));
        }
        if whens.is_empty() {
            return Err(self.unexpected("WHEN"));
        }
        let else_result = if self.eat_keyword("ELSE") {
            Some(Box::new(self.expr()?))
        } else {
            None
        };
        self.expect_keyword("END")?;
        Ok(Expr::Case {
            operand,
            whens,
            else_result,
        })
    }
}

fn is_keyword(t: &Token, kw: &str) -> bool {
    matches!(&t.tok, Tok::Word { value, quoted: false } if value.eq_ignore_ascii_case(kw))
}

/// Milliseconds in one of ksqlDB's time units (singular or plural).
/// The most windows a hopping window puts one record in (its size over its advance): each
/// record updates every one of them.
pub const MAX_WINDOWS_PER_RECORD: i64 = 10_000;

/// What Kafka Streams refuses of a window's durations, and a hopping window whose every record
/// would fall in more than [`MAX_WINDOWS_PER_RECORD`] windows.
fn check_window(spec: &WindowSpec) -> Result<(), String> {
    let size = spec.size_ms;
    if spec.window_type == WindowType::Session {
        return if size <= 0 {
            Err("Session window gap must be larger than zero.".to_string())
        } else {
            Ok(())
        };
    }
    if size <= 0 {
        return Err("Window size (sizeMs) must be larger than zero.".to_string());
    }
    if spec.window_type == WindowType::Hopping {
        let advance = spec.advance_ms.unwrap_or(size);
        if advance <= 0 || advance > size {
            return Err(format!(
                "Window advancement interval should be more than zero and less than window duration which is {size} ms, but given advancement interval is: {advance} ms"
            ));
        }
        // Both positive here: the quotient, rounded up.
        let windows = (size - 1) / advance + 1;
        if windows > MAX_WINDOWS_PER_RECORD {
            return Err(format!(
                "A hopping window of {size} ms that advances by {advance} ms puts every record in {windows} windows; Sluice allows at most {MAX_WINDOWS_PER_RECORD}"
            ));
        }
    }
    for (name, value) in [
        ("RETENTION", spec.retention_ms),
        ("GRACE PERIOD", spec.grace_ms),
    ] {
        if value.is_some_and(|v| v < 0) {
            return Err(format!("Window {name} must not be negative."));
        }
    }
    Ok(())
}

pub fn time_unit_ms(unit: &str) -> Option<i64> {
    let unit = unit.to_uppercase();
    let singular = unit.strip_suffix('S').unwrap_or(&unit);
    Some(match singular {
        "MILLISECOND" => 1,
        "SECOND" => 1_000,
        "MINUTE" => 60_000,
        "HOUR" => 3_600_000,
        "DAY" => 86_400_000,
        _ => return None,
    })
}

fn number_literal(text: &str, location: Location) -> PResult<Expr> {
    if text.contains(['e', 'E']) {
        return Ok(Expr::Literal(Literal::Double(text.to_string())));
    }
    if text.contains('.') {
        return Ok(Expr::Literal(Literal::Decimal(text.to_string())));
    }
    if text.parse::<i64>().is_err() {
        // ksqlDB reports this one a column further on, behind its statement-preparation prefix.
        return Err(ParseError::without_location(format!(
            "Failed to prepare statement: line {}:{}: Invalid numeric literal: {text}",
            location.line,
            location.column + 1
        )));
    }
    Ok(Expr::Literal(Literal::Integer(text.to_string())))
}
