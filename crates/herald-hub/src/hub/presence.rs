//! Presence on one node: a realtime connection that joins a channel is recorded in the presence
//! store and announced on the live bus (`CONNECTED`), one that leaves or closes is removed and
//! announced (`DISCONNECTED`), one that re-identifies itself is announced again (`USERUPDATE`).
//! A presence listener first receives the channel's `LISTING`, then every change after it.
//!
//! A listener misses nothing between its listing and the changes: its subscription is bound to
//! the channel (and holds what it is offered) before the listing is read. A member is recorded
//! before it is announced, so a change the listing does not show yet is among those held.
//! The node beats for its members, and sweeps away, announcing their departure, the members of
//! nodes that stopped without a word on the channels it has listeners of.

use herald_backend::live::{LiveFrame, LiveKind};
use herald_backend::store::presence::ChannelOf;
use herald_core::presence::{self, Member, PresenceEvent, PresenceStatus};
use herald_core::{ApiError, ChannelName, ErrorKind};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

use super::{Hub, Interest};
use crate::error::SubscribeError;
use crate::sink::{Rendered, SinkShared};

impl Hub {
    /// Records `member` as joined to the channel and announces it (`CONNECTED`).
    pub async fn join_presence(&self, app: &str, channel: &ChannelName, member: &Member) {
        *self
            .state()
            .joined
            .entry((app.to_string(), channel.clone()))
            .or_default() += 1;
        self.record(app, channel, member, PresenceStatus::Connected)
            .await;
    }

    /// Removes `member` from the channel and announces it (`DISCONNECTED`), if it was there.
    pub async fn leave_presence(&self, app: &str, channel: &ChannelName, member: &Member) {
        {
            let mut state = self.state();
            let key = (app.to_string(), channel.clone());
            if let Some(count) = state.joined.get_mut(&key) {
                *count -= 1;
                if *count == 0 {
                    state.joined.remove(&key);
                }
            }
        }
        match self
            .presence
            .leave(app, channel, &member.connection_id)
            .await
        {
            Ok(true) => {
                self.announce(
                    app,
                    channel,
                    PresenceStatus::Disconnected,
                    vec![member.clone()],
                )
                .await
            }
            Ok(false) => {}
            Err(err) => tracing::warn!(error = %err, "cannot remove a channel member"),
        }
    }

    /// Records a member's new identity and announces it (`USERUPDATE`).
    pub async fn update_presence(&self, app: &str, channel: &ChannelName, member: &Member) {
        self.record(app, channel, member, PresenceStatus::UserUpdate)
            .await;
    }

    /// Records `member` in the channel's presence and announces it with `status`. When the
    /// store cannot, the connection still joins the channel; presence listeners miss the change.
    async fn record(
        &self,
        app: &str,
        channel: &ChannelName,
        member: &Member,
        status: PresenceStatus,
    ) {
        if let Err(err) = self.presence.join(app, channel, member).await {
            tracing::warn!(error = %err, "cannot record a channel member");
            return;
        }
        self.announce(app, channel, status, vec![member.clone()])
            .await;
    }

    /// Subscribes a connection to the channel's presence: its first delivery is the `LISTING`
    /// of the members, then every change.
    pub async fn subscribe_presence(
        self: &Arc<Self>,
        sink: &SinkShared,
        tag: Arc<str>,
        app: &str,
        channel: &ChannelName,
    ) -> Result<(), ApiError> {
        match self
            .subscribe(sink, tag.clone(), app, channel, Interest::Users, None)
            .await
        {
            Ok(()) => {}
            // Already listening on this connection (a client restoring its subscriptions).
            Err(SubscribeError::DuplicateId) => return Ok(()),
            Err(err) => return Err(err.into()),
        }
        let members = match self.presence.members(app, channel).await {
            Ok(members) => members,
            Err(err) => {
                tracing::warn!(error = %err, "cannot list a channel's members");
                self.unsubscribe(sink, &tag).await;
                return Err(ApiError::of(ErrorKind::StoreUnavailable));
            }
        };
        let listing = match presence::delivered_json(PresenceStatus::Listing, &members) {
            Ok(listing) => listing,
            Err(err) => {
                tracing::error!(error = %err, "cannot serialize a channel's presence listing");
                self.unsubscribe(sink, &tag).await;
                return Err(ApiError::of(ErrorKind::Internal));
            }
        };
        self.release_held(sink.id, &tag, Rendered::realtime_only(listing));
        Ok(())
    }

    /// Sends a presence change to the channel's listeners on every node.
    async fn announce(
        &self,
        app: &str,
        channel: &ChannelName,
        status: PresenceStatus,
        members: Vec<Member>,
    ) {
        let event = PresenceEvent {
            app_id: app.to_string(),
            channel: channel.clone(),
            status,
            members,
        };
        let sent = match event.encode() {
            Ok(body) => {
                let frame = LiveFrame {
                    kind: LiveKind::Presence,
                    body,
                };
                match self.bus.send(app, channel, frame).await {
                    Ok(confirm) => confirm.await,
                    Err(err) => Err(err),
                }
            }
            Err(err) => Err(err.into()),
        };
        if let Err(err) = sent {
            tracing::warn!(error = %err, "cannot announce a presence change on the live bus");
        }
    }

