//! One realtime connection: authenticated by the handshake's `apiKey` and `userToken`, then
//! `SUB_ON`, `SUB_OFF` and `MET_REQ` in, `SUB_READY`, `SUB_RES` and `MET_RES` out (JS SDK wire
//! reference §4.3-4.4). Served: `PUB_SUB_CONNECT`, `PUB_SUB_MESSAGES` (with selectors),
//! `PUB_SUB_COMMANDS`, `PUB_SUB_USERS` (presence), and the methods `PUB_SUB_COMMAND` and
//! `SET_USER_TOKEN` (`calls`). Presence members and commands carry the user id of the
//! connection's token (null when not logged in); a new token is announced to presence listeners
//! as `USERUPDATE`.
//! Each subscription is granted or refused by the app's permissions when it is made (`grants`),
//! and decided again when the connection's token changes or the configuration is reloaded
//! (`regrant`): one that lost its grant ends with `SUB_RES {id, error}`.
//! `SUB_OFF` of a `PUB_SUB_CONNECT` (the SDKs' `leave()`) pauses the
//! connection's listeners of the channel until it joins again (`join()` re-sends only the
//! `PUB_SUB_CONNECT`), and the connection leaves the channel's members meanwhile.
//! Events are handled in the order the client sent them, reloads among them, the connection's
//! end last.
//! A client that reconnects re-sends `SUB_ON` with the same ids on its new connection, and gets
//! its subscriptions back; a repeated id on one connection is answered as ready again, not twice.

use herald_auth::{App, Apps};
use herald_core::presence::Member;
use herald_core::{ApiError, ChannelName, ErrorKind, Selector};
use socketioxide::extract::{Data, SocketRef};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::emit::{disconnect, emit};
use crate::events::{self, Event};
use crate::frames::{self, channel, Delivery, Failure, Ready, Request, Stop};
use crate::grants::{operation_of, Granted};
use crate::identity::Identity;
use crate::tasks::Tasks;
use herald_hub::selector::parse_selector;
use herald_hub::{Hub, Interest, SinkReceiver, SinkShared, SubscribeError, Transport};

/// What the event handlers of one connection share.
pub(crate) struct Session {
    pub(crate) hub: Arc<Hub>,
    pub(crate) sink: Arc<SinkShared>,
    pub(crate) apps: Arc<Apps>,
    pub(crate) app: String,
    pub(crate) identity: Mutex<Identity>,
    /// The connection's `PUB_SUB_CONNECT` subscriptions (`join`), by id.
    joined: Mutex<HashMap<String, ChannelName>>,
    /// Every live subscription of the connection, by id, with what its grant was for.
    pub(crate) granted: Mutex<HashMap<String, Granted>>,
    pub(crate) connection_id: String,
}

/// What a connection needs from the server: the node's hub, the reloadable apps, and the reloads
/// heard of since its handshake was checked (so none in between is missed).
pub(crate) struct Opening {
    pub hub: Arc<Hub>,
    pub apps: Arc<Apps>,
    pub app: String,
    pub identity: Identity,
    pub changes: watch::Receiver<u64>,
}

