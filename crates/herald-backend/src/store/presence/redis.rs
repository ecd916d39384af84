//! Presence in Redis: per channel a hash `connectionId -> {u: userId, n: node}` under the
//! channel's hash tag, and per node a heartbeat key with a TTL. See `proto/redis-keys.md`.

use async_trait::async_trait;
use herald_core::presence::Member;
use herald_core::ChannelName;
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::time::Duration;

use super::{ChannelOf, PresenceStore};
use crate::error::StoreError;
use crate::store::keys::Keys;
use crate::store::redis_conn::RedisConn;

/// One member's record.
#[derive(Serialize, Deserialize)]
struct Record {
    #[serde(rename = "u")]
    user_id: Option<String>,
    #[serde(rename = "n")]
    node: String,
}

/// A Redis-backed [`PresenceStore`] for one node.
pub struct RedisPresenceStore {
    conn: RedisConn,
    keys: Keys,
    node: String,
    /// How long a node counts as alive after its last heartbeat, and channel records last
    /// without one.
    ttl: Duration,
}

impl RedisPresenceStore {
    pub fn new(conn: RedisConn, keys: Keys, node: &str, ttl: Duration) -> Self {
        Self {
            conn,
            keys,
            node: node.to_string(),
            ttl,
        }
    }

    fn ttl_ms(&self) -> u64 {
        self.ttl.as_millis() as u64
    }

    /// Every record of the channel, and which of their nodes are alive.
    async fn records(
        &self,
        app: &str,
        channel: &ChannelName,
    ) -> Result<(Vec<(Member, String)>, HashSet<String>), StoreError> {
        let mut conn = self.conn.get()?;
        let fields: Vec<(String, String)> = conn.hgetall(self.keys.presence(app, channel)).await?;
        let records: Vec<(Member, String)> = fields
            .into_iter()
            .filter_map(|(connection_id, record)| {
                let record: Record = serde_json::from_str(&record).ok()?;
                let member = Member {
                    connection_id,
                    user_id: record.user_id,
                };
                Some((member, record.node))
            })
            .collect();
        let nodes: Vec<&String> = records
            .iter()
            .map(|(_, node)| node)
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let mut pipe = redis::pipe();
        for node in &nodes {
            pipe.exists(self.keys.node(node));
        }
        let exists: Vec<bool> = if nodes.is_empty() {
            Vec::new()
        } else {
            pipe.query_async(&mut conn).await?
        };
        let alive = nodes
            .into_iter()
            .zip(exists)
            .filter(|(_, alive)| *alive)
            .map(|(node, _)| node.clone())
            .collect();
        Ok((records, alive))
    }
}

#[async_trait]
impl PresenceStore for RedisPresenceStore {
    async fn join(
        &self,
        app: &str,
        channel: &ChannelName,
        member: &Member,
    ) -> Result<(), StoreError> {
        let record = Record {
            user_id: member.user_id.clone(),
            node: self.node.clone(),
        };
        let record = serde_json::to_string(&record)?;
        let key = self.keys.presence(app, channel);
        let mut conn = self.conn.get()?;
        // The node's own heartbeat too: a record must never name a node that looks dead.
        let () = redis::pipe()
            .set_options(
                self.keys.node(&self.node),
                1,
                redis::SetOptions::default().with_expiration(redis::SetExpiry::PX(self.ttl_ms())),
            )
            .ignore()
            .hset(&key, &member.connection_id, record)
            .ignore()
            .pexpire(&key, self.ttl_ms() as i64)
            .ignore()
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    async fn leave(
        &self,
        app: &str,
        channel: &ChannelName,
        connection_id: &str,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn.get()?;
        let removed: u64 = conn
            .hdel(self.keys.presence(app, channel), connection_id)
            .await?;
        Ok(removed > 0)
    }

    async fn members(&self, app: &str, channel: &ChannelName) -> Result<Vec<Member>, StoreError> {
        let (records, alive) = self.records(app, channel).await?;
        Ok(records
            .into_iter()
            .filter(|(_, node)| alive.contains(node))
            .map(|(member, _)| member)
            .collect())
    }

    async fn sweep(&self, app: &str, channel: &ChannelName) -> Result<Vec<Member>, StoreError> {
        let (records, alive) = self.records(app, channel).await?;
        let gone: Vec<Member> = records
            .into_iter()
            .filter(|(_, node)| !alive.contains(node))
            .map(|(member, _)| member)
            .collect();
        if gone.is_empty() {
            return Ok(gone);
        }
        let key = self.keys.presence(app, channel);
        let mut pipe = redis::pipe();
        for member in &gone {
            pipe.hdel(&key, &member.connection_id);
        }
        let mut conn = self.conn.get()?;
        // Each record goes to the one sweeper whose HDEL removed it.
        let removed: Vec<u64> = pipe.query_async(&mut conn).await?;
        Ok(gone
            .into_iter()
            .zip(removed)
            .filter(|(_, removed)| *removed > 0)
            .map(|(member, _)| member)
            .collect())
    }

    async fn heartbeat(&self, channels: &[ChannelOf]) -> Result<(), StoreError> {
        let mut pipe = redis::pipe();
        pipe.set_options(
            self.keys.node(&self.node),
            1,
            redis::SetOptions::default().with_expiration(redis::SetExpiry::PX(self.ttl_ms())),
        )
        .ignore();
        for (app, channel) in channels {
            pipe.pexpire(self.keys.presence(app, channel), self.ttl_ms() as i64)
                .ignore();
        }
        let mut conn = self.conn.get()?;
        let () = pipe.query_async(&mut conn).await?;
        Ok(())
    }

    fn heartbeat_interval(&self) -> Duration {
        // Three beats per TTL: one late or lost beat does not make a live node look dead.
        self.ttl / 3
    }
}
