//! The service overview: RED for incoming requests (rate, errors, latency by route, status
//! codes, in-flight), RED for gRPC calls served and made (by method and status code), RED for
//! outgoing calls, datastores and their pools, messaging, readiness, process CPU and memory, and
//! the running version.

use super::RATE_INTERVAL;
use super::build::{Board, Spec, dashboard as skeleton, label_values_variable};
use super::model::Dashboard;
use crate::names::{INSTANCE, SERVICE_DASHBOARD_UID};
use crate::policy::RED_ERROR_RATIO;
use crate::promql::{Selector, rate, sum_by};
use obskit_names as n;

fn service() -> &'static str {
    "$service"
}

/// Incoming requests of the selected service and routes, as `<metric><suffix>`.
fn server(suffix: &str) -> Selector {
    Selector::new(format!("{}{suffix}", n::HTTP_SERVER_REQUEST_DURATION))
        .re(n::SERVICE_NAME, service())
        .re(n::HTTP_ROUTE, "$route")
}

/// Outgoing calls of the selected service, as `<metric><suffix>`.
fn client(suffix: &str) -> Selector {
    Selector::new(format!("{}{suffix}", n::HTTP_CLIENT_REQUEST_DURATION))
        .re(n::SERVICE_NAME, service())
}

pub(super) fn of_service(metric: &str) -> Selector {
    Selector::new(metric).re(n::SERVICE_NAME, service())
}

/// `sum by (by) (rate(sel))` or `sum(rate(sel))` when `by` is empty.
pub(super) fn sum_rate(by: &[&str], sel: &Selector) -> String {
    let inner = rate(sel, RATE_INTERVAL);
    if by.is_empty() {
        format!("sum({inner})")
    } else {
        sum_by(by, &inner)
    }
}

/// Errors / all over `by`; a group without errors shows 0 instead of nothing.
pub(super) fn error_ratio(by: &[&str], all: &Selector) -> String {
    // A request the client left is in RED, but it is no server failure.
    let failed = all
        .clone()
        .ne(n::ERROR_TYPE, "")
        .ne(n::ERROR_TYPE, n::ERROR_TYPE_CANCELLED);
    let errors = sum_rate(by, &failed);
    let total = sum_rate(by, all);
    if by.is_empty() {
        format!("(\n  {errors}\n  or vector(0)\n)\n/\n{total}")
    } else {
        let on = by.join(", ");
        format!("(\n  {errors}\n  or on ({on})\n  0 * {total}\n)\n/ on ({on})\n{total}")
    }
}

pub(super) fn quantile(q: f64, by: &[&str], buckets: &Selector) -> String {
    let mut labels = by.to_vec();
    labels.push("le");
    format!(
        "histogram_quantile({q}, {})",
        sum_by(&labels, &rate(buckets, RATE_INTERVAL))
    )
}

/// gRPC calls of the selected service, as `<metric><suffix>`.
fn rpc(metric: &str, suffix: &str) -> Selector {
    Selector::new(format!("{metric}{suffix}")).re(n::SERVICE_NAME, service())
}

/// The gRPC rows: calls served (rate, errors by status code, latency by method, in flight) and
/// calls made, by method.
fn grpc_rows(b: &mut Board) {
    let count = rpc(n::RPC_SERVER_CALL_DURATION, "_count");
    let bucket = rpc(n::RPC_SERVER_CALL_DURATION, "_bucket");
    let method = n::RPC_METHOD;
    let legend = format!("{{{{{method}}}}}");
    b.row("Incoming gRPC calls");
    b.add(8, 8, Spec::timeseries("gRPC call rate by method", "reqps", "Calls per second per fully qualified method (package.Service/Method); calls to methods the server does not serve share the value _OTHER. Health and reflection calls are not counted.")
        .query(sum_rate(&[method], &count), &legend)
        .min(0.0));
    b.add(8, 8, Spec::timeseries("gRPC error ratio by method", "percentunit", "Share of each method's calls that ended with a server-error code (UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS). The dashed line is the 1% threshold of ObskitGrpcHighErrorRatio.")
        .query(error_ratio(&[method], &count), &legend)
        .thresholds("green", &[("red", RED_ERROR_RATIO)])
        .threshold_lines()
        .min(0.0));
    b.add(8, 8, Spec::timeseries("gRPC calls by status code", "reqps", "Calls per second by gRPC status code, stacked: OK, the caller's errors (NOT_FOUND, INVALID_ARGUMENT, ...) and the server's.")
        .query(sum_rate(&[n::RPC_STATUS_CODE], &count), &format!("{{{{{}}}}}", n::RPC_STATUS_CODE))
        .stacked()
        .min(0.0));
    b.add(12, 8, Spec::timeseries("gRPC latency by method (p50, p95, p99)", "s", "Median, 95th and 99th percentile call duration per method. A streaming call is measured to the end of its stream.")
        .query(quantile(0.5, &[method], &bucket), &format!("p50 {legend}"))
        .query(quantile(0.95, &[method], &bucket), &format!("p95 {legend}"))
        .query(quantile(0.99, &[method], &bucket), &format!("p99 {legend}"))
        .exemplars()
        .min(0.0));
    b.add(
        12,
        8,
        Spec::timeseries(
            "gRPC calls in flight",
            "short",
            "Calls being served right now, per method.",
        )
        .query(
            sum_by(
                &[method],
                &of_service(n::RPC_SERVER_ACTIVE_CALLS).to_string(),
            ),
            &legend,
        )
        .min(0.0),
    );
    let client_count = rpc(n::RPC_CLIENT_CALL_DURATION, "_count");
    b.row("Outgoing gRPC calls");
    b.add(
        8,
        8,
        Spec::timeseries(
            "Outgoing gRPC call rate",
            "reqps",
            "Calls per second this service makes, per method.",
        )
        .query(sum_rate(&[method], &client_count), &legend)
        .min(0.0),
    );
    b.add(8, 8, Spec::timeseries("Outgoing gRPC error ratio", "percentunit", "Share of outgoing calls per method that did not end OK (on the client side every code but OK is an error).")
        .query(error_ratio(&[method], &client_count), &legend)
        .min(0.0));
    b.add(
        8,
        8,
        Spec::timeseries(
            "Outgoing gRPC p99 latency",
            "s",
            "99th percentile duration of outgoing calls per method.",
        )
        .query(
            quantile(
                0.99,
                &[method],
                &rpc(n::RPC_CLIENT_CALL_DURATION, "_bucket"),
            ),
            &legend,
        )
        .exemplars()
        .min(0.0),
    );
}

