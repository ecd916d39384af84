//! The queue envelope: the versioned JSON document that carries a message through RabbitMQ from
//! ingest (or the scheduler) to the dispatcher. Its schema is `proto/envelope.v1.schema.json`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::channel::ChannelName;
use crate::headers::Headers;
use crate::ids::{MessageId, OccurrenceId};
use crate::schedule::{AcceptedSchedule, ScheduleFields};

/// The envelope version this build writes and reads.
pub const ENVELOPE_VERSION: u64 = 1;

/// One occurrence of a message on its way to subscribers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", from = "Wire")]
pub struct Envelope {
    /// Always [`ENVELOPE_VERSION`]; a consumer refuses versions it does not know.
    pub v: u64,
    pub message_id: MessageId,
    /// 0 for a one-shot message, k for the k-th repeat.
    pub occurrence: u64,
    pub app_id: String,
    pub channel: ChannelName,
    pub message: Value,
    pub publisher_id: Option<String>,
    #[serde(default)]
    pub headers: Headers,
    /// The schedule: on the wire the fields as the publisher sent them (0 when unset), and the
    /// schedule they resolved to when ingest accepted them at `accepted_at`.
    pub schedule: AcceptedSchedule,
    /// When ingest accepted the message, ms since the epoch.
    pub accepted_at: i64,
    /// The W3C trace context of the publish request, so the delivery joins its trace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
}

/// An envelope as it is written, before its schedule is derived.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Wire {
    v: u64,
    message_id: MessageId,
    occurrence: u64,
    app_id: String,
    channel: ChannelName,
    message: Value,
    publisher_id: Option<String>,
    #[serde(default)]
    headers: Headers,
    #[serde(default)]
    schedule: ScheduleFields,
    accepted_at: i64,
    #[serde(default)]
    traceparent: Option<String>,
}

impl From<Wire> for Envelope {
    fn from(wire: Wire) -> Self {
        Self {
            v: wire.v,
            message_id: wire.message_id,
            occurrence: wire.occurrence,
            app_id: wire.app_id,
            channel: wire.channel,
            message: wire.message,
            publisher_id: wire.publisher_id,
            headers: wire.headers,
            // The one rule ingest applied, at the time it applied it.
            schedule: AcceptedSchedule::accepted(wire.schedule, wire.accepted_at),
            accepted_at: wire.accepted_at,
            traceparent: wire.traceparent,
        }
    }
}

