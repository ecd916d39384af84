//! Channel names: what a publisher names in `POST .../messaging/<channel>`.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::error::{ApiError, ErrorKind};

/// Longest channel name accepted, in bytes. Backendless documents no limit; a bound keeps Redis
/// keys and log lines small.
pub const MAX_CHANNEL_NAME_BYTES: usize = 255;

/// A channel name: non-empty, at most [`MAX_CHANNEL_NAME_BYTES`], no `/` (the SDKs refuse it too)
/// and no control characters. Names are case-sensitive.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ChannelName(String);

impl ChannelName {
    pub fn parse(name: &str) -> Result<Self, ApiError> {
        let invalid = |why: &str| ApiError::new(ErrorKind::InvalidChannelName, why.to_string());
        if name.is_empty() {
            return Err(invalid("channel name must not be empty"));
        }
        if name.len() > MAX_CHANNEL_NAME_BYTES {
            return Err(invalid(&format!(
                "channel name is {} bytes long, the limit is {MAX_CHANNEL_NAME_BYTES}",
                name.len()
            )));
        }
        if name.contains('/') {
            return Err(invalid("channel name must not contain '/'"));
        }
        if name.chars().any(char::is_control) {
            return Err(invalid("channel name must not contain control characters"));
        }
        Ok(Self(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ChannelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ChannelName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(|e| serde::de::Error::custom(e.message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_names() {
        for name in ["default", "Default", "chan with space+é", "a.b.c", "x"] {
            assert_eq!(ChannelName::parse(name).unwrap().as_str(), name);
        }
    }

    #[test]
    fn rejects_empty_slashed_control_and_long_names() {
        let long = "a".repeat(MAX_CHANNEL_NAME_BYTES + 1);
        for name in ["", "a/b", "/", "tab\there", long.as_str()] {
            let err = ChannelName::parse(name).unwrap_err();
            assert_eq!(err.kind, ErrorKind::InvalidChannelName, "{name}");
        }
        assert!(ChannelName::parse(&"a".repeat(MAX_CHANNEL_NAME_BYTES)).is_ok());
    }
}
