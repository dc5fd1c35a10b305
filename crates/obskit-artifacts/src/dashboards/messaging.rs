//! The service overview's Messaging row: messages published and processed, processing latency
//! and errors, message age, queue depth and consumers, and how deliveries were settled, each per
//! destination (queue, stream or subject).

use super::RATE_INTERVAL;
use super::build::{Board, Spec};
use super::service::{error_ratio, of_service, quantile, sum_rate};
use crate::policy::RED_ERROR_RATIO;
use crate::promql::{rate, sum_by};
use obskit_names as n;

/// Adds the Messaging row to `b`.
pub(super) fn rows(b: &mut Board) {
    let dest = n::MESSAGING_DESTINATION_NAME;
    let legend = format!("{{{{{dest}}}}}");
    let process = |suffix: &str| of_service(&format!("{}{suffix}", n::MESSAGING_PROCESS_DURATION));
    let settlements = of_service(n::MESSAGING_SETTLEMENTS_TOTAL);

    b.row("Messaging");
    b.add(12, 8, Spec::timeseries("Messages published and processed by destination", "cps", "Messages per second this service published to each destination (sends the broker refused are left out), and messages per second it received for processing from each destination.")
        .query(sum_rate(&[dest], &of_service(n::MESSAGING_CLIENT_SENT_MESSAGES).eq(n::ERROR_TYPE, "")), &format!("published {legend}"))
        .query(sum_rate(&[dest], &of_service(n::MESSAGING_CLIENT_CONSUMED_MESSAGES)), &format!("processed {legend}"))
        .min(0.0));
    b.add(12, 8, Spec::timeseries("Processing error ratio by destination", "percentunit", "Share of each destination's processing operations that failed (the processing function returned an error or panicked). The dashed line is the 1% RED threshold.")
        .query(error_ratio(&[dest], &process("_count")), &legend)
        .thresholds("green", &[("red", RED_ERROR_RATIO)])
        .threshold_lines()
        .min(0.0));
    b.add(12, 8, Spec::timeseries("Processing latency by destination (p50, p95, p99)", "s", "Median, 95th and 99th percentile time the processing function took per destination, interpolated within histogram buckets. Exemplars link to the processing traces.")
        .query(quantile(0.5, &[dest], &process("_bucket")), &format!("p50 {legend}"))
        .query(quantile(0.95, &[dest], &process("_bucket")), &format!("p95 {legend}"))
        .query(quantile(0.99, &[dest], &process("_bucket")), &format!("p99 {legend}"))
        .exemplars()
        .min(0.0));
    b.add(12, 8, Spec::timeseries("Message age p99 by destination", "s", "99th percentile age of messages when their processing started, per destination: from the producer's timestamp, else the broker's. Age growing while latency stays flat means messages wait in the queue: too few consumers.")
        .query(quantile(0.99, &[dest], &of_service(&format!("{}_bucket", n::MESSAGING_MESSAGE_AGE))), &format!("p99 {legend}"))
        .exemplars()
        .min(0.0));
    b.add(8, 8, Spec::timeseries("Queue depth and consumers", "short", "Messages in each destination as the broker last reported them, ready (waiting) and unacked (delivered, not yet settled), and the consumers attached. While obskit_messaging_queue_depth_stale is 1 the broker did not answer and the figures are an older reading.")
        .query(format!("max by ({dest}, {state}) ({})", of_service(n::MESSAGING_QUEUE_MESSAGES), state = n::MESSAGING_QUEUE_STATE), &format!("{{{{{}}}}} {legend}", n::MESSAGING_QUEUE_STATE))
        .query(format!("max by ({dest}) ({})", of_service(n::MESSAGING_QUEUE_CONSUMERS)), &format!("consumers {legend}"))
        .min(0.0));
    b.add(8, 8, Spec::timeseries("Settlements by outcome", "cps", "Deliveries settled per second, stacked by outcome: ack (processed), requeue (returned for another attempt) and dead_letter (refused for good), per destination.")
        .query(sum_rate(&[dest, n::MESSAGING_SETTLEMENT], &settlements), &format!("{{{{{}}}}} {legend}", n::MESSAGING_SETTLEMENT))
        .stacked()
        .min(0.0));
    b.add(8, 8, Spec::timeseries("Dead-lettered per minute", "cpm", "Deliveries refused for good per minute, per destination: moved to the dead-letter queue where the destination has one, dropped otherwise. Any value above 0 needs a look.")
        .query(format!("60 * {}", sum_by(&[dest], &rate(&settlements.clone().eq(n::MESSAGING_SETTLEMENT, n::SETTLEMENT_DEAD_LETTER), RATE_INTERVAL))), &legend)
        .min(0.0));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_row_queries_every_messaging_figure_by_destination() {
        let mut b = Board::default();
        rows(&mut b);
        let panels = b.into_panels();
        assert_eq!(panels[0].title, "Messaging");
        let exprs: Vec<String> = panels
            .iter()
            .flat_map(|p| p.targets.iter().map(|t| t.expr.clone()))
            .collect();
        for metric in [
            n::MESSAGING_CLIENT_SENT_MESSAGES,
            n::MESSAGING_CLIENT_CONSUMED_MESSAGES,
            n::MESSAGING_PROCESS_DURATION,
            n::MESSAGING_MESSAGE_AGE,
            n::MESSAGING_QUEUE_MESSAGES,
            n::MESSAGING_QUEUE_CONSUMERS,
            n::MESSAGING_SETTLEMENTS_TOTAL,
        ] {
            assert!(
                exprs.iter().any(|e| e.contains(metric)),
                "no panel queries {metric}: {exprs:#?}"
            );
        }
        for expr in &exprs {
            assert!(
                expr.contains(n::MESSAGING_DESTINATION_NAME),
                "not per destination: {expr}"
            );
        }
    }
}
