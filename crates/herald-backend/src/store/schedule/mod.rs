//! The schedule of deferred messages: one entry per message (its envelope and the state of its
//! occurrences, beside its status record), indexed by due time in sharded sets. A scheduler
//! claims due entries under a lease, fires them (the one step cancel also goes through), publishes
//! them, commits, and releases them to their next due time. See `src/lua/schedule_*.lua`.

pub(crate) mod memory;
mod redis;

pub use memory::MemoryScheduleStore;
pub use redis::RedisScheduleStore;

use async_trait::async_trait;
use herald_core::MessageId;
use std::time::Duration;

use crate::error::StoreError;

/// A message in the schedule, as the shard sets name it: `<app>/<messageId>` (app ids hold no `/`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Member {
    pub app: String,
    pub id: MessageId,
}

impl Member {
    pub fn encode(&self) -> String {
        format!("{}/{}", self.app, self.id)
    }

    pub fn decode(text: &str) -> Option<Self> {
        let (app, id) = text.rsplit_once('/')?;
        Some(Self {
            app: app.to_string(),
            id: MessageId::parse(id)?,
        })
    }
}

/// A deferred message taken into the schedule.
pub struct NewEntry<'a> {
    pub member: &'a Member,
    /// The envelope of occurrence 0, JSON.
    pub envelope: &'a str,
    pub first_at_ms: i64,
    /// 0 for a one-shot message.
    pub every_seconds: u64,
    /// 0 when it repeats until cancelled.
    pub expires_at_ms: i64,
    pub ttl: Duration,
}

/// What a claim took from one shard.
#[derive(Debug, Clone, Default)]
pub struct Claim {
    /// Redis's clock when it claimed.
    pub now_ms: i64,
    /// Entries whose lease had expired (a scheduler died mid-batch), now due again.
    pub expired_leases: u64,
    /// The earliest due time left in the shard.
    pub next_due_ms: Option<i64>,
    /// The earliest lease deadline in the shard.
    pub next_lease_ms: Option<i64>,
    /// Entries of the shard waiting for their time (after this claim).
    pub pending: u64,
    /// Entries of the shard claimed by a scheduler, this claim's included.
    pub in_flight: u64,
    pub members: Vec<Member>,
}

/// Whether a claimed entry fires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fire {
    /// Cancelled or finished: drop the claim.
    Gone,
    /// Its next occurrence is due at this time.
    NotDue(i64),
    /// Publish this occurrence now.
    Now {
        occurrence: u64,
        envelope: String,
        due_ms: i64,
        /// Occurrences skipped now because they were missed while no scheduler ran.
        skipped: u64,
    },
}

/// The schedule.
#[async_trait]
pub trait ScheduleStore: Send + Sync + 'static {
    /// How many shards the index has.
    fn shards(&self) -> u32;
    /// Takes a message into the schedule (idempotent) and announces it to every scheduler; its
    /// next due time, or `None` when it was dropped (cancelled before it got here).
    async fn store(&self, entry: NewEntry<'_>) -> Result<Option<i64>, StoreError>;
    /// Signals each time an entry is stored, by any scheduler (and after a reconnection, when
    /// signals may have been missed), until `shutdown`.
    fn wakeups(&self, shutdown: tokio_util::sync::CancellationToken)
        -> async_channel::Receiver<()>;
    /// Claims up to `batch` due entries of `shard` for `lease`.
    async fn claim(&self, shard: u32, batch: usize, lease: Duration) -> Result<Claim, StoreError>;
    async fn fire(&self, member: &Member) -> Result<Fire, StoreError>;
    /// Records `occurrence` as published; the next occurrence's due time, if any.
    async fn commit(
        &self,
        member: &Member,
        occurrence: u64,
        status_ttl: Duration,
    ) -> Result<Option<i64>, StoreError>;
    /// Ends claims (typically a whole batch at once), putting each entry back at its next due
    /// time when it has one.
    async fn release(&self, released: &[(&Member, Option<i64>)]) -> Result<(), StoreError>;
}

/// The shard of a message: spread by its UUID, fixed for a deployment's shard count.
pub fn shard_of(id: MessageId, shards: u32) -> u32 {
    (id.as_u128() % shards as u128) as u32
}
