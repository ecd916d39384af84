//! `GET .../messaging/<messageId>` (status) and `DELETE .../messaging/<messageId>` (cancel),
//! each permitted by the channel the message was published to (its record keeps it). An id
//! without a record answers as it always has (unknown, 5040) before any permission is asked, so a
//! refusal is only ever about a message of the caller's own app.

use actix_web::{web, HttpRequest, HttpResponse};
use herald_auth::Operation;
use herald_core::status::StatusRecord;
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
    app.authorize(Operation::Status, channel_of(&record))?;
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
    let cannot_cancel = || HttpError(ApiError::new(ErrorKind::CannotCancel, CANNOT_CANCEL));
    let Some(id) = MessageId::parse(&text) else {
        return Err(cannot_cancel());
    };
    // Asked before cancelling: a refused caller must leave the message as it was. The record can
    // change between the two calls (fire, expire); the cancel itself stays conditional.
    let Some(record) = state.backends.statuses.get(&app.app.id, id).await? else {
        return Err(cannot_cancel());
    };
    app.authorize(Operation::Cancel, channel_of(&record))?;
    if !state.backends.statuses.cancel(&app.app.id, id).await? {
        return Err(cannot_cancel());
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "status": "cancelled",
        "messageId": text,
    })))
}

/// The channel whose permissions decide for `record`. A record written before herald recorded
/// the channel has none: it is decided on the empty channel name, which no channel permission
/// names, so only the roles' global permissions (and a channel pattern matching every name, such
/// as `*`) decide.
fn channel_of(record: &StatusRecord) -> &str {
    record.channel.as_deref().unwrap_or("")
}
