//! Polling inboxes in process memory: the same buffer-and-cursor model as Redis, with sequence
//! numbers standing in for stream ids, on the clock the store is given (as Redis's windows are on
//! Redis's clock).

use async_trait::async_trait;
use herald_core::{ChannelName, OccurrenceId, Selector, SubscriptionId};
use herald_runtime::clock::Clock;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use super::{select, Delivered, InboxSettings, InboxStore, Polled};
use crate::error::StoreError;

/// Channels nobody touches are swept at most this often, so memory stays bounded by about one
/// window, TTL or dedup window of state without a scan on every call.
const SWEEP_EVERY_MS: i64 = 1_000;

struct Entry {
    seq: u64,
    /// When it was delivered, ms on the store's clock.
    at: i64,
    json: String,
}

struct Subscription {
    /// The next sequence to hand out.
    cursor: u64,
    /// From when it is gone, ms on the store's clock.
    expires: i64,
    selector: Option<Selector>,
}

#[derive(Default)]
struct Channel {
    buffer: VecDeque<Entry>,
    next_seq: u64,
    subscriptions: HashMap<SubscriptionId, Subscription>,
    /// Delivered occurrences and until when each is remembered, ms.
    delivered: HashMap<OccurrenceId, i64>,
}

impl Channel {
    fn expire(&mut self, now: i64, settings: &InboxSettings) {
        let window = millis(settings.window);
        self.subscriptions.retain(|_, s| s.expires > now);
        self.delivered.retain(|_, expires| *expires > now);
        while self
            .buffer
            .front()
            .is_some_and(|e| now.saturating_sub(e.at) > window)
        {
            self.buffer.pop_front();
        }
    }

    /// Whether nothing is left to keep: no subscription, no buffered message, and no delivered
    /// occurrence still remembered (a redelivery within the dedup window is dropped however
    /// quiet the channel went meanwhile, as on Redis).
    fn is_empty(&self) -> bool {
        self.subscriptions.is_empty() && self.buffer.is_empty() && self.delivered.is_empty()
    }
}

#[derive(Default)]
struct Channels {
    map: HashMap<(String, ChannelName), Channel>,
    last_sweep_ms: Option<i64>,
}

/// An in-memory [`InboxStore`].
pub struct MemoryInboxStore {
    channels: Mutex<Channels>,
    settings: InboxSettings,
    clock: Clock,
}

impl MemoryInboxStore {
    pub fn new(settings: InboxSettings, clock: Clock) -> Self {
        Self {
            channels: Mutex::default(),
            settings,
            clock,
        }
    }

    fn with<R>(
        &self,
        app: &str,
        channel: &ChannelName,
        f: impl FnOnce(&mut Channel, i64) -> R,
    ) -> R {
        let now = self.clock.now_ms();
        let mut channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        if channels
            .last_sweep_ms
            .is_none_or(|at| now.saturating_sub(at) >= SWEEP_EVERY_MS)
        {
            channels.map.retain(|_, c| {
                c.expire(now, &self.settings);
                !c.is_empty()
            });
            channels.last_sweep_ms = Some(now);
        }
        let key = (app.to_string(), channel.clone());
        let state = channels.map.entry(key.clone()).or_default();
        state.expire(now, &self.settings);
        let result = f(state, now);
        if state.is_empty() {
            channels.map.remove(&key);
        }
        result
    }
}

#[async_trait]
impl InboxStore for MemoryInboxStore {
    async fn subscribe(
        &self,
        app: &str,
        channel: &ChannelName,
        selector: Option<&Selector>,
    ) -> Result<SubscriptionId, StoreError> {
        let id = SubscriptionId::new_random();
        let ttl = self.settings.subscription_ttl;
        self.with(app, channel, |c, now| {
            let subscription = Subscription {
                cursor: c.next_seq,
                expires: now.saturating_add(millis(ttl)),
                selector: selector.cloned(),
            };
            c.subscriptions.insert(id, subscription);
        });
        Ok(id)
    }

    async fn poll(
        &self,
        app: &str,
        channel: &ChannelName,
        id: SubscriptionId,
    ) -> Result<Option<Vec<String>>, StoreError> {
        let settings = self.settings;
        Ok(self.with(app, channel, |c, now| {
            let subscription = c.subscriptions.get_mut(&id)?;
            let messages: Vec<&Entry> = c
                .buffer
                .iter()
                .filter(|e| e.seq >= subscription.cursor)
                .take(settings.cap)
                .collect();
            subscription.cursor = messages.last().map_or(subscription.cursor, |e| e.seq + 1);
            subscription.expires = now.saturating_add(millis(settings.subscription_ttl));
            let out = messages.iter().map(|e| e.json.clone()).collect();
            Some(select(subscription.selector.as_ref(), out))
        }))
    }

    async fn deliver(
        &self,
        app: &str,
        channel: &ChannelName,
        message: Polled<'_>,
    ) -> Result<Delivered, StoreError> {
        let settings = self.settings;
        Ok(self.with(app, channel, |c, now| {
            if c.subscriptions.is_empty() {
                return Delivered::NoSubscribers;
            }
            if c.delivered.contains_key(&message.occurrence) {
                return Delivered::Duplicate;
            }
            c.delivered.insert(
                message.occurrence,
                now.saturating_add(millis(settings.dedup_window)),
            );
            c.buffer.push_back(Entry {
                seq: c.next_seq,
                at: now,
                json: message.json.to_string(),
            });
            c.next_seq += 1;
            while c.buffer.len() > settings.cap {
                c.buffer.pop_front();
            }
            Delivered::Buffered(c.subscriptions.len() as u64)
        }))
    }
}

/// A lifetime in the clock's unit, ms.
fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
