//! The dispatcher role: it consumes the dispatch route and delivers each message to its
//! channel's subscribers.
//!
//! [`dispatcher::Dispatcher`] runs the consume loop with a prefetch limit and drains on shutdown;
//! [`deliver`] handles one envelope: it buffers the message for the channel's polling
//! subscriptions (once per occurrence id, so RabbitMQ redeliveries are dropped), marks a one-shot
//! message published, and only then acknowledges it.

pub mod deliver;
pub mod dispatcher;
pub mod metrics;

pub use dispatcher::Dispatcher;
pub use metrics::DispatcherMetrics;
