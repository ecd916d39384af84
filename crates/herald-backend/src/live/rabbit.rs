//! The live bus on RabbitMQ: this node's queue, declared on every session with the bindings the
//! node's subscribers need, and the publishes that feed every node's queue.
//!
//! The node queue is classic and transient (live messages are for connections that die with the
//! node anyway), bounded (`x-max-length`, oldest dropped first: a node that cannot keep up loses
//! old messages rather than the broker's memory), and expires a while after its node stops
//! consuming (`x-expires`), so a node that reconnects finds its queue and what was routed to it
//! meanwhile, and a node that is gone leaves nothing behind.

use async_trait::async_trait;
use futures_util::StreamExt;
use herald_core::ChannelName;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions, QueueBindOptions,
    QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Confirmation};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tokio_util::sync::CancellationToken;

use super::{routing_key, LiveBus, LiveConfirm, LiveFrame, LiveKind};
use crate::error::QueueError;
use crate::queue::rabbit::session::{on_each_session, Session};
use crate::queue::rabbit::RabbitQueue;

/// Limits of a node's live queue.
#[derive(Debug, Clone, Copy)]
pub struct NodeQueueSettings {
    /// Most messages waiting for the node; the oldest are dropped past it.
    pub max_length: u64,
    /// How long the queue outlives its node's last consumer.
    pub expires: Duration,
    /// Most messages handed to the node and not yet taken.
    pub prefetch: u16,
}

/// A RabbitMQ-backed [`LiveBus`] for one node.
pub struct RabbitLiveBus {
    exchange: String,
    queue: String,
    settings: NodeQueueSettings,
    sessions: watch::Receiver<Option<Arc<Session>>>,
    broken: Arc<Notify>,
    confirm_timeout: Duration,
    /// The routing keys this node's subscribers need, restored on every new session.
    wanted: Arc<Mutex<HashSet<String>>>,
    /// The channel of the node queue's consumer while it is up: bindings go through it.
    consumer: (
        watch::Sender<Option<Channel>>,
        watch::Receiver<Option<Channel>>,
    ),
}

impl RabbitLiveBus {
    pub fn new(queue: &RabbitQueue, node: &str, settings: NodeQueueSettings) -> Self {
        let topology = &queue.settings().topology;
        Self {
            exchange: topology.live_exchange.clone(),
            queue: topology.live_queue(node),
            settings,
            sessions: queue.sessions(),
            broken: queue.broken(),
            confirm_timeout: queue.confirm_timeout(),
            wanted: Arc::default(),
            consumer: watch::channel(None),
        }
    }

    fn wanted(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.wanted.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The consumer's channel, waiting up to the confirm timeout for one (at start, or while
    /// reconnecting).
    async fn consumer_channel(&self) -> Result<Channel, QueueError> {
        let mut consumer = self.consumer.1.clone();
        let ready = tokio::time::timeout(self.confirm_timeout, consumer.wait_for(Option::is_some))
            .await
            .map_err(|_| QueueError::Unavailable)?
            .map_err(|_| QueueError::Unavailable)?;
        ready.clone().ok_or(QueueError::Unavailable)
    }
}

#[async_trait]
impl LiveBus for RabbitLiveBus {
    async fn send(
        &self,
        app: &str,
        channel: &ChannelName,
        frame: LiveFrame,
    ) -> Result<LiveConfirm, QueueError> {
        let session = self
            .sessions
            .borrow()
            .clone()
            .ok_or(QueueError::Unavailable)?;
        let key = routing_key(app, channel);
        // One channel per routing key: the broker keeps the order of one channel's publishes.
        let index = super::stable_hash(&key) as usize % session.publish_channels.len();
        let properties = BasicProperties::default()
            .with_delivery_mode(1)
            .with_content_type("application/json".into())
            .with_type(frame.kind.as_str().into());
        // Not mandatory: a channel no node subscribes to has no binding, and that is no error.
        let confirm = session.publish_channels[index]
            .basic_publish(
                self.exchange.as_str().into(),
                key.as_str().into(),
                BasicPublishOptions::default(),
                &frame.body,
                properties,
            )
            .await
            .inspect_err(|_| self.broken.notify_one())?;
        let (broken, timeout) = (self.broken.clone(), self.confirm_timeout);
        Ok(Box::pin(async move {
            let confirmation = tokio::time::timeout(timeout, confirm)
                .await
                .map_err(|_| QueueError::ConfirmTimeout)?
                .inspect_err(|_| broken.notify_one())?;
            match confirmation {
                Confirmation::Ack(_) => Ok(()),
                Confirmation::Nack(_) => Err(QueueError::Nacked),
                Confirmation::NotRequested => Err(QueueError::Unavailable),
            }
        }))
    }

