//! The dispatcher role: it consumes the dispatch route and delivers each message to its
//! channel's subscribers.
//!
//! [`dispatcher::Dispatcher`] runs the consume loop with a prefetch limit and drains on shutdown;
//! [`deliver`] handles one envelope: it sends it on the live bus to the nodes with live
//! subscribers of its channel, buffers it for the channel's polling subscriptions (once per
//! occurrence id, so RabbitMQ redeliveries are dropped), marks a one-shot message published, and
//! only then acknowledges it. [`lanes`] keeps one channel's messages in the order they left the
//! queue while deliveries run concurrently. The live subscribers themselves are `herald-hub`'s.

pub mod deliver;
pub mod dispatcher;
pub mod lanes;
pub mod metrics;
pub mod settings;

pub use dispatcher::Dispatcher;
pub use metrics::DispatcherMetrics;
pub use settings::DispatcherSettings;
