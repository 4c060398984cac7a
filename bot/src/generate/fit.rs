//! Sizing a tier's prompts to its model's context window: the room a
//! prompt has is the window less the answer's `max_tokens` and the margin
//! the clients add for the model's own tokenizer; the context package is
//! trimmed ([`ContextPackage::trimmed`]) until the prompt built on it fits,
//! and a retry's previous answer and errors are cut when even a package
//! with no files leaves too little room.
//!
//! It must never grow a package (a tier's prompts only shrink it, so the
//! prompt's unchanged head stays in the model server's cache) nor leave a
//! cut unmarked: the model and the trail are told what was left out.

use std::fmt;

use gitkeeper::context::ContextPackage;
use serde::Serialize;

use crate::models::tokens::{count_messages, count_text};
use crate::models::{ModelSettings, prompt_margin};
use crate::prompts::Prompt;

/// What a model's window leaves for a prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    pub context_window: u32,
    /// Tokens kept free for the answer.
    pub max_tokens: u32,
}

impl Window {
    pub fn of(settings: &ModelSettings) -> Window {
        Window {
            context_window: settings.context_window,
            max_tokens: settings.max_tokens,
        }
    }

    /// The largest prompt (as counted locally) that leaves the answer its
    /// `max_tokens` once the clients' margin is added.
    pub fn max_prompt(self) -> u32 {
        let room = self.context_window.saturating_sub(self.max_tokens);
        let mut prompt = u32::try_from(u64::from(room.saturating_sub(64)) * 8 / 9).unwrap_or(0);
        while prompt > 0 && prompt.saturating_add(prompt_margin(prompt)) > room {
            prompt -= 1;
        }
        while prompt < room && (prompt + 1).saturating_add(prompt_margin(prompt + 1)) <= room {
            prompt += 1;
        }
        prompt
    }

    /// Room a trimmed package leaves in the prompt for a retry's previous
    /// answer and errors, so short retries keep the tier's package (and the
    /// server's prompt cache).
    pub fn retry_headroom(self) -> u32 {
        (self.max_prompt() / 8).min(1024)
    }
}

/// Tokens `prompt` takes, as the clients count it.
pub(crate) fn tokens(prompt: &Prompt) -> u32 {
    count_messages(&prompt.messages)
}

/// `package` with its prompt (`render`ed from it) when that fits `window`;
/// else the largest trim whose prompt fits with `headroom` tokens to spare;
/// `None` when not even the package without files fits.
pub(crate) fn fit_package<E>(
    package: &ContextPackage,
    window: Window,
    headroom: u32,
    mut render: impl FnMut(&ContextPackage) -> Result<Prompt, E>,
) -> Result<Option<(ContextPackage, Prompt)>, E> {
    let prompt = render(package)?;
    let used = tokens(&prompt);
    if used <= window.max_prompt() {
        return Ok(Some((package.clone(), prompt)));
    }
    let max = window.max_prompt().saturating_sub(headroom);
    let overhead = used.saturating_sub(u32::try_from(package.budget.used_tokens).unwrap_or(0));
    let mut budget = (max.saturating_sub(overhead) as usize).min(package.budget.max_tokens);
    // Per-part counts differ from the whole by a few tokens: settle in a few rounds.
    for _ in 0..6 {
        let trimmed = package.trimmed(budget);
        if !trimmed.fits() {
            return Ok(None);
        }
        let prompt = render(&trimmed)?;
        let used = tokens(&prompt);
        if used <= max {
            return Ok(Some((trimmed, prompt)));
        }
        budget = budget.saturating_sub((used - max) as usize + 8);
    }
    Ok(None)
}

/// The head of `text` within `max_tokens`, in whole lines, saying how much
/// of the `what` was left out; a one-line note when no useful head fits.
pub(crate) fn cut_text(text: &str, max_tokens: u32, what: &str) -> String {
    if count_text(text) <= max_tokens {
        return text.to_string();
    }
    let lines: Vec<&str> = text.lines().collect();
    let budget = max_tokens.saturating_sub(24);
    let mut used = 0u32;
    let mut kept = 0usize;
    for line in &lines {
        let t = count_text(line).saturating_add(1);
        if used.saturating_add(t) > budget {
            break;
        }
        used += t;
        kept += 1;
    }
    if kept == 0 {
        return format!("[the {what} is left out to fit the model's context window]");
    }
    format!(
        "{}\n[… {} more lines of the {what} left out to fit the model's context window …]",
        lines[..kept].join("\n"),
        lines.len() - kept
    )
}

/// `errors` within `max_tokens`: whole errors in order while they fit,
/// the next one cut, a note for the rest.
pub(crate) fn cut_errors(errors: &[String], max_tokens: u32) -> Vec<String> {
    let mut out = Vec::new();
    let mut left = max_tokens;
    for (i, error) in errors.iter().enumerate() {
        let t = count_text(error).saturating_add(2);
        if t <= left {
            out.push(error.clone());
            left -= t;
            continue;
        }
        if left > 48 {
            out.push(cut_text(error, left.saturating_sub(24), "error"));
        }
        let rest = errors.len() - i - usize::from(left > 48);
        if rest > 0 {
            out.push(format!(
                "[{rest} more error(s) left out to fit the model's context window]"
            ));
        }
        break;
    }
    out
}

