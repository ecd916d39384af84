//! The hub of one node: the live subscriptions its connections hold, by channel, and the fan-out
//! of each message the live bus brings to them.
//!
//! A message is decoded and rendered once per node, then offered to each subscription of its
//! channel: its selector is evaluated against the typed headers, and the rendered message goes
//! into the connection's bounded buffer without waiting. A connection whose buffer is full is cut
//! off with a reason (the policy for slow subscribers): it never holds up the others, and its
//! memory is bounded by its buffer. The node's binding on the live bus follows its subscriptions:
//! bound with the first subscription of a channel, unbound with the last.

use herald_backend::live::{routing_key, LiveBus};
use herald_backend::QueueError;
use herald_core::delivered::{PolledMessage, RealtimeMessage};
use herald_core::{ChannelName, Envelope, ErrorKind, Selector};
use prometheus::IntCounter;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

use crate::metrics::LiveMetrics;
use crate::recent::Recent;
use crate::sink::{Outgoing, Rendered, SinkReceiver, SinkShared, Transport};

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
}

struct Subscription {
    sink: u64,
    transport: Transport,
    tag: Arc<str>,
    selector: Option<Selector>,
}

#[derive(Default)]
struct State {
    sinks: HashMap<u64, SinkEntry>,
    channels: HashMap<ChannelKey, Vec<Subscription>>,
}

const TRANSPORTS: [Transport; 3] = [Transport::Sse, Transport::WebSocket, Transport::Realtime];

/// Pre-resolved delivery counters, per transport: delivered, filtered, dropped.
struct Counters([[IntCounter; 3]; 3]);

impl Counters {
    fn new(metrics: &LiveMetrics) -> Self {
        let of = |transport: Transport| {
            ["delivered", "filtered", "dropped_slow"].map(|outcome| {
                metrics
                    .deliveries
                    .with_label_values(&[transport.as_str(), outcome])
            })
        };
        Self(TRANSPORTS.map(of))
    }

    fn add(&self, transport: Transport, counts: [u64; 3]) {
        let row = &self.0[transport as usize];
        for (counter, n) in row.iter().zip(counts) {
            if n > 0 {
                counter.inc_by(n);
            }
        }
    }
}

/// The live subscriptions of this node.
pub struct Hub {
    state: Mutex<State>,
    bus: Arc<dyn LiveBus>,
    /// Subscriptions per routing key; the async lock keeps bind and unbind of a key in order.
    bindings: tokio::sync::Mutex<HashMap<String, usize>>,
    recent: Mutex<Recent>,
    metrics: LiveMetrics,
    counters: Counters,
    settings: HubSettings,
    next_id: AtomicU64,
}

impl Hub {
    pub fn new(bus: Arc<dyn LiveBus>, metrics: LiveMetrics, settings: HubSettings) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::default(),
            bus,
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

