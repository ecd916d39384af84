//! One realtime connection: authenticated by the handshake's `apiKey`, then `SUB_ON`, `SUB_OFF`
//! and `MET_REQ` in, `SUB_READY`, `SUB_RES` and `MET_RES` out (JS SDK wire reference §4.3-4.4).
//! Served: `PUB_SUB_CONNECT`, `PUB_SUB_MESSAGES` (with selectors), `PUB_SUB_COMMANDS`,
//! `PUB_SUB_USERS` (presence), and the methods `PUB_SUB_COMMAND` and `SET_USER_TOKEN` (announced
//! to presence listeners as `USERUPDATE`; herald has no user accounts to resolve a token to, so
//! `userId` stays null). `SUB_OFF` of a `PUB_SUB_CONNECT` (the SDKs' `leave()`) pauses the
//! connection's listeners of the channel until it joins again (`join()` re-sends only the
//! `PUB_SUB_CONNECT`), and the connection leaves the channel's members meanwhile.
//! Events are handled in the order the client sent them, the connection's end last.
//! A client that reconnects re-sends `SUB_ON` with the same ids on its new connection, and gets
//! its subscriptions back; a repeated id on one connection is answered as ready again, not twice.

use herald_auth::AppRegistry;
use herald_core::command::Command;
use herald_core::presence::Member;
use herald_core::{ApiError, ChannelName, ErrorKind, Selector};
use serde_json::Value;
use socketioxide::extract::{Data, SocketRef};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::emit::{disconnect, emit};
use crate::events::{self, Event};
use crate::frames::{self, Answer, Delivery, Failure, Ready, Request, Stop};
use crate::tasks::Tasks;
use herald_hub::selector::parse_selector;
use herald_hub::{Hub, Interest, SinkReceiver, SinkShared, SubscribeError, Transport};

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
    /// The connection as presence listeners see it.
    member: Member,
}

