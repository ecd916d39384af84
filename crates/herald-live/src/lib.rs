//! herald's live transports, served by the dispatcher role: Server-Sent Events ([`sse`]),
//! WebSocket ([`ws`]), and the Backendless realtime protocol over socket.io ([`realtime`]), which
//! the official SDKs speak.
//!
//! Each dispatcher node runs one [`hub::Hub`]: the live subscriptions of its connections, by
//! channel. [`node::run`] feeds it what the live bus (`herald_backend::live`) routes to the node:
//! every message of every channel the node has subscribers of, once, whichever ingest and
//! dispatcher handled it, and the commands realtime clients send to those channels. The hub
//! renders each message once and hands it to each matching subscription's bounded buffer
//! ([`sink`]), from the thread of the HTTP worker that serves the connection; the transports
//! drain the buffers onto their connections.

pub mod hub;
pub mod metrics;
pub mod node;
pub mod realtime;
mod recent;
pub mod routes;
pub mod sink;
pub mod sse;
pub mod ws;
mod ws_wire;

pub use hub::{Hub, HubSettings, Interest};
pub use metrics::LiveMetrics;
pub use routes::{configure, LiveState};
