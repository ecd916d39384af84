//! One live RabbitMQ connection with its confirm-mode publishing channels, and the supervisor
//! that keeps one up: it connects, declares the topology, publishes the session to everyone
//! watching, waits for the connection to break, and starts over with capped exponential backoff.

use futures_util::StreamExt;
use lapin::options::{
    ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::protocol::{AMQPErrorKind, AMQPSoftError};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{Channel, Connection, ConnectionProperties, Event, ExchangeKind};
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tokio_util::sync::CancellationToken;

use super::super::topology::Topology;
use super::super::Route;
use crate::metrics::QueueMetrics;

/// What the supervisor needs to know.
#[derive(Clone)]
pub struct RabbitSettings {
    pub url: SecretString,
    pub topology: Topology,
    pub publish_channels: usize,
    pub delivery_limit: u32,
    pub dead_letter_max_length: u64,
    pub max_backoff: Duration,
    pub connection_name: String,
}

/// A connected session.
pub struct Session {
    pub connection: Connection,
    pub publish_channels: Vec<Channel>,
}

/// Runs until `shutdown`, keeping `sessions` holding the current session (None while down).
/// `broken` lets users report a failure the connection's events did not (a dead channel).
pub async fn supervise(
    settings: RabbitSettings,
    sessions: watch::Sender<Option<Arc<Session>>>,
    broken: Arc<Notify>,
    metrics: QueueMetrics,
    shutdown: CancellationToken,
) {
    let mut backoff = Duration::from_millis(100);
    while !shutdown.is_cancelled() {
        match open(&settings).await {
            Ok(session) => {
                tracing::info!(connection = %settings.connection_name, "rabbitmq connected");
                metrics.connections.inc();
                metrics.connected.set(1);
                backoff = Duration::from_millis(100);
                let mut events = session.connection.events_listener();
                let session = Arc::new(session);
                sessions.send_replace(Some(session.clone()));
                tokio::select! {
                    _ = shutdown.cancelled() => {}
                    _ = broken.notified() => tracing::warn!("rabbitmq channel failed, reconnecting"),
                    error = next_error(&mut events) => tracing::warn!(error = %error, "rabbitmq connection lost, reconnecting"),
                }
                metrics.connected.set(0);
                sessions.send_replace(None);
                if !shutdown.is_cancelled() {
                    // Best effort: the broker may already be gone, which is why we reconnect.
                    let closed = tokio::time::timeout(
                        Duration::from_secs(1),
                        session
                            .connection
                            .close(320, ShortString::from("reconnecting")),
                    )
                    .await;
                    if !matches!(closed, Ok(Ok(()))) {
                        tracing::debug!("the broken rabbitmq connection did not close cleanly");
                    }
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, retry_in_ms = backoff.as_millis() as u64, "cannot connect to rabbitmq");
                tokio::select! {
                    _ = shutdown.cancelled() => {}
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(settings.max_backoff);
            }
        }
    }
}

async fn next_error(events: &mut (impl futures_util::Stream<Item = Event> + Unpin)) -> String {
    while let Some(event) = events.next().await {
        if let Event::Error(err) = event {
            return err.to_string();
        }
    }
    "event stream ended".to_string()
}

async fn open(settings: &RabbitSettings) -> Result<Session, lapin::Error> {
    let properties = ConnectionProperties::default()
        .with_connection_name(settings.connection_name.clone().into());
    let connection = Connection::connect(settings.url.expose_secret(), properties).await?;
    declare_dead_letter_queue(&connection, settings).await?;
    let setup = connection.create_channel().await?;
    declare(&setup, settings).await?;
    close_quietly(&setup).await;
    let mut publish_channels = Vec::with_capacity(settings.publish_channels);
    for _ in 0..settings.publish_channels {
        let channel = connection.create_channel().await?;
        // Without confirm mode a publish "succeeds" before the broker has the message.
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        publish_channels.push(channel);
    }
    Ok(Session {
        connection,
        publish_channels,
    })
}

/// Declares the topology of `proto/rabbitmq-topology.md`.
pub async fn declare(channel: &Channel, settings: &RabbitSettings) -> Result<(), lapin::Error> {
    let topology = &settings.topology;
    let durable = ExchangeDeclareOptions {
        durable: true,
        ..Default::default()
    };
    for (exchange, kind) in [
        (&topology.exchange, ExchangeKind::Direct),
        (&topology.live_exchange, ExchangeKind::Direct),
        (&topology.dead_exchange, ExchangeKind::Fanout),
    ] {
        channel
            .exchange_declare(
                exchange.as_str().into(),
                kind,
                durable,
                FieldTable::default(),
            )
            .await?;
    }
    let queue_options = QueueDeclareOptions {
        durable: true,
        ..Default::default()
    };
    channel
        .queue_bind(
            topology.dead_queue.as_str().into(),
            topology.dead_exchange.as_str().into(),
            "".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    for route in Route::ALL {
        let mut args = FieldTable::default();
        // Quorum queues replicate and fsync: a confirmed message survives a broker restart.
        args.insert(
            "x-queue-type".into(),
            AMQPValue::LongString("quorum".into()),
        );
        args.insert(
            "x-dead-letter-exchange".into(),
            AMQPValue::LongString(topology.dead_exchange.as_str().into()),
        );
        // A message that keeps failing (a crash loop on it) is parked instead of cycling forever.
        args.insert(
            "x-delivery-limit".into(),
            AMQPValue::LongInt(settings.delivery_limit as i32),
        );
        let queue = topology.queue(route);
        channel
            .queue_declare(queue.as_str().into(), queue_options, args)
            .await?;
        channel
            .queue_bind(
                queue.as_str().into(),
                topology.exchange.as_str().into(),
                route.as_str().into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
    }
    Ok(())
}

/// Declares the dead-letter queue, bounded by `amqp.dead_letter_max_length`, on a channel of its
/// own. A queue declared earlier with other arguments (without the bound, or another one) cannot
/// be declared again with these: RabbitMQ refuses with PRECONDITION_FAILED and closes the channel.
/// herald then keeps using the queue as it is and says how to bound it, rather than never
/// becoming ready.
async fn declare_dead_letter_queue(
    connection: &Connection,
    settings: &RabbitSettings,
) -> Result<(), lapin::Error> {
    let queue = settings.topology.dead_queue.as_str();
    let mut args = FieldTable::default();
    args.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    // Bounds what parked messages can hold of the broker's memory and disk; past it the oldest
    // are dropped (x-overflow drop-head, the default).
    args.insert(
        "x-max-length".into(),
        AMQPValue::LongLongInt(settings.dead_letter_max_length as i64),
    );
    let options = QueueDeclareOptions {
        durable: true,
        ..Default::default()
    };
    let channel = connection.create_channel().await?;
    match channel.queue_declare(queue.into(), options, args).await {
        Ok(_) => {
            close_quietly(&channel).await;
            Ok(())
        }
        Err(err) if is_precondition_failed(&err) => {
            tracing::warn!(
                queue,
                max_length = settings.dead_letter_max_length,
                "the dead-letter queue exists with other arguments, so amqp.dead_letter_max_length \
                 is not applied to it: delete the queue once it is empty (herald declares it \
                 again, bounded), or bound it with a policy (rabbitmqctl set_policy \
                 --apply-to queues <name> '^<queue>$' '{{\"max-length\": <n>}}')"
            );
            // The refused declare closed its channel; check the queue is there on a new one.
            let channel = connection.create_channel().await?;
            let passive = QueueDeclareOptions {
                passive: true,
                ..Default::default()
            };
            channel
                .queue_declare(queue.into(), passive, FieldTable::default())
                .await?;
            close_quietly(&channel).await;
            Ok(())
        }
        Err(err) => Err(err),
    }
}

/// Whether the broker refused a declaration for arguments that differ from the queue's own.
fn is_precondition_failed(err: &lapin::Error) -> bool {
    matches!(
        err.kind(),
        lapin::ErrorKind::ProtocolError(amqp)
            if *amqp.kind() == AMQPErrorKind::Soft(AMQPSoftError::PRECONDITIONFAILED)
    )
}

/// Closes a channel whose work is done; one that fails to close goes with its connection.
async fn close_quietly(channel: &Channel) {
    if let Err(err) = channel.close(200, ShortString::from("declared")).await {
        tracing::debug!(error = %err, "cannot close a rabbitmq setup channel");
    }
}

/// Runs `work` on each session as it comes up, until `shutdown` or until `stopped()` holds after a
/// session's work: the loop every consumer of the connection needs. A failed `work` is reported
/// to the supervisor through `broken` (it reconnects); either way the next run waits for a new
/// session, not the one that just ended.
pub(crate) async fn on_each_session<F, Fut>(
    mut sessions: watch::Receiver<Option<Arc<Session>>>,
    broken: &Notify,
    shutdown: &CancellationToken,
    what: &str,
    stopped: impl Fn() -> bool,
    mut work: F,
) where
    F: FnMut(Arc<Session>) -> Fut,
    Fut: std::future::Future<Output = Result<(), lapin::Error>>,
{
    loop {
        let session = tokio::select! {
            _ = shutdown.cancelled() => return,
            session = sessions.wait_for(|s| s.is_some()) => match session.as_deref().cloned() {
                Ok(Some(session)) => session,
                _ => return,
            },
        };
        if let Err(err) = work(session.clone()).await {
            tracing::warn!(consumer = what, error = %err, "rabbitmq consumer stopped, resuming after reconnect");
            broken.notify_one();
        }
        if shutdown.is_cancelled() || stopped() {
            return;
        }
        // An error means the supervisor is gone (shutdown): no session will come again.
        if sessions
            .wait_for(|s| !s.as_ref().is_some_and(|s| Arc::ptr_eq(s, &session)))
            .await
            .is_err()
        {
            return;
        }
    }
}
