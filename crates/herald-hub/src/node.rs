//! The node's intake: every frame the live bus routes to this node goes to the hub, one after the
//! other. Beside it, the node's presence heartbeat runs.

use herald_backend::live::LiveBus;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

use crate::hub::Hub;

/// Runs until `shutdown`.
pub async fn run(bus: Arc<dyn LiveBus>, hub: Arc<Hub>, shutdown: CancellationToken) {
    let presence = hub.clone().run_presence(shutdown.clone());
    tokio::join!(intake(bus, hub, shutdown), presence);
}

async fn intake(bus: Arc<dyn LiveBus>, hub: Arc<Hub>, shutdown: CancellationToken) {
    let frames = bus.receive(shutdown.clone());
    loop {
        let frame = tokio::select! {
            _ = shutdown.cancelled() => return,
            frame = frames.recv() => match frame {
                Ok(frame) => frame,
                Err(_) => return,
            },
        };
        // The hand-off waits only for a worker whose fan-out queue is full; a worker stalled
        // at shutdown does not hold the node up.
        tokio::select! {
            _ = shutdown.cancelled() => return,
            () = hub.publish(&frame) => {}
        }
    }
}
