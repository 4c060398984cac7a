//! Fitting a built package into a smaller token budget (what a model's
//! context window leaves): the least valuable files go first (relevant by
//! words, then related by imports, instruction files, the contract extras,
//! and last the files that define or are named in the task), the file at
//! the boundary is cut rather than dropped when its head still fits. The
//! directory tree and schema summary first get the same share of the
//! smaller budget as they had of the package's own, and shrink further
//! only when no file is left.
//! What was dropped is listed in the package's text, so the model is told.
//!
//! It must never read the repository or grow a package: trimming the same
//! package to the same budget always gives the same text (a model server's
//! prompt cache depends on it).

use super::select::{self, ContractRole, OmitCause, OmittedFile, Reason, SelectedFile};
use super::tokens::count_tokens;
use super::{ContextPackage, SCHEMA_SHARE, TREE_SHARE, cap_lines};

/// Smallest useful head of a cut file, in tokens.
const MIN_CUT_TOKENS: usize = 120;

impl ContextPackage {
    /// This package within `max_tokens` of rendered prompt text; an
    /// unchanged copy when it already fits. When even the bare header does
    /// not fit, the result is as small as trimming gets and [`fits`](Self::fits) is false.
    pub fn trimmed(&self, max_tokens: usize) -> ContextPackage {
        if self.budget.used_tokens <= max_tokens {
            return self.clone();
        }
        let mut pkg = self.clone();
        pkg.budget.max_tokens = max_tokens;
        fit_header_shares(&mut pkg, max_tokens);
        let order = drop_order(&self.files);
        let mut dropped = vec![false; self.files.len()];
        let mut last = None;
        for &i in &order {
            if measure(&mut pkg, self, &dropped) <= max_tokens {
                break;
            }
            dropped[i] = true;
            last = Some(i);
        }
        let used = measure(&mut pkg, self, &dropped);
        if used <= max_tokens {
            if let Some(i) = last {
                put_back_cut(&mut pkg, self, &mut dropped, i, max_tokens - used);
            }
        } else {
            shrink_header(&mut pkg, max_tokens);
        }
        let used = count_tokens(&pkg.render_for_prompt());
        pkg.budget.used_tokens = used;
        pkg
    }

    /// True when the rendered package is within its token budget.
    pub fn fits(&self) -> bool {
        self.budget.used_tokens <= self.budget.max_tokens
    }

    /// Files left out to fit a model's context window (not those the
    /// package's own limits left out when it was built).
    pub fn left_out_for_window(&self) -> impl Iterator<Item = &OmittedFile> {
        self.budget
            .omitted
            .iter()
            .filter(|o| o.cause == OmitCause::ContextWindow)
    }
}

/// How much a file is worth keeping: higher stays longer.
fn keep_rank(reasons: &[Reason]) -> u8 {
    reasons
        .iter()
        .map(|r| match r {
            Reason::Relevant { .. } => 0,
            Reason::UsesIdentifier { .. }
            | Reason::TestOf { .. }
            | Reason::ImportsSeed { .. }
            | Reason::ImportedBySeed { .. } => 1,
            Reason::Instructions => 2,
            Reason::AlwaysIncluded { role } => match role {
                ContractRole::TsConfig => 3,
                ContractRole::PackageJson => 4,
                ContractRole::PrismaSchema => 5,
                ContractRole::GitkeeperDoc => 6,
            },
            Reason::DefinesIdentifier { .. } => 7,
            Reason::NamedInTask { .. } => 8,
        })
        .max()
        .unwrap_or(0)
}

/// Indices of `files` in the order they are dropped: lowest rank first, and
/// within a rank the later (lower-scored) file first.
fn drop_order(files: &[SelectedFile]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..files.len()).collect();
    order.sort_by_key(|&i| (keep_rank(&files[i].reasons), std::cmp::Reverse(i)));
    order
}

/// Set `pkg`'s files and window omissions from `full` without the dropped
/// ones, and count the rendered text.
fn measure(pkg: &mut ContextPackage, full: &ContextPackage, dropped: &[bool]) -> usize {
    pkg.files = full
        .files
        .iter()
        .zip(dropped)
        .filter(|(_, d)| !**d)
        .map(|(f, _)| f.clone())
        .collect();
    pkg.budget.omitted = full.budget.omitted.clone();
    pkg.budget.omitted.extend(
        full.files
            .iter()
            .zip(dropped)
            .filter(|(_, d)| **d)
            .map(|(f, _)| OmittedFile {
                path: f.path.clone(),
                reason: f.reasons.first().cloned().unwrap_or(Reason::Instructions),
                cause: OmitCause::ContextWindow,
            }),
    );
    count_tokens(&pkg.render_for_prompt())
}