    /// Beats for this node's members and sweeps the members of stopped nodes, until `shutdown`.
    pub async fn run_presence(self: Arc<Self>, shutdown: CancellationToken) {
        let mut beat = tokio::time::interval(self.presence.heartbeat_interval());
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = beat.tick() => {}
            }
            let (joined, listened) = self.presence_channels();
            if let Err(err) = self.presence.heartbeat(&joined).await {
                tracing::warn!(error = %err, "cannot beat for this node's channel members");
            }
            for (app, channel) in listened {
                match self.presence.sweep(&app, &channel).await {
                    Ok(gone) if !gone.is_empty() => {
                        self.announce(&app, &channel, PresenceStatus::Disconnected, gone)
                            .await
                    }
                    Ok(_) => {}
                    Err(err) => tracing::warn!(error = %err, "cannot sweep a channel's members"),
                }
            }
        }
    }

    /// The channels this node's connections joined, and those it has presence listeners of.
    fn presence_channels(&self) -> (Vec<ChannelOf>, Vec<ChannelOf>) {
        let state = self.state();
        let joined = state.joined.keys().cloned().collect();
        let listened = state
            .channels
            .iter()
            .filter(|(_, subscriptions)| {
                subscriptions.iter().any(|s| s.interest == Interest::Users)
            })
            .map(|(key, _)| key.clone())
            .collect();
        (joined, listened)
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::hub::HubSettings;
    use crate::metrics::LiveMetrics;
    use crate::sink::{SinkReceiver, Transport};
    use herald_backend::live::MemoryLiveBus;
    use herald_backend::store::presence::MemoryPresenceStore;
    use herald_runtime::clock::Clock;
    use serde_json::{json, Value};
    use std::time::Duration;

    /// A hub on in-memory backends whose connections buffer `buffer` messages.
    pub(in crate::hub) fn hub(buffer: usize) -> Arc<Hub> {
        Hub::new(
            Arc::new(MemoryLiveBus::new(16)),
            Arc::new(MemoryPresenceStore::new()),
            LiveMetrics::register(&prometheus::Registry::new()).unwrap(),
            HubSettings {
                buffer,
                dedup_window: Duration::from_secs(60),
                dedup_cap: 100,
            },
            Clock::system(),
        )
    }

    fn change(connection: &str) -> LiveFrame {
        LiveFrame {
            kind: LiveKind::Presence,
            body: PresenceEvent {
                app_id: "app".into(),
                channel: ChannelName::parse("room").unwrap(),
                status: PresenceStatus::Connected,
                members: vec![Member {
                    connection_id: connection.into(),
                    user_id: None,
                }],
            }
            .encode()
            .unwrap(),
        }
    }

    /// A hub with one connection whose presence subscription `u` to `room` is still held (its
    /// listing not yet sent).
    async fn held_listener(buffer: usize) -> (Arc<Hub>, SinkReceiver) {
        let hub = hub(buffer);
        let receiver = hub.connect(Transport::Realtime);
        let room = ChannelName::parse("room").unwrap();
        hub.subscribe(
            &receiver.shared,
            "u".into(),
            "app",
            &room,
            Interest::Users,
            None,
        )
        .await
        .unwrap();
        (hub, receiver)
    }

    fn next(receiver: &mut SinkReceiver) -> Value {
        let outgoing = receiver.receiver.try_recv().expect("a delivery waiting");
        serde_json::from_str(&outgoing.message.json).unwrap()
    }

    #[tokio::test]
    async fn a_listener_gets_its_listing_before_the_changes_offered_while_it_was_read() {
        let (hub, mut receiver) = held_listener(8).await;
        // A change arrives while the listing is being read: it waits.
        hub.publish(&change("c2")).await;
        assert!(
            receiver.receiver.try_recv().is_err(),
            "held until the listing"
        );

        let listing = presence::delivered_json(PresenceStatus::Listing, &[]).unwrap();
        assert!(hub.release_held(receiver.shared.id, "u", Rendered::realtime_only(listing)));
        assert_eq!(
            next(&mut receiver),
            json!({"status": "LISTING", "data": []})
        );
        assert_eq!(next(&mut receiver)["status"], "CONNECTED");
        // From now on changes go straight through.
        hub.publish(&change("c3")).await;
        assert_eq!(
            next(&mut receiver)["data"][0]["connectionId"],
            "c3",
            "no longer held"
        );
    }

    #[tokio::test]
    async fn a_listener_offered_more_than_its_buffer_while_held_is_cut_off() {
        let (hub, receiver) = held_listener(2).await;
        for n in 0..3 {
            hub.publish(&change(&format!("c{n}"))).await;
        }
        assert!(
            receiver.cut_off_reason().is_some(),
            "cut off, not grown without bound"
        );
    }
}
