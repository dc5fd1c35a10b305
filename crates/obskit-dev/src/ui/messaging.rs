//! The service page's Messaging section: per destination, messages published and processed
//! per second, processing p50/p95/p99 and error ratio, message age p99, depth and consumers
//! as the broker last reported them, settlements by outcome; and the latest messages, each
//! linking its CONSUMER span to the PRODUCER span that sent it (one trace across the queue).

use std::fmt::Write as _;

use super::html::{ago, duration, escape, histogram_duration, percent, push_escaped};
use crate::figures::messaging::DestinationFigures;
use crate::model::StatusCode;
use crate::store::MessageHop;

/// How many of the latest messages the section lists.
pub const MESSAGES_SHOWN: usize = 10;

/// Writes the section (always there, so a live page shows it once messages flow).
pub fn section(
    out: &mut String,
    destinations: &[DestinationFigures],
    messages: &[MessageHop],
    now_unix_nanos: u64,
) {
    out.push_str("<section id=\"messaging\" data-live=\"1\"><h2>Messaging</h2>");
    if destinations.is_empty() && messages.is_empty() {
        out.push_str(
            "<p class=\"muted\">No messages sent or processed yet. obskit's messaging instrumentation \
             (<code>obskit::messaging</code>: RabbitMQ, NATS, or any header carrier) reports its \
             destinations here.</p></section>",
        );
        return;
    }
    destination_table(out, destinations);
    message_table(out, messages, now_unix_nanos);
    out.push_str("</section>");
}

fn destination_table(out: &mut String, destinations: &[DestinationFigures]) {
    out.push_str(
        "<table id=\"destinations\"><thead><tr><th>Service</th><th>Destination</th>\
         <th class=\"num\">Published</th><th class=\"num\">Processed</th><th class=\"num\">Errors</th>\
         <th class=\"num\">p50</th><th class=\"num\">p95</th><th class=\"num\">p99</th>\
         <th class=\"num\">Age p99</th><th class=\"num\">Depth</th><th class=\"num\">Consumers</th>\
         <th>Settlements</th><th class=\"num\">Dead-lettered</th></tr></thead><tbody>",
    );
    let threshold = obskit_artifacts::RED_ERROR_RATIO_THRESHOLD;
    for d in destinations {
        out.push_str("<tr class=\"destination\" data-destination=\"");
        push_escaped(out, &d.destination);
        out.push_str("\"><td>");
        push_escaped(out, &d.service);
        out.push_str("</td><td>");
        push_escaped(out, &d.destination);
        out.push_str(" <span class=\"muted\">");
        push_escaped(out, &d.system);
        let error_ratio = d.processing.error_ratio();
        let _ = write!(
            out,
            "</span></td><td class=\"num published\">{:.2}/s</td><td class=\"num processed\">{:.2}/s</td>\
             <td class=\"num errors{}\">{}</td>",
            d.publish_rate,
            d.process_rate,
            if error_ratio > threshold {
                " error"
            } else {
                ""
            },
            if d.processing.count > 0.0 {
                percent(error_ratio)
            } else {
                "–".to_owned()
            },
        );
        let quantiles = d.processing.quantiles();
        let below = d.processing.below_first_bucket();
        for (i, class) in ["p50", "p95", "p99"].into_iter().enumerate() {
            let _ = write!(
                out,
                "<td class=\"num {class}\">{}</td>",
                histogram_duration(below[i], quantiles[i])
            );
        }
        let _ = write!(
            out,
            "<td class=\"num age\">{}</td><td class=\"num depth\">{}</td><td class=\"num consumers\">{}</td><td class=\"settlements\">",
            histogram_duration(d.age_p99_below, d.age_p99),
            depth_cell(d),
            consumers_cell(d),
        );
        let mut first = true;
        for (outcome, count) in &d.settlements {
            if !first {
                out.push_str(" · ");
            }
            first = false;
            out.push_str("<span class=\"settlement\" data-outcome=\"");
            push_escaped(out, outcome);
            out.push_str("\">");
            push_escaped(out, outcome);
            let _ = write!(out, " {count:.0}</span>");
        }
        let dead = d.dead_lettered();
        let _ = write!(
            out,
            "</td><td class=\"num dead-lettered{}\">{dead:.0}</td></tr>",
            if dead > 0.0 { " error" } else { "" }
        );
    }
    out.push_str("</tbody></table>");
}

fn depth_cell(d: &DestinationFigures) -> String {
    let Some(depth) = d.depth() else {
        return "<span class=\"muted\" title=\"the broker's figures are polled by Messaging::poll_depth\">not polled</span>"
            .to_owned();
    };
    let mut cell = format!(
        "<span title=\"{:.0} ready, {:.0} unacknowledged\">{depth:.0}</span>",
        d.ready.unwrap_or(0.0),
        d.unacked.unwrap_or(0.0)
    );
    if d.depth_stale {
        cell.push_str(" <span class=\"error\" title=\"the last depth poll failed\">stale</span>");
    }
    cell
}

fn consumers_cell(d: &DestinationFigures) -> String {
    match (d.broker_consumers, d.consumers) {
        (Some(broker), Some(own)) => format!(
            "<span title=\"{broker:.0} on the broker, {own:.0} in this service\">{broker:.0}</span>"
        ),
        (Some(broker), None) => format!("{broker:.0}"),
        (None, Some(own)) => {
            format!("<span title=\"in this service (the broker is not polled)\">{own:.0}</span>")
        }
        (None, None) => "–".to_owned(),
    }
}

