//! A WebSocket connection deciding again when the apps are reloaded: the connection's app, key,
//! token and origin first (any no longer holding ends the connection as the hub ends a slow one:
//! an error frame with `"id": null`, then a close frame with code 1008 and the reason), then
//! each of its subscriptions (one that lost Subscribe on its channel ends with an error frame of
//! its id, and the connection stays).

use actix_http::ws::{CloseCode, CloseReason, Message};
use herald_auth::Operation;
use herald_core::ApiError;
use herald_hub::SinkShared;

use crate::ws::{tag, Client};
use crate::ws_wire::{error_frame, truncate};

impl Client {
    /// Decides the connection again: `None` once it is closed with the refusal, else whether it
    /// is still open.
    pub(crate) async fn decide_again(&mut self, sink: &SinkShared) -> Option<bool> {
        if let Err(err) = self.access.refresh() {
            self.end_with(&err).await;
            return None;
        }
        let lost: Vec<(String, ApiError)> = self
            .subscriptions
            .iter()
            .filter_map(|(id, channel)| {
                let refused = self
                    .access
                    .authorize(Operation::Subscribe, channel.as_str());
                refused.err().map(|err| (id.clone(), err))
            })
            .collect();
        for (id, err) in lost {
            self.subscriptions.remove(&id);
            // Ended before the error is queued: nothing published after it reaches the client.
            self.hub.unsubscribe(sink, &tag(&id)).await;
            if !self
                .send(Message::Text(error_frame(Some(&id), &err).into()))
                .await
            {
                return Some(false);
            }
        }
        Some(true)
    }

    /// Tells the client why the connection ends, and closes it.
    async fn end_with(&self, err: &ApiError) {
        let close = CloseReason {
            code: CloseCode::Policy,
            description: Some(truncate(&err.message, 120).to_string()),
        };
        if self
            .send(Message::Text(error_frame(None, err).into()))
            .await
        {
            self.send(Message::Close(Some(close))).await;
        }
    }
}
