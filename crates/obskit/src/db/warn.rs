//! One warning a minute per client about a datastore that fails to answer,
//! however many operations fail meanwhile: an outage under load must not
//! flood the logs it is diagnosed from.

use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// How often a client may warn.
pub(crate) const EVERY: Duration = Duration::from_secs(60);

#[derive(Default)]
pub(crate) struct Warn {
    /// When the last warning went out, and the failures since.
    state: Mutex<(Option<Instant>, u64)>,
}

impl Warn {
    /// Counts a failure; calls `emit` with the failures since the last
    /// warning (this one included) when a warning is due.
    pub(crate) fn failure(&self, emit: impl FnOnce(u64)) {
        let mut state = self.state.lock();
        state.1 += 1;
        if state.0.is_some_and(|at| at.elapsed() < EVERY) {
            return;
        }
        let failures = state.1;
        *state = (Some(Instant::now()), 0);
        drop(state);
        emit(failures);
    }
}

/// Warns, at most once a minute for `client`, that its datastore is not
/// answering: `error` (called only when a warning goes out) says why, and
/// `message` what fails meanwhile.
#[cfg(any(feature = "postgres", feature = "redis"))]
pub(crate) fn not_answering(
    client: &super::Client,
    error: impl FnOnce() -> String,
    message: &'static str,
) {
    client.shared().warn.failure(|failures| {
        tracing::warn!(
            target: "obskit::db",
            db_system_name = client.system(),
            failures,
            error = %error(),
            "{message}"
        );
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_warning_a_minute() {
        let w = Warn::default();
        let mut emitted = Vec::new();
        for _ in 0..100 {
            w.failure(|n| emitted.push(n));
        }
        assert_eq!(emitted, [1]);
        // A minute later the next one says how many were held back.
        w.state.lock().0 = Instant::now().checked_sub(EVERY);
        w.failure(|n| emitted.push(n));
        assert_eq!(emitted, [1, 100]);
    }
}
