//! Checkout benchmark (issue 3, point 4): a warm checkout (fetch with nothing
//! new, then writing the commit into a job directory) against
//! `git clone --depth 1` of the same repository from the same server, in the
//! same run. The server is the GitHub double's smart-HTTP git
//! (`git http-backend`) on loopback, so both sides pay the same transport.
//!
//! Run: `cargo bench -p gitkeeper-e2e --bench checkout [-- FILES RUNS]`
//! (defaults: 2000 files, 10 runs).

// Test code: a failed unwrap is a failing test with its message.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use gitkeeper_bot::checkout::{Checkouts, Want};
use gitkeeper_bot::ids::{JobId, RepoId};
use gitkeeper_bot::intent::RepoRef;
use gitkeeper_e2e::github::{GithubDouble, GithubDoubleOptions};
use secrecy::SecretString;

const INSTALLATION: u64 = 7;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let files: usize = args.first().map_or(Ok(2000), |a| a.parse())?;
    let runs: i64 = args.get(1).map_or(Ok(10), |a| a.parse())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(bench(files, runs))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn bench(files: usize, runs: i64) -> anyhow::Result<()> {
    let gh = GithubDouble::start(GithubDoubleOptions::default()).await;
    gh.add_installation(INSTALLATION, "acme");
    gh.add_repo(INSTALLATION, "acme", "widgets").await;
    let contents: Vec<(String, String)> = (0..files)
        .map(|i| {
            (
                format!("src/module_{:02}/file_{i:04}.ts", i % 40),
                format!("export const value{i} = {i};\n").repeat(40),
            )
        })
        .collect();
    let refs: Vec<(&str, &str)> = contents
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect();
    gh.push_files("acme", "widgets", "main", &refs, "many files")
        .await;
    let secret = gh.mint_installation_token(INSTALLATION);
    let token = SecretString::from(secret.clone());
    let data = tempfile::tempdir()?;
    let checkouts = Checkouts::new(data.path(), &gh.url())?;
    let repo = RepoRef {
        id: RepoId(1),
        owner: "acme".into(),
        name: "widgets".into(),
    };

    let started = Instant::now();
    drop(
        checkouts
            .checkout(&repo, &token, &Want::DefaultBranch, JobId(1))
            .await?,
    );
    let cold = started.elapsed();

    let mut warm = Vec::new();
    for run in 0..runs {
        let started = Instant::now();
        let checkout = checkouts
            .checkout(&repo, &token, &Want::DefaultBranch, JobId(100 + run))
            .await?;
        warm.push(started.elapsed());
        drop(checkout);
    }

    let url = gh.authenticated_clone_url("acme", "widgets", &secret);
    let mut clones = Vec::new();
    for _ in 0..runs {
        let dest = tempfile::tempdir()?;
        let started = Instant::now();
        let status = tokio::process::Command::new("git")
            .args(["clone", "--quiet", "--depth", "1", &url])
            .arg(dest.path().join("w"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .status()
            .await?;
        anyhow::ensure!(status.success(), "git clone failed");
        clones.push(started.elapsed());
    }

    let (warm, clone) = (median(warm), median(clones));
    println!(
        "checkout of a {}-file repository, {runs} runs each, medians:",
        files + 1
    );
    println!("  first checkout (clone mirror + write)   {cold:>10.1?}");
    println!("  warm checkout (fetch nothing + write)   {warm:>10.1?}");
    println!("  baseline: git clone --depth 1           {clone:>10.1?}");
    println!(
        "  warm checkout / git clone --depth 1 = {:.2}",
        warm.as_secs_f64() / clone.as_secs_f64()
    );
    Ok(())
}
