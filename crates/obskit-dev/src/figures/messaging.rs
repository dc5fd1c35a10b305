//! The messaging figures of each destination (queue, subject) a service sends to or
//! processes from, computed from the same history as the RED figures and the way the stock
//! dashboard's Messaging row computes them: messages published and processed per second,
//! processing p50/p95/p99 and error ratio, message age p99, settlements by outcome, and the
//! broker's depth and consumers as last polled.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use obskit_names as names;

use super::{Coverage, Histogram, histograms, in_first_bucket, increases, quantile};
use crate::scrape::Scrape;
use crate::scrape::parse::Sample;

/// Every series the messaging figures read, for the scraper to keep.
pub const SERIES: [&str; 6] = [
    names::MESSAGING_CLIENT_SENT_MESSAGES,
    names::MESSAGING_SETTLEMENTS_TOTAL,
    names::MESSAGING_QUEUE_MESSAGES,
    names::MESSAGING_QUEUE_CONSUMERS,
    names::MESSAGING_QUEUE_STALE,
    names::MESSAGING_CONSUMERS,
];

/// The histograms the messaging figures read (their `_bucket` and `_count` series).
pub const HISTOGRAMS: [&str; 2] = [
    names::MESSAGING_PROCESS_DURATION,
    names::MESSAGING_MESSAGE_AGE,
];

/// A destination of one service: (service, messaging system, destination name).
pub type DestinationKey = (String, String, String);

/// One destination's figures over a window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DestinationFigures {
    /// `service_name` label.
    pub service: String,
    /// `messaging_system` label: `rabbitmq`, `nats`, ...
    pub system: String,
    /// `messaging_destination_name` label.
    pub destination: String,
    /// Messages sent in the window (failed sends included).
    pub published: f64,
    /// Sends that failed (with an `error_type`).
    pub publish_errors: f64,
    /// Messages published per second.
    pub publish_rate: f64,
    /// Processing durations (count, errors, buckets) in the window.
    pub processing: Histogram,
    /// Messages processed per second.
    pub process_rate: f64,
    /// p99 of the messages' age when processing started, in seconds.
    pub age_p99: Option<f64>,
    /// The lowest age bucket's bound when p99 falls in it.
    pub age_p99_below: Option<f64>,
    /// Settlements in the window by outcome (`ack`, `requeue`, `dead_letter`).
    pub settlements: BTreeMap<String, f64>,
    /// Messages waiting in the destination, as the broker last reported (`ready`).
    pub ready: Option<f64>,
    /// Messages delivered and not yet acknowledged, as the broker last reported.
    pub unacked: Option<f64>,
    /// Consumers the broker last reported on the destination.
    pub broker_consumers: Option<f64>,
    /// This process's consumers taking messages from the destination.
    pub consumers: Option<f64>,
    /// Whether the last depth poll failed (the depth is an older reading).
    pub depth_stale: bool,
}

impl DestinationFigures {
    /// Settlements that dead-lettered the message in the window.
    pub fn dead_lettered(&self) -> f64 {
        self.settlements
            .get(names::SETTLEMENT_DEAD_LETTER)
            .copied()
            .unwrap_or(0.0)
    }

    /// Messages in the destination (ready and unacknowledged), if the broker was polled.
    pub fn depth(&self) -> Option<f64> {
        match (self.ready, self.unacked) {
            (None, None) => None,
            (ready, unacked) => Some(ready.unwrap_or(0.0) + unacked.unwrap_or(0.0)),
        }
    }
}

/// The destination a messaging series is about.
fn key_of(sample: &Sample) -> DestinationKey {
    let label = |name| sample.label(name).unwrap_or_default().to_owned();
    (
        label(names::SERVICE_NAME),
        label(names::MESSAGING_SYSTEM),
        label(names::MESSAGING_DESTINATION_NAME),
    )
}

