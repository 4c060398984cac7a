//! The prompts of one job, built from the templates: generation (system +
//! task), retry (the errors of the previous answer), checker, revision and
//! the PR description. Untrusted text enters only through the sanitizer's
//! framing; each prompt carries the SHA-256 of exactly what is sent.

use gitkeeper::context::ContextPackage;
use gitkeeper::edits::{FORMAT_DOC, WHOLE_FILE_DOC};
use gitkeeper::sanitize::{frame_as_comment, frame_as_task, sanitize_untrusted};
use minijinja::context;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{PromptError, Prompts, Template, languages_for};
use crate::models::{CLARIFICATION_MARKER, ChatMessage, EditFormat, Role};

/// The instructions a prompt embeds for `format`: the library's grammar
/// for the edit blocks the model's `[models.<name>] edit_format` names.
pub(super) fn edit_format_doc(format: EditFormat) -> &'static str {
    match format {
        EditFormat::SearchReplace => FORMAT_DOC,
        EditFormat::WholeFile => WHOLE_FILE_DOC,
    }
}

/// Messages ready to send, with the hash recorded in the attempt trail and
/// the commit trailer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    pub messages: Vec<ChatMessage>,
    /// Lowercase hex SHA-256 of the messages (see [`prompt_sha256`]).
    pub sha256: String,
}

impl Prompt {
    pub fn new(messages: Vec<ChatMessage>) -> Prompt {
        let sha256 = prompt_sha256(&messages);
        Prompt { messages, sha256 }
    }
}

/// SHA-256 over each message's role and content, length-prefixed so no two
/// different conversations hash alike.
pub fn prompt_sha256(messages: &[ChatMessage]) -> String {
    let mut hasher = Sha256::new();
    for m in messages {
        let role = m.role.as_str();
        hasher.update((role.len() as u64).to_le_bytes());
        hasher.update(role.as_bytes());
        hasher.update((m.content.len() as u64).to_le_bytes());
        hasher.update(m.content.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// What the first prompt of a tier is made from.
#[derive(Debug, Clone)]
pub struct GenerationPrompt<'a> {
    pub context: &'a ContextPackage,
    /// The issue title, untrusted.
    pub title: &'a str,
    /// The issue body, untrusted.
    pub body: &'a str,
    pub edit_format: EditFormat,
    /// Operator-written constraints (trusted), e.g. from repository config.
    pub constraints: &'a [String],
}

/// What an agent-mode attempt starts from: the task, the gitkeeper doc and
/// rules and a short repository map (a package without files: the agent
/// reads what it needs), and the checks it may run.
#[derive(Debug, Clone)]
pub struct AgentPrompt<'a> {
    pub context: &'a ContextPackage,
    /// The issue title, untrusted.
    pub title: &'a str,
    /// The issue body, untrusted.
    pub body: &'a str,
    /// For a revision: the pull request's diff and the maintainer's words (untrusted).
    pub revision: Option<(&'a str, &'a str)>,
    pub edit_format: EditFormat,
    /// Names `run_check` accepts.
    pub checks: &'a [String],
    /// Operator-written constraints (trusted).
    pub constraints: &'a [String],
}

/// What a retry adds: the previous answer and why it failed.
#[derive(Debug, Clone)]
pub struct RetryPrompt<'a> {
    /// 1-based number of the attempt that failed.
    pub attempt: u32,
    pub previous_answer: &'a str,
    /// Error texts addressed to the model, already trimmed.
    pub errors: &'a [String],
    /// Switch to whole-file answers from now on.
    pub whole_file: bool,
    /// Files the failed edits touched.
    pub files: &'a [String],
}

/// What the checker model reads.
#[derive(Debug, Clone)]
pub struct CheckerPrompt<'a> {
    pub title: &'a str,
    pub body: &'a str,
    pub diff: &'a str,
    pub validation: &'a str,
    pub min_confidence: f64,
}

/// What the explaining model reads.
#[derive(Debug, Clone)]
pub struct ExplainPrompt<'a> {
    pub title: &'a str,
    pub body: &'a str,
    pub diff: &'a str,
}

/// A revision request on a pull request.
#[derive(Debug, Clone)]
pub struct RevisePrompt<'a> {
    pub context: &'a ContextPackage,
    pub diff: &'a str,
    /// The maintainer's comment, untrusted.
    pub comment: &'a str,
    pub file: Option<&'a str>,
    pub line: Option<u64>,
    pub edit_format: EditFormat,
}

/// One row of the PR description's attempt table.
#[derive(Debug, Clone, Serialize)]
pub struct PrDescriptionAttempt {
    pub seq: u32,
    pub tier: String,
    pub model: String,
    pub outcome: String,
    pub tokens: u32,
    pub cost: String,
    /// Why it did not pass, one line (empty when it passed).
    pub note: String,
}

/// What a PR description says.
#[derive(Debug, Clone, Serialize)]
pub struct PrDescription {
    pub summary: String,
    pub diff_summary: String,
    pub files: Vec<String>,
    pub validation: String,
    pub route: String,
    pub attempts: Vec<PrDescriptionAttempt>,
    /// The folded "What the agent did" section (empty without agent tiers).
    pub agent: String,
    pub tokens: u64,
    pub cost: String,
    pub issue: Option<u64>,
}

impl Prompts {
    /// System and task messages for a tier answering in `edit_format`.
    pub fn generation(&self, input: &GenerationPrompt<'_>) -> Result<Prompt, PromptError> {
        log_removals("issue title", input.title);
        log_removals("issue body", input.body);
        let system = self.system(input.context, input.edit_format)?;
        let task = self.render(
            Template::Task,
            context! {
                context => input.context.render_for_prompt(),
                task => frame_as_task(input.title, input.body),
                constraints => input.constraints,
                clarification_marker => CLARIFICATION_MARKER,
            },
        )?;
        Ok(Prompt::new(vec![
            ChatMessage::system(system),
            ChatMessage::user(task),
        ]))
    }