    async fn bind(&self, app: &str, channel: &ChannelName) -> Result<(), QueueError> {
        let key = routing_key(app, channel);
        // Wanted first: a session that comes up from here on binds it too.
        self.wanted().insert(key.clone());
        let bound = async {
            let consumer = self.consumer_channel().await?;
            bind_key(&consumer, &self.queue, &self.exchange, &key).await?;
            Ok(())
        }
        .await;
        if bound.is_err() {
            self.wanted().remove(&key);
        }
        bound
    }

    async fn unbind(&self, app: &str, channel: &ChannelName) -> Result<(), QueueError> {
        let key = routing_key(app, channel);
        self.wanted().remove(&key);
        let Some(consumer) = self.consumer.1.borrow().clone() else {
            // No session: the next one binds only what is wanted.
            return Ok(());
        };
        consumer
            .queue_unbind(
                self.queue.as_str().into(),
                self.exchange.as_str().into(),
                key.as_str().into(),
                FieldTable::default(),
            )
            .await?;
        Ok(())
    }

    fn receive(&self, shutdown: CancellationToken) -> async_channel::Receiver<LiveFrame> {
        let (tx, rx) = async_channel::bounded(self.settings.prefetch.max(1) as usize);
        let node = NodeConsumer {
            exchange: self.exchange.clone(),
            queue: self.queue.clone(),
            settings: self.settings,
            wanted: self.wanted.clone(),
            consumer: self.consumer.0.clone(),
            broken: self.broken.clone(),
        };
        tokio::spawn(node.run(self.sessions.clone(), tx, shutdown));
        rx
    }
}

/// Keeps the node queue consumed across reconnections.
struct NodeConsumer {
    exchange: String,
    queue: String,
    settings: NodeQueueSettings,
    wanted: Arc<Mutex<HashSet<String>>>,
    consumer: watch::Sender<Option<Channel>>,
    broken: Arc<Notify>,
}

impl NodeConsumer {
    async fn run(
        self,
        sessions: watch::Receiver<Option<Arc<Session>>>,
        messages: async_channel::Sender<LiveFrame>,
        shutdown: CancellationToken,
    ) {
        on_each_session(
            sessions,
            &self.broken,
            &shutdown,
            &self.queue,
            || messages.is_closed(),
            |session| {
                let (node, messages, shutdown) = (&self, &messages, &shutdown);
                async move {
                    let consumed = node.consume(&session, messages, shutdown).await;
                    // Bindings wait for the next session's consumer.
                    node.consumer.send_replace(None);
                    consumed
                }
            },
        )
        .await;
    }

    async fn consume(
        &self,
        session: &Session,
        messages: &async_channel::Sender<LiveFrame>,
        shutdown: &CancellationToken,
    ) -> Result<(), lapin::Error> {
        let channel = session.connection.create_channel().await?;
        let mut args = FieldTable::default();
        args.insert(
            "x-queue-type".into(),
            AMQPValue::LongString("classic".into()),
        );
        args.insert(
            "x-max-length".into(),
            AMQPValue::LongLongInt(self.settings.max_length as i64),
        );
        args.insert(
            "x-overflow".into(),
            AMQPValue::LongString("drop-head".into()),
        );
        args.insert(
            "x-expires".into(),
            AMQPValue::LongLongInt(self.settings.expires.as_millis() as i64),
        );
        channel
            .queue_declare(
                self.queue.as_str().into(),
                QueueDeclareOptions::default(),
                args,
            )
            .await?;
        let wanted: Vec<String> = self
            .wanted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect();
        for key in &wanted {
            bind_key(&channel, &self.queue, &self.exchange, key).await?;
        }
        channel
            .basic_qos(self.settings.prefetch, BasicQosOptions::default())
            .await?;
        let mut consumer = channel
            .basic_consume(
                self.queue.as_str().into(),
                "".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        self.consumer.send_replace(Some(channel.clone()));
        loop {
            let next = tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                next = consumer.next() => next,
            };
            match next {
                Some(Ok(delivery)) => {
                    let kind = delivery.properties.kind().as_ref().map(|k| k.as_str());
                    // A kind this build does not know (a newer node's) is skipped, not misread.
                    if let Some(kind) = LiveKind::parse(kind) {
                        let frame = LiveFrame {
                            kind,
                            body: delivery.data,
                        };
                        if messages.send(frame).await.is_err() {
                            return Ok(());
                        }
                    }
                    // Taken by the node: what happens next is the hub's business, not the broker's.
                    delivery.acker.ack(BasicAckOptions::default()).await?;
                }
                Some(Err(err)) => return Err(err),
                None => return Ok(()),
            }
        }
    }
}

/// Routes `key`'s messages of `exchange` to `queue`.
async fn bind_key(
    channel: &Channel,
    queue: &str,
    exchange: &str,
    key: &str,
) -> Result<(), lapin::Error> {
    channel
        .queue_bind(
            queue.into(),
            exchange.into(),
            key.into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
}
