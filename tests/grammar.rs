//! Checks `grammar/ksql.ebnf` against the parser: every production must carry at least one
//! example, and every example must be accepted by `sluice::sql`.

use sluice::sql::{self, Location, ParseError, Statement};

const START: Location = Location { line: 1, column: 1 };

fn grammar_text() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/grammar/ksql.ebnf");
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

fn parse(text: &str) -> Result<Statement, ParseError> {
    sql::parse_statement(text, START, &|_| None)
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Statement,
    Expr,
    Type,
}

struct Example {
    line: usize,
    production: String,
    kind: Kind,
    text: String,
}

/// The production defined on `line`, if a production starts there (`^[a-z_]+ =`).
fn production_name(line: &str) -> Option<&str> {
    let (name, _) = line.split_once(" =")?;
    (!name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_')).then_some(name)
}

/// An example comment: `(* example: ... *)`, `(* example-expr: ... *)`, `(* example-type: ... *)`.
fn example(line: &str) -> Option<Result<(Kind, String), String>> {
    let body = line.trim().strip_prefix("(*")?.trim_start();
    if !body.starts_with("example") {
        return None;
    }
    let Some(body) = body.strip_suffix("*)") else {
        return Some(Err(
            "example comment must end on its own line with `*)`".into()
        ));
    };
    let (kind, text) = if let Some(t) = body.strip_prefix("example:") {
        (Kind::Statement, t)
    } else if let Some(t) = body.strip_prefix("example-expr:") {
        (Kind::Expr, t)
    } else if let Some(t) = body.strip_prefix("example-type:") {
        (Kind::Type, t)
    } else {
        return Some(Err(format!("unknown example kind: {body}")));
    };
    let text = text.trim();
    if text.is_empty() {
        return Some(Err("empty example".into()));
    }
    if text.contains("(*") || text.contains("*)") {
        return Some(Err("example contains a comment delimiter".into()));
    }
    Some(Ok((kind, text.to_string())))
}

#[test]
fn every_production_has_an_example_and_every_example_parses() {
    let grammar = grammar_text();
    let mut problems = Vec::new();
    let mut productions: Vec<(usize, String, usize)> = Vec::new(); // (line, name, examples)
    let mut examples = Vec::new();

    for (i, line) in grammar.lines().enumerate() {
        let line_no = i + 1;
        if let Some(name) = production_name(line) {
            if productions.iter().any(|(_, n, _)| n == name) {
                problems.push(format!("line {line_no}: production `{name}` defined twice"));
            }
            productions.push((line_no, name.to_string(), 0));
            continue;
        }
        match example(line) {
            None => {}
            Some(Err(e)) => problems.push(format!("line {line_no}: {e}")),
            Some(Ok((kind, text))) => match productions.last_mut() {
                None => problems.push(format!("line {line_no}: example before any production")),
                Some((_, name, count)) => {
                    *count += 1;
                    examples.push(Example {
                        line: line_no,
                        production: name.clone(),
                        kind,
                        text,
                    });
                }
            },
        }
    }

    for (line, name, count) in &productions {
        if *count == 0 {
            problems.push(format!("line {line}: production `{name}` has no example"));
        }
    }

    for ex in &examples {
        let result = match ex.kind {
            Kind::Statement => {
                if !ex.text.ends_with(';') {
                    Err("a statement example must end with `;`".to_string())
                } else {
                    parse(&ex.text).map(|_| ()).map_err(|e| e.to_string())
                }
            }
            Kind::Expr => sql::parse_expression(&ex.text)
                .map_err(|e| e.to_string())
                // parse_expression stops at the end of the expression; make sure that is
                // the end of the example too.
                .and_then(|_| {
                    let probe = format!("SELECT {} AS example_expr FROM s;", ex.text);
                    parse(&probe)
                        .map(|_| ())
                        .map_err(|e| format!("not the whole text is an expression: {e}"))
                }),
            Kind::Type => parse(&format!("CREATE TYPE T AS {};", ex.text))
                .map_err(|e| e.to_string())
                .and_then(|s| match s {
                    Statement::CreateType { .. } => Ok(()),
                    other => Err(format!("not a CREATE TYPE: {other:?}")),
                }),
        };
        if let Err(e) = result {
            problems.push(format!(
                "line {} ({}, {:?}): {}\n    {}",
                ex.line,
                ex.production,
                ex.kind,
                ex.text,
                e.replace('\n', " / ")
            ));
        }
    }

    assert!(
        productions.len() >= 60,
        "only {} productions found: is the grammar file complete?",
        productions.len()
    );
    assert!(
        problems.is_empty(),
        "{} problem(s) in grammar/ksql.ebnf:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// The grammar without its `(* *)` comments (which nest, as in ISO EBNF).
fn strip_comments(grammar: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut depth = 0usize;
    let mut rest = grammar;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("(*") {
            depth += 1;
            rest = &rest[2..];
        } else if rest.starts_with("*)") {
            depth = depth
                .checked_sub(1)
                .ok_or("`*)` outside a comment".to_string())?;
            rest = &rest[2..];
        } else {
            if depth == 0 {
                out.push(c);
            }
            rest = &rest[c.len_utf8()..];
        }
    }
    if depth != 0 {
        return Err("unterminated `(*` comment".to_string());
    }
    Ok(out)
}

/// Every name used in a production body is a production, and every word outside a terminal
/// (`"..."`, `'...'`) or special sequence (`? ... ?`) is a production name.
#[test]
fn grammar_is_well_formed() {
    let text = strip_comments(&grammar_text()).unwrap();
    let defined: Vec<&str> = text.lines().filter_map(production_name).collect();
    let mut undefined = Vec::new();
    let mut closing: Option<char> = None;
    let mut word = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if let Some(q) = closing {
            if c == q {
                closing = None;
            }
            continue;
        }
        if c.is_ascii_alphanumeric() || c == '_' {
            word.push(c);
            continue;
        }
        if !word.is_empty() {
            if !defined.contains(&word.as_str()) && !undefined.contains(&word) {
                undefined.push(std::mem::take(&mut word));
            }
            word.clear();
        }
        if matches!(c, '"' | '\'' | '?') {
            closing = Some(c);
        }
    }
    assert!(
        closing.is_none(),
        "unterminated terminal in grammar/ksql.ebnf"
    );
    assert!(
        undefined.is_empty(),
        "names used but not defined in grammar/ksql.ebnf: {undefined:?}"
    );
}

/// Statements the parser must reject, and the `line L:C:` prefix of the error.
#[test]
fn rejected_statements_report_line_and_column() {
    let cases = [
        // A constraint in parentheses reads as a type parameter, which KEY is not.
        (
            "CREATE STREAM INPUT (K INT (KEY)) WITH (kafka_topic='input',value_format='JSON');",
            "line 1:29: ",
        ),
        ("SELECT * FROM s EMIT SOMETHING;", "line 1:22: "),
        // No SOURCE and no column list with AS SELECT.
        ("CREATE SOURCE STREAM s AS SELECT * FROM t;", "line 1:27: "),
        ("INSERT INTO s (a) SELECT * FROM t;", "line 1:19: "),
        (
            "SELECT k FROM s WINDOW TUMBLING (SIZE 5 FORTNIGHTS) GROUP BY k;",
            "line 1:41: ",
        ),
        ("CREATE TYPE t AS DECIMAL(0, 0);", "line 1:18: "),
        (
            "CREATE STREAM s (v NOPE) WITH (kafka_topic='s');",
            "line 1:20: ",
        ),
        ("DROP VIEW v;", "line 1:6: "),
        ("FROB s;", "line 1:1: "),
        (
            "SELECT a FROM s WHERE a LIKE 'x' ESCAPE 'ab';",
            "line 1:41: ",
        ),
        // ksqlDB reports an out-of-range literal one column further on.
        (
            "SELECT 9223372036854775808 FROM s;",
            "Failed to prepare statement: line 1:9: ",
        ),
        ("SHOW STREAMS TABLES;", "line 1:14: "),
        ("SELECT * FROM s;;", "line 1:17: "),
        ("SELECT * FROM s WHERE a = 'unterminated;", "line 1:27: "),
    ];
    let mut failures = Vec::new();
    for (text, prefix) in cases {
        match parse(text) {
            Ok(s) => failures.push(format!("accepted: {text}\n    {s:?}")),
            Err(e) if !e.to_string().starts_with(prefix) => {
                failures.push(format!("{text}\n    expected `{prefix}…`, got `{e}`"))
            }
            Err(_) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Locations are relative to the script the statement starts in.
#[test]
fn error_locations_are_relative_to_the_script() {
    let err = sql::parse_statement(
        "SELECT *\n  FROM s EMIT NOTHING;",
        Location { line: 3, column: 5 },
        &|_| None,
    )
    .unwrap_err();
    assert!(err.to_string().starts_with("line 4:15: "), "{err}");

    let err = sql::parse_statement(
        "SHOW NOTHING;",
        Location {
            line: 2,
            column: 10,
        },
        &|_| None,
    )
    .unwrap_err();
    assert!(err.to_string().starts_with("line 2:15: "), "{err}");
}

/// Line comments (which a one-line example cannot show) are whitespace too.
#[test]
fn line_comments_are_whitespace() {
    parse("SELECT a -- the key\n  FROM s; -- trailing").unwrap();
}

/// Unquoted identifiers are upper-cased, quoted ones kept as written.
#[test]
fn identifiers_are_normalised() {
    let s = parse("CREATE STream my_Stream (`id` INT KEY, \"Name\" STRING, total int);").unwrap();
    let Statement::CreateSource(c) = s else {
        panic!("not a CREATE STREAM: {s:?}")
    };
    assert_eq!(c.name, "MY_STREAM");
    let names: Vec<_> = c.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["id", "Name", "TOTAL"]);
}
