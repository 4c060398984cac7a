//! The `webhook` and `command` fuzz targets as bounded property tests: every
//! committed corpus file, then mutations of them and arbitrary bytes.

use gitkeeper::fuzzing::{corpus, mutate};
use proptest::prelude::*;

use super::*;

/// Every seed of `target`.
fn seeds(target: &str) -> Vec<Vec<u8>> {
    corpus(target).unwrap_or_else(|e| panic!("corpus of {target}: {e}"))
}

/// Seeds of `target` with a few bytes changed.
fn mutated(target: &str) -> impl Strategy<Value = Vec<u8>> + use<> {
    let ops = prop::collection::vec((0u8..3, any::<usize>(), any::<u8>()), 0..8);
    (prop::sample::select(seeds(target)), ops).prop_map(|(seed, ops)| mutate(&seed, &ops))
}

#[test]
fn webhook_holds_on_every_corpus_file() {
    for input in seeds("webhook") {
        webhook(&input);
    }
}

#[test]
fn command_holds_on_every_corpus_file() {
    for input in seeds("command") {
        command(&input);
    }
}

#[test]
fn webhook_corpus_reaches_every_kind_of_work() {
    // The seeds are worth running only if they get past the parser.
    let trigger = TriggerSettings::default();
    let mut kinds = std::collections::BTreeSet::new();
    for input in seeds("webhook") {
        let i = input.iter().position(|&b| b == b'\n').expect("event line");
        let event = String::from_utf8_lossy(&input[..i]).trim().to_string();
        if let Ok(events::Parsed::Work(intent)) = events::parse(&event, &input[i + 1..], &trigger) {
            kinds.insert(match intent {
                Intent::Generate { .. } => "generate",
                Intent::Command { .. } => "command",
                Intent::Revise { .. } => "revise",
            });
        }
    }
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        ["command", "generate", "revise"]
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn webhook_holds_on_mutated_corpus(input in mutated("webhook")) {
        webhook(&input);
    }

    #[test]
    fn webhook_holds_on_arbitrary_bytes(input in prop::collection::vec(any::<u8>(), 0..512)) {
        webhook(&input);
    }

    #[test]
    fn command_holds_on_mutated_corpus(input in mutated("command")) {
        command(&input);
    }

    #[test]
    fn command_holds_on_arbitrary_text(text in "\\PC{0,80}") {
        command(text.as_bytes());
        command(format!("/gitkeeper {text}").as_bytes());
    }
}
