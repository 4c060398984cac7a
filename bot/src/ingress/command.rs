//! The `/gitkeeper <command>` grammar. Unknown words become `Help` so the
//! maintainer is told what exists.

use crate::intent::Command;

/// Parse `text` when it starts with `prefix` (e.g. `/gitkeeper`); `None` when
/// the comment is not addressed to the bot at all.
pub fn parse(prefix: &str, text: &str) -> Option<Command> {
    let text = text.trim_start();
    let rest = text.strip_prefix(prefix)?;
    // `/gitkeeperx` is not our command; `/gitkeeper` alone or followed by space is.
    if rest.chars().next().is_some_and(|c| !c.is_whitespace()) {
        return None;
    }
    let rest = rest.trim_start();
    let (word, args) = match rest.find(char::is_whitespace) {
        Some(i) => (&rest[..i], rest[i..].trim()),
        None => (rest, ""),
    };
    let command = match word.to_ascii_lowercase().as_str() {
        "revise" if !args.is_empty() => Command::Revise {
            instructions: args.to_string(),
        },
        "revise" => Command::Help {
            unknown: Some("revise (with no instructions)".into()),
        },
        "retry" => Command::Retry,
        "escalate" => Command::Escalate,
        "approve" => Command::Approve,
        "explain" => Command::Explain,
        "cancel" | "stop" => Command::Cancel,
        "help" | "" => Command::Help { unknown: None },
        other => Command::Help {
            unknown: Some(other.chars().take(40).collect()),
        },
    };
    Some(command)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const P: &str = "/gitkeeper";

    #[test]
    fn parses_each_command() {
        assert_eq!(parse(P, "/gitkeeper retry"), Some(Command::Retry));
        assert_eq!(
            parse(P, "  /gitkeeper   Escalate\n"),
            Some(Command::Escalate)
        );
        assert_eq!(parse(P, "/gitkeeper approve"), Some(Command::Approve));
        assert_eq!(parse(P, "/gitkeeper explain"), Some(Command::Explain));
        assert_eq!(parse(P, "/gitkeeper cancel"), Some(Command::Cancel));
        assert_eq!(
            parse(P, "/gitkeeper help"),
            Some(Command::Help { unknown: None })
        );
        assert_eq!(
            parse(P, "/gitkeeper"),
            Some(Command::Help { unknown: None })
        );
    }

    #[test]
    fn revise_keeps_multiline_instructions() {
        assert_eq!(
            parse(P, "/gitkeeper revise use the `User` type\nand add a test"),
            Some(Command::Revise {
                instructions: "use the `User` type\nand add a test".into()
            })
        );
    }

    #[test]
    fn revise_without_instructions_gets_help() {
        assert!(matches!(
            parse(P, "/gitkeeper revise   "),
            Some(Command::Help { unknown: Some(_) })
        ));
    }

    #[test]
    fn unknown_word_gets_help_naming_it() {
        assert_eq!(
            parse(P, "/gitkeeper deploy now"),
            Some(Command::Help {
                unknown: Some("deploy".into())
            })
        );
    }

    #[test]
    fn other_text_is_not_a_command() {
        assert_eq!(parse(P, "thanks! /gitkeeper retry"), None);
        assert_eq!(parse(P, "/gitkeeperx retry"), None);
        assert_eq!(parse(P, "LGTM"), None);
        assert_eq!(parse("/bot", "/gitkeeper retry"), None);
    }

    proptest! {
        #[test]
        fn never_panics(text in ".*") {
            let _ = parse(P, &text);
        }

        #[test]
        fn prefixed_text_always_parses(word in "[a-z]{0,12}", rest in "[ -~]{0,40}") {
            let text = format!("/gitkeeper {word} {rest}");
            prop_assert!(parse(P, &text).is_some());
        }
    }
}
