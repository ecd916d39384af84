//! Server-Sent Events: `GET .../messaging/<channel>/sse?selector=...` subscribes the response
//! stream to one channel. The stream opens with an `event: subscribed` (from then on nothing
//! published is missed), then carries one event per message, its id the message id and its data
//! the delivered message, with a comment every keep-alive period. A subscriber cut off for being
//! slow gets `event: error` with `{code, message}` as the last event.
//!
//! The caller needs Subscribe on the channel (9040 before the stream opens); its token comes
//! from the `user-token` header or query parameter (`access`). When the apps are reloaded the
//! stream decides again: one whose app, key, token or grant no longer holds ends with
//! `event: error` and the refusal's `{code, message}`.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use futures_util::stream;
use herald_auth::Operation;
use herald_core::{ApiError, ChannelName, ErrorKind};
use herald_http::path::path_param;
use herald_http::HttpError;
use std::convert::Infallible;

use crate::access::LiveAccess;
use crate::connection::{Connection, LiveState};
use crate::query::query_param;
use herald_hub::selector::parse_selector;
use herald_hub::{Interest, Outgoing, SinkReceiver, Transport, WorkerFanout};

pub async fn subscribe(
    req: HttpRequest,
    state: web::Data<LiveState>,
    fanout: web::Data<WorkerFanout>,
) -> Result<HttpResponse, HttpError> {
    let access = LiveAccess::resolve(&req)?;
    let channel = ChannelName::parse(&path_param(&req, "channel"))?;
    let selector = parse_selector(query_param(&req, "selector")?.as_deref())?;
    access.authorize(Operation::Subscribe, channel.as_str())?;
    let hub = fanout.hub().clone();
    let sink = fanout.connect(Transport::Sse);
    let connection = Connection {
        hub: hub.clone(),
        sink: sink.shared.clone(),
    };
    let interest = Interest::Messages;
    hub.subscribe(
        &sink.shared,
        "sse".into(),
        &access.app.id,
        &channel,
        interest,
        selector,
    )
    .await
    .map_err(ApiError::from)?;
    let opening = format!(
        "event: subscribed\ndata: {}\n\n",
        serde_json::json!({ "channel": channel.as_str() })
    );
    let events = Events {
        sink,
        _connection: connection,
        access,
        channel,
        keep_alive: tokio::time::interval_at(
            tokio::time::Instant::now() + state.keep_alive,
            state.keep_alive,
        ),
        opening: Some(opening),
        done: false,
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/event-stream"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        // Proxies such as nginx would otherwise buffer the stream.
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(stream::unfold(events, Events::next)))
}

struct Events {
    sink: SinkReceiver,
    _connection: Connection,
    access: LiveAccess,
    channel: ChannelName,
    keep_alive: tokio::time::Interval,
    opening: Option<String>,
    done: bool,
}

impl Events {
    async fn next(mut self) -> Option<(Result<Bytes, Infallible>, Self)> {
        if self.done {
            return None;
        }
        if let Some(opening) = self.opening.take() {
            return Some((Ok(Bytes::from(opening)), self));
        }
        let chunk = loop {
            tokio::select! {
                next = self.sink.next() => break match next {
                    Some(outgoing) => event(&outgoing),
                    None => {
                        self.done = true;
                        let reason = self.sink.cut_off_reason()?;
                        error_event(&ApiError::new(ErrorKind::SubscriberTooSlow, reason))
                    }
                },
                _ = self.keep_alive.tick() => break ": keep-alive\n\n".to_string(),
                () = self.access.reloaded() => {
                    let decided = self.access.refresh().and_then(|()| {
                        self.access.authorize(Operation::Subscribe, self.channel.as_str())
                    });
                    if let Err(err) = decided {
                        // The last event; dropping the stream ends the subscription.
                        self.done = true;
                        break error_event(&err);
                    }
                }
            }
        };
        Some((Ok(Bytes::from(chunk)), self))
    }
}

/// `event: error` with the Backendless `{code, message}` of `err`.
fn error_event(err: &ApiError) -> String {
    let body = serde_json::json!({"code": err.kind.code(), "message": err.message});
    format!("event: error\ndata: {body}\n\n")
}

fn event(outgoing: &Outgoing) -> String {
    let message = &outgoing.message;
    // The rendered message is one line of JSON: it fits one data: line.
    format!("id: {}\ndata: {}\n\n", message.message_id, message.json)
}
