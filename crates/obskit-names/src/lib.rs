//! Every metric and label name obskit exports, in one place (re-exported as `obskit::metrics::names`).
//!
//! Dashboards and alert rules are generated from these constants, and a test
//! checks that every series they query is defined here. Names follow the
//! OpenTelemetry semantic conventions as translated for Prometheus (dots
//! become underscores, the unit becomes a suffix, counters end in `_total`).

// ---------------------------------------------------------------- metrics

/// Histogram of server request durations in seconds (semconv `http.server.request.duration`).
pub const HTTP_SERVER_REQUEST_DURATION: &str = "http_server_request_duration_seconds";
/// Gauge of in-flight server requests (semconv `http.server.active_requests`),
/// labelled [`HTTP_REQUEST_METHOD`] and [`URL_SCHEME`].
pub const HTTP_SERVER_ACTIVE_REQUESTS: &str = "http_server_active_requests";
/// Histogram of outgoing request durations in seconds (semconv `http.client.request.duration`).
pub const HTTP_CLIENT_REQUEST_DURATION: &str = "http_client_request_duration_seconds";
/// Gauge of in-flight outgoing requests (semconv `http.client.active_requests`),
/// labelled [`HTTP_REQUEST_METHOD`] and [`SERVER_ADDRESS`].
pub const HTTP_CLIENT_ACTIVE_REQUESTS: &str = "http_client_active_requests";

/// Histogram of gRPC server call durations in seconds (semconv
/// `rpc.server.call.duration`), labelled [`RPC_SYSTEM_NAME`], [`RPC_METHOD`],
/// [`RPC_STATUS_CODE`] and, for the server-error codes, [`ERROR_TYPE`].
/// A streaming call is measured to the end of its response stream.
pub const RPC_SERVER_CALL_DURATION: &str = "rpc_server_call_duration_seconds";
/// Gauge of in-flight gRPC server calls, labelled [`RPC_SYSTEM_NAME`] and
/// [`RPC_METHOD`]. The semantic conventions define no such instrument, so
/// the name carries obskit's prefix.
pub const RPC_SERVER_ACTIVE_CALLS: &str = "obskit_rpc_server_active_calls";
/// Histogram of outgoing gRPC call durations in seconds (semconv
/// `rpc.client.call.duration`), labelled like [`RPC_SERVER_CALL_DURATION`]
/// (every code but `OK` sets [`ERROR_TYPE`]); never by peer.
pub const RPC_CLIENT_CALL_DURATION: &str = "rpc_client_call_duration_seconds";
/// Gauge of in-flight outgoing gRPC calls, labelled [`RPC_SYSTEM_NAME`] and [`RPC_METHOD`].
pub const RPC_CLIENT_ACTIVE_CALLS: &str = "obskit_rpc_client_active_calls";

/// Histogram of database and cache client operation durations in seconds
/// (semconv `db.client.operation.duration`), labelled [`DB_SYSTEM_NAME`],
/// [`DB_OPERATION_NAME`], [`DB_COLLECTION_NAME`] (each bounded: past 1 000
/// values they become [`DB_VALUE_OTHER`]) and, for failures, [`ERROR_TYPE`].
/// Keys, literals and query text never become labels.
pub const DB_CLIENT_OPERATION_DURATION: &str = "db_client_operation_duration_seconds";
/// Gauge of a pool's connections by state (semconv
/// `db.client.connection.count`), labelled [`DB_SYSTEM_NAME`],
/// [`DB_CLIENT_CONNECTION_POOL_NAME`] and [`DB_CLIENT_CONNECTION_STATE`];
/// read from the pool at every scrape. Named without the `_count` suffix,
/// which Prometheus reserves for histograms and summaries (`promtool check
/// metrics` rejects it on a gauge).
pub const DB_CLIENT_CONNECTIONS: &str = "db_client_connections";
/// Gauge of the most connections a pool may open (semconv
/// `db.client.connection.max`), labelled [`DB_SYSTEM_NAME`] and
/// [`DB_CLIENT_CONNECTION_POOL_NAME`].
pub const DB_CLIENT_CONNECTION_MAX: &str = "db_client_connection_max";
/// Gauge of requests waiting for a connection from a pool (semconv
/// `db.client.connection.pending_requests`), labelled like [`DB_CLIENT_CONNECTION_MAX`].
pub const DB_CLIENT_CONNECTION_PENDING_REQUESTS: &str = "db_client_connection_pending_requests";
/// Histogram of the time spent waiting for a connection from a pool, in
/// seconds (semconv `db.client.connection.wait_time`), labelled like
/// [`DB_CLIENT_CONNECTION_MAX`].
pub const DB_CLIENT_CONNECTION_WAIT_TIME: &str = "db_client_connection_wait_time_seconds";
/// Counter of requests for a connection that timed out before one was
/// free (semconv `db.client.connection.timeouts`), labelled like
/// [`DB_CLIENT_CONNECTION_MAX`].
pub const DB_CLIENT_CONNECTION_TIMEOUTS_TOTAL: &str = "db_client_connection_timeouts_total";

