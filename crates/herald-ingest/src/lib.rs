//! The REST API of herald (the ingest role).
//!
//! A request enters through [`routes`], under either URL form; [`app_context::AppContext`]
//! resolves and authenticates its application against [`apps::AppRegistry`]; [`body`] reads
//! its JSON. Publish parses the body into a `herald_core::publish::PublishRequest`, writes the
//! status record and enqueues an envelope with the broker's confirm before answering. Status and
//! cancel act on status records, polling routes on inboxes. Every error answers through
//! [`http_error::HttpError`] with the code table of `herald_core::error`.

pub mod app_context;
pub mod apps;
pub mod body;
pub mod http_error;
pub mod metrics;
pub mod routes;
pub mod state;

pub use routes::configure;
pub use state::IngestState;
