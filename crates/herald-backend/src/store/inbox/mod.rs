//! Polling inboxes (Backendless's legacy REST subscriptions, reference §4.1).
//!
//! Each channel has one buffer of recent messages, written once per message however many
//! subscriptions the channel has, and each subscription a cursor into it: a poll hands out the
//! entries after the cursor and moves it, so each message reaches each subscription once. The
//! buffer keeps a window of time (60 s by default) and at most a cap of entries; a subscription
//! not polled within its idle TTL expires.

mod memory;
mod redis;

pub use memory::MemoryInboxStore;
pub use redis::RedisInboxStore;

use async_trait::async_trait;
use herald_core::{ChannelName, OccurrenceId, SubscriptionId};
use std::time::Duration;

use crate::error::StoreError;

/// The limits of polling inboxes.
#[derive(Debug, Clone, Copy)]
pub struct InboxSettings {
    /// Messages older than this are not handed out.
    pub window: Duration,
    /// A subscription not polled for this long expires.
    pub subscription_ttl: Duration,
    /// Most entries one channel buffers, and most one poll returns.
    pub cap: usize,
    /// How long a delivered occurrence is remembered to drop redeliveries of it.
    pub dedup_window: Duration,
}

/// What delivering one occurrence did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivered {
    /// Buffered for this many live subscriptions.
    Buffered(u64),
    /// The channel has no live polling subscription: nothing written.
    NoSubscribers,
    /// The occurrence was delivered before (a redelivery): dropped.
    Duplicate,
}

/// A message that is ready to be polled: identified by occurrence, already rendered as JSON.
pub struct Polled<'a> {
    pub occurrence: OccurrenceId,
    pub json: &'a str,
}

/// Polling inboxes.
#[async_trait]
pub trait InboxStore: Send + Sync + 'static {
    /// Opens a subscription that receives the channel's messages delivered from now on.
    async fn subscribe(
        &self,
        app: &str,
        channel: &ChannelName,
    ) -> Result<SubscriptionId, StoreError>;
    /// The messages since the last poll (oldest first, as JSON texts), or `None` when the
    /// subscription is unknown or expired.
    async fn poll(
        &self,
        app: &str,
        channel: &ChannelName,
        id: SubscriptionId,
    ) -> Result<Option<Vec<String>>, StoreError>;
    /// Buffers one occurrence for the channel's subscriptions, once.
    async fn deliver(
        &self,
        app: &str,
        channel: &ChannelName,
        message: Polled<'_>,
    ) -> Result<Delivered, StoreError>;
}
