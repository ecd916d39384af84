//! The schedule of deferred messages: one entry per message (its envelope and the state of its
//! occurrences, beside its status record), indexed by due time in sharded sets. A scheduler
//! claims a batch of a shard's due entries under a lease, fires them (the one step cancel also
//! goes through), publishes them, and commits them, which puts each back at its next due time.
//! Each step is one call for the whole batch: a message's keys share its shard's hash tag. See
//! `src/lua/schedule_*.lua`.

mod redis;
mod wakeups;

pub use redis::RedisScheduleStore;
pub use wakeups::{Wakeups, Woken};

use async_trait::async_trait;
use herald_core::MessageId;
use std::sync::Arc;
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
    /// The message's envelope in its stored form (`herald_core::stored_envelope`): the store
    /// keeps it as it is and gives it back when an occurrence fires.
    pub envelope: &'a str,
    /// When its occurrences are due (`herald_core::schedule`, the one model of the time rules);
    /// a deferred schedule, never [`Schedule::Immediate`](herald_core::schedule::Schedule).
    pub schedule: herald_core::schedule::Schedule,
    pub ttl: Duration,
}

/// What a claim took from one shard.
#[derive(Debug, Clone, Default)]
pub struct Claim {
    /// Redis's clock when it claimed, ms.
    pub now_ms: i64,
    /// The same instant, µs (to follow Redis's clock closely between claims).
    pub now_us: i64,
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
        /// The envelope as it was stored.
        envelope: String,
        due_ms: i64,
        /// Occurrences skipped now because they were missed while no scheduler ran.
        skipped: u64,
        /// Whether the message repeats (it stays cancellable, and commits schedule its next
        /// occurrence).
        repeating: bool,
    },
}

/// An occurrence the broker confirmed, to commit.
#[derive(Debug, Clone, Copy)]
pub struct Published<'a> {
    pub member: &'a Member,
    pub occurrence: u64,
    pub repeating: bool,
}

/// The schedule.
#[async_trait]
pub trait ScheduleStore: Send + Sync + 'static {
    /// How many shards the index has.
    fn shards(&self) -> u32;
    /// Takes a message into the schedule (idempotent) and announces it to every scheduler; its
    /// next due time, or `None` when it was dropped (cancelled before it got here).
    async fn store(&self, entry: NewEntry<'_>) -> Result<Option<i64>, StoreError>;
    /// Signals each entry stored, by any scheduler, with its shard and due time (and every shard
    /// after a reconnection, when signals may have been missed), until `shutdown`.
    fn wakeups(&self, shutdown: tokio_util::sync::CancellationToken) -> Arc<Wakeups>;
    /// Claims up to `batch` due entries of `shard` for `lease`.
    async fn claim(&self, shard: u32, batch: usize, lease: Duration) -> Result<Claim, StoreError>;
    /// Decides for each member of one claim of `shard` (in order) whether it fires now. A member
    /// that does not ([`Fire::Gone`], [`Fire::NotDue`]) ends its claim here; one that fires stays
    /// claimed until [`ScheduleStore::commit`] (or, if that never comes, its lease expires).
    async fn fire(&self, shard: u32, members: &[Member]) -> Result<Vec<Fire>, StoreError>;
    /// Records occurrences of `shard` as published, and ends their claims; for each (in order)
    /// the due time of its message's next occurrence, if any.
    async fn commit(
        &self,
        shard: u32,
        published: &[Published<'_>],
        status_ttl: Duration,
    ) -> Result<Vec<Option<i64>>, StoreError>;
}

/// The shard of a message: spread by its UUID, fixed for a deployment's shard count.
pub fn shard_of(id: MessageId, shards: u32) -> u32 {
    (id.as_u128() % shards as u128) as u32
}
