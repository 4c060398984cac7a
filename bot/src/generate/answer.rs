//! One model answer, judged: a question, or edits parsed, applied to the
//! work dir and validated. A failure (edits that change nothing included)
//! leaves the work dir as it was and says what to feed back. It must never leave a failed answer's edits on disk.

use std::path::Path;
use std::sync::Arc;

use gitkeeper::edits::{AppliedEdits, ParsedEdits, PathPolicy, apply_edits, parse_edits};

use super::workdir::{RevertError, revert};
use crate::models::Completion;
use crate::route::ValidationLevel;
use crate::trail::AttemptOutcome;
use crate::validate::{ValidationReport, Validator};

/// Most error texts fed back at once, and most characters each.
const MAX_ERRORS: usize = 10;
const MAX_ERROR_CHARS: usize = 4000;

/// What an answer came to.
#[derive(Debug)]
pub enum Judged {
    Question(String),
    Failed {
        outcome: AttemptOutcome,
        /// Addressed to the model, trimmed.
        errors: Vec<String>,
        /// Files the answer's edits named.
        files: Vec<String>,
        /// Edits that applied but failed validation (already reverted), with
        /// the report: the closest a tier came.
        rejected: Option<Box<(AppliedEdits, ValidationReport)>>,
    },
    /// Applied and validated; the edits are on disk.
    Passed {
        applied: AppliedEdits,
        report: ValidationReport,
    },
}

impl Judged {
    fn failed(outcome: AttemptOutcome, errors: Vec<String>, files: Vec<String>) -> Judged {
        Judged::Failed {
            outcome,
            errors: trim_errors(errors),
            files,
            rejected: None,
        }
    }
}

/// At most [`MAX_ERRORS`] errors of [`MAX_ERROR_CHARS`] each, without
/// terminal escape sequences (a model reads them).
pub(super) fn trim_errors(errors: Vec<String>) -> Vec<String> {
    let total = errors.len();
    let mut out: Vec<String> = errors
        .into_iter()
        .take(MAX_ERRORS)
        .map(|e| gitkeeper::sanitize::strip_ansi(&e))
        .map(|e| match e.char_indices().nth(MAX_ERROR_CHARS) {
            Some((cut, _)) => format!("{}\n… (cut)", &e[..cut]),
            None => e,
        })
        .collect();
    if total > MAX_ERRORS {
        out.push(format!("… and {} more problems.", total - MAX_ERRORS));
    }
    out
}

/// A question for the maintainer, if `question` asks one. Small models
/// answer `CLARIFICATION_NEEDED:` with a restatement of the task or of the
/// last error ("The task is to fix …"), which asks a maintainer nothing and
/// would end the whole ladder: text without a `?` is a failed attempt whose
/// feedback says so, and the ladder goes on.
fn asked(question: String) -> Judged {
    if question.contains('?') {
        return Judged::Question(question);
    }
    let said: String = question.split_whitespace().collect::<Vec<_>>().join(" ");
    let said: String = said.chars().take(200).collect();
    Judged::failed(
        AttemptOutcome::ParseFailed,
        vec![format!(
            "`CLARIFICATION_NEEDED:` is only for a question a maintainer must answer, and \"{said}\" asks none. Do not restate the task or the error: answer with the edits, in the format described above."
        )],
        Vec::new(),
    )
}

/// What to tell a model whose edits changed nothing (a REPLACE equal to its
/// SEARCH, a whole file as it already was): which files, and what to send.
fn unchanged_feedback(files: &[String]) -> String {
    let mut named: Vec<String> = Vec::new();
    for file in files {
        let file = format!("`{file}`");
        if !named.contains(&file) {
            named.push(file);
        }
    }
    let named = named.join(", ");
    format!(
        "Your edits changed nothing: what you wrote for {named} is exactly what is already there, so the task is not done. Answer again with edits that make the change the task asks for: for each file to change, a SEARCH/REPLACE block (the file path alone on the line before `<<<<<<< SEARCH`, SEARCH copied from the file as it is now, REPLACE with the changed lines, different from SEARCH), or a FILE block with the complete new content of the file."
    )
}

/// Judge `completion`: on success its edits stay applied under `work_dir`.
pub async fn judge(
    completion: &Completion,
    work_dir: &Path,
    policy: &PathPolicy,
    validator: &Arc<dyn Validator>,
    level: ValidationLevel,
) -> Result<Judged, RevertError> {
    if let Some(question) = completion.clarification() {
        return Ok(asked(question.to_string()));
    }
    if completion.is_truncated() {
        return Ok(Judged::failed(
            AttemptOutcome::Truncated,
            vec!["Your answer was cut off at the answer token limit, so none of it was used. Send fewer or smaller edits: SEARCH/REPLACE blocks for changes instead of whole files.".into()],
            Vec::new(),
        ));
    }
    let edits = match parse_edits(&completion.text) {
        Ok(ParsedEdits::ClarificationNeeded { question, .. }) => {
            return Ok(asked(question));
        }
        Ok(ParsedEdits::Edits(edits)) => edits,
        Err(e) => {
            return Ok(Judged::failed(
                AttemptOutcome::ParseFailed,
                vec![e.feedback()],
                Vec::new(),
            ));
        }
    };
    let files: Vec<String> = edits.iter().map(|e| e.path.clone()).collect();
    let root = work_dir.to_path_buf();
    let policy = policy.clone();
    let applied = tokio::task::spawn_blocking(move || apply_edits(&root, &edits, &policy)).await;
    let applied = match applied {
        Ok(Ok(applied)) => applied,
        Ok(Err(e)) => {
            return Ok(Judged::failed(
                AttemptOutcome::ApplyFailed,
                vec![e.feedback()],
                files,
            ));
        }
        Err(e) => {
            return Ok(Judged::failed(
                AttemptOutcome::ApplyFailed,
                vec![format!(
                    "Applying the edits failed inside Gitkeeper ({e}); this is not your fault."
                )],
                files,
            ));
        }
    };
    if applied.is_empty() {
        return Ok(Judged::failed(
            AttemptOutcome::ApplyFailed,
            vec![unchanged_feedback(&files)],
            files,
        ));
    }
    let report = validator.validate(work_dir, &applied, level).await;
    if report.passed {
        return Ok(Judged::Passed { applied, report });
    }
    revert(work_dir, &applied).await?;
    let errors = report.errors();
    Ok(Judged::Failed {
        outcome: AttemptOutcome::ValidationFailed,
        errors: trim_errors(errors),
        files,
        rejected: Some(Box::new((applied, report))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feedback_loses_colour_codes() {
        let errors = trim_errors(vec!["npm test failed:\n\u{1b}[31m✗ greet\u{1b}[39m".into()]);
        assert_eq!(errors, ["npm test failed:\n✗ greet"]);
    }

    #[test]
    fn an_unchanged_answer_is_told_which_file_and_which_format() {
        let text = unchanged_feedback(&["src/greet.ts".into(), "src/greet.ts".into()]);
        assert!(
            text.starts_with("Your edits changed nothing: what you wrote for `src/greet.ts` is"),
            "{text}"
        );
        assert!(
            text.contains("SEARCH/REPLACE block") && text.contains("FILE block"),
            "{text}"
        );
    }
}
