//! Domain types and rules of herald, with no I/O.
//!
//! A publish request enters as raw JSON and is parsed once into typed values that cannot be
//! invalid past the boundary: [`channel::ChannelName`], [`publish::PublishRequest`] with its
//! [`schedule::Schedule`] and [`headers::Headers`]. Ingest wraps an accepted request in a versioned
//! [`envelope::Envelope`] for the queue; the dispatcher turns the envelope into what subscribers
//! read ([`delivered::PolledMessage`]). [`status::MessageStatus`] is what the status API reports, and
//! [`error::ErrorKind`] is the one table of error codes and HTTP statuses herald answers with.
//! A subscriber's [`selector::Selector`] is compiled once from its SQL-92 text and evaluated
//! against each message's [`headers::Headers`].

pub mod batch;
pub mod channel;
pub mod command;
pub mod delivered;
pub mod envelope;
pub mod error;
pub mod headers;
pub mod ids;
pub mod presence;
pub mod publish;
pub mod schedule;
pub mod selector;
pub mod status;
pub mod stored_envelope;

pub use channel::ChannelName;
pub use envelope::Envelope;
pub use error::{ApiError, ErrorKind};
pub use ids::{MessageId, OccurrenceId, SubscriptionId};
pub use selector::Selector;
pub use status::MessageStatus;
