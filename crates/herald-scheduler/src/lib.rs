//! The scheduler role: delayed and repeating delivery.
//!
//! [`intake`] consumes the schedule route and stores each deferred message in the schedule
//! (Redis, or memory in standalone), acknowledging it once stored; [`firing`] claims due entries
//! under a lease and fires them; [`publishing`] publishes the due occurrences to the dispatch
//! route in batches with the broker's confirm and commits them (a one-shot message is done, a
//! repeating one gets its next occurrence, anchored to the first), ending their claims. Cancel and fire go through the same atomic step, and every
//! occurrence carries its number, so the dispatcher drops a duplicate.

pub mod clocks;
pub mod firing;
pub mod intake;
pub mod metrics;
pub mod publishing;
pub mod settings;

pub use metrics::SchedulerMetrics;
pub use settings::SchedulerSettings;

use herald_backend::Backends;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The scheduler role.
pub struct Scheduler {
    pub backends: Backends,
    pub metrics: SchedulerMetrics,
    pub prefetch: u16,
    pub batch: usize,
    pub lease: Duration,
    pub status_ttl: Duration,
}

impl Scheduler {
    /// Runs intake and firing until `shutdown`; intake then gets `drain` to settle its deliveries.
    pub async fn run(self, shutdown: CancellationToken, drain: Duration) {
        let intake = tokio::spawn(intake::run(
            self.backends.clone(),
            self.prefetch,
            self.status_ttl,
            shutdown.clone(),
            drain,
        ));
        let wakeups = self.backends.schedule.wakeups(shutdown.clone());
        let firing = firing::Firing {
            publisher: publishing::Publisher::new(
                self.backends.clone(),
                self.metrics.clone(),
                self.status_ttl,
                wakeups.clone(),
            ),
            wakeups,
            backends: self.backends,
            metrics: self.metrics,
            batch: self.batch,
            lease: self.lease,
        };
        firing.run(shutdown).await;
        // A panic in intake is the scheduler's: it goes on to whoever runs the scheduler, which
        // reports it and stops the process.
        if let Err(err) = intake.await {
            if let Ok(panic) = err.try_into_panic() {
                std::panic::resume_unwind(panic);
            }
        }
    }
}
