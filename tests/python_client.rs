//! ksqlDB's Python client (ksql-python, PyPI `ksql`) against the server binary: runs
//! `tests/python/test_ksql_client.py URL`. Skipped, with a message saying so, only when
//! `python3` or the client package is missing, unless `SLUICE_REQUIRE_PYTHON_CLIENT` is set (CI
//! sets it, so there a missing client fails the test). `SLUICE_PYTHON` names another
//! interpreter (a virtualenv's, say).
//!
//! Installing the client (0.10.2 builds only without build isolation, with wheel present):
//! `python3 -m pip install setuptools wheel && python3 -m pip install --no-build-isolation ksql==0.10.2`

mod support;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::Server;

/// The script's exit status for "the ksql package is not installed".
const SKIPPED: i32 = 77;

/// Skips the test with a message, or fails it when the environment requires the client.
fn skip(reason: &str) {
    if std::env::var_os("SLUICE_REQUIRE_PYTHON_CLIENT").is_some() {
        panic!("the ksql-python test must run here, but: {reason}");
    }
    println!("SKIPPED: {reason}");
}

#[test]
fn ksql_python_client_creates_inserts_and_queries() {
    let python = std::env::var("SLUICE_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/python/test_ksql_client.py"
    );
    let server = Server::start();
    let mut child = match Command::new(&python)
        .arg(script)
        .arg(server.url())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            skip(&format!(
                "{python} is not installed; the ksql-python test did not run"
            ));
            return;
        }
        Err(e) => panic!("cannot run {python}: {e}"),
    };
    // Read the output on threads so a chatty script cannot block on a full pipe.
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for python") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = out.join().unwrap_or_default();
    let err = err.join().unwrap_or_default();
    let Some(status) = status else {
        panic!("the Python client test timed out\nstdout:\n{out}\nstderr:\n{err}");
    };
    if status.code() == Some(SKIPPED) {
        skip(out.trim());
        println!(
            "install it with: python3 -m pip install setuptools wheel && \
             python3 -m pip install --no-build-isolation ksql==0.10.2"
        );
        return;
    }
    assert!(
        status.success(),
        "the Python client test failed ({status})\nstdout:\n{out}\nstderr:\n{err}\nserver log:\n{}",
        server.log_text()
    );
    print!("{out}");
}
