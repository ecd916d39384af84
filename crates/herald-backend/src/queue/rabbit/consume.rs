//! A consumer that survives reconnections: whenever a session is up it opens a channel with the
//! prefetch limit, consumes the queue and forwards deliveries; when the session drops it waits
//! for the next one. Unacknowledged deliveries of a dropped connection go back to the queue.

use async_trait::async_trait;
use futures_util::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions, BasicRejectOptions,
};
use lapin::types::FieldTable;
use lapin::Acker;
use std::sync::Arc;
use tokio::sync::{watch, Notify};
use tokio_util::sync::CancellationToken;

use super::session::{on_each_session, Session};
use crate::error::QueueError;
use crate::queue::settle_metrics::SettleMetrics;
use crate::queue::{Delivery, Settle};

pub(super) async fn run(
    queue: String,
    prefetch: u16,
    sessions: watch::Receiver<Option<Arc<Session>>>,
    broken: Arc<Notify>,
    deliveries: async_channel::Sender<Delivery>,
    settle_metrics: SettleMetrics,
    shutdown: CancellationToken,
) {
    on_each_session(
        sessions,
        &broken,
        &shutdown,
        &queue,
        || deliveries.is_closed(),
        |session| {
            let (queue, deliveries, shutdown) = (&queue, &deliveries, &shutdown);
            let settle_metrics = &settle_metrics;
            async move {
                consume_session(
                    queue,
                    prefetch,
                    &session,
                    deliveries,
                    settle_metrics,
                    shutdown,
                )
                .await
            }
        },
    )
    .await;
}

async fn consume_session(
    queue: &str,
    prefetch: u16,
    session: &Session,
    deliveries: &async_channel::Sender<Delivery>,
    settle_metrics: &SettleMetrics,
    shutdown: &CancellationToken,
) -> Result<(), lapin::Error> {
    let channel = session.connection.create_channel().await?;
    channel
        .basic_qos(prefetch, BasicQosOptions::default())
        .await?;
    let mut consumer = channel
        .basic_consume(
            queue.into(),
            "".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    loop {
        let next = tokio::select! {
            _ = shutdown.cancelled() => {
                // Stop intake; the channel stays open so in-flight deliveries can still be acked.
                // A failed cancel changes nothing: closing the connection at shutdown stops the
                // consumer anyway, and its unacknowledged deliveries go back to the queue.
                if let Err(err) = channel.basic_cancel(consumer.tag(), Default::default()).await {
                    tracing::warn!(queue, error = %err, "cannot cancel a rabbitmq consumer at shutdown");
                }
                return Ok(());
            }
            next = consumer.next() => next,
        };
        match next {
            Some(Ok(delivery)) => {
                let settle = Box::new(RabbitSettle {
                    acker: delivery.acker,
                });
                let item = Delivery::new(
                    delivery.data,
                    delivery.redelivered,
                    settle,
                    settle_metrics.clone(),
                );
                if deliveries.send(item).await.is_err() {
                    return Ok(());
                }
            }
            Some(Err(err)) => return Err(err),
            None => return Ok(()),
        }
    }
}

struct RabbitSettle {
    acker: Acker,
}

#[async_trait]
impl Settle for RabbitSettle {
    async fn ack(&self) -> Result<(), QueueError> {
        self.acker.ack(BasicAckOptions::default()).await?;
        Ok(())
    }

    async fn requeue(&self) -> Result<(), QueueError> {
        let options = BasicNackOptions {
            requeue: true,
            ..Default::default()
        };
        self.acker.nack(options).await?;
        Ok(())
    }

    async fn dead_letter(&self) -> Result<(), QueueError> {
        self.acker
            .reject(BasicRejectOptions { requeue: false })
            .await?;
        Ok(())
    }
}
