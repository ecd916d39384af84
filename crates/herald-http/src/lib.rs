//! What every herald HTTP surface shares (the REST API of ingest and the live transports of the
//! dispatcher): [`apps::AppRegistry`] and the [`app_context::AppContext`] extractor that
//! authenticates a request's application under either URL form, [`http_error::HttpError`] that
//! answers with the code table of `herald_core::error`, and [`path::path_param`].

pub mod app_context;
pub mod apps;
pub mod http_error;
pub mod path;

pub use app_context::AppContext;
pub use apps::AppRegistry;
pub use http_error::HttpError;
