//! Running a repository's own commands (install, typecheck, lint, build,
//! test) without handing them anything of the bot's: a cleared environment
//! (only `PATH`, `HOME` inside the job dir, `LANG`, [`PLAIN_OUTPUT_ENV`]
//! (`CI=true`, no colour), the variables the task's [`ValidationPolicy`] passes (what the repository's
//! config asks for *and* the operator's `[validate] pass_env` allows), and
//! the ones the command names, such as
//! `CARGO_HOME` of the dependency cache), a wall-clock limit per
//! command, output kept to its head and tail, and the whole process group
//! killed on time-out so nothing a build started outlives it.
//!
//! Must never: pass the App key, an installation token or a model API key to
//! a command (the environment is built from nothing); pass a host variable
//! the operator did not list, whatever the repository asks for; leave a process running
//! after `run` returns; let a command write outside the work dir and the
//! directories its [`SandboxCommand`] names (where isolation is available).

use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::policy::{EnvPolicy, ValidationPolicy};

/// Set for every command, after the host variables a policy passes: a CI
/// machine without colour, so what a model or a maintainer reads of the
/// output is text (escape sequences that still come are stripped).
pub const PLAIN_OUTPUT_ENV: [(&str, &str); 3] =
    [("CI", "true"), ("NO_COLOR", "1"), ("FORCE_COLOR", "0")];

/// One command to run in the work dir.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxCommand {
    pub argv: Vec<String>,
    /// Dependency installs need the network; checks do not (enforced where
    /// isolation is available).
    pub network: bool,
    pub timeout: Duration,
    /// Variables set by the bot (never from the host environment), applied
    /// after the repository's allowed ones.
    pub env: Vec<(String, String)>,
    /// Directories outside the work dir the command may write (isolation
    /// makes everything else but the work dir read-only).
    pub writable: Vec<PathBuf>,
    /// Directories outside the work dir the command reads, visible even
    /// where isolation hides their parent (a private `/tmp`).
    pub readable: Vec<PathBuf>,
}

/// How a command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutcome {
    /// The exit code, when it exited by itself.
    pub exit_code: Option<i32>,
    /// The signal that ended it, when one did.
    pub signal: Option<i32>,
    pub timed_out: bool,
    pub duration: Duration,
    /// stdout and stderr as they arrived, cut to head and tail.
    pub output: String,
    /// Bytes left out of the middle of `output`.
    pub elided_bytes: u64,
}

impl CommandOutcome {
    pub fn passed(&self) -> bool {
        self.exit_code == Some(0) && !self.timed_out
    }
}

/// Why a command could not be run at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    #[error("the command is empty: give the program to run")]
    EmptyCommand,
    #[error(
        "cannot start `{program}`: {source}; is it installed and on the PATH the sandbox gets ({path})?"
    )]
    Spawn {
        program: String,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "repository commands must run isolated, but `bwrap` is not installed or cannot run here (user namespaces disabled?): install bubblewrap (apt install bubblewrap) or set [validate] isolation = \"none\" to run repository commands without isolation"
    )]
    NoIsolation,
    #[error("cannot prepare the sandbox in {dir}: {source}")]
    Prepare {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Runs repository commands; implemented by [`ProcessSandbox`] and by test doubles.
#[async_trait]
pub trait Sandbox: Send + Sync {
    async fn run(
        &self,
        work_dir: &Path,
        command: &SandboxCommand,
    ) -> Result<CommandOutcome, SandboxError>;
}

/// Child processes with a cleared environment in their own process group.
#[derive(Debug, Clone)]
pub struct ProcessSandbox {
    path: String,
    /// Variables the repository asks for and the operator allows, with the
    /// host's values.
    allowed: Vec<(String, String)>,
    output_cap: usize,
    isolation: Isolation,
    /// Paths commands must not see (secrets, other repositories' mirrors):
    /// an empty directory or an empty file in their place under `bwrap`.
    hidden: Vec<PathBuf>,
}

/// How far commands are walled off from the machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Isolation {
    /// Plain child processes (no `bwrap` on this machine, or it cannot run here).
    None,
    /// `bwrap`: the system read-only, only the work dir (and the command's
    /// `writable` dirs) writable, a private `/tmp`, and no network unless the
    /// command is a dependency install.
    Bwrap(PathBuf),
}

impl Isolation {
    /// `bwrap` when it is on PATH and works here (user namespaces allowed),
    /// checked once per process, without blocking the async runtime.
    pub async fn detect() -> Isolation {
        static DETECTED: tokio::sync::OnceCell<Isolation> = tokio::sync::OnceCell::const_new();
        DETECTED
            .get_or_init(|| async {
                let path = std::env::var("PATH").unwrap_or_default();
                for dir in std::env::split_paths(&path) {
                    let candidate = dir.join("bwrap");
                    if tokio::fs::metadata(&candidate)
                        .await
                        .is_ok_and(|m| m.is_file())
                    {
                        return Isolation::probe(candidate).await;
                    }
                }
                Isolation::None
            })
            .await
            .clone()
    }