/// Sets up a connection that passed [`authenticate`]; its tasks run in `tasks`, and its session
/// ends when the connection closes or at `closing`.
pub(crate) fn connect(
    socket: SocketRef,
    hub: Arc<Hub>,
    app: String,
    tasks: &Tasks,
    closing: CancellationToken,
) {
    let receiver = hub.connect(Transport::Realtime);
    let session = Arc::new(Session {
        hub,
        sink: receiver.shared.clone(),
        app,
        joined: Mutex::default(),
        member: Member {
            connection_id: socket.id.to_string(),
            user_id: None,
        },
    });
    tasks.spawn(forward(socket.clone(), receiver));
    let (events, queue) = events::queue();
    tasks.spawn(session.run(socket.clone(), queue, closing));
    // The handlers only queue: they are called in the order the packets came.
    let queue_on = events.clone();
    socket.on(
        "SUB_ON",
        move |socket: SocketRef, Data(request): Data<Request>| {
            queue_on.push(&socket, Event::On(request));
            std::future::ready(())
        },
    );
    let queue_off = events.clone();
    socket.on(
        "SUB_OFF",
        move |socket: SocketRef, Data(stop): Data<Stop>| {
            queue_off.push(&socket, Event::Off(stop));
            std::future::ready(())
        },
    );
    let queue_call = events.clone();
    socket.on(
        "MET_REQ",
        move |socket: SocketRef, Data(request): Data<Request>| {
            queue_call.push(&socket, Event::Call(request));
            std::future::ready(())
        },
    );
    // After the events before it: a join still being handled is undone, not left behind.
    socket.on_disconnect(move || {
        events.close();
        std::future::ready(())
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
        if !emit(&socket, "SUB_RES", &delivery) {
            break;
        }
    }
    if let Some(reason) = receiver.cut_off_reason() {
        tracing::warn!(reason, "realtime subscriber cut off");
        disconnect(&socket);
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
    /// Handles the connection's events one after the other, until it closes or the server does
    /// (then what the client sent last goes unanswered: it is being disconnected).
    async fn run(
        self: Arc<Self>,
        socket: SocketRef,
        mut queue: mpsc::Receiver<Event>,
        closing: CancellationToken,
    ) {
        until_connected(&socket).await;
        loop {
            let event = tokio::select! {
                event = queue.recv() => event,
                _ = closing.cancelled() => None,
            };
            let Some(event) = event else {
                break;
            };
            match event {
                Event::On(request) => self.subscribe(&socket, request).await,
                Event::Off(stop) => self.stop(&stop.id).await,
                Event::Call(request) => self.call(&socket, request).await,
            }
        }
        self.close().await;
    }

    /// Ends the connection's subscriptions and its membership of every channel it joined.
    async fn close(&self) {
        self.hub.disconnect(&self.sink).await;
        let channels = self.joined_channels();
        self.joined
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        for channel in channels {
            self.hub
                .leave_presence(&self.app, &channel, &self.member)
                .await;
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
            Some(channel) => {
                self.hub.set_paused(&self.sink, &self.app, &channel, true);
                self.hub
                    .leave_presence(&self.app, &channel, &self.member)
                    .await;
            }
            None => {
                self.hub.unsubscribe(&self.sink, id).await;
            }
        }
    }

    async fn subscribe(&self, socket: &SocketRef, request: Request) {
        let id = request.id.as_str();
        let outcome = match request.name.as_str() {
            "PUB_SUB_CONNECT" => match channel(&request.options) {
                Ok(channel) => {
                    self.join(id, channel).await;
                    Ok(())
                }
                Err(err) => Err(err),
            },
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
            "PUB_SUB_USERS" => match channel(&request.options) {
                Ok(channel) => {
                    self.hub
                        .subscribe_presence(&self.sink, id.into(), &self.app, &channel)
                        .await
                }
                Err(err) => Err(err),
            },
            other => Err(ApiError::new(
                ErrorKind::InvalidField,
                format!("subscription type {other} is not supported"),
            )),
        };
        match outcome {
            Ok(()) => {
                let ready = emit(socket, "SUB_READY", &Ready { id });
                if ready && request.name == "PUB_SUB_CONNECT" {
                    // Some SDKs wait for SUB_READY, others for a first SUB_RES.
                    emit(
                        socket,
                        "SUB_RES",
                        &serde_json::json!({"id": id, "data": "connected"}),
                    );
                }
            }
            Err(err) => {
                emit(socket, "SUB_RES", &Failure::new(id, &err));
            }
        }
    }

    /// The channels the connection joined, each once (it may join one under several ids).
    fn joined_channels(&self) -> Vec<ChannelName> {
        let joined = self.joined.lock().unwrap_or_else(|e| e.into_inner());
        let channels: std::collections::HashSet<&ChannelName> = joined.values().collect();
        channels.into_iter().cloned().collect()
    }

    /// `PUB_SUB_CONNECT` (`subscribe`, `join`): the connection's listeners of the channel
    /// receive, and it is one of the channel's members.
    async fn join(&self, id: &str, channel: ChannelName) {
        self.hub.set_paused(&self.sink, &self.app, &channel, false);
        let first = {
            let mut joined = self.joined.lock().unwrap_or_else(|e| e.into_inner());
            let first = !joined.values().any(|c| *c == channel);
            joined.insert(id.to_string(), channel.clone());
            first
        };
        if first {
            self.hub
                .join_presence(&self.app, &channel, &self.member)
                .await;
        }
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
            "SET_USER_TOKEN" => {
                self.reidentify().await;
                Ok(())
            }
            other => Err(ApiError::new(
                ErrorKind::InvalidField,
                format!("method {other} is not supported"),
            )),
        };
        // What a failed answer means is emit's business: nothing is left to do here.
        match outcome {
            Ok(()) => emit(
                socket,
                "MET_RES",
                &Answer {
                    id,
                    result: Value::Null,
                },
            ),
            Err(err) => emit(socket, "MET_RES", &Failure::new(id, &err)),
        };
    }

    /// `SET_USER_TOKEN`: tells the presence listeners of the connection's channels. herald has
    /// no user accounts to resolve the token to, so the member's `userId` stays null.
    async fn reidentify(&self) {
        for channel in self.joined_channels() {
            self.hub
                .update_presence(&self.app, &channel, &self.member)
                .await;
        }
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
