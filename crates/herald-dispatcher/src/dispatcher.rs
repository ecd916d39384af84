//! The dispatcher loop: the shared consume loop on the dispatch route, each delivery handled by
//! [`crate::deliver::handle`].

use herald_backend::queue::worker::consume_concurrently;
use herald_backend::queue::Route;
use herald_backend::Backends;
use herald_core::Envelope;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use crate::deliver::{handle, Taken};
use crate::lanes::Lanes;
use crate::metrics::DispatcherMetrics;

/// The dispatcher role.
pub struct Dispatcher {
    backends: Backends,
    metrics: DispatcherMetrics,
    prefetch: u16,
}

impl Dispatcher {
    pub fn new(backends: Backends, metrics: DispatcherMetrics, prefetch: u16) -> Self {
        Self {
            backends,
            metrics,
            prefetch,
        }
    }

    /// Runs until `shutdown`, then waits up to `drain` for in-flight deliveries. Deliveries still
    /// unfinished then are abandoned unacknowledged: the broker hands them to another dispatcher.
    pub async fn run(self, shutdown: CancellationToken, drain: Duration) {
        let queue = self.backends.queue.clone();
        let (backends, metrics, stop) = (self.backends, self.metrics, shutdown.clone());
        let lanes = Lanes::default();
        consume_concurrently(
            queue.as_ref(),
            Route::Dispatch,
            self.prefetch,
            shutdown,
            drain,
            move |delivery| {
                // Here, in arrival order: each delivery queues behind its channel's earlier ones.
                let envelope = Envelope::decode(&delivery.body);
                let turn = envelope
                    .as_ref()
                    .ok()
                    .map(|e| lanes.enter(herald_backend::live::routing_key(&e.app_id, &e.channel)));
                let taken = Taken {
                    delivery,
                    envelope,
                    turn,
                };
                let (backends, metrics, stop) = (backends.clone(), metrics.clone(), stop.clone());
                async move { handle(taken, &backends, &metrics, &stop).await }
            },
        )
        .await;
    }
}
