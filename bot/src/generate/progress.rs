//! What the loop is doing right now, for the job's status comment. The loop
//! only sends; whoever shows it decides how often to look.

use tokio::sync::watch;

/// One step of the loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Nothing sent to a model yet.
    Starting,
    /// Waiting for `model`'s answer: attempt `attempt` of `of` on tier `tier`.
    Calling {
        model: String,
        tier: u32,
        attempt: u32,
        of: u32,
    },
    /// Applying and checking `model`'s answer.
    Validating { model: String },
    /// `model` works through tools on tier `tier`; `did` says what so far,
    /// e.g. "read 6 files, ran typecheck twice".
    Agent {
        model: String,
        tier: u32,
        did: String,
    },
}

/// The sending half; the receiver sees only the latest step.
pub type ProgressSender = watch::Sender<Progress>;

pub(super) fn send(sender: Option<&ProgressSender>, progress: Progress) {
    if let Some(sender) = sender {
        // No receiver left is fine: nobody is watching.
        sender.send_replace(progress);
    }
}
