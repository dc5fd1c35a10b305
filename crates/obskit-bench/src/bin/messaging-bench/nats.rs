//! NATS JetStream through async-nats: publishes to a stream of the run's
//! own and waits for each acknowledgement, consumes through a durable pull
//! consumer and acknowledges each message with a double ack (the server
//! confirms), as obskit's adapter settles.

use std::time::Duration;

use anyhow::Context as _;
use async_nats::HeaderMap;
use async_nats::jetstream::consumer::{PullConsumer, pull};
use async_nats::jetstream::{self, stream};
use futures_util::StreamExt as _;
use obskit::messaging::Messaging;
use obskit::messaging::nats::{Consumer, Publisher};

use super::{Bench, PAYLOAD};

type Messages = pull::Stream;

/// The stream, and the plain or the instrumented publisher and consumer.
pub(crate) struct Nats {
    js: jetstream::Context,
    name: String,
    subject: String,
    publisher: Option<Publisher>,
    plain: Option<Messages>,
    wrapped: Option<Consumer<Messages>>,
}

impl Nats {
    /// Connects to `url`, creates the run's stream and its durable pull
    /// consumer and starts pulling, through obskit when `messaging` is given.
    pub(crate) async fn start(url: &str, messaging: Option<&Messaging>) -> anyhow::Result<Self> {
        let client = async_nats::connect(url)
            .await
            .with_context(|| format!("connect to NATS at {url}"))?;
        let js = jetstream::new(client);
        let name = format!("OBSKIT_BENCH_{:016X}", std::process::id());
        let subject = format!("obskit.bench.{}", name.to_lowercase());
        let stream = js
            .create_stream(stream::Config {
                name: name.clone(),
                subjects: vec![subject.clone()],
                max_age: Duration::from_secs(600),
                ..Default::default()
            })
            .await?;
        let consumer: PullConsumer = stream
            .create_consumer(pull::Config {
                durable_name: Some("bench".into()),
                ..Default::default()
            })
            .await?;
        let messages = consumer
            .stream()
            .max_messages_per_batch(100)
            .messages()
            .await?;
        let (mut plain, mut wrapped) = (None, None);
        match messaging {
            Some(m) => wrapped = Some(Consumer::new(m, &name, messages)),
            None => plain = Some(messages),
        }
        Ok(Self {
            publisher: messaging.map(|m| Publisher::new(m, js.clone())),
            js,
            name,
            subject,
            plain,
            wrapped,
        })
    }
}

impl Bench for Nats {
    async fn publish(&mut self, n: u64) -> anyhow::Result<()> {
        for _ in 0..n {
            match &self.publisher {
                Some(p) => {
                    p.publish(&self.subject, HeaderMap::new(), PAYLOAD.into())
                        .await?;
                }
                None => {
                    self.js
                        .publish_with_headers(
                            self.subject.clone(),
                            HeaderMap::new(),
                            PAYLOAD.into(),
                        )
                        .await?
                        .await?;
                }
            }
        }
        Ok(())
    }

    async fn consume(&mut self, n: u64) -> anyhow::Result<()> {
        for _ in 0..n {
            if let Some(c) = self.wrapped.as_mut() {
                let m = c.next().await.context("consumer ended")??;
                m.ack().await.map_err(|e| anyhow::anyhow!(e))?;
            } else if let Some(c) = self.plain.as_mut() {
                let m = c.next().await.context("consumer ended")??;
                m.double_ack().await.map_err(|e| anyhow::anyhow!(e))?;
            }
        }
        Ok(())
    }

    async fn delete(self) -> anyhow::Result<()> {
        drop((self.plain, self.wrapped));
        self.js.delete_stream(&self.name).await?;
        Ok(())
    }
}
