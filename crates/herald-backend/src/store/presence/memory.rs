//! Presence in process memory: one node, so every record is alive and nothing is swept.

use async_trait::async_trait;
use herald_core::presence::Member;
use herald_core::ChannelName;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use super::{ChannelOf, PresenceStore};
use crate::error::StoreError;

/// The members of each channel, in the order they joined.
#[derive(Default)]
pub struct MemoryPresenceStore {
    channels: Mutex<HashMap<ChannelOf, Vec<Member>>>,
}

impl MemoryPresenceStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn channels(&self) -> std::sync::MutexGuard<'_, HashMap<ChannelOf, Vec<Member>>> {
        self.channels.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl PresenceStore for MemoryPresenceStore {
    async fn join(
        &self,
        app: &str,
        channel: &ChannelName,
        member: &Member,
    ) -> Result<(), StoreError> {
        let mut channels = self.channels();
        let members = channels
            .entry((app.to_string(), channel.clone()))
            .or_default();
        match members
            .iter_mut()
            .find(|m| m.connection_id == member.connection_id)
        {
            Some(known) => *known = member.clone(),
            None => members.push(member.clone()),
        }
        Ok(())
    }

    async fn leave(
        &self,
        app: &str,
        channel: &ChannelName,
        connection_id: &str,
    ) -> Result<bool, StoreError> {
        let mut channels = self.channels();
        let key = (app.to_string(), channel.clone());
        let Some(members) = channels.get_mut(&key) else {
            return Ok(false);
        };
        let before = members.len();
        members.retain(|m| m.connection_id != connection_id);
        let removed = members.len() < before;
        if members.is_empty() {
            channels.remove(&key);
        }
        Ok(removed)
    }

    async fn members(&self, app: &str, channel: &ChannelName) -> Result<Vec<Member>, StoreError> {
        let key = (app.to_string(), channel.clone());
        Ok(self.channels().get(&key).cloned().unwrap_or_default())
    }

    async fn sweep(&self, _: &str, _: &ChannelName) -> Result<Vec<Member>, StoreError> {
        Ok(Vec::new())
    }

    async fn heartbeat(&self, _: &[ChannelOf]) -> Result<(), StoreError> {
        Ok(())
    }

    fn heartbeat_interval(&self) -> Duration {
        // Nothing to prove to anyone; the hub's loop just idles.
        Duration::from_secs(3600)
    }
}