    /// `bwrap` at `bwrap` when it can build a sandbox here (it needs user
    /// namespaces), else none. The probe is a child process the runtime
    /// awaits, not one it blocks on.
    pub async fn probe(bwrap: PathBuf) -> Isolation {
        let works = tokio::process::Command::new(&bwrap)
            .args(["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"])
            .args([
                "--unshare-net",
                "--unshare-pid",
                "--die-with-parent",
                "true",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .status()
            .await
            .is_ok_and(|s| s.success());
        if works {
            Isolation::Bwrap(bwrap)
        } else {
            tracing::warn!("bwrap is installed but cannot run here (user namespaces disabled?)");
            Isolation::None
        }
    }

    /// [`Isolation::detect`] from synchronous test code (on a thread of its
    /// own, so an async test's runtime is not re-entered).
    #[cfg(test)]
    pub(crate) fn detected_for_tests() -> Isolation {
        std::thread::spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime")
                .block_on(Isolation::detect())
        })
        .join()
        .expect("the probe did not panic")
    }

    /// The isolation the operator's `setting` allows, given what this
    /// machine has (`detected`): never less than required, never silently.
    pub fn required(
        setting: crate::config::IsolationSetting,
        detected: Isolation,
    ) -> Result<Isolation, SandboxError> {
        match (setting, detected) {
            (crate::config::IsolationSetting::None, _) => Ok(Isolation::None),
            (crate::config::IsolationSetting::Bwrap, Isolation::None) => {
                Err(SandboxError::NoIsolation)
            }
            (crate::config::IsolationSetting::Bwrap, bwrap) => Ok(bwrap),
        }
    }

    /// The program and arguments that run `argv` under this isolation.
    fn wrap(&self, work_dir: &Path, command: &SandboxCommand, hidden: &[PathBuf]) -> Vec<String> {
        let argv = &command.argv;
        match self {
            Isolation::None => argv.to_vec(),
            Isolation::Bwrap(bwrap) => {
                let work = work_dir.to_string_lossy().into_owned();
                let mut wrapped: Vec<String> = vec![bwrap.to_string_lossy().into_owned()];
                for arg in [
                    "--ro-bind",
                    "/",
                    "/",
                    "--dev",
                    "/dev",
                    "--proc",
                    "/proc",
                    "--tmpfs",
                    "/tmp",
                ] {
                    wrapped.push(arg.into());
                }
                // Hidden paths first, so the work dir bound after them stays
                // visible even when it lies inside one.
                for path in hidden {
                    let Ok(meta) = std::fs::metadata(path) else {
                        continue;
                    };
                    let target = path.to_string_lossy().into_owned();
                    if meta.is_dir() {
                        wrapped.extend(["--tmpfs".into(), target]);
                    } else {
                        wrapped.extend(["--ro-bind".into(), "/dev/null".into(), target]);
                    }
                }
                wrapped.extend(["--bind".into(), work.clone(), work.clone()]);
                let binds = (command.writable.iter().map(|d| ("--bind", d)))
                    .chain(command.readable.iter().map(|d| ("--ro-bind", d)));
                for (how, dir) in binds {
                    let dir = dir.to_string_lossy().into_owned();
                    wrapped.extend([how.into(), dir.clone(), dir]);
                }
                wrapped.extend(["--chdir".into(), work]);
                // Its own PID namespace: commands cannot signal the bot or other
                // jobs, and nothing they start outlives the sandbox.
                wrapped.push("--unshare-pid".into());
                wrapped.push("--die-with-parent".into());
                if !command.network {
                    wrapped.push("--unshare-net".into());
                }
                wrapped.push("--".into());
                wrapped.extend(argv.iter().cloned());
                wrapped
            }
        }
    }
}

/// What repository commands must never read, from the bot's settings: the
/// App's private key, the config file (it may hold secrets), the data dir
/// (the job store, other repositories' mirrors and job dirs) and the usual
/// credential stores in the bot user's home. Hidden only under `bwrap`.
pub fn secret_paths(settings: &crate::config::Settings) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    if let Some(key) = &settings.github.private_key_path {
        paths.push(key.clone());
    }
    // The file the settings came from (`--config`), and the usual places.
    if let Some(file) = &settings.source_file {
        paths.push(file.clone());
    }
    if let Some(file) = std::env::var_os("GITKEEPER_CONFIG") {
        paths.push(PathBuf::from(file));
    }
    paths.push(PathBuf::from("gitkeeper.toml"));
    paths.push(settings.data.dir.clone());
    // A SQLite job store kept outside the data dir, with its journal files.
    if let Some(db) = settings.database_url().strip_prefix("sqlite://") {
        let db = db.split('?').next().unwrap_or(db);
        for suffix in ["", "-wal", "-shm", "-journal"] {
            paths.push(PathBuf::from(format!("{db}{suffix}")));
        }
    }
    if let Some(home) = std::env::var_os("HOME").map(PathBuf::from) {
        for name in [
            ".ssh",
            ".aws",
            ".gnupg",
            ".docker",
            ".kube",
            ".netrc",
            ".pgpass",
            ".git-credentials",
            ".config/git/credentials",
            ".npmrc",
            ".pypirc",
            ".config/gh",
            ".config/gcloud",
            ".cargo/credentials.toml",
            ".cargo/credentials",
        ] {
            paths.push(home.join(name));
        }
    }
    paths
        .into_iter()
        .map(|p| std::path::absolute(&p).unwrap_or(p))
        .collect()
}

