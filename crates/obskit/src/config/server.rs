//! The settings of the server and of the HTTP layer that the environment
//! can change: `OBSKIT_DRAIN_DELAY` and `OBSKIT_INFLIGHT_TIMEOUT` for
//! [`Server`](crate::Server), `OBSKIT_ACCESS_LOG` and its filter
//! (`OBSKIT_ACCESS_LOG_STATUS`, `OBSKIT_ACCESS_LOG_MIN_DURATION`) for
//! [`HttpLayer`](crate::http::HttpLayer) and the gRPC layer.
//!
//! They belong to the server and the layer, which read them when they are
//! made (their setters override them). [`Config::from_env`](super::Config::from_env)
//! only checks them, so a bad value stops the service at `init!()`, with an
//! error naming the variable, rather than being noticed later or not at all.

use std::time::Duration;

use tracing::Level;

use super::env::{
    OBSKIT_ACCESS_LOG, OBSKIT_ACCESS_LOG_MIN_DURATION, OBSKIT_ACCESS_LOG_STATUS,
    OBSKIT_DRAIN_DELAY, OBSKIT_INFLIGHT_TIMEOUT,
};
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

/// Which requests get an access line: every one (the default), or, once a
/// status list or a minimum duration is set, the requests that match
/// either, and every failed or cancelled request (in the spirit of
/// Traefik's access-log filters).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct AccessFilter {
    /// Inclusive ranges of the statuses kept; empty: no status condition.
    statuses: Vec<(u16, u16)>,
    /// Requests at least this long are kept.
    min_duration: Option<Duration>,
}

impl AccessFilter {
    /// Whether the request gets its access line: `status` is what was sent
    /// (none for a request that ended before its status), `failed` whether
    /// it failed or was cancelled (its span has an `error.type`).
    pub(crate) fn keeps(&self, status: Option<u16>, failed: bool, elapsed: Duration) -> bool {
        if self.statuses.is_empty() && self.min_duration.is_none() {
            return true;
        }
        failed
            || self.min_duration.is_some_and(|min| elapsed >= min)
            || status.is_some_and(|s| self.statuses.iter().any(|&(lo, hi)| lo <= s && s <= hi))
    }
}

/// The access-log filter from `OBSKIT_ACCESS_LOG_STATUS` and
/// `OBSKIT_ACCESS_LOG_MIN_DURATION`, if either is set.
pub(crate) fn access_filter(get: Lookup<'_>) -> Result<Option<AccessFilter>, ConfigError> {
    let statuses = get(OBSKIT_ACCESS_LOG_STATUS)
        .map(|v| status_list(OBSKIT_ACCESS_LOG_STATUS, &v))
        .transpose()?;
    let min_duration = get(OBSKIT_ACCESS_LOG_MIN_DURATION)
        .map(|v| parse::duration(OBSKIT_ACCESS_LOG_MIN_DURATION, &v))
        .transpose()?;
    if statuses.is_none() && min_duration.is_none() {
        return Ok(None);
    }
    Ok(Some(AccessFilter {
        statuses: statuses.unwrap_or_default(),
        min_duration,
    }))
}

/// Parses `4xx,5xx`, `404,500-599`: codes, inclusive ranges, classes.
fn status_list(setting: &'static str, value: &str) -> Result<Vec<(u16, u16)>, ConfigError> {
    let bad = || ConfigError::InvalidNumber {
        setting,
        value: value.to_owned(),
        expected: "comma-separated status codes (0-999), inclusive ranges and classes, e.g. 4xx,5xx or 404,500-599",
    };
    let code = |s: &str| match s.trim().parse::<u16>() {
        Ok(n) if n <= 999 => Ok(n),
        _ => Err(bad()),
    };
    let mut out = Vec::new();
    for entry in value.split(',') {
        let entry = entry.trim();
        let range = if let Some(class) = entry
            .strip_suffix("xx")
            .or_else(|| entry.strip_suffix("XX"))
        {
            match class.parse::<u16>() {
                Ok(c @ 1..=9) if class.len() == 1 => (c * 100, c * 100 + 99),
                _ => return Err(bad()),
            }
        } else if let Some((lo, hi)) = entry.split_once('-') {
            let (lo, hi) = (code(lo)?, code(hi)?);
            if lo > hi {
                return Err(bad());
            }
            (lo, hi)
        } else {
            let c = code(entry)?;
            (c, c)
        };
        out.push(range);
    }
    Ok(out)
}

