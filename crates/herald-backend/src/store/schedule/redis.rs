//! The schedule in Redis: entries beside their status records, due and lease sets per shard, all
//! of a shard's keys in its hash slot.

use async_trait::async_trait;
use redis::{AsyncCommands, Script, Value};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use super::{shard_of, Claim, Fire, Member, NewEntry, Published, ScheduleStore, Wakeups};
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

/// A wake-up signal, `<shard> <due ms>`.
fn parse_wake(payload: &[u8]) -> Option<(u32, i64)> {
    let (shard, due) = std::str::from_utf8(payload).ok()?.split_once(' ')?;
    Some((shard.parse().ok()?, due.parse().ok()?))
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
        let shard = self.shard(member);
        let first_at_ms = entry.schedule.first_at_ms().ok_or_else(|| {
            StoreError::Unexpected("an immediate message has no place in the schedule".into())
        })?;
        let due: i64 = STORE
            .key(self.keys.status(&member.app, member.id))
            .key(self.keys.schedule_entry(&member.app, member.id))
            .key(self.keys.schedule_envelope(&member.app, member.id))
            .arg(entry.envelope)
            .arg(first_at_ms)
            .arg(entry.schedule.every_seconds())
            .arg(entry.schedule.expires_at_ms().unwrap_or(0))
            .arg(entry.ttl.as_millis() as u64)
            .invoke_async(&mut conn)
            .await?;
        if due < 0 {
            return Ok(None);
        }
        // Indexed after the entry exists; a crash in between is mended by the redelivery, which
        // finds the entry and indexes it again (ZADD is idempotent).
        let _: i64 = conn
            .zadd(self.keys.due(shard), member.encode(), due)
            .await?;
        // Every scheduler looks at this shard again: the entry may be due before any it knew of.
        let _: i64 = conn
            .publish(self.keys.wake(), format!("{shard} {due}"))
            .await?;
        Ok(Some(due))
    }

    fn wakeups(&self, shutdown: tokio_util::sync::CancellationToken) -> Arc<Wakeups> {
        let wakeups = Arc::new(Wakeups::default());
        let signals = wakeups.clone();
        self.conn
            .subscribe(self.keys.wake(), shutdown, move |payload| {
                match payload.and_then(parse_wake) {
                    Some((shard, due)) => signals.shard(shard, due),
                    // A (re)subscription, or a signal of a build that did not name the shard.
                    None => signals.every_shard(),
                }
            });
        wakeups
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
        let now_us = header(now)?;
        Ok(Claim {
            now_ms: now_us / 1000,
            now_us,
            expired_leases: header(expired)? as u64,
            next_due_ms: optional(header(next_due)?),
            next_lease_ms: optional(header(next_lease)?),
            pending: header(pending)? as u64,
            in_flight: header(in_flight)? as u64,
            members: claimed,
        })
    }

    async fn fire(&self, shard: u32, members: &[Member]) -> Result<Vec<Fire>, StoreError> {
        if members.is_empty() {
            return Ok(Vec::new());
        }
        let mut invocation = FIRE.key(self.keys.due(shard));
        invocation.key(self.keys.lease(shard));
        for member in members {
            invocation
                .key(self.keys.status(&member.app, member.id))
                .key(self.keys.schedule_entry(&member.app, member.id))
                .key(self.keys.schedule_envelope(&member.app, member.id))
                .arg(member.encode());
        }
        let mut conn = self.conn.get()?;
        let replies: Vec<Vec<Value>> = invocation.invoke_async(&mut conn).await?;
        if replies.len() != members.len() {
            return Err(StoreError::Unexpected(format!(
                "fire answered {} of {} entries",
                replies.len(),
                members.len()
            )));
        }
        replies.iter().map(|r| fired(r)).collect()
    }

    async fn commit(
        &self,
        shard: u32,
        published: &[Published<'_>],
        status_ttl: Duration,
    ) -> Result<Vec<Option<i64>>, StoreError> {
        let (repeating, one_shot): (Vec<&Published>, Vec<&Published>) =
            published.iter().partition(|p| p.repeating);
        let mut conn = self.conn.get()?;
        if !one_shot.is_empty() {
            // A one-shot message's last step needs no script: its occurrence was counted when it
            // fired (schedule_fire.lua), so its entry and envelope go and its claim ends, in one
            // transaction (one hash slot). A second commit of it deletes nothing and counts
            // nothing, and it writes no status record that may have expired meanwhile.
            let mut pipe = redis::pipe();
            pipe.atomic();
            let mut gone = Vec::with_capacity(one_shot.len() * 2);
            let mut ended = Vec::with_capacity(one_shot.len());
            for p in &one_shot {
                let (app, id) = (&p.member.app, p.member.id);
                gone.push(self.keys.schedule_entry(app, id));
                gone.push(self.keys.schedule_envelope(app, id));
                ended.push(p.member.encode());
            }
            pipe.del(gone).ignore();
            pipe.zrem(self.keys.lease(shard), ended).ignore();
            let () = pipe.query_async(&mut conn).await?;
        }
        let mut nexts = std::collections::HashMap::new();
        if !repeating.is_empty() {
            let mut invocation = COMMIT.key(self.keys.due(shard));
            invocation
                .key(self.keys.lease(shard))
                .arg(status_ttl.as_millis() as u64);
            for p in &repeating {
                invocation
                    .key(self.keys.status(&p.member.app, p.member.id))
                    .key(self.keys.schedule_entry(&p.member.app, p.member.id))
                    .key(self.keys.schedule_envelope(&p.member.app, p.member.id))
                    .arg(p.member.encode())
                    .arg(p.occurrence);
            }
            let answered: Vec<i64> = invocation.invoke_async(&mut conn).await?;
            if answered.len() != repeating.len() {
                return Err(StoreError::Unexpected(format!(
                    "commit answered {} of {} entries",
                    answered.len(),
                    repeating.len()
                )));
            }
            for (p, next) in repeating.iter().zip(answered) {
                nexts.insert(p.member, (next >= 0).then_some(next));
            }
        }
        Ok(published
            .iter()
            .map(|p| nexts.get(p.member).copied().flatten())
            .collect())
    }
}

/// One entry's answer from `schedule_fire.lua`.
fn fired(reply: &[Value]) -> Result<Fire, StoreError> {
    match reply {
        [code] if int(code) == Some(-1) => Ok(Fire::Gone),
        [code, due] if int(code) == Some(-2) => Ok(Fire::NotDue(
            int(due).ok_or_else(|| unexpected("fire", due))?,
        )),
        [occurrence, due, skipped, every, envelope] => Ok(Fire::Now {
            occurrence: int(occurrence).ok_or_else(|| unexpected("fire", occurrence))? as u64,
            envelope: match envelope {
                Value::BulkString(bytes) => {
                    String::from_utf8(bytes.clone()).map_err(|_| unexpected("fire", envelope))?
                }
                other => return Err(unexpected("fire", other)),
            },
            due_ms: int(due).ok_or_else(|| unexpected("fire", due))?,
            skipped: int(skipped).ok_or_else(|| unexpected("fire", skipped))? as u64,
            repeating: int(every).ok_or_else(|| unexpected("fire", every))? > 0,
        }),
        _ => Err(StoreError::Unexpected(format!("fire answered {reply:?}"))),
    }
}
