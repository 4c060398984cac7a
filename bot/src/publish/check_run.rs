//! The check run on a published commit: the validation that ran before the
//! commit was made, as GitHub shows it beside the pull request's checks.
//!
//! Must never: report a commit green whose validation did not pass.

use super::PublishError;
use super::report::validation_section;
use crate::github::{CheckConclusion, CheckOutput, GitCommit, Installation};
use crate::intent::RepoRef;
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
    let title = format!("{} passed", checks_summary(validation));
    let summary = format!(
        "Validation level **{}**; the repository's checks ran in Gitkeeper's sandbox before this commit was made.",
        route.validation.as_str()
    );
    let text = validation_section(validation);
    let started = CheckOutput {
        title: "Validating",
        summary: &summary,
        text: None,
    };
    let id = github
        .start_check_run(repo, CHECK_NAME, &commit.sha, &started)
        .await?;
    let conclusion = if validation.passed {
        CheckConclusion::Success
    } else {
        CheckConclusion::Failure
    };
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
        };
        let one = ValidationReport::new("build", vec![check("a")]);
        assert_eq!(checks_summary(&one), "1 check");
        let two = ValidationReport::new("build", vec![check("a"), check("b")]);
        assert_eq!(checks_summary(&two), "2 checks");
    }
}