/// Sets up a connection whose handshake verified as `opening.identity`; its tasks run in
/// `tasks`, and its session ends when the connection closes or at `closing`.
pub(crate) fn connect(
    socket: SocketRef,
    opening: Opening,
    tasks: &Tasks,
    closing: CancellationToken,
) {
    let receiver = opening.hub.connect(Transport::Realtime);
    let session = Arc::new(Session {
        hub: opening.hub,
        sink: receiver.shared.clone(),
        apps: opening.apps,
        app: opening.app,
        identity: Mutex::new(opening.identity),
        joined: Mutex::default(),
        granted: Mutex::default(),
        connection_id: socket.id.to_string(),
    });
    tasks.spawn(forward(socket.clone(), receiver));
    let (events, queue) = events::queue();
    tasks.spawn(session.run(socket.clone(), queue, opening.changes, closing));
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
        mut changes: watch::Receiver<u64>,
        closing: CancellationToken,
    ) {
        until_connected(&socket).await;
        // The apps outlive every session, so their reloads never end; if they did, the session
        // would simply stop hearing of them.
        let mut watching = true;
        loop {
            let event = tokio::select! {
                event = queue.recv() => event,
                changed = changes.changed(), if watching => {
                    watching = changed.is_ok();
                    if watching && !self.reloaded(&socket).await {
                        break;
                    }
                    continue;
                }
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
        lock(&self.granted).clear();
        let channels = self.joined_channels();
        self.joined
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        for channel in channels {
            self.hub
                .leave_presence(&self.app, &channel, &self.member())
                .await;
        }
    }

    /// `SUB_OFF`: ends a listener, or, for a `PUB_SUB_CONNECT` subscription (`leave`), pauses the
    /// connection's listeners of the channel until it joins again.
    pub(crate) async fn stop(&self, id: &str) {
        lock(&self.granted).remove(id);
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
                    .leave_presence(&self.app, &channel, &self.member())
                    .await;
            }
            None => {
                self.hub.unsubscribe(&self.sink, id).await;
            }
        }
    }

    async fn subscribe(&self, socket: &SocketRef, request: Request) {
        let id = request.id.as_str();
        let outcome = match self.grant(&request) {
            Ok(granted) => {
                let outcome = self.start(id, &request, granted.channel.clone()).await;
                if outcome.is_ok() {
                    lock(&self.granted).insert(id.to_string(), granted);
                }
                outcome
            }
            Err(err) => Err(err),
        };
        self.answer(socket, &request, outcome);
    }

    /// The grant a subscription needs, if the connection has it under the app as it is now.
    fn grant(&self, request: &Request) -> Result<Granted, ApiError> {
        let op = operation_of(&request.name).ok_or_else(|| {
            ApiError::new(
                ErrorKind::InvalidField,
                format!("subscription type {} is not supported", request.name),
            )
        })?;
        let channel = channel(&request.options)?;
        self.authorize(op, &channel)?;
        Ok(Granted { op, channel })
    }

    /// Whether the connection may do `op` on `channel`, under its app as the registry has it now
    /// (gone: refused as a handshake would be; the reload that removed it ends the connection).
    pub(crate) fn authorize(
        &self,
        op: herald_auth::Operation,
        channel: &ChannelName,
    ) -> Result<(), ApiError> {
        let app = self.current_app()?;
        app.authorize(&lock(&self.identity).caller, op, channel.as_str())
    }

    fn current_app(&self) -> Result<Arc<App>, ApiError> {
        self.apps.current().get(&self.app).cloned().ok_or_else(|| {
            ApiError::new(
                ErrorKind::UnknownApplication,
                format!("application {} does not exist", self.app),
            )
        })
    }

    /// The connection as presence listeners see it.
    pub(crate) fn member(&self) -> Member {
        Member {
            connection_id: self.connection_id.clone(),
            user_id: lock(&self.identity).caller.user_id().map(String::from),
        }
    }

    /// Starts a granted subscription in the hub.
    async fn start(
        &self,
        id: &str,
        request: &Request,
        channel: ChannelName,
    ) -> Result<(), ApiError> {
        match request.name.as_str() {
            "PUB_SUB_CONNECT" => {
                self.join(id, channel).await;
                Ok(())
            }
            "PUB_SUB_MESSAGES" => {
                let selector = parse_selector(frames::option(&request.options, "selector"))?;
                self.listen(id, channel, Interest::Messages, selector).await
            }
            "PUB_SUB_COMMANDS" => self.listen(id, channel, Interest::Commands, None).await,
            "PUB_SUB_USERS" => {
                self.hub
                    .subscribe_presence(&self.sink, id.into(), &self.app, &channel)
                    .await
            }
            other => Err(ApiError::new(
                ErrorKind::InvalidField,
                format!("subscription type {other} is not supported"),
            )),
        }
    }

    /// `SUB_READY` (and for a join its first `SUB_RES`), or the subscription's failure.
    fn answer(&self, socket: &SocketRef, request: &Request, outcome: Result<(), ApiError>) {
        let id = request.id.as_str();
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
    pub(crate) fn joined_channels(&self) -> Vec<ChannelName> {
        let joined = lock(&self.joined);
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
                .join_presence(&self.app, &channel, &self.member())
                .await;
        }
    }

    async fn listen(
        &self,
        id: &str,
        channel: ChannelName,
        interest: Interest,
        selector: Option<Selector>,
    ) -> Result<(), ApiError> {
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

/// The state behind a session's lock, even if a thread panicked holding it: each update is one
/// map operation, never left half done.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
