//! Sending to a realtime client, and what a failed send means: a closed socket takes nothing and
//! that is no error (the connection is ending, and its session with it); a socket whose Engine.IO
//! buffer is full has a client that stopped reading, which is disconnected rather than left
//! waiting for what it will never get.

use serde::Serialize;
use socketioxide::extract::SocketRef;
use socketioxide::{SendError, SocketError};

/// Emits `event` to the client; whether it went into the socket's buffer.
pub(crate) fn emit<T: ?Sized + Serialize>(socket: &SocketRef, event: &str, data: &T) -> bool {
    match socket.emit(event, data) {
        Ok(()) => true,
        Err(SendError::Socket(SocketError::Closed)) => false,
        Err(SendError::Socket(SocketError::InternalChannelFull)) => {
            tracing::warn!(
                connection = %socket.id,
                event,
                "a realtime client stopped reading, disconnected"
            );
            disconnect(socket);
            false
        }
        Err(err) => {
            tracing::error!(error = %err, event, "cannot send a realtime event");
            false
        }
    }
}

/// Disconnects the client from its namespace; the SDK reconnects and restores its subscriptions.
pub(crate) fn disconnect(socket: &SocketRef) {
    match socket.clone().disconnect() {
        // Closed already: nothing left to end.
        Ok(()) | Err(SocketError::Closed) => {}
        Err(SocketError::InternalChannelFull) => tracing::warn!(
            connection = %socket.id,
            "a realtime client's buffer is too full to take its disconnect; Engine.IO's ping timeout ends it"
        ),
    }
}
