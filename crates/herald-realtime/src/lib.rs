//! The Backendless realtime protocol, so the official SDKs subscribe to herald unchanged: a
//! socket.io server (socketioxide: Engine.IO v4 for socket.io 3/4 clients such as the JS SDK, v3
//! for socket.io 2 clients such as the Swift SDK; HTTP long-polling and the WebSocket upgrade) on
//! its own listener, `realtime.listen`, whose URL `GET .../info` hands out as `rtURL`.
//!
//! Each app is served at the HTTP path `/<app-id>/` as the namespace `/<app-id>`; the handshake
//! query carries the app's API key; deliveries come from the node's hub like every live
//! transport's.
//!
//! The modules, from the socket up: [`server`] accepts connections and hands each request to its
//! app's socket.io service, and drains them on shutdown, waiting for the `tasks` it keeps;
//! `session` speaks the Backendless events of one connection, which `events` queues in order,
//! subscribing it in the node's hub (`herald-hub`) and forwarding what the hub puts into its
//! buffer; `emit` sends to the client and says what a failed send means; `frames` holds the
//! events' shapes.

mod calls;
mod cors;
mod emit;
mod events;
mod frames;
mod grants;
mod identity;
mod regrant;
pub mod server;
#[cfg(test)]
mod server_tests;
mod session;
mod tasks;

pub use server::RealtimeServer;