    /// Opens a connection's buffer. The transport must [`Hub::disconnect`] it when it ends.
    pub fn connect(&self, transport: Transport) -> SinkReceiver {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let shared = Arc::new(SinkShared::new(id, transport));
        let (sender, receiver) = mpsc::channel(self.settings.buffer.max(1));
        self.state().sinks.insert(
            id,
            SinkEntry {
                shared: shared.clone(),
                sender,
                subscriptions: Vec::new(),
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
            match state.sinks.get_mut(&sink.id) {
                Some(entry) => {
                    entry.subscriptions.push((key.clone(), tag.clone()));
                    state
                        .channels
                        .entry(key.clone())
                        .or_default()
                        .push(Subscription {
                            sink: sink.id,
                            transport: sink.transport,
                            tag,
                            selector,
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

    /// Offers one message from the live bus to the node's subscriptions of its channel.
    pub fn publish(self: &Arc<Self>, body: &[u8]) {
        let envelope = match Envelope::decode(body) {
            Ok(envelope) => envelope,
            Err(err) => {
                tracing::warn!(error = %err, "undecodable envelope on the live bus, dropped");
                return;
            }
        };
        let now = Instant::now();
        let first = self
            .recent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .first_time(envelope.occurrence_id(), now);
        if !first {
            self.metrics.duplicates.inc();
            return;
        }
        let published_at = herald_runtime::clock::now_ms();
        self.metrics
            .end_to_end_seconds
            .observe((published_at - due_ms(&envelope)).max(0) as f64 / 1000.0);
        let slow = self.offer(&envelope, published_at);
        for id in slow {
            let hub = self.clone();
            tokio::spawn(async move {
                let keys = hub.remove_sink(id);
                hub.release(keys).await;
            });
        }
    }

    /// Hands the message to every matching subscription; the connections found too slow.
    fn offer(&self, envelope: &Envelope, published_at: i64) -> Vec<u64> {
        let state = self.state();
        let key = (envelope.app_id.clone(), envelope.channel.clone());
        let Some(subscriptions) = state.channels.get(&key) else {
            return Vec::new();
        };
        let realtime = subscriptions
            .iter()
            .any(|s| s.transport == Transport::Realtime);
        let rendered = &Arc::new(render(envelope, published_at, realtime));
        let selected = self.select(subscriptions, envelope);
        let mut slow = Vec::new();
        let mut counts = [[0u64; 3]; 3];
        for (subscription, selected) in subscriptions.iter().zip(selected) {
            let outcome = &mut counts[subscription.transport as usize];
            if !selected {
                outcome[1] += 1;
                continue;
            }
            let Some(sink) = state.sinks.get(&subscription.sink) else {
                continue;
            };
            let outgoing = Outgoing {
                tag: subscription.tag.clone(),
                message: rendered.clone(),
            };
            match sink.sender.try_send(outgoing) {
                Ok(()) => outcome[0] += 1,
                Err(TrySendError::Full(_)) => {
                    outcome[2] += 1;
                    if !slow.contains(&subscription.sink) {
                        sink.shared.cut_off(format!(
                            "{}: {} messages waited unread",
                            ErrorKind::SubscriberTooSlow.summary(),
                            self.settings.buffer
                        ));
                        self.metrics
                            .slow_disconnects
                            .with_label_values(&[subscription.transport.as_str()])
                            .inc();
                        slow.push(subscription.sink);
                    }
                }
                Err(TrySendError::Closed(_)) => {}
            }
        }
        for transport in TRANSPORTS {
            self.counters.add(transport, counts[transport as usize]);
        }
        slow
    }
}

impl Hub {
    /// Which subscriptions the message's headers satisfy, timing the selectors alone (the metric
    /// is the mean of one evaluation over this message's selectors).
    fn select(&self, subscriptions: &[Subscription], envelope: &Envelope) -> Vec<bool> {
        let started = Instant::now();
        let mut evaluated = 0u32;
        let selected = subscriptions
            .iter()
            .map(|subscription| match &subscription.selector {
                Some(selector) => {
                    evaluated += 1;
                    selector.matches(&envelope.headers)
                }
                None => true,
            })
            .collect();
        if evaluated > 0 {
            let each = started.elapsed().as_secs_f64() / f64::from(evaluated);
            self.metrics.selector_seconds.observe(each);
        }
        selected
    }
}

/// The message in the shapes this node's subscribers of its channel read.
fn render(envelope: &Envelope, published_at: i64, realtime: bool) -> Rendered {
    Rendered {
        message_id: envelope.message_id.to_string(),
        json: PolledMessage::new(envelope, published_at).to_json(),
        realtime: realtime
            .then(|| {
                let json = RealtimeMessage::new(envelope, published_at).to_json();
                // Serialized by serde_json just now: always valid JSON.
                serde_json::value::RawValue::from_string(json).ok()
            })
            .flatten(),
    }
}

/// When the message was due to subscribers: its publication, or its occurrence's due time.
fn due_ms(envelope: &Envelope) -> i64 {
    let schedule = &envelope.schedule;
    if schedule.publish_at > 0 {
        let every_ms = schedule.repeat_every.saturating_mul(1000) as i64;
        let due = schedule.publish_at + every_ms.saturating_mul(envelope.occurrence as i64);
        due.max(envelope.accepted_at)
    } else {
        envelope.accepted_at
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
