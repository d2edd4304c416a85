//! The shell's own commands (help, output, run script …) and the statements it keeps itself
//! (SET, UNSET, DEFINE, UNDEFINE, SHOW VARIABLES), as ksqlDB's CLI has them.

use std::sync::LazyLock;

use regex::Regex;

/// A command of the shell's own: a line of its own, `;` optional.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Help,
    Exit,
    Clear,
    History,
    Version,
    /// `output` shows the format, `output JSON|TABULAR` sets it.
    Output(Option<String>),
    /// `server` shows the server, `server URL` changes it.
    Server(Option<String>),
    RunScript(String),
}

impl Command {
    /// The command a line is, if it is one: its words (quotes removed), case aside.
    pub fn parse(line: &str) -> Option<Command> {
        let trimmed = line.trim().trim_end_matches(';').trim();
        let words = split_words(trimmed);
        let lower: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
        let argument = |from: usize| words.get(from).cloned();
        let command = match lower.iter().map(String::as_str).collect::<Vec<_>>()[..] {
            ["help"] => Command::Help,
            ["exit"] => Command::Exit,
            ["clear"] => Command::Clear,
            ["history"] => Command::History,
            ["version"] => Command::Version,
            ["output"] | ["output", _] => Command::Output(argument(1)),
            ["server"] | ["server", _] => Command::Server(argument(1)),
            ["run", "script", _] => Command::RunScript(argument(2)?),
            _ => return None,
        };
        Some(command)
    }
}

/// Words split on whitespace outside single quotes; quotes removed, `''` kept as `'`.
fn split_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let (mut quoted, mut any) = (false, false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' if quoted && chars.peek() == Some(&'\'') => {
                chars.next();
                word.push('\'');
            }
            '\'' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any || !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                    any = false;
                }
            }
            c => word.push(c),
        }
    }
    if any || !word.is_empty() {
        words.push(word);
    }
    words
}

/// A statement the shell keeps for its session rather than sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalStatement {
    Set { name: String, value: String },
    Unset { name: String },
    Define { name: String, value: String },
    Undefine { name: String },
    ShowVariables,
}

static SET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?is)^SET\s+'((?:[^']|'')*)'\s*=\s*'((?:[^']|'')*)'\s*;?$").expect("a regex")
});
static UNSET: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?is)^UNSET\s+'((?:[^']|'')*)'\s*;?$").expect("a regex"));
static DEFINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?is)^DEFINE\s+([A-Za-z_][A-Za-z0-9_]*)\s*=\s*'((?:[^']|'')*)'\s*;?$")
        .expect("a regex")
});
static UNDEFINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?is)^UNDEFINE\s+([A-Za-z_][A-Za-z0-9_]*)\s*;?$").expect("a regex")
});
static SHOW_VARIABLES: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?is)^(SHOW|LIST)\s+VARIABLES\s*;?$").expect("a regex"));

impl LocalStatement {
    pub fn parse(statement: &str) -> Option<LocalStatement> {
        let text = statement.trim();
        let unquote = |s: &str| s.replace("''", "'");
        if let Some(c) = SET.captures(text) {
            return Some(LocalStatement::Set {
                name: unquote(&c[1]),
                value: unquote(&c[2]),
            });
        }
        if let Some(c) = UNSET.captures(text) {
            return Some(LocalStatement::Unset {
                name: unquote(&c[1]),
            });
        }
        if let Some(c) = DEFINE.captures(text) {
            return Some(LocalStatement::Define {
                name: c[1].to_string(),
                value: unquote(&c[2]),
            });
        }
        if let Some(c) = UNDEFINE.captures(text) {
            return Some(LocalStatement::Undefine {
                name: c[1].to_string(),
            });
        }
        SHOW_VARIABLES
            .is_match(text)
            .then_some(LocalStatement::ShowVariables)
    }
}

pub const HELP_REMINDER: &str =
    "Having trouble? Type 'help' (case-insensitive) for a rundown of how things work!";

