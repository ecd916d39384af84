//! The consume loop every consuming role shares: deliveries are handled concurrently, at most
//! `prefetch` at once (one semaphore permit each); on shutdown intake stops and the deliveries in
//! flight get a drain timeout, after which they are abandoned unacknowledged, so the broker hands
//! them to another consumer.

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
        let permit = tokio::select! {
            _ = shutdown.cancelled() => break,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let delivery = tokio::select! {
            _ = shutdown.cancelled() => break,
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
        while in_flight.try_join_next().is_some() {}
    }
    tracing::info!(
        route = route.as_str(),
        in_flight = in_flight.len(),
        "consumer draining"
    );
    let drained = tokio::time::timeout(drain, async {
        while in_flight.join_next().await.is_some() {}
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
