//! `[dispatcher]`.

use herald_runtime::de;
use serde::Deserialize;
use std::time::Duration;

/// The dispatcher's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DispatcherSettings {
    /// How long a delivered occurrence is remembered to drop RabbitMQ redeliveries of it (by the
    /// polling inboxes, which the backends keep).
    #[serde(rename = "dedup_window_seconds", deserialize_with = "de::seconds")]
    pub dedup_window: Duration,
}