/// Counter of requests classified per SLO, labelled [`SLO`] and [`SLO_RESULT`].
pub const SLO_REQUESTS_TOTAL: &str = "obskit_slo_requests_total";
/// Gauge holding each SLO's objective as a ratio in (0, 1), labelled [`SLO`].
pub const SLO_OBJECTIVE_RATIO: &str = "obskit_slo_objective_ratio";
/// Gauge holding a latency SLO's threshold in seconds, labelled [`SLO`].
/// Availability SLOs do not export it.
pub const SLO_LATENCY_THRESHOLD: &str = "obskit_slo_latency_threshold_seconds";

/// Gauge holding a freshness SLO's threshold in seconds (the oldest a
/// message may be when its processing starts), labelled [`SLO`].
pub const SLO_FRESHNESS_THRESHOLD: &str = "obskit_slo_freshness_threshold_seconds";

/// Counter of messages a producer sent (semconv
/// `messaging.client.sent.messages`), labelled [`MESSAGING_SYSTEM`],
/// [`MESSAGING_DESTINATION_NAME`], [`MESSAGING_OPERATION_NAME`] and, when
/// the send failed, [`ERROR_TYPE`].
pub const MESSAGING_CLIENT_SENT_MESSAGES: &str = "messaging_client_sent_messages_total";
/// Counter of messages a consumer received for processing (semconv
/// `messaging.client.consumed.messages`), labelled like
/// [`MESSAGING_CLIENT_SENT_MESSAGES`].
pub const MESSAGING_CLIENT_CONSUMED_MESSAGES: &str = "messaging_client_consumed_messages_total";
/// Histogram of messaging client operations (send, settle) in seconds
/// (semconv `messaging.client.operation.duration`).
pub const MESSAGING_CLIENT_OPERATION_DURATION: &str = "messaging_client_operation_duration_seconds";
/// Histogram of message processing durations in seconds (semconv
/// `messaging.process.duration`), labelled [`MESSAGING_SYSTEM`],
/// [`MESSAGING_DESTINATION_NAME`], [`MESSAGING_OPERATION_NAME`] and, when
/// processing failed, [`ERROR_TYPE`].
pub const MESSAGING_PROCESS_DURATION: &str = "messaging_process_duration_seconds";
/// Histogram of the age of messages when their processing starts, in
/// seconds: from the producer's creation timestamp, else the broker's.
/// The semantic conventions define no such instrument, so the name carries
/// obskit's prefix. Buckets: [`MESSAGING_AGE_BUCKETS`].
pub const MESSAGING_MESSAGE_AGE: &str = "obskit_messaging_message_age_seconds";
/// Counter of message settlements, labelled [`MESSAGING_SYSTEM`],
/// [`MESSAGING_DESTINATION_NAME`] and [`MESSAGING_SETTLEMENT`]: each
/// delivery attempt counts once.
pub const MESSAGING_SETTLEMENTS_TOTAL: &str = "obskit_messaging_settlements_total";
/// Gauge of message processing operations in progress (a batch counts once), labelled [`MESSAGING_SYSTEM`] and
/// [`MESSAGING_DESTINATION_NAME`].
pub const MESSAGING_PROCESS_ACTIVE: &str = "obskit_messaging_process_active";

