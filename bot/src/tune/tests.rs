use super::*;
use crate::eval::{Level, Stages};
use crate::stats::figures::tests::{attempt, history};
use crate::trail::{AttemptOutcome::*, AttemptRole::*, TaskOutcome, TaskType};

/// A `standard` task where `local-large` failed or passed before `cloud-deepseek`.
fn standard(id: i64, local_passed: bool) -> TaskHistory {
    let mut attempts = vec![attempt(
        Worker,
        1,
        "local-large",
        if local_passed {
            Passed
        } else {
            ValidationFailed
        },
        false,
    )];
    if !local_passed {
        attempts.push(attempt(Worker, 2, "cloud-deepseek", Passed, true));
    }
    let mut h = history(id, TaskType::Fix, TaskOutcome::Pass, attempts);
    h.record.ladder = "standard".into();
    h
}

fn eval_result(route: &str, model: &str, outcome: &str, well_formed: bool) -> TaskResult {
    TaskResult {
        suite: "bundled".into(),
        task: "t".into(),
        level: Level::Standard,
        fixture: "f".into(),
        config: "A".into(),
        outcome: outcome.into(),
        resolved: outcome == "pass",
        validated: outcome == "pass",
        false_pass: false,
        proved_nothing: false,
        first_try_well_formed: well_formed,
        attempts: 1,
        escalations: 0,
        prompt_tokens: 100,
        completion_tokens: 10,
        route: Some(route.into()),
        model: Some(model.into()),
        failure: None,
        seconds: Stages::default(),
    }
}

#[test]
fn a_tier_failing_most_of_its_ladders_tasks_is_skipped_with_its_effect() {
    let settings = Settings::default();
    // local-large passes 1 of 6 standard tasks; cloud-deepseek the other 5.
    let histories: Vec<TaskHistory> = (0..6).map(|i| standard(i, i == 0)).collect();
    let proposals = propose(&settings, &histories, &[]);
    assert_eq!(proposals.len(), 1, "{proposals:#?}");
    let p = &proposals[0];
    assert_eq!(
        p.change,
        Change::SkipTier {
            ladder: "standard".into(),
            model: "local-large".into()
        }
    );
    assert!(p.evidence.contains("passed 1 of the 6"), "{}", p.evidence);
    // The one task it passed now goes to deepseek, which passed all 5 it saw.
    assert!(
        p.effect.contains("success on these tasks +0 pp"),
        "{}",
        p.effect
    );
    assert!(p.effect.contains("+0.0010 USD per task"), "{}", p.effect);
    assert!(p.effect.contains("1.0 fewer model calls"), "{}", p.effect);

    // Too few tasks: no proposal.
    assert!(propose(&settings, &histories[..4], &[]).is_empty());
    // A tier passing half or more is kept.
    let good: Vec<TaskHistory> = (0..6).map(|i| standard(i, i < 3)).collect();
    assert!(propose(&settings, &good, &[]).is_empty());
}

#[test]
fn eval_results_count_the_tiers_before_the_one_that_ended_the_task_as_failed() {
    let settings = Settings::default();
    // Five standard tasks ended on cloud-deepseek: local-large failed all five.
    let results: Vec<TaskResult> = (0..5)
        .map(|_| eval_result("standard", "cloud-deepseek", "pass", true))
        .chain([eval_result("standard", "local-large", "error", true)])
        .collect();
    let proposals = propose(&settings, &[], &results);
    assert_eq!(
        proposals.iter().map(|p| &p.change).collect::<Vec<_>>(),
        [&Change::SkipTier {
            ladder: "standard".into(),
            model: "local-large".into()
        }]
    );
    // No ladder's last tier is ever dropped.
    let last: Vec<TaskResult> = (0..6)
        .map(|_| eval_result("complex", "cloud-claude", "fail", true))
        .collect();
    let changes: Vec<Change> = propose(&settings, &[], &last)
        .into_iter()
        .map(|p| p.change)
        .collect();
    assert_eq!(
        changes,
        [Change::SkipTier {
            ladder: "complex".into(),
            model: "cloud-deepseek".into()
        }]
    );
}

#[test]
fn often_malformed_answers_switch_the_model_to_whole_files() {
    let settings = Settings::default();
    // local-large answers in search/replace; 2 of 5 tries malformed in the trail,
    // and 1 of 2 first answers in eval.
    let mut histories = Vec::new();
    for (i, outcome) in [ParseFailed, ApplyFailed, Passed, Passed, ValidationFailed]
        .into_iter()
        .enumerate()
    {
        let mut h = history(
            i as i64,
            TaskType::Fix,
            TaskOutcome::Pass,
            vec![attempt(Worker, 1, "local-large", outcome, false)],
        );
        h.record.ladder = "complex".into();
        histories.push(h);
    }
    let results = [
        eval_result("standard", "local-large", "pass", false),
        eval_result("standard", "local-large", "pass", true),
    ];
    let proposals = propose(&settings, &histories, &results);
    let p = proposals
        .iter()
        .find(|p| matches!(p.change, Change::WholeFile { .. }))
        .expect("a whole-file proposal");
    assert_eq!(
        p.change,
        Change::WholeFile {
            model: "local-large".into()
        }
    );
    assert!(p.evidence.starts_with("3 of its 7"), "{}", p.evidence);
    assert!(
        p.effect.contains("cost: none (a local model)"),
        "{}",
        p.effect
    );
    // local-small already answers with whole files.
    assert!(!proposals.iter().any(|p| p.change
        == Change::WholeFile {
            model: "local-small".into()
        }));
}

