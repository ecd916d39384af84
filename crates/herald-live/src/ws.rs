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
//!
//! Security: the user token comes from the `user-token` header or query parameter (`access`); a
//! bad one (3064), or an `Origin` the app does not accept (9045, 403), refuses the upgrade. A
//! subscribe needs Subscribe on its channel, else it is answered with an error frame (9040).
//! When the apps are reloaded the connection decides again (`ws_reload`): a subscription that
//! lost its grant ends with an error frame of its id (9040), the connection staying; a connection
//! whose app, key, token or origin no longer holds gets an error frame (`"id": null`) and is
//! closed with code 1008 and the reason, as a slow one is.
//!
//! Messages go from the hub to the socket without this connection's task: the response body
//! (`ws_wire::Outbound`) takes them from the connection's buffer as the server writes. The task
//! reads the client's frames and answers them through the body's control queue.

use actix_http::ws::{handshake, Frame, Message};
use actix_web::body::{BodyStream, MessageBody};
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::stream;
use herald_auth::Operation;
use herald_core::{ApiError, ChannelName, ErrorKind};
use herald_http::HttpError;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

use crate::access::LiveAccess;
use crate::connection::{Connection, LiveState};
use crate::ws_wire::{error_frame, Control, Inbound, Outbound};
use herald_hub::selector::parse_selector;
use herald_hub::{Hub, Interest, SinkShared, Transport, WorkerFanout};

pub async fn connect(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<LiveState>,
    fanout: web::Data<WorkerFanout>,
) -> Result<HttpResponse, HttpError> {
    let access = LiveAccess::resolve(&req)?;
    access.check_origin()?;
    let mut response = handshake(req.head()).map_err(|_| {
        HttpError(ApiError::new(
            ErrorKind::InvalidField,
            "this route takes a WebSocket upgrade",
        ))
    })?;
    let hub = fanout.hub().clone();
    let sink = fanout.connect(Transport::WebSocket);
    let shared = sink.shared.clone();
    let (outbound, control) = Outbound::new(sink);
    let client = Client {
        _connection: Connection {
            hub: hub.clone(),
            sink: shared.clone(),
        },
        hub,
        access,
        subscriptions: HashMap::new(),
        control,
    };
    actix_web::rt::spawn(client.run(shared, Inbound::new(payload), state.keep_alive));
    let body = BodyStream::new(stream::unfold(outbound, Outbound::next)).boxed();
    Ok(response
        .message_body(body)
        .map_err(|_| HttpError(ApiError::of(ErrorKind::Internal)))?
        .into())
}

pub(crate) struct Client {
    _connection: Connection,
    pub(crate) hub: Arc<Hub>,
    pub(crate) access: LiveAccess,
    /// The channel of each subscription by its id, to decide them again on a reload.
    pub(crate) subscriptions: HashMap<String, ChannelName>,
    pub(crate) control: Control,
}

