//! Test support: proof that a step does its blocking I/O off the async
//! runtime. Test-only; imports nothing of the crate.
//!
//! The step runs on a current-thread runtime, whose one thread is shared by
//! every task on it, beside a *feeder* task on the same runtime. The step's
//! I/O is made to wait on a named pipe that only the feeder writes, once the
//! step has opened it. Off the runtime (`spawn_blocking`, `tokio::process`,
//! `tokio::fs`) the feeder gets its turns while the step waits, counts them,
//! and writes. On the runtime the step's blocking read holds the one thread,
//! the feeder never runs, and the test fails (after the guard time the test
//! writes the pipe itself, so the blocked thread ends too).

use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How long the step may take before the runtime counts as blocked. Only a
/// broken step ever waits this long; a passing one is done in milliseconds.
const GUARD: Duration = Duration::from_secs(60);

/// Make a named pipe at `path`.
pub(crate) fn mkfifo(path: &Path) {
    #[allow(
        clippy::disallowed_methods,
        reason = "a test's setup, before any runtime"
    )]
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo (coreutils) runs");
    assert!(status.success(), "mkfifo {} failed", path.display());
}

/// Run `step` on a current-thread runtime beside a feeder that writes `text`
/// into the named pipe `fifo` once a reader has it open. Returns the step's
/// output and how many turns the feeder had before it could write: at least
/// one, or the runtime was never free while the step waited.
pub(crate) fn run_beside_feeder<T, F, Fut>(fifo: &Path, text: &'static str, step: F) -> (T, u64)
where
    T: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = T>,
{
    let turns = Arc::new(AtomicU64::new(0));
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let feeder_turns = turns.clone();
    let pipe: PathBuf = fifo.to_path_buf();
    let runner = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let output = runtime.block_on(async move {
            let feeder = tokio::spawn(feed(pipe, text, feeder_turns));
            let output = step().await;
            feeder.await.expect("the feeder ran to its end");
            output
        });
        let _ = done_tx.send(());
        output
    });
    if done_rx.recv_timeout(GUARD).is_err() {
        // The step blocks the runtime's thread on the pipe: unblock it, then fail.
        if let Ok(mut file) = std::fs::OpenOptions::new().write(true).open(fifo) {
            let _ = file.write_all(text.as_bytes());
        }
        panic!(
            "the step did not finish within {GUARD:?}: its blocking I/O held the runtime's only thread, so the task beside it never ran"
        );
    }
    let output = runner.join().expect("the step did not panic");
    (output, turns.load(Ordering::SeqCst))
}

/// Wait (a turn at a time) until the pipe has a reader, then write `text`.
async fn feed(fifo: PathBuf, text: &str, turns: Arc<AtomicU64>) {
    loop {
        turns.fetch_add(1, Ordering::SeqCst);
        match tokio::net::unix::pipe::OpenOptions::new().open_sender(&fifo) {
            Ok(mut sender) => {
                use tokio::io::AsyncWriteExt;
                sender.write_all(text.as_bytes()).await.expect("written");
                return;
            }
            // ENXIO: nobody reads the pipe yet.
            Err(_) => tokio::time::sleep(Duration::from_millis(2)).await,
        }
    }
}
