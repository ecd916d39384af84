//! herald's live transports on actix, served by the dispatcher role beside the REST API:
//! Server-Sent Events ([`sse`]) and WebSocket ([`ws`]). The Backendless realtime protocol has a
//! listener of its own (`herald-realtime`); both sit on the node's hub (`herald-hub`).
//!
//! [`routes`] adds the routes to each worker's `App`, with the worker's fan-out handle from the
//! hub: a connection opens its buffer through it, so the hub offers it its messages on the
//! worker's own thread. The handlers share what is in [`connection`] (the state, and the guard
//! that ends a connection's subscriptions) and `query`; `ws_wire` is the WebSocket's two
//! directions on the wire, read and written without a task between the hub and the socket.

mod access;
pub mod connection;
mod query;
pub mod routes;
pub mod sse;
pub mod ws;
mod ws_reload;
mod ws_wire;

pub use connection::LiveState;
pub use routes::configure;
