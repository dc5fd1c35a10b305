//! RabbitMQ through lapin: publishes with publisher confirms to a queue of
//! the run's own, consumes with a prefetch of 100 and acknowledges.

use anyhow::{Context as _, bail};
use futures_util::StreamExt as _;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use obskit::messaging::Messaging;
use obskit::messaging::rabbitmq::{Consumer, Publisher};

use super::{Bench, PAYLOAD};

/// The queue, and the plain or the instrumented publisher and consumer.
pub(crate) struct Rabbitmq {
    channel: Channel,
    queue: String,
    publisher: Option<Publisher>,
    plain: Option<lapin::Consumer>,
    wrapped: Option<Consumer>,
}

impl Rabbitmq {
    /// Connects to `amqp`, declares the run's queue and starts consuming
    /// it, through obskit when `messaging` is given.
    pub(crate) async fn start(amqp: &str, messaging: Option<&Messaging>) -> anyhow::Result<Self> {
        let connection = Connection::connect(amqp, ConnectionProperties::default()).await?;
        let channel = connection.create_channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        channel.basic_qos(100, BasicQosOptions::default()).await?;
        let queue = format!("obskit-bench-{:016x}", std::process::id());
        let mut expires = FieldTable::default();
        expires.insert("x-expires".into(), AMQPValue::LongInt(600_000));
        channel
            .queue_declare(
                queue.clone().into(),
                QueueDeclareOptions::default(),
                expires,
            )
            .await?;
        let deliveries = channel
            .basic_consume(
                queue.clone().into(),
                "".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        let (mut plain, mut wrapped) = (None, None);
        match messaging {
            Some(m) => wrapped = Some(Consumer::new(m, &queue, deliveries)),
            None => plain = Some(deliveries),
        }
        Ok(Self {
            publisher: messaging.map(|m| Publisher::new(m, channel.clone())),
            channel,
            queue,
            plain,
            wrapped,
        })
    }
}

impl Bench for Rabbitmq {
    async fn publish(&mut self, n: u64) -> anyhow::Result<()> {
        for _ in 0..n {
            let confirmation = match &self.publisher {
                Some(p) => {
                    p.publish(
                        "",
                        &self.queue,
                        BasicPublishOptions::default(),
                        PAYLOAD,
                        BasicProperties::default(),
                    )
                    .await?
                }
                None => {
                    self.channel
                        .basic_publish(
                            "".into(),
                            self.queue.clone().into(),
                            BasicPublishOptions::default(),
                            PAYLOAD,
                            BasicProperties::default(),
                        )
                        .await?
                        .await?
                }
            };
            if !confirmation.is_ack() {
                bail!("the broker refused a message");
            }
        }
        Ok(())
    }

    async fn consume(&mut self, n: u64) -> anyhow::Result<()> {
        for _ in 0..n {
            if let Some(c) = self.wrapped.as_mut() {
                let m = c.next().await.context("consumer ended")??;
                m.ack().await?;
            } else if let Some(c) = self.plain.as_mut() {
                let d = c.next().await.context("consumer ended")??;
                d.ack(BasicAckOptions::default()).await?;
            }
        }
        Ok(())
    }

    async fn delete(self) -> anyhow::Result<()> {
        self.channel
            .queue_delete(self.queue.clone().into(), QueueDeleteOptions::default())
            .await?;
        Ok(())
    }
}
