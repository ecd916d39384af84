//! `GET .../messaging/<messageId>` (status) and `DELETE .../messaging/<messageId>` (cancel).

use actix_web::{web, HttpRequest, HttpResponse};
use herald_core::{ApiError, ErrorKind, MessageId, MessageStatus};

use crate::state::IngestState;
use herald_http::path::path_param;
use herald_http::AppContext;
use herald_http::HttpError;

/// Backendless's text for error 5040 (reference §3).
const CANNOT_CANCEL: &str = "Message has already been canceled or does not exist.";

pub async fn status(
    req: HttpRequest,
    app: AppContext,
    state: web::Data<IngestState>,
) -> Result<HttpResponse, HttpError> {
    let text = path_param(&req, "channel");
    // An id herald could not have issued is simply unknown, as an expired one is.
    let record = match MessageId::parse(&text) {
        Some(id) => state.backends.statuses.get(&app.app.id, id).await?,
        None => None,
    };
    let Some(record) = record else {
        return Ok(HttpResponse::Ok().json(serde_json::json!({
            "messageId": text,
            "status": MessageStatus::Unknown,
            "errorMessage": null,
        })));
    };
    let mut answer = serde_json::json!({
        "messageId": text,
        "status": record.status,
        "errorMessage": record.error_message,
    });
    // herald's addition for deferred messages: how many occurrences fired, and were skipped.
    if let Some(occurrences) = record.occurrences {
        answer["occurrences"] = occurrences.fired.into();
        answer["skippedOccurrences"] = occurrences.skipped.into();
    }
    Ok(HttpResponse::Ok().json(answer))
}

pub async fn cancel(
    req: HttpRequest,
    app: AppContext,
    state: web::Data<IngestState>,
) -> Result<HttpResponse, HttpError> {
    let text = path_param(&req, "channel");
    let cancelled = match MessageId::parse(&text) {
        Some(id) => state.backends.statuses.cancel(&app.app.id, id).await?,
        None => false,
    };
    if !cancelled {
        return Err(HttpError(ApiError::new(
            ErrorKind::CannotCancel,
            CANNOT_CANCEL,
        )));
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "status": "cancelled",
        "messageId": text,
    })))
}
