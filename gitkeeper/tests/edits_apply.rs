//! Applying model answers to real directories: from answer text to files on
//! disk, every rejection and its feedback, symbolic links, and diffs that
//! `git apply` accepts.

// Test code: the helpers outside `#[test]` functions (which clippy.toml
// already allows) unwrap too, because a panic there is a failing test.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::Path;
use std::process::Command;

use gitkeeper::edits::{
    ApplyError, Edits, ParsedEdits, PathPolicy, PathProblem, RejectionReason, apply_edits,
    parse_edits, plan_edits,
};

fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, content) in files {
        let full = dir.path().join(path);
        fs::create_dir_all(full.parent().unwrap()).unwrap();
        fs::write(full, content).unwrap();
    }
    dir
}

fn edits(answer: &str) -> Edits {
    match parse_edits(answer).unwrap() {
        ParsedEdits::Edits(edits) => edits,
        other => panic!("{other:?}"),
    }
}

fn read(root: &Path, path: &str) -> Option<String> {
    fs::read_to_string(root.join(path)).ok()
}

fn rejected(root: &Path, answer: &str, policy: &PathPolicy) -> ApplyError {
    let before = snapshot(root);
    let err = apply_edits(root, &edits(answer), policy).unwrap_err();
    assert_eq!(snapshot(root), before, "a rejected answer changed files");
    err
}