/// Gauge of messages in a destination as the broker last reported them,
/// labelled [`MESSAGING_SYSTEM`], [`MESSAGING_DESTINATION_NAME`] and
/// [`MESSAGING_QUEUE_STATE`] ([`QUEUE_STATE_READY`] or [`QUEUE_STATE_UNACKED`]).
pub const MESSAGING_QUEUE_MESSAGES: &str = "obskit_messaging_queue_messages";
/// Gauge of consumers attached to a destination as the broker last reported them.
pub const MESSAGING_QUEUE_CONSUMERS: &str = "obskit_messaging_queue_consumers";
/// Gauge of messages delivered more than once and not yet acknowledged, as
/// the broker last reported them (JetStream's `num_redelivered`).
pub const MESSAGING_QUEUE_REDELIVERED: &str = "obskit_messaging_queue_redelivered";
/// Gauge: 1 while the last depth poll of a destination failed (the depth
/// gauges then hold an older reading), 0 once a poll answered.
pub const MESSAGING_QUEUE_STALE: &str = "obskit_messaging_queue_depth_stale";
/// Gauge of this process's consumers taking messages from a destination;
/// a consumer that stopped (cancelled, channel closed) leaves it.
pub const MESSAGING_CONSUMERS: &str = "obskit_messaging_consumers";

/// Gauge, always 1, whose labels carry the build: [`SERVICE_VERSION`],
/// [`VCS_REVISION`] and [`OBSKIT_VERSION`].
pub const BUILD_INFO: &str = "obskit_build_info";
/// Gauge, always 1, whose labels are the service's OpenTelemetry resource
/// attributes (`k8s_pod_name`, `container_id`, `host_name`, …), as
/// OpenTelemetry's Prometheus exporters publish them.
pub const TARGET_INFO: &str = "target_info";
/// Counter of log lines dropped because the non-blocking writer was full.
pub const LOG_LINES_DROPPED_TOTAL: &str = "obskit_log_lines_dropped_total";
/// Counter of log records the OTLP logs endpoint acknowledged.
pub const LOG_RECORDS_EXPORTED_TOTAL: &str = "obskit_log_records_exported_total";
/// Counter of log records lost on the way to the OTLP logs endpoint: queue
/// full, export failed or timed out.
pub const LOG_RECORDS_DROPPED_TOTAL: &str = "obskit_log_records_dropped_total";
/// Counter of spans handed to the exporter and acknowledged.
pub const SPANS_EXPORTED_TOTAL: &str = "obskit_spans_exported_total";
/// Counter of spans lost: queue full, export failed or timed out.
pub const SPANS_DROPPED_TOTAL: &str = "obskit_spans_dropped_total";
/// Gauge: 1 while the readiness probe reports ready, 0 otherwise.
pub const HEALTH_READY: &str = "obskit_health_ready";
/// Gauge per dependency check: 1 when it last passed, 0 when it failed,
/// labelled [`HEALTH_CHECK`] and [`HEALTH_CHECK_CRITICAL`].
pub const HEALTH_CHECK_UP: &str = "obskit_health_check_up";

/// Counter of CPU seconds (from `metrics-process`).
pub const PROCESS_CPU_SECONDS_TOTAL: &str = "process_cpu_seconds_total";
/// Gauge of resident memory in bytes (from `metrics-process`).
pub const PROCESS_RESIDENT_MEMORY_BYTES: &str = "process_resident_memory_bytes";
/// Gauge of open file descriptors (from `metrics-process`).
pub const PROCESS_OPEN_FDS: &str = "process_open_fds";
/// Gauge of OS threads (from `metrics-process`).
pub const PROCESS_THREADS: &str = "process_threads";
/// Gauge of the process start time in seconds since the Unix epoch (from `metrics-process`).
pub const PROCESS_START_TIME_SECONDS: &str = "process_start_time_seconds";

// ---------------------------------------------------------------- labels

