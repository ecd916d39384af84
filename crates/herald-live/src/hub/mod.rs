//! The hub of one node: the live subscriptions its connections hold, by channel and interest
//! (messages, commands, or presence), and the node's bindings on the live bus, which follow them:
//! bound with the first subscription of a channel, unbound with the last. The `fanout` module
//! offers what the bus brings to the subscriptions, through one lane per HTTP worker thread for
//! the connections served there (`lanes`); a connection whose buffer is full is cut off
//! with a reason (the policy for slow subscribers), so it never holds up the others and its memory
//! stays bounded. The `presence` module keeps who is joined to each channel, on every node.

use herald_backend::live::{routing_key, LiveBus, LiveFrame, LiveKind};
use herald_backend::store::presence::PresenceStore;
use herald_backend::QueueError;
use herald_core::command::Command;
use herald_core::{ChannelName, Selector};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

use crate::metrics::LiveMetrics;
use crate::recent::Recent;
use crate::sink::{Outgoing, Rendered, SinkReceiver, SinkShared, Transport};

mod fanout;
mod lanes;
mod presence;

use fanout::Counters;

type ChannelKey = (String, ChannelName);

/// Why a subscription was refused.
#[derive(Debug, thiserror::Error)]
pub enum SubscribeError {
    #[error("a subscription with this id exists on the connection")]
    DuplicateId,
    #[error("the connection is closed")]
    Closed,
    #[error("live bus unavailable")]
    Unavailable(#[from] QueueError),
}

/// The limits of the hub.
#[derive(Debug, Clone, Copy)]
pub struct HubSettings {
    /// Messages buffered per connection.
    pub buffer: usize,
    pub dedup_window: Duration,
    /// Most occurrences remembered for dedup.
    pub dedup_cap: usize,
}

struct SinkEntry {
    shared: Arc<SinkShared>,
    sender: mpsc::Sender<Outgoing>,
    subscriptions: Vec<(ChannelKey, Arc<str>)>,
    /// The lane that offers to the connection, or none: the intake does (see `lanes`).
    lane: Option<usize>,
}

/// What a subscription receives of its channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interest {
    /// Published messages (every transport).
    Messages,
    /// Commands realtime clients send to the channel.
    Commands,
    /// Who joins and leaves the channel (realtime presence). Such a subscription holds what it is
    /// offered until its listing goes out first ([`Hub::release_held`]).
    Users,
}

struct Subscription {
    interest: Interest,
    /// The connection's lane (see `lanes`).
    lane: Option<usize>,
    /// The hub's count of offers when the subscription was taken: it receives the later ones.
    since: u64,
    /// The connection left the channel (`leave()`): nothing is delivered until it joins again.
    paused: bool,
    sink: u64,
    transport: Transport,
    tag: Arc<str>,
    selector: Option<Selector>,
    /// What was offered before the subscription's first message went out, kept to follow it.
    held: Option<Vec<Arc<Rendered>>>,
}

#[derive(Default)]
struct State {
    sinks: HashMap<u64, SinkEntry>,
    channels: HashMap<ChannelKey, Vec<Subscription>>,
    /// How many of this node's connections are joined to each channel (presence).
    joined: HashMap<ChannelKey, usize>,
    /// Offers made so far: each offer's number, and each subscription's `since`.
    offers: u64,
}

/// The live subscriptions of this node.
pub struct Hub {
    /// Tells this hub's lanes from another's on a thread (tests run several hubs).
    id: u64,
    state: Mutex<State>,
    /// The lanes' queues, by lane.
    lanes: Mutex<Vec<lanes::LaneSender>>,
    bus: Arc<dyn LiveBus>,
    presence: Arc<dyn PresenceStore>,
    /// Subscriptions per routing key; the async lock keeps bind and unbind of a key in order.
    bindings: tokio::sync::Mutex<HashMap<String, usize>>,
    recent: Mutex<Recent>,
    metrics: LiveMetrics,
    counters: Counters,
    settings: HubSettings,
    next_id: AtomicU64,
}

