//! What every herald role needs, whatever it does.
//!
//! [`clock`] reads the node's time; [`config`] is the one layered loader every role's settings go
//! through, with [`de`] the deserializers of their parsed types; [`settings`] holds this crate's
//! own (telemetry, shutdown, apps); [`telemetry`] installs logging
//! and trace export and [`trace_context`] carries W3C trace context across hops; [`health`]
//! aggregates readiness probes that [`ops`] serves with `/metrics`; [`shutdown`] turns SIGTERM and
//! ctrl-c into a cancellation token.

pub mod clock;
pub mod config;
pub mod de;
pub mod health;
pub mod ops;
pub mod settings;
pub mod shutdown;
pub mod telemetry;
pub mod trace_context;

pub use health::{Health, ReadinessProbe};
