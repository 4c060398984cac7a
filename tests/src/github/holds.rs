//! Holding a request at the door: the next request matching a method and a
//! path pattern waits until the test releases it, then is served as usual —
//! even when its caller has gone meanwhile, as GitHub finishes a request
//! whose client hung up. Tests use it to stop the bot at an exact point of a
//! job (kill it while the request is held) without timing guesses.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::failures::path_matches;

/// A held request, seen from the test. Dropping it releases the request.
pub struct Hold {
    gate: Arc<Gate>,
    what: String,
}

/// Both sides of one hold.
pub(crate) struct Gate {
    reached: watch::Sender<bool>,
    released: watch::Sender<bool>,
}

impl Gate {
    /// Tell the test the request is here, and wait until it lets it through.
    pub async fn hold(&self) {
        self.reached.send_replace(true);
        let mut released = self.released.subscribe();
        // An error means the test's `Hold` is gone, which releases too.
        let _ = released.wait_for(|released| *released).await;
    }
}

impl Hold {
    /// Wait until the request arrived and is being held, or panic after `within`.
    pub async fn reached(&self, within: Duration) {
        let mut reached = self.gate.reached.subscribe();
        let waited = tokio::time::timeout(within, reached.wait_for(|reached| *reached)).await;
        assert!(
            matches!(waited, Ok(Ok(_))),
            "no request matching {} arrived within {within:?}",
            self.what
        );
    }

    /// Whether the request arrived.
    pub fn is_reached(&self) -> bool {
        *self.gate.reached.borrow()
    }

    /// Let the request through: the double serves it as if it had just come.
    pub fn release(&self) {
        self.gate.released.send_replace(true);
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        self.release();
    }
}

pub(crate) struct ScheduledHold {
    method: String,
    pattern: String,
    gate: Arc<Gate>,
}

/// A hold for the next request matching `method` (`*` for any) and `pattern`.
pub(crate) fn schedule(method: &str, pattern: &str) -> (ScheduledHold, Hold) {
    let gate = Arc::new(Gate {
        reached: watch::Sender::new(false),
        released: watch::Sender::new(false),
    });
    let scheduled = ScheduledHold {
        method: method.to_ascii_uppercase(),
        pattern: pattern.to_string(),
        gate: gate.clone(),
    };
    let hold = Hold {
        gate,
        what: format!("{method} {pattern}"),
    };
    (scheduled, hold)
}

/// Take the first hold matching this request (each holds one request).
pub(crate) fn take(
    scheduled: &mut Vec<ScheduledHold>,
    method: &str,
    path: &str,
) -> Option<Arc<Gate>> {
    let index = scheduled.iter().position(|h| {
        (h.method == "*" || h.method.eq_ignore_ascii_case(method)) && path_matches(&h.pattern, path)
    })?;
    Some(scheduled.remove(index).gate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hold_takes_one_request_and_lets_it_through_on_release() {
        let mut list = Vec::new();
        let (scheduled, hold) = schedule("post", "/repos/*/*/pulls");
        list.push(scheduled);
        assert!(take(&mut list, "GET", "/repos/a/b/pulls").is_none());
        let gate = take(&mut list, "POST", "/repos/a/b/pulls").unwrap();
        assert!(take(&mut list, "POST", "/repos/a/b/pulls").is_none());
        let waiting = tokio::spawn(async move { gate.hold().await });
        hold.reached(Duration::from_secs(5)).await;
        assert!(hold.is_reached() && !waiting.is_finished());
        hold.release();
        waiting.await.unwrap();
    }
}
