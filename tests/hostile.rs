//! Input meant to take the server down: expressions and types nested past the bound the
//! parser keeps are refused with an error at their position and change nothing, and the
//! deepest accepted ones parse, plan and run, every recursive construct of the grammar alike.

mod support;

use serde_json::json;
use sluice::sql::{Location, MAX_NESTING, parse_statement};
use support::Server;

/// A construct nested `depth` times around the column `V`.
type Nesting = fn(usize) -> String;

fn nest(depth: usize, wrap: impl Fn(String) -> String) -> String {
    (0..depth).fold("V".to_string(), |inner, _| wrap(inner))
}

/// Every construct of the grammar that nests, each as an expression over `V` (an INT of 1).
fn constructs() -> Vec<(&'static str, Nesting)> {
    vec![
        ("parentheses", |d| nest(d, |e| format!("({e})"))),
        ("NOT", |d| format!("{}V = 1", "NOT ".repeat(d))),
        ("signs", |d| {
            format!("{}V", "- + ".repeat(d / 2) + &"- ".repeat(d % 2))
        }),
        ("CASE", |d| {
            nest(d, |e| format!("CASE WHEN V = 1 THEN {e} ELSE 0 END"))
        }),
        ("casts", |d| nest(d, |e| format!("CAST({e} AS INT)"))),
        ("function calls", |d| nest(d, |e| format!("ABS({e})"))),
        ("arrays and subscripts", |d| {
            nest(d, |e| format!("ARRAY[{e}]")) + &"[1]".repeat(d)
        }),
        ("structs and dereferences", |d| {
            nest(d, |e| format!("STRUCT(A := {e})")) + &"->A".repeat(d)
        }),
        ("maps and subscripts", |d| {
            nest(d, |e| format!("MAP('k' := {e})")) + &"['k']".repeat(d)
        }),
        ("lambdas", |d| {
            nest(d, |e| format!("ARRAY_MAX(TRANSFORM(ARRAY[V], x => {e}))"))
        }),
        ("operator chains", |d| format!("V{}", " + 1".repeat(d))),
        ("AND chains", |d| format!("V = 1{}", " AND V = 1".repeat(d))),
        ("types", |d| {
            format!(
                "ARRAY_LENGTH(CAST(NULL AS {}INT{}))",
                "ARRAY<".repeat(d),
                ">".repeat(d)
            )
        }),
    ]
}

fn statement(expression: &str) -> String {
    format!("SELECT {expression} AS X FROM S;")
}

/// Whether the parser takes a statement, parsed on a thread with the server's stack.
fn parses(text: &str) -> bool {
    let text = text.to_string();
    std::thread::Builder::new()
        .stack_size(sluice::sql::THREAD_STACK_BYTES)
        .spawn(move || parse_statement(&text, Location { line: 1, column: 1 }, &|_| None).is_ok())
        .expect("a thread")
        .join()
        .expect("the parser returns")
}

/// The deepest nesting of a construct the parser accepts.
fn deepest(construct: Nesting) -> usize {
    let (mut accepted, mut refused) = (0, 4 * MAX_NESTING);
    assert!(!parses(&statement(&construct(refused))));
    while refused - accepted > 1 {
        let middle = (accepted + refused) / 2;
        if parses(&statement(&construct(middle))) {
            accepted = middle;
        } else {
            refused = middle;
        }
    }
    accepted
}

#[test]
fn the_deepest_accepted_nesting_runs_and_one_more_is_refused_where_it_is() {
    let server = Server::start();
    server.ksql_ok(
        "CREATE STREAM S (K STRING KEY, V INT) WITH (kafka_topic='s', value_format='JSON', partitions=1);\
         INSERT INTO S (K, V) VALUES ('k', 1);",
    );
    for (name, construct) in constructs() {
        let depth = deepest(construct);
        // Every construct nests deep enough for any query a person writes.
        assert!(depth >= MAX_NESTING / 4, "{name}: only {depth} levels");
        let (_, rows) = server.query_stream(
            &statement(&construct(depth)),
            json!({"auto.offset.reset": "earliest"}),
        );
        assert_eq!(rows.len(), 1, "{name} at {depth} levels: {rows:?}");

        let refused = server.post_json(
            "/query-stream",
            &json!({ "sql": statement(&construct(depth + 1)) }),
        );
        assert_eq!(refused.status, 400, "{name}: {}", refused.text());
        let message = refused.json()["message"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            message.starts_with("line 1:")
                && message.contains(&format!("more than {MAX_NESTING} levels deep")),
            "{name}: {message}"
        );
    }
    // A statement deeper than any bound, in every construct at once: refused, and the server
    // goes on.
    let monster = statement(&"(".repeat(100_000));
    let refused = server.post_json("/ksql", &json!({ "ksql": monster }));
    assert_eq!(refused.status, 400, "{}", refused.text());
    assert_eq!(server.get("/info").status, 200);
}
