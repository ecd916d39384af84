//! What the queues count of settling deliveries: a settle that fails is logged and counted here,
//! so no caller of [`Delivery`](super::Delivery) can drop one.

use prometheus::{IntCounterVec, Opts, Registry};

use crate::error::QueueError;

/// Failures to settle a delivery (ack, requeue, dead-letter), by operation, on either queue.
#[derive(Clone)]
pub struct SettleMetrics {
    failures: IntCounterVec,
}

impl SettleMetrics {
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let metrics = Self::unregistered()?;
        registry.register(Box::new(metrics.failures.clone()))?;
        Ok(metrics)
    }

    /// Counters no registry exports (for queues built outside a role, as in unit tests).
    pub fn unregistered() -> prometheus::Result<Self> {
        let failures = IntCounterVec::new(
            Opts::new(
                "herald_queue_settle_failures_total",
                "Deliveries whose ack, requeue or dead-letter failed, by operation (the broker redelivers them)",
            ),
            &["operation"],
        )?;
        Ok(Self { failures })
    }

    /// Logs and counts a failed settle; `operation` is one of `ack`, `requeue`, `dead_letter`.
    pub(crate) fn observe(&self, operation: &'static str, result: Result<(), QueueError>) {
        if let Err(err) = result {
            tracing::warn!(operation, error = %err, "cannot settle a delivery, the broker will redeliver it");
            self.failures.with_label_values(&[operation]).inc();
        }
    }

    #[cfg(test)]
    pub(crate) fn failures(&self, operation: &str) -> u64 {
        self.failures.with_label_values(&[operation]).get()
    }
}
