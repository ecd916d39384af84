//! The REST API of herald (the ingest role).
//!
//! A request enters through [`routes`], under either URL form; `herald_http::AppContext`
//! resolves and authenticates its application; [`body`] reads its JSON. Publish parses the body into a `herald_core::publish::PublishRequest`, writes the
//! status record and enqueues an envelope with the broker's confirm before answering. Status and
//! cancel act on status records, polling routes on inboxes. Every error answers through
//! `herald_http::HttpError` with the code table of `herald_core::error`.

pub mod body;
pub mod metrics;
pub mod routes;
pub mod settings;
pub mod state;

pub use routes::configure;
pub use settings::IngestSettings;
pub use state::IngestState;
