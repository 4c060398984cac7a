//! The command line as a maintainer uses it: the real binary, a temp data dir.
//! (Also makes cargo build `target/*/gitkeeper-bot` for the end-to-end tests.)

use std::process::{Command, Output};

fn bot(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gitkeeper-bot"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("GITKEEPER_DATA__DIR", dir)
        .envs(env.iter().copied())
        .current_dir(dir)
        .output()
        .expect("run gitkeeper-bot")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn check_config_prints_defaults_with_secrets_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let out = bot(
        dir.path(),
        &["check-config"],
        &[
            ("GITKEEPER_GITHUB__WEBHOOK_SECRET", "s3cret-value"),
            ("GITKEEPER_DATABASE__URL", "postgres://gk:pa55word@db/gk"),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("listen = \"127.0.0.1:3000\""), "{stdout}");
    assert!(stdout.contains("label = \"gitkeeper\""), "{stdout}");
    assert!(
        !stdout.contains("s3cret-value") && !stdout.contains("pa55word"),
        "{stdout}"
    );
    assert!(stdout.contains("[redacted]"), "{stdout}");
}

#[test]
fn invalid_config_is_one_line_naming_the_key_and_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = bot(
        dir.path(),
        &["check-config"],
        &[("GITKEEPER_WORKER__CONCURRENCY", "0")],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("worker.concurrency"), "{stderr}");

    std::fs::write(
        dir.path().join("gitkeeper.toml"),
        "[server]\nlisten = \"nowhere\"\n",
    )
    .unwrap();
    let out = bot(dir.path(), &["serve"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("server.listen"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn migrate_then_jobs_lists_an_empty_queue() {
    let dir = tempfile::tempdir().unwrap();
    let out = bot(dir.path(), &["migrate"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(dir.path().join("gitkeeper.db").exists());
    let out = bot(dir.path(), &["jobs", "--json"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "[]");
    let out = bot(dir.path(), &["jobs", "--state", "nonsense"], &[]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("unknown job state"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn version_and_help_on_every_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let out = bot(dir.path(), &["--version"], &[]);
    assert!(
        text(&out.stdout).starts_with("gitkeeper-bot "),
        "{}",
        text(&out.stdout)
    );
    for sub in ["serve", "jobs", "migrate", "check-config"] {
        let out = bot(dir.path(), &[sub, "--help"], &[]);
        assert!(out.status.success(), "{sub}");
        assert!(
            text(&out.stdout).contains("Usage:"),
            "{sub}: {}",
            text(&out.stdout)
        );
    }
}
