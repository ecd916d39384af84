//! The memory store's status records, with the same transitions and TTLs as the Redis scripts
//! (`status_*.lua`).

use async_trait::async_trait;
use herald_core::status::{DeliveryKind, MessageStatus, StatusRecord};
use herald_core::MessageId;
use std::time::Duration;

use super::state::{deadline, MemoryStore, StatusEntry};
use crate::error::StoreError;
use crate::store::status::{Finished, Outcome, StatusStore};

#[async_trait]
impl StatusStore for MemoryStore {
    async fn create(
        &self,
        app: &str,
        id: MessageId,
        channel: &str,
        kind: DeliveryKind,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        self.with(|state, now| {
            let entry = StatusEntry {
                record: StatusRecord {
                    status: MessageStatus::Scheduled,
                    error_message: None,
                    occurrences: None,
                    channel: Some(channel.to_string()),
                },
                kind,
                expires_ms: deadline(now, ttl),
            };
            state.insert_status(app, id, entry);
        });
        Ok(())
    }

    async fn discard(&self, app: &str, id: MessageId) -> Result<(), StoreError> {
        self.with(|state, _| state.remove_status(app, id));
        Ok(())
    }

    async fn get(&self, app: &str, id: MessageId) -> Result<Option<StatusRecord>, StoreError> {
        Ok(self.with(|state, now| state.live(app, id, now).map(|e| e.record.clone())))
    }

    async fn finish(
        &self,
        app: &str,
        id: MessageId,
        outcome: Outcome,
    ) -> Result<Finished, StoreError> {
        let ttl = self.ttl;
        Ok(self.with(|state, now| match state.live(app, id, now) {
            None => Finished::Missing,
            Some(e) if e.record.status != MessageStatus::Scheduled => Finished::AlreadyFinal,
            Some(e) => {
                e.record = match outcome {
                    Outcome::Published => StatusRecord {
                        status: MessageStatus::Published,
                        error_message: None,
                        occurrences: e.record.occurrences,
                        channel: e.record.channel.take(),
                    },
                    Outcome::Failed(reason) => StatusRecord {
                        status: MessageStatus::Failed,
                        error_message: Some(reason),
                        occurrences: e.record.occurrences,
                        channel: e.record.channel.take(),
                    },
                };
                e.expires_ms = deadline(now, ttl);
                Finished::Changed
            }
        }))
    }

    async fn cancel(&self, app: &str, id: MessageId) -> Result<bool, StoreError> {
        let ttl = self.ttl;
        Ok(self.with(|state, now| {
            let cancelled = match state.live(app, id, now) {
                Some(e)
                    if e.record.status == MessageStatus::Scheduled
                        && e.kind == DeliveryKind::Deferred =>
                {
                    e.record.status = MessageStatus::Cancelled;
                    e.expires_ms = deadline(now, ttl);
                    true
                }
                _ => false,
            };
            if cancelled {
                state.remove_entry(app, id);
            }
            cancelled
        }))
    }
}