/// Service name label set by obskit itself on every series, so dashboards
/// and rules never depend on the scrape job's name. Mirrors `service.name`.
pub const SERVICE_NAME: &str = "service_name";
/// HTTP method, normalised; unknown methods become [`METHOD_OTHER`].
pub const HTTP_REQUEST_METHOD: &str = "http_request_method";
/// Matched route template (never the raw path); unmatched requests get [`ROUTE_UNMATCHED`].
pub const HTTP_ROUTE: &str = "http_route";
/// HTTP response status code.
pub const HTTP_RESPONSE_STATUS_CODE: &str = "http_response_status_code";
/// Error class: the status code for 5xx server / 4xx-5xx client responses,
/// or a transport error kind. Absent (empty) on success.
pub const ERROR_TYPE: &str = "error_type";
/// The [`ERROR_TYPE`] of an HTTP request its client left before the end:
/// recorded in RED, yet the client's choice, not a server failure, so error
/// ratios leave it out (as they leave out gRPC's `CANCELLED`).
pub const ERROR_TYPE_CANCELLED: &str = "cancelled";
/// URL scheme (`http` or `https`).
pub const URL_SCHEME: &str = "url_scheme";
/// Peer host of an outgoing call (never its path).
pub const SERVER_ADDRESS: &str = "server_address";
/// RPC system (semconv `rpc.system.name`): [`RPC_SYSTEM_GRPC`].
pub const RPC_SYSTEM_NAME: &str = "rpc_system_name";
/// Fully qualified RPC method, `package.Service/Method` (semconv
/// `rpc.method`); methods the server does not serve become [`RPC_METHOD_OTHER`].
pub const RPC_METHOD: &str = "rpc_method";
/// gRPC status code name, e.g. `OK`, `NOT_FOUND` (semconv `rpc.status_code`).
pub const RPC_STATUS_CODE: &str = "rpc_status_code";
/// Messaging system (semconv `messaging.system`), e.g. `rabbitmq`, `nats`, `kafka`.
pub const MESSAGING_SYSTEM: &str = "messaging_system";
/// Destination (queue, topic, subject) of a message; temporary destinations
/// share [`MESSAGING_DESTINATION_TEMPORARY`], and destinations beyond the
/// per-process limit share [`MESSAGING_DESTINATION_OTHER`].
pub const MESSAGING_DESTINATION_NAME: &str = "messaging_destination_name";
/// Messaging operation (semconv `messaging.operation.name`): `send`,
/// `process`, or a settlement such as `ack`.
pub const MESSAGING_OPERATION_NAME: &str = "messaging_operation_name";
/// How a delivery was settled: [`SETTLEMENT_ACK`], [`SETTLEMENT_REQUEUE`]
/// or [`SETTLEMENT_DEAD_LETTER`].
pub const MESSAGING_SETTLEMENT: &str = "settlement";
/// Whether queued messages are ready or delivered and unacknowledged.
pub const MESSAGING_QUEUE_STATE: &str = "state";
/// Database system (semconv `db.system.name`): [`DB_SYSTEM_POSTGRESQL`], [`DB_SYSTEM_REDIS`], ...
pub const DB_SYSTEM_NAME: &str = "db_system_name";
/// Database operation (semconv `db.operation.name`): `SELECT`, `GET`, ...
pub const DB_OPERATION_NAME: &str = "db_operation_name";
/// Table or collection an operation works on (semconv `db.collection.name`);
/// absent when there is not exactly one.
pub const DB_COLLECTION_NAME: &str = "db_collection_name";
/// Name of a connection pool (semconv `db.client.connection.pool.name`).
pub const DB_CLIENT_CONNECTION_POOL_NAME: &str = "db_client_connection_pool_name";
/// State of pooled connections (semconv `db.client.connection.state`):
/// [`DB_CONNECTION_STATE_IDLE`] or [`DB_CONNECTION_STATE_USED`].
pub const DB_CLIENT_CONNECTION_STATE: &str = "db_client_connection_state";
/// SLO name.
pub const SLO: &str = "slo";
/// SLO classification result: [`SLO_RESULT_GOOD`] or [`SLO_RESULT_BAD`].
pub const SLO_RESULT: &str = "result";
/// Service version (from `OTEL_RESOURCE_ATTRIBUTES` `service.version`, else the crate version).
pub const SERVICE_VERSION: &str = "service_version";
/// Source revision the service was built from, when known.
pub const VCS_REVISION: &str = "vcs_revision";
/// Version of obskit compiled into the service.
pub const OBSKIT_VERSION: &str = "obskit_version";
/// Health check name.
pub const HEALTH_CHECK: &str = "check";
/// Whether a health check gates readiness (`"true"` / `"false"`).
pub const HEALTH_CHECK_CRITICAL: &str = "critical";

