//! Status records in process memory, with the same transitions and TTLs as the Redis store.

use async_trait::async_trait;
use herald_core::status::{DeliveryKind, MessageStatus, StatusRecord};
use herald_core::MessageId;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{Finished, Outcome, StatusStore};
use crate::error::StoreError;

/// Expired records are swept at most this often, so memory stays bounded by about one TTL of
/// records without a scan on every call.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

pub(crate) struct Entry {
    pub(crate) record: StatusRecord,
    pub(crate) kind: DeliveryKind,
    pub(crate) expires: Instant,
}

#[derive(Default)]
pub(crate) struct Entries {
    map: HashMap<(String, MessageId), Entry>,
    last_sweep: Option<Instant>,
    /// The schedule entries of deferred messages, under the same lock as their statuses so
    /// cancel and fire have exactly one winner (as the Redis scripts have).
    pub(crate) schedule: crate::store::schedule::memory::ScheduleState,
}

impl Entries {
    /// The record of `id` if it has not expired.
    pub(crate) fn live(&mut self, app: &str, id: MessageId) -> Option<&mut Entry> {
        let now = Instant::now();
        let key = (app.to_string(), id);
        if self.map.get(&key).is_some_and(|e| e.expires <= now) {
            self.map.remove(&key);
        }
        self.map.get_mut(&key)
    }
}

/// An in-memory [`StatusStore`].
pub struct MemoryStatusStore {
    entries: Mutex<Entries>,
    ttl: Duration,
}

impl MemoryStatusStore {
    pub fn new(ttl: Duration) -> Self {
        Self {
            entries: Mutex::default(),
            ttl,
        }
    }

    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut Entries) -> R) -> R {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if entries
            .last_sweep
            .is_none_or(|at| now.duration_since(at) >= SWEEP_EVERY)
        {
            entries.map.retain(|_, e| e.expires > now);
            entries.last_sweep = Some(now);
        }
        f(&mut entries)
    }
}

#[async_trait]
impl StatusStore for MemoryStatusStore {
    async fn create(
        &self,
        app: &str,
        id: MessageId,
        kind: DeliveryKind,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let entry = Entry {
            record: StatusRecord {
                status: MessageStatus::Scheduled,
                error_message: None,
                occurrences: None,
            },
            kind,
            expires: Instant::now() + ttl,
        };
        self.with(|e| e.map.insert((app.to_string(), id), entry));
        Ok(())
    }

    async fn discard(&self, app: &str, id: MessageId) -> Result<(), StoreError> {
        self.with(|e| e.map.remove(&(app.to_string(), id)));
        Ok(())
    }

    async fn get(&self, app: &str, id: MessageId) -> Result<Option<StatusRecord>, StoreError> {
        Ok(self.with(|e| e.live(app, id).map(|e| e.record.clone())))
    }

    async fn finish(
        &self,
        app: &str,
        id: MessageId,
        outcome: Outcome,
    ) -> Result<Finished, StoreError> {
        let ttl = self.ttl;
        Ok(self.with(|e| match e.live(app, id) {
            None => Finished::Missing,
            Some(e) if e.record.status != MessageStatus::Scheduled => Finished::AlreadyFinal,
            Some(e) => {
                e.record = match outcome {
                    Outcome::Published => StatusRecord {
                        status: MessageStatus::Published,
                        error_message: None,
                        occurrences: e.record.occurrences,
                    },
                    Outcome::Failed(reason) => StatusRecord {
                        status: MessageStatus::Failed,
                        error_message: Some(reason),
                        occurrences: e.record.occurrences,
                    },
                };
                e.expires = Instant::now() + ttl;
                Finished::Changed
            }
        }))
    }

    async fn cancel(&self, app: &str, id: MessageId) -> Result<bool, StoreError> {
        let ttl = self.ttl;
        Ok(self.with(|entries| {
            let cancelled = match entries.live(app, id) {
                Some(e)
                    if e.record.status == MessageStatus::Scheduled
                        && e.kind == DeliveryKind::Deferred =>
                {
                    e.record.status = MessageStatus::Cancelled;
                    e.expires = Instant::now() + ttl;
                    true
                }
                _ => false,
            };
            if cancelled {
                entries.schedule.remove(app, id);
            }
            cancelled
        }))
    }
}
