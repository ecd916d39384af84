//! The seams between herald's roles and the outside world, each with two implementations.
//!
//! - [`queue`]: RabbitMQ ([`queue::rabbit`]) or in-memory ([`queue::memory`]). Ingest and the
//!   scheduler publish envelopes with the broker's confirm; the dispatcher and the scheduler
//!   consume them and acknowledge after their work.
//! - [`store`]: Redis or in-memory. [`store::status`] holds message status records,
//!   [`store::inbox`] the polling inboxes. Redis state changes go through the Lua scripts in
//!   `src/lua/`, one per transition.
//! - [`backends::Backends`] picks the implementations once, from [`settings::BackendSettings`].
//!
//! This crate sits on `herald-runtime` (not beside it, as DESIGN.md's sketch has it): its
//! settings load through the runtime's layered loader, and the backends report through its
//! `ReadinessProbe`.

pub mod backends;
pub mod error;
pub mod live;
pub mod metrics;
pub mod queue;
pub mod settings;
pub mod store;

pub use backends::Backends;
pub use error::{QueueError, StoreError};
pub use settings::BackendSettings;
