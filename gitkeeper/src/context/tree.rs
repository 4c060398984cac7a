//! The directory tree shown to the model: the walk's files and directories
//! (already filtered by `.gitignore` and the skip list) to a fixed depth,
//! directories first, deeper levels folded into counts, and capped so a huge
//! repository costs a bounded number of tokens ("… N more").

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Children listed per directory before "… N more".
const PER_DIR_CAP: usize = 25;

/// The rendered directory tree.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tree {
    /// Indented text, one entry per line, directories end in `/`.
    pub text: String,
    /// Depth rendered (1 = top-level entries only).
    pub depth: usize,
    /// Entries listed.
    pub shown: usize,
    /// Files in the repository as walked (all depths).
    pub total_files: usize,
}

#[derive(Default)]
struct Node {
    dirs: BTreeMap<String, Node>,
    files: Vec<String>,
    /// Files at any depth below.
    file_count: usize,
}

impl Node {
    fn insert(&mut self, parts: &[&str], is_dir: bool) {
        let Some((first, rest)) = parts.split_first() else {
            return;
        };
        if !is_dir {
            self.file_count += 1;
            if rest.is_empty() {
                self.files.push((*first).to_string());
                return;
            }
        }
        self.dirs
            .entry((*first).to_string())
            .or_default()
            .insert(rest, is_dir);
    }
}

/// Renders the tree of `dirs` and `files` (relative paths) to `depth`
/// levels with at most `max_entries` lines.
pub(crate) fn render(dirs: &[String], files: &[&str], depth: usize, max_entries: usize) -> Tree {
    let mut root = Node::default();
    for dir in dirs {
        let parts: Vec<&str> = dir.split('/').collect();
        root.insert(&parts, true);
    }
    for file in files {
        let parts: Vec<&str> = file.split('/').collect();
        root.insert(&parts, false);
    }
    let mut tree = Tree {
        depth,
        total_files: files.len(),
        ..Tree::default()
    };
    let mut budget = max_entries;
    let omitted = render_node(&root, 0, depth.max(1), &mut budget, &mut tree);
    if omitted > 0 {
        tree.text.push_str(&format!("… {omitted} more entries\n"));
    }
    tree
}

/// Renders the children of `node` at `level`; returns how many top-level
/// entries could not be listed because the global budget ran out.
fn render_node(
    node: &Node,
    level: usize,
    depth: usize,
    budget: &mut usize,
    tree: &mut Tree,
) -> usize {
    let indent = "  ".repeat(level);
    let total = node.dirs.len() + node.files.len();
    let entries = node
        .dirs
        .iter()
        .map(|(name, child)| (name.as_str(), Some(child)))
        .chain(node.files.iter().map(|f| (f.as_str(), None)));
    for (listed, (name, child)) in entries.enumerate() {
        if *budget == 0 {
            return total - listed;
        }
        if listed == PER_DIR_CAP && total > PER_DIR_CAP + 1 {
            tree.text
                .push_str(&format!("{indent}… {} more\n", total - listed));
            tree.shown += 1;
            *budget -= 1;
            return 0;
        }
        *budget -= 1;
        tree.shown += 1;
        match child {
            Some(dir) if level + 1 >= depth && (!dir.dirs.is_empty() || !dir.files.is_empty()) => {
                let n = dir.file_count;
                let noun = if n == 1 { "file" } else { "files" };
                tree.text
                    .push_str(&format!("{indent}{name}/ ({n} {noun})\n"));
            }
            Some(dir) => {
                tree.text.push_str(&format!("{indent}{name}/\n"));
                let omitted = render_node(dir, level + 1, depth, budget, tree);
                if omitted > 0 {
                    tree.text.push_str(&format!("{indent}  … {omitted} more\n"));
                }
            }
            None => {
                tree.text.push_str(&format!("{indent}{name}\n"));
            }
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dirs_of(files: &[&str]) -> Vec<String> {
        let mut dirs: Vec<String> = Vec::new();
        for f in files {
            let parts: Vec<&str> = f.split('/').collect();
            for i in 1..parts.len() {
                let d = parts[..i].join("/");
                if !dirs.contains(&d) {
                    dirs.push(d);
                }
            }
        }
        dirs.sort();
        dirs
    }

    #[test]
    fn tree_folds_levels_below_the_depth_into_counts() {
        let files = [
            "package.json",
            "prisma/schema.prisma",
            "src/app/api/projects/route.ts",
            "src/app/api/users/route.ts",
            "src/app/page.tsx",
            "src/lib/session.ts",
        ];
        let tree = render(&dirs_of(&files), &files, 3, 100);
        assert_eq!(
            tree.text,
            "prisma/\n  schema.prisma\nsrc/\n  app/\n    api/ (2 files)\n    page.tsx\n  lib/\n    session.ts\npackage.json\n"
        );
        assert_eq!(tree.total_files, 6);
    }

    #[test]
    fn big_directories_and_repositories_are_capped() {
        let files: Vec<String> = (0..100).map(|i| format!("src/f{i:03}.ts")).collect();
        let refs: Vec<&str> = files.iter().map(String::as_str).collect();
        let tree = render(&dirs_of(&refs), &refs, 3, 1000);
        assert!(tree.text.contains("  … 75 more\n"), "{}", tree.text);
        assert_eq!(tree.text.lines().count(), 1 + 25 + 1);

        let tree = render(&dirs_of(&refs), &refs, 3, 10);
        assert_eq!(tree.shown, 10);
        assert!(tree.text.ends_with("  … 91 more\n"), "{}", tree.text);
    }

    #[test]
    fn empty_directories_are_listed_plainly() {
        let tree = render(&["empty".to_string()], &[], 1, 10);
        assert_eq!(tree.text, "empty/\n");
    }
}
