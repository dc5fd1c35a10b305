//! Waiting for something that happens on another thread or in another
//! process: poll it until it holds, with a deadline, and keep what was
//! seen last for the failure message. No test asserts on how long it took.
//!
//! ```
//! use std::time::Duration;
//! use obskit_test_support::wait;
//!
//! let mut calls = 0;
//! let third = wait::poll(Duration::from_secs(5), || {
//!     calls += 1;
//!     if calls == 3 { Ok(calls) } else { Err(format!("{calls} calls")) }
//! });
//! assert_eq!(third, Ok(3));
//! ```

use std::future::Future;
use std::time::{Duration, Instant};

/// How long a wait sleeps between two looks.
pub const INTERVAL: Duration = Duration::from_millis(25);

/// Calls `probe` until it returns `Ok`, sleeping [`INTERVAL`] between
/// calls, for at most `within`: the first `Ok`, or the last `Err` (what
/// was seen instead, for the caller's failure message). `probe` runs at
/// least once, and once more at the deadline.
pub fn poll<T, E>(within: Duration, mut probe: impl FnMut() -> Result<T, E>) -> Result<T, E> {
    let deadline = Instant::now() + within;
    loop {
        let seen = probe();
        if seen.is_ok() || Instant::now() >= deadline {
            return seen;
        }
        std::thread::sleep(INTERVAL.min(deadline.saturating_duration_since(Instant::now())));
    }
}

/// [`poll`] for a probe that is a future, sleeping on the tokio timer.
pub async fn poll_async<T, E, F>(within: Duration, mut probe: impl FnMut() -> F) -> Result<T, E>
where
    F: Future<Output = Result<T, E>>,
{
    let deadline = Instant::now() + within;
    loop {
        let seen = probe().await;
        if seen.is_ok() || Instant::now() >= deadline {
            return seen;
        }
        tokio::time::sleep(INTERVAL.min(deadline.saturating_duration_since(Instant::now()))).await;
    }
}

/// Whether `check` holds within `within` (see [`poll`]).
pub fn until(within: Duration, mut check: impl FnMut() -> bool) -> bool {
    poll(within, || if check() { Ok(()) } else { Err(()) }).is_ok()
}

/// Whether the future `check` makes holds within `within` (see
/// [`poll_async`]); for a condition of the test's own state,
/// `|| std::future::ready(condition())`.
pub async fn until_async<F>(within: Duration, mut check: impl FnMut() -> F) -> bool
where
    F: Future<Output = bool>,
{
    poll_async(within, || {
        let held = check();
        async move { if held.await { Ok(()) } else { Err(()) } }
    })
    .await
    .is_ok()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[test]
    fn the_last_miss_is_returned_when_the_time_runs_out() {
        let mut calls = 0;
        let seen: Result<(), String> = super::poll(Duration::from_millis(60), || {
            calls += 1;
            Err(format!("miss {calls}"))
        });
        assert_eq!(seen, Err(format!("miss {calls}")));
    }

    #[test]
    fn a_condition_that_never_holds_is_false() {
        assert!(!super::until(Duration::ZERO, || false));
        assert!(super::until(Duration::ZERO, || true));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn the_async_wait_sees_another_task_finish() {
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = done.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(30)).await;
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        let seen = super::until_async(Duration::from_secs(30), || {
            std::future::ready(done.load(std::sync::atomic::Ordering::SeqCst))
        })
        .await;
        assert!(seen);
        let value = super::poll_async(Duration::from_secs(1), || async { Ok::<_, ()>(7) }).await;
        assert_eq!(value, Ok(7));
    }
}
