//! The consume loop every consuming role shares: deliveries are handled concurrently, at most
//! `prefetch` at once (one semaphore permit each); on shutdown intake stops and the deliveries in
//! flight get a drain timeout, after which they are abandoned unacknowledged, so the broker hands
//! them to another consumer. A handler that panics takes the loop with it (after an error log):
//! the role's supervisor reports it and stops the process, rather than the bug passing unseen.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::{Delivery, Queue, Route};

/// Consumes `route` until `shutdown`, running `handle` on each delivery, then drains.
pub async fn consume_concurrently<F, Fut>(
    queue: &dyn Queue,
    route: Route,
    prefetch: u16,
    shutdown: CancellationToken,
    drain: Duration,
    handle: F,
) where
    F: Fn(Delivery) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let deliveries = queue.consume(route, prefetch, shutdown.clone());
    let permits = Arc::new(Semaphore::new(prefetch as usize));
    let mut in_flight = JoinSet::new();
    loop {
        // Finished handlers are reaped as they end, so a panic surfaces at once.
        let permit = tokio::select! {
            _ = shutdown.cancelled() => break,
            Some(joined) = in_flight.join_next() => {
                surface_panic(route, joined);
                continue;
            }
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let delivery = tokio::select! {
            _ = shutdown.cancelled() => break,
            Some(joined) = in_flight.join_next() => {
                surface_panic(route, joined);
                continue;
            }
            delivery = deliveries.recv() => match delivery {
                Ok(delivery) => delivery,
                Err(_) => break,
            },
        };
        let work = handle(delivery);
        in_flight.spawn(async move {
            work.await;
            drop(permit);
        });
    }
    tracing::info!(
        route = route.as_str(),
        in_flight = in_flight.len(),
        "consumer draining"
    );
    let drained = tokio::time::timeout(drain, async {
        while let Some(joined) = in_flight.join_next().await {
            surface_panic(route, joined);
        }
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            route = route.as_str(),
            abandoned = in_flight.len(),
            "drain timeout, leaving the rest to the broker"
        );
        in_flight.abort_all();
    }
}

/// Re-raises a handler's panic in the loop (a cancelled handler, aborted at the drain timeout, is
/// no failure).
fn surface_panic(route: Route, joined: Result<(), tokio::task::JoinError>) {
    if let Err(err) = joined {
        if let Ok(panic) = err.try_into_panic() {
            tracing::error!(route = route.as_str(), "a delivery handler panicked");
            std::panic::resume_unwind(panic);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::memory::MemoryQueue;
    use crate::queue::settle_metrics::SettleMetrics;

    #[tokio::test]
    async fn a_handler_that_panics_takes_the_consume_loop_with_it() {
        let queue = Arc::new(MemoryQueue::new(SettleMetrics::unregistered().unwrap()));
        queue
            .publish(Route::Dispatch, b"bad".to_vec())
            .await
            .unwrap();
        let consuming = {
            let queue = queue.clone();
            tokio::spawn(async move {
                let stop = CancellationToken::new();
                let handle = |_delivery: Delivery| async { panic!("a handler bug") };
                consume_concurrently(
                    queue.as_ref(),
                    Route::Dispatch,
                    4,
                    stop,
                    Duration::from_secs(1),
                    handle,
                )
                .await;
            })
        };
        let ended = tokio::time::timeout(Duration::from_secs(5), consuming)
            .await
            .expect("the loop ends");
        assert!(ended.unwrap_err().is_panic());
    }
}
