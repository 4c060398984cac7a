//! The check run on a published commit: the validation that ran before the
//! commit was made, as GitHub shows it beside the pull request's checks.
//!
//! Must never: report a commit green whose validation did not pass.

use super::PublishError;
use super::report::validation_section;
use crate::github::{CheckConclusion, CheckOutput, GitCommit, Installation};
use crate::intent::RepoRef;
use crate::markers::for_comment;
use crate::route::Route;
use crate::validate::ValidationReport;

/// The check run's name on the pull request's head commit.
pub const CHECK_NAME: &str = "Gitkeeper";

/// A completed check run on `commit` with the validation report; returns its id.
pub async fn report_check_run(
    github: &Installation,
    repo: &RepoRef,
    commit: &GitCommit,
    validation: &ValidationReport,
    route: &Route,
) -> Result<u64, PublishError> {
    let conclusion = conclusion(validation);
    let before = validation.failing_before();
    let (title, mut summary) = (
        format!("{} passed", checks_summary(validation)),
        format!(
            "Validation level **{}**; the repository's checks ran in Gitkeeper's sandbox before this commit was made.",
            route.validation.as_str()
        ),
    );
    let title = if validation.proved_nothing() {
        summary.push_str(&format!(
            " They passed, but could not exercise this change ({}), so they proved nothing about it: review it against the issue.",
            for_comment(&validation.unproven.join("; "))
        ));
        format!("{title}: not proven")
    } else if before.is_empty() {
        title
    } else {
        summary.push_str(&format!(
            " {} failed on the base commit already and still fail{}, so {} proved nothing about this change.",
            before
                .iter()
                .map(|c| format!("`{}`", for_comment(c.command())))
                .collect::<Vec<_>>()
                .join(", "),
            if before.len() == 1 { "s" } else { "" },
            if before.len() == 1 { "it" } else { "they" },
        ));
        format!(
            "{}: {} failing before and after this change",
            checks_summary(validation),
            before.len()
        )
    };
    let text = validation_section(validation);
    let started = CheckOutput {
        title: "Validating",
        summary: &summary,
        text: None,
    };
    let id = github
        .start_check_run(repo, CHECK_NAME, &commit.sha, &started)
        .await?;
    github
        .finish_check_run(
            repo,
            id,
            conclusion,
            &CheckOutput {
                title: &title,
                summary: &summary,
                text: Some(&text),
            },
        )
        .await?;
    Ok(id)
}

/// Failure when a check failed; neutral when none did but one only failed
/// as it did before the change, or the checks could not exercise the change
/// (either way they proved nothing); success otherwise.
pub fn conclusion(validation: &ValidationReport) -> CheckConclusion {
    if !validation.passed {
        CheckConclusion::Failure
    } else if validation.checks.iter().any(|c| c.failed_before) || validation.proved_nothing() {
        CheckConclusion::Neutral
    } else {
        CheckConclusion::Success
    }
}

/// "3 checks" / "1 check".
pub fn checks_summary(report: &ValidationReport) -> String {
    let n = report.checks.len();
    format!("{n} check{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::CheckResult;

    #[test]
    fn check_counts_are_singular_or_plural() {
        let check = |name: &str| CheckResult {
            name: name.into(),
            passed: true,
            detail: String::new(),
            duration_ms: 1,
            failed_before: false,
        };
        let one = ValidationReport::new("build", vec![check("a")]);
        assert_eq!(checks_summary(&one), "1 check");
        let two = ValidationReport::new("build", vec![check("a"), check("b")]);
        assert_eq!(checks_summary(&two), "2 checks");
    }

    #[test]
    fn a_check_failing_as_before_makes_the_run_neutral_never_green() {
        let check = |passed: bool, failed_before: bool| CheckResult {
            name: "npm test".into(),
            passed,
            detail: String::new(),
            duration_ms: 1,
            failed_before,
        };
        let conclude = |checks: Vec<CheckResult>| conclusion(&ValidationReport::new("b", checks));
        assert_eq!(conclude(vec![check(true, false)]), CheckConclusion::Success);
        assert_eq!(
            conclude(vec![check(true, false), check(true, true)]),
            CheckConclusion::Neutral
        );
        assert_eq!(
            conclude(vec![check(true, true), check(false, false)]),
            CheckConclusion::Failure
        );
        let unproven = ValidationReport::new("b", vec![check(true, false)])
            .with_unproven(&["no test command ran".to_string()]);
        assert_eq!(conclusion(&unproven), CheckConclusion::Neutral);
    }
}
