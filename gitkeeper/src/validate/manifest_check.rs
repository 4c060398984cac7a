//! What a change may not do to a `package.json`, whatever the issue asked:
//! take a dependency from anywhere but the registry (a URL, a git
//! repository, a GitHub shorthand, a local path), and change a script the
//! validation runs (`npm test` runs `pretest`, `test` and `posttest`; an
//! install runs the lifecycle scripts, with the network) — the checks that
//! judge a change must not be written by it. Pure: reads only the texts it
//! is given, never panics on content.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::changes::{ChangeKind, ChangedFile};
use super::commands::CommandPlan;
use super::findings::{CheckRule, Finding};

/// The manifest whose scripts the plan's commands run (they run in the root).
const ROOT_MANIFEST: &str = "package.json";

/// Fields whose values are dependency specs (`name → spec`).
const DEPENDENCY_FIELDS: &[&str] = &[
    "dependencies",
    "devDependencies",
    "optionalDependencies",
    "peerDependencies",
    "resolutions",
];

/// Scripts every install runs in the root package (npm, pnpm, yarn, bun).
const LIFECYCLE_SCRIPTS: &[&str] = &[
    "preinstall",
    "install",
    "postinstall",
    "prepublish",
    "preprepare",
    "prepare",
    "postprepare",
    "dependencies",
];

/// Most scripts followed from the plan's commands (a guard against a
/// manifest whose scripts call each other in circles).
const MAX_SCRIPTS: usize = 256;

/// Where a dependency spec that is not a registry version points.
fn remote_kind(spec: &str) -> Option<&'static str> {
    let s = spec.trim();
    let lower = s.to_ascii_lowercase();
    let starts = |prefixes: &[&str]| prefixes.iter().any(|p| lower.starts_with(p));
    if starts(&["npm:", "workspace:", "catalog:"]) {
        // A registry alias, the repository's own workspace, a pnpm catalog.
        return None;
    }
    if starts(&["git+", "git:", "git@", "ssh:"]) {
        Some("a git repository")
    } else if starts(&["github:", "gitlab:", "bitbucket:", "gist:"]) {
        Some("a git host")
    } else if starts(&["http:", "https:"]) || lower.contains("://") {
        Some("a URL")
    } else if starts(&["file:", "link:", "portal:", ".", "/", "~/"]) {
        Some("a local path")
    } else if s.contains('/') {
        Some("a GitHub repository (owner/name shorthand)")
    } else {
        None
    }
}

/// Every `(field, name, spec)` of `manifest` whose spec is not from the
/// registry, with where it points. `overrides` and `pnpm.overrides` are
/// followed through their nesting.
fn remote_dependencies(manifest: &Value) -> Vec<(String, String, String, &'static str)> {
    let mut out = Vec::new();
    let mut visit = |field: &str, value: &Value| {
        let mut stack = vec![(String::new(), value)];
        while let Some((prefix, value)) = stack.pop() {
            let Some(map) = value.as_object() else {
                continue;
            };
            for (name, spec) in map {
                let shown = if prefix.is_empty() {
                    name.clone()
                } else {
                    format!("{prefix} > {name}")
                };
                match spec {
                    Value::String(spec) => {
                        if let Some(kind) = remote_kind(spec) {
                            out.push((field.to_string(), shown, spec.clone(), kind));
                        }
                    }
                    Value::Object(_) => stack.push((shown, spec)),
                    _ => {}
                }
            }
        }
    };
    for field in DEPENDENCY_FIELDS {
        if let Some(value) = manifest.get(field) {
            visit(field, value);
        }
    }
    if let Some(value) = manifest.get("overrides") {
        visit("overrides", value);
    }
    if let Some(value) = manifest.pointer("/pnpm/overrides") {
        visit("pnpm.overrides", value);
    }
    out
}

/// A `package.json`'s dependencies that do not come from the registry.
/// Checked on the content before the change too, so a dependency that was
/// already there is reported apart and does not fail the attempt.
pub(crate) fn dependency_findings(path: &str, text: &str) -> Vec<Finding> {
    if path != ROOT_MANIFEST && !path.ends_with("/package.json") {
        return Vec::new();
    }
    let Ok(manifest) = serde_json::from_str::<Value>(text) else {
        // The JSON check reports it.
        return Vec::new();
    };
    remote_dependencies(&manifest)
        .into_iter()
        .map(|(field, name, spec, kind)| {
            let finding = Finding::new(
                path,
                CheckRule::RemoteDependency,
                format!(
                    "`{name}` in `{field}` comes from {kind} (`{spec}`), which is not allowed: \
                     packages are only installed from the registry; use a published version \
                     range like `^1.2.0`, or leave the dependency to a maintainer"
                ),
            );
            match line_of(text, &name, &spec) {
                Some(line) => finding.at(line, None),
                None => finding,
            }
        })
        .collect()
}

