//! The readiness check every datastore adapter registers: a ping bounded
//! by its timeout, its answer reused for a second, under the client's name.

use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

use super::DbError;
use crate::health::{Check, Health};

/// Registers `ping` as the readiness check `name`, bounded by `timeout`:
/// a datastore that stops answering makes the service not ready, and its
/// first answer after it recovers makes it ready again.
pub(crate) fn register_ping<F, Fut, E>(
    health: &Health,
    name: &str,
    timeout: Duration,
    ping: F,
) -> Result<(), DbError>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: Display + 'static,
{
    health
        .register(
            Check::new(name.to_owned(), ping)
                .timeout(timeout)
                .cache_for(Duration::from_secs(1)),
        )
        .map_err(|source| DbError::Health {
            name: name.to_owned(),
            source,
        })
}
