//! One realtime connection: authenticated by the handshake's `apiKey`, then `SUB_ON`, `SUB_OFF`
//! and `MET_REQ` in, `SUB_READY`, `SUB_RES` and `MET_RES` out (JS SDK wire reference §4.3-4.4).
//! Served: `PUB_SUB_CONNECT`, `PUB_SUB_MESSAGES` (with selectors), `PUB_SUB_COMMANDS`, and the
//! methods `PUB_SUB_COMMAND` and `SET_USER_TOKEN` (accepted; herald has no users to resolve a
//! token to). `SUB_OFF` of a `PUB_SUB_CONNECT` (the SDKs' `leave()`) pauses the connection's
//! listeners of the channel until it joins again (`join()` re-sends only the `PUB_SUB_CONNECT`).
//! Events are handled in the order the client sent them. Not yet: `PUB_SUB_USERS` (presence),
//! answered with an error.
//! A client that reconnects re-sends `SUB_ON` with the same ids on its new connection, and gets
//! its subscriptions back; a repeated id on one connection is answered as ready again, not twice.

use herald_core::command::Command;
use herald_core::{ApiError, ChannelName, ErrorKind, Selector};
use herald_http::AppRegistry;
use serde_json::Value;
use socketioxide::extract::{Data, SocketRef};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::frames::{self, Answer, Delivery, Failure, Ready, Request, Stop};
use crate::hub::{Hub, Interest, SubscribeError};
use crate::routes::parse_selector;
use crate::sink::{SinkReceiver, SinkShared, Transport};

/// Why a handshake is refused; socket.io hands the message to the client's connect error.
#[derive(Debug)]
pub struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// Checks the handshake's API key against the app's.
pub fn authenticate(socket: &SocketRef, apps: &AppRegistry, app: &str) -> Result<(), Refused> {
    let query = socket.req_parts().uri.query().unwrap_or_default();
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    let key = pairs
        .iter()
        .find(|(name, _)| name == "apiKey")
        .map(|(_, value)| value.as_str())
        .unwrap_or_default();
    apps.by_path(app, key)
        .map(|_| ())
        .map_err(|err| Refused(format!("{} ({})", err.message, err.kind.code())))
}

/// What the event handlers of one connection share.
struct Session {
    hub: Arc<Hub>,
    sink: Arc<SinkShared>,
    app: String,
    /// The connection's `PUB_SUB_CONNECT` subscriptions (`join`), by id.
    joined: Mutex<HashMap<String, ChannelName>>,
}

/// A client event, handled in the order the client sent it (socketioxide runs each handler in a
/// task of its own, which would let a `SUB_OFF` overtake the `SUB_ON` before it).
enum Event {
    On(Request),
    Off(Stop),
    Call(Request),
}

/// Sets up a connection that passed [`authenticate`].
pub fn connect(socket: SocketRef, hub: Arc<Hub>, app: String) {
    let receiver = hub.connect(Transport::Realtime);
    let session = Arc::new(Session {
        hub,
        sink: receiver.shared.clone(),
        app,
        joined: Mutex::default(),
    });
    tokio::spawn(forward(socket.clone(), receiver));
    let (events, queue) = mpsc::unbounded_channel();
    let closed = CancellationToken::new();
    tokio::spawn(session.clone().run(socket.clone(), queue, closed.clone()));
    // The handlers only queue: they are called in the order the packets came.
    let queue_on = events.clone();
    socket.on("SUB_ON", move |Data(request): Data<Request>| {
        let _ = queue_on.send(Event::On(request));
        std::future::ready(())
    });
    let queue_off = events.clone();
    socket.on("SUB_OFF", move |Data(stop): Data<Stop>| {
        let _ = queue_off.send(Event::Off(stop));
        std::future::ready(())
    });
    socket.on("MET_REQ", move |Data(request): Data<Request>| {
        let _ = events.send(Event::Call(request));
        std::future::ready(())
    });
    socket.on_disconnect(move || {
        closed.cancel();
        let session = session.clone();
        async move { session.hub.disconnect(&session.sink).await }
    });
}

/// Sends the connection's deliveries; a connection cut off for being slow is disconnected (the
/// SDK reconnects and restores its subscriptions).
async fn forward(socket: SocketRef, mut receiver: SinkReceiver) {
    while let Some(outgoing) = receiver.next().await {
        let Some(data) = &outgoing.message.realtime else {
            continue;
        };
        let delivery = Delivery {
            id: &outgoing.tag,
            data,
        };
        if socket.emit("SUB_RES", &delivery).is_err() {
            break;
        }
    }
    if let Some(reason) = receiver.cut_off_reason() {
        tracing::warn!(reason, "realtime subscriber cut off");
        let _ = socket.disconnect();
    }
}

/// Waits until socketioxide has marked the socket connected. It sends the CONNECT acknowledgement
/// first and marks the socket a moment later, and it drops what is emitted in between: an event
/// the client sends as soon as it is acknowledged (the SDKs do) would lose its answer. The wait
/// is a few task switches, bounded so that a socket closed meanwhile does not hold it.
async fn until_connected(socket: &SocketRef) {
    for _ in 0..10_000 {
        if socket.connected() {
            return;
        }
        tokio::task::yield_now().await;
    }
}

