//! Chooses and builds the backends once, from their settings: RabbitMQ and Redis when their URLs
//! are set, the embedded in-memory ones otherwise.

use herald_runtime::clock::Clock;
use herald_runtime::Health;
use prometheus::Registry;
use std::sync::Arc;
use std::time::Duration;

use crate::error::StoreError;
use crate::live::rabbit::NodeQueueSettings;
use crate::live::{LiveBus, MemoryLiveBus, RabbitLiveBus};
use crate::metrics::{QueueMetrics, SettleMetrics};
use crate::queue::memory::MemoryQueue;
use crate::queue::rabbit::{RabbitQueue, RabbitSettings};
use crate::queue::topology::Topology;
use crate::queue::Queue;
use crate::settings::BackendSettings;
use crate::store::inbox::{InboxSettings, InboxStore, MemoryInboxStore, RedisInboxStore};
use crate::store::keys::Keys;
use crate::store::memory::MemoryStore;
use crate::store::presence::{MemoryPresenceStore, PresenceStore, RedisPresenceStore};
use crate::store::redis_conn::RedisConn;
use crate::store::schedule::{RedisScheduleStore, ScheduleStore};
use crate::store::status::{RedisStatusStore, StatusStore};

/// The backends of one process, shared by its roles.
#[derive(Clone)]
pub struct Backends {
    pub queue: Arc<dyn Queue>,
    pub statuses: Arc<dyn StatusStore>,
    pub inboxes: Arc<dyn InboxStore>,
    pub schedule: Arc<dyn ScheduleStore>,
    pub live: Arc<dyn LiveBus>,
    /// Which realtime connections are joined to each channel, on every node.
    pub presence: Arc<dyn PresenceStore>,
    /// The process's clock: the memory stores keep time by it, and every role that holds the
    /// backends reads the time from it (Redis keeps its own, for what Redis decides).
    pub clock: Clock,
}

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("cannot register backend metrics")]
    Metrics(#[from] prometheus::Error),
    #[error("redis.url is invalid")]
    RedisUrl(#[from] StoreError),
}

impl Backends {
    /// Builds the backends `settings` name, on `clock`, and registers their readiness probes with
    /// `health`.
    /// Connections are opened in the background: the process starts, not ready, while RabbitMQ or
    /// Redis is down, and becomes ready when they are up.
    pub fn start(
        settings: &BackendSettings,
        role: &str,
        registry: &Registry,
        health: &Health,
        clock: Clock,
    ) -> Result<Self, BackendError> {
        let polling = &settings.polling;
        let inbox_settings = InboxSettings {
            window: polling.window,
            subscription_ttl: polling.subscription_ttl,
            cap: polling.inbox_cap.get(),
            dedup_window: settings.dedup_window,
        };
        let status_ttl = settings.status.ttl;
        let live_bus = &settings.live_bus;
        let settle_metrics = SettleMetrics::register(registry)?;
        let (amqp, redis) = (&settings.amqp, &settings.redis);
        match (&amqp.url, &redis.url) {
            (Some(amqp_url), Some(redis_url)) => {
                let rabbit = RabbitSettings {
                    url: amqp_url.secret().clone(),
                    topology: Topology::new(&amqp.prefix),
                    publish_channels: amqp.publish_channels.get(),
                    delivery_limit: amqp.delivery_limit,
                    dead_letter_max_length: amqp.dead_letter_max_length.get(),
                    max_backoff: amqp.max_reconnect_backoff,
                    connection_name: format!("herald-{role}"),
                };
                let queue = Arc::new(RabbitQueue::start(
                    rabbit,
                    amqp.confirm_timeout,
                    QueueMetrics::register(registry)?,
                    settle_metrics,
                ));
                health.register(queue.clone());
                let node = node_name(role);
                let live = Arc::new(RabbitLiveBus::new(
                    &queue,
                    &node,
                    NodeQueueSettings {
                        max_length: live_bus.node_queue_max_length.get(),
                        expires: live_bus.node_queue_expires,
                        prefetch: amqp.prefetch.get(),
                    },
                ));
                let redis = RedisConn::start(redis_url.secret())?;
                health.register(Arc::new(redis.clone()));
                let shards = settings.shards.get();
                let keys = Keys::new(&settings.redis.key_prefix, shards);
                Ok(Self {
                    queue,
                    statuses: Arc::new(RedisStatusStore::new(
                        redis.clone(),
                        keys.clone(),
                        status_ttl,
                    )),
                    inboxes: Arc::new(RedisInboxStore::new(
                        redis.clone(),
                        keys.clone(),
                        inbox_settings,
                    )),
                    schedule: Arc::new(RedisScheduleStore::new(
                        redis.clone(),
                        keys.clone(),
                        shards,
                    )),
                    live,
                    presence: Arc::new(RedisPresenceStore::new(
                        redis,
                        keys,
                        &node,
                        live_bus.presence_ttl,
                    )),
                    clock,
                })
            }
            _ => Ok(Self::in_memory(
                status_ttl,
                inbox_settings,
                live_bus.node_queue_max_length.get() as usize,
                settle_metrics,
                clock,
            )),
        }
    }

    /// The embedded backends: nothing leaves the process, nothing is kept on disk.
    pub fn in_memory(
        status_ttl: Duration,
        inbox_settings: InboxSettings,
        live_capacity: usize,
        settle_metrics: SettleMetrics,
        clock: Clock,
    ) -> Self {
        // One store for both seams: cancel and fire take the same lock.
        let store = Arc::new(MemoryStore::new(status_ttl, clock.clone()));
        Self {
            queue: Arc::new(MemoryQueue::new(settle_metrics)),
            statuses: store.clone(),
            inboxes: Arc::new(MemoryInboxStore::new(inbox_settings, clock.clone())),
            schedule: store,
            live: Arc::new(MemoryLiveBus::new(live_capacity)),
            presence: Arc::new(MemoryPresenceStore::new()),
            clock,
        }
    }
}

/// A name for this process's live queue, unique among nodes: the role and a random suffix (a
/// restarted node gets a new queue; its old one expires).
fn node_name(role: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{role}-{}", &id[..12])
}
