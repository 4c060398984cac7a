//! `/gitkeeper explain` on a Gitkeeper pull request: a model reads the task
//! and the pull request's diff and explains the change in a comment. Nothing
//! is committed. The model is `[route] fallback_model` (the local model by
//! default); a paid one is used only when no approval is required.
//!
//! Must never: let the model's text mention people or carry hidden markers
//! into the comment.

use super::status::StatusComment;
use super::{Outcome, Pipeline, PipelineError};
use crate::github::Installation;
use crate::intent::Target;
use crate::markers::for_comment;
use crate::models::{CompletionRequest, EditFormat};
use crate::prompts::ExplainPrompt;
use crate::publish::issue_of;
use crate::queue::{Job, now_ms};
use crate::trail::{Attempt, AttemptOutcome, AttemptRole};

/// Characters of diff a model is shown at most.
const MAX_DIFF_CHARS: usize = 60_000;
/// Tokens an explanation may take.
const MAX_ANSWER_TOKENS: u32 = 1024;

impl Pipeline {
    pub(super) async fn explain(
        &self,
        gh: &Installation,
        job: &Job,
        status: &StatusComment,
        target: Target,
    ) -> Result<Outcome, PipelineError> {
        let repo = job.intent.repo();
        let pull = match target {
            Target::PullRequest(n) => Some(gh.pull(repo, n).await?),
            Target::Issue(n) => gh.open_pull_for_issue(repo, n).await?,
        };
        let Some((pull, issue_number)) = pull.and_then(|p| issue_of(&p).map(|i| (p, i))) else {
            status
                .finish(
                    "🤔 **There is no Gitkeeper pull request here to explain.**",
                    "`explain` works on a pull request Gitkeeper opened, or on the issue it is for.",
                )
                .await?;
            return Ok(Outcome::Done);
        };
        let name = self.settings.route.fallback_model.clone();
        let models = self.models();
        let Some(settings) = models.settings(&name).cloned() else {
            status
                .finish(
                    "⚠️ **No model to explain with.**",
                    &format!("`[route] fallback_model` names `{name}`, which is not configured: add [models.{name}] to gitkeeper.toml."),
                )
                .await?;
            return Ok(Outcome::Done);
        };
        if crate::route::is_paid(&settings) && self.settings.route.require_approval_for_cloud {
            status
                .finish(
                    "⏸️ **Explaining needs a paid model.**",
                    &format!("`{name}` is paid and `[route] require_approval_for_cloud` is set; the pull request description explains the route, attempts and validation."),
                )
                .await?;
            return Ok(Outcome::Done);
        }
        let (checkout, diff) = self.read_pull(job, status, &pull).await?;
        // The pull request's own prompt overrides apply, like for any task.
        let prompts = self.prompts(checkout.dir());
        super::work::cleanup(checkout).await;
        let prompts = prompts?;
        let diff: String = diff.chars().take(MAX_DIFF_CHARS).collect();
        let issue = gh.issue(repo, issue_number).await?;
        let prompt = prompts.explain(&ExplainPrompt {
            title: &issue.title,
            body: issue.body.as_deref().unwrap_or(""),
            diff: &diff,
        })?;
        status
            .step(&format!("Asking `{name}` to explain the change"))
            .await?;
        let request = CompletionRequest::new(prompt.messages.clone())
            .with_max_tokens(settings.max_tokens.min(MAX_ANSWER_TOKENS));
        let answer = match models.backend(&name) {
            Ok(backend) => backend.complete(&request).await.map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        let (completion, error) = match answer {
            Ok(c) => (Some(c), None),
            Err(e) => (None, Some(e)),
        };
        let usage = completion.as_ref().map(|c| c.usage).unwrap_or_default();
        let attempt = Attempt {
            seq: 1,
            tier: 0,
            role: AttemptRole::Explainer,
            model: name.clone(),
            served_model: completion
                .as_ref()
                .map(|c| c.model.clone())
                .unwrap_or_default(),
            edit_format: EditFormat::WholeFile,
            prompt_sha256: prompt.sha256.clone(),
            prompt_tokens: usage.prompt_tokens,
            completion_tokens: usage.completion_tokens,
            usage_estimated: usage.estimated,
            cost_usd: completion.as_ref().map_or(0.0, |c| c.cost_usd),
            latency_ms: completion.as_ref().map_or(0, |c| {
                u64::try_from(c.latency.as_millis()).unwrap_or(u64::MAX)
            }),
            validation_ms: 0,
            outcome: if completion.is_some() {
                AttemptOutcome::Passed
            } else {
                AttemptOutcome::ModelFailed
            },
            error: error.clone(),
            created_at: now_ms(),
        };
        self.store
            .record_attempt(job.id, &repo.full_name(), &attempt)
            .await?;
        match completion {
            Some(c) => {
                status
                    .finish(
                        &format!("💬 **What #{} does**", pull.number),
                        &format!(
                            "{}\n\n<sub>Written by `{name}` from the task and the pull request's diff ({} tokens in, {} out). The pull request description has the route, attempts and validation.</sub>",
                            for_comment(c.text.trim()),
                            usage.prompt_tokens,
                            usage.completion_tokens
                        ),
                    )
                    .await?;
                Ok(Outcome::Done)
            }
            None => {
                let error = error.unwrap_or_default();
                status
                    .fail(
                        "⚠️ **The explanation could not be written.**",
                        &format!("`{name}` did not answer: {error}"),
                    )
                    .await?;
                Ok(Outcome::Failed(format!("{name} did not answer: {error}")))
            }
        }
    }
}