// ---------------------------------------------------------------- values

/// Method label value for methods outside the well-known set.
pub const METHOD_OTHER: &str = "_OTHER";
/// Route label value shared by every request that matched no route.
pub const ROUTE_UNMATCHED: &str = "_unmatched";
/// [`RPC_SYSTEM_NAME`] value for gRPC.
pub const RPC_SYSTEM_GRPC: &str = "grpc";
/// [`RPC_METHOD`] value shared by every call to a method the server does not serve.
pub const RPC_METHOD_OTHER: &str = "_OTHER";
/// [`MESSAGING_DESTINATION_NAME`] value shared by every temporary or
/// server-named destination (reply queues, inboxes).
pub const MESSAGING_DESTINATION_TEMPORARY: &str = "(temporary)";
/// [`MESSAGING_DESTINATION_NAME`] value shared by destinations beyond the
/// per-process limit.
pub const MESSAGING_DESTINATION_OTHER: &str = "_OTHER";
/// [`MESSAGING_QUEUE_STATE`] value: waiting for delivery.
pub const QUEUE_STATE_READY: &str = "ready";
/// [`MESSAGING_QUEUE_STATE`] value: delivered, not yet acknowledged.
pub const QUEUE_STATE_UNACKED: &str = "unacked";
/// [`MESSAGING_SETTLEMENT`] value: processed and acknowledged.
pub const SETTLEMENT_ACK: &str = "ack";
/// [`MESSAGING_SETTLEMENT`] value: returned to the broker for another attempt.
pub const SETTLEMENT_REQUEUE: &str = "requeue";
/// [`MESSAGING_SETTLEMENT`] value: refused for good (dead-lettered where
/// the destination has a dead-letter queue, dropped otherwise).
pub const SETTLEMENT_DEAD_LETTER: &str = "dead_letter";
/// [`DB_SYSTEM_NAME`] value for PostgreSQL.
pub const DB_SYSTEM_POSTGRESQL: &str = "postgresql";
/// [`DB_SYSTEM_NAME`] value for Redis.
pub const DB_SYSTEM_REDIS: &str = "redis";
/// Value shared by every operation, collection or error type past the
/// first 1 000 distinct values of one client.
pub const DB_VALUE_OTHER: &str = "_OTHER";
/// [`DB_CLIENT_CONNECTION_STATE`] value for connections in the pool, free.
pub const DB_CONNECTION_STATE_IDLE: &str = "idle";
/// [`DB_CLIENT_CONNECTION_STATE`] value for connections lent out.
pub const DB_CONNECTION_STATE_USED: &str = "used";
/// Histogram bucket boundaries in seconds for database operation and
/// connection wait durations, as the semantic conventions recommend for
/// `db.client.operation.duration`.
pub const DB_DURATION_BUCKETS: &[f64] = &[0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0];
/// [`SLO_RESULT`] value for a request that met the objective.
pub const SLO_RESULT_GOOD: &str = "good";
/// [`SLO_RESULT`] value for a request that missed the objective.
pub const SLO_RESULT_BAD: &str = "bad";

/// Histogram bucket boundaries in seconds for HTTP durations, as the
/// semantic conventions recommend for `http.server.request.duration`.
pub const HTTP_DURATION_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// Histogram bucket boundaries in seconds for message ages: from
/// milliseconds (a consumer keeping up) to an hour (a backlog).
pub const MESSAGING_AGE_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0,
];

