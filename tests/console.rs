//! The web console in a browser: `tests/console/console.mjs` drives headless Chromium through
//! playwright-core against a server. Needs node, playwright-core (`SLUICE_NODE_MODULES`, by
//! default `target/ci-node/node_modules`, where `.ci/run` installs it) and Chromium; without
//! them the test is skipped, unless `SLUICE_REQUIRE_BROWSER` is set (as in CI).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::Server;

fn browser_tools() -> Option<(PathBuf, PathBuf)> {
    let modules = std::env::var_os("SLUICE_NODE_MODULES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("target/ci-node/node_modules")
        });
    let chromium = std::env::var_os("SLUICE_CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| {
            [
                "/usr/lib/chromium/chromium",
                "/usr/bin/chromium",
                "/usr/bin/chromium-browser",
            ]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
        });
    let node = Command::new("node").arg("--version").output().is_ok();
    match (node, modules.join("playwright-core").exists(), chromium) {
        (true, true, Some(chromium)) => Some((modules, chromium)),
        _ => None,
    }
}

#[test]
fn the_console_runs_statements_streams_queries_and_shows_the_catalog() {
    let Some((modules, chromium)) = browser_tools() else {
        assert!(
            std::env::var_os("SLUICE_REQUIRE_BROWSER").is_none(),
            "node, playwright-core and Chromium are required (SLUICE_REQUIRE_BROWSER is set)"
        );
        eprintln!("node, playwright-core or Chromium is missing: the console test is skipped");
        return;
    };
    let server = Server::start();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/console/console.mjs");
    let output = Command::new("node")
        .arg(script)
        .arg(server.url())
        .env("SLUICE_NODE_MODULES", modules)
        .env("SLUICE_CHROMIUM", chromium)
        .output()
        .expect("node runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{text}");
    assert!(text.contains("every check passed"), "{text}");
}
