//! The shell's line editor: history with reverse search, statements over several lines until
//! their `;`, and tab completion of keywords and of the server's streams, tables, topics and
//! functions.

use std::sync::{Arc, Mutex};

use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{CompletionType, Config, Context, Editor, Helper};

use super::commands::Command;

/// SQL keywords offered by completion.
const KEYWORDS: &[&str] = &[
    "ADD",
    "ADVANCE",
    "ALL",
    "ALTER",
    "AND",
    "ARRAY",
    "AS",
    "ASSERT",
    "BEGINNING",
    "BETWEEN",
    "BIGINT",
    "BOOLEAN",
    "BY",
    "BYTES",
    "CASE",
    "CAST",
    "CHANGES",
    "COLUMN",
    "CREATE",
    "DATE",
    "DAYS",
    "DECIMAL",
    "DEFINE",
    "DELETE",
    "DESCRIBE",
    "DOUBLE",
    "DROP",
    "ELSE",
    "EMIT",
    "END",
    "EXISTS",
    "EXPLAIN",
    "EXTENDED",
    "FALSE",
    "FINAL",
    "FROM",
    "FULL",
    "FUNCTION",
    "FUNCTIONS",
    "GRACE",
    "GROUP",
    "HAVING",
    "HEADER",
    "HEADERS",
    "HOPPING",
    "HOURS",
    "IF",
    "IN",
    "INNER",
    "INSERT",
    "INT",
    "INTEGER",
    "INTERVAL",
    "INTO",
    "IS",
    "JOIN",
    "KEY",
    "LEFT",
    "LIKE",
    "LIMIT",
    "LIST",
    "MAP",
    "MILLISECONDS",
    "MINUTES",
    "NOT",
    "NULL",
    "ON",
    "OR",
    "OUTER",
    "PARTITION",
    "PERIOD",
    "PRIMARY",
    "PRINT",
    "PROPERTIES",
    "QUERIES",
    "REPLACE",
    "RETENTION",
    "RIGHT",
    "RUN",
    "SCRIPT",
    "SECONDS",
    "SELECT",
    "SESSION",
    "SET",
    "SHOW",
    "SIZE",
    "SOURCE",
    "STREAM",
    "STREAMS",
    "STRING",
    "STRUCT",
    "TABLE",
    "TABLES",
    "TERMINATE",
    "THEN",
    "TIME",
    "TIMESTAMP",
    "TOPIC",
    "TOPICS",
    "TRUE",
    "TUMBLING",
    "TYPE",
    "TYPES",
    "UNDEFINE",
    "UNSET",
    "VALUES",
    "VARCHAR",
    "VARIABLES",
    "WHEN",
    "WHERE",
    "WINDOW",
    "WITH",
    "WITHIN",
];

/// Completion, and the end of a statement, for the line editor.
pub struct ShellHelper {
    /// The server's names, refreshed by the shell after statements that change them.
    names: Arc<Mutex<Vec<String>>>,
}

/// A line editor with the shell's helper.
pub fn editor(
    names: Arc<Mutex<Vec<String>>>,
) -> rustyline::Result<Editor<ShellHelper, DefaultHistory>> {
    let config = Config::builder()
        .auto_add_history(false)
        .history_ignore_dups(true)?
        .completion_type(CompletionType::List)
        .build();
    let mut editor = Editor::with_config(config)?;
    editor.set_helper(Some(ShellHelper { names }));
    Ok(editor)
}

impl ShellHelper {
    /// What completes `word`: keywords (upper-cased) and names starting with it, case aside.
    fn candidates(&self, word: &str) -> Vec<String> {
        let upper = word.to_uppercase();
        let mut found: Vec<String> = KEYWORDS
            .iter()
            .filter(|k| k.starts_with(&upper))
            .map(|k| k.to_string())
            .collect();
        if let Ok(names) = self.names.lock() {
            found.extend(
                names
                    .iter()
                    .filter(|n| n.to_uppercase().starts_with(&upper))
                    .cloned(),
            );
        }
        // A topic named as its stream completes once, as the stream.
        let mut seen = std::collections::HashSet::new();
        found.retain(|name| seen.insert(name.to_uppercase()));
        found.sort();
        found
    }
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        let start = before
            .char_indices()
            .rev()
            .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
            .map_or(0, |(i, c)| i + c.len_utf8());
        let word = &before[start..];
        if word.is_empty() {
            return Ok((pos, Vec::new()));
        }
        let pairs = self
            .candidates(word)
            .into_iter()
            .map(|c| Pair {
                display: c.clone(),
                replacement: c,
            })
            .collect();
        Ok((start, pairs))
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}

impl Highlighter for ShellHelper {}

impl Validator for ShellHelper {
    /// A line is done when it is a command of the shell's, or its last statement ends in `;`.
    fn validate(&self, ctx: &mut ValidationContext<'_>) -> rustyline::Result<ValidationResult> {
        let input = ctx.input();
        let complete = input.trim().is_empty()
            || Command::parse(input).is_some()
            || crate::sql::split_statements(input)
                .last()
                .is_none_or(|s| s.text.trim_end().ends_with(';'));
        Ok(if complete {
            ValidationResult::Valid(None)
        } else {
            ValidationResult::Incomplete
        })
    }
}

impl Helper for ShellHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_word_completes_to_keywords_and_names() {
        let helper = ShellHelper {
            names: Arc::new(Mutex::new(vec![
                "PAGEVIEWS".into(),
                "pageviews_topic".into(),
            ])),
        };
        assert_eq!(helper.candidates("sel"), ["SELECT"]);
        assert_eq!(helper.candidates("pag"), ["PAGEVIEWS", "pageviews_topic"]);
        assert_eq!(helper.candidates("STREAM"), ["STREAM", "STREAMS"]);
    }
}
