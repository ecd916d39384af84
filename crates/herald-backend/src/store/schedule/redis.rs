//! The schedule in Redis: entries beside their status records, due and lease sets per shard.

use async_trait::async_trait;
use redis::{AsyncCommands, Script, Value};
use std::collections::BTreeMap;
use std::sync::LazyLock;
use std::time::Duration;

use super::{shard_of, Claim, Fire, Member, NewEntry, ScheduleStore};
use crate::error::StoreError;
use crate::store::keys::Keys;
use crate::store::redis_conn::RedisConn;

static STORE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("../../lua/schedule_store.lua")));
static CLAIM: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("../../lua/schedule_claim.lua")));
static FIRE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("../../lua/schedule_fire.lua")));
static COMMIT: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("../../lua/schedule_commit.lua")));
static RELEASE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("../../lua/schedule_release.lua")));

/// A Redis-backed [`ScheduleStore`].
pub struct RedisScheduleStore {
    conn: RedisConn,
    keys: Keys,
    shards: u32,
}

impl RedisScheduleStore {
    pub fn new(conn: RedisConn, keys: Keys, shards: u32) -> Self {
        Self { conn, keys, shards }
    }

    fn shard(&self, member: &Member) -> u32 {
        shard_of(member.id, self.shards)
    }
}

fn unexpected(what: &str, value: &Value) -> StoreError {
    StoreError::Unexpected(format!("{what} answered {value:?}"))
}

fn int(value: &Value) -> Option<i64> {
    match value {
        Value::Int(n) => Some(*n),
        _ => None,
    }
}

#[async_trait]
impl ScheduleStore for RedisScheduleStore {
    fn shards(&self) -> u32 {
        self.shards
    }

    async fn store(&self, entry: NewEntry<'_>) -> Result<Option<i64>, StoreError> {
        let mut conn = self.conn.get()?;
        let member = entry.member;
        let due: i64 = STORE
            .key(self.keys.status(&member.app, member.id))
            .key(self.keys.schedule_entry(&member.app, member.id))
            .key(self.keys.schedule_envelope(&member.app, member.id))
            .arg(entry.envelope)
            .arg(entry.first_at_ms)
            .arg(entry.every_seconds)
            .arg(entry.expires_at_ms)
            .arg(entry.ttl.as_millis() as u64)
            .invoke_async(&mut conn)
            .await?;
        if due < 0 {
            return Ok(None);
        }
        // Indexed after the entry exists; a crash in between is mended by the redelivery, which
        // finds the entry and indexes it again (ZADD is idempotent).
        let _: i64 = conn
            .zadd(self.keys.due(self.shard(member)), member.encode(), due)
            .await?;
        // Every scheduler recomputes its sleep: this entry may be due before any it knew of.
        let _: i64 = conn.publish(self.keys.wake(), due).await?;
        Ok(Some(due))
    }

    fn wakeups(
        &self,
        shutdown: tokio_util::sync::CancellationToken,
    ) -> async_channel::Receiver<()> {
        self.conn.subscribe(self.keys.wake(), shutdown)
    }

    async fn claim(&self, shard: u32, batch: usize, lease: Duration) -> Result<Claim, StoreError> {
        let mut conn = self.conn.get()?;
        let reply: Vec<Value> = CLAIM
            .key(self.keys.due(shard))
            .key(self.keys.lease(shard))
            .arg(batch)
            .arg(lease.as_millis() as u64)
            .invoke_async(&mut conn)
            .await?;
        let [now, expired, next_due, next_lease, pending, in_flight, members @ ..] =
            reply.as_slice()
        else {
            return Err(StoreError::Unexpected(format!("claim answered {reply:?}")));
        };
        let header = |v: &Value| int(v).ok_or_else(|| unexpected("claim", v));
        let optional = |v: i64| (v >= 0).then_some(v);
        let mut claimed = Vec::with_capacity(members.len());
        for value in members {
            let text: String =
                redis::from_redis_value(value.clone()).map_err(|_| unexpected("claim", value))?;
            // An entry no build could have written is left to expire with its lease.
            if let Some(member) = Member::decode(&text) {
                claimed.push(member);
            }
        }
        Ok(Claim {
            now_ms: header(now)?,
            expired_leases: header(expired)? as u64,
            next_due_ms: optional(header(next_due)?),
            next_lease_ms: optional(header(next_lease)?),
            pending: header(pending)? as u64,
            in_flight: header(in_flight)? as u64,
            members: claimed,
        })
    }

    async fn fire(&self, member: &Member) -> Result<Fire, StoreError> {
        let mut conn = self.conn.get()?;
        let reply: Vec<Value> = FIRE
            .key(self.keys.status(&member.app, member.id))
            .key(self.keys.schedule_entry(&member.app, member.id))
            .key(self.keys.schedule_envelope(&member.app, member.id))
            .invoke_async(&mut conn)
            .await?;
        match reply.as_slice() {
            [code] if int(code) == Some(-1) => Ok(Fire::Gone),
            [code, due] if int(code) == Some(-2) => Ok(Fire::NotDue(
                int(due).ok_or_else(|| unexpected("fire", due))?,
            )),
            [occurrence, envelope, due, skipped] => Ok(Fire::Now {
                occurrence: int(occurrence).ok_or_else(|| unexpected("fire", occurrence))? as u64,
                envelope: redis::from_redis_value(envelope.clone())
                    .map_err(|_| unexpected("fire", envelope))?,
                due_ms: int(due).ok_or_else(|| unexpected("fire", due))?,
                skipped: int(skipped).ok_or_else(|| unexpected("fire", skipped))? as u64,
            }),
            _ => Err(StoreError::Unexpected(format!("fire answered {reply:?}"))),
        }
    }

    async fn commit(
        &self,
        member: &Member,
        occurrence: u64,
        status_ttl: Duration,
    ) -> Result<Option<i64>, StoreError> {
        let mut conn = self.conn.get()?;
        let next: i64 = COMMIT
            .key(self.keys.status(&member.app, member.id))
            .key(self.keys.schedule_entry(&member.app, member.id))
            .key(self.keys.schedule_envelope(&member.app, member.id))
            .arg(occurrence)
            .arg(status_ttl.as_millis() as u64)
            .invoke_async(&mut conn)
            .await?;
        Ok((next >= 0).then_some(next))
    }

    async fn release(&self, released: &[(&Member, Option<i64>)]) -> Result<(), StoreError> {
        let mut by_shard: BTreeMap<u32, Vec<&(&Member, Option<i64>)>> = BTreeMap::new();
        for release in released {
            by_shard
                .entry(self.shard(release.0))
                .or_default()
                .push(release);
        }
        let mut conn = self.conn.get()?;
        for (shard, members) in by_shard {
            let mut invocation = RELEASE.key(self.keys.due(shard));
            invocation.key(self.keys.lease(shard));
            for (member, next_due_ms) in members {
                invocation
                    .arg(member.encode())
                    .arg(next_due_ms.unwrap_or(-1));
            }
            let _: i64 = invocation.invoke_async(&mut conn).await?;
        }
        Ok(())
    }
}