    /// System and task messages of an agent-mode attempt (`agent.md`).
    pub fn agent(&self, input: &AgentPrompt<'_>) -> Result<Prompt, PromptError> {
        log_removals("issue title", input.title);
        log_removals("issue body", input.body);
        let package = input.context;
        let (language_rules, protected) = self.rules_of(package)?;
        let system = self.render(
            Template::Agent,
            context! {
                uses_prisma => package.project.uses(gitkeeper::context::project::Tech::Prisma),
                protected_paths => protected,
                language_rules => language_rules,
                edit_format_doc => edit_format_doc(input.edit_format),
                checks => input.checks,
            },
        )?;
        let mut task = format!(
            "# Project context\n\n{}\n\n# Task\n\n{}",
            package.render_for_prompt(),
            frame_as_task(input.title, input.body)
        );
        if let Some((diff, comment)) = input.revision {
            log_removals("comment", comment);
            task.push_str(&format!(
                "\n\n# Revision requested on the pull request\n\nThe pull request's change so far:\n\n```diff\n{diff}\n```\n\n{}",
                frame_as_comment(comment)
            ));
        }
        if !input.constraints.is_empty() {
            task.push_str("\n\n## Constraints\n");
            for c in input.constraints {
                task.push_str(&format!("\n- {c}"));
            }
        }
        task.push_str("\n\nStart by looking at the files the task concerns; call `finish` when the change is complete.");
        Ok(Prompt::new(vec![
            ChatMessage::system(system),
            ChatMessage::user(task),
        ]))
    }

    /// `base` (system + task) followed by the failed answer and the errors.
    pub fn retry(&self, base: &Prompt, input: &RetryPrompt<'_>) -> Result<Prompt, PromptError> {
        let feedback = self.render(
            Template::Retry,
            context! {
                attempt => input.attempt,
                errors => input.errors,
                whole_file => input.whole_file,
                files => input.files,
                edit_format_doc => edit_format_doc(EditFormat::WholeFile),
                clarification_marker => CLARIFICATION_MARKER,
            },
        )?;
        let mut messages: Vec<ChatMessage> = base
            .messages
            .iter()
            .take_while(|m| m.role != Role::Assistant)
            .cloned()
            .collect();
        messages.push(ChatMessage::assistant(input.previous_answer));
        messages.push(ChatMessage::user(feedback));
        Ok(Prompt::new(messages))
    }

    /// The checker's single user message.
    pub fn checker(&self, input: &CheckerPrompt<'_>) -> Result<Prompt, PromptError> {
        let text = self.render(
            Template::Checker,
            context! {
                task => frame_as_task(input.title, input.body),
                diff => input.diff,
                validation => input.validation,
                min_confidence => input.min_confidence,
            },
        )?;
        Ok(Prompt::new(vec![ChatMessage::user(text)]))
    }

    /// System and revision messages for a comment on a pull request.
    pub fn revise(&self, input: &RevisePrompt<'_>) -> Result<Prompt, PromptError> {
        log_removals("comment", input.comment);
        let system = self.system(input.context, input.edit_format)?;
        let text = self.render(
            Template::Revise,
            context! {
                diff => input.diff,
                request => frame_as_comment(input.comment),
                file => input.file,
                line => input.line,
            },
        )?;
        let context_text = input.context.render_for_prompt();
        Ok(Prompt::new(vec![
            ChatMessage::system(system),
            ChatMessage::user(format!("# Project context\n\n{context_text}\n\n{text}")),
        ]))
    }

    /// The single user message asking for an explanation of a pull request.
    pub fn explain(&self, input: &ExplainPrompt<'_>) -> Result<Prompt, PromptError> {
        let text = self.render(
            Template::Explain,
            context! {
                task => frame_as_task(input.title, input.body),
                diff => input.diff,
            },
        )?;
        Ok(Prompt::new(vec![ChatMessage::user(text)]))
    }

    /// The pull request body.
    pub fn pr_description(&self, input: &PrDescription) -> Result<String, PromptError> {
        self.render(Template::PrDescription, input)
    }

    /// The language rules and protected paths every system prompt states.
    fn rules_of<'p>(
        &self,
        package: &'p ContextPackage,
    ) -> Result<(Vec<String>, Vec<&'p str>), PromptError> {
        let language_rules = languages_for(&package.project)
            .into_iter()
            .map(|l| self.render(l.template(), context! {}))
            .collect::<Result<Vec<_>, _>>()?;
        let protected: Vec<&str> = package
            .gitkeeper_doc
            .rules
            .protected
            .iter()
            .map(|r| r.glob.as_str())
            .collect();
        Ok((language_rules, protected))
    }

    fn system(&self, package: &ContextPackage, format: EditFormat) -> Result<String, PromptError> {
        let (language_rules, protected) = self.rules_of(package)?;
        self.render(
            Template::System,
            context! {
                uses_prisma => package.project.uses(gitkeeper::context::project::Tech::Prisma),
                clarification_marker => CLARIFICATION_MARKER,
                protected_paths => protected,
                language_rules => language_rules,
                edit_format_doc => edit_format_doc(format),
            },
        )
    }
}

/// Say (without the text itself) what the sanitizer removed.
fn log_removals(what: &str, text: &str) {
    let removed = sanitize_untrusted(text).removed;
    if !removed.is_empty() {
        let kinds: Vec<String> = removed.iter().map(|r| format!("{:?}", r.kind)).collect();
        tracing::info!(what, count = removed.len(), kinds = ?kinds, "removed hidden content from untrusted text");
    }
}
