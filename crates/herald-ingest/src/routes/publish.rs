//! `POST .../messaging/<channel>`: validate, record the status, enqueue with the broker's confirm,
//! and only then answer `scheduled`.

use actix_web::{web, HttpRequest, HttpResponse};
use herald_auth::Operation;
use herald_backend::queue::Route;
use herald_core::envelope::ENVELOPE_VERSION;
use herald_core::publish::PublishRequest;
use herald_core::status::DeliveryKind;
use herald_core::{ApiError, ChannelName, Envelope, ErrorKind, MessageId};

use super::publisher_id::publisher_id;
use crate::body::{read_json, EmptyBody};
use crate::state::IngestState;
use herald_http::path::path_param;
use herald_http::AppContext;
use herald_http::HttpError;

#[tracing::instrument(name = "publish", skip_all, fields(app = %app.app.id, message_id))]
pub async fn publish(
    req: HttpRequest,
    app: AppContext,
    payload: web::Payload,
    state: web::Data<IngestState>,
) -> Result<HttpResponse, HttpError> {
    let span = tracing::Span::current();
    let incoming = req
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok());
    herald_runtime::trace_context::adopt(&span, incoming);
    let channel = ChannelName::parse(&path_param(&req, "channel"))?;
    app.authorize(Operation::Publish, channel.as_str())?;
    let body = read_json(&req, payload, state.body_limit, EmptyBody::Refuse).await?;
    let now = state.backends.clock.now_ms();
    let request = PublishRequest::parse(body, now, state.rules)?;
    let publisher_id = publisher_id(
        app.app.publisher_id_is_user,
        app.caller.user_id(),
        request.publisher_id,
    )?;
    let message_id = MessageId::new_random();
    span.record("message_id", tracing::field::display(message_id));

    let schedule = request.schedule.schedule();
    let (route, kind) = if schedule.is_deferred() {
        (Route::Schedule, DeliveryKind::Deferred)
    } else {
        (Route::Dispatch, DeliveryKind::Immediate)
    };
    let envelope = Envelope {
        v: ENVELOPE_VERSION,
        message_id,
        occurrence: 0,
        app_id: app.app.id.clone(),
        channel,
        message: request.message,
        publisher_id,
        headers: request.headers,
        schedule: request.schedule,
        accepted_at: now,
        traceparent: herald_runtime::trace_context::outgoing(&span, incoming),
    };
    // Written before anything is recorded, so a message that cannot be written leaves nothing.
    let body = envelope.encode().map_err(|err| {
        tracing::error!(error = %err, "cannot serialize an envelope");
        ApiError::of(ErrorKind::Internal)
    })?;
    // Written before the publish, so the status exists by the time anyone can learn the id, and
    // a dispatcher that is faster than this handler finds a record to mark published.
    let ttl = schedule.ttl(now, state.status_ttl);
    state
        .backends
        .statuses
        .create(
            &app.app.id,
            message_id,
            envelope.channel.as_str(),
            kind,
            ttl,
        )
        .await?;

    if let Err(err) = state.backends.queue.publish(route, body).await {
        // The id was never handed out: remove its record rather than leave it "scheduled".
        if let Err(cleanup) = state
            .backends
            .statuses
            .discard(&app.app.id, message_id)
            .await
        {
            tracing::warn!(error = %cleanup, "cannot discard the status of an unpublished message");
        }
        return Err(err.into());
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "status": "scheduled",
        "messageId": message_id,
        "errorMessage": null,
    })))
}

/// `POST .../messaging` or `.../messaging/`: a publish without a channel name.
pub async fn empty_channel(_app: AppContext) -> HttpError {
    HttpError(ApiError::new(
        ErrorKind::InvalidChannelName,
        "channel name must not be empty",
    ))
}

/// `POST .../messaging/a/b`: a channel name holding `/` (the SDKs refuse these too).
pub async fn channel_with_slash(_app: AppContext) -> HttpError {
    HttpError(ApiError::new(
        ErrorKind::InvalidChannelName,
        "channel name must not contain '/'",
    ))
}
