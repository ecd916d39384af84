//! Status records, per application: what `GET .../messaging/<messageId>` reports, and the transitions that change
//! it. Every transition is conditional on the current status, so the order in which a redelivery,
//! a cancel and a publish arrive cannot move a record backwards.

mod redis;

pub use redis::RedisStatusStore;

use async_trait::async_trait;
use herald_core::status::{DeliveryKind, StatusRecord};
use herald_core::MessageId;
use std::time::Duration;

use crate::error::StoreError;

/// How a scheduled message ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Published,
    Failed(String),
}

/// What a finish transition did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finished {
    /// The record moved from scheduled to the outcome.
    Changed,
    /// The record was already final (a redelivery, or cancelled first): left as it was.
    AlreadyFinal,
    /// No record (expired, or never written).
    Missing,
}

/// Status records with a time to live.
#[async_trait]
pub trait StatusStore: Send + Sync + 'static {
    /// Records a newly accepted message to `channel` as scheduled, kept for `ttl`. The record
    /// keeps `channel` through every transition: it decides who may read or cancel the message.
    async fn create(
        &self,
        app: &str,
        id: MessageId,
        channel: &str,
        kind: DeliveryKind,
        ttl: Duration,
    ) -> Result<(), StoreError>;
    /// Removes the record of a message the queue refused (its id was never handed out).
    async fn discard(&self, app: &str, id: MessageId) -> Result<(), StoreError>;
    async fn get(&self, app: &str, id: MessageId) -> Result<Option<StatusRecord>, StoreError>;
    /// Moves a scheduled message to its outcome.
    async fn finish(
        &self,
        app: &str,
        id: MessageId,
        outcome: Outcome,
    ) -> Result<Finished, StoreError>;
    /// Cancels a deferred message that is still scheduled; false when there is nothing to cancel.
    async fn cancel(&self, app: &str, id: MessageId) -> Result<bool, StoreError>;
}
