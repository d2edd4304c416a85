//! `sluice shell`: the SQL shell, a client of a server's REST API that behaves as ksqlDB's CLI
//! does: statements ended by `;` (over several lines if need be), answers drawn as its tables,
//! query rows printed as they arrive until Ctrl-C, properties and variables kept for the
//! session, and the CLI's own commands (help, output, run script, history, server, exit).
//!
//! Deliberately different: a statement's error ends a script (`--file`, `--execute`, stdin)
//! with a non-zero exit, where ksqlDB's CLI goes on with exit code 0; RUN SCRIPT runs its file
//! as the shell runs typed input (SELECT, SET and DEFINE included), not as one request; output
//! that is not a terminal is drawn 80 columns wide, not 0.

mod commands;
mod complete;
mod render;
mod table;

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use thiserror::Error;

pub use self::render::OutputFormat;
use self::table::RowTable;
use crate::api::{CommandState, ErrorBody, KsqlEntity, KsqlRequest, StreamedRow};
use crate::client::{ClientError, KsqlClient};

/// What `sluice shell` was started with.
#[derive(Debug, Clone)]
pub struct ShellOptions {
    /// The server, and the credentials and trust to reach it with.
    pub connection: crate::client::Connection,
    /// Run this file's statements, then exit.
    pub file: Option<PathBuf>,
    /// Run these statements, then exit.
    pub execute: Option<String>,
    /// Variables defined before the first statement, as `name=value`.
    pub define: Vec<String>,
    pub output: OutputFormat,
}

/// Why a statement or command failed: the shell shows it, and a script stops there.
#[derive(Debug, Error)]
pub enum ShellError {
    #[error(transparent)]
    Client(#[from] ClientError),
    /// A statement the server refused inside an answer (a command that ended in ERROR).
    #[error("{0}")]
    Statement(String),
    /// A command of the shell's own used wrongly (a bad SET, an unknown output format, …).
    #[error("{0}")]
    Usage(String),
    /// An error already shown where it happened (in a query's rows); a script still stops.
    #[error("")]
    Shown,
}

/// What to do after a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    Continue,
    Exit,
}

/// The width a table takes when the output is not a terminal.
const DEFAULT_WIDTH: usize = 80;

/// One shell session: the server, and what the session keeps between statements.
struct Shell {
    client: KsqlClient,
    /// `SET` properties, sent with every request.
    properties: BTreeMap<String, String>,
    /// `DEFINE` variables, substituted before a statement is sent.
    variables: BTreeMap<String, String>,
    output: OutputFormat,
    /// Set by Ctrl-C while a query streams.
    interrupted: Arc<AtomicBool>,
    /// Lines entered this session, for `history`.
    history: Vec<String>,
    /// Names the completer offers: sources, topics, functions.
    names: Arc<Mutex<Vec<String>>>,
    /// Whether errors are drawn in red.
    colour: bool,
}

