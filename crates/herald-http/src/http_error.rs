//! How an [`ApiError`] becomes an HTTP answer: the table's status and a Backendless-style
//! `{"code": ..., "message": ...}` body. A 5xx body says nothing internal; the cause goes to the log
//! where the error is raised.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use herald_backend::{QueueError, StoreError};
use herald_core::{ApiError, ErrorKind};
use std::fmt;

/// An error answered to the client.
#[derive(Debug)]
pub struct HttpError(pub ApiError);

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl ResponseError for HttpError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.kind.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code()).json(serde_json::json!({
            "code": self.0.kind.code(),
            "message": self.0.message,
        }))
    }
}

/// Lets a handler answer with an error directly (the catch-all routes do).
impl actix_web::Responder for HttpError {
    type Body = actix_web::body::BoxBody;

    fn respond_to(self, _req: &actix_web::HttpRequest) -> HttpResponse {
        self.error_response()
    }
}

impl From<ApiError> for HttpError {
    fn from(err: ApiError) -> Self {
        Self(err)
    }
}

impl From<QueueError> for HttpError {
    fn from(err: QueueError) -> Self {
        tracing::warn!(error = %err, cause = ?std::error::Error::source(&err), "publish to the message queue failed");
        Self(ApiError::of(ErrorKind::QueueUnavailable))
    }
}

impl From<StoreError> for HttpError {
    fn from(err: StoreError) -> Self {
        tracing::warn!(error = %err, cause = ?std::error::Error::source(&err), "state store call failed");
        Self(ApiError::of(ErrorKind::StoreUnavailable))
    }
}

/// Answers a path no route serves.
pub async fn route_not_found() -> HttpError {
    HttpError(ApiError::of(ErrorKind::RouteNotFound))
}

/// Answers a route that exists with a method it does not serve.
pub async fn method_not_allowed() -> HttpError {
    HttpError(ApiError::of(ErrorKind::MethodNotAllowed))
}
