//! Handling one message from the dispatch route, which carries one envelope or a batch of them
//! (`herald_core::batch`): each envelope is sent on the live bus to the nodes with live
//! subscribers of its channel, buffered for the channel's polling subscriptions (once per
//! occurrence), and a one-shot message marked published; the message is acknowledged once every
//! envelope it carries is done.

use futures_util::future::join_all;
use herald_backend::live::{LiveFrame, LiveKind};
use herald_backend::queue::Delivery;
use herald_backend::store::inbox::{Delivered, Polled};
use herald_backend::store::status::Outcome;
use herald_backend::{Backends, QueueError, StoreError};
use herald_core::delivered::PolledMessage;
use herald_core::envelope::EnvelopeError;
use herald_core::{Envelope, MessageId};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::lanes::Turn;
use crate::metrics::DispatcherMetrics;

/// Longest pause between two attempts while a store is unavailable.
const MAX_RETRY_BACKOFF: Duration = Duration::from_secs(2);

/// Why one attempt at delivering failed (it is retried, but for [`DeliverError::Render`]).
#[derive(Debug, thiserror::Error)]
enum DeliverError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// The message cannot be serialized for polling subscribers: trying again cannot help.
    #[error("cannot serialize the message for polling subscribers")]
    Render(#[source] serde_json::Error),
}

/// A delivery taken from the dispatch route, with the envelopes it carries.
pub struct Taken {
    pub delivery: Delivery,
    pub items: Vec<Item>,
}

/// One envelope of a delivery, decoded, with its place in its channel's lane.
pub struct Item {
    /// The envelope as it came (sent on to live nodes unchanged).
    pub body: Vec<u8>,
    pub envelope: Result<Envelope, EnvelopeError>,
    pub turn: Option<Turn>,
}

/// How handling one envelope ended.
enum Handled {
    Delivered,
    /// It can never be handled (its message, when named, is marked failed).
    Undecodable,
    /// Shutdown came first.
    Interrupted,
}

/// Handles a delivery to the end: acknowledged when every envelope in it is delivered,
/// requeued when shutdown comes first (the ones delivered are dropped as duplicates when it comes
/// back), dead-lettered when one of them can never be handled (after the others are delivered).
pub async fn handle(
    taken: Taken,
    backends: &Backends,
    metrics: &DispatcherMetrics,
    shutdown: &CancellationToken,
) {
    let started = Instant::now();
    let Taken { delivery, items } = taken;
    let handled = join_all(
        items
            .into_iter()
            .map(|item| handle_item(item, backends, metrics, shutdown, started)),
    )
    .await;
    // A failed settle is logged and counted by the delivery itself; the broker then redelivers
    // it, and the occurrence markers drop the copies.
    if handled.iter().any(|h| matches!(h, Handled::Interrupted)) {
        delivery.requeue().await;
    } else if handled.iter().any(|h| matches!(h, Handled::Undecodable)) {
        metrics
            .deliveries
            .with_label_values(&["dead_lettered"])
            .inc();
        delivery.dead_letter().await;
    } else {
        delivery.ack().await;
    }
}

/// Delivers one envelope, retrying while the stores are unavailable.
async fn handle_item(
    item: Item,
    backends: &Backends,
    metrics: &DispatcherMetrics,
    shutdown: &CancellationToken,
    started: Instant,
) -> Handled {
    let Item {
        body,
        envelope,
        mut turn,
    } = item;
    let envelope = match envelope {
        Ok(envelope) => envelope,
        Err(err) => {
            fail_undecodable(&body, err, backends).await;
            return Handled::Undecodable;
        }
    };
    let span = tracing::info_span!("dispatch", message_id = %envelope.message_id, occurrence = envelope.occurrence);
    herald_runtime::trace_context::adopt(&span, envelope.traceparent.as_deref());
    async {
        let mut backoff = Duration::from_millis(50);
        loop {
            match deliver(&envelope, &body, backends, &mut turn).await {
                Ok(outcome) => {
                    metrics.deliveries.with_label_values(&[outcome]).inc();
                    metrics.handling_seconds.observe(started.elapsed().as_secs_f64());
                    let delay_ms = (backends.clock.now_ms() - envelope.accepted_at).max(0) as f64;
                    metrics.end_to_end_seconds.observe(delay_ms / 1000.0);
                    return Handled::Delivered;
                }
                Err(DeliverError::Render(err)) => {
                    tracing::error!(error = %err, "cannot serialize a message for polling subscribers, dead-lettering it");
                    return Handled::Undecodable;
                }
                Err(err) => {
                    tracing::warn!(error = %err, retry_in_ms = backoff.as_millis() as u64, "dispatch failed, retrying");
                    metrics.retries.inc();
                    tokio::select! {
                        _ = shutdown.cancelled() => return Handled::Interrupted,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(MAX_RETRY_BACKOFF);
                }
            }
        }
    }
    .instrument(span)
    .await
}

/// Does the work for one occurrence; safe to repeat (a repeat is dropped as a duplicate, by the
/// polling inboxes here and by each live node). The channel's turn is held while the message is
/// sent on (to keep the channel's order), not while its confirm is awaited.
async fn deliver(
    envelope: &Envelope,
    body: &[u8],
    backends: &Backends,
    turn: &mut Option<Turn>,
) -> Result<&'static str, DeliverError> {
    if let Some(turn) = turn.as_mut() {
        turn.wait().await;
    }
    let live = backends
        .live
        .send(
            &envelope.app_id,
            &envelope.channel,
            LiveFrame {
                kind: LiveKind::Message,
                body: body.to_vec(),
            },
        )
        .await?;
    let json = PolledMessage::new(envelope, backends.clock.now_ms())
        .to_json()
        .map_err(DeliverError::Render)?;
    let polled = Polled {
        occurrence: envelope.occurrence_id(),
        json: &json,
    };
    let delivered = backends
        .inboxes
        .deliver(&envelope.app_id, &envelope.channel, polled)
        .await?;
    drop(turn.take());
    live.await?;
    // A repeating message stays scheduled between occurrences; the scheduler finishes it.
    if !envelope.schedule.schedule().is_repeating() {
        backends
            .statuses
            .finish(&envelope.app_id, envelope.message_id, Outcome::Published)
            .await?;
    }
    Ok(match delivered {
        Delivered::Buffered(_) => "buffered",
        Delivered::NoSubscribers => "no_subscribers",
        Delivered::Duplicate => "duplicate",
    })
}

/// Fails the message of an envelope that can never be handled, when it names one; the delivery
/// that carried it is then dead-lettered.
async fn fail_undecodable(body: &[u8], err: EnvelopeError, backends: &Backends) {
    tracing::error!(error = %err, cause = ?std::error::Error::source(&err), "undecodable envelope, dead-lettering it");
    if let Some((app, id)) = named_message(body) {
        let reason = format!("the dispatcher cannot read this message: {err}");
        if let Err(err) = backends
            .statuses
            .finish(&app, id, Outcome::Failed(reason))
            .await
        {
            tracing::warn!(error = %err, "cannot mark the message failed");
        }
    }
}

/// The app and message id of an envelope this build cannot read, if it has them.
fn named_message(body: &[u8]) -> Option<(String, MessageId)> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let app = value.get("appId")?.as_str()?.to_string();
    let id = MessageId::parse(value.get("messageId")?.as_str()?)?;
    Some((app, id))
}
