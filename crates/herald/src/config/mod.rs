//! herald's configuration: each section typed by the crate that owns it, composed here, loaded
//! through the runtime's one layered loader (the commented defaults in `defaults.toml`, then an
//! optional file, then `HERALD_*` environment variables with `__` between levels). What one
//! field's type cannot check (fields that go together) is checked once, here, and every error
//! names its field.

mod sections;
#[cfg(test)]
mod tests;

pub use sections::{HttpSettings, LiveSettings, RealtimeSettings};

use herald_auth::{AppConfig, AppRegistry};
use herald_backend::settings::{
    check_urls, AmqpSettings, BackendSettings, LiveBusSettings, PollingSettings, RedisSettings,
    StatusSettings,
};
use herald_dispatcher::DispatcherSettings;
use herald_ingest::IngestSettings;
use herald_runtime::config::{invalid, ConfigError};
use herald_runtime::settings::{ShutdownSettings, TelemetrySettings};
use herald_scheduler::SchedulerSettings;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

const DEFAULTS: &str = include_str!("../defaults.toml");

/// Every setting of a herald process, by section (the TOML tables and `HERALD_<SECTION>__<KEY>`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub http: HttpSettings,
    pub amqp: AmqpSettings,
    pub redis: RedisSettings,
    pub apps: Vec<AppConfig>,
    pub publish: IngestSettings,
    pub status: StatusSettings,
    pub polling: PollingSettings,
    pub dispatcher: DispatcherSettings,
    pub scheduler: SchedulerSettings,
    pub realtime: RealtimeSettings,
    pub live: LiveSettings,
    pub telemetry: TelemetrySettings,
    pub shutdown: ShutdownSettings,
}

impl Config {
    /// Loads defaults, then `file` (which must exist when given), then the `HERALD_*` environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let config: Self = herald_runtime::config::load(DEFAULTS, file)?;
        config.validate()?;
        Ok(config)
    }

    /// The built-in defaults alone, ignoring the environment (for tests and tools).
    pub fn defaults() -> Result<Self, ConfigError> {
        let config: Self = herald_runtime::config::load_defaults(DEFAULTS)?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what no one field's type can: the fields that go together.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_urls(&self.amqp, &self.redis)?;
        self.app_registry()?;
        if self.apps.is_empty() && !self.in_memory() {
            return Err(invalid(
                "apps",
                "configure at least one app (id and api_key) when running on RabbitMQ and Redis",
            ));
        }
        Ok(())
    }

    /// Whether this process runs on the embedded in-memory backends.
    pub fn in_memory(&self) -> bool {
        self.amqp.url.is_none()
    }

    /// The configured apps, or the development app when none is configured (in-memory only:
    /// validation refuses an app-less configuration on real backends).
    pub fn effective_apps(&self) -> Vec<AppConfig> {
        if self.apps.is_empty() {
            vec![AppConfig::development()]
        } else {
            self.apps.clone()
        }
    }

    /// Every app built (their key files read); `/api/...` falls back to the only app in the
    /// in-memory development mode alone.
    pub fn app_registry(&self) -> Result<AppRegistry, ConfigError> {
        AppRegistry::build(&self.effective_apps(), self.in_memory())
    }

    /// The rtURL clients are given: the public URL, else the realtime listener's address (`bound`
    /// when this process serves it, as with port 0, else the configured one).
    pub fn realtime_url(&self, bound: Option<SocketAddr>) -> String {
        match &self.realtime.public_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!("http://{}", bound.unwrap_or(self.realtime.listen)),
        }
    }

    /// What the backends are built from: their own sections and the values of others they need.
    pub fn backend(&self) -> BackendSettings {
        BackendSettings {
            amqp: self.amqp.clone(),
            redis: self.redis.clone(),
            status: self.status.clone(),
            polling: self.polling.clone(),
            dedup_window: self.dispatcher.dedup_window,
            shards: self.scheduler.shards,
            live_bus: LiveBusSettings {
                node_queue_max_length: self.live.node_queue_max_length,
                node_queue_expires: self.live.node_queue_expires,
                presence_ttl: self.live.presence_ttl,
            },
        }
    }

    pub fn drain_timeout(&self) -> Duration {
        self.shutdown.drain_timeout
    }
}
