//! A realtime connection's method calls (`MET_REQ`): `PUB_SUB_COMMAND`, which needs the command
//! grant on its channel and carries the sender's user id, and `SET_USER_TOKEN`, which logs the
//! connection in as another user (or out), decides its subscriptions again under the new identity
//! and announces it to presence listeners (`USERUPDATE`). A token that does not verify is refused
//! (3064) and leaves the identity as it was.

use herald_auth::Operation;
use herald_core::command::Command;
use herald_core::{ApiError, ErrorKind};
use serde_json::Value;
use socketioxide::extract::SocketRef;

use crate::emit::emit;
use crate::frames::{channel, Answer, Failure, Request};
use crate::identity::{option_token, Identity};
use crate::session::{lock, Session};

impl Session {
    /// Answers a method call.
    pub(crate) async fn call(&self, socket: &SocketRef, request: Request) {
        let id = request.id.as_str();
        let outcome = match request.name.as_str() {
            "PUB_SUB_COMMAND" => self.command(&request.options).await,
            "SET_USER_TOKEN" => self.set_user_token(socket, &request.options).await,
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

    /// `SET_USER_TOKEN {userToken}`: the connection's new identity. Its subscriptions are decided
    /// again before the answer, so once the client has it, every one that lost its grant has
    /// ended (`SUB_RES {id, error}`).
    async fn set_user_token(&self, socket: &SocketRef, options: &Value) -> Result<(), ApiError> {
        let token = option_token(options);
        let registry = self.apps.current();
        let (access, identity) = {
            let current = lock(&self.identity);
            current.with_token(&registry, &self.app, token)?
        };
        // The client re-identified itself: its presence listeners hear of it even when the user
        // is the same (a token renewed).
        self.reidentify(socket, &access.app, identity, true).await;
        Ok(())
    }

    /// Replaces the connection's identity with `identity` under `app`: subscriptions it no longer
    /// grants end, and presence listeners of the channels still joined hear of the new user
    /// (`USERUPDATE`) if it changed or `announce` says so.
    pub(crate) async fn reidentify(
        &self,
        socket: &SocketRef,
        app: &herald_auth::App,
        identity: Identity,
        announce: bool,
    ) {
        let changed = {
            let mut current = lock(&self.identity);
            let changed = current.caller.user_id() != identity.caller.user_id();
            *current = identity;
            changed
        };
        self.revoke_denied(socket, app).await;
        if changed || announce {
            let member = self.member();
            for channel in self.joined_channels() {
                self.hub.update_presence(&self.app, &channel, &member).await;
            }
        }
    }

    /// `PUB_SUB_COMMAND {channel, type, data}`: to the channel's command listeners on every node,
    /// if the connection may send commands there.
    async fn command(&self, options: &Value) -> Result<(), ApiError> {
        let channel = channel(options)?;
        self.authorize(Operation::Command, &channel)?;
        let command = Command {
            app_id: self.app.clone(),
            channel,
            kind: options.get("type").cloned().unwrap_or(Value::Null),
            data: options.get("data").cloned().unwrap_or(Value::Null),
            connection_id: self.connection_id.clone(),
            user_id: self.member().user_id,
        };
        self.hub.send_command(&command).await.map_err(|err| {
            tracing::warn!(error = %err, "cannot send a command on the live bus");
            ApiError::of(ErrorKind::QueueUnavailable)
        })
    }
}
