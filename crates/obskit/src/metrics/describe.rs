//! The HELP text and unit of every series obskit records itself, in one
//! table: what a scrape shows beside each family.

use ::metrics::Unit;

use super::names;
use super::registry::Registry;

/// Name, unit and HELP text of each of obskit's own families.
const DESCRIPTIONS: &[(&str, Option<Unit>, &str)] = &[
    (
        names::HTTP_SERVER_REQUEST_DURATION,
        Some(Unit::Seconds),
        "Duration of HTTP server requests.",
    ),
    (
        names::HTTP_CLIENT_REQUEST_DURATION,
        Some(Unit::Seconds),
        "Duration of HTTP client requests.",
    ),
    (
        names::HTTP_SERVER_ACTIVE_REQUESTS,
        None,
        "Number of active HTTP server requests.",
    ),
    (
        names::HTTP_CLIENT_ACTIVE_REQUESTS,
        None,
        "Number of active HTTP client requests.",
    ),
    (
        names::RPC_SERVER_CALL_DURATION,
        Some(Unit::Seconds),
        "Duration of RPC server calls.",
    ),
    (
        names::RPC_CLIENT_CALL_DURATION,
        Some(Unit::Seconds),
        "Duration of RPC client calls.",
    ),
    (
        names::RPC_SERVER_ACTIVE_CALLS,
        None,
        "Number of active RPC server calls.",
    ),
    (
        names::RPC_CLIENT_ACTIVE_CALLS,
        None,
        "Number of active RPC client calls.",
    ),
    (
        names::SLO_REQUESTS_TOTAL,
        None,
        "Requests classified good or bad for each service level objective.",
    ),
    (
        names::SLO_OBJECTIVE_RATIO,
        None,
        "Target ratio of good requests for each service level objective.",
    ),
    (
        names::SLO_LATENCY_THRESHOLD,
        Some(Unit::Seconds),
        "Latency threshold of each latency service level objective.",
    ),
    (
        names::BUILD_INFO,
        None,
        "Always 1; the labels describe the running build.",
    ),
    (
        names::TARGET_INFO,
        None,
        "Always 1; the labels are the service's OpenTelemetry resource attributes.",
    ),
    (
        names::LOG_LINES_DROPPED_TOTAL,
        None,
        "Log lines dropped because the writer could not keep up.",
    ),
    (
        names::LOG_RECORDS_EXPORTED_TOTAL,
        None,
        "Log records the OTLP logs endpoint acknowledged.",
    ),
    (
        names::LOG_RECORDS_DROPPED_TOTAL,
        None,
        "Log records lost because the export queue was full or an export failed.",
    ),
    (
        names::SPANS_EXPORTED_TOTAL,
        None,
        "Spans the OTLP endpoint acknowledged.",
    ),
    (
        names::SPANS_DROPPED_TOTAL,
        None,
        "Spans lost because the export queue was full or an export failed.",
    ),
    (
        names::HEALTH_READY,
        None,
        "1 while the readiness probe reports ready, else 0.",
    ),
    (
        names::DB_CLIENT_OPERATION_DURATION,
        Some(Unit::Seconds),
        "Duration of database and cache client operations.",
    ),
    (
        names::DB_CLIENT_CONNECTION_WAIT_TIME,
        Some(Unit::Seconds),
        "Time spent waiting for a connection from a pool.",
    ),
    (
        names::DB_CLIENT_CONNECTIONS,
        None,
        "Connections of a pool by state, as the pool reports them.",
    ),
    (
        names::DB_CLIENT_CONNECTION_MAX,
        None,
        "The most connections a pool may open.",
    ),
    (
        names::DB_CLIENT_CONNECTION_PENDING_REQUESTS,
        None,
        "Requests waiting for a connection from a pool.",
    ),
    (
        names::DB_CLIENT_CONNECTION_TIMEOUTS_TOTAL,
        None,
        "Requests for a pooled connection that timed out.",
    ),
    (
        names::HEALTH_CHECK_UP,
        None,
        "1 when the dependency check last passed, else 0.",
    ),
];

/// Describes obskit's own families in `registry`.
pub(super) fn describe_all(registry: &Registry) {
    for &(name, unit, help) in DESCRIPTIONS {
        registry.describe(&name.into(), unit, help);
    }
}
