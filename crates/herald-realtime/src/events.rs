//! A realtime connection's events, queued in the order the client sent them: socketioxide runs
//! each handler in a task of its own, which would let a `SUB_OFF` overtake the `SUB_ON` before
//! it, so the handlers only queue, and the session handles the queue one event after the other.

use socketioxide::extract::SocketRef;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

use crate::emit::disconnect;
use crate::frames::{Request, Stop};

/// Most events a connection may have waiting. The SDKs wait for the answer to most of theirs, but
/// a client restoring its subscriptions after a reconnect sends them all at once, and an app may
/// send commands as fast as it likes while each waits for the broker. A waiting event is a
/// request of a few hundred bytes, so this caps a connection's backlog at a few hundred KB; a
/// client past it sends faster than herald answers, and is disconnected like a slow subscriber
/// (the SDK reconnects and restores its subscriptions), never queued without bound.
const EVENT_QUEUE: usize = 1024;

/// A client event.
pub(crate) enum Event {
    On(Request),
    Off(Stop),
    Call(Request),
}

/// The queue's sending side, shared by the connection's handlers. The disconnect handler closes
/// it: the session then handles what is queued, and ends.
#[derive(Clone)]
pub(crate) struct EventQueue(Arc<Mutex<Option<mpsc::Sender<Event>>>>);

/// A connection's queue: the handlers' side and the session's.
pub(crate) fn queue() -> (EventQueue, mpsc::Receiver<Event>) {
    let (sender, receiver) = mpsc::channel(EVENT_QUEUE);
    (EventQueue(Arc::new(Mutex::new(Some(sender)))), receiver)
}

impl EventQueue {
    /// Queues an event of `socket`'s client; a client with a full queue is disconnected.
    pub(crate) fn push(&self, socket: &SocketRef, event: Event) {
        let full = {
            let sender = self.0.lock().unwrap_or_else(|e| e.into_inner());
            match sender.as_ref().map(|sender| sender.try_send(event)) {
                Some(Ok(())) => false,
                Some(Err(TrySendError::Full(_))) => true,
                // The session ended or the connection is closing: its events go with it.
                Some(Err(TrySendError::Closed(_))) | None => false,
            }
        };
        if full {
            tracing::warn!(
                connection = %socket.id,
                waiting = EVENT_QUEUE,
                "a realtime client sent more events than herald answers, disconnected"
            );
            disconnect(socket);
        }
    }

    /// Ends the queue after the events already in it: the connection closed.
    pub(crate) fn close(&self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take();
    }
}
