//! The fuzz targets as bounded property tests: every committed corpus file,
//! then mutations of them and arbitrary bytes, a few hundred cases each, so
//! CI runs each target's invariants in seconds.

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

macro_rules! target_tests {
    ($name:ident, $entry:path, $cases:expr) => {
        mod $name {
            use super::*;

            #[test]
            fn holds_on_every_corpus_file() {
                for input in seeds(stringify!($name)) {
                    $entry(&input);
                }
            }

            proptest! {
                #![proptest_config(ProptestConfig::with_cases($cases))]

                #[test]
                fn holds_on_mutated_corpus(input in mutated(stringify!($name))) {
                    $entry(&input);
                }

                #[test]
                fn holds_on_arbitrary_bytes(input in prop::collection::vec(any::<u8>(), 0..512)) {
                    $entry(&input);
                }
            }
        }
    };
}

target_tests!(edit_format, crate::fuzzing::edit_format, 256);
// Each case builds a small repository on disk.
target_tests!(edit_apply, crate::fuzzing::edit_apply, 64);
target_tests!(prisma, crate::fuzzing::prisma, 256);
target_tests!(gitkeeper_doc, crate::fuzzing::gitkeeper_doc, 256);
target_tests!(tsconfig, crate::fuzzing::tsconfig, 64);
target_tests!(package_json, crate::fuzzing::package_json, 256);

#[test]
fn apply_fixture_refuses_every_way_out() {
    let answer = "FILE: escape/new.txt\n```\nx\n```\n\
                  FILE: leak.txt\n```\nx\n```\n\
                  FILE: ci/ci.yml\n```\nx\n```\n\
                  FILE: .git/hooks/pre-commit\n```\nx\n```\n\
                  FILE: ../outside/secret.txt\n```\nx\n```\n";
    let Ok(ParsedEdits::Edits(edits)) = parse_edits(answer) else {
        panic!("the answer parses");
    };
    assert_eq!(edits.len(), 5);
    let scratch = Scratch::new("refuses").expect("scratch");
    let (repo, outside) = (scratch.path.join("repo"), scratch.path.join("outside"));
    build_apply_fixture(&repo, &outside).expect("fixture");
    let policy =
        PathPolicy::new(PROTECTED.iter().map(|p| p.to_string()).collect()).expect("patterns");
    let err = apply_edits(&repo, &edits, &policy).expect_err("every edit is refused");
    assert_eq!(err.rejections().len(), 5, "{err}");
    // And the entry point checks the same answer without a finding.
    edit_apply(answer.as_bytes());
}

#[test]
fn apply_fixture_edits_through_an_inside_link() {
    let answer = "alias/a.ts\n<<<<<<< SEARCH\nexport const a = 1;\n=======\nexport const a = 2;\n>>>>>>> REPLACE\n";
    let Ok(ParsedEdits::Edits(edits)) = parse_edits(answer) else {
        panic!("the answer parses");
    };
    let scratch = Scratch::new("inside").expect("scratch");
    let (repo, outside) = (scratch.path.join("repo"), scratch.path.join("outside"));
    build_apply_fixture(&repo, &outside).expect("fixture");
    let applied = apply_edits(&repo, &edits, &PathPolicy::default()).expect("applies");
    assert_eq!(applied.changes.len(), 1);
    assert_eq!(applied.changes[0].path, "src/a.ts");
    edit_apply(answer.as_bytes());
}
