//! Firing: claim due entries shard by shard, fire them, and hand the due occurrences to the
//! [`Publisher`], which publishes them to the dispatch route in batches (one broker message and
//! confirm for many occurrences) and commits them in the background. A round claims only the
//! shards whose clock says something is due ([`ShardClocks`]); the loop sleeps until the earliest
//! of them, or until a wake-up signals a new entry (stored by any scheduler, or scheduled by one
//! of this scheduler's commits).

use futures_util::future::join_all;
use herald_backend::store::schedule::{Claim, Fire, Wakeups};
use herald_backend::Backends;
use herald_core::stored_envelope;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use crate::clocks::ShardClocks;
use crate::metrics::SchedulerMetrics;
use crate::publishing::{Due, Publisher};

/// What the firing loop needs.
pub struct Firing {
    pub backends: Backends,
    pub metrics: SchedulerMetrics,
    pub publisher: Publisher,
    pub wakeups: Arc<Wakeups>,
    pub batch: usize,
    pub lease: Duration,
}

/// What the last claim of a shard told of it, for the gauges.
#[derive(Debug, Clone, Copy, Default)]
struct ShardGauge {
    pending: u64,
    in_flight: u64,
    next_due_ms: Option<i64>,
    now_ms: i64,
}

impl Firing {
    /// Runs until `shutdown`. Claims it holds when stopped are taken back after their lease.
    pub async fn run(self, shutdown: CancellationToken) {
        let shards = self.backends.schedule.shards();
        let mut clocks = ShardClocks::new(shards, self.backends.clock.clone());
        let mut gauges = vec![ShardGauge::default(); shards as usize];
        let mut failures = 0u32;
        while !shutdown.is_cancelled() {
            clocks.woken(self.wakeups.take());
            let pause = match self.round(&mut clocks, &mut gauges).await {
                Ok(()) => {
                    failures = 0;
                    clocks.pause()
                }
                Err(err) => {
                    failures += 1;
                    tracing::warn!(error = %err, "scheduler round failed");
                    Duration::from_millis(100 * u64::from(failures.min(20)))
                }
            };
            if pause.is_zero() {
                continue;
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = self.wakeups.changed() => tracing::debug!("scheduler woken"),
                _ = self.backends.clock.sleep(pause) => {}
            }
        }
        // What was published gets committed; what was claimed and not published fires again
        // after its lease.
        self.publisher.finish().await;
    }

    /// Claims and fires every shard whose time has come, concurrently (a shard waiting for Redis
    /// must not delay the others), and hands what is due to the publisher. A shard whose claim
    /// failed keeps its clock, so the next round tries it again.
    async fn round(
        &self,
        clocks: &mut ShardClocks,
        gauges: &mut [ShardGauge],
    ) -> Result<(), herald_backend::StoreError> {
        let shards = clocks.due();
        if shards.is_empty() {
            return Ok(());
        }
        let rounds = join_all(shards.iter().map(|&shard| self.shard_round(shard))).await;
        let mut due = Vec::new();
        let mut failed = None;
        for (&shard, round) in shards.iter().zip(rounds) {
            let ShardRound {
                claim,
                answered_us,
                not_due,
                due: fired,
            } = match round {
                Ok(round) => round,
                Err(err) => {
                    failed.get_or_insert(err);
                    continue;
                }
            };
            due.extend(fired);
            // A full batch leaves more due: the shard is claimed again at once.
            let more = (claim.members.len() == self.batch).then_some(claim.now_ms);
            let next = [more, claim.next_due_ms, claim.next_lease_ms, not_due]
                .into_iter()
                .flatten()
                .min();
            clocks.claimed(shard, claim.now_us, answered_us, next);
            gauges[shard as usize] = ShardGauge {
                pending: claim.pending,
                in_flight: claim.in_flight,
                next_due_ms: claim.next_due_ms,
                now_ms: claim.now_ms,
            };
        }
        // Every shard's due occurrences together: at a steady load each shard has a few, and one
        // broker message for all of them costs the broker far less than one per shard.
        self.publisher.publish(due).await;
        self.set_gauges(gauges, clocks.offset_us());
        match failed {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }

    /// The gauges, from what the last claim of each shard told.
    fn set_gauges(&self, gauges: &[ShardGauge], clock_offset_us: i64) {
        let now = gauges.iter().map(|g| g.now_ms).max().unwrap_or_default();
        let overdue_ms = gauges
            .iter()
            .filter_map(|g| g.next_due_ms)
            .map(|due| now - due)
            .max()
            .unwrap_or(0);
        self.metrics
            .pending
            .set(gauges.iter().map(|g| g.pending).sum::<u64>() as i64);
        self.metrics
            .in_flight
            .set(gauges.iter().map(|g| g.in_flight).sum::<u64>() as i64);
        self.metrics
            .oldest_overdue_seconds
            .set(overdue_ms.max(0) as f64 / 1000.0);
        self.metrics
            .clock_skew_seconds
            .set(clock_offset_us as f64 / 1e6);
    }

    /// Claims one shard's due entries and fires them.
    async fn shard_round(&self, shard: u32) -> Result<ShardRound, herald_backend::StoreError> {
        let schedule = &self.backends.schedule;
        let claim = schedule.claim(shard, self.batch, self.lease).await?;
        let answered_us = self.backends.clock.now_us();
        self.metrics.expired_leases.inc_by(claim.expired_leases);
        // On failure every claim stays leased, and fires again after the lease.
        let fired = schedule.fire(shard, &claim.members).await?;
        let mut due = Vec::new();
        let mut nexts = Vec::new();
        for (member, fired) in claim.members.iter().zip(fired) {
            match fired {
                Fire::Gone => {}
                Fire::NotDue(at) => nexts.push(at),
                Fire::Now {
                    occurrence,
                    envelope,
                    due_ms,
                    skipped,
                    repeating,
                } => match stored_envelope::expand(&envelope, member.id, &member.app, occurrence) {
                    Ok(body) => due.push(Due {
                        shard,
                        fired_at_ms: claim.now_ms,
                        member: member.clone(),
                        occurrence,
                        repeating,
                        body,
                        due_ms,
                        skipped,
                    }),
                    // Stored by a build that wrote another envelope version: it stays leased,
                    // for a scheduler that can read it.
                    Err(err) => {
                        tracing::error!(message_id = %member.id, error = %err, "cannot read a stored envelope")
                    }
                },
            }
        }
        Ok(ShardRound {
            claim,
            answered_us,
            not_due: nexts.into_iter().min(),
            due,
        })
    }
}

/// What one shard's claim and fire gave.
struct ShardRound {
    claim: Claim,
    /// When the claim's answer arrived (this node's clock, µs), to follow Redis's clock from.
    answered_us: i64,
    /// The earliest due time of the claimed entries not yet due (the next occurrences of those
    /// published come from their commits, which wake the loop).
    not_due: Option<i64>,
    /// The occurrences to publish.
    due: Vec<Due>,
}
