//! The servers the service under test depends on for its Messaging and Dependencies figures:
//! the shared RabbitMQ, NATS, PostgreSQL and Redis on 127.0.0.1 (standard ports), a queue and
//! a stream name of this run's own, and the removal of its queues and stream afterwards.

use std::time::{SystemTime, UNIX_EPOCH};

use lapin::options::QueueDeleteOptions;
use lapin::{Connection, ConnectionProperties};

/// RabbitMQ, as `.ci/run` starts it.
const AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
/// PostgreSQL's `test` database, trust authentication.
const POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
/// Redis, database 0.
const REDIS_URL: &str = "redis://127.0.0.1:6379/0";
/// NATS with JetStream.
const NATS_URL: &str = "127.0.0.1:4222";

/// The servers' addresses and this run's queue.
pub(crate) struct Dependencies {
    /// The queue the service publishes to and consumes from (its dead-letter queue is
    /// `<queue>.dead`).
    pub(crate) queue: String,
    /// The JetStream stream the service publishes to and consumes from; its subject is
    /// `<stream>.work`.
    pub(crate) stream: String,
}

impl Dependencies {
    /// The dependencies when all three servers answer; `None` after a notice when one does
    /// not and `CI` is not set (with `CI` set, a missing server fails the test).
    pub(crate) fn find() -> Option<Self> {
        let missing: Vec<&str> = [
            ("RabbitMQ", "127.0.0.1:5672"),
            ("NATS", NATS_URL),
            ("PostgreSQL", "127.0.0.1:5432"),
            ("Redis", "127.0.0.1:6379"),
        ]
        .into_iter()
        .filter(|(_, addr)| !obskit_test_support::listens(addr))
        .map(|(name, _)| name)
        .collect();
        if missing.is_empty() {
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            return Some(Self {
                queue: format!("obskit-e2e-{}-{nanos:09}", std::process::id()),
                stream: format!("OBSKIT_E2E_{}_{nanos:09}", std::process::id()),
            });
        }
        obskit_test_support::skip(format_args!(
            "{missing:?} not reachable on 127.0.0.1; the live dashboard and rule test needs \
             RabbitMQ, NATS, PostgreSQL and Redis"
        ));
        None
    }

    /// The subject the service publishes to and consumes from on the stream, which names
    /// its figures.
    pub(crate) fn subject(&self) -> String {
        format!("{}.work", self.stream)
    }

    /// The service's environment that sets up its queue, pool and cache.
    pub(crate) fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("E2E_AMQP_URL", AMQP_URL.to_owned()),
            ("E2E_QUEUE", self.queue.clone()),
            ("E2E_NATS_URL", NATS_URL.to_owned()),
            ("E2E_NATS_STREAM", self.stream.clone()),
            ("E2E_POSTGRES_URL", POSTGRES_URL.to_owned()),
            ("E2E_REDIS_URL", REDIS_URL.to_owned()),
        ]
    }

    /// Deletes this run's queues (the broker would also expire them a minute after the
    /// service stopped using them) and its stream.
    pub(crate) async fn remove_queues(&self) {
        if let Ok(client) = async_nats::connect(NATS_URL).await {
            let _ = async_nats::jetstream::new(client)
                .delete_stream(&self.stream)
                .await;
        }
        let Ok(connection) = Connection::connect(AMQP_URL, ConnectionProperties::default()).await
        else {
            return;
        };
        if let Ok(channel) = connection.create_channel().await {
            for queue in [self.queue.clone(), format!("{}.dead", self.queue)] {
                let _ = channel
                    .queue_delete(queue.into(), QueueDeleteOptions::default())
                    .await;
            }
        }
        let _ = connection.close(200, "done".into()).await;
    }
}
