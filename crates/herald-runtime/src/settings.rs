//! The settings this crate's parts own: telemetry, shutdown, and the applications every role that
//! serves HTTP authenticates against.

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer};
use std::time::Duration;

use crate::de;

/// The development app `cargo run` serves when no app is configured.
pub const DEV_APP_ID: &str = "herald-dev";
pub const DEV_API_KEY: &str = "herald-dev-key";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

/// `[telemetry]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySettings {
    /// In tracing's `EnvFilter` syntax, checked when loaded.
    #[serde(deserialize_with = "log_filter")]
    pub log_filter: String,
    pub log_format: LogFormat,
    pub otlp_endpoint: Option<String>,
    pub service_name: String,
}

fn log_filter<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let value = String::deserialize(d)?;
    tracing_subscriber::EnvFilter::try_new(&value).map_err(serde::de::Error::custom)?;
    Ok(value)
}

/// `[shutdown]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShutdownSettings {
    /// How long shutdown waits for in-flight work before it closes connections anyway.
    #[serde(rename = "drain_timeout_ms", deserialize_with = "de::millis_or_zero")]
    pub drain_timeout: Duration,
}

/// One `[[apps]]` entry: an application and its REST API key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppConfig {
    #[serde(deserialize_with = "app_id")]
    pub id: String,
    #[serde(deserialize_with = "api_key")]
    pub api_key: SecretString,
    #[serde(default)]
    pub domains: Vec<String>,
}

impl AppConfig {
    /// The development app, served when none is configured (in memory only).
    pub fn development() -> Self {
        Self {
            id: DEV_APP_ID.into(),
            api_key: SecretString::from(DEV_API_KEY),
            domains: vec![],
        }
    }
}

fn app_id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let id = String::deserialize(d)?;
    if id.is_empty() || id.contains('/') || id.chars().any(char::is_whitespace) {
        return Err(serde::de::Error::custom(format!(
            "{id:?} is not a valid app id"
        )));
    }
    if id.eq_ignore_ascii_case("api") {
        return Err(serde::de::Error::custom(
            "\"api\" is reserved for the /api/... URL form",
        ));
    }
    Ok(id)
}

fn api_key<'de, D: Deserializer<'de>>(d: D) -> Result<SecretString, D::Error> {
    let key = SecretString::deserialize(d)?;
    if key.expose_secret().is_empty() {
        return Err(serde::de::Error::custom("an app has an empty API key"));
    }
    Ok(key)
}
