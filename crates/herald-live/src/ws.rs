//! WebSocket: `GET .../messaging/ws` opens a connection on which the client subscribes to any
//! number of channels, each with its own selector, in JSON text frames:
//!
//! ```text
//! client: {"type":"subscribe","id":"s1","channel":"news","selector":"city = 'Tokyo'"}
//!         {"type":"unsubscribe","id":"s1"}
//! server: {"type":"subscribed","id":"s1"}       from then on nothing published is missed
//!         {"type":"unsubscribed","id":"s1"}
//!         {"type":"message","id":"s1","message":{...the delivered message...}}
//!         {"type":"error","id":"s1","code":9021,"message":"invalid selector: ..."}
//! ```
//!
//! A frame the server cannot read answers an error frame (with `"id": null` when it has none) and
//! the connection stays. The server pings every keep-alive period. A connection cut off for being
//! slow gets an error frame (9022) and is closed with code 1008 and the reason.

use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::{CloseCode, CloseReason, Message, Session};
use futures_util::StreamExt;
use herald_core::{ApiError, ChannelName, ErrorKind};
use herald_http::{AppContext, HttpError};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

use crate::hub::{Hub, Interest};
use crate::routes::{parse_selector, Connection, LiveState};
use crate::sink::{Outgoing, SinkReceiver, SinkShared, Transport};

pub async fn connect(
    req: HttpRequest,
    app: AppContext,
    body: web::Payload,
    state: web::Data<LiveState>,
) -> Result<HttpResponse, HttpError> {
    let (response, session, messages) = actix_ws::handle(&req, body).map_err(|_| {
        HttpError(ApiError::new(
            ErrorKind::InvalidField,
            "this route takes a WebSocket upgrade",
        ))
    })?;
    let hub = state.hub.clone();
    let sink = hub.connect(Transport::WebSocket);
    let client = Client {
        _connection: Connection {
            hub: hub.clone(),
            sink: sink.shared.clone(),
        },
        hub,
        app: app.0.id.clone(),
        session,
    };
    actix_web::rt::spawn(client.run(sink, messages, state.keep_alive));
    Ok(response)
}

struct Client {
    _connection: Connection,
    hub: Arc<Hub>,
    app: String,
    session: Session,
}

/// A frame from the client.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Command {
    Subscribe {
        id: String,
        channel: String,
        #[serde(default)]
        selector: Option<String>,
    },
    Unsubscribe {
        id: String,
    },
}

impl Client {
    async fn run(
        mut self,
        mut sink: SinkReceiver,
        mut messages: actix_ws::MessageStream,
        keep_alive: std::time::Duration,
    ) {
        let mut ping =
            tokio::time::interval_at(tokio::time::Instant::now() + keep_alive, keep_alive);
        loop {
            let open = tokio::select! {
                message = messages.next() => match message {
                    Some(Ok(Message::Text(text))) => self.command(&sink.shared, &text).await,
                    Some(Ok(Message::Binary(_))) => self.error(None, ApiError::new(ErrorKind::InvalidField, "frames are JSON text")).await,
                    Some(Ok(Message::Ping(bytes))) => self.session.pong(&bytes).await.is_ok(),
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => false,
                    Some(Ok(_)) => true,
                },
                outgoing = sink.next() => match outgoing {
                    Some(outgoing) => self.session.text(frame(&outgoing)).await.is_ok(),
                    None => {
                        if let Some(reason) = sink.cut_off_reason() {
                            let reason = reason.to_string();
                            self.cut_off(reason).await;
                        }
                        false
                    }
                },
                _ = ping.tick() => self.session.ping(b"").await.is_ok(),
            };
            if !open {
                break;
            }
        }
        let _ = self.session.close(None).await;
    }

    /// Handles one frame; false when the connection is gone.
    async fn command(&mut self, sink: &SinkShared, text: &str) -> bool {
        let command = match serde_json::from_str::<Command>(text) {
            Ok(command) => command,
            Err(err) => {
                let id = serde_json::from_str::<Value>(text)
                    .ok()
                    .and_then(|v| v.get("id").and_then(Value::as_str).map(str::to_string));
                let problem = format!(
                    "a frame is {{\"type\":\"subscribe\",\"id\",\"channel\",\"selector\"?}} or {{\"type\":\"unsubscribe\",\"id\"}}: {err}"
                );
                return self
                    .error(
                        id.as_deref(),
                        ApiError::new(ErrorKind::InvalidField, problem),
                    )
                    .await;
            }
        };
        match command {
            Command::Subscribe {
                id,
                channel,
                selector,
            } => {
                let subscribed = async {
                    let channel = ChannelName::parse(&channel)?;
                    let selector = parse_selector(selector.as_deref())?;
                    self.hub
                        .subscribe(
                            sink,
                            tag(&id),
                            &self.app,
                            &channel,
                            Interest::Messages,
                            selector,
                        )
                        .await
                        .map_err(ApiError::from)
                }
                .await;
                match subscribed {
                    Ok(()) => self.reply("subscribed", &id).await,
                    Err(err) => self.error(Some(&id), err).await,
                }
            }
            Command::Unsubscribe { id } => {
                if self.hub.unsubscribe(sink, &tag(&id)).await {
                    self.reply("unsubscribed", &id).await
                } else {
                    let err = ApiError::new(
                        ErrorKind::UnknownSubscription,
                        "no subscription with this id on the connection",
                    );
                    self.error(Some(&id), err).await
                }
            }
        }
    }

    async fn reply(&mut self, kind: &str, id: &str) -> bool {
        let text = json!({"type": kind, "id": id}).to_string();
        self.session.text(text).await.is_ok()
    }

    async fn error(&mut self, id: Option<&str>, err: ApiError) -> bool {
        let text = json!({
            "type": "error",
            "id": id,
            "code": err.kind.code(),
            "message": err.message,
        })
        .to_string();
        self.session.text(text).await.is_ok()
    }

    async fn cut_off(&mut self, reason: String) {
        let err = ApiError::new(ErrorKind::SubscriberTooSlow, reason.clone());
        self.error(None, err).await;
        let close = CloseReason {
            code: CloseCode::Policy,
            description: Some(truncate(&reason, 120).to_string()),
        };
        let _ = self.session.clone().close(Some(close)).await;
    }
}

/// The hub's tag for a subscription: its id as a JSON string, ready to splice into frames.
fn tag(id: &str) -> Arc<str> {
    Value::String(id.to_string()).to_string().into()
}

/// A message frame, spliced from the subscription's tag and the message rendered once per node.
fn frame(outgoing: &Outgoing) -> String {
    format!(
        "{{\"type\":\"message\",\"id\":{},\"message\":{}}}",
        outgoing.tag, outgoing.message.json
    )
}

/// At most `max` bytes of `text`, cut at a character boundary (a close reason has 123 bytes).
fn truncate(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
