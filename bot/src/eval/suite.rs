//! The eval suite's files: `suite.toml`, one folder per task with its
//! `task.toml`, `hidden/` and `reference/`, and the fixtures (with their
//! optional `.eval/setup.toml`) under the suite's parent's `fixtures/`.
//!
//! Must never: accept a file it does not fully understand (unknown keys are
//! errors naming the file and the key), or let a task name a fixture outside
//! `fixtures/`.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A suite: tasks run against fixtures.
#[derive(Debug, Clone)]
pub struct Suite {
    pub name: String,
    pub description: String,
    /// The suite's folder.
    pub dir: PathBuf,
    /// Sorted by id.
    pub tasks: Vec<EvalTask>,
}

/// The routing table's level a task is meant for (the report groups by it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Quick,
    Standard,
    Complex,
}

impl Level {
    pub const ALL: [Level; 3] = [Level::Quick, Level::Standard, Level::Complex];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Quick => "quick",
            Level::Standard => "standard",
            Level::Complex => "complex",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One task: an issue on a fixture, judged by a hidden check.
#[derive(Debug, Clone)]
pub struct EvalTask {
    /// The task's folder name.
    pub id: String,
    pub dir: PathBuf,
    pub fixture: String,
    /// `fixtures/<fixture>` (without its `.eval/`, which is the suite's, not the repository's).
    pub fixture_dir: PathBuf,
    /// Commands run in the fixture's copy before the base commit (`.eval/setup.toml`).
    pub setup: Vec<Vec<String>>,
    pub level: Level,
    pub title: String,
    pub body: String,
    pub hidden: HiddenCheck,
    /// `hidden/`: copied into the repository only for the hidden check.
    pub hidden_dir: Option<PathBuf>,
    /// `reference/`: the reference solution's files.
    pub reference_dir: Option<PathBuf>,
}

/// The check that decides whether a task was resolved.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HiddenCheck {
    /// argv, run in the repository root after the bot is done.
    pub run: Vec<String>,
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
}

fn default_timeout() -> u64 {
    120
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SuiteFile {
    name: String,
    #[serde(default)]
    description: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskFile {
    fixture: String,
    level: Level,
    title: String,
    #[serde(default)]
    body: String,
    hidden: HiddenCheck,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SetupFile {
    #[serde(default)]
    setup: Vec<Vec<String>>,
}

/// Why a suite cannot be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SuiteError {
    #[error("cannot read {path}: {source}; point `eval` at a suite folder holding suite.toml")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a valid suite file: {source}")]
    Parse {
        path: PathBuf,
        #[source]
        source: toml::de::Error,
    },
    #[error("{path}: `{key}` {fix}")]
    Invalid {
        path: PathBuf,
        key: &'static str,
        fix: String,
    },
    #[error(
        "{path}: fixture `{fixture}` is not a folder: add {expected} or name one of the folders in fixtures/"
    )]
    MissingFixture {
        path: PathBuf,
        fixture: String,
        expected: PathBuf,
    },
    #[error("the suite {0} has no task: add <task-id>/task.toml folders beside suite.toml")]
    NoTasks(PathBuf),
    #[error("--only names {unknown}, not a task of this suite (its tasks: {known})")]
    UnknownTask { unknown: String, known: String },
}

