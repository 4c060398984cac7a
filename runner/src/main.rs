//! `gitkeeper-runner`: parses the command line and calls into the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use gitkeeper_runner::config::RunnerConfig;
use tokio_util::sync::CancellationToken;

/// Serve Gitkeeper's local-tier generation requests from this machine.
#[derive(Parser)]
#[command(version, about, propagate_version = true)]
struct Cli {
    /// Configuration file; a missing file means defaults plus GITKEEPER_RUNNER__* variables.
    #[arg(
        long,
        global = true,
        default_value = "gitkeeper-runner.toml",
        env = "GITKEEPER_RUNNER_CONFIG"
    )]
    config: PathBuf,
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Connect to the bot and serve requests until SIGTERM (the default).
    Run,
    /// Check the bot, the token, the local servers and the required models; measure tokens/s.
    Doctor,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match RunnerConfig::load(&cli.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("gitkeeper-runner: {e}");
            return ExitCode::from(2);
        }
    };
    init_logging(&config.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("gitkeeper-runner: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        match cli.command.unwrap_or(Cmd::Run) {
            Cmd::Doctor => {
                let report =
                    gitkeeper_runner::doctor::run(&config, &|var| std::env::var(var).ok()).await;
                print!("{}", report.text);
                if report.failures == 0 {
                    println!("all checks passed");
                    ExitCode::SUCCESS
                } else {
                    println!("{} check(s) failed", report.failures);
                    ExitCode::FAILURE
                }
            }
            Cmd::Run => {
                let shutdown = CancellationToken::new();
                let signal = shutdown.clone();
                tokio::spawn(async move {
                    wait_for_signal().await;
                    tracing::info!("shutdown requested: draining");
                    signal.cancel();
                });
                match gitkeeper_runner::serve::run(config, shutdown).await {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => {
                        eprintln!("gitkeeper-runner: {e}");
                        ExitCode::from(2)
                    }
                }
            }
        }
    })
}

fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = if format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    if let Err(e) = result {
        eprintln!("logging was already set up: {e}");
    }
}

async fn wait_for_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
