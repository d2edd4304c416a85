//! `sluice shell` against a running server: scripts (`--execute`, `--file`, standard input)
//! and an interactive session in a terminal (tmux), where Ctrl-C ends a push query and the
//! shell goes on.

mod support;

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::Server;

fn shell(server: &Server, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("shell")
        .arg(server.url())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the shell starts");
    let mut input = child.stdin.take().expect("stdin");
    input
        .write_all(stdin.unwrap_or_default().as_bytes())
        .expect("written");
    drop(input);
    child.wait_with_output().expect("the shell ends")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

const SETUP: &str = "CREATE STREAM pageviews (id STRING KEY, page STRING, ms BIGINT) WITH (kafka_topic='pageviews', value_format='JSON', partitions=1);";

#[test]
fn a_script_draws_answers_as_ksqldbs_cli_does_and_stops_at_the_first_error() {
    let server = Server::start();
    let output = shell(
        &server,
        &[
            "--execute",
            &format!(
                "{SETUP}\nSHOW STREAMS;\nINSERT INTO pageviews (id, page, ms) VALUES ('a', 'home', 1);\n\
                 SET 'auto.offset.reset'='earliest';\nSELECT id, page FROM pageviews;"
            ),
        ],
        None,
    );
    let text = stdout(&output);
    assert!(output.status.success(), "{text}");
    // Statements sent together: each answer under its statement.
    let expected_streams = "
SHOW STREAMS;
 Stream Name | Kafka Topic | Key Format | Value Format | Windowed 
------------------------------------------------------------------
 PAGEVIEWS   | pageviews   | KAFKA      | JSON         | false    
------------------------------------------------------------------
";
    assert!(text.contains(expected_streams), "{text}");
    assert!(text.contains(" Message        \n"), "{text}");
    assert!(text.contains(" Stream created \n"), "{text}");
    assert!(
        text.contains(
            "Successfully changed local property 'auto.offset.reset' to 'earliest'. Use the UNSET command to revert your change."
        ),
        "{text}"
    );
    // 80 columns, two columns of 38.
    let separator = format!("+{}+{}+\n", "-".repeat(38), "-".repeat(38));
    let header = format!("{separator}|{:<38}|{:<38}|\n{separator}", "ID", "PAGE");
    assert!(text.contains(&header), "{text}");
    assert!(
        text.contains(&format!(
            "|{:<38}|{:<38}|\nQuery Completed\nQuery terminated\n",
            "a", "home"
        )),
        "{text}"
    );

    // A statement the server refuses ends the script, non-zero, with the error's position.
    let output = shell(
        &server,
        &[
            "--execute",
            "SHOW STREAMS;\nCREATE STREAM oops (;\nSHOW TOPICS;",
        ],
        None,
    );
    let text = stdout(&output);
    assert!(!output.status.success(), "{text}");
    // Where the statement is in the script: line 2, column 21.
    assert!(text.contains("line 2:21: Syntax Error"), "{text}");
    assert!(!text.contains("Kafka Topic | Partitions"), "{text}");
}

#[test]
fn files_standard_input_variables_and_json_output() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("setup.sql");
    std::fs::write(
        &script,
        "-- The pageviews stream, on a topic the caller names.\nCREATE STREAM pageviews (id STRING KEY, page STRING)\n  WITH (kafka_topic='${topic}', value_format='JSON', partitions=1);\n",
    )
    .unwrap();
    let output = shell(
        &server,
        &[
            "--file",
            script.to_str().unwrap(),
            "--define",
            "topic=views",
        ],
        None,
    );
    assert!(output.status.success(), "{}", stdout(&output));
    // Statements on standard input, commands of the shell's own among them.
    let output = shell(
        &server,
        &[],
        Some(&format!(
            "DEFINE t = 'views';\nSHOW VARIABLES;\noutput JSON\nDESCRIBE pageviews;\nRUN SCRIPT '{}';\nexit\nSHOW TOPICS;\n",
            script.display()
        )),
    );
    let text = stdout(&output);
    assert!(
        !output.status.success(),
        "RUN SCRIPT reran a CREATE: {text}"
    );
    assert!(text.contains(" Variable Name | Value \n"), "{text}");
    assert!(text.contains(" t             | views \n"), "{text}");
    assert!(text.contains("Output format set to JSON"), "{text}");
    assert!(text.contains("\"@type\": \"sourceDescription\""), "{text}");
    // The file had no `topic` variable this time.
    assert!(
        text.contains("${topic}") || text.contains("topic"),
        "{text}"
    );
    let shown = shell(&server, &["--execute", "DESCRIBE pageviews;"], None);
    let text = stdout(&shown);
    assert!(
        text.contains("Name                 : PAGEVIEWS\n Field | Type                   \n"),
        "{text}"
    );
    assert!(
        text.contains(" ID    | VARCHAR(STRING)  (key) \n"),
        "{text}"
    );
}

/// A shell in a tmux session of 100×40.
struct Terminal {
    session: String,
}

impl Terminal {
    fn start(server: &Server) -> Option<Terminal> {
        Terminal::start_with(server, "")
    }

