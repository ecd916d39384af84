//! The Backendless realtime protocol, so the official SDKs subscribe to herald unchanged: a
//! socket.io server (socketioxide: Engine.IO v4 for socket.io 3/4 clients such as the JS SDK, v3
//! for socket.io 2 clients such as the Swift SDK; HTTP long-polling and the WebSocket upgrade) on
//! its own listener, `realtime.listen`, whose URL `GET .../info` hands out as `rtURL`.
//!
//! Each app is served at the HTTP path `/<app-id>/` as the namespace `/<app-id>`; the handshake
//! query carries the app's API key and the user's token; deliveries come from the node's hub like
//! every live transport's.
//!
//! The modules, from the socket up: [`server`] accepts connections, checks their browser origin
//! (`cors`) and hands each request to its app's socket.io service (one per app, added as reloads
//! add apps), and drains them on shutdown, waiting for the `tasks` it keeps; `identity` verifies
//! a handshake's key and token into the connection's caller; `session` speaks the Backendless
//! events of one connection, which `events` queues in order, subscribing it in the node's hub
//! (`herald-hub`) under the grants `grants` names, and forwarding what the hub puts into its
//! buffer; `calls` answers its methods; `regrant` decides its subscriptions again on a new token
//! and on a reload; `emit` sends to the client and says what a failed send means; `frames` holds
//! the events' shapes.

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
