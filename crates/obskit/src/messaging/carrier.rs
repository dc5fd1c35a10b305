//! What a message's headers carry besides the trace context: when the
//! message was created, so the consumer can tell how long it waited.
//!
//! The value is the creation time in whole microseconds since the Unix
//! epoch, in decimal: readable by any consumer, in any language, without
//! obskit. A value that is not 1 to 19 ASCII digits is ignored (the
//! broker's own timestamp is used instead, when there is one).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::propagation::{Extractor, Injector};

/// The header holding a message's creation time: microseconds since the
/// Unix epoch, in decimal (e.g. `1765090000123456`).
pub const CREATED_AT_HEADER: &str = "obskit-created-at";

/// Writes `at` as the creation time.
pub(crate) fn write_created(carrier: &mut dyn Injector, at: SystemTime) {
    let micros = at
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
    carrier.set(
        CREATED_AT_HEADER,
        itoa::Buffer::new().format(micros).to_owned(),
    );
}

/// The creation time the carrier holds, if it holds a valid one.
pub(crate) fn read_created(carrier: &dyn Extractor) -> Option<SystemTime> {
    let value = carrier.get(CREATED_AT_HEADER)?;
    if value.is_empty() || value.len() > 19 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let micros: u64 = value.parse().ok()?;
    UNIX_EPOCH.checked_add(Duration::from_micros(micros))
}

/// How long ago `created` was, zero for a time in the future (a producer
/// whose clock runs ahead).
pub(crate) fn age(created: SystemTime, now: SystemTime) -> Duration {
    now.duration_since(created).unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn the_creation_time_round_trips_to_the_microsecond() {
        let at = UNIX_EPOCH + Duration::from_micros(1_765_090_000_123_456);
        let mut headers = HashMap::new();
        write_created(&mut headers, at);
        assert_eq!(headers[CREATED_AT_HEADER], "1765090000123456");
        assert_eq!(read_created(&headers), Some(at));
    }

    #[test]
    fn malformed_creation_times_are_ignored() {
        for bad in ["", "-1", "12a", " 12", "1.5", "99999999999999999999", "١٢"] {
            let headers = HashMap::from([(CREATED_AT_HEADER.to_owned(), bad.to_owned())]);
            assert_eq!(read_created(&headers), None, "{bad:?}");
        }
        assert_eq!(read_created(&HashMap::<String, String>::new()), None);
    }

    #[test]
    fn a_creation_time_ahead_of_the_clock_is_no_age() {
        let now = SystemTime::now();
        assert_eq!(age(now + Duration::from_secs(3), now), Duration::ZERO);
        assert_eq!(
            age(now - Duration::from_secs(3), now),
            Duration::from_secs(3)
        );
    }
}
