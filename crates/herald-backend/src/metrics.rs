//! Metrics of the backends, registered in the registry of the role that uses them.

use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry};
use std::time::Duration;

use crate::error::QueueError;
use crate::queue::Route;

/// RabbitMQ publishing and connection metrics.
#[derive(Clone)]
pub struct QueueMetrics {
    publishes: IntCounterVec,
    confirm_seconds: Histogram,
    pub(crate) connections: IntCounter,
    pub(crate) connected: IntGauge,
}

impl QueueMetrics {
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let publishes = IntCounterVec::new(
            Opts::new(
                "herald_amqp_publishes_total",
                "Publishes to RabbitMQ by route and outcome",
            ),
            &["route", "outcome"],
        )?;
        let confirm_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "herald_amqp_confirm_seconds",
                "Time from publish to the broker's confirm",
            )
            .buckets(vec![
                0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0, 5.0,
            ]),
        )?;
        let connections = IntCounter::new(
            "herald_amqp_connections_total",
            "RabbitMQ connections established",
        )?;
        let connected = IntGauge::new("herald_amqp_connected", "1 while connected to RabbitMQ")?;
        registry.register(Box::new(publishes.clone()))?;
        registry.register(Box::new(confirm_seconds.clone()))?;
        registry.register(Box::new(connections.clone()))?;
        registry.register(Box::new(connected.clone()))?;
        Ok(Self {
            publishes,
            confirm_seconds,
            connections,
            connected,
        })
    }

    pub(crate) fn observe_publish(
        &self,
        route: Route,
        result: &Result<(), QueueError>,
        elapsed: Duration,
    ) {
        let outcome = match result {
            Ok(()) => "confirmed",
            Err(QueueError::Unavailable) => "unavailable",
            Err(QueueError::ConfirmTimeout) => "timeout",
            Err(QueueError::Nacked) => "nacked",
            Err(QueueError::Unroutable(_)) => "unroutable",
            Err(QueueError::Protocol(_)) => "error",
        };
        self.publishes
            .with_label_values(&[route.as_str(), outcome])
            .inc();
        if result.is_ok() {
            self.confirm_seconds.observe(elapsed.as_secs_f64());
        }
    }
}

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