/// Put the head of dropped file `i` back, cut to what `room` allows, when
/// that is a useful amount.
fn put_back_cut(
    pkg: &mut ContextPackage,
    full: &ContextPackage,
    dropped: &mut [bool],
    i: usize,
    room: usize,
) {
    let file = &full.files[i];
    // Its block's fence and heading, and its line in the left-out list, cost some of the room.
    let mut target = room.saturating_sub(count_tokens(&file.path) + 40);
    let original = file
        .truncated
        .as_ref()
        .map_or(file.tokens, |t| t.original_tokens);
    for _ in 0..4 {
        if target < MIN_CUT_TOKENS {
            break;
        }
        let mut cut = select::cut(&file.path, &file.reasons, &file.content, original, target);
        if let (Some(new), Some(old)) = (cut.truncated.as_mut(), file.truncated.as_ref()) {
            // Lines elided earlier stay elided.
            new.elided_lines += old.elided_lines.saturating_sub(1);
        }
        dropped[i] = false;
        let mut candidate = pkg.clone();
        measure(&mut candidate, full, dropped);
        let at = full.files[..i]
            .iter()
            .zip(dropped.iter())
            .filter(|(_, d)| !**d)
            .count();
        candidate.files[at] = cut;
        let used = count_tokens(&candidate.render_for_prompt());
        if used <= pkg.budget.max_tokens {
            *pkg = candidate;
            return;
        }
        dropped[i] = true;
        target = target.saturating_sub(used - pkg.budget.max_tokens + 8);
    }
}

/// The tree and the schema summary were sized for the budget the package
/// was built with; a smaller window gets them at the same share of its own.
fn fit_header_shares(pkg: &mut ContextPackage, max_tokens: usize) {
    let tree_cap = max_tokens / TREE_SHARE;
    if count_tokens(&pkg.tree.text) > tree_cap {
        pkg.tree.text = cap_lines(
            &pkg.tree.text,
            tree_cap,
            "more tree lines (left out to fit the context window)",
        );
    }
    if let Some(schema) = pkg.schema.as_mut() {
        let cap = max_tokens / SCHEMA_SHARE;
        if count_tokens(&schema.summary) > cap {
            schema.summary = cap_lines(
                &schema.summary,
                cap,
                "more schema lines (left out to fit the context window)",
            );
        }
    }
}

