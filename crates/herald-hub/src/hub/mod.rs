//! The hub of one node: the live subscriptions its connections hold, by channel and interest
//! (messages, commands, or presence), and the node's bindings on the live bus, which follow them:
//! bound with the first subscription of a channel, unbound with the last. The `fanout` module
//! offers what the bus brings to the subscriptions, through one queue per HTTP worker thread for
//! the connections served there (`worker_fanout`); a connection whose buffer is full is cut off
//! with a reason (the policy for slow subscribers), so it never holds up the others and its memory
//! stays bounded. The `presence` module keeps who is joined to each channel, on every node. What
//! these share of the hub's state is in `state`, below them all.

use herald_backend::live::{routing_key, LiveBus, LiveFrame, LiveKind};
use herald_backend::store::presence::PresenceStore;
use herald_backend::QueueError;
use herald_core::command::Command;
use herald_core::{ChannelName, Selector};
use herald_runtime::clock::Clock;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

use crate::error::SubscribeError;
use crate::metrics::{DeliveryCounters, LiveMetrics};
use crate::recent::Recent;
use crate::sink::{SinkReceiver, SinkShared, Transport};
use state::{ChannelKey, FanoutJob, SinkEntry, State, Subscription};

mod fanout;
mod presence;
mod state;
pub mod worker_fanout;

pub use state::Interest;

/// The limits of the hub.
#[derive(Debug, Clone, Copy)]
pub struct HubSettings {
    /// Messages buffered per connection.
    pub buffer: usize,
    pub dedup_window: Duration,
    /// Most occurrences remembered for dedup.
    pub dedup_cap: usize,
}

/// The live subscriptions of this node.
pub struct Hub {
    state: Mutex<State>,
    /// The queues of the worker fan-outs, by worker (see `worker_fanout`).
    workers: Mutex<Vec<mpsc::Sender<FanoutJob>>>,
    bus: Arc<dyn LiveBus>,
    presence: Arc<dyn PresenceStore>,
    /// Subscriptions per routing key; the async lock keeps bind and unbind of a key in order.
    bindings: tokio::sync::Mutex<HashMap<String, usize>>,
    recent: Mutex<Recent>,
    metrics: LiveMetrics,
    counters: DeliveryCounters,
    settings: HubSettings,
    /// Stamps deliveries (`publishedAt`, the end-to-end latency).
    clock: Clock,
    next_id: AtomicU64,
}

impl Hub {
    pub fn new(
        bus: Arc<dyn LiveBus>,
        presence: Arc<dyn PresenceStore>,
        metrics: LiveMetrics,
        settings: HubSettings,
        clock: Clock,
    ) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::default(),
            workers: Mutex::default(),
            bus,
            presence,
            bindings: tokio::sync::Mutex::default(),
            recent: Mutex::new(Recent::new(settings.dedup_window, settings.dedup_cap)),
            counters: DeliveryCounters::new(&metrics),
            metrics,
            settings,
            clock,
            next_id: AtomicU64::new(1),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Opens a connection's buffer, offered to from the intake's thread. The transport must
    /// [`Hub::disconnect`] it when it ends. A connection served by an HTTP worker thread opens
    /// through the worker's [`worker_fanout::WorkerFanout`] instead.
    pub fn connect(&self, transport: Transport) -> SinkReceiver {
        self.open(transport, None)
    }

    fn open(&self, transport: Transport, worker: Option<usize>) -> SinkReceiver {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let shared = Arc::new(SinkShared::new(id, transport));
        let (sender, receiver) = mpsc::channel(self.settings.buffer.max(1));
        self.state().sinks.insert(
            id,
            SinkEntry {
                shared: shared.clone(),
                sender,
                subscriptions: Vec::new(),
                worker,
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
                    let worker = entry.worker;
                    state
                        .channels
                        .entry(key.clone())
                        .or_default()
                        .push(Subscription {
                            interest,
                            worker,
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
            body: command.encode()?,
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
