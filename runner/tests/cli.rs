//! The runner's command line as a Mac user meets it, on the real binary.
//! (Also makes cargo build `target/*/gitkeeper-runner`, which the end-to-end
//! tests in `tests/` start.)

use std::process::{Command, Output};

fn runner(args: &[&str], env: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().expect("temp dir");
    Command::new(env!("CARGO_BIN_EXE_gitkeeper-runner"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .current_dir(dir.path())
        .output()
        .expect("run gitkeeper-runner")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn version_and_help_name_the_commands() {
    let out = runner(&["--version"], &[]);
    assert!(out.status.success());
    assert_eq!(
        text(&out.stdout).trim(),
        format!("gitkeeper-runner {}", env!("CARGO_PKG_VERSION"))
    );
    let out = runner(&["--help"], &[]);
    let help = text(&out.stdout);
    assert!(help.contains("doctor") && help.contains("run"), "{help}");
}

#[test]
fn doctor_without_a_bot_or_servers_fails_and_names_each_fix() {
    // Port 9 (discard) is closed on loopback: connection refused at once.
    let out = runner(&["doctor"], &[("OLLAMA_HOST", "127.0.0.1:9")]);
    assert!(
        !out.status.success(),
        "doctor must fail when nothing is set up"
    );
    let report = text(&out.stdout);
    assert!(report.contains("GITKEEPER_RUNNER__BOT_URL"), "{report}");
    assert!(report.contains("ollama serve"), "{report}");
    assert!(report.contains("check(s) failed"), "{report}");
}
