//! Durations as log lines print them: milliseconds rounded to the
//! microsecond, the same in a `tracing` event and in a directly written
//! access line.

use std::time::Duration;

/// A duration in whole microseconds, rounded to the nearest: what
/// [`log_millis`] prints.
pub(crate) fn log_micros(d: Duration) -> u128 {
    // `(d.as_nanos() + 500) / 1000` without dividing a `u128` (a call into
    // a slow routine): whole seconds are whole thousands of nanoseconds.
    u128::from(d.as_secs()) * 1_000_000 + u128::from((d.subsec_nanos() + 500) / 1000)
}

/// A duration in milliseconds, rounded to the microsecond, for log lines:
/// `0.322`, never `0.32178799999999996`.
pub(crate) fn log_millis(d: Duration) -> f64 {
    let micros = log_micros(d);
    // Exact below 2^53 µs (285 years); the division gives the f64 nearest
    // to the decimal, which the JSON writer prints in its shortest form.
    #[allow(clippy::cast_precision_loss)]
    let micros = micros as f64;
    micros / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn microseconds_are_the_nanoseconds_rounded() {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let check = |d: Duration| {
            assert_eq!(log_micros(d), (d.as_nanos() + 500) / 1000, "{d:?}");
        };
        for nanos in [0, 499, 500, 999, 999_999_499, 999_999_500, 999_999_999] {
            check(Duration::new(0, nanos));
            check(Duration::new(7, nanos));
            check(Duration::new(u64::MAX, nanos));
        }
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            check(Duration::from_nanos(x >> (x % 64)));
        }
    }

    #[test]
    fn log_durations_are_rounded_to_the_microsecond() {
        assert_eq!(log_millis(Duration::from_nanos(321_788)), 0.322);
        assert_eq!(log_millis(Duration::from_nanos(321_499)), 0.321);
        assert_eq!(log_millis(Duration::from_millis(2_000)), 2000.0);
        assert_eq!(log_millis(Duration::ZERO), 0.0);
        assert_eq!(
            ryu::Buffer::new().format(log_millis(Duration::from_nanos(1_234_567_891))),
            "1234.568"
        );
    }
}
