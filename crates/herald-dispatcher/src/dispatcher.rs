//! The dispatcher loop: the shared consume loop on the dispatch route, each delivery handled by
//! [`crate::deliver::handle`].

use herald_backend::queue::worker::consume_concurrently;
use herald_backend::queue::Route;
use herald_backend::Backends;
use herald_core::{batch, Envelope};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use crate::deliver::{handle, Item, Taken};
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
            move |mut delivery| {
                // Here, in arrival order: each envelope queues behind its channel's earlier ones.
                let items = items_of(std::mem::take(&mut delivery.body), &lanes);
                let taken = Taken { delivery, items };
                let (backends, metrics, stop) = (backends.clone(), metrics.clone(), stop.clone());
                async move { handle(taken, &backends, &metrics, &stop).await }
            },
        )
        .await;
    }
}

/// The envelopes a delivery carries, in order, each with its turn in its channel's lane; a body
/// that is not even a batch is one undecodable item. A single envelope keeps its body uncopied.
fn items_of(body: Vec<u8>, lanes: &Lanes) -> Vec<Item> {
    let item = |body: Vec<u8>| {
        let envelope = Envelope::decode(&body);
        let turn = envelope
            .as_ref()
            .ok()
            .map(|e| lanes.enter(herald_backend::live::routing_key(&e.app_id, &e.channel)));
        Item {
            body,
            envelope,
            turn,
        }
    };
    if !batch::is_batch(&body) {
        return vec![item(body)];
    }
    match batch::split_batch(&body) {
        Ok(bodies) => bodies.into_iter().map(|b| item(b.to_vec())).collect(),
        Err(err) => vec![Item {
            body,
            envelope: Err(err),
            turn: None,
        }],
    }
}
