//! The settings of the backends, as parsed types: the `[amqp]`, `[redis]`, `[status]` and
//! `[polling]` sections, and [`BackendSettings`], what a role builds its backends from (those
//! sections plus the few values of other sections the stores and the live bus need).

use herald_runtime::config::{invalid, ConfigError};
use herald_runtime::de;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer};
use std::num::{NonZeroU16, NonZeroU32, NonZeroU64, NonZeroUsize};
use std::time::Duration;

/// A RabbitMQ URL herald can connect to: `amqp://` (TLS, `amqps://`, is not supported yet).
#[derive(Clone)]
pub struct AmqpUrl(SecretString);

impl AmqpUrl {
    pub fn parse(url: SecretString) -> Result<Self, &'static str> {
        let text = url.expose_secret();
        if text.starts_with("amqps://") {
            return Err("TLS to RabbitMQ is not supported yet: use an amqp:// URL");
        }
        if !text.starts_with("amqp://") {
            return Err("must start with amqp://");
        }
        Ok(Self(url))
    }

    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }

    pub fn secret(&self) -> &SecretString {
        &self.0
    }
}

impl<'de> Deserialize<'de> for AmqpUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::parse(SecretString::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// A Redis URL herald can connect to: `redis://` or `unix://` (TLS, `rediss://`, is not
/// supported yet).
#[derive(Clone)]
pub struct RedisUrl(SecretString);

impl RedisUrl {
    pub fn parse(url: SecretString) -> Result<Self, &'static str> {
        let text = url.expose_secret();
        if text.starts_with("rediss://") {
            return Err("TLS to Redis is not supported yet: use a redis:// or unix:// URL");
        }
        if !(text.starts_with("redis://") || text.starts_with("unix://")) {
            return Err("must start with redis:// or unix://");
        }
        Ok(Self(url))
    }

    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }

    pub fn secret(&self) -> &SecretString {
        &self.0
    }
}

impl<'de> Deserialize<'de> for RedisUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::parse(SecretString::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

// URLs carry passwords: their Debug says only whether one is set.
impl std::fmt::Debug for AmqpUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AmqpUrl([REDACTED])")
    }
}

impl std::fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RedisUrl([REDACTED])")
    }
}

/// `[amqp]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmqpSettings {
    /// Unset: the embedded in-memory queue.
    pub url: Option<AmqpUrl>,
    /// Of every exchange and queue name.
    #[serde(deserialize_with = "de::name")]
    pub prefix: String,
    /// Unacknowledged deliveries a consumer holds at once.
    pub prefetch: NonZeroU16,
    /// Confirm-mode channels publishes are spread over.
    pub publish_channels: NonZeroUsize,
    #[serde(rename = "confirm_timeout_ms", deserialize_with = "de::millis")]
    pub confirm_timeout: Duration,
    /// Deliveries of one message before RabbitMQ dead-letters it.
    pub delivery_limit: u32,
    /// Most messages the dead-letter queue keeps (its x-max-length).
    pub dead_letter_max_length: NonZeroU64,
    #[serde(
        rename = "max_reconnect_backoff_ms",
        deserialize_with = "de::millis_or_zero"
    )]
    pub max_reconnect_backoff: Duration,
}

/// `[redis]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSettings {
    /// Unset: the embedded in-memory store.
    pub url: Option<RedisUrl>,
    /// Of every key.
    #[serde(deserialize_with = "de::name")]
    pub key_prefix: String,
}

/// `[status]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusSettings {
    /// How long a message's status record lives after its last change.
    #[serde(rename = "ttl_seconds", deserialize_with = "de::seconds")]
    pub ttl: Duration,
}

/// `[polling]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PollingSettings {
    /// Messages older than this are not handed out.
    #[serde(rename = "window_seconds", deserialize_with = "de::seconds")]
    pub window: Duration,
    /// A subscription not polled for this long expires.
    #[serde(rename = "subscription_ttl_seconds", deserialize_with = "de::seconds")]
    pub subscription_ttl: Duration,
    /// Most entries one channel buffers, and most one poll returns.
    pub inbox_cap: NonZeroUsize,
}

/// The per-node live queues and presence records of the dispatcher nodes.
#[derive(Debug, Clone)]
pub struct LiveBusSettings {
    /// Most messages waiting in one node's live queue.
    pub node_queue_max_length: NonZeroU64,
    /// How long a node's live queue outlives the node.
    pub node_queue_expires: Duration,
    /// How long a silent node still counts as holding its realtime connections.
    pub presence_ttl: Duration,
}

/// Everything the backends are built from.
#[derive(Debug, Clone)]
pub struct BackendSettings {
    pub amqp: AmqpSettings,
    pub redis: RedisSettings,
    pub status: StatusSettings,
    pub polling: PollingSettings,
    /// How long a delivered occurrence is remembered to drop redeliveries of it.
    pub dedup_window: Duration,
    /// Shards of the scheduler's due-time index (a deployment keeps its number).
    pub shards: NonZeroU32,
    pub live_bus: LiveBusSettings,
}

impl BackendSettings {
    /// Whether these are the embedded in-memory backends (no RabbitMQ, no Redis).
    pub fn in_memory(&self) -> bool {
        self.amqp.url.is_none()
    }
}

/// RabbitMQ and Redis come together, or neither does: herald never runs on one of them alone.
pub fn check_urls(amqp: &AmqpSettings, redis: &RedisSettings) -> Result<(), ConfigError> {
    if amqp.url.is_some() != redis.url.is_some() {
        return Err(invalid(
            "amqp.url",
            "amqp.url and redis.url are set together (RabbitMQ and Redis) or both left unset (in-memory)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_urls_are_refused_until_tls_is_supported() {
        let amqp = AmqpUrl::parse(SecretString::from("amqps://h:5671/%2f")).unwrap_err();
        assert!(
            amqp.contains("TLS to RabbitMQ is not supported yet"),
            "{amqp}"
        );
        let redis = RedisUrl::parse(SecretString::from("rediss://h:6380")).unwrap_err();
        assert!(
            redis.contains("TLS to Redis is not supported yet"),
            "{redis}"
        );
    }

    #[test]
    fn plain_urls_are_accepted_and_others_refused() {
        assert!(AmqpUrl::parse(SecretString::from("amqp://h:5672/%2f")).is_ok());
        assert!(RedisUrl::parse(SecretString::from("redis://h:6379")).is_ok());
        assert!(RedisUrl::parse(SecretString::from("unix:///run/redis.sock")).is_ok());
        assert!(AmqpUrl::parse(SecretString::from("http://h")).is_err());
        assert!(RedisUrl::parse(SecretString::from("h:6379")).is_err());
    }
}