/// The context package one tier's prompts carried, when it was trimmed to
/// fit the model's window (shown in the report and the attempt trail's summary).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageFit {
    /// 1-based tier of the route.
    pub tier: u32,
    /// The `[models.<name>]` entry.
    pub model: String,
    pub context_window: u32,
    /// Tokens of the package as sent.
    pub tokens: usize,
    /// Tokens of the package as built (`[context] max_tokens` at most).
    pub full_tokens: usize,
    /// Files left out to fit the window.
    pub left_out: Vec<String>,
}

impl PackageFit {
    pub(crate) fn of(
        tier: u32,
        model: &str,
        window: Window,
        sent: &ContextPackage,
        full: &ContextPackage,
    ) -> PackageFit {
        PackageFit {
            tier,
            model: model.to_string(),
            context_window: window.context_window,
            tokens: sent.budget.used_tokens,
            full_tokens: full.budget.used_tokens,
            left_out: sent.left_out_for_window().map(|o| o.path.clone()).collect(),
        }
    }
}

impl fmt::Display for PackageFit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "tier {} `{}` (context_window {}): context package of {} tokens (of {})",
            self.tier, self.model, self.context_window, self.tokens, self.full_tokens
        )?;
        if !self.left_out.is_empty() {
            write!(f, ", left out: {}", self.left_out.join(", "))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::ChatMessage;

    #[test]
    fn the_prompt_room_leaves_the_answer_and_the_client_margin() {
        let window = Window {
            context_window: 8192,
            max_tokens: 2048,
        };
        let max = window.max_prompt();
        assert!(max + prompt_margin(max) <= 8192 - 2048);
        assert!(max + 1 + prompt_margin(max + 1) > 8192 - 2048, "{max}");
        // The client that checks the window accepts a prompt of that size
        // with the whole answer budget.
        let plan = crate::models::plan_context("m", max, 2048, 8192).unwrap();
        assert_eq!(plan.num_predict, 2048);
        let none = Window {
            context_window: 2048,
            max_tokens: 2048,
        };
        assert_eq!(none.max_prompt(), 0);
    }

    #[test]
    fn a_cut_text_keeps_its_head_and_says_what_was_left_out() {
        let text: String = (0..200).map(|i| format!("line number {i}\n")).collect();
        let cut = cut_text(&text, 100, "previous answer");
        assert!(count_text(&cut) <= 100, "{}", count_text(&cut));
        assert!(cut.starts_with("line number 0\n"));
        assert!(cut.contains("more lines of the previous answer left out"));
        assert_eq!(cut_text("short", 100, "x"), "short");
        assert_eq!(
            cut_text(&text, 10, "previous answer"),
            "[the previous answer is left out to fit the model's context window]"
        );
    }

    #[test]
    fn cut_errors_keep_the_first_errors_whole() {
        let errors: Vec<String> = (0..5)
            .map(|i| format!("error {i}: {}", "detail ".repeat(40)))
            .collect();
        let one = count_text(&errors[0]) + 2;
        let cut = cut_errors(&errors, one * 2 + 10);
        assert_eq!(cut[..2], errors[..2]);
        assert_eq!(
            cut[2..],
            ["[3 more error(s) left out to fit the model's context window]"]
        );
        // Room for a useful head of the third: it is cut, not dropped.
        let lines: Vec<String> = (0..5)
            .map(|i| format!("error {i}:\n{}", "  at line ...\n".repeat(40)))
            .collect();
        let one = count_text(&lines[0]) + 2;
        let cut = cut_errors(&lines, one + one / 2);
        assert_eq!(cut[0], lines[0]);
        assert!(cut[1].starts_with("error 1:\n"), "{cut:?}");
        assert!(
            cut[1].contains("more lines of the error left out"),
            "{cut:?}"
        );
        assert_eq!(cut.len(), 3, "{cut:?}");
        assert_eq!(cut_errors(&errors, 10_000), errors);
    }

    #[test]
    fn fitting_trims_the_package_until_the_prompt_fits() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        let body: String = (0..300)
            .map(|i| format!("export const greeting{i} = \"hello {i}\";\n"))
            .collect();
        std::fs::write(dir.path().join("src/greet.ts"), "export const a = 1;\n").unwrap();
        std::fs::write(dir.path().join("src/greeting.ts"), &body).unwrap();
        let full = gitkeeper::context::build(
            dir.path(),
            "change the greeting in src/greet.ts",
            &gitkeeper::context::ContextOptions::default(),
        )
        .unwrap();
        let render = |pkg: &ContextPackage| -> Result<Prompt, std::convert::Infallible> {
            Ok(Prompt::new(vec![
                ChatMessage::system("system ".repeat(200)),
                ChatMessage::user(pkg.render_for_prompt()),
            ]))
        };
        let whole = tokens(&render(&full).unwrap());
        // A window roomy enough: the package as built.
        let roomy = Window {
            context_window: 32_768,
            max_tokens: 4096,
        };
        let (pkg, _) = fit_package(&full, roomy, 0, render).unwrap().unwrap();
        assert_eq!(pkg, full);
        // A window that holds half of it: trimmed, the named file kept.
        let small = Window {
            context_window: 4096 + whole / 2 + whole / 16 + 64,
            max_tokens: 4096,
        };
        let (pkg, prompt) = fit_package(&full, small, 100, render).unwrap().unwrap();
        assert!(tokens(&prompt) + 100 <= small.max_prompt());
        assert!(pkg.file("src/greet.ts").is_some());
        assert!(pkg.budget.used_tokens < full.budget.used_tokens);
        // A window that cannot hold even the system prompt.
        let tiny = Window {
            context_window: 4096 + 150,
            max_tokens: 4096,
        };
        assert!(fit_package(&full, tiny, 0, render).unwrap().is_none());
    }
}
