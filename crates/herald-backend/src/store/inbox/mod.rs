//! Polling inboxes (Backendless's legacy REST subscriptions, reference §4.1).
//!
//! Each channel has one buffer of recent messages, written once per message however many
//! subscriptions the channel has, and each subscription a cursor into it: a poll hands out the
//! entries after the cursor and moves it, so each message reaches each subscription once. The
//! buffer keeps a window of time (60 s by default) and at most a cap of entries; a subscription
//! not polled within its idle TTL expires. A subscription made with a selector is handed only the
//! messages whose headers its selector selects; the others pass its cursor unseen.

mod memory;
mod redis;

pub use memory::MemoryInboxStore;
pub use redis::RedisInboxStore;

use async_trait::async_trait;
use herald_core::delivered::headers_of_rendered;
use herald_core::{ChannelName, OccurrenceId, Selector, SubscriptionId};
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
    /// Opens a subscription that receives the channel's messages delivered from now on, those its
    /// selector selects when it has one.
    async fn subscribe(
        &self,
        app: &str,
        channel: &ChannelName,
        selector: Option<&Selector>,
    ) -> Result<SubscriptionId, StoreError>;
    /// The messages since the last poll that the subscription selects (oldest first, as JSON
    /// texts), or `None` when the subscription is unknown or expired.
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

/// Keeps the rendered messages that `selector` selects, judging each by the headers it was
/// rendered with (all strings, which compare as numbers where they read as numbers, so the
/// result is the one the typed headers would give).
fn select(selector: Option<&Selector>, mut messages: Vec<String>) -> Vec<String> {
    if let Some(selector) = selector {
        messages.retain(|json| match headers_of_rendered(json) {
            Some(headers) => selector.matches_with(&headers),
            // Only herald renders these; one it cannot read is not handed out.
            None => false,
        });
    }
    messages
}