/// Runs the shell as `options` say; the exit code is non-zero when a script failed.
pub fn run(options: ShellOptions) -> ExitCode {
    let client = match KsqlClient::connect(&options.connection) {
        Ok(client) => client,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let mut shell = Shell::new(client, options.output);
    for definition in &options.define {
        let Some((name, value)) = definition.split_once('=') else {
            eprintln!(
                "Failed to parse argument {definition}: variables must be defined using '=' (i.e. var=val)."
            );
            return ExitCode::FAILURE;
        };
        shell
            .variables
            .insert(name.trim().to_lowercase(), value.trim().to_string());
    }
    let script = if let Some(sql) = &options.execute {
        Some(sql.clone())
    } else if let Some(path) = &options.file {
        match std::fs::read_to_string(path) {
            Ok(text) => Some(text),
            Err(e) => {
                eprintln!("No such script file: {} ({e})", path.display());
                return ExitCode::FAILURE;
            }
        }
    } else if !std::io::stdin().is_terminal() {
        let mut text = String::new();
        if let Err(e) = std::io::stdin().read_to_string(&mut text) {
            eprintln!("Cannot read the statements from standard input: {e}");
            return ExitCode::FAILURE;
        }
        Some(text)
    } else {
        None
    };
    match script {
        Some(text) => match shell.run_script(&text) {
            Ok(_) => ExitCode::SUCCESS,
            Err(e) => {
                shell.print_error(&e);
                ExitCode::FAILURE
            }
        },
        None => {
            shell.interactive();
            ExitCode::SUCCESS
        }
    }
}

impl Shell {
    fn new(client: KsqlClient, output: OutputFormat) -> Shell {
        Shell {
            client,
            properties: BTreeMap::new(),
            variables: BTreeMap::new(),
            output,
            interrupted: Arc::new(AtomicBool::new(false)),
            history: Vec::new(),
            names: Arc::new(Mutex::new(Vec::new())),
            colour: std::io::stdout().is_terminal(),
        }
    }

    /// The REPL: a banner, then statements and commands until `exit` or end of input.
    fn interactive(&mut self) {
        print!("{}", self.banner());
        self.refresh_names();
        let mut editor = match complete::editor(Arc::clone(&self.names)) {
            Ok(editor) => editor,
            Err(e) => {
                eprintln!("Cannot start the line editor: {e}");
                return;
            }
        };
        // After the editor, which takes SIGINT for itself when it is made: while a line is
        // edited Ctrl-C is a key, while a query streams it is this signal.
        let interrupted = Arc::clone(&self.interrupted);
        if let Err(e) = ctrlc::set_handler(move || interrupted.store(true, Ordering::SeqCst)) {
            eprintln!("warning: Ctrl-C will end the shell, not a query: {e}");
        }
        let history_file = history_path();
        if let Some(path) = &history_file {
            // A first session has no history yet.
            let _ = editor.load_history(path);
        }
        loop {
            match editor.readline("ksql> ") {
                Ok(line) => {
                    if line.trim().is_empty() {
                        continue;
                    }
                    let _ = editor.add_history_entry(line.as_str());
                    if let Some(path) = &history_file
                        && let Err(e) = editor.append_history(path)
                    {
                        eprintln!(
                            "WARNING: Unable to save command history to '{}': {e}",
                            path.display()
                        );
                    }
                    self.history.push(line.clone());
                    match self.run_line(&line) {
                        Ok(Next::Exit) => break,
                        Ok(Next::Continue) => {}
                        Err(e) => self.print_error(&e),
                    }
                }
                Err(rustyline::error::ReadlineError::Interrupted) => println!("^C"),
                Err(rustyline::error::ReadlineError::Eof) => break,
                Err(e) => {
                    eprintln!("Cannot read a line: {e}");
                    break;
                }
            }
            let _ = std::io::stdout().flush();
        }
        println!("Exiting Sluice.");
    }

    fn banner(&self) -> String {
        let (version, status) = match self.client.info() {
            Ok(info) => (info.version, info.server_status),
            Err(e) => {
                return format!(
                    "\n{}\n{}\n\n",
                    commands::unreachable_box(self.client.server(), &e.to_string()),
                    commands::HELP_REMINDER
                );
            }
        };
        let mut out = commands::logo();
        out.push_str(&format!(
            "CLI v{}, Server v{version} located at {}\nServer Status: {status}\n\n{}\n\n",
            env!("CARGO_PKG_VERSION"),
            self.client.server(),
            commands::HELP_REMINDER,
        ));
        out
    }

    /// Runs a script: its statements and commands in order, stopping at the first error.
    fn run_script(&mut self, text: &str) -> Result<Next, ShellError> {
        let mut next = Next::Continue;
        for (first_line, input) in split_commands(text) {
            next = self.run_input(&input, first_line)?;
            if next == Next::Exit {
                break;
            }
        }
        Ok(next)
    }

    /// One line (or lines) typed.
    fn run_line(&mut self, line: &str) -> Result<Next, ShellError> {
        self.run_input(line, 1)
    }

    /// One input, whose text starts on line `first_line` of what the user wrote: a command
    /// of the shell's own, or statements.
    fn run_input(&mut self, input: &str, first_line: u64) -> Result<Next, ShellError> {
        if let Some(command) = commands::Command::parse(input) {
            return self.run_command(command);
        }
        self.run_statements(input, first_line)?;
        Ok(Next::Continue)
    }

    fn run_command(&mut self, command: commands::Command) -> Result<Next, ShellError> {
        use commands::Command;
        match command {
            Command::Help => print!("{}", commands::HELP),
            Command::Exit => return Ok(Next::Exit),
            Command::Clear => print!("\x1b[2J\x1b[H"),
            Command::Output(None) => println!("Current output format: {}", self.output.name()),
            Command::Output(Some(format)) => match OutputFormat::parse(&format) {
                Some(format) => {
                    self.output = format;
                    println!("Output format set to {}", format.name());
                }
                None => {
                    return Err(ShellError::Usage(format!(
                        "Invalid output format: '{format}' (valid formats: 'JSON', 'TABULAR')"
                    )));
                }
            },
            Command::History => {
                for (i, line) in self.history.iter().enumerate() {
                    println!("{:4}: {line}", i + 1);
                }
            }
            Command::Version => {
                let info = self.client.info()?;
                println!("Version: {}", info.version);
            }
            Command::Server(None) => println!("{}", self.client.server()),
            Command::Server(Some(server)) => {
                self.client = self.client.with_server(&server)?;
                println!("Server now: {server}");
                if let Err(e) = self.client.info() {
                    println!(
                        "{}",
                        commands::unreachable_box(self.client.server(), &e.to_string())
                    );
                }
                self.refresh_names();
            }
            Command::RunScript(path) => {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| ShellError::Usage(format!("Failed to read file: {path} ({e})")))?;
                return self.run_script(&text);
            }
        }
        Ok(Next::Continue)
    }

    /// Statements: the shell's own (SET, DEFINE, SHOW VARIABLES …) are kept here, queries and
    /// PRINT stream their answers, and every run of others goes to `/ksql` in one request.
    fn run_statements(&mut self, text: &str, first_line: u64) -> Result<(), ShellError> {
        let mut batch = String::new();
        for piece in crate::sql::split_statements(text) {
            let statement = crate::sql::substitute_variables(&piece.text, &self.variables);
            let local = commands::LocalStatement::parse(&statement);
            let streams = local.is_none() && streams_answer(&statement);
            if local.is_none() && !streams {
                // Each statement where it was in the input (line and column), so that the
                // server's `line L:C` of an error points where the user wrote it.
                let line = first_line + piece.start.line - 1;
                let mut at_line = batch.matches('\n').count() as u64 + 1;
                while at_line < line {
                    batch.push('\n');
                    at_line += 1;
                }
                let at_column = batch[batch.rfind('\n').map_or(0, |i| i + 1)..]
                    .chars()
                    .count() as u64;
                let indent = (piece.start.column - 1).saturating_sub(at_column);
                batch.extend(std::iter::repeat_n(' ', indent as usize));
                batch.push_str(&statement);
                continue;
            }
            self.send_batch(&mut batch)?;
            match local {
                Some(local) => self.run_local(local)?,
                None => self.stream(&statement)?,
            }
        }
        self.send_batch(&mut batch)
    }

    fn request(&self, sql: &str) -> KsqlRequest {
        KsqlRequest {
            ksql: Some(sql.to_string()),
            streams_properties: self
                .properties
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .collect(),
            session_variables: BTreeMap::new(),
        }
    }

    fn send_batch(&mut self, batch: &mut String) -> Result<(), ShellError> {
        if batch.trim().is_empty() {
            return Ok(());
        }
        let sql = std::mem::take(batch);
        let result = self.client.ksql(&self.request(&sql));
        let entities = match result {
            Ok(entities) => entities,
            Err(ClientError::Server(ErrorBody::Statement {
                message, entities, ..
            })) => {
                // What ran before the failing statement, then why it failed.
                if !entities.is_empty() {
                    self.print_entities(&entities);
                }
                return Err(ShellError::Statement(message));
            }
            Err(e) => return Err(e.into()),
        };
        let failed: Vec<&str> = entities
            .iter()
            .filter_map(|e| match e {
                KsqlEntity::CurrentStatus { command_status, .. }
                    if command_status.status == CommandState::Error =>
                {
                    command_status.message.lines().next()
                }
                _ => None,
            })
            .collect();
        if !failed.is_empty() {
            return Err(ShellError::Statement(failed.join("\n")));
        }
        self.print_entities(&entities);
        if entities
            .iter()
            .any(|e| matches!(e, KsqlEntity::CurrentStatus { .. }))
        {
            self.refresh_names();
        }
        Ok(())
    }

    fn print_entities(&self, entities: &[KsqlEntity]) {
        print!("{}", render::entities(entities, self.width(), self.output));
        let _ = std::io::stdout().flush();
    }

    fn run_local(&mut self, statement: commands::LocalStatement) -> Result<(), ShellError> {
        use commands::LocalStatement;
        match statement {
            LocalStatement::Set { name, value } => {
                crate::engine::config::check_property_name(&name).map_err(ShellError::Usage)?;
                match self.properties.insert(name.clone(), value.clone()) {
                    None => println!(
                        "Successfully changed local property '{name}' to '{value}'. Use the UNSET command to revert your change."
                    ),
                    Some(old) => println!(
                        "Successfully changed local property '{name}' from '{old}' to '{value}'."
                    ),
                }
            }
            LocalStatement::Unset { name } => match self.properties.remove(&name) {
                Some(old) => {
                    println!("Successfully unset local property '{name}' (value was '{old}').")
                }
                None => {
                    return Err(ShellError::Usage(format!(
                        "Cannot unset local property '{name}' which was never set in the first place"
                    )));
                }
            },
            LocalStatement::Define { name, value } => {
                self.variables.insert(name.to_lowercase(), value);
            }
            LocalStatement::Undefine { name } => {
                if self.variables.remove(&name.to_lowercase()).is_none() {
                    println!("Cannot undefine variable '{name}' which was never defined.");
                }
            }
            LocalStatement::ShowVariables => {
                self.print_entities(&[render::variables_entity(&self.variables)]);
            }
        }
        Ok(())
    }

    /// A query or PRINT: its rows (or records) as they arrive, until it ends or Ctrl-C.
    fn stream(&mut self, statement: &str) -> Result<(), ShellError> {
        let print = is_print(statement);
        let mut answer = self.client.query(&self.request(statement))?;
        self.interrupted.store(false, Ordering::SeqCst);
        let (sender, receiver) = mpsc::sync_channel::<Result<Streamed, ClientError>>(1024);
        std::thread::spawn(move || {
            loop {
                let next = if print {
                    answer.next_line().map(|l| l.map(Streamed::Line))
                } else {
                    answer.next_row().map(|r| r.map(Streamed::Row))
                };
                let Some(next) = next else { break };
                if sender.send(next).is_err() {
                    break;
                }
            }
        });
        let mut query_id = None;
        let mut table: Option<RowTable> = None;
        let mut out = std::io::stdout();
        let result = loop {
            match receiver.recv_timeout(Duration::from_millis(50)) {
                Ok(Ok(Streamed::Line(line))) => {
                    if !line.trim().is_empty() {
                        let _ = writeln!(out, "{line}");
                    }
                }
                Ok(Ok(Streamed::Row(row))) => match row {
                    StreamedRow::Header(header) => {
                        query_id = Some(header.query_id.clone());
                        let names = render::column_names(&header.schema);
                        if self.output == OutputFormat::Json {
                            let _ = write!(out, "{}", render::pretty_json(&header));
                        } else {
                            let rows = RowTable::new(names.len(), self.width());
                            let _ = write!(out, "{}", rows.header(&names));
                            table = Some(rows);
                        }
                    }
                    StreamedRow::Row(data) => match (&table, self.output) {
                        (Some(rows), OutputFormat::Tabular) => {
                            let cells: Vec<String> = data
                                .columns
                                .iter()
                                .flatten()
                                .map(|v| {
                                    if data.tombstone && v.is_null() {
                                        "<TOMBSTONE>".to_string()
                                    } else {
                                        render::cell(v)
                                    }
                                })
                                .collect();
                            let _ = write!(out, "{}", rows.row(&cells));
                        }
                        _ => {
                            let _ = write!(out, "{}", render::pretty_json(&data));
                        }
                    },
                    StreamedRow::FinalMessage(message) => {
                        let _ = writeln!(out, "{message}");
                    }
                    StreamedRow::ErrorMessage(error) => {
                        break Err(ShellError::Client(ClientError::Server(error)));
                    }
                },
                Ok(Err(e)) => break Err(e.into()),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if self.interrupted.swap(false, Ordering::SeqCst) {
                        if let Some(id) = &query_id {
                            // A pull query is over already; a push query stops on the server.
                            let _ = self.client.close_query(id);
                        }
                        break Ok(());
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break Ok(()),
            }
            let _ = out.flush();
        };
        if let Err(e) = &result {
            self.print_error(e);
        }
        let result = result.map_err(|_| ShellError::Shown);
        let _ = writeln!(
            out,
            "{}",
            if print {
                "Topic printing ceased"
            } else {
                "Query terminated"
            }
        );
        let _ = out.flush();
        result
    }

    fn width(&self) -> usize {
        terminal_width().unwrap_or(DEFAULT_WIDTH)
    }

    fn print_error(&self, error: &ShellError) {
        if matches!(error, ShellError::Shown) {
            return;
        }
        let text = error.to_string();
        if self.colour {
            println!("\x1b[31m{text}\x1b[0m");
        } else {
            println!("{text}");
        }
    }

    /// Asks the server for the names the completer offers.
    fn refresh_names(&self) {
        let request = self.request("SHOW STREAMS; SHOW TABLES; SHOW TOPICS; SHOW FUNCTIONS;");
        let Ok(entities) = self.client.ksql(&request) else {
            return;
        };
        let mut names = Vec::new();
        for entity in entities {
            match entity {
                KsqlEntity::Streams { streams: s, .. } | KsqlEntity::Tables { tables: s, .. } => {
                    names.extend(s.into_iter().map(|s| s.name));
                }
                KsqlEntity::KafkaTopics { topics, .. } => {
                    names.extend(topics.into_iter().map(|t| t.name));
                }
                KsqlEntity::FunctionNames { functions, .. } => {
                    names.extend(functions.into_iter().map(|f| f.name));
                }
                _ => {}
            }
        }
        names.sort();
        names.dedup();
        if let Ok(mut shared) = self.names.lock() {
            *shared = names;
        }
    }
}

/// What a streamed answer's reader hands over.
enum Streamed {
    Row(StreamedRow),
    Line(String),
}

/// The first word of a statement, past comments, upper-cased.
fn first_word(statement: &str) -> String {
    let mut rest = statement.trim_start();
    loop {
        if let Some(after) = rest.strip_prefix("--") {
            rest = after.split_once('\n').map_or("", |(_, r)| r).trim_start();
        } else if let Some(after) = rest.strip_prefix("/*") {
            rest = after.split_once("*/").map_or("", |(_, r)| r).trim_start();
        } else {
            break;
        }
    }
    rest.split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase()
}

/// Whether a statement's answer streams: a query or PRINT.
fn streams_answer(statement: &str) -> bool {
    matches!(first_word(statement).as_str(), "SELECT" | "PRINT")
}

fn is_print(statement: &str) -> bool {
    first_word(statement) == "PRINT"
}

/// A script's inputs, each with the line it starts on: each line that is a command of the
/// shell's own, and each run of statements between them.
fn split_commands(text: &str) -> Vec<(u64, String)> {
    let mut inputs = Vec::new();
    let mut pending = String::new();
    let mut pending_from = 1;
    for (number, line) in (1..).zip(text.lines()) {
        let complete = crate::sql::split_statements(&pending)
            .last()
            .is_none_or(|s| s.text.trim_end().ends_with(';'));
        if complete && commands::Command::parse(line).is_some() {
            if !pending.trim().is_empty() {
                inputs.push((pending_from, std::mem::take(&mut pending)));
            }
            pending.clear();
            inputs.push((number, line.to_string()));
            pending_from = number + 1;
            continue;
        }
        pending.push_str(line);
        pending.push('\n');
    }
    if !pending.trim().is_empty() {
        inputs.push((pending_from, pending));
    }
    inputs
}

fn history_path() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|home| Path::new(&home).join(".sluice_history"))
}

