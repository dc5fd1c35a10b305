//! Skipping a test whose tool or server is absent: a loud note locally, a
//! failure under `CI`, where `.ci/run` installs and starts everything.

use std::ffi::OsStr;
use std::fmt::Display;

/// Whether the tests run under CI: `CI` is set to anything but an empty
/// string, `0` or `false` (CI services set `CI=true`).
pub fn in_ci() -> bool {
    means_ci(std::env::var_os("CI").as_deref())
}

fn means_ci(value: Option<&OsStr>) -> bool {
    value.is_some_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// Says on stderr that the test skips because of `reason` (what is
/// missing, and how to install or start it); under CI panics with it
/// instead, so that CI never skips silently. The caller returns after it.
///
/// # Panics
///
/// When [`in_ci`] is true.
pub fn skip(reason: impl Display) {
    skip_as(in_ci(), &reason);
}

fn skip_as(ci: bool, reason: &dyn Display) {
    assert!(
        !ci,
        "{reason}; CI is set, so this is a failure: `.ci/run` installs and starts what the tests need"
    );
    eprintln!("SKIPPED: {reason}");
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;

    #[test]
    fn ci_is_any_value_but_empty_zero_or_false() {
        for (value, ci) in [
            (None, false),
            (Some(""), false),
            (Some("0"), false),
            (Some("false"), false),
            (Some("true"), true),
            (Some("1"), true),
            (Some("yes"), true),
        ] {
            assert_eq!(super::means_ci(value.map(OsStr::new)), ci, "{value:?}");
        }
    }

    #[test]
    fn a_skip_fails_under_ci_and_returns_outside() {
        let caught = std::panic::catch_unwind(|| super::skip_as(true, &"promtool is missing"));
        let message = caught.expect_err("under CI a skip is a failure");
        let message = message.downcast_ref::<String>().unwrap();
        assert!(
            message.starts_with("promtool is missing; CI is set"),
            "{message}"
        );
        super::skip_as(false, &"promtool is missing (this note is expected)");
    }
}
