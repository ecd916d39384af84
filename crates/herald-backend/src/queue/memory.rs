//! The embedded queue: one unbounded in-process channel per route, shared by the consumers of the
//! route as a work queue. Nothing survives the process; `standalone` says so when it starts.

use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

use super::{Delivery, Queue, Route, Settle};
use crate::error::QueueError;
use crate::queue::settle_metrics::SettleMetrics;

/// One route: its sender (publishers, requeues) and receiver (shared by its consumers).
type RouteChannel = (
    async_channel::Sender<Vec<u8>>,
    async_channel::Receiver<Vec<u8>>,
);

/// An in-memory [`Queue`].
#[derive(Clone)]
pub struct MemoryQueue {
    routes: Arc<HashMap<Route, RouteChannel>>,
    dead: Arc<Mutex<Vec<Vec<u8>>>>,
    settle_metrics: SettleMetrics,
}

impl MemoryQueue {
    pub fn new(settle_metrics: SettleMetrics) -> Self {
        let routes = Route::ALL
            .iter()
            .map(|r| (*r, async_channel::unbounded()))
            .collect();
        Self {
            routes: Arc::new(routes),
            dead: Arc::default(),
            settle_metrics,
        }
    }

    /// The messages dead-lettered so far (what RabbitMQ would hold in the dead-letter queue).
    pub fn dead_letters(&self) -> Vec<Vec<u8>> {
        self.dead.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn sender(&self, route: Route) -> async_channel::Sender<Vec<u8>> {
        self.routes[&route].0.clone()
    }
}

#[async_trait]
impl Queue for MemoryQueue {
    async fn publish(&self, route: Route, body: Vec<u8>) -> Result<(), QueueError> {
        self.sender(route)
            .send(body)
            .await
            .map_err(|_| QueueError::Unavailable)
    }

    fn consume(
        &self,
        route: Route,
        prefetch: u16,
        shutdown: CancellationToken,
    ) -> async_channel::Receiver<Delivery> {
        let (tx, rx) = async_channel::bounded(prefetch as usize);
        let source = self.routes[&route].1.clone();
        let requeue = self.sender(route);
        let dead = self.dead.clone();
        let settle_metrics = self.settle_metrics.clone();
        tokio::spawn(async move {
            loop {
                let body = tokio::select! {
                    _ = shutdown.cancelled() => return,
                    body = source.recv() => match body {
                        Ok(body) => body,
                        Err(_) => return,
                    },
                };
                let settle = Box::new(MemorySettle {
                    body: body.clone(),
                    requeue: requeue.clone(),
                    dead: dead.clone(),
                });
                let delivery = Delivery::new(body, false, settle, settle_metrics.clone());
                if let Err(unsent) = tx.send(delivery).await {
                    // The consumer went away: put the message back for another one.
                    unsent.into_inner().requeue().await;
                    return;
                }
            }
        });
        rx
    }

    async fn is_ready(&self) -> bool {
        true
    }

    async fn close(&self) {}
}

struct MemorySettle {
    body: Vec<u8>,
    requeue: async_channel::Sender<Vec<u8>>,
    dead: Arc<Mutex<Vec<Vec<u8>>>>,
}

#[async_trait]
impl Settle for MemorySettle {
    async fn ack(&self) -> Result<(), QueueError> {
        Ok(())
    }

    async fn requeue(&self) -> Result<(), QueueError> {
        self.requeue
            .send(self.body.clone())
            .await
            .map_err(|_| QueueError::Unavailable)
    }

    async fn dead_letter(&self) -> Result<(), QueueError> {
        self.dead
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(self.body.clone());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn consumers_share_a_route_and_requeued_messages_return() {
        let metrics = SettleMetrics::unregistered().unwrap();
        let queue = MemoryQueue::new(metrics.clone());
        let stop = CancellationToken::new();
        let deliveries = queue.consume(Route::Dispatch, 4, stop.clone());
        queue
            .publish(Route::Dispatch, b"one".to_vec())
            .await
            .unwrap();
        let first = deliveries.recv().await.unwrap();
        assert_eq!(first.body, b"one");
        first.requeue().await;
        let again = deliveries.recv().await.unwrap();
        assert_eq!(again.body, b"one");
        again.dead_letter().await;
        assert_eq!(queue.dead_letters(), vec![b"one".to_vec()]);
        assert_eq!(metrics.failures("requeue"), 0);
        stop.cancel();
    }

    struct Refusing;

    #[async_trait]
    impl Settle for Refusing {
        async fn ack(&self) -> Result<(), QueueError> {
            Err(QueueError::Unavailable)
        }
        async fn requeue(&self) -> Result<(), QueueError> {
            Err(QueueError::Unavailable)
        }
        async fn dead_letter(&self) -> Result<(), QueueError> {
            Err(QueueError::Unavailable)
        }
    }

    #[tokio::test]
    async fn a_failed_settle_is_counted_by_operation() {
        let metrics = SettleMetrics::unregistered().unwrap();
        let delivery = || Delivery::new(vec![], false, Box::new(Refusing), metrics.clone());
        delivery().ack().await;
        delivery().ack().await;
        delivery().requeue().await;
        delivery().dead_letter().await;
        assert_eq!(metrics.failures("ack"), 2);
        assert_eq!(metrics.failures("requeue"), 1);
        assert_eq!(metrics.failures("dead_letter"), 1);
    }
}
