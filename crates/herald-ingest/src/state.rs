//! What every ingest handler shares.

use herald_backend::Backends;
use herald_core::publish::PublishRules;
use std::time::Duration;

use crate::metrics::IngestMetrics;

/// The shared state of the REST API.
pub struct IngestState {
    pub backends: Backends,
    pub rules: PublishRules,
    /// How long a status record lives after its message's last scheduled occurrence.
    pub status_ttl: Duration,
    pub body_limit: usize,
    /// The realtime URL `GET .../info` hands to clients.
    pub realtime_url: String,
    pub metrics: IngestMetrics,
}
