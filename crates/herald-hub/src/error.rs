//! Why the hub refuses a subscription, and how a transport tells its client.

use herald_backend::QueueError;
use herald_core::{ApiError, ErrorKind};

/// Why a subscription was refused.
#[derive(Debug, thiserror::Error)]
pub enum SubscribeError {
    #[error("a subscription with this id exists on the connection")]
    DuplicateId,
    #[error("the connection is closed")]
    Closed,
    #[error("live bus unavailable")]
    Unavailable(#[from] QueueError),
}

impl From<SubscribeError> for ApiError {
    fn from(err: SubscribeError) -> Self {
        match err {
            SubscribeError::DuplicateId => ApiError::new(
                ErrorKind::InvalidField,
                "a subscription with this id is open on the connection",
            ),
            SubscribeError::Closed => ApiError::of(ErrorKind::Internal),
            SubscribeError::Unavailable(err) => {
                tracing::warn!(error = %err, "cannot bind a channel on the live bus");
                ApiError::of(ErrorKind::QueueUnavailable)
            }
        }
    }
}