/// Checks every server setting `get` sees.
pub(crate) fn validate(get: Lookup<'_>) -> Result<(), ConfigError> {
    drain_delay(get)?;
    access_log(get)?;
    access_filter(get)?;
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
            (OBSKIT_ACCESS_LOG_MIN_DURATION, "250"),
            (OBSKIT_ACCESS_LOG_STATUS, "5xxx"),
        ] {
            let err = validate(&one(var, bad)).unwrap_err().to_string();
            assert!(err.starts_with(var), "{err}");
        }
    }

    fn filter(name: &'static str, value: &'static str) -> AccessFilter {
        access_filter(&one(name, value))
            .unwrap()
            .expect("a filter is set")
    }

    #[test]
    fn no_filter_keeps_every_line() {
        assert_eq!(access_filter(&|_| None).unwrap(), None);
        assert!(AccessFilter::default().keeps(Some(200), false, Duration::ZERO));
    }

    #[test]
    fn status_lists_read_codes_ranges_and_classes() {
        let f = filter(OBSKIT_ACCESS_LOG_STATUS, " 4xx, 302 ,500-503");
        let kept = |s| f.keeps(Some(s), false, Duration::from_secs(60));
        assert!(kept(404) && kept(499) && kept(400) && kept(302) && kept(500) && kept(503));
        assert!(!kept(200) && !kept(301) && !kept(504) && !kept(599));
        // A request that ended before its status has none to match.
        assert!(!f.keeps(None, false, Duration::ZERO));
        // gRPC codes are plain numbers.
        let grpc = filter(OBSKIT_ACCESS_LOG_STATUS, "5,14");
        assert!(grpc.keeps(Some(5), false, Duration::ZERO));
        assert!(!grpc.keeps(Some(0), false, Duration::ZERO));
    }

    #[test]
    fn a_minimum_duration_keeps_slow_requests_only() {
        let f = filter(OBSKIT_ACCESS_LOG_MIN_DURATION, "250ms");
        assert!(f.keeps(Some(200), false, Duration::from_millis(250)));
        assert!(!f.keeps(Some(200), false, Duration::from_millis(249)));
        // No status condition: a 404 is not kept for its status.
        assert!(!f.keeps(Some(404), false, Duration::ZERO));
    }

    #[test]
    fn failed_and_cancelled_requests_are_always_kept_and_conditions_are_ored() {
        let both = access_filter(&|n: &str| match n {
            OBSKIT_ACCESS_LOG_STATUS => Some("5xx".to_owned()),
            OBSKIT_ACCESS_LOG_MIN_DURATION => Some("1s".to_owned()),
            _ => None,
        })
        .unwrap()
        .unwrap();
        assert!(both.keeps(None, true, Duration::ZERO));
        assert!(both.keeps(Some(200), true, Duration::ZERO));
        assert!(both.keeps(Some(502), false, Duration::ZERO));
        assert!(both.keeps(Some(200), false, Duration::from_secs(2)));
        assert!(!both.keeps(Some(200), false, Duration::from_millis(10)));
    }

    #[test]
    fn bad_status_lists_name_the_problem_and_the_form() {
        for bad in [
            "", "abc", "600-500", "1000", "0xx", "45x", "4xx,", "200-", "-1",
        ] {
            let err = access_filter(&one(OBSKIT_ACCESS_LOG_STATUS, bad))
                .map(|_| ())
                .unwrap_err()
                .to_string();
            assert!(
                err.starts_with("OBSKIT_ACCESS_LOG_STATUS=") && err.contains("e.g. 4xx,5xx"),
                "{bad:?}: {err}"
            );
        }
    }
}