fn message_table(out: &mut String, messages: &[MessageHop], now_unix_nanos: u64) {
    out.push_str(
        "<h2>Latest messages</h2><table id=\"messages\"><thead><tr><th>Processed</th><th>Destination</th>\
         <th>Sent by (PRODUCER)</th><th>Processed by (CONSUMER)</th><th class=\"num\">Queued</th>\
         <th class=\"num\">Processing</th><th>Status</th></tr></thead><tbody>",
    );
    for hop in messages {
        let consumer = &hop.consumer;
        let status = match consumer.status {
            StatusCode::Error => "error",
            StatusCode::Ok => "ok",
            StatusCode::Unset => "unset",
        };
        let _ = write!(
            out,
            "<tr class=\"message\" data-trace=\"{}\"><td>{}</td><td>",
            consumer.trace_id,
            ago(consumer.start_unix_nanos, now_unix_nanos)
        );
        push_escaped(out, hop.destination());
        out.push_str("</td><td>");
        match &hop.producer {
            Some(producer) => {
                let _ = write!(
                    out,
                    "<a class=\"producer-link\" href=\"/traces/{}#span-{}\">{}</a> <span class=\"muted\">{}</span>",
                    producer.trace_id,
                    producer.span_id,
                    escape(&producer.name),
                    escape(&producer.service)
                );
            }
            None => out.push_str(
                "<span class=\"muted\" title=\"the sender's span has not arrived or was let go\">not held</span>",
            ),
        }
        let _ = write!(
            out,
            "</td><td><a class=\"consumer-link\" href=\"/traces/{}#span-{}\">{}</a> <span class=\"muted\">{}</span></td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"{status}\">{status}</td></tr>",
            consumer.trace_id,
            consumer.span_id,
            escape(&consumer.name),
            escape(&consumer.service),
            hop.queued_nanos()
                .map_or_else(|| "–".to_owned(), |n| duration(n as f64)),
            duration(consumer.duration_nanos() as f64),
        );
    }
    out.push_str("</tbody></table>");
    if messages.is_empty() {
        out.push_str("<p class=\"muted\">No CONSUMER span held.</p>");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::figures::Histogram;
    use crate::model::{Attribute, Span, SpanId, SpanKind, SpanLink, TraceId};

    fn span(kind: SpanKind, id: u8, parent: Option<u8>, start: u64, name: &str) -> Arc<Span> {
        Arc::new(Span {
            trace_id: TraceId([7; 16]),
            span_id: SpanId([id; 8]),
            parent_span_id: parent.map(|p| SpanId([p; 8])),
            name: name.to_owned(),
            kind,
            start_unix_nanos: start,
            end_unix_nanos: start + 2_000_000,
            status: StatusCode::Unset,
            status_message: String::new(),
            service: "shop<1>".into(),
            attributes: vec![Attribute {
                key: "messaging.destination.name".to_owned(),
                value: "orders".to_owned(),
                truncated_from: None,
            }],
            events: Vec::new(),
            links: if kind == SpanKind::Consumer {
                vec![SpanLink {
                    trace_id: TraceId([7; 16]),
                    span_id: SpanId([1; 8]),
                    attributes: Vec::new(),
                }]
            } else {
                Vec::new()
            },
        })
    }

    #[test]
    fn a_message_links_its_consumer_to_its_producer_and_escapes_names() {
        let hop = MessageHop {
            consumer: span(SpanKind::Consumer, 2, Some(1), 5_000_000, "process orders"),
            producer: Some(span(SpanKind::Producer, 1, None, 1_000_000, "send orders")),
        };
        let d = DestinationFigures {
            service: "shop<1>".to_owned(),
            system: "rabbitmq".to_owned(),
            destination: "orders".to_owned(),
            published: 6.0,
            publish_rate: 0.1,
            processing: Histogram {
                count: 4.0,
                errors: 1.0,
                buckets: vec![(0.01, 4.0), (f64::INFINITY, 4.0)],
            },
            settlements: [("ack".to_owned(), 3.0), ("dead_letter".to_owned(), 1.0)].into(),
            ready: Some(2.0),
            unacked: Some(1.0),
            ..DestinationFigures::default()
        };
        let mut out = String::new();
        section(&mut out, &[d], &[hop], 6_000_000);
        let trace = "07".repeat(16);
        assert!(
            out.contains(&format!(
                "<a class=\"producer-link\" href=\"/traces/{trace}#span-0101010101010101\">send orders</a>"
            )),
            "{out}"
        );
        assert!(out.contains(&format!(
            "<a class=\"consumer-link\" href=\"/traces/{trace}#span-0202020202020202\">process orders</a>"
        )));
        assert!(out.contains("shop&lt;1&gt;") && !out.contains("shop<1>"));
        assert!(
            out.contains("<td class=\"num errors error\">25.0 %</td>"),
            "{out}"
        );
        assert!(out.contains("<td class=\"num dead-lettered error\">1</td>"));
        assert!(out.contains("<td class=\"num p50\">&lt; 10.0 ms"), "{out}");
        assert!(
            out.contains(">3</span></td>"),
            "depth is ready + unacked: {out}"
        );
        // Sent at 1 ms, processed from 5 ms: 4 ms in the queue.
        assert!(out.contains("<td class=\"num\">4.0 ms</td>"), "{out}");
    }

    #[test]
    fn without_messaging_the_section_says_what_would_appear() {
        let mut out = String::new();
        section(&mut out, &[], &[], 0);
        assert!(out.starts_with("<section id=\"messaging\" data-live=\"1\">"));
        assert!(out.contains("No messages sent or processed yet"));
    }
}
