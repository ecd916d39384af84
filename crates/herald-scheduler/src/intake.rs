//! Intake: consume the schedule route and take each deferred message into the schedule,
//! acknowledging only once Redis holds it.

use herald_backend::queue::worker::consume_concurrently;
use herald_backend::queue::{Delivery, Route};
use herald_backend::store::schedule::{Member, NewEntry};
use herald_backend::Backends;
use herald_core::{stored_envelope, Envelope};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const MAX_RETRY_BACKOFF: Duration = Duration::from_secs(2);

/// Consumes the schedule route until `shutdown` (storing an entry wakes every scheduler).
pub async fn run(
    backends: Backends,
    prefetch: u16,
    status_ttl: Duration,
    shutdown: CancellationToken,
    drain: Duration,
) {
    let queue = backends.queue.clone();
    let stop = shutdown.clone();
    consume_concurrently(
        queue.as_ref(),
        Route::Schedule,
        prefetch,
        shutdown,
        drain,
        move |delivery| {
            let (backends, stop) = (backends.clone(), stop.clone());
            async move { take(delivery, &backends, status_ttl, &stop).await }
        },
    )
    .await;
}

async fn take(
    delivery: Delivery,
    backends: &Backends,
    status_ttl: Duration,
    shutdown: &CancellationToken,
) {
    let envelope = match Envelope::decode(&delivery.body) {
        Ok(envelope) => envelope,
        Err(err) => {
            tracing::error!(error = %err, "undecodable envelope on the schedule route, dead-lettering it");
            delivery.dead_letter().await;
            return;
        }
    };
    let schedule = envelope.schedule.schedule().deferred(envelope.accepted_at);
    let ttl = schedule.ttl(envelope.accepted_at, status_ttl);
    let member = Member {
        app: envelope.app_id.clone(),
        id: envelope.message_id,
    };
    // Kept without the identity the entry's key already holds (see `stored_envelope`).
    let stored = match stored_envelope::compact(&envelope) {
        Ok(stored) => stored,
        Err(err) => {
            tracing::error!(message_id = %envelope.message_id, error = %err, "cannot serialize a scheduled message, dead-lettering it");
            delivery.dead_letter().await;
            return;
        }
    };
    let mut backoff = Duration::from_millis(50);
    loop {
        let entry = NewEntry {
            member: &member,
            envelope: &stored,
            schedule,
            ttl,
        };
        match backends.schedule.store(entry).await {
            Ok(stored) => {
                if stored.is_none() {
                    tracing::debug!(message_id = %member.id, "cancelled before it was scheduled, dropped");
                }
                delivery.ack().await;
                return;
            }
            Err(err) => {
                tracing::warn!(error = %err, retry_in_ms = backoff.as_millis() as u64, "cannot store a scheduled message, retrying");
                tokio::select! {
                    _ = shutdown.cancelled() => {
                        delivery.requeue().await;
                        return;
                    }
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_RETRY_BACKOFF);
            }
        }
    }
}
