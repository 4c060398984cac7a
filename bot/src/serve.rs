//! `gitkeeper-bot serve`: open the store, start the webhook server (with the
//! runner API beside it), the worker pool, the runner sweep and the retention
//! sweep, and shut them down cleanly on SIGTERM or Ctrl-C.

use std::sync::Arc;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::github::GithubApp;
use crate::ingress::{self, Ingress};
use crate::metrics::Metrics;
use crate::pipeline::Pipeline;
use crate::queue;
use crate::runner_api;
use crate::worker::WorkerPool;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    #[error(transparent)]
    Store(#[from] queue::StoreError),
    #[error(
        "cannot listen on {addr}: {source}. Is another process using the port? Change [server] listen"
    )]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("the HTTP server failed: {0}")]
    Server(std::io::Error),
    #[error(
        "cannot write the bound address to {}: {source}. Check [server] addr_file names a writable place",
        path.display()
    )]
    AddrFile {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Checkout(#[from] crate::checkout::CheckoutError),
}

/// Run until a shutdown signal.
pub async fn serve(settings: Settings) -> Result<(), ServeError> {
    let shutdown = CancellationToken::new();
    let signal = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutdown requested: no new jobs will be claimed");
        signal.cancel();
    });
    serve_until(settings, shutdown).await
}

/// Bind `[server] listen`, then run until `shutdown` fires.
pub async fn serve_until(
    settings: Settings,
    shutdown: CancellationToken,
) -> Result<(), ServeError> {
    let addr = settings.listen_addr().map_err(|e| ServeError::Bind {
        addr: settings.server.listen.clone(),
        source: std::io::Error::other(e.to_string()),
    })?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind {
            addr: addr.to_string(),
            source,
        })?;
    serve_on(listener, settings, shutdown).await
}

/// Serve on `listener`, already bound (an in-process test binds port 0 and
/// hands it over, so no other process can take the port meanwhile), until
/// `shutdown` fires; `[server] listen` is not read.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    settings: Settings,
    shutdown: CancellationToken,
) -> Result<(), ServeError> {
    let store = queue::open(&settings.database_url(), settings.database.max_connections).await?;
    tracing::info!(backend = store.backend(), "job store ready");
    let metrics = Arc::new(Metrics::default());
    metrics.configured(
        settings.runner.tiers.len(),
        settings.route.max_usd_per_repo_per_day,
    );
    let wake = Arc::new(Notify::new());
    let github = GithubApp::from_settings(&settings);
    if let Err(e) = &github {
        tracing::warn!(error = %e, "GitHub App not configured: webhooks are accepted but no job can run until it is");
    }
    let state = Ingress {
        store: store.clone(),
        committer: queue::Committer::spawn(store.clone(), settings.server.max_commit_batch),
        metrics: metrics.clone(),
        wake: wake.clone(),
        webhook_secret: settings.github.webhook_secret.clone(),
        trigger: settings.trigger.clone(),
        github_ready: github.as_ref().map(|_| ()).map_err(|e| e.to_string()),
        limits: ingress::Limits::from_settings(&settings.server),
    };
    let local = listener.local_addr().map_err(ServeError::Server)?;
    tracing::info!(%local, "listening for webhooks on http://{local}/webhooks");
    if let Some(path) = &settings.server.addr_file {
        write_addr_file(path, local).await?;
    }

    let workers = match github {
        Ok(github) => {
            let pipeline = Pipeline::new(github, Arc::new(settings.clone()), store.clone())?;
            clean_work_dirs(store.as_ref(), &settings.data.dir).await;
            let pool = WorkerPool {
                store: store.clone(),
                pipeline: Arc::new(pipeline),
                settings: settings.worker.clone(),
                metrics: metrics.clone(),
                wake,
                instance: instance_name(),
            };
            let token = shutdown.clone();
            Some(tokio::spawn(async move { pool.run(token).await }))
        }
        Err(_) => None,
    };

    let sweeper = tokio::spawn(runner_api::sweep(
        store.clone(),
        settings.runner.offline_after(),
        shutdown.clone(),
    ));
    let retention = tokio::spawn(queue::retention::sweep(
        store.clone(),
        settings.retention.periods(),
        settings.retention.sweep_interval(),
        shutdown.clone(),
    ));
    let store_metrics = tokio::spawn(sample_store_metrics(
        store.clone(),
        metrics.clone(),
        settings.runner.offline_after(),
        shutdown.clone(),
    ));
    let runners = runner_api::router(runner_api::RunnerApi {
        store: store.clone(),
        settings: settings.runner.clone(),
        shutdown: shutdown.clone(),
    });
    let dashboard = crate::dashboard::router(crate::dashboard::Dashboard {
        store: store.clone(),
        settings: Arc::new(settings.clone()),
    });
    let app = ingress::router(state).merge(runners).merge(dashboard);
    ingress::server::serve(
        listener,
        app,
        settings.server.header_timeout(),
        shutdown.clone(),
    )
    .await;
    if let Err(e) = sweeper.await {
        tracing::error!(error = %e, "runner sweep ended abnormally");
    }
    if let Err(e) = retention.await {
        tracing::error!(error = %e, "retention sweep ended abnormally");
    }
    if let Err(e) = store_metrics.await {
        tracing::error!(error = %e, "the metrics sampler ended abnormally");
    }
    if let Some(workers) = workers {
        if let Err(e) = workers.await {
            tracing::error!(error = %e, "worker pool ended abnormally");
        }
    }
    tracing::info!("stopped");
    Ok(())
}