/// Default cap on kept output: 64 KiB of head plus tail.
pub const DEFAULT_OUTPUT_CAP: usize = 64 * 1024;

impl ProcessSandbox {
    /// Commands get the host's values of the variables `env` passes, and
    /// nothing else of the host's environment. `isolation` is the caller's
    /// to decide (see [`Isolation::required`]): no default can leave
    /// commands unwalled by accident.
    pub fn new(isolation: Isolation, env: &EnvPolicy, output_cap: usize) -> Self {
        Self::with_host_env(env, output_cap, |name| std::env::var(name).ok())
            .with_isolation(isolation)
    }

    /// The sandbox `policy` asks for: its variables, its isolation, its
    /// hidden paths.
    pub fn for_policy(policy: &ValidationPolicy, output_cap: usize) -> Self {
        Self::new(policy.isolation().clone(), policy.env(), output_cap)
            .with_hidden(policy.hidden().to_vec())
    }

    /// Like [`ProcessSandbox::new`] without isolation, reading the host's
    /// variables through `host` (tests give it a fixed environment instead of
    /// changing the process's own, which would take `unsafe`).
    fn with_host_env(
        env: &EnvPolicy,
        output_cap: usize,
        host: impl Fn(&str) -> Option<String>,
    ) -> Self {
        let allowed = env
            .passed()
            .iter()
            .filter_map(|name| host(name).map(|v| (name.clone(), v)))
            .collect();
        Self {
            path: std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into()),
            allowed,
            output_cap: output_cap.max(1024),
            isolation: Isolation::None,
            hidden: Vec::new(),
        }
    }

    /// The same sandbox with `paths` hidden from commands (where isolation
    /// allows; a work dir inside a hidden directory stays visible).
    pub fn with_hidden(mut self, paths: Vec<PathBuf>) -> Self {
        self.hidden = paths;
        self
    }

    /// The same sandbox with `isolation` instead of the detected one.
    pub fn with_isolation(mut self, isolation: Isolation) -> Self {
        self.isolation = isolation;
        self
    }

    pub fn isolation(&self) -> &Isolation {
        &self.isolation
    }

    /// Check the program exists, make the command's home and wrap its argv
    /// for the isolation: file system work, so the caller runs it off the
    /// runtime. Returns the argv to start and the home.
    fn prepare(
        &self,
        work_dir: &Path,
        command: &SandboxCommand,
    ) -> Result<(Vec<String>, PathBuf), SandboxError> {
        // Checked here, since under bwrap a missing program is only bwrap's exit code.
        if !program_exists(&command.argv[0], &self.path, work_dir) {
            return Err(SandboxError::Spawn {
                program: command.argv[0].clone(),
                path: self.path.clone(),
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            });
        }
        let home = work_dir.join(".gitkeeper-home");
        std::fs::create_dir_all(&home).map_err(|source| SandboxError::Prepare {
            dir: home.clone(),
            source,
        })?;
        Ok((self.isolation.wrap(work_dir, command, &self.hidden), home))
    }

    fn command(
        &self,
        argv: &[String],
        command: &SandboxCommand,
        work_dir: &Path,
        home: &Path,
    ) -> tokio::process::Command {
        let mut process = tokio::process::Command::new(&argv[0]);
        process
            .args(&argv[1..])
            .current_dir(work_dir)
            .env_clear()
            .env("PATH", &self.path)
            .env("HOME", home)
            .env("LANG", "C.UTF-8")
            .envs(self.allowed.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .envs(PLAIN_OUTPUT_ENV)
            .envs(command.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            // Its own process group, so a time-out kills everything it started.
            .process_group(0)
            .kill_on_drop(true);
        process
    }
}

#[async_trait]
impl Sandbox for ProcessSandbox {
    async fn run(
        &self,
        work_dir: &Path,
        command: &SandboxCommand,
    ) -> Result<CommandOutcome, SandboxError> {
        if command.argv.is_empty() || command.argv[0].is_empty() {
            return Err(SandboxError::EmptyCommand);
        }
        let (argv, home) = {
            let (sandbox, dir, run) = (self.clone(), work_dir.to_path_buf(), command.clone());
            tokio::task::spawn_blocking(move || sandbox.prepare(&dir, &run))
                .await
                .map_err(|e| SandboxError::Prepare {
                    dir: work_dir.to_path_buf(),
                    source: std::io::Error::other(e),
                })??
        };
        let (reader, writer) = std::io::pipe().map_err(|source| SandboxError::Prepare {
            dir: work_dir.to_path_buf(),
            source,
        })?;
        let writer_err = writer.try_clone().map_err(|source| SandboxError::Prepare {
            dir: work_dir.to_path_buf(),
            source,
        })?;
        let mut process = self.command(&argv, command, work_dir, &home);
        process.stdout(writer).stderr(writer_err);
        let started = Instant::now();
        let spawned = process.spawn();
        // Our copies of the write end must close, or the reader never sees EOF.
        drop(process);
        let mut child = spawned.map_err(|source| SandboxError::Spawn {
            program: command.argv[0].clone(),
            path: self.path.clone(),
            source,
        })?;
        let pid = child.id();
        let cap = self.output_cap;
        let collector = tokio::task::spawn_blocking(move || collect(reader, cap));

        let (status, timed_out) = match tokio::time::timeout(command.timeout, child.wait()).await {
            Ok(status) => (status.ok(), false),
            Err(_) => {
                kill_group(pid);
                (child.wait().await.ok(), true)
            }
        };
        // Whatever the command left running in its group goes too.
        kill_group(pid);
        let duration = started.elapsed();
        // A process that left the group may hold the pipe open: stop waiting.
        let (output, elided_bytes) =
            match tokio::time::timeout(Duration::from_secs(5), collector).await {
                Ok(Ok(collected)) => collected,
                _ => (
                    "(output unavailable: a process the command started kept it open)".into(),
                    0,
                ),
            };
        Ok(CommandOutcome {
            exit_code: status.and_then(|s| s.code()),
            signal: status.and_then(|s| s.signal()),
            timed_out,
            duration,
            output,
            elided_bytes,
        })
    }
}

/// True when `program` names a file: a path (relative to the work dir), or a
/// name found in one of `path`'s directories.
fn program_exists(program: &str, path: &str, work_dir: &Path) -> bool {
    if program.contains('/') {
        return work_dir.join(program).is_file();
    }
    std::env::split_paths(path).any(|dir| dir.join(program).is_file())
}

/// SIGKILL the process group led by `pid`, if there is one.
fn kill_group(pid: Option<u32>) {
    let Some(pid) = pid
        .and_then(|p| i32::try_from(p).ok())
        .and_then(rustix::process::Pid::from_raw)
    else {
        return;
    };
    // A group that no longer exists is an ESRCH error: nothing left to kill.
    let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
}

/// Read everything, keeping the first and last `cap / 2` bytes, without
/// terminal escape sequences.
fn collect(mut reader: std::io::PipeReader, cap: usize) -> (String, u64) {
    let half = cap / 2;
    let mut head = Vec::with_capacity(half.min(8192));
    let mut tail: std::collections::VecDeque<u8> = std::collections::VecDeque::new();
    let mut elided: u64 = 0;
    let mut buf = [0u8; 8192];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let mut chunk = &buf[..n];
        if head.len() < half {
            let take = (half - head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..take]);
            chunk = &chunk[take..];
        }
        tail.extend(chunk);
        while tail.len() > half {
            tail.pop_front();
            elided += 1;
        }
    }
    let plain = |bytes: &[u8]| gitkeeper::sanitize::strip_ansi(&String::from_utf8_lossy(bytes));
    let mut text = plain(&head);
    if elided > 0 {
        text.push_str(&format!("\n… {elided} bytes of output left out …\n"));
    }
    text.push_str(&plain(tail.make_contiguous()));
    (text, elided)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str, timeout: Duration) -> SandboxCommand {
        SandboxCommand {
            argv: vec!["sh".into(), "-c".into(), script.into()],
            network: false,
            timeout,
            env: Vec::new(),
            writable: Vec::new(),
            readable: Vec::new(),
        }
    }

    #[tokio::test]
    async fn commands_see_only_the_sandbox_environment() {
        let dir = tempfile::tempdir().unwrap();
        // The host as the sandbox sees it: secrets beside an allowed variable.
        let host = [
            ("GITKEEPER_GITHUB__WEBHOOK_SECRET", "hook-secret"),
            ("ANTHROPIC_API_KEY", "sk-ant-secret"),
            ("SANDBOX_TEST_ALLOWED", "visible"),
        ];
        // Even an operator who lists the secrets does not pass them.
        let asked: Vec<String> = vec![
            "SANDBOX_TEST_ALLOWED".into(),
            "ANTHROPIC_API_KEY".into(),
            "GITKEEPER_GITHUB__WEBHOOK_SECRET".into(),
        ];
        let sandbox = ProcessSandbox::with_host_env(
            &EnvPolicy::new(&asked, &asked),
            DEFAULT_OUTPUT_CAP,
            |name| {
                host.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            },
        );
        // This process's own environment is not inherited either: the test
        // runner sets CARGO_MANIFEST_DIR here, and commands must not see it.
        assert!(std::env::var_os("CARGO_MANIFEST_DIR").is_some());
        let out = sandbox
            .run(dir.path(), &sh("env | sort", Duration::from_secs(10)))
            .await
            .unwrap();
        assert!(out.passed(), "{out:?}");
        assert!(!out.output.contains("secret"), "{}", out.output);
        assert!(!out.output.contains("CARGO_MANIFEST_DIR"), "{}", out.output);
        assert!(out.output.contains("SANDBOX_TEST_ALLOWED=visible"));
        for (name, value) in PLAIN_OUTPUT_ENV {
            assert!(out.output.contains(&format!("{name}={value}")), "{name}");
        }
        let home = dir.path().join(".gitkeeper-home");
        assert!(out.output.contains(&format!("HOME={}", home.display())));
        let names: Vec<&str> = out
            .output
            .lines()
            .filter_map(|l| l.split_once('=').map(|(k, _)| k))
            .collect();
        for name in names {
            assert!(
                [
                    "PATH",
                    "HOME",
                    "LANG",
                    "CI",
                    "NO_COLOR",
                    "FORCE_COLOR",
                    "SANDBOX_TEST_ALLOWED",
                    "PWD",
                    "SHLVL",
                    "_"
                ]
                .contains(&name),
                "unexpected variable {name}"
            );
        }
    }

    #[tokio::test]
    async fn a_variable_reaches_commands_only_when_the_operator_lists_it() {
        let dir = tempfile::tempdir().unwrap();
        let host = [("MY_SECRET_TOKEN", "tok-123"), ("NODE_OPTIONS", "--x")];
        let host = |name: &str| {
            host.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        };
        let asked: Vec<String> = vec!["MY_SECRET_TOKEN".into(), "NODE_OPTIONS".into()];
        let dir = dir.path();
        let env_of = |sandbox: ProcessSandbox| async move {
            let out = sandbox
                .run(dir, &sh("env | sort", Duration::from_secs(10)))
                .await
                .unwrap();
            assert!(out.passed(), "{out:?}");
            out.output
        };

        // The repository asks; the operator listed only NODE_OPTIONS.
        let env = EnvPolicy::new(&["NODE_OPTIONS".into()], &asked);
        let sandbox = ProcessSandbox::with_host_env(&env, DEFAULT_OUTPUT_CAP, host);
        let note = env.withheld_note().unwrap();
        assert!(note.contains("`MY_SECRET_TOKEN`"), "{note}");
        assert!(!note.contains("NODE_OPTIONS"), "{note}");
        assert!(note.contains("[validate] pass_env"), "{note}");
        let output = env_of(sandbox.clone()).await;
        assert!(!output.contains("MY_SECRET_TOKEN"), "{output}");
        assert!(!output.contains("tok-123"), "{output}");
        assert!(output.contains("NODE_OPTIONS=--x"), "{output}");

        // The operator lists it too: it reaches commands, nothing withheld.
        let env = EnvPolicy::new(&asked, &asked);
        let sandbox = ProcessSandbox::with_host_env(&env, DEFAULT_OUTPUT_CAP, host);
        assert_eq!(env.withheld_note(), None);
        let output = env_of(sandbox).await;
        assert!(output.contains("MY_SECRET_TOKEN=tok-123"), "{output}");

        // The operator's list alone passes nothing the repository did not ask for.
        let sandbox =
            ProcessSandbox::with_host_env(&EnvPolicy::new(&asked, &[]), DEFAULT_OUTPUT_CAP, host);
        let output = env_of(sandbox).await;
        assert!(!output.contains("MY_SECRET_TOKEN"), "{output}");
        assert!(!output.contains("NODE_OPTIONS"), "{output}");
    }

    #[test]
    fn secrets_asked_for_are_named_as_never_passed() {
        let listed: Vec<String> = vec!["GITKEEPER_GITHUB__APP_KEY".into(), "GH_TOKEN".into()];
        let env = EnvPolicy::new(&listed, &listed);
        assert!(env.passed().is_empty());
        let note = env.withheld_note().unwrap();
        assert!(
            note.contains("`GITKEEPER_GITHUB__APP_KEY`, `GH_TOKEN` never passed"),
            "{note}"
        );
        assert!(!note.contains("pass_env"), "{note}");
    }

    #[tokio::test]
    async fn a_commands_own_variables_and_shared_dirs_reach_it() {
        let dir = tempfile::tempdir().unwrap();
        let work = dir.path().join("work");
        // Under the private /tmp of bwrap too, like a test's data dir.
        let shared = dir.path().join("cargo-home");
        std::fs::create_dir_all(&work).unwrap();
        std::fs::create_dir_all(&shared).unwrap();
        let script = "echo \"home=$CARGO_HOME\"; touch \"$CARGO_HOME/wrote\" && echo wrote-shared; ls \"$CARGO_HOME\"";
        let mut command = sh(script, Duration::from_secs(10));
        command.env = vec![("CARGO_HOME".into(), shared.display().to_string())];
        command.writable = vec![shared.clone()];
        let sandbox = ProcessSandbox::new(
            Isolation::detected_for_tests(),
            &EnvPolicy::default(),
            DEFAULT_OUTPUT_CAP,
        );
        let out = sandbox.run(&work, &command).await.unwrap();
        assert!(
            out.output.contains(&format!("home={}", shared.display())),
            "{}",
            out.output
        );
        assert!(out.output.contains("wrote-shared"), "{}", out.output);
        assert!(shared.join("wrote").exists());

        // A check sees the shared dir; with isolation it cannot change it.
        std::fs::remove_file(shared.join("wrote")).unwrap();
        std::fs::write(shared.join("crate.txt"), "fetched").unwrap();
        command.readable = std::mem::take(&mut command.writable);
        let out = sandbox.run(&work, &command).await.unwrap();
        assert!(out.output.contains("crate.txt"), "{}", out.output);
        if sandbox.isolation() != &Isolation::None {
            assert!(!out.output.contains("wrote-shared"), "{}", out.output);
            assert!(!shared.join("wrote").exists());
        }
    }

    #[tokio::test]
    async fn exit_codes_and_the_work_dir_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("marker.txt"), "here").unwrap();
        let sandbox = ProcessSandbox::new(
            Isolation::detected_for_tests(),
            &EnvPolicy::default(),
            DEFAULT_OUTPUT_CAP,
        );
        let out = sandbox
            .run(
                dir.path(),
                &sh(
                    "cat marker.txt; echo oops >&2; exit 3",
                    Duration::from_secs(10),
                ),
            )
            .await
            .unwrap();
        assert_eq!(out.exit_code, Some(3));
        assert!(!out.passed());
        assert!(
            out.output.contains("here") && out.output.contains("oops"),
            "{}",
            out.output
        );
    }

    #[tokio::test]
    async fn a_time_out_kills_the_whole_process_group() {
        // Checked by effect, in the sandbox's own PID namespace or not: a
        // background child that survived the kill would write a file later.
        let dir = tempfile::tempdir().unwrap();
        let sandbox = ProcessSandbox::new(
            Isolation::detected_for_tests(),
            &EnvPolicy::default(),
            DEFAULT_OUTPUT_CAP,
        );
        let script = "(sleep 3; touch survived) & (setsid sh -c 'sleep 3; touch escaped') & echo started; wait";
        let out = sandbox
            .run(dir.path(), &sh(script, Duration::from_secs(1)))
            .await
            .unwrap();
        assert!(out.timed_out);
        assert_eq!(out.signal, Some(rustix::process::Signal::KILL.as_raw()));
        assert!(out.output.contains("started"), "{}", out.output);
        tokio::time::sleep(Duration::from_secs(4)).await;
        assert!(
            !dir.path().join("survived").exists(),
            "a child in the process group outlived the time-out"
        );
        if sandbox.isolation() != &Isolation::None {
            // With bwrap even a child that left the group dies with the sandbox.
            assert!(
                !dir.path().join("escaped").exists(),
                "a setsid child outlived the sandbox"
            );
        }
    }

    #[tokio::test]
    async fn long_output_keeps_its_head_and_tail() {
        let dir = tempfile::tempdir().unwrap();
        let sandbox =
            ProcessSandbox::new(Isolation::detected_for_tests(), &EnvPolicy::default(), 4096);
        let out = sandbox
            .run(
                dir.path(),
                &sh(
                    // 50 MB of build noise between the first and the last line.
                    "echo FIRST; head -c 52428800 /dev/zero | tr '\\0' x; echo; echo 'error TS2304: LAST'",
                    Duration::from_secs(20),
                ),
            )
            .await
            .unwrap();
        assert!(out.passed());
        assert!(out.output.starts_with("FIRST"), "{}", &out.output[..50]);
        assert!(out.output.trim_end().ends_with("error TS2304: LAST"));
        assert!(out.elided_bytes > 52_428_800 - 4096, "{}", out.elided_bytes);
        assert!(out.output.len() < 4096 + 100);
        assert!(out.output.contains("bytes of output left out"));
    }

    #[tokio::test]
    async fn output_reaches_readers_without_colour_codes() {
        let dir = tempfile::tempdir().unwrap();
        // A repository may ask for FORCE_COLOR; the sandbox's plain output wins.
        let asked = vec!["FORCE_COLOR".to_string()];
        let sandbox = ProcessSandbox::with_host_env(
            &EnvPolicy::new(&asked, &asked),
            DEFAULT_OUTPUT_CAP,
            |_| Some("3".into()),
        );
        let out = sandbox
            .run(
                dir.path(),
                &sh(
                    "printf '\\033[31mnot ok\\033[39m 1 - greet\\n'; echo \"force=$FORCE_COLOR no=$NO_COLOR\"",
                    Duration::from_secs(10),
                ),
            )
            .await
            .unwrap();
        assert!(out.passed(), "{out:?}");
        assert!(!out.output.contains('\u{1b}'), "{:?}", out.output);
        assert!(out.output.contains("not ok 1 - greet"), "{}", out.output);
        assert!(out.output.contains("force=0 no=1"), "{}", out.output);
    }

    /// A local TCP port and whether `curl` in the sandbox reached it.
    async fn reaches_loopback(sandbox: &ProcessSandbox, dir: &Path, network: bool) -> bool {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            if let Ok((mut stream, _)) = listener.accept() {
                use std::io::Write;
                let _ = stream.write_all(b"HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok");
            }
        });
        let out = sandbox
            .run(
                dir,
                &SandboxCommand {
                    argv: vec![
                        "curl".into(),
                        "-s".into(),
                        "-m".into(),
                        "5".into(),
                        format!("http://127.0.0.1:{port}/"),
                    ],
                    network,
                    timeout: Duration::from_secs(20),
                    env: Vec::new(),
                    writable: Vec::new(),
                    readable: Vec::new(),
                },
            )
            .await
            .unwrap();
        out.passed() && out.output.contains("ok")
    }

    /// `sandbox`, which must be isolated: a test of isolation fails, naming
    /// the tool, where `bwrap` cannot run (it never passes by proving nothing).
    fn isolated(sandbox: ProcessSandbox) -> ProcessSandbox {
        assert!(
            matches!(sandbox.isolation(), Isolation::Bwrap(_)),
            "this test needs a working `bwrap`: install bubblewrap (apt install bubblewrap; .ci/run does) and allow unprivileged user namespaces"
        );
        sandbox
    }

    #[test]
    fn the_bwrap_probe_is_awaited_not_blocked_on() {
        // A stand-in `bwrap` that succeeds only once a task beside the probe,
        // on the same one-thread runtime, writes "go" into its pipe.
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("go");
        crate::testing::mkfifo(&fifo);
        let fake = dir.path().join("bwrap");
        std::fs::write(
            &fake,
            format!(
                "#!/bin/sh\nread line < '{}'\n[ \"$line\" = go ]\n",
                fifo.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let probed = fake.clone();
        let (isolation, turns) =
            crate::testing::run_beside_feeder(&fifo, "go\n", move || Isolation::probe(probed));
        assert_eq!(isolation, Isolation::Bwrap(fake));
        assert!(turns >= 1, "the task beside the probe never ran");
    }

    #[test]
    fn isolation_is_required_unless_the_operator_turns_it_off() {
        use crate::config::IsolationSetting;
        let bwrap = Isolation::Bwrap(PathBuf::from("/usr/bin/bwrap"));
        assert_eq!(
            Isolation::required(IsolationSetting::Bwrap, bwrap.clone()).unwrap(),
            bwrap
        );
        let err = Isolation::required(IsolationSetting::Bwrap, Isolation::None).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("install bubblewrap (apt install bubblewrap) or set [validate] isolation = \"none\" to run repository commands without isolation"),
            "{text}"
        );
        assert_eq!(
            Isolation::required(IsolationSetting::None, Isolation::None).unwrap(),
            Isolation::None
        );
        // "none" is what the operator asked for, even where bwrap works.
        assert_eq!(
            Isolation::required(IsolationSetting::None, bwrap).unwrap(),
            Isolation::None
        );
        assert_eq!(
            crate::config::Settings::default().validate.isolation,
            IsolationSetting::Bwrap
        );
    }

    #[tokio::test]
    async fn with_bwrap_the_system_is_read_only_and_checks_have_no_network() {
        let sandbox = isolated(ProcessSandbox::new(
            Isolation::detected_for_tests(),
            &EnvPolicy::default(),
            DEFAULT_OUTPUT_CAP,
        ));
        let dir = tempfile::tempdir().unwrap();
        let out = sandbox
            .run(
                dir.path(),
                &sh(
                    "touch inside.txt && echo wrote-inside; touch /usr/gitkeeper-sandbox-test || echo system-is-read-only",
                    Duration::from_secs(10),
                ),
            )
            .await
            .unwrap();
        assert!(out.output.contains("wrote-inside"), "{}", out.output);
        assert!(out.output.contains("system-is-read-only"), "{}", out.output);
        assert!(dir.path().join("inside.txt").exists());
        assert!(!Path::new("/usr/gitkeeper-sandbox-test").exists());

        assert!(
            !reaches_loopback(&sandbox, dir.path(), false).await,
            "checks run offline"
        );
        assert!(
            reaches_loopback(&sandbox, dir.path(), true).await,
            "installs reach the network"
        );
        let plain = sandbox.clone().with_isolation(Isolation::None);
        assert!(reaches_loopback(&plain, dir.path(), false).await);
    }

    #[tokio::test]
    async fn hidden_secrets_are_empty_inside_and_a_work_dir_among_them_stays_visible() {
        let data = tempfile::tempdir().unwrap();
        let key = data.path().join("app.pem");
        std::fs::write(&key, "-----BEGIN RSA PRIVATE KEY----- secret").unwrap();
        let mirror = data.path().join("repos/other/private.git");
        std::fs::create_dir_all(&mirror).unwrap();
        std::fs::write(mirror.join("HEAD"), "ref: refs/heads/main").unwrap();
        let work = data.path().join("work/7");
        std::fs::create_dir_all(&work).unwrap();
        std::fs::write(work.join("src.ts"), "export {};").unwrap();
        let sandbox = isolated(
            ProcessSandbox::new(
                Isolation::detected_for_tests(),
                &EnvPolicy::default(),
                DEFAULT_OUTPUT_CAP,
            )
            .with_hidden(vec![key.clone(), data.path().to_path_buf()]),
        );
        let script = format!(
            "cat {key} || true; echo; ls {mirror} || echo no-mirror; cat src.ts; touch out.txt && echo wrote",
            key = key.display(),
            mirror = mirror.display()
        );
        let out = sandbox
            .run(&work, &sh(&script, Duration::from_secs(10)))
            .await
            .unwrap();
        assert!(!out.output.contains("PRIVATE KEY"), "{}", out.output);
        assert!(!out.output.contains("HEAD"), "{}", out.output);
        assert!(out.output.contains("no-mirror"), "{}", out.output);
        assert!(out.output.contains("export {};"), "{}", out.output);
        assert!(out.output.contains("wrote"), "{}", out.output);
        assert!(work.join("out.txt").exists());
        // Outside the sandbox nothing changed.
        assert!(
            std::fs::read_to_string(&key)
                .unwrap()
                .contains("PRIVATE KEY")
        );
    }

    #[test]
    fn secret_paths_name_the_key_the_data_dir_and_home_credentials() {
        let mut settings = crate::config::Settings::default();
        settings.github.private_key_path = Some(PathBuf::from("/etc/gitkeeper/app.pem"));
        settings.data.dir = PathBuf::from("/var/lib/gitkeeper");
        settings.source_file = Some(PathBuf::from("/etc/gitkeeper/gitkeeper.toml"));
        settings.database.url = Some("sqlite:///srv/jobs.db?mode=rwc".to_string().into());
        let paths = secret_paths(&settings);
        assert!(paths.contains(&PathBuf::from("/etc/gitkeeper/gitkeeper.toml")));
        assert!(paths.contains(&PathBuf::from("/srv/jobs.db")));
        assert!(paths.contains(&PathBuf::from("/srv/jobs.db-wal")));
        assert!(paths.contains(&PathBuf::from("/etc/gitkeeper/app.pem")));
        assert!(paths.contains(&PathBuf::from("/var/lib/gitkeeper")));
        assert!(paths.iter().any(|p| p.ends_with(".ssh")));
        assert!(paths.iter().all(|p| p.is_absolute()), "{paths:?}");
    }

    #[tokio::test]
    async fn a_missing_program_says_what_path_it_searched() {
        let dir = tempfile::tempdir().unwrap();
        let sandbox = ProcessSandbox::new(
            Isolation::detected_for_tests(),
            &EnvPolicy::default(),
            DEFAULT_OUTPUT_CAP,
        );
        let err = sandbox
            .run(
                dir.path(),
                &SandboxCommand {
                    argv: vec!["no-such-tool-gitkeeper".into()],
                    network: false,
                    timeout: Duration::from_secs(5),
                    env: Vec::new(),
                    writable: Vec::new(),
                    readable: Vec::new(),
                },
            )
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("no-such-tool-gitkeeper"), "{text}");
        assert!(text.contains("PATH"), "{text}");
        let empty = sandbox
            .run(
                dir.path(),
                &SandboxCommand {
                    argv: vec![],
                    network: false,
                    timeout: Duration::from_secs(5),
                    env: Vec::new(),
                    writable: Vec::new(),
                    readable: Vec::new(),
                },
            )
            .await
            .unwrap_err();
        assert!(matches!(empty, SandboxError::EmptyCommand));
    }
}