#[test]
fn answers_cut_off_below_max_tokens_lower_the_context_window() {
    let settings = Settings::default();
    let cut = |id, prompt: u32, answer: u32| {
        let mut a = attempt(Worker, 1, "local-small", Truncated, false);
        a.prompt_tokens = prompt;
        a.completion_tokens = answer;
        a.edit_format = EditFormat::WholeFile;
        let mut h = history(id, TaskType::Fix, TaskOutcome::Fail, vec![a]);
        h.record.ladder = "quick-edit".into();
        h
    };
    // Cut at 8000 and 8200 tokens of prompt and answer; the 4096-token cap
    // (max_tokens) is not what cut them.
    let histories = [cut(1, 7000, 1000), cut(2, 7500, 700), cut(3, 100, 4096)];
    let proposals = propose(&settings, &histories, &[]);
    let windows: Vec<&Change> = proposals
        .iter()
        .map(|p| &p.change)
        .filter(|c| matches!(c, Change::ContextWindow { .. }))
        .collect();
    assert_eq!(
        windows,
        [&Change::ContextWindow {
            model: "local-small".into(),
            from: 32768,
            to: 7680
        }]
    );
    // One cut answer is not enough.
    assert!(
        propose(&settings, &histories[..1], &[])
            .iter()
            .all(|p| !matches!(p.change, Change::ContextWindow { .. }))
    );
}

#[test]
fn apply_writes_the_changes_with_comments_and_keeps_the_files_own() {
    let settings = Settings::default();
    let text = "# my bot\n[server]\nlisten = \"127.0.0.1:3000\" # keep me\n";
    let proposals = [
        Proposal {
            change: Change::SkipTier {
                ladder: "standard".into(),
                model: "local-large".into(),
            },
            evidence: "`local-large` passed 1 of the 6 `standard` tasks".into(),
            effect: String::new(),
        },
        Proposal {
            change: Change::WholeFile {
                model: "local-large".into(),
            },
            evidence: "3 of its 7 answers did not parse".into(),
            effect: String::new(),
        },
        Proposal {
            change: Change::ContextWindow {
                model: "local-small".into(),
                from: 32768,
                to: 7680,
            },
            evidence: "2 answers were cut off".into(),
            effect: String::new(),
        },
    ];
    let new = apply::edit(text, &settings, &proposals, "gitkeeper-bot tune 2026-12-03").unwrap();
    assert!(
        new.starts_with("# my bot\n[server]\nlisten = \"127.0.0.1:3000\" # keep me\n"),
        "{new}"
    );
    assert!(
        new.contains("# gitkeeper-bot tune 2026-12-03: `local-large` passed 1 of the 6 `standard` tasks → skipped tier `local-large`\n[[route.ladder]]\nname = \"standard\""),
        "{new}"
    );
    assert!(
        new.contains("# gitkeeper-bot tune 2026-12-03: 3 of its 7 answers did not parse\nedit_format = \"whole_file\""),
        "{new}"
    );
    assert!(new.contains("context_window = 7680"), "{new}");

    // The file loads, and says what the proposals said.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gitkeeper.toml");
    std::fs::write(&path, text).unwrap();
    apply::apply(
        &path,
        &settings,
        &proposals,
        "gitkeeper-bot tune 2026-12-03",
    )
    .unwrap();
    let tuned = Settings::load(&path).unwrap();
    let standard = tuned
        .route
        .ladder
        .iter()
        .find(|l| l.name == "standard")
        .unwrap();
    assert_eq!(
        standard.tiers.iter().map(|t| t.model()).collect::<Vec<_>>(),
        ["cloud-deepseek", "cloud-claude"]
    );
    // The other ladders are the defaults, written out unchanged.
    assert_eq!(tuned.route.ladder.len(), settings.route.ladder.len());
    assert_eq!(tuned.route.ladder[0], settings.route.ladder[0]);
    let large = tuned.models.get("local-large").unwrap();
    assert_eq!(large.edit_format, EditFormat::WholeFile);
    assert_eq!(
        large.model,
        settings.models.get("local-large").unwrap().model
    );
    assert_eq!(
        tuned.models.get("local-small").unwrap().context_window,
        7680
    );
}

#[test]
fn apply_refuses_a_ladder_the_file_does_not_have_and_leaves_the_file() {
    let settings = Settings::default();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gitkeeper.toml");
    let text = "[[route.ladder]]\nname = \"only\"\ntiers = [\"local-small\", \"cloud-claude\"]\n";
    std::fs::write(&path, text).unwrap();
    let err = apply::apply(
        &path,
        &settings,
        &[Proposal {
            change: Change::SkipTier {
                ladder: "standard".into(),
                model: "local-large".into(),
            },
            evidence: "e".into(),
            effect: String::new(),
        }],
        "stamp",
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("no [[route.ladder]] is named `standard`"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
}