/// Every file under `root` with its content.
fn snapshot(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() {
                out.push((path.display().to_string(), fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

const SESSION: &str = "import { cookies } from 'next/headers';\n\nexport function getSession() {\n  const c = cookies();\n  return c.get('session') ?? null;\n}\n";

#[test]
fn a_drifted_small_model_answer_applies() {
    let dir = repo(&[("lib/session.ts", SESSION)]);
    // CRLF, a fence with a language tag, the path on the line before, the
    // SEARCH indentation lost, trailing spaces, no final newline.
    let answer = "Here is the fix:\r\n\r\nlib/session.ts\r\n```typescript\r\n<<<<<<< SEARCH  \r\nconst c = cookies();\r\nreturn c.get('session') ?? null;\r\n=======\r\nconst c = cookies();\r\nreturn c.get('session')?.value ?? null;\r\n>>>>>>> REPLACE\r\n```\r\n\r\nFILE: lib/auth.ts\r\n```ts\r\nexport const AUTH = true;\r\n```";
    let applied = apply_edits(dir.path(), &edits(answer), &PathPolicy::default()).unwrap();
    assert_eq!(
        read(dir.path(), "lib/session.ts").unwrap(),
        SESSION.replace("c.get('session') ??", "c.get('session')?.value ??")
    );
    assert_eq!(
        read(dir.path(), "lib/auth.ts").as_deref(),
        Some("export const AUTH = true;\n")
    );
    assert_eq!(applied.changes.len(), 2);
}

#[test]
fn absolute_parent_and_git_paths_are_rejected() {
    let dir = repo(&[("a.ts", "a\n"), (".git/config", "[core]\n")]);
    for (path, problem) in [
        ("/etc/passwd", PathProblem::Absolute),
        ("../outside.ts", PathProblem::ParentComponent),
        ("src/../../outside.ts", PathProblem::ParentComponent),
        (".git/config", PathProblem::GitDir),
        (".git/hooks/pre-commit", PathProblem::GitDir),
    ] {
        let answer = format!("FILE: {path}\n```\nx\n```\n");
        let err = rejected(dir.path(), &answer, &PathPolicy::default());
        let r = &err.rejections()[0];
        assert_eq!(r.reason, RejectionReason::UnsafePath(problem), "{path}");
        assert!(r.feedback.contains(path), "{}", r.feedback);
    }
}

#[test]
fn protected_paths_are_rejected_with_the_pattern() {
    let dir = repo(&[
        (".github/workflows/ci.yml", "on: push\n"),
        ("src/a.ts", "a\n"),
    ]);
    let policy = PathPolicy::new(vec![".github/workflows/**".into(), "*.lock".into()]).unwrap();
    let err = rejected(
        dir.path(),
        ".github/workflows/ci.yml\n<<<<<<< SEARCH\non: push\n=======\non: pull_request\n>>>>>>> REPLACE\n\nDELETE: deep/yarn.lock\n",
        &policy,
    );
    assert_eq!(err.rejections().len(), 2);
    let r = &err.rejections()[0];
    assert!(matches!(
        r.reason,
        RejectionReason::UnsafePath(PathProblem::Protected { .. })
    ));
    assert!(
        r.feedback.contains("`.github/workflows/**`"),
        "{}",
        r.feedback
    );
    assert!(r.feedback.contains("without editing it"), "{}", r.feedback);
}

#[cfg(unix)]
#[test]
fn symlinks_out_of_the_work_dir_are_rejected() {
    use std::os::unix::fs::symlink;
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("secret.txt"), "s\n").unwrap();
    let dir = repo(&[("src/a.ts", "a\n")]);
    symlink(outside.path(), dir.path().join("linked")).unwrap();
    symlink(
        outside.path().join("secret.txt"),
        dir.path().join("secret.txt"),
    )
    .unwrap();
    symlink(dir.path().join("nowhere"), dir.path().join("broken.ts")).unwrap();
    for (path, expected) in [
        (
            "linked/new.ts",
            PathProblem::EscapesRoot {
                link: "linked".into(),
            },
        ),
        (
            "linked/secret.txt",
            PathProblem::EscapesRoot {
                link: "linked".into(),
            },
        ),
        (
            "secret.txt",
            PathProblem::EscapesRoot {
                link: "secret.txt".into(),
            },
        ),
        (
            "broken.ts",
            PathProblem::BrokenSymlink {
                link: "broken.ts".into(),
            },
        ),
    ] {
        let err = rejected(
            dir.path(),
            &format!("FILE: {path}\n```\nx\n```\n"),
            &PathPolicy::default(),
        );
        assert_eq!(
            err.rejections()[0].reason,
            RejectionReason::UnsafePath(expected),
            "{path}"
        );
    }
    assert_eq!(read(outside.path(), "secret.txt").as_deref(), Some("s\n"));
    assert_eq!(fs::read_dir(outside.path()).unwrap().count(), 1);
}

#[cfg(unix)]
#[test]
fn symlinks_inside_the_work_dir_are_checked_at_their_target() {
    use std::os::unix::fs::symlink;
    let dir = repo(&[
        (".github/workflows/ci.yml", "on: push\n"),
        ("src/real.ts", "a\n"),
    ]);
    symlink(".github/workflows/ci.yml", dir.path().join("innocent.yml")).unwrap();
    symlink(".git", dir.path().join("g")).unwrap();
    fs::create_dir(dir.path().join(".git")).unwrap();
    symlink("src", dir.path().join("alias")).unwrap();
    let policy = PathPolicy::new(vec![".github/workflows".into()]).unwrap();

    let err = rejected(
        dir.path(),
        "FILE: innocent.yml\n```\non: pull_request\n```\n",
        &policy,
    );
    assert!(matches!(
        err.rejections()[0].reason,
        RejectionReason::UnsafePath(PathProblem::Protected { .. })
    ));
    let err = rejected(dir.path(), "FILE: g/config\n```\nx\n```\n", &policy);
    assert_eq!(
        err.rejections()[0].reason,
        RejectionReason::UnsafePath(PathProblem::GitDir)
    );
    // An in-repository link to an editable place is fine; the change is
    // reported at the real path.
    let applied = apply_edits(
        dir.path(),
        &edits("alias/real.ts\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n"),
        &policy,
    )
    .unwrap();
    assert_eq!(applied.changes[0].path, "src/real.ts");
    assert_eq!(read(dir.path(), "src/real.ts").as_deref(), Some("b\n"));
}

#[test]
fn search_matching_nothing_shows_the_closest_lines() {
    let dir = repo(&[("lib/session.ts", SESSION)]);
    let err = rejected(
        dir.path(),
        "lib/session.ts\n<<<<<<< SEARCH\nexport function getSesion() {\n  const c = cookie();\n=======\nx\n>>>>>>> REPLACE\n",
        &PathPolicy::default(),
    );
    let r = &err.rejections()[0];
    assert_eq!(r.edit, 1);
    assert_eq!(r.path, "lib/session.ts");
    assert_eq!(
        r.reason,
        RejectionReason::SearchNotFound {
            closest_line: Some(3)
        }
    );
    assert!(r.feedback.contains("`lib/session.ts`"), "{}", r.feedback);
    assert!(r.feedback.contains("lines 3-4"), "{}", r.feedback);
    assert!(
        r.feedback
            .contains("export function getSession() {\n  const c = cookies();"),
        "{}",
        r.feedback
    );
    let feedback = err.feedback();
    assert!(feedback.contains("Edit 1 (`lib/session.ts`)"), "{feedback}");
}

#[test]
fn search_matching_nothing_alike_says_so() {
    let dir = repo(&[("a.ts", "alpha\nbeta\n")]);
    let err = rejected(
        dir.path(),
        "a.ts\n<<<<<<< SEARCH\nzzzz qqqq\n=======\nx\n>>>>>>> REPLACE\n",
        &PathPolicy::default(),
    );
    assert!(
        err.rejections()[0]
            .feedback
            .contains("Nothing in `a.ts` resembles it")
    );
}

#[test]
fn search_matching_several_places_asks_for_context() {
    let dir = repo(&[("a.ts", "x = 1;\ny = 2;\nx = 1;\n")]);
    let err = rejected(
        dir.path(),
        "a.ts\n<<<<<<< SEARCH\nx = 1;\n=======\nx = 3;\n>>>>>>> REPLACE\n",
        &PathPolicy::default(),
    );
    let r = &err.rejections()[0];
    assert_eq!(
        r.reason,
        RejectionReason::SearchAmbiguous { lines: vec![1, 3] }
    );
    assert!(r.feedback.contains("matches 2 places"), "{}", r.feedback);
    assert!(r.feedback.contains("lines 1, 3"), "{}", r.feedback);
    assert!(r.feedback.contains("surrounding lines"), "{}", r.feedback);
}

#[test]
fn search_on_a_missing_file_is_rejected() {
    let dir = repo(&[("a.ts", "a\n")]);
    let err = rejected(
        dir.path(),
        "b.ts\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n",
        &PathPolicy::default(),
    );
    let r = &err.rejections()[0];
    assert_eq!(r.reason, RejectionReason::FileMissing);
    assert!(r.feedback.contains("FILE: b.ts"), "{}", r.feedback);
}

#[test]
fn whole_file_over_an_existing_file_is_accepted() {
    let dir = repo(&[("a.ts", "old\n")]);
    apply_edits(
        dir.path(),
        &edits("FILE: a.ts\n```ts\nnew\n```\n"),
        &PathPolicy::default(),
    )
    .unwrap();
    assert_eq!(read(dir.path(), "a.ts").as_deref(), Some("new\n"));
}

#[test]
fn rename_onto_an_existing_file_is_rejected() {
    let dir = repo(&[("a.ts", "a\n"), ("b.ts", "b\n")]);
    let err = rejected(dir.path(), "RENAME: a.ts -> b.ts\n", &PathPolicy::default());
    let r = &err.rejections()[0];
    assert_eq!(
        r.reason,
        RejectionReason::TargetExists {
            target: "b.ts".into()
        }
    );
    assert!(r.feedback.contains("never overwrites"), "{}", r.feedback);
}

#[test]
fn delete_or_rename_of_a_missing_file_is_rejected() {
    let dir = repo(&[("a.ts", "a\n")]);
    let err = rejected(
        dir.path(),
        "DELETE: gone.ts\nRENAME: gone.ts -> new.ts\n",
        &PathPolicy::default(),
    );
    let reasons: Vec<_> = err.rejections().iter().map(|r| r.reason.clone()).collect();
    assert_eq!(
        reasons,
        [RejectionReason::FileMissing, RejectionReason::FileMissing]
    );
}

#[test]
fn binary_files_are_not_edited() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("logo.png"),
        [0x89, 0x50, 0x4e, 0x47, 0xff, 0xfe],
    )
    .unwrap();
    let err = rejected(
        dir.path(),
        "FILE: logo.png\n```\nx\n```\n",
        &PathPolicy::default(),
    );
    assert_eq!(err.rejections()[0].reason, RejectionReason::NotText);
}

#[test]
fn every_rejection_is_reported_at_once() {
    let dir = repo(&[("a.ts", "a\n")]);
    let err = rejected(
        dir.path(),
        "FILE: ../x.ts\n```\nx\n```\n\na.ts\n<<<<<<< SEARCH\nzzz\n=======\ny\n>>>>>>> REPLACE\n\nDELETE: b.ts\n",
        &PathPolicy::default(),
    );
    let numbers: Vec<usize> = err.rejections().iter().map(|r| r.edit).collect();
    assert_eq!(numbers, [1, 2, 3]);
    assert!(err.to_string().contains("3 edit(s) rejected"), "{err}");
}

#[test]
fn dry_run_plans_without_writing() {
    let dir = repo(&[("a.ts", "a\n")]);
    let before = snapshot(dir.path());
    let planned = plan_edits(
        dir.path(),
        &edits("a.ts\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\nFILE: c.ts\n```\nc\n```\n"),
        &PathPolicy::default(),
    )
    .unwrap();
    assert_eq!(snapshot(dir.path()), before);
    let diff = planned.diff();
    assert!(diff.text.contains("-a\n+b\n"), "{}", diff.text);
    assert_eq!(
        diff.summary(),
        "2 files changed, 2 insertions(+), 1 deletion(-)"
    );
}

#[test]
fn the_diff_applies_with_git_apply() {
    assert!(
        Command::new("git").arg("--version").output().is_ok(),
        "this test needs `git` on PATH: install git (apt install git; .ci/run does)"
    );
    let files = [
        (
            "src/a.ts",
            "one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\n",
        ),
        ("src/old.ts", "old\n"),
        ("src/moved.ts", "m1\nm2\n"),
        ("no-newline.txt", "x"),
    ];
    let answer = "src/a.ts\n<<<<<<< SEARCH\ntwo\n=======\nTWO\n>>>>>>> REPLACE\n\
                  src/a.ts\n<<<<<<< SEARCH\nseven\n=======\n>>>>>>> REPLACE\n\
                  DELETE: src/old.ts\n\
                  RENAME: src/moved.ts -> lib/moved.ts\n\
                  lib/moved.ts\n<<<<<<< SEARCH\nm2\n=======\nM2\n>>>>>>> REPLACE\n\
                  no-newline.txt\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n\
                  FILE: docs/new.md\n```md\n# New\n```\n";
    let planned_in = repo(&files);
    let planned = plan_edits(planned_in.path(), &edits(answer), &PathPolicy::default()).unwrap();
    let patch = planned.diff().text;
    if std::env::var_os("GITKEEPER_SHOW_DIFF").is_some() {
        println!("{patch}");
    }

    let target = repo(&files);
    let patch_dir = tempfile::tempdir().unwrap();
    let patch_file = patch_dir.path().join("edits.patch");
    fs::write(&patch_file, &patch).unwrap();
    let out = Command::new("git")
        .arg("apply")
        .arg(&patch_file)
        .current_dir(target.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git apply failed: {}\n{patch}",
        String::from_utf8_lossy(&out.stderr)
    );

    let expected = repo(&files);
    apply_edits(expected.path(), &edits(answer), &PathPolicy::default()).unwrap();
    assert_eq!(
        snapshot_rel(target.path()),
        snapshot_rel(expected.path()),
        "{patch}"
    );
}

fn snapshot_rel(root: &Path) -> Vec<(String, Vec<u8>)> {
    snapshot(root)
        .into_iter()
        .map(|(path, content)| {
            let rel = Path::new(&path)
                .strip_prefix(root)
                .unwrap()
                .display()
                .to_string();
            (rel, content)
        })
        .collect()
}
