//! The service overview's Dependencies row: what the service waits on. Datastore operations
//! per second, error ratio and p50/p95/p99 by system and operation; per connection pool, the
//! connections in use against the maximum, the requests waiting for one, the time they waited
//! and the waits that timed out.

use super::RATE_INTERVAL;
use super::build::{Board, Spec};
use super::service::{error_ratio, of_service, quantile, sum_rate};
use crate::policy::RED_ERROR_RATIO;
use crate::promql::{rate, sum_by};
use obskit_names as n;

/// Adds the Dependencies row to `b`.
pub(super) fn rows(b: &mut Board) {
    let (system, operation) = (n::DB_SYSTEM_NAME, n::DB_OPERATION_NAME);
    let pool = n::DB_CLIENT_CONNECTION_POOL_NAME;
    let by_operation = [system, operation];
    let by_pool = [system, pool];
    let legend = format!("{{{{{system}}}}} {{{{{operation}}}}}");
    let pool_legend = format!("{{{{{system}}}}} {{{{{pool}}}}}");
    let ops = |suffix: &str| of_service(&format!("{}{suffix}", n::DB_CLIENT_OPERATION_DURATION));
    let wait = of_service(&format!("{}_bucket", n::DB_CLIENT_CONNECTION_WAIT_TIME));

    b.row("Dependencies");
    b.add(8, 8, Spec::timeseries("Datastore operations by system and operation", "ops", "Database and cache operations per second this service made, per system (postgresql, redis, ...) and operation (SELECT, GET, ...). Keys, literals and query text never become labels.")
        .query(sum_rate(&by_operation, &ops("_count")), &legend)
        .min(0.0));
    b.add(8, 8, Spec::timeseries("Datastore error ratio by system and operation", "percentunit", "Share of each operation that failed: an error from the server (its SQLSTATE or Redis error kind), a broken connection, or no connection from the pool in time. Operations the caller abandoned are left out. The dashed line is the 1% threshold of ObskitDbHighErrorRatio.")
        .query(error_ratio(&by_operation, &ops("_count")), &legend)
        .thresholds("green", &[("red", RED_ERROR_RATIO)])
        .threshold_lines()
        .min(0.0));
    b.add(8, 8, Spec::timeseries("Datastore latency by system and operation (p50, p95, p99)", "s", "Median, 95th and 99th percentile operation duration per system and operation, from the wait for a pooled connection to the last row. Exemplars link to the operations' traces.")
        .query(quantile(0.5, &by_operation, &ops("_bucket")), &format!("p50 {legend}"))
        .query(quantile(0.95, &by_operation, &ops("_bucket")), &format!("p95 {legend}"))
        .query(quantile(0.99, &by_operation, &ops("_bucket")), &format!("p99 {legend}"))
        .exemplars()
        .min(0.0));
    let used = of_service(n::DB_CLIENT_CONNECTIONS)
        .eq(n::DB_CLIENT_CONNECTION_STATE, n::DB_CONNECTION_STATE_USED);
    b.add(8, 8, Spec::timeseries("Connection pool usage against maximum", "short", "Connections lent out per pool, summed over instances, against the most the pools may open. Used close to the maximum (ObskitDbPoolSaturated: above 90% on an instance) means requests will soon wait.")
        .query(sum_by(&by_pool, &used.to_string()), &format!("used {pool_legend}"))
        .query(sum_by(&by_pool, &of_service(n::DB_CLIENT_CONNECTION_MAX).to_string()), &format!("max {pool_legend}"))
        .min(0.0));
    b.add(8, 8, Spec::timeseries("Requests waiting for a connection", "short", "Requests waiting for a connection from each pool right now, summed over instances, and the requests per minute that gave up waiting (acquire timeouts: each one failed).")
        .query(sum_by(&by_pool, &of_service(n::DB_CLIENT_CONNECTION_PENDING_REQUESTS).to_string()), &format!("waiting {pool_legend}"))
        .query(
            format!("60 * {}", sum_by(&by_pool, &rate(&of_service(n::DB_CLIENT_CONNECTION_TIMEOUTS_TOTAL), RATE_INTERVAL))),
            &format!("timeouts/min {pool_legend}"),
        )
        .min(0.0));
    b.add(8, 8, Spec::timeseries("Connection wait time (p50, p99)", "s", "Median and 99th percentile time a request waited for a connection from each pool. Waits growing before the database's own latency does point at the pool's size, or at connections held too long.")
        .query(quantile(0.5, &by_pool, &wait), &format!("p50 {pool_legend}"))
        .query(quantile(0.99, &by_pool, &wait), &format!("p99 {pool_legend}"))
        .exemplars()
        .min(0.0));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_row_queries_every_datastore_figure() {
        let mut b = Board::default();
        rows(&mut b);
        let panels = b.into_panels();
        assert_eq!(panels[0].title, "Dependencies");
        let exprs: Vec<String> = panels
            .iter()
            .flat_map(|p| p.targets.iter().map(|t| t.expr.clone()))
            .collect();
        for metric in [
            n::DB_CLIENT_OPERATION_DURATION,
            n::DB_CLIENT_CONNECTIONS,
            n::DB_CLIENT_CONNECTION_MAX,
            n::DB_CLIENT_CONNECTION_PENDING_REQUESTS,
            n::DB_CLIENT_CONNECTION_WAIT_TIME,
            n::DB_CLIENT_CONNECTION_TIMEOUTS_TOTAL,
        ] {
            assert!(
                exprs.iter().any(|e| e.contains(metric)),
                "no panel queries {metric}: {exprs:#?}"
            );
        }
        for expr in &exprs {
            assert!(expr.contains(n::DB_SYSTEM_NAME), "not per system: {expr}");
        }
    }
}
