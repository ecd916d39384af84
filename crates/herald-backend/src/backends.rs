//! Chooses and builds the backends once, from configuration: RabbitMQ and Redis when their URLs
//! are set, the embedded in-memory ones otherwise.

use herald_runtime::{Config, Health};
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
use crate::store::inbox::{InboxSettings, InboxStore, MemoryInboxStore, RedisInboxStore};
use crate::store::keys::Keys;
use crate::store::presence::{MemoryPresenceStore, PresenceStore, RedisPresenceStore};
use crate::store::redis_conn::RedisConn;
use crate::store::schedule::{MemoryScheduleStore, RedisScheduleStore, ScheduleStore};
use crate::store::status::{MemoryStatusStore, RedisStatusStore, StatusStore};

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
}

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("cannot register backend metrics")]
    Metrics(#[from] prometheus::Error),
    #[error("redis.url is invalid")]
    RedisUrl(#[from] StoreError),
}

impl Backends {
    /// Builds the backends `config` names and registers their readiness probes with `health`.
    /// Connections are opened in the background: the process starts, not ready, while RabbitMQ or
    /// Redis is down, and becomes ready when they are up.
    pub fn start(
        config: &Config,
        role: &str,
        registry: &Registry,
        health: &Health,
    ) -> Result<Self, BackendError> {
        let inbox_settings = InboxSettings {
            window: Duration::from_secs(config.polling.window_seconds),
            subscription_ttl: Duration::from_secs(config.polling.subscription_ttl_seconds),
            cap: config.polling.inbox_cap,
            dedup_window: Duration::from_secs(config.dispatcher.dedup_window_seconds),
        };
        let status_ttl = Duration::from_secs(config.status.ttl_seconds);
        let settle_metrics = SettleMetrics::register(registry)?;
        match (&config.amqp.url, &config.redis.url) {
            (Some(amqp_url), Some(redis_url)) => {
                let settings = RabbitSettings {
                    url: amqp_url.clone(),
                    topology: Topology::new(&config.amqp.prefix),
                    publish_channels: config.amqp.publish_channels,
                    delivery_limit: config.amqp.delivery_limit,
                    dead_letter_max_length: config.amqp.dead_letter_max_length,
                    max_backoff: Duration::from_millis(config.amqp.max_reconnect_backoff_ms),
                    connection_name: format!("herald-{role}"),
                };
                let queue = Arc::new(RabbitQueue::start(
                    settings,
                    Duration::from_millis(config.amqp.confirm_timeout_ms),
                    QueueMetrics::register(registry)?,
                    settle_metrics,
                ));
                health.register(queue.clone());
                let node = node_name(role);
                let live = Arc::new(RabbitLiveBus::new(
                    &queue,
                    &node,
                    NodeQueueSettings {
                        max_length: config.live.node_queue_max_length,
                        expires: Duration::from_secs(config.live.node_queue_expires_seconds),
                        prefetch: config.amqp.prefetch,
                    },
                ));
                let redis = RedisConn::start(redis_url)?;
                health.register(Arc::new(redis.clone()));
                let keys = Keys::new(&config.redis.key_prefix, config.scheduler.shards);
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
                        config.scheduler.shards,
                    )),
                    live,
                    presence: Arc::new(RedisPresenceStore::new(
                        redis,
                        keys,
                        &node,
                        Duration::from_secs(config.live.presence_ttl_seconds),
                    )),
                })
            }
            _ => Ok(Self::in_memory(
                status_ttl,
                inbox_settings,
                config.live.node_queue_max_length as usize,
                settle_metrics,
            )),
        }
    }

    /// The embedded backends: nothing leaves the process, nothing is kept on disk.
    pub fn in_memory(
        status_ttl: Duration,
        inbox_settings: InboxSettings,
        live_capacity: usize,
        settle_metrics: SettleMetrics,
    ) -> Self {
        let statuses = Arc::new(MemoryStatusStore::new(status_ttl));
        Self {
            queue: Arc::new(MemoryQueue::new(settle_metrics)),
            statuses: statuses.clone(),
            inboxes: Arc::new(MemoryInboxStore::new(inbox_settings)),
            schedule: Arc::new(MemoryScheduleStore::new(statuses)),
            live: Arc::new(MemoryLiveBus::new(live_capacity)),
            presence: Arc::new(MemoryPresenceStore::new()),
        }
    }
}

/// A name for this process's live queue, unique among nodes: the role and a random suffix (a
/// restarted node gets a new queue; its old one expires).
fn node_name(role: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{role}-{}", &id[..12])
}