/// The figures of every destination with traffic in `window` or a depth reading in the
/// latest scrape, by service and destination.
pub fn destinations(
    scrapes: &[Arc<Scrape>],
    window: Duration,
    since: f64,
) -> (Vec<DestinationFigures>, Coverage) {
    let mut out: BTreeMap<DestinationKey, DestinationFigures> = BTreeMap::new();
    let (processing, coverage) = histograms(
        scrapes,
        window,
        since,
        names::MESSAGING_PROCESS_DURATION,
        key_of,
    );
    let rate_secs = coverage.covered_secs.max(1.0);
    for (key, histogram) in processing {
        let figures = entry(&mut out, key);
        figures.process_rate = histogram.count / rate_secs;
        figures.processing = histogram;
    }
    let (ages, _) = histograms(scrapes, window, since, names::MESSAGING_MESSAGE_AGE, key_of);
    for (key, age) in ages {
        let figures = entry(&mut out, key);
        figures.age_p99 = quantile(0.99, &age.buckets);
        figures.age_p99_below = in_first_bucket(0.99, &age.buckets);
    }
    let (counted, _) = increases(scrapes, window, since, |name| {
        name == names::MESSAGING_CLIENT_SENT_MESSAGES || name == names::MESSAGING_SETTLEMENTS_TOTAL
    });
    for (sample, increase) in counted {
        let figures = entry(&mut out, key_of(sample));
        if sample.name == names::MESSAGING_CLIENT_SENT_MESSAGES {
            figures.published += increase;
            if sample
                .label(names::ERROR_TYPE)
                .is_some_and(|e| !e.is_empty())
            {
                figures.publish_errors += increase;
            }
        } else {
            let outcome = sample
                .label(names::MESSAGING_SETTLEMENT)
                .unwrap_or_default();
            *figures.settlements.entry(outcome.to_owned()).or_default() += increase;
        }
    }
    for figures in out.values_mut() {
        figures.publish_rate = figures.published / rate_secs;
    }
    for sample in scrapes
        .last()
        .map_or(&[][..], |last| last.samples.as_slice())
    {
        // Gauges: the latest reading, summed over series that differ in other labels.
        let add = |slot: &mut Option<f64>| *slot = Some(slot.unwrap_or(0.0) + sample.value);
        let state = sample.label(names::MESSAGING_QUEUE_STATE);
        match sample.name.as_str() {
            names::MESSAGING_QUEUE_MESSAGES if state == Some(names::QUEUE_STATE_READY) => {
                add(&mut entry(&mut out, key_of(sample)).ready);
            }
            names::MESSAGING_QUEUE_MESSAGES if state == Some(names::QUEUE_STATE_UNACKED) => {
                add(&mut entry(&mut out, key_of(sample)).unacked);
            }
            names::MESSAGING_QUEUE_CONSUMERS => {
                add(&mut entry(&mut out, key_of(sample)).broker_consumers);
            }
            names::MESSAGING_CONSUMERS => add(&mut entry(&mut out, key_of(sample)).consumers),
            names::MESSAGING_QUEUE_STALE => {
                entry(&mut out, key_of(sample)).depth_stale = sample.value > 0.0;
            }
            _ => {}
        }
    }
    let mut destinations: Vec<DestinationFigures> = out
        .into_values()
        .filter(|d| {
            d.published > 0.0
                || d.processing.count > 0.0
                || !d.settlements.is_empty()
                || d.depth().is_some()
                || d.consumers.is_some()
        })
        .collect();
    destinations.sort_by(|a, b| {
        (b.published + b.processing.count).total_cmp(&(a.published + a.processing.count))
    });
    (destinations, coverage)
}

