//! Status records in Redis: one hash per message with a TTL, changed only by the Lua scripts
//! under `src/lua/status_*.lua`.

use async_trait::async_trait;
use herald_core::status::{DeliveryKind, MessageStatus, Occurrences, StatusRecord};
use herald_core::MessageId;
use redis::{AsyncCommands, Script};
use std::sync::LazyLock;
use std::time::Duration;

use super::{Finished, Outcome, StatusStore};
use crate::error::StoreError;
use crate::store::keys::Keys;
use crate::store::redis_conn::RedisConn;

static CREATE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("../../lua/status_create.lua")));
static FINISH: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("../../lua/status_finish.lua")));
static CANCEL: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("../../lua/status_cancel.lua")));

/// A Redis-backed [`StatusStore`].
pub struct RedisStatusStore {
    conn: RedisConn,
    keys: Keys,
    /// How long a record lives after its last transition.
    ttl: Duration,
}

impl RedisStatusStore {
    pub fn new(conn: RedisConn, keys: Keys, ttl: Duration) -> Self {
        Self { conn, keys, ttl }
    }
}

#[async_trait]
impl StatusStore for RedisStatusStore {
    async fn create(
        &self,
        app: &str,
        id: MessageId,
        channel: &str,
        kind: DeliveryKind,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn.get()?;
        let _: i64 = CREATE
            .key(self.keys.status(app, id))
            .arg(kind.as_str())
            .arg(ttl.as_millis() as u64)
            .arg(channel)
            .invoke_async(&mut conn)
            .await?;
        Ok(())
    }

    async fn discard(&self, app: &str, id: MessageId) -> Result<(), StoreError> {
        let mut conn = self.conn.get()?;
        let _: i64 = conn.del(self.keys.status(app, id)).await?;
        Ok(())
    }

    async fn get(&self, app: &str, id: MessageId) -> Result<Option<StatusRecord>, StoreError> {
        let mut conn = self.conn.get()?;
        type Fields = (
            Option<String>,
            Option<String>,
            Option<u64>,
            Option<u64>,
            Option<String>,
        );
        // A record written before the channel was recorded has no `c`: it reads as `None`.
        let (status, error, fired, skipped, channel): Fields = redis::cmd("HMGET")
            .arg(self.keys.status(app, id))
            .arg("s")
            .arg("e")
            .arg("fired")
            .arg("skipped")
            .arg("c")
            .query_async(&mut conn)
            .await?;
        let Some(status) = status else {
            return Ok(None);
        };
        let status = MessageStatus::parse(&status)
            .ok_or_else(|| StoreError::Unexpected(format!("status {status}")))?;
        Ok(Some(StatusRecord {
            status,
            error_message: error,
            occurrences: fired.map(|fired| Occurrences {
                fired,
                skipped: skipped.unwrap_or(0),
            }),
            channel,
        }))
    }

    async fn finish(
        &self,
        app: &str,
        id: MessageId,
        outcome: Outcome,
    ) -> Result<Finished, StoreError> {
        let mut conn = self.conn.get()?;
        let (status, error) = match &outcome {
            Outcome::Published => ("published", ""),
            Outcome::Failed(reason) => ("failed", reason.as_str()),
        };
        let changed: i64 = FINISH
            .key(self.keys.status(app, id))
            .arg(status)
            .arg(error)
            .arg(self.ttl.as_millis() as u64)
            .invoke_async(&mut conn)
            .await?;
        match changed {
            1 => Ok(Finished::Changed),
            0 => Ok(Finished::Missing),
            -1 => Ok(Finished::AlreadyFinal),
            other => Err(StoreError::Unexpected(format!("finish returned {other}"))),
        }
    }

    async fn cancel(&self, app: &str, id: MessageId) -> Result<bool, StoreError> {
        let mut conn = self.conn.get()?;
        let cancelled: i64 = CANCEL
            .key(self.keys.status(app, id))
            .key(self.keys.schedule_entry(app, id))
            .key(self.keys.schedule_envelope(app, id))
            .arg(self.ttl.as_millis() as u64)
            .invoke_async(&mut conn)
            .await?;
        Ok(cancelled == 1)
    }
}
