//! The RabbitMQ queue: publisher confirms on every publishing channel, mandatory publishes so an
//! unroutable message is an error rather than a silent drop, consumers with a prefetch limit that
//! acknowledge after the work, and a supervisor that re-establishes a dropped connection.

mod consume;
pub(crate) mod session;

pub use session::{declare, RabbitSettings};

use async_trait::async_trait;
use lapin::options::BasicPublishOptions;
use lapin::{BasicProperties, Confirmation};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{watch, Notify};
use tokio_util::sync::CancellationToken;

use super::{Delivery, Queue, Route};
use crate::error::QueueError;
use crate::metrics::QueueMetrics;
use crate::queue::settle_metrics::SettleMetrics;
use session::Session;

/// A RabbitMQ-backed [`Queue`].
pub struct RabbitQueue {
    settings: RabbitSettings,
    sessions: watch::Receiver<Option<Arc<Session>>>,
    broken: Arc<Notify>,
    next_channel: AtomicUsize,
    confirm_timeout: Duration,
    metrics: QueueMetrics,
    settle_metrics: SettleMetrics,
    shutdown: CancellationToken,
}

impl RabbitQueue {
    /// Starts the connection supervisor and returns at once: until the first connection is up,
    /// publishes fail with [`QueueError::Unavailable`] and readiness is false.
    pub fn start(
        settings: RabbitSettings,
        confirm_timeout: Duration,
        metrics: QueueMetrics,
        settle_metrics: SettleMetrics,
    ) -> Self {
        let (tx, sessions) = watch::channel(None);
        let broken = Arc::new(Notify::new());
        let shutdown = CancellationToken::new();
        tokio::spawn(session::supervise(
            settings.clone(),
            tx,
            broken.clone(),
            metrics.clone(),
            shutdown.clone(),
        ));
        Self {
            settings,
            sessions,
            broken,
            next_channel: AtomicUsize::new(0),
            confirm_timeout,
            metrics,
            settle_metrics,
            shutdown,
        }
    }

    fn session(&self) -> Option<Arc<Session>> {
        self.sessions.borrow().clone()
    }

    /// The sessions this queue's supervisor keeps up, for other users of the connection.
    pub(crate) fn sessions(&self) -> watch::Receiver<Option<Arc<Session>>> {
        self.sessions.clone()
    }

    /// What reports a failure of the connection to the supervisor.
    pub(crate) fn broken(&self) -> Arc<Notify> {
        self.broken.clone()
    }

    pub(crate) fn confirm_timeout(&self) -> Duration {
        self.confirm_timeout
    }

    pub(crate) fn settings(&self) -> &RabbitSettings {
        &self.settings
    }

    async fn publish_confirmed(&self, route: Route, body: &[u8]) -> Result<(), QueueError> {
        let session = self.session().ok_or(QueueError::Unavailable)?;
        let index =
            self.next_channel.fetch_add(1, Ordering::Relaxed) % session.publish_channels.len();
        let channel = &session.publish_channels[index];
        let properties = BasicProperties::default()
            .with_delivery_mode(2)
            .with_content_type("application/json".into());
        let options = BasicPublishOptions {
            mandatory: true,
            ..Default::default()
        };
        let confirm = channel
            .basic_publish(
                self.settings.topology.exchange.as_str().into(),
                route.as_str().into(),
                options,
                body,
                properties,
            )
            .await
            .inspect_err(|_| self.broken.notify_one())?;
        let confirmation = tokio::time::timeout(self.confirm_timeout, confirm)
            .await
            .map_err(|_| QueueError::ConfirmTimeout)?
            .inspect_err(|_| self.broken.notify_one())?;
        match confirmation {
            Confirmation::Ack(None) => Ok(()),
            Confirmation::Ack(Some(_returned)) => {
                // The route's queue or binding is gone (deleted by hand?): reconnecting declares
                // the topology again, so publishing heals instead of failing until a restart.
                self.broken.notify_one();
                Err(QueueError::Unroutable(route.as_str()))
            }
            Confirmation::Nack(_) => Err(QueueError::Nacked),
            // Only possible if confirm mode was not selected: treat as not taken, never as success.
            Confirmation::NotRequested => Err(QueueError::Unavailable),
        }
    }
}

#[async_trait]
impl Queue for RabbitQueue {
    async fn publish(&self, route: Route, body: Vec<u8>) -> Result<(), QueueError> {
        let started = Instant::now();
        let result = self.publish_confirmed(route, &body).await;
        self.metrics
            .observe_publish(route, &result, started.elapsed());
        result
    }

    fn consume(
        &self,
        route: Route,
        prefetch: u16,
        shutdown: CancellationToken,
    ) -> async_channel::Receiver<Delivery> {
        let (tx, rx) = async_channel::bounded(prefetch as usize);
        tokio::spawn(consume::run(
            self.settings.topology.queue(route),
            prefetch,
            self.sessions.clone(),
            self.broken.clone(),
            tx,
            self.settle_metrics.clone(),
            shutdown,
        ));
        rx
    }

    async fn is_ready(&self) -> bool {
        self.session()
            .is_some_and(|s| s.connection.status().connected())
    }

    async fn close(&self) {
        self.shutdown.cancel();
        if let Some(session) = self.session() {
            // A connection that fails to close cleanly is closed by the broker when the process
            // exits; its unacknowledged deliveries go back to their queues either way.
            if let Err(err) = session.connection.close(200, "shutdown".into()).await {
                tracing::warn!(error = %err, "cannot close the rabbitmq connection cleanly");
            }
        }
    }
}

#[async_trait]
impl herald_runtime::ReadinessProbe for RabbitQueue {
    fn component(&self) -> &'static str {
        "rabbitmq"
    }

    async fn is_ready(&self) -> bool {
        Queue::is_ready(self).await
    }
}
