//! Metrics of the backends, registered in the registry of the role that uses them.

use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry};
use std::time::Duration;

use crate::error::QueueError;
use crate::queue::Route;

pub use crate::queue::settle_metrics::SettleMetrics;

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
            Err(QueueError::Protocol(_) | QueueError::Unserializable(_)) => "error",
        };
        self.publishes
            .with_label_values(&[route.as_str(), outcome])
            .inc();
        if result.is_ok() {
            self.confirm_seconds.observe(elapsed.as_secs_f64());
        }
    }
}