/// With every file gone and the header still too large: cut the directory
/// tree, then the schema summary, to whole lines.
fn shrink_header(pkg: &mut ContextPackage, max_tokens: usize) {
    for part in 0..2 {
        let used = count_tokens(&pkg.render_for_prompt());
        if used <= max_tokens {
            return;
        }
        let over = used - max_tokens;
        let text = match part {
            0 => &mut pkg.tree.text,
            _ => match pkg.schema.as_mut() {
                Some(schema) => &mut schema.summary,
                None => return,
            },
        };
        let keep = count_tokens(text).saturating_sub(over + 16);
        let what = if part == 0 {
            "more tree lines (left out to fit the context window)"
        } else {
            "more schema lines (left out to fit the context window)"
        };
        *text = cap_lines(text, keep, what);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::{Budget, ContextPackage, GitkeeperDoc, Project, Tree};

    fn file(path: &str, reason: Reason, lines: usize) -> SelectedFile {
        let content: String = (0..lines)
            .map(|i| format!("export const value{i} = compute({i}, \"{path}\");\n"))
            .collect();
        SelectedFile {
            path: path.to_string(),
            reasons: vec![reason],
            tokens: count_tokens(&content),
            content,
            truncated: None,
        }
    }

    fn package(files: Vec<SelectedFile>) -> ContextPackage {
        let mut pkg = ContextPackage {
            project: Project::default(),
            gitkeeper_doc: GitkeeperDoc::default(),
            schema: None,
            manifest: None,
            tsconfig: None,
            tree: Tree {
                text: (0..40).map(|i| format!("src/file{i}.ts\n")).collect(),
                depth: 3,
                shown: 40,
                total_files: 40,
            },
            files,
            budget: Budget {
                max_files: 10,
                max_tokens: 12_000,
                ..Budget::default()
            },
            warnings: Vec::new(),
        };
        pkg.budget.used_tokens = count_tokens(&pkg.render_for_prompt());
        pkg
    }

    fn named(mention: &str) -> Reason {
        Reason::NamedInTask {
            mention: mention.to_string(),
        }
    }

    fn sample() -> ContextPackage {
        package(vec![
            file(
                "package.json",
                Reason::AlwaysIncluded {
                    role: ContractRole::PackageJson,
                },
                60,
            ),
            file("AGENTS.md", Reason::Instructions, 60),
            file("src/greet.ts", named("src/greet.ts"), 60),
            file(
                "src/farewell.ts",
                Reason::ImportsSeed {
                    seed: "src/greet.ts".into(),
                    hops: 1,
                },
                60,
            ),
            file("src/words.ts", Reason::Relevant { score: 0.4 }, 60),
        ])
    }

    fn paths(pkg: &ContextPackage) -> Vec<&str> {
        pkg.files.iter().map(|f| f.path.as_str()).collect()
    }

    #[test]
    fn a_package_within_the_budget_is_returned_unchanged() {
        let full = sample();
        assert_eq!(full.trimmed(full.budget.used_tokens), full);
        assert_eq!(full.trimmed(usize::MAX), full);
    }

    #[test]
    fn trimming_drops_ranked_then_related_then_extras_and_keeps_named_files() {
        let full = sample();
        let per_file = full.files[0].tokens;
        let mut kept_before = paths(&full).len();
        let mut dropped_order = Vec::new();
        for n in 1..=4 {
            let trimmed = full.trimmed(full.budget.used_tokens - n * per_file);
            assert!(trimmed.fits(), "{n}: {}", trimmed.budget.used_tokens);
            assert!(
                trimmed.budget.used_tokens <= full.budget.used_tokens - n * per_file,
                "{n}"
            );
            assert!(paths(&trimmed).len() <= kept_before);
            kept_before = paths(&trimmed).len();
            // Left out, or cut at the boundary.
            let lost = trimmed.left_out_for_window().map(|o| o.path.clone()).chain(
                trimmed
                    .files
                    .iter()
                    .filter(|f| f.truncated.is_some())
                    .map(|f| f.path.clone()),
            );
            for path in lost.collect::<Vec<_>>() {
                if !dropped_order.contains(&path) {
                    dropped_order.push(path);
                }
            }
            assert!(paths(&trimmed).contains(&"src/greet.ts"), "{n}");
        }
        assert_eq!(
            dropped_order,
            [
                "src/words.ts",
                "src/farewell.ts",
                "AGENTS.md",
                "package.json"
            ]
        );
    }

    #[test]
    fn the_file_at_the_boundary_is_cut_rather_than_dropped() {
        let full = sample();
        let per_file = full.files[0].tokens;
        // Room for half of the lowest-ranked file.
        let trimmed = full.trimmed(full.budget.used_tokens - per_file / 2);
        assert!(trimmed.fits());
        let words = trimmed.file("src/words.ts").expect("cut, not dropped");
        let cut = words.truncated.as_ref().expect("marked as cut");
        assert!(cut.elided_lines > 0 && cut.kept_lines > 0, "{cut:?}");
        assert!(words.content.contains("lines elided"));
        assert_eq!(trimmed.left_out_for_window().count(), 0);
        assert_eq!(paths(&trimmed).len(), 5);
    }

    #[test]
    fn the_prompt_text_says_which_files_were_left_out() {
        let full = sample();
        let trimmed = full.trimmed(full.budget.used_tokens - 2 * full.files[0].tokens - 50);
        let text = trimmed.render_for_prompt();
        assert!(
            text.contains("Left out to fit the model's context window"),
            "{text}"
        );
        assert!(text.contains("- src/words.ts"), "{text}");
        assert!(!full.render_for_prompt().contains("Left out"));
        assert!(
            trimmed
                .render_summary()
                .contains("the model's context window")
        );
    }

    #[test]
    fn without_files_the_tree_shrinks_and_an_impossible_budget_does_not_fit() {
        let full = sample();
        let bare = full.trimmed(0);
        assert!(bare.files.is_empty());
        assert!(!bare.fits());
        assert!(bare.tree.text.len() < full.tree.text.len());
        // Between the two: no file, a shorter tree, within the budget.
        let header_only = count_tokens(&bare.render_for_prompt()) + 60;
        let small = full.trimmed(header_only);
        assert!(small.fits(), "{} > {header_only}", small.budget.used_tokens);
        assert!(paths(&small).len() <= 1);
    }

    #[test]
    fn a_smaller_window_gets_the_tree_at_its_share_before_named_files_go() {
        let mut full = package(vec![file("src/greet.ts", named("src/greet.ts"), 30)]);
        full.tree.text = (0..400)
            .map(|i| format!("src/feature{i}/index.ts\n"))
            .collect();
        full.budget.used_tokens = count_tokens(&full.render_for_prompt());
        let tree_tokens = count_tokens(&full.tree.text);
        let greet = full.files[0].tokens;
        // Room for the named file and a little more, not for the whole tree.
        let budget = greet + tree_tokens / 2;
        let trimmed = full.trimmed(budget);
        assert!(trimmed.fits(), "{} > {budget}", trimmed.budget.used_tokens);
        let kept = trimmed.file("src/greet.ts").expect("named file kept");
        assert!(kept.truncated.is_none(), "kept whole");
        let tree = count_tokens(&trimmed.tree.text);
        assert!(
            tree <= budget / TREE_SHARE,
            "{tree} > {}",
            budget / TREE_SHARE
        );
        assert!(trimmed.tree.text.contains("more tree lines"));
    }

    #[test]
    fn trimming_is_deterministic() {
        let full = sample();
        let budget = full.budget.used_tokens / 2;
        assert_eq!(full.trimmed(budget), full.trimmed(budget));
        assert_eq!(
            full.trimmed(budget).render_for_prompt(),
            full.trimmed(budget).trimmed(budget).render_for_prompt()
        );
    }
}
