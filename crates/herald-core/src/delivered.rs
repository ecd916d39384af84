//! What subscribers receive: the legacy polling shape of reference §4.1.

use serde::{Deserialize, Serialize};
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
    pub fn to_json(&self) -> serde_json::Result<String> {
        serde_json::to_string(self)
    }
}

/// What a Backendless realtime subscriber receives (`SUB_RES.data` of `PUB_SUB_MESSAGES`, JS SDK
/// wire reference §4.6): the push-only fields Backendless sends are `null`, the schedule fields 0
/// when unset, header values strings.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RealtimeMessage<'a> {
    pub message_id: MessageId,
    pub timestamp: i64,
    pub message: &'a Value,
    pub publisher_id: Option<&'a str>,
    pub subtopic: Option<()>,
    pub push_singlecast: Option<()>,
    pub push_broadcast: Option<()>,
    pub publish_policy: Option<()>,
    pub template_values: Option<()>,
    pub query: Option<()>,
    pub publish_at: i64,
    pub repeat_every: u64,
    pub repeat_expires_at: i64,
    pub headers: BTreeMap<&'a str, String>,
}

impl<'a> RealtimeMessage<'a> {
    pub fn new(envelope: &'a Envelope, published_at: i64) -> Self {
        Self {
            message_id: envelope.message_id,
            timestamp: published_at,
            message: &envelope.message,
            publisher_id: envelope.publisher_id.as_deref(),
            subtopic: None,
            push_singlecast: None,
            push_broadcast: None,
            publish_policy: None,
            template_values: None,
            query: None,
            publish_at: envelope.schedule.publish_at,
            repeat_every: envelope.schedule.repeat_every,
            repeat_expires_at: envelope.schedule.repeat_expires_at,
            headers: envelope.headers.to_wire(),
        }
    }

    /// The JSON text a realtime subscriber receives.
    pub fn to_json(&self) -> serde_json::Result<String> {
        serde_json::to_string(self)
    }
}

/// The headers a message was rendered with ([`PolledMessage::to_json`]), as the strings
/// subscribers see; `None` when `json` is not such a message.
pub fn headers_of_rendered(json: &str) -> Option<BTreeMap<String, String>> {
    #[derive(Deserialize)]
    struct HeadersOnly {
        #[serde(default)]
        headers: BTreeMap<String, String>,
    }
    serde_json::from_str::<HeadersOnly>(json)
        .ok()
        .map(|m| m.headers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::headers::Headers;
    use crate::selector::Selector;
    use serde_json::json;

    #[test]
    fn rendered_headers_select_as_the_typed_ones_do() {
        let typed = Headers::parse(&json!({"foo": 20, "flag": true, "city": "Tokyo"})).unwrap();
        let envelope = Envelope {
            v: crate::envelope::ENVELOPE_VERSION,
            message_id: MessageId::new_random(),
            occurrence: 0,
            app_id: "app".into(),
            channel: crate::ChannelName::parse("news").unwrap(),
            message: json!("hello"),
            publisher_id: None,
            headers: typed.clone(),
            schedule: Default::default(),
            accepted_at: 1,
            traceparent: None,
        };
        let rendered = PolledMessage::new(&envelope, 1).to_json().unwrap();
        let strings = headers_of_rendered(&rendered).unwrap();
        for text in [
            "foo > 10",
            "foo = '20'",
            "flag = TRUE",
            "city LIKE 'To%'",
            "foo < 5",
            "x IS NULL",
        ] {
            let selector = Selector::parse(text).unwrap();
            assert_eq!(
                selector.matches_with(&strings),
                selector.matches(&typed),
                "{text}"
            );
        }
    }

    #[test]
    fn text_that_is_not_a_rendered_message_has_no_headers() {
        assert_eq!(headers_of_rendered("not json"), None);
        assert_eq!(headers_of_rendered(r#"{"headers": 5}"#), None);
    }
}
