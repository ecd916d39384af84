//! What subscribers receive: the legacy polling shape of reference §4.1.

use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

use crate::envelope::Envelope;
use crate::ids::MessageId;

/// One message in a poll answer: `{messageId, data, publishedAt, publisherId, headers}`, header
/// values as strings.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolledMessage<'a> {
    pub message_id: MessageId,
    pub data: &'a Value,
    pub published_at: i64,
    pub publisher_id: Option<&'a str>,
    pub headers: BTreeMap<&'a str, String>,
}

impl<'a> PolledMessage<'a> {
    pub fn new(envelope: &'a Envelope, published_at: i64) -> Self {
        Self {
            message_id: envelope.message_id,
            data: &envelope.message,
            published_at,
            publisher_id: envelope.publisher_id.as_deref(),
            headers: envelope.headers.to_wire(),
        }
    }

    /// The JSON text stored once per message and handed to every poller as is.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}
