//! What every herald HTTP surface shares (the REST API of ingest and the live transports of the
//! dispatcher): the [`app_context::AppContext`] extractor that resolves a request's application
//! under either URL form and verifies its user token, the [`cors`] middleware, the [`forwarded`] host a request names,
//! [`http_error::HttpError`] that answers with the code table of `herald_core::error`, and
//! [`path::path_param`].

pub mod app_context;
pub mod cors;
pub mod forwarded;
pub mod http_error;
pub mod path;

pub use app_context::AppContext;
pub use forwarded::TrustedProxies;
pub use http_error::HttpError;
