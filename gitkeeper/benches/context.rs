//! Benchmark of the context package (issue 3, point 4).
//!
//! 1. Recall on a git history: for each commit, the commit message is the
//!    task and the parent tree is the repository; we measure how many of the
//!    files the commit changed are ranked in the top 5 / top 10, and how many
//!    end up in the package under the default budget, plus build time per
//!    package (median, p90). A baseline is measured in the same run: plain
//!    BM25 over file contents (lowercased alphanumeric words, no identifier
//!    splitting, no paths, no imports, no schema).
//! 2. Speed on a generated 5,000-file TypeScript repository: warm build time
//!    (median and p90 over several runs).
//!
//! Run:
//!   CARGO_TARGET_DIR=/work/target-ctx cargo bench -p gitkeeper --bench context
//! Options (after `--`):
//!   --repo PATH      use PATH's git history (bare or not) instead of the
//!                    synthetic repository; repeat for several repositories,
//!                    one row each (the 5,000-file timing is then skipped)
//!   --trees DIR      keep each exported parent tree under DIR and reuse it
//!                    in later runs (real histories only)
//!   --commits N      evaluate at most N commits per history (default 80),
//!                    the newest that pass the rule in `context/history.rs`
//!   --runs N         timing runs on the 5,000-file repository (default 15)
//!   --show PATH TASK print the package for TASK in PATH and exit
//!   --json           with --show: print JSON instead of the prompt text
//!   --time PATH TASK time warm builds of the package for TASK in PATH
//!   --generate PATH  write the synthetic history repository to PATH and exit
//!                    (with --files N: a repository of N files without history)

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use gitkeeper::context::{self, ContextOptions};

#[path = "context/history.rs"]
mod history;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    if let Some(i) = args.iter().position(|a| a == "--show") {
        let repo = args.get(i + 1).ok_or("--show needs a repository path")?;
        let task = args.get(i + 2).ok_or("--show needs a task")?;
        let pkg = context::build(Path::new(repo), task, &ContextOptions::default())?;
        if args.iter().any(|a| a == "--json") {
            println!("{}", pkg.to_json()?);
        } else {
            println!("{}", pkg.render_for_prompt());
            eprintln!(
                "tokens used: {} / {}",
                pkg.budget.used_tokens, pkg.budget.max_tokens
            );
        }
        return Ok(());
    }
    if let Some(i) = args.iter().position(|a| a == "--time") {
        let repo = args.get(i + 1).ok_or("--time needs a repository path")?;
        let task = args.get(i + 2).ok_or("--time needs a task")?;
        let runs: usize = value("--runs").and_then(|v| v.parse().ok()).unwrap_or(15);
        context::tokens::warm_up();
        let options = ContextOptions::default();
        let _ = context::build(Path::new(repo), task, &options)?;
        let mut ms = Vec::new();
        for _ in 0..runs {
            let started = Instant::now();
            std::hint::black_box(context::build(Path::new(repo), task, &options)?);
            ms.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        println!(
            "build: median {:.1} ms, p90 {:.1} ms over {runs} warm runs",
            median(&ms),
            p90(&ms)
        );
        return Ok(());
    }
    let commits: usize = value("--commits")
        .and_then(|v| v.parse().ok())
        .unwrap_or(80);
    if let Some(path) = value("--generate") {
        if let Some(n) = value("--files").and_then(|v| v.parse().ok()) {
            let written = synthetic::large_repo(Path::new(&path), n)?;
            println!("wrote a synthetic repository of {written} files (no history) to {path}");
            return Ok(());
        }
        synthetic::history_repo(Path::new(&path), commits)?;
        println!("wrote a synthetic repository with {commits} commits to {path}");
        return Ok(());
    }
    let runs: usize = value("--runs").and_then(|v| v.parse().ok()).unwrap_or(15);
    let scratch = Scratch::new("gitkeeper-bench")?;

    context::tokens::warm_up();
    let repos: Vec<PathBuf> = args
        .iter()
        .enumerate()
        .filter(|(_, a)| *a == "--repo")
        .filter_map(|(i, _)| args.get(i + 1))
        .map(PathBuf::from)
        .collect();
    if !repos.is_empty() {
        let trees = value("--trees").map(PathBuf::from);
        return real_histories(&repos, commits, &scratch.path, trees.as_deref());
    }
    let dir = scratch.path.join("history");
    let n = synthetic::history_repo(&dir, commits)?;
    let label = format!("synthetic TS repository, {n} commits");
    let tasks = history::select(&dir, commits)?;
    let history = history::evaluate(&dir, &tasks, &scratch.path, None)?;
    let big = scratch.path.join("big");
    let files = synthetic::large_repo(&big, 5_000)?;
    let speed = time_large(&big, runs)?;

    println!();
    println!("Context package benchmark — {label}");
    println!(
        "commits evaluated: {} (changed files counted: {}, excluding new files and the always-included contract files)",
        history.commits, history.truth_files
    );
    println!(
        "always-included parts: median {:.0} tokens of a median {:.0}-token package",
        history.always_median(),
        median(&history.used_tokens)
    );
    println!();
    println!(
        "| method | recall@5 | recall@10 | in package (default budget) | build median | build p90 |"
    );
    println!("|---|---|---|---|---|---|");
    println!(
        "| gitkeeper context | {:.3} | {:.3} | {:.3} | {:.1} ms | {:.1} ms |",
        history.ours_r5,
        history.ours_r10,
        history.ours_in_package,
        median(&history.ours_ms),
        p90(&history.ours_ms)
    );
    println!(
        "| baseline BM25 (contents only) | {:.3} | {:.3} | – | {:.1} ms | {:.1} ms |",
        history.base_r5,
        history.base_r10,
        median(&history.base_ms),
        p90(&history.base_ms)
    );
    println!(
        "| ratio (gitkeeper / baseline) | {:.2}× | {:.2}× | – | {:.2}× | {:.2}× |",
        ratio(history.ours_r5, history.base_r5),
        ratio(history.ours_r10, history.base_r10),
        ratio(median(&history.ours_ms), median(&history.base_ms)),
        ratio(p90(&history.ours_ms), p90(&history.base_ms))
    );
    println!();
    println!("| {files}-file TS repository (warm, {runs} runs) | median | p90 |");
    println!("|---|---|---|");
    println!(
        "| gitkeeper context::build | {:.1} ms | {:.1} ms |",
        median(&speed.ours_ms),
        p90(&speed.ours_ms)
    );
    println!(
        "| baseline BM25 | {:.1} ms | {:.1} ms |",
        median(&speed.base_ms),
        p90(&speed.base_ms)
    );
    println!(
        "| ratio | {:.2}× | {:.2}× |",
        ratio(median(&speed.ours_ms), median(&speed.base_ms)),
        ratio(p90(&speed.ours_ms), p90(&speed.base_ms))
    );
    println!(
        "\npackage on the 5,000-file repository: {} files, {} tokens (limit {})",
        speed.files, speed.tokens, speed.max_tokens
    );
    Ok(())
}