/// Every metric name obskit defines, for tools that validate queries.
pub const ALL_METRICS: &[&str] = &[
    HTTP_SERVER_REQUEST_DURATION,
    HTTP_SERVER_ACTIVE_REQUESTS,
    HTTP_CLIENT_REQUEST_DURATION,
    HTTP_CLIENT_ACTIVE_REQUESTS,
    RPC_SERVER_CALL_DURATION,
    RPC_SERVER_ACTIVE_CALLS,
    RPC_CLIENT_CALL_DURATION,
    RPC_CLIENT_ACTIVE_CALLS,
    DB_CLIENT_OPERATION_DURATION,
    DB_CLIENT_CONNECTIONS,
    DB_CLIENT_CONNECTION_MAX,
    DB_CLIENT_CONNECTION_PENDING_REQUESTS,
    DB_CLIENT_CONNECTION_WAIT_TIME,
    DB_CLIENT_CONNECTION_TIMEOUTS_TOTAL,
    SLO_REQUESTS_TOTAL,
    SLO_OBJECTIVE_RATIO,
    SLO_LATENCY_THRESHOLD,
    SLO_FRESHNESS_THRESHOLD,
    MESSAGING_CLIENT_SENT_MESSAGES,
    MESSAGING_CLIENT_CONSUMED_MESSAGES,
    MESSAGING_CLIENT_OPERATION_DURATION,
    MESSAGING_PROCESS_DURATION,
    MESSAGING_MESSAGE_AGE,
    MESSAGING_SETTLEMENTS_TOTAL,
    MESSAGING_PROCESS_ACTIVE,
    MESSAGING_QUEUE_MESSAGES,
    MESSAGING_QUEUE_CONSUMERS,
    MESSAGING_QUEUE_REDELIVERED,
    MESSAGING_QUEUE_STALE,
    MESSAGING_CONSUMERS,
    BUILD_INFO,
    TARGET_INFO,
    LOG_LINES_DROPPED_TOTAL,
    LOG_RECORDS_EXPORTED_TOTAL,
    LOG_RECORDS_DROPPED_TOTAL,
    SPANS_EXPORTED_TOTAL,
    SPANS_DROPPED_TOTAL,
    HEALTH_READY,
    HEALTH_CHECK_UP,
    PROCESS_CPU_SECONDS_TOTAL,
    PROCESS_RESIDENT_MEMORY_BYTES,
    PROCESS_OPEN_FDS,
    PROCESS_THREADS,
    PROCESS_START_TIME_SECONDS,
];

/// The metrics exported as Prometheus histograms (each also has the
/// `_bucket`, `_sum` and `_count` series).
pub const HISTOGRAMS: &[&str] = &[
    HTTP_SERVER_REQUEST_DURATION,
    HTTP_CLIENT_REQUEST_DURATION,
    RPC_SERVER_CALL_DURATION,
    RPC_CLIENT_CALL_DURATION,
    MESSAGING_CLIENT_OPERATION_DURATION,
    MESSAGING_PROCESS_DURATION,
    MESSAGING_MESSAGE_AGE,
    DB_CLIENT_OPERATION_DURATION,
    DB_CLIENT_CONNECTION_WAIT_TIME,
];

/// Every label name obskit sets (Prometheus' own `le` aside).
pub const ALL_LABELS: &[&str] = &[
    SERVICE_NAME,
    HTTP_REQUEST_METHOD,
    HTTP_ROUTE,
    HTTP_RESPONSE_STATUS_CODE,
    ERROR_TYPE,
    URL_SCHEME,
    SERVER_ADDRESS,
    RPC_SYSTEM_NAME,
    RPC_METHOD,
    RPC_STATUS_CODE,
    MESSAGING_SYSTEM,
    MESSAGING_DESTINATION_NAME,
    MESSAGING_OPERATION_NAME,
    MESSAGING_SETTLEMENT,
    MESSAGING_QUEUE_STATE,
    DB_SYSTEM_NAME,
    DB_OPERATION_NAME,
    DB_COLLECTION_NAME,
    DB_CLIENT_CONNECTION_POOL_NAME,
    DB_CLIENT_CONNECTION_STATE,
    SLO,
    SLO_RESULT,
    SERVICE_VERSION,
    VCS_REVISION,
    OBSKIT_VERSION,
    HEALTH_CHECK,
    HEALTH_CHECK_CRITICAL,
];
