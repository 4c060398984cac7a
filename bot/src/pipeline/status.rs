//! The job's one status comment, edited in place as the work goes on:
//! picked up → reading the repository → generating with <model> (attempt
//! n/N) → validating → opened #PR / a question / failed. Finished steps stay
//! listed with a tick so the maintainer sees the whole path at a glance.
//!
//! Must never: post a second status comment for the same job (the comment
//! is found again by the job's marker after a restart).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, watch};

use crate::generate::{Generation, Progress};
use crate::github::{GithubError, Installation};
use crate::ids::{CommentId, IssueNumber};
use crate::intent::RepoRef;
use crate::markers::for_comment;
use crate::publish::{agent_section, attempt_table, one_line, route_section};
use crate::route::Route;

/// How often progress from the generation loop is written to GitHub at most.
const PROGRESS_EVERY: Duration = Duration::from_millis(750);

/// One comment on an issue or pull request, rewritten at each step.
#[derive(Clone)]
pub struct StatusComment {
    inner: Arc<Inner>,
}

struct Inner {
    github: Installation,
    repo: RepoRef,
    number: IssueNumber,
    marker: String,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    id: Option<CommentId>,
    headline: String,
    /// A line kept under every headline, to the end.
    note: Option<String>,
    /// Finished steps and whether each failed.
    done: Vec<(String, bool)>,
    current: Option<String>,
    last_written: Option<String>,
}

impl StatusComment {
    pub fn new(github: Installation, repo: RepoRef, number: IssueNumber, marker: String) -> Self {
        Self {
            inner: Arc::new(Inner {
                github,
                repo,
                number,
                marker,
                state: Mutex::new(State::default()),
            }),
        }
    }

    /// Set the headline (the first, bold line).
    pub async fn headline(&self, text: &str) -> Result<(), GithubError> {
        let mut state = self.inner.state.lock().await;
        state.headline = text.to_string();
        self.write(&mut state).await
    }

    /// Keep `text` under the headline from the next write to the last.
    pub async fn note(&self, text: String) {
        self.inner.state.lock().await.note = Some(text);
    }

    /// Show `step` as in progress (the previous one, if any, is finished).
    pub async fn step(&self, step: &str) -> Result<(), GithubError> {
        let mut state = self.inner.state.lock().await;
        if let Some(previous) = state.current.take() {
            state.done.push((previous, false));
        }
        state.current = Some(step.to_string());
        self.write(&mut state).await
    }

    /// Show `text` as a new step, or in place of the current one.
    async fn show(&self, text: &str, new_step: bool) -> Result<(), GithubError> {
        if new_step {
            return self.step(text).await;
        }
        let mut state = self.inner.state.lock().await;
        state.current = Some(text.to_string());
        self.write(&mut state).await
    }

    /// Finish with `headline` and `details` below the finished steps.
    pub async fn finish(&self, headline: &str, details: &str) -> Result<(), GithubError> {
        self.conclude(headline, details, false).await
    }

    /// Like [`StatusComment::finish`], marking the step in progress as the one that failed.
    pub async fn fail(&self, headline: &str, details: &str) -> Result<(), GithubError> {
        self.conclude(headline, details, true).await
    }

    /// [`StatusComment::fail`] when `failed`, else [`StatusComment::finish`].
    pub async fn conclude(
        &self,
        headline: &str,
        details: &str,
        failed: bool,
    ) -> Result<(), GithubError> {
        let mut state = self.inner.state.lock().await;
        if let Some(previous) = state.current.take() {
            state.done.push((previous, failed));
        }
        state.headline = headline.to_string();
        let text = format!("{}\n\n{}", render(&state), details.trim());
        self.write_text(&mut state, text.trim_end()).await
    }

    async fn write(&self, state: &mut State) -> Result<(), GithubError> {
        let text = render(state);
        self.write_text(state, &text).await
    }

    async fn write_text(&self, state: &mut State, text: &str) -> Result<(), GithubError> {
        if state.last_written.as_deref() == Some(text) {
            return Ok(());
        }
        let inner = &self.inner;
        let full = format!("{text}\n\n{}", inner.marker);
        let comment = match state.id {
            Some(id) => inner.github.update_comment(&inner.repo, id, &full).await?,
            None => {
                inner
                    .github
                    .upsert_comment(&inner.repo, inner.number, &inner.marker, text)
                    .await?
            }
        };
        state.id = Some(comment.id);
        state.last_written = Some(text.to_string());
        Ok(())
    }