/// A readable name for a repository path (`/x/owner+name/repo` → `owner+name`).
fn repo_label(path: &Path) -> String {
    let name = |p: &Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let last = name(path);
    match last.as_str() {
        "repo" | ".git" | "" => path.parent().map(name).unwrap_or(last),
        _ => last.trim_end_matches(".git").to_string(),
    }
}

/// Recall of the package against the baseline on each repository's own
/// history (bare or not): one row per repository, then the mean.
fn real_histories(
    repos: &[PathBuf],
    commits: usize,
    scratch: &Path,
    trees: Option<&Path>,
) -> Result<()> {
    let mut rows = Vec::new();
    for repo in repos {
        let tasks = history::select(repo, commits)?;
        eprintln!("{}: {} commits selected", repo_label(repo), tasks.len());
        let cache = trees.map(|t| t.join(repo_label(repo)));
        if let Some(dir) = &cache {
            fs::create_dir_all(dir)?;
        }
        let h = history::evaluate(repo, &tasks, scratch, cache.as_deref())?;
        rows.push((repo_label(repo), h));
    }
    println!();
    println!(
        "Context package benchmark on real histories (newest {commits} commits per repository that pass the selection rule in benches/context/history.rs)"
    );
    println!();
    println!(
        "| repository | commits | files to find | ranking recall@10 | in package (default budget) | BM25 recall@10 | in package − BM25 | always-included tokens (median) | package tokens (median) | build median |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for (label, h) in &rows {
        println!(
            "| {label} | {} | {} | {:.3} | {:.3} | {:.3} | {:+.3} | {:.0} | {:.0} | {:.1} ms |",
            h.commits,
            h.truth_files,
            h.ours_r10,
            h.ours_in_package,
            h.base_r10,
            h.ours_in_package - h.base_r10,
            h.always_median(),
            median(&h.used_tokens),
            median(&h.ours_ms)
        );
    }
    if rows.len() > 1 {
        let n = rows.len() as f64;
        let mean =
            |f: &dyn Fn(&history::History) -> f64| rows.iter().map(|(_, h)| f(h)).sum::<f64>() / n;
        println!(
            "| mean of repositories | – | – | {:.3} | {:.3} | {:.3} | {:+.3} | {:.0} | {:.0} | – |",
            mean(&|h| h.ours_r10),
            mean(&|h| h.ours_in_package),
            mean(&|h| h.base_r10),
            mean(&|h| h.ours_in_package - h.base_r10),
            mean(&|h| h.always_median()),
            mean(&|h| median(&h.used_tokens)),
        );
    }
    Ok(())
}

fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 { f64::NAN } else { a / b }
}

fn median(v: &[f64]) -> f64 {
    percentile(v, 0.5)
}

fn p90(v: &[f64]) -> f64 {
    percentile(v, 0.9)
}

