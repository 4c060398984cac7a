//! `gitkeeper-validate <repo> [--level L] [--json] [FILE]...`: prints the
//! commands that would validate a change at a level (from
//! `.github/gitkeeper.yml` or detected) and runs the static checks on the
//! given changed files. Runs no command itself; no network. Exits 1 when a
//! static check fails, 2 on a usage or configuration error.

use std::path::PathBuf;
use std::process::ExitCode;

use gitkeeper::context::ContextOptions;
use gitkeeper::validate::{ChangedFile, Contract, ValidationLevel, check_changes, plan_commands};

const USAGE: &str = "usage: gitkeeper-validate <repo-dir> [--level quick|standard|complex|critical] [--json] [--doc PATH]... [--schema PATH] [CHANGED-FILE]...";

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(message) => {
            eprintln!("gitkeeper-validate: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Vec<String>) -> Result<bool, String> {
    let mut repo: Option<PathBuf> = None;
    let mut files: Vec<String> = Vec::new();
    let mut level = ValidationLevel::Standard;
    let mut json = false;
    let mut options = ContextOptions::default();
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value\n{USAGE}"));
        match arg.as_str() {
            "--level" => level = value("--level")?.parse()?,
            "--json" => json = true,
            "--doc" => options.doc_paths.push(value("--doc")?),
            "--schema" => options.schema_path = Some(value("--schema")?),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(true);
            }
            other if other.starts_with('-') => {
                return Err(format!("unknown option {other}\n{USAGE}"));
            }
            other if repo.is_none() => repo = Some(PathBuf::from(other)),
            other => files.push(other.to_string()),
        }
    }
    let repo = repo.ok_or(format!("the repository directory is missing\n{USAGE}"))?;
    let plan = plan_commands(&repo).map_err(|e| e.to_string())?;
    let level_plan = plan.for_level(level);
    let contract = Contract::load(&repo, &options).map_err(|e| e.to_string())?;
    let changes = ChangedFile::from_paths(&repo, &files);
    let report = check_changes(&repo, &changes, &contract);
    if json {
        let out = serde_json::json!({
            "plan": plan,
            "level": level_plan,
            "dependency_cache_key": plan.dependency_cache_key(),
            "static": report,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?
        );
    } else {
        println!("commands at level {}:", level.as_str());
        for c in &level_plan.commands {
            let net = if c.network { " (network)" } else { "" };
            println!("  [{}] {}{net}", c.stage, c.argv.join(" "));
        }
        if level_plan.semantic_check {
            println!("  + semantic checker");
        }
        if level_plan.human_review {
            println!("  + human review label");
        }
        for note in &plan.notes {
            eprintln!("note: {note}");
        }
        if !files.is_empty() {
            if report.passed() {
                println!("static checks: {} file(s) passed", report.checked.len());
            } else {
                println!("static checks failed:");
                print!("{}", report.feedback(usize::MAX));
            }
            for skipped in &report.skipped {
                eprintln!("skipped {}: {}", skipped.path, skipped.reason);
            }
        }
    }
    Ok(report.passed())
}
