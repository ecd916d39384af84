//! Identifiers: message ids in the Backendless form `message:<UPPERCASE-UUID>`, the occurrence id
//! that makes each delivery of a message unique, and polling subscription ids.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

const MESSAGE_PREFIX: &str = "message:";

/// A message id: `message:` followed by an uppercase UUID, as Backendless issues them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(Uuid);

impl MessageId {
    pub fn new_random() -> Self {
        Self(Uuid::new_v4())
    }

    /// The UUID as a number (to spread messages over shards).
    pub fn as_u128(&self) -> u128 {
        self.0.as_u128()
    }

    /// Parses `message:<uuid>`; the UUID may be in any case, as clients echo what they were given.
    pub fn parse(text: &str) -> Option<Self> {
        let uuid = text.strip_prefix(MESSAGE_PREFIX)?;
        Uuid::try_parse(uuid).ok().map(Self)
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = Uuid::encode_buffer();
        f.write_str(MESSAGE_PREFIX)?;
        f.write_str(self.0.hyphenated().encode_upper(&mut buf))
    }
}

impl FromStr for MessageId {
    type Err = InvalidId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).ok_or(InvalidId)
    }
}

impl Serialize for MessageId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MessageId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&text).ok_or_else(|| serde::de::Error::custom("invalid message id"))
    }
}

/// The id of one delivery of a message: occurrence 0 for a one-shot message, k for the k-th
/// repeat. Consumers drop an occurrence they have already handled, which turns RabbitMQ's
/// at-least-once delivery into effectively once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OccurrenceId {
    pub message_id: MessageId,
    pub occurrence: u64,
}

impl fmt::Display for OccurrenceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.message_id, self.occurrence)
    }
}

/// A polling subscription id (a lowercase UUID).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SubscriptionId(Uuid);

impl SubscriptionId {
    pub fn new_random() -> Self {
        Self(Uuid::new_v4())
    }

    pub fn parse(text: &str) -> Option<Self> {
        Uuid::try_parse(text).ok().map(Self)
    }
}

impl fmt::Display for SubscriptionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

/// A text that is not a valid id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid id")]
pub struct InvalidId;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_id_prints_in_backendless_form() {
        let id = MessageId::new_random().to_string();
        let uuid = id.strip_prefix("message:").expect("prefix");
        assert_eq!(uuid.len(), 36);
        assert_eq!(uuid, uuid.to_uppercase());
    }

    #[test]
    fn message_id_parses_what_it_prints_and_any_case() {
        let id = MessageId::new_random();
        assert_eq!(MessageId::parse(&id.to_string()), Some(id));
        assert_eq!(MessageId::parse(&id.to_string().to_lowercase()), Some(id));
    }

    #[test]
    fn message_id_rejects_other_texts() {
        for text in [
            "",
            "message:",
            "message:xyz",
            "37C81F70-9B7B-4CF8-FF24-3690D9054F00",
            "msg:37C81F70-9B7B-4CF8-FF24-3690D9054F00",
        ] {
            assert_eq!(MessageId::parse(text), None, "{text}");
        }
    }

    #[test]
    fn occurrence_id_names_message_and_occurrence() {
        let message_id = MessageId::parse("message:37C81F70-9B7B-4CF8-FF24-3690D9054F00").unwrap();
        let id = OccurrenceId {
            message_id,
            occurrence: 3,
        };
        assert_eq!(
            id.to_string(),
            "message:37C81F70-9B7B-4CF8-FF24-3690D9054F00#3"
        );
    }
}
