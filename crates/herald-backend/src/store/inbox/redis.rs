//! Polling inboxes in Redis: per channel a stream (the buffer) and a zset of live subscriptions,
//! per subscription a cursor hash, all under one hash tag; see `src/lua/inbox_*.lua`.

use async_trait::async_trait;
use herald_core::{ChannelName, Selector, SubscriptionId};
use redis::Script;
use std::sync::LazyLock;

use super::{select, Delivered, InboxSettings, InboxStore, Polled};
use crate::error::StoreError;
use crate::store::keys::Keys;
use crate::store::redis_conn::RedisConn;

static SUBSCRIBE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("../../lua/inbox_subscribe.lua")));
static DELIVER: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("../../lua/inbox_deliver.lua")));
static POLL: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("../../lua/inbox_poll.lua")));

/// A Redis-backed [`InboxStore`].
pub struct RedisInboxStore {
    conn: RedisConn,
    keys: Keys,
    settings: InboxSettings,
}

impl RedisInboxStore {
    pub fn new(conn: RedisConn, keys: Keys, settings: InboxSettings) -> Self {
        Self {
            conn,
            keys,
            settings,
        }
    }
}

#[async_trait]
impl InboxStore for RedisInboxStore {
    async fn subscribe(
        &self,
        app: &str,
        channel: &ChannelName,
        selector: Option<&Selector>,
    ) -> Result<SubscriptionId, StoreError> {
        let mut conn = self.conn.get()?;
        let keys = self.keys.inbox(app, channel);
        let id = SubscriptionId::new_random();
        let _: String = SUBSCRIBE
            .key(keys.subscriptions())
            .key(keys.buffer())
            .key(keys.subscription(id))
            .arg(id.to_string())
            .arg(self.settings.subscription_ttl.as_millis() as u64)
            .arg(selector.map_or("", Selector::as_str))
            .invoke_async(&mut conn)
            .await?;
        Ok(id)
    }

    async fn poll(
        &self,
        app: &str,
        channel: &ChannelName,
        id: SubscriptionId,
    ) -> Result<Option<Vec<String>>, StoreError> {
        let mut conn = self.conn.get()?;
        let keys = self.keys.inbox(app, channel);
        let reply: Option<Vec<String>> = POLL
            .key(keys.subscriptions())
            .key(keys.buffer())
            .key(keys.subscription(id))
            .arg(id.to_string())
            .arg(self.settings.subscription_ttl.as_millis() as u64)
            .arg(self.settings.window.as_millis() as u64)
            .arg(self.settings.cap)
            .invoke_async(&mut conn)
            .await?;
        let Some(mut reply) = reply else {
            return Ok(None);
        };
        if reply.is_empty() {
            return Err(StoreError::Unexpected("poll answered nothing".into()));
        }
        let messages = reply.split_off(1);
        let selector = match reply[0].as_str() {
            "" => None,
            // Checked when the subscription was made; a text no build could have stored selects
            // nothing rather than everything.
            text => match Selector::parse(text) {
                Ok(selector) => Some(selector),
                Err(err) => {
                    tracing::warn!(subscription = %id, error = %err, "stored selector does not parse");
                    return Ok(Some(Vec::new()));
                }
            },
        };
        Ok(Some(select(selector.as_ref(), messages)))
    }

    async fn deliver(
        &self,
        app: &str,
        channel: &ChannelName,
        message: Polled<'_>,
    ) -> Result<Delivered, StoreError> {
        let mut conn = self.conn.get()?;
        let keys = self.keys.inbox(app, channel);
        let outcome: i64 = DELIVER
            .key(keys.subscriptions())
            .key(keys.buffer())
            .key(keys.delivered(message.occurrence))
            .arg(message.json)
            .arg(self.settings.dedup_window.as_millis() as u64)
            .arg(self.settings.window.as_millis() as u64)
            .arg(self.settings.cap)
            .invoke_async(&mut conn)
            .await?;
        Ok(match outcome {
            -1 => Delivered::Duplicate,
            0 => Delivered::NoSubscribers,
            n => Delivered::Buffered(n as u64),
        })
    }
}
