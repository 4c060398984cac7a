//! `/gitkeeper explain` on a Gitkeeper pull request: a model reads the task
//! and the pull request's diff and explains the change in a comment. Nothing
//! is committed. The model is `[route] fallback_model` (the local model by
//! default); a paid one is used only when no approval is required, and
//! only through the cost guard like every other call. Its cost is recorded
//! with the job's attempts, where the repository's daily spend is counted.
//!
//! Must never: let the model's text mention people or carry hidden markers
//! into the comment; send a call whose worst case could pass
//! `[route] max_usd_per_task` or the repository's daily budget.

use super::status::StatusComment;
use super::{Outcome, Pipeline, PipelineError};
use crate::generate::CostGuard;
use crate::github::Installation;
use crate::intent::Target;
use crate::markers::for_comment;
use crate::models::{Completion, CompletionRequest, EditFormat};
use crate::prompts::ExplainPrompt;
use crate::publish::issue_of;
use crate::queue::{Job, now_ms};
use crate::route::privacy::{LocalOnly, diff_paths, list, provider};
use crate::trail::{Attempt, AttemptOutcome, AttemptRole, CallSlot};

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
        let prompts = self.prompts(checkout.dir()).await;
        // `.github/gitkeeper.yml` is protected: no model edit changed it on the branch.
        let repo_local_only = gitkeeper::validate::repo_local_only_paths(checkout.dir());
        super::work::cleanup(checkout).await;
        let prompts = prompts?;
        let diff: String = diff.chars().take(MAX_DIFF_CHARS).collect();
        let paths = diff_paths(&diff);
        let paid = crate::route::is_paid(&settings);
        let operator = &self.settings.privacy.local_only_paths;
        let local_only = repo_local_only
            .ok()
            .and_then(|repo| LocalOnly::new(operator.iter().chain(&repo)).ok());
        let private = match &local_only {
            Some(l) => l.matching(paths.iter().map(String::as_str)),
            // Unreadable patterns: every path counts as local-only (fail closed).
            None => paths.clone(),
        };
        if paid && !private.is_empty() {
            status
                .finish(
                    "🔒 **The change was not sent to a paid model.**",
                    &format!("It touches local-only paths ({}), which never go to a paid model, and `[route] fallback_model` (`{name}`) is paid. Set `fallback_model` to a local model to explain such changes.", list(&private)),
                )
                .await?;
            return Ok(Outcome::Done);
        }
        let provider = provider(&settings);
        let sent = Sent {
            provider: &provider,
            paid,
            paths: &paths,
        };
        let issue = gh.issue(repo, issue_number).await?;
        let prompt = prompts.explain(&ExplainPrompt {
            title: &issue.title,
            body: issue.body.as_deref().unwrap_or(""),
            diff: &diff,
        })?;
        let max_tokens = settings.max_tokens.min(MAX_ANSWER_TOKENS);
        // Like every model call: never sent when its worst case could pass a budget.
        let prompt_tokens = crate::models::tokens::count_messages(&prompt.messages);
        let guard = CostGuard::new(
            self.settings.route.max_usd_per_task,
            self.settings.route.max_usd_per_repo_per_day,
            self.spent_today(repo).await?,
        );
        if let Some(refusal) =
            guard.refusal(CostGuard::worst_case(&settings, prompt_tokens, max_tokens))
        {
            tracing::warn!(model = %name, %refusal, "cost guard refused the explanation");
            let attempt = explainer_attempt(
                &name,
                &prompt.sha256,
                &sent,
                None,
                AttemptOutcome::SkippedBudget,
                Some(refusal.clone()),
            );
            self.store
                .record_attempt(job.id, &repo.full_name(), &attempt)
                .await?;
            status
                .finish(
                    "💸 **The explanation was not asked for: it could pass the budget.**",
                    &format!(
                        "`{name}` was not called: {refusal}. To allow it, raise `[route] max_usd_per_task` or `[route] max_usd_per_repo_per_day` in gitkeeper.toml, or set `[route] fallback_model` to a local model; the daily budget starts again at 00:00 UTC. The pull request description has the route, attempts and validation."
                    ),
                )
                .await?;
            return Ok(Outcome::Failed(format!(
                "the cost guard refused {name}: {refusal}"
            )));
        }
        status
            .step(&format!("Asking `{name}` to explain the change"))
            .await?;
        let request = CompletionRequest::new(prompt.messages.clone()).with_max_tokens(max_tokens);
        let answer = match models.backend(&name) {
            Ok(backend) => backend.complete(&request).await.map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        let (completion, error) = match answer {
            Ok(c) => (Some(c), None),
            Err(e) => (None, Some(e)),
        };
        let usage = completion.as_ref().map(|c| c.usage).unwrap_or_default();
        let outcome = if completion.is_some() {
            AttemptOutcome::Passed
        } else {
            AttemptOutcome::ModelFailed
        };
        let attempt = explainer_attempt(
            &name,
            &prompt.sha256,
            &sent,
            completion.as_ref(),
            outcome,
            error.clone(),
        );
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

/// Where the explainer's prompt goes, for the ledger.
struct Sent<'a> {
    provider: &'a str,
    paid: bool,
    /// The files of the pull request's diff.
    paths: &'a [String],
}

/// The explainer's call as an attempt of the job: its cost is counted
/// toward the repository's day with every other attempt's.
fn explainer_attempt(
    model: &str,
    prompt_sha256: &str,
    sent: &Sent<'_>,
    completion: Option<&Completion>,
    outcome: AttemptOutcome,
    error: Option<String>,
) -> Attempt {
    let slot = CallSlot {
        seq: 1,
        tier: 0,
        role: AttemptRole::Explainer,
        model,
        edit_format: EditFormat::WholeFile,
        prompt_sha256,
        provider: sent.provider,
        paid: sent.paid,
        sent_paths: sent.paths,
    };
    Attempt::of_call(slot, completion, outcome, error, now_ms())
}
