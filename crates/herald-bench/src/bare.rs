//! The baseline: confirmed, persistent, mandatory publishes of an envelope-sized body from one
//! lapin channel into herald's own dispatch queue (a quorum queue), `window` unconfirmed at once.

use futures_util::stream::{FuturesUnordered, StreamExt};
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, QueuePurgeOptions};
use lapin::{BasicProperties, Confirmation, Connection, ConnectionProperties};
use std::time::{Duration, Instant};

/// The size of the envelope herald puts on the queue for `body`.
pub fn envelope_size(body: &serde_json::Value) -> usize {
    let envelope = herald_core::Envelope {
        v: herald_core::envelope::ENVELOPE_VERSION,
        message_id: herald_core::MessageId::new_random(),
        occurrence: 0,
        app_id: "bench-app".into(),
        channel: herald_core::ChannelName::parse("bench").expect("valid"),
        message: body["message"].clone(),
        publisher_id: None,
        headers: Default::default(),
        schedule: Default::default(),
        accepted_at: 1_800_000_000_000,
        traceparent: None,
    };
    envelope.encode().map_or(0, |bytes| bytes.len())
}

/// Publishes for `duration` through herald's own exchange and routing key into herald's dispatch
/// queue (emptied first), so both sides of the comparison meet the same queue in the same state;
/// returns confirmed publishes per second.
pub async fn run(
    amqp_url: &str,
    prefix: &str,
    body_bytes: usize,
    window: usize,
    duration: Duration,
) -> anyhow::Result<f64> {
    purge_dispatch(amqp_url, prefix).await?;
    let connection = Connection::connect(amqp_url, ConnectionProperties::default()).await?;
    let channel = connection.create_channel().await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    let body = vec![b'x'; body_bytes];
    let properties = BasicProperties::default()
        .with_delivery_mode(2)
        .with_content_type("application/json".into());
    let options = BasicPublishOptions {
        mandatory: true,
        ..Default::default()
    };

    let started = Instant::now();
    let mut confirmed = 0u64;
    let mut in_flight = FuturesUnordered::new();
    while started.elapsed() < duration {
        while in_flight.len() < window {
            let confirm = channel
                .basic_publish(
                    prefix.into(),
                    "dispatch".into(),
                    options,
                    &body,
                    properties.clone(),
                )
                .await?;
            in_flight.push(confirm);
        }
        if let Some(confirmation) = in_flight.next().await {
            if matches!(confirmation?, Confirmation::Ack(None)) {
                confirmed += 1;
            }
        }
    }
    while let Some(confirmation) = in_flight.next().await {
        if matches!(confirmation?, Confirmation::Ack(None)) {
            confirmed += 1;
        }
    }
    let rate = confirmed as f64 / started.elapsed().as_secs_f64();
    connection.close(200, "done".into()).await?;
    Ok(rate)
}

/// Empties herald's dispatch queue, so each herald phase starts, as each bare phase does, on an
/// empty queue (a quorum queue slows down as messages pile up in it).
pub async fn purge_dispatch(amqp_url: &str, prefix: &str) -> anyhow::Result<()> {
    let connection = Connection::connect(amqp_url, ConnectionProperties::default()).await?;
    let channel = connection.create_channel().await?;
    let queue = format!("{prefix}.dispatch");
    channel
        .queue_purge(queue.as_str().into(), QueuePurgeOptions::default())
        .await?;
    connection.close(200, "done".into()).await?;
    Ok(())
}