/// Why bytes from the queue are not an envelope this build can handle.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    #[error("unsupported envelope version {0}")]
    UnsupportedVersion(u64),
    #[error("malformed envelope")]
    Malformed(#[source] serde_json::Error),
    /// Writing an envelope (or its stored form) failed: nothing is stored or sent in its place.
    #[error("cannot serialize envelope")]
    Unserializable(#[source] serde_json::Error),
}

impl Envelope {
    pub fn occurrence_id(&self) -> OccurrenceId {
        OccurrenceId {
            message_id: self.message_id,
            occurrence: self.occurrence,
        }
    }

    /// When this occurrence was due to subscribers: its occurrence's time in the schedule, or
    /// the acceptance of an immediate message.
    pub fn due_ms(&self) -> i64 {
        self.schedule
            .schedule()
            .occurrence_at(self.occurrence, self.accepted_at)
            .unwrap_or(self.accepted_at)
    }

    /// The envelope as it travels; an error, never empty bytes, when it cannot be written.
    pub fn encode(&self) -> Result<Vec<u8>, EnvelopeError> {
        serde_json::to_vec(self).map_err(EnvelopeError::Unserializable)
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        #[derive(Deserialize)]
        struct Version {
            v: u64,
        }
        match serde_json::from_slice::<Envelope>(bytes) {
            Ok(env) if env.v == ENVELOPE_VERSION => Ok(env),
            Ok(env) => Err(EnvelopeError::UnsupportedVersion(env.v)),
            Err(err) => match serde_json::from_slice::<Version>(bytes) {
                Ok(Version { v }) if v != ENVELOPE_VERSION => {
                    Err(EnvelopeError::UnsupportedVersion(v))
                }
                _ => Err(EnvelopeError::Malformed(err)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn sample(message: Value, occurrence: u64, headers: Value) -> Envelope {
        Envelope {
            v: ENVELOPE_VERSION,
            message_id: MessageId::new_random(),
            occurrence,
            app_id: "app".into(),
            channel: ChannelName::parse("news").unwrap(),
            message,
            publisher_id: Some("pub".into()),
            headers: Headers::parse(&headers).unwrap(),
            schedule: AcceptedSchedule::accepted(
                ScheduleFields {
                    publish_at: 5,
                    repeat_every: 1,
                    repeat_expires_at: 9,
                },
                1_800_000_000_000,
            ),
            accepted_at: 1_800_000_000_000,
            traceparent: Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".into()),
        }
    }

    #[test]
    fn an_occurrence_is_due_when_its_schedule_says_and_an_immediate_message_when_accepted() {
        let accepted = 1_800_000_000_000;
        let mut envelope = sample(json!(1), 0, json!({}));
        envelope.schedule = AcceptedSchedule::accepted(ScheduleFields::default(), accepted);
        assert_eq!(envelope.due_ms(), accepted);
        // A repeat without publishAt starts when it was accepted: occurrence 2 is two periods on.
        envelope.schedule = AcceptedSchedule::accepted(
            ScheduleFields {
                publish_at: 0,
                repeat_every: 3,
                repeat_expires_at: 0,
            },
            accepted,
        );
        envelope.occurrence = 2;
        assert_eq!(envelope.due_ms(), accepted + 6_000);
        envelope.schedule = AcceptedSchedule::accepted(
            ScheduleFields {
                publish_at: accepted + 500,
                repeat_every: 0,
                repeat_expires_at: 0,
            },
            accepted,
        );
        envelope.occurrence = 0;
        assert_eq!(envelope.due_ms(), accepted + 500);
    }

    #[test]
    fn refuses_unknown_versions_and_garbage() {
        let mut env = serde_json::to_value(sample(json!(1), 0, json!({}))).unwrap();
        env["v"] = json!(2);
        let bytes = serde_json::to_vec(&env).unwrap();
        assert!(matches!(
            Envelope::decode(&bytes),
            Err(EnvelopeError::UnsupportedVersion(2))
        ));
        assert!(matches!(
            Envelope::decode(br#"{"v":2}"#),
            Err(EnvelopeError::UnsupportedVersion(2))
        ));
        assert!(matches!(
            Envelope::decode(b"not json"),
            Err(EnvelopeError::Malformed(_))
        ));
        assert!(matches!(
            Envelope::decode(br#"{"v":1}"#),
            Err(EnvelopeError::Malformed(_))
        ));
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            ".{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    #[test]
    fn an_envelope_of_today_decodes_with_its_schedule_and_encodes_as_it_came() {
        let text = json!({
            "v": 1, "messageId": MessageId::new_random().to_string(), "occurrence": 2,
            "appId": "app", "channel": "news", "message": "hi", "publisherId": null,
            "headers": {}, "schedule": {"publishAt": 0, "repeatEvery": 5, "repeatExpiresAt": 0},
            "acceptedAt": 1_800_000_000_000i64,
        });
        let env = Envelope::decode(&serde_json::to_vec(&text).unwrap()).unwrap();
        assert_eq!(
            env.schedule.schedule(),
            crate::schedule::Schedule::Repeating {
                first_at_ms: 1_800_000_000_000,
                every_seconds: 5,
                expires_at_ms: None
            }
        );
        assert_eq!(serde_json::to_value(&env).unwrap(), text);
    }

    proptest! {
        #[test]
        fn envelopes_round_trip(message in json_value(), occurrence in any::<u64>(), h in "[a-z]{1,8}", n in any::<i32>()) {
            let env = sample(message, occurrence, json!({ h: n, "s": "x" }));
            prop_assert_eq!(Envelope::decode(&env.encode().unwrap()).unwrap(), env);
        }
    }
}