/// The first line naming both the package and its spec.
fn line_of(text: &str, name: &str, spec: &str) -> Option<u32> {
    let key = format!("\"{}\"", name.rsplit(" > ").next().unwrap_or(name));
    text.lines()
        .position(|l| l.contains(&key) && l.contains(spec))
        .and_then(|i| u32::try_from(i + 1).ok())
}

/// The root package's scripts the plan's commands run directly (the names;
/// what those scripts call in turn is followed on the manifest, see
/// [`script_findings`]). An install command runs the lifecycle scripts.
pub fn scripts_run_by(plan: &CommandPlan) -> Vec<String> {
    let mut out = BTreeSet::new();
    for command in plan.setup.iter().chain(&plan.checks) {
        let argv: Vec<&str> = command.argv.iter().map(String::as_str).collect();
        match argv.as_slice() {
            [shell, flag, script, ..]
                if matches!(base_name(shell), "sh" | "bash" | "dash" | "zsh") && *flag == "-c" =>
            {
                out.extend(scripts_in_shell(script));
            }
            _ => out.extend(scripts_in_words(&argv)),
        }
    }
    out.into_iter().collect()
}

fn base_name(program: &str) -> &str {
    program.rsplit('/').next().unwrap_or(program)
}

/// Scripts named by package-manager calls in a shell command line (a
/// script's body, or `sh -c`'s argument).
fn scripts_in_shell(line: &str) -> Vec<String> {
    let separated = line
        .replace("&&", ";")
        .replace("||", ";")
        .replace(['|', '&', '\n'], ";");
    separated
        .split(';')
        .flat_map(|segment| {
            let words: Vec<&str> = segment.split_whitespace().collect();
            scripts_in_words(&words)
        })
        .collect()
}

/// Scripts one package-manager call runs: `npm run lint` → `lint`,
/// `npm test` → `test`, `yarn build` → `build`, `npm ci` → the lifecycle
/// scripts. Anything else runs none.
fn scripts_in_words(words: &[&str]) -> Vec<String> {
    // Skip `VAR=value` prefixes and `cross-env`/`env` wrappers.
    let words: Vec<&str> = words
        .iter()
        .copied()
        .skip_while(|w| w.contains('=') || matches!(*w, "env" | "cross-env"))
        .collect();
    let Some((program, rest)) = words.split_first() else {
        return Vec::new();
    };
    let args: Vec<&str> = rest
        .iter()
        .copied()
        .filter(|a| !a.starts_with('-'))
        .collect();
    let manager = base_name(program);
    let lifecycle = || LIFECYCLE_SCRIPTS.iter().map(|s| s.to_string()).collect();
    let named = |name: &str| vec![name.to_string()];
    match (manager, args.as_slice()) {
        ("npm" | "pnpm" | "yarn" | "bun", ["run" | "run-script" | "rum" | "urn", name, ..]) => {
            named(name)
        }
        ("npm" | "pnpm" | "yarn", ["test" | "t" | "tst", ..]) => named("test"),
        ("npm" | "pnpm" | "yarn", [s @ ("start" | "stop" | "restart"), ..]) => named(s),
        ("npm", ["install-test" | "it", ..]) => {
            let mut all: Vec<String> = lifecycle();
            all.push("test".into());
            all
        }
        ("npm" | "pnpm" | "yarn" | "bun", ["ci" | "install" | "i" | "add" | "rebuild", ..])
        | ("yarn", []) => lifecycle(),
        (
            "pnpm" | "yarn",
            [
                "exec" | "dlx" | "x" | "why" | "list" | "ls" | "info" | "config" | "remove"
                | "audit" | "outdated" | "up" | "upgrade" | "workspace" | "workspaces" | "node"
                | "bin" | "cache" | "dedupe" | "prune" | "link" | "unlink" | "pack" | "publish",
                ..,
            ],
        ) => Vec::new(),
        // pnpm and yarn run a script for a command they do not know.
        ("pnpm" | "yarn", [name, ..]) => named(name),
        _ => Vec::new(),
    }
}

/// A script and the scripts npm runs around it.
fn with_hooks(name: &str) -> [String; 3] {
    [
        name.to_string(),
        format!("pre{name}"),
        format!("post{name}"),
    ]
}

/// The scripts of a manifest text (empty when it is absent or not JSON).
fn scripts_of(text: Option<&str>) -> BTreeMap<String, String> {
    text.and_then(|t| serde_json::from_str::<Value>(t).ok())
        .and_then(|v| v.get("scripts").cloned())
        .and_then(|s| s.as_object().cloned())
        .map(|s| {
            s.into_iter()
                .map(|(k, v)| (k, v.as_str().map_or_else(|| v.to_string(), str::to_string)))
                .collect()
        })
        .unwrap_or_default()
}

