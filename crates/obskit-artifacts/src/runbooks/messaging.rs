//! Runbook pages of the messaging alerts.

use super::percent;
use crate::names::{self, QUEUE_DEPTH_THRESHOLD};
use crate::policy::{
    DEAD_LETTER_WINDOW, ERROR_RATIO_FOR, MESSAGE_AGE_FOR, NO_CONSUMER_FOR, QUEUE_DEPTH_DEFAULT,
    QUEUE_DEPTH_FOR, QUEUE_GROWTH_FOR, QUEUE_GROWTH_WINDOW, RED_ERROR_RATIO, RED_MIN_REQUESTS,
    RED_WINDOW,
};
use crate::promql::number;
use obskit_names as n;

/// `(alert, page)` for each messaging alert.
pub(super) fn pages(board: &str) -> Vec<(&'static str, String)> {
    vec![
        (names::ALERT_QUEUE_DEPTH_HIGH, depth_high(board)),
        (names::ALERT_QUEUE_GROWING, growing(board)),
        (names::ALERT_QUEUE_NO_CONSUMER, no_consumer(board)),
        (names::ALERT_MESSAGE_AGE_HIGH, age_high(board)),
        (names::ALERT_MESSAGES_DEAD_LETTERED, dead_lettered(board)),
        (names::ALERT_MESSAGING_HIGH_ERROR_RATIO, error_ratio(board)),
    ]
}

/// How the depth figures are read, shared by the backlog pages.
fn depth_source() -> String {
    format!(
        "The depth is what the broker answered to the service's depth poll (`{messages}{{{state}=\"ready\"|\"unacked\"}}`, `{consumers}`), the largest any instance reports. While a poll fails, `{stale}` is 1 and the figures are an older reading: the alert leaves such readings out, so an unreachable broker never fires it (the readiness check and `ObskitNotReady` cover that).",
        messages = n::MESSAGING_QUEUE_MESSAGES,
        state = n::MESSAGING_QUEUE_STATE,
        consumers = n::MESSAGING_QUEUE_CONSUMERS,
        stale = n::MESSAGING_QUEUE_STALE,
    )
}

fn depth_high(board: &str) -> String {
    format!(
        r#"
# {alert}

**Meaning:** a destination has held more messages (ready and unacknowledged) than its threshold for {for_}.

{source}

The threshold is {default} messages unless the destination has its own: define the series `{threshold}` with the labels `{service}` and `{dest}`, for example with a recording rule, and the alert uses it without any edit to the stock rules:

```yaml
groups:
  - name: queue-thresholds
    rules:
      - record: {threshold}
        expr: vector(50000)
        labels:
          {service}: orders
          {dest}: orders.created
```

## Impact

Messages wait: the work they stand for (an order confirmed, an email sent) is late. If the service declares a freshness SLO, its burn-rate alert measures the damage.

## Diagnose

1. Messaging row of the service overview: {board}?var-service=SERVICE — depth and consumers, published against processed per second: did arrivals rise, or did processing slow down or fail?
2. Processing latency and error ratio by destination: slow or failing processing (a slow dependency) drains the queue slower.
3. `ObskitQueueNoConsumer` or a drop of `{running}`: consumers stopped.

## Mitigate

Scale the consumers out (an autoscaler such as KEDA can follow the depth), fix what slows the processing down, or shed the load at the producer. Raise the destination's threshold if this depth is normal for it.
"#,
        alert = names::ALERT_QUEUE_DEPTH_HIGH,
        for_ = QUEUE_DEPTH_FOR,
        source = depth_source(),
        default = number(QUEUE_DEPTH_DEFAULT),
        threshold = QUEUE_DEPTH_THRESHOLD,
        service = n::SERVICE_NAME,
        dest = n::MESSAGING_DESTINATION_NAME,
        running = n::MESSAGING_CONSUMERS,
    )
}

fn growing(board: &str) -> String {
    format!(
        r#"
# {alert}

**Meaning:** the messages in a destination have kept growing for {for_} (the trend over {window} is upward at every evaluation) although consumers are attached.

{source} The trend is `deriv` of that depth; the alert only fires while the broker reports at least one consumer (without consumers, `ObskitQueueNoConsumer` fires instead).

## Impact

The consumers take messages slower than they arrive: the backlog will not drain by itself, and messages get older the longer it lasts. This is the early warning; `ObskitQueueDepthHigh` follows when the threshold is passed (and mutes this alert).

## Diagnose

1. Messaging row of the service overview: {board}?var-service=SERVICE — published against processed per second shows whether arrivals rose or processing fell.
2. Processing latency p99 and error ratio: a slow or failing dependency slows every consumer; requeued messages (settlements by outcome) come back and count again.
3. Consumers: fewer instances than usual (a scale-in, crashed pods)?

## Mitigate

Scale the consumers out, raise their concurrency (prefetch) if processing waits on I/O, fix the slow dependency, or throttle the producer.
"#,
        alert = names::ALERT_QUEUE_GROWING,
        for_ = QUEUE_GROWTH_FOR,
        window = QUEUE_GROWTH_WINDOW,
        source = depth_source(),
    )
}

