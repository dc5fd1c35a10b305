//! Exports the receiver refused, counted by cause: an SDK seldom prints why its export
//! failed, so the viewer says it on the terminal (the first time for each cause) and on
//! every page's footer (with the count and the latest message).

use std::collections::BTreeMap;
use std::io::{self, Write as _};

use parking_lot::Mutex;

/// One cause of refusal: where, and what kind of problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cause {
    /// The endpoint, e.g. `OTLP/HTTP /v1/traces` or `OTLP/gRPC logs`.
    pub endpoint: &'static str,
    /// A short name of the problem, e.g. `content-encoding` or `too large`.
    pub kind: &'static str,
}

/// What is known of one cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    /// Exports refused for it.
    pub count: u64,
    /// The message of the latest one.
    pub message: String,
}

/// The refusals so far, by cause.
#[derive(Debug, Default)]
pub struct Refusals {
    causes: Mutex<BTreeMap<Cause, Tally>>,
    quiet: bool,
}

impl Refusals {
    /// Refusals that are counted but never printed (tests, benchmarks).
    pub fn quiet() -> Self {
        Self {
            causes: Mutex::default(),
            quiet: true,
        }
    }

    /// Counts one refused export; the first of its cause is printed on stderr.
    ///
    /// ```
    /// use obskit_dev::refusals::{Cause, Refusals};
    /// let refusals = Refusals::quiet();
    /// let cause = Cause { endpoint: "OTLP/HTTP /v1/traces", kind: "content-type" };
    /// refusals.record(cause, "content-type `text/plain` is not OTLP/HTTP".to_owned());
    /// refusals.record(cause, "content-type `text/html` is not OTLP/HTTP".to_owned());
    /// let all = refusals.all();
    /// assert_eq!(all[0].1.count, 2);
    /// assert!(all[0].1.message.contains("text/html"));
    /// ```
    pub fn record(&self, cause: Cause, message: String) {
        let first = {
            let mut causes = self.causes.lock();
            match causes.get_mut(&cause) {
                Some(tally) => {
                    tally.count += 1;
                    tally.message.clone_from(&message);
                    false
                }
                None => {
                    causes.insert(
                        cause,
                        Tally {
                            count: 1,
                            message: message.clone(),
                        },
                    );
                    true
                }
            }
        };
        if first && !self.quiet {
            let _ = writeln!(
                io::stderr().lock(),
                "obskit dev: refused an export on {} ({}): {message} (further ones of this kind are counted on the UI's footer)",
                cause.endpoint,
                cause.kind
            );
        }
    }

    /// Every cause with its tally, in a stable order.
    pub fn all(&self) -> Vec<(Cause, Tally)> {
        self.causes
            .lock()
            .iter()
            .map(|(cause, tally)| (*cause, tally.clone()))
            .collect()
    }

    /// Exports refused in all.
    pub fn total(&self) -> u64 {
        self.causes.lock().values().map(|t| t.count).sum()
    }
}
