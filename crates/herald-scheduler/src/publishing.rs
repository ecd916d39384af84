//! Publishing fired occurrences: each batch goes to the dispatch route and, once the broker has
//! confirmed it, is committed. This runs in the background, so the firing loop claims the next
//! due entries while the broker confirms: a round's length, and so the lateness of what comes due
//! during it, does not include the confirm. At most [`MAX_IN_FLIGHT`] batches are in flight (the
//! loop waits for a free one). A batch that fails to publish or commit stays claimed: it fires
//! again after the lease, and the dispatcher drops its occurrences as duplicates.

use futures_util::future::join_all;
use herald_backend::queue::Route;
use herald_backend::store::schedule::{Member, Published, Wakeups};
use herald_backend::Backends;
use herald_core::batch;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::metrics::SchedulerMetrics;

/// Most batches published and not yet committed, per scheduler.
pub const MAX_IN_FLIGHT: usize = 32;

/// An occurrence fired and ready to publish.
pub struct Due {
    pub shard: u32,
    pub member: Member,
    pub occurrence: u64,
    pub repeating: bool,
    /// Its envelope, encoded.
    pub body: Vec<u8>,
    pub due_ms: i64,
    /// When it fired (Redis's clock): its lateness is this minus its due time.
    pub fired_at_ms: i64,
    pub skipped: u64,
}

impl AsRef<[u8]> for Due {
    fn as_ref(&self) -> &[u8] {
        &self.body
    }
}

/// The background publishing of one scheduler.
pub struct Publisher {
    backends: Backends,
    metrics: SchedulerMetrics,
    status_ttl: Duration,
    permits: Arc<Semaphore>,
    tasks: Mutex<JoinSet<()>>,
    /// Told the next occurrence each commit scheduled (of a repeating message), which the firing
    /// loop does not know of yet.
    wakeups: Arc<Wakeups>,
}

impl Publisher {
    pub fn new(
        backends: Backends,
        metrics: SchedulerMetrics,
        status_ttl: Duration,
        wakeups: Arc<Wakeups>,
    ) -> Self {
        Self {
            backends,
            metrics,
            status_ttl,
            permits: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
            tasks: Mutex::new(JoinSet::new()),
            wakeups,
        }
    }

    /// Starts publishing fired occurrences (of any shards), in batches; returns once each batch
    /// has a place among those in flight.
    pub async fn publish(&self, mut due: Vec<Due>) {
        let sizes: Vec<usize> = batch::chunk_by_size(&due).iter().map(|c| c.len()).collect();
        for size in sizes {
            let occurrences: Vec<Due> = due.drain(..size).collect();
            let Ok(permit) = self.permits.clone().acquire_owned().await else {
                return;
            };
            let (backends, metrics) = (self.backends.clone(), self.metrics.clone());
            let (status_ttl, wakeups) = (self.status_ttl, self.wakeups.clone());
            let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
            // Finished tasks leave the set here, so it holds only those in flight.
            while let Some(joined) = tasks.try_join_next() {
                surface_panic(joined);
            }
            tasks.spawn(async move {
                publish_and_commit(&backends, &metrics, &wakeups, &occurrences, status_ttl).await;
                drop(permit);
            });
        }
    }

    /// Waits for the batches in flight (at shutdown).
    pub async fn finish(&self) {
        let mut tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        while let Some(joined) = tasks.join_next().await {
            surface_panic(joined);
        }
    }
}

/// Re-raises a batch's panic in the firing loop, so the scheduler's supervisor reports it and
/// stops the process instead of the bug passing unseen.
fn surface_panic(joined: Result<(), tokio::task::JoinError>) {
    if let Err(err) = joined {
        if let Ok(panic) = err.try_into_panic() {
            tracing::error!("publishing a batch of fired occurrences panicked");
            std::panic::resume_unwind(panic);
        }
    }
}

/// Publishes one batch with the broker's confirm and commits it, shard by shard (a commit is
/// one step per shard); the next occurrences the commits scheduled go to `wakeups`.
async fn publish_and_commit(
    backends: &Backends,
    metrics: &SchedulerMetrics,
    wakeups: &Wakeups,
    occurrences: &[Due],
    status_ttl: Duration,
) {
    let body = batch::encode_batch(occurrences.iter().map(|d| d.body.as_slice()));
    if let Err(err) = backends.queue.publish(Route::Dispatch, body).await {
        tracing::warn!(error = %err, count = occurrences.len(), "publishing fired occurrences failed, retrying after the lease");
        metrics.publish_failures.inc();
        return;
    }
    for d in occurrences {
        metrics.fired.inc();
        metrics.skipped.inc_by(d.skipped);
        metrics
            .lateness_seconds
            .observe((d.fired_at_ms - d.due_ms).max(0) as f64 / 1000.0);
    }
    let mut by_shard: BTreeMap<u32, Vec<Published>> = BTreeMap::new();
    for d in occurrences {
        by_shard.entry(d.shard).or_default().push(Published {
            member: &d.member,
            occurrence: d.occurrence,
            repeating: d.repeating,
        });
    }
    let commits = by_shard
        .iter()
        .map(|(shard, published)| backends.schedule.commit(*shard, published, status_ttl));
    for (committed, (shard, published)) in join_all(commits).await.into_iter().zip(&by_shard) {
        match committed {
            Ok(nexts) => {
                for next in nexts.into_iter().flatten() {
                    wakeups.shard(*shard, next);
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, shard, count = published.len(), "commit failed, the occurrences fire again after the lease");
                metrics.commit_failures.inc_by(published.len() as u64);
            }
        }
    }
}
