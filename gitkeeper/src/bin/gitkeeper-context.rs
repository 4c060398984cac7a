//! `gitkeeper-context <repo> --task "..."`: prints the context package a model
//! would get for a task, as prompt text or (`--json`) as JSON. Reads only the
//! given directory; no network.

use std::path::PathBuf;
use std::process::ExitCode;

use gitkeeper::context::{self, ContextOptions};

const USAGE: &str = "usage: gitkeeper-context <repo-dir> --task \"<task text>\" [--json] [--max-tokens N] [--max-files N] [--doc PATH]... [--schema PATH]";

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("gitkeeper-context: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Vec<String>) -> Result<(), String> {
    let mut repo: Option<PathBuf> = None;
    let mut task: Option<String> = None;
    let mut json = false;
    let mut options = ContextOptions::default();
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value\n{USAGE}"));
        match arg.as_str() {
            "--task" => task = Some(value("--task")?),
            "--json" => json = true,
            "--max-tokens" => {
                options.max_tokens = value("--max-tokens")?
                    .parse()
                    .map_err(|_| "--max-tokens takes a number".to_string())?;
            }
            "--max-files" => {
                options.max_files = value("--max-files")?
                    .parse()
                    .map_err(|_| "--max-files takes a number".to_string())?;
            }
            "--doc" => options.doc_paths.push(value("--doc")?),
            "--schema" => options.schema_path = Some(value("--schema")?),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other if other.starts_with('-') => {
                return Err(format!("unknown option {other}\n{USAGE}"));
            }
            other if repo.is_none() => repo = Some(PathBuf::from(other)),
            other => return Err(format!("unexpected argument {other}\n{USAGE}")),
        }
    }
    let repo = repo.ok_or(format!("the repository directory is missing\n{USAGE}"))?;
    let task = task.ok_or(format!("--task is missing\n{USAGE}"))?;
    let pkg = context::build(&repo, &task, &options).map_err(|e| e.to_string())?;
    if json {
        println!("{}", pkg.to_json().map_err(|e| e.to_string())?);
    } else {
        print!("{}", pkg.render_for_prompt());
        eprintln!(
            "{} files, {} of {} tokens",
            pkg.files.len(),
            pkg.budget.used_tokens,
            pkg.budget.max_tokens
        );
        for warning in &pkg.warnings {
            eprintln!("warning: {warning}");
        }
    }
    Ok(())
}
