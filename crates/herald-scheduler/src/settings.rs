//! `[scheduler]`: the shards of the due-time index, the claim batch and the lease.

use herald_runtime::de;
use serde::{Deserialize, Deserializer};
use std::num::{NonZeroU32, NonZeroUsize};
use std::time::Duration;

/// Most shards a deployment can have (each is one sorted set a claim round visits).
const MAX_SHARDS: u32 = 1024;

/// The scheduler's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchedulerSettings {
    /// Shards of the due-time index (a deployment keeps its number: entries are placed by it).
    #[serde(deserialize_with = "shards")]
    pub shards: NonZeroU32,
    /// Most due entries one claim takes from a shard.
    pub batch: NonZeroUsize,
    /// How long a claimed entry stays with its scheduler before another may take it.
    #[serde(rename = "lease_ms", deserialize_with = "lease")]
    pub lease: Duration,
}

fn shards<'de, D: Deserializer<'de>>(d: D) -> Result<NonZeroU32, D::Error> {
    let value = u32::deserialize(d)?;
    match NonZeroU32::new(value) {
        Some(shards) if value <= MAX_SHARDS => Ok(shards),
        _ => Err(serde::de::Error::custom(format!(
            "must be 1 to {MAX_SHARDS}"
        ))),
    }
}

/// Shorter leases would expire under a claim round's own latency.
fn lease<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    de::millis_at_least(d, 100)
}
