//! The settings this crate's parts own: telemetry and shutdown.

use serde::{Deserialize, Deserializer};
use std::time::Duration;

use crate::de;

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