/// The logo, centred in 80 columns.
pub fn logo() -> String {
    const LOGO: [&str; 9] = [
        "===========================================",
        "=         ___| |_   _(_) ___ ___          =",
        "=        / __| | | | | |/ __/ _ \\         =",
        "=        \\__ \\ | |_| | | (_|  __/         =",
        "=        |___/_|\\__,_|_|\\___\\___|         =",
        "=                                         =",
        "=      Streaming SQL, in one binary       =",
        "=                                         =",
        "===========================================",
    ];
    let pad = " ".repeat((80 - LOGO[0].len()) / 2);
    let mut out = format!("{pad}\n");
    for line in LOGO {
        out.push_str(&pad);
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
    out
}

/// What the shell says when the server does not answer.
pub fn unreachable_box(server: &str, error: &str) -> String {
    format!(
        "{:*^80}\nRemote server at {server} does not appear to be a valid Sluice\nserver. Please ensure that the URL provided is for an active Sluice server.\n\nThe server responded with the following error: \n{error}\n{}",
        "ERROR",
        "*".repeat(80)
    )
}

pub const HELP: &str = "
Description:
\tThe Sluice shell runs statements on a Sluice server and shows their answers. Each command should be on a separate line. Statements end with a semicolon and may span several lines.

output:
\tView the current output format.

output <format>;

\tSet the output format to <format> (valid formats: 'JSON', 'TABULAR')

\tFor example: \"output JSON;\"

help:
\tShow this message.

exit:
\tExit the CLI.

server:
\tShow the current server

server <server>:
\tChange the current server to <server>
\t example: \"server http://my.awesome.server.com:9098;\"

clear:
\tClear the current terminal.

run script <path_to_sql_file>:
\tLoad and run the statements in the supplied file.
\tNote: the file must be UTF-8 encoded.

history:
\tShow previous lines entered during the current CLI session. You can use up and down arrow keys to view previous lines.

version:
\tGet the current server version.

Session statements:
\tSET 'property'='value'; and UNSET 'property'; keep a property for the session's later statements.
\tDEFINE name = 'value'; and UNDEFINE name; keep a variable, substituted for ${name}; SHOW VARIABLES; lists them.


Keyboard shortcuts:

    The shell supports these keyboard shortcuts:

CTRL+C:
\tEnd the running query (the shell stays).
CTRL+D:
\tEnd your shell session.
CTRL+R:
\tSearch your command history.
TAB:
\tComplete a keyword, stream, table, topic or function name.
Up and Down arrow keys:
\tScroll up or down through your command history.

Default behavior:

    Lines are read one at a time and are sent to the server as SQL unless one of the following is true:

    1. The line is empty or entirely whitespace. In this case, no request is made to the server.

    2. The line is not an in-built CLI command and does not end with a semi-colon. In this case, the cli enters multi-line mode where lines are continuously read until a line is encountered that is terminated with a semi-colon, the concatenation of all lines read during this time is sent to the server as SQL.

";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_whole_words_with_their_arguments() {
        assert_eq!(Command::parse("  HELP;"), Some(Command::Help));
        assert_eq!(
            Command::parse("output json"),
            Some(Command::Output(Some("json".into())))
        );
        assert_eq!(
            Command::parse("RUN SCRIPT '/tmp/my file.sql';"),
            Some(Command::RunScript("/tmp/my file.sql".into()))
        );
        assert_eq!(Command::parse("exit_code"), None);
        assert_eq!(Command::parse("SHOW STREAMS;"), None);
    }

    #[test]
    fn session_statements_are_recognised_and_unquoted() {
        assert_eq!(
            LocalStatement::parse("set 'auto.offset.reset' = 'earliest';"),
            Some(LocalStatement::Set {
                name: "auto.offset.reset".into(),
                value: "earliest".into()
            })
        );
        assert_eq!(
            LocalStatement::parse("DEFINE topic = 'it''s';"),
            Some(LocalStatement::Define {
                name: "topic".into(),
                value: "it's".into()
            })
        );
        assert_eq!(
            LocalStatement::parse("show variables;"),
            Some(LocalStatement::ShowVariables)
        );
        assert_eq!(LocalStatement::parse("SHOW STREAMS;"), None);
    }
}
