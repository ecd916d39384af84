//! Firing: claim due entries shard by shard, publish each due occurrence to the dispatch route with
//! the broker's confirm, commit, and release the entry to its next occurrence. The loop sleeps
//! until the earliest due time or lease it knows of, or until any scheduler stores something new.

use futures_util::future::join_all;
use herald_backend::queue::Route;
use herald_backend::store::schedule::{Claim, Fire, Member};
use herald_backend::Backends;
use herald_core::Envelope;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use crate::metrics::SchedulerMetrics;

/// What the firing loop needs.
pub struct Firing {
    pub backends: Backends,
    pub metrics: SchedulerMetrics,
    pub batch: usize,
    pub lease: Duration,
    pub status_ttl: Duration,
}

impl Firing {
    /// Runs until `shutdown`. Claims it holds when stopped are taken back after their lease.
    pub async fn run(self, shutdown: CancellationToken) {
        // Any scheduler storing an entry wakes this one, so an entry due before this loop's planned
        // wake-up is not missed (even when the scheduler that stored it dies before firing it).
        let wakeups = self.backends.schedule.wakeups(shutdown.clone());
        let mut failures = 0u32;
        while !shutdown.is_cancelled() {
            let (pause, full) = match self.round().await {
                Ok(next) => {
                    failures = 0;
                    next
                }
                Err(err) => {
                    failures += 1;
                    tracing::warn!(error = %err, "scheduler round failed");
                    (
                        Some(Duration::from_millis(100 * u64::from(failures.min(20)))),
                        false,
                    )
                }
            };
            if full {
                continue;
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = wakeups.recv() => tracing::debug!("scheduler woken"),
                _ = sleep(pause) => {}
            }
        }
    }

    /// Claims and fires every shard once, the shards concurrently (a shard waiting for its
    /// confirms must not delay the others); how long to wait before the next round (None: until
    /// woken), and whether a shard had more due than one batch.
    async fn round(&self) -> Result<(Option<Duration>, bool), herald_backend::StoreError> {
        let shards =
            join_all((0..self.backends.schedule.shards()).map(|shard| self.shard_round(shard)))
                .await;
        let mut earliest: Option<i64> = None;
        let mut now = 0;
        let mut full = false;
        let (mut pending, mut in_flight, mut overdue_ms) = (0, 0, 0);
        for shard in shards {
            let (claim, next) = shard?;
            now = claim.now_ms;
            pending += claim.pending;
            in_flight += claim.in_flight;
            if let Some(due) = claim.next_due_ms {
                overdue_ms = overdue_ms.max(claim.now_ms - due);
            }
            full |= claim.members.len() == self.batch;
            for t in [claim.next_due_ms, claim.next_lease_ms, next]
                .into_iter()
                .flatten()
            {
                earliest = Some(earliest.map_or(t, |e| e.min(t)));
            }
        }
        self.metrics.pending.set(pending as i64);
        self.metrics.in_flight.set(in_flight as i64);
        self.metrics
            .oldest_overdue_seconds
            .set(overdue_ms.max(0) as f64 / 1000.0);
        self.metrics
            .clock_skew_seconds
            .set((now - herald_runtime::clock::now_ms()) as f64 / 1000.0);
        // Relative to Redis's clock, so this node's clock skew does not matter.
        Ok((
            earliest.map(|t| Duration::from_millis((t - now).max(0) as u64)),
            full,
        ))
    }

    /// Claims one shard's due entries and fires them; the claim, and the earliest next due time
    /// of the entries it fired.
    async fn shard_round(
        &self,
        shard: u32,
    ) -> Result<(Claim, Option<i64>), herald_backend::StoreError> {
        let claim = self
            .backends
            .schedule
            .claim(shard, self.batch, self.lease)
            .await?;
        self.metrics.expired_leases.inc_by(claim.expired_leases);
        let nexts = join_all(claim.members.iter().map(|m| self.fire_one(m, claim.now_ms))).await;
        let next = nexts.into_iter().flatten().min();
        Ok((claim, next))
    }

    /// Fires one claimed entry; its next due time, if it stays scheduled.
    async fn fire_one(&self, member: &Member, now_ms: i64) -> Option<i64> {
        match self.try_fire(member, now_ms).await {
            Ok(next) => next,
            Err(err) => {
                // The claim stays leased: it fires again after the lease (the occurrence id makes
                // a second publish harmless).
                tracing::warn!(message_id = %member.id, error = %err, "firing failed, retrying after the lease");
                None
            }
        }
    }

    async fn try_fire(
        &self,
        member: &Member,
        now_ms: i64,
    ) -> Result<Option<i64>, Box<dyn std::error::Error + Send + Sync>> {
        let schedule = &self.backends.schedule;
        let next = match schedule.fire(member).await? {
            Fire::Gone => None,
            Fire::NotDue(due) => Some(due),
            Fire::Now {
                occurrence,
                envelope,
                due_ms,
                skipped,
            } => {
                let mut envelope = Envelope::decode(envelope.as_bytes())?;
                envelope.occurrence = occurrence;
                self.backends
                    .queue
                    .publish(Route::Dispatch, envelope.encode())
                    .await?;
                self.metrics.fired.inc();
                self.metrics.skipped.inc_by(skipped);
                self.metrics
                    .lateness_seconds
                    .observe((now_ms - due_ms).max(0) as f64 / 1000.0);
                schedule.commit(member, occurrence, self.status_ttl).await?
            }
        };
        schedule.release(member, next).await?;
        Ok(next)
    }
}

async fn sleep(pause: Option<Duration>) {
    match pause {
        Some(pause) => tokio::time::sleep(pause).await,
        None => std::future::pending().await,
    }
}