fn no_consumer(board: &str) -> String {
    format!(
        r#"
# {alert}

**Meaning:** messages are ready in a destination and the broker has reported no consumer on it for {for_}.

{source}

## Impact

Nothing processes the destination: every message waits, and the backlog grows with each one published. `ObskitQueueDepthHigh` and `ObskitMessageAgeHigh` for the same destination are muted while this fires: they are consequences.

## Diagnose

1. Are the workers running? Crash looping? Their logs say why they stopped consuming (a lost channel, a cancelled consumer, a failed start-up).
2. Messaging row of the service overview: {board}?var-service=SERVICE — `{running}` per instance shows whether the service believes it consumes.
3. A deploy that renamed the destination leaves the old one without consumers: drain or delete it.

## Mitigate

Restart or scale up the workers; fix their connection to the broker; move the messages to the destination the workers now read.
"#,
        alert = names::ALERT_QUEUE_NO_CONSUMER,
        for_ = NO_CONSUMER_FOR,
        source = depth_source(),
        running = n::MESSAGING_CONSUMERS,
    )
}

fn age_high(board: &str) -> String {
    format!(
        r#"
# {alert}

**Meaning:** the p99 age of the messages a service started processing from a destination, over {window}, has been above the service's freshness threshold for {for_}.

A message's age is taken when its processing starts, from the producer's creation time (header `obskit-created-at`) or else the broker's timestamp (`{age}`). The threshold is the one the service exports for its freshness SLO (`{threshold}{{{slo}}}`); with several freshness SLOs, the strictest. A service without a freshness SLO never fires this alert. It needs at least {min} messages in the window.

## Impact

Work happens late. The freshness SLO's burn-rate alert (`ObskitSloErrorBudgetBurn` with the freshness SLO's `{slo}`) measures the damage against the objective and pages when it matters; while it pages, this `ticket` is muted.

## Diagnose

1. Messaging row of the service overview: {board}?var-service=SERVICE — message age next to processing latency: age rising with flat latency means messages wait in the queue (too few consumers, a backlog); age rising with latency means processing itself is slow.
2. Queue depth and consumers for the destination.
3. Clock skew between producer and consumer hosts inflates ages measured from the producer's timestamp: compare with the broker's.

## Mitigate

Scale the consumers out, fix the slow processing, or drain the backlog.
"#,
        alert = names::ALERT_MESSAGE_AGE_HIGH,
        window = RED_WINDOW,
        for_ = MESSAGE_AGE_FOR,
        age = n::MESSAGING_MESSAGE_AGE,
        threshold = n::SLO_FRESHNESS_THRESHOLD,
        slo = n::SLO,
        min = RED_MIN_REQUESTS,
    )
}

fn dead_lettered(board: &str) -> String {
    format!(
        r#"
# {alert}

**Meaning:** a service refused at least one delivery from a destination for good over the last {window} (`{settlements}{{{settlement}="{dead}"}}`).

A delivery is dead-lettered when the processing gave up on it (the handler chose to, or the retries ran out): it moves to the destination's dead-letter queue where there is one and is dropped otherwise. The alert fires at the first one, and clears {window} after the last.

## Impact

Each dead-lettered message is work that was not done: an order not confirmed, an event not recorded. Someone has to look at it.

## Diagnose

1. Settlements by outcome and dead-lettered per minute on the service overview: {board}?var-service=SERVICE — one message, or a stream of them?
2. The processing traces of the dead-lettered messages (error spans on the process operation) and the service's logs say why processing refused them: malformed payloads (a producer's bug), a dependency refusing them, an expired retry budget.
3. Read the dead-letter queue itself: the messages and their headers.

## Mitigate

Fix the cause, then replay the dead-letter queue into the destination (shovel, or a small script). Discard messages that can never be processed, on purpose and with a record of it.
"#,
        alert = names::ALERT_MESSAGES_DEAD_LETTERED,
        window = DEAD_LETTER_WINDOW,
        settlements = n::MESSAGING_SETTLEMENTS_TOTAL,
        settlement = n::MESSAGING_SETTLEMENT,
        dead = n::SETTLEMENT_DEAD_LETTER,
    )
}

fn error_ratio(board: &str) -> String {
    format!(
        r#"
# {alert}

**Meaning:** more than {threshold} of the messages a service processed from a destination over {window} failed, for {for_}.

A processing fails when the processing function returned an error or panicked; obskit sets `{error_type}` on it in `{metric}_count`. Processing the service abandoned (cancelled at shutdown, `{error_type}="cancelled"`) is not a failure and is left out. The alert needs at least {min} messages in the {window} window.

## Impact

Messages are retried (requeued) or dead-lettered: work is late or lost. If the service declares an availability SLO over its messages, the burn-rate alert measures the damage and pages when it matters; this `ticket` is muted while that page fires.

## Diagnose

1. Processing error ratio and settlements by outcome on the service overview: {board}?var-service=SERVICE.
2. Processing traces with errors, and the logs they link to: which step fails, for which messages.
3. A recent deploy of the producer (a payload the consumer cannot read) or of the consumer; a failing dependency.

## Mitigate

Roll back, fix or fail over the failing dependency, or pause the consumers while the cause is fixed so messages wait instead of being dead-lettered.
"#,
        alert = names::ALERT_MESSAGING_HIGH_ERROR_RATIO,
        threshold = percent(RED_ERROR_RATIO),
        window = RED_WINDOW,
        for_ = ERROR_RATIO_FOR,
        error_type = n::ERROR_TYPE,
        metric = n::MESSAGING_PROCESS_DURATION,
        min = RED_MIN_REQUESTS,
    )
}
