//! Presence records: which realtime connections are joined to each channel, across every
//! dispatcher node, for the listings presence listeners receive when they subscribe.
//!
//! Each member is recorded with the node that holds its connection, and each node proves it is
//! alive with a heartbeat. A node that stops without removing its members (killed, or cut off from
//! Redis) leaves records behind: they are left out of listings once its heartbeat expires, and
//! [`PresenceStore::sweep`] removes them, handing each to exactly one caller, which announces the
//! departure.

mod memory;
mod redis;

pub use memory::MemoryPresenceStore;
pub use redis::RedisPresenceStore;

use async_trait::async_trait;
use herald_core::presence::Member;
use herald_core::ChannelName;
use std::time::Duration;

use crate::error::StoreError;

/// A channel of an app.
pub type ChannelOf = (String, ChannelName);

/// Presence records of channels.
#[async_trait]
pub trait PresenceStore: Send + Sync + 'static {
    /// Records `member` as joined to the channel through this node, or updates its record.
    async fn join(
        &self,
        app: &str,
        channel: &ChannelName,
        member: &Member,
    ) -> Result<(), StoreError>;
    /// Removes a member; false when it was not recorded (it left before, or was swept).
    async fn leave(
        &self,
        app: &str,
        channel: &ChannelName,
        connection_id: &str,
    ) -> Result<bool, StoreError>;
    /// The channel's members whose nodes are alive.
    async fn members(&self, app: &str, channel: &ChannelName) -> Result<Vec<Member>, StoreError>;
    /// Removes the channel's members whose nodes are gone, returning those this call removed.
    async fn sweep(&self, app: &str, channel: &ChannelName) -> Result<Vec<Member>, StoreError>;
    /// Marks this node alive and keeps the records of `channels` (those its connections joined)
    /// from expiring; due every [`PresenceStore::heartbeat_interval`].
    async fn heartbeat(&self, channels: &[ChannelOf]) -> Result<(), StoreError>;
    /// How often [`PresenceStore::heartbeat`] must run.
    fn heartbeat_interval(&self) -> Duration;
}
