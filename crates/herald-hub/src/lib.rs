//! herald's live hub, one per dispatcher node, with no HTTP in it: the transports
//! (`herald-live` for SSE and WebSocket, `herald-realtime` for the Backendless socket.io protocol)
//! sit on top of it.
//!
//! Data flows one way. [`node::run`] takes what the live bus (`herald_backend::live`) routes to
//! the node (every message of every channel the node has subscribers of, once, whichever ingest
//! and dispatcher handled it, plus the commands and presence changes of those channels) and hands
//! it to the [`Hub`]. The hub drops second copies (`recent`), renders each message once, and
//! offers it to each matching subscription: straight into the connection's bounded buffer
//! ([`sink`]) for connections opened with [`Hub::connect`], or through the queue of the HTTP
//! worker thread that serves the connection for those opened through a [`WorkerFanout`], so the
//! hand-off runs on that thread. The transports drain the buffers onto their connections. The
//! hub's presence side (`hub::presence`) records who is joined to each channel and announces
//! changes on the bus. [`metrics`] holds the `herald_live_*` metrics the hub and the transports
//! record; [`selector`] and [`error`] are what every transport's requests share.

pub mod error;
pub mod hub;
pub mod metrics;
pub mod node;
mod recent;
pub mod selector;
pub mod sink;

pub use error::SubscribeError;
pub use hub::worker_fanout::WorkerFanout;
pub use hub::{Hub, HubSettings, Interest};
pub use metrics::LiveMetrics;
pub use sink::{Outgoing, Rendered, SinkReceiver, SinkShared, Transport};
