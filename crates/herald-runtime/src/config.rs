//! One layered configuration for every role: the commented defaults in `defaults.toml`, then an
//! optional file, then `HERALD_*` environment variables (`__` between levels). It is validated
//! once at startup and every error names the field. Nothing else in herald reads the environment.

use figment::providers::{Env, Format, Toml};
use figment::Figment;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

const DEFAULTS: &str = include_str!("defaults.toml");

/// The development app `cargo run` serves when no app is configured.
pub const DEV_APP_ID: &str = "herald-dev";
pub const DEV_API_KEY: &str = "herald-dev-key";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub http: HttpConfig,
    pub amqp: AmqpConfig,
    pub redis: RedisConfig,
    pub apps: Vec<AppConfig>,
    pub publish: PublishConfig,
    pub status: StatusConfig,
    pub polling: PollingConfig,
    pub dispatcher: DispatcherConfig,
    pub scheduler: SchedulerConfig,
    pub realtime: RealtimeConfig,
    pub live: LiveConfig,
    pub telemetry: TelemetryConfig,
    pub shutdown: ShutdownConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    pub listen: SocketAddr,
    pub workers: usize,
    pub body_limit_bytes: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmqpConfig {
    pub url: Option<SecretString>,
    pub prefix: String,
    pub prefetch: u16,
    pub publish_channels: usize,
    pub confirm_timeout_ms: u64,
    pub delivery_limit: u32,
    pub dead_letter_max_length: u64,
    pub max_reconnect_backoff_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisConfig {
    pub url: Option<SecretString>,
    pub key_prefix: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppConfig {
    pub id: String,
    pub api_key: SecretString,
    #[serde(default)]
    pub domains: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishConfig {
    pub skew_tolerance_ms: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusConfig {
    pub ttl_seconds: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PollingConfig {
    pub window_seconds: u64,
    pub subscription_ttl_seconds: u64,
    pub inbox_cap: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DispatcherConfig {
    pub dedup_window_seconds: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchedulerConfig {
    pub shards: u32,
    pub batch: usize,
    pub lease_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveConfig {
    pub buffer_messages: usize,
    pub keep_alive_seconds: u64,
    pub node_queue_max_length: u64,
    pub node_queue_expires_seconds: u64,
    pub dedup_window_seconds: u64,
    pub presence_ttl_seconds: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RealtimeConfig {
    pub listen: SocketAddr,
    pub public_url: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetryConfig {
    pub log_filter: String,
    pub log_format: LogFormat,
    pub otlp_endpoint: Option<String>,
    pub service_name: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShutdownConfig {
    pub drain_timeout_ms: u64,
}

/// A configuration that could not be loaded or is invalid; the message names the field.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {0} does not exist")]
    MissingFile(String),
    #[error("invalid configuration: {0}")]
    Load(#[from] Box<figment::Error>),
    #[error("invalid configuration: {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
}

fn invalid(field: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field,
        reason: reason.into(),
    }
}

impl Config {
    /// Loads defaults, then `file` (which must exist when given), then the `HERALD_*` environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Toml::string(DEFAULTS));
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError::MissingFile(path.display().to_string()));
            }
            figment = figment.merge(Toml::file(path));
        }
        figment = figment.merge(Env::prefixed("HERALD_").split("__"));
        Self::extract(figment)
    }

    /// The built-in defaults alone, ignoring the environment (for tests and tools).
    pub fn defaults() -> Result<Self, ConfigError> {
        Self::extract(Figment::from(Toml::string(DEFAULTS)))
    }

    fn extract(figment: Figment) -> Result<Self, ConfigError> {
        let config: Config = figment.extract().map_err(Box::new)?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what the types cannot: ranges, names and the combinations of fields.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.http.body_limit_bytes == 0 {
            return Err(invalid("http.body_limit_bytes", "must be at least 1"));
        }
        check_name("amqp.prefix", &self.amqp.prefix)?;
        check_name("redis.key_prefix", &self.redis.key_prefix)?;
        if self.amqp.prefetch == 0 {
            return Err(invalid("amqp.prefetch", "must be at least 1"));
        }
        if self.amqp.publish_channels == 0 {
            return Err(invalid("amqp.publish_channels", "must be at least 1"));
        }
        if self.amqp.confirm_timeout_ms == 0 {
            return Err(invalid("amqp.confirm_timeout_ms", "must be at least 1"));
        }
        if let Some(url) = &self.amqp.url {
            let url = url.expose_secret();
            if !(url.starts_with("amqp://") || url.starts_with("amqps://")) {
                return Err(invalid("amqp.url", "must start with amqp:// or amqps://"));
            }
        }
        if let Some(url) = &self.redis.url {
            let url = url.expose_secret();
            if !(url.starts_with("redis://")
                || url.starts_with("rediss://")
                || url.starts_with("unix://"))
            {
                return Err(invalid(
                    "redis.url",
                    "must start with redis://, rediss:// or unix://",
                ));
            }
        }
        if self.amqp.url.is_some() != self.redis.url.is_some() {
            return Err(invalid(
                "amqp.url",
                "amqp.url and redis.url are set together (RabbitMQ and Redis) or both left unset (in-memory)",
            ));
        }
        self.validate_apps()?;
        if self.publish.skew_tolerance_ms < 0 {
            return Err(invalid("publish.skew_tolerance_ms", "must not be negative"));
        }
        if self.status.ttl_seconds == 0 {
            return Err(invalid("status.ttl_seconds", "must be at least 1"));
        }
        if self.polling.window_seconds == 0 {
            return Err(invalid("polling.window_seconds", "must be at least 1"));
        }
        if self.polling.subscription_ttl_seconds == 0 {
            return Err(invalid(
                "polling.subscription_ttl_seconds",
                "must be at least 1",
            ));
        }
        if self.polling.inbox_cap == 0 {
            return Err(invalid("polling.inbox_cap", "must be at least 1"));
        }
        if self.dispatcher.dedup_window_seconds == 0 {
            return Err(invalid(
                "dispatcher.dedup_window_seconds",
                "must be at least 1",
            ));
        }
        if self.scheduler.shards == 0 || self.scheduler.shards > 1024 {
            return Err(invalid("scheduler.shards", "must be 1 to 1024"));
        }
        if self.scheduler.batch == 0 {
            return Err(invalid("scheduler.batch", "must be at least 1"));
        }
        if self.scheduler.lease_ms < 100 {
            return Err(invalid("scheduler.lease_ms", "must be at least 100"));
        }
        self.validate_live()?;
        if let Some(url) = &self.realtime.public_url {
            if !(url.starts_with("http://") || url.starts_with("https://"))
                || url.trim_end_matches('/').matches('/').count() > 2
            {
                return Err(invalid(
                    "realtime.public_url",
                    "must be http(s)://host[:port] without a path",
                ));
            }
        }
        if let Err(err) = tracing_subscriber::EnvFilter::try_new(&self.telemetry.log_filter) {
            return Err(invalid("telemetry.log_filter", err.to_string()));
        }
        Ok(())
    }

    fn validate_live(&self) -> Result<(), ConfigError> {
        let live = &self.live;
        for (field, value) in [
            ("live.buffer_messages", live.buffer_messages as u64),
            ("live.keep_alive_seconds", live.keep_alive_seconds),
            ("live.node_queue_max_length", live.node_queue_max_length),
            ("live.dedup_window_seconds", live.dedup_window_seconds),
        ] {
            if value == 0 {
                return Err(invalid(field, "must be at least 1"));
            }
        }
        if live.node_queue_expires_seconds < 10 {
            return Err(invalid(
                "live.node_queue_expires_seconds",
                "must be at least 10 (a node that reconnects must find its queue)",
            ));
        }
        if live.presence_ttl_seconds < 3 {
            return Err(invalid(
                "live.presence_ttl_seconds",
                "must be at least 3 (nodes beat three times per period)",
            ));
        }
        Ok(())
    }

    fn validate_apps(&self) -> Result<(), ConfigError> {
        let mut seen = std::collections::HashSet::new();
        for app in &self.apps {
            if app.id.is_empty() || app.id.contains('/') || app.id.chars().any(char::is_whitespace)
            {
                return Err(invalid(
                    "apps.id",
                    format!("{:?} is not a valid app id", app.id),
                ));
            }
            if !seen.insert(app.id.to_ascii_lowercase()) {
                return Err(invalid(
                    "apps.id",
                    format!("app {} is configured twice", app.id),
                ));
            }
            if app.api_key.expose_secret().is_empty() {
                return Err(invalid(
                    "apps.api_key",
                    format!("app {} has an empty API key", app.id),
                ));
            }
        }
        if self.apps.iter().any(|a| a.id.eq_ignore_ascii_case("api")) {
            return Err(invalid(
                "apps.id",
                "\"api\" is reserved for the /api/... URL form",
            ));
        }
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
            vec![AppConfig {
                id: DEV_APP_ID.into(),
                api_key: SecretString::from(DEV_API_KEY),
                domains: vec![],
            }]
        } else {
            self.apps.clone()
        }
    }

    /// The realtime URL handed to clients by `GET .../info`.
    /// The rtURL clients are given: the public URL, else the realtime listener's address (`bound`
    /// when this process serves it, as with port 0, else the configured one).
    pub fn realtime_url(&self, bound: Option<SocketAddr>) -> String {
        match &self.realtime.public_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!("http://{}", bound.unwrap_or(self.realtime.listen)),
        }
    }

    pub fn drain_timeout(&self) -> Duration {
        Duration::from_millis(self.shutdown.drain_timeout_ms)
    }
}

fn check_name(field: &'static str, value: &str) -> Result<(), ConfigError> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(invalid(
            field,
            "must be 1 to 64 characters of [A-Za-z0-9._-]",
        ))
    }
}

#[cfg(test)]
// figment::Jail closures must return figment::Result, whose error is large by figment's design.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;
    use figment::Jail;

    #[test]
    fn defaults_are_valid_and_in_memory() {
        let config = Config::defaults().unwrap();
        assert!(config.in_memory());
        assert_eq!(config.http.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.effective_apps()[0].id, DEV_APP_ID);
    }

    #[test]
    fn environment_overrides_file_which_overrides_defaults() {
        Jail::expect_with(|jail| {
            // Start from an environment without the caller's HERALD_* settings.
            jail.clear_env();
            jail.create_file(
                "herald.toml",
                "[http]\nlisten = \"127.0.0.1:9000\"\nbody_limit_bytes = 10\n",
            )?;
            jail.set_env("HERALD_HTTP__BODY_LIMIT_BYTES", "20");
            let config = Config::load(Some(Path::new("herald.toml"))).unwrap();
            assert_eq!(config.http.listen.port(), 9000);
            assert_eq!(config.http.body_limit_bytes, 20);
            Ok(())
        });
    }

    #[test]
    fn apps_can_come_from_one_environment_variable() {
        Jail::expect_with(|jail| {
            // Start from an environment without the caller's HERALD_* settings.
            jail.clear_env();
            jail.set_env("HERALD_AMQP__URL", "amqp://127.0.0.1:5672/%2f");
            jail.set_env("HERALD_REDIS__URL", "redis://127.0.0.1:6379");
            jail.set_env("HERALD_APPS", "[{id=\"A1\",api_key=\"K1\"}]");
            let config = Config::load(None).unwrap();
            assert_eq!(config.apps.len(), 1);
            assert_eq!(config.apps[0].api_key.expose_secret(), "K1");
            Ok(())
        });
    }

    #[test]
    fn errors_name_the_field() {
        Jail::expect_with(|jail| {
            // Start from an environment without the caller's HERALD_* settings.
            jail.clear_env();
            jail.set_env("HERALD_AMQP__PREFETCH", "0");
            let err = Config::load(None).unwrap_err().to_string();
            assert!(err.contains("amqp.prefetch"), "{err}");
            jail.set_env("HERALD_AMQP__PREFETCH", "lots");
            let err = Config::load(None).unwrap_err().to_string().to_lowercase();
            assert!(err.contains("amqp.prefetch"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn real_backends_need_apps_and_each_other() {
        Jail::expect_with(|jail| {
            // Start from an environment without the caller's HERALD_* settings.
            jail.clear_env();
            jail.set_env("HERALD_AMQP__URL", "amqp://127.0.0.1:5672/%2f");
            let err = Config::load(None).unwrap_err().to_string();
            assert!(err.contains("redis.url"), "{err}");
            jail.set_env("HERALD_REDIS__URL", "redis://127.0.0.1:6379");
            let err = Config::load(None).unwrap_err().to_string();
            assert!(err.contains("apps"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn missing_config_file_is_an_error() {
        let err = Config::load(Some(Path::new("/nonexistent/herald.toml"))).unwrap_err();
        assert!(matches!(err, ConfigError::MissingFile(_)));
    }
}
