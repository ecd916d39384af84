//! Metrics of the scheduler.

use prometheus::{Gauge, Histogram, HistogramOpts, IntCounter, IntGauge, Registry};

#[derive(Clone)]
pub struct SchedulerMetrics {
    pub(crate) fired: IntCounter,
    pub(crate) skipped: IntCounter,
    pub(crate) expired_leases: IntCounter,
    pub(crate) publish_failures: IntCounter,
    pub(crate) commit_failures: IntCounter,
    pub(crate) lateness_seconds: Histogram,
    pub(crate) pending: IntGauge,
    pub(crate) in_flight: IntGauge,
    pub(crate) oldest_overdue_seconds: Gauge,
    pub(crate) clock_skew_seconds: Gauge,
}

impl SchedulerMetrics {
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let fired = IntCounter::new(
            "herald_scheduler_fired_total",
            "Occurrences published to the dispatch route",
        )?;
        let skipped = IntCounter::new(
            "herald_scheduler_skipped_total",
            "Occurrences of repeating messages skipped because they were missed while no scheduler ran",
        )?;
        let expired_leases = IntCounter::new(
            "herald_scheduler_expired_leases_total",
            "Claims taken back after their scheduler held them past the lease",
        )?;
        let publish_failures = IntCounter::new(
            "herald_scheduler_publish_failures_total",
            "Batches of fired occurrences the dispatch route did not take (they fire again after the lease)",
        )?;
        let commit_failures = IntCounter::new(
            "herald_scheduler_commit_failures_total",
            "Published occurrences whose commit failed (they fire again after the lease and are dropped as duplicates)",
        )?;
        let lateness_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "herald_scheduler_lateness_seconds",
                "Fire time minus due time (Redis clock)",
            )
            .buckets(vec![
                0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0,
            ]),
        )?;
        let pending = IntGauge::new(
            "herald_scheduler_pending",
            "Entries waiting for their time, all shards (as of each shard's last claim)",
        )?;
        let in_flight = IntGauge::new(
            "herald_scheduler_in_flight",
            "Entries claimed by a scheduler, all shards (as of each shard's last claim)",
        )?;
        let oldest_overdue_seconds = Gauge::new(
            "herald_scheduler_oldest_overdue_seconds",
            "How long the most overdue unclaimed entry has been due (0 when none is)",
        )?;
        let clock_skew_seconds = Gauge::new(
            "herald_scheduler_clock_skew_seconds",
            "Redis's clock minus this node's: the largest offset the claims of the last 10 s showed (short by at most a round trip)",
        )?;
        for gauge in [&pending, &in_flight] {
            registry.register(Box::new(gauge.clone()))?;
        }
        registry.register(Box::new(oldest_overdue_seconds.clone()))?;
        registry.register(Box::new(clock_skew_seconds.clone()))?;
        registry.register(Box::new(fired.clone()))?;
        registry.register(Box::new(skipped.clone()))?;
        registry.register(Box::new(expired_leases.clone()))?;
        registry.register(Box::new(publish_failures.clone()))?;
        registry.register(Box::new(commit_failures.clone()))?;
        registry.register(Box::new(lateness_seconds.clone()))?;
        Ok(Self {
            fired,
            skipped,
            expired_leases,
            publish_failures,
            commit_failures,
            lateness_seconds,
            pending,
            in_flight,
            oldest_overdue_seconds,
            clock_skew_seconds,
        })
    }
}