    /// Follow the generation loop's progress until the sender is dropped,
    /// writing at most every [`PROGRESS_EVERY`]. Errors are logged: progress
    /// is a courtesy, the job goes on without it.
    pub fn follow(&self, mut progress: watch::Receiver<Progress>) -> tokio::task::JoinHandle<()> {
        let status = self.clone();
        tokio::spawn(async move {
            // The first news ends the step before it (reading the
            // repository); later calls and validations replace each other
            // on one line. The channel keeps only the latest news, so the
            // first one seen may already be a validation.
            let mut first = true;
            while progress.changed().await.is_ok() {
                let now = progress.borrow_and_update().clone();
                let result = match &now {
                    Progress::Starting => Ok(()),
                    Progress::Calling {
                        model,
                        tier,
                        attempt,
                        of,
                    } => {
                        let text = format!(
                            "Generating with `{model}` (tier {tier}, attempt {attempt}/{of})"
                        );
                        status.show(&text, std::mem::take(&mut first)).await
                    }
                    Progress::Agent { model, tier, did } => {
                        let text = format!("`{model}` works as an agent (tier {tier}): {did}");
                        status.show(&text, std::mem::take(&mut first)).await
                    }
                    Progress::Validating { model } => {
                        let text = format!(
                            "Validating `{model}`'s change (static checks, then the repository's own commands)"
                        );
                        status.show(&text, std::mem::take(&mut first)).await
                    }
                };
                if let Err(e) = result {
                    tracing::warn!(error = %e, "cannot update the status comment; the job goes on");
                }
                tokio::time::sleep(PROGRESS_EVERY).await;
            }
        })
    }
}

/// The report when every tier failed: the last error, the route and the attempts.
pub fn failure_report(route: &Route, g: &Generation, last_error: Option<&str>) -> String {
    let mut text = String::new();
    if let Some(e) = last_error {
        text.push_str(&format!(
            "The last error: {}\n\n",
            one_line(&for_comment(e))
        ));
    }
    text.push_str(&route_section(route, g, None));
    text.push_str("\n\n");
    text.push_str(&attempt_table(g));
    let agent = agent_section(g);
    if !agent.is_empty() {
        text.push_str("\n\n");
        text.push_str(&agent);
    }
    text
}

fn render(state: &State) -> String {
    let mut text = format!("{}\n", state.headline);
    if let Some(note) = &state.note {
        text.push_str(&format!("\n{note}\n"));
    }
    if !state.done.is_empty() || state.current.is_some() {
        text.push('\n');
    }
    for (step, failed) in &state.done {
        let mark = if *failed { "❌" } else { "✅" };
        text.push_str(&format!("- {mark} {step}\n"));
    }
    if let Some(step) = &state.current {
        text.push_str(&format!("- ⏳ {step}…\n"));
    }
    text.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finished_steps_are_ticked_and_the_current_one_is_pending() {
        let state = State {
            headline: "🛠️ **Gitkeeper is working on this.**".into(),
            done: vec![
                ("Picked up".into(), false),
                ("Read the repository".into(), false),
            ],
            current: Some("Generating with `qwen2.5-coder:14b` (tier 1, attempt 2/3)".into()),
            ..State::default()
        };
        assert_eq!(
            render(&state),
            "🛠️ **Gitkeeper is working on this.**\n\n- ✅ Picked up\n- ✅ Read the repository\n- ⏳ Generating with `qwen2.5-coder:14b` (tier 1, attempt 2/3)…"
        );
        let failed = State {
            headline: "**No.**".into(),
            done: vec![("Read".into(), false), ("Validating".into(), true)],
            ..State::default()
        };
        assert_eq!(render(&failed), "**No.**\n\n- ✅ Read\n- ❌ Validating");
        let bare = State {
            headline: "**Done.**".into(),
            ..State::default()
        };
        assert_eq!(render(&bare), "**Done.**");
    }
}