/// The scripts `seeds` run on the base manifest, their hooks and what
/// they call in turn.
fn checked_closure(seeds: &[String], before: &BTreeMap<String, String>) -> BTreeSet<String> {
    let mut checked = BTreeSet::new();
    let mut todo: Vec<String> = seeds.iter().flat_map(|s| with_hooks(s)).collect();
    while let Some(name) = todo.pop() {
        if checked.len() >= MAX_SCRIPTS || !checked.insert(name.clone()) {
            continue;
        }
        if let Some(body) = before.get(&name) {
            todo.extend(scripts_in_shell(body).iter().flat_map(|s| with_hooks(s)));
        }
    }
    checked
}

/// A change to a script of the root `package.json` that the validation
/// runs (`checked` as [`scripts_run_by`] names them, followed through the
/// base manifest's scripts): its checks would be written by the change it
/// judges. `after` is the file's content after the change (`None` when
/// deleted).
pub(crate) fn script_findings(
    change: &ChangedFile,
    after: Option<&str>,
    checked: &[String],
) -> Vec<Finding> {
    let touches_root = change.path == ROOT_MANIFEST
        || matches!(&change.kind, ChangeKind::Renamed(from) if from == ROOT_MANIFEST);
    if checked.is_empty() || !touches_root {
        return Vec::new();
    }
    let before = scripts_of(change.before.as_deref());
    let after = if change.path == ROOT_MANIFEST {
        scripts_of(after)
    } else {
        BTreeMap::new()
    };
    let mut out = Vec::new();
    for name in checked_closure(checked, &before) {
        let (old, new) = (before.get(&name), after.get(&name));
        if old == new {
            continue;
        }
        let action = match (old, new) {
            (None, _) => "adding",
            (_, None) => "removing",
            _ => "changing",
        };
        out.push(Finding::new(
            ROOT_MANIFEST,
            CheckRule::CheckedScript,
            format!(
                "{action} the `{name}` script is not allowed: the validation runs it, so the \
                 change would write the check that judges it; leave `scripts.{name}` as it is \
                 (a maintainer can change it in a pull request of their own)"
            ),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::commands::{Command, Origin, PlanSource, Stage};

    #[test]
    fn only_registry_specs_are_allowed_as_dependencies() {
        for ok in [
            "^1.2.0",
            "~3",
            "1.x || >=2.5.0",
            "latest",
            "*",
            "",
            "npm:@scope/pkg@^1",
            "workspace:*",
            "catalog:",
        ] {
            assert_eq!(remote_kind(ok), None, "{ok}");
        }
        for (spec, kind) in [
            ("https://evil.example/pkg.tgz", "a URL"),
            ("HTTP://evil.example/pkg.tgz", "a URL"),
            ("git+https://github.com/evil/pkg.git", "a git repository"),
            ("git://github.com/evil/pkg.git", "a git repository"),
            ("git@github.com:evil/pkg.git", "a git repository"),
            ("github:evil/pkg", "a git host"),
            ("gitlab:evil/pkg", "a git host"),
            ("file:../outside", "a local path"),
            ("link:../outside", "a local path"),
            ("./vendor/pkg.tgz", "a local path"),
            ("/tmp/pkg", "a local path"),
            ("~/pkg", "a local path"),
            (
                "evil/pkg#main",
                "a GitHub repository (owner/name shorthand)",
            ),
        ] {
            assert_eq!(remote_kind(spec), Some(kind), "{spec}");
        }
    }

    #[test]
    fn a_dependency_from_a_url_git_or_path_is_a_finding_naming_field_and_spec() {
        let text = r#"{
  "dependencies": { "zod": "^3.0.0", "evil": "https://evil.example/evil.tgz" },
  "devDependencies": { "tool": "github:evil/tool" },
  "overrides": { "lodash": { "dep": "file:../x" } },
  "pnpm": { "overrides": { "a": "git+ssh://git@evil.example/a.git" } }
}"#;
        let found = dependency_findings("package.json", text);
        let messages: Vec<String> = found.iter().map(ToString::to_string).collect();
        assert_eq!(found.len(), 4, "{messages:#?}");
        assert!(found.iter().all(|f| f.rule == CheckRule::RemoteDependency));
        assert!(
            messages.contains(
                &"package.json:2: `evil` in `dependencies` comes from a URL (`https://evil.example/evil.tgz`), which is not allowed: packages are only installed from the registry; use a published version range like `^1.2.0`, or leave the dependency to a maintainer".to_string()
            ),
            "{messages:#?}"
        );
        for part in [
            "`tool` in `devDependencies` comes from a git host (`github:evil/tool`)",
            "`lodash > dep` in `overrides` comes from a local path (`file:../x`)",
            "`a` in `pnpm.overrides` comes from a git repository",
        ] {
            assert!(
                messages.iter().any(|m| m.contains(part)),
                "{part}: {messages:#?}"
            );
        }
        assert_eq!(dependency_findings("apps/web/package.json", text).len(), 4);
        assert!(dependency_findings("src/data.json", text).is_empty());
        assert!(dependency_findings("package.json", "{ not json").is_empty());
    }

    fn command(stage: Stage, argv: &[&str]) -> Command {
        Command {
            stage,
            argv: argv.iter().map(|s| s.to_string()).collect(),
            network: stage == Stage::Setup,
            name: argv.join(" "),
            timeout: None,
            origin: Origin::Config,
        }
    }

    fn plan(setup: &[&[&str]], checks: &[&[&str]]) -> CommandPlan {
        CommandPlan {
            setup: setup.iter().map(|a| command(Stage::Setup, a)).collect(),
            checks: checks.iter().map(|a| command(Stage::Test, a)).collect(),
            command_timeout: None,
            total_timeout: None,
            env: Vec::new(),
            source: PlanSource::Detected,
            lock_files: Vec::new(),
            notes: Vec::new(),
        }
    }

    #[test]
    fn the_scripts_a_plan_runs_are_named_from_its_commands() {
        let p = plan(
            &[&["npm", "ci"]],
            &[
                &["npm", "run", "lint"],
                &["npm", "test"],
                &["pnpm", "typecheck"],
                &["yarn", "exec", "tsc"],
                &["sh", "-c", "CI=1 npm run build && yarn run e2e"],
                &["npx", "--no-install", "tsc"],
                &["grep", "-q", "x", "src/a.ts"],
            ],
        );
        let scripts = scripts_run_by(&p);
        for name in [
            "lint",
            "test",
            "typecheck",
            "build",
            "e2e",
            "postinstall",
            "prepare",
        ] {
            assert!(scripts.contains(&name.to_string()), "{name}: {scripts:?}");
        }
        assert!(!scripts.contains(&"tsc".to_string()), "{scripts:?}");
        assert!(scripts_run_by(&plan(&[], &[&["grep", "-q", "x", "a"]])).is_empty());
    }

    fn manifest_change(before: &str) -> ChangedFile {
        ChangedFile {
            path: "package.json".into(),
            kind: ChangeKind::Modified,
            before: Some(before.into()),
        }
    }

    #[test]
    fn changing_a_script_the_validation_runs_is_a_finding() {
        let before = r#"{"scripts": {"test": "npm run unit && npm run lint", "unit": "vitest run", "lint": "eslint .", "dev": "next dev"}}"#;
        let checked = vec!["test".to_string()];
        let change = manifest_change(before);
        let findings = |after: &str| -> Vec<String> {
            script_findings(&change, Some(after), &checked)
                .iter()
                .map(ToString::to_string)
                .collect()
        };
        // The script itself, a script it calls, a hook npm runs around it.
        let weakened = r#"{"scripts": {"test": "exit 0", "unit": "vitest run", "lint": "eslint .", "dev": "next dev"}}"#;
        assert_eq!(
            findings(weakened),
            [
                "package.json: changing the `test` script is not allowed: the validation runs it, so the change would write the check that judges it; leave `scripts.test` as it is (a maintainer can change it in a pull request of their own)"
            ]
        );
        let called = r#"{"scripts": {"test": "npm run unit && npm run lint", "unit": "true", "lint": "eslint .", "dev": "next dev"}}"#;
        assert!(findings(called)[0].contains("changing the `unit` script"));
        let hooked = r#"{"scripts": {"posttest": "env", "test": "npm run unit && npm run lint", "unit": "vitest run", "lint": "eslint .", "dev": "next dev"}}"#;
        assert!(findings(hooked)[0].contains("adding the `posttest` script"));
        let removed =
            r#"{"scripts": {"unit": "vitest run", "lint": "eslint .", "dev": "next dev"}}"#;
        assert!(findings(removed)[0].contains("removing the `test` script"));
        // Scripts the validation does not run are the change's to make.
        let dev = r#"{"scripts": {"test": "npm run unit && npm run lint", "unit": "vitest run", "lint": "eslint .", "dev": "next dev --turbo"}}"#;
        assert!(findings(dev).is_empty());
        // Deleting the manifest removes them all.
        let deleted = ChangedFile {
            kind: ChangeKind::Deleted,
            ..manifest_change(before)
        };
        assert_eq!(script_findings(&deleted, None, &checked).len(), 3);
        // Another package's manifest, or nothing checked: no finding.
        let nested = ChangedFile {
            path: "apps/web/package.json".into(),
            ..manifest_change(before)
        };
        assert!(script_findings(&nested, Some(weakened), &checked).is_empty());
        assert!(script_findings(&change, Some(weakened), &[]).is_empty());
    }
}
