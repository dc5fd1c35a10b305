//! obskit's integration tests, in one binary: each module is one concern,
//! the `*support` modules are the helpers they share.
//!
//! Tests run in parallel threads of this one process, so none of them may
//! install anything process-wide: each builds its own `Telemetry` and uses
//! a per-test subscriber. What has to be process-wide (`init!()` reading
//! the environment, the SIGTERM drain) runs in a child process of this
//! binary, filtered by its test name (`init_env`, `graceful`).

// Helpers used only by feature-gated tests are dead without the features.
#![cfg_attr(
    not(all(
        feature = "grpc",
        feature = "rabbitmq",
        feature = "nats",
        feature = "postgres",
        feature = "redis"
    )),
    allow(dead_code)
)]

mod support;

#[cfg(any(feature = "postgres", feature = "redis"))]
mod db_support;
#[cfg(feature = "grpc")]
mod grpc_support;
#[cfg(any(feature = "rabbitmq", feature = "nats"))]
mod messaging_support;

#[cfg(feature = "postgres")]
mod db_postgres;
#[cfg(feature = "redis")]
mod db_redis;
mod exemplars;
mod graceful;
#[cfg(feature = "grpc")]
mod grpc_health;
#[cfg(feature = "grpc")]
mod grpc_mixed;
#[cfg(feature = "grpc")]
mod grpc_server;
#[cfg(feature = "grpc")]
mod grpc_trace;
mod health_untraced;
mod http_layer;
mod init_env;
mod messaging_core;
#[cfg(feature = "nats")]
mod nats;
mod otlp_export;
mod otlp_logs;
mod otlp_metrics;
mod otlp_python_peer;
mod otlp_tls;
mod probes;
mod propagation;
#[cfg(feature = "grpc")]
mod propagation_interop;
#[cfg(feature = "rabbitmq")]
mod rabbitmq;
mod readme_config;
mod shutdown;
mod span_bridge;
mod streaming;
mod test_telemetry_threads;
mod two_services;