/// A frame from the client (not to be confused with a realtime client's command to a channel,
/// `herald_core::command::Command`).
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum ClientFrame {
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
    /// Reads the client's frames until the connection ends: the client leaves or breaks the
    /// protocol, or the body ends (the connection closed, or the hub cut it off).
    async fn run(
        mut self,
        sink: Arc<SinkShared>,
        mut inbound: Inbound,
        keep_alive: std::time::Duration,
    ) {
        let mut ping =
            tokio::time::interval_at(tokio::time::Instant::now() + keep_alive, keep_alive);
        loop {
            let open = tokio::select! {
                // A reload first: a frame the client sent after it is decided under the new
                // configuration, not the one this connection opened with.
                biased;
                () = self.access.reloaded() => match self.decide_again(&sink).await {
                    Some(open) => open,
                    // Closed with the refusal already: there is nothing left to close.
                    None => return,
                },
                frame = inbound.next() => match frame {
                    Some(Frame::Text(bytes)) => match std::str::from_utf8(&bytes) {
                        Ok(text) => self.answer(&sink, text).await,
                        Err(_) => self.error(ApiError::new(ErrorKind::InvalidField, "a text frame is not UTF-8")).await,
                    },
                    Some(Frame::Binary(_)) | Some(Frame::Continuation(_)) => self.error(ApiError::new(ErrorKind::InvalidField, "frames are JSON text")).await,
                    Some(Frame::Ping(bytes)) => self.send(Message::Pong(bytes)).await,
                    Some(Frame::Pong(_)) => true,
                    Some(Frame::Close(_)) | None => false,
                },
                _ = ping.tick() => self.send(Message::Ping(Default::default())).await,
                _ = self.control.closed() => return,
            };
            if !open {
                break;
            }
        }
        // A body that is gone took the connection with it: there is nothing left to close.
        self.send(Message::Close(None)).await;
    }

    /// Answers one frame; false when the connection is gone. Room for the answer is taken
    /// first (waiting while the client has not read the answers before it), so the answer
    /// enters the control queue the moment the frame is handled.
    async fn answer(&mut self, sink: &SinkShared, text: &str) -> bool {
        // A handle of its own holds the room, so handling the frame may change the client.
        let control = self.control.clone();
        let Ok(permit) = control.reserve().await else {
            return false;
        };
        let answer = self.handle(sink, text).await;
        permit.send(Message::Text(answer.into()));
        true
    }

    /// The answer to one frame.
    async fn handle(&mut self, sink: &SinkShared, text: &str) -> String {
        let frame = match serde_json::from_str::<ClientFrame>(text) {
            Ok(frame) => frame,
            Err(err) => {
                let id = serde_json::from_str::<Value>(text)
                    .ok()
                    .and_then(|v| v.get("id").and_then(Value::as_str).map(str::to_string));
                let problem = format!(
                    "a frame is {{\"type\":\"subscribe\",\"id\",\"channel\",\"selector\"?}} or {{\"type\":\"unsubscribe\",\"id\"}}: {err}"
                );
                return error_frame(
                    id.as_deref(),
                    &ApiError::new(ErrorKind::InvalidField, problem),
                );
            }
        };
        match frame {
            ClientFrame::Subscribe {
                id,
                channel,
                selector,
            } => {
                let subscribed = async {
                    let channel = ChannelName::parse(&channel)?;
                    let selector = parse_selector(selector.as_deref())?;
                    // Decided once, here, for every message the subscription will carry.
                    self.access
                        .authorize(Operation::Subscribe, channel.as_str())?;
                    self.hub
                        .subscribe(
                            sink,
                            tag(&id),
                            &self.access.app.id,
                            &channel,
                            Interest::Messages,
                            selector,
                        )
                        .await
                        .map_err(ApiError::from)?;
                    Ok::<_, ApiError>(channel)
                }
                .await;
                match subscribed {
                    // Nothing is awaited between the hub taking the subscription and this answer
                    // entering the control queue (its room is taken already), and this task and
                    // the body share the worker's one thread: the body, which serves the control
                    // queue first, sends the answer before any message of the subscription.
                    Ok(channel) => {
                        self.subscriptions.insert(id.clone(), channel);
                        reply("subscribed", &id)
                    }
                    Err(err) => error_frame(Some(&id), &err),
                }
            }
            ClientFrame::Unsubscribe { id } => {
                if self.hub.unsubscribe(sink, &tag(&id)).await {
                    self.subscriptions.remove(&id);
                    reply("unsubscribed", &id)
                } else {
                    let err = ApiError::new(
                        ErrorKind::UnknownSubscription,
                        "no subscription with this id on the connection",
                    );
                    error_frame(Some(&id), &err)
                }
            }
        }
    }

    /// Queues a frame ahead of any message queued later, waiting for room; false when the
    /// connection is gone.
    pub(crate) async fn send(&self, message: Message) -> bool {
        self.control.send(message).await.is_ok()
    }

    /// Answers a frame that has no id with an error.
    async fn error(&self, err: ApiError) -> bool {
        self.send(Message::Text(error_frame(None, &err).into()))
            .await
    }
}

/// A frame that answers the subscription `id`: `{"type": kind, "id": id}`.
fn reply(kind: &str, id: &str) -> String {
    json!({"type": kind, "id": id}).to_string()
}

/// The hub's tag for a subscription: its id as a JSON string, ready to splice into frames.
pub(crate) fn tag(id: &str) -> Arc<str> {
    Value::String(id.to_string()).to_string().into()
}