fn read(path: &Path) -> Result<String, SuiteError> {
    std::fs::read_to_string(path).map_err(|source| SuiteError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn parse<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, SuiteError> {
    toml::from_str(&read(path)?).map_err(|source| SuiteError::Parse {
        path: path.to_path_buf(),
        source,
    })
}

/// Read the suite in `dir` (blocking file reads: call it off the runtime).
pub fn load_suite(dir: &Path) -> Result<Suite, SuiteError> {
    let suite_path = dir.join("suite.toml");
    let suite: SuiteFile = parse(&suite_path)?;
    if suite.name.trim().is_empty() {
        return Err(SuiteError::Invalid {
            path: suite_path,
            key: "name",
            fix: "is empty: name the suite".into(),
        });
    }
    let fixtures = dir
        .canonicalize()
        .map_err(|source| SuiteError::Read {
            path: dir.to_path_buf(),
            source,
        })?
        .parent()
        .map(|p| p.join("fixtures"))
        .unwrap_or_else(|| PathBuf::from("fixtures"));
    let entries = std::fs::read_dir(dir).map_err(|source| SuiteError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut tasks = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| SuiteError::Read {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        let id = entry.file_name().to_string_lossy().into_owned();
        if id.starts_with('.') {
            continue;
        }
        tasks.push(load_task(&id, &path, &fixtures)?);
    }
    if tasks.is_empty() {
        return Err(SuiteError::NoTasks(dir.to_path_buf()));
    }
    tasks.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(Suite {
        name: suite.name,
        description: suite.description,
        dir: dir.to_path_buf(),
        tasks,
    })
}

fn load_task(id: &str, dir: &Path, fixtures: &Path) -> Result<EvalTask, SuiteError> {
    let path = dir.join("task.toml");
    let file: TaskFile = parse(&path)?;
    let invalid = |key, fix: &str| SuiteError::Invalid {
        path: path.clone(),
        key,
        fix: fix.into(),
    };
    if file.title.trim().is_empty() {
        return Err(invalid("title", "is empty: give the issue title"));
    }
    if file.hidden.run.first().is_none_or(|p| p.trim().is_empty()) {
        return Err(invalid(
            "hidden.run",
            "is empty: give the check's argv, e.g. [\"node\", \"--test\", \"hidden/\"]",
        ));
    }
    if file.hidden.timeout_secs == 0 {
        return Err(invalid(
            "hidden.timeout_secs",
            "is 0: give the seconds the check may take",
        ));
    }
    let plain = !file.fixture.is_empty()
        && file
            .fixture
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !file.fixture.starts_with('.');
    if !plain {
        return Err(invalid(
            "fixture",
            "must be a folder name under fixtures/ (letters, digits, '-', '_', '.'; no path)",
        ));
    }
    let fixture_dir = fixtures.join(&file.fixture);
    if !fixture_dir.is_dir() {
        return Err(SuiteError::MissingFixture {
            path,
            fixture: file.fixture,
            expected: fixture_dir,
        });
    }
    let setup_path = fixture_dir.join(".eval").join("setup.toml");
    let setup = if setup_path.is_file() {
        let setup: SetupFile = parse(&setup_path)?;
        if setup.setup.iter().any(|argv| argv.is_empty()) {
            return Err(SuiteError::Invalid {
                path: setup_path,
                key: "setup",
                fix: "holds an empty command: give each command as an argv list".into(),
            });
        }
        setup.setup
    } else {
        Vec::new()
    };
    let folder = |name: &str| Some(dir.join(name)).filter(|p| p.is_dir());
    Ok(EvalTask {
        id: id.to_string(),
        dir: dir.to_path_buf(),
        fixture: file.fixture,
        fixture_dir,
        setup,
        level: file.level,
        title: file.title.trim().to_string(),
        body: file.body,
        hidden: file.hidden,
        hidden_dir: folder("hidden"),
        reference_dir: folder("reference"),
    })
}

impl Suite {
    /// Keep only the tasks `only` names (all when it is empty).
    pub fn select(&mut self, only: &[String]) -> Result<(), SuiteError> {
        if only.is_empty() {
            return Ok(());
        }
        if let Some(unknown) = only
            .iter()
            .find(|id| !self.tasks.iter().any(|t| &t.id == *id))
        {
            return Err(SuiteError::UnknownTask {
                unknown: unknown.clone(),
                known: self
                    .tasks
                    .iter()
                    .map(|t| t.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        self.tasks.retain(|t| only.contains(&t.id));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A suite folder `suite/` beside `fixtures/lib/` in a temp dir.
    fn layout(task_toml: &str) -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        let fixture = root.path().join("fixtures/lib");
        std::fs::create_dir_all(fixture.join(".eval")).unwrap();
        std::fs::write(fixture.join("a.txt"), "a\n").unwrap();
        std::fs::write(
            fixture.join(".eval/setup.toml"),
            "setup = [[\"npm\", \"install\", \"--no-audit\"]]\n",
        )
        .unwrap();
        let task = root.path().join("suite/fix-a");
        std::fs::create_dir_all(task.join("hidden")).unwrap();
        std::fs::write(
            root.path().join("suite/suite.toml"),
            "name = \"s\"\ndescription = \"d\"\n",
        )
        .unwrap();
        std::fs::write(task.join("task.toml"), task_toml).unwrap();
        root
    }

    const GOOD: &str = "fixture = \"lib\"\nlevel = \"quick\"\ntitle = \"Fix a\"\nbody = \"\"\"\nThe body.\n\"\"\"\n[hidden]\nrun = [\"sh\", \"hidden/check.sh\"]\ntimeout_secs = 30\n";

    fn error_of(task_toml: &str) -> String {
        let root = layout(task_toml);
        load_suite(&root.path().join("suite"))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn a_good_suite_loads_with_its_fixture_setup_and_folders() {
        let root = layout(GOOD);
        let suite = load_suite(&root.path().join("suite")).unwrap();
        assert_eq!(
            (suite.name.as_str(), suite.description.as_str()),
            ("s", "d")
        );
        let [task] = suite.tasks.as_slice() else {
            panic!("{:?}", suite.tasks)
        };
        assert_eq!(task.id, "fix-a");
        assert_eq!(task.level, Level::Quick);
        assert_eq!(task.title, "Fix a");
        assert_eq!(task.body, "The body.\n");
        assert_eq!(task.hidden.run, ["sh", "hidden/check.sh"]);
        assert_eq!(task.hidden.timeout_secs, 30);
        assert_eq!(task.setup, [["npm", "install", "--no-audit"]]);
        assert!(task.fixture_dir.ends_with("fixtures/lib"));
        assert!(task.hidden_dir.is_some());
        assert!(task.reference_dir.is_none());
    }

    #[test]
    fn the_hidden_timeout_defaults_to_two_minutes() {
        let root = layout(&GOOD.replace("timeout_secs = 30\n", ""));
        let suite = load_suite(&root.path().join("suite")).unwrap();
        assert_eq!(suite.tasks[0].hidden.timeout_secs, 120);
    }

    #[test]
    fn bad_task_files_are_refused_naming_the_file_and_key() {
        let cases = [
            (
                GOOD.replace("level = \"quick\"", "level = \"easy\""),
                "level",
            ),
            (
                GOOD.replace("title = \"Fix a\"", "title = \" \""),
                "`title` is empty",
            ),
            (
                GOOD.replace("run = [\"sh\", \"hidden/check.sh\"]", "run = []"),
                "`hidden.run` is empty",
            ),
            (
                GOOD.replace("timeout_secs = 30", "timeout_secs = 0"),
                "`hidden.timeout_secs` is 0",
            ),
            (
                GOOD.replace("fixture = \"lib\"", "fixture = \"../lib\""),
                "`fixture` must be a folder name",
            ),
            (
                GOOD.replace("fixture = \"lib\"", "fixture = \"nope\""),
                "fixture `nope` is not a folder",
            ),
            (
                format!("{GOOD}colour = \"red\"\n"),
                "unknown field `colour`",
            ),
            (
                GOOD.replace("[hidden]\n", "[hidden]\nrunn = []\n"),
                "unknown field `runn`",
            ),
            (
                GOOD.replace("title = \"Fix a\"\n", ""),
                "missing field `title`",
            ),
        ];
        for (text, expected) in cases {
            let err = error_of(&text);
            assert!(err.contains("fix-a/task.toml"), "{err}");
            assert!(err.contains(expected), "{expected}: {err}");
        }
    }

    #[test]
    fn a_bad_suite_or_setup_file_is_named() {
        let root = layout(GOOD);
        std::fs::write(root.path().join("suite/suite.toml"), "title = \"x\"\n").unwrap();
        let err = load_suite(&root.path().join("suite"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("suite.toml") && err.contains("unknown field `title`"),
            "{err}"
        );

        let root = layout(GOOD);
        std::fs::write(
            root.path().join("fixtures/lib/.eval/setup.toml"),
            "setup = [[]]\n",
        )
        .unwrap();
        let err = load_suite(&root.path().join("suite"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(".eval/setup.toml") && err.contains("`setup`"),
            "{err}"
        );

        let root = layout(GOOD);
        std::fs::remove_file(root.path().join("suite/fix-a/task.toml")).unwrap();
        let err = load_suite(&root.path().join("suite"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("fix-a/task.toml"), "{err}");

        let empty = tempfile::tempdir().unwrap();
        let err = load_suite(empty.path()).unwrap_err().to_string();
        assert!(err.contains("suite.toml"), "{err}");
    }

    #[test]
    fn only_keeps_the_named_tasks_and_refuses_unknown_ones() {
        let root = layout(GOOD);
        let mut suite = load_suite(&root.path().join("suite")).unwrap();
        let err = suite.select(&["nope".into()]).unwrap_err().to_string();
        assert!(err.contains("nope") && err.contains("fix-a"), "{err}");
        suite.select(&["fix-a".into()]).unwrap();
        assert_eq!(suite.tasks.len(), 1);
    }
}
