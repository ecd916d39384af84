//! The README's "Try it" commands work as printed, against the development app of `cargo run`.

use herald::Role;
use std::process::Command;

use crate::support::{fresh_prefix, test_config, Backend, TestApp};

/// The shell block of the README that starts with `H=http://127.0.0.1:8080/...`.
fn try_it_block() -> String {
    let readme = include_str!("../../../../README.md");
    let start = readme
        .find("```sh\nH=http://127.0.0.1:8080/")
        .expect("the README has its Try it block")
        + "```sh\n".len();
    let end = start + readme[start..].find("```").expect("the block ends");
    readme[start..end].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_try_it_commands_work_as_printed() {
    let mut config = test_config(Backend::InMemory, &fresh_prefix());
    // As `cargo run` does: no app configured, so the development app is served.
    config.apps.clear();
    let app = TestApp::spawn_with(Role::Standalone, config).await;
    let script = try_it_block().replace("127.0.0.1:8080", &app.address.to_string());
    let output = tokio::task::spawn_blocking(move || {
        Command::new("bash")
            .args(["-euo", "pipefail", "-c", &script])
            .output()
            .expect("bash runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the README block failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        !stdout.contains("\"code\":"),
        "an error came back: {stdout}"
    );
    for expected in [
        "\"status\":\"scheduled\"",
        "\"messages\":[{",
        "\"status\":\"cancelled\"",
        "\"rtURL\":",
    ] {
        assert!(stdout.contains(expected), "no {expected} in: {stdout}");
    }
}
