//! The SQL front end: ksqlDB's dialect, parsed into [`ast::Statement`]s.
//!
//! A script is first split into statements (quotes and comments respected), then each
//! statement gets its `${variable}` references substituted, and only then is it tokenized (by
//! sqlparser, see [`lexer`]) and parsed (by the hand-written [`parser`]). Locations in errors are
//! relative to the whole script, as ksqlDB reports them.

pub mod ast;
pub mod display;
pub mod error;
pub mod lexer;
pub mod parser;

use std::collections::BTreeMap;

pub use ast::{Expr, Location, Statement};
pub use error::ParseError;
pub use parser::{MAX_NESTING, TypeResolver};

/// The stack of every thread that parses, plans or runs statements (the server's request
/// threads and its stream threads): with [`MAX_NESTING`], enough for the deepest expression
/// every stage accepts, unoptimised builds included. Only the pages a thread touches are
/// memory; the rest is address space.
pub const THREAD_STACK_BYTES: usize = 64 << 20;

/// One statement's text in a script, and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct StatementText {
    pub text: String,
    pub start: Location,
}

/// Splits a script at top-level semicolons. Each piece keeps its `;`; blank pieces are dropped.
pub fn split_statements(script: &str) -> Vec<StatementText> {
    let mut statements = Vec::new();
    let mut current = String::new();
    let mut start: Option<Location> = None;
    let (mut line, mut column) = (1u64, 1u64);
    let mut chars = script.chars().peekable();
    // Inside a quote, the closing character; inside a comment, its kind.
    let mut quote: Option<char> = None;
    let mut line_comment = false;
    let mut block_comment = false;
    while let Some(c) = chars.next() {
        let here = Location { line, column };
        if c == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
        if line_comment {
            if c == '\n' {
                line_comment = false;
            }
            if start.is_some() {
                current.push(c);
            }
            continue;
        }
        if block_comment {
            if c == '*' && chars.peek() == Some(&'/') {
                chars.next();
                column += 1;
                if start.is_some() {
                    current.push_str("*/");
                }
                block_comment = false;
            } else if start.is_some() {
                current.push(c);
            }
            continue;
        }
        if let Some(q) = quote {
            current.push(c);
            if c == q {
                if chars.peek() == Some(&q) {
                    chars.next();
                    column += 1;
                    current.push(q);
                } else {
                    quote = None;
                }
            }
            continue;
        }
        match c {
            '\'' | '`' | '"' => {
                quote = Some(c);
                start.get_or_insert(here);
                current.push(c);
            }
            '-' if chars.peek() == Some(&'-') => {
                line_comment = true;
                if start.is_some() {
                    current.push(c);
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                block_comment = true;
                if start.is_some() {
                    current.push(c);
                }
            }
            ';' => {
                current.push(c);
                if let Some(s) = start.take() {
                    statements.push(StatementText {
                        text: std::mem::take(&mut current).trim().to_string(),
                        start: s,
                    });
                } else {
                    current.clear();
                }
            }
            c if c.is_whitespace() && start.is_none() => {}
            c => {
                start.get_or_insert(here);
                current.push(c);
            }
        }
    }
    if let Some(s) = start
        && !current.trim().is_empty()
    {
        statements.push(StatementText {
            text: current.trim().to_string(),
            start: s,
        });
    }
    statements
}

/// Replaces `${name}` with the value of the variable `name` (names are case-insensitive).
/// References to undefined variables are left as written.
pub fn substitute_variables(text: &str, variables: &BTreeMap<String, String>) -> String {
    if variables.is_empty() || !text.contains("${") {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        match after.find('}') {
            Some(j) => {
                let name = after[..j].trim().to_lowercase();
                match variables.get(&name) {
                    Some(v) => out.push_str(v),
                    None => out.push_str(&rest[i..i + 3 + j]),
                }
                rest = &after[j + 1..];
            }
            None => {
                out.push_str(&rest[i..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Parses one statement whose text starts at `origin` in its script.
pub fn parse_statement(
    text: &str,
    origin: Location,
    types: TypeResolver<'_>,
) -> Result<Statement, ParseError> {
    let tokens = lexer::tokenize(text, origin)?;
    parser::Parser::new(tokens, types).parse_statement()
}

/// Parses a standalone expression (used by tests and tools).
pub fn parse_expression(text: &str) -> Result<Expr, ParseError> {
    let tokens = lexer::tokenize(text, Location { line: 1, column: 1 })?;
    let no_types = |_: &str| None;
    let mut parser = parser::Parser::new(tokens, &no_types);
    parser.expr()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Statement, ParseError> {
        parse_statement(text, Location { line: 1, column: 1 }, &|_| None)
    }

    #[test]
    fn splits_respecting_quotes_and_comments() {
        let script =
            "CREATE STREAM A (X STRING) WITH (kafka_topic='a;b');\n-- c;\nSELECT * FROM A;";
        let parts = split_statements(script);
        assert_eq!(parts.len(), 2);
        assert!(parts[0].text.ends_with("'a;b');"));
        assert_eq!(parts[1].start, Location { line: 3, column: 1 });
        assert_eq!(parts[1].text, "SELECT * FROM A;");
    }

    #[test]
    fn substitutes_variables() {
        let vars = BTreeMap::from([("topic".to_string(), "t1".to_string())]);
        assert_eq!(
            substitute_variables("x='${TOPIC}' ${other}", &vars),
            "x='t1' ${other}"
        );
    }

    #[test]
    fn parses_create_stream() {
        let s = parse(
            "CREATE STREAM test (ID bigint KEY, `name` varchar, v ARRAY<MAP<STRING,INT>>) WITH (kafka_topic='t', value_format='JSON', partitions=2);",
        )
        .unwrap();
        let Statement::CreateSource(c) = s else {
            panic!("not a create source")
        };
        assert_eq!(c.name, "TEST");
        assert_eq!(c.columns[0].name, "ID");
        assert_eq!(c.columns[1].name, "name");
        assert_eq!(c.columns[2].ty.to_string(), "ARRAY<MAP<STRING, INTEGER>>");
        assert_eq!(c.properties["PARTITIONS"].as_text(), "2");
    }

    #[test]
    fn parses_query_clauses() {
        let s = parse(
            "CREATE STREAM S AS SELECT a->b AS x, c[1], CASE WHEN d IN (1, 2) THEN 'y' END FROM T t WHERE NOT e LIKE 'a%' ESCAPE '!' PARTITION BY a, c EMIT CHANGES;",
        )
        .unwrap();
        let Statement::CreateAsSelect(c) = s else {
            panic!("not a CSAS")
        };
        assert_eq!(c.query.select.len(), 3);
        assert_eq!(c.query.partition_by.len(), 2);
        assert!(c.query.where_clause.is_some());
    }

    #[test]
    fn precedence_of_arithmetic_and_comparison() {
        let e = parse_expression("1 + 2 * 3 = 7 AND NOT x").unwrap();
        assert_eq!(
            display::expr_to_sql(&e),
            "(((1 + (2 * 3)) = 7) AND (NOT X))"
        );
    }

    #[test]
    fn syntax_errors_carry_line_and_column() {
        let err = parse_statement(
            "CREATE STREAM INPUT (K INT (KEY)) WITH (kafka_topic='input',value_format='JSON');",
            Location { line: 1, column: 1 },
            &|_| None,
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("line 1:"), "{err}");
        assert!(err.to_string().contains("Syntax Error"), "{err}");
    }

    #[test]
    fn out_of_range_literal_is_rejected() {
        let err = parse_expression("9223372036854775808").unwrap_err();
        assert!(err.to_string().contains("Invalid numeric literal"));
    }
}