/// The terminal's width in columns, when the output is a terminal.
fn terminal_width() -> Option<usize> {
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes a `winsize` into the one we pass, and nothing else.
    let found = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
    (found && size.ws_col > 0).then_some(usize::from(size.ws_col))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_and_print_stream_and_the_rest_do_not() {
        assert!(streams_answer("-- a comment\nselect * from s;"));
        assert!(streams_answer("/* x */ PRINT 't';"));
        assert!(!streams_answer("SHOW STREAMS;"));
        assert!(!streams_answer("CREATE STREAM s AS SELECT * FROM t;"));
    }

    #[test]
    fn a_script_keeps_its_commands_apart_from_its_statements() {
        let inputs = split_commands(
            "SHOW STREAMS;\noutput json\nCREATE STREAM s\n  (a INT) WITH (kafka_topic='s',\n value_format='json');\nexit\n",
        );
        assert_eq!(
            inputs,
            [
                (1, "SHOW STREAMS;\n".to_string()),
                (2, "output json".to_string()),
                (
                    3,
                    "CREATE STREAM s\n  (a INT) WITH (kafka_topic='s',\n value_format='json');\n"
                        .to_string()
                ),
                (6, "exit".to_string())
            ]
        );
        // A statement whose line begins like a command is still a statement.
        assert_eq!(
            split_commands("SELECT\nexit_code FROM s;"),
            [(1, "SELECT\nexit_code FROM s;\n".to_string())]
        );
    }
}
