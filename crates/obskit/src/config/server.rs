//! The settings of the server and of the HTTP layer that the environment
//! can change: `OBSKIT_DRAIN_DELAY` and `OBSKIT_INFLIGHT_TIMEOUT` for
//! [`Server`](crate::Server), `OBSKIT_ACCESS_LOG` for
//! [`ObskitLayer`](crate::http::ObskitLayer).
//!
//! They belong to the server and the layer, which read them when they are
//! made (their setters override them). [`Config::from_env`](super::Config::from_env)
//! only checks them, so a bad value stops the service at `init!()`, with an
//! error naming the variable, rather than being noticed later or not at all.

use std::time::Duration;

use tracing::Level;

use super::env::{OBSKIT_ACCESS_LOG, OBSKIT_DRAIN_DELAY, OBSKIT_INFLIGHT_TIMEOUT};
use super::parse;
use crate::error::ConfigError;

/// Reads a variable; `None` when unset (or empty).
pub(crate) type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

pub(crate) use super::shutdown::{DEFAULT_DRAIN_DELAY, DEFAULT_INFLIGHT_TIMEOUT};
/// The access line's level.
pub(crate) const DEFAULT_ACCESS_LOG: Option<Level> = Some(Level::INFO);

/// `OBSKIT_DRAIN_DELAY`, if set.
pub(crate) fn drain_delay(get: Lookup<'_>) -> Result<Option<Duration>, ConfigError> {
    get(OBSKIT_DRAIN_DELAY)
        .map(|v| parse::duration(OBSKIT_DRAIN_DELAY, &v))
        .transpose()
}

/// `OBSKIT_INFLIGHT_TIMEOUT`, if set.
pub(crate) fn inflight_timeout(get: Lookup<'_>) -> Result<Option<Duration>, ConfigError> {
    get(OBSKIT_INFLIGHT_TIMEOUT)
        .map(|v| parse::duration(OBSKIT_INFLIGHT_TIMEOUT, &v))
        .transpose()
}

/// `OBSKIT_ACCESS_LOG`, if set (`Some(None)`: set to `off`).
pub(crate) fn access_log(get: Lookup<'_>) -> Result<Option<Option<Level>>, ConfigError> {
    get(OBSKIT_ACCESS_LOG)
        .map(|v| parse::level(OBSKIT_ACCESS_LOG, &v))
        .transpose()
}

/// Checks every server setting `get` sees.
pub(crate) fn validate(get: Lookup<'_>) -> Result<(), ConfigError> {
    drain_delay(get)?;
    access_log(get)?;
    inflight_timeout(get)?;
    Ok(())
}

/// A setting from the process environment, or `default` when it is unset.
/// A bad value was refused by `Config::from_env` already; one that reaches
/// here (telemetry configured without it) is reported and ignored.
pub(crate) fn from_process_env<T>(
    read: fn(Lookup<'_>) -> Result<Option<T>, ConfigError>,
    default: T,
) -> T {
    match read(&process_env) {
        Ok(value) => value.unwrap_or(default),
        Err(e) => {
            tracing::error!(target: "obskit", error = %e, "ignoring a server setting; the default applies");
            default
        }
    }
}

/// A variable of the process environment; empty counts as unset.
fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(name: &'static str, value: &'static str) -> impl Fn(&str) -> Option<String> {
        move |n| (n == name).then(|| value.to_owned())
    }

    #[test]
    fn settings_parse_and_name_their_variable() {
        assert_eq!(
            drain_delay(&one(OBSKIT_DRAIN_DELAY, "250ms")).unwrap(),
            Some(Duration::from_millis(250))
        );
        assert_eq!(drain_delay(&|_| None).unwrap(), None);
        assert_eq!(
            access_log(&one(OBSKIT_ACCESS_LOG, "DEBUG")).unwrap(),
            Some(Some(Level::DEBUG))
        );
        assert_eq!(
            access_log(&one(OBSKIT_ACCESS_LOG, "off")).unwrap(),
            Some(None)
        );
        for (var, bad) in [
            (OBSKIT_DRAIN_DELAY, "soon"),
            (OBSKIT_INFLIGHT_TIMEOUT, "-3s"),
            (OBSKIT_ACCESS_LOG, "loud"),
        ] {
            let err = validate(&one(var, bad)).unwrap_err().to_string();
            assert!(err.starts_with(var), "{err}");
        }
    }
}