    /// A shell started with extra arguments (written as on a command line).
    fn start_with(server: &Server, arguments: &str) -> Option<Terminal> {
        if Command::new("tmux").arg("-V").output().is_err() {
            // CI installs it and sets SLUICE_REQUIRE_TMUX, so there the test never skips.
            assert!(
                std::env::var_os("SLUICE_REQUIRE_TMUX").is_none(),
                "tmux is required (SLUICE_REQUIRE_TMUX is set) but not installed"
            );
            eprintln!("tmux is not installed: the interactive test is skipped");
            return None;
        }
        let session = format!("sluice-shell-{}-{}", std::process::id(), server.addr.port());
        let home = tempfile::tempdir().unwrap().keep();
        let command = format!(
            "HOME={} {} shell {} {arguments}",
            home.display(),
            env!("CARGO_BIN_EXE_sluice"),
            server.url()
        );
        let status = Command::new("tmux")
            .args(["new-session", "-d", "-x", "100", "-y", "40", "-s", &session])
            .arg(command)
            .status()
            .expect("tmux runs");
        assert!(status.success());
        // The pane stays to be read after the shell exits.
        let _ = Command::new("tmux")
            .args(["set-option", "-t", &session, "remain-on-exit", "on"])
            .status();
        Some(Terminal { session })
    }

    fn keys(&self, keys: &[&str]) {
        let status = Command::new("tmux")
            .args(["send-keys", "-t", &self.session])
            .args(keys)
            .status()
            .expect("tmux runs");
        assert!(status.success());
    }

    /// Types a line and Enter (a `;` at the end of a tmux argument would end its command).
    fn type_line(&self, line: &str) {
        match line.strip_suffix(';') {
            Some(text) => {
                self.keys(&["-l", text]);
                self.keys(&["-H", "3b"]);
            }
            None => self.keys(&["-l", line]),
        }
        self.keys(&["Enter"]);
    }

    fn screen(&self) -> String {
        let output = Command::new("tmux")
            .args(["capture-pane", "-p", "-S", "-200", "-t", &self.session])
            .output()
            .expect("tmux runs");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Waits until the screen shows `text` `times` times.
    fn wait_for(&self, text: &str, times: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let screen = self.screen();
            if screen.matches(text).count() >= times {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "waited for {text:?} ×{times}:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.session])
            .status();
    }
}

#[test]
fn an_interactive_session_streams_a_push_query_until_ctrl_c_and_goes_on() {
    // One push query at a time: the second runs only if Ctrl-C closed the first on the server.
    let server = Server::start_configured("ksql.max.push.queries=1");
    server.ksql_ok(SETUP);
    let Some(terminal) = Terminal::start(&server) else {
        return;
    };
    // tmux drops a line's trailing spaces: the prompt is "ksql>".
    let screen = terminal.wait_for("ksql>", 1);
    assert!(screen.contains("Server Status: RUNNING"), "{screen}");
    assert!(screen.contains(support_version()), "{screen}");
    // A statement over two lines, and tab completion of a stream's name.
    terminal.type_line("SELECT id, page FROM");
    terminal.keys(&["-l", " PAGEV"]);
    terminal.keys(&["Tab"]);
    terminal.type_line(" EMIT CHANGES;");
    terminal.wait_for("|PAGE", 1);
    server.ksql_ok("INSERT INTO pageviews (id, page, ms) VALUES ('u1', 'checkout', 7);");
    let screen = terminal.wait_for("|checkout", 1);
    assert!(
        screen.contains("FROM\n PAGEVIEWS EMIT CHANGES;"),
        "{screen}"
    );
    terminal.keys(&["C-c"]);
    terminal.wait_for("Query terminated", 1);
    terminal.wait_for("ksql>", 2);
    terminal.type_line("SELECT page FROM pageviews EMIT CHANGES LIMIT 1;");
    terminal.wait_for("|PAGE", 2);
    server.ksql_ok("INSERT INTO pageviews (id, page, ms) VALUES ('u2', 'home', 8);");
    let screen = terminal.wait_for("Limit Reached\nQuery terminated", 1);
    assert!(screen.contains("|home "), "{screen}");
    terminal.type_line("SHOW TOPICS;");
    terminal.wait_for(" pageviews ", 1);
    terminal.type_line("exit");
    terminal.wait_for("Exiting Sluice.", 1);
}

#[test]
fn the_shell_asks_for_the_password_of_a_user_and_does_not_echo_it() {
    let server = Server::start_authenticated("alice: wonderland, admin\n", "");
    let Some(terminal) = Terminal::start_with(&server, "--user alice") else {
        return;
    };
    terminal.wait_for("Password for alice:", 1);
    terminal.type_line("wonderland");
    let screen = terminal.wait_for("ksql>", 1);
    assert!(screen.contains("Server Status: RUNNING"), "{screen}");
    assert!(
        !screen.contains("wonderland"),
        "the password was echoed:\n{screen}"
    );
    terminal.type_line("SHOW STREAMS;");
    terminal.wait_for("Stream Name", 1);
    terminal.type_line("exit");
    terminal.wait_for("Exiting Sluice.", 1);
}

fn support_version() -> &'static str {
    concat!("CLI v", env!("CARGO_PKG_VERSION"))
}
