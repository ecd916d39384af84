//! What every herald role needs, whatever it does.
//!
//! [`clock`] reads the node's time; [`config`] loads and validates the one layered configuration; [`telemetry`] installs logging
//! and trace export and [`trace_context`] carries W3C trace context across hops; [`health`]
//! aggregates readiness probes that [`ops`] serves with `/metrics`; [`shutdown`] turns SIGTERM and
//! ctrl-c into a cancellation token.

pub mod clock;
pub mod config;
pub mod health;
pub mod ops;
pub mod shutdown;
pub mod telemetry;
pub mod trace_context;

pub use config::Config;
pub use health::{Health, ReadinessProbe};
