//! `gitkeeper-runner`: the program that runs on the Mac next to Ollama or LM
//! Studio. Until the runner issue lands it only reports its version.

use clap::Parser;

/// Serve Gitkeeper's local-tier generation requests from this machine.
#[derive(Parser)]
#[command(version, about)]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
    println!(
        "gitkeeper-runner {} (runner protocol v{}); serving requests is not implemented yet",
        env!("CARGO_PKG_VERSION"),
        gitkeeper_runner_protocol::PROTOCOL_VERSION
    );
}