/// The service overview dashboard.
pub(crate) fn dashboard() -> Dashboard {
    let count = server("_count");
    let bucket = server("_bucket");
    let route = n::HTTP_ROUTE;
    let mut b = Board::default();

    b.row("Overview");
    b.add(4, 4, Spec::stat("Request rate", "reqps", "Requests per second served by the selected service and routes (probe and metrics endpoints are not counted).")
        .query(sum_rate(&[], &count), "requests/s"));
    b.add(4, 4, Spec::stat("Error ratio", "percentunit", "Share of requests that ended in a server error (5xx, or an error before a response). The ObskitHighErrorRatio alert fires above 1%.")
        .query(error_ratio(&[], &count), "errors")
        .thresholds("green", &[("red", RED_ERROR_RATIO)])
        .decimals(2));
    b.add(4, 4, Spec::stat("p99 latency", "s", "99th percentile of request duration over all selected routes, interpolated within histogram buckets.")
        .query(quantile(0.99, &[], &bucket), "p99"));
    b.add(
        4,
        4,
        Spec::stat(
            "In-flight requests",
            "short",
            "Requests being served right now, summed over instances.",
        )
        .query(
            format!("sum({})", of_service(n::HTTP_SERVER_ACTIVE_REQUESTS)),
            "in flight",
        ),
    );
    b.add(4, 4, Spec::stat("Running versions", "short", "Each running build (service version, source revision, obskit version) and how many instances run it, from obskit_build_info.")
        .query(
            format!("count by ({}, {}, {}) ({})", n::SERVICE_VERSION, n::VCS_REVISION, n::OBSKIT_VERSION, of_service(n::BUILD_INFO)),
            &format!("{{{{{}}}}} @ {{{{{}}}}} (obskit {{{{{}}}}})", n::SERVICE_VERSION, n::VCS_REVISION, n::OBSKIT_VERSION),
        )
        .text_mode("value_and_name"));
    b.add(4, 4, Spec::stat("Uptime", "s", "Time since the most recently started instance started: a small value right after an unplanned restart is a crash.")
        .query(format!("time() - max({})", of_service(n::PROCESS_START_TIME_SECONDS)), "uptime"));

    b.row("Incoming requests");
    b.add(12, 8, Spec::timeseries("Request rate by route", "reqps", "Requests per second per matched route template (unmatched requests share one route value).")
        .query(sum_rate(&[route], &count), &format!("{{{{{route}}}}}"))
        .min(0.0));
    b.add(12, 8, Spec::timeseries("Error ratio by route", "percentunit", "Share of each route's requests that ended in a server error. The dashed line is the 1% alert threshold.")
        .query(error_ratio(&[route], &count), &format!("{{{{{route}}}}}"))
        .thresholds("green", &[("red", RED_ERROR_RATIO)])
        .threshold_lines()
        .min(0.0));
    b.add(12, 8, Spec::timeseries("Latency by route (p50, p95, p99)", "s", "Median, 95th and 99th percentile request duration per route, interpolated within histogram buckets.")
        .query(quantile(0.5, &[route], &bucket), &format!("p50 {{{{{route}}}}}"))
        .query(quantile(0.95, &[route], &bucket), &format!("p95 {{{{{route}}}}}"))
        .query(quantile(0.99, &[route], &bucket), &format!("p99 {{{{{route}}}}}"))
        .exemplars()
        .min(0.0));
    b.add(
        12,
        8,
        Spec::timeseries(
            "Responses by status code",
            "reqps",
            "Responses per second by HTTP status code, stacked.",
        )
        .query(
            sum_rate(&[n::HTTP_RESPONSE_STATUS_CODE], &count),
            &format!("{{{{{}}}}}", n::HTTP_RESPONSE_STATUS_CODE),
        )
        .stacked()
        .min(0.0),
    );
    b.add(
        12,
        8,
        Spec::timeseries(
            "In-flight requests",
            "short",
            "Requests being served right now, per instance.",
        )
        .query(
            sum_by(
                &[INSTANCE],
                &of_service(n::HTTP_SERVER_ACTIVE_REQUESTS).to_string(),
            ),
            &format!("{{{{{INSTANCE}}}}}"),
        )
        .min(0.0),
    );
    b.add(12, 8, Spec::state_timeline("Readiness", "short", "Whether each instance reports ready (obskit_health_ready). Not ready for 5 minutes fires ObskitNotReady.")
        .query(sum_by(&[INSTANCE], &of_service(n::HEALTH_READY).to_string()), &format!("{{{{{INSTANCE}}}}}"))
        .mapping(0.0, "not ready", "red")
        .mapping(1.0, "ready", "green"));

    grpc_rows(&mut b);

    let peer = n::SERVER_ADDRESS;
    let peer_legend = format!("{{{{{peer}}}}}");
    b.row("Outgoing calls");
    b.add(
        6,
        8,
        Spec::timeseries(
            "Outgoing request rate",
            "reqps",
            "Calls per second to each peer host.",
        )
        .query(sum_rate(&[peer], &client("_count")), &peer_legend)
        .min(0.0),
    );
    b.add(
        6,
        8,
        Spec::timeseries(
            "Outgoing error ratio",
            "percentunit",
            "Share of calls to each peer that failed: an error status or no response at all.",
        )
        .query(error_ratio(&[peer], &client("_count")), &peer_legend)
        .min(0.0),
    );
    b.add(
        6,
        8,
        Spec::timeseries(
            "Outgoing p99 latency",
            "s",
            "99th percentile duration of calls to each peer.",
        )
        .query(quantile(0.99, &[peer], &client("_bucket")), &peer_legend)
        .exemplars()
        .min(0.0),
    );
    b.add(
        6,
        8,
        Spec::timeseries(
            "Outgoing in-flight calls",
            "short",
            "Calls waiting for a response right now, per peer.",
        )
        .query(
            sum_by(
                &[peer],
                &of_service(n::HTTP_CLIENT_ACTIVE_REQUESTS).to_string(),
            ),
            &peer_legend,
        )
        .min(0.0),
    );

    super::dependencies::rows(&mut b);
    super::messaging::rows(&mut b);

    let per_instance = |metric: &str| sum_by(&[INSTANCE], &of_service(metric).to_string());
    let instance_legend = format!("{{{{{INSTANCE}}}}}");
    b.row("Process");
    b.add(
        6,
        8,
        Spec::timeseries(
            "CPU",
            "percentunit",
            "CPU time used per instance; 100% is one full core.",
        )
        .query(
            sum_by(
                &[INSTANCE],
                &rate(&of_service(n::PROCESS_CPU_SECONDS_TOTAL), RATE_INTERVAL),
            ),
            &instance_legend,
        )
        .min(0.0),
    );
    b.add(
        6,
        8,
        Spec::timeseries(
            "Resident memory",
            "bytes",
            "Resident set size per instance.",
        )
        .query(
            per_instance(n::PROCESS_RESIDENT_MEMORY_BYTES),
            &instance_legend,
        )
        .min(0.0),
    );
    b.add(
        6,
        8,
        Spec::timeseries(
            "Open file descriptors",
            "short",
            "Open file descriptors (sockets included) per instance.",
        )
        .query(per_instance(n::PROCESS_OPEN_FDS), &instance_legend)
        .min(0.0),
    );
    b.add(
        6,
        8,
        Spec::timeseries("Threads", "short", "OS threads per instance.")
            .query(per_instance(n::PROCESS_THREADS), &instance_legend)
            .min(0.0),
    );

    let routes = Selector::new(format!("{}_count", n::HTTP_SERVER_REQUEST_DURATION))
        .re(n::SERVICE_NAME, service());
    skeleton(
        SERVICE_DASHBOARD_UID,
        "obskit / Service overview",
        "RED metrics, outgoing calls, datastores, messaging, readiness and process resources of one obskit service. Generated by `obskit dashboards` (the obskit CLI); refresh with `obskit dashboards --out .` rather than editing.",
        "now-6h",
        vec![
            label_values_variable("service", "Service", n::BUILD_INFO, n::SERVICE_NAME, false),
            label_values_variable("route", "Route", &routes.to_string(), n::HTTP_ROUTE, true),
        ],
        b,
    )
}