impl Session {
    /// Handles the connection's events one after the other, until it closes.
    async fn run(
        self: Arc<Self>,
        socket: SocketRef,
        mut queue: mpsc::UnboundedReceiver<Event>,
        closed: CancellationToken,
    ) {
        until_connected(&socket).await;
        loop {
            let event = tokio::select! {
                _ = closed.cancelled() => return,
                event = queue.recv() => match event {
                    Some(event) => event,
                    None => return,
                },
            };
            match event {
                Event::On(request) => self.subscribe(&socket, request).await,
                Event::Off(stop) => self.stop(&stop.id).await,
                Event::Call(request) => self.call(&socket, request).await,
            }
        }
    }

    /// `SUB_OFF`: ends a listener, or, for a `PUB_SUB_CONNECT` subscription (`leave`), pauses the
    /// connection's listeners of the channel until it joins again.
    async fn stop(&self, id: &str) {
        let left = {
            let mut joined = self.joined.lock().unwrap_or_else(|e| e.into_inner());
            joined
                .remove(id)
                .filter(|channel| !joined.values().any(|c| c == channel))
        };
        match left {
            Some(channel) => self.hub.set_paused(&self.sink, &self.app, &channel, true),
            None => {
                self.hub.unsubscribe(&self.sink, id).await;
            }
        }
    }

    async fn subscribe(&self, socket: &SocketRef, request: Request) {
        let id = request.id.as_str();
        let outcome = match request.name.as_str() {
            "PUB_SUB_CONNECT" => channel(&request.options).map(|channel| self.join(id, channel)),
            "PUB_SUB_MESSAGES" => {
                let selector = frames::option(&request.options, "selector");
                let selector = parse_selector(selector);
                match selector {
                    Ok(selector) => {
                        self.listen(id, &request.options, Interest::Messages, selector)
                            .await
                    }
                    Err(err) => Err(err),
                }
            }
            "PUB_SUB_COMMANDS" => {
                self.listen(id, &request.options, Interest::Commands, None)
                    .await
            }
            other => Err(ApiError::new(
                ErrorKind::InvalidField,
                format!("subscription type {other} is not supported"),
            )),
        };
        match outcome {
            Ok(()) => {
                let _ = socket.emit("SUB_READY", &Ready { id });
                if request.name == "PUB_SUB_CONNECT" {
                    // Some SDKs wait for SUB_READY, others for a first SUB_RES.
                    let _ = socket.emit(
                        "SUB_RES",
                        &serde_json::json!({"id": id, "data": "connected"}),
                    );
                }
            }
            Err(err) => {
                let _ = socket.emit("SUB_RES", &Failure::new(id, &err));
            }
        }
    }

    /// `PUB_SUB_CONNECT` (`subscribe`, `join`): the connection's listeners of the channel receive.
    fn join(&self, id: &str, channel: ChannelName) {
        self.hub.set_paused(&self.sink, &self.app, &channel, false);
        self.joined
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.to_string(), channel);
    }

    async fn listen(
        &self,
        id: &str,
        options: &Value,
        interest: Interest,
        selector: Option<Selector>,
    ) -> Result<(), ApiError> {
        let channel = channel(options)?;
        match self
            .hub
            .subscribe(
                &self.sink,
                id.into(),
                &self.app,
                &channel,
                interest,
                selector,
            )
            .await
        {
            // The same id again on this connection: it is already live.
            Ok(()) | Err(SubscribeError::DuplicateId) => Ok(()),
            Err(err) => Err(err.into()),
        }
    }
}

fn channel(options: &Value) -> Result<ChannelName, ApiError> {
    let name = frames::option(options, "channel").ok_or_else(|| {
        ApiError::new(ErrorKind::InvalidChannelName, "options.channel is missing")
    })?;
    ChannelName::parse(name)
}

impl Session {
    /// Answers a method call.
    async fn call(&self, socket: &SocketRef, request: Request) {
        let id = request.id.as_str();
        let outcome = match request.name.as_str() {
            "PUB_SUB_COMMAND" => self.command(socket, &request.options).await,
            // The user token identifies the connection for presence, which is not served yet.
            "SET_USER_TOKEN" => Ok(()),
            other => Err(ApiError::new(
                ErrorKind::InvalidField,
                format!("method {other} is not supported"),
            )),
        };
        let _ = match outcome {
            Ok(()) => socket.emit(
                "MET_RES",
                &Answer {
                    id,
                    result: Value::Null,
                },
            ),
            Err(err) => socket.emit("MET_RES", &Failure::new(id, &err)),
        };
    }

    /// `PUB_SUB_COMMAND {channel, type, data}`: to the channel's command listeners on every node.
    async fn command(&self, socket: &SocketRef, options: &Value) -> Result<(), ApiError> {
        let command = Command {
            app_id: self.app.clone(),
            channel: channel(options)?,
            kind: options.get("type").cloned().unwrap_or(Value::Null),
            data: options.get("data").cloned().unwrap_or(Value::Null),
            connection_id: socket.id.to_string(),
            user_id: None,
        };
        self.hub.send_command(&command).await.map_err(|err| {
            tracing::warn!(error = %err, "cannot send a command on the live bus");
            ApiError::of(ErrorKind::QueueUnavailable)
        })
    }
}