fn percentile(v: &[f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let idx = ((s.len() - 1) as f64 * p).round() as usize;
    s[idx.min(s.len() - 1)]
}

/// A temporary directory removed on drop.
struct Scratch {
    path: PathBuf,
}

impl Scratch {
    fn new(name: &str) -> Result<Self> {
        let path = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
        if path.exists() {
            fs::remove_dir_all(&path)?;
        }
        fs::create_dir_all(&path)?;
        Ok(Self { path })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

fn git(repo: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .env("GIT_AUTHOR_NAME", "bench")
        .env("GIT_AUTHOR_EMAIL", "bench@example.com")
        .env("GIT_COMMITTER_NAME", "bench")
        .env("GIT_COMMITTER_EMAIL", "bench@example.com")
        .output()?;
    if !out.status.success() {
        return Err(format!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Writes `commit`'s tree into `dir` (regular files only) from `git ls-tree`
/// and `git cat-file --batch`. Blobs the repository does not hold (mirrors
/// may leave out their largest files) are skipped, as the package would
/// skip such files anyway.
fn export_tree(repo: &Path, commit: &str, dir: &Path) -> Result<()> {
    if dir.exists() {
        fs::remove_dir_all(dir)?;
    }
    fs::create_dir_all(dir)?;
    let listing = git(repo, &["ls-tree", "-r", "-z", commit])?;
    let mut entries: Vec<(&str, &str)> = Vec::new();
    for entry in listing.split('\0').filter(|e| !e.is_empty()) {
        let Some((meta, path)) = entry.split_once('\t') else {
            continue;
        };
        let mut fields = meta.split(' ');
        let (Some(mode), Some(kind), Some(oid)) = (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        if kind == "blob" && mode != "120000" {
            entries.push((oid, path));
        }
    }
    let mut batch = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut stdin = batch.stdin.take().ok_or("git cat-file has no stdin")?;
    let ids: String = entries.iter().map(|(oid, _)| format!("{oid}\n")).collect();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        let _ = stdin.write_all(ids.as_bytes());
    });
    let mut out = std::io::BufReader::new(batch.stdout.take().ok_or("git cat-file has no stdout")?);
    for (_, path) in &entries {
        use std::io::{BufRead, Read};
        let mut header = String::new();
        out.read_line(&mut header)?;
        let mut parts = header.split_whitespace();
        let (Some(_), Some(kind)) = (parts.next(), parts.next()) else {
            return Err(format!("git cat-file answered {header:?}").into());
        };
        if kind == "missing" {
            continue;
        }
        let size: usize = parts.next().and_then(|s| s.parse().ok()).ok_or("no size")?;
        let mut content = vec![0u8; size + 1];
        out.read_exact(&mut content)?;
        content.pop();
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(target, content)?;
    }
    let _ = writer.join();
    if !batch.wait()?.success() {
        return Err(format!("exporting {commit} failed").into());
    }
    Ok(())
}

struct Speed {
    ours_ms: Vec<f64>,
    base_ms: Vec<f64>,
    files: usize,
    tokens: usize,
    max_tokens: usize,
}

fn time_large(dir: &Path, runs: usize) -> Result<Speed> {
    let task = "Add an archivedAt timestamp to projects, hide archived projects in ProjectList \
                and filter them out in the projects API route";
    let options = ContextOptions::default();
    // Warm-up: tokenizer, page cache.
    let pkg = context::build(dir, task, &options)?;
    let _ = baseline::rank(dir, task);
    let mut ours = Vec::new();
    let mut base = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        let p = context::build(dir, task, &options)?;
        ours.push(started.elapsed().as_secs_f64() * 1000.0);
        std::hint::black_box(p);
    }
    for _ in 0..runs {
        let started = Instant::now();
        std::hint::black_box(baseline::rank(dir, task));
        base.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(Speed {
        ours_ms: ours,
        base_ms: base,
        files: pkg.files.len(),
        tokens: pkg.budget.used_tokens,
        max_tokens: pkg.budget.max_tokens,
    })
}

/// The baseline: plain BM25 over whole file contents.
mod baseline {
    use super::*;

    const STOP: &[&str] = &[
        "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "into", "is", "it",
        "of", "on", "or", "the", "to", "when", "with", "this", "that",
    ];

    fn words(text: &str) -> Vec<String> {
        text.split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_ascii_lowercase)
            .filter(|w| !STOP.contains(&w.as_str()))
            .collect()
    }

    /// Every readable text file ranked by BM25 of the task against its contents.
    pub fn rank(dir: &Path, task: &str) -> Vec<String> {
        let query: Vec<String> = {
            let mut q = words(task);
            q.sort();
            q.dedup();
            q
        };
        let mut docs: Vec<(String, HashMap<String, u32>, u32)> = Vec::new();
        let walker = ignore::WalkBuilder::new(dir)
            .hidden(false)
            .require_git(false)
            .filter_entry(|e| !matches!(e.file_name().to_str(), Some(".git" | "node_modules")))
            .build();
        for entry in walker.flatten() {
            if !entry.file_type().is_some_and(|t| t.is_file()) {
                continue;
            }
            let Ok(bytes) = fs::read(entry.path()) else {
                continue;
            };
            if bytes.contains(&0) || bytes.len() > 256 * 1024 {
                continue;
            }
            let text = String::from_utf8_lossy(&bytes);
            let mut tf: HashMap<String, u32> = HashMap::new();
            let mut len = 0;
            for w in words(&text) {
                len += 1;
                if query.contains(&w) {
                    *tf.entry(w).or_default() += 1;
                }
            }
            let rel = entry
                .path()
                .strip_prefix(dir)
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default();
            docs.push((rel, tf, len));
        }
        let n = docs.len() as f64;
        let avg = docs.iter().map(|d| f64::from(d.2)).sum::<f64>() / n.max(1.0);
        let mut scored: Vec<(String, f64)> = docs
            .iter()
            .map(|(path, tf, len)| {
                let mut s = 0.0;
                for q in &query {
                    let f = f64::from(tf.get(q).copied().unwrap_or(0));
                    if f == 0.0 {
                        continue;
                    }
                    let df = docs.iter().filter(|d| d.1.contains_key(q)).count() as f64;
                    let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
                    s += idf * f * 2.2 / (f + 1.2 * (0.25 + 0.75 * f64::from(*len) / avg.max(1.0)));
                }
                (path.clone(), s)
            })
            .filter(|(_, s)| *s > 0.0)
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        scored.into_iter().map(|(p, _)| p).collect()
    }
}

/// Synthetic TypeScript repositories: a Next.js + Prisma app with one
/// feature module per entity, and a history of commits that each touch a
/// few related files with a descriptive message.
mod synthetic {
    use super::*;

    /// Small deterministic PRNG (xorshift64*).
    pub struct Rng(u64);

    impl Rng {
        pub fn new(seed: u64) -> Self {
            Self(seed.max(1))
        }
        pub fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            self.0 = x;
            x.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        pub fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
        pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
            &items[self.below(items.len())]
        }
    }

    /// (singular, plural, human words, fields)
    pub const ENTITIES: &[(&str, &str, &str, &[&str])] = &[
        (
            "project",
            "projects",
            "project",
            &["name", "status", "ownerId", "dueDate"],
        ),
        (
            "task",
            "tasks",
            "task",
            &["title", "priority", "assigneeId", "completedAt"],
        ),
        (
            "comment",
            "comments",
            "comment",
            &["body", "authorId", "editedAt"],
        ),
        (
            "invoice",
            "invoices",
            "invoice",
            &["number", "totalCents", "issuedAt", "paidAt"],
        ),
        (
            "payment",
            "payments",
            "payment",
            &["amountCents", "method", "invoiceId"],
        ),
        ("team", "teams", "team", &["name", "slug", "plan"]),
        (
            "member",
            "members",
            "team member",
            &["role", "teamId", "userId", "joinedAt"],
        ),
        (
            "notification",
            "notifications",
            "notification",
            &["kind", "readAt", "recipientId"],
        ),
        (
            "report",
            "reports",
            "report",
            &["period", "format", "generatedAt"],
        ),
        (
            "product",
            "products",
            "product",
            &["sku", "priceCents", "stock"],
        ),
        (
            "order",
            "orders",
            "order",
            &["status", "customerId", "placedAt", "totalCents"],
        ),
        (
            "cart",
            "carts",
            "shopping cart",
            &["customerId", "expiresAt"],
        ),
        (
            "review",
            "reviews",
            "product review",
            &["rating", "body", "productId"],
        ),
        (
            "category",
            "categories",
            "category",
            &["name", "parentId", "position"],
        ),
        ("tag", "tags", "tag", &["label", "color"]),
        (
            "subscription",
            "subscriptions",
            "subscription",
            &["plan", "renewsAt", "cancelledAt"],
        ),
        (
            "webhook",
            "webhooks",
            "webhook",
            &["url", "secret", "events"],
        ),
        (
            "auditEntry",
            "auditEntries",
            "audit log entry",
            &["action", "actorId", "targetId"],
        ),
        (
            "attachment",
            "attachments",
            "file attachment",
            &["fileName", "sizeBytes", "mimeType"],
        ),
        (
            "message",
            "messages",
            "chat message",
            &["body", "channelId", "senderId"],
        ),
        (
            "channel",
            "channels",
            "chat channel",
            &["name", "topic", "archivedAt"],
        ),
        (
            "invite",
            "invites",
            "invitation",
            &["email", "token", "acceptedAt"],
        ),
        (
            "shipment",
            "shipments",
            "shipment",
            &["carrier", "trackingNumber", "shippedAt"],
        ),
        (
            "coupon",
            "coupons",
            "discount coupon",
            &["code", "percentOff", "expiresAt"],
        ),
        (
            "address",
            "addresses",
            "address",
            &["street", "city", "postalCode", "country"],
        ),
        (
            "milestone",
            "milestones",
            "milestone",
            &["title", "dueDate", "projectId"],
        ),
        (
            "timeEntry",
            "timeEntries",
            "time entry",
            &["minutes", "taskId", "loggedAt"],
        ),
        (
            "expense",
            "expenses",
            "expense",
            &["amountCents", "category", "receiptUrl"],
        ),
        (
            "document",
            "documents",
            "document",
            &["title", "content", "publishedAt"],
        ),
        (
            "calendarEvent",
            "calendarEvents",
            "calendar event",
            &["startsAt", "endsAt", "location"],
        ),
    ];

    pub fn pascal(s: &str) -> String {
        let mut c = s.chars();
        c.next()
            .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
            .unwrap_or_default()
    }

    pub fn kebab(s: &str) -> String {
        let mut out = String::new();
        for ch in s.chars() {
            if ch.is_ascii_uppercase() {
                out.push('-');
                out.push(ch.to_ascii_lowercase());
            } else {
                out.push(ch);
            }
        }
        out
    }

    fn ts_type(field: &str) -> &'static str {
        if field.ends_with("At") || field == "dueDate" {
            "Date | null"
        } else if field.ends_with("Cents")
            || field == "rating"
            || field == "stock"
            || field == "minutes"
            || field == "position"
            || field == "percentOff"
            || field == "sizeBytes"
        {
            "number"
        } else {
            "string"
        }
    }

    fn prisma_type(field: &str) -> &'static str {
        match ts_type(field) {
            "Date | null" => "DateTime?",
            "number" => "Int",
            _ => "String",
        }
    }

    /// Paths of one entity's module (suffix-numbered in the large repo).
    pub struct Paths {
        pub types: String,
        pub repository: String,
        pub service: String,
        pub test: String,
        pub validation: String,
        pub route: String,
        pub item_route: String,
        pub card: String,
        pub list: String,
        pub hook: String,
    }

    pub fn paths(e: &str, plural: &str, suffix: &str) -> Paths {
        let p = pascal(e);
        let k = kebab(e);
        let kp = kebab(plural);
        Paths {
            types: format!("src/types/{k}{suffix}.ts"),
            repository: format!("src/lib/{k}{suffix}/repository.ts"),
            service: format!("src/lib/{k}{suffix}/service.ts"),
            test: format!("src/lib/{k}{suffix}/service.test.ts"),
            validation: format!("src/lib/validation/{k}{suffix}.ts"),
            route: format!("src/app/api/{kp}{suffix}/route.ts"),
            item_route: format!("src/app/api/{kp}{suffix}/[id]/route.ts"),
            card: format!("src/components/{p}{suffix}Card.tsx"),
            list: format!("src/components/{p}{suffix}List.tsx"),
            hook: format!("src/hooks/use{}{suffix}.ts", pascal(plural)),
        }
    }

    fn import_path(path: &str) -> String {
        format!(
            "@/{}",
            path.trim_start_matches("src/")
                .trim_end_matches(".tsx")
                .trim_end_matches(".ts")
        )
    }

    /// The files of one entity module.
    pub fn entity_files(
        e: &str,
        plural: &str,
        fields: &[&str],
        suffix: &str,
    ) -> Vec<(String, String)> {
        let p = pascal(e);
        let pp = pascal(plural);
        let ps = paths(e, plural, suffix);
        let field_lines: String = fields
            .iter()
            .map(|f| format!("  {f}: {};\n", ts_type(f)))
            .collect();
        let first = fields.first().copied().unwrap_or("name");
        let types = format!(
            "/** A {p} as the app sees it. */\nexport interface {p} {{\n  id: string;\n{field_lines}  createdAt: Date;\n}}\n\nexport type {p}Input = Omit<{p}, 'id' | 'createdAt'>;\n"
        );
        let repository = format!(
            "import {{ prisma }} from '@/lib/db';\nimport type {{ {p}, {p}Input }} from '{types}';\n\nexport async function find{p}ById(id: string): Promise<{p} | null> {{\n  return prisma.{e}.findUnique({{ where: {{ id }} }});\n}}\n\nexport async function list{pp}(page = 1, pageSize = 20): Promise<{p}[]> {{\n  return prisma.{e}.findMany({{ skip: (page - 1) * pageSize, take: pageSize, orderBy: {{ createdAt: 'desc' }} }});\n}}\n\nexport async function insert{p}(data: {p}Input): Promise<{p}> {{\n  return prisma.{e}.create({{ data }});\n}}\n\nexport async function remove{p}(id: string): Promise<void> {{\n  await prisma.{e}.delete({{ where: {{ id }} }});\n}}\n",
            types = import_path(&ps.types)
        );
        let service = format!(
            "import {{ find{p}ById, insert{p}, list{pp}, remove{p} }} from './repository';\nimport {{ validate{p}Input }} from '{validation}';\nimport {{ logger }} from '@/lib/logger';\nimport type {{ {p}, {p}Input }} from '{types}';\n\nexport async function get{p}(id: string): Promise<{p}> {{\n  const found = await find{p}ById(id);\n  if (!found) throw new Error('{p} not found');\n  return found;\n}}\n\nexport async function browse{pp}(page: number): Promise<{p}[]> {{\n  return list{pp}(page);\n}}\n\nexport async function create{p}(input: {p}Input): Promise<{p}> {{\n  const data = validate{p}Input(input);\n  logger.info('creating {e}', {{ {first}: data.{first} }});\n  return insert{p}(data);\n}}\n\nexport async function delete{p}(id: string): Promise<void> {{\n  await remove{p}(id);\n}}\n",
            validation = import_path(&ps.validation),
            types = import_path(&ps.types)
        );
        let test = format!(
            "import {{ describe, it, expect }} from 'vitest';\nimport {{ create{p}, get{p} }} from './service';\n\ndescribe('{e} service', () => {{\n  it('creates a {e}', async () => {{\n    const created = await create{p}({{}} as never);\n    expect(created).toBeDefined();\n  }});\n\n  it('throws when the {e} is missing', async () => {{\n    await expect(get{p}('missing')).rejects.toThrow();\n  }});\n}});\n"
        );
        let checks: String = fields
            .iter()
            .map(|f| {
                format!("  if (input.{f} === undefined) throw new Error('{f} is required');\n")
            })
            .collect();
        let validation = format!(
            "import type {{ {p}Input }} from '{types}';\n\nexport function validate{p}Input(input: {p}Input): {p}Input {{\n{checks}  return input;\n}}\n",
            types = import_path(&ps.types)
        );
        let route = format!(
            "import {{ NextResponse }} from 'next/server';\nimport {{ getSession }} from '@/lib/session';\nimport {{ browse{pp}, create{p} }} from '{service}';\n\nexport async function GET(req: Request) {{\n  await getSession(req);\n  const page = Number(new URL(req.url).searchParams.get('page') ?? '1');\n  return NextResponse.json(await browse{pp}(page));\n}}\n\nexport async function POST(req: Request) {{\n  await getSession(req);\n  const body = await req.json();\n  return NextResponse.json(await create{p}(body), {{ status: 201 }});\n}}\n",
            service = import_path(&ps.service)
        );
        let item_route = format!(
            "import {{ NextResponse }} from 'next/server';\nimport {{ getSession }} from '@/lib/session';\nimport {{ delete{p}, get{p} }} from '{service}';\n\nexport async function GET(req: Request, {{ params }}: {{ params: {{ id: string }} }}) {{\n  await getSession(req);\n  return NextResponse.json(await get{p}(params.id));\n}}\n\nexport async function DELETE(req: Request, {{ params }}: {{ params: {{ id: string }} }}) {{\n  await getSession(req);\n  await delete{p}(params.id);\n  return new NextResponse(null, {{ status: 204 }});\n}}\n",
            service = import_path(&ps.service)
        );
        let rows: String = fields
            .iter()
            .map(|f| format!("      <dd>{{String({e}.{f} ?? '')}}</dd>\n"))
            .collect();
        let card = format!(
            "import type {{ {p} }} from '{types}';\nimport {{ formatDate }} from '@/lib/format';\n\nexport function {p}{suffix}Card({{ {e} }}: {{ {e}: {p} }}) {{\n  return (\n    <dl className=\"card\">\n{rows}      <dd>{{formatDate({e}.createdAt)}}</dd>\n    </dl>\n  );\n}}\n",
            types = import_path(&ps.types)
        );
        let list = format!(
            "'use client';\nimport {{ {p}{suffix}Card }} from './{p}{suffix}Card';\nimport {{ use{pp} }} from '{hook}';\n\nexport function {p}{suffix}List() {{\n  const {{ data, loading }} = use{pp}();\n  if (loading) return <p>Loading…</p>;\n  return <ul>{{data.map((item) => <li key={{item.id}}><{p}{suffix}Card {e}={{item}} /></li>)}}</ul>;\n}}\n",
            hook = import_path(&ps.hook)
        );
        let kp = kebab(plural);
        let hook = format!(
            "import {{ useEffect, useState }} from 'react';\nimport {{ apiGet }} from '@/lib/api-client';\nimport type {{ {p} }} from '{types}';\n\nexport function use{pp}() {{\n  const [data, setData] = useState<{p}[]>([]);\n  const [loading, setLoading] = useState(true);\n  useEffect(() => {{\n    apiGet<{p}[]>('/api/{kp}{suffix}').then(setData).finally(() => setLoading(false));\n  }}, []);\n  return {{ data, loading }};\n}}\n",
            types = import_path(&ps.types)
        );
        vec![
            (ps.types, types),
            (ps.repository, repository),
            (ps.service, service),
            (ps.test, test),
            (ps.validation, validation),
            (ps.route, route),
            (ps.item_route, item_route),
            (ps.card, card),
            (ps.list, list),
            (ps.hook, hook),
        ]
    }

    fn shared_files(entities: &[(String, String, Vec<String>)]) -> Vec<(String, String)> {
        let mut schema = String::from(
            "generator client {\n  provider = \"prisma-client-js\"\n}\n\ndatasource db {\n  provider = \"postgresql\"\n  url      = env(\"DATABASE_URL\")\n}\n",
        );
        for (e, _, fields) in entities {
            schema.push_str(&format!(
                "\nmodel {} {{\n  id        String   @id @default(cuid())\n",
                pascal(e)
            ));
            for f in fields {
                schema.push_str(&format!("  {f} {}\n", prisma_type(f)));
            }
            schema.push_str("  createdAt DateTime @default(now())\n}\n");
        }
        vec![
            ("package.json".into(), "{\n  \"name\": \"acme-workspace\",\n  \"version\": \"0.3.0\",\n  \"private\": true,\n  \"scripts\": { \"dev\": \"next dev\", \"build\": \"next build\", \"test\": \"vitest run\", \"lint\": \"next lint\" },\n  \"dependencies\": { \"next\": \"14.2.3\", \"react\": \"^18.3.1\", \"@prisma/client\": \"^5.14.0\", \"zod\": \"^3.23.0\" },\n  \"devDependencies\": { \"typescript\": \"^5.4.5\", \"prisma\": \"^5.14.0\", \"vitest\": \"^1.6.0\" }\n}\n".into()),
            ("pnpm-lock.yaml".into(), "lockfileVersion: '9.0'\n".into()),
            ("tsconfig.json".into(), "{\n  // Next.js app\n  \"compilerOptions\": {\n    \"strict\": true,\n    \"jsx\": \"preserve\",\n    \"paths\": { \"@/*\": [\"./src/*\"] },\n  },\n}\n".into()),
            ("next.config.mjs".into(), "export default { reactStrictMode: true };\n".into()),
            (".gitignore".into(), "node_modules/\n.next/\n.env\n".into()),
            ("prisma/schema.prisma".into(), schema),
            ("docs/gitkeeper.md".into(), "# Acme workspace — gitkeeper\n\nNext.js App Router with Prisma. API routes call `getSession()` first.\n\n## Protected paths\n- `prisma/migrations/`\n\n## Forbidden patterns\n- `console.log(` in `src/**` — use `logger`\n\n## Conventions\n- One feature module per entity under `src/lib/<entity>/`.\n".into()),
            ("README.md".into(), "# Acme workspace\n\nProjects, tasks, invoices, teams and more. Run `pnpm dev`.\n".into()),
            ("src/lib/db.ts".into(), "import { PrismaClient } from '@prisma/client';\n\nexport const prisma = new PrismaClient();\n".into()),
            ("src/lib/session.ts".into(), "import { cookies } from 'next/headers';\nimport { prisma } from './db';\n\nexport async function getSession(req: Request) {\n  const token = cookies().get('session')?.value;\n  if (!token) throw new Error('unauthorized');\n  return prisma.session.findUnique({ where: { token } });\n}\n".into()),
            ("src/lib/logger.ts".into(), "export const logger = {\n  info: (msg: string, data?: unknown) => process.stdout.write(`${msg} ${JSON.stringify(data)}\\n`),\n  error: (msg: string, data?: unknown) => process.stderr.write(`${msg} ${JSON.stringify(data)}\\n`),\n};\n".into()),
            ("src/lib/format.ts".into(), "export function formatDate(d: Date | null): string {\n  return d ? d.toISOString().slice(0, 10) : '';\n}\n\nexport function formatCents(cents: number): string {\n  return (cents / 100).toFixed(2);\n}\n".into()),
            ("src/lib/api-client.ts".into(), "export async function apiGet<T>(url: string): Promise<T> {\n  const res = await fetch(url);\n  if (!res.ok) throw new Error(`GET ${url} failed`);\n  return res.json() as Promise<T>;\n}\n".into()),
            ("src/app/layout.tsx".into(), "export default function RootLayout({ children }: { children: React.ReactNode }) {\n  return <html lang=\"en\"><body>{children}</body></html>;\n}\n".into()),
            ("src/app/page.tsx".into(), "export default function Home() {\n  return <main>Welcome</main>;\n}\n".into()),
            ("src/app/api/auth/route.ts".into(), "import { NextResponse } from 'next/server';\nimport { prisma } from '@/lib/db';\n\nexport async function POST(req: Request) {\n  const { email } = await req.json();\n  const user = await prisma.user.findUnique({ where: { email } });\n  return NextResponse.json({ ok: Boolean(user) });\n}\n".into()),
            ("src/components/ui/Button.tsx".into(), "export function Button(props: React.ButtonHTMLAttributes<HTMLButtonElement>) {\n  return <button className=\"btn\" {...props} />;\n}\n".into()),
            ("public/logo.png".into(), "\u{0}PNG".into()),
        ]
    }

    fn write_all(dir: &Path, files: &[(String, String)]) -> Result<()> {
        for (path, text) in files {
            let p = dir.join(path);
            if let Some(parent) = p.parent() {
                fs::create_dir_all(parent)?;
            }
            fs::write(p, text)?;
        }
        Ok(())
    }

    /// A 5,000-file-scale repository: entity modules repeated with suffixes.
    pub fn large_repo(dir: &Path, target_files: usize) -> Result<usize> {
        let mut entities: Vec<(String, String, Vec<String>)> = Vec::new();
        let mut files: Vec<(String, String)> = Vec::new();
        let mut round = 0;
        'outer: loop {
            for (e, plural, _, fields) in ENTITIES {
                if files.len() + 10 > target_files.saturating_sub(20) {
                    break 'outer;
                }
                let suffix = if round == 0 {
                    String::new()
                } else {
                    round.to_string()
                };
                files.extend(entity_files(e, plural, fields, &suffix));
                if round == 0 {
                    entities.push((
                        e.to_string(),
                        plural.to_string(),
                        fields.iter().map(|s| s.to_string()).collect(),
                    ));
                }
            }
            round += 1;
        }
        files.extend(shared_files(&entities));
        let mut i = 0;
        while files.len() < target_files {
            files.push((
                format!("docs/notes/note-{i:04}.md"),
                format!("# Note {i}\n\nMeeting notes about sprint {i}.\n"),
            ));
            i += 1;
        }
        write_all(dir, &files)?;
        Ok(files.len())
    }

    /// A change to make and describe.
    struct Change {
        message: String,
        edits: Vec<(String, Edit)>,
    }

    enum Edit {
        /// Insert a line before the first closing `}` line of the file.
        InsertField(String),
        /// Append text.
        Append(String),
    }

    fn apply(dir: &Path, path: &str, edit: &Edit) -> Result<()> {
        let p = dir.join(path);
        let text = fs::read_to_string(&p)?;
        let new = match edit {
            Edit::InsertField(line) => match text.find("\n}\n") {
                Some(i) => format!("{}\n{line}{}", &text[..i], &text[i..]),
                None => format!("{text}{line}\n"),
            },
            Edit::Append(more) => format!("{text}\n{more}"),
        };
        fs::write(p, new)?;
        Ok(())
    }

    const NEW_FIELDS: &[&str] = &[
        "archivedAt",
        "description",
        "externalId",
        "notes",
        "visibility",
        "sortOrder",
        "deletedAt",
        "color",
    ];

    fn change(rng: &mut Rng, n: usize) -> Change {
        let (e, plural, human, _) = *rng.pick(ENTITIES);
        let ps = paths(e, plural, "");
        let p = pascal(e);
        let pp = pascal(plural);
        let humans = if human.ends_with('y') && !human.ends_with("ey") {
            format!("{}ies", &human[..human.len() - 1])
        } else if human.ends_with('s') {
            format!("{human}es")
        } else {
            format!("{human}s")
        };
        let field = *rng.pick(NEW_FIELDS);
        let words = field_words(field);
        let append = |s: &str| {
            Edit::Append(format!(
                "// change {n}: {s}\nexport const change{n} = {n};\n"
            ))
        };
        match rng.below(9) {
            0 => Change {
                message: match rng.below(3) {
                    0 => format!("Add {words} to {humans}\n\nStore the {words} on each {human} and show it on the card."),
                    1 => format!("Track {words} for {humans}"),
                    _ => format!("{p}: add `{field}` field and display it"),
                },
                edits: vec![
                    (ps.types.clone(), Edit::InsertField(format!("  {field}: string | null;"))),
                    (ps.repository.clone(), append("select the new field")),
                    (ps.card.clone(), append("render the new field")),
                ],
            },
            1 => Change {
                message: match rng.below(2) {
                    0 => format!("Fix pagination of the {humans} API\n\nThe page size was ignored when listing {humans}."),
                    _ => format!("{humans} endpoint returns duplicates on page 2"),
                },
                edits: vec![
                    (ps.route.clone(), append("clamp page")),
                    (ps.repository.clone(), append("stable order for paging")),
                ],
            },
            2 => Change {
                message: match rng.below(2) {
                    0 => format!("Validate {human} input before saving\n\nReject empty values in create{p}."),
                    _ => format!("Reject invalid {humans} on create"),
                },
                edits: vec![
                    (ps.validation.clone(), append("stricter checks")),
                    (ps.service.clone(), append("call validation first")),
                    (ps.test.clone(), append("test invalid input")),
                ],
            },
            3 => Change {
                message: match rng.below(2) {
                    0 => format!("Show a loading spinner in the {human} list"),
                    _ => format!("Polish the {humans} list UI"),
                },
                edits: vec![
                    (ps.list.clone(), append("spinner")),
                    (ps.card.clone(), append("card spacing")),
                ],
            },
            4 => Change {
                message: format!("Handle errors in use{pp}\n\nSurface failed requests from the {humans} endpoint instead of spinning forever."),
                edits: vec![
                    (ps.hook.clone(), append("error state")),
                    ("src/lib/api-client.ts".to_string(), append("typed errors")),
                ],
            },
            5 => Change {
                message: format!("Make get{p} return 404 for missing {humans}"),
                edits: vec![
                    (ps.service.clone(), append("not found error type")),
                    (ps.item_route.clone(), append("map not found to 404")),
                ],
            },
            6 => Change {
                message: format!("Add tests for deleting {humans}"),
                edits: vec![
                    (ps.test.clone(), append("delete tests")),
                    (ps.service.clone(), append("delete returns count")),
                ],
            },
            7 => Change {
                message: match rng.below(2) {
                    0 => "Log failed sign-ins\n\nRecord a warning in the logger when the session cookie is missing.".to_string(),
                    _ => "Session lookup should log the reason for unauthorized requests".to_string(),
                },
                edits: vec![
                    ("src/lib/session.ts".to_string(), append("log missing cookie")),
                    ("src/lib/logger.ts".to_string(), append("warn level")),
                ],
            },
            _ => Change {
                message: format!("Format {human} dates consistently\n\nUse formatDate everywhere on the {human} card."),
                edits: vec![
                    (ps.card.clone(), append("use formatDate")),
                    ("src/lib/format.ts".to_string(), append("locale aware formatDate")),
                ],
            },
        }
    }

    fn field_words(field: &str) -> String {
        let mut out = String::new();
        for ch in field.chars() {
            if ch.is_ascii_uppercase() {
                out.push(' ');
                out.push(ch.to_ascii_lowercase());
            } else {
                out.push(ch);
            }
        }
        match out.as_str() {
            "archived at" => "an archive date".to_string(),
            "deleted at" => "soft deletion".to_string(),
            "external id" => "an external ID".to_string(),
            "sort order" => "a manual sort order".to_string(),
            _ => out,
        }
    }

    /// Creates the app with `commits` commits after the initial one.
    pub fn history_repo(dir: &Path, commits: usize) -> Result<usize> {
        fs::create_dir_all(dir)?;
        git(dir, &["init", "-q", "-b", "main"])?;
        git(dir, &["config", "commit.gpgsign", "false"])?;
        let entities: Vec<(String, String, Vec<String>)> = ENTITIES
            .iter()
            .map(|(e, p, _, f)| {
                (
                    e.to_string(),
                    p.to_string(),
                    f.iter().map(|s| s.to_string()).collect(),
                )
            })
            .collect();
        let mut files = shared_files(&entities);
        for (e, plural, _, fields) in ENTITIES {
            files.extend(entity_files(e, plural, fields, ""));
        }
        write_all(dir, &files)?;
        git(dir, &["add", "-A"])?;
        git(dir, &["commit", "-q", "-m", "Initial commit"])?;
        let mut rng = Rng::new(0x5eed_cafe);
        for n in 0..commits {
            let change = change(&mut rng, n);
            for (path, edit) in &change.edits {
                apply(dir, path, edit)?;
            }
            git(dir, &["add", "-A"])?;
            git(dir, &["commit", "-q", "-m", &change.message])?;
        }
        Ok(commits)
    }
}