/// The figures of `key`, made when first seen.
fn entry(
    out: &mut BTreeMap<DestinationKey, DestinationFigures>,
    key: DestinationKey,
) -> &mut DestinationFigures {
    out.entry(key)
        .or_insert_with_key(|(service, system, destination)| DestinationFigures {
            service: service.clone(),
            system: system.clone(),
            destination: destination.clone(),
            ..DestinationFigures::default()
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scrape::parse::parse;

    fn scrape(at: f64, text: &str) -> Arc<Scrape> {
        Arc::new(Scrape {
            at_unix_secs: at,
            samples: parse(text, crate::scrape::is_kept).unwrap(),
        })
    }

    const LABELS: &str =
        r#"service_name="shop",messaging_system="rabbitmq",messaging_destination_name="orders""#;

    fn exposition(sent: u64, processed: u64, failed: u64, slow: u64, ready: u64) -> String {
        let l = LABELS;
        format!(
            "# TYPE messaging_client_sent_messages_total counter\n\
             messaging_client_sent_messages_total{{{l},messaging_operation_name=\"send\"}} {sent}\n\
             # TYPE messaging_process_duration_seconds histogram\n\
             messaging_process_duration_seconds_bucket{{{l},messaging_operation_name=\"process\",le=\"0.01\"}} {ok_fast}\n\
             messaging_process_duration_seconds_bucket{{{l},messaging_operation_name=\"process\",le=\"1\"}} {ok}\n\
             messaging_process_duration_seconds_bucket{{{l},messaging_operation_name=\"process\",le=\"+Inf\"}} {ok}\n\
             messaging_process_duration_seconds_count{{{l},messaging_operation_name=\"process\"}} {ok}\n\
             messaging_process_duration_seconds_bucket{{{l},messaging_operation_name=\"process\",error_type=\"boom\",le=\"0.01\"}} {failed}\n\
             messaging_process_duration_seconds_bucket{{{l},messaging_operation_name=\"process\",error_type=\"boom\",le=\"1\"}} {failed}\n\
             messaging_process_duration_seconds_bucket{{{l},messaging_operation_name=\"process\",error_type=\"boom\",le=\"+Inf\"}} {failed}\n\
             messaging_process_duration_seconds_count{{{l},messaging_operation_name=\"process\",error_type=\"boom\"}} {failed}\n\
             # TYPE obskit_messaging_message_age_seconds histogram\n\
             obskit_messaging_message_age_seconds_bucket{{{l},le=\"1\"}} {young}\n\
             obskit_messaging_message_age_seconds_bucket{{{l},le=\"10\"}} {all}\n\
             obskit_messaging_message_age_seconds_bucket{{{l},le=\"+Inf\"}} {all}\n\
             obskit_messaging_message_age_seconds_count{{{l}}} {all}\n\
             # TYPE obskit_messaging_settlements_total counter\n\
             obskit_messaging_settlements_total{{{l},settlement=\"ack\"}} {ok}\n\
             obskit_messaging_settlements_total{{{l},settlement=\"dead_letter\"}} {failed}\n\
             # TYPE obskit_messaging_queue_messages gauge\n\
             obskit_messaging_queue_messages{{{l},state=\"ready\"}} {ready}\n\
             obskit_messaging_queue_messages{{{l},state=\"unacked\"}} 1\n\
             # TYPE obskit_messaging_queue_consumers gauge\n\
             obskit_messaging_queue_consumers{{{l}}} 2\n\
             # TYPE obskit_messaging_consumers gauge\n\
             obskit_messaging_consumers{{{l}}} 1\n",
            ok = processed - failed,
            ok_fast = processed - failed - slow,
            young = processed - slow,
            all = processed,
        )
    }

    #[test]
    fn rates_quantiles_errors_ages_settlements_and_depth_per_destination() {
        let scrapes = [
            scrape(1000.0, &exposition(10, 10, 0, 0, 7)),
            // 60 s later: 120 more sent, 100 more processed of which 10 failed and 20 slow.
            scrape(1060.0, &exposition(130, 110, 10, 20, 3)),
        ];
        let (destinations, coverage) = destinations(&scrapes, Duration::from_secs(60), 0.0);
        assert!(coverage.is_full());
        assert_eq!(destinations.len(), 1, "{destinations:?}");
        let orders = &destinations[0];
        assert_eq!(
            (
                orders.service.as_str(),
                orders.system.as_str(),
                orders.destination.as_str()
            ),
            ("shop", "rabbitmq", "orders")
        );
        assert_eq!(orders.published, 120.0);
        assert_eq!(orders.publish_rate, 2.0);
        assert_eq!(orders.processing.count, 100.0);
        assert!((orders.process_rate - 100.0 / 60.0).abs() < 1e-9);
        assert_eq!(orders.processing.error_ratio(), 0.1);
        // 80 of 100 under 10 ms (70 fast successes, 10 fast failures): p50 is below it.
        assert_eq!(orders.processing.below_first_bucket()[0], Some(0.01));
        assert!(orders.processing.quantiles()[2].unwrap() > 0.01);
        // 80 of 100 younger than 1 s; p99 lies in (1 s, 10 s].
        let age = orders.age_p99.unwrap();
        assert!(age > 1.0 && age <= 10.0, "{age}");
        assert_eq!(orders.settlements["ack"], 90.0);
        assert_eq!(orders.dead_lettered(), 10.0);
        assert_eq!((orders.ready, orders.unacked), (Some(3.0), Some(1.0)));
        assert_eq!(orders.depth(), Some(4.0));
        assert_eq!(orders.broker_consumers, Some(2.0));
        assert_eq!(orders.consumers, Some(1.0));
        assert!(!orders.depth_stale);
    }

    #[test]
    fn no_messaging_series_no_destinations() {
        let scrapes = [scrape(
            1000.0,
            "# TYPE http_server_request_duration_seconds histogram\n\
             http_server_request_duration_seconds_count{service_name=\"shop\"} 3\n",
        )];
        assert!(
            destinations(&scrapes, Duration::from_secs(60), 0.0)
                .0
                .is_empty()
        );
    }
}
