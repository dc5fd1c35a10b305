//! Runbook pages of the datastore alerts.

use super::percent;
use crate::names::{self, DB_LATENCY_THRESHOLD};
use crate::policy::{
    DB_LATENCY_DEFAULT, DB_POOL_FOR, DB_POOL_SATURATION, ERROR_RATIO_FOR, LATENCY_FOR,
    RED_ERROR_RATIO, RED_MIN_REQUESTS, RED_WINDOW,
};
use crate::promql::number;
use obskit_names as n;

/// `(alert, page)` for each datastore alert.
pub(super) fn pages(board: &str) -> Vec<(&'static str, String)> {
    vec![
        (names::ALERT_DB_POOL_SATURATED, pool_saturated(board)),
        (names::ALERT_DB_POOL_WAITING, pool_waiting(board)),
        (names::ALERT_DB_ACQUIRE_TIMEOUTS, acquire_timeouts(board)),
        (names::ALERT_DB_HIGH_ERROR_RATIO, error_ratio(board)),
        (names::ALERT_DB_HIGH_LATENCY, latency(board)),
    ]
}

/// The shared diagnosis of a starved pool.
fn pool_diagnosis(board: &str) -> String {
    format!(
        "1. Dependencies row of the service overview: {board}?var-service=SERVICE — pool usage against its maximum, waiters and wait time per pool, operation rate and latency per system and operation.\n\
         2. Slow operations hold connections longer: a slow query (operation p99 by operation) starves the pool as surely as load does.\n\
         3. Connections held across slow work (an outgoing call inside a transaction) or leaked (a connection acquired and never returned) keep `{used}` high at low traffic.\n\
         4. More instances than usual each opening a full pool can exhaust the database's own connection limit instead.",
        used = format_args!(
            "{}{{{}=\"{}\"}}",
            n::DB_CLIENT_CONNECTIONS,
            n::DB_CLIENT_CONNECTION_STATE,
            n::DB_CONNECTION_STATE_USED
        ),
    )
}

fn pool_saturated(board: &str) -> String {
    format!(
        r#"
# {alert}

**Meaning:** more than {share} of a connection pool's connections have been lent out for {for_}, on at least one instance.

The figures are read from each instance's pool at every scrape: `{connections}{{{state}="used"}}` against `{max}`. Saturation comes before latency: the next requests will wait for a connection (`ObskitDbPoolWaiting`) and then time out (`ObskitDbAcquireTimeouts`, which mutes this alert).

## Impact

None yet for most requests, but no headroom: a burst or one slow query makes every request that needs the pool wait.

## Diagnose

{diagnosis}

## Mitigate

Fix the slow query or the connection held too long; raise the pool's maximum if the database has room for it; scale out only if the database can take the extra connections.
"#,
        alert = names::ALERT_DB_POOL_SATURATED,
        share = percent(DB_POOL_SATURATION),
        for_ = DB_POOL_FOR,
        connections = n::DB_CLIENT_CONNECTIONS,
        state = n::DB_CLIENT_CONNECTION_STATE,
        max = n::DB_CLIENT_CONNECTION_MAX,
        diagnosis = pool_diagnosis(board),
    )
}

fn pool_waiting(board: &str) -> String {
    format!(
        r#"
# {alert}

**Meaning:** requests have been waiting for a connection from a pool at every evaluation for {for_} (`{pending} > 0`).

Every wait adds to the latency of the request that waits; `{wait}` shows how long the waits are.

## Impact

Requests are slower by the wait, and the database-bound ones queue behind each other. The latency alerts of the service and of the datastore may follow; `ObskitDbHighLatency` and `ObskitDbHighErrorRatio` for the same system are muted while this fires, since the pool is the cause.

## Diagnose

{diagnosis}

## Mitigate

Fix the slow query or the connection held too long; raise the pool's maximum if the database has room; shed load.
"#,
        alert = names::ALERT_DB_POOL_WAITING,
        for_ = DB_POOL_FOR,
        pending = n::DB_CLIENT_CONNECTION_PENDING_REQUESTS,
        wait = n::DB_CLIENT_CONNECTION_WAIT_TIME,
        diagnosis = pool_diagnosis(board),
    )
}

