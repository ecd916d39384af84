//! The node's intake: every message the live bus routes to this node goes to the hub.

use herald_backend::live::LiveBus;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

use crate::hub::Hub;

/// Runs until `shutdown`.
pub async fn run(bus: Arc<dyn LiveBus>, hub: Arc<Hub>, shutdown: CancellationToken) {
    let messages = bus.receive(shutdown.clone());
    loop {
        let body = tokio::select! {
            _ = shutdown.cancelled() => return,
            body = messages.recv() => match body {
                Ok(body) => body,
                Err(_) => return,
            },
        };
        hub.publish(&body);
    }
}
