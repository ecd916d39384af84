//! Firing: claim due entries shard by shard, fire them, and hand the due occurrences to the
//! [`Publisher`], which publishes them to the dispatch route in batches (one broker message and
//! confirm for many occurrences) and commits them in the background. The loop sleeps until the
//! earliest due time or lease it knows of, or until any scheduler stores something new (or a
//! commit schedules a next occurrence).

use futures_util::future::join_all;
use herald_backend::store::schedule::{Claim, Fire};
use herald_backend::Backends;
use herald_core::Envelope;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use crate::metrics::SchedulerMetrics;
use crate::publishing::{Due, Publisher};

/// What the firing loop needs.
pub struct Firing {
    pub backends: Backends,
    pub metrics: SchedulerMetrics,
    pub publisher: Publisher,
    pub batch: usize,
    pub lease: Duration,
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
                _ = shutdown.cancelled() => break,
                _ = wakeups.recv() => tracing::debug!("scheduler woken"),
                _ = self.publisher.scheduled_next.notified() => {}
                _ = sleep(pause) => {}
            }
        }
        // What was published gets committed; what was claimed and not published fires again
        // after its lease.
        self.publisher.finish().await;
    }

    /// Claims and fires every shard once, the shards concurrently (a shard waiting for Redis
    /// must not delay the others); how long to wait before the next round (None: until
    /// woken), and whether a shard had more due than one batch.
    async fn round(&self) -> Result<(Option<Duration>, bool), herald_backend::StoreError> {
        let shards =
            join_all((0..self.backends.schedule.shards()).map(|shard| self.shard_round(shard)))
                .await;
        let mut earliest: Option<i64> = None;
        let mut now = 0;
        let mut full = false;
        let (mut pending, mut in_flight, mut overdue_ms) = (0, 0, 0);
        let mut due = Vec::new();
        let mut failed = None;
        for shard in shards {
            let (claim, next, fired) = match shard {
                Ok(shard) => shard,
                Err(err) => {
                    failed.get_or_insert(err);
                    continue;
                }
            };
            due.extend(fired);
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
        // Every shard's due occurrences together: at a steady load each shard has a few, and one
        // broker message for all of them costs the broker far less than one per shard.
        self.publisher.publish(due).await;
        if let Some(err) = failed {
            return Err(err);
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

    /// Claims one shard's due entries and fires them; the claim, the earliest due time of the
    /// claimed entries not yet due (the next occurrences of those published come from their
    /// commits, which wake the loop), and the occurrences to publish.
    async fn shard_round(
        &self,
        shard: u32,
    ) -> Result<(Claim, Option<i64>, Vec<Due>), herald_backend::StoreError> {
        let schedule = &self.backends.schedule;
        let claim = schedule.claim(shard, self.batch, self.lease).await?;
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
                } => match envelope_of(envelope, occurrence) {
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
        let not_due = nexts.into_iter().min();
        Ok((claim, not_due, due))
    }
}

/// The envelope of an occurrence, encoded: the stored one (occurrence 0) as it is, or a copy
/// numbered for a later occurrence.
fn envelope_of(
    stored: String,
    occurrence: u64,
) -> Result<Vec<u8>, herald_core::envelope::EnvelopeError> {
    if occurrence == 0 {
        return Ok(stored.into_bytes());
    }
    let mut envelope = Envelope::decode(stored.as_bytes())?;
    envelope.occurrence = occurrence;
    Ok(envelope.encode())
}

async fn sleep(pause: Option<Duration>) {
    match pause {
        Some(pause) => tokio::time::sleep(pause).await,
        None => std::future::pending().await,
    }
}
