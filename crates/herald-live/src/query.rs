//! Reading a live request's query string, the same way on every actix live route.

use actix_web::{web, HttpRequest};
use herald_core::{ApiError, ErrorKind};

/// The query parameter `name`, percent-decoded; a query that does not decode is the client's
/// mistake.
pub(crate) fn query_param(req: &HttpRequest, name: &str) -> Result<Option<String>, ApiError> {
    let pairs = web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .map_err(|_| ApiError::new(ErrorKind::InvalidField, "the query string does not decode"))?;
    Ok(pairs
        .into_inner()
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v))
}
