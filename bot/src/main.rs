//! `gitkeeper-bot`: parses the command line and calls into the library.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use gitkeeper_bot::config::Settings;
use gitkeeper_bot::queue::{self, JobState, now_ms};
use gitkeeper_bot::runner_api::auth;
use secrecy::ExposeSecret;

/// Gitkeeper: turns labelled GitHub issues into validated pull requests.
#[derive(Parser)]
#[command(version, about, propagate_version = true)]
struct Cli {
    /// Configuration file; a missing file means all defaults.
    #[arg(
        long,
        global = true,
        default_value = "gitkeeper.toml",
        env = "GITKEEPER_CONFIG"
    )]
    config: PathBuf,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the webhook server and the workers.
    Serve,
    /// List jobs from the configured database.
    Jobs {
        /// Only jobs in this state (queued, running, waiting, succeeded, failed, cancelled).
        #[arg(long)]
        state: Option<String>,
        /// How many, newest first.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Create or upgrade the database tables, then exit.
    Migrate,
    /// Delete what `[retention]` lets go (old webhook deliveries, finished
    /// jobs, stored prompts) once, and print how many of each went.
    Prune {
        /// Count what would be deleted; delete nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Print the effective configuration with secrets redacted.
    CheckConfig,
    /// Print the context package a model would get for a task in a local
    /// repository: files chosen and why, schema summary, token budget.
    Context {
        /// The repository's directory (a checkout; nothing is fetched).
        repo: PathBuf,
        /// The task, as an issue would state it.
        #[arg(long)]
        task: String,
        /// Print the whole package as JSON instead of a summary.
        #[arg(long, conflicts_with = "prompt")]
        json: bool,
        /// Print the prompt text the model would read instead of a summary.
        #[arg(long)]
        prompt: bool,
        /// Token budget, instead of `[context] max_tokens`.
        #[arg(long)]
        max_tokens: Option<usize>,
        /// File limit, instead of `[context] max_files`.
        #[arg(long)]
        max_files: Option<usize>,
    },
    /// Try Gitkeeper on a local git repository without GitHub: build the
    /// context, route the task, run the models, and commit the validated
    /// change on a new branch gitkeeper/solve-<slug> (your checkout is not touched).
    Solve {
        /// The repository (any directory inside it).
        repo_dir: PathBuf,
        /// What to do; the first line is the title.
        #[arg(long)]
        task: String,
        /// Print the diff instead of committing.
        #[arg(long)]
        dry_run: bool,
        /// Issue labels to route by (e.g. gitkeeper:local, bug); repeatable.
        #[arg(long = "label")]
        labels: Vec<String>,
        /// Start this many tiers higher, like `/gitkeeper escalate`.
        #[arg(long, default_value_t = 0)]
        escalate: u32,
        /// Allow paid tiers when [route] require_approval_for_cloud is set.
        #[arg(long)]
        approve_cloud: bool,
    },
    /// Measure what the bot resolves: run a suite's tasks (tests/eval/<suite>)
    /// through the same task path as `solve`, judge each with its hidden
    /// check, and write a table, results.jsonl and report.html.
    Eval {
        /// The suite's folder (holding suite.toml and one folder per task).
        suite_dir: PathBuf,
        /// A second configuration to run on the same tasks, alternating with --config.
        #[arg(long)]
        compare: Option<PathBuf>,
        /// Print the results as JSONL (one line per task run) instead of the table.
        #[arg(long)]
        json: bool,
        /// Where results.jsonl and report.html go (default ./eval-out/<timestamp>/).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Run only these task ids (comma-separated).
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
        /// Also run a baseline on the same tasks, alternating: `raw` asks the
        /// model the bot starts with once, for whole files, given only the
        /// task and the files the reference solution touches (no context
        /// package, no validation); the table reports the bot against it.
        #[arg(long, value_enum)]
        baseline: Option<EvalBaseline>,
    },
    /// Create or revoke the tokens runners authenticate with.
    RunnerToken {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// List runners: their models, load and when they were last heard from.
    Runners {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// What the task records say: tasks by type and outcome, success by
    /// model and tier, local share, tokens and cost, cost saved, time to
    /// pull request, fallback, how pull requests ended, worker/checker pairs.
    Stats {
        /// Only this repository (owner/name).
        #[arg(long)]
        repo: Option<String>,
        /// Only tasks recorded this recently: 30m, 12h, 7d, 2w (default: all).
        #[arg(long)]
        since: Option<String>,
        /// Print JSON instead of tables.
        #[arg(long)]
        json: bool,
        /// Where the code went instead: per task, which files and how many
        /// tokens went to which provider and model.
        #[arg(long)]
        privacy: bool,
    },
    /// Propose escalation-ladder and model-setting changes from the task
    /// records and eval results, with their expected effect; --apply writes
    /// them to the configuration file.
    Tune {
        /// An eval run's results.jsonl (or its folder); repeatable.
        #[arg(long = "eval")]
        eval: Vec<PathBuf>,
        /// Only task records this recent: 30m, 12h, 7d, 2w (default: all).
        #[arg(long)]
        since: Option<String>,
        /// Write the proposals to the configuration file, each with a comment.
        #[arg(long)]
        apply: bool,
        /// Print the proposals as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Export finished tasks (task, context, final diff, validation, merged)
    /// as JSON Lines for fine-tuning a local model.
    Export {
        /// Only tasks recorded this recently: 30m, 12h, 7d, 2w (default: all).
        #[arg(long)]
        since: Option<String>,
        /// The output format (jsonl).
        #[arg(long, default_value = "jsonl", value_parser = ["jsonl"])]
        format: String,
        /// Also export tasks that touched local-only paths.
        #[arg(long)]
        include_local_only: bool,
    },
}

#[derive(Subcommand)]
enum TokenAction {
    /// Create a token for runner NAME and print it once (only its hash is stored).
    Create { name: String },
    /// Revoke runner NAME's token; requests it holds go back in the queue.
    Revoke { name: String },
}

/// A baseline `eval` runs beside the bot.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum EvalBaseline {
    /// The model asked once, for whole files, with the task and the files
    /// the reference solution touches: no context package, no validation.
    Raw,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(&cli.config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("gitkeeper-bot: {e}");
            return ExitCode::from(2);
        }
    };
    gitkeeper_bot::telemetry::init(&settings.log);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("gitkeeper-bot: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, settings, &cli.config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gitkeeper-bot: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Cmd, settings: Settings, config: &std::path::Path) -> anyhow::Result<()> {
    match command {
        Cmd::Serve => gitkeeper_bot::serve::serve(settings).await?,
        Cmd::Migrate => {
            let store =
                queue::open(&settings.database_url(), settings.database.max_connections).await?;
            println!("{} job store is up to date", store.backend());
        }
        Cmd::Prune { dry_run } => {
            let store =
                queue::open(&settings.database_url(), settings.database.max_connections).await?;
            let r = &settings.retention;
            let pruned = store.prune(&r.periods().cutoffs(now_ms()), dry_run).await?;
            let verb = if dry_run { "would delete" } else { "deleted" };
            println!("{verb} {pruned}");
            let days = |n: u32| match n {
                0 => "forever".to_string(),
                n => format!("{n} days"),
            };
            println!(
                "kept: deliveries {}, finished jobs {}, stored prompts and task samples {}; unfinished jobs, their deliveries, attempts and task records always",
                days(r.deliveries_days),
                days(r.finished_jobs_days),
                days(r.prompts_days)
            );
        }
        Cmd::CheckConfig => print!("{}", settings.redacted_toml()),
        Cmd::Context {
            repo,
            task,
            json,
            prompt,
            max_tokens,
            max_files,
        } => {
            let mut options =
                gitkeeper::validate::repo_context_options(&repo, settings.context.options())?;
            options.max_tokens = max_tokens.unwrap_or(options.max_tokens);
            options.max_files = max_files.unwrap_or(options.max_files);
            let package = gitkeeper::context::build(&repo, &task, &options)?;
            if json {
                println!("{}", package.to_json()?);
            } else if prompt {
                print!("{}", package.render_for_prompt());
            } else {
                print!("{}", package.render_summary());
            }
        }
        Cmd::Solve {
            repo_dir,
            task,
            dry_run,
            labels,
            escalate,
            approve_cloud,
        } => {
            let options = gitkeeper_bot::solve::SolveOptions {
                repo_dir,
                task,
                labels,
                escalations: escalate,
                dry_run,
                approve_cloud,
            };
            let report = gitkeeper_bot::solve::solve(&settings, &options).await?;
            print!("{report}");
            if !report.succeeded() {
                anyhow::bail!("no change was made (see Result above)");
            }
        }
        Cmd::Eval {
            suite_dir,
            compare,
            json,
            out,
            only,
            baseline,
        } => {
            use gitkeeper_bot::eval;
            let (a, b) = eval::labels(config, compare.as_deref());
            let mut configs = vec![eval::EvalConfig::bot(a, settings.clone())];
            if baseline == Some(EvalBaseline::Raw) {
                anyhow::ensure!(
                    configs.iter().all(|c| c.label != eval::raw::RAW_LABEL)
                        && b.as_deref() != Some(eval::raw::RAW_LABEL),
                    "a configuration file is named `{}`, like the raw baseline: rename it",
                    eval::raw::RAW_LABEL
                );
                configs.push(eval::EvalConfig::raw(settings));
            }
            if let (Some(path), Some(label)) = (&compare, b) {
                let settings = Settings::load(path)
                    .with_context(|| format!("--compare {}", path.display()))?;
                configs.push(eval::EvalConfig::bot(label, settings));
            }
            let options = eval::EvalOptions {
                suite_dir,
                configs,
                only,
                out_dir: out.unwrap_or_else(eval::default_out_dir),
            };
            let run = eval::eval(&options, |r| {
                eprintln!(
                    "{} [{}]: {}{}",
                    r.task,
                    r.config,
                    if r.false_pass {
                        "FALSE PASS"
                    } else if r.resolved {
                        "resolved"
                    } else if r.validated {
                        "validated"
                    } else {
                        "unresolved"
                    },
                    r.failure
                        .as_deref()
                        .map(|f| format!(" ({})", f.lines().next().unwrap_or("")))
                        .unwrap_or_default()
                )
            })
            .await?;
            if json {
                print!("{}", eval::report::jsonl(&run.results)?);
            } else {
                print!("{}", eval::report::table(&run.results));
                println!(
                    "\nResults: {}\nReport:  {}",
                    run.jsonl_path.display(),
                    run.html_path.display()
                );
            }
        }
        Cmd::RunnerToken { action } => {
            let store =
                queue::open(&settings.database_url(), settings.database.max_connections).await?;
            match action {
                TokenAction::Create { name } => {
                    anyhow::ensure!(
                        auth::valid_name(&name),
                        "runner name {name:?} is not valid: use 1 to 64 letters, digits, '-', '_' or '.'"
                    );
                    let token = auth::new_token();
                    let created = store
                        .create_runner_token(
                            &name,
                            &auth::token_hash(token.expose_secret()),
                            now_ms(),
                        )
                        .await?;
                    anyhow::ensure!(
                        created,
                        "runner {name} already has a token: revoke it first with `gitkeeper-bot runner-token revoke {name}`"
                    );
                    eprintln!(
                        "Token for runner {name} (shown once; only its SHA-256 is stored). On the runner machine set:"
                    );
                    println!("GITKEEPER_RUNNER__TOKEN={}", token.expose_secret());
                }
                TokenAction::Revoke { name } => {
                    let revoked = store.revoke_runner_token(&name, now_ms()).await?;
                    anyhow::ensure!(
                        revoked,
                        "runner {name} has no active token: `gitkeeper-bot runners` lists the runners"
                    );
                    println!(
                        "revoked the token of runner {name}; requests it held are queued again"
                    );
                }
            }
        }
        Cmd::Runners { json } => {
            let store =
                queue::open(&settings.database_url(), settings.database.max_connections).await?;
            let runners = store
                .runner_list(settings.runner.offline_after(), now_ms())
                .await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&runners)?);
            } else {
                println!(
                    "{:<16} {:<8} {:>5}  {:<10} {:<24} MODELS",
                    "NAME", "STATE", "LOAD", "LAST SEEN", "HARDWARE"
                );
                for r in runners {
                    let state = if r.draining && r.online {
                        "draining"
                    } else if r.online {
                        "online"
                    } else {
                        "offline"
                    };
                    let ago = (now_ms() - r.last_seen_ms).max(0) / 1000;
                    println!(
                        "{:<16} {:<8} {:>2}/{:<2}  {:<10} {:<24} {}",
                        r.name,
                        state,
                        r.active,
                        r.max_concurrency,
                        format!("{ago}s ago"),
                        r.hardware.to_string(),
                        r.models.join(", ")
                    );
                }
            }
        }
        Cmd::Stats {
            repo,
            since,
            json,
            privacy,
        } => {
            use gitkeeper_bot::stats;
            let since = stats::parse_since(since.as_deref())?;
            let store =
                queue::open(&settings.database_url(), settings.database.max_connections).await?;
            let histories = store
                .history(stats::since_ms(since, now_ms()), repo.as_deref())
                .await?;
            let window = match (&since, &repo) {
                (None, None) => "all repositories, all time".to_string(),
                (s, r) => format!(
                    "{}, {}",
                    r.as_deref().unwrap_or("all repositories"),
                    s.map_or("all time".to_string(), |d| format!(
                        "last {}",
                        since_text(d)
                    ))
                ),
            };
            if privacy {
                let ledger = stats::Ledger::of(&histories);
                if json {
                    println!("{}", serde_json::to_string_pretty(&ledger)?);
                } else {
                    print!("{}", stats::render::ledger(&ledger, &window));
                }
            } else {
                let reference = &settings.stats.reference_model;
                let prices = settings
                    .models
                    .get(reference)
                    .context("[stats] reference_model is not a configured model")?;
                let figures = stats::Stats::of(
                    &histories,
                    stats::figures::Reference {
                        model: reference.clone(),
                        price_in: prices.price_in,
                        price_out: prices.price_out,
                    },
                );
                if json {
                    println!("{}", serde_json::to_string_pretty(&figures)?);
                } else {
                    print!("{}", stats::render::stats(&figures, &window));
                }
            }
        }
        Cmd::Tune {
            eval,
            since,
            apply,
            json,
        } => {
            use gitkeeper_bot::{stats, tune};
            let since = stats::parse_since(since.as_deref())?;
            let mut results = Vec::new();
            for path in &eval {
                results.extend(tune::read_results(path)?);
            }
            let store =
                queue::open(&settings.database_url(), settings.database.max_connections).await?;
            let histories = store
                .history(stats::since_ms(since, now_ms()), None)
                .await?;
            let proposals = tune::propose(&settings, &histories, &results);
            if json {
                println!("{}", serde_json::to_string_pretty(&proposals)?);
            } else if proposals.is_empty() {
                println!(
                    "No change to propose from {} task records and {} eval results (a tier needs {} tasks, a model {} calls, before they are judged).",
                    histories.len(),
                    results.len(),
                    tune::MIN_TASKS,
                    tune::MIN_CALLS
                );
            } else {
                for (i, p) in proposals.iter().enumerate() {
                    println!(
                        "{}. {}
   why: {}
   expected: {}",
                        i + 1,
                        p.change,
                        p.evidence,
                        p.effect
                    );
                }
            }
            if apply && !proposals.is_empty() {
                let stamp = format!(
                    "gitkeeper-bot tune {}",
                    chrono::Utc::now().format("%Y-%m-%d")
                );
                tune::apply::apply(config, &settings, &proposals, &stamp)?;
                eprintln!(
                    "wrote {} change(s) to {}, each with a comment; restart the bot to use them",
                    proposals.len(),
                    config.display()
                );
            } else if !proposals.is_empty() {
                eprintln!(
                    "nothing was changed: run `gitkeeper-bot tune --apply` to write these to {}",
                    config.display()
                );
            }
        }
        Cmd::Export {
            since,
            format: _,
            include_local_only,
        } => {
            use gitkeeper_bot::{export, stats};
            let since = stats::since_ms(stats::parse_since(since.as_deref())?, now_ms());
            let store =
                queue::open(&settings.database_url(), settings.database.max_connections).await?;
            let histories = store.history(since, None).await?;
            let samples = store.samples(since).await?;
            let (lines, skipped) = export::lines(&histories, &samples, include_local_only);
            print!("{}", export::jsonl(&lines)?);
            eprintln!(
                "exported {} tasks; left out {} that touched local-only paths (--include-local-only exports them) and {} without a stored sample",
                lines.len(),
                skipped.local_only,
                skipped.no_sample
            );
        }
        Cmd::Jobs { state, limit, json } => {
            let state: Option<JobState> =
                state.map(|s| s.parse()).transpose().context("--state")?;
            let store =
                queue::open(&settings.database_url(), settings.database.max_connections).await?;
            let jobs = store.jobs(state, limit).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&jobs)?);
            } else {
                println!(
                    "{:>6}  {:<10} {:<9} {:>3}  {:<28} LAST ERROR",
                    "ID", "STATE", "KIND", "RUN", "TARGET"
                );
                for job in jobs {
                    let target =
                        format!("{}#{}", job.intent.repo().full_name(), job.intent.number());
                    println!(
                        "{:>6}  {:<10} {:<9} {:>3}  {:<28} {}",
                        job.id,
                        job.state,
                        job.kind,
                        job.attempts,
                        target,
                        job.last_error.unwrap_or_default()
                    );
                }
            }
        }
    }
    Ok(())
}

/// A `--since` duration as people say it (`7d`, `12h`, `30m`).
fn since_text(d: std::time::Duration) -> String {
    let secs = d.as_secs();
    match secs {
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3_600 == 0 => format!("{}h", s / 3_600),
        s => format!("{}m", s / 60),
    }
}