fn acquire_timeouts(board: &str) -> String {
    format!(
        r#"
# {alert}

**Meaning:** requests gave up waiting for a connection from a pool over the last {window} (`{timeouts}` rose).

The alert fires at the first timeout and clears {window} after the last. Each timeout is an operation that failed without reaching the database (error type `pool_timeout`).

## Impact

Requests fail. The pool is exhausted: `ObskitDbPoolSaturated` and `ObskitDbPoolWaiting` for the same pool are muted while this fires.

## Diagnose

{diagnosis}

## Mitigate

As for a saturated pool: fix what holds the connections, raise the maximum if the database has room, shed load. A longer acquire timeout only moves the failure later.
"#,
        alert = names::ALERT_DB_ACQUIRE_TIMEOUTS,
        window = RED_WINDOW,
        timeouts = n::DB_CLIENT_CONNECTION_TIMEOUTS_TOTAL,
        diagnosis = pool_diagnosis(board),
    )
}

fn error_ratio(board: &str) -> String {
    format!(
        r#"
# {alert}

**Meaning:** more than {threshold} of a service's operations on one datastore system over {window} failed, for {for_}.

An operation fails when the server answered with an error (its SQLSTATE or Redis error kind becomes `{error_type}`), the connection broke, or no connection came from the pool in time. Operations the caller abandoned (`{error_type}="cancelled"`) are left out. The alert needs at least {min} operations in the {window} window.

## Impact

The requests that needed those operations fail or degrade, depending on how the service handles the error.

## Diagnose

1. Dependencies row of the service overview: {board}?var-service=SERVICE — error ratio by system and operation.
2. The error types in `{metric}_count`: a constraint violation (23505) is usually the application's bug or a duplicate request; 57014 a statement timeout (slow queries); connection errors a database that is down or unreachable (the readiness check and `ObskitNotReady` say so too); `pool_timeout` a starved pool.
3. Traces of failing requests show the failing operation's span, its summary (`db.query.summary`) and error type.

## Mitigate

Fix the failing query or the data it trips on; restore the database; relieve the pool.
"#,
        alert = names::ALERT_DB_HIGH_ERROR_RATIO,
        threshold = percent(RED_ERROR_RATIO),
        window = RED_WINDOW,
        for_ = ERROR_RATIO_FOR,
        error_type = n::ERROR_TYPE,
        metric = n::DB_CLIENT_OPERATION_DURATION,
        min = RED_MIN_REQUESTS,
    )
}

fn latency(board: &str) -> String {
    format!(
        r#"
# {alert}

**Meaning:** the p99 duration of a service's operations on one datastore system over {window} has been above its threshold for {for_}.

p99 is interpolated from `{metric}`, with at least {min} operations in the window. An operation on the pool is measured from the wait for a connection to the last row, so a starved pool shows here as well (and its alerts mute this one). The threshold is {default}s unless the datastore has its own: define the series `{threshold}` with the labels `{service}` and `{system}` (for example a recording rule with `expr: vector(0.05)`), and the alert uses it without any edit to the stock rules.

## Impact

Requests that wait on the datastore are slow; if they hold pooled connections while waiting, the pool saturates next.

## Diagnose

1. Dependencies row of the service overview: {board}?var-service=SERVICE — p50/p95/p99 by system and operation; exemplars link to slow operations' traces.
2. Pool wait time: a large share of the latency spent waiting points at the pool, not the database.
3. On the database: slow query log, locks, load, replication lag.

## Mitigate

Fix the slow query (an index, a smaller result), relieve the database, or raise the threshold for a datastore whose normal latency is higher.
"#,
        alert = names::ALERT_DB_HIGH_LATENCY,
        window = RED_WINDOW,
        for_ = LATENCY_FOR,
        metric = n::DB_CLIENT_OPERATION_DURATION,
        min = RED_MIN_REQUESTS,
        default = number(DB_LATENCY_DEFAULT),
        threshold = DB_LATENCY_THRESHOLD,
        service = n::SERVICE_NAME,
        system = n::DB_SYSTEM_NAME,
    )
}
