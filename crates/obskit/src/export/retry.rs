//! Retrying an export the way the OTLP specification asks: retryable
//! failures are tried again with exponential backoff and jitter; the
//! pipeline bounds the whole attempt with `OTEL_BSP_EXPORT_TIMEOUT`.

use std::future::Future;
use std::time::Duration;

/// Retries after the first attempt.
const MAX_RETRIES: u32 = 3;
/// Backoff before the first retry; doubles each time, plus up to half again of jitter.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// Runs `attempt` until it succeeds, fails in a way `retryable` rejects, or
/// has been retried [`MAX_RETRIES`] times; returns the last error.
/// `retrying` hears of every failure that will be retried, before the backoff.
pub(crate) async fn with_backoff<F, Fut, E>(
    mut attempt: F,
    retryable: impl Fn(&E) -> bool,
    retrying: impl Fn(&E),
) -> Result<(), E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), E>>,
{
    let mut backoff = FIRST_BACKOFF;
    let mut retries = 0;
    loop {
        match attempt().await {
            Ok(()) => return Ok(()),
            Err(e) if retries < MAX_RETRIES && retryable(&e) => {
                retries += 1;
                retrying(&e);
                let jitter = fastrand::u64(0..=u64::try_from(backoff.as_millis() / 2).unwrap_or(0));
                tokio::time::sleep(backoff + Duration::from_millis(jitter)).await;
                backoff *= 2;
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn retries_retryable_failures_then_gives_up() {
        let calls = Cell::new(0);
        let told = Cell::new(0);
        let result = with_backoff(
            || {
                calls.set(calls.get() + 1);
                async { Err::<(), _>("unavailable") }
            },
            |_| true,
            |_| told.set(told.get() + 1),
        )
        .await;
        assert_eq!(result, Err("unavailable"));
        assert_eq!(calls.get(), 1 + MAX_RETRIES);
        assert_eq!(told.get(), MAX_RETRIES, "told of every retried failure");

        calls.set(0);
        let result = with_backoff(
            || {
                calls.set(calls.get() + 1);
                async { Err::<(), _>("bad request") }
            },
            |_| false,
            |_| told.set(told.get() + 100),
        )
        .await;
        assert_eq!(result, Err("bad request"));
        assert_eq!(calls.get(), 1);
        assert_eq!(told.get(), MAX_RETRIES, "a final failure is not a retry");

        calls.set(0);
        let result = with_backoff(
            || {
                calls.set(calls.get() + 1);
                let n = calls.get();
                async move { if n < 3 { Err("later") } else { Ok(()) } }
            },
            |_| true,
            |_| (),
        )
        .await;
        assert_eq!(result, Ok(()));
        assert_eq!(calls.get(), 3);
    }
}
