//! The HELP text and unit of every series obskit records itself, in one
//! table: what a scrape shows beside each family.

use ::metrics::Unit;

use super::names;
use ::metrics::Recorder as _;

use super::registry::Registry;

/// What a family is, for its description.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

use Kind::{Counter, Gauge, Histogram};

/// Kind, name, unit and HELP text of each of obskit's own families.
const DESCRIPTIONS: &[(Kind, &str, Option<Unit>, &str)] = &[
    (
        Histogram,
        names::HTTP_SERVER_REQUEST_DURATION,
        Some(Unit::Seconds),
        "Duration of HTTP server requests.",
    ),
    (
        Histogram,
        names::HTTP_CLIENT_REQUEST_DURATION,
        Some(Unit::Seconds),
        "Duration of HTTP client requests.",
    ),
    (
        Gauge,
        names::HTTP_SERVER_ACTIVE_REQUESTS,
        None,
        "Number of active HTTP server requests.",
    ),
    (
        Gauge,
        names::HTTP_CLIENT_ACTIVE_REQUESTS,
        None,
        "Number of active HTTP client requests.",
    ),
    (
        Histogram,
        names::RPC_SERVER_CALL_DURATION,
        Some(Unit::Seconds),
        "Duration of RPC server calls.",
    ),
    (
        Histogram,
        names::RPC_CLIENT_CALL_DURATION,
        Some(Unit::Seconds),
        "Duration of RPC client calls.",
    ),
    (
        Gauge,
        names::RPC_SERVER_ACTIVE_CALLS,
        None,
        "Number of active RPC server calls.",
    ),
    (
        Gauge,
        names::RPC_CLIENT_ACTIVE_CALLS,
        None,
        "Number of active RPC client calls.",
    ),
    (
        Counter,
        names::SLO_REQUESTS_TOTAL,
        None,
        "Requests classified good or bad for each service level objective.",
    ),
    (
        Gauge,
        names::SLO_OBJECTIVE_RATIO,
        None,
        "Target ratio of good requests for each service level objective.",
    ),
    (
        Gauge,
        names::SLO_LATENCY_THRESHOLD,
        Some(Unit::Seconds),
        "Latency threshold of each latency service level objective.",
    ),
    (
        Gauge,
        names::BUILD_INFO,
        None,
        "Always 1; the labels describe the running build.",
    ),
    (
        Gauge,
        names::TARGET_INFO,
        None,
        "Always 1; the labels are the service's OpenTelemetry resource attributes.",
    ),
    (
        Counter,
        names::LOG_LINES_DROPPED_TOTAL,
        None,
        "Log lines dropped because the writer could not keep up.",
    ),
    (
        Counter,
        names::LOG_RECORDS_EXPORTED_TOTAL,
        None,
        "Log records the OTLP logs endpoint acknowledged.",
    ),
    (
        Counter,
        names::LOG_RECORDS_DROPPED_TOTAL,
        None,
        "Log records lost because the export queue was full or an export failed.",
    ),
    (
        Counter,
        names::SPANS_EXPORTED_TOTAL,
        None,
        "Spans the OTLP endpoint acknowledged.",
    ),
    (
        Counter,
        names::SPANS_DROPPED_TOTAL,
        None,
        "Spans lost because the export queue was full or an export failed.",
    ),
    (
        Gauge,
        names::HEALTH_READY,
        None,
        "1 while the readiness probe reports ready, else 0.",
    ),
    (
        Histogram,
        names::DB_CLIENT_OPERATION_DURATION,
        Some(Unit::Seconds),
        "Duration of database and cache client operations.",
    ),
    (
        Histogram,
        names::DB_CLIENT_CONNECTION_WAIT_TIME,
        Some(Unit::Seconds),
        "Time spent waiting for a connection from a pool.",
    ),
    (
        Gauge,
        names::DB_CLIENT_CONNECTIONS,
        None,
        "Connections of a pool by state, as the pool reports them.",
    ),
    (
        Gauge,
        names::DB_CLIENT_CONNECTION_MAX,
        None,
        "The most connections a pool may open.",
    ),
    (
        Gauge,
        names::DB_CLIENT_CONNECTION_PENDING_REQUESTS,
        None,
        "Requests waiting for a connection from a pool.",
    ),
    (
        Counter,
        names::DB_CLIENT_CONNECTION_TIMEOUTS_TOTAL,
        None,
        "Requests for a pooled connection that timed out.",
    ),
    (
        Gauge,
        names::HEALTH_CHECK_UP,
        None,
        "1 when the dependency check last passed, else 0.",
    ),
];

/// Describes obskit's own families in `registry`.
pub(super) fn describe_all(registry: &Registry) {
    for &(kind, name, unit, help) in DESCRIPTIONS {
        match kind {
            Counter => registry.describe_counter(name.into(), unit, help.into()),
            Gauge => registry.describe_gauge(name.into(), unit, help.into()),
            Histogram => registry.describe_histogram(name.into(), unit, help.into()),
        }
    }
}
