//! The lifecycle of a published message, as `GET .../messaging/<messageId>` reports it.

use serde::{Deserialize, Serialize};

/// A message's status, lowercase on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageStatus {
    /// Accepted, not yet delivered (even an immediate publish answers this, as Backendless does).
    Scheduled,
    /// Delivered to the subscribers of its channel (for a repeating message: its last occurrence).
    Published,
    /// Could not be delivered; the record's `errorMessage` says why.
    Failed,
    /// Cancelled before it was delivered.
    Cancelled,
    /// Never seen, or its record expired.
    Unknown,
}

impl MessageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Scheduled => "scheduled",
            MessageStatus::Published => "published",
            MessageStatus::Failed => "failed",
            MessageStatus::Cancelled => "cancelled",
            MessageStatus::Unknown => "unknown",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "scheduled" => MessageStatus::Scheduled,
            "published" => MessageStatus::Published,
            "failed" => MessageStatus::Failed,
            "cancelled" => MessageStatus::Cancelled,
            "unknown" => MessageStatus::Unknown,
            _ => return None,
        })
    }
}

/// How a message was published, recorded with its status so cancel knows whether there is
/// anything left to cancel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryKind {
    Immediate,
    Deferred,
}

impl DeliveryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryKind::Immediate => "immediate",
            DeliveryKind::Deferred => "deferred",
        }
    }
}

/// A status record: what the status API answers for one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRecord {
    pub status: MessageStatus,
    pub error_message: Option<String>,
    /// For a deferred message once it has fired: occurrences published and skipped (missed while
    /// no scheduler ran).
    pub occurrences: Option<Occurrences>,
    /// The channel the message was published to, which decides who may read its status or
    /// cancel it. `None` for a record written before herald recorded the channel: such a record
    /// is authorized against the empty channel name, so only global role permissions decide.
    pub channel: Option<String>,
}

/// How many occurrences of a deferred message fired, and how many were skipped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Occurrences {
    pub fired: u64,
    pub skipped: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_in_lowercase() {
        for s in [
            MessageStatus::Scheduled,
            MessageStatus::Published,
            MessageStatus::Failed,
            MessageStatus::Cancelled,
            MessageStatus::Unknown,
        ] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            assert_eq!(MessageStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(MessageStatus::parse("CANCELLED"), None);
    }
}