impl Hub {
    pub fn new(
        bus: Arc<dyn LiveBus>,
        presence: Arc<dyn PresenceStore>,
        metrics: LiveMetrics,
        settings: HubSettings,
    ) -> Arc<Self> {
        static HUBS: AtomicU64 = AtomicU64::new(0);
        Arc::new(Self {
            id: HUBS.fetch_add(1, Ordering::Relaxed),
            state: Mutex::default(),
            lanes: Mutex::default(),
            bus,
            presence,
            bindings: tokio::sync::Mutex::default(),
            recent: Mutex::new(Recent::new(settings.dedup_window, settings.dedup_cap)),
            counters: Counters::new(&metrics),
            metrics,
            settings,
            next_id: AtomicU64::new(1),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Opens a connection's buffer, offered to from the intake's thread. The transport must
    /// [`Hub::disconnect`] it when it ends.
    pub fn connect(&self, transport: Transport) -> SinkReceiver {
        self.open(transport, None)
    }

    /// Opens the buffer of a connection served on this HTTP worker thread, offered to by the
    /// worker's lane. The transport must [`Hub::disconnect`] it when it ends.
    pub fn connect_here(self: &Arc<Self>, transport: Transport) -> SinkReceiver {
        let lane = self.lane_here();
        self.open(transport, Some(lane))
    }

    fn open(&self, transport: Transport, lane: Option<usize>) -> SinkReceiver {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let shared = Arc::new(SinkShared::new(id, transport));
        let (sender, receiver) = mpsc::channel(self.settings.buffer.max(1));
        self.state().sinks.insert(
            id,
            SinkEntry {
                shared: shared.clone(),
                sender,
                subscriptions: Vec::new(),
                lane,
            },
        );
        self.metrics
            .connections
            .with_label_values(&[transport.as_str()])
            .inc();
        SinkReceiver { shared, receiver }
    }

    /// Subscribes a connection to a channel under `tag`; returns once the node receives the
    /// channel's messages, so nothing published after is missed.
    pub async fn subscribe(
        &self,
        sink: &SinkShared,
        tag: Arc<str>,
        app: &str,
        channel: &ChannelName,
        interest: Interest,
        selector: Option<Selector>,
    ) -> Result<(), SubscribeError> {
        {
            let state = self.state();
            let entry = state.sinks.get(&sink.id).ok_or(SubscribeError::Closed)?;
            if entry.subscriptions.iter().any(|(_, t)| *t == tag) {
                return Err(SubscribeError::DuplicateId);
            }
        }
        self.acquire(app, channel).await?;
        let key = (app.to_string(), channel.clone());
        let added = {
            let mut state = self.state();
            let since = state.offers;
            match state.sinks.get_mut(&sink.id) {
                Some(entry) => {
                    entry.subscriptions.push((key.clone(), tag.clone()));
                    let lane = entry.lane;
                    state
                        .channels
                        .entry(key.clone())
                        .or_default()
                        .push(Subscription {
                            interest,
                            lane,
                            since,
                            paused: false,
                            sink: sink.id,
                            transport: sink.transport,
                            tag,
                            selector,
                            held: (interest == Interest::Users).then(Vec::new),
                        });
                    true
                }
                None => false,
            }
        };
        if !added {
            // The connection ended while the channel was being bound.
            self.release(vec![key]).await;
            return Err(SubscribeError::Closed);
        }
        Ok(())
    }

    /// Pauses (or resumes) every subscription of a connection to a channel: a realtime client
    /// that leaves a channel keeps its listeners, which receive again when it joins.
    pub fn set_paused(&self, sink: &SinkShared, app: &str, channel: &ChannelName, paused: bool) {
        let mut state = self.state();
        let key = (app.to_string(), channel.clone());
        if let Some(subscriptions) = state.channels.get_mut(&key) {
            for subscription in subscriptions.iter_mut().filter(|s| s.sink == sink.id) {
                subscription.paused = paused;
            }
        }
    }

    /// Sends a command to the channel's command subscriptions on every node; returns once the
    /// broker has it.
    pub async fn send_command(&self, command: &Command) -> Result<(), QueueError> {
        let frame = LiveFrame {
            kind: LiveKind::Command,
            body: command.encode(),
        };
        let confirm = self
            .bus
            .send(&command.app_id, &command.channel, frame)
            .await?;
        confirm.await
    }

    /// Ends one subscription of a connection; false when it has none under `tag`.
    pub async fn unsubscribe(&self, sink: &SinkShared, tag: &str) -> bool {
        let key = {
            let mut state = self.state();
            let Some(entry) = state.sinks.get_mut(&sink.id) else {
                return false;
            };
            let Some(at) = entry.subscriptions.iter().position(|(_, t)| &**t == tag) else {
                return false;
            };
            let (key, _) = entry.subscriptions.remove(at);
            remove_subscription(&mut state.channels, &key, sink.id, Some(tag));
            key
        };
        self.release(vec![key]).await;
        true
    }

    /// Ends a connection and its subscriptions.
    pub async fn disconnect(&self, sink: &SinkShared) {
        let keys = self.remove_sink(sink.id);
        self.release(keys).await;
    }

    fn remove_sink(&self, id: u64) -> Vec<ChannelKey> {
        let mut state = self.state();
        let Some(entry) = state.sinks.remove(&id) else {
            return Vec::new();
        };
        self.metrics
            .connections
            .with_label_values(&[entry.shared.transport.as_str()])
            .dec();
        let keys: Vec<ChannelKey> = entry.subscriptions.into_iter().map(|(k, _)| k).collect();
        for key in &keys {
            remove_subscription(&mut state.channels, key, id, None);
        }
        keys
    }

    async fn acquire(&self, app: &str, channel: &ChannelName) -> Result<(), QueueError> {
        let mut bindings = self.bindings.lock().await;
        let key = routing_key(app, channel);
        let count = bindings.get(&key).copied().unwrap_or(0);
        if count == 0 {
            self.bus.bind(app, channel).await?;
        }
        bindings.insert(key, count + 1);
        Ok(())
    }

    async fn release(&self, keys: Vec<ChannelKey>) {
        let mut bindings = self.bindings.lock().await;
        for (app, channel) in keys {
            let key = routing_key(&app, &channel);
            let Some(count) = bindings.get_mut(&key) else {
                continue;
            };
            *count -= 1;
            if *count == 0 {
                bindings.remove(&key);
                if let Err(err) = self.bus.unbind(&app, &channel).await {
                    // The binding goes with the node queue in the end; meanwhile the hub drops
                    // the channel's messages, having no subscription for them.
                    tracing::warn!(error = %err, "cannot unbind a channel from the live queue");
                }
            }
        }
    }
}

fn remove_subscription(
    channels: &mut HashMap<ChannelKey, Vec<Subscription>>,
    key: &ChannelKey,
    sink: u64,
    tag: Option<&str>,
) {
    if let Some(list) = channels.get_mut(key) {
        list.retain(|s| !(s.sink == sink && tag.is_none_or(|t| &*s.tag == t)));
        if list.is_empty() {
            channels.remove(key);
        }
    }
}
