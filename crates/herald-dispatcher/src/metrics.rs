//! Metrics of the dispatcher.

use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, Opts, Registry};

#[derive(Clone)]
pub struct DispatcherMetrics {
    pub(crate) deliveries: IntCounterVec,
    pub(crate) handling_seconds: Histogram,
    pub(crate) end_to_end_seconds: Histogram,
    pub(crate) retries: IntCounter,
}

impl DispatcherMetrics {
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let deliveries = IntCounterVec::new(
            Opts::new(
                "herald_dispatcher_deliveries_total",
                "Envelopes handled by outcome: buffered, no_subscribers, duplicate, dead_lettered",
            ),
            &["outcome"],
        )?;
        let buckets = vec![
            0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0, 5.0,
        ];
        let handling_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "herald_dispatcher_delivery_seconds",
                "Time to handle one envelope, consume to ack",
            )
            .buckets(buckets.clone()),
        )?;
        let end_to_end_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "herald_dispatcher_end_to_end_seconds",
                "Time from ingest accepting a message to the dispatcher delivering it",
            )
            .buckets(buckets),
        )?;
        let retries = IntCounter::new(
            "herald_dispatcher_retries_total",
            "Envelope handlings retried because a store was unavailable",
        )?;
        registry.register(Box::new(deliveries.clone()))?;
        registry.register(Box::new(handling_seconds.clone()))?;
        registry.register(Box::new(end_to_end_seconds.clone()))?;
        registry.register(Box::new(retries.clone()))?;
        Ok(Self {
            deliveries,
            handling_seconds,
            end_to_end_seconds,
            retries,
        })
    }
}