/// Remove the job directories earlier runs left in the data dir, but not
/// those of jobs running now: another replica sharing the data dir may be
/// working in them. When the running jobs cannot be read, nothing is removed.
async fn clean_work_dirs(store: &dyn queue::JobStore, data_dir: &std::path::Path) {
    let running = match store.jobs(Some(queue::JobState::Running), u32::MAX).await {
        Ok(jobs) => jobs.into_iter().map(|job| job.id).collect::<Vec<_>>(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot list running jobs; old job directories are kept");
            return;
        }
    };
    match crate::checkout::clean_stale_work_dirs(data_dir, &running).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            removed = n,
            "removed job directories left by an earlier run"
        ),
        Err(e) => tracing::warn!(error = %e, "cannot clean old job directories"),
    }
}

/// How often the metrics read from the store (queue, runners, spend) are refreshed.
const STORE_METRICS_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Refresh the metrics every replica shares (the queue, the runners online,
/// the day's top spend) from the store until `shutdown`.
async fn sample_store_metrics(
    store: Arc<dyn queue::JobStore>,
    metrics: Arc<Metrics>,
    offline_after: std::time::Duration,
    shutdown: CancellationToken,
) {
    loop {
        let now = queue::now_ms();
        let snapshot = store
            .ops_snapshot(now, crate::generate::utc_day_start(now))
            .await;
        match (snapshot, store.runner_list(offline_after, now).await) {
            (Ok(snapshot), Ok(runners)) => {
                let online = runners.iter().filter(|r| r.online && !r.draining).count();
                metrics.observe_store(&snapshot, online, now);
            }
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(error = %e, "cannot read the queue for the metrics; will try again")
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(STORE_METRICS_EVERY) => {}
            _ = shutdown.cancelled() => break,
        }
    }
}

/// Write `local` to `path` whole: to a temporary file beside it, then
/// renamed, so a reader never sees half an address.
async fn write_addr_file(
    path: &std::path::Path,
    local: std::net::SocketAddr,
) -> Result<(), ServeError> {
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = std::path::PathBuf::from(partial);
    let error = |source| ServeError::AddrFile {
        path: path.to_path_buf(),
        source,
    };
    tokio::fs::write(&partial, format!("{local}\n"))
        .await
        .map_err(error)?;
    tokio::fs::rename(&partial, path).await.map_err(error)
}

/// `host-pid-random`: unique per process, readable in `jobs` output.
fn instance_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into());
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}-{}-{}", std::process::id(), &id[..8])
}

async fn wait_for_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_bound_address_is_written_whole_and_replaces_an_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("addr");
        std::fs::write(&path, "127.0.0.1:1\n").unwrap();
        let local: std::net::SocketAddr = "127.0.0.1:43125".parse().unwrap();
        write_addr_file(&path, local).await.unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "127.0.0.1:43125\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[tokio::test]
    async fn serve_runs_the_retention_sweep_until_shutdown() {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = Settings::default();
        settings.data.dir = dir.path().to_path_buf();
        // A job that finished long ago, stored before the server starts.
        let store = queue::open(&settings.database_url(), None).await.unwrap();
        let old = queue::now_ms() - 200 * 24 * 60 * 60 * 1000;
        let delivery = queue::Delivery {
            id: crate::ids::DeliveryId("old".into()),
            event: "issues".into(),
            outcome: "ignored".into(),
        };
        store.accept(&delivery, None, old).await.unwrap();
        let shutdown = CancellationToken::new();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = tokio::spawn(serve_on(listener, settings, shutdown.clone()));
        // The first sweep runs at start; the old delivery is forgotten.
        let mut gone = false;
        for _ in 0..200 {
            let again = store
                .accept(&delivery, None, queue::now_ms())
                .await
                .unwrap();
            if again != queue::Accepted::Duplicate {
                gone = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        assert!(gone, "serve did not prune the old delivery");
        shutdown.cancel();
        tokio::time::timeout(std::time::Duration::from_secs(30), server)
            .await
            .expect("serve stops on shutdown")
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn an_unwritable_addr_file_names_the_setting() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing/addr");
        let err = write_addr_file(&path, "127.0.0.1:3000".parse().unwrap())
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("[server] addr_file"), "{text}");
        assert!(text.contains(&path.display().to_string()), "{text}");
    }
}
