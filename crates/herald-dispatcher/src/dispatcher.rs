//! The dispatcher loop: consume the dispatch route with a prefetch limit, handle deliveries
//! concurrently (one permit each), and on shutdown stop intake and drain within a timeout.

use herald_backend::queue::Route;
use herald_backend::Backends;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::deliver::handle;
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
        let deliveries =
            self.backends
                .queue
                .consume(Route::Dispatch, self.prefetch, shutdown.clone());
        let permits = Arc::new(Semaphore::new(self.prefetch as usize));
        let mut in_flight = JoinSet::new();
        loop {
            let permit = tokio::select! {
                _ = shutdown.cancelled() => break,
                permit = permits.clone().acquire_owned() => permit.expect("never closed"),
            };
            let delivery = tokio::select! {
                _ = shutdown.cancelled() => break,
                delivery = deliveries.recv() => match delivery {
                    Ok(delivery) => delivery,
                    Err(_) => break,
                },
            };
            let backends = self.backends.clone();
            let metrics = self.metrics.clone();
            let stop = shutdown.clone();
            in_flight.spawn(async move {
                handle(delivery, &backends, &metrics, &stop).await;
                drop(permit);
            });
            while in_flight.try_join_next().is_some() {}
        }
        tracing::info!(in_flight = in_flight.len(), "dispatcher draining");
        let drained = tokio::time::timeout(drain, async {
            while in_flight.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                abandoned = in_flight.len(),
                "drain timeout, leaving the rest to the broker"
            );
            in_flight.abort_all();
        }
    }
}
