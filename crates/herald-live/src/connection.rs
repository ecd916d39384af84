//! What the live handlers share: the node's hub and the keep-alive period ([`LiveState`]), this
//! worker's fan-out, and the guard that ends a connection's subscriptions (`Connection`).

use herald_hub::{Hub, SinkShared};
use std::sync::Arc;
use std::time::Duration;

/// What the live handlers share, on every worker.
pub struct LiveState {
    pub hub: Arc<Hub>,
    pub keep_alive: Duration,
}

/// Ends a connection's subscriptions when its transport lets go of it, however it ends.
pub(crate) struct Connection {
    pub hub: Arc<Hub>,
    pub sink: Arc<SinkShared>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        let (hub, sink) = (self.hub.clone(), self.sink.clone());
        tokio::spawn(async move { hub.disconnect(&sink).await });
    }
}
