//! The queue seam: publish with the broker's confirm, and consume with acknowledgement after the
//! work is done. [`rabbit::RabbitQueue`] is the production implementation, [`memory::MemoryQueue`]
//! the embedded one.

pub mod memory;
pub mod rabbit;
pub mod settle_metrics;
pub mod topology;
pub mod worker;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use crate::error::QueueError;
use crate::queue::settle_metrics::SettleMetrics;

/// Where a message goes: straight to the dispatcher, or to the scheduler to wait for its time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    Dispatch,
    Schedule,
}

impl Route {
    pub const ALL: [Route; 2] = [Route::Dispatch, Route::Schedule];

    pub fn as_str(self) -> &'static str {
        match self {
            Route::Dispatch => "dispatch",
            Route::Schedule => "schedule",
        }
    }
}

/// A message queue.
#[async_trait]
pub trait Queue: Send + Sync + 'static {
    /// Publishes `body` on `route` and returns once the broker has taken responsibility for it.
    async fn publish(&self, route: Route, body: Vec<u8>) -> Result<(), QueueError>;

    /// Consumes `route` until `shutdown`: deliveries arrive on the returned channel, at most
    /// `prefetch` unacknowledged at once. Consumption survives reconnections.
    fn consume(
        &self,
        route: Route,
        prefetch: u16,
        shutdown: CancellationToken,
    ) -> async_channel::Receiver<Delivery>;

    /// Whether the queue can take publishes right now.
    async fn is_ready(&self) -> bool;

    /// Closes connections; in-flight deliveries not yet acknowledged go back to the queue.
    async fn close(&self);
}

/// How a delivery is settled, by backend.
#[async_trait]
pub trait Settle: Send + Sync {
    async fn ack(&self) -> Result<(), QueueError>;
    /// Puts the message back for another consumer (work not done here, e.g. shutting down).
    async fn requeue(&self) -> Result<(), QueueError>;
    /// Moves the message to the dead-letter queue: it can never be processed.
    async fn dead_letter(&self) -> Result<(), QueueError>;
}

/// One message taken from a route. Settling it cannot fail for the caller: a failure is logged
/// and counted here, and the broker then redelivers the message (a failed ack, requeue or
/// dead-letter leaves it unacknowledged), which the consumers' occurrence markers drop as a
/// duplicate where it was already handled.
pub struct Delivery {
    pub body: Vec<u8>,
    /// Whether the broker delivered it before (to a consumer that did not acknowledge it).
    pub redelivered: bool,
    settle: Box<dyn Settle>,
    metrics: SettleMetrics,
}

impl Delivery {
    pub fn new(
        body: Vec<u8>,
        redelivered: bool,
        settle: Box<dyn Settle>,
        metrics: SettleMetrics,
    ) -> Self {
        Self {
            body,
            redelivered,
            settle,
            metrics,
        }
    }

    /// Acknowledges the message: its work is done.
    pub async fn ack(self) {
        let result = self.settle.ack().await;
        self.metrics.observe("ack", result);
    }

    /// Puts the message back for another consumer (work not done here, e.g. shutting down).
    pub async fn requeue(self) {
        let result = self.settle.requeue().await;
        self.metrics.observe("requeue", result);
    }

    /// Moves the message to the dead-letter queue: it can never be processed.
    pub async fn dead_letter(self) {
        let result = self.settle.dead_letter().await;
        self.metrics.observe("dead_letter", result);
    }
}
