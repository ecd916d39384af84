//! Reading a JSON request body with herald's own errors: a missing or wrong Content-Type is 415,
//! a body over the limit 413 (refused from Content-Length before reading when it is declared), and
//! invalid JSON 400. actix's extractors would answer those with plain-text bodies.

use actix_web::http::header;
use actix_web::{web, HttpRequest};
use futures_util::StreamExt;
use herald_core::{ApiError, ErrorKind};
use serde_json::Value;

/// Whether an empty body is refused or read as `{}` (subscribe takes an optional body).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmptyBody {
    Refuse,
    AsEmptyObject,
}

/// Reads and parses the JSON body of `req`, at most `limit` bytes.
pub async fn read_json(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
    empty: EmptyBody,
) -> Result<Value, ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let too_large = || {
        ApiError::new(
            ErrorKind::PayloadTooLarge,
            format!("the request body is over the limit of {limit} bytes"),
        )
    };
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    if empty == EmptyBody::Refuse {
        check_content_type(req)?;
    }
    let mut body = web::BytesMut::with_capacity(declared.unwrap_or(0).min(limit));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::new(
                ErrorKind::MalformedJson,
                format!("cannot read the request body: {e}"),
            )
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    if empty == EmptyBody::AsEmptyObject {
        if body.is_empty() {
            return Ok(Value::Object(Default::default()));
        }
        check_content_type(req)?;
    }
    serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            ErrorKind::MalformedJson,
            format!("the request body is not valid JSON: {e}"),
        )
    })
}

fn check_content_type(req: &HttpRequest) -> Result<(), ApiError> {
    let Some(value) = req.headers().get(header::CONTENT_TYPE) else {
        return Err(ApiError::new(
            ErrorKind::UnsupportedMediaType,
            "the Content-Type header is missing: send application/json",
        ));
    };
    let essence = value
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim();
    if essence.eq_ignore_ascii_case("application/json") {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorKind::UnsupportedMediaType,
            format!("Content-Type {essence:?} is not supported: send application/json"),
        ))
    }
}
