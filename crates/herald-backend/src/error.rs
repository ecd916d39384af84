//! Errors of the two seams. Both say only "unavailable" or "refused" to callers; the cause chain is
//! kept for the log.

/// Why a queue operation failed.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// No connection to the broker right now; retry later.
    #[error("message queue unavailable")]
    Unavailable,
    /// The broker did not confirm in time; the message may or may not have been taken.
    #[error("message queue did not confirm in time")]
    ConfirmTimeout,
    /// The broker refused the message (basic.nack).
    #[error("message queue refused the message")]
    Nacked,
    /// No queue is bound for the route (basic.return of a mandatory publish).
    #[error("message queue has no queue bound for route {0}")]
    Unroutable(&'static str),
    #[error("message queue protocol error")]
    Protocol(#[from] lapin::Error),
    /// The message could not be written: nothing was sent in its place.
    #[error("cannot serialize a message for the queue")]
    Unserializable(#[from] serde_json::Error),
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No connection to Redis right now; retry later.
    #[error("state store unavailable")]
    Unavailable,
    #[error("state store error")]
    Redis(#[from] redis::RedisError),
    /// Redis answered something a script never returns.
    #[error("state store answered unexpectedly: {0}")]
    Unexpected(String),
    /// A value to store could not be serialized: nothing was written in its place.
    #[error("cannot serialize a stored value")]
    Serialize(#[from] serde_json::Error),
}
