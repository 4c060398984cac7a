//! Entry points for the `cargo fuzz` targets `webhook` and `command` in
//! `fuzz/`, and for the bounded property tests that run the same functions
//! in CI. Each takes raw bytes and checks what the front door promises about
//! hostile input; it panics only when a promise is broken. The bot never
//! calls these.

use serde_json::Value;

use super::{command, events, signature};
use crate::config::TriggerSettings;
use crate::intent::{Command, Intent};

/// The command word the fuzzers address (the default `[trigger] command`).
const PREFIX: &str = "/gitkeeper";
/// Any secret: the properties hold for all of them.
const SECRET: &[u8] = b"fuzz-webhook-secret";

/// A delivery: the first line is the `X-GitHub-Event` header (and, read as
/// an `X-Hub-Signature-256` header, must never pass for a forged one), the
/// rest the body. The signature check accepts exactly GitHub's signature of
/// the body; parsing never panics, is deterministic, ignores unknown events,
/// never turns a bot's delivery into work, and yields a command only from a
/// comment on an issue that starts with the command word.
pub fn webhook(data: &[u8]) {
    let (head, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let event = String::from_utf8_lossy(head);
    let event = event.trim();
    check_signature(body, event);

    let trigger = TriggerSettings::default();
    let parsed = events::parse(event, body, &trigger);
    let again = events::parse(event, body, &trigger);
    match (&parsed, &again) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "the same delivery parsed two ways"),
        (Err(_), Err(_)) => {}
        _ => panic!("the same delivery parsed once and failed once"),
    }
    let Ok(parsed) = parsed else {
        return;
    };
    const HANDLED: &[&str] = &[
        "ping",
        "issues",
        "issue_comment",
        "pull_request_review_comment",
        "pull_request_review",
        "pull_request",
        "installation",
        "installation_repositories",
    ];
    if !HANDLED.contains(&event) {
        assert!(
            matches!(parsed, events::Parsed::Ignored(_)),
            "unknown event `{event}` gave {parsed:?}"
        );
        return;
    }
    let events::Parsed::Work(intent) = &parsed else {
        return;
    };
    assert!(
        !intent.sender().login.ends_with("[bot]"),
        "a bot's delivery became work: {intent:?}"
    );
    // Lossy: serde skips the fields the bot does not read without checking
    // their UTF-8, so a payload the parser accepted may hold invalid bytes
    // there; the comment body itself was read as a string, so it is intact.
    let payload: Value =
        serde_json::from_str(&String::from_utf8_lossy(body)).unwrap_or(Value::Null);
    match intent {
        Intent::Generate { .. } => assert!(
            event == "issues" || event == "issue_comment",
            "`{event}` started generation"
        ),
        Intent::Revise { .. } => assert!(
            event == "pull_request_review" || event == "pull_request_review_comment",
            "`{event}` asked for a revision"
        ),
        Intent::Command { command, .. } => {
            assert_eq!(event, "issue_comment", "`{event}` gave a command");
            let text = payload
                .pointer("/comment/body")
                .and_then(Value::as_str)
                .unwrap_or_default();
            assert!(
                addressed(&trigger.command, text),
                "a comment not starting with {} gave {command:?}",
                trigger.command
            );
            assert_eq!(
                command::parse(&trigger.command, text).as_ref(),
                Some(command),
                "the command differs from the comment's"
            );
        }
    }
}

/// The signature check against `body`: GitHub's signature passes, any change
/// to it or to the secret fails, and `forged` passes only if it is GitHub's.
fn check_signature(body: &[u8], forged: &str) {
    let genuine = signature::sign(SECRET, body);
    assert!(
        signature::verify(SECRET, body, Some(&genuine)),
        "GitHub's own signature was refused"
    );
    assert!(
        !signature::verify(b"another secret", body, Some(&genuine)),
        "a signature under another secret passed"
    );
    let mut tampered = genuine.clone().into_bytes();
    if let Some(last) = tampered.last_mut() {
        *last = if *last == b'0' { b'1' } else { b'0' };
    }
    let tampered = String::from_utf8_lossy(&tampered);
    assert!(
        !signature::verify(SECRET, body, Some(&tampered)),
        "a changed signature passed"
    );
    if signature::verify(SECRET, body, Some(forged)) {
        assert_eq!(
            forged.trim().to_ascii_lowercase(),
            genuine,
            "a header that is not the body's signature passed"
        );
    }
}

/// True when `text` starts (after leading whitespace) with `prefix` as a word.
fn addressed(prefix: &str, text: &str) -> bool {
    text.trim_start()
        .strip_prefix(prefix)
        .is_some_and(|rest| rest.chars().next().is_none_or(char::is_whitespace))
}

/// The command grammar: a command comes only from text addressed to the bot
/// (and never once anything precedes the command word); what it yields is
/// well formed; and a command written canonically parses back to itself.
pub fn command(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let parsed = command::parse(PREFIX, &text);
    assert_eq!(
        parsed.is_some(),
        addressed(PREFIX, &text),
        "a command was read from text not addressed to the bot, or missed in text that is"
    );
    assert_eq!(
        command::parse(PREFIX, &format!("x{text}")),
        None,
        "text with something before the command word gave a command"
    );
    let Some(parsed) = parsed else {
        return;
    };
    match &parsed {
        Command::Revise { instructions } => assert!(
            !instructions.is_empty() && instructions.trim() == instructions,
            "revise instructions {instructions:?} are blank or untrimmed"
        ),
        Command::Help {
            unknown: Some(word),
        } => assert!(
            word.chars().count() <= 40,
            "unknown word {word:?} is not cut"
        ),
        _ => {}
    }
    if let Some(canonical) = render(&parsed) {
        assert_eq!(
            command::parse(PREFIX, &canonical).as_ref(),
            Some(&parsed),
            "{canonical:?} does not parse back to {parsed:?}"
        );
    }
}

/// How a maintainer writes `command`; `None` for help on an unknown word.
fn render(command: &Command) -> Option<String> {
    let word = match command {
        Command::Revise { instructions } => return Some(format!("{PREFIX} revise {instructions}")),
        Command::Retry => "retry",
        Command::Escalate => "escalate",
        Command::Approve => "approve",
        Command::Explain => "explain",
        Command::Cancel => "cancel",
        Command::Help { unknown: None } => "help",
        Command::Help { unknown: Some(_) } => return None,
    };
    Some(format!("{PREFIX} {word}"))
}

#[cfg(test)]
mod tests;
