//! `[publish]`: the rules ingest applies to a publish request.

use herald_core::publish::PublishRules;
use serde::{Deserialize, Deserializer};
use std::time::Duration;

/// The REST API's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestSettings {
    /// A publishAt up to this far in the past means "now"; further back is error 5030.
    #[serde(rename = "skew_tolerance_ms", deserialize_with = "skew_tolerance")]
    pub skew_tolerance: Duration,
}

impl IngestSettings {
    pub fn rules(&self) -> PublishRules {
        PublishRules {
            // At most u64::MAX ms deserialize, which no one configures past i64.
            skew_tolerance_ms: i64::try_from(self.skew_tolerance.as_millis()).unwrap_or(i64::MAX),
        }
    }
}

fn skew_tolerance<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let value = i64::deserialize(d)?;
    u64::try_from(value)
        .map(Duration::from_millis)
        .map_err(|_| serde::de::Error::custom("must not be negative"))
}
