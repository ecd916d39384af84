//! The live metrics, recorded by the hub and the transports. Labels are transports and outcomes,
//! never channels or subscribers.

use prometheus::{
    Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry,
};

use crate::sink::Transport;

/// Every transport, in the order of [`Transport`]'s discriminants.
pub(crate) const TRANSPORTS: [Transport; 3] =
    [Transport::Sse, Transport::WebSocket, Transport::Realtime];

/// What the hub and the transports count.
#[derive(Clone)]
pub struct LiveMetrics {
    /// Messages offered to live subscriptions, by transport and outcome (delivered, filtered by
    /// the selector, dropped with a subscriber cut off for being slow).
    pub deliveries: IntCounterVec,
    pub connections: IntGaugeVec,
    pub slow_disconnects: IntCounterVec,
    /// Selector evaluation time, per evaluation (averaged over one message's subscribers).
    pub selector_seconds: Histogram,
    /// From the message's publication (or due time) to its hand-off to this node's subscribers.
    pub end_to_end_seconds: Histogram,
    /// Second copies of an occurrence dropped by this node.
    pub duplicates: IntCounter,
}

impl LiveMetrics {
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let deliveries = IntCounterVec::new(
            Opts::new(
                "herald_live_deliveries_total",
                "Messages offered to live subscriptions by transport and outcome",
            ),
            &["transport", "outcome"],
        )?;
        let connections = IntGaugeVec::new(
            Opts::new(
                "herald_live_connections",
                "Open live connections by transport",
            ),
            &["transport"],
        )?;
        let slow_disconnects = IntCounterVec::new(
            Opts::new(
                "herald_live_slow_disconnects_total",
                "Live connections cut off because their buffer was full, by transport",
            ),
            &["transport"],
        )?;
        let selector_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "herald_live_selector_seconds",
                "Time to evaluate one selector against one message",
            )
            .buckets(vec![
                25e-9, 50e-9, 100e-9, 250e-9, 500e-9, 1e-6, 5e-6, 25e-6,
            ]),
        )?;
        let end_to_end_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "herald_live_end_to_end_seconds",
                "Time from publication (or due time) to this node taking the message for its live subscribers",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ]),
        )?;
        let duplicates = IntCounter::new(
            "herald_live_duplicates_total",
            "Second copies of an occurrence dropped by a live node",
        )?;
        registry.register(Box::new(deliveries.clone()))?;
        registry.register(Box::new(connections.clone()))?;
        registry.register(Box::new(slow_disconnects.clone()))?;
        registry.register(Box::new(selector_seconds.clone()))?;
        registry.register(Box::new(end_to_end_seconds.clone()))?;
        registry.register(Box::new(duplicates.clone()))?;
        Ok(Self {
            deliveries,
            connections,
            slow_disconnects,
            selector_seconds,
            end_to_end_seconds,
            duplicates,
        })
    }
}

/// The delivery counters resolved once, per transport: delivered, filtered, dropped (the
/// fan-out adds to them for every offer, too often to look labels up each time).
pub(crate) struct DeliveryCounters([[IntCounter; 3]; 3]);

impl DeliveryCounters {
    pub(crate) fn new(metrics: &LiveMetrics) -> Self {
        let of = |transport: Transport| {
            ["delivered", "filtered", "dropped_slow"].map(|outcome| {
                metrics
                    .deliveries
                    .with_label_values(&[transport.as_str(), outcome])
            })
        };
        Self(TRANSPORTS.map(of))
    }

    /// Adds one offer's counts of `transport`: delivered, filtered, dropped.
    pub(crate) fn add(&self, transport: Transport, counts: [u64; 3]) {
        let row = &self.0[transport as usize];
        for (counter, n) in row.iter().zip(counts) {
            if n > 0 {
                counter.inc_by(n);
            }
        }
    }
}
